"""Element-wise arithmetic of the vector unit, each result correctly rounded once.

Operands are unit values (float64 arrays holding values of a format with at most 24
significand bits).  Each exact result is first brought to float64 with round-to-odd:
the float64 result ``s`` (IEEE, correctly rounded by numpy on every machine) and the sign
of the exact error ``exact - s`` (error-free transformations: TwoSum for add, Dekker's
product for the division remainder and the square-root residual; products of two
24-bit significands are exact in float64) give the truncation with its last bit set when
inexact.  One rounding of that value into a format of at most 51 significand bits is the
correctly rounded result in every rounding mode (Boldo & Melquiond, IEEE Trans. Computers
57(4), 2008).  No operand range reaches float64 overflow or underflow (float32-range
formats only, :class:`.unit.VectorUnit`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["round_to_odd", "add", "sub", "mul", "div", "sqrt", "vmin", "vmax", "two_prod"]

_SPLIT = 134217729.0  # 2^27 + 1 (Dekker / Veltkamp splitting of float64)


def round_to_odd(s, err_sign) -> np.ndarray:
    """The float64 round-to-odd value of ``exact`` given ``s = rne(exact)`` and the sign
    of ``exact - s`` (-1, 0, 1)."""
    s = np.asarray(s, np.float64)
    err_sign = np.asarray(err_sign)
    inexact = (err_sign != 0) & np.isfinite(s)
    toward0 = inexact & (np.sign(s) != err_sign)  # |exact| < |s|: truncation is one below
    t = np.where(toward0, np.nextafter(s, 0.0), s)
    bits = np.ascontiguousarray(t).view(np.uint64) | inexact.astype(np.uint64)
    return bits.view(np.float64)


def two_prod(a, b):
    """(p, e) with p = fl(a * b) and p + e = a * b exactly (Dekker 1971)."""
    p = a * b

    def split(x):
        c = _SPLIT * x
        hi = c - (c - x)
        return hi, x - hi

    ah, al = split(a)
    bh, bl = split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def add(unit, a, b) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    with np.errstate(invalid="ignore"):
        s = a + b
        bb = s - a
        err = (a - (s - bb)) + (b - bb)  # TwoSum (Knuth): s + err = a + b exactly
    if unit.rounding == "rdn":  # IEEE 754 6.3: an exact zero sum is -0 under roundTowardNegative
        both_pos0 = (a == 0) & (b == 0) & ~np.signbit(a) & ~np.signbit(b)
        s = np.where((s == 0) & ~both_pos0, -0.0, s)
    return unit.rnd(round_to_odd(s, np.sign(np.nan_to_num(err))))


def sub(unit, a, b) -> np.ndarray:
    return add(unit, a, -np.asarray(b, np.float64))


def mul(unit, a, b) -> np.ndarray:
    # two significands of <= 24 bits: the float64 product is exact
    return unit.rnd(np.asarray(a, np.float64) * np.asarray(b, np.float64))


def div(unit, a, b) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    with np.errstate(all="ignore"):
        q = a / b
        p, e = two_prod(q, b)
        r = (a - p) - e  # its sign is the sign of a - q*b (one rounding keeps the sign)
        sgn = np.where(np.isfinite(q) & (b != 0), np.sign(r) * np.sign(b), 0.0)
    return unit.rnd(round_to_odd(q, np.nan_to_num(sgn)))


def sqrt(unit, a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    with np.errstate(all="ignore"):
        s = np.sqrt(a)  # IEEE square root, correctly rounded
        p, e = two_prod(s, s)
        d = (a - p) - e
        sgn = np.where(np.isfinite(s) & (a > 0), np.sign(d), 0.0)
    return unit.rnd(round_to_odd(s, np.nan_to_num(sgn)))


def vmin(unit, a, b) -> np.ndarray:
    """min of unit values (exact; NaN propagates as ONNX Min does)."""
    return np.minimum(np.asarray(a, np.float64), np.asarray(b, np.float64))


def vmax(unit, a, b) -> np.ndarray:
    return np.maximum(np.asarray(a, np.float64), np.asarray(b, np.float64))
