"""Quantized ONNX content in one place: QDQ pairs, QLinearConv / QLinearMatMul, *Integer ops.

* **QDQ**: every ``QuantizeLinear -> DequantizeLinear`` pair on an activation
  becomes the quantization of that tensor (:func:`analyse_qdq`);
  ``DequantizeLinear`` on an initializer gives quantized weights (per-channel
  ``axis`` allowed) or an int32 bias.
* **QLinearConv / QLinearMatMul**: weights, bias and the input / output
  quantization come from the operator's inputs.
* **ConvInteger / MatMulInteger**: integer inputs (graph inputs of an integer
  type or QuantizeLinear outputs), int32 outputs (the exact accumulator).
"""
from __future__ import annotations

import numpy as np

from ..formats import format as parse_format
from ..ops import UnsupportedModelError
from ..ops.conv import CONV_ATTRS, conv_attrs, kernel_problems
from ..ops.quant import QuantSpec
from ..tensors import QTensor, ints_to_codes

__all__ = ["ONNX_TYPE_FORMATS", "QUANT_ATTRS", "QUANT_IMPORTERS", "QUANT_CHECKS", "analyse_qdq",
           "qparams", "merge_q", "np_onnx_type", "float_tensors", "relu_clamps"]

#: ONNX TensorProto element type -> hwsim format name
ONNX_TYPE_FORMATS = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
                     17: "float8_e4m3fn", 18: "float8_e4m3fnuz", 19: "float8_e5m2",
                     20: "float8_e5m2fnuz", 21: "uint4", 22: "int4"}

#: allowed attributes of the quantization ops handled here
QUANT_ATTRS = {"QLinearConv": set(CONV_ATTRS), "ConvInteger": set(CONV_ATTRS),
               "QLinearMatMul": set(), "MatMulInteger": set(),
               "QuantizeLinear": {"axis", "saturate"}, "DequantizeLinear": {"axis"},
               "Constant": {"value"}}


def np_onnx_type(a) -> int:
    name = str(np.asarray(a).dtype)
    return {"uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "float8_e4m3fn": 17,
            "float8_e4m3fnuz": 18, "float8_e5m2": 19, "float8_e5m2fnuz": 20, "uint4": 21,
            "int4": 22}.get(name, -1)


def qparams(init, scale_name, zp_name, what):
    """(scale float64, zero point int64, format name) of a quantization op's inputs."""
    s = init.get(scale_name)
    if s is None:
        raise UnsupportedModelError(f"{what}: scale {scale_name!r} must be a constant")
    if zp_name and zp_name in init:
        z = init[zp_name]
        fmt = ONNX_TYPE_FORMATS.get(np_onnx_type(z))
    else:
        z = np.zeros(np.shape(s), np.int64)
        fmt = "uint8"
    if fmt is None:
        raise UnsupportedModelError(f"{what}: zero point type {z.dtype} not supported")
    s = np.asarray(s, np.float64)
    if s.size == 0 or not np.all(np.isfinite(s) & (s > 0)):  # fuzz crash-94bf524a
        raise UnsupportedModelError(f"{what}: scale {scale_name!r} must be finite and > 0, "
                                    f"got {s.ravel()[:4].tolist()}")
    return s, np.asarray(z).astype(np.int64), fmt


def dq_codes(x, fmt, what):
    """The integer codes a DequantizeLinear constant holds; they must fit ``fmt``."""
    f = parse_format(fmt)
    x = np.asarray(x)
    if f.kind != "int":  # float8: the ml_dtypes array of that type; its codes are its bytes
        if x.dtype.name != f.name or x.dtype.itemsize != 1:
            raise UnsupportedModelError(f"{what}: input must be a {fmt} tensor, got {x.dtype}")
        return x.view(np.uint8)
    if x.dtype.kind not in "iu" and x.dtype.name not in ("int4", "uint4"):
        # fuzz crash-9f289542: a float tensor holding NaN
        raise UnsupportedModelError(f"{what}: input must be an integer tensor of {fmt}, got {x.dtype}")
    x = x.astype(np.int64)
    if x.size and (int(x.min()) < f.min_int or int(x.max()) > f.max_int):
        raise UnsupportedModelError(f"{what}: codes outside {fmt} [{f.min_int}, {f.max_int}]")
    return x


