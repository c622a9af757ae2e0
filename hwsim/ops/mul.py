"""Mul: only by a scalar or per-channel constant: directly after a Conv / Gemm folded into
its weights and bias in float64 (:func:`.batchnorm.fold_constant_operand`), else a
:mod:`.chanaffine` op; tensor x tensor Mul is not implemented yet."""
from __future__ import annotations

from .batchnorm import fold_constant_operand
from .chanaffine import constant_affine
from .registry import UnsupportedModelError, register_onnx


def _import_mul(ctx, n, a, nm):
    if not fold_constant_operand(ctx, n, nm) and not constant_affine(ctx, n, nm):
        raise UnsupportedModelError(f"Mul {nm}: only a scalar or per-channel constant operand "
                                    "is supported (folded into a Conv / Gemm or a ChannelAffine)")


register_onnx("Mul", (), _import_mul)
