"""Concat along one axis; inputs with another quantization are requantized first, constant
operands are quantized once into the output's quantization."""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor
from .activation import activation
from .movement import quantize_to
from .quant import act_axis, block_quantize, is_block
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["concat"]


def concat(xs, axis, *, out_fmt=None, out_scale=None, out_zp=None):
    """Concatenate QTensors; inputs with other quantization are requantized (float32 LUT)."""
    first = xs[0]
    fmt = first.fmt if out_fmt is None else out_fmt
    s_out = first.scale if out_scale is None else out_scale
    z_out = first.zero_point if out_zp is None else out_zp
    if is_block(fmt):  # blocks are re-formed over the joined tensor: values, encoded once
        v = np.concatenate([x.values() for x in xs], axis=axis)
        return block_quantize(v, fmt, axis=act_axis(v), tensor_scale=s_out)
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


def _with_consts(n, xs, const):
    """The operands in ONNX order: activations ``xs`` and the node's constants."""
    it = iter(xs)
    consts = n.attrs.get("consts", {})
    return [const(np.asarray(consts[k], np.float64)) if k in consts else next(it)
            for k in range(n.attrs.get("n_operands", len(xs)))]


def _reference(n, xs):
    parts = _with_consts(n, xs, lambda c: c)
    ax = n.attrs.get("axis", 1)
    shapes = [np.shape(p) for p in parts]
    nd = len(shapes[0]) if shapes else 0
    ok = nd > 0 and -nd <= ax < nd and all(len(s) == nd for s in shapes)
    if ok:
        a = ax % nd
        ok = all(s[:a] + s[a + 1:] == shapes[0][:a] + shapes[0][a + 1:] for s in shapes)
    if not ok:  # fuzz finding crash-53c6aa23: numpy's error reached calibration
        raise UnsupportedModelError(f"node {n.name} (Concat): operand shapes {shapes} do not "
                                    f"match outside axis {ax}")
    return np.concatenate(parts, axis=ax)


def _execute(n, ins, args):
    q = args.out_q
    parts = _with_consts(n, ins, lambda c: quantize_to(c, q))
    return concat(parts, n.attrs.get("axis", 1), out_fmt=q.fmt, out_scale=q.scale,
                  out_zp=q.zero_point), None


def _import_concat(ctx, n, a, nm):
    """Constant operands are stored on the node and quantized once into the output's
    quantization (e.g. a class token or padding rows)."""
    consts = {k: ctx.weight(t, f"Concat {nm} operand")[0].tolist()
              for k, t in enumerate(n.input) if ctx.is_const(t)}
    ins = [ctx.canon(t) for t in n.input if not ctx.is_const(t)]
    if not ins:
        raise UnsupportedModelError(f"Concat {nm}: all operands constant (not folded)")
    kw = dict(consts=consts, n_operands=len(n.input)) if consts else {}
    ctx.net.add("Concat", ins, n.output[0], name=nm, axis=a.get("axis", 1), **kw)


register(OpSpec("Concat", _reference, _execute, output="requant"))
register_onnx("Concat", ("axis",), _import_concat)
