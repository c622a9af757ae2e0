"""ONNX import: a loop over the nodes, each imported by its op's registered handler.

Quantized content (QDQ pairs, QLinear*, *Integer ops) is handled in
:mod:`.onnx_quant`; every other op type by the import handler its module in
:mod:`hwsim.ops` registered.  Float models: formats, MAC units and scales come
from the precision configuration and :meth:`Network.calibrate`.  Anything else
raises :class:`UnsupportedModelError` listing every unsupported op and
attribute found, never a silently wrong network.

Bit-exactness against onnxruntime: see docs/architecture.md ("ONNX import").
"""
from __future__ import annotations

import os
import re
from collections import Counter

import numpy as np

from ..errors import UnsupportedModelError
from ..formats import format as parse_format
from ..ops import onnx_spec
from ..ops.quant import QuantSpec
from ..tensors import QTensor, ints_to_codes
from .cli_io import read_model
from .config import NetworkConfig, load_config
from .graph import Network
from .onnx_fold import fold_constants, folding_available
from .onnx_rewrite import fuse_patterns, read_tensor
from .onnx_shapes import attribute_problems, check_node_shapes, tensor_shapes
from .onnx_quant import (ONNX_TYPE_FORMATS, QUANT_ATTRS, QUANT_CHECKS, QUANT_IMPORTERS, analyse_qdq,
                         float_tensors, relu_clamps)

__all__ = ["load_onnx", "UnsupportedModelError", "ONNX_TYPE_FORMATS", "ImportContext"]

_STD_DOMAINS = ("", "ai.onnx")


def _attrs(node):
    from onnx import helper  # optional dependency (onnx): only ONNX import needs it

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class ImportContext:
    """What an op's import handler sees: the network being built, the constants,
    the quantization found so far, and helpers that resolve tensor names."""

    def __init__(self, net, init, canon, model_q, dq_const, code_inputs, uses=None):
        self.net, self.init, self.model_q = net, init, model_q
        self.dq_const, self.code_inputs, self._canon = dq_const, code_inputs, canon
        self.uses = Counter() if uses is None else uses  #: tensor -> number of consumers
        self.rewrites: list = []  #: hwsim's own rewrites, reported by ``hwsim run``
        self.opset = 13  #: version of the default ONNX domain the model imports
        self.ranks: dict = {}  #: tensor -> rank, where ONNX shape inference knows it

    def producer(self, t):
        """The network node that produces tensor ``t`` (None for graph inputs)."""
        return next((nd for nd in reversed(self.net.nodes) if t in nd.outputs), None)

    def canon(self, t):
        """The float tensor behind QuantizeLinear / DequantizeLinear outputs."""
        while t in self._canon:
            t = self._canon[t]
        return t

    def is_const(self, t) -> bool:
        return t in self.init or t in self.dq_const

    def const(self, name, nm):
        """A constant input: an initializer, or a DequantizeLinear of one (its float32
        value ``(q - zp) * scale``, as DequantizeLinear computes it)."""
        if name in self.dq_const:
            q, s, z, _, axis = self.dq_const[name]
            if s.ndim and s.size > 1:
                shp = [1] * q.ndim
                shp[axis] = -1
                s, z = s.reshape(shp), z.reshape(shp)
            return (q.astype(np.int64) - z).astype(np.float32) * np.asarray(s, np.float32)
        if name not in self.init:
            raise UnsupportedModelError(f"node {nm}: input {name!r} must be a constant")
        return np.asarray(self.init[name])

    def const_int(self, tname, default=0):
        if not tname:
            return np.asarray(default)
        if tname not in self.init:
            raise UnsupportedModelError(f"{tname!r} must be a constant")
        return np.asarray(self.init[tname]).astype(np.int64)

    def weight(self, tname, what):
        """(float weights, QTensor or None) of a constant or dequantized constant."""
        if tname in self.dq_const:
            q, s, z, fmt, axis = self.dq_const[tname]
            f = parse_format(fmt)
            codes = ints_to_codes(q.astype(np.int64), f.bits, f.code_dtype)
            ax = axis if s.ndim else None
            if ax is not None and ax < 0:
                ax += q.ndim
            qt = QTensor(codes, f, s if s.ndim else float(s), z if z.ndim else int(z), axis=ax)
            return qt.values(), qt
        if tname in self.init and self.init[tname].dtype.kind == "f":
            return np.asarray(self.init[tname], np.float64), None
        if tname in self.init:
            return None, self.init[tname]
        raise UnsupportedModelError(f"{what}: {tname!r} must be a constant (initializer)")

    def bias(self, n, nm):
        """(float bias, int32 codes or None) of a MAC node's optional third input."""
        if len(n.input) <= 2 or not n.input[2]:
            return None, None
        if n.input[2] in self.dq_const:
            q, s, z, _, _ = self.dq_const[n.input[2]]
            bq = q.astype(np.int64)
            return (bq - z) * s, bq
        return self.weight(n.input[2], f"{n.op_type} {nm} bias")[0], None


