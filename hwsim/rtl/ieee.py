"""Exact scalar arithmetic on codes, with IEEE flags and a NaN policy.

``add``, ``mul``, ``mul_add`` (fused, one rounding) and ``convert`` take codes and
return ``(code, flags)``.  Finite results are the exact sum / product computed with
Python ints and :class:`fractions.Fraction` and rounded once by
:func:`hwsim.reference.encode` (so every rounding mode, overflow policy and
tininess rule of the reference holds); special cases follow IEEE 754-2019 and NaN
results follow a :class:`NanPolicy` (``riscv``, ``x86``, ``arm``, modelled on
SoftFloat 3e's specialisations).  The special cases and the NaN policies are
described in docs/rtl.md, "Test vectors".
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .. import reference as ref
from ..errors import UnsupportedModeError
from ..formats import FloatFormat
from ..formats import format as parse_format
from ..modes import Flags, RoundingMode
from ..reference.scalar import _info as _ref_info

__all__ = ["NanPolicy", "NAN_PRESETS", "nan_policy", "add", "mul", "mul_add", "convert",
           "classify", "is_snan"]

INVALID = int(Flags.INVALID)


@dataclass(frozen=True)
class NanPolicy:
    """How NaN results are chosen.

    ``mode``: ``"canonical"`` (always ``default``) or ``"propagate"`` (an operand's
    payload, quieted); ``prefer_snan``: with ``propagate``, a signalling NaN operand
    wins over an earlier quiet one (ARM); ``default_negative``: the default NaN has
    its sign bit set (x86)."""

    name: str = "x86"
    mode: str = "propagate"
    prefer_snan: bool = False
    default_negative: bool = True

    def __post_init__(self):
        if self.mode not in ("canonical", "propagate"):
            raise ValueError(f"nan mode must be 'canonical' or 'propagate', got {self.mode!r}")


NAN_PRESETS = {
    "riscv": NanPolicy("riscv", "canonical", False, False),
    "x86": NanPolicy("x86", "propagate", False, True),
    "arm": NanPolicy("arm", "propagate", True, False),
}


def nan_policy(p) -> NanPolicy:
    """A :class:`NanPolicy` from itself or a preset name (riscv, x86, arm)."""
    if isinstance(p, NanPolicy):
        return p
    if p == "canonical":
        return NAN_PRESETS["riscv"]
    if p in NAN_PRESETS:
        return NAN_PRESETS[p]
    raise ValueError(f"nan must be one of {sorted(NAN_PRESETS)} or a NanPolicy, got {p!r}")


def _info(f):
    return _ref_info(f) if isinstance(f, FloatFormat) else None


def classify(f, code: int) -> str:
    """'snan', 'qnan', 'inf', 'zero' or 'finite' for a code of format ``f``."""
    inf = _info(f)
    if inf is None:
        return "zero" if ref.decode(f, code) == 0 else "finite"
    c = inf.classify(code)
    if c == "nan":
        return "snan" if is_snan(f, code) else "qnan"
    if c in ("zero", "noncanonical_zero"):
        return "zero"
    return c if c == "inf" else "finite"


def is_snan(f, code: int) -> bool:
    """Signalling NaN: an IEEE-style NaN with the quiet bit (mantissa MSB) clear."""
    inf = _info(f)
    if inf is None or inf.sp != "ieee" or inf.M < 2:
        return False  # M=1: the only NaN mantissa is the quiet bit
    return inf.classify(code) == "nan" and not (code >> (inf.M - 1)) & 1


def _quiet(f, code: int) -> int:
    inf = _info(f)
    return code | (1 << (inf.M - 1)) if inf.sp == "ieee" else code


def _default_nan(f, pol: NanPolicy) -> int:
    inf = _info(f)
    if inf.nan_code is None:
        raise UnsupportedModeError(f"{f.name} has no NaN code: a NaN result cannot be encoded")
    if pol.default_negative and inf.sp in ("ieee", "fn") and f.signed:
        return inf.nan_code | inf.sign_bit
    return inf.nan_code


def _propagate(f, pol: NanPolicy, a: int, b: int):
    """SoftFloat's propagateNaN(a, b) under ``pol``: (code, flags); one of a, b is NaN."""
    ka, kb = classify(f, a), classify(f, b)
    flags = INVALID if "snan" in (ka, kb) else 0
    if pol.mode == "canonical" or _info(f).sp != "ieee":
        return _default_nan(f, pol), flags
    if pol.prefer_snan and flags:
        return _quiet(f, a if ka == "snan" else b), flags
    return _quiet(f, a if ka in ("snan", "qnan") else b), flags


def _sign(f, code: int) -> bool:
    inf = _info(f)
    return bool(inf and code & inf.sign_bit)


def _value(f, code: int) -> Fraction:
    return ref.decode(f, code)


def _zero(f, negative: bool) -> int:
    inf = _info(f)
    if inf is None:
        return 0
    return inf.sign_bit if negative and inf.has_negzero else 0


def _inf(f, pol, negative: bool):
    inf = _info(f)
    if inf.inf_code is None:  # a format without Inf: an Inf result is NaN (invalid)
        return _default_nan(f, pol), INVALID
    return inf.inf_code | (inf.sign_bit if negative else 0), 0


def _round(f, x: Fraction, rounding, overflow, tininess, zero_negative: bool):
    """Round an exact result; an exact zero gets the sign the caller decided."""
    if x == 0:
        return _zero(f, zero_negative), 0
    return ref.encode(f, x, rounding, overflow, tininess=tininess)


