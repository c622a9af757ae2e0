"""Accumulators of MAC units: frozen, validated configurations (JSON round trip).

Each accumulator class owns what the rest of the package needs to know about
its kind: its C engine spec (:meth:`c_spec`, symbolic, so this module imports
no compiled code), its value range, its register format, how it is widened to
never overflow, and how it loads from a dict.  Adding a kind: see
docs/architecture.md, "adding an accumulator kind".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

from ..errors import FormatError, UnsupportedModeError, check_int
from ..formats import FloatFormat
from ..formats import format as parse_format
from ..formats import from_dict as format_from_dict
from ..modes import DETERMINISTIC_ROUNDINGS, Overflow, RoundingMode

#: rounding modes an accumulator / product / psum encode may use (no 'sr')
ROUNDINGS = DETERMINISTIC_ROUNDINGS
#: widest fixed-point register (bits)
MAX_FIXED_BITS = 4160
#: block format kinds accepted as operands (values = element x block factor)
BLOCK_KINDS = ("mx", "nvfp4", "bfp")


def _choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value.lower()


def is_int(f) -> bool:
    """Integer / fixed-point scalar format."""
    return f.kind in ("int", "fixed")


def _fmt(name: str, spec, scalar_only: bool = True):
    if spec is None:
        raise FormatError(f"{name} must be a format (object or name), got None")
    try:
        f = parse_format(spec)
    except (FormatError, TypeError) as e:
        raise FormatError(f"{name}: {e}") from None
    allowed = ("float", "int", "fixed") + (() if scalar_only else BLOCK_KINDS)
    if f.kind not in allowed:
        raise UnsupportedModeError(
            f"{name}={f.name!r}: {f.kind} formats are not supported here (allowed: "
            f"{', '.join(allowed)})")
    return f


def _float_reg_fmt(name: str, spec) -> FloatFormat:
    f = _fmt(name, spec)
    if f.kind != "float":
        raise FormatError(f"{name} must be a FloatFormat, got {f.name!r} ({f.kind})")
    if not f.signed or f.specials == "e8m0":
        raise UnsupportedModeError(f"{name}={f.name!r}: an accumulator / sum format must be "
                                   "signed and have a zero")
    return f


def _overflow_for(name: str, value, fmt) -> str:
    if value is None:
        return fmt.default_overflow
    ov = _choice(name, value, ("saturate", "saturate_finite_keep_inf", "special", "error", "wrap"))
    if fmt.kind == "float":
        if ov == "wrap":
            raise UnsupportedModeError(f"{name}='wrap' applies to int/fixed formats only ({fmt.name})")
        if ov == "special" and not (fmt.has_inf or fmt.has_nan):
            raise UnsupportedModeError(f"{name}='special' needs a format with Inf or NaN; "
                                       f"{fmt.name} has neither")
    elif ov not in ("saturate", "wrap", "error"):
        raise UnsupportedModeError(f"{name} for {fmt.name} must be saturate, wrap or error, got {ov!r}")
    return ov


def _fmt_dict(f):
    return None if f is None else f.to_dict()


def _fmt_load(d):
    return None if d is None else format_from_dict(d)


# ---------------------------------------------------------------------------
# value ranges of formats (until the format kinds own them)
# ---------------------------------------------------------------------------
def range_bits(f) -> tuple[int, int]:
    """(lsb exponent, exclusive msb exponent) of the values of a format
    (block formats: element range times the block factors' range)."""
    if f.kind == "float":
        lsb = f.emin if f.specials == "e8m0" else f.emin - f.man_bits
        return lsb, f.emax + 1
    if f.kind == "mx":
        lo, hi = range_bits(f.elem)
        return lo - 127, hi + 127
    if f.kind == "nvfp4":  # e2m1 x e4m3 x float32 tensor scale
        return -1 - 9 - 149, 3 + 9 + 128
    if f.kind == "bfp":
        return -f.exp_bias - f.man_bits + 1, f.exp_bias + 4
    return -f.frac_bits, f.bits - f.frac_bits


def sig_bits(f) -> int:
    """Significand bits of an operand value (block formats: element x factor)."""
    if f.kind == "float":
        return f.precision
    if f.kind == "mx":
        return f.elem.precision if f.elem.kind == "float" else 8
    if f.kind == "nvfp4":
        return 2 + 4 + 24
    if f.kind == "bfp":
        return f.man_bits + 1
    return f.bits


def aexp_min(f) -> int:
    """Lowest alignment exponent of a nonzero value (floor(log2|x|) clamped at emin)."""
    if f.kind == "float":
        return f.emin
    if f.kind in ("int", "fixed"):
        return -f.frac_bits
    return range_bits(f)[0]  # block formats: values decoded exactly


# ---------------------------------------------------------------------------
# what every accumulator kind provides
# ---------------------------------------------------------------------------
class Register(NamedTuple):
    """The register an accumulator holds its value in: an int / fixed one
    (``fmt`` None: raw integers of ``width`` bits in units of 2^-frac_bits) or
    a float one (``fmt``)."""

    fmt: Any
    frac_bits: int = 0
    width: int | None = None

    @property
    def fixed(self) -> bool:
        return self.fmt is None


class AccumulatorBase:
    """Behaviour shared by the accumulator kinds (each overrides what differs).

    ``kind``: short name; ``integer``: holds raw integers (int / fixed);
    ``nestable``: may serve as a Chunked outer accumulator or a psum adder;
    ``tree_order``: defined under ``order=Tree``.
    """

    kind = ""
    integer = False
    nestable = True
    tree_order = True

    @classmethod
    def from_dict(cls, d: dict):
        """Load from :meth:`to_dict`'s output without its ``type`` key."""
        return cls(**d)

    def register(self, mac) -> Register:
        raise NotImplementedError

    def value_range(self, mac) -> tuple[int, int]:
        """(lsb exponent, exclusive msb exponent) of the register's values."""
        r = self.register(mac)
        if r.fixed:
            return -r.frac_bits, r.width - r.frac_bits
        return range_bits(r.fmt)

    def exp_span(self, mac, lo: int, hi: int) -> tuple[int, int]:
        """Widen (lo, hi), the exponent span of the unit's values, by what this
        accumulator forms internally (default: nothing)."""
        return lo, hi

    def c_spec(self, mac) -> dict:
        """Fields of the C ``hw_acc_spec``: ints, names of C constants (str),
        or FloatFormats (converted by the engine)."""
        raise NotImplementedError

    def widened(self, top: int, mac):
        """This accumulator wide enough never to overflow below 2^top (int /
        fixed kinds; others are returned unchanged)."""
        return self

    def out_limbs(self) -> int:
        """64-bit limbs of one result register."""
        return 1

    def check_products(self, name: str, product_fmt) -> None:
        """Refuse products this register cannot take (called by MacUnit)."""

    def terms_limit(self) -> int | None:
        """The most terms one register may take (None: no limit)."""
        return None

    def as_psum_adder(self):
        """The accumulator a default psum adder of this kind is."""
        return self


def _fixed_wide(top: int, frac: int, below: str) -> "FixedAccumulator":
    int_bits = max(2, min(top + 1, MAX_FIXED_BITS - frac))
    if int_bits + frac < 2:
        int_bits = 2 - frac
    return FixedAccumulator(int_bits, frac, below, "wrap")


# ---------------------------------------------------------------------------
# the accumulator kinds
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IntAccumulator(AccumulatorBase):
    """Two's-complement integer accumulator of ``bits`` bits (2..64).

    Holds integers in units of the product LSB (2^-(frac_a + frac_b); 1 for
    integer operands).  After every add the exact sum is checked against
    [-2^(bits-1), 2^(bits-1) - 1]: ``wrap`` keeps it modulo 2^bits (WrapNet),
    ``saturate`` clamps (so the result depends on the order), ``error``
    raises :class:`~hwsim.errors.OverflowValueError`.

    ``fan_in`` (default 1): the register takes the products in groups of
    ``fan_in`` consecutive terms, as a dot-product unit does (x86 VNNI
    ``vpdpbusd`` and NVIDIA ``dp4a`` add 4 int8 products per lane and
    instruction): each group's products are summed exactly by a combinational
    adder tree and the exact group sum is added to the register in one add, so
    overflow, ``overflow_events``, ``max_abs_partial`` and ``bits_needed`` are
    checked once per group.  The terms a register takes are cut into groups in
    k order from the first term of each reduction it performs (a tile, a
    chunk); the last group may be shorter.  The bias is not a product: it is
    loaded (``bias="init"``) or added (``"final"``) on its own.  With
    ``fan_in=1`` every product is its own add.  ``fan_in > 1`` applies only
    where the register takes products: refused with ``order=Tree`` and as a
    Chunked outer accumulator or a psum adder (they take sums); the default
    psum adder of such a unit is this register with ``fan_in=1``.
    """

    bits: int
    overflow: str = "wrap"
    fan_in: int = 1

    kind = "int"
    integer = True

    def __post_init__(self):
        check_int("bits", self.bits, 2, 64)
        object.__setattr__(self, "overflow", _choice("overflow", self.overflow,
                                                     ("wrap", "saturate", "error")))
        check_int("fan_in", self.fan_in, 1, 65536)

    def to_dict(self) -> dict:
        d = dict(type="IntAccumulator", bits=self.bits, overflow=self.overflow)
        if self.fan_in != 1:  # dicts of per-add registers stay as they were
            d["fan_in"] = self.fan_in
        return d

    def register(self, mac) -> Register:
        return Register(None, mac.product_frac_bits, self.bits)

    def exp_span(self, mac, lo: int, hi: int) -> tuple[int, int]:
        # a group sum: up to fan_in products plus the register
        return lo, hi + (self.fan_in + 1).bit_length() if self.fan_in > 1 else hi

    def c_spec(self, mac) -> dict:
        return dict(kind="HW_ACC_FIXED", width=self.bits, frac_bits=mac.product_frac_bits,
                    below_lsb="HW_BELOW_TRUNCATE", overflow=int(Overflow.parse(self.overflow)),
                    fan_in=self.fan_in)

    def widened(self, top: int, mac):
        wide = _fixed_wide(top, mac.product_frac_bits, "truncate")
        if self.fan_in == 1:
            return wide
        return _GroupedFixed(wide.int_bits, wide.frac_bits, wide.below_lsb, wide.overflow,
                             fan_in=self.fan_in)

    def as_psum_adder(self):
        # a psum adder takes partial sums, not products: one add per partial sum
        return self if self.fan_in == 1 else IntAccumulator(self.bits, self.overflow)

    def check_products(self, name: str, product_fmt) -> None:
        if product_fmt.kind == "float":
            raise FormatError(
                f"{name}=IntAccumulator needs integer/fixed products, but products are "
                f"{product_fmt.name} (float); use FixedAccumulator or kulisch() for float "
                "operands")


@dataclass(frozen=True)
class FixedAccumulator(AccumulatorBase):
    """Fixed-point accumulator: ``int_bits`` (sign included) + ``frac_bits``.

    Register value = integer * 2^-frac_bits, integer of W = int_bits +
    frac_bits bits (2..4160).  Every incoming product (or sum) is first put
    on the LSB grid: ``below_lsb="truncate"`` drops the bits below the LSB of
    its two's-complement form (the floor), or a rounding mode rounds them;
    then it is added exactly and ``overflow`` applies as for
    :class:`IntAccumulator`.  :func:`kulisch` sizes an exact one and records
    in ``exact_terms`` the K it was sized for (more terms per register are
    refused at run time).
    """

    int_bits: int
    frac_bits: int
    below_lsb: str = "truncate"
    overflow: str = "wrap"
    exact_terms: int | None = None

    kind = "fixed"
    integer = True

    def __post_init__(self):
        if self.exact_terms is not None:
            check_int("exact_terms", self.exact_terms, 1, 1 << 62)
        check_int("int_bits", self.int_bits, 1, MAX_FIXED_BITS)
        check_int("frac_bits", self.frac_bits, -2000, 4000)
        check_int("int_bits + frac_bits", self.int_bits + self.frac_bits, 2, MAX_FIXED_BITS)
        object.__setattr__(self, "below_lsb", _choice("below_lsb", self.below_lsb,
                                                      ("truncate",) + ROUNDINGS))
        object.__setattr__(self, "overflow", _choice("overflow", self.overflow,
                                                     ("wrap", "saturate", "error")))

    @property
    def width(self) -> int:
        """Total register width W in bits."""
        return self.int_bits + self.frac_bits

    def to_dict(self) -> dict:
        return dict(type="FixedAccumulator", int_bits=self.int_bits, frac_bits=self.frac_bits,
                    below_lsb=self.below_lsb, overflow=self.overflow, exact_terms=self.exact_terms)

    def register(self, mac) -> Register:
        return Register(None, self.frac_bits, self.width)

    def c_spec(self, mac) -> dict:
        below = ("HW_BELOW_TRUNCATE" if self.below_lsb == "truncate"
                 else int(RoundingMode.parse(self.below_lsb)))
        return dict(kind="HW_ACC_FIXED", width=self.width, frac_bits=self.frac_bits,
                    below_lsb=below, overflow=int(Overflow.parse(self.overflow)))

    def widened(self, top: int, mac):
        return _fixed_wide(top, self.frac_bits, self.below_lsb)

    def out_limbs(self) -> int:
        return (self.width + 2 + 63) // 64 if self.width > 64 else 1

    def terms_limit(self) -> int | None:
        return self.exact_terms


@dataclass(frozen=True)
class _GroupedFixed(FixedAccumulator):
    """A widened ``IntAccumulator(fan_in > 1)``: the overflow-free register of
    the engine's bits_needed rerun, taking its products in the same groups."""

    fan_in: int = 1

    def exp_span(self, mac, lo: int, hi: int) -> tuple[int, int]:
        return lo, hi + (self.fan_in + 1).bit_length()

    def c_spec(self, mac) -> dict:
        return dict(super().c_spec(mac), fan_in=self.fan_in)


def kulisch(a_fmt, b_fmt, K: int, below_lsb: str = "truncate",
            overflow: str = "wrap") -> FixedAccumulator:
    """An exact (Kulisch) fixed-point accumulator for K products of a_fmt x b_fmt.

    Float formats (numerics.md section 6): W = (emax_a - emin_a) + (emax_b -
    emin_b) + p_a + p_b + ceil(log2 K) + 1, LSB 2^(emin_a + emin_b - p_a -
    p_b + 2); E4M3 x E4M3 with K = 32 gives 42 bits.  Integer / fixed
    formats of N and M bits without zero points: W = N + M + ceil(log2 K)
    (+1 when either is unsigned), LSB 2^-(frac_a + frac_b).  Mixed: the
    float rule, an N-bit integer counting as emax = emin = N - 1 - frac,
    p = N.  Zero points widen the operands: size those by hand.

    >>> kulisch("float8_e4m3fn", "float8_e4m3fn", 32).width
    42
    """
    a = _fmt("a_fmt", a_fmt)
    b = _fmt("b_fmt", b_fmt)
    check_int("K", K, 1, 1 << 62)
    lg = math.ceil(math.log2(K)) if K > 1 else 0
    while (1 << lg) < K:  # guard float rounding of log2
        lg += 1
    if is_int(a) and is_int(b):
        frac = a.frac_bits + b.frac_bits
        extra = 0 if (a.signed and b.signed) else 1
        return FixedAccumulator(a.bits + b.bits + lg + extra - frac, frac, below_lsb, overflow, K)

    def params(f):
        if f.kind == "float":
            return f.emax, f.emin, f.precision
        e = f.bits - 1 - f.frac_bits
        return e, e, f.bits

    ea, ia, pa = params(a)
    eb, ib, pb = params(b)
    width = (ea - ia) + (eb - ib) + pa + pb + lg + 1
    frac = -(ia + ib - pa - pb + 2)
    return FixedAccumulator(width - frac, frac, below_lsb, overflow, K)
@dataclass(frozen=True)
class FloatAccumulator(AccumulatorBase):
    """Floating-point accumulator in any signed FloatFormat.

    After every add the exact sum is rounded once into ``fmt`` with
    ``rounding``.  ``fused=True``: acc + exact product, one rounding (FMA);
    ``fused=False``: the product is first rounded into ``fmt`` (same mode and
    overflow policy), then added and rounded.  ``overflow``: the format's
    policy (default ``fmt.default_overflow``: Inf where the format has one).
    Exact zero sums follow IEEE 754: +0 unless both addends are -0 (rdn: -0).
    """

    fmt: Any
    rounding: str = "rne"
    fused: bool = True
    overflow: str | None = None

    kind = "float"

    def __post_init__(self):
        f = _float_reg_fmt("fmt", self.fmt)
        object.__setattr__(self, "fmt", f)
        object.__setattr__(self, "rounding", _choice("rounding", self.rounding, ROUNDINGS))
        if not isinstance(self.fused, bool):
            raise TypeError(f"fused must be a bool, got {self.fused!r}")
        object.__setattr__(self, "overflow", _overflow_for("overflow", self.overflow, f))

    def to_dict(self) -> dict:
        return dict(type="FloatAccumulator", fmt=self.fmt.to_dict(), rounding=self.rounding,
                    fused=self.fused, overflow=self.overflow)

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**dict(d, fmt=_fmt_load(d["fmt"])))

    def register(self, mac) -> Register:
        return Register(self.fmt)

    def c_spec(self, mac) -> dict:
        return dict(kind="HW_ACC_FLOAT", fmt=self.fmt,
                    rounding=int(RoundingMode.parse(self.rounding)),
                    overflow=int(Overflow.parse(self.overflow)), fused=int(self.fused))


