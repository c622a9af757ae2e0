"""Properties of hwsim.encode / quantize (the C path) that hold for every format.

Formats are random valid FloatFormats of <= 12 bits (every ``specials``
variant except e8m0, which has no zero; signed and unsigned, with and
without subnormals, free biases), so that the finite values can be listed
exactly (``hwsim.testing.representable_values``): the two neighbours
lo <= |x| <= hi of an input come from that list, not from hwsim's rounding.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import hwsim
from hwsim.formats import SPECIALS
from hwsim.testing import edge_values as ht_edge_values
from hwsim.testing import (arrays_of, float_formats, representable_values,
                           rounding_modes)

FORMATS = float_formats(max_bits=12, specials=[s for s in SPECIALS if s != "e8m0"])
SHAPES = st.integers(1, 48)


def _pos_table(fmt) -> np.ndarray:
    return np.array([float(v) for v in representable_values(fmt) if v >= 0])


def _quantum_exp(fmt, lo: np.ndarray) -> np.ndarray:
    """Exponent q of the grid spacing 2**q at the (non-negative) value lo.

    docs/semantics.md: q = E - M in a normal binade (E = floor(log2 lo)),
    q = emin - M below 2**emin with subnormals, q = emin without them.
    """
    M = fmt.man_bits
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(lo > 0, lo, 1.0))).astype(np.int64)
    below = lo < fmt.min_normal
    if fmt.subnormals:
        return np.where(below, fmt.emin - M, e - M)
    return np.where(below, fmt.emin, e - M)


def _neighbours(fmt, a: np.ndarray):
    """(lo, hi, K_lo): the values around each magnitude a <= max_finite and
    K_lo = lo / 2**q, the integer significand of lo on lo's grid."""
    pos = _pos_table(fmt)
    i = np.searchsorted(pos, a, side="right") - 1
    lo = pos[i]
    hi = np.where(lo == a, lo, pos[np.minimum(i + 1, pos.size - 1)])
    k_lo = np.ldexp(lo, -_quantum_exp(fmt, lo)).astype(np.int64)
    return lo, hi, k_lo


def _finite_inputs(fmt, x: np.ndarray) -> np.ndarray:
    x = x[np.isfinite(x) & (np.abs(x) <= fmt.max_finite)]
    if not fmt.signed:
        x = np.abs(x)  # negatives into an unsigned format are special cases
    return x


@given(fmt=FORMATS, data=st.data(), mode=rounding_modes())
def test_result_brackets_exact_value(fmt, data, mode):
    x = _finite_inputs(fmt, data.draw(arrays_of(fmt, SHAPES), label="x"))
    assume(x.size)
    q = hwsim.quantize(x, fmt, rounding=mode)
    a = np.abs(x)
    lo, hi, k_lo = _neighbours(fmt, a)
    s = np.where(x < 0, -1.0, 1.0)
    qa = np.abs(q)
    exact = lo == a
    # always: one of the two neighbours, and x itself when x is representable
    assert np.all((qa == lo) | (qa == hi)), (x, q, lo, hi)
    assert np.all(q[exact] == x[exact])
    if mode == "rtz":
        assert np.all(qa <= a)
    elif mode == "rup":
        assert np.all(q >= x)
    elif mode == "rdn":
        assert np.all(q <= x)
    elif mode in ("rne", "rna"):
        # |q - x| <= half the gap; on an exact tie rne takes the even K
        # (K = significand integer on lo's grid; hi is then K_lo + 1 or the
        # next binade's 2**(M+1), even), rna the larger magnitude
        assert np.all(np.abs(q - x) <= (hi - lo) / 2)
        tie = (a - lo) == (hi - a)
        want = np.where(k_lo % 2 == 0, lo, hi) if mode == "rne" else hi
        assert np.all(qa[tie & ~exact] == np.broadcast_to(want, a.shape)[tie & ~exact])
        near = ~tie & ~exact
        assert np.all(np.abs(qa - a)[near] < np.abs(np.where(qa == lo, hi, lo) - a)[near])
    elif mode == "rto":
        # truncate, then set the LSB when inexact: K odd (lo if K_lo is odd, else lo + ulp = hi)
        inexact = ~exact
        assert np.all(qa[inexact] == np.where(k_lo % 2 == 1, lo, hi)[inexact])
    assert np.all(np.sign(q[q != 0]) == s[q != 0])


