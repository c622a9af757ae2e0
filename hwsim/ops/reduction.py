"""ReduceSum, ReduceMean, ReduceMax, ReduceMin on the vector unit.

The axes come from the ``axes`` attribute (ReduceSum before opset 13, the others before
opset 18) or the optional constant second input (after); none means every axis, unless
``noop_with_empty_axes`` is 1 (then the op is the identity).  ReduceSum: the sum of the
unit values through the unit's accumulator (:mod:`.vector.reduce`: order and register
stated there), rounded into the unit's format; ReduceMean: ``fl(sum / fl(n))``;
ReduceMax / ReduceMin: exact.  ``keepdims`` as ONNX (default 1).
"""
from __future__ import annotations

import numpy as np

from .registry import OpSpec, UnsupportedModelError, register, register_onnx
from .vecops import unit_in, unit_of, unit_out
from .vector import arith
from .vector.reduce import reduce_sum

__all__ = ["reduce_unit", "reduce_axes"]

_OPS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin")


def reduce_axes(n, ndim):
    ax = n.attrs.get("axes")
    return tuple(range(ndim)) if ax is None else tuple(sorted(a % ndim for a in ax))


def _finish(n, y, axes):
    return y if n.attrs.get("keepdims", 1) else np.squeeze(y, axis=axes)


def reduce_unit(unit, op, x, axes):
    """The reduction of unit values ``x`` over ``axes`` (keepdims)."""
    if op == "ReduceMax":
        return x.max(axis=axes, keepdims=True)
    if op == "ReduceMin":
        return x.min(axis=axes, keepdims=True)
    s = reduce_sum(unit, x, axes)
    if op == "ReduceSum":
        return s
    cnt = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    return arith.div(unit, s, unit.const(float(cnt)))


def _reference(n, xs):
    x = np.asarray(xs[0], np.float64)
    if n.attrs.get("noop"):
        return x.copy()
    axes = reduce_axes(n, x.ndim)
    f = {"ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max, "ReduceMin": np.min}
    return _finish(n, f[n.op](x, axis=axes, keepdims=True), axes)


def _execute(n, ins, args):
    unit = unit_of(args.config)
    x = unit_in(unit, ins[0])
    if n.attrs.get("noop"):
        return unit_out(unit, x, args.out_q, ins[0]), None
    axes = reduce_axes(n, x.ndim)
    y = _finish(n, reduce_unit(unit, n.op, x, axes), axes)
    return unit_out(unit, y, args.out_q, ins[0]), None


def _import(ctx, n, a, nm):
    axes = a.get("axes")
    if len(n.input) > 1 and n.input[1]:
        if not ctx.is_const(n.input[1]):
            raise UnsupportedModelError(f"{n.op_type} {nm}: axes must be a constant")
        axes = ctx.const(n.input[1], nm)
    axes = None if axes is None or np.size(axes) == 0 else [int(v) for v in np.ravel(axes)]
    noop = bool(a.get("noop_with_empty_axes", 0)) and axes is None
    ctx.net.add(n.op_type, [ctx.canon(n.input[0])], n.output[0], name=nm, axes=axes,
                keepdims=int(a.get("keepdims", 1)), noop=noop)


for _op in _OPS:
    register(OpSpec(_op, _reference, _execute, output="keep" if _op in ("ReduceMax", "ReduceMin")
                    else "requant"))
    register_onnx(_op, ("axes", "keepdims", "noop_with_empty_axes"), _import)
