"""Softmax, every output the exact function rounded once (docs/semantics.md, "Softmax").

``y_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` over the reduced axes, with
``x`` the input's float64 real values.  ONNX opset < 13 reduces over every axis
from ``axis`` on (the input coerced to 2-D), opset >= 13 over ``axis`` alone.
Each output is that exact value rounded once into the output quantization
(:mod:`.exact`).  It is computed with Ziv's strategy: every row is evaluated in
float64 by hwsim's own exp (:func:`softmax_bracket`, no libm) with a proven error
bound; where the whole bracket rounds to one code, that code is the exact one
(:func:`.exact.codes_bracketed`); the rest is evaluated in decimal arithmetic
(60 significant digits; a constant row gives exactly ``1/n``) and rounded once.

LogSoftmax, and Softmax when the layer config states a vector unit, run on that unit
(:func:`softmax_unit`; docs/semantics.md, "Vector unit").  A block-format (MX / NVFP4)
output is the exact result rounded once into binary32, then block-quantized as a MAC
layer's block output (:func:`.quant.rounded_output`).
"""
from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

import numpy as np

from ..tensors import QTensor
from .exact import TINY_ABS, U64, codes_bracketed, nan_code
from .quant import rounded_output
from .registry import OpSpec, register, register_onnx
from .vecops import configured, unit_in, unit_of, unit_out
from .vector import arith
from .vector.funcs import EXP64_REL, exp64
from .vector.reduce import reduce_sum

__all__ = ["softmax_exact", "softmax_q", "softmax_bracket", "softmax_rel_bound"]

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


_D_MIN = -1400.0  # exp(-1400) < 2^-2019: every clamped element is 0 up to 2^-1075
_D_ABS = 1400.0


def softmax_rel_bound(n: int) -> float:
    """Relative error bound of :func:`softmax_bracket`'s ``t`` for rows of ``n`` elements.

    With u = 2^-53: ``d = fl(x - m)`` errs by at most ``u |d|`` (|d| <= 1400 after the
    clamp), so ``e = exp64(d)`` is within ``rho = EXP64_REL + 1401u`` of ``exp(x - m)``
    (relative; underflow: see the absolute term).  The float64 sum of ``n`` values >= 0 in
    any order errs by at most ``gamma_{n-1} = (n-1)u / (1 - (n-1)u)`` relative, so ``S``
    is within ``rho + gamma_{n-1}`` of the exact sum (second order terms below).  Two
    divisions add ``2u``.  Total ``2 rho + gamma_{n-1} + 2u`` plus second-order terms
    (< 2^-80 for n <= 2^40).  Returned: that first-order sum with ``(n + 8) u`` for
    ``gamma_{n-1} + 2u``, plus ``2^-41`` for the second-order terms and the float64
    rounding of ``err`` itself.  Underflow (results below 2^-1022, clamped elements) adds
    at most a few ``2^-1075 / s_out``: the caller's ``TINY_ABS`` term."""
    return 2.0 ** -41 + 2.0 * (EXP64_REL + (_D_ABS + 1) * U64) + (n + 8) * U64


def softmax_bracket(rows, s_out):
    """``(t, err)``: float64 ``softmax(rows) / s_out`` for finite float64 ``rows``
    ``[r, n]`` and an error bound: the exact value lies in ``[t - err, t + err]`` on every
    machine (IEEE float64 +, -, *, / and exact scaling only; any summation order)."""
    with np.errstate(all="ignore"):
        d = np.maximum(rows - rows.max(axis=1, keepdims=True), _D_MIN)
        e = exp64(d)
        t = e / e.sum(axis=1, keepdims=True) / float(s_out)
        err = t * softmax_rel_bound(rows.shape[1]) + TINY_ABS * (1.0 + 1.0 / float(s_out))
    return t, err


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
    if r.size == 0:
        return QTensor(back(np.zeros(r.shape, out_fmt.code_dtype)), out_fmt, scale=s_out,
                       zero_point=zp_out, layout=x.layout)
    fin = np.isfinite(r).all(axis=1)
    if not fin.all():  # rows with NaN / inf: NaN codes (float outputs) or an error
        nan_code(out_fmt, "Softmax with a non-finite input")
    t, err = softmax_bracket(np.where(fin[:, None], r, 0.0), s_out)
    cols = max(r.shape[1], 1)
    cache: dict = {}

    def exact(i):
        row = i // cols
        if not fin[row]:
            return None
        if row not in cache:
            cache.clear()
            cache[row] = softmax_exact(r[row])
        return cache[row][i % cols]

    codes = codes_bracketed(t, np.where(fin[:, None], err, np.inf), out_fmt, s_out, zp_out,
                            exact, nonneg=True)
    return QTensor(back(codes), out_fmt, scale=s_out, zero_point=zp_out, layout=x.layout)


def _execute(n, ins, args):
    q = args.out_q
    if configured(args.config) or n.op == "LogSoftmax":
        unit = unit_of(args.config)
        r, back = _rows(unit_in(unit, ins[0]), n)
        return unit_out(unit, back(softmax_unit(unit, r, n.op == "LogSoftmax")), q, ins[0]), None
    return rounded_output(q, lambda f, s, z: softmax_q(n, ins[0], f, s, z)), None


def _import(ctx, n, a, nm):
    attrs = {"opset": ctx.opset} if "axis" not in a else {"opset": ctx.opset, "axis": a["axis"]}
    ctx.net.add(n.op_type, [ctx.canon(n.input[0])], n.output[0], name=nm, **attrs)


register(OpSpec("Softmax", _reference, _execute, output="requant"))
register(OpSpec("LogSoftmax", _reference, _execute, output="requant"))
register_onnx("Softmax", ("axis",), _import)
register_onnx("LogSoftmax", ("axis",), _import)
