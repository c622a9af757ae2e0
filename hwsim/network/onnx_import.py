"""ONNX import: QDQ models, QLinear* / *Integer models, and float models.

* **QDQ** (``onnxruntime.quantization.quantize_static`` with ``QuantFormat.QDQ``):
  every ``QuantizeLinear -> DequantizeLinear`` pair on an activation becomes the
  quantization of that tensor; ``DequantizeLinear`` on an initializer gives
  quantized weights (per-channel ``axis`` allowed) or an int32 bias.
* **QLinearConv / QLinearMatMul**: weights, bias and the input / output
  quantization come from the operator's inputs.
* **ConvInteger / MatMulInteger**: integer inputs (graph inputs of an integer
  type or QuantizeLinear outputs), int32 outputs (the exact accumulator).
* **float models**: weights are float; formats, MAC units and scales come from
  the precision configuration and :meth:`Network.calibrate`.

Anything else raises :class:`UnsupportedModelError` listing every unsupported op
and attribute found, never a silently wrong network.

**Bit-exactness against onnxruntime** (1.32, CPU provider, x86 AVX2 without
VNNI; checked on the ResNet-18-shaped benchmark, ``benchmarks/bench_network.py``):

* uint8 activations, 7-bit weights (``reduce_range=True``): onnxruntime fuses
  every ``DQ -> Conv -> Q`` into QLinearConv and ``DQ -> Add -> Q`` into
  QLinearAdd; config ``mac="int32", requant="onnx"`` gives 1000 of 1000 outputs
  bit-identical (first 7x7 conv and the global average pool included);
* uint8 activations, full-range int8 weights: MLAS multiplies raw codes with
  VPMADDUBSW, adding adjacent K products into int16 with saturation (K order:
  channels innermost).  ``mac="u8s8_avx2", order="kh,kw,cin"`` models it:
  1000 of 1000 (``mac="int32"``: 804);
* int8 activations (the default of ``quantize_static``): onnxruntime rewrites
  int8 ``Q -> DQ`` pairs to uint8 only where the QuantizeLinear feeds a single
  DequantizeLinear; convolutions and additions whose input tensor feeds two
  nodes (the residual-shared MaxPool / Add outputs: 11 of 20 convolutions and
  all 8 additions here) stay ``DequantizeLinear -> float32 op (MLAS SGEMM) ->
  QuantizeLinear``.  Their float32 accumulation differs from the exact integer
  sum only near rounding ties (e.g. 85.49998 -> 85 here, 86 there), so 831 of
  1000 outputs agree; not modelled (it would need MLAS's SGEMM summation order).
"""
from __future__ import annotations

import os

import numpy as np

from ..formats import format as parse_format
from ..qtensor import QTensor, ints_to_codes
from .config import ConfigError, NetworkConfig, load_config
from .graph import Network, TensorQ

__all__ = ["load_onnx", "UnsupportedModelError", "ONNX_TYPE_FORMATS"]


class UnsupportedModelError(ValueError):
    """The ONNX model uses ops or attributes hwsim does not model (all listed)."""


#: ONNX TensorProto element type -> hwsim format name
ONNX_TYPE_FORMATS = {2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
                     17: "float8_e4m3fn", 18: "float8_e4m3fnuz", 19: "float8_e5m2",
                     20: "float8_e5m2fnuz", 21: "uint4", 22: "int4"}

