"""Scalar number formats: minifloats up to binary64, integers, fixed point.

Every format is a frozen, hashable dataclass, validated when it is built,
with its derived constants computed once.  Block formats (MX, NVFP4, BFP) and
codebooks live in :mod:`hwsim.formats.block` and :mod:`hwsim.formats.codebook`;
:func:`hwsim.format` parses any of them.

>>> import hwsim
>>> f = hwsim.format("float8_e4m3fn")
>>> (f.bits, f.bias, f.max_finite, f.min_subnormal)
(8, 7, 448.0, 0.001953125)
>>> hwsim.format("e5m10") == hwsim.format("float16")
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import FormatError, check_int

#: The ``specials`` variants of a FloatFormat (docs/numerics.md, "Format variants").
SPECIALS = ("ieee", "fn", "fnuz", "finite", "p3109", "p3109_finite", "e8m0")
#: C enum value of each ``specials`` variant (``HW_SPECIALS_*`` in hwsim.h).
SPECIALS_CODE = {name: i for i, name in enumerate(SPECIALS)}


def code_dtype(bits: int) -> np.dtype:
    """Smallest unsigned numpy dtype that holds a ``bits``-bit code."""
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.dtype(dt).itemsize * 8:
            return np.dtype(dt)
    raise FormatError(f"bits must be <= 64, got {bits}")


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format.

    value = (-1)^s * 2^(E - bias) * 1.M for normal codes (E > 0) and
    (-1)^s * 2^(1 - bias) * 0.M for subnormal codes (E == 0), except the codes
    that ``specials`` reserves for Inf and NaN.

    Parameters
    ----------
    exp_bits : int
        Width of the exponent field, 1..11.
    man_bits : int
        Width of the trailing significand field, 0..52 (precision = man_bits + 1).
    bias : int, optional
        Exponent bias; default ``2**(exp_bits-1) - 1`` (P3109 and e8m0 have
        their own defaults).  Any bias is allowed as long as every value of the
        format is exactly representable in float64.
    subnormals : bool
        Whether E == 0 encodes subnormals.  Without them, codes with E == 0 and
        M != 0 are non-canonical and decode as zero; encoding rounds values below
        the smallest normal onto the grid {0, min_normal} (ties under ``rne`` go
        to 0, the even multiple).
    specials : str
        One of ``ieee``, ``fn``, ``fnuz``, ``finite``, ``p3109``,
        ``p3109_finite``, ``e8m0`` (table in docs/numerics.md).
    signed : bool
        Whether there is a sign bit.
    name : str, optional
        Display name; does not take part in equality.
    """

    exp_bits: int  #: width of the exponent field
    man_bits: int  #: width of the trailing significand field (precision - 1)
    bias: int | None = None  #: exponent bias
    subnormals: bool = True  #: E == 0 encodes subnormals
    specials: str = "ieee"  #: which codes are Inf / NaN, whether -0 exists
    signed: bool = True  #: whether the format has a sign bit
    name: str | None = field(default=None, compare=False)  #: display name

    kind = "float"

    def __post_init__(self) -> None:
        check_int("exp_bits", self.exp_bits, 1, 11)
        check_int("man_bits", self.man_bits, 0, 52)
        if not isinstance(self.subnormals, (bool, np.bool_)):
            raise FormatError(f"subnormals must be a bool, got {self.subnormals!r}")
        if not isinstance(self.signed, (bool, np.bool_)):
            raise FormatError(f"signed must be a bool, got {self.signed!r}")
        if self.specials not in SPECIALS:
            raise FormatError(f"specials must be one of {SPECIALS}, got {self.specials!r}")
        bits = self.exp_bits + self.man_bits + (1 if self.signed else 0)
        if bits > 64:
            raise FormatError(f"total bits (sign + exp_bits + man_bits) must be <= 64, got {bits}")
        sp = self.specials
        if sp in ("fnuz", "p3109", "p3109_finite") and not self.signed:
            raise FormatError(f"specials={sp!r} requires signed=True (its NaN is the sign-set zero code)")
        if sp == "e8m0":
            if self.signed or self.man_bits != 0 or self.subnormals:
                raise FormatError(
                    "specials='e8m0' requires signed=False, man_bits=0, subnormals=False"
                )
        if sp == "fn" and self.exp_bits + self.man_bits < 2:
            raise FormatError("specials='fn' needs exp_bits + man_bits >= 2")
        if sp == "ieee" and self.exp_bits < 2:
            raise FormatError("specials='ieee' needs exp_bits >= 2 (all-ones exponent is reserved)")
        if self.bias is None:
            if sp in ("p3109", "p3109_finite"):
                bias = 1 << (self.exp_bits - 1)  # 2^(K-P-1) with K-P = exp_bits
            elif sp == "e8m0":
                bias = (1 << (self.exp_bits - 1)) - 1
            else:
                bias = (1 << (self.exp_bits - 1)) - 1
            object.__setattr__(self, "bias", bias)
        check_int("bias", self.bias, -(1 << 12), 1 << 12)
        object.__setattr__(self, "subnormals", bool(self.subnormals))
        object.__setattr__(self, "signed", bool(self.signed))
        object.__setattr__(self, "_derive", None)
        self._compute_derived(bits)
        if self.name is None:
            object.__setattr__(self, "name", self._default_name())

    # -- derived constants -------------------------------------------------
    def _compute_derived(self, bits: int) -> None:
        E, M, sp = self.exp_bits, self.man_bits, self.specials
        sign_bit = (1 << (E + M)) if self.signed else 0
        exp_max_field = (1 << E) - 1
        # largest positive finite code
        if sp == "ieee":
            max_code = ((exp_max_field - 1) << M) | ((1 << M) - 1)
        elif sp == "fn":
            max_code = ((exp_max_field << M) | ((1 << M) - 1)) - 1
        elif sp == "p3109":
            max_code = (1 << (E + M)) - 2
        elif sp == "e8m0":
            max_code = exp_max_field - 1
        else:  # fnuz, finite, p3109_finite
            max_code = (1 << (E + M)) - 1
        emin = 1 - self.bias
        emax = (max_code >> M) - self.bias
        if sp == "e8m0":
            emin = -self.bias
        # every value must be exact in float64
        low_exp = emin - M  # LSB of the smallest binade
        # valid biases: emax = top_field - bias <= 1023 and emin - M >= -1074
        # (e8m0: emin = -bias >= -1022, its values must be float64 normals)
        b_lo = (max_code >> M) - 1023
        b_hi = 1022 if sp == "e8m0" else 1075 - M
        if low_exp < -1074 or emax > 1023 or (sp == "e8m0" and emin < -1022):
            what = (f"bias must be in [{b_lo}, {b_hi}] for exp_bits={E}, man_bits={M}, "
                    f"specials={sp!r}" if b_lo <= b_hi else
                    f"no bias keeps exp_bits={E}, man_bits={M}, specials={sp!r} inside "
                    f"float64 (use {'exp_bits <= 10' if sp == 'e8m0' else f'man_bits <= {M - (b_lo - b_hi)}'})")
            raise FormatError(
                f"{what}, got bias={self.bias}: every value must be exact in float64 "
                f"(smallest exponent {low_exp} must be >= {-1022 if sp == 'e8m0' else -1074}, "
                f"largest {emax} <= 1023)"
            )
        d = dict(
            bits=E + M + (1 if self.signed else 0),
            precision=M + 1,
            emin=emin,
            emax=emax,
            sign_bit=sign_bit,
            max_code=max_code,
            has_inf=sp in ("ieee", "p3109"),
            has_nan=sp != "finite" and not (sp == "ieee" and M == 0),
            has_negzero=self.signed and sp in ("ieee", "fn", "finite"),
            has_zero=sp != "e8m0",
        )
        object.__setattr__(self, "_d", d)
        mf = self.decode_exact(max_code)
        mn = Fraction(2) ** emin
        ms = mn / (1 << M) if (self.subnormals and M > 0) else mn
        if sp == "e8m0":
            ms = mn
        object.__setattr__(self, "_dvals", dict(
            max_finite=float(mf), min_normal=float(mn), min_subnormal=float(ms),
            epsilon=float(Fraction(1, 1 << M)),
        ))

    def _default_name(self) -> str:
        """A name that :func:`format` parses back to this exact format.

        Grammar: ``e<E>m<M>[fn|fnuz|fnu|_finite][_unsigned][_b<bias>][_nosub]`` and
        ``binary<K>p<P>se|sf[_b<bias>][_nosub]`` for P3109; ``_b`` appears only when the
        bias differs from the default that the parser assumes for that suffix.
        """
        sp = self.specials
        if sp in ("p3109", "p3109_finite"):
            n = f"binary{self.bits}p{self.man_bits + 1}" + ("se" if sp == "p3109" else "sf")
        else:
            tag = {"ieee": "", "fn": "fn", "fnuz": "fnuz", "finite": "_finite", "e8m0": "fnu"}[sp]
            n = f"e{self.exp_bits}m{self.man_bits}{tag}"
            if not self.signed and sp != "e8m0":
                n += "_unsigned"
        if self.bias != _parse_default_bias(self.exp_bits, sp):
            n += f"_b{self.bias}"
        if not self.subnormals and sp != "e8m0":
            n += "_nosub"
        return n

    def __getattr__(self, item: str) -> Any:
        # derived constants stored in _d / _dvals (frozen dataclass friendly)
        for store in ("_d", "_dvals"):
            d = self.__dict__.get(store)
            if d is not None and item in d:
                return d[item]
        raise AttributeError(item)

    # -- exact decode (used for derived constants and by the CLI) ----------
    def classify(self, code: int) -> str:
        """'nan', 'inf', 'zero', 'subnormal' or 'normal' for one code."""
        E, M, sp = self.exp_bits, self.man_bits, self.specials
        sign = bool(code & self.sign_bit) if self.signed else False
        mag = code & ((1 << (E + M)) - 1)
        e = mag >> M
        m = mag & ((1 << M) - 1)
        allones = (1 << E) - 1
        if sp == "ieee" and e == allones:
            return "inf" if m == 0 else "nan"
        if sp == "fn" and e == allones and m == (1 << M) - 1:
            return "nan"
        if sp in ("fnuz", "p3109", "p3109_finite") and sign and mag == 0:
            return "nan"
        if sp == "p3109" and mag == (1 << (E + M)) - 1:
            return "inf"
        if sp == "e8m0":
            return "nan" if e == allones else "normal"
        if e == 0:
            if m == 0 or not self.subnormals:
                return "zero"
            return "subnormal"
        return "normal"

    def decode_exact(self, code: int):
        """Exact value of one code as a Fraction (or float('nan') / +-inf)."""
        code = int(code)
        if not 0 <= code < (1 << self.bits):
            raise FormatError(f"code must be in [0, {(1 << self.bits) - 1}], got {code}")
        cls = self.classify(code)
        sign = -1 if (self.signed and code & self.sign_bit) else 1
        if cls == "nan":
            return float("nan")
        if cls == "inf":
            return sign * float("inf")
        if cls == "zero":
            return Fraction(0)
        M = self.man_bits
        mag = code & ((1 << (self.exp_bits + M)) - 1)
        e = mag >> M
        m = mag & ((1 << M) - 1)
        if self.specials == "e8m0":
            return Fraction(2) ** (e - self.bias)
        if cls == "subnormal":
            return sign * Fraction(m, 1 << M) * Fraction(2) ** (1 - self.bias)
        return sign * Fraction((1 << M) + m, 1 << M) * Fraction(2) ** (e - self.bias)

    # -- misc --------------------------------------------------------------
    @property
    def code_dtype(self) -> np.dtype:
        """Smallest unsigned numpy dtype that holds a code."""
        return code_dtype(self.bits)

    @property
    def nan_code(self) -> int | None:
        """Canonical NaN code (positive one where there are two), or None."""
        sp, E, M = self.specials, self.exp_bits, self.man_bits
        if sp == "ieee":
            return ((((1 << E) - 1) << M) | (1 << (M - 1))) if M > 0 else None
        if sp == "fn":
            return (1 << (E + M)) - 1
        if sp in ("fnuz", "p3109", "p3109_finite"):
            return self.sign_bit
        if sp == "e8m0":
            return (1 << E) - 1
        return None

    @property
    def inf_code(self) -> int | None:
        """Code of +Inf, or None."""
        if self.specials == "ieee":
            return ((1 << self.exp_bits) - 1) << self.man_bits
        if self.specials == "p3109":
            return (1 << (self.exp_bits + self.man_bits)) - 1
        return None

    # -- derived properties used by the MAC and block code -----------------
    @property
    def range_bits(self) -> tuple[int, int]:
        """(LSB exponent of the smallest value, exclusive exponent above the largest)."""
        lsb = self.emin if self.specials == "e8m0" else self.emin - self.man_bits
        return lsb, self.emax + 1

    @property
    def sig_bits(self) -> int:
        """Significand bits of a value (the precision)."""
        return self.precision

    @property
    def exp_min(self) -> int:
        """Smallest exponent of the leading significand bit's weight (``emin``)."""
        return self.emin

    @property
    def lead_exp_span(self) -> tuple[int, int, int]:
        """(precision, lowest, highest leading-bit exponent) of the nonzero finite values."""
        lo = self.emin - self.man_bits if self.subnormals else self.emin
        return self.precision, lo, self.emax

    @property
    def default_overflow(self) -> str:
        """Overflow policy used when none is given (matches ml_dtypes astype)."""
        return "special" if (self.has_inf or self.has_nan) else "saturate"

    def to_dict(self) -> dict:
        return dict(kind="float", exp_bits=self.exp_bits, man_bits=self.man_bits,
                    bias=self.bias, subnormals=self.subnormals, specials=self.specials,
                    signed=self.signed, name=self.name)

    def __repr__(self) -> str:
        return (f"FloatFormat({self.name}: exp_bits={self.exp_bits}, man_bits={self.man_bits}, "
                f"bias={self.bias}, subnormals={self.subnormals}, specials={self.specials!r}, "
                f"signed={self.signed})")


