"""LayerNormalization on the vector unit (ONNX opset 17, and the import rewrite of LayerNorm
written out as ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add).

Over the axes ``axis .. rank - 1`` (``n`` elements), each step one unit operation rounded
once into the unit's format, sums through the unit's accumulator (:mod:`.vector.reduce`):
``mean = fl(sum(x) / fl(n))``, ``d = fl(x - mean)``, ``var = fl(sum(fl(d * d)) / fl(n))``,
``r = rsqrt(fl(var + eps))`` (correctly rounded, or the unit's rsqrt table),
``y = fl(fl(fl(d * r) * gamma) + beta)`` (gamma, beta, eps constants rounded into the
format; without gamma / beta those steps are left out).  The written-out form computes
``fl(d / fl(sqrt(v)))`` instead of ``fl(d * rsqrt(v))`` (``rsqrt: false``), keeping its
own operation order.
"""
from __future__ import annotations

import numpy as np

from .registry import OpSpec, UnsupportedModelError, register, register_onnx
from .vecops import unit_in, unit_of, unit_out
from .vector import arith
from .vector.reduce import reduce_sum

__all__ = ["layernorm_unit"]


def _axes(n, ndim):
    a = n.attrs.get("axis", -1) % ndim
    return tuple(range(a, ndim))


def layernorm_unit(unit, x, axes, eps, gamma=None, beta=None, rsqrt=True):
    """LayerNorm of unit values ``x`` over ``axes`` (module docstring)."""
    cnt = unit.const(float(np.prod([x.shape[a] for a in axes], dtype=np.int64)))
    mean = arith.div(unit, reduce_sum(unit, x, axes), cnt)
    d = arith.sub(unit, x, mean)
    var = arith.div(unit, reduce_sum(unit, arith.mul(unit, d, d), axes), cnt)
    ve = arith.add(unit, var, unit.const(eps))
    if rsqrt:
        y = arith.mul(unit, d, unit.fn("rsqrt", ve))
    else:
        y = arith.div(unit, d, arith.sqrt(unit, ve))
    if gamma is not None:
        y = arith.mul(unit, y, unit.const(gamma))
    if beta is not None:
        y = arith.add(unit, y, unit.const(beta))
    return y


def _reference(n, xs):
    x = np.asarray(xs[0], np.float64)
    axes = _axes(n, x.ndim)
    d = x - x.mean(axis=axes, keepdims=True)
    y = d / np.sqrt((d * d).mean(axis=axes, keepdims=True) + n.attrs["epsilon"])
    g, b = n.attrs.get("gamma"), n.attrs.get("beta")
    return (y if g is None else y * g) + (0.0 if b is None else b)


def _execute(n, ins, args):
    unit = unit_of(args.config)
    x = unit_in(unit, ins[0])
    a = n.attrs
    y = layernorm_unit(unit, x, _axes(n, x.ndim), a["epsilon"], a.get("gamma"), a.get("beta"),
                       a.get("rsqrt", True))
    return unit_out(unit, y, args.out_q, ins[0]), None


def _import(ctx, n, a, nm):
    if a.get("stash_type", 1) != 1 or len(n.output) > 1 and any(n.output[1:]):
        raise UnsupportedModelError(f"LayerNormalization {nm}: only stash_type 1 and one output")
    consts = [None if len(n.input) <= i or not n.input[i] else
              np.asarray(ctx.const(n.input[i], nm), np.float64) for i in (1, 2)]
    ctx.net.add("LayerNormalization", [ctx.canon(n.input[0])], n.output[0], name=nm,
                axis=int(a.get("axis", -1)), epsilon=float(a.get("epsilon", 1e-5)),
                gamma=consts[0], beta=consts[1], rsqrt=bool(a.get("hwsim_rsqrt", 1)))


register(OpSpec("LayerNormalization", _reference, _execute, output="requant"))
register_onnx("LayerNormalization", ("axis", "epsilon", "stash_type", "hwsim_rsqrt"), _import)