@dataclass(frozen=True)
class FusedMultiTermAccumulator(AccumulatorBase):
    """Tensor-core style fused multi-term adder (a model from the literature).

    Per group of ``fan_in`` consecutive products plus the running sum c (in
    ``out_fmt``; c starts at +0 or the bias):

    1. alignment exponent of every nonzero term: for a product a*b the sum
       ea + eb of the operands' exponents, each floor(log2|x|) clamped below
       at its format's emin (the product's significand lies in [1, 4), as in
       hardware that adds exponents before normalising); for c, floor(log2|c|)
       clamped at out_fmt.emin.  ``eref`` = the largest of them (c included
       when ``c_alignment="joint"``);
    2. every term is cut to a multiple of 2^(eref - window_bits): the window
       keeps ``window_bits`` fraction bits below bit eref.  Bits below it are
       dropped toward zero (``"truncate"``), or dropped with a sticky bit at
       2^(eref - window_bits - 1) set when any of them was 1 (``"sticky"``),
       or the term is rounded to nearest-even on the window (``"round"``);
    3. the cut terms are summed exactly (``c_alignment="late"``: c is not cut
       and joins this exact sum after the products), normalised once and
       rounded once into ``out_fmt`` with ``rounding``.

    "Extra alignment bits" x in the literature (Fasi, Higham, Mikaitis,
    Pranesh 2021; Khattak & Mikaitis 2025) map to ``window_bits =
    out_fmt.man_bits + x`` (fp32: 23 + x): x = 0 keeps the 24-bit significand
    of a term at eref; x = -10 keeps 14 bits.  Use :meth:`from_extra_bits`
    or :func:`fused_multi_term_preset`.  NaN/Inf terms give NaN/Inf (+Inf +
    -Inf: NaN); an exact zero sum is +0 (-0 under rdn, or when every term
    was -0).
    """

    fan_in: int
    window_bits: int
    shifted_out: str = "truncate"
    c_alignment: str = "joint"
    rounding: str = "rtz"
    out_fmt: Any = "float32"
    overflow: str | None = None
    name: str | None = field(default=None, compare=False)

    kind = "multi"
    nestable = False
    tree_order = False

    def __post_init__(self):
        check_int("fan_in", self.fan_in, 1, 65536)
        check_int("window_bits", self.window_bits, 0, 100)
        object.__setattr__(self, "shifted_out", _choice("shifted_out", self.shifted_out,
                                                        ("truncate", "sticky", "round")))
        object.__setattr__(self, "c_alignment", _choice("c_alignment", self.c_alignment,
                                                        ("joint", "late")))
        object.__setattr__(self, "rounding", _choice("rounding", self.rounding, ROUNDINGS))
        f = _float_reg_fmt("out_fmt", self.out_fmt)
        object.__setattr__(self, "out_fmt", f)
        object.__setattr__(self, "overflow", _overflow_for("overflow", self.overflow, f))

    @classmethod
    def from_extra_bits(cls, fan_in: int, extra_bits: int, out_fmt="float32", **kw):
        """Build from the literature's (fan-in, extra alignment bits)."""
        f = _float_reg_fmt("out_fmt", out_fmt)
        return cls(fan_in, f.man_bits + extra_bits, out_fmt=f, **kw)

    @property
    def extra_bits(self) -> int:
        return self.window_bits - self.out_fmt.man_bits

    def to_dict(self) -> dict:
        return dict(type="FusedMultiTermAccumulator", fan_in=self.fan_in,
                    window_bits=self.window_bits, shifted_out=self.shifted_out,
                    c_alignment=self.c_alignment, rounding=self.rounding,
                    out_fmt=self.out_fmt.to_dict(), overflow=self.overflow, name=self.name)

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**dict(d, out_fmt=_fmt_load(d["out_fmt"])))

    def register(self, mac) -> Register:
        return Register(self.out_fmt)

    def exp_span(self, mac, lo: int, hi: int) -> tuple[int, int]:
        # the window below the largest term, and the carries of fan_in + 1 terms
        if mac.product is not None:
            pa = aexp_min(mac.product)
        else:
            pa = aexp_min(mac.a_fmt) + aexp_min(mac.b_fmt)
        return (min(lo, min(pa, self.out_fmt.emin) - self.window_bits - 1),
                hi + 3 + math.ceil(math.log2(self.fan_in + 1)))

    def c_spec(self, mac) -> dict:
        return dict(kind="HW_ACC_MULTI", fmt=self.out_fmt,
                    rounding=int(RoundingMode.parse(self.rounding)),
                    overflow=int(Overflow.parse(self.overflow)), fan_in=self.fan_in,
                    window_bits=self.window_bits,
                    shifted_out="HW_SHIFTED_" + self.shifted_out.upper(),
                    c_late=int(self.c_alignment == "late"))

    def as_psum_adder(self):
        # a FloatAccumulator in out_fmt with this rounding and overflow
        return FloatAccumulator(self.out_fmt, self.rounding, True, self.overflow)


