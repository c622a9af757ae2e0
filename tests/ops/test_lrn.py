"""LRN (hwsim.ops.lrn): the quantized executor bit for bit against a plain-Python model
(Fractions for the sums, MPFR at 300 bits for the power, hwsim.reference for the float
rounding), and the float64 reference against onnxruntime."""
from fractions import Fraction
from types import SimpleNamespace

import gmpy2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from hwsim.formats import format as F
from hwsim.network import load_onnx
from hwsim.ops.lrn import lrn_exact_pow, lrn_q
from hwsim.tensors import QTensor
from layers_refimpl import codes_list, exact_inputs, round_once


def _node(size, alpha, beta, bias):
    return SimpleNamespace(name="lrn", attrs=dict(size=size, alpha=float(np.float32(alpha)),
                                                   beta=float(np.float32(beta)),
                                                   k=float(np.float32(bias))))


def model(qt, n, out_fmt, s_out, zp_out):
    """Per element: d = bias + alpha/size * sum x^2 (Fractions), y = x * d^-beta (MPFR, 300
    bits), then sat(rne(y / s_out) + zp) or reference.encode(y / s_out) (rne, saturate)."""
    a = n.attrs
    size, alpha, beta, bias = a["size"], Fraction(a["alpha"]), Fraction(a["beta"]), Fraction(a["k"])
    xs = np.array(exact_inputs(qt), dtype=object).reshape(qt.shape)
    out = []
    C = qt.shape[1]
    for idx in np.ndindex(*qt.shape):
        c = idx[1]
        lo, hi = max(0, c - (size - 1) // 2), min(C, c + size // 2 + 1)
        d = bias + alpha / size * sum(xs[idx[:1] + (k,) + idx[2:]] ** 2 for k in range(lo, hi))
        with gmpy2.context(gmpy2.get_context(), precision=300):
            p = gmpy2.mpfr(d.numerator) / gmpy2.mpfr(d.denominator)
            y = xs[idx] * Fraction(*(p ** (-gmpy2.mpfr(beta.numerator) / beta.denominator)).as_integer_ratio())
        t = y / Fraction(s_out)
        out.append(round_once(t, out_fmt, zp_out))
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn_int8_bit_exact(size):
    rng = np.random.default_rng(size)
    q = rng.integers(-128, 128, (2, 7, 3, 2))
    x = QTensor(q.astype(np.int8).view(np.uint8), F("int8"), scale=0.37, zero_point=3)
    n = _node(size, 0.7, 0.75, 1.5)
    got = lrn_q(n, x, F("int8"), 0.05, -4)
    assert codes_list(got) == model(x, n, F("int8"), 0.05, -4)


@pytest.mark.parametrize("out", ["e4m3", "float16", "bfloat16"])
def test_lrn_fp8_in_float_out_bit_exact(out):
    rng = np.random.default_rng(7)
    x = QTensor.quantize(rng.normal(0, 3, (1, 9, 4, 3)), F("e4m3"), scale=1.0)
    n = _node(5, 1e-2, 0.75, 2.0)
    got = lrn_q(n, x, F(out), 0.125, 0)
    assert codes_list(got) == model(x, n, F(out), 0.125, 0)


def test_lrn_exact_ties_round_to_even():
    """size 1, alpha 15, bias 1: x = +-1 gives d = 16, d^-0.75 = 1/8 exactly; with s_out = 1/4
    the outputs are exactly +-0.5 (ties to even: 0), x = 3 gives 3 * 136^-0.75 (irrational)."""
    assert lrn_exact_pow(Fraction(16), Fraction(3, 4)) == Fraction(1, 8)
    x = QTensor(np.array([1, -1, 3, 0, 2], np.int8).view(np.uint8).reshape(1, 1, 5), F("int8"),
                scale=1.0, zero_point=0)
    n = _node(1, 15.0, 0.75, 1.0)
    got = lrn_q(n, x, F("int8"), 0.25, 0)
    assert codes_list(got) == model(x, n, F("int8"), 0.25, 0)
    assert codes_list(got)[:2] == [0, 0]
    got = lrn_q(n, x, F("e4m3"), 1 / 64, 0)
    assert codes_list(got) == model(x, n, F("e4m3"), 1 / 64, 0)


def test_lrn_bad_parameters():
    x = QTensor(np.zeros((1, 2, 2), np.uint8), F("int8"), scale=1.0)
    with pytest.raises(ValueError, match="bias > 0"):
        lrn_q(_node(3, 1e-4, 0.75, 0.0), x, F("int8"), 1.0, 0)


def test_lrn_import_float64_vs_onnxruntime():
    node = helper.make_node("LRN", ["x"], ["y"], size=5, alpha=1e-3, beta=0.75, bias=2.0)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    x = np.random.default_rng(3).normal(0, 4, (2, 8, 3, 3)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    net = load_onnx(m)
    assert [nd.op for nd in net.nodes] == ["LRN"]
    np.testing.assert_allclose(net.reference(x)["y"], want, rtol=1e-5, atol=1e-6)
