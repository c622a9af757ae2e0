"""Element-wise layers on QTensors: activations, residual Add, Concat.

Integer pipelines (integer formats):

* ReLU / ReLU6 / Clip keep the input quantization and clamp the integers to
  ``[q(lo), q(hi)]`` with ``q(v) = rne(v / scale) + zero_point`` (saturated to
  the format); ReLU is ``max(x, zero_point)``.  With different output
  quantization they go through a lookup table like the others.
* LeakyReLU, HardSwish (and any activation for a requantizing ReLU) use a
  lookup table over every code of the input format (<= 16 bits), each entry
  computed in float32 as onnxruntime's QLinear* lookup tables do:
  ``x = (float(q) - zp) * s``, ``y = f(x)``, ``out = sat(rne(y / s_out) + zp_out)``.
* Add with rescaling in style ``tflite`` (TFLite reference: both inputs shifted
  left by 20 bits, each multiplied by its Q0.31 multiplier, summed, then the
  output multiplier), ``onnx`` (float32: ``rne(fl32(fl32(a - za) * fl32(sa/so)) +
  fl32(fl32(b - zb) * fl32(sb/so)))) + zo``) or ``shift`` (power-of-two scale
  ratios, exact integer alignment and one rounding).

Float formats: values are decoded (times scale), the function applied in
float64, and the result encoded once into the output format (rne, saturating).
"""
from __future__ import annotations

import math

import numpy as np

from ..codec import encode
from ..tensors import QTensor, codes_to_ints, ints_to_codes
from .requant import _k_tflite, quantize_multiplier, rdbpot, srdhm  # noqa: F401

__all__ = ["ACTIVATIONS", "activation", "add", "concat", "act_fn"]

ACTIVATIONS = ("relu", "relu6", "clip", "leakyrelu", "hardswish", "identity")


def act_fn(kind, params, dtype=np.float64):
    """The real-valued function of an activation (vectorised, in ``dtype``)."""
    p = params or {}
    t = dtype
    if kind == "relu":
        return lambda x: np.maximum(x, t(0))
    if kind == "relu6":
        return lambda x: np.minimum(np.maximum(x, t(0)), t(6))
    if kind == "clip":
        lo = t(p.get("min", -np.inf))
        hi = t(p.get("max", np.inf))
        return lambda x: np.minimum(np.maximum(x, lo), hi)
    if kind == "leakyrelu":
        a = t(p.get("alpha", 0.01))
        return lambda x: np.where(x >= 0, x, x * a).astype(t)
    if kind == "hardswish":  # x * relu6(x + 3) / 6 (ONNX HardSwish: alpha 1/6, beta 0.5)
        return lambda x: (x * np.maximum(t(0), np.minimum(t(1), x * t(1.0 / 6) + t(0.5)))).astype(t)
    if kind == "identity":
        return lambda x: x
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")


def _q_f32(y32, s_out, zp_out, fmt):
    q = np.rint(y32 / np.float32(s_out)).astype(np.float64) + zp_out
    return np.clip(q, fmt.min_int, fmt.max_int).astype(np.int64)


def _same_q(x: QTensor, fmt, scale, zp):
    return (fmt == x.fmt and x.axis is None and np.ndim(scale) == 0
            and float(scale) == float(np.asarray(x.scale)) and int(zp) == int(np.asarray(x.zero_point)))