def _spec(op_type):
    """(allowed attributes, import handler, check) of an ONNX op type, or None."""
    if op_type in QUANT_ATTRS:
        return QUANT_ATTRS[op_type], QUANT_IMPORTERS[op_type], QUANT_CHECKS.get(op_type)
    s = onnx_spec(op_type)
    return None if s is None else (s.attrs, s.importer, s.check)


#: ops computed on constants that stay in the graph (they carry quantization)
_KEEP_ON_CONSTANTS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")


def _problems(m, g) -> list:
    """Every unsupported op, domain and attribute of the graph."""
    problems: list[str] = []
    for op in m.opset_import:
        if op.domain not in _STD_DOMAINS and any(n.domain == op.domain for n in g.node):
            ops = sorted({n.op_type for n in g.node if n.domain == op.domain})
            problems.append(f"operator domain {op.domain!r} (ops {ops})")
    consts = {t.name for t in g.initializer}
    for k, n in enumerate(g.node):
        spec = _spec(n.op_type)
        nm = n.name or (n.output[0] if n.output else f"{n.op_type}_{k}")
        if not n.output or (n.op_type != "Constant" and (not n.input or not n.input[0])):
            problems.append(f"{n.op_type} without {'an output' if not n.output else 'a first input'}"
                            f" (node {nm})")
            continue
        if n.op_type not in _KEEP_ON_CONSTANTS and all(i in consts for i in n.input if i):
            consts.update(n.output)
            if n.op_type != "Constant":
                problems.append(f"op {n.op_type} on constants only (node {nm})")
                continue
        if spec is None or n.domain not in _STD_DOMAINS:
            problems.append(f"op {n.op_type} (node {nm})")
            continue
        a = _attrs(n)
        if n.op_type == "Constant" and "value" not in a:
            problems.append(f"Constant: only 'value' is supported (node {nm})")
        for k in set(a) - set(spec[0]):
            problems.append(f"{n.op_type} attribute {k!r} (node {nm})")
        bad = attribute_problems(n.op_type, a, nm)
        problems.extend(bad)
        if spec[2] is not None and not bad:
            problems.extend(spec[2](n.op_type, a, nm))
    return problems


_NODE = re.compile(r" \(node ([^)]*)\)")


def group_problems(problems) -> list:
    """One entry per kind of problem: its count and the first node it was found at."""
    groups: dict = {}
    for p in problems:
        m = _NODE.search(p)
        key = p.replace(m.group(0), "") if m else p
        g = groups.setdefault(key, [0, m.group(1) if m else None])
        g[0] += 1
    return [f"{k}: {c} node{'s' if c > 1 else ''}, first {first!r}" if first is not None else
            (k if c == 1 else f"{k} (x{c})") for k, (c, first) in groups.items()]


def _constants(g) -> dict:
    init = {t.name: read_tensor(t) for t in g.initializer}
    for n in g.node:
        a = _attrs(n) if n.op_type == "Constant" else {}
        if "value" in a:
            init[n.output[0]] = read_tensor(a["value"])
    return init


def _graph_inputs(g, init):
    """(input name -> shape, input name -> declared shape (None: any size),
    integer-typed inputs -> QuantSpec of their codes, int64 index inputs -> int32 codes)."""
    inputs, declared, code_inputs, index_inputs = {}, {}, {}, {}
    for vi in g.input:
        if vi.name in init:
            continue
        dims = vi.type.tensor_type.shape.dim
        shp = tuple(d.dim_value if d.dim_value > 0 else 1 for d in dims)
        inputs[vi.name] = shp
        if vi.type.tensor_type.HasField("shape"):
            declared[vi.name] = tuple(d.dim_value if d.dim_value > 0 else None for d in dims)
        et = vi.type.tensor_type.elem_type
        if et in ONNX_TYPE_FORMATS:
            code_inputs[vi.name] = QuantSpec(ONNX_TYPE_FORMATS[et], 1.0, 0)
        elif et == 7:  # int64: index inputs (token ids for Gather), kept as int32 codes
            index_inputs[vi.name] = QuantSpec("int32", 1.0, 0)
    return inputs, declared, code_inputs, index_inputs


