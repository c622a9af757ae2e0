"""Activations: Relu, Clip (ReLU6), LeakyRelu, HardSwish and the shared lookup table.

Integer pipelines (integer formats):

* ReLU / ReLU6 / Clip keep the input quantization and clamp the integers to
  ``[q(lo), q(hi)]`` with ``q(v) = rne(v / scale) + zero_point`` (saturated to
  the format); ReLU is ``max(x, zero_point)``.  With different output
  quantization they go through a lookup table like the others.
* LeakyReLU, HardSwish (and any activation for a requantizing ReLU) use a
  lookup table over every code of the input format (<= 16 bits), each entry
  computed in float32 as onnxruntime's QLinear* lookup tables do:
  ``x = (float(q) - zp) * s``, ``y = f(x)``, ``out = sat(rne(y / s_out) + zp_out)``.

Float formats: values are decoded (times scale), the function applied in
float64, and the result encoded once into the output format (rne, saturating).

When the layer config states a vector unit, LeakyRelu is ``x`` or ``fl(alpha * x)`` and
HardSwish ``fl(x * min(max(fl(fl(x * fl(1/6)) + 0.5), 0), 1))`` on that unit.
"""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor, ints_to_codes
from .quant import QuantSpec, is_block, quantize_to
from .registry import OpSpec, register, register_onnx
from .unary import hard_sigmoid
from .vecops import configured, unit_in, unit_of, unit_out
from .vector import arith

__all__ = ["ACTIVATIONS", "activation", "act_fn", "run_activation"]

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
    if is_block(fmt):  # as a MAC layer's block output (:func:`.quant.quantize_to`)
        return quantize_to(v, QuantSpec(fmt, s_out))
    return QTensor.quantize(v, fmt, scale=s_out, zero_point=z_out if fmt.kind == "int" else 0,
                            layout=x.layout)



# -- the ops ---------------------------------------------------------------------------------
ACT_OPS = {"Relu": "relu", "Clip": "clip", "LeakyRelu": "leakyrelu", "HardSwish": "hardswish"}


def _params(n) -> dict:
    a = n.attrs
    if n.op == "Clip":
        return {"min": a.get("min", -np.inf), "max": a.get("max", np.inf)}
    if n.op == "LeakyRelu":
        return {"alpha": a.get("alpha", 0.01)}
    return {}


def _reference(n, xs):
    return act_fn(ACT_OPS[n.op], _params(n))(xs[0])


def run_activation(x, out_q, kind, params=None):
    """An activation into the planned output quantization (``out_q``, a QuantSpec).  A
    block-format output is always re-encoded from the activation's values (a clamp or a
    slope changes values that the input's blocks cannot hold)."""
    same = out_q.same(x) and not is_block(out_q.fmt)
    return activation(x, kind, params, out_fmt=None if same else out_q.fmt,
                      out_scale=None if same else out_q.scale,
                      out_zp=None if same else out_q.zero_point)


def _execute(n, ins, args):
    if configured(args.config) and n.op in ("LeakyRelu", "HardSwish"):
        unit = unit_of(args.config)
        x = unit_in(unit, ins[0])
        if n.op == "LeakyRelu":
            y = np.where(x >= 0, x, arith.mul(unit, x, unit.const(n.attrs.get("alpha", 0.01))))
        else:
            y = arith.mul(unit, x, hard_sigmoid(unit, x, 1.0 / 6, 0.5))
        return unit_out(unit, y, args.out_q, ins[0]), None
    return run_activation(ins[0], args.out_q, ACT_OPS[n.op], _params(n)), None


def _import_act(ctx, n, a, nm):
    op, ins = n.op_type, [ctx.canon(n.input[0])]
    if op == "Clip":
        lo = a.get("min", -np.inf)
        hi = a.get("max", np.inf)
        if len(n.input) > 1 and n.input[1]:
            lo = float(ctx.const(n.input[1], nm))
        if len(n.input) > 2 and n.input[2]:
            hi = float(ctx.const(n.input[2], nm))
        ctx.net.add("Clip", ins, n.output[0], name=nm, min=lo, max=hi)
    elif op == "LeakyRelu":
        ctx.net.add("LeakyRelu", ins, n.output[0], name=nm, alpha=a.get("alpha", 0.01))
    else:
        ctx.net.add(op, ins, n.output[0], name=nm)


register(OpSpec("Relu", _reference, _execute, output="keep"))
register(OpSpec("Clip", _reference, _execute, output="keep"))
register(OpSpec("LeakyRelu", _reference, _execute, output="requant"))
register(OpSpec("HardSwish", _reference, _execute, output="requant"))
register_onnx("Relu", (), _import_act)
register_onnx("Clip", ("min", "max"), _import_act)
register_onnx("LeakyRelu", ("alpha",), _import_act)
register_onnx("HardSwish", (), _import_act)
