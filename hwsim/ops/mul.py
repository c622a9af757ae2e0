"""Mul: by a scalar or per-channel constant directly after a Conv / Gemm folded into its
weights and bias in float64 (:func:`.batchnorm.fold_constant_operand`); by another
scalar or one-axis float constant a :mod:`.chanaffine` op; every other Mul (tensor x
tensor, or by a constant varying along several axes) on the vector unit
(:mod:`.elementwise`: one correctly rounded product in the unit's format).
"""
from __future__ import annotations

from .batchnorm import fold_constant_operand
from .chanaffine import constant_affine
from .elementwise import import_binary
from .registry import register_onnx


def _import_mul(ctx, n, a, nm):
    if not fold_constant_operand(ctx, n, nm) and not constant_affine(ctx, n, nm):
        import_binary(ctx, n, a, nm, "Mul")


register_onnx("Mul", (), _import_mul)
