"""Squeeze / Unsqueeze: data movement (codes unchanged, only the shape changes).

``axes`` is an attribute before opset 13 and an input (a constant) from opset 13 on;
Squeeze without axes drops every dimension of size 1.
"""
from __future__ import annotations


from .movement import int_list, move, norm_axes, operand
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["squeeze_shape"]


def squeeze_shape(n, shape) -> tuple:
    """Output shape of a Squeeze / Unsqueeze node for an input shape."""
    axes = n.attrs.get("axes")
    if n.op == "Squeeze":
        if axes is None:
            return tuple(d for d in shape if d != 1)
        ax = norm_axes(axes, len(shape), f"Squeeze {n.name}")
        for v in ax:
            if shape[v] != 1:
                raise ValueError(f"Squeeze {n.name}: axis {v} has size {shape[v]}, not 1")
        return tuple(d for i, d in enumerate(shape) if i not in ax)
    r = len(shape) + len(axes)
    ax = norm_axes(axes, r, f"Unsqueeze {n.name}")
    if len(set(ax)) != len(ax):
        raise ValueError(f"Unsqueeze {n.name}: repeated axes {axes}")
    it = iter(shape)
    return tuple(1 if i in ax else next(it) for i in range(r))


def _reference(n, xs):
    return xs[0].reshape(squeeze_shape(n, xs[0].shape))


def _execute(n, ins, args):
    return move(ins[0], lambda c: c.reshape(squeeze_shape(n, c.shape)), args.out_q), None


def _import(ctx, n, a, nm):
    axes = operand(ctx, n, a, nm, "axes", 1, 13)
    kw = {} if axes is None else {"axes": int_list(axes)}
    if n.op_type == "Unsqueeze" and axes is None:
        raise UnsupportedModelError(f"Unsqueeze {nm}: axes missing")
    ctx.net.add(n.op_type, [ctx.canon(n.input[0])], n.output[0], name=nm, **kw)


for _op in ("Squeeze", "Unsqueeze"):
    register(OpSpec(_op, _reference, _execute, output="keep"))
    register_onnx(_op, ("axes",), _import)
