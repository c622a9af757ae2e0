"""One-input math and activation ops on the vector unit (docs/semantics.md, "Vector unit").

Each op is a fixed sequence of unit operations, every one rounded once into the unit's
format (``fl``); ``exp``, ``log``, ``tanh``, ``erf``, ``sigmoid`` are the unit's functions
(correctly rounded or a configured table):

* Exp ``exp(x)``; Log ``log(x)``; Tanh ``tanh(x)``; Erf ``erf(x)``; Sqrt ``fl(sqrt(x))``;
  Reciprocal ``fl(1 / x)``; Neg ``-x``; Abs ``|x|``;
* Softplus ``fl(max(x, 0) + log(fl(1 + exp(-|x|))))`` (no overflow for large x);
* HardSigmoid ``min(max(fl(fl(alpha x) + beta), 0), 1)`` (alpha, beta rounded into the format);
* SiLU ``fl(x * sigmoid(x))`` (the import rewrite of ``x * Sigmoid(x)``);
* PRelu ``x`` for ``x >= 0``, else ``fl(slope * x)`` (slope a constant, broadcast).
"""
from __future__ import annotations

import math

import numpy as np

from .registry import OpSpec, UnsupportedModelError, register, register_onnx
from .vecops import float_operands, operands, unit_of, unit_out
from .vector import arith

__all__ = ["UNARY", "hard_sigmoid", "silu"]


def hard_sigmoid(unit, x, alpha, beta):
    y = arith.add(unit, arith.mul(unit, x, unit.const(alpha)), unit.const(beta))
    return np.minimum(np.maximum(y, 0.0), 1.0)


def silu(unit, x):
    return arith.mul(unit, x, unit.fn("sigmoid", x))


def _softplus(unit, x):
    """``fl(max(x, 0) + log(fl(1 + exp(-|x|))))``: no overflow of exp for large x."""
    t = unit.fn("log", arith.add(unit, unit.const(1.0), unit.fn("exp", -np.abs(x))))
    return arith.add(unit, np.maximum(x, 0.0), t)


def _prelu(unit, x, slope):
    x, slope = np.broadcast_arrays(x, slope)
    return np.where(x >= 0, x, arith.mul(unit, x, slope))


UNARY = {
    "Exp": lambda u, x, a: u.fn("exp", x),
    "Log": lambda u, x, a: u.fn("log", x),
    "Tanh": lambda u, x, a: u.fn("tanh", x),
    "Erf": lambda u, x, a: u.fn("erf", x),
    "Sqrt": lambda u, x, a: arith.sqrt(u, x),
    "Reciprocal": lambda u, x, a: arith.div(u, np.ones_like(x), x),
    "Neg": lambda u, x, a: -x,
    "Abs": lambda u, x, a: np.abs(x),
    "Softplus": lambda u, x, a: _softplus(u, x),
    "HardSigmoid": lambda u, x, a: hard_sigmoid(u, x, a.get("alpha", 0.2), a.get("beta", 0.5)),
    "SiLU": lambda u, x, a: silu(u, x),
}

_ERF = np.frompyfunc(math.erf, 1, 1)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


_REF = {
    "Exp": np.exp, "Log": np.log, "Tanh": np.tanh, "Sqrt": np.sqrt, "Neg": np.negative,
    "Abs": np.abs, "Reciprocal": lambda x: 1.0 / x,
    "Erf": lambda x: _ERF(x).astype(np.float64),
    "Softplus": lambda x: np.logaddexp(0.0, x),
    "SiLU": lambda x: x * _sig(x),
}


def _reference(n, xs):
    x = np.asarray(xs[0], np.float64)
    with np.errstate(all="ignore"):
        if n.op == "HardSigmoid":
            a = n.attrs
            return np.clip(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0.0, 1.0)
        if n.op == "PRelu":
            slope = float_operands(n, xs)[1]
            return np.where(x >= 0, x, x * slope)
        return _REF[n.op](x)


def _execute(n, ins, args):
    unit = unit_of(args.config)
    if n.op == "PRelu":
        x, slope = operands(n, ins, unit)
        y = _prelu(unit, x, slope)
    else:
        y = UNARY[n.op](unit, operands(n, ins, unit)[0], n.attrs)
    return unit_out(unit, y, args.out_q, ins[0]), None


def _import(ctx, n, a, nm):
    keep = {k: float(a[k]) for k in ("alpha", "beta") if k in a}
    ctx.net.add(n.op_type, [ctx.canon(n.input[0])], n.output[0], name=nm, **keep)


def _import_prelu(ctx, n, a, nm):
    if not ctx.is_const(n.input[1]):
        raise UnsupportedModelError(f"PRelu {nm}: the slope must be a constant")
    slope = np.asarray(ctx.const(n.input[1], nm), np.float64)
    ctx.net.add("PRelu", [ctx.canon(n.input[0])], n.output[0], name=nm, consts={1: slope})


for _op in UNARY:
    register(OpSpec(_op, _reference, _execute, output="requant"))
    if _op != "SiLU":  # SiLU: only the import rewrite of x * Sigmoid(x) makes it
        register_onnx(_op, ("alpha", "beta") if _op == "HardSigmoid" else (), _import)
register(OpSpec("PRelu", _reference, _execute, output="requant"))
register_onnx("PRelu", (), _import_prelu)
register_onnx("SiLU", (), _import)
