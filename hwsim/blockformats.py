"""Block formats: OCP MX, NVFP4 and classic block floating point (BFP / MSFP).

A block format stores a tensor as element codes plus one scale per block of
``block_size`` consecutive values along one axis.  :func:`encode` returns a
:class:`BlockTensor` (element codes, scale codes, layout); its ``values()``
(or ``hwsim.decode(bt)``) gives the float64 values, exactly.  Codebook and
piecewise-linear formats (NF4, PWLQ) live in :mod:`hwsim.codebook` and return
the same kind of object.

Semantics (numerics.md section 4; every choice below is tested against the
pure-Python oracle ``hwsim._ref_block``):

**MX** (OCP Microscaling Formats v1.0).  Per block, ``shared_exp =
floor(log2(amax)) - emax_elem`` with ``emax_elem`` = floor(log2(element
max)): E5M2 15, E4M3 8, E3M2 4, E2M3 2, E2M1 2, INT8 0.  It is computed
exactly from the exponents of the inputs.  ``shared_exp > 127`` gives the
NaN scale (E8M0 code 0xFF); ``< -127`` clamps to -127 (code 0); a block of
zeros gets -127.  Elements are ``V / 2^shared_exp`` (exact: only the exponent
changes) rounded once into the element format with the element rounding mode
(default ``rne``), saturating at the element max.  MXINT8 elements are 8-bit
two's complement with an implicit 2^-6 (max 127/64); the most negative code
-128 is unused by default (``int8_min=-127``, as the OCP reference emulation
does) and allowed with ``int8_min=-128``.  NaN / Inf: OCP MX v1.0 says a NaN
scale makes every element of the block NaN and writes its conversion for
finite inputs; hwsim gives a block holding any NaN or +-Inf the NaN scale and
element codes 0 (its decoded values are all NaN), which is what
microsoft/microxcaling's ``floor(log2(max|V|))`` produces for such a block.

microxcaling compatibility: with ``rounding="rna"`` the results match
microsoft/microxcaling's default (``round="nearest"``, ``floor(|x| + 0.5)``
on the scaled mantissa: ties away from zero, its C++ ``rd_away``).  Facts
checked in its source (mx/mx_ops.py, mx/elemwise_ops.py, mx/cpp/): the
scale is ``floor(log2(max|V|)) - emax_elem``, set to NaN above 127 and
clamped to -127 below; elements are ``V / 2^shared_exp`` rounded at the
element's own exponent (clipped to the element emin, so subnormals are kept)
then clamped to +-max_norm; MXINT8 uses 2^6 scaling and clamps to +-127/64.
``tests/test_block_mx.py`` re-states that algorithm in float32 numpy and
checks bit equality with ``rounding="rna"`` for all six OCP element types,
ties and saturation included.  Known differences: (1) its PyTorch path
takes ``floor(torch.log2(amax))`` in float32, and a float32 log2 rounds
log2(amax) up to k for amax just below 2^k (numpy's float32 log2 of the largest float32 below 8 is 3.0), so its
shared exponent can be one higher there; hwsim uses the exact exponent, as
the spec's floor(log2) and its own C++ path (which reads the exponent bits)
do; (2) an all-zero block gets shared_exp -126 - emax there (it adds
FP32_MIN_NORMAL before the log2; INT8: -126) and -127 here; its elements are
zero either way.

**NVFP4** (NVIDIA).  E2M1 elements, blocks of 16, a float8_e4m3fn block
scale (non-negative code) and one FP32 tensor scale ``ts``; value =
e2m1 * e4m3 * ts.  Default ``ts = fl32(fl32(amax_tensor) / 2688)`` (2688 =
6 * 448) over the finite elements, raised to 2^-117 when smaller, 1.0 for an
all-zero tensor; or pass ``tensor_scale=`` (a float32 value in
[2^-117, FLT_MAX]).  Block scale ``q = amax_block / (6 * ts)``; q == 0 gives
1.0; q is clamped to [2^-9, 448] and rounded to E4M3 (ties to even).
Elements ``V / (s * ts)`` are rounded to E2M1 with the element mode
(default ``rne``), saturating at +-6.  How the divisions are done is the
``arithmetic`` parameter:

* ``"float32"`` (default): inputs rounded to float32, then ``6 * ts``,
  ``amax / (6 ts)``, ``s * ts`` and ``V / (s ts)`` each rounded to float32
  (round to nearest even), then the quotient rounded to E2M1: this is NVIDIA
  TensorRT Model Optimizer's reference (``NVFP4QTensor``:
  ``per_block_amax / (6.0 * weights_scaling_factor_2)``, zero set to 1.0,
  clamp at 2^-9, cast to float8_e4m3fn; ``input / (scale.float() * wsf2)``,
  then a ties-to-even E2M1 table).  The clamp at 448 is its static path's
  (with the default ts, q never exceeds 448 by more than float32 rounding);
* ``"exact"``: the quotients are exact rationals, each rounded once.

A block holding NaN or Inf gets the E4M3 NaN scale 0x7F and element codes 0.

**BFP** (block floating point; MSFP of Darvish Rouhani et al., NeurIPS 2020).
Shared exponent E = the largest floor(log2|x|) in the block (Inf counts as
above the range, a block of zeros takes the smallest), clamped to
[-bias, bias + 1] with bias = 2^(exp_bits-1) - 1, stored biased.  Elements
``k = |x| * 2^(man_bits - 1 - E)`` are rounded to integers with the mode
(default ``rne``) and saturate at 2^man_bits - 1 (two's complement: down to
-2^man_bits); value = +-k * 2^(E - man_bits + 1).  Codes: sign-magnitude
(sign bit above the man_bits magnitude bits, kept when k = 0) or the
(man_bits + 1)-bit two's complement pattern.  NaN raises NaNInputError.

**Layout.**  ``axis`` (default -1) is the block axis; ``axis=None`` flattens
the tensor (C order) first.  The last block along the axis may be partial:
it is treated as padded with zeros, which never changes amax, and the padding
is not stored: ``codes.shape == x.shape`` and ``scales.shape`` is x's shape
with the axis length replaced by ``ceil(n / block_size)``.  Stochastic
rounding (``rounding="sr"``, ``sr_bits``, ``seed``, ``index0``) indexes
elements in the order of the tensor with the block axis moved last.

>>> import numpy as np, hwsim
>>> bt = hwsim.encode(np.array([6.0, -3.0, 0.5, 1.0]), "mxfp4")
>>> bt.scales, bt.codes, bt.values()
(array([127], dtype=uint8), array([ 7, 13,  1,  2], dtype=uint8), array([ 6. , -3. ,  0.5,  1. ]))
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import FormatError, NaNInputError, check_int
from .formats import PRESETS, FixedFormat, FloatFormat
from .modes import Flags, RoundingMode
from ._blocktensor import BlockTensor, _blocks_as_rows, _layout, _restore, index_str

#: Block and codebook format names understood by :func:`hwsim.format`.
NAMES = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8",
         "nvfp4", "nf4", "msfp12", "msfp16", "bfp<m>_b<block>", "pwlq<b>"]

E8M0 = PRESETS["float8_e8m0fnu"]
E4M3 = PRESETS["float8_e4m3fn"]
E2M1 = PRESETS["float4_e2m1fn"]
MXINT8_ELEM = FixedFormat(8, 6, name="mxint8_elem")  #: two's complement, implicit 2^-6

_MX_NAMES = {
    "mxfp8_e4m3": "float8_e4m3fn", "mxfp8_e5m2": "float8_e5m2",
    "mxfp6_e3m2": "float6_e3m2fn", "mxfp6_e2m3": "float6_e2m3fn",
    "mxfp4": "float4_e2m1fn", "mxint8": None,
}
_MAX_BLOCK = 1 << 24


def _code_dtype(bits: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.dtype(dt).itemsize * 8:
            return np.dtype(dt)
    raise FormatError(f"element bits must be <= 64, got {bits}")


def _as_format(spec, what: str):
    from .formats import format as parse_format

    try:
        return parse_format(spec)
    except (TypeError, ValueError) as e:
        raise FormatError(f"{what}: {e}") from None


# ---------------------------------------------------------------------------
# Format objects
# ---------------------------------------------------------------------------
#: Short element names of OCP MX v1.0 (section 5.3): E2M1 / E2M3 / E3M2 are the finite FP4 /
#: FP6 types and E4M3 the OFP8 one, not the IEEE-like layouts those letters alone parse to.
_OCP_ELEMENTS = {"e2m1": "float4_e2m1fn", "e2m3": "float6_e2m3fn", "e3m2": "float6_e3m2fn",
                 "e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2"}


@dataclass(frozen=True)
class MXFormat:
    """OCP MX block format: one E8M0 scale per block of ``block_size`` elements.

    Parameters
    ----------
    elem : FloatFormat, name, or ``"mxint8"``
        Element format: any signed FloatFormat of at most 16 bits (the OCP ones
        are float8_e4m3fn, float8_e5m2, float6_e3m2fn, float6_e2m3fn,
        float4_e2m1fn), or the MXINT8 element ``FixedFormat(8, 6)``.
    block_size : int
        Elements per scale, 1..2^24 (OCP: 32).
    scale : FloatFormat or name
        Scale format; only float8_e8m0fnu is defined by OCP MX v1.0.
    int8_min : int
        MXINT8 only: -127 (default: -128 unused, as the OCP reference
        emulation) or -128.
    name : str, optional
        Display name (``mxfp8_e4m3``...); not part of equality.
    """

    elem: Any
    block_size: int = 32
    scale: Any = E8M0
    int8_min: int = -127
    name: str | None = field(default=None, compare=False)

    kind = "mx"

    def __post_init__(self) -> None:
        elem = self.elem
        if isinstance(elem, str) and elem.strip().lower() in ("mxint8", "int8"):
            elem = MXINT8_ELEM
        if isinstance(elem, str) and elem.strip().lower() in _OCP_ELEMENTS:
            elem = _OCP_ELEMENTS[elem.strip().lower()]  # OCP MX v1.0 element names
        elem = _as_format(elem, "MXFormat elem")
        if isinstance(elem, FixedFormat):
            if (elem.bits, elem.frac_bits, elem.signed) != (8, 6, True):
                raise FormatError(f"MXFormat elem: integer elements must be MXINT8 "
                                  f"(FixedFormat(8, 6)), got {elem.name}")
            elem = MXINT8_ELEM
        elif isinstance(elem, FloatFormat):
            if not elem.signed or elem.specials == "e8m0" or elem.bits > 16:
                raise FormatError(f"MXFormat elem must be a signed float format of at most "
                                  f"16 bits, got {elem.name}")
        else:
            raise FormatError(f"MXFormat elem must be a float format or 'mxint8', got {elem!r}")
        object.__setattr__(self, "elem", elem)
        scale = _as_format(self.scale, "MXFormat scale")
        if scale != E8M0:
            raise FormatError(f"MXFormat scale must be float8_e8m0fnu (OCP MX v1.0), got "
                              f"{getattr(scale, 'name', scale)!r}")
        object.__setattr__(self, "scale", E8M0)
        check_int("block_size", self.block_size, 1, _MAX_BLOCK)
        if self.int8_min not in (-127, -128) or isinstance(self.int8_min, bool):
            raise FormatError(f"int8_min must be -127 or -128, got {self.int8_min!r}")
        object.__setattr__(self, "int8_min", int(self.int8_min))
        object.__setattr__(self, "block_size", int(self.block_size))
        if self.name is None:
            object.__setattr__(self, "name", self._default_name())

    def _default_name(self) -> str:
        for n, e in _MX_NAMES.items():
            ef = MXINT8_ELEM if e is None else PRESETS[e]
            if ef == self.elem and self.block_size == 32 and self.int8_min == -127:
                return n
        n = f"mx_{self.elem.name}_b{self.block_size}"
        return n + ("_min128" if self.int8_min == -128 and self.is_int else "")

    @property
    def is_int(self) -> bool:
        """True for MXINT8."""
        return isinstance(self.elem, FixedFormat)

    @property
    def bits(self) -> int:
        """Bits per element code (the scale is shared by the block)."""
        return self.elem.bits

    @property
    def emax_elem(self) -> int:
        """floor(log2(largest element)): E5M2 15, E4M3 8, E3M2 4, E2M3 2, E2M1 2, INT8 0."""
        if self.is_int:
            return 0
        return self.elem.emax

    @property
    def code_dtype(self) -> np.dtype:
        return _code_dtype(self.bits)

    def to_dict(self) -> dict:
        return dict(kind="mx", elem=self.elem.to_dict(), block_size=self.block_size,
                    scale=self.scale.to_dict(), int8_min=self.int8_min, name=self.name)


@dataclass(frozen=True)
class NVFP4Format:
    """NVIDIA NVFP4: E2M1 elements, float8_e4m3fn block scales, FP32 tensor scale.

    Parameters
    ----------
    block_size : int
        Elements per block scale (NVIDIA: 16).
    name : str, optional
    """

    block_size: int = 16
    name: str | None = field(default=None, compare=False)

    kind = "nvfp4"
    elem = E2M1
    scale = E4M3

    def __post_init__(self) -> None:
        check_int("block_size", self.block_size, 1, _MAX_BLOCK)
        object.__setattr__(self, "block_size", int(self.block_size))
        if self.name is None:
            object.__setattr__(self, "name", "nvfp4" if self.block_size == 16
                               else f"nvfp4_b{self.block_size}")

    @property
    def bits(self) -> int:
        return 4

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    def to_dict(self) -> dict:
        return dict(kind="nvfp4", block_size=self.block_size, name=self.name)


_MANTISSA = ("sign_magnitude", "twos_complement")


@dataclass(frozen=True)
class BFPFormat:
    """Block floating point: one shared exponent per block, integer mantissas.

    Parameters
    ----------
    man_bits : int
        Magnitude bits m of each element (1..31); an element code has m + 1
        bits (sign + m, or m + 1 in two's complement).  MSFP12: 3, MSFP16: 7.
    exp_bits : int
        Width of the stored shared exponent (1..10, bias 2^(exp_bits-1) - 1).
    block_size : int
        Elements per shared exponent (MSFP: 16).
    mantissa : 'sign_magnitude' | 'twos_complement'
    name : str, optional
    """

    man_bits: int
    exp_bits: int = 8
    block_size: int = 16
    mantissa: str = "sign_magnitude"
    name: str | None = field(default=None, compare=False)

    kind = "bfp"

    def __post_init__(self) -> None:
        check_int("man_bits", self.man_bits, 1, 31)
        check_int("exp_bits", self.exp_bits, 1, 10)
        check_int("block_size", self.block_size, 1, _MAX_BLOCK)
        if self.mantissa not in _MANTISSA:
            raise FormatError(f"mantissa must be one of {_MANTISSA}, got {self.mantissa!r}")
        for k in ("man_bits", "exp_bits", "block_size"):
            object.__setattr__(self, k, int(getattr(self, k)))
        if self.name is None:
            n = f"bfp{self.man_bits}_b{self.block_size}"
            if (self.exp_bits, self.block_size, self.mantissa) == (8, 16, "sign_magnitude") \
                    and self.man_bits in (3, 7):
                n = "msfp12" if self.man_bits == 3 else "msfp16"
            else:
                if self.exp_bits != 8:
                    n += f"_e{self.exp_bits}"
                if self.mantissa == "twos_complement":
                    n += "_tc"
            object.__setattr__(self, "name", n)

    @property
    def bits(self) -> int:
        """Bits per element code: man_bits + 1."""
        return self.man_bits + 1

    @property
    def exp_bias(self) -> int:
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def code_dtype(self) -> np.dtype:
        return _code_dtype(self.bits)

    def to_dict(self) -> dict:
        return dict(kind="bfp", man_bits=self.man_bits, exp_bits=self.exp_bits,
                    block_size=self.block_size, mantissa=self.mantissa, name=self.name)


MXFP8_E4M3 = MXFormat(E4M3)
MXFP8_E5M2 = MXFormat(PRESETS["float8_e5m2"])
MXFP6_E3M2 = MXFormat(PRESETS["float6_e3m2fn"])
MXFP6_E2M3 = MXFormat(PRESETS["float6_e2m3fn"])
MXFP4 = MXFormat(E2M1)
MXINT8 = MXFormat(MXINT8_ELEM)
NVFP4 = NVFP4Format()
MSFP12 = BFPFormat(3)
MSFP16 = BFPFormat(7)

_RE_BFP = re.compile(r"^bfp(\d+)_b(\d+)$")
_RE_PWLQ = re.compile(r"^pwlq(\d+)$")


def parse(name: str):
    """The block / codebook format called ``name``, or None."""
    from . import codebook

    s = name.strip().lower()
    fixed = {"mxfp8_e4m3": MXFP8_E4M3, "mxfp8_e5m2": MXFP8_E5M2, "mxfp6_e3m2": MXFP6_E3M2,
             "mxfp6_e2m3": MXFP6_E2M3, "mxfp4": MXFP4, "mxint8": MXINT8, "nvfp4": NVFP4,
             "msfp12": MSFP12, "msfp16": MSFP16, "nf4": codebook.NF4}
    if s in fixed:
        return fixed[s]
    m = _RE_BFP.match(s)
    if m:
        return BFPFormat(int(m.group(1)), block_size=int(m.group(2)))
    m = _RE_PWLQ.match(s)
    if m:
        b = int(m.group(1))
        return codebook.PWLQFormat(b, b)
    return None


def from_dict(kind: str, d: dict):
    """Inverse of ``to_dict()`` for the block and codebook kinds."""
    from . import codebook

    d = dict(d)
    try:
        if kind == "mx":
            from .formats import from_dict as fmt_from_dict

            elem = d.pop("elem")
            scale = d.pop("scale", E8M0.to_dict())
            return MXFormat(fmt_from_dict(elem) if isinstance(elem, dict) else elem,
                            scale=fmt_from_dict(scale) if isinstance(scale, dict) else scale, **d)
        if kind == "nvfp4":
            return NVFP4Format(**d)
        if kind == "bfp":
            return BFPFormat(**d)
        if kind == "codebook":
            return codebook.CodebookFormat(**d)
        if kind == "pwlq":
            return codebook.PWLQFormat(**d)
    except (TypeError, KeyError) as e:
        raise FormatError(f"bad {kind!r} format dict {d!r}: {e}") from None
    raise FormatError(f"unknown format kind {kind!r}")


def _opts(rounding, sr_bits, seed, index0) -> dict:
    mode = RoundingMode.parse(rounding)
    if mode == RoundingMode.SR:
        if isinstance(sr_bits, bool) or not isinstance(sr_bits, (int, np.integer)) \
                or not 1 <= sr_bits <= 32:
            raise ValueError(f"rounding='sr' needs sr_bits, an integer in [1, 32]; got {sr_bits!r}")
    elif sr_bits is not None:
        raise ValueError("sr_bits applies to rounding='sr' only")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    if isinstance(index0, bool) or not isinstance(index0, (int, np.integer)) or index0 < 0:
        raise ValueError(f"index0 must be an integer >= 0, got {index0!r}")
    return dict(rounding=int(mode), sr_bits=int(sr_bits or 0), seed=int(seed), index0=int(index0))


def default_tensor_scale(x, arithmetic: str = "float32") -> float:
    """NVFP4's default FP32 tensor scale: ``fl32(amax / 2688)`` over the finite
    values (float32 division of the float32 amax for ``arithmetic="float32"``,
    the exact quotient rounded once to float32 for ``"exact"``), at least
    2^-117, and 1.0 when every finite value is zero."""
    from .api import as_float_array

    xa = as_float_array(x)
    if arithmetic == "float32":
        with np.errstate(over="ignore"):
            xa = xa.astype(np.float32)
    a = np.abs(xa[np.isfinite(xa)])
    amax = float(a.max()) if a.size else 0.0
    if amax == 0.0:
        return 1.0
    if arithmetic == "float32":
        ts = float(np.float32(amax) / np.float32(2688.0))
    else:
        from fractions import Fraction

        ts = _fraction_to_f32(Fraction(amax) / 2688)
    return max(ts, 2.0 ** -117)


def _fraction_to_f32(q) -> float:
    """Positive rational q (>= 2^-126) rounded to float32, ties to even."""
    from fractions import Fraction

    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    k = round(q / Fraction(2) ** (e - 23))  # Fraction.__round__: ties to even
    return float(np.float32(math.ldexp(k, e - 23)))


def _check_tensor_scale(ts) -> float:
    try:
        v = float(ts)
    except (TypeError, ValueError):
        raise ValueError(f"tensor_scale must be a float32 value in [2**-117, 3.4028235e38], "
                         f"got {ts!r}") from None
    if not (2.0 ** -117 <= v <= float(np.finfo(np.float32).max)) or float(np.float32(v)) != v:
        raise ValueError(f"tensor_scale must be a float32 value in [2**-117, 3.4028235e38] "
                         f"(use np.float32(...)), got {ts!r}")
    return v


def _check_no_nan(xa: np.ndarray, fmt) -> None:
    bad = np.isnan(xa)
    if bad.any():
        raise NaNInputError(f"{index_str(int(np.argmax(bad)), xa.shape)} is NaN; {fmt.name} "
                            f"has no NaN encoding")


def _given_scales(scales, fmt, xa, ax, x2, moved) -> np.ndarray:
    """Validate caller scale codes; return them in the kernel layout (rows, nblocks)."""
    n = moved[-1]
    nb = -(-n // fmt.block_size)
    want = (nb,) if ax is None else xa.shape[:ax] + (nb,) + xa.shape[ax + 1:]
    s = np.asarray(scales)
    if s.shape != want:
        raise ValueError(f"scales must have shape {want} (the input's with the block axis "
                         f"length replaced by the {nb} blocks), got {s.shape}")
    if s.dtype.kind not in "ui":
        raise TypeError(f"scales must be integer codes, got dtype {s.dtype}")
    if fmt.kind == "mx":
        lo, hi, nan = 0, 255, 0xFF
    elif fmt.kind == "nvfp4":
        lo, hi, nan = 1, 0x7F, 0x7F
    else:
        lo, hi, nan = 0, (1 << fmt.exp_bits) - 1, None
    if s.size and (int(s.min()) < lo or int(s.max()) > hi):
        raise ValueError(f"scales for {fmt.name} must be codes in [{lo}, {hi}], got values in "
                         f"[{int(s.min())}, {int(s.max())}]")
    s2 = (s.reshape(1, -1) if ax is None else np.moveaxis(s, ax, -1).reshape(x2.shape[0], nb))
    s2 = s2.astype(np.int64)
    if nan is not None and x2.size:
        per_elem = np.repeat(s2, fmt.block_size, axis=1)[:, :n]
        bad = np.isnan(x2) & (per_elem != nan)
        if bad.any():
            flat = int(np.argmax(bad))
            idx = list(np.unravel_index(flat, moved))
            if ax is not None:
                idx.insert(ax, idx.pop())
                where = f"x[{', '.join(map(str, idx))}]"
            else:
                where = index_str(flat, xa.shape)
            raise NaNInputError(f"{where} is NaN in a block whose given scale is not NaN; "
                                f"{fmt.name} elements have no NaN")
    return s2


def encode(x, fmt, rounding="rne", *, axis="auto", sr_bits=None, seed=0, index0=0,
           tensor_scale=None, arithmetic="float32", scales=None, threads=None,
           **kw) -> BlockTensor:
    """Quantize ``x`` into a block or codebook format.

    Parameters
    ----------
    x : array_like of float32 / float64
    fmt : MXFormat | NVFP4Format | BFPFormat | CodebookFormat | PWLQFormat or name
    rounding : str
        Element rounding mode ('rne' default; 'rna' matches microxcaling's MX
        default; 'rtz', 'rup', 'rdn', 'rto', 'sr').  Codebook and PWLQ formats
        take 'rne' only (see :mod:`hwsim.codebook`).
    axis : int, None or 'auto'
        Block axis; None flattens the tensor first; 'auto' (default) is -1,
        except for PWLQ where it means one (m, p) per tensor.
    sr_bits, seed, index0 : stochastic rounding (see :func:`hwsim.encode`).
    tensor_scale : float, optional
        NVFP4 only: the FP32 tensor scale (default :func:`default_tensor_scale`).
    arithmetic : 'float32' | 'exact'
        NVFP4 only: how the scale and element divisions are done (module doc).
    scales : array of int, optional
        MX / NVFP4 / BFP: the caller's scale codes (shaped like the result's
        ``scales``: E8M0 codes 0..255, E4M3 codes 0x01..0x7F, or biased
        exponents 0..2^exp_bits - 1) used instead of the computed ones; the
        elements are then rounded against them (saturating).  A NaN scale
        (0xFF / 0x7F) gives element codes 0; otherwise a NaN element raises
        NaNInputError and +-Inf saturates.
    threads : int, optional
        Worker threads (never changes the result).

    Returns
    -------
    BlockTensor (PWLQTensor for PWLQ formats)
    """
    from .formats import format as parse_format

    fmt = parse_format(fmt)
    if fmt.kind in ("codebook", "pwlq"):
        from . import codebook

        if sr_bits is not None or tensor_scale is not None or arithmetic != "float32" \
                or scales is not None:
            raise TypeError(f"{fmt.name}: sr_bits, tensor_scale, arithmetic and scales do not "
                            f"apply")
        return codebook.encode(x, fmt, rounding=rounding, axis=axis, threads=threads, **kw)
    if kw:
        raise TypeError(f"encode() got unexpected keyword(s) {sorted(kw)} for {fmt.name}")
    if fmt.kind not in ("mx", "nvfp4", "bfp"):
        raise FormatError(f"{fmt.name!r} is not a block format")
    if fmt.kind != "nvfp4" and (tensor_scale is not None or arithmetic != "float32"):
        raise TypeError(f"tensor_scale and arithmetic apply to NVFP4 only, not {fmt.name}")
    from . import _native
    from .api import _threads

    opts = _opts(rounding, sr_bits, seed, index0)
    nt = _threads(threads)
    xa, ax, x2, moved = _layout(x, -1 if axis == "auto" else axis)
    bs = fmt.block_size
    xr = _blocks_as_rows(x2, bs)
    given = None
    if scales is not None:
        given = _given_scales(scales, fmt, xa, ax, x2, moved).reshape(xr.shape[0], -1)
    ts = None
    if fmt.kind == "mx":
        int_spec = (8, 6, fmt.int8_min) if fmt.is_int else None
        codes, scales, flags = _native.mx_quantize(
            xr, bs, None if fmt.is_int else fmt.elem, fmt.emax_elem, int_spec, fmt.code_dtype,
            opts, nt, given)
    elif fmt.kind == "nvfp4":
        if arithmetic not in ("float32", "exact"):
            raise ValueError(f"arithmetic must be 'float32' or 'exact', got {arithmetic!r}")
        ts = default_tensor_scale(xa, arithmetic) if tensor_scale is None \
            else _check_tensor_scale(tensor_scale)
        codes, scales, flags = _native.nvfp4_quantize(xr, bs, ts, arithmetic == "exact", opts, nt,
                                                      given)
    else:
        _check_no_nan(xa, fmt)
        codes, scales, flags = _native.bfp_quantize(
            xr, bs, fmt.man_bits, fmt.exp_bits, fmt.mantissa == "twos_complement",
            fmt.code_dtype, opts, nt, given)
        scales = scales.astype(_code_dtype(fmt.exp_bits))
    n = moved[-1]
    nb = -(-n // bs)
    codes = _restore(codes, moved, ax, xa.shape)
    scales = _restore(scales, moved[:-1] + (nb,), ax)
    return BlockTensor(codes, scales, fmt, ax, xa.shape, ts, Flags(flags))


def decode(obj, fmt=None, *, scales=None, axis=-1, tensor_scale=None, **kw) -> np.ndarray:
    """float64 values of a :class:`BlockTensor` (or PWLQTensor), or of raw
    element ``codes`` with their ``scales`` (and NVFP4 ``tensor_scale``)."""
    from .formats import format as parse_format

    if hasattr(obj, "values") and hasattr(obj, "fmt") and callable(obj.values):
        if fmt is not None and parse_format(fmt) != obj.fmt:
            raise ValueError(f"fmt {parse_format(fmt).name} does not match the tensor's "
                             f"{obj.fmt.name}")
        if scales is not None or tensor_scale is not None or kw:
            raise TypeError("decode(BlockTensor) takes no scales / tensor_scale / keywords")
        return obj.values()
    if fmt is None:
        raise TypeError("decode(codes, fmt, scales=...) needs the format")
    fmt = parse_format(fmt)
    if kw:
        raise TypeError(f"decode() got unexpected keyword(s) {sorted(kw)} for {fmt.name}")
    if scales is None:
        raise TypeError(f"decoding raw {fmt.name} codes needs scales=")
    if fmt.kind == "pwlq":
        raise TypeError("PWLQ codes decode from their PWLQTensor (codes alone lack m and p)")
    codes = np.asarray(codes_check(obj, fmt))
    sc = np.asarray(scales)
    ax = None if axis is None else int(axis) % max(codes.ndim, 1)
    ts = None
    if fmt.kind == "nvfp4":
        if tensor_scale is None:
            raise TypeError("decoding NVFP4 codes needs tensor_scale=")
        ts = _check_tensor_scale(tensor_scale)
    sdt = np.float32 if fmt.kind == "codebook" else _code_dtype(
        fmt.exp_bits if fmt.kind == "bfp" else 8)
    if fmt.kind != "codebook" and (sc.dtype.kind not in "ui" or (sc.size and sc.min() < 0)):
        raise TypeError(f"scales must be non-negative integer codes, got dtype {sc.dtype}")
    return BlockTensor(codes.astype(fmt.code_dtype), sc.astype(sdt), fmt, ax, codes.shape,
                       ts).values()


def codes_check(codes, fmt) -> np.ndarray:
    """Validate an element-code array for ``fmt`` (integer, below 2**bits)."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << fmt.bits)):
        raise ValueError(f"codes must be in [0, {(1 << fmt.bits) - 1}] for {fmt.name}")
    return c


def quantize(x, fmt, rounding="rne", **kw) -> np.ndarray:
    """``encode(x, fmt, ...).values()``: the float64 values the hardware holds."""
    return encode(x, fmt, rounding, **kw).values()


__all__ = ["NAMES", "MXFormat", "NVFP4Format", "BFPFormat", "BlockTensor", "parse", "from_dict",
           "encode", "decode", "quantize", "default_tensor_scale", "MXFP8_E4M3", "MXFP8_E5M2",
           "MXFP6_E3M2", "MXFP6_E2M3", "MXFP4", "MXINT8", "NVFP4", "MSFP12", "MSFP16",
           "MXINT8_ELEM"]
