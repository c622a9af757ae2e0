"""Codebook format objects (NF4 and user codebooks) and piecewise linear (PWLQ) formats.

Data only: the encoder is :mod:`hwsim.codec.codebook`, the oracle
:mod:`hwsim.reference.block`; the semantics and their sources are in
docs/numerics.md, "Codebooks and PWLQ".
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..errors import FormatError, check_int

#: NF4 code values, index 0..15 (QLoRA / bitsandbytes; float32 values).
NF4_VALUES = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)


@dataclass(frozen=True)
class CodebookFormat:
    """Blockwise-absmax codebook format.

    Parameters
    ----------
    values : sequence of float
        Strictly increasing finite values in [-1, 1]; code i means values[i].
        2..256 entries.
    block_size : int
        Values per absmax (NF4: 64).
    name : str, optional
    """

    values: tuple
    block_size: int = 64
    name: str | None = field(default=None, compare=False)

    kind = "codebook"

    def __post_init__(self) -> None:
        try:
            vals = tuple(float(v) for v in self.values)
        except (TypeError, ValueError):
            raise FormatError(f"values must be a sequence of floats, got {self.values!r}") from None
        if not 2 <= len(vals) <= 256:
            raise FormatError(f"values must have 2..256 entries, got {len(vals)}")
        for a, b in zip(vals, vals[1:]):
            if not a < b:
                raise FormatError(f"values must be strictly increasing, got {a} before {b}")
        if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in vals):
            raise FormatError(f"values must be finite and in [-1, 1], got {vals}")
        object.__setattr__(self, "values", vals)
        check_int("block_size", self.block_size, 1, 1 << 24)
        object.__setattr__(self, "block_size", int(self.block_size))
        if self.name is None:
            object.__setattr__(self, "name", f"codebook{len(vals)}_b{self.block_size}")

    @property
    def bits(self) -> int:
        """Bits per code: ceil(log2(len(values)))."""
        return max(1, (len(self.values) - 1).bit_length())

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    def thresholds(self) -> np.ndarray:
        """t_i = the smallest float64 above the exact midpoint of values i, i+1:
        a float64 y encodes to #{i : y >= t_i} (ties at a midpoint go low)."""
        return _thresholds(self.values)

    @property
    def scale_dtype(self) -> np.dtype:
        """Scales are float32 absmax values."""
        return np.dtype(np.float32)

    @property
    def lead_exp_span(self) -> tuple[int, int, int]:
        """(precision, lowest, highest leading-bit exponent) of value x float32 absmax."""
        vals = [v for v in self.values if v != 0.0]
        pv = max(_value_sig_bits(v) for v in vals)
        pf, lf, hf = 24, -149, 127     # float32 absmax, subnormals included
        # decode is the float64 product value * absmax (exact for NF4's float32 values)
        return (min(pv + pf, 53), min(_lead_exp(v) for v in vals) + lf,
                max(_lead_exp(v) for v in vals) + hf + 1)

    @property
    def element_grid(self) -> tuple[int, int, int]:
        """(LSB exponent, exclusive top exponent, significant bits of the float32 absmax)."""
        vals = [v for v in self.values if v != 0.0]
        lsb = min(_lead_exp(v) - _value_sig_bits(v) + 1 for v in vals)
        return lsb, 1, 24

    def to_dict(self) -> dict:
        return dict(kind="codebook", values=list(self.values), block_size=self.block_size,
                    name=self.name)


def _value_sig_bits(x: float) -> int:
    """Significant bits of a finite float64 value (0 for zero)."""
    if x == 0.0:
        return 0
    m, _ = math.frexp(abs(x))
    k = int(m * (1 << 53))
    return 53 - ((k & -k).bit_length() - 1)


def _lead_exp(x: float) -> int:
    return math.frexp(abs(x))[1] - 1


def _thresholds(vals: tuple) -> np.ndarray:
    out = []
    for a, b in zip(vals, vals[1:]):
        mid = (Fraction(a) + Fraction(b)) / 2
        t = float(mid)  # nearest double
        if Fraction(t) <= mid:
            t = math.nextafter(t, math.inf)
        out.append(t)
    return np.array(out, dtype=np.float64)


NF4 = CodebookFormat(NF4_VALUES, 64, name="nf4")


@dataclass(frozen=True)
class PWLQFormat:
    """Piecewise linear quantization with explicit bits per region.

    Parameters
    ----------
    center_bits : int
        Signed levels of the centre region [-p, p]: 2^center_bits (2..16).
    tail_bits : int
        Tail payload: one side bit + (tail_bits - 1) unsigned bits (2..16).
    name : str, optional

    A code has ``1 + max(center_bits, tail_bits)`` bits: the region-index bit
    on top.
    """

    center_bits: int = 4
    tail_bits: int = 4
    name: str | None = field(default=None, compare=False)

    kind = "pwlq"

    def __post_init__(self) -> None:
        check_int("center_bits", self.center_bits, 2, 16)
        check_int("tail_bits", self.tail_bits, 2, 16)
        object.__setattr__(self, "center_bits", int(self.center_bits))
        object.__setattr__(self, "tail_bits", int(self.tail_bits))
        if self.name is None:
            n = f"pwlq{self.center_bits}" if self.center_bits == self.tail_bits \
                else f"pwlq_c{self.center_bits}_t{self.tail_bits}"
            object.__setattr__(self, "name", n)

    @property
    def payload_bits(self) -> int:
        return max(self.center_bits, self.tail_bits)

    @property
    def bits(self) -> int:
        """Bits per code: region bit + max(center_bits, tail_bits)."""
        return 1 + self.payload_bits

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.bits <= 8 else np.uint16)

    def to_dict(self) -> dict:
        return dict(kind="pwlq", center_bits=self.center_bits, tail_bits=self.tail_bits,
                    name=self.name)


_RE_PWLQ = re.compile(r"^pwlq(\d+)$")


def parse_codebook(name: str):
    """The codebook / PWLQ format called ``name`` (``nf4``, ``pwlq<b>``), or None."""
    s = name.strip().lower()
    if s == "nf4":
        return NF4
    m = _RE_PWLQ.match(s)
    if m:
        b = int(m.group(1))
        return PWLQFormat(b, b)
    return None


def codebook_from_dict(kind: str, d: dict):
    """Inverse of ``to_dict()`` for the codebook / PWLQ kinds (None for another kind)."""
    cls = {"codebook": CodebookFormat, "pwlq": PWLQFormat}.get(kind)
    return None if cls is None else cls(**d)
