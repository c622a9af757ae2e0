"""Integer deployments as onnxruntime runs them (``elementwise: "ort"``, issue 9).

With the layer setting ``elementwise = "ort"`` (the default of quantized ONNX models)
the non-MAC ops below compute what onnxruntime 1.32's CPU execution provider computes
for a QDQ graph (its default graph optimizations) or for the com.microsoft QLinear*
ops, bit for bit (:mod:`.ort_numerics`; docs/semantics.md, "onnxruntime's integer
kernels"):

* fused by onnxruntime into QLinear* kernels: Add, Mul (QLinearAdd / QLinearMul),
  Sigmoid, LeakyRelu (QLinearSigmoid / QLinearLeakyRelu tables), GlobalAveragePool,
  AveragePool, Concat, Softmax (QLinearGlobalAveragePool / AveragePool / Concat /
  Softmax);
* left as ``DequantizeLinear -> float32 op -> QuantizeLinear`` (float32 islands) and
  modelled exactly: Relu, Clip, Sub, Div, Min, Max, MaxPool, GlobalMaxPool, HardSigmoid,
  HardSwish, Tanh (MLAS's FMA3 rational kernel) and the data movement ops; each island is ``quantize_linear(f32(op(dequantize(x))))``.

Every other op reports why it is not modelled (:func:`ort_parity`).  An op runs here only
when its inputs and output are 8-bit integers with per-tensor scales and no vector unit
is configured; otherwise its own executor runs.  The com.microsoft QLinear* ops are
imported here as the standard ops with the quantization their inputs state.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import UnsupportedModelError
from ..tensors import QTensor, ints_to_codes
from . import ort_numerics as on
from .conv import as_2d, from_2d, node_pads, _pads
from .pool import pool_out_size
from .quant import QuantSpec
from .registry import get_op, onnx_spec, register_onnx
from .softmax import _rows
from .vecops import configured

__all__ = ["ort_kernel", "ort_parity", "ORT_FUSED", "ORT_ISLANDS", "ORT_MODES"]

#: values of the layer setting ``elementwise``
ORT_MODES = ("exact", "ort")
F32 = np.float32

#: ops onnxruntime fuses into an integer QLinear* kernel (QDQ graph, default optimizations)
ORT_FUSED = ("Add", "Mul", "Sigmoid", "LeakyRelu", "GlobalAveragePool", "AveragePool",
             "Concat", "Softmax")
#: float32 islands computed exactly by the float64 reference rounded once to float32
#: (+ - * / max min and selections: float64 then float32 is innocuous double rounding)
_ROUNDED_ONCE = ("Relu", "Clip", "Sub", "Div", "Min", "Max", "MaxPool", "GlobalMaxPool",
                 "Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze", "Transpose", "Slice",
                 "Expand", "Gather")
ORT_ISLANDS = _ROUNDED_ONCE + ("HardSigmoid", "HardSwish", "Tanh")
_MAC = ("Conv", "Gemm", "MatMul")


def _per_tensor_int8(t) -> bool:
    return t.fmt.kind == "int" and t.fmt.bits == 8 and t.axis is None and np.ndim(t.scale) == 0


def _applies(ins, out_q, config) -> bool:
    return (not configured(config) and all(_per_tensor_int8(x) for x in ins)
            and out_q.fmt.kind == "int" and out_q.fmt.bits == 8 and np.ndim(out_q.scale) == 0)


def _sz(t):
    return float(np.asarray(t.scale)), int(np.asarray(t.zero_point))


def _out(y, out_q, like=None):
    f = out_q.fmt
    return QTensor(ints_to_codes(np.asarray(y, np.int64), f.bits, f.code_dtype), f,
                   out_q.scale, int(out_q.zero_point),
                   layout=getattr(like, "layout", "NCHW")), None


def _f32(x):
    s, z = _sz(x)
    return on.dequantize(x.ints(), s, z)


# -- fused QLinear* kernels -------------------------------------------------------------------
def _operands(n, ins, q, values=True):
    """[(integer codes, scale, zero point)] in ONNX input order: the tensor inputs and the
    constants that are dequantized 8-bit codes of the output's format (as onnxruntime
    fuses them into the QLinear kernel); None when a constant is not such codes."""
    consts, cq = n.attrs.get("consts", {}), n.attrs.get("const_q", {})
    if set(consts) - set(cq) or any(c["fmt"] != q.fmt.name for c in cq.values()):
        return None
    if not values:
        return []
    it = iter(ins)
    out = []
    for i in range(len(ins) + len(consts)):
        if i in cq:
            out.append((cq[i]["codes"], cq[i]["scale"], cq[i]["zp"]))
        else:
            x = next(it)
            out.append((x.ints(),) + _sz(x))
    return out


def _binary(n, ins, q):
    ops = _operands(n, ins, q)
    if ops is None or len(ops) != 2:
        return None
    (a, sa, za), (b, sb, zb) = ops
    f = on.qlinear_add if n.op == "Add" else on.qlinear_mul
    return f(a, sa, za, b, sb, zb, float(q.scale), int(q.zero_point), q.fmt)


def _table(n, ins, q):
    x = ins[0]
    s, z = _sz(x)
    allq = np.arange(x.fmt.min_int, x.fmt.max_int + 1)
    v = on.dequantize(allq, s, z)
    if n.op == "Sigmoid":
        y = on.logistic_fma3(v)
    else:
        y = np.where(v >= 0, v, F32(n.attrs.get("alpha", 0.01)) * v)
    table = on.quantize_linear(y, float(q.scale), int(q.zero_point), q.fmt)
    return table[x.ints() - x.fmt.min_int]


def _gap(x, q):
    xi = x.ints()
    hw = int(np.prod(xi.shape[2:]))
    s, z = _sz(x)
    y = on.qlinear_gap(xi.reshape(xi.shape[0], xi.shape[1], -1).sum(axis=2), hw, s, z,
                       float(q.scale), int(q.zero_point), q.fmt)
    return y.reshape(xi.shape[:2] + (1,) * (xi.ndim - 2))


def _avgpool(n, ins, q):
    x = ins[0]
    if n.op == "GlobalAveragePool":
        return _gap(x, q)
    a, xi = n.attrs, as_2d(x.ints())
    (kh, kw), (sh, sw) = a["kernel_shape"], a.get("strides") or (1, 1)
    pt, pl, pb, pr = _pads(node_pads(a, xi.shape, (kh, kw)))
    if (kh, kw) == xi.shape[2:] and not any((pt, pl, pb, pr)):  # onnxruntime: global pool
        return from_2d(_gap(x.with_codes(as_2d(np.asarray(x.codes))), q), x.codes)
    H, W = xi.shape[2:]
    cm = bool(a.get("ceil_mode", 0))
    Ho, Wo = pool_out_size(H, kh, sh, pt, pb, 1, cm), pool_out_size(W, kw, sw, pl, pr, 1, cm)
    s, z = _sz(x)
    x32 = on.dequantize(xi, s, z)
    eh, ew = (Ho - 1) * sh + kh, (Wo - 1) * sw + kw
    padded = np.zeros(xi.shape[:2] + (max(eh, pt + H), max(ew, pl + W)), F32)
    padded[:, :, pt:pt + H, pl:pl + W] = x32
    wins = np.stack([padded[:, :, i:i + (Ho - 1) * sh + 1:sh, j:j + (Wo - 1) * sw + 1:sw]
                     for i in range(kh) for j in range(kw)])
    if a.get("count_include_pad", 0):
        cnt = np.full((Ho, Wo), kh * kw)
    else:  # onnxruntime clips each window to the input: hend = min(hstart + k, H)
        hs, ws = np.arange(Ho) * sh - pt, np.arange(Wo) * sw - pl
        ch = np.minimum(hs + kh, H) - np.maximum(hs, 0)
        cw = np.minimum(ws + kw, W) - np.maximum(ws, 0)
        cnt = ch[:, None] * cw[None, :]
    y = on.qlinear_avgpool(wins, cnt, float(q.scale), int(q.zero_point), q.fmt)
    return from_2d(y, x.codes)


def _concat(n, ins, q):
    if "consts" in n.attrs:
        return None
    parts = []
    for x in ins:
        s, z = _sz(x)
        if F32(s) == F32(q.scale) and z == int(q.zero_point):  # LOOKUP_TABLE_IS_COPY
            parts.append(x.ints())
        else:
            parts.append(on.quantize_linear(_f32(x), float(q.scale), int(q.zero_point), q.fmt))
    return np.concatenate(parts, axis=n.attrs.get("axis", 1))


def _softmax(n, ins, q):
    x = ins[0]
    rows, back = _rows(x.ints(), n)
    table = on.softmax_table(float(np.asarray(x.scale)), rows.shape[1])
    return back(on.qlinear_softmax(rows, table, float(q.scale), int(q.zero_point), q.fmt))


# -- float32 islands --------------------------------------------------------------------------
def _unary32(op, attrs, x):
    """The float32 kernels of the unary islands that are not rounded-once selections."""
    if op == "Tanh":
        return on.tanh_fma3(x)
    al, be = (F32(attrs.get("alpha", 0.2)), F32(attrs.get("beta", 0.5))) \
        if op == "HardSigmoid" else (F32(1 / 6), F32(0.5))
    h = np.minimum(F32(1), np.maximum(F32(0), x * al + be))  # Eigen: no FMA
    return h if op == "HardSigmoid" else x * h


def _island(n, ins, q):
    """``DequantizeLinear -> float32 op -> QuantizeLinear`` (MLAS quantize: divide, rne)."""
    s, z = float(q.scale), int(q.zero_point)
    if n.op in ("Tanh", "HardSigmoid", "HardSwish"):  # one table over the 256 input codes
        x = ins[0]
        allq = np.arange(x.fmt.min_int, x.fmt.max_int + 1)
        table = on.quantize_linear(_unary32(n.op, n.attrs, on.dequantize(allq, *_sz(x))), s, z, q.fmt)
        return table[x.ints() - x.fmt.min_int]
    xs = [_f32(x).astype(np.float64) for x in ins]
    if "consts" in n.attrs:  # onnxruntime's operand is the float32 constant (DequantizeLinear's)
        n = replace(n, attrs={**n.attrs, "consts": {k: np.asarray(v, F32).astype(np.float64)
                                                    for k, v in n.attrs["consts"].items()}})
    y32 = np.asarray(get_op(n.op).reference(n, xs)).astype(F32)
    return on.quantize_linear(y32, s, z, q.fmt)


_KERNELS = {"Add": _binary, "Mul": _binary, "Sigmoid": _table, "LeakyRelu": _table,
            "GlobalAveragePool": _avgpool, "AveragePool": _avgpool, "Concat": _concat,
            "Softmax": _softmax}


def ort_kernel(n, ins, args):
    """``(QTensor, None)`` computed as onnxruntime does, or None when this node is not
    one onnxruntime runs as modelled here (the op's own executor runs then)."""
    if n.op not in _KERNELS and n.op not in ORT_ISLANDS:
        return None
    q = args.out_q
    if not _applies(ins, q, args.config):
        return None
    y = _KERNELS.get(n.op, _island)(n, ins, q)
    return None if y is None else _out(y, q, ins[0])


def ort_parity(n, ins, out_q, config) -> str:
    """One line for the run report: how this layer relates to onnxruntime."""
    if n.op in _MAC:
        if config.requant == "onnx":
            return ("integer kernel + onnx requant (exact where onnxruntime runs QLinearConv / "
                    "QLinearMatMul: docs/architecture.md, 'ONNX import')")
        return f"not onnxruntime (requant {config.requant})"
    if configured(config):
        return "not onnxruntime (vector unit configured)"
    if n.op in ORT_FUSED or n.op in ORT_ISLANDS:
        if not _applies(ins, out_q, config):
            return "not modelled (not 8-bit per-tensor integer)"
        if n.op in ORT_FUSED and "consts" in n.attrs and (n.op not in ("Add", "Mul")
                                                          or _operands(n, [], out_q, False) is None):
            return "not modelled (constant operand that is not 8-bit codes of the output's type)"
        return ("exact (" + ("QLinear kernel" if n.op in ORT_FUSED else "float32 island")
                + ") for onnxruntime on x86-64 AVX2 / FMA3")
    return f"float island not modelled ({n.op}: onnxruntime's float32 kernel is not reproduced)"


# -- com.microsoft QLinear* import ------------------------------------------------------------
_MS_LAYOUT = {  # op -> (std op, data input positions, (scale, zp) positions per data input, out)
    "QLinearAdd": ("Add", (0, 3), ((1, 2), (4, 5)), (6, 7)),
    "QLinearMul": ("Mul", (0, 3), ((1, 2), (4, 5)), (6, 7)),
    "QLinearSigmoid": ("Sigmoid", (0,), ((1, 2),), (3, 4)),
    "QLinearLeakyRelu": ("LeakyRelu", (0,), ((1, 2),), (3, 4)),
    "QLinearGlobalAveragePool": ("GlobalAveragePool", (0,), ((1, 2),), (3, 4)),
    "QLinearAveragePool": ("AveragePool", (0,), ((1, 2),), (3, 4)),
    "QLinearSoftmax": ("Softmax", (0,), ((1, 2),), (3, 4)),
}
_MS_ATTRS = {"QLinearAdd": (), "QLinearMul": (), "QLinearSigmoid": (), "QLinearLeakyRelu": ("alpha",),
             "QLinearGlobalAveragePool": ("channels_last",), "QLinearSoftmax": ("axis", "opset"),
             "QLinearAveragePool": ("auto_pad", "ceil_mode", "channels_last", "count_include_pad",
                                    "kernel_shape", "pads", "strides"),
             "QLinearConcat": ("axis",)}


def _set_q(ctx, t, sc, zp, what):
    """The per-tensor quantization a QLinear* op states for tensor ``t``."""
    s = ctx.init.get(sc)
    z = ctx.init.get(zp) if zp else np.zeros((), np.uint8)
    if s is None or z is None:
        raise UnsupportedModelError(f"{what}: scale and zero point must be constants")
    fmt = {"uint8": "uint8", "int8": "int8"}.get(str(np.asarray(z).dtype))
    if np.size(s) != 1 or np.size(z) != 1 or fmt is None:
        raise UnsupportedModelError(f"{what}: a per-tensor scale and a uint8 / int8 zero point "
                                    f"are supported, got {np.shape(s)} / {np.asarray(z).dtype}")
    tq = QuantSpec(fmt, float(np.asarray(s).ravel()[0]), int(np.asarray(z).ravel()[0]))
    old = ctx.model_q.get(t)
    if old is not None and old != tq:
        raise UnsupportedModelError(f"{what}: tensor {t!r} has two quantizations: {old} and {tq}")
    ctx.model_q[t] = tq


def _import_ms(ctx, n, a, nm):
    from onnx import helper  # optional dependency (onnx): only ONNX import needs it

    if a.get("channels_last", 0):
        raise UnsupportedModelError(f"{n.op_type} {nm}: channels_last=1 is not supported")
    get = lambda i: n.input[i] if len(n.input) > i else ""  # noqa: E731
    if n.op_type == "QLinearConcat":
        std, data = "Concat", tuple(range(2, len(n.input), 3))
        qpos, out = tuple((i + 1, i + 2) for i in data), (0, 1)
    else:
        std, data, qpos, out = _MS_LAYOUT[n.op_type]
    for i, (si, zi) in zip(data, qpos):
        _set_q(ctx, ctx.canon(n.input[i]), get(si), get(zi), f"{n.op_type} {nm} input {i}")
    _set_q(ctx, n.output[0], get(out[0]), get(out[1]), f"{n.op_type} {nm} output")
    attrs = {k: v for k, v in a.items() if k not in ("channels_last", "opset")}
    node = helper.make_node(std, [n.input[i] for i in data], list(n.output), name=nm, **attrs)
    opset = ctx.opset
    if n.op_type == "QLinearSoftmax":
        ctx.opset = int(a.get("opset", 13))
    try:
        onnx_spec(std).importer(ctx, node, attrs, nm)
    finally:
        ctx.opset = opset


for _t in _MS_ATTRS:
    register_onnx(_t, _MS_ATTRS[_t], _import_ms, domain="com.microsoft")
