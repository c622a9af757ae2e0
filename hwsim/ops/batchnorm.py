"""BatchNormalization (inference) folded into the preceding Conv / Gemm in float64.

As deployment toolchains do before quantization: with ``k = scale / sqrt(var + eps)``
per output channel, ``W' = W * k`` (Conv: along output channels; Gemm ``[K, N]``:
along columns) and ``b' = (b - mean) * k + beta``, all in float64 from the model's
float32 constants.  The fold is an import rewrite (listed in
``Network.source["rewrites"]``); a BatchNormalization that does not directly
follow a Conv / Gemm with float weights consumed only by it is refused (the
per-channel affine op is not implemented yet).
"""
from __future__ import annotations

import numpy as np

from .registry import UnsupportedModelError, register_onnx

__all__ = ["fold_batchnorm"]


def fold_batchnorm(weight, bias, op, scale, beta, mean, var, eps):
    """(W', b') of a Conv (``[Cout, ...]``) or Gemm (``[K, N]``) followed by BatchNorm."""
    k = np.asarray(scale, np.float64) / np.sqrt(np.asarray(var, np.float64) + float(eps))
    w = np.asarray(weight, np.float64)
    w = w * k.reshape(-1, *([1] * (w.ndim - 1))) if op == "Conv" else w * k.reshape(1, -1)
    b0 = 0.0 if bias is None else np.asarray(bias, np.float64)
    return w, (b0 - np.asarray(mean, np.float64)) * k + np.asarray(beta, np.float64)


def _import_bn(ctx, n, a, nm):
    src = ctx.canon(n.input[0])
    prev = ctx.producer(src)
    if a.get("training_mode", 0) or not a.get("spatial", 1):
        raise UnsupportedModelError(f"BatchNormalization {nm}: training_mode / spatial=0")
    if prev is None or prev.op not in ("Conv", "Gemm") or prev.wq is not None \
            or ctx.uses[n.input[0]] != 1 or src in ctx.model_q:
        raise UnsupportedModelError(
            f"BatchNormalization {nm}: only folding into a preceding Conv / Gemm with float "
            "weights that feeds nothing else is supported (no per-channel affine op yet)")
    consts = [np.asarray(ctx.const(t, nm), np.float64) for t in n.input[1:5]]
    prev.weight, prev.bias = fold_batchnorm(prev.weight, prev.bias, prev.op, *consts,
                                            a.get("epsilon", 1e-5))
    prev.outputs = [n.output[0]]
    ctx.rewrites.append(f"BatchNormalization {nm} folded into {prev.op} {prev.name} (float64)")


register_onnx("BatchNormalization", ("epsilon", "momentum", "spatial", "training_mode"),
              _import_bn)
