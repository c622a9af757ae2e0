"""Tensor quantization between ops: :class:`QuantSpec`, casts and block-format glue.

A :class:`QuantSpec` is the quantization the planner chose for one tensor
(format, per-tensor scale, zero point).  :func:`convert` re-encodes a QTensor
into another one (a cast unit: exact real value, one rne rounding).  Block
formats travel as the scalar codes the MAC units see (:func:`block_quantize`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec import encode
from ..formats import format as parse_format
from ..tensors import QTensor, ints_to_codes
from . import macbridge as br

__all__ = ["QuantSpec", "is_block", "convert", "act_axis", "block_quantize", "scalar_qtensor",
           "block_input", "quantize_to", "rounded_output", "BLOCK_VIA"]


def is_block(fmt) -> bool:
    return parse_format(fmt).kind not in ("int", "fixed", "float")


@dataclass(frozen=True)
class QuantSpec:
    """Quantization of a tensor: format, scale, zero point (per tensor)."""

    fmt: object
    scale: float = 1.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", parse_format(self.fmt))

    def same(self, qt: QTensor) -> bool:
        if is_block(self.fmt):  # codes: scalar codes of a BlockTensor (hwsim.mac.block)
            return (qt.meta.get("block_fmt") == self.fmt and np.ndim(qt.scale) == 0
                    and float(qt.scale) == float(self.scale))
        return (qt.fmt == self.fmt and qt.axis is None and np.ndim(qt.scale) == 0
                and float(qt.scale) == float(self.scale)
                and int(np.asarray(qt.zero_point)) == int(self.zero_point))

    def to_dict(self) -> dict:
        return dict(format=self.fmt.to_dict(), scale=float(self.scale), zero_point=int(self.zero_point))


def convert(qt: QTensor, q: QuantSpec) -> QTensor:
    """Re-encode a tensor into another quantization (a cast unit: exact real, rne once)."""
    if q.same(qt):
        return qt
    if qt.fmt.kind == "int" and q.fmt.kind == "int" and qt.axis is None and qt.fmt.bits <= 16 \
            and float(qt.scale) == float(q.scale):
        y = np.clip(qt.ints() - int(np.asarray(qt.zero_point)) + q.zero_point, q.fmt.min_int, q.fmt.max_int)
        return QTensor(ints_to_codes(y, q.fmt.bits, q.fmt.code_dtype), q.fmt, q.scale, q.zero_point,
                       layout=qt.layout)
    return quantize_to(qt.values(), q, layout=qt.layout)


def act_axis(v) -> int:
    """Block axis of an activation: channels (axis 1) of NCHW images, features (-1) else."""
    return 1 if np.ndim(v) == 4 else -1


def block_quantize(x, fmt, axis, tensor_scale=None, dequant="exact") -> QTensor:
    """Encode real values into a block format; the QTensor holds the scalar codes the
    MAC units see (:func:`hwsim.ops.macbridge.to_scalar`), its ``scale`` the NVFP4
    tensor scale (1.0 otherwise) and ``meta["block"]`` the BlockTensor."""
    kw = {}
    if fmt.kind == "nvfp4" and tensor_scale is not None and float(tensor_scale) != 1.0:
        kw["tensor_scale"] = float(np.float32(tensor_scale))
    bt = encode(np.asarray(x, np.float64), fmt, axis=axis, **kw)
    return scalar_qtensor(bt, dequant)


def scalar_qtensor(bt, dequant) -> QTensor:
    so = br.to_scalar(bt, dequant)
    return QTensor(so.codes, so.fmt, so.post_scale, 0,
                   meta=dict(block=bt, block_fmt=bt.fmt, dequant=so.dequant))


def quantize_to(v, q, layout="NCHW") -> QTensor:
    """Real values encoded once into the quantization ``q`` (a QuantSpec): a block format
    exactly as a MAC layer writes its block output (:func:`block_quantize` along
    :func:`act_axis`, ``q.scale`` as NVFP4's tensor scale), any other format rne."""
    if is_block(q.fmt):
        return block_quantize(v, q.fmt, axis=act_axis(v), tensor_scale=q.scale)
    return QTensor.quantize(v, q.fmt, q.scale, q.zero_point if q.fmt.kind == "int" else 0,
                            layout=layout)


#: the format an op that rounds its exact result once writes before a block encode: the
#: vector unit's binary32 register (docs/semantics.md, "Block-format outputs")
BLOCK_VIA = parse_format("float32")


def rounded_output(q: QuantSpec, compute) -> QTensor:
    """The output of an op that rounds its exact result once: ``compute(fmt, scale,
    zero_point)`` returns that rounding as a QTensor.  A block-format ``q`` gets the result
    rounded once into binary32 (:data:`BLOCK_VIA`, scale 1), then block-quantized as a MAC
    layer's block output (:func:`quantize_to`)."""
    if is_block(q.fmt):
        return quantize_to(compute(BLOCK_VIA, 1.0, 0).values(), q)
    return compute(q.fmt, q.scale, q.zero_point)


def block_input(x: QTensor, in_q: QuantSpec, dequant, a_scalar) -> QTensor:
    """A compute layer's block-format input as scalar codes of ``a_scalar`` (its blocks
    along :func:`act_axis`; a block tensor blocked along another axis is re-encoded)."""
    bt = x.meta.get("block")
    if bt is not None and bt.fmt == in_q.fmt and float(x.scale) == float(in_q.scale) \
            and bt.axis == act_axis(bt.codes) % bt.codes.ndim:
        return x if x.fmt == a_scalar else scalar_qtensor(bt, dequant)
    v = x.values()
    return block_quantize(v, in_q.fmt, axis=act_axis(v), tensor_scale=in_q.scale,
                          dequant=dequant)
