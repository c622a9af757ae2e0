"""Softmax, every output the exact function rounded once (docs/semantics.md, "Softmax").

``y_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` over the reduced axes, with
``x`` the input's float64 real values.  ONNX opset < 13 reduces over every axis
from ``axis`` on (the input coerced to 2-D), opset >= 13 over ``axis`` alone.
Each row is evaluated in decimal arithmetic (60 significant digits) and each
output rounded once into the output quantization (:mod:`.exact`); a constant row
gives exactly ``1/n``.

LogSoftmax, and Softmax when the layer config states a vector unit, run on that unit
(:func:`softmax_unit`; docs/semantics.md, "Vector unit").
"""
from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

import numpy as np

from ..tensors import QTensor
from .exact import nan_code, output_code
from .registry import OpSpec, register, register_onnx
from .vecops import configured, unit_in, unit_of, unit_out
from .vector import arith
from .vector.reduce import reduce_sum

__all__ = ["softmax_exact", "softmax_q"]

_CTX = Context(prec=60, Emin=-10**6, Emax=10**6)


def _rows(x, n):
    """``x`` as [rows, reduced] and the function that restores the shape."""
    a = n.attrs
    axis = a.get("axis", -1 if a.get("opset", 13) >= 13 else 1) % x.ndim
    if a.get("opset", 13) >= 13:
        moved = np.moveaxis(x, axis, -1)
        return moved.reshape(-1, moved.shape[-1]), \
            lambda y: np.moveaxis(y.reshape(moved.shape), -1, axis)
    return x.reshape(int(np.prod(x.shape[:axis])), -1), lambda y: y.reshape(x.shape)


def softmax_exact(row) -> list:
    """Softmax of a sequence of float64 values: Fractions for a constant row, else
    Decimals with 60 significant digits."""
    vals = [float(v) for v in row]
    m = max(vals)
    if all(v == m for v in vals):
        return [Fraction(1, len(vals))] * len(vals)
    e = [_CTX.exp(_CTX.subtract(Decimal(v), Decimal(m))) for v in vals]
    s = sum(e[1:], e[0])
    return [_CTX.divide(t, s) for t in e]


def _reference(n, xs):
    r, back = _rows(np.asarray(xs[0], np.float64), n)
    d = r - r.max(axis=1, keepdims=True)
    e = np.exp(d)
    if n.op == "LogSoftmax":
        return back(d - np.log(e.sum(axis=1, keepdims=True)))
    return back(e / e.sum(axis=1, keepdims=True))


def softmax_unit(unit, rows, log=False):
    """Softmax (or LogSoftmax) of unit values ``[rows, n]`` on the vector unit:
    ``d = fl(x - max)``, ``e = exp(d)``, ``s`` = the accumulator's sum of ``e`` rounded
    into the format, then ``fl(e / s)`` (LogSoftmax: ``fl(d - log(s))``)."""
    d = arith.sub(unit, rows, rows.max(axis=1, keepdims=True))
    e = unit.fn("exp", d)
    s = reduce_sum(unit, e, (1,))
    return arith.sub(unit, d, unit.fn("log", s)) if log else arith.div(unit, e, s)


def softmax_q(n, x: QTensor, out_fmt, s_out, zp_out) -> QTensor:
    """Softmax of a QTensor into the given output quantization (``n``: the node)."""
    zp_out = int(zp_out) if out_fmt.kind == "int" else 0
    r, back = _rows(x.values(), n)
    codes = np.empty(r.shape, out_fmt.code_dtype)
    for i, row in enumerate(r):
        if np.isnan(row).any() or np.isinf(row).any():
            codes[i] = nan_code(out_fmt, "Softmax with a non-finite input")
            continue
        codes[i] = [output_code(v, out_fmt, s_out, zp_out) for v in softmax_exact(row)]
    return QTensor(back(codes), out_fmt, scale=s_out, zero_point=zp_out, layout=x.layout)


def _execute(n, ins, args):
    q = args.out_q
    if configured(args.config) or n.op == "LogSoftmax":
        unit = unit_of(args.config)
        r, back = _rows(unit_in(unit, ins[0]), n)
        return unit_out(unit, back(softmax_unit(unit, r, n.op == "LogSoftmax")), q, ins[0]), None
    return softmax_q(n, ins[0], q.fmt, q.scale, q.zero_point), None


def _import(ctx, n, a, nm):
    attrs = {"opset": ctx.opset} if "axis" not in a else {"opset": ctx.opset, "axis": a["axis"]}
    ctx.net.add(n.op_type, [ctx.canon(n.input[0])], n.output[0], name=nm, **attrs)


register(OpSpec("Softmax", _reference, _execute, output="requant"))
register(OpSpec("LogSoftmax", _reference, _execute, output="requant"))
register_onnx("Softmax", ("axis",), _import)
register_onnx("LogSoftmax", ("axis",), _import)
