"""Block format objects: OCP MX, NVFP4 and block floating point (BFP / MSFP).

A block format stores a tensor as element codes plus one scale per block of
``block_size`` consecutive values along one axis.  These are data only: the
encoder is :mod:`hwsim.codec.block`, the oracle :mod:`hwsim.reference.block`,
and the semantics (with their sources) are in docs/numerics.md, "Block formats".
Each kind owns its derived properties (``range_bits``, ``sig_bits``,
``lead_exp_span``, ``element_grid``...), so no code elsewhere tests ``kind``
to compute them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, check_int
from .catalogue import PRESETS, SCALAR_GRAMMAR, parse_scalar, scalar_from_dict
from .scalar import FixedFormat, FloatFormat, code_dtype

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


def _as_format(spec, what: str):
    """A scalar format object from an object, a dict or a scalar name."""
    if isinstance(spec, str):
        try:
            f = parse_scalar(spec)
        except (TypeError, ValueError) as e:
            raise FormatError(f"{what}: {e}") from None
        if f is None:
            raise FormatError(f"{what}: unknown scalar format name {spec!r}; valid: "
                              f"{sorted(PRESETS)} plus {SCALAR_GRAMMAR}")
        return f
    if isinstance(spec, dict):
        d = dict(spec)
        try:
            f = scalar_from_dict(d.pop("kind", None), d)
        except (TypeError, ValueError) as e:
            raise FormatError(f"{what}: {e}") from None
        if f is None:
            raise FormatError(f"{what}: needs a scalar format dict, got {spec!r}")
        return f
    return spec


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
        return code_dtype(self.bits)

    @property
    def scale_code_range(self) -> tuple[int, int, int | None]:
        """(lowest, highest scale code, NaN scale code or None)."""
        return 0, 255, 0xFF

    @property
    def scale_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def range_bits(self) -> tuple[int, int]:
        """(LSB exponent, exclusive top exponent) of element x E8M0 scale (2^-127..2^127)."""
        lo, hi = self.elem.range_bits
        return lo - 127, hi + 127

    @property
    def sig_bits(self) -> int:
        """Significand bits of element x scale (the element's: the scale is a power of 2)."""
        return self.elem.sig_bits

    @property
    def exp_min(self) -> int:
        return self.range_bits[0]

    @property
    def lead_exp_span(self) -> tuple[int, int, int]:
        """(precision, lowest, highest leading-bit exponent) of element x scale."""
        if self.is_int:
            p, lo, hi = 7, -6, 1          # |k| <= 128, value k / 64
        else:
            p, lo, hi = self.elem.lead_exp_span
        return p, lo - 127, hi + 127      # E8M0: 2^-127 .. 2^127

    @property
    def element_grid(self) -> tuple[int, int, int]:
        """(LSB exponent, exclusive top exponent, significant bits of the block factor)
        of an element relative to its block factor."""
        if self.is_int:
            return -6, 2, 1
        e = self.elem
        return e.emin - e.man_bits, e.emax + 1, 1

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

    @property
    def scale_code_range(self) -> tuple[int, int, int | None]:
        """(lowest, highest scale code, NaN scale code or None): positive E4M3 codes."""
        return 1, 0x7F, 0x7F

    @property
    def scale_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def range_bits(self) -> tuple[int, int]:
        """(LSB exponent, exclusive top exponent) of e2m1 x e4m3 x float32 tensor scale."""
        return -1 - 9 - 149, 3 + 9 + 128

    @property
    def sig_bits(self) -> int:
        """Significand bits of e2m1 x e4m3 x float32: 2 + 4 + 24."""
        return 2 + 4 + 24

    @property
    def exp_min(self) -> int:
        return self.range_bits[0]

    @property
    def lead_exp_span(self) -> tuple[int, int, int]:
        """(precision, lowest, highest leading-bit exponent) of element x block scale."""
        pe, le, he = E2M1.lead_exp_span
        ps, ls, hs = E4M3.lead_exp_span
        return pe + ps, le + ls, he + hs + 1   # significand product in [1, 4)

    @property
    def element_grid(self) -> tuple[int, int, int]:
        """(LSB exponent, exclusive top exponent, significant bits of the block factor)."""
        return E2M1.emin - E2M1.man_bits, E2M1.emax + 1, E4M3.precision

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
        return code_dtype(self.bits)

    @property
    def scale_code_range(self) -> tuple[int, int, int | None]:
        """(lowest, highest scale code, NaN scale code or None): biased exponents."""
        return 0, (1 << self.exp_bits) - 1, None

    @property
    def scale_dtype(self) -> np.dtype:
        return code_dtype(self.exp_bits)

    @property
    def range_bits(self) -> tuple[int, int]:
        """(LSB exponent, exclusive top exponent) of k * 2^(E - man_bits + 1)."""
        return -self.exp_bias - self.man_bits + 1, self.exp_bias + 4

    @property
    def sig_bits(self) -> int:
        return self.man_bits + 1

    @property
    def exp_min(self) -> int:
        return self.range_bits[0]

    @property
    def lead_exp_span(self) -> tuple[int, int, int]:
        """(precision, lowest, highest leading-bit exponent) of the values."""
        m = self.man_bits
        top = 1 << self.exp_bits
        lo = -(self.exp_bias + m - 1)
        hi = m + (top - 1 - self.exp_bias - m + 1)
        return m, lo, hi

    @property
    def element_grid(self) -> tuple[int, int, int]:
        """(LSB exponent, exclusive top exponent, significant bits of the block factor)."""
        return -(self.man_bits - 1), 2, 1

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
_FIXED_NAMES = {"mxfp8_e4m3": MXFP8_E4M3, "mxfp8_e5m2": MXFP8_E5M2, "mxfp6_e3m2": MXFP6_E3M2,
                "mxfp6_e2m3": MXFP6_E2M3, "mxfp4": MXFP4, "mxint8": MXINT8, "nvfp4": NVFP4,
                "msfp12": MSFP12, "msfp16": MSFP16}


def parse_block(name: str):
    """The MX / NVFP4 / BFP format called ``name``, or None."""
    s = name.strip().lower()
    if s in _FIXED_NAMES:
        return _FIXED_NAMES[s]
    m = _RE_BFP.match(s)
    if m:
        return BFPFormat(int(m.group(1)), block_size=int(m.group(2)))
    return None


def block_from_dict(kind: str, d: dict):
    """Inverse of ``to_dict()`` for the MX / NVFP4 / BFP kinds (None for another kind)."""
    d = dict(d)
    if kind == "mx":
        elem = d.pop("elem")
        scale = d.pop("scale", E8M0.to_dict())
        return MXFormat(_as_format(elem, "MXFormat elem"), scale=_as_format(scale, "MXFormat scale"),
                        **d)
    cls = {"nvfp4": NVFP4Format, "bfp": BFPFormat}.get(kind)
    return None if cls is None else cls(**d)
