"""Transpose: data movement, the codes unchanged (a per-channel quantization axis moves
with its dimension; a block tensor's blocks move whole, their block axis with its
dimension: :func:`.movement.move`); a model-stated output quantization is a cast."""
from __future__ import annotations

import numpy as np

from .movement import move
from .quant import convert
from .registry import OpSpec, register, register_onnx

__all__ = ["transpose_q"]


def _perm(n, ndim):
    p = n.attrs.get("perm")
    p = list(range(ndim))[::-1] if p is None else [int(v) for v in p]
    if sorted(v % ndim for v in p) != list(range(ndim)) or len(p) != ndim:
        raise ValueError(f"Transpose {n.name}: perm {p} is not a permutation of {ndim} axes")
    return [v % ndim for v in p]


def _reference(n, xs):
    return np.transpose(xs[0], _perm(n, np.ndim(xs[0])))


def transpose_q(n, x):
    """The QTensor with its codes transposed (a per-channel axis follows its dimension)."""
    p = _perm(n, len(x.shape))
    axis = None if x.axis is None else p.index(x.axis % len(x.shape))
    return x.with_codes(np.ascontiguousarray(np.transpose(x.codes, p)), axis=axis)


def _execute(n, ins, args):
    x = ins[0]
    if x.axis is None:
        return move(x, lambda c: np.transpose(c, _perm(n, c.ndim)), args.out_q), None
    return convert(transpose_q(n, x), args.out_q), None


def _import(ctx, n, a, nm):
    kw = {} if "perm" not in a else {"perm": [int(v) for v in a["perm"]]}
    ctx.net.add("Transpose", [ctx.canon(n.input[0])], n.output[0], name=nm, **kw)


register(OpSpec("Transpose", _reference, _execute, output="keep"))
register_onnx("Transpose", ("perm",), _import)
