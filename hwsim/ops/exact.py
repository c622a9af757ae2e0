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

__all__ = ["output_code", "round_to_odd64", "nan_code"]


def _divide(v, s_out):
    """v / s_out, exact for Fractions, at the value's precision (+ guard) for Decimals."""
    if isinstance(v, Fraction):
        return v / Fraction(s_out)
    ctx = Context(prec=max(len(v.as_tuple().digits), 1) + 20, Emin=-10**6, Emax=10**6)
    return ctx.divide(v, Decimal(float(s_out)))


def round_to_odd64(v) -> float:
    """v (> 0) rounded to float64 with round-to-odd: exact values stay, inexact ones get
    the truncation with its last bit set (then one rne into a format of <= 51
    significand bits is the correctly rounded result; Boldo & Melquiond 2008)."""
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
    """Code of the real value ``v`` (>= 0) in ``out_fmt`` with scale / zero point: integers
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
