"""Softmax (hwsim.ops.softmax): every output the exact function rounded once, checked against a
400-bit MPFR model; axis semantics of ONNX opset < 13 and >= 13."""
from fractions import Fraction

import gmpy2
import numpy as np
import pytest

import hwsim
from hwsim.network import Network
from hwsim.network.graph import Node
from hwsim.ops.softmax import softmax_q
from hwsim.tensors import QTensor


def _exact(row):
    """400-bit softmax of a row of floats (Fractions)."""
    with gmpy2.context(gmpy2.get_context(), precision=400):
        m = max(row)
        e = [gmpy2.exp(gmpy2.mpfr(v - m)) for v in row]
        s = sum(e)
        return [Fraction(*(t / s).as_integer_ratio()) for t in e]


def _rne_int(t: Fraction, s_out, zp, lo, hi):
    t = t / Fraction(s_out)
    n = int(t // 1)
    r = t - n
    n += 1 if (r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2)) else 0
    return min(max(n + zp, lo), hi)


def test_int8_rows_against_mpfr():
    rng = np.random.default_rng(0)
    fi, fo = hwsim.format("int8"), hwsim.format("uint8")
    n = Node("sm", "Softmax", ["x"], ["y"], {"axis": -1, "opset": 13})
    q = rng.integers(-128, 128, (6, 10))
    x = QTensor((q & 0xFF).astype(np.uint8), fi, 0.0625, 3)
    got = softmax_q(n, x, fo, 1 / 256, 0).ints()
    for i in range(6):
        vals = [float((v - 3) * 0.0625) for v in q[i]]
        assert got[i].tolist() == [_rne_int(t, 1 / 256, 0, 0, 255) for t in _exact(vals)]


def test_float16_output_correctly_rounded_and_constant_row_exact():
    rng = np.random.default_rng(1)
    f16 = hwsim.format("float16")
    n = Node("sm", "Softmax", ["x"], ["y"], {"axis": -1, "opset": 13})
    v = np.concatenate([rng.normal(0, 2, (4, 7)), np.full((1, 7), 0.5)])
    x = QTensor(hwsim.encode(v, f16), f16)
    got = softmax_q(n, x, f16, 1.0, 0).values()
    for i in range(5):
        vals = [float(t) for t in x.values()[i]]
        want = [float(np.float16(0.0))] * 7
        for j, t in enumerate(_exact(vals)):
            lo = np.float16(float(t))  # candidates around the exact value
            cands = {float(c) for c in (np.nextafter(lo, np.float16(0)), lo, np.nextafter(lo, np.float16(1)))}
            want[j] = min(cands, key=lambda c: (abs(Fraction(c) - t),
                                                 int(np.float16(c).view(np.uint16)) & 1))
        assert got[i].tolist() == want
    assert got[4].tolist() == [float(np.float16(1 / 7))] * 7


@pytest.mark.parametrize("opset,axis,reduced", [(13, 1, (1,)), (11, 1, (1, 2))])
def test_axis_semantics_by_opset(opset, axis, reduced):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (2, 3, 4))
    net = Network({"x": x.shape})
    net.add("Softmax", "x", "y", axis=axis, opset=opset)
    net.outputs = ["y"]
    e = np.exp(x - x.max(axis=reduced, keepdims=True))
    assert np.allclose(net.reference(x)["y"], e / e.sum(axis=reduced, keepdims=True), rtol=1e-15)
    net.calibrate([x])
    r = net.run(x)
    assert r.stats[net.nodes[0].name]["sqnr_db"] > 25
