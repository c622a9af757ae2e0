"""hwsim against GNU MPFR (through gmpy2) for IEEE-style custom formats.

MPFR rounds a value to ``precision`` bits with an exponent range [emin, emax]
and, with ``subnormalize=True``, emulates IEEE gradual underflow: it is an
oracle independent of hwsim for every FloatFormat with ``specials='ieee'`` and
subnormals, whatever its exponent width, mantissa width or bias.

How a FloatFormat maps onto an MPFR context
-------------------------------------------
MPFR writes a nonzero number as ``0.1b...b * 2**e_mpfr`` (significand in
[1/2, 1)), IEEE as ``1.b...b * 2**e`` (significand in [1, 2)); so the same
number has ``e_mpfr = e + 1``.  For a format with precision p = man_bits + 1,
smallest normal exponent emin = 1 - bias and largest exponent emax:

- ``precision = p``;
- ``emax_mpfr = emax + 1``: MPFR's largest number (1 - 2**-p) * 2**emax_mpfr
  equals the format's max finite (2 - 2**-man_bits) * 2**emax, and a result
  that rounds above it overflows exactly as IEEE 754 section 7.4 says (to Inf,
  or to max finite when the mode rounds toward zero for that sign);
- ``emin_mpfr = emin - p + 2``: MPFR's emin is the exponent of the smallest
  representable number, here the smallest subnormal 2**(emin - man_bits)
  = 0.1b * 2**(emin - man_bits + 1), and ``mpfr_subnormalize`` rounds a value
  of MPFR exponent e < emin_mpfr + p - 1 (that is, below 2**emin) to e -
  emin_mpfr + 1 bits, which puts its LSB at 2**(emin - man_bits): the
  subnormal grid.  (binary64: p = 53, emin = -1022 gives the textbook
  emin_mpfr = -1073, emax_mpfr = 1024.)

The round trip is ``mpfr(x, 53)`` (exact for a float64 x; the default context's
exponent range is huge) followed by ``ctx.plus(.)``, which rounds once into the
context and subnormalizes with the ternary value (no double rounding).
Rounding modes: rne = RoundToNearest, rtz = RoundToZero, rup = RoundUp,
rdn = RoundDown.  (MPFR has no ties-away conversion mode and no round-to-odd.)

Which inputs overflow depends on the mode, so a second context with a huge
emax gives the value rounded on the unbounded grid; it overflows when its
magnitude exceeds max finite, and those elements are checked against the
documented rule (docs/semantics.md, "Overflow") as well as against MPFR.
"""
from __future__ import annotations

import math

import gmpy2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import hwsim
from hwsim.formats import FloatFormat
from hwsim.testing import overflow_thresholds, subnormal_boundaries, values_near_ties

MPFR_MODES = {"rne": gmpy2.RoundToNearest, "rtz": gmpy2.RoundToZero,
              "rup": gmpy2.RoundUp, "rdn": gmpy2.RoundDown}


def mpfr_context(fmt: FloatFormat, mode: str, unbounded_above: bool = False):
    """The MPFR context that rounds exactly like ``fmt`` (see the module docstring)."""
    p = fmt.precision
    emax = 1100 if unbounded_above else fmt.emax + 1  # 1100: beyond every float64
    return gmpy2.context(precision=p, emin=fmt.emin - p + 2, emax=emax, subnormalize=True,
                         round=MPFR_MODES[mode])


def mpfr_round(values: np.ndarray, ctx) -> np.ndarray:
    return np.array([float(ctx.plus(gmpy2.mpfr(float(v), 53))) for v in values])


@st.composite
def ieee_formats(draw) -> FloatFormat:
    """exp_bits 2..8, man_bits 0..10, ieee specials, subnormals; default or free bias."""
    e = draw(st.integers(2, 8))
    m = draw(st.integers(0, 10))
    default = (1 << (e - 1)) - 1
    bias = draw(st.one_of(st.none(), st.integers(default - 40, default + 40)))
    return FloatFormat(e, m, bias=bias, specials="ieee", subnormals=True)


def bulk_inputs(fmt: FloatFormat, seed: int, n: int = 200) -> np.ndarray:
    """float64 inputs: random over the format's binades, near-ties, wide random bits."""
    rng = np.random.default_rng(seed)
    M, emin, emax = fmt.man_bits, fmt.emin, fmt.emax
    k = n // 5
    # (1) uniform significand, exponent from below the smallest subnormal to 2 binades above max
    e = rng.integers(emin - M - 3, emax + 3, 2 * k)
    a = np.ldexp(1.0 + rng.random(2 * k), e)
    # (2) exact midpoints between consecutive values, from first principles: in
    # binade e the values are K * 2**(e - M), K in [2**M, 2**(M+1)) (at e = emin
    # also K < 2**M: the subnormals), so the midpoints are (K + 1/2) * 2**(e - M).
    # The top binade's last midpoint is the overflow threshold.
    e = rng.integers(emin, emax + 1, 2 * k)
    K = np.where(e == emin, rng.integers(0, 1 << (M + 1), 2 * k),
                 rng.integers(1 << M, 1 << (M + 1), 2 * k))
    mid = np.ldexp(K + 0.5, e - M)
    # ... and tiny offsets: a relative 2**-j (j = 12..52), or one float64 ulp
    j = rng.integers(12, 53, 2 * k)
    off = rng.choice([-1.0, 0.0, 1.0], 2 * k)
    mid = mid * (1.0 + off * np.ldexp(1.0, -j))
    ulp = rng.choice([-1, 0, 1], 2 * k)
    mid = np.where(ulp == 1, np.nextafter(mid, np.inf),
                   np.where(ulp == -1, np.nextafter(mid, -np.inf), mid))
    # (3) random float64 bit patterns (all binades; non-finite ones dropped)
    raw = rng.integers(0, 1 << 63, n - 4 * k, dtype=np.int64).view(np.float64)
    raw = raw[np.isfinite(raw)]
    x = np.concatenate([a, mid, raw])
    return x * rng.choice([-1.0, 1.0], x.size)


