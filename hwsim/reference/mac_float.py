"""Values, float rounding, IEEE flags and NaN policies of the MAC reference.

Values are tuples: ``("fin", sign, Fraction magnitude)``, ``("inf", sign)`` or
``("nan", sign, payload, snan)`` (payload: the trailing significand
left-aligned at bit 63, as the C engine's ``hw_xval``; snan: a signalling NaN
operand, which raises INVALID where it is consumed).  Every function that
rounds returns the IEEE flags it raised (SoftFloat bits, :class:`hwsim.modes.Flags`).
"""
from __future__ import annotations

import struct
from fractions import Fraction

from ..errors import NaNInputError, OverflowValueError
from ..modes import Flags
from .scalar import encode as _scalar_encode

INEXACT, UNDERFLOW, OVERFLOW, INVALID = (int(Flags.INEXACT), int(Flags.UNDERFLOW),
                                         int(Flags.OVERFLOW), int(Flags.INVALID))


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def isnan(v) -> bool:
    return v[0] == "nan"


def fin(x: Fraction, sign=None):
    if sign is None:
        sign = 1 if x < 0 else 0
    return ("fin", sign, abs(Fraction(x)))


def signed(v) -> Fraction:
    return -v[2] if v[1] else v[2]


def floor_log2(x: Fraction) -> int:
    n, d = x.numerator, x.denominator
    e = n.bit_length() - d.bit_length()
    if (n < d << e) if e >= 0 else (n << -e < d):
        e -= 1
    return e


def default_nan(pol):
    """The NaN no operand brought (Inf * 0, Inf - Inf): quiet, zero payload."""
    return ("nan", int(pol.negative), 1 << 63, False)


def float64_value(x: float):
    """A float64 (bias, block operand value) as a value, NaN payload kept."""
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    neg = bits >> 63
    if x != x:
        m = bits & ((1 << 52) - 1)
        return ("nan", neg, m << 12, not (m >> 51) & 1)
    if x in (float("inf"), float("-inf")):
        return ("inf", neg)
    return fin(Fraction(x), neg)


def _floor_log2_or(mag):
    return floor_log2(mag) if mag else None


def decode_operand(code, fmt, zero_point: int = 0):
    """(value, aexp) of one operand code; aexp: alignment exponent or None.
    Block formats (mx, nvfp4, bfp): ``code`` is the operand's exact value
    (element x block factor, e.g. from ``BlockTensor.values()``)."""
    if fmt.kind in ("mx", "nvfp4", "bfp"):
        v = float64_value(float(code))
        return v, (_floor_log2_or(v[2]) if v[0] == "fin" else None)
    code = int(code)
    if fmt.kind != "float":
        if not 0 <= code < 1 << fmt.bits:
            raise ValueError(f"code {code} is not a code of {fmt.name}")
        raw = code - (1 << fmt.bits) if (fmt.signed and code >> (fmt.bits - 1)) else code
        v = raw - int(zero_point)
        val = fin(Fraction(v, 1) / Fraction(2) ** fmt.frac_bits)
        return val, (abs(v).bit_length() - 1 - fmt.frac_bits) if v else None
    cls = fmt.classify(code)
    sign = 1 if (fmt.signed and code & fmt.sign_bit) else 0
    if cls == "nan":
        if fmt.specials == "ieee":
            M = fmt.man_bits
            m = code & ((1 << M) - 1)
            return ("nan", sign, m << (64 - M), not (m >> (M - 1)) & 1), None
        return ("nan", sign if fmt.specials == "fn" else 0, 0, False), None
    if cls == "inf":
        return ("inf", sign), None
    if cls == "zero":
        return ("fin", sign if fmt.has_negzero else 0, Fraction(0)), None
    mag = abs(fmt.decode_exact(code))
    return ("fin", sign, mag), (floor_log2(mag) if cls == "normal" else fmt.emin)


def val(code: int, fmt):
    return decode_operand(code, fmt)[0]


# ---------------------------------------------------------------------------
# NaN policy
# ---------------------------------------------------------------------------
def nan_pick(terms, pol):
    """(NaN, flags) that a sum / product of ``terms`` (in priority order, at
    least one a NaN) gives: the first NaN, or under ``prefer_snan`` the first
    signalling one; INVALID when any is signalling."""
    nans = [t for t in terms if isnan(t)]
    snans = [t for t in nans if t[3]]
    flags = INVALID if snans else 0
    if pol.prefer_snan and snans:
        return snans[0], flags
    return nans[0], flags


def nan_code(fmt, v, pol) -> int:
    """The code of NaN v (None: the default NaN) in fmt under the policy."""
    if not fmt.has_nan:
        raise NaNInputError(f"NaN reached {fmt.name}, which has no NaN")
    if pol.mode != "propagate" or v is None:
        neg = pol.negative
    else:
        neg = bool(v[1])
        if fmt.specials == "ieee":
            M = fmt.man_bits
            code = (((1 << fmt.exp_bits) - 1) << M) | (v[2] >> (64 - M)) | (1 << (M - 1))
            return code | (fmt.sign_bit if neg else 0)
    if neg and fmt.signed and fmt.specials in ("ieee", "fn"):
        return fmt.nan_code | fmt.sign_bit
    return fmt.nan_code