_ALLOWED_ATTRS = {
    "Conv": {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"},
    "ConvInteger": {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"},
    "QLinearConv": {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"},
    "MaxPool": {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "storage_order"},
    "AveragePool": {"kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad",
                    "dilations"},
    "GlobalAveragePool": set(), "Relu": set(), "Clip": {"min", "max"}, "LeakyRelu": {"alpha"},
    "HardSwish": set(), "Add": set(), "Concat": {"axis"}, "Flatten": {"axis"},
    "Reshape": {"allowzero"}, "Identity": set(), "Dropout": {"seed"},
    "Gemm": {"alpha", "beta", "transA", "transB"}, "MatMul": set(), "QLinearMatMul": set(),
    "MatMulInteger": set(), "QuantizeLinear": {"axis", "saturate"},
    "DequantizeLinear": {"axis"}, "Constant": {"value"},
}


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _tensor(numpy_helper, t):
    """An initializer / constant as an array; a corrupt one is an InputFileError."""
    from ..errors import InputFileError

    try:
        return numpy_helper.to_array(t)
    except Exception as e:  # onnx raises ValueError / TypeError / KeyError on corrupt tensors
        raise InputFileError(f"model tensor {t.name!r} cannot be read: {e}") from None


def load_onnx(model, config=None, name=None) -> Network:
    """Build a :class:`Network` from an ONNX model (path, bytes or ModelProto).

    For quantized models (QDQ, QLinear*, *Integer) the default configuration
    keeps the model's formats and scales (``"model"``) with ``requant="onnx"``,
    which reproduces onnxruntime bit for bit.
    """
    import onnx
    from onnx import numpy_helper

    if isinstance(model, onnx.ModelProto):
        m = model
    else:
        from .cli_io import read_model

        m = read_model(model) if isinstance(model, (str, os.PathLike)) else onnx.load(model)
    g = m.graph
    problems: list[str] = []
    for op in m.opset_import:
        if op.domain not in ("", "ai.onnx") and any(n.domain == op.domain for n in g.node):
            problems.append(f"operator domain {op.domain!r} (ops {sorted({n.op_type for n in g.node if n.domain == op.domain})})")
    init = {t.name: _tensor(numpy_helper, t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            a = _attrs(n)
            if "value" not in a:
                problems.append(f"Constant {n.name or n.output[0]}: only 'value' is supported")
                continue
            init[n.output[0]] = _tensor(numpy_helper, a["value"])
    # -- scan for unsupported ops / attributes ----------------------------------
    for n in g.node:
        allowed = _ALLOWED_ATTRS.get(n.op_type)
        if allowed is None or n.domain not in ("", "ai.onnx"):
            problems.append(f"op {n.op_type} (node {n.name or n.output[0]})")
            continue
        a = _attrs(n)
        for k in set(a) - allowed:
            problems.append(f"{n.op_type} attribute {k!r} (node {n.name or n.output[0]})")
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            problems.append(f"{n.op_type} auto_pad={a['auto_pad']!r} (node {n.name}); use explicit pads")
        if n.op_type == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
                                    or a.get("transA", 0)):
            problems.append(f"Gemm alpha/beta != 1 or transA (node {n.name})")
        if n.op_type == "MaxPool" and a.get("storage_order", 0):
            problems.append(f"MaxPool storage_order=1 (node {n.name})")
        if n.op_type in ("AveragePool",) and any(d != 1 for d in a.get("dilations", [1, 1])):
            problems.append(f"AveragePool dilations (node {n.name})")
        if n.op_type in ("Conv", "MaxPool", "AveragePool", "QLinearConv", "ConvInteger") and \
                len(a.get("kernel_shape", [1, 1])) != 2:
            problems.append(f"{n.op_type} with a non-2-D kernel (node {n.name})")
    if problems:
        raise UnsupportedModelError("unsupported ONNX content: " + "; ".join(problems))

    # -- Q / DQ analysis ---------------------------------------------------------------
    canon: dict = {}
    model_q: dict = {}
    dq_const: dict = {}

    def c(t):
        while t in canon:
            t = canon[t]
        return t

    def qparams(scale_name, zp_name, what):
        s = init.get(scale_name)
        if s is None:
            raise UnsupportedModelError(f"{what}: scale {scale_name!r} must be a constant")
        if zp_name and zp_name in init:
            z = init[zp_name]
            fmt = ONNX_TYPE_FORMATS.get(_np_onnx_type(z))
        else:
            z = np.zeros(np.shape(s), np.int64)
            fmt = "uint8"
        if fmt is None:
            raise UnsupportedModelError(f"{what}: zero point type {z.dtype} not supported")
        return np.asarray(s, np.float64), np.asarray(z).astype(np.int64), fmt

    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in init:
            s, z, fmt = qparams(n.input[1], n.input[2] if len(n.input) > 2 else "", f"DequantizeLinear {n.name}")
            q = init[n.input[0]]
            dq_const[n.output[0]] = (q, s, z, fmt, _attrs(n).get("axis", 1))
        elif n.op_type == "QuantizeLinear":
            s, z, fmt = qparams(n.input[1], n.input[2] if len(n.input) > 2 else "", f"QuantizeLinear {n.name}")
            if s.ndim:
                raise UnsupportedModelError(f"QuantizeLinear {n.name}: per-channel activation quantization")
            tq = TensorQ(fmt, float(s), int(z))
            src = c(n.input[0])
            if src in model_q and model_q[src] != tq:
                raise UnsupportedModelError(f"tensor {src!r} quantized twice with different parameters")
            model_q[src] = tq
            canon[n.output[0]] = src
        elif n.op_type == "DequantizeLinear":
            canon[n.output[0]] = c(n.input[0])

    inputs = {}
    code_inputs: dict = {}
    for vi in g.input:
        if vi.name in init:
            continue
        shp = tuple(d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim)
        inputs[vi.name] = shp
        et = vi.type.tensor_type.elem_type
        if et in ONNX_TYPE_FORMATS:
            code_inputs[vi.name] = TensorQ(ONNX_TYPE_FORMATS[et], 1.0, 0)

    quantized = bool(model_q) or bool(dq_const) or bool(code_inputs)
    if config is None:
        cfg = NetworkConfig.from_dict({"defaults": dict(input="model", weight="model", bias="model",
                                                        output="model", requant="onnx")}) \
            if quantized else NetworkConfig()
    else:
        cfg = load_config(config)
    net = Network(inputs, cfg, name=name or (g.name or "onnx"))
    net.model_q = model_q
    net.source = dict(kind="quantized" if quantized else "float", producer=m.producer_name)

    def weight(tname, what):
        """(float weights, QTensor or None)."""
        if tname in dq_const:
            q, s, z, fmt, axis = dq_const[tname]
            f = parse_format(fmt)
            codes = ints_to_codes(q.astype(np.int64), f.bits, f.code_dtype)
            ax = axis if s.ndim else None
            if ax is not None and ax < 0:
                ax += q.ndim
            qt = QTensor(codes, f, s if s.ndim else float(s), z if z.ndim else int(z), axis=ax)
            return qt.values(), qt
        if tname in init and init[tname].dtype.kind == "f":
            return np.asarray(init[tname], np.float64), None
        if tname in init:
            return None, init[tname]
        raise UnsupportedModelError(f"{what}: {tname!r} must be a constant (initializer)")

    def const_int(tname, default=0):
        if not tname:
            return np.asarray(default)
        if tname not in init:
            raise UnsupportedModelError(f"{tname!r} must be a constant")
        return np.asarray(init[tname]).astype(np.int64)

    for idx, n in enumerate(g.node):
        op = n.op_type
        nm = n.name or f"{op}_{idx}"
        a = _attrs(n)
        if op in ("QuantizeLinear", "DequantizeLinear", "Constant"):
            continue
        ins = [c(i) for i in n.input]
        out = n.output[0]
        if op in ("Conv", "Gemm", "MatMul"):
            wf, wq = weight(n.input[1], f"{op} {nm} weights")
            bf = bq = None
            if len(n.input) > 2 and n.input[2]:
                if n.input[2] in dq_const:
                    q, s, z, fmt, _ = dq_const[n.input[2]]
                    bq = q.astype(np.int64)
                    bf = (bq - z) * s
                else:
                    bf, _ = weight(n.input[2], f"{op} {nm} bias")
            if op == "Conv":
                attrs = _conv_attrs(a)
                net.add("Conv", [ins[0]], out, name=nm, weight=wf, bias=bf, wq=wq, bq=bq, **attrs)
            else:
                if a.get("transB", 0):
                    wf = wf.T
                    if wq is not None:
                        wq = QTensor(np.ascontiguousarray(np.asarray(wq.codes).T), wq.fmt, wq.scale,
                                     wq.zero_point, axis=None if wq.axis is None else 1 - wq.axis)
                elif wq is not None and wq.axis == 0 and np.ndim(wq.scale):
                    raise UnsupportedModelError(f"{op} {nm}: weights quantized per input row")
                net.add("Gemm", [ins[0]], out, name=nm, weight=wf, bias=bf, wq=wq, bq=bq)
        elif op in ("QLinearConv", "QLinearMatMul"):
            xs, xz, xf = qparams(n.input[1], n.input[2], f"{op} {nm} input")
            ws, wz, wf_name = qparams(n.input[4], n.input[5], f"{op} {nm} weights")
            ys, yz, yf = qparams(n.input[6], n.input[7], f"{op} {nm} output")
            _merge_q(model_q, ins[0], TensorQ(xf, float(xs), int(xz)))
            model_q[out] = TensorQ(yf, float(ys), int(yz))
            w = np.asarray(init[n.input[3]]).astype(np.int64)
            f = parse_format(wf_name)
            per = ws.ndim and ws.size > 1
            if op == "QLinearConv":
                wq = QTensor(ints_to_codes(w, f.bits, f.code_dtype), f, ws if per else float(ws.ravel()[0]),
                             wz if per else int(wz.ravel()[0]), axis=0 if per else None)
                bq = np.asarray(init[n.input[8]]).astype(np.int64) if len(n.input) > 8 and n.input[8] else None
                bf = None if bq is None else bq * (float(xs) * (ws if per else float(ws.ravel()[0])))
                net.add("Conv", [ins[0]], out, name=nm, wq=wq, bq=bq, bias=bf, **_conv_attrs(a))
            else:
                wq = QTensor(ints_to_codes(w, f.bits, f.code_dtype), f, ws if per else float(ws.ravel()[0]),
                             wz if per else int(wz.ravel()[0]), axis=1 if per else None)
                net.add("Gemm", [ins[0]], out, name=nm, wq=wq)
        elif op in ("ConvInteger", "MatMulInteger"):
            xz = const_int(n.input[2] if len(n.input) > 2 else "")
            wz = const_int(n.input[3] if len(n.input) > 3 else "")
            if xz.size > 1:
                raise UnsupportedModelError(f"{op} {nm}: per-row input zero points")
            w = np.asarray(init.get(n.input[1]))
            if w is None or w.dtype.kind not in "iu":
                raise UnsupportedModelError(f"{op} {nm}: weights must be an integer initializer")
            f = parse_format(ONNX_TYPE_FORMATS[_np_onnx_type(w)])
            src = ins[0]
            if src in code_inputs and src not in model_q:
                model_q[src] = code_inputs[src]
            if src not in model_q:
                raise UnsupportedModelError(f"{op} {nm}: input {src!r} must be an integer graph input "
                                            "or a QuantizeLinear output")
            xq = model_q[src]
            _merge_q(model_q, src, TensorQ(xq.fmt, xq.scale, int(xz.ravel()[0])), allow_zp=True)
            per = wz.size > 1
            wq = QTensor(ints_to_codes(w.astype(np.int64), f.bits, f.code_dtype), f, 1.0,
                         wz if per else int(wz.ravel()[0]), axis=(0 if op == "ConvInteger" else 1) if per else None)
            model_q[out] = TensorQ("int32", 1.0, 0)
            net.add("Conv" if op == "ConvInteger" else "Gemm", [src], out, name=nm, wq=wq,
                    **(_conv_attrs(a) if op == "ConvInteger" else {}))
        elif op == "Relu":
            net.add("Relu", ins[:1], out, name=nm)
        elif op == "Clip":
            lo = a.get("min", -np.inf)
            hi = a.get("max", np.inf)
            if len(n.input) > 1 and n.input[1]:
                lo = float(_const(init, n.input[1], nm))
            if len(n.input) > 2 and n.input[2]:
                hi = float(_const(init, n.input[2], nm))
            net.add("Clip", ins[:1], out, name=nm, min=lo, max=hi)
        elif op == "LeakyRelu":
            net.add("LeakyRelu", ins[:1], out, name=nm, alpha=a.get("alpha", 0.01))
        elif op in ("HardSwish", "GlobalAveragePool", "Identity", "Dropout"):
            net.add("Identity" if op == "Dropout" else op, ins[:1], out, name=nm)
        elif op in ("MaxPool", "AveragePool"):
            attrs = dict(kernel_shape=list(a["kernel_shape"]), strides=list(a.get("strides", [1, 1])),
                         pads=_pads(a.get("pads", [0, 0, 0, 0])), ceil_mode=int(a.get("ceil_mode", 0)))
            if op == "MaxPool":
                attrs["dilations"] = list(a.get("dilations", [1, 1]))
            else:
                attrs["count_include_pad"] = int(a.get("count_include_pad", 0))
            net.add(op, ins[:1], out, name=nm, **attrs)
        elif op in ("Add", "Concat"):
            for i in n.input:
                if i in init or i in dq_const:
                    raise UnsupportedModelError(f"{op} {nm}: constant operands are not supported")
            if op == "Add":
                net.add("Add", ins[:2], out, name=nm)
            else:
                net.add("Concat", ins, out, name=nm, axis=a.get("axis", 1))
        elif op == "Flatten":
            net.add("Flatten", ins[:1], out, name=nm, axis=a.get("axis", 1))
        elif op == "Reshape":
            shp = [int(v) for v in _const(init, n.input[1], nm).ravel()]
            net.add("Reshape", ins[:1], out, name=nm, shape=shp)
        else:  # pragma: no cover - filtered above
            raise UnsupportedModelError(f"op {op}")
    for k, v in code_inputs.items():
        model_q.setdefault(k, v)
    net.code_inputs = set(code_inputs)
    net.outputs = [c(o.name) for o in g.output]
    net.source["output_names"] = {c(o.name): o.name for o in g.output}
    for o in net.outputs:
        if o not in net.inputs and not any(o in nd.outputs for nd in net.nodes):
            raise UnsupportedModelError(f"graph output {o!r} is not produced by a supported node")
    return net


def _np_onnx_type(a) -> int:
    return {np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.uint16): 4,
            np.dtype(np.int16): 5, np.dtype(np.int32): 6}.get(np.asarray(a).dtype, _ml_dtype_code(a))


def _ml_dtype_code(a):
    name = str(np.asarray(a).dtype)
    return {"float8_e4m3fn": 17, "float8_e4m3fnuz": 18, "float8_e5m2": 19, "float8_e5m2fnuz": 20,
            "uint4": 21, "int4": 22}.get(name, -1)


def _merge_q(model_q, t, tq, allow_zp=False):
    old = model_q.get(t)
    if old is not None and old != tq and not allow_zp:
        raise UnsupportedModelError(f"tensor {t!r} has two different quantizations: {old} and {tq}")
    model_q[t] = tq


def _const(init, name, nm):
    if name not in init:
        raise UnsupportedModelError(f"node {nm}: input {name!r} must be a constant")
    return np.asarray(init[name])


def _pads(p):
    p = list(p)
    if len(p) != 4:
        raise UnsupportedModelError(f"pads must have 4 entries for 2-D ops, got {p}")
    return (p[0], p[1], p[2], p[3])  # ONNX: (top, left, bottom, right)


def _conv_attrs(a):
    return dict(strides=list(a.get("strides", [1, 1])), pads=_pads(a.get("pads", [0, 0, 0, 0])),
                dilations=list(a.get("dilations", [1, 1])), group=int(a.get("group", 1)))


_ = ConfigError