@given(fmt=FORMATS, data=st.data(), mode=rounding_modes())
def test_monotonic(fmt, data, mode):
    x = np.sort(_finite_inputs(fmt, data.draw(arrays_of(fmt, SHAPES), label="x")))
    assume(x.size >= 2)  # fewer finite in-range values order nothing
    q = hwsim.quantize(x, fmt, rounding=mode)
    assert np.all(np.diff(q) >= 0), (x, q)


@given(fmt=float_formats(max_bits=12, specials=[s for s in SPECIALS if s != "e8m0"],
                         allow_unsigned=False),
       data=st.data(), mode=st.sampled_from(["rne", "rna", "rtz", "rto"]))
def test_sign_symmetric(fmt, data, mode):
    x = data.draw(arrays_of(fmt, SHAPES), label="x")  # overflowing values included
    pos = hwsim.quantize(x, fmt, rounding=mode)
    neg = hwsim.quantize(-x, fmt, rounding=mode)
    assert np.array_equal(neg, -pos, equal_nan=True)
    if fmt.has_negzero:  # -0 exists: the sign of a zero result flips too
        fin = ~np.isnan(pos)
        assert np.array_equal(np.signbit(neg[fin]), ~np.signbit(pos[fin]))


@given(fmt=FORMATS, data=st.data(), mode=rounding_modes(include_sr=True),
       sr_bits=st.integers(1, 32), seed=st.integers(0, 2**64 - 1))
def test_idempotent(fmt, data, mode, sr_bits, seed):
    x = data.draw(arrays_of(fmt, SHAPES), label="x")
    if not fmt.signed:
        x = np.abs(x)
    kw = dict(sr_bits=sr_bits, seed=seed) if mode == "sr" else {}
    q = hwsim.quantize(x, fmt, rounding=mode, **kw)
    assert np.array_equal(hwsim.quantize(q, fmt, rounding=mode, **kw), q, equal_nan=True)


@given(fmt=FORMATS, data=st.data(), r=st.integers(1, 32), seed=st.integers(0, 2**64 - 1),
       index0=st.integers(0, 2**40), negative=st.booleans())
def test_stochastic_rounding_mean(fmt, data, r, seed, index0, negative):
    """E[q] = lo + (hi - lo) * floor(frac * 2**r) / 2**r, to 5 standard errors.

    Derivation (docs/semantics.md, sr): for lo < |x| < hi adjacent, the r bits
    just below the kept LSB are t = floor(frac * 2**r) with frac = (|x| - lo) /
    (hi - lo) (bits further down are dropped).  With R uniform on [0, 2**r)
    the result is hi iff t + R >= 2**r, i.e. for t of the 2**r values of R:
    P(hi) = t / 2**r.  Over N independent draws the count of hi is binomial,
    so the sample frequency has standard error sqrt(p (1 - p) / N); when
    p = 0 every draw must give lo.  Note E[q] != |x| in general: with few
    random bits SR is biased toward zero by (frac - t / 2**r) * (hi - lo).
    """
    pos = representable_values(fmt)
    pos = [v for v in pos if v >= 0]
    assume(len(pos) >= 2)  # binary2p1se has the single finite value 0
    i = data.draw(st.integers(0, len(pos) - 2), label="i")
    lo, hi = pos[i], pos[i + 1]
    num = data.draw(st.integers(1, 2**20 - 1), label="num")
    x = lo + (hi - lo) * Fraction(num, 2**20)
    xf = float(x)
    assume(Fraction(xf) == x)  # exact in float64 (fails only at the float64 limits)
    frac = (x - lo) / (hi - lo)
    t = math.floor(frac * 2**r)
    p = t / 2**r
    n = 200_000
    sign = -1.0 if negative and fmt.signed else 1.0
    xs = np.full(n, sign * xf)
    q = np.abs(hwsim.quantize(xs, fmt, rounding="sr", sr_bits=r, seed=seed, index0=index0))
    assert np.all((q == float(lo)) | (q == float(hi)))
    freq = np.count_nonzero(q == float(hi)) / n
    bound = 5 * math.sqrt(p * (1 - p) / n)  # 5 standard errors of the frequency
    assert abs(freq - p) <= bound, (float(x), r, t, freq, p)


