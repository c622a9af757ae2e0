"""Residual Add of two tensors with rescaling (integer styles ``tflite``, ``onnx``, ``shift``).

* ``tflite`` (TFLite reference: both inputs shifted left by 20 bits, each
  multiplied by its Q0.31 multiplier, summed, then the output multiplier);
* ``onnx`` (onnxruntime's QLinearAdd: float32 ratios, two FMAs, round half to even;
  :func:`.ort_numerics.qlinear_add`, docs/semantics.md "onnxruntime's integer kernels");
* ``shift`` (power-of-two scale ratios, exact integer alignment and one rounding).

Float formats: the real values are added in float64 and encoded once (a block format as
a MAC layer's block output).  An Add with a
constant operand, a Sum of other than two tensors, and any Add whose layer config
states a vector unit run on the vector unit (:mod:`.elementwise`).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensors import QTensor, ints_to_codes
from .batchnorm import fold_constant_operand
from .chanaffine import constant_affine
from .elementwise import binary_reference, binary_vector
from .ort_numerics import qlinear_add, qlinear_add_codes
from .quant import QuantSpec, is_block, quantize_to
from .registry import OpSpec, register, register_onnx
from .requant import Requant, _k_tflite, quantize_multiplier
from .vecops import configured, import_const_operands

__all__ = ["add"]


def _tflite_mul(x, m, shift):
    """MultiplyByQuantizedMultiplier on an int64 array (gemmlowp double rounding)."""
    out = np.empty((x.size, 1), np.int64)
    _k_tflite(np.ascontiguousarray(x.reshape(-1, 1), dtype=np.int64),
              np.array([m], np.int64), np.array([shift], np.int64), np.int64(0),
              np.int64(-(1 << 62)), np.int64(1 << 62), np.int64(-1), out)
    return out.reshape(x.shape)


def add(a: QTensor, b: QTensor, *, out_fmt, out_scale=1.0, out_zp=0, style="onnx",
        rounding="rne"):
    """Residual add with rescaling; inputs broadcast as numpy does."""
    if a.fmt.kind == "int" and b.fmt.kind == "int" and out_fmt.kind == "int":
        if a.axis is not None or b.axis is not None:
            raise ValueError("integer Add needs per-tensor quantized inputs")
        if style == "onnx":  # same shapes: codes to codes in one pass
            codes = qlinear_add_codes(a.codes, a.fmt, float(np.asarray(a.scale)),
                                      int(np.asarray(a.zero_point)), b.codes, b.fmt,
                                      float(np.asarray(b.scale)), int(np.asarray(b.zero_point)),
                                      float(out_scale), int(out_zp), out_fmt)
            if codes is not None:
                return QTensor(codes, out_fmt, scale=out_scale, zero_point=out_zp,
                               layout=a.layout)
        qa = a.ints() - int(np.asarray(a.zero_point))
        qb = b.ints() - int(np.asarray(b.zero_point))
        qa, qb = np.broadcast_arrays(qa, qb)
        sa, sb, so = float(np.asarray(a.scale)), float(np.asarray(b.scale)), float(out_scale)
        if style in ("tflite", "tflite_single"):
            left = 20  # TFLite reference Add for 8-bit inputs
            twice = 2 * max(sa, sb)
            ma, sha = quantize_multiplier(sa / twice)
            mb, shb = quantize_multiplier(sb / twice)
            mo, sho = quantize_multiplier(twice / ((1 << left) * so))
            ya = _tflite_mul(qa << left, ma, sha)
            yb = _tflite_mul(qb << left, mb, shb)
            y = _tflite_mul(ya + yb, mo, sho)
        elif style == "onnx":
            y = qlinear_add(a.ints(), sa, int(np.asarray(a.zero_point)), b.ints(), sb,
                            int(np.asarray(b.zero_point)), so, int(out_zp), out_fmt)
            y = np.broadcast_to(y, qa.shape) - int(out_zp)
        elif style == "shift":
            ea, eb = math.frexp(sa / so), math.frexp(sb / so)
            if ea[0] != 0.5 or eb[0] != 0.5:
                raise ValueError("Add with requant style 'shift' needs power-of-two scale ratios, "
                                 f"got {sa / so!r} and {sb / so!r}")
            xa, xb = ea[1] - 1, eb[1] - 1  # ratios 2^xa, 2^xb
            low = min(xa, xb, 0)
            tot = (qa << (xa - low)) + (qb << (xb - low))
            rq = Requant("shift", 0, -(1 << 62), 1 << 62, shift=np.array([-low], np.int64),
                         rounding=rounding)
            y = rq.apply(tot.reshape(-1, 1)).reshape(tot.shape)
        else:
            raise ValueError(f"style must be tflite, tflite_single, onnx or shift, got {style!r}")
        y = np.clip(y + int(out_zp), out_fmt.min_int, out_fmt.max_int)
        return QTensor(ints_to_codes(y, out_fmt.bits, out_fmt.code_dtype), out_fmt,
                       scale=out_scale, zero_point=out_zp, layout=a.layout)
    v = a.values() + b.values()
    if is_block(out_fmt):  # as a MAC layer's block output (:func:`.quant.quantize_to`)
        return quantize_to(v, QuantSpec(out_fmt, out_scale))
    return QTensor.quantize(v, out_fmt, scale=out_scale,
                            zero_point=out_zp if out_fmt.kind == "int" else 0, layout=a.layout)




def _reference(n, xs):
    return binary_reference(n, xs)


def _execute(n, ins, args):
    q, cfg = args.out_q, args.config
    if "consts" in n.attrs or len(ins) != 2 or configured(cfg):
        return binary_vector(n, ins, args)
    return add(ins[0], ins[1], out_fmt=q.fmt, out_scale=q.scale, out_zp=q.zero_point,
               style=cfg.requant, rounding=cfg.shift_rounding), None


def _import_add(ctx, n, a, nm):
    """Add, and Sum of two tensors (the same function); Add of a per-channel constant to
    a Conv / Gemm output folds into its bias (:mod:`.batchnorm`)."""
    if n.op_type == "Add" and (fold_constant_operand(ctx, n, nm) or constant_affine(ctx, n, nm)):
        return
    if len(n.input) == 2 and not any(ctx.is_const(i) for i in n.input):
        ctx.net.add("Add", [ctx.canon(i) for i in n.input[:2]], n.output[0], name=nm)
    else:  # constant operands, or Sum of 1 or >= 3 tensors: the vector unit
        import_const_operands(ctx, n, nm, "Add" if n.op_type == "Add" else "Sum")


register(OpSpec("Add", _reference, _execute, output="requant"))
register_onnx("Add", (), _import_add)
register_onnx("Sum", (), _import_add)
