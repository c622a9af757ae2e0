"""Shared helpers of the data-movement ops (Squeeze, Slice, Pad, Gather, Expand, Where...).

A data-movement op moves codes and never computes: :func:`move` applies the same
index function to the codes of a quantized tensor as the float64 reference applies
to the real values, so the quantized output is exact (then a cast, only if the model
states another output quantization).  :func:`operand` reads an input that ONNX moved
from an attribute to an input at some opset (``axes``, ``pads``, ``split``...).
"""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor
from .quant import act_axis, block_quantize, convert, is_block
from .registry import UnsupportedModelError

__all__ = ["move", "operand", "int_list", "norm_axes", "quantize_to"]


def move(x, fn, out_q):
    """``fn`` applied to the codes of ``x`` (per-tensor quantization), cast to ``out_q``."""
    if x.axis is not None:
        raise ValueError("data movement of a per-channel quantized activation is not "
                         f"supported (axis {x.axis})")
    y = x.with_codes(np.ascontiguousarray(fn(np.asarray(x.codes))))
    return convert(y, out_q)


def int_list(v) -> list:
    return [int(t) for t in np.asarray(v).ravel()]


def operand(ctx, n, a, nm, attr, index, since):
    """The constant ``attr`` of node ``n``: the attribute before opset ``since``, the
    input ``index`` from it on (None when absent)."""
    if ctx.opset < since or attr in a:
        return a.get(attr)
    if len(n.input) <= index or not n.input[index]:
        return None
    if n.input[index] not in ctx.init:
        raise UnsupportedModelError(f"{n.op_type} {nm}: input {attr!r} ({n.input[index]!r}) "
                                    "must be a constant")
    return np.asarray(ctx.init[n.input[index]])


def norm_axes(axes, ndim, what) -> list:
    """Axes made non-negative; out of range is a ValueError naming ``what``."""
    out = []
    for v in axes:
        if not -ndim <= v < ndim:
            raise ValueError(f"{what}: axis {v} out of range for rank {ndim}")
        out.append(v % ndim)
    return out


def quantize_to(v, q):
    """Real values encoded once (rne) into the quantization ``q`` (a QuantSpec)."""
    if is_block(q.fmt):
        return block_quantize(v, q.fmt, axis=act_axis(v), tensor_scale=q.scale)
    return QTensor.quantize(v, q.fmt, q.scale, q.zero_point if q.fmt.kind == "int" else 0)
