"""ChannelAffine (hwsim.ops.chanaffine): the quantized executor bit for bit against a
Fraction model (exact affine, one rounding), and its ONNX import (BatchNormalization with no
Conv before it, Mul / Add by scalar or per-channel constants, merging) against onnxruntime."""
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.formats import format as F
from hwsim.network import load_onnx
from hwsim.ops.chanaffine import affine_q
from hwsim.tensors import QTensor
from layers_refimpl import codes_list, exact_inputs, round_once


def model(qt, a, b, axis, out_fmt, s_out, zp):
    """y = x * a[c] + b[c] in Fractions, then sat(rne(y / s_out) + zp) or reference.encode."""
    shp = [1] * len(qt.shape)
    shp[axis] = -1
    av = np.broadcast_to(np.asarray(a, np.float64).reshape(shp), qt.shape).ravel()
    bv = np.broadcast_to(np.asarray(b, np.float64).reshape(shp), qt.shape).ravel()
    out = []
    for x, ai, bi in zip(exact_inputs(qt), av, bv):
        t = (x * Fraction(float(ai)) + Fraction(float(bi))) / Fraction(s_out)
        out.append(round_once(t, out_fmt, zp))
    return out


def _node(a, b, axis=1):
    return SimpleNamespace(name="aff", attrs=dict(a=list(a), b=list(b), axis=axis))


@pytest.mark.parametrize("out,s_out,zp", [("int8", 0.07, 5), ("uint8", 0.02, 128), ("e4m3", 0.25, 0),
                                          ("float16", 1.0, 0)])
def test_affine_int8_in_bit_exact(out, s_out, zp):
    rng = np.random.default_rng(0)
    x = QTensor(rng.integers(0, 256, (2, 4, 3, 3)).astype(np.uint8), F("int8"), scale=0.1, zero_point=-2)
    a, b = rng.normal(0, 1, 4), rng.normal(0, 2, 4)
    got = affine_q(_node(a, b), x, F(out), s_out, zp)
    assert codes_list(got) == model(x, a, b, 1, F(out), s_out, zp)


def test_affine_fp8_in_and_ties_to_even():
    """x = q / 2 with s_out = 1: every odd q is an exact tie, rounded to the even integer."""
    q = np.arange(-20, 21).astype(np.int8).view(np.uint8).reshape(1, 41, 1)
    x = QTensor(q, F("int8"), scale=1.0)
    got = affine_q(_node([0.5], [0.0], axis=1), x, F("int8"), 1.0, 0)
    assert codes_list(got) == [round(Fraction(v, 2)) for v in range(-20, 21)]
    rng = np.random.default_rng(1)
    xf = QTensor.quantize(rng.normal(0, 4, (3, 5, 2)), F("e4m3"), scale=1.0)
    a, b = rng.normal(0, 1, 5), rng.normal(0, 1, 5)
    for out in ("e4m3", "e5m2", "int8"):
        got = affine_q(_node(a, b), xf, F(out), 0.125, 0)
        assert codes_list(got) == model(xf, a, b, 1, F(out), 0.125, 0)


def _m(nodes, inits, shape):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def test_import_batchnorm_mul_add_as_affine():
    rng = np.random.default_rng(2)
    C = 3
    bn = [rng.uniform(0.5, 2, C), rng.normal(0, 1, C), rng.normal(0, 1, C), rng.uniform(0.1, 2, C)]
    names = ["sc", "be", "mu", "va"]
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in zip(names, bn)]
    inits += [numpy_helper.from_array(np.float32(0.5), "half"),
              numpy_helper.from_array(np.float32(-2.0), "two"),
              numpy_helper.from_array(rng.normal(0, 1, (C, 1, 1)).astype(np.float32), "pc")]
    nodes = [helper.make_node("Mul", ["x", "half"], ["m"]),
             helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("BatchNormalization", ["r"] + names, ["b"]),
             helper.make_node("Mul", ["b", "two"], ["b2"]),
             helper.make_node("Add", ["pc", "b2"], ["y"])]
    m = _m(nodes, inits, [2, C, 4, 4])
    net = load_onnx(m)
    # the scalar Mul and the (C, 1, 1) Add (axis 1 of the rank-4 tensor) merge into the
    # BatchNormalization's affine
    assert [n.op for n in net.nodes] == ["ChannelAffine", "Relu", "ChannelAffine"]
    assert sum("merged" in r for r in net.source["rewrites"]) == 2
    x = rng.normal(0, 1, (2, C, 4, 4)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(net.reference(x)["y"], want, rtol=1e-5, atol=1e-5)
    net.calibrate([x])
    res = net.run(x)
    assert res.outputs["y"].shape == want.shape


@pytest.mark.parametrize("a,b", [([1.0, np.nan], [0.0, 0.0]), ([1.0, 1.0], [np.inf, 0.0])])
def test_non_finite_constants_are_unsupported_naming_the_node(a, b):
    """fuzz crash-edb2f234: an Add of a constant that folded to NaN became a ChannelAffine
    whose exact evaluation failed (`Fraction(nan)`: ValueError) at run time."""
    from hwsim.errors import UnsupportedModelError

    x = QTensor(np.zeros((1, 2, 2, 2), np.uint8), F("int8"), scale=0.1, zero_point=0)
    with pytest.raises(UnsupportedModelError, match="node aff .*holds NaN or Inf"):
        affine_q(SimpleNamespace(name="aff", op="ChannelAffine", attrs=dict(a=a, b=b, axis=1)),
                 x, F("int8"), 0.1, 0)
