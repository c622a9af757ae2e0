"""Sigmoid (hwsim.ops.sigmoid): bit for bit against a plain-Python MPFR model, and the QDQ
form against onnxruntime (which fuses DQ -> Sigmoid -> Q into its QLinearSigmoid table)."""
import bisect
import functools
from fractions import Fraction

import gmpy2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import hwsim
from hwsim.network import Network, load_onnx
from hwsim.ops.sigmoid import sigmoid_q
from hwsim.tensors import QTensor

_PREC = 400  # bits: far beyond any rounding decision below


def _sig_mpfr(x: Fraction):
    with gmpy2.context(gmpy2.get_context(), precision=_PREC):
        xm = gmpy2.mpfr(x.numerator) / gmpy2.mpfr(x.denominator)
        return 1 / (1 + gmpy2.exp(-xm))


def model_int(x: Fraction, s_out, zp_out, lo, hi) -> int:
    """sat(rne(sigmoid(x) / s_out) + zp_out), decided on a 400-bit value (ties: x = 0)."""
    if x == 0:
        t = Fraction(1, 2) / Fraction(s_out)
    else:
        with gmpy2.context(gmpy2.get_context(), precision=_PREC):
            t = Fraction(*(_sig_mpfr(x) / gmpy2.mpfr(s_out)).as_integer_ratio())
    n = int(t // 1)
    r = t - n
    n += 1 if (r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2)) else 0
    return min(max(n + zp_out, lo), hi)


@functools.lru_cache(maxsize=None)
def _grid(fmt):
    """(sorted non-negative finite values, their codes) of a float format."""
    codes = np.arange(1 << fmt.bits)
    vals = hwsim.decode(codes, fmt)
    ok = np.isfinite(vals) & (vals >= 0) & ~((vals == 0) & np.signbit(vals))
    order = np.argsort(vals[ok], kind="stable")
    return vals[ok][order].tolist(), codes[ok][order].tolist()


def model_float(x: Fraction, fmt, s_out):
    """Nearest finite value of ``fmt`` to sigmoid(x) / s_out (ties to the even code)."""
    vals, codes = _grid(fmt)
    if x == 0:
        t = Fraction(1, 2) / Fraction(s_out)
    else:
        with gmpy2.context(gmpy2.get_context(), precision=_PREC):
            t = Fraction(*(_sig_mpfr(x) / gmpy2.mpfr(s_out)).as_integer_ratio())
    i = bisect.bisect_left(vals, float(t))
    near = [j for j in (i - 2, i - 1, i, i + 1) if 0 <= j < len(vals)]
    best = min(near, key=lambda j: (abs(Fraction(vals[j]) - t), codes[j] & 1))
    return vals[best]


@pytest.mark.parametrize("in_name,out_name,seed", [("int8", "int8", 0), ("uint8", "uint8", 1),
                                                   ("int8", "uint8", 2), ("int4", "int8", 3)])
def test_integer_table_every_code(in_name, out_name, seed):
    rng = np.random.default_rng(seed)
    fi, fo = hwsim.format(in_name), hwsim.format(out_name)
    for _ in range(3):
        s = float(np.float32(rng.uniform(0.003, 0.2)))
        zp = int(rng.integers(fi.min_int, fi.max_int + 1)) // 4
        s_out = float(np.float32(rng.uniform(0.8, 1.2) / (fo.max_int - fo.min_int)))
        zo = fo.min_int
        q = np.arange(fi.min_int, fi.max_int + 1)
        x = QTensor((q & ((1 << fi.bits) - 1)).astype(fi.code_dtype), fi, s, zp)
        got = sigmoid_q(x, fo, s_out, zo)
        want = [model_int((int(v) - zp) * Fraction(s), s_out, zo, fo.min_int, fo.max_int) for v in q]
        assert got.ints().tolist() == want
        assert got.scale == s_out and got.zero_point == zo


@pytest.mark.parametrize("in_name,out_name", [("float8_e4m3fn", "float8_e4m3fn"),
                                              ("float8_e5m2", "float16"),
                                              ("float16", "float8_e4m3fn")])
