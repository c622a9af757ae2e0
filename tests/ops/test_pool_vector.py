"""AveragePool / GlobalAveragePool on the vector unit (hwsim.ops.pool with a ``vector``
config entry): each window's unit values, row-major with +0 outside the input, summed
through the unit's accumulator, then ``fl(sum / fl(count))``.  Checked bit for bit against a
pure-Python model (Fractions, hwsim.reference rounding), including a bfloat16 register where
the order of the adds changes the result."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from onnx import TensorProto, helper

import hwsim
from hwsim.network.onnx_import import load_onnx
from hwsim.reference.block import round_to_float


def _model(op, shape, **attrs):
    x = helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph([helper.make_node(op, ["x0"], ["y"], name="n", **attrs)], "t", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    return m


def _avg_model(x, op, unit_fmt, acc_fmt, kernel=None, strides=None, pads=(0, 0, 0, 0),
               ceil=False, cip=False):
    """Pure-Python model: Fractions, one reference rounding per unit / register step."""
    uf, af = hwsim.format(unit_fmt), hwsim.format(acc_fmt)

    def rnd(v, f):
        return round_to_float(Fraction(v), f, "rne")

    N, C, H, W = x.shape
    if op == "GlobalAveragePool":
        kernel, strides, pads = (H, W), (1, 1), (0, 0, 0, 0)
    kh, kw = kernel
    sh, sw = strides
    pt, pl, pb, pr = pads

    def osize(n, k, s, p0, p1):
        num = n + p0 + p1 - k
        o = (-(-num // s) if ceil else num // s) + 1
        return o - 1 if ceil and (o - 1) * s >= n + p0 else o

    Ho, Wo = osize(H, kh, sh, pt, pb), osize(W, kw, sw, pl, pr)
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for oy in range(Ho):
                for ox in range(Wo):
                    acc, cin, call = Fraction(0), 0, 0
                    for i in range(kh):
                        for j in range(kw):
                            iy, ix = oy * sh - pt + i, ox * sw - pl + j
                            inside = 0 <= iy < H and 0 <= ix < W
                            call += (-pt <= iy < H + pb) and (-pl <= ix < W + pr)
                            cin += inside
                            v = rnd(float(x[n, c, iy, ix]), uf) if inside else Fraction(0)
                            acc = rnd(acc + v, af)  # one rounding per add into the register
                    s = rnd(acc, uf)
                    cnt = rnd(call if cip else cin, uf)
                    out[n, c, oy, ox] = float(rnd(s / cnt, uf))
    return out


def _run(m, x, vec):
    cfg = {"defaults": {"input": "float32", "output": "float32", "scale": "none",
                        "vector": vec}}
    net = load_onnx(m, config=cfg)
    return net.run({"x0": x}).outputs[net.outputs[0]]


@pytest.mark.parametrize("unit,acc", [("float32", "fp32"), ("float32", "bf16"),
                                      ("bfloat16", "fp16"), ("float16", "fp16")])
def test_global_average_pool_bits(unit, acc):
    x = np.random.default_rng(0).normal(0, 3, (2, 3, 5, 7)).astype(np.float32)
    got = _run(_model("GlobalAveragePool", [2, 3, 5, 7]), x, {"format": unit, "accumulator": acc})
    assert np.array_equal(got, _avg_model(x, "GlobalAveragePool", unit, acc))


@pytest.mark.parametrize("kernel,strides,pads,ceil,cip", [
    ((3, 3), (1, 1), (1, 1, 1, 1), False, False), ((3, 3), (2, 2), (1, 1, 1, 1), True, True),
    ((2, 3), (2, 1), (0, 1, 0, 2), True, False), ((5, 5), (3, 3), (2, 2, 2, 2), False, True)])
def test_average_pool_bits(kernel, strides, pads, ceil, cip):
    x = np.random.default_rng(1).normal(0, 2, (1, 2, 9, 8)).astype(np.float32)
    m = _model("AveragePool", [1, 2, 9, 8], kernel_shape=list(kernel), strides=list(strides),
               pads=[pads[0], pads[1], pads[2], pads[3]], ceil_mode=int(ceil),
               count_include_pad=int(cip))
    for unit, acc in (("float32", "bf16"), ("bfloat16", "fp32")):
        got = _run(m, x, {"format": unit, "accumulator": acc})
        assert np.array_equal(got, _avg_model(x, "AveragePool", unit, acc, kernel, strides,
                                              pads, ceil, cip))


def test_narrow_register_order_matters():
    """A bfloat16 register (8 significand bits): 256 + 1 + 1 + 1 + 1 stays 256 when added in
    row-major order (each 257 rounds to 256, tie to even), but the same values in another
    order (1 + 1 + 1 + 256) sum to 260: the stated order is what the unit computes."""
    x = np.array([[[[256.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 256.0]]]], np.float32)
    got = _run(_model("GlobalAveragePool", [1, 2, 2, 2]), x,
               {"format": "float32", "accumulator": "bf16"})
    # channel 0: 256+1 -> 256, +1 -> 256, +1 -> 256: 256 / 4 = 64
    # channel 1: 1+1 = 2, +1 = 3, +256 = 259 -> 260 (bf16 spacing 2 from 256... tie to even)
    assert got.reshape(-1).tolist() == [64.0, 65.0]
    assert np.array_equal(got, _avg_model(x, "GlobalAveragePool", "float32", "bf16"))
