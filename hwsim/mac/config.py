"""Configuration of a MAC unit: reduction orders, K-tiling and :class:`MacUnit`.

Frozen, validated dataclasses with a JSON round trip; the semantics of every
field are stated in the class docstrings.  :mod:`hwsim.mac` runs them and
:mod:`hwsim.reference` is their exact oracle.  No compiled code is imported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import FormatError, HwsimError, UnsupportedModeError, check_int
from ..formats import FixedFormat, FloatFormat
from .accumulators import (
    ROUNDINGS,
    AccumulatorBase,
    FloatAccumulator,
    IntAccumulator,
    _choice,
    _fmt,
    _fmt_dict,
    _fmt_load,
    _overflow_for,
    accumulator_from_dict,
    is_int,
    sig_bits,
)
from .nan import nan_policy


def _grouped(acc) -> bool:
    """An IntAccumulator that takes its products in groups (fan_in > 1)."""
    return isinstance(acc, IntAccumulator) and acc.fan_in > 1


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
    summed sequentially from +0 by the unit's accumulator (an
    ``IntAccumulator(fan_in > 1)`` cuts each chunk into groups from the chunk's
    first term), then added (exact sum, one rounding / overflow check) into
    ``outer_accumulator`` (not an ``IntAccumulator(fan_in > 1)``: it takes
    sums), which holds the bias and gives the result.
    """

    chunk: int
    outer_accumulator: Any = None

    def __post_init__(self):
        check_int("chunk", self.chunk, 1, (1 << 31) - 1)
        outer = self.outer_accumulator
        if not isinstance(outer, AccumulatorBase):
            raise TypeError("outer_accumulator must be an IntAccumulator, FixedAccumulator or "
                            f"FloatAccumulator, got {outer!r}")
        if not outer.nestable:
            raise UnsupportedModeError(f"outer_accumulator cannot be a {type(outer).__name__}")
        if _grouped(outer):
            raise UnsupportedModeError(
                f"outer_accumulator=IntAccumulator(fan_in={outer.fan_in}): fan_in applies only "
                "where a register takes products; an outer accumulator takes chunk sums one "
                "at a time (use fan_in=1)")

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
    kind of accumulator as the unit's result register; for an
    ``IntAccumulator(fan_in > 1)`` the same register with ``fan_in=1``, as a
    psum adder takes one partial sum per add), which holds the bias.
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
            if not (isinstance(self.psum_adder, AccumulatorBase) and self.psum_adder.nestable):
                raise TypeError("psum_adder must be an Int/Fixed/FloatAccumulator, got "
                                f"{self.psum_adder!r}")
            if _grouped(self.psum_adder):
                raise UnsupportedModeError(
                    f"psum_adder=IntAccumulator(fan_in={self.psum_adder.fan_in}): fan_in "
                    "applies only where a register takes products; a psum adder takes partial "
                    "sums one at a time (use fan_in=1)")

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
@dataclass(frozen=True)
class MacUnit:
    """A multiply-accumulate unit: y = init + sum_k a_k * b_k, bit for bit.

    Parameters
    ----------
    a_fmt, b_fmt : formats of the operand codes: scalar float, int, fixed
        (integer formats take zero points at run time), or block formats (MX,
        NVFP4, BFP: the operands are then :class:`~hwsim.tensors.BlockTensor` with
        their blocks along K, and each operand value is its element times its
        block's factor, exactly; model the spec's per-block dot product with
        ``order=Chunked(block_size, outer)`` and an exact inner accumulator).
        The two operands' significands must fit the 64-bit product path:
        p_a + p_b <= 64 (integers count their bits).
    product : None (exact products) or a scalar format every product is
        rounded into (``product_rounding``, ``product_overflow``).
    accumulator : IntAccumulator | FixedAccumulator | FloatAccumulator |
        FusedMultiTermAccumulator.  Default (None): for integer / fixed
        products ``IntAccumulator(64, overflow="error")``, exact (K <=
        2^(63 - bits_a - bits_b) terms never overflow it; beyond that an
        overflow raises, never a wrong sum); for float products
        ``FloatAccumulator("float32")``.
    order : Sequential() | Tree(fan_in) | Chunked(chunk, outer_accumulator).
    tiling : None or Tiles(T, psum_format, ...).
    bias : "init" (the result register starts at the bias; with
        ``Tiles(mode="separate")`` the psum adder does) or "final" (added
        by the result register's accumulator after the last term).
    bias_format : None (bias values must be exact in the register that
        receives them) or a scalar format they must be exact in.
    nan : the NaN policy (:class:`~hwsim.mac.nan.NanPolicy` or a preset name:
        "canonical" (default: every NaN result is the format's canonical NaN),
        "riscv", "x86", "arm"); see :mod:`hwsim.mac.nan`.

    >>> m = MacUnit("int8", "int8", accumulator=IntAccumulator(32))
    >>> MacUnit.from_dict(m.to_dict()) == m
    True
    """

    a_fmt: Any
    b_fmt: Any
    product: Any = None
    accumulator: Any = None
    order: Any = field(default_factory=Sequential)
    tiling: Any = None
    bias: str = "init"
    bias_format: Any = None
    product_rounding: str = "rne"
    product_overflow: str | None = None
    nan: Any = None

    def __post_init__(self):
        object.__setattr__(self, "nan", nan_policy(self.nan))
        a = _fmt("a_fmt", self.a_fmt, scalar_only=False)
        b = _fmt("b_fmt", self.b_fmt, scalar_only=False)
        object.__setattr__(self, "a_fmt", a)
        object.__setattr__(self, "b_fmt", b)
        if sig_bits(a) + sig_bits(b) > 64:
            raise FormatError(
                f"a_fmt={a.name} and b_fmt={b.name}: significand bits {sig_bits(a)} + "
                f"{sig_bits(b)} exceed the 64-bit product path (p_a + p_b must be <= 64)")
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
        if self.accumulator is None:
            object.__setattr__(self, "accumulator", self._default_accumulator())
        acc = self.accumulator
        if not isinstance(acc, AccumulatorBase):
            raise TypeError("accumulator must be an IntAccumulator, FixedAccumulator, "
                            f"FloatAccumulator or FusedMultiTermAccumulator, got {acc!r}")
        if not isinstance(self.order, (Sequential, Tree, Chunked)):
            raise TypeError(f"order must be Sequential(), Tree(fan_in) or Chunked(...), "
                            f"got {self.order!r}")
        if self.tiling is not None and not isinstance(self.tiling, Tiles):
            raise TypeError(f"tiling must be None or Tiles(...), got {self.tiling!r}")
        object.__setattr__(self, "bias", _choice("bias", self.bias, ("init", "final")))
        if self.bias_format is not None:
            object.__setattr__(self, "bias_format", _fmt("bias_format", self.bias_format))
        if not acc.tree_order and isinstance(self.order, Tree):
            raise UnsupportedModeError(f"a {type(acc).__name__} sums its own groups; order=Tree "
                                       "is not defined for it (use Sequential or Chunked)")
        if _grouped(acc) and isinstance(self.order, Tree):
            raise UnsupportedModeError(
                f"accumulator=IntAccumulator(fan_in={acc.fan_in}) adds its products in groups of "
                "fan_in in k order; order=Tree is not defined for it (use Sequential or Chunked, "
                "or fan_in=1)")
        pf = self.product_grid_format
        units = [("accumulator", acc)]
        if isinstance(self.order, Chunked):
            units.append(("order.outer_accumulator", self.order.outer_accumulator))
        if self.tiling is not None and self.tiling.mode == "separate":
            units.append(("tiling.psum_adder", self.result_accumulator))
        for name, u in units:
            u.check_products(name, pf)

    def _default_accumulator(self):
        """An exact integer register for integer products, else binary32."""
        if self.product_grid_format.kind != "float":
            return IntAccumulator(64, overflow="error")
        return FloatAccumulator("float32")

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
        return self.top_accumulator.as_psum_adder()

    @property
    def has_integer_register(self) -> bool:
        """Any of the unit's accumulators holds raw integers (int / fixed)."""
        return any(u.integer for u in (self.accumulator, self.top_accumulator,
                                       self.result_accumulator))

    @property
    def result_accumulator(self):
        """The accumulator whose register holds the result."""
        return self.psum_adder or self.top_accumulator

    def to_dict(self) -> dict:
        d = dict(type="MacUnit", a_fmt=self.a_fmt.to_dict(), b_fmt=self.b_fmt.to_dict(),
                 product=_fmt_dict(self.product), product_rounding=self.product_rounding,
                 product_overflow=self.product_overflow,
                 accumulator=self.accumulator.to_dict(), order=self.order.to_dict(),
                 tiling=None if self.tiling is None else self.tiling.to_dict(),
                 bias=self.bias, bias_format=_fmt_dict(self.bias_format))
        if not self.nan.is_default:  # the default policy leaves older dicts unchanged
            d["nan"] = self.nan.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MacUnit":
        if not isinstance(d, dict) or d.get("type", "MacUnit") != "MacUnit":
            raise ValueError(f"not a MacUnit dict: {d!r}")
        try:
            return cls._from_dict(d)
        except HwsimError:
            raise
        except KeyError as e:  # a required key missing at any depth
            raise FormatError(f"MacUnit dict: missing key {e} in {d!r}") from None
        except (TypeError, ValueError, AttributeError) as e:  # a field of the wrong type
            raise FormatError(f"MacUnit dict: {e} (in {d!r})") from None

    @classmethod
    def _from_dict(cls, d: dict) -> "MacUnit":
        return cls(a_fmt=_fmt_load(d["a_fmt"]), b_fmt=_fmt_load(d["b_fmt"]),
                   product=_fmt_load(d.get("product")),
                   product_rounding=d.get("product_rounding", "rne"),
                   product_overflow=d.get("product_overflow"),
                   accumulator=accumulator_from_dict(d["accumulator"]),
                   order=order_from_dict(d.get("order", {"type": "Sequential"})),
                   tiling=None if d.get("tiling") is None else Tiles.from_dict(d["tiling"]),
                   bias=d.get("bias", "init"), bias_format=_fmt_load(d.get("bias_format")),
                   nan=d.get("nan"))

    def check_terms(self, k: int) -> None:
        """Refuse K beyond what a kulisch()-sized accumulator was built for."""
        acc = self.accumulator
        limit = acc.terms_limit()
        if limit is None:
            return
        seen = k
        if isinstance(self.order, Chunked):
            seen = min(seen, self.order.chunk)
        if self.tiling is not None and self.tiling.mode == "separate":
            seen = min(seen, self.tiling.T)
        if seen > limit:
            raise ValueError(
                f"K={k} puts {seen} terms into accumulator={acc!r}, which kulisch() sized to be "
                f"exact for {limit} terms; size it for K={seen} (or drop exact_terms)")


__all__ = ["Sequential", "Tree", "Chunked", "Tiles", "Order", "MacUnit", "order_from_dict"]
