"""Gather: constant indices on an activation (data movement), or activation indices into
a constant table (``Embedding``: token embeddings).

``Gather`` (indices constant): the codes at the indices, unchanged.  ``Embedding``
(data constant, indices a graph input of integer type, e.g. token ids): the table is
quantized once into the output quantization (the layer config's ``output`` format, a
scale from calibration) and rows of codes are read; indices outside ``[-d, d)`` are an
error.
"""
from __future__ import annotations

import numpy as np

from .movement import move, quantize_to
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["take"]


def take(x, idx, axis, what):
    """``np.take`` with ONNX's index rules (negative counts from the end, range checked)."""
    idx = np.asarray(idx, np.int64)
    d = x.shape[axis]
    if idx.size and (idx.min() < -d or idx.max() >= d):
        raise ValueError(f"{what}: indices must be in [{-d}, {d - 1}], got "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    return np.take(x, np.where(idx < 0, idx + d, idx), axis=axis)


def _gather_ref(n, xs):
    return take(xs[0], n.attrs["indices"], n.attrs.get("axis", 0), f"Gather {n.name}")


def _gather_exec(n, ins, args):
    a = n.attrs
    return move(ins[0], lambda c: take(c, a["indices"], a.get("axis", 0), f"Gather {n.name}"),
                args.out_q), None


def _ids(v, name):
    r = np.rint(np.asarray(v, np.float64))
    if np.any(r != v):
        raise ValueError(f"Embedding {name}: indices must be integers")
    return r.astype(np.int64)


def _embed_ref(n, xs):
    return take(n.weight, _ids(xs[0], n.name), n.attrs.get("axis", 0), f"Embedding {n.name}")


def _embed_exec(n, ins, args):
    table = quantize_to(n.weight, args.out_q)
    ids = _ids(ins[0].values(), n.name)
    return table.with_codes(take(np.asarray(table.codes), ids, n.attrs.get("axis", 0),
                                 f"Embedding {n.name}")), None


def _import(ctx, n, a, nm):
    data, ind = n.input[0], n.input[1]
    axis = int(a.get("axis", 0))
    if ctx.is_const(ind) and not ctx.is_const(data):
        ctx.net.add("Gather", [ctx.canon(data)], n.output[0], name=nm, axis=axis,
                    indices=np.asarray(ctx.const(ind, nm)).astype(np.int64).tolist())
    elif ctx.is_const(data) and not ctx.is_const(ind):
        w, _ = ctx.weight(data, f"Gather {nm} data")
        if w is None:
            raise UnsupportedModelError(f"Gather {nm}: integer data tables are not supported")
        ctx.net.add("Embedding", [ctx.canon(ind)], n.output[0], name=nm, weight=w, axis=axis)
    else:
        raise UnsupportedModelError(f"Gather {nm}: data or indices must be a constant "
                                    "(not both)")


register(OpSpec("Gather", _gather_ref, _gather_exec, output="keep"))
register(OpSpec("Embedding", _embed_ref, _embed_exec, output="requant"))
register_onnx("Gather", ("axis",), _import)
