"""cocotb bench of int8_mac.v with hwsim as the reference model.

The scoreboard runs every output of a random int8 matmul through the DUT one MAC
step at a time and checks the register after each step against
``hwsim.mac.trace``.  A mismatch fails the test with an explanation: element and
MAC step, operands, product, register before the step, expected and DUT values
(hex and signed), the error in LSBs and what the reference did (saturation).
"""
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from hwsim.mac import IntAccumulator, MacUnit, trace

W = int(os.environ.get("ACC_W", "14"))
M, N, K = 4, 3, 32


def _signed(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def explain(i, j, n_out, k, step, got, before):
    want = int(step["acc"])
    a, b = _signed(step["a_code"], 8), _signed(step["b_code"], 8)
    return (f"element {i * n_out + j} ({i}, {j}) step {k}: a = {a} (0x{step['a_code']:02X}), "
            f"b = {b} (0x{step['b_code']:02X}), product {a * b}, register before {before}; "
            f"expected {want} (0x{want & ((1 << W) - 1):0{(W + 3) // 4}X}), DUT {got} "
            f"(0x{got & ((1 << W) - 1):0{(W + 3) // 4}X}), error {got - want} LSB; "
            f"reference events: {', '.join(step['events']) or 'none'}")


async def _step(dut, **values):
    for name, v in values.items():
        getattr(dut, name).value = v
    await RisingEdge(dut.clk)
    await ReadOnly()
    got = _signed(int(dut.acc.value), W)
    await Timer(1, "ns")
    return got


@cocotb.test()
async def mac_matches_hwsim(dut):
    cocotb.start_soon(Clock(dut.clk, 10, units="ns").start())
    rng = np.random.default_rng(0)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(W, "saturate"))
    A = rng.integers(0, 256, (M, K), dtype=np.uint8)
    B = rng.integers(0, 256, (K, N), dtype=np.uint8)
    bias = rng.integers(-(1 << (W - 3)), 1 << (W - 3), N)
    dut.en.value = 0
    checked = 0
    for i in range(M):
        for j in range(N):
            t = trace(A, B, mac, i, j, bias=bias)
            steps = [s for s in t.steps if s["kind"] == "mac"]
            before = await _step(dut, load=1, en=0, init=int(bias[j]) & ((1 << W) - 1))
            dut.load.value = 0
            for k, s in enumerate(steps):
                got = await _step(dut, en=1, a=int(A[i, k]), b=int(B[k, j]))
                assert got == int(s["acc"]), explain(i, j, N, k, s, got, before)
                before = got
                checked += 1
            dut.en.value = 0
    dut._log.info(f"PASS: {checked} MAC steps of {M * N} outputs match hwsim")
