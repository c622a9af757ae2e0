"""cocotb bench of fp8_mac.v with hwsim as the reference model.

The stimulus is gen_fp8.py's: directed corner cases (exact ties at the binary32 rounding
point, near-ties, cancellation, Inf / NaN, subnormal products) plus random dot
products.  For every output the scoreboard asks ``hwsim.mac.trace`` for the register
after each MAC step, drives the DUT one step at a time and compares after every step.
The first mismatch fails the test with an explanation: element, MAC step and directed
case, the operands (codes and values), the exact product, the register before the step,
expected and DUT registers as fields (sign, exponent, fraction) and values, and the
distance in ULPs.
"""
import math
import os
import sys

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from hwsim.mac import FloatAccumulator, MacUnit, trace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gen_fp8 import build, f32  # noqa: E402  (the same vectors as the Icarus bench)

FMT = "float8_e5m2" if os.environ.get("FP8", "e4m3") == "e5m2" else "float8_e4m3fn"
K, RANDOM, SEED = 8, 8, 1


def fields(code):
    return f"sign {code >> 31} exponent 0x{code >> 23 & 0xFF:02X} fraction 0x{code & 0x7FFFFF:06X}"


def ulps(got, want):
    """Distance in binary32 ULPs (steps in the ordered code space), None with a NaN."""
    if math.isnan(f32(got)) or math.isnan(f32(want)):
        return None
    key = [c if c < 0x80000000 else -(c & 0x7FFFFFFF) for c in (got, want)]
    return key[0] - key[1]


def explain(i, j, n, k, step, got, case):
    want = int(step["after"])
    return (f"element {i * n + j} ({i}, {j}) step {k}: {case}; "
            f"a 0x{step['a_code']:02X} = {step['a_value']}, b 0x{step['b_code']:02X} = "
            f"{step['b_value']}, exact product {step['product']}; register before "
            f"0x{step['before']:08X} = {f32(step['before'])!r}; expected 0x{want:08X} "
            f"({fields(want)}) = {f32(want)!r}; DUT 0x{got:08X} ({fields(got)}) = "
            f"{f32(got)!r}; {ulps(got, want)} ULP; exact sum {step['exact']}; "
            f"reference events: {', '.join(step['events']) or 'none'}")


async def _step(dut, **values):
    for name, v in values.items():
        getattr(dut, name).value = v
    await RisingEdge(dut.clk)
    await ReadOnly()
    got = int(dut.acc.value)
    await Timer(1, "ns")
    return got


@cocotb.test()
async def mac_matches_hwsim(dut):
    cocotb.start_soon(Clock(dut.clk, 10, units="ns").start())
    mac = MacUnit(FMT, FMT, accumulator=FloatAccumulator("float32"))
    cases, A, B, bias = build(FMT, K, RANDOM, SEED)
    m = A.shape[0]
    bias32 = np.asarray(bias, np.float32).view(np.uint32)
    dut.en.value = 0
    checked = 0
    for i in range(m):
        for j in range(m):
            case = cases[i][0] if i == j and i < len(cases) else (
                "random" if i >= len(cases) and j >= len(cases) else f"row of case {i}, column of case {j}")
            t = trace(A, B, mac, i, j, bias=bias).steps
            steps = [s for s in t if s["kind"] == "mac"]
            got = await _step(dut, load=1, en=0, init=int(bias32[j]))
            assert got == int(t[0]["after"]), f"element {i * m + j} ({i}, {j}) bias load: " \
                f"DUT 0x{got:08X}, hwsim register 0x{int(t[0]['after']):08X}"
            dut.load.value = 0
            for k, s in enumerate(steps):
                got = await _step(dut, en=1, a=int(A[i, k]), b=int(B[k, j]))
                assert got == int(s["after"]), explain(i, j, m, k, s, got, case)
                checked += 1
            dut.en.value = 0
    dut._log.info(f"PASS: {checked} MAC steps of {m * m} outputs match hwsim ({FMT})")
