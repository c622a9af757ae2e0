"""Ziv's strategy in Softmax and Sigmoid (hwsim.ops.softmax / sigmoid): the float64 bracket
decides only certain codes, the Decimal path the rest.  The fast result is checked bit for
bit against the all-Decimal path on seeded random rows and on constructed near-boundary
rows and exact ties (where the fallback must run), and the stated bounds against MPFR."""
from fractions import Fraction

import gmpy2
import numpy as np
import pytest

import hwsim
from hwsim.network.graph import Node
from hwsim.ops import exact as exact_mod
from hwsim.ops.exact import output_code
from hwsim.ops.sigmoid import SIGMOID_REL, sigmoid_bracket, sigmoid_code, sigmoid_q, sigmoid_table
from hwsim.ops.softmax import (softmax_bracket, softmax_exact, softmax_q,
                               softmax_rel_bound)
from hwsim.ops.vector.funcs import EXP64_REL, exp64
from hwsim.tensors import QTensor

_NODE = Node("sm", "Softmax", ["x"], ["y"], {"axis": -1, "opset": 13})


def _decimal_path(x: QTensor, out_fmt, s_out, zp_out):
    """The all-Decimal Softmax: every output from softmax_exact, rounded once."""
    zp = int(zp_out) if out_fmt.kind == "int" else 0
    r = x.values().reshape(-1, x.shape[-1])
    return np.array([[output_code(v, out_fmt, s_out, zp) for v in softmax_exact(row)]
                     for row in r], out_fmt.code_dtype).reshape(x.shape)


class _Count:
    """Counts the elements that go the exact way in codes_bracketed."""

    def __init__(self, monkeypatch, module):
        self.n = 0
        orig = module.codes_bracketed

        def wrapped(t, err, out_fmt, s_out, zp_out, exact, nonneg=False):
            def counted(i):
                self.n += 1
                return exact(i)
            return orig(t, err, out_fmt, s_out, zp_out, counted, nonneg)
        monkeypatch.setattr(module, "codes_bracketed", wrapped)


def _int_input(rng, shape, scale, zp=0):
    fi = hwsim.format("int8")
    q = rng.integers(-128, 128, shape)
    return QTensor((q & 0xFF).astype(np.uint8), fi, scale, zp)


@pytest.mark.parametrize("seed,out,s_out,zp", [
    (0, "uint8", 1 / 256, 0), (1, "int8", 1 / 255, -128), (2, "int16", 1 / 32768, 0),
    (3, "float16", 1.0, 0), (4, "bfloat16", 1.0, 0), (5, "float8_e4m3fn", 1 / 64, 0),
    (6, "float32", 1.0, 0), (7, "uint8", 0.003, 0)])
def test_fast_equals_decimal_on_random_rows(seed, out, s_out, zp):
    rng = np.random.default_rng(seed)
    fo = hwsim.format(out)
    for scale, n in ((0.0625, 24), (0.5, 9), (0.01, 40), (3.0, 5)):
        x = _int_input(rng, (12, n), scale, int(rng.integers(-5, 6)))
        got = softmax_q(_NODE, x, fo, s_out, zp).codes
        assert np.array_equal(got, _decimal_path(x, fo, s_out, zp))


def test_fast_equals_decimal_float_inputs_wide_range():
    rng = np.random.default_rng(11)
    f16 = hwsim.format("float16")
    v = rng.normal(0, 1, (20, 16)) * rng.choice([0.1, 3.0, 30.0, 300.0], (20, 1))
    x = QTensor(hwsim.encode(v, f16), f16)
    for out, s_out in (("float16", 1.0), ("uint8", 1 / 256), ("float32", 1.0)):
        fo = hwsim.format(out)
        got = softmax_q(_NODE, x, fo, s_out, 0).codes
        assert np.array_equal(got, _decimal_path(x, fo, s_out, 0))


def test_near_boundary_rows_go_the_exact_way(monkeypatch):
    """s_out chosen so that y_j / s_out is within one float64 ulp of a rounding boundary
    (k + 1/2 for integers, the midpoint of two float16 neighbours): the bracket straddles
    it, the element is decided by the Decimal path, and the code equals that path's."""
    import hwsim.ops.softmax as sm
    rng = np.random.default_rng(12)
    cases = 0
    for trial in range(30):
        x = _int_input(rng, (1, 8), 0.125)
        y = softmax_exact(x.values()[0])
        j = int(rng.integers(0, 8))
        yj = Fraction(y[j]) if not isinstance(y[j], Fraction) else y[j]
        if trial % 2 == 0:
            fo, k = hwsim.format("uint8"), int(rng.integers(1, 200))
            s_out = float(yj / (k + Fraction(1, 2)))
        else:
            fo = hwsim.format("float16")
            mid = 1 + Fraction(2 * int(rng.integers(0, 512)) + 1, 2 ** 11)  # fp16 midpoints
            s_out = float(yj / mid)
        cnt = _Count(monkeypatch, sm)
        got = sm.softmax_q(_NODE, x, fo, s_out, 0).codes
        assert np.array_equal(got, _decimal_path(x, fo, s_out, 0))
        assert cnt.n >= 1  # the constructed element could not be decided in float64
        cases += cnt.n
    assert cases < 30 * 8  # and the others were


