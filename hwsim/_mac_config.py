"""Configuration objects of a MAC unit (frozen, validated, JSON round trip).

The semantics of every field are stated in the class docstrings and in
``docs/mac.md``; :mod:`hwsim.mac` runs them, :mod:`hwsim._ref_mac` is the
exact oracle.  This module imports no compiled code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import FormatError, UnsupportedModeError, check_int
from .formats import FixedFormat, FloatFormat, IntFormat
from .formats import format as parse_format
from .formats import from_dict as format_from_dict

#: rounding modes an accumulator / product / psum encode may use (no 'sr')
ROUNDINGS = ("rne", "rna", "rtz", "rup", "rdn", "rto")
#: widest fixed-point register (bits)
MAX_FIXED_BITS = 4160


def _choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value.lower()


#: block format kinds accepted as operands (values = element x block factor)
BLOCK_KINDS = ("mx", "nvfp4", "bfp")


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
# Accumulators
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IntAccumulator:
    """Two's-complement integer accumulator of ``bits`` bits (2..64).

    Holds integers in units of the product LSB (2^-(frac_a + frac_b); 1 for
    integer operands).  After every add the exact sum is checked against
    [-2^(bits-1), 2^(bits-1) - 1]: ``wrap`` keeps it modulo 2^bits (WrapNet),
    ``saturate`` clamps (so the result depends on the order), ``error``
    raises :class:`~hwsim.errors.OverflowValueError`.
    """

    bits: int
    overflow: str = "wrap"

    kind = "int"

    def __post_init__(self):
        check_int("bits", self.bits, 2, 64)
        object.__setattr__(self, "overflow", _choice("overflow", self.overflow,
                                                     ("wrap", "saturate", "error")))

    def to_dict(self) -> dict:
        return dict(type="IntAccumulator", bits=self.bits, overflow=self.overflow)


@dataclass(frozen=True)
class FixedAccumulator:
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


def _range_bits(f):
    """(lsb exponent, exclusive msb exponent) of the values of a format
    (block formats: element range times the block factors' range)."""
    if f.kind == "float":
        lsb = f.emin if f.specials == "e8m0" else f.emin - f.man_bits
        return lsb, f.emax + 1
    if f.kind == "mx":
        lo, hi = _range_bits(f.elem)
        return lo - 127, hi + 127
    if f.kind == "nvfp4":  # e2m1 x e4m3 x float32 tensor scale
        return -1 - 9 - 149, 3 + 9 + 128
    if f.kind == "bfp":
        return -f.exp_bias - f.man_bits + 1, f.exp_bias + 4
    return -f.frac_bits, f.bits - f.frac_bits


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
class FloatAccumulator:
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


@dataclass(frozen=True)
class FusedMultiTermAccumulator:
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


#: Tensor-core models from the literature: (fan-in, extra alignment bits), all
#: truncating alignment and round-toward-zero into binary32.  Sources: Fasi,
#: Higham, Mikaitis, Pranesh, "Numerical behavior of NVIDIA tensor cores",
#: PeerJ CS 2021 (V100, T4, A100); Khattak & Mikaitis 2025, "Accurate models of
#: NVIDIA tensor cores" and their public MATLAB models (H100; FP8: 13 fraction
#: bits, matching DeepSeek-V3's report of ~14-bit accumulation).  These are
#: models, not vendor specifications.
FMT_PRESETS = {
    "v100_fp16": (4, 0),
    "a100_fp16": (8, 1),
    "a100_bf16": (8, 1),
    "h100_fp16": (16, 2),
    "h100_fp8": (32, -10),
}


def fused_multi_term_preset(name: str) -> FusedMultiTermAccumulator:
    """A literature model of a tensor core's fused multi-term adder (see FMT_PRESETS).

    >>> fused_multi_term_preset("h100_fp8").window_bits
    13
    """
    key = _choice("name", name, tuple(FMT_PRESETS))
    n, x = FMT_PRESETS[key]
    return FusedMultiTermAccumulator(n, 23 + x, "truncate", "joint", "rtz", "float32",
                                     name=key)


Accumulator = Union[IntAccumulator, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator]
_ACC_TYPES = (IntAccumulator, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator)


def accumulator_from_dict(d: dict):
    if not isinstance(d, dict) or "type" not in d:
        raise ValueError(f"accumulator dict needs a 'type' key, got {d!r}")
    d = dict(d)
    t = d.pop("type")
    if t == "IntAccumulator":
        return IntAccumulator(**d)
    if t == "FixedAccumulator":
        return FixedAccumulator(**d)
    if t == "FloatAccumulator":
        d["fmt"] = _fmt_load(d["fmt"])
        return FloatAccumulator(**d)
    if t == "FusedMultiTermAccumulator":
        d["out_fmt"] = _fmt_load(d["out_fmt"])
        return FusedMultiTermAccumulator(**d)
    raise ValueError(f"unknown accumulator type {t!r}")


# ---------------------------------------------------------------------------
# Reduction orders and tiling
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sequential:
    """acc = init; for k in 0..K-1: acc = acc (+) a_k * b_k."""

    def to_dict(self) -> dict:
        return dict(type="Sequential")


@dataclass(frozen=True)
class Tree:
    """Adder tree of the given fan-in over the products of a tile, every node rounds.

    Leaves are the products in k order (for a non-fused float accumulator
    rounded into its format; for a fixed one put on its grid).  Level by
    level, consecutive groups of ``fan_in`` items form a node whose value is
    their exact sum rounded (float) or overflow-checked (fixed) into the
    accumulator; a last group of one item passes up unchanged.  The root is
    then added into the accumulator register (which holds the bias or the
    previous tiles).
    """

    fan_in: int = 2

    def __post_init__(self):
        check_int("fan_in", self.fan_in, 2, 1 << 20)

    def to_dict(self) -> dict:
        return dict(type="Tree", fan_in=self.fan_in)


@dataclass(frozen=True)
class Chunked:
    """Chunk-based accumulation (Wang et al. 2018; DeepSeek-V3 promotion).

    The terms of a tile are cut into chunks of ``chunk``; each chunk is
    summed sequentially from +0 by the unit's accumulator, then added (exact
    sum, one rounding / overflow check) into ``outer_accumulator``, which
    holds the bias and gives the result.
    """

    chunk: int
    outer_accumulator: Any = None

    def __post_init__(self):
        check_int("chunk", self.chunk, 1, (1 << 31) - 1)
        if not isinstance(self.outer_accumulator, _ACC_TYPES):
            raise TypeError("outer_accumulator must be an IntAccumulator, FixedAccumulator or "
                            f"FloatAccumulator, got {self.outer_accumulator!r}")
        if isinstance(self.outer_accumulator, FusedMultiTermAccumulator):
            raise UnsupportedModeError("outer_accumulator cannot be a FusedMultiTermAccumulator")

    def to_dict(self) -> dict:
        return dict(type="Chunked", chunk=self.chunk,
                    outer_accumulator=self.outer_accumulator.to_dict())


Order = Union[Sequential, Tree, Chunked]


def order_from_dict(d: dict):
    d = dict(d)
    t = d.pop("type", None)
    if t == "Sequential":
        return Sequential()
    if t == "Tree":
        return Tree(**d)
    if t == "Chunked":
        return Chunked(d["chunk"], accumulator_from_dict(d["outer_accumulator"]))
    raise ValueError(f"unknown order type {t!r}")


@dataclass(frozen=True)
class Tiles:
    """K-tiling with partial-sum encoding.

    The reduction is cut into tiles of ``T`` terms.  ``mode="reload"``: after
    every tile but the last, the running register is encoded into
    ``psum_format`` (``psum_rounding``, ``psum_overflow``: default the
    format's) and decoded back into the register when the next tile resumes
    (as when partial sums spill to SRAM).  ``mode="separate"``: every tile is
    reduced from +0, its sum encoded into ``psum_format``, and the decoded
    partial sums are added in tile order by ``psum_adder`` (default: the same
    kind of accumulator as the unit's result register), which holds the bias.
    """

    T: int
    psum_format: Any
    psum_rounding: str = "rne"
    mode: str = "reload"
    psum_overflow: str | None = None
    psum_adder: Any = None

    def __post_init__(self):
        check_int("T", self.T, 1, (1 << 31) - 1)
        f = _fmt("psum_format", self.psum_format)
        if f.kind == "float" and (not f.signed or f.specials == "e8m0"):
            raise UnsupportedModeError(f"psum_format={f.name!r} cannot hold signed partial sums")
        object.__setattr__(self, "psum_format", f)
        object.__setattr__(self, "psum_rounding", _choice("psum_rounding", self.psum_rounding,
                                                          ROUNDINGS))
        object.__setattr__(self, "mode", _choice("mode", self.mode, ("reload", "separate")))
        object.__setattr__(self, "psum_overflow", _overflow_for("psum_overflow",
                                                                self.psum_overflow, f))
        if self.psum_adder is not None:
            if self.mode != "separate":
                raise ValueError("psum_adder applies to mode='separate' only")
            if not isinstance(self.psum_adder, (IntAccumulator, FixedAccumulator, FloatAccumulator)):
                raise TypeError("psum_adder must be an Int/Fixed/FloatAccumulator, got "
                                f"{self.psum_adder!r}")

    def to_dict(self) -> dict:
        return dict(type="Tiles", T=self.T, psum_format=self.psum_format.to_dict(),
                    psum_rounding=self.psum_rounding, mode=self.mode,
                    psum_overflow=self.psum_overflow,
                    psum_adder=None if self.psum_adder is None else self.psum_adder.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "Tiles":
        d = dict(d)
        d.pop("type", None)
        d["psum_format"] = _fmt_load(d["psum_format"])
        if d.get("psum_adder") is not None:
            d["psum_adder"] = accumulator_from_dict(d["psum_adder"])
        return cls(**d)


# ---------------------------------------------------------------------------
# The MAC unit
# ---------------------------------------------------------------------------
def _sig_bits(f) -> int:
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


@dataclass(frozen=True)
class MacUnit:
    """A multiply-accumulate unit: y = init + sum_k a_k * b_k, bit for bit.

    Parameters
    ----------
    a_fmt, b_fmt : formats of the operand codes: scalar float, int, fixed
        (integer formats take zero points at run time), or block formats (MX,
        NVFP4, BFP: the operands are then :class:`~hwsim.BlockTensor` with
        their blocks along K, and each operand value is its element times its
        block's factor, exactly; model the spec's per-block dot product with
        ``order=Chunked(block_size, outer)`` and an exact inner accumulator).
        The two operands' significands must fit the 64-bit product path:
        p_a + p_b <= 64 (integers count their bits).
    product : None (exact products) or a scalar format every product is
        rounded into (``product_rounding``, ``product_overflow``).
    accumulator : IntAccumulator | FixedAccumulator | FloatAccumulator |
        FusedMultiTermAccumulator.
    order : Sequential() | Tree(fan_in) | Chunked(chunk, outer_accumulator).
    tiling : None or Tiles(T, psum_format, ...).
    bias : "init" (the result register starts at the bias; with
        ``Tiles(mode="separate")`` the psum adder does) or "final" (added
        by the result register's accumulator after the last term).
    bias_format : None (bias values must be exact in the register that
        receives them) or a scalar format they must be exact in.

    >>> m = MacUnit("int8", "int8", accumulator=IntAccumulator(32))
    >>> MacUnit.from_dict(m.to_dict()) == m
    True
    """

    a_fmt: Any
    b_fmt: Any
    product: Any = None
    accumulator: Any = field(default_factory=lambda: FloatAccumulator("float32"))
    order: Any = field(default_factory=Sequential)
    tiling: Any = None
    bias: str = "init"
    bias_format: Any = None
    product_rounding: str = "rne"
    product_overflow: str | None = None

    def __post_init__(self):
        a = _fmt("a_fmt", self.a_fmt, scalar_only=False)
        b = _fmt("b_fmt", self.b_fmt, scalar_only=False)
        object.__setattr__(self, "a_fmt", a)
        object.__setattr__(self, "b_fmt", b)
        if _sig_bits(a) + _sig_bits(b) > 64:
            raise FormatError(
                f"a_fmt={a.name} and b_fmt={b.name}: significand bits {_sig_bits(a)} + "
                f"{_sig_bits(b)} exceed the 64-bit product path (p_a + p_b must be <= 64)")
        if self.product is not None:
            p = _fmt("product", self.product)
            if p.kind == "float" and (not p.signed or p.specials == "e8m0"):
                raise UnsupportedModeError(f"product={p.name!r} cannot hold signed products")
            object.__setattr__(self, "product", p)
            object.__setattr__(self, "product_overflow",
                               _overflow_for("product_overflow", self.product_overflow, p))
        elif self.product_overflow is not None:
            raise ValueError("product_overflow applies only with a product format")
        object.__setattr__(self, "product_rounding", _choice("product_rounding",
                                                             self.product_rounding, ROUNDINGS))
        acc = self.accumulator
        if not isinstance(acc, _ACC_TYPES):
            raise TypeError(f"accumulator must be one of {[t.__name__ for t in _ACC_TYPES]}, "
                            f"got {acc!r}")
        if not isinstance(self.order, (Sequential, Tree, Chunked)):
            raise TypeError(f"order must be Sequential(), Tree(fan_in) or Chunked(...), "
                            f"got {self.order!r}")
        if self.tiling is not None and not isinstance(self.tiling, Tiles):
            raise TypeError(f"tiling must be None or Tiles(...), got {self.tiling!r}")
        object.__setattr__(self, "bias", _choice("bias", self.bias, ("init", "final")))
        if self.bias_format is not None:
            object.__setattr__(self, "bias_format", _fmt("bias_format", self.bias_format))
        if isinstance(acc, FusedMultiTermAccumulator) and isinstance(self.order, Tree):
            raise UnsupportedModeError("a FusedMultiTermAccumulator sums its own groups; "
                                       "order=Tree is not defined for it (use Sequential or Chunked)")
        pf = self.product_grid_format
        units = [("accumulator", acc)]
        if isinstance(self.order, Chunked):
            units.append(("order.outer_accumulator", self.order.outer_accumulator))
        if self.tiling is not None and self.tiling.mode == "separate":
            units.append(("tiling.psum_adder", self.result_accumulator))
        for name, u in units:
            if isinstance(u, IntAccumulator) and pf.kind == "float":
                raise FormatError(
                    f"{name}=IntAccumulator needs integer/fixed products, but products are "
                    f"{pf.name} (float); use FixedAccumulator or kulisch() for float operands")

    # -- derived -----------------------------------------------------------
    @property
    def product_grid_format(self):
        """The format products arrive in: ``product`` or, exact, a's kind x b's kind."""
        if self.product is not None:
            return self.product
        a, b = self.a_fmt, self.b_fmt
        if is_int(a) and is_int(b):
            bits = min(64, a.bits + b.bits)
            return FixedFormat(bits, a.frac_bits + b.frac_bits)
        return FloatFormat(11, 52)  # stands for "float"; only .kind is used

    @property
    def product_frac_bits(self) -> int:
        """LSB exponent of integer products (for IntAccumulator units)."""
        pf = self.product_grid_format
        return pf.frac_bits if pf.kind != "float" else 0

    @property
    def top_accumulator(self):
        """The accumulator whose register a tile's reduction ends in."""
        if isinstance(self.order, Chunked):
            return self.order.outer_accumulator
        return self.accumulator

    @property
    def psum_adder(self):
        """The psum adder of ``Tiles(mode="separate")`` (None otherwise).

        Default: the top accumulator; a FusedMultiTermAccumulator stands for a
        FloatAccumulator in its out_fmt with its rounding and overflow.
        """
        if self.tiling is None or self.tiling.mode != "separate":
            return None
        if self.tiling.psum_adder is not None:
            return self.tiling.psum_adder
        top = self.top_accumulator
        if isinstance(top, FusedMultiTermAccumulator):
            return FloatAccumulator(top.out_fmt, top.rounding, True, top.overflow)
        return top

    @property
    def result_accumulator(self):
        """The accumulator whose register holds the result."""
        return self.psum_adder or self.top_accumulator

    def to_dict(self) -> dict:
        return dict(type="MacUnit", a_fmt=self.a_fmt.to_dict(), b_fmt=self.b_fmt.to_dict(),
                    product=_fmt_dict(self.product), product_rounding=self.product_rounding,
                    product_overflow=self.product_overflow,
                    accumulator=self.accumulator.to_dict(), order=self.order.to_dict(),
                    tiling=None if self.tiling is None else self.tiling.to_dict(),
                    bias=self.bias, bias_format=_fmt_dict(self.bias_format))

    @classmethod
    def from_dict(cls, d: dict) -> "MacUnit":
        if not isinstance(d, dict) or d.get("type", "MacUnit") != "MacUnit":
            raise ValueError(f"not a MacUnit dict: {d!r}")
        return cls(a_fmt=_fmt_load(d["a_fmt"]), b_fmt=_fmt_load(d["b_fmt"]),
                   product=_fmt_load(d.get("product")),
                   product_rounding=d.get("product_rounding", "rne"),
                   product_overflow=d.get("product_overflow"),
                   accumulator=accumulator_from_dict(d["accumulator"]),
                   order=order_from_dict(d.get("order", {"type": "Sequential"})),
                   tiling=None if d.get("tiling") is None else Tiles.from_dict(d["tiling"]),
                   bias=d.get("bias", "init"), bias_format=_fmt_load(d.get("bias_format")))

    def check_terms(self, k: int) -> None:
        """Refuse K beyond what a kulisch()-sized accumulator was built for."""
        acc = self.accumulator
        if not isinstance(acc, FixedAccumulator) or acc.exact_terms is None:
            return
        seen = k
        if isinstance(self.order, Chunked):
            seen = min(seen, self.order.chunk)
        if self.tiling is not None and self.tiling.mode == "separate":
            seen = min(seen, self.tiling.T)
        if seen > acc.exact_terms:
            raise ValueError(
                f"K={k} puts {seen} terms into accumulator={acc!r}, which kulisch() sized to be "
                f"exact for {acc.exact_terms} terms; size it for K={seen} (or drop exact_terms)")

    def trace(self, a_codes, b_codes, i: int = 0, j: int = 0, **kw):
        """Every step of output (i, j): see :func:`hwsim.mac.trace`."""
        from .mac import trace

        return trace(a_codes, b_codes, self, i, j, **kw)


__all__ = ["IntAccumulator", "FixedAccumulator", "FloatAccumulator",
           "FusedMultiTermAccumulator", "Sequential", "Tree", "Chunked", "Tiles", "MacUnit",
           "kulisch", "fused_multi_term_preset", "FMT_PRESETS", "ROUNDINGS",
           "accumulator_from_dict", "order_from_dict", "IntFormat"]
