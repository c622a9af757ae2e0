"""Residual Add of two tensors with rescaling (integer styles ``tflite``, ``onnx``, ``shift``).

* ``tflite`` (TFLite reference: both inputs shifted left by 20 bits, each
  multiplied by its Q0.31 multiplier, summed, then the output multiplier);
* ``onnx`` (float32: ``rne(fl32(fl32(a - za) * fl32(sa/so)) + fl32(fl32(b - zb) *
  fl32(sb/so)))) + zo``, as MLAS's QLinearAdd computes it);
* ``shift`` (power-of-two scale ratios, exact integer alignment and one rounding).

Float formats: the real values are added in float64 and encoded once.  An Add with a
constant operand, a Sum of other than two tensors, and any Add whose layer config
states a vector unit run on the vector unit (:mod:`.elementwise`).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import prange

from ..tensors import QTensor, ints_to_codes
from .batchnorm import fold_constant_operand
from .chanaffine import constant_affine
from .elementwise import binary_reference, binary_vector
from .kernels import dual as _dual
from .registry import OpSpec, register, register_onnx
from .requant import Requant, _k_tflite, quantize_multiplier
from .vecops import configured, import_const_operands

__all__ = ["add"]


def _tflite_mul(x, m, shift):
    """MultiplyByQuantizedMultiplier on an int64 array (gemmlowp double rounding)."""
    out = np.empty((x.size, 1), np.int64)
    _k_tflite(np.ascontiguousarray(x.reshape(-1, 1), dtype=np.int64),
              np.array([m], np.int64), np.array([shift], np.int64), np.int64(0),
              np.int64(-(1 << 62)), np.int64(1 << 62), out)
    return out.reshape(x.shape)


def _f32(x):
    return np.float32(x)


def _fma32_py(x, y, z, out):
    for i in prange(x.size):
        p = np.float64(x[i]) * np.float64(y[i])  # exact: 24 + 24 bits
        zz = np.float64(z[i])
        s = p + zz
        bp = s - zz
        err = (p - bp) + (zz - (s - bp))  # TwoSum: p + z = s + err exactly
        if err != 0.0 and np.isfinite(s):
            # s is normal here (a multiple of 2^-298, not 0); its last bit:
            m, e = math.frexp(s)
            if int(math.ldexp(abs(m), 53)) % 2 == 0:
                # round to odd: the exact value lies strictly between s and its float64
                # neighbour on err's side, whose last bit is odd
                ulp = math.ldexp(1.0, e - 53)
                if (err > 0) != (s > 0) and abs(m) == 0.5:
                    ulp *= 0.5  # a power of two: the neighbour below has half its ulp
                s = s + ulp if err > 0 else s - ulp
        out[i] = np.float32(s)  # round to odd at 53 >= 24 + 2 bits, then rne: correct


_fma32_k = _dual(_fma32_py, 0)


def _fma32(x, y, z):
    """fl32(x * y + z) rounded once (x, y, z float32 arrays of one shape), exactly.

    The float64 sum of the exact product and z is checked error-free with TwoSum; an
    inexact sum is rounded to odd in float64 (53 >= 24 + 2 bits), whose rounding to
    float32 is then the correctly rounded result (tests/ops/test_add_fma32.py checks it
    against exact rational arithmetic).
    """
    x, y, z = (np.ascontiguousarray(v, np.float32) for v in (x, y, z))
    out = np.empty(x.shape, np.float32)
    _fma32_k(x.reshape(-1), y.reshape(-1), z.reshape(-1), out.reshape(-1))
    return out


def _fma32_fractions(x, y, z):
    """:func:`_fma32` by exact rational arithmetic, element by element (its test oracle)."""
    out = np.empty(np.shape(x), np.float32)
    for idx in np.ndindex(*out.shape):
        v = Fraction(float(x[idx])) * Fraction(float(y[idx])) + Fraction(float(z[idx]))
        out[idx] = _frac_to_f32(v)
    return out


def _frac_to_f32(v):
    f = np.float32(float(v))  # float64 rounding first; fix up below if it was a double rounding
    lo, hi = np.nextafter(f, np.float32(-np.inf)), np.nextafter(f, np.float32(np.inf))
    best = min((lo, f, hi), key=lambda c: (abs(Fraction(float(c)) - v),
                                           int(np.asarray(c).view(np.uint32)) & 1))
    return best


def _onnx_add(ia, ib, za, zb, sa, sb, so, zo):
    """onnxruntime's QLinearAdd on AVX2 (MLAS): float32 ratios, two FMAs, round to even.

    ra = fl32(sa / so), rb = fl32(sb / so); fixed = fl32(zo - fl32(fl32(ra * za) + fl32(rb * zb)));
    y = rne(fma(a, ra, fma(b, rb, fixed))) with a, b the raw integers (zero points inside fixed).
    """
    ra, rb = _f32(_f32(sa) / _f32(so)), _f32(_f32(sb) / _f32(so))
    fixed = _f32(_f32(zo) - _f32(_f32(ra * _f32(za)) + _f32(rb * _f32(zb))))
    ia, ib = np.broadcast_arrays(ia, ib)
    vb = _fma32(ib.astype(np.float32), np.full(ib.shape, rb), np.full(ib.shape, fixed))
    v = _fma32(ia.astype(np.float32), np.full(ia.shape, ra), vb)
    return np.rint(v).astype(np.int64)


def add(a: QTensor, b: QTensor, *, out_fmt, out_scale=1.0, out_zp=0, style="onnx",
        rounding="rne"):
    """Residual add with rescaling; inputs broadcast as numpy does."""
    if a.fmt.kind == "int" and b.fmt.kind == "int" and out_fmt.kind == "int":
        if a.axis is not None or b.axis is not None:
            raise ValueError("integer Add needs per-tensor quantized inputs")
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
            y = _onnx_add(a.ints(), b.ints(), int(np.asarray(a.zero_point)),
                          int(np.asarray(b.zero_point)), sa, sb, so, int(out_zp))
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
