"""Affine int quantization: onnxruntime QuantizeLinear is the independent oracle."""
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim.codec.affine import int_range, ints_from_codes

import onnxruntime as ort  # the test extra installs it: a missing oracle fails, never skips
from onnx import TensorProto, helper


def _ort_quantize(x, scale, zp, axis=None, dtype=TensorProto.INT8):
    X = helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)
    Y = helper.make_tensor_value_info("y", dtype, x.shape)
    s = helper.make_tensor("s", TensorProto.FLOAT, np.shape(scale),
                           np.atleast_1d(scale).astype(np.float32).ravel().tolist())
    z = helper.make_tensor("z", dtype, np.shape(zp), np.atleast_1d(zp).ravel().tolist())
    kw = {} if axis is None else {"axis": axis}
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], **kw)
    g = helper.make_graph([node], "g", [X], [Y], initializer=[s, z])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 9
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize("scale", [0.0173, 0.01, 1 / 128, 0.3, 2.5e-5])
def test_per_tensor_int8_matches_onnxruntime(scale):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(50000) * 3).astype(np.float32)
    # exact ties of x / scale in float32: k + 0.5 times the scale
    x[:2000] = ((np.arange(2000) - 1000 + 0.5) * np.float32(scale)).astype(np.float32)
    x[2000:2010] = [1e30, -1e30, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 127 * scale, -129 * scale]
    want = _ort_quantize(x, np.float32(scale), np.int8(3))
    got = hwsim.quantize_affine(x, np.float32(scale), 3, "int8", compute="float32").view(np.int8)
    assert np.array_equal(want, got), np.flatnonzero(want != got)[:10]


def test_per_axis_and_uint8_match_onnxruntime():
    rng = np.random.default_rng(2)
    xx = (rng.standard_normal((4, 300)) * 3).astype(np.float32)
    sc = np.array([0.01, 0.02, 0.05, 0.1], np.float32)
    zp = np.array([0, 1, -2, 5], np.int8)
    want = _ort_quantize(xx, sc, zp, axis=0)
    got = hwsim.quantize_affine(xx, sc, zp, "int8", axis=0, compute="float32").view(np.int8)
    assert np.array_equal(want, got)
    x = (rng.standard_normal(20000) * 3).astype(np.float32)
    want = _ort_quantize(x, np.float32(0.0173), np.uint8(128), dtype=TensorProto.UINT8)
    got = hwsim.quantize_affine(x, np.float32(0.0173), 128, "uint8", compute="float32")
    assert np.array_equal(want, got)


def test_float64_division_is_exactly_rounded():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3000) * 2
    scale = 0.0173
    got = ints_from_codes(hwsim.quantize_affine(x, scale, -4, "int8", rounding="rna"), "int8")
    for xi, g in zip(x, got):
        v = Fraction(float(xi) / scale)  # float64 quotient, then exact rounding
        n = int(abs(v) + Fraction(1, 2)) * (1 if v >= 0 else -1)  # ties away from zero
        assert g == max(-128, min(127, n - 4))


def test_narrow_range_and_ranges():
    assert int_range("int8", narrow_range=True) == (-127, 127)
    assert int_range("uint4") == (0, 15)
    q = hwsim.quantize_affine(np.array([-10.0, 10.0]), 0.01, 0, "int8", narrow_range=True)
    assert list(ints_from_codes(q, "int8")) == [-127, 127]
    with pytest.raises(hwsim.FormatError, match="narrow_range"):
        int_range("uint8", narrow_range=True)


def test_dequantize_round_trip():
    q = hwsim.quantize_affine(np.array([-1.0, 0.0, 0.26, 2.0]), 0.01, 3, "int8")
    assert list(hwsim.dequantize_affine(q, 0.01, 3, "int8")) == [(v - 3) * 0.01 for v in (-97, 3, 29, 127)]


@pytest.mark.parametrize("kw,match", [
    (dict(scale=0.0), "scale"), (dict(scale=-1.0), "scale"), (dict(scale=np.nan), "scale"),
    (dict(zero_point=200), "zero_point"), (dict(fmt="float16"), "integer format"),
    (dict(fmt="int40"), r"\[1, 32\]"), (dict(compute="float16"), "compute"),
    (dict(scale=np.ones(3)), "axis"), (dict(scale=np.ones(3), axis=0), "shape"),
])
def test_bad_parameters_name_themselves(kw, match):
    args = dict(x=np.zeros(4), scale=0.1, zero_point=0, fmt="int8")
    args.update(kw)
    x = args.pop("x")
    with pytest.raises((ValueError, TypeError), match=match):
        hwsim.quantize_affine(x, args.pop("scale"), args.pop("zero_point"), args.pop("fmt"), **args)


def test_nan_input_is_an_error():
    with pytest.raises(ValueError, match="NaN"):
        hwsim.quantize_affine(np.array([np.nan]), 0.1, 0, "int8")