def _same(got: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """Element-wise bit-equality of float64 values (signed zeros distinguished)."""
    return (got == exp) & (np.signbit(got) == np.signbit(exp)) | (np.isnan(got) & np.isnan(exp))


def test_mpfr_context_mapping_binary16():
    # The mapping itself, checked on IEEE binary16 facts (IEEE 754-2019 table 3.5):
    # max 65504, min normal 2**-14, min subnormal 2**-24; RNE overflows from the
    # midpoint 65520 = 65504 + 32/2 upward, and 2**-25 (half the min subnormal) ties to 0.
    f16 = hwsim.format("float16")
    ctx = mpfr_context(f16, "rne")
    assert (ctx.emin, ctx.emax, ctx.precision) == (-23, 16, 11)
    r = mpfr_round(np.array([65504.0, 65519.99, 65520.0, 2.0**-24, 2.0**-25,
                             2.0**-25 * 1.0001, 3 * 2.0**-25, 2.0**-14 - 2.0**-25]), ctx)
    assert list(r) == [65504.0, 65504.0, math.inf, 2.0**-24, 0.0, 2.0**-24, 2 * 2.0**-24,
                       2.0**-14]
    # subnormal LSB is 2**-24: 1.5 * 2**-24 ties to even (2 * 2**-24), 2.5 * 2**-24 to 2 * 2**-24
    assert list(mpfr_round(np.array([1.5 * 2.0**-24, 2.5 * 2.0**-24]), ctx)) == [2.0**-23] * 2
    # rtz never overflows to Inf: 1e6 rounds to max finite
    assert mpfr_round(np.array([1e6]), mpfr_context(f16, "rtz"))[0] == 65504.0
    # numpy's float16 conversion (RNE, IEEE) is a second witness of the mapping
    x = bulk_inputs(f16, seed=3, n=4000)
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).astype(np.float64)
    assert np.all(_same(mpfr_round(x, ctx), ref))


@given(fmt=ieee_formats(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_quantize_matches_mpfr(fmt, seed, data):
    drawn = data.draw(st.lists(st.one_of(values_near_ties(fmt), subnormal_boundaries(fmt),
                                         overflow_thresholds(fmt),
                                         st.floats(allow_nan=False, allow_infinity=False)),
                               min_size=1, max_size=24), label="drawn")
    x = np.concatenate([np.array(drawn, dtype=np.float64), bulk_inputs(fmt, seed)])
    x = x[np.isfinite(x)]  # infinities are no rounding question (test_errors / semantics)
    max_f = fmt.max_finite
    for mode in MPFR_MODES:
        unbounded = mpfr_round(x, mpfr_context(fmt, mode, unbounded_above=True))
        ieee = mpfr_round(x, mpfr_context(fmt, mode))
        got = hwsim.quantize(x, fmt, rounding=mode)
        fin = np.abs(unbounded) <= max_f
        bad = np.flatnonzero(~_same(got[fin], unbounded[fin]))
        assert bad.size == 0, (
            f"{fmt!r} {mode}: x={x[fin][bad[0]]!r} ({float(x[fin][bad[0]]).hex()}) -> "
            f"hwsim {got[fin][bad[0]]!r}, MPFR {unbounded[fin][bad[0]]!r} ({bad.size} differ)")
        # overflow (docs/semantics.md, default overflow='special' for a format with Inf):
        # +-max finite when the mode rounds toward zero for that sign, else +-Inf.
        ovf = ~fin
        xo = x[ovf]
        toward_zero = {"rne": np.zeros(xo.shape, bool), "rtz": np.ones(xo.shape, bool),
                       "rup": xo < 0, "rdn": xo > 0}[mode]
        rule = np.copysign(np.where(toward_zero, max_f, np.inf), xo)
        assert np.array_equal(got[ovf], rule), f"{fmt!r} {mode}: overflow of {xo}"
        assert np.array_equal(ieee[ovf], rule)  # MPFR's own overflow agrees (IEEE 754 7.4)
        assert np.all(_same(ieee[fin], unbounded[fin]))
        # overflow='saturate': the same, except every overflow gives +-max finite
        sat = hwsim.quantize(x, fmt, rounding=mode, overflow="saturate")
        assert np.array_equal(sat[ovf], np.copysign(max_f, xo))
        assert np.all(_same(sat[fin], got[fin]))
