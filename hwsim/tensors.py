"""Tensor types: QTensor (codes + format + affine quantization, flows between
layers), and the block results BlockTensor / PWLQTensor with nibble packing
(defined next to their codec in :mod:`hwsim.codec.blocktensor`, re-exported here).

A QTensor's real value is ``(decode(code) - zero_point) * scale``, with scale and
zero point per tensor or per channel along ``axis`` (docs/architecture.md, "Data model").

>>> import numpy as np, hwsim
>>> from hwsim.tensors import QTensor
>>> t = QTensor(np.array([0, 1, 255], dtype=np.uint8), "int8", scale=0.5, zero_point=1)
>>> t.ints().tolist(), t.values().tolist()
([0, 1, -1], [-0.5, 0.0, -1.0])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .codec import decode, encode
from .codec.blocktensor import BlockTensor, PWLQTensor, pack_nibbles, unpack_nibbles
from .formats import IntFormat
from .formats import format as parse_format

__all__ = ["QTensor", "codes_to_ints", "ints_to_codes", "BlockTensor", "PWLQTensor",
           "pack_nibbles", "unpack_nibbles"]


def codes_to_ints(codes: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Two's complement (or unsigned) integers of ``bits``-bit codes, as int64."""
    c = np.asarray(codes)
    if signed and bits == 8 and c.dtype == np.uint8:
        return c.view(np.int8).astype(np.int64)
    if signed and bits == 16 and c.dtype == np.uint16:
        return c.view(np.int16).astype(np.int64)
    c = c.astype(np.int64)
    if signed and bits < 64:
        h = np.int64(1 << (bits - 1))
        c = (c ^ h) - h  # sign extension of the low `bits` bits
    return c


def ints_to_codes(ints: np.ndarray, bits: int, dtype) -> np.ndarray:
    """Low ``bits`` bits of integers as codes of ``dtype`` (no range check)."""
    i = np.asarray(ints).astype(np.int64, copy=False)
    if bits < 64:
        i = i & ((1 << bits) - 1)
    return i.astype(dtype)


