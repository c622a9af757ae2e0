"""cocotb bench of mac_tile.v (P x Q output-stationary int8 MAC array) running a conv
layer exported by hwsim, with hwsim as the reference model.

gen_tile.py's network is exported with ``hwsim.export`` into a temporary folder; the
scoreboard traces every output from it (``hwsim.network.trace.retrace``: the register
after each MAC step, with conv coordinates) and the bench sequences the tile like
tb_mac_tile.v: P output pixels x Q channels per tile, K = Cin*kH*kW steps, reduction
order and im2col addresses from the trace (ci, kh, kw, iy, ix, padding).  Every PE is
checked after every step; the first mismatch fails the test naming the element
(n, co, oy, ox), the MAC step with its kernel / input coordinates, the PE, the operands,
the product, the register before, expected and DUT values, the error in LSBs and the
reference's events (saturation).
"""
import os
import sys
import tempfile

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer

import hwsim
from hwsim.network.trace import retrace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gen_tile as G  # noqa: E402  (the same layer as the Icarus bench)

P, Q, W, SEED = 2, 2, 20, 3


def _signed(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def explain(idx, coord, k, r, pe, got):
    want = _signed(int(r["after"]), W)
    before = _signed(int(r["before"]), W)
    a, b = _signed(int(r["a_code"]), 8), _signed(int(r["b_code"]), 8)
    return (f"element {idx} {coord} step {k} (ci {r['ci']}, kh {r['kh']}, kw {r['kw']}, iy "
            f"{r['iy']}, ix {r['ix']}, padding {r['padding']}): PE {pe}, a = {a} "
            f"(0x{int(r['a_code']):02X}), b = {b} (0x{int(r['b_code']):02X}), product {a * b}, "
            f"register before {before}; expected {want} (0x{want & (1 << W) - 1:05X}), DUT {got} "
            f"(0x{got & (1 << W) - 1:05X}), error {got - want} LSB; reference events: "
            f"{r['events'] or 'none'}")


@cocotb.test()
async def tile_runs_conv_like_hwsim(dut):
    cocotb.start_soon(Clock(dut.clk, 10, units="ns").start())
    net, x = G.build(W, SEED)
    tmp = tempfile.mkdtemp()
    man = hwsim.export(net, os.path.join(tmp, "g"), x)
    L = man["layers"][0]
    acc_shape = L["files"]["acc"]["shape"]
    _, cout, ho, wo = acc_shape
    npix = ho * wo
    bias = np.load(os.path.join(tmp, "g", L["files"]["bias"]["npy"])).astype(np.int64)
    traces = {}
    for co in range(cout):
        for pix in range(npix):
            coord = (0, co, pix // wo, pix % wo)
            t = retrace(os.path.join(tmp, "g"), L, coord, os.path.join(tmp, "t"))
            head = t["columns"]
            traces[coord] = [dict(zip(head, r)) for r in t["rows"] if r[1] == "mac"]
    k_steps = len(traces[(0, 0, 0, 0)])
    dut.en.value = 0
    checked = 0
    for pt in range(0, npix, P):
        for qt in range(0, cout, Q):
            dut.init.value = sum((int(bias[qt + q]) & (1 << W) - 1) << (q * W) for q in range(Q))
            dut.load.value = 1
            await RisingEdge(dut.clk)
            await Timer(1, "ns")
            dut.load.value = 0
            coords = {(p, q): (0, qt + q, (pt + p) // wo, (pt + p) % wo)
                      for p in range(P) for q in range(Q)}
            for k in range(k_steps):
                # operands from the reference trace: row p's input, column q's weight
                a = sum(int(traces[coords[p, 0]][k]["a_code"]) << (8 * p) for p in range(P))
                b = sum(int(traces[coords[0, q]][k]["b_code"]) << (8 * q) for q in range(Q))
                dut.a.value, dut.b.value, dut.en.value = a, b, 1
                await RisingEdge(dut.clk)
                await ReadOnly()
                acc = int(dut.acc.value)
                for (p, q), coord in coords.items():
                    r = traces[coord][k]
                    got = _signed(acc >> ((p * Q + q) * W), W)
                    idx = int(np.ravel_multi_index(coord, acc_shape))
                    assert got == _signed(int(r["after"]), W), explain(idx, coord, k, r, (p, q), got)
                    checked += 1
                await Timer(1, "ns")
                dut.en.value = 0
    dut._log.info(f"PASS: {checked} MAC steps of {cout * npix} outputs match hwsim")