def merge_q(model_q, t, tq, allow_zp=False):
    old = model_q.get(t)
    if old is not None and old != tq and not allow_zp:
        raise UnsupportedModelError(f"tensor {t!r} has two different quantizations: {old} and {tq}")
    model_q[t] = tq


def analyse_qdq(nodes, init, attrs_of):
    """``(canon, model_q, dq_const)``: QuantizeLinear / DequantizeLinear outputs mapped to
    their float tensor, the activation quantizations, and the dequantized constants
    (output name -> (codes, scale, zero point, format, axis))."""
    canon: dict = {}
    model_q: dict = {}
    dq_const: dict = {}

    def c(t):
        while t in canon:
            t = canon[t]
        return t

    for n in nodes:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) < 2:
            raise UnsupportedModelError(f"{n.op_type} {n.name}: needs inputs (x, scale[, "
                                        f"zero_point]), got {list(n.input)}")
        zp = n.input[2] if len(n.input) > 2 else ""
        if n.op_type == "DequantizeLinear" and n.input[0] in init:
            s, z, fmt = qparams(init, n.input[1], zp, f"DequantizeLinear {n.name}")
            q = dq_codes(init[n.input[0]], fmt, f"DequantizeLinear {n.name}")
            dq_const[n.output[0]] = (q, s, z, fmt, attrs_of(n).get("axis", 1))
        elif n.op_type == "QuantizeLinear":
            s, z, fmt = qparams(init, n.input[1], zp, f"QuantizeLinear {n.name}")
            if s.ndim:
                raise UnsupportedModelError(f"QuantizeLinear {n.name}: per-channel activation quantization")
            tq = QuantSpec(fmt, float(s), int(z))
            src = c(n.input[0])
            if src in model_q and model_q[src] != tq:
                raise UnsupportedModelError(f"tensor {src!r} quantized twice with different parameters")
            model_q[src] = tq
            canon[n.output[0]] = src
        elif n.op_type == "DequantizeLinear":
            src = c(n.input[0])
            canon[n.output[0]] = src
            if src not in model_q:  # integer graph input: its DequantizeLinear states its scale
                s, z, fmt = qparams(init, n.input[1], zp, f"DequantizeLinear {n.name}")
                if s.ndim == 0:
                    model_q[src] = QuantSpec(fmt, float(s), int(z))
    return canon, model_q, dq_const


def float_tensors(nodes, init, code_inputs) -> list:
    """Outputs of ordinary ops in a quantized model that hold float values and that no
    QuantizeLinear quantizes: the float32 tensors of a QDQ graph (e.g. the chain
    ``ReduceMean -> Sub -> Pow`` that ``quantize_static`` leaves unquantized).  A node's
    output holds codes when its first input does (QLinear* / *Integer / QuantizeLinear
    outputs, integer graph inputs and initializers: data movement in QOperator models)."""
    ints = set(code_inputs) | {k for k, v in init.items() if np.asarray(v).dtype.kind in "iub"}
    quantized = {n.input[0] for n in nodes if n.op_type == "QuantizeLinear"}
    out = []
    for n in nodes:
        if (n.op_type in QUANT_ATTRS and n.op_type != "DequantizeLinear") or \
                n.domain == "com.microsoft":  # QLinearConcat etc.: codes whatever input 0 is
            ints.update(n.output)
        elif n.op_type != "DequantizeLinear" and n.input and n.input[0] in ints:
            ints.update(n.output)
        elif n.op_type != "DequantizeLinear":
            out += [o for o in n.output if o and o not in quantized]
    return out


def relu_clamps(model_q, produced) -> dict:
    """{tensor: 0.0} for every node output the model quantizes into an integer format with
    the zero point at the format's minimum: the real range starts at exactly 0, the
    signature of a ReLU folded into QuantizeLinear's clamp (docs/semantics.md, "The float
    reference of a quantized model")."""
    out = {}
    for t, q in model_q.items():
        if t in produced and q.fmt.kind == "int" and int(q.zero_point) == q.fmt.min_int:
            out[t] = 0.0
    return out


