"""Pad: data movement; modes ``constant``, ``reflect``, ``edge`` and ``wrap`` (opset 19).

``pads`` (begin values of every axis, then end values) and ``value`` are attributes
before opset 11, constant inputs from 11 on; ``axes`` (opset 18) limits the axes the
pads name.  Negative pads crop.  In the quantized run the codes move unchanged
(reflect / edge / wrap copy codes); the constant ``value`` is quantized once into the
tensor's own quantization (real 0 is the zero-point code, exact).
"""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor
from .movement import int_list, move, norm_axes, operand
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["pad_widths", "pad_array"]

_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


def pad_widths(n, ndim):
    """(non-negative numpy pad widths, crop index) of a Pad node for a rank."""
    p = n.attrs["pads"]
    axes = norm_axes(n.attrs.get("axes") or list(range(ndim)), ndim, f"Pad {n.name}")
    if len(p) != 2 * len(axes):
        raise ValueError(f"Pad {n.name}: {len(p)} pads for {len(axes)} axes")
    widths = [[0, 0] for _ in range(ndim)]
    crop = [slice(None)] * ndim
    for k, ax in enumerate(axes):
        b, e = p[k], p[k + len(axes)]
        widths[ax] = [max(b, 0), max(e, 0)]
        crop[ax] = slice(max(-b, 0), None if e >= 0 else e)
    return widths, tuple(crop)


def pad_array(n, x, fill):
    """``x`` padded as the node says (``fill``: the constant, in ``x``'s dtype)."""
    widths, crop = pad_widths(n, x.ndim)
    mode = n.attrs.get("mode", "constant")
    x = x[crop]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=fill)
    return np.pad(x, widths, mode=_MODES[mode])


def _reference(n, xs):
    return pad_array(n, xs[0], n.attrs.get("value", 0.0))


def _execute(n, ins, args):
    x = ins[0]
    fill = 0
    if n.attrs.get("mode", "constant") == "constant":
        zp = x.zero_point if x.fmt.kind == "int" else 0
        fill = QTensor.quantize(np.array([n.attrs.get("value", 0.0)]), x.fmt, x.scale, zp).codes[0]
    return move(x, lambda c: pad_array(n, c, fill), args.out_q), None


def _mode(a):
    m = a.get("mode", "constant")
    return m.decode() if isinstance(m, bytes) else str(m)


def _import(ctx, n, a, nm):
    pads = operand(ctx, n, a, nm, "pads", 1, 11)
    if pads is None:
        raise UnsupportedModelError(f"Pad {nm}: pads missing")
    value = operand(ctx, n, a, nm, "value", 2, 11) if ctx.opset < 11 else \
        operand(ctx, n, {}, nm, "constant_value", 2, 11)
    axes = operand(ctx, n, {}, nm, "axes", 3, 18)
    kw = dict(pads=int_list(pads), mode=_mode(a))
    if value is not None and np.asarray(value).size:
        kw["value"] = float(np.asarray(value).ravel()[0])
    if axes is not None:
        kw["axes"] = int_list(axes)
    ctx.net.add("Pad", [ctx.canon(n.input[0])], n.output[0], name=nm, **kw)


def _problems(op_type, a, nm) -> list:
    m = _mode(a)
    return [] if m in _MODES else [f"Pad mode {m!r} (node {nm})"]


register(OpSpec("Pad", _reference, _execute, output="keep"))
register_onnx("Pad", ("mode", "pads", "value"), _import, _problems)