@dataclass(frozen=True)
class IntFormat:
    """Two's complement (or unsigned) integer of 1..64 bits."""

    bits: int  #: total width
    signed: bool = True  #: two's complement if True
    name: str | None = field(default=None, compare=False)

    kind = "int"

    def __post_init__(self) -> None:
        check_int("bits", self.bits, 1, 64)
        object.__setattr__(self, "signed", bool(self.signed))
        if self.name is None:
            object.__setattr__(self, "name", f"{'' if self.signed else 'u'}int{self.bits}")

    @property
    def frac_bits(self) -> int:
        return 0

    @property
    def min_int(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def code_dtype(self) -> np.dtype:
        return code_dtype(self.bits)

    @property
    def default_overflow(self) -> str:
        return "saturate"

    @property
    def range_bits(self) -> tuple[int, int]:
        """(LSB exponent, exclusive top exponent) of the values: (-frac_bits, bits - frac_bits)."""
        return -self.frac_bits, self.bits - self.frac_bits

    @property
    def sig_bits(self) -> int:
        """Significand bits of a value: the width."""
        return self.bits

    @property
    def exp_min(self) -> int:
        """Exponent of the LSB (``-frac_bits``)."""
        return -self.frac_bits

    def decode_exact(self, code: int) -> Fraction:
        code = int(code)
        if not 0 <= code < (1 << self.bits):
            raise FormatError(f"code must be in [0, {(1 << self.bits) - 1}], got {code}")
        if self.signed and code >> (self.bits - 1):
            code -= 1 << self.bits
        return Fraction(code)

    def to_dict(self) -> dict:
        return dict(kind="int", bits=self.bits, signed=self.signed, name=self.name)


@dataclass(frozen=True)
class FixedFormat:
    """Fixed point: value = integer * 2**-frac_bits, integer of ``bits`` bits."""

    bits: int  #: total width including the sign bit
    frac_bits: int  #: bits below the binary point (may be negative or exceed bits)
    signed: bool = True
    name: str | None = field(default=None, compare=False)

    kind = "fixed"

    def __post_init__(self) -> None:
        check_int("bits", self.bits, 1, 64)
        check_int("frac_bits", self.frac_bits, -1000, 1000)
        object.__setattr__(self, "signed", bool(self.signed))
        if self.name is None:
            object.__setattr__(self, "name", f"{'' if self.signed else 'u'}fixed{self.bits}.{self.frac_bits}")

    min_int = IntFormat.min_int
    max_int = IntFormat.max_int
    code_dtype = IntFormat.code_dtype
    default_overflow = IntFormat.default_overflow
    range_bits = IntFormat.range_bits
    sig_bits = IntFormat.sig_bits
    exp_min = IntFormat.exp_min

    def decode_exact(self, code: int) -> Fraction:
        return IntFormat.decode_exact(self, code) / Fraction(2) ** self.frac_bits

    def to_dict(self) -> dict:
        return dict(kind="fixed", bits=self.bits, frac_bits=self.frac_bits,
                    signed=self.signed, name=self.name)


def _parse_default_bias(exp_bits: int, specials: str) -> int:
    """Bias a parsed name implies when it has no ``_b`` part (ml_dtypes / P3109 usage)."""
    if specials in ("fnuz", "p3109", "p3109_finite"):
        return 1 << (exp_bits - 1)
    return (1 << (exp_bits - 1)) - 1
