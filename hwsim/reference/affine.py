"""Reference affine (scale / zero point) integer quantization, exact."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import NaNInputError
from ..modes import Overflow, RoundingMode, Tininess
from .rounding import _round_nd, _sr_params
from .scalar import FloatFormat, _encode_float, _info, _read_input, decode_float

__all__ = ["quantize_affine", "dequantize_affine"]


# ---------------------------------------------------------------------------
# Affine quantization
# ---------------------------------------------------------------------------
_F32 = FloatFormat(8, 23)


def _to_f32(v) -> float:
    """v (a float or Fraction) rounded once to float32 (RNE, overflow to Inf)."""
    code, _ = _encode_float(_info(_F32), *_read_input(v, False), RoundingMode.RNE,
                            Overflow.SPECIAL, Tininess.AFTER, False, None, 0, 0)
    return decode_float(_F32, code)


def quantize_affine(x, scale, zero_point, bits, signed=True, rounding="rne", narrow_range=False,
                    *, compute="float64", sr_bits=None, rand=None):
    """``clamp(round(x / scale) + zero_point, qmin, qmax)`` for one value.

    ``x / scale`` is one IEEE division in float64 (``compute="float64"``) or
    in float32 (``compute="float32"``, x and scale first rounded to float32, as
    ONNX QuantizeLinear does for float32 inputs); the quotient is then rounded
    exactly to an integer by ``rounding``.  ``narrow_range`` (signed only)
    makes the range ``[-(2^(b-1) - 1), 2^(b-1) - 1]``.

    >>> quantize_affine(0.25, 0.1, 0, 8, True), quantize_affine(2.5, 1.0, 0, 8, True)
    (2, 2)
    >>> quantize_affine(-1000.0, 1.0, 0, 8, True, narrow_range=True)
    -127
    """
    check = isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 64
    if check:
        raise ValueError(f"bits must be an integer in [1, 64], got {bits!r}")
    s = float(scale)
    if not (s > 0 and math.isfinite(s)):
        raise ValueError(f"scale must be a finite float > 0, got {scale!r}")
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):
        raise ValueError(f"zero_point must be an integer, got {zero_point!r}")
    if compute not in ("float64", "float32"):
        raise ValueError(f"compute must be 'float64' or 'float32', got {compute!r}")
    if signed:
        qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if narrow_range:
            qmin += 1
    else:
        if narrow_range:
            raise ValueError("narrow_range=True applies to signed ranges only, got signed=False")
        qmin, qmax = 0, (1 << bits) - 1
    mode = RoundingMode.parse(rounding)
    r, R = _sr_params(mode, sr_bits, rand, 0, 0)
    xv = float(x)
    if math.isnan(xv):
        raise NaNInputError("x is NaN: affine quantization has no NaN code")
    if compute == "float64":
        y = xv / s
    else:
        x32, s32 = _to_f32(xv), _to_f32(s)
        if math.isinf(x32):
            y = x32
        elif s32 == 0:  # scale underflowed float32
            raise ValueError(f"scale must be >= the smallest float32 subnormal, got {scale!r}")
        else:
            y = _to_f32(Fraction(x32) / Fraction(s32))  # IEEE float32 division
    if math.isinf(y):
        return qmax if y > 0 else qmin
    fy = Fraction(y)
    K, _ = _round_nd(abs(fy.numerator), fy.denominator, mode, fy < 0, r, R)
    q = (-K if fy < 0 else K) + int(zero_point)
    return min(max(q, qmin), qmax)


def dequantize_affine(q, scale, zero_point) -> float:
    """``(q - zero_point) * scale`` in float64 (one rounding of the exact product).

    >>> dequantize_affine(-3, 0.5, 1)
    -2.0
    """
    return float(Fraction(int(q) - int(zero_point)) * Fraction(float(scale)))
