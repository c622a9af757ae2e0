"""Pure-Python exact oracle for scalar encode / decode (``docs/semantics.md``).

Written from the specification text only, with Python ints and Fractions (an
exact value is a sign and a rational ``n / d``, rounded with the G/T/L table of
:mod:`.rounding`); no compiled code, no fast modules.  Slow and obviously right.

>>> from fractions import Fraction
>>> import hwsim
>>> e4m3 = hwsim.format("float8_e4m3fn")
>>> decode(e4m3, 0x7E)
Fraction(448, 1)
>>> encode(e4m3, 464.0)          # the tie between 448 and 480 goes to even 448
(126, 1)
>>> encode(e4m3, 465.0)          # beyond: overflow, OCP E4M3 has NaN but no Inf
(127, 5)
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..errors import NaNInputError, OverflowValueError, UnsupportedModeError
from ..formats import FixedFormat, FloatFormat, IntFormat
from ..formats import format as _parse_format
from ..modes import Flags, Overflow, RoundingMode, Tininess
from .rounding import _round_nd, _sr_params, random_word, round_to_integer

__all__ = [
    "decode", "decode_float", "encode", "encode_many", "round_to_integer", "random_word",
    "all_values",
]

_INEXACT = int(Flags.INEXACT)
_UNDERFLOW = int(Flags.UNDERFLOW)
_OVERFLOW = int(Flags.OVERFLOW)
_INVALID = int(Flags.INVALID)
_MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Format facts, re-derived from the table in docs/semantics.md
# ---------------------------------------------------------------------------
class _Info:
    """Constants of a FloatFormat, derived here independently of formats.py."""

    def __init__(self, f: FloatFormat) -> None:
        E, M, sp = f.exp_bits, f.man_bits, f.specials
        self.E, self.M, self.sp, self.bias = E, M, sp, f.bias
        self.signed, self.subnormals = f.signed, f.subnormals
        self.width = E + M  # bits below the sign bit
        self.bits = self.width + (1 if f.signed else 0)
        self.sign_bit = (1 << self.width) if f.signed else 0
        self.e_all = (1 << E) - 1
        self.m_all = (1 << M) - 1
        self.emin = -f.bias if sp == "e8m0" else 1 - f.bias
        self.has_inf = sp in ("ieee", "p3109")
        self.has_nan = sp in ("fn", "fnuz", "p3109", "p3109_finite", "e8m0") or (sp == "ieee" and M > 0)
        self.has_zero = sp != "e8m0"
        self.has_negzero = f.signed and sp in ("ieee", "fn", "finite")
        # largest positive finite code, per the "max finite code" column
        all_ones = (1 << self.width) - 1
        self.max_code = {
            "ieee": ((self.e_all - 1) << M) | self.m_all,
            "fn": all_ones - 1,
            "fnuz": all_ones,
            "finite": all_ones,
            "p3109": all_ones - 1,
            "p3109_finite": all_ones,
            "e8m0": self.e_all - 1,
        }[sp]
        # canonical (positive) NaN code and +Inf code
        if sp == "ieee":
            self.nan_code = ((self.e_all << M) | (1 << (M - 1))) if M > 0 else None
            self.inf_code = self.e_all << M
        elif sp == "fn":
            self.nan_code, self.inf_code = all_ones, None
        elif sp in ("fnuz", "p3109_finite"):
            self.nan_code, self.inf_code = self.sign_bit, None
        elif sp == "p3109":
            self.nan_code, self.inf_code = self.sign_bit, all_ones
        elif sp == "e8m0":
            self.nan_code, self.inf_code = self.e_all, None
        else:  # finite
            self.nan_code, self.inf_code = None, None
        # max finite as K * 2^q (K an integer)
        self.max_K, self.max_q = self.fields_value(self.max_code & all_ones)

    def fields(self, code: int):
        """(negative, exponent field, mantissa field) of a code."""
        neg = bool(code & self.sign_bit)
        mag = code & ((1 << self.width) - 1)
        return neg, mag >> self.M, mag & self.m_all

    def classify(self, code: int) -> str:
        neg, e, m = self.fields(code)
        sp = self.sp
        if sp == "e8m0":
            return "nan" if e == self.e_all else "normal"
        if sp == "ieee" and e == self.e_all:
            return "inf" if m == 0 else "nan"
        if sp == "fn" and e == self.e_all and m == self.m_all:
            return "nan"
        if sp in ("fnuz", "p3109", "p3109_finite") and neg and e == 0 and m == 0:
            return "nan"
        if sp == "p3109" and e == self.e_all and m == self.m_all:
            return "inf"
        if e == 0:
            if m == 0:
                return "zero"
            return "subnormal" if self.subnormals else "noncanonical_zero"
        return "normal"

    def fields_value(self, mag: int):
        """Magnitude of a finite nonzero code (sign bit cleared) as (K, q): K * 2^q."""
        e, m = mag >> self.M, mag & self.m_all
        if self.sp == "e8m0":
            return 1, e - self.bias
        if e == 0:  # subnormal: 2^emin * m / 2^M
            return m, self.emin - self.M
        return (1 << self.M) + m, e - self.bias - self.M


@lru_cache(maxsize=None)
def _info(fmt: FloatFormat) -> _Info:
    return _Info(fmt)


def _fmt(fmt):
    f = _parse_format(fmt)
    if not isinstance(f, (FloatFormat, IntFormat, FixedFormat)):
        raise TypeError(f"fmt must be a FloatFormat, IntFormat or FixedFormat, got {f!r}")
    return f


def _pow2(q: int) -> Fraction:
    return Fraction(1 << q) if q >= 0 else Fraction(1, 1 << -q)


def _check_code(f, code) -> int:
    if isinstance(code, bool) or not isinstance(code, (int, np.integer)):
        raise TypeError(f"code must be an integer, got {code!r}")
    code = int(code)
    if not 0 <= code < (1 << f.bits):
        raise ValueError(f"code must be in [0, {(1 << f.bits) - 1}] for {f.name}, got {code}")
    return code


# ---------------------------------------------------------------------------
# Decode
# ---------------------------------------------------------------------------
def decode(fmt, code, *, daz: bool = False):
    """Exact value of one code.

    Returns a :class:`~fractions.Fraction` for finite codes (both zeros give
    ``Fraction(0)``; use :func:`decode_float` to see the sign of zero),
    ``float('nan')``, ``float('inf')`` or ``float('-inf')``.  ``daz=True``
    reads subnormal codes as zero.

    >>> import hwsim
    >>> decode(hwsim.format("float4_e2m1fn"), 0b0111)
    Fraction(6, 1)
    >>> decode(hwsim.format("int8"), 0xFF)
    Fraction(-1, 1)
    """
    f = _fmt(fmt)
    code = _check_code(f, code)
    if not isinstance(f, FloatFormat):
        n = code - (1 << f.bits) if (f.signed and code >> (f.bits - 1)) else code
        return Fraction(n) * _pow2(-f.frac_bits)
    inf = _info(f)
    cls = inf.classify(code)
    neg = bool(code & inf.sign_bit)
    if cls == "nan":
        return float("nan")
    if cls == "inf":
        return float("-inf") if neg else float("inf")
    if cls in ("zero", "noncanonical_zero") or (cls == "subnormal" and daz):
        return Fraction(0)
    K, q = inf.fields_value(code & ((1 << inf.width) - 1))
    v = K * _pow2(q)
    return -v if neg else v


def decode_float(fmt, code, *, daz: bool = False) -> float:
    """Like :func:`decode` but a Python float, with ``-0.0`` for negative zeros.

    >>> import hwsim
    >>> decode_float(hwsim.format("float8_e5m2"), 0x80)
    -0.0
    """
    f = _fmt(fmt)
    v = decode(f, code, daz=daz)
    if isinstance(v, float):
        return v
    if v == 0:
        code = int(code)
        if isinstance(f, FloatFormat):
            neg = bool(code & _info(f).sign_bit)
        else:
            neg = False
        return -0.0 if neg else 0.0
    return float(v)  # exact for float formats (every value fits float64)


def all_values(fmt) -> list:
    """Sorted ``(value, code)`` pairs for every finite canonical code.

    NaN, Inf and (for formats without subnormals) the non-canonical zero codes
    are left out; ``-0`` is kept, with value ``Fraction(0)``, after ``+0``.
    Only for formats of at most 20 bits.

    >>> import hwsim
    >>> [float(v) for v, c in all_values(hwsim.format("float4_e2m1fn"))][6:10]
    [-0.5, 0.0, 0.0, 0.5]
    """
    f = _fmt(fmt)
    if f.bits > 20:
        raise ValueError(f"all_values: fmt.bits must be <= 20, got {f.bits} ({f.name})")
    out = []
    for c in range(1 << f.bits):
        if isinstance(f, FloatFormat):
            cls = _info(f).classify(c)
            if cls in ("nan", "inf", "noncanonical_zero"):
                continue
        out.append((decode(f, c), c))
    out.sort()
    return out


# ---------------------------------------------------------------------------
# Encode
# ---------------------------------------------------------------------------
def _read_input(x, daz: bool):
    """(kind, negative, n, d) with kind in 'nan', 'inf', 'zero', 'finite'; |x| = n/d."""
    if isinstance(x, Fraction) or (isinstance(x, int) and not isinstance(x, bool)):
        x = Fraction(x)
        if x == 0:
            return "zero", False, 0, 1
        return "finite", x < 0, abs(x.numerator), x.denominator
    if isinstance(x, np.float32):
        v, tiny = float(x), 2.0 ** -126  # widened exactly
    elif isinstance(x, (float, np.float64, np.float16)):
        v, tiny = float(x), 2.0 ** -1022
    else:
        raise TypeError(f"x must be a float, numpy float16/32/64 scalar or Fraction, got {type(x).__name__}")
    if math.isnan(v):
        return "nan", False, 0, 1
    neg = math.copysign(1.0, v) < 0
    if math.isinf(v):
        return "inf", neg, 0, 1
    if v == 0 or (daz and abs(v) < tiny):
        return "zero", neg, 0, 1
    n, d = abs(v).as_integer_ratio()
    return "finite", neg, n, d


def _floor_log2(n: int, d: int) -> int:
    """floor(log2(n/d)) for n, d > 0."""
    e = n.bit_length() - d.bit_length()
    if (n << max(0, -e)) < (d << max(0, e)):
        e -= 1
    return e


def _scale(n: int, d: int, q: int):
    """n/d divided by 2^q, as (numerator, denominator)."""
    return (n << -q, d) if q <= 0 else (n, d << q)


def _less_dyadic(K1: int, q1: int, K2: int, q2: int) -> bool:
    """K1 * 2^q1 < K2 * 2^q2 for non-negative integers K."""
    lo = min(q1, q2)
    return (K1 << (q1 - lo)) < (K2 << (q2 - lo))


def _check_policies(f, mode, ovf, nan):
    if isinstance(f, FloatFormat):
        inf = _info(f)
        if ovf == Overflow.WRAP:
            raise UnsupportedModeError(f"overflow='wrap' applies to int/fixed formats only, not {f.name}")
        if ovf == Overflow.SPECIAL and not (inf.has_inf or inf.has_nan):
            raise UnsupportedModeError(
                f"overflow='special' needs a format with Inf or NaN; {f.name} has neither")
    elif ovf not in (Overflow.SATURATE, Overflow.WRAP, Overflow.ERROR):
        raise UnsupportedModeError(
            f"overflow for {f.name} must be saturate, wrap or error; got {ovf.short!r}")
    if nan is None or nan == "error":
        return None
    if isinstance(nan, bool) or not isinstance(nan, (int, np.integer)) or not 0 <= nan < (1 << f.bits):
        raise ValueError(f"nan must be 'error' or a code in [0, {(1 << f.bits) - 1}], got {nan!r}")
    return int(nan)


def _prepare(fmt, rounding, overflow, tininess, nan):
    f = _fmt(fmt)
    mode = RoundingMode.parse(rounding)
    ovf = Overflow.parse(overflow if overflow is not None else f.default_overflow)
    tin = Tininess.parse(tininess)
    return f, mode, ovf, tin, _check_policies(f, mode, ovf, nan)


def _encode_one(f, x, mode, ovf, tin, ftz, daz, nan_code, r, R):
    kind, neg, n, d = _read_input(x, bool(daz))
    if isinstance(f, FloatFormat):
        return _encode_float(_info(f), kind, neg, n, d, mode, ovf, tin, bool(ftz), nan_code, r, R)
    return _encode_fixed(f, kind, neg, n, d, mode, ovf, nan_code, r, R)


def encode(fmt, x, rounding="rne", overflow=None, *, tininess="after", ftz=False, daz=False,
           nan=None, sr_bits=None, rand=None, seed=0, index=0):
    """Encode one value into ``fmt``: the exact value, rounded once.

    Parameters
    ----------
    fmt : FloatFormat, IntFormat, FixedFormat or a name
    x : float (float64), numpy float16/float32/float64 scalar, int or Fraction
        numpy float32 scalars are widened exactly; ``daz`` uses the subnormal
        range of the input's own type (Fractions have none).
    rounding, overflow, tininess, ftz, daz, nan, sr_bits :
        As in :func:`hwsim.encode` (see docs/semantics.md).
    rand : int, optional
        For ``sr``: the uint32 random word (low ``sr_bits`` used).  Default:
        ``random_word(seed, index)``.

    Returns
    -------
    (code, flags) : (int, int)
        flags is the OR of :class:`hwsim.Flags` bits.

    Raises
    ------
    OverflowValueError, NaNInputError, UnsupportedModeError
    """
    f, mode, ovf, tin, nan_code = _prepare(fmt, rounding, overflow, tininess, nan)
    r, R = _sr_params(mode, sr_bits, rand, seed, index)
    return _encode_one(f, x, mode, ovf, tin, ftz, daz, nan_code, r, R)


def encode_many(fmt, xs, rounding="rne", overflow=None, *, tininess="after", ftz=False,
                daz=False, nan=None, sr_bits=None, rand=None, seed=0, index0=0):
    """:func:`encode` over a sequence; returns ``(codes, flags)`` as two lists.

    ``rand`` is a sequence of uint32 words (one per element) or None; element
    i then uses ``random_word(seed, index0 + i)``.  Like the C kernels, the
    first element that raises stops the conversion, and the message names it.

    >>> import hwsim
    >>> encode_many(hwsim.format("float4_e2m1fn"), [0.25, 0.75, 5.0, 7.0])
    ([0, 2, 6, 7], [3, 3, 1, 5])
    """
    f, mode, ovf, tin, nan_code = _prepare(fmt, rounding, overflow, tininess, nan)
    _sr_params(mode, sr_bits, None if rand is None else 0, seed, index0)
    if rand is not None and len(rand) != len(xs):
        raise ValueError(f"rand must have one word per element ({len(xs)}), got {len(rand)}")
    codes, flags = [], []
    for i, x in enumerate(xs):
        r, R = 0, 0
        if mode == RoundingMode.SR:
            r, R = _sr_params(mode, sr_bits, None if rand is None else rand[i], seed, index0 + i)
        try:
            c, fl = _encode_one(f, x, mode, ovf, tin, ftz, daz, nan_code, r, R)
        except (OverflowValueError, NaNInputError) as e:
            raise type(e)(f"element {i}: {e}") from None
        codes.append(c)
        flags.append(fl)
    return codes, flags


def _zero_code(inf: _Info, neg: bool) -> int:
    if not inf.has_zero:
        return 0  # e8m0: code 0 is the smallest value 2^emin
    return inf.sign_bit if (neg and inf.has_negzero) else 0


def _special_input(inf: _Info, kind, neg, ovf, nan_code):
    """Code and flags for NaN, Inf, zero and negative-into-unsigned inputs."""
    if kind == "nan":
        if inf.has_nan:
            return inf.nan_code, 0
        if nan_code is None:
            raise NaNInputError("x is NaN and the format has no NaN code; pass nan=<code>")
        return nan_code, 0
    if kind == "zero":
        if inf.has_zero:
            return _zero_code(inf, neg), 0
        # e8m0 has no zero
        return (0, _INEXACT) if ovf == Overflow.SATURATE else (inf.nan_code, _INVALID)
    if neg and not inf.signed:  # x < 0 into an unsigned format
        if ovf == Overflow.SATURATE:
            return 0, _INEXACT
        if inf.has_nan:
            return inf.nan_code, _INVALID
        if ovf == Overflow.ERROR:
            raise OverflowValueError("x < 0 does not fit an unsigned format (overflow='error')")
        return 0, _INVALID
    # +-Inf
    sign = inf.sign_bit if neg else 0
    if ovf == Overflow.SATURATE:
        return inf.max_code | sign, _INVALID
    if inf.has_inf:
        return inf.inf_code | sign, 0
    if ovf == Overflow.SPECIAL:
        return _nan_for_sign(inf, neg), _INVALID
    if ovf == Overflow.SATURATE_FINITE_KEEP_INF:
        return inf.max_code | sign, _INVALID
    raise OverflowValueError("x is Inf and the format has no Inf (overflow='error')")


def _nan_for_sign(inf: _Info, neg: bool) -> int:
    """NaN result of an overflow: 'fn' keeps the sign, single-NaN formats give their NaN."""
    if inf.sp == "fn" and neg:
        return inf.nan_code | inf.sign_bit
    return inf.nan_code


def _pack(inf: _Info, neg: bool, K: int, q: int) -> int:
    """Code of the nonzero finite grid value (-1)^neg K 2^q (within range)."""
    E = K.bit_length() - 1 + q  # binade of the value
    if inf.sp == "e8m0":
        assert K & (K - 1) == 0
        code = E + inf.bias
    elif E >= inf.emin:  # normal: K 2^q = K' 2^(E-M) with K' in [2^M, 2^(M+1))
        s = q - (E - inf.M)  # -1 after a carry into the next binade (K even then)
        assert s >= 0 or K & ((1 << -s) - 1) == 0
        Kn = K << s if s >= 0 else K >> -s
        code = ((E + inf.bias) << inf.M) | (Kn - (1 << inf.M))
    else:
        assert inf.subnormals
        s = q - (inf.emin - inf.M)
        assert s >= 0
        code = K << s
    return code | (inf.sign_bit if neg else 0)


def _encode_float(inf: _Info, kind, neg, n, d, mode, ovf, tin, ftz, nan_code, r, R):
    if kind != "finite" or (neg and not inf.signed):
        return _special_input(inf, kind, neg, ovf, nan_code)
    M, emin = inf.M, inf.emin
    E = _floor_log2(n, d)
    if E >= emin:
        q = E - M
    elif inf.subnormals:
        q = emin - M
    else:
        q = emin  # grid {0, min_normal}
    K, inexact = _round_nd(*_scale(n, d, q), mode, neg, r, R)
    # tininess
    if tin == Tininess.BEFORE or E >= emin:  # (|x| >= 2^emin: never tiny either way)
        tiny = E < emin
    else:  # rounded to precision M+1 with unbounded exponent range, below 2^emin?
        Ku, _ = _round_nd(*_scale(n, d, E - M), mode, neg, r, R)
        tiny = _less_dyadic(Ku, E - M, 1, emin)
    if ftz and tiny:
        return _zero_code(inf, neg), _UNDERFLOW | _INEXACT
    if _less_dyadic(inf.max_K, inf.max_q, K, q):  # overflow after rounding
        flags = _OVERFLOW | _INEXACT
        sign = inf.sign_bit if neg else 0
        if ovf in (Overflow.SATURATE, Overflow.SATURATE_FINITE_KEEP_INF):
            return inf.max_code | sign, flags
        if ovf == Overflow.ERROR:
            raise OverflowValueError("x overflows the format (overflow='error')")
        toward_zero = mode in (RoundingMode.RTZ, RoundingMode.RTO) or (
            mode == RoundingMode.RDN and not neg) or (mode == RoundingMode.RUP and neg)
        if toward_zero:
            return inf.max_code | sign, flags
        if inf.has_inf:
            return inf.inf_code | sign, flags
        return _nan_for_sign(inf, neg), flags
    flags = 0
    if inexact:
        flags |= _INEXACT | (_UNDERFLOW if tiny else 0)
    if K == 0:
        return _zero_code(inf, neg), flags
    return _pack(inf, neg, K, q), flags


def _encode_fixed(f, kind, neg, n, d, mode, ovf, nan_code, r, R):
    bits, F = f.bits, f.frac_bits
    lo = -(1 << (bits - 1)) if f.signed else 0
    hi = (1 << (bits - 1)) - 1 if f.signed else (1 << bits) - 1
    mask = (1 << bits) - 1
    if kind == "nan":
        if nan_code is None:
            raise NaNInputError("x is NaN and integer/fixed formats have no NaN; pass nan=<code>")
        return nan_code, _INVALID
    if kind == "inf":
        if ovf == Overflow.ERROR:
            raise OverflowValueError("x is Inf (overflow='error')")
        return (lo if neg else hi) & mask, _INVALID
    if kind == "zero":
        return 0, 0
    K, inexact = _round_nd(*_scale(n, d, -F), mode, neg, r, R)
    N = -K if neg else K
    flags = _INEXACT if inexact else 0
    if lo <= N <= hi:
        return N & mask, flags
    if ovf == Overflow.SATURATE:
        return (lo if N < lo else hi) & mask, _OVERFLOW | _INEXACT
    if ovf == Overflow.WRAP:
        return N & mask, flags | _OVERFLOW
    raise OverflowValueError("x overflows the integer range (overflow='error')")
