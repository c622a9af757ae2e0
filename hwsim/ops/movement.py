"""Shared helpers of the data-movement ops (Transpose, Reshape, Squeeze, Slice, Pad, Gather,
Expand, Where...).

A data-movement op moves codes and never computes: :func:`move` applies the same
index function to the codes of a quantized tensor as the float64 reference applies
to the real values, so the quantized output is exact (then a cast, only if the model
states another output quantization).  A block-format tensor (MX / NVFP4) moves whole
blocks when the movement keeps every block intact (:func:`move_blocks`: element codes
and shared scales move, no rounding); otherwise its exact values move and are
re-encoded in the output's block layout (docs/semantics.md, "Block formats through data
movement").  :func:`operand` reads an input that ONNX moved
from an attribute to an input at some opset (``axes``, ``pads``, ``split``...).
"""
from __future__ import annotations

import numpy as np

from ..codec.blocktensor import BlockTensor
from .quant import act_axis, convert, quantize_to, scalar_qtensor
from .registry import UnsupportedModelError

__all__ = ["move", "move_blocks", "operand", "int_list", "norm_axes", "quantize_to"]


def move(x, fn, out_q):
    """``fn`` applied to the codes of ``x`` (per-tensor quantization), cast to ``out_q``.
    A block tensor moves whole blocks where :func:`move_blocks` can; else its moved exact
    values are re-encoded by the cast (:func:`.quant.convert`: blocks along the output's
    :func:`.quant.act_axis`)."""
    if x.axis is not None:
        raise ValueError("data movement of a per-channel quantized activation is not "
                         f"supported (axis {x.axis})")
    bt = x.meta.get("block")
    if bt is not None:
        moved = move_blocks(bt, fn)
        if moved is not None:
            return convert(scalar_qtensor(moved, x.meta.get("dequant", "exact")), out_q)
    y = x.with_codes(np.ascontiguousarray(fn(np.asarray(x.codes))))
    return convert(y, out_q)


def _intact_axis(gid, pos, bs):
    """The output axis along which every run of ``bs`` elements (from the start of the axis,
    the last run possibly shorter) is one input block in order, or None."""
    order = [act_axis(gid) % gid.ndim] + [a for a in range(gid.ndim - 1, -1, -1)
                                           if a != act_axis(gid) % gid.ndim]
    for ax in order:
        g, p = np.moveaxis(gid, ax, -1), np.moveaxis(pos, ax, -1)
        n = g.shape[-1]
        if n == 0 or not np.array_equal(p, np.broadcast_to(np.arange(n) % bs, p.shape)):
            continue
        starts = np.repeat(g[..., ::bs], bs, axis=-1)[..., :n]
        if np.array_equal(g, starts):
            return ax
    return None


def move_blocks(bt, fn):
    """The BlockTensor ``bt`` moved by the index function ``fn`` as whole blocks, or None
    when ``fn`` is not a one-to-one rearrangement that keeps every block's elements
    together and in order along one output axis (the output's block axis)."""
    if bt.axis is None or bt.codes.size == 0:
        return None
    a, bs, n = bt.axis, bt.block_size, bt.axis_length
    shp = [1] * len(bt.shape)
    shp[a] = n
    pos = np.broadcast_to((np.arange(n) % bs).reshape(shp), bt.shape)
    gid = bt.expand_scales(np.arange(bt.scales.size).reshape(bt.scales.shape))
    flat = np.asarray(fn(np.arange(bt.codes.size).reshape(bt.shape)))
    if flat.size != bt.codes.size or flat.dtype.kind not in "iu" or \
            int(flat.min()) < 0 or int(flat.max()) >= flat.size:
        return None  # a fill value (Pad) or another size
    seen = np.zeros(flat.size, bool)
    seen[flat.reshape(-1)] = True  # every index once: a permutation (not Slice, Expand, Pad...)
    if not seen.all():
        return None
    ax = _intact_axis(gid.reshape(-1)[flat], pos.reshape(-1)[flat], bs)
    if ax is None:
        return None
    codes = np.asarray(bt.codes).reshape(-1)[flat]
    el_scales = bt.expand_scales().reshape(-1)[flat]
    scales = np.moveaxis(np.moveaxis(el_scales, ax, -1)[..., ::bs], -1, ax)
    return BlockTensor(codes, np.ascontiguousarray(scales), bt.fmt, ax, codes.shape,
                       bt.tensor_scale, bt.flags)


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