def test_constant_row_exact_ties(monkeypatch):
    """A constant row is exactly 1/n: with s_out = 1/2 and n = 4 the value 1/2 is a tie
    (rne -> 0); n = 8, s_out = 1/12: 1.5 -> 2; float16 with s_out = 1 + 2^-10 at n = 1
    ... decided exactly by the Fraction path."""
    import hwsim.ops.softmax as sm
    fu8 = hwsim.format("uint8")
    for n, s_out, want in ((4, 0.5, 0), (8, 1 / 12, 2), (2, 0.2, 2), (4, 0.1, 2)):
        x = QTensor(np.full((1, n), 7, np.uint8), hwsim.format("int8"), 0.25, 0)
        cnt = _Count(monkeypatch, sm)
        got = sm.softmax_q(_NODE, x, fu8, s_out, 0).ints()
        exact = Fraction(1, n) / Fraction(s_out)
        assert got.tolist() == [[want] * n]
        assert got[0, 0] == round(exact)  # Python's round: ties to even
        if exact.denominator == 2:
            assert cnt.n == n  # a tie can only be decided exactly


def test_softmax_bracket_bound_against_mpfr():
    rng = np.random.default_rng(13)
    rows = np.concatenate([rng.normal(0, 1, (30, 50)) * rng.choice([1, 20, 200, 700], (30, 1)),
                           rng.integers(-128, 128, (10, 50)) * 0.25])
    t, err = softmax_bracket(rows, 1.0)
    worst = 0.0
    with gmpy2.context(gmpy2.get_context(), precision=300):
        for i, row in enumerate(rows):
            m = max(row)
            e = [gmpy2.exp(gmpy2.mpfr(float(v)) - gmpy2.mpfr(float(m))) for v in row]
            s = sum(e)
            for j, ej in enumerate(e):
                ex = ej / s
                assert abs(gmpy2.mpfr(float(t[i, j])) - ex) <= err[i, j]
                if ex > 2.0 ** -1000:
                    worst = max(worst, float(abs(gmpy2.mpfr(float(t[i, j])) - ex) / ex))
    assert worst < softmax_rel_bound(50) / 4  # the bound is not tight, but not vacuous
    assert worst > 0


def test_exp64_error_bound_against_mpfr():
    rng = np.random.default_rng(14)
    x = np.concatenate([-rng.uniform(0, 1, 4000) * 700, -rng.uniform(0, 1, 2000),
                        -rng.uniform(0, 1, 1000) * 1e-8, [0.0, -np.log(2), -700.0]])
    y = exp64(x)
    worst = 0.0
    with gmpy2.context(gmpy2.get_context(), precision=200):
        for a, b in zip(x.tolist(), y.tolist()):
            ex = gmpy2.exp(gmpy2.mpfr(a))
            worst = max(worst, float(abs(gmpy2.mpfr(b) - ex) / ex))
    assert worst < EXP64_REL
    assert exp64(np.array([0.0]))[0] == 1.0


@pytest.mark.parametrize("seed", range(6))
def test_sigmoid_table_fast_equals_decimal(seed):
    rng = np.random.default_rng(100 + seed)
    fin = hwsim.format(["int8", "uint8", "int4"][seed % 3])
    for out, s_out, zp in (("uint8", 1 / 256, 0), ("int8", 1 / 255, -128),
                           ("float16", 1.0, 0), ("float8_e4m3fn", float(rng.uniform(0.001, 0.1)), 0)):
        fo = hwsim.format(out)
        s, z = float(rng.uniform(0.001, 2.0)), int(rng.integers(-3, 4))
        got = sigmoid_table(fin, s, z, fo, s_out, zp)
        fs = Fraction(s)
        want = [sigmoid_code((q - z) * fs, fo, s_out, zp) for q in range(fin.min_int, fin.max_int + 1)]
        assert got.tolist() == want


