"""Flatten, Reshape (constant shape) and Identity (ONNX Dropout imports as Identity:
inference mode, whatever its ``ratio``).

The codes move unchanged; a model-stated output quantization is a cast.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError
from .movement import move
from .quant import convert
from .registry import OpSpec, register, register_onnx

__all__ = ["reshape_target", "out_shape"]


def reshape_target(shape, target, allowzero=0, where="Reshape"):
    """ONNX Reshape target (``0`` copies the input dimension unless ``allowzero``).
    A ``0`` beyond the input's rank, or a target whose element count differs from the
    input's, is an :class:`UnsupportedModelError` naming ``where``."""
    t = list(target)
    for i, v in enumerate(t):
        if v == 0 and not allowzero:
            if i >= len(shape):
                raise UnsupportedModelError(
                    f"{where}: target shape {list(target)} copies dimension {i} (a 0) of an "
                    f"input of shape {tuple(shape)}, which has only {len(shape)}")
            t[i] = shape[i]
    t = tuple(int(v) for v in t)
    n, known = int(np.prod(shape)), int(np.prod([v for v in t if v != -1]))
    if t.count(-1) > 1 or (-1 not in t and known != n) or (-1 in t and (known == 0 or n % known)):
        raise UnsupportedModelError(f"{where}: target shape {list(target)} does not fit an "
                                    f"input of shape {tuple(shape)} ({n} elements)")
    return t


def out_shape(n, shape):
    """Output shape of a Flatten / Reshape / Identity node for an input shape."""
    if n.op == "Flatten":
        ax = n.attrs.get("axis", 1)
        return (int(np.prod(shape[:ax])), -1)
    if n.op == "Reshape":
        return reshape_target(shape, n.attrs["shape"], n.attrs.get("allowzero", 0),
                              f"node {n.name} (Reshape)")
    return tuple(shape)


def _reference(n, xs):
    return xs[0].reshape(out_shape(n, xs[0].shape))


def _execute(n, ins, args):
    x = ins[0]
    if x.axis is None:  # a block tensor moves whole blocks where they stay intact
        return move(x, lambda c: c.reshape(out_shape(n, x.shape)), args.out_q), None
    y = x.with_codes(np.asarray(x.codes).reshape(out_shape(n, x.shape)))
    return convert(y, args.out_q), None


def _import(ctx, n, a, nm):
    op, ins = n.op_type, [ctx.canon(n.input[0])]
    if op == "Flatten":
        ctx.net.add("Flatten", ins, n.output[0], name=nm, axis=a.get("axis", 1))
    elif op == "Reshape":
        raw = np.asarray(ctx.const(n.input[1], nm)).ravel()
        if raw.dtype.kind not in "iu" and not (np.isfinite(raw) & (raw == np.rint(raw))).all():
            raise UnsupportedModelError(f"Reshape {nm}: the shape input holds values that are not "
                                        f"integers: {raw.tolist()[:8]}")
        shp = [int(v) for v in raw]
        kw = {"allowzero": 1} if a.get("allowzero", 0) else {}
        ctx.net.add("Reshape", ins, n.output[0], name=nm, shape=shp, **kw)
    else:
        ctx.net.add("Identity", ins, n.output[0], name=nm)


for _op in ("Flatten", "Reshape", "Identity"):
    register(OpSpec(_op, _reference, _execute, output="keep"))
register_onnx("Flatten", ("axis",), _import)
register_onnx("Reshape", ("allowzero",), _import)
register_onnx("Identity", (), _import)
register_onnx("Dropout", ("seed", "ratio", "is_test"), _import)  # inference: identity