# ---------------------------------------------------------------------------
# float rounding
# ---------------------------------------------------------------------------
def code_of(fmt, sign: int, mag: Fraction) -> int:
    M = fmt.man_bits
    if mag == 0:
        return fmt.sign_bit if (sign and fmt.has_negzero) else 0
    E = floor_log2(mag)
    if E < fmt.emin:
        m = mag / Fraction(2) ** (fmt.emin - M)
        code = int(m)
    else:
        m = mag / Fraction(2) ** (E - M) - (1 << M)
        code = ((E + fmt.bias) << M) | int(m)
    return code | (fmt.sign_bit if sign else 0)


def inf_code(fmt, sign: int, overflow: str):
    """(code, flags) of a signed Inf into a float format (hwsim encode semantics)."""
    s = fmt.sign_bit if sign else 0
    if overflow == "saturate":
        return s | fmt.max_code, INVALID
    if overflow == "saturate_finite_keep_inf":
        return ((fmt.inf_code | s), 0) if fmt.has_inf else ((s | fmt.max_code), INVALID)
    if overflow == "special":
        if fmt.has_inf:
            return fmt.inf_code | s, 0
        if fmt.has_nan:
            return ((s | fmt.nan_code) if fmt.specials == "fn" else fmt.nan_code), INVALID
        raise NaNInputError(f"Inf reached {fmt.name}, which has neither Inf nor NaN")
    raise OverflowValueError(f"Inf reached {fmt.name} with overflow='error'")


def _round_int(y: Fraction, mode: str) -> int:
    """y (signed) rounded to an integer: rne rna rtz rup rdn rto, or 'truncate' (floor)."""
    neg = y < 0
    a = -y if neg else y
    k = a.numerator // a.denominator
    r = a - k
    if mode in ("truncate", "rdn"):
        inc = neg and r > 0
    elif mode == "rup":
        inc = (not neg) and r > 0
    elif mode == "rtz":
        inc = False
    elif mode == "rne":
        inc = r > Fraction(1, 2) or (r == Fraction(1, 2) and k % 2 == 1)
    elif mode == "rna":
        inc = r >= Fraction(1, 2)
    elif mode == "rto":
        inc = False
        if r > 0:
            k |= 1
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    k += int(inc)
    return -k if neg else k


def round_fl(sign: int, mag: Fraction, fmt, mode: str, overflow: str):
    """(code, overflowed, flags) of (-1)^sign * mag rounded once into fmt."""
    if mag == 0:
        return code_of(fmt, sign, Fraction(0)), False, 0
    M = fmt.man_bits
    E = floor_log2(mag)
    q = E - M if E >= fmt.emin else (fmt.emin - M if fmt.subnormals else fmt.emin)
    k = _round_int(Fraction(mag) / Fraction(2) ** q * (-1 if sign else 1), mode)
    r = abs(Fraction(k) * Fraction(2) ** q)
    # the flags: the scalar reference's encode of the same exact value
    _, flags = _scalar_encode(fmt, -mag if sign else mag, mode, overflow, tininess="after")
    if r > Fraction(fmt.max_finite):
        s = fmt.sign_bit if sign else 0
        if overflow in ("saturate", "saturate_finite_keep_inf"):
            return s | fmt.max_code, True, flags
        if overflow == "error":
            raise OverflowValueError(f"overflow of {fmt.name} with overflow='error'")
        toward_zero = mode in ("rtz", "rto") or (mode == "rdn" and not sign) or \
            (mode == "rup" and sign)
        if toward_zero:
            return s | fmt.max_code, True, flags
        return inf_code(fmt, sign, "special")[0], True, flags
    return code_of(fmt, sign, r), False, flags


def round_fraction_to_float(sign: int, mag: Fraction, fmt, mode: str, overflow: str):
    """(code, overflowed) of (-1)^sign * mag rounded once into fmt."""
    return round_fl(sign, mag, fmt, mode, overflow)[:2]


def zero_sign(terms, nonzero: bool, mode: str) -> int:
    """IEEE sign of an exact zero sum of the given (zero) terms."""
    if not nonzero:
        signs = {t[1] for t in terms}
        if signs == {1}:
            return 1
        if signs == {0}:
            return 0
    return 1 if mode == "rdn" else 0


def float_sum(terms, fmt, mode: str, overflow: str, pol):
    """(code, overflowed, flags): the exact sum of the terms (in priority
    order for NaNs) rounded once into fmt."""
    if any(isnan(t) for t in terms):
        w, fl = nan_pick(terms, pol)
        return nan_code(fmt, w, pol), False, fl
    infs = {t[1] for t in terms if t[0] == "inf"}
    if len(infs) == 2:
        return nan_code(fmt, None, pol), False, INVALID
    if infs:
        code, fl = inf_code(fmt, infs.pop(), overflow)
        return code, False, fl
    total = sum((signed(t) for t in terms), Fraction(0))
    if total == 0:
        zs = zero_sign(terms, any(t[2] != 0 for t in terms), mode)
        return code_of(fmt, zs, Fraction(0)), False, 0
    return round_fl(1 if total < 0 else 0, abs(total), fmt, mode, overflow)


def absf(v) -> float:
    if isnan(v):
        return float("nan")
    if v[0] == "inf":
        return float("inf")
    return float(v[2])


def value_out(v):
    """A register value as MacRefResult.value: Fraction, or float nan / +-inf."""
    if isnan(v):
        return float("nan")
    if v[0] == "inf":
        return float("-inf") if v[1] else float("inf")
    return signed(v)


__all__ = ["decode_operand", "round_fraction_to_float"]
