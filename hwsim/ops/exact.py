"""Rounding an exactly known real value into an output quantization, once.

Shared by the ops whose function is evaluated exactly (:mod:`.sigmoid`,
:mod:`.softmax`): the value is a Fraction (exact) or a Decimal carrying enough
digits that the rounding decision is the exact one (docs/semantics.md).
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

import numpy as np

from ..codec import encode
from ..tensors import ints_to_codes

__all__ = ["output_code", "round_to_odd64", "nan_code", "exact_values", "codes_bracketed",
           "U64", "TINY_ABS"]

#: the unit roundoff of float64 (rne): each IEEE operation errs by at most U64 relative
#: (normal range) or 2^-1075 absolute (subnormal range)
U64 = 2.0 ** -53
#: an absolute bound that covers every float64 underflow of a bracketed evaluation (a few
#: roundings of at most 2^-1075 each), used as ``TINY_ABS * (1 + 1 / s_out)``
TINY_ABS = 2.0 ** -1070


def _divide(v, s_out):
    """v / s_out, exact for Fractions, at the value's precision (+ guard) for Decimals."""
    if isinstance(v, Fraction):
        return v / Fraction(s_out)
    ctx = Context(prec=max(len(v.as_tuple().digits), 1) + 20, Emin=-10**6, Emax=10**6)
    return ctx.divide(v, Decimal(float(s_out)))


def round_to_odd64(v) -> float:
    """v rounded to float64 with round-to-odd: exact values stay, inexact ones get
    the truncation with its last bit set (then one rne into a format of <= 51
    significand bits is the correctly rounded result; Boldo & Melquiond 2008)."""
    if v < 0:
        return -round_to_odd64(-v)
    y = float(v)  # correctly rounded (rne) conversion
    fy = Fraction(y)
    fv = v if isinstance(v, Fraction) else Fraction(v)
    if fy == fv:
        return y
    if fy > fv:
        y = float(np.nextafter(y, 0.0))
    bits = np.array([y], np.float64).view(np.uint64)
    return float((bits | np.uint64(1)).view(np.float64)[0])


def output_code(v, out_fmt, s_out=1.0, zp_out=0) -> int:
    """Code of the real value ``v`` in ``out_fmt`` with scale / zero point: integers
    ``sat(rne(v / s_out) + zp_out)``, floats ``v / s_out`` rounded once (rne, saturating)."""
    t = _divide(v, s_out)
    if out_fmt.kind == "int":
        n = round(t) if isinstance(t, Fraction) else int(t.to_integral_value(ROUND_HALF_EVEN))
        n = min(max(n + int(zp_out), out_fmt.min_int), out_fmt.max_int)
        return int(ints_to_codes(np.array([n]), out_fmt.bits, out_fmt.code_dtype)[0])
    if out_fmt.kind != "float":
        raise ValueError(f"output format must be an integer or float format, got {out_fmt.name}")
    y = float(t) if out_fmt.man_bits >= 51 else round_to_odd64(t)
    return int(encode(np.array([y]), out_fmt, "rne", "saturate")[0])


def nan_code(out_fmt, op) -> int:
    if out_fmt.kind != "float":
        raise ValueError(f"{op} of NaN has no code in {out_fmt.name}")
    return int(encode(np.array([np.nan]), out_fmt, "rne", "saturate")[0])


def exact_values(x, idx) -> list:
    """Exact real values (Fractions) of the elements ``idx`` (flat indices) of a QTensor:
    ``(q - zp) * s`` (integers) or ``decode(code) * s`` (floats), with the scale's float64
    value taken exactly."""
    flat = np.asarray(x.codes).reshape(-1)[idx]
    sc = np.broadcast_to(x._bcast(np.asarray(x.scale, np.float64)), x.shape).reshape(-1)[idx]
    if x.fmt.kind == "int":
        zp = np.broadcast_to(x._bcast(x.zero_point), x.shape).reshape(-1)[idx]
        q = x.with_codes(flat, axis=None, scale=1.0, zero_point=0).ints()
        return [(int(a) - int(z)) * Fraction(float(s)) for a, z, s in zip(q, zp, sc)]
    d = x.with_codes(flat, axis=None, scale=1.0, zero_point=0).decoded()
    return [Fraction(float(a)) * Fraction(float(s)) for a, s in zip(d, sc)]


def _codes_of(t, out_fmt, zp_out):
    """Codes of the already scaled values ``t`` (float64): sat(rne(t) + zp) or rne encode."""
    if out_fmt.kind == "int":
        n = np.clip(np.rint(t) + zp_out, out_fmt.min_int, out_fmt.max_int).astype(np.int64)
        return ints_to_codes(n, out_fmt.bits, out_fmt.code_dtype)
    return encode(t, out_fmt, "rne", "saturate")


def codes_bracketed(t, err, out_fmt, s_out, zp_out, exact, nonneg=False) -> np.ndarray:
    """Output codes of values known to lie in ``[t - err, t + err]`` (float64 arrays, ``t``
    already divided by the output scale): where both ends round to the same code (rounding
    is monotone) that code is the exact one; the other elements get
    ``output_code(exact(i))`` with ``exact(i)`` the exact value (Fraction / Decimal) of
    flat element ``i``.  Non-finite ``t`` goes the exact way too.  ``nonneg``: the exact
    values are known to be >= 0 (the lower end is clamped at 0).

    The ends are computed in float64 themselves; ``err`` is first widened by
    ``(|t| + err) * 2^-51``, which covers the rounding of ``t -+ err`` (at most
    ``2^-53 (|t| + err)``) and of the widening, so the float64 ends enclose the stated
    interval and the decision never rests on a rounding of the bracket itself."""
    if out_fmt.kind not in ("int", "float"):
        raise ValueError(f"output format must be an integer or float format, got {out_fmt.name}")
    zp_out = int(zp_out) if out_fmt.kind == "int" else 0
    t = np.asarray(t, np.float64)
    fin = np.isfinite(t) & np.isfinite(err)
    tf, ef = np.where(fin, t, 0.0), np.where(fin, err, 0.0)
    ef = ef + (np.abs(tf) + ef) * 2.0 ** -51
    lo_v = np.maximum(tf - ef, 0.0) if nonneg else tf - ef
    lo, hi = _codes_of(lo_v, out_fmt, zp_out), _codes_of(tf + ef, out_fmt, zp_out)
    codes = lo.copy()
    for i in np.flatnonzero((lo != hi) | ~fin):
        v = exact(int(i))
        codes.reshape(-1)[i] = nan_code(out_fmt, "an exact op") if v is None \
            else output_code(v, out_fmt, s_out, zp_out)
    return codes