@dataclass(frozen=True, eq=False)
class QTensor:
    """Codes of one format with affine quantization parameters.

    Parameters
    ----------
    codes : ndarray
        Bit patterns (unsigned dtype of the format's width), or a block-format
        encode result.
    fmt : format or name
        The number format of the codes.
    scale : float or 1-D array, optional
        Real value of one unit of the decoded code (default 1.0).
    zero_point : int or 1-D array, optional
        Decoded value that represents real 0 (default 0).
    axis : int or None
        Axis of per-channel ``scale`` / ``zero_point`` (None: per tensor).
    layout : str
        Memory layout label for images (``"NCHW"`` or ``"NHWC"``), informational
        for other tensors.
    """

    codes: Any
    fmt: Any
    scale: Any = 1.0
    zero_point: Any = 0
    axis: int | None = None
    layout: str = "NCHW"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", parse_format(self.fmt))
        sc = np.asarray(self.scale, dtype=np.float64)
        zp = np.asarray(self.zero_point)
        if sc.ndim > 1 or zp.ndim > 1:
            raise ValueError(f"scale and zero_point must be scalars or 1-D, got shapes {sc.shape}, {zp.shape}")
        if (sc.ndim == 1 or zp.ndim == 1) and self.axis is None:
            raise ValueError("per-channel scale/zero_point needs axis (got axis=None)")
        if np.any(~np.isfinite(sc)) or np.any(sc <= 0):
            raise ValueError(f"scale must be finite and > 0, got {self.scale!r}")
        if self.axis is not None and isinstance(self.codes, np.ndarray):
            nd = self.codes.ndim
            if not -nd <= self.axis < nd:
                raise ValueError(f"axis must be in [{-nd}, {nd - 1}], got {self.axis}")
            n = self.codes.shape[self.axis]
            for name, a in (("scale", sc), ("zero_point", zp)):
                if a.ndim == 1 and a.shape[0] != n:
                    raise ValueError(f"{name} has {a.shape[0]} entries, axis {self.axis} has {n}")

    # -- accessors -----------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(np.shape(self.codes))

    @property
    def is_int(self) -> bool:
        return self.fmt.kind in ("int", "fixed")

    def _bcast(self, a) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim == 0 or self.axis is None:
            return a
        shp = [1] * len(self.shape)
        shp[self.axis] = -1
        return a.reshape(shp)

    def ints(self) -> np.ndarray:
        """Integer values of the codes (int64; integer formats only)."""
        if self.fmt.kind != "int":
            raise TypeError(f"ints() needs an integer format, got {self.fmt.name}")
        return codes_to_ints(self.codes, self.fmt.bits, self.fmt.signed)

    def decoded(self) -> np.ndarray:
        """decode(codes) as float64 (without scale / zero point)."""
        return decode(self.codes, self.fmt)

    def values(self) -> np.ndarray:
        """Real values (float64): (decode(code) - zero_point) * scale."""
        d = self.decoded()
        return (d - self._bcast(self.zero_point)) * self._bcast(np.asarray(self.scale, np.float64))

    def with_codes(self, codes, **kw) -> "QTensor":
        """Same quantization parameters, new codes (and optional overrides)."""
        d = dict(fmt=self.fmt, scale=self.scale, zero_point=self.zero_point, axis=self.axis,
                 layout=self.layout)
        d.update(kw)
        return QTensor(codes, **d)

    def qparams(self) -> dict:
        """JSON-friendly quantization parameters (for manifests)."""
        sc = np.asarray(self.scale, np.float64)
        zp = np.asarray(self.zero_point)
        return dict(format=self.fmt.to_dict(),
                    scale=sc.tolist(), zero_point=zp.astype(np.int64).tolist()
                    if zp.dtype.kind in "iub" else zp.tolist(),
                    axis=self.axis, layout=self.layout)

    @classmethod
    def quantize(cls, x, fmt, scale=1.0, zero_point=0, axis=None, rounding="rne",
                 layout="NCHW", compute="float64") -> "QTensor":
        """Affine-quantize real values: code = encode(x / scale + zero_point).

        For integer formats ``x / scale`` is rounded by ``rounding`` first, the
        zero point added and the result saturated (ONNX QuantizeLinear).  With
        ``compute="float32"`` the division is done in float32, as onnxruntime
        does for float32 inputs.  For float formats the code is
        ``encode(x / scale)`` (zero point must be 0).
        """
        fmt = parse_format(fmt)
        x = np.asarray(x, dtype=np.float64)
        sc = np.asarray(scale, np.float64)
        zp = np.asarray(zero_point)
        shp = None
        if axis is not None and (sc.ndim == 1 or zp.ndim == 1):
            shp = [1] * x.ndim
            shp[axis] = -1
        scb = sc.reshape(shp) if (shp and sc.ndim == 1) else sc
        zpb = zp.reshape(shp) if (shp and zp.ndim == 1) else zp
        if compute == "float32":
            q = (x.astype(np.float32) / scb.astype(np.float32)).astype(np.float64)
        elif compute == "float64":
            q = x / scb
        else:
            raise ValueError(f"compute must be 'float32' or 'float64', got {compute!r}")
        if fmt.kind == "int":
            r = encode(q, _wide_int(fmt), rounding, "saturate")
            r = codes_to_ints(r, _wide_int(fmt).bits, True) + zpb.astype(np.int64)
            r = np.clip(r, fmt.min_int, fmt.max_int)
            codes = ints_to_codes(r, fmt.bits, fmt.code_dtype)
        else:
            if np.any(zp != 0):
                raise ValueError(f"zero_point must be 0 for {fmt.kind} format {fmt.name}")
            ovf = "saturate" if fmt.kind == "float" else None
            codes = encode(q, fmt, rounding, ovf)
        return cls(codes, fmt, scale=scale, zero_point=zero_point, axis=axis, layout=layout)


def _wide_int(fmt):
    return IntFormat(min(64, max(fmt.bits + 2, 48)), True)