def test_sigmoid_near_boundary_and_tie(monkeypatch):
    """s_out put so that sigmoid(x) / s_out is a hair from k + 1/2; x = 0 gives the exact
    tie 1/2 / (1/3) = 3/2 -> 2."""
    import hwsim.ops.sigmoid as sg
    fi, fo = hwsim.format("int8"), hwsim.format("uint8")
    y = Fraction(sg.sigmoid_exact(Fraction(5, 4)))
    cnt = _Count(monkeypatch, sg)
    s_out = float(y / Fraction(201, 2))
    got = sigmoid_table.__wrapped__(fi, 0.25, 0, fo, s_out, 0)
    assert got.tolist() == [sigmoid_code(q * Fraction(1, 4), fo, s_out, 0) for q in range(-128, 128)]
    assert cnt.n >= 1
    t0 = sigmoid_table.__wrapped__(fi, 0.25, 0, fo, 1 / 3, 0)
    assert t0[128] == 2  # code q = 0: sigmoid(0) / (1/3) = 1.5 exactly, rne -> 2


def test_sigmoid_float_inputs_fast_equals_decimal():
    rng = np.random.default_rng(20)
    f16 = hwsim.format("float16")
    v = np.concatenate([rng.normal(0, 4, 600), [0.0, -0.0, np.inf, -np.inf, 30.0, -30.0]])
    x = QTensor(hwsim.encode(v, f16), f16)
    for out in ("float16", "bfloat16", "float32"):
        fo = hwsim.format(out)
        got = sigmoid_q(x, fo, 1.0, 0).codes
        want = [sigmoid_code(float(a), fo) for a in x.values()]
        assert got.tolist() == want


def test_sigmoid_bracket_bound_against_mpfr():
    x = np.concatenate([np.linspace(-800, 800, 3001), np.linspace(-3, 3, 2001)])
    t, err = sigmoid_bracket(x, 1.0)
    with gmpy2.context(gmpy2.get_context(), precision=300):
        for a, b, e in zip(x.tolist(), t.tolist(), err.tolist()):
            ex = 1 / (1 + gmpy2.exp(-gmpy2.mpfr(a)))
            assert abs(gmpy2.mpfr(b) - ex) <= e
            assert abs(gmpy2.mpfr(b) - ex) <= ex * SIGMOID_REL / 4 + 2.0 ** -1070


def test_bracket_widening_encloses_interval():
    """The float64 end ``fl(t - err)`` may round up onto a boundary: t = 3.5 + 2^-51,
    err = 2^-51 + 2^-53 give t - err = 3.5 - 2^-53, which rounds to 3.5 (code 4), while
    the value 3.5 - 2^-53 inside the bracket has code 3.  The widening of codes_bracketed
    sends it the exact way."""
    fo = hwsim.format("uint8")
    seen = []
    val = Fraction(7, 2) - Fraction(1, 2 ** 53)
    codes = exact_mod.codes_bracketed(np.array([3.5 + 2.0 ** -51]),
                                      np.array([2.0 ** -51 + 2.0 ** -53]), fo, 1.0, 0,
                                      lambda i: seen.append(i) or val)
    assert codes.tolist() == [3] and seen == [0]


def _digest_cases():
    """Seeded Softmax / Sigmoid outputs whose SHA-256 digests are stored below: a machine
    whose float64 arithmetic, summation order or decimal module changed a code would fail."""
    import hashlib
    rng = np.random.default_rng(30)
    x = _int_input(rng, (64, 128), 0.08, 0)
    f16 = hwsim.format("float16")
    xf = QTensor(hwsim.encode(rng.normal(0, 6, (16, 100)), f16), f16)
    outs = {
        "softmax_int8_uint8": softmax_q(_NODE, x, hwsim.format("uint8"), 1 / 256, 0).codes,
        "softmax_int8_float16": softmax_q(_NODE, x, f16, 1.0, 0).codes,
        "softmax_f16_bfloat16": softmax_q(_NODE, xf, hwsim.format("bfloat16"), 1.0, 0).codes,
        "sigmoid_int16_uint8": sigmoid_table.__wrapped__(hwsim.format("int16"), 0.0007, 3,
                                                         hwsim.format("uint8"), 1 / 256, 0),
        "sigmoid_f16_float16": sigmoid_q(xf, f16, 1.0, 0).codes,
    }
    return {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16]
            for k, v in outs.items()}


_DIGESTS = {"softmax_int8_uint8": "502136cd18a0a779", "softmax_int8_float16": "85edff62e20dea9c",
            "softmax_f16_bfloat16": "5bb51472eb298761", "sigmoid_int16_uint8": "2f12195c84d86cd1",
            "sigmoid_f16_float16": "75999983d0ecb18d"}


def test_stored_digests():
    assert _digest_cases() == _DIGESTS