def activation(x: QTensor, kind, params=None, *, out_fmt=None, out_scale=None, out_zp=None):
    """Apply an activation to a QTensor; the output quantization defaults to the input's."""
    fmt = x.fmt if out_fmt is None else out_fmt
    s_out = x.scale if out_scale is None else out_scale
    z_out = x.zero_point if out_zp is None else out_zp
    f64 = act_fn(kind, params)
    if x.fmt.kind == "int" and fmt.kind == "int":
        if x.axis is not None:
            raise ValueError("integer activations need per-tensor input quantization")
        same = _same_q(x, fmt, s_out, z_out)
        q = x.ints()
        zp = int(np.asarray(x.zero_point))
        s = float(np.asarray(x.scale))
        if same and kind in ("relu", "relu6", "clip", "identity"):
            lo, hi = fmt.min_int, fmt.max_int
            p = params or {}
            bounds = dict(relu=(0.0, None), relu6=(0.0, 6.0), identity=(None, None),
                          clip=(p.get("min"), p.get("max")))[kind]
            if bounds[0] is not None and np.isfinite(bounds[0]):
                lo = max(lo, int(_q_f32(np.float32(bounds[0]), s, zp, fmt)))
            if bounds[1] is not None and np.isfinite(bounds[1]):
                hi = min(hi, int(_q_f32(np.float32(bounds[1]), s, zp, fmt)))
            y = np.clip(q, lo, hi)
        else:
            if x.fmt.bits > 16:
                raise ValueError(f"lookup-table activation needs <= 16-bit input, got {x.fmt.name}")
            allq = np.arange(x.fmt.min_int, x.fmt.max_int + 1, dtype=np.int64)
            xv = (allq.astype(np.float32) - np.float32(zp)) * np.float32(s)
            f32 = act_fn(kind, params, np.float32)
            table = _q_f32(f32(xv).astype(np.float32), float(s_out), int(z_out), fmt)
            y = table[q - x.fmt.min_int]
        return QTensor(ints_to_codes(y, fmt.bits, fmt.code_dtype), fmt, scale=s_out,
                       zero_point=z_out, layout=x.layout)
    v = f64(x.values())
    return QTensor.quantize(v, fmt, scale=s_out, zero_point=z_out if fmt.kind == "int" else 0,
                            layout=x.layout)


def _tflite_mul(x, m, shift):
    """MultiplyByQuantizedMultiplier on an int64 array (gemmlowp double rounding)."""
    out = np.empty((x.size, 1), np.int64)
    _k_tflite(np.ascontiguousarray(x.reshape(-1, 1), dtype=np.int64),
              np.array([m], np.int64), np.array([shift], np.int64), np.int64(0),
              np.int64(-(1 << 62)), np.int64(1 << 62), out)
    return out.reshape(x.shape)


def _f32(x):
    return np.float32(x)


def _fma32(x, y, z):
    """fl32(x * y + z) rounded once (x, y, z float32 arrays), exactly.

    The float64 sum of the exact product and z is checked error-free with
    TwoSum; the rare inexact entries are redone with Fractions.
    """
    from fractions import Fraction

    x64, y64, z64 = (np.asarray(v, np.float64) for v in (x, y, z))
    p = x64 * y64  # exact: 24 + 24 bits
    s = p + z64
    bp = s - z64
    err = (p - bp) + (z64 - (s - bp))
    out = s.astype(np.float32)
    bad = np.nonzero(err != 0)
    for idx in zip(*bad):
        v = Fraction(float(x64[idx])) * Fraction(float(y64[idx])) + Fraction(float(z64[idx]))
        out[idx] = _frac_to_f32(v)
    return out


def _frac_to_f32(v):
    from fractions import Fraction

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
            from .requant import Requant

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


def concat(xs, axis, *, out_fmt=None, out_scale=None, out_zp=None):
    """Concatenate QTensors; inputs with other quantization are requantized (float32 LUT)."""
    first = xs[0]
    fmt = first.fmt if out_fmt is None else out_fmt
    s_out = first.scale if out_scale is None else out_scale
    z_out = first.zero_point if out_zp is None else out_zp
    parts = []
    for x in xs:
        if x.fmt == fmt and x.axis is None and np.ndim(s_out) == 0 and \
                float(np.asarray(x.scale)) == float(s_out) and \
                np.all(np.asarray(x.zero_point) == np.asarray(z_out)):
            parts.append(np.asarray(x.codes))
        elif x.fmt.kind == "int" and fmt.kind == "int":
            y = activation(x, "identity", out_fmt=fmt, out_scale=s_out, out_zp=z_out)
            parts.append(np.asarray(y.codes))
        else:
            parts.append(np.asarray(QTensor.quantize(x.values(), fmt, s_out, z_out).codes))
    return QTensor(np.concatenate(parts, axis=axis), fmt, scale=s_out, zero_point=z_out,
                   layout=first.layout)


_ = (codes_to_ints, encode)
