"""Slice and Split: data movement (codes copied, never recomputed).

ONNX Slice takes ``starts`` / ``ends`` / ``axes`` as attributes before opset 10 and
as constant inputs (plus ``steps``) from opset 10 on; out-of-range starts / ends are
clamped as ONNX states (numpy's slicing does the same clamping).  Split imports as
one ``Slice`` node per output: explicit sizes (attribute ``split`` before opset 13,
input from 13) become starts / ends; equal parts (no sizes, or ``num_outputs`` from
opset 18) are resolved at run time from the axis length: ``ceil(d / n)`` per part,
the last one shorter.
"""
from __future__ import annotations

import numpy as np

from .movement import int_list, move, operand
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["slice_index"]


def slice_index(n, shape) -> tuple:
    """The numpy index of a Slice node for an input shape."""
    a = n.attrs
    idx = [slice(None)] * len(shape)
    if "part" in a:
        axis, i, count = a["part"]
        d = shape[axis]
        chunk = -(-d // count)
        idx[axis] = slice(min(i * chunk, d), min((i + 1) * chunk, d))
        return tuple(idx)
    starts, ends = a["starts"], a["ends"]
    axes = a.get("axes") or list(range(len(starts)))
    steps = a.get("steps") or [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ValueError(f"Slice {n.name}: starts, ends, axes, steps differ in length")
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st == 0:
            raise ValueError(f"Slice {n.name}: steps must be non-zero")
        if not -len(shape) <= ax < len(shape):
            raise ValueError(f"Slice {n.name}: axis {ax} out of range for rank {len(shape)}")
        idx[ax % len(shape)] = slice(s, e, st)
    return tuple(idx)


def _reference(n, xs):
    return np.array(xs[0][slice_index(n, xs[0].shape)])


def _execute(n, ins, args):
    return move(ins[0], lambda c: c[slice_index(n, c.shape)], args.out_q), None


def _import_slice(ctx, n, a, nm):
    kw = {}
    for k, (i, since) in dict(starts=(1, 10), ends=(2, 10), axes=(3, 10), steps=(4, 10)).items():
        v = operand(ctx, n, a, nm, k, i, since)
        if v is not None:
            kw[k] = int_list(v)
    if "starts" not in kw or "ends" not in kw:
        raise UnsupportedModelError(f"Slice {nm}: starts and ends are needed")
    ctx.net.add("Slice", [ctx.canon(n.input[0])], n.output[0], name=nm, **kw)


def _import_split(ctx, n, a, nm):
    axis = int(a.get("axis", 0))
    sizes = operand(ctx, n, a, nm, "split", 1, 13)
    x = ctx.canon(n.input[0])
    outs = list(n.output)
    if sizes is not None:
        sizes = int_list(sizes)
        if len(sizes) != len(outs):
            raise UnsupportedModelError(f"Split {nm}: {len(sizes)} sizes for {len(outs)} outputs")
        pos = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    count = int(a.get("num_outputs", len(outs)))
    if count != len(outs):
        raise UnsupportedModelError(f"Split {nm}: num_outputs {count} but {len(outs)} outputs")
    for i, o in enumerate(outs):
        if not o:
            continue
        kw = dict(starts=[pos[i]], ends=[pos[i + 1]], axes=[axis]) if sizes is not None else \
            dict(part=(axis, i, count))
        ctx.net.add("Slice", [x], o, name=f"{nm}/{i}", **kw)


register(OpSpec("Slice", _reference, _execute, output="keep"))
register_onnx("Slice", ("starts", "ends", "axes"), _import_slice)
register_onnx("Split", ("axis", "split", "num_outputs"), _import_split)