def _default_config(config, quantized):
    if config is not None:
        return load_config(config)
    if quantized:
        return NetworkConfig.from_dict({"defaults": dict(input="model", weight="model", bias="model",
                                                         output="model", requant="onnx")})
    return NetworkConfig()


def _foldable(m):
    """(model, rewrites): the model itself if the registry imports it as it is, else the
    model after constant folding (:mod:`.onnx_fold`); raises listing what is still
    unsupported, grouped by kind with counts and the first node of each."""
    problems = _problems(m, m.graph)
    if not problems:
        return m, []
    note = ""
    if folding_available():
        try:
            folded, removed = fold_constants(m)
        except Exception as e:  # noqa: BLE001 - onnxscript / onnx_ir on a malformed model
            raise UnsupportedModelError(
                f"unsupported ONNX content (constant folding failed: {type(e).__name__}: "
                f"{str(e).splitlines()[0][:200] if str(e) else ''}): "
                + "; ".join(group_problems(problems))) from None
        if removed:
            m, problems = folded, _problems(folded, folded.graph)
            if not problems:
                return m, [f"constant folding (onnxscript): {removed} nodes folded into constants"]
            note = f" (after constant folding removed {removed} nodes)"
    else:
        note = " (constant folding not tried: pip install onnxscript)"
    raise UnsupportedModelError(f"unsupported ONNX content{note}: " + "; ".join(group_problems(problems)))


def load_onnx(model, config=None, name=None) -> Network:
    """Build a :class:`Network` from an ONNX model (path, bytes or ModelProto).

    For quantized models (QDQ, QLinear*, *Integer) the default configuration
    keeps the model's formats and scales (``"model"``) with ``requant="onnx"``,
    which reproduces onnxruntime bit for bit.
    """
    import onnx  # optional dependency (onnx): only ONNX import needs it

    if isinstance(model, onnx.ModelProto):
        m = model
    elif isinstance(model, (str, os.PathLike)):
        m = read_model(model)
    else:
        m = onnx.load(model)
    m, rewrites = _foldable(m)
    shapes = tensor_shapes(m)  # before fusing: shape inference does not know the fused ops
    ranks = {k: len(v) for k, v in shapes.items()}
    m, fused = fuse_patterns(m)  # HardSwish / SiLU / GELU / LayerNorm written out
    rewrites = rewrites + fused
    g = m.graph
    init = _constants(g)
    canon, model_q, dq_const = analyse_qdq(g.node, init, _attrs)
    inputs, declared, code_inputs, index_inputs = _graph_inputs(g, init)
    quantized = bool(model_q) or bool(dq_const) or bool(code_inputs)
    code_inputs.update(index_inputs)
    net = Network(inputs, _default_config(config, quantized), name=name or (g.name or "onnx"))
    net.model_q = model_q
    net.declared_shapes = declared
    net.source = dict(kind="quantized" if quantized else "float", producer=m.producer_name)
    uses = Counter(i for n in g.node for i in n.input) + Counter(o.name for o in g.output)
    ctx = ImportContext(net, init, canon, model_q, dq_const, code_inputs, uses)
    ctx.rewrites.extend(rewrites)
    ctx.opset = next((o.version for o in m.opset_import if o.domain in _STD_DOMAINS), 13)
    ctx.ranks = ranks
    if quantized:  # float32 tensors of the graph (no QuantizeLinear): float32 in hwsim too
        for t in float_tensors(g.node, init, code_inputs):
            model_q.setdefault(t, QuantSpec("float32", 1.0, 0))
    for idx, n in enumerate(g.node):
        _spec(n.op_type)[1](ctx, n, _attrs(n), n.name or f"{n.op_type}_{idx}")
    check_node_shapes(net, shapes)
    net.source["rewrites"] = ctx.rewrites
    for k, v in code_inputs.items():
        model_q.setdefault(k, v)
    net.code_inputs = set(code_inputs)
    net.reference_clamps = relu_clamps(model_q, {o for nd in net.nodes for o in nd.outputs})
    if net.reference_clamps:
        ctx.rewrites.append(f"float reference: max(x, 0) at {len(net.reference_clamps)} "
                            "quantized tensors whose zero point is the format's minimum "
                            "(ReLUs folded into QuantizeLinear)")
    net.outputs = [ctx.canon(o.name) for o in g.output]
    net.source["output_names"] = {ctx.canon(o.name): o.name for o in g.output}
    for o in net.outputs:
        if o not in net.inputs and not any(o in nd.outputs for nd in net.nodes):
            raise UnsupportedModelError(f"graph output {o!r} is not produced by a supported node")
    return net