@given(fmt=FORMATS, data=st.data(), sr_bits=st.integers(1, 32), seed=st.integers(0, 2**64 - 1),
       index0=st.integers(0, 2**50))
def test_slices_give_the_bits_of_the_whole(fmt, data, sr_bits, seed, index0):
    x = data.draw(arrays_of(fmt, st.integers(2, 64)), label="x")
    if not fmt.signed:
        x = np.abs(x)
    a = data.draw(st.integers(0, x.size - 1), label="a")
    b = data.draw(st.integers(a + 1, x.size), label="b")
    kw = dict(rounding="sr", sr_bits=sr_bits, seed=seed)
    whole = hwsim.encode(x, fmt, index0=index0, **kw)
    part = hwsim.encode(x[a:b], fmt, index0=index0 + a, **kw)
    assert np.array_equal(part, whole[a:b])
    # the caller's rand array path: the same words give the same codes
    words = hwsim.random_bits(x.size, seed=seed, index0=index0)
    assert np.array_equal(hwsim.encode(x, fmt, rand=words, **kw), whole)


@pytest.mark.parametrize("name", ["float8_e4m3fn", "bfloat16", "float6_e2m3fn"])
@pytest.mark.parametrize("mode", ["rne", "rto", "sr"])
def test_thread_count_never_changes_results(name, mode):
    fmt = hwsim.format(name)
    rng = np.random.default_rng(11)
    x = rng.standard_normal(300_000) * np.ldexp(1.0, rng.integers(-20, 12, 300_000))
    kw = dict(rounding=mode, return_flags="elementwise")
    if mode == "sr":
        kw.update(sr_bits=9, seed=1234)
    c1, f1, e1 = hwsim.encode(x, fmt, threads=1, **kw)
    c2, f2, e2 = hwsim.encode(x, fmt, threads=2, **kw)
    assert np.array_equal(c1, c2) and f1 == f2 and np.array_equal(e1, e2)
    assert np.array_equal(hwsim.decode(c1, fmt, threads=1), hwsim.decode(c1, fmt, threads=2),
                          equal_nan=True)


def test_presets_on_edge_values(all_presets, all_modes):
    """Every preset and mode on its edge values: monotonic, idempotent, symmetric."""
    from hwsim.testing.strategies import overflow_threshold_list, subnormal_boundary_list

    for fmt in all_presets:
        if fmt.bits <= 16:
            x = ht_edge_values(fmt)
        else:
            x = np.array(subnormal_boundary_list(fmt) + overflow_threshold_list(fmt))
        x = x[~np.isnan(x)]
        if fmt.specials == "e8m0":
            x = x[x > 0]  # 0 and negatives are NaN there (no zero, unsigned)
        x = np.sort(x)
        for mode in all_modes:
            q = hwsim.quantize(x, fmt, rounding=mode)
            fin = np.abs(x) <= fmt.max_finite
            assert np.all(np.diff(q[fin]) >= 0), (fmt.name, mode)
            assert np.array_equal(hwsim.quantize(q, fmt, rounding=mode), q, equal_nan=True)
            if fmt.signed and mode in ("rne", "rna", "rtz", "rto"):
                assert np.array_equal(hwsim.quantize(-x, fmt, rounding=mode), -q, equal_nan=True)
