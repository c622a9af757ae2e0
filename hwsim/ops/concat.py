"""Concat along one axis; inputs with another quantization are requantized first."""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor
from .activation import activation
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["concat"]


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


def _reference(n, xs):
    return np.concatenate(xs, axis=n.attrs.get("axis", 1))


def _execute(n, ins, args):
    q = args.out_q
    return concat(ins, n.attrs.get("axis", 1), out_fmt=q.fmt, out_scale=q.scale,
                  out_zp=q.zero_point), None


def _import_concat(ctx, n, a, nm):
    if any(ctx.is_const(i) for i in n.input):
        raise UnsupportedModelError(f"Concat {nm}: constant operands are not supported")
    ctx.net.add("Concat", [ctx.canon(i) for i in n.input], n.output[0], name=nm,
                axis=a.get("axis", 1))


register(OpSpec("Concat", _reference, _execute, output="requant"))
register_onnx("Concat", ("axis",), _import_concat)