def test_float_formats_correctly_rounded(in_name, out_name):
    fi, fo = hwsim.format(in_name), hwsim.format(out_name)
    codes = np.arange(1 << fi.bits, dtype=np.int64)
    vals = hwsim.decode(codes, fi)
    keep = np.isfinite(vals)
    if fi.bits > 8:  # float16 input: a seeded sample of codes (the model is slow)
        keep &= np.random.default_rng(5).random(codes.size) < 0.02
    x = QTensor(codes[keep].astype(fi.code_dtype), fi)
    got = sigmoid_q(x, fo, 1.0, 0).values()
    want = [model_float(Fraction(float(v)), fo, 1.0) for v in vals[keep]]
    assert got.tolist() == want


def _qdq_model(signed, s, zp, so, zo):
    npdt = np.int8 if signed else np.uint8
    inits = [numpy_helper.from_array(np.float32(s), "s"), numpy_helper.from_array(npdt(zp), "z"),
             numpy_helper.from_array(np.float32(so), "so"), numpy_helper.from_array(npdt(zo), "zo")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
             helper.make_node("Sigmoid", ["xd"], ["y"], name="sig"),
             helper.make_node("QuantizeLinear", ["y", "so", "zo"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "so", "zo"], ["yd"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
                          [helper.make_tensor_value_info("yd", TensorProto.FLOAT, [1, 256])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("signed", [True, False])
def test_qdq_sigmoid_bit_identical_to_onnxruntime(signed):
    rng = np.random.default_rng(11 + signed)
    f = hwsim.format("int8" if signed else "uint8")
    for _ in range(6):
        s = float(np.float32(rng.uniform(0.005, 0.1)))
        zp = int(rng.integers(-20, 20)) if signed else int(rng.integers(100, 160))
        so = float(np.float32(rng.uniform(0.9, 1.1) / 256))
        zo = -128 if signed else 0
        m = _qdq_model(signed, s, zp, so, zo)
        net = load_onnx(m)
        assert [n.op for n in net.nodes] == ["Sigmoid"]
        q = np.arange(f.min_int, f.max_int + 1)
        x = ((q - zp).astype(np.float32) * np.float32(s)).reshape(1, 256)  # every input code
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, {"x": x})[0]
        r = net.run(x)
        got = r.output_f32()
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
        model = [model_int((int(v) - zp) * Fraction(s), so, zo, f.min_int, f.max_int) for v in q]
        assert r.qoutputs[net.outputs[0]].ints().ravel().tolist() == model


def test_network_sigmoid_float_reference_and_calibrated_int8():
    rng = np.random.default_rng(4)
    net = Network({"x": (2, 6)}, config={"defaults": dict(input="int8", output="uint8",
                                                          symmetric=False)})
    net.add("Sigmoid", "x", "y", name="sig")
    net.outputs = ["y"]
    xs = [rng.normal(0, 3, (2, 6)) for _ in range(3)]
    net.calibrate(xs)
    assert np.array_equal(net.reference(xs[0])["y"], 1.0 / (1.0 + np.exp(-xs[0])))
    r = net.run(xs[0], keep=True)
    xin, y = r.tensors["x"], r.qoutputs["y"]
    assert y.fmt.name == "uint8" and xin.fmt.name == "int8"
    zp, s = int(xin.zero_point), float(xin.scale)
    want = [model_int((int(q) - zp) * Fraction(s), float(y.scale), int(y.zero_point), 0, 255)
            for q in xin.ints().ravel()]
    assert y.ints().ravel().tolist() == want
    assert r.stats["sig"]["sqnr_db"] > 30


def test_wide_integer_input_is_refused():
    x = QTensor(np.zeros(3, np.uint32), hwsim.format("int32"), 0.5, 0)
    with pytest.raises(ValueError, match="<= 16 bits"):
        sigmoid_q(x, hwsim.format("int8"), 1 / 128, 0)
