"""Where with a constant condition (masks): a select of codes.

The activation operands are cast into the output quantization (nothing to do when it
is theirs: the codes move exactly), constant operands are quantized once into it, then
the codes are selected.  A condition computed from activations is not supported.
"""
from __future__ import annotations

import numpy as np

from .movement import quantize_to
from .quant import convert
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = []


def _operands(n, xs):
    it = iter(xs)
    consts = n.attrs.get("consts", {})
    return [np.asarray(consts[k]) if k in consts else next(it) for k in ("x", "y")]


def _reference(n, xs):
    x, y = _operands(n, [np.asarray(v, np.float64) for v in xs])
    return np.where(np.asarray(n.attrs["cond"], bool), x, y)


def _execute(n, ins, args):
    q = args.out_q
    it = iter(ins)
    consts = n.attrs.get("consts", {})
    codes = []
    for k in ("x", "y"):
        t = quantize_to(np.asarray(consts[k], np.float64), q) if k in consts \
            else convert(next(it), q)
        codes.append(np.asarray(t.codes))
    out = np.where(np.asarray(n.attrs["cond"], bool), codes[0], codes[1])
    return t.with_codes(np.ascontiguousarray(out), axis=None), None


def _import(ctx, n, a, nm):
    c, x, y = n.input
    if not ctx.is_const(c):
        raise UnsupportedModelError(f"Where {nm}: the condition must be a constant")
    consts, ins = {}, []
    for k, t in (("x", x), ("y", y)):
        if ctx.is_const(t):
            consts[k] = ctx.weight(t, f"Where {nm} {k}")[0].tolist()
        else:
            ins.append(ctx.canon(t))
    if not ins:
        raise UnsupportedModelError(f"Where {nm}: all operands constant (not folded)")
    ctx.net.add("Where", ins, n.output[0], name=nm, cond=ctx.const(c, nm).astype(bool).tolist(),
                consts=consts)


register(OpSpec("Where", _reference, _execute, output="requant"))
register_onnx("Where", (), _import)
