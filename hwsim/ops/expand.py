"""Expand (constant shape, ONNX two-way broadcasting): data movement, codes repeated."""
from __future__ import annotations

import numpy as np

from .movement import int_list, move
from .registry import OpSpec, register, register_onnx

__all__ = ["expand_shape"]


def expand_shape(n, shape) -> tuple:
    try:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(n.attrs["shape"])))
    except ValueError:
        raise ValueError(f"Expand {n.name}: shape {n.attrs['shape']} does not broadcast with "
                         f"the input shape {tuple(shape)}") from None


def _reference(n, xs):
    return np.array(np.broadcast_to(xs[0], expand_shape(n, xs[0].shape)))


def _execute(n, ins, args):
    return move(ins[0], lambda c: np.broadcast_to(c, expand_shape(n, c.shape)), args.out_q), None


def _import(ctx, n, a, nm):
    shp = int_list(ctx.const(n.input[1], nm))
    ctx.net.add("Expand", [ctx.canon(n.input[0])], n.output[0], name=nm, shape=shp)


register(OpSpec("Expand", _reference, _execute, output="keep"))
register_onnx("Expand", (), _import)