def _import_qlinear(ctx, n, a, nm):
    op, init = n.op_type, ctx.init
    xs, xz, xf = qparams(init, n.input[1], n.input[2], f"{op} {nm} input")
    ws, wz, wf_name = qparams(init, n.input[4], n.input[5], f"{op} {nm} weights")
    ys, yz, yf = qparams(init, n.input[6], n.input[7], f"{op} {nm} output")
    src, out = ctx.canon(n.input[0]), n.output[0]
    merge_q(ctx.model_q, src, QuantSpec(xf, float(xs), int(xz)))
    ctx.model_q[out] = QuantSpec(yf, float(ys), int(yz))
    w = np.asarray(init[n.input[3]]).astype(np.int64)
    f = parse_format(wf_name)
    per = ws.ndim and ws.size > 1
    s_w = ws if per else float(ws.ravel()[0])
    z_w = wz if per else int(wz.ravel()[0])
    codes = ints_to_codes(w, f.bits, f.code_dtype)
    if op == "QLinearConv":
        wq = QTensor(codes, f, s_w, z_w, axis=0 if per else None)
        bq = np.asarray(init[n.input[8]]).astype(np.int64) if len(n.input) > 8 and n.input[8] else None
        bf = None if bq is None else bq * (float(xs) * s_w)
        ctx.net.add("Conv", [src], out, name=nm, wq=wq, bq=bq, bias=bf, **conv_attrs(a))
    else:
        wq = QTensor(codes, f, s_w, z_w, axis=1 if per else None)
        ctx.net.add("Gemm", [src], out, name=nm, wq=wq)


def _import_integer(ctx, n, a, nm):
    op = n.op_type
    xz = ctx.const_int(n.input[2] if len(n.input) > 2 else "")
    wz = ctx.const_int(n.input[3] if len(n.input) > 3 else "")
    if xz.size > 1:
        raise UnsupportedModelError(f"{op} {nm}: per-row input zero points")
    w = np.asarray(ctx.init.get(n.input[1]))
    if w is None or w.dtype.kind not in "iu":
        raise UnsupportedModelError(f"{op} {nm}: weights must be an integer initializer")
    f = parse_format(ONNX_TYPE_FORMATS[np_onnx_type(w)])
    src, model_q = ctx.canon(n.input[0]), ctx.model_q
    if src in ctx.code_inputs and src not in model_q:
        model_q[src] = ctx.code_inputs[src]
    if src not in model_q:
        raise UnsupportedModelError(f"{op} {nm}: input {src!r} must be an integer graph input "
                                    "or a QuantizeLinear output")
    xq = model_q[src]
    merge_q(model_q, src, QuantSpec(xq.fmt, xq.scale, int(xz.ravel()[0])), allow_zp=True)
    per = wz.size > 1
    conv = op == "ConvInteger"
    wq = QTensor(ints_to_codes(w.astype(np.int64), f.bits, f.code_dtype), f, 1.0,
                 wz if per else int(wz.ravel()[0]), axis=(0 if conv else 1) if per else None)
    model_q[n.output[0]] = QuantSpec("int32", 1.0, 0)
    ctx.net.add("Conv" if conv else "Gemm", [src], n.output[0], name=nm, wq=wq,
                **(conv_attrs(a) if conv else {}))


def _skip(ctx, n, a, nm):
    """QuantizeLinear / DequantizeLinear / Constant: consumed by :func:`analyse_qdq`."""


#: import handlers of the quantization ops (same signature as the registry's)
QUANT_IMPORTERS = {"QLinearConv": _import_qlinear, "QLinearMatMul": _import_qlinear,
                   "ConvInteger": _import_integer, "MatMulInteger": _import_integer,
                   "QuantizeLinear": _skip, "DequantizeLinear": _skip, "Constant": _skip}

#: extra attribute checks of the quantization ops
QUANT_CHECKS = {"QLinearConv": kernel_problems, "ConvInteger": kernel_problems}