def _opts(fmt, rounding, overflow, nan):
    f = parse_format(fmt)
    mode = RoundingMode.parse(rounding)
    if mode == RoundingMode.SR:
        raise UnsupportedModeError("rounding='sr' is not deterministic per line; use rne, rna, "
                                   "rtz, rup, rdn or rto")
    if overflow is None:
        inf = _info(f)
        overflow = "special" if inf is not None and (inf.has_inf or inf.has_nan) else (
            f.default_overflow if inf is not None else "saturate")
    return f, mode, overflow, nan_policy(nan)


def _sum_zero_sign(signs, mode) -> bool:
    """Sign of an exact zero sum (IEEE 754-2019 6.3)."""
    if all(signs):
        return True
    if not any(signs):
        return False
    return mode == RoundingMode.RDN


def add(fmt, a: int, b: int, rounding="rne", *, overflow=None, tininess="after", nan="x86"):
    """a + b rounded once into ``fmt`` (codes in, ``(code, flags)`` out)."""
    f, mode, ovf, pol = _opts(fmt, rounding, overflow, nan)
    ka, kb = classify(f, a), classify(f, b)
    if "snan" in (ka, kb) or "qnan" in (ka, kb):
        return _propagate(f, pol, a, b)
    if ka == "inf" or kb == "inf":
        if ka == kb == "inf" and _sign(f, a) != _sign(f, b):
            return _default_nan(f, pol), INVALID
        return _inf(f, pol, _sign(f, a) if ka == "inf" else _sign(f, b))
    s = _value(f, a) + _value(f, b)
    zs = _sum_zero_sign([_sign(f, a), _sign(f, b)] if ka == kb == "zero" else [False, True], mode)
    return _round(f, s, mode, ovf, tininess, zs)


def mul(fmt, a: int, b: int, rounding="rne", *, overflow=None, tininess="after", nan="x86"):
    """a * b rounded once into ``fmt``."""
    f, mode, ovf, pol = _opts(fmt, rounding, overflow, nan)
    ka, kb = classify(f, a), classify(f, b)
    if "snan" in (ka, kb) or "qnan" in (ka, kb):
        return _propagate(f, pol, a, b)
    neg = _sign(f, a) != _sign(f, b)
    if "inf" in (ka, kb):
        if "zero" in (ka, kb):
            return _default_nan(f, pol), INVALID
        return _inf(f, pol, neg)
    return _round(f, _value(f, a) * _value(f, b), mode, ovf, tininess, neg)


def mul_add(fmt, a: int, b: int, c: int, rounding="rne", *, overflow=None, tininess="after",
            nan="x86"):
    """a * b + c with a single rounding (IEEE fusedMultiplyAdd; SoftFloat mulAdd)."""
    f, mode, ovf, pol = _opts(fmt, rounding, overflow, nan)
    ka, kb, kc = classify(f, a), classify(f, b), classify(f, c)
    nans = ("snan", "qnan")
    if ka in nans or kb in nans:
        z, fl = _propagate(f, pol, a, b)
        if kc in nans:
            z, fl2 = _propagate(f, pol, z, c)
            fl |= fl2
        return z, fl
    pneg = _sign(f, a) != _sign(f, b)
    if "inf" in (ka, kb):
        if "zero" in (ka, kb) or (kc == "inf" and _sign(f, c) != pneg):
            z, fl = _default_nan(f, pol), INVALID
            if kc in nans:
                z, fl2 = _propagate(f, pol, z, c)
                fl |= fl2
            return z, fl
        if kc in nans:
            return _propagate(f, pol, c, c)
        return _inf(f, pol, pneg)
    if kc in nans:
        return _propagate(f, pol, c, c)
    if kc == "inf":
        return _inf(f, pol, _sign(f, c))
    p = _value(f, a) * _value(f, b)
    s = p + _value(f, c)
    if p == 0 and kc == "zero":
        zs = _sum_zero_sign([pneg, _sign(f, c)], mode)
    else:
        zs = _sum_zero_sign([False, True], mode)
    return _round(f, s, mode, ovf, tininess, zs)


def convert(src, fmt, code: int, rounding="rne", *, overflow=None, tininess="after", nan="x86"):
    """Code of format ``src`` converted to ``fmt`` (SoftFloat ``<src>_to_<fmt>``)."""
    s = parse_format(src)
    f, mode, ovf, pol = _opts(fmt, rounding, overflow, nan)
    k = classify(s, code)
    neg = _sign(s, code)
    if k in ("snan", "qnan"):
        flags = INVALID if k == "snan" else 0
        inf = _info(f)
        if inf is None or inf.nan_code is None:
            return ref.encode(f, float("nan"), mode, ovf)[0], INVALID
        if pol.mode == "canonical" or inf.sp != "ieee" or _info(s).sp != "ieee":
            nanc = _default_nan(f, pol)
            if inf.sp == "fn" and pol.mode == "propagate":
                nanc = inf.nan_code | (inf.sign_bit if neg else 0)
            return nanc, flags
        si = _info(s)
        m = code & si.m_all
        m = m >> (si.M - inf.M) if si.M >= inf.M else m << (inf.M - si.M)
        return _quiet(f, (inf.sign_bit if neg else 0) | (inf.e_all << inf.M) | m), flags
    if k == "inf":
        return ref.encode(f, float("-inf") if neg else float("inf"), mode, ovf)
    if k == "zero":
        return _zero(f, neg), 0
    return ref.encode(f, _value(s, code), mode, ovf, tininess=tininess)
