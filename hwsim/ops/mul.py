"""Mul: only by a per-channel constant directly after a Conv / Gemm, folded into its
weights and bias in float64 (:func:`.batchnorm.fold_constant_operand`); tensor x tensor
Mul is not implemented yet."""
from __future__ import annotations

from .batchnorm import fold_constant_operand
from .registry import UnsupportedModelError, register_onnx


def _import_mul(ctx, n, a, nm):
    if not fold_constant_operand(ctx, n, nm):
        raise UnsupportedModelError(f"Mul {nm}: only a per-channel constant directly after a "
                                    "Conv / Gemm (folded into it) is supported")


register_onnx("Mul", (), _import_mul)
