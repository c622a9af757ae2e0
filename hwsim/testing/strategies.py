"""Hypothesis strategies and edge-value generators for number formats.

Computed from the format's parameters in pure Python / numpy, never the C kernels.
Strategies: ``float_formats`` ``int_formats`` ``fixed_formats`` ``codes``
``finite_codes`` ``values_near_ties`` ``subnormal_boundaries``
``overflow_thresholds`` ``arrays_of`` ``rounding_modes`` (docs/architecture.md,
"Testing tools"); plain: :func:`representable_values`, :func:`edge_values`, :func:`next_up_value`.

>>> import hwsim
>>> f = hwsim.format("float4_e2m1fn")
>>> [float(v) for v in representable_values(f) if v >= 0]
[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
>>> next_up_value(f)  # where the unbounded grid continues above max_finite
8.0
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from functools import lru_cache

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..errors import FormatError
from ..formats import SPECIALS, FixedFormat, FloatFormat, IntFormat
from ..modes import DETERMINISTIC_ROUNDINGS, ROUNDINGS

__all__ = [
    "float_formats", "int_formats", "fixed_formats", "codes", "finite_codes",
    "values_near_ties", "subnormal_boundaries", "overflow_thresholds", "arrays_of",
    "rounding_modes", "representable_values", "edge_values", "next_up_value",
    "TIE_ALPHAS", "DETERMINISTIC_MODES", "ALL_MODES",
]

#: fractions of the gap between consecutive values used by :func:`values_near_ties`
TIE_ALPHAS = (Fraction(0), Fraction(3, 10), Fraction(1, 2), Fraction(3, 5), Fraction(9, 10),
              Fraction(5, 4))
#: rounding modes that need no random bits
DETERMINISTIC_MODES = DETERMINISTIC_ROUNDINGS
#: every rounding mode
ALL_MODES = ROUNDINGS

#: specials variants that require a sign bit / forbid one
_NEEDS_SIGN = ("fnuz", "p3109", "p3109_finite")


def _feasible(sp: str, signed: bool, allow_unsigned: bool, min_bits: int, max_bits: int) -> bool:
    """Whether some FloatFormat with these specials and sign fits [min_bits, max_bits]."""
    if signed and sp == "e8m0" or not signed and (sp in _NEEDS_SIGN or not allow_unsigned):
        return False
    s = 1 if signed else 0
    # ieee: E >= 2; fn: E + M >= 2 (NaN is all ones); p3109 with E + M = 1 would have no
    # finite value but 0 (binary2p1se: 0, +-Inf, NaN), so it is not drawn either
    narrowest = s + (1 if sp in ("finite", "e8m0", "fnuz", "p3109_finite") else 2)
    widest = 10 if sp == "e8m0" else s + 11 + 52  # e8m0 values are float64 normals
    return narrowest <= max_bits and min_bits <= widest


# ---------------------------------------------------------------------------
# formats
# ---------------------------------------------------------------------------
def _as_tuple(specials) -> tuple[str, ...]:
    if specials is None:
        return SPECIALS
    if isinstance(specials, str):
        specials = (specials,)
    specials = tuple(specials)
    bad = [s for s in specials if s not in SPECIALS]
    if bad or not specials:
        raise ValueError(f"specials must be None or a non-empty subset of {SPECIALS}, got {specials!r}")
    return specials


@st.composite
def float_formats(draw, max_bits: int = 16, specials=None, allow_unsigned: bool = True,
                  subnormals: bool | None = None, free_bias: bool = True,
                  min_bits: int = 2) -> FloatFormat:
    """Random valid :class:`~hwsim.FloatFormat` objects.

    Parameters
    ----------
    max_bits : int
        Largest total width (sign + exponent + mantissa), 2..64.
    specials : str or sequence of str, optional
        Allowed ``specials`` variants (default: all, see ``hwsim.formats.SPECIALS``).
    allow_unsigned : bool
        Whether formats without a sign bit may be drawn (e8m0 is always unsigned,
        so it is only drawn when this is True).
    subnormals : bool, optional
        Force subnormals on or off (default: either).
    free_bias : bool
        Also draw biases other than the default (kept only when every value of
        the format stays exact in float64).
    min_bits : int
        Smallest total width (one bit less for 11-bit-exponent layouts with a finite
        top exponent, which fit float64 with no bias and lose a mantissa bit).
    """
    if not 2 <= max_bits <= 64:
        raise ValueError(f"max_bits must be in [2, 64], got {max_bits!r}")
    if not 2 <= min_bits <= max_bits:
        raise ValueError(f"min_bits must be in [2, max_bits={max_bits}], got {min_bits!r}")
    combos = [(sp, signed) for sp in _as_tuple(specials) for signed in (True, False)
              if _feasible(sp, signed, allow_unsigned, min_bits, max_bits)]
    if not combos:
        raise ValueError(f"no FloatFormat with specials in {_as_tuple(specials)} fits "
                         f"min_bits={min_bits}, max_bits={max_bits}, allow_unsigned={allow_unsigned}")
    sp, signed = draw(st.sampled_from(combos))
    s = 1 if signed else 0
    # exponent bits first, then the mantissa fills (part of) the remaining width
    m_max = 0 if sp == "e8m0" else 52
    E = draw(st.integers(max(2 if sp == "ieee" else 1, min_bits - s - m_max),
                         min(10 if sp == "e8m0" else 11, max_bits - s)))
    if sp == "e8m0":
        M = 0
    else:  # fn and p3109 need exp_bits + man_bits >= 2 (see _feasible)
        M = draw(st.integers(max(0, min_bits - s - E, 2 - E if sp in ("fn", "p3109") else 0),
                             min(52, max_bits - s - E)))
    if sp == "e8m0":
        sub = False
    elif subnormals is None:
        sub = draw(st.booleans())
    else:
        sub = bool(subnormals)
    kw = dict(subnormals=sub, specials=sp, signed=signed)
    drawn_bias = None
    if free_bias and draw(st.booleans()):
        default = (1 << (E - 1)) - 1
        span = 1 << min(E, 10)
        drawn_bias = draw(st.integers(default - span, default + span))
    return _valid_float_format(E, M, drawn_bias, kw)


def _valid_float_format(E: int, M: int, bias, kw: dict) -> FloatFormat:
    """FloatFormat(E, M, bias) or, when that leaves float64, the nearest valid one.

    A drawn bias that puts values outside float64 falls back to the default;
    the default itself fails only for 11-bit exponents whose top exponent is
    finite (fnuz, finite, p3109...), where one more bias fixes the top unless
    the mantissa is too wide for the bottom, in which case M shrinks.
    """
    default = (1 << (E - 1)) - (0 if kw["specials"] in ("p3109", "p3109_finite") else 1)
    for m in range(M, -1, -1):
        for b in (bias, default, default + 1):
            try:
                return FloatFormat(E, m, bias=b, **kw)
            except FormatError:
                continue
    raise AssertionError(f"no valid FloatFormat with exp_bits={E} and {kw}")  # unreachable


@st.composite
def int_formats(draw, max_bits: int = 64, allow_unsigned: bool = True) -> IntFormat:
    """Random :class:`~hwsim.IntFormat` of 1..max_bits bits."""
    if not 1 <= max_bits <= 64:
        raise ValueError(f"max_bits must be in [1, 64], got {max_bits!r}")
    signed = draw(st.booleans()) if allow_unsigned else True
    return IntFormat(draw(st.integers(1, max_bits)), signed=signed)


@st.composite
def fixed_formats(draw, max_bits: int = 64, allow_unsigned: bool = True,
                  frac_range: tuple[int, int] = (-8, 72)) -> FixedFormat:
    """Random :class:`~hwsim.FixedFormat`: value = integer * 2**-frac_bits.

    ``frac_bits`` is drawn from ``frac_range`` (it may be negative or exceed
    ``bits``), clipped so that every value stays exact in float64.
    """
    if not 1 <= max_bits <= 64:
        raise ValueError(f"max_bits must be in [1, 64], got {max_bits!r}")
    signed = draw(st.booleans()) if allow_unsigned else True
    bits = draw(st.integers(1, max_bits))
    lo, hi = frac_range
    return FixedFormat(bits, draw(st.integers(lo, hi)), signed=signed)


def codes(fmt) -> st.SearchStrategy[int]:
    """Every code of a scalar format, as a Python int in [0, 2**bits)."""
    return st.integers(0, (1 << fmt.bits) - 1)


def finite_codes(fmt) -> st.SearchStrategy[int]:
    """Codes that decode to a finite value (every code of an int/fixed format)."""
    if fmt.kind != "float":
        return codes(fmt)
    return codes(fmt).filter(lambda c: fmt.classify(c) not in ("nan", "inf"))


def rounding_modes(include_sr: bool = False) -> st.SearchStrategy[str]:
    """Rounding-mode names; ``sr`` only when ``include_sr`` (it needs ``sr_bits``)."""
    return st.sampled_from(ALL_MODES if include_sr else DETERMINISTIC_MODES)


# ---------------------------------------------------------------------------
# exact values of a format (pure Python)
# ---------------------------------------------------------------------------
def _quantum_top(fmt) -> Fraction:
    """Spacing of the grid at the top of the finite range."""
    if fmt.kind == "float":
        return Fraction(2) ** (fmt.emax - fmt.man_bits)
    return Fraction(1, 1) / Fraction(2) ** fmt.frac_bits


def _max_exact(fmt) -> Fraction:
    if fmt.kind == "float":
        return Fraction(fmt.max_finite)
    return Fraction(fmt.max_int) / Fraction(2) ** fmt.frac_bits


def next_up_value(fmt) -> float:
    """The grid point just above ``max_finite`` on the format's unbounded grid.

    For an ``ieee`` format that is where Inf sits, for ``fn`` the NaN code's
    place (OCP E4M3: 480); half-way between it and max finite is where
    round-to-nearest starts to overflow.  Int/fixed: ``max + 2**-frac_bits``.
    """
    v = _max_exact(fmt) + _quantum_top(fmt)
    try:
        return float(v)
    except OverflowError:  # the top of an 11-bit-exponent format: beyond float64
        return math.inf


@lru_cache(maxsize=1024)
def _positive_finite_values(fmt) -> tuple[Fraction, ...]:
    """Sorted distinct non-negative finite values (float formats of <= 16 bits).

    Computed from the field layout (docs/semantics.md), with
    ``FloatFormat.classify`` only to skip the NaN / Inf codes.
    """
    if fmt.kind != "float" or fmt.bits > 16:
        raise ValueError(f"enumerating values needs a float format of <= 16 bits, got {fmt!r}")
    M = fmt.man_bits
    vals = set()
    for c in range(1 << (fmt.exp_bits + fmt.man_bits)):
        if fmt.classify(c) in ("nan", "inf"):
            continue
        e, m = c >> M, c & ((1 << M) - 1)
        if fmt.specials == "e8m0":
            k, q = 1, e - fmt.bias
        elif e == 0:
            k, q = (m if fmt.subnormals else 0), fmt.emin - M
        else:
            k, q = (1 << M) + m, e - fmt.bias - M
        vals.add(Fraction(k << q) if q >= 0 else Fraction(k, 1 << -q))
    return tuple(sorted(vals))


def representable_values(fmt) -> list[Fraction]:
    """Every finite value of a <= 16-bit float format, sorted, as exact Fractions.

    Signed zeros collapse into one 0; negative values are included when the
    format is signed.
    """
    pos = _positive_finite_values(fmt)
    if not fmt.signed:
        return list(pos)
    return [-v for v in reversed(pos) if v != 0] + list(pos)


def _float_exact(v: Fraction) -> float | None:
    """float(v) if that is exact, else None."""
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) and Fraction(f) == v else None


def _with_neighbours(values, dtype) -> list[float]:
    out = []
    with np.errstate(over="ignore"):  # the neighbour of float64's max is inf
        for v in values:
            out.append(v)
            out.append(float(np.nextafter(dtype(v), dtype(np.inf))))
            out.append(float(np.nextafter(dtype(v), dtype(-np.inf))))
    return out


def _signed(fmt, values) -> list[float]:
    vals = list(values)
    if fmt.kind == "float" and not fmt.signed:
        return vals + [-v for v in vals if v > 0]  # negatives are edge cases too
    return vals + [-v for v in vals]


def subnormal_boundary_list(fmt) -> list[float]:
    """Values around zero, the smallest subnormal and the smallest normal."""
    if fmt.kind == "float":
        ms, mn = Fraction(fmt.min_subnormal), Fraction(fmt.min_normal)
    else:
        ms = mn = Fraction(1) / Fraction(2) ** fmt.frac_bits
    cands = [0, ms / 4, ms / 2, ms * 3 / 4, ms, ms * 3 / 2, ms * 2, mn - ms, mn - ms / 2,
             mn / 2, mn, mn + ms / 2, mn * (1 + Fraction(1, 1 << 20))]
    vals = [f for f in (_float_exact(Fraction(c)) for c in cands) if f is not None]
    return sorted(set(_signed(fmt, _with_neighbours(vals, np.float64))))


def overflow_threshold_list(fmt) -> list[float]:
    """Values around max finite and the overflow threshold, and the infinities."""
    mx, q = _max_exact(fmt), _quantum_top(fmt)
    cands = [mx - q, mx - q / 2, mx, mx + q / 4, mx + q / 2, mx + q * 3 / 4, mx + q, mx * 2,
             mx * 4]
    cands += [mx * (1 + Fraction(1, 1 << k)) for k in (1, 2, 3, 5, 8, 13, 21, 30, 40, 52)]
    vals = [f for f in (_float_exact(Fraction(c)) for c in cands) if f is not None]
    vals = _with_neighbours(vals, np.float64)
    vals = [v for v in vals if math.isfinite(v)] + [math.inf]
    return sorted(set(_signed(fmt, vals)))


def subnormal_boundaries(fmt) -> st.SearchStrategy[float]:
    """Values around 0, min_subnormal (and half of it), min_normal, with signs."""
    return st.sampled_from(subnormal_boundary_list(fmt))


def overflow_thresholds(fmt) -> st.SearchStrategy[float]:
    """Values around max_finite, max + half an ulp (where rne overflows), +-inf."""
    return st.sampled_from(overflow_threshold_list(fmt))


def _value_of_code(fmt, c: int) -> Fraction | None:
    v = fmt.decode_exact(c)
    return v if isinstance(v, Fraction) else None


@st.composite
def values_near_ties(draw, fmt) -> float:
    """Values between two consecutive values v0 < v1 of ``fmt``.

    Either ``v0 + alpha * (v1 - v0)`` for alpha in :data:`TIE_ALPHAS` (rounded
    to the nearest float64), or the exact midpoint, or one of its two float64
    neighbours.  Above max finite, v1 continues the grid (:func:`next_up_value`),
    so the overflow threshold is drawn too.  The sign is drawn for signed formats.
    """
    if fmt.kind == "float":
        mag_mask = (1 << (fmt.exp_bits + fmt.man_bits)) - 1
        c = draw(st.integers(0, mag_mask).filter(
            lambda k: fmt.classify(k) not in ("nan", "inf")))
        v0 = _value_of_code(fmt, c)
        v1 = _value_of_code(fmt, c + 1) if c < mag_mask else None
        if v1 is None:  # c is the largest finite code: continue the grid
            v1 = v0 + _quantum_top(fmt)
        negative = fmt.signed and draw(st.booleans())
    else:
        n = draw(st.integers(0 if not fmt.signed else fmt.min_int, fmt.max_int))
        scale = Fraction(1) / Fraction(2) ** fmt.frac_bits
        v0, v1 = n * scale, (n + 1) * scale
        negative = False
    pick = draw(st.sampled_from(("alpha", "mid", "mid_up", "mid_down")))
    if pick == "alpha":
        v = _nearest_finite(v0 + draw(st.sampled_from(TIE_ALPHAS)) * (v1 - v0))
    else:
        v = _nearest_finite((v0 + v1) / 2)
        with np.errstate(over="ignore"):
            if pick == "mid_up":
                v = float(np.nextafter(v, np.inf))
            elif pick == "mid_down":
                v = float(np.nextafter(v, -np.inf))
        v = min(v, sys.float_info.max)
    return -v if negative else v


def _nearest_finite(v: Fraction) -> float:
    """float(v), or float64's largest value where v lies beyond it (top of an
    11-bit-exponent format: the grid continues past 2**1024)."""
    try:
        return float(v)
    except OverflowError:
        return sys.float_info.max


def edge_values(fmt, dtype=np.float64) -> np.ndarray:
    """Every edge value of a <= 16-bit float format as an array of ``dtype``.

    Every representable value, every midpoint between consecutive values
    and its two ``dtype`` neighbours, the subnormal and overflow boundaries
    (:func:`subnormal_boundary_list`, :func:`overflow_threshold_list`),
    +-0, +-inf and NaN.  Values are converted to ``dtype`` (float32: values
    outside its range become inf or 0, which are edge cases as well).
    """
    dtype = np.dtype(dtype).type
    pos = _positive_finite_values(fmt)
    nxt = list(pos[1:]) + [pos[-1] + _quantum_top(fmt)]
    mids = [(a + b) / 2 for a, b in zip(pos, nxt)]
    vals = np.array([float(v) for v in pos] + [_nearest_finite(m) for m in mids],
                    dtype=np.float64)
    extra = np.array(subnormal_boundary_list(fmt) + overflow_threshold_list(fmt),
                     dtype=np.float64)
    with np.errstate(over="ignore"):  # beyond float32 / float64: inf, an edge too
        vals = vals.astype(dtype)
        up = np.nextafter(vals, dtype(np.inf))
        dn = np.nextafter(vals, dtype(-np.inf))
        extra = extra.astype(dtype)
    allv = np.concatenate([vals, up, dn, extra])
    allv = np.concatenate([allv, -allv, np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype)])
    return allv.astype(dtype)


# ---------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------
def _interesting_values(fmt) -> st.SearchStrategy[float]:
    return st.one_of(
        values_near_ties(fmt),
        subnormal_boundaries(fmt),
        overflow_thresholds(fmt),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def arrays_of(fmt, shape, *, dtype=np.float64, codes_only: bool = False,
              elements=None) -> st.SearchStrategy[np.ndarray]:
    """numpy arrays of values that matter for ``fmt`` (or of its codes).

    Parameters
    ----------
    fmt : scalar format object
    shape : int, tuple or strategy of shapes (as ``hypothesis.extra.numpy.arrays``)
    dtype : float64 (default) or float32 for value arrays
    codes_only : bool
        Draw code arrays (``fmt.code_dtype``) instead of values.
    elements : strategy, optional
        Override the element strategy.

    Value elements mix :func:`values_near_ties`, :func:`subnormal_boundaries`,
    :func:`overflow_thresholds` and arbitrary finite floats.
    """
    if codes_only:
        return hnp.arrays(fmt.code_dtype, shape, elements=elements or codes(fmt))
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    el = elements or _interesting_values(fmt)
    if dt == np.float32:
        el = el.map(lambda v: float(np.float32(v)) if abs(v) < 3.4e38 else math.copysign(math.inf, v))
    return hnp.arrays(dt, shape, elements=el)