#: Tensor-core models from the literature: (fan-in, extra alignment bits), all
#: truncating alignment and round-toward-zero into binary32.  Sources: Fasi,
#: Higham, Mikaitis, Pranesh, "Numerical behavior of NVIDIA tensor cores",
#: PeerJ CS 2021 (V100, T4, A100); Khattak & Mikaitis 2025, "Accurate models of
#: NVIDIA tensor cores" and their public MATLAB models (H100; FP8: 13 fraction
#: bits, matching DeepSeek-V3's report of ~14-bit accumulation).  These are
#: models, not vendor specifications.
FUSED_MULTI_TERM_PRESETS = {
    "v100_fp16": (4, 0),
    "a100_fp16": (8, 1),
    "a100_bf16": (8, 1),
    "h100_fp16": (16, 2),
    "h100_fp8": (32, -10),
}


def fused_multi_term_preset(name: str) -> FusedMultiTermAccumulator:
    """A literature model of a tensor core's fused multi-term adder (see FUSED_MULTI_TERM_PRESETS).

    >>> fused_multi_term_preset("h100_fp8").window_bits
    13
    """
    key = _choice("name", name, tuple(FUSED_MULTI_TERM_PRESETS))
    n, x = FUSED_MULTI_TERM_PRESETS[key]
    return FusedMultiTermAccumulator(n, 23 + x, "truncate", "joint", "rtz", "float32",
                                     name=key)


Accumulator = Union[IntAccumulator, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator]
#: every accumulator kind, by the ``type`` name of its dict
ACCUMULATOR_TYPES = {cls.__name__: cls for cls in (IntAccumulator, FixedAccumulator,
                                                   FloatAccumulator, FusedMultiTermAccumulator)}


def accumulator_from_dict(d: dict):
    if not isinstance(d, dict) or "type" not in d:
        raise ValueError(f"accumulator dict needs a 'type' key, got {d!r}")
    d = dict(d)
    t = d.pop("type")
    if t not in ACCUMULATOR_TYPES:
        raise ValueError(f"unknown accumulator type {t!r}")
    return ACCUMULATOR_TYPES[t].from_dict(d)
