"""Scalar number formats: minifloats up to binary64, integers, fixed point.

Every format is a frozen, hashable dataclass, validated when it is built,
with its derived constants computed once.  Block formats (MX, NVFP4, BFP) and
codebooks live in :mod:`hwsim.blockformats`; :func:`format` parses any of them.

>>> import hwsim
>>> f = hwsim.format("float8_e4m3fn")
>>> (f.bits, f.bias, f.max_finite, f.min_subnormal)
(8, 7, 448.0, 0.001953125)
>>> hwsim.format("e5m10") == hwsim.format("float16")
True
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import FormatError, check_int

#: The ``specials`` variants of a FloatFormat (numerics.md section 1).
SPECIALS = ("ieee", "fn", "fnuz", "finite", "p3109", "p3109_finite", "e8m0")
#: C enum value of each ``specials`` variant (``HW_SPECIALS_*`` in hwsim.h).
SPECIALS_CODE = {name: i for i, name in enumerate(SPECIALS)}


def _code_dtype(bits: int):
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
        ``p3109_finite``, ``e8m0`` (table in numerics.md section 1).
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
        return _code_dtype(self.bits)

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
        return _code_dtype(self.bits)

    @property
    def default_overflow(self) -> str:
        return "saturate"

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

    def decode_exact(self, code: int) -> Fraction:
        return IntFormat.decode_exact(self, code) / Fraction(2) ** self.frac_bits

    def to_dict(self) -> dict:
        return dict(kind="fixed", bits=self.bits, frac_bits=self.frac_bits,
                    signed=self.signed, name=self.name)


# ---------------------------------------------------------------------------
# Catalogue.  One entry per format; the line comment gives layout and quirks.
# ---------------------------------------------------------------------------
def _F(name, e, m, **kw) -> FloatFormat:
    return FloatFormat(e, m, name=name, **kw)


PRESETS: dict[str, Any] = {}


def _register(*fmts) -> None:
    for f in fmts:
        PRESETS[f.name] = f


_register(
    _F("float64", 11, 52),  # IEEE binary64
    _F("float32", 8, 23),  # IEEE binary32
    _F("tf32", 8, 10),  # NVIDIA TensorFloat-32: 1-8-10, stored as 19 bits
    _F("bfloat16", 8, 7),  # brain float: binary32 exponent, 7-bit fraction
    _F("float16", 5, 10),  # IEEE binary16
    _F("float8_e5m2", 5, 2),  # OCP OFP8 E5M2: IEEE-like, Inf 0x7C, max 57344
    _F("float8_e4m3fn", 4, 3, specials="fn"),  # OCP OFP8 E4M3: no Inf, NaN S.1111.111, max 448
    _F("float8_e4m3", 4, 3),  # IEEE-like E4M3 with Inf, max 240
    _F("float8_e3m4", 3, 4),  # IEEE-like E3M4, bias 3, max 15.5
    _F("float8_e4m3fnuz", 4, 3, bias=8, specials="fnuz"),  # NaN 0x80, no -0, max 240
    _F("float8_e5m2fnuz", 5, 2, bias=16, specials="fnuz"),  # NaN 0x80, no -0, max 57344
    _F("float8_e4m3b11fnuz", 4, 3, bias=11, specials="fnuz"),  # Graphcore, max 30
    _F("float8_e8m0fnu", 8, 0, signed=False, subnormals=False, specials="e8m0"),  # MX scale 2^(E-127), NaN 0xFF
    _F("float6_e2m3fn", 2, 3, specials="finite"),  # OCP MX FP6 E2M3, max 7.5
    _F("float6_e3m2fn", 3, 2, specials="finite"),  # OCP MX FP6 E3M2, max 28
    _F("float4_e2m1fn", 2, 1, specials="finite"),  # OCP MX FP4 E2M1, max 6
)

#: Aliases accepted by :func:`format` (the catalogue name is canonical).
ALIASES = {
    "fp64": "float64", "binary64": "float64", "double": "float64",
    "fp32": "float32", "binary32": "float32", "single": "float32",
    "fp16": "float16", "binary16": "float16", "half": "float16",
    "bf16": "bfloat16",
    "e4m3fn": "float8_e4m3fn", "fp8_e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2",
    "fp8_e5m2": "float8_e5m2", "e4m3fnuz": "float8_e4m3fnuz", "e5m2fnuz": "float8_e5m2fnuz",
    "e8m0fnu": "float8_e8m0fnu",
    # (no bare "e2m1" / "e2m3fn"...: those spell generated names of other formats)
    "fp4_e2m1": "float4_e2m1fn", "fp6_e2m3": "float6_e2m3fn", "fp6_e3m2": "float6_e3m2fn",
}


def p3109(k: int, p: int, domain: str = "extended") -> FloatFormat:
    """IEEE P3109 (interim report v3) signed format binary{k}p{p}.

    Bias 2^(k-p-1), a single NaN at 0x80.., no -0; the extended domain has
    +Inf at 0x7F.. and -Inf at 0xFF.., the finite domain has none.
    """
    check_int("k", k, 2, 64)
    check_int("p", p, 1, k - 1)
    if k == 2 and domain == "extended":
        raise FormatError("k=2 with domain='extended' leaves no finite value but 0 "
                          "(codes: 0, +Inf, NaN, -Inf); use k >= 3 or domain='finite'")
    if domain not in ("extended", "finite"):
        raise FormatError(f"domain must be 'extended' or 'finite', got {domain!r}")
    sp = "p3109" if domain == "extended" else "p3109_finite"
    return FloatFormat(k - p, p - 1, specials=sp)


_RE_EM = re.compile(
    r"^e(\d+)m(\d+)(fnuz|fnu|fn|_finite)?(u|_unsigned)?(?:_?b(-?\d+))?(_nosub)?$")
_RE_INT = re.compile(r"^(u?)int(\d+)$")
_RE_FIXED = re.compile(r"^(u?)fixed(\d+)\.(-?\d+)$")
_RE_P3109 = re.compile(r"^binary(\d+)p(\d+)(se|sf|e|f)?(?:_b(-?\d+))?(_nosub)?$")


def _parse_default_bias(exp_bits: int, specials: str) -> int:
    """Bias a parsed name implies when it has no ``_b`` part (ml_dtypes / P3109 usage)."""
    if specials in ("fnuz", "p3109", "p3109_finite"):
        return 1 << (exp_bits - 1)
    return (1 << (exp_bits - 1)) - 1


def format(spec) -> Any:  # noqa: A001 - public name from the spec: hwsim.format
    """Parse a format name (or pass a format object / dict through).

    Accepted: every catalogue name and alias (``float8_e4m3fn``, ``bf16``),
    ``eXmY[fn|fnuz|u][_bN]`` (``e5m10``, ``e4m3fn``, ``e4m3_b11``),
    ``intN`` / ``uintN``, ``fixedN.F`` / ``ufixedN.F``, ``binaryKpP[se|sf]``
    (P3109), and the block / codebook names (``mxfp8_e4m3``, ``mxfp4``,
    ``mxint8``, ``nvfp4``, ``nf4``, ``msfp12``, ``msfp16``, ``bfp7_b16``...).

    >>> format("int4")
    IntFormat(bits=4, signed=True, name='int4')
    >>> format("fixed16.8").frac_bits
    8
    """
    if not isinstance(spec, (str, dict)):
        if hasattr(spec, "kind") and hasattr(spec, "to_dict"):
            return spec
        raise TypeError(f"format spec must be a str, dict or format object, got {type(spec).__name__}")
    if isinstance(spec, dict):
        return from_dict(spec)
    s = spec.strip().lower()
    s = ALIASES.get(s, s)
    if s in PRESETS:
        return PRESETS[s]
    m = _RE_INT.match(s)
    if m:
        return IntFormat(int(m.group(2)), signed=not m.group(1))
    m = _RE_FIXED.match(s)
    if m:
        return FixedFormat(int(m.group(2)), int(m.group(3)), signed=not m.group(1))
    m = _RE_P3109.match(s)
    if m:
        dom = "finite" if (m.group(3) or "se") in ("sf", "f") else "extended"
        f = p3109(int(m.group(1)), int(m.group(2)), dom)
        if m.group(4) is not None or m.group(5):
            bias = int(m.group(4)) if m.group(4) is not None else f.bias
            f = FloatFormat(f.exp_bits, f.man_bits, bias=bias, specials=f.specials,
                            subnormals=not m.group(5))
        return f
    m = _RE_EM.match(s)
    if m:
        e, mm, tag, uns, b, nosub = (int(m.group(1)), int(m.group(2)), m.group(3), m.group(4),
                                     m.group(5), m.group(6))
        sp = {None: "ieee", "fn": "fn", "fnuz": "fnuz", "_finite": "finite", "fnu": "e8m0"}[tag]
        kw: dict = dict(specials=sp)
        if sp == "e8m0":
            kw.update(signed=False, subnormals=False)
        if uns:
            kw["signed"] = False
        if nosub:
            kw["subnormals"] = False
        check_int("exp_bits", e, 1, 11)
        kw["bias"] = int(b) if b is not None else _parse_default_bias(e, sp)
        f = FloatFormat(e, mm, **kw)
        for p in PRESETS.values():  # return the named preset when identical
            if isinstance(p, FloatFormat) and p == f:
                return p
        return f
    from . import blockformats

    hit = blockformats.parse(s)
    if hit is not None:
        return hit
    raise FormatError(
        f"unknown format name {spec!r}; valid: {sorted(PRESETS)} plus eXmY[fn|fnuz|fnu|_finite]"
        f"[_unsigned][_bBIAS][_nosub], intN, "
        f"uintN, fixedN.F, binaryKpP, {blockformats.NAMES}"
    )


def from_dict(d: dict) -> Any:
    """Inverse of ``fmt.to_dict()`` for every format kind."""
    if not isinstance(d, dict) or "kind" not in d:
        raise FormatError(f"format dict needs a 'kind' key, got {d!r}")
    d = dict(d)
    kind = d.pop("kind")
    if kind == "float":
        return FloatFormat(**d)
    if kind == "int":
        return IntFormat(**d)
    if kind == "fixed":
        return FixedFormat(**d)
    from . import blockformats

    return blockformats.from_dict(kind, d)


def table_rows() -> list[dict]:
    """One row per scalar preset (used by ``hwsim formats`` and the README table)."""
    rows = []
    for f in PRESETS.values():
        if not isinstance(f, FloatFormat):
            continue
        rows.append(dict(
            name=f.name, bits=f.bits, exp=f.exp_bits, man=f.man_bits, bias=f.bias,
            max=f.max_finite, min_normal=f.min_normal, min_subnormal=f.min_subnormal,
            epsilon=f.epsilon, inf="yes" if f.has_inf else "no",
            nan="yes" if f.has_nan else "no", negzero="yes" if f.has_negzero else "no",
        ))
    return rows


def markdown_table() -> str:
    """The README format table, generated from the catalogue."""
    hdr = "| name | bits | E | M | bias | max finite | min normal | min subnormal | epsilon | Inf | NaN | -0 |"
    lines = [hdr, "|" + "---|" * 12]
    for r in table_rows():
        lines.append(
            f"| {r['name']} | {r['bits']} | {r['exp']} | {r['man']} | {r['bias']} | {r['max']:.6g} | "
            f"{r['min_normal']:.6g} | {r['min_subnormal']:.6g} | {r['epsilon']:.6g} | {r['inf']} | "
            f"{r['nan']} | {r['negzero']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m hwsim.formats --markdown
    import sys

    if "--markdown" in sys.argv:
        print(markdown_table())
    else:
        for r in table_rows():
            print(r)
