"""BatchNormalization (inference), and Mul / Add by per-channel constants, folded into the
preceding Conv / Gemm in float64.

As deployment toolchains do before quantization: with ``k = scale / sqrt(var + eps)``
per output channel, ``W' = W * k`` (Conv: along output channels; Gemm ``[K, N]``:
along columns) and ``b' = (b - mean) * k + beta``, all in float64 from the model's
float32 constants.  The fold is an import rewrite (listed in
``Network.source["rewrites"]``); a BatchNormalization that does not directly
follow a Conv / Gemm with float weights consumed only by it is imported as a
:mod:`.chanaffine` op.  ``Mul`` / ``Add`` with a constant that is
a scalar or broadcasts along the channel axis (axis 1) fold the same way:
``W' = W * c``, ``b' = b * c``; ``b' = b + c`` (:func:`fold_constant_operand`).
"""
from __future__ import annotations

import numpy as np

from .chanaffine import batchnorm_affine
from .registry import UnsupportedModelError, register_onnx

__all__ = ["fold_batchnorm", "fold_constant_operand", "foldable_producer"]


def fold_batchnorm(weight, bias, op, scale, beta, mean, var, eps):
    """(W', b') of a Conv (``[Cout, ...]``) or Gemm (``[K, N]``) followed by BatchNorm."""
    k = np.asarray(scale, np.float64) / np.sqrt(np.asarray(var, np.float64) + float(eps))
    w = np.asarray(weight, np.float64)
    w = w * k.reshape(-1, *([1] * (w.ndim - 1))) if op == "Conv" else w * k.reshape(1, -1)
    b0 = 0.0 if bias is None else np.asarray(bias, np.float64)
    return w, (b0 - np.asarray(mean, np.float64)) * k + np.asarray(beta, np.float64)


def foldable_producer(ctx, tname):
    """The Conv / Gemm node with float weights producing ``tname`` and feeding nothing
    else, or None."""
    src = ctx.canon(tname)
    prev = ctx.producer(src)
    if prev is None or prev.op not in ("Conv", "Gemm") or prev.wq is not None \
            or ctx.uses[tname] != 1 or src in ctx.model_q:
        return None
    return prev


def _per_channel(c, prev):
    """A constant as a per-output-channel float64 vector, or None if it is not one."""
    c = np.asarray(c, np.float64)
    cout = prev.weight.shape[0] if prev.op == "Conv" else prev.weight.shape[1]
    ndim = 4 if prev.op == "Conv" else 2
    if c.size == 1:
        return np.full(cout, float(c.ravel()[0]))
    shp = (1,) * (ndim - c.ndim) + c.shape if c.ndim <= ndim else None
    if shp is None or shp[1] != cout or any(d != 1 for i, d in enumerate(shp) if i != 1):
        return None
    return c.reshape(cout)


def fold_constant_operand(ctx, n, nm) -> bool:
    """Fold ``x * c`` or ``x + c`` (c a constant, x a foldable MAC output) into the MAC
    node; False if the node is not of that form."""
    ci = [i for i in n.input if i in ctx.init]
    xi = [i for i in n.input if i not in ctx.init]
    if len(ci) != 1 or len(xi) != 1 or ctx.init[ci[0]].dtype.kind != "f":
        return False
    prev = foldable_producer(ctx, xi[0])
    c = None if prev is None else _per_channel(ctx.init[ci[0]], prev)
    if c is None:
        return False
    if n.op_type == "Mul":
        prev.weight = prev.weight * (c.reshape(-1, 1, 1, 1) if prev.op == "Conv" else c.reshape(1, -1))
        prev.bias = None if prev.bias is None else prev.bias * c
    else:
        prev.bias = c if prev.bias is None else prev.bias + c
    prev.outputs = [n.output[0]]
    ctx.rewrites.append(f"{n.op_type} {nm} by a constant folded into {prev.op} {prev.name} (float64)")
    return True


def _import_bn(ctx, n, a, nm):
    prev = foldable_producer(ctx, n.input[0])
    if a.get("training_mode", 0) or not a.get("spatial", 1):
        raise UnsupportedModelError(f"BatchNormalization {nm}: training_mode / spatial=0")
    if prev is None:
        batchnorm_affine(ctx, n, a, nm)
        return
    consts = [np.asarray(ctx.const(t, nm), np.float64) for t in n.input[1:5]]
    prev.weight, prev.bias = fold_batchnorm(prev.weight, prev.bias, prev.op, *consts,
                                            a.get("epsilon", 1e-5))
    prev.outputs = [n.output[0]]
    ctx.rewrites.append(f"BatchNormalization {nm} folded into {prev.op} {prev.name} (float64)")


register_onnx("BatchNormalization", ("epsilon", "momentum", "spatial", "training_mode"),
              _import_bn)
