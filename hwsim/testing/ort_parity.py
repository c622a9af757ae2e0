"""hwsim against onnxruntime, tensor by tensor, on a QDQ model (issue 9).

:func:`quantize_qdq` quantizes a float ONNX model with onnxruntime's ``quantize_static``
(QDQ format, seeded calibration inputs).  :func:`compare_layers` runs the QDQ model in
onnxruntime with every ``QuantizeLinear`` output added as a graph output (so its codes
can be read) and in hwsim, and returns one :class:`LayerParity` per quantized tensor:
hwsim's op, the kernel onnxruntime ran for it (read from the optimized graph onnxruntime
wrote), whether the layer's inputs were already identical, and how many codes differ.

:data:`EXACT_ORT_KERNELS` is the one list of onnxruntime kernels whose codes hwsim
reproduces bit for bit when the inputs are identical; :func:`exact_failures` checks it.
Widen it when hwsim models more of onnxruntime (the QLinear contrib ops, float32
element-wise islands).  Needs ``onnx`` and ``onnxruntime``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

__all__ = ["EXACT_ORT_KERNELS", "LayerParity", "quantize_qdq", "compare_layers",
           "exact_failures", "parity_table"]

#: onnxruntime kernels (op types of its optimized graph; ``QuantizeLinear(input)`` is
#: the quantization of a graph input) whose output codes hwsim must reproduce bit for
#: bit whenever the layer's input codes are identical: integer MAC kernels with MLAS
#: requantization, and data movement on codes.  The integrator widens this list when
#: hwsim models more of onnxruntime (QLinearAdd / QLinearMul / QLinearSigmoid /
#: QLinearSoftmax / QLinearConcat / QLinearGlobalAveragePool / QLinearLeakyRelu, and
#: ``QuantizeLinear<-Op`` float32 islands).
EXACT_ORT_KERNELS = frozenset({
    "QuantizeLinear(input)",
    "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger",
    "MaxPool", "NhwcMaxPool",
    "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Split",
    "Slice", "Gather", "Concat", "Resize",
    # onnxruntime's QLinear contrib kernels (hwsim.ops.ort_numerics, tests/ops/test_qlinear_ort.py)
    "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu",
    "QLinearGlobalAveragePool", "QLinearAveragePool", "QLinearConcat", "QLinearSoftmax",
    # element-wise float32 islands tested against onnxruntime there
    "QuantizeLinear<-Relu", "QuantizeLinear<-Clip", "QuantizeLinear<-Sub",
    "QuantizeLinear<-Div", "QuantizeLinear<-Max", "QuantizeLinear<-MaxPool",
    "QuantizeLinear<-GlobalMaxPool", "QuantizeLinear<-Transpose",
    "QuantizeLinear<-HardSigmoid", "QuantizeLinear<-Tanh",
})


@dataclass
class LayerParity:
    """One quantized tensor: hwsim's producer and onnxruntime's kernel, codes compared."""

    tensor: str          #: hwsim tensor (the float tensor behind the QuantizeLinear)
    node: str            #: hwsim node producing it ("" for a graph input)
    op: str              #: hwsim op type ("input" for a graph input)
    ort_kernel: str      #: onnxruntime's kernel; ``QuantizeLinear<-Op``: a float32 island
    inputs_same: bool    #: every input of the layer had identical codes in both runs
    mismatches: int      #: codes that differ (over all runs)
    size: int            #: codes compared
    max_diff: int        #: largest |code difference|

    @property
    def exact(self) -> bool:
        return self.mismatches == 0

    @property
    def asserted(self) -> bool:
        """Is this layer in the bit-exact contract (:data:`EXACT_ORT_KERNELS`)?"""
        return self.ort_kernel in EXACT_ORT_KERNELS and self.inputs_same


def quantize_qdq(model, calibration, activation="uint8", reduce_range=True, per_channel=False):
    """``quantize_static`` of a float ModelProto (QDQ, int8 weights, ``activation`` "uint8"
    or "int8"); ``calibration``: a list of input dicts.  Returns the QDQ ModelProto."""
    import logging

    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    if activation not in ("uint8", "int8"):
        raise ValueError(f"activation must be 'uint8' or 'int8', got {activation!r}")

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calibration)

        def get_next(self):
            return next(self.it, None)

    act = QuantType.QUInt8 if activation == "uint8" else QuantType.QInt8
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "f.onnx"), os.path.join(d, "q.onnx")
        onnx.save(model, src)
        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" notices
        try:
            quantize_static(src, dst, _Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=act, weight_type=QuantType.QInt8,
                            reduce_range=reduce_range, per_channel=per_channel)
        finally:
            logging.getLogger().setLevel(level)
        return onnx.load(dst)


def _ort_session(qmodel, names):
    """(session over ``qmodel`` with ``names`` added as outputs, {tensor: producer kernel}
    in the graph onnxruntime optimized)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    m = onnx.ModelProto()
    m.CopyFrom(qmodel)
    have = {o.name for o in m.graph.output}
    for t, elem in names.items():
        if t not in have:
            m.graph.output.append(helper.make_tensor_value_info(t, elem, None))
    with tempfile.TemporaryDirectory() as d:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.optimized_model_filepath = os.path.join(d, "opt.onnx")
        sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        opt = onnx.load(so.optimized_model_filepath)
    producer = {o: n for n in opt.graph.node for o in n.output}
    inputs = {i.name for i in opt.graph.input}
    original = {o: n.op_type for n in qmodel.graph.node for o in n.output}
    kernels = {}
    for t in names:
        n = producer.get(t)
        # layout Transposes onnxruntime inserted around its NHWC kernels: the kernel is upstream
        while n is not None and n.op_type == "Transpose" and original.get(n.output[0]) != "Transpose":
            n = producer.get(n.input[0])
        if n is None:
            kernels[t] = "?"
        elif n.op_type == "QuantizeLinear":
            up = producer.get(n.input[0])
            kernels[t] = ("QuantizeLinear(input)" if n.input[0] in inputs else
                          f"QuantizeLinear<-{up.op_type if up is not None else '?'}")
        else:
            kernels[t] = n.op_type
    return sess, kernels


def _q_outputs(qmodel):
    """{QuantizeLinear output: (its float source, ONNX element type of its codes)}."""
    zp_types = {t.name: t.data_type for t in qmodel.graph.initializer}
    out = {}
    for n in qmodel.graph.node:
        if n.op_type == "QuantizeLinear":
            zp = n.input[2] if len(n.input) > 2 else ""
            out[n.output[0]] = (n.input[0], zp_types.get(zp, 2))
    return out


def compare_layers(qmodel, feeds, config=None, isolate=False) -> list:
    """Run ``qmodel`` (QDQ) on each input dict of ``feeds`` in onnxruntime and in hwsim
    (:func:`hwsim.network.load_onnx` with ``config``) and compare every quantized tensor's
    codes; one :class:`LayerParity` per tensor, in hwsim's node order.

    ``isolate=True`` runs each hwsim layer again on onnxruntime's codes of its inputs
    (where onnxruntime has codes for them), so a layer is judged on its own even when an
    upstream layer differs; float32 tensors (no QuantizeLinear) are computed by hwsim
    from those codes.  ``config`` must keep the model's integer quantizations
    (``"model"`` formats; the MAC unit, order and requantization style may change)."""
    from ..network import load_onnx

    qouts = _q_outputs(qmodel)
    sess, kernels = _ort_session(qmodel, {t: e for t, (_, e) in qouts.items()})
    net = load_onnx(qmodel, config=config)
    canon = {}
    for t, (src, _) in qouts.items():
        while src in qouts:  # QuantizeLinear of a QuantizeLinear output (requantize)
            src = qouts[src][0]
        canon.setdefault(_canon_name(qmodel, src), t)
    ort_names = [o.name for o in sess.get_outputs()]
    producer = {o: n for n in net.nodes for o in n.outputs}
    runs = []
    for feed in feeds:
        got = dict(zip(ort_names, sess.run(None, feed)))
        r = net.run(feed, keep=True, reference=False)
        mine = _isolated(net, canon, got, r.tensors) if isolate else r.tensors
        runs.append({t: (np.asarray(got[q]).astype(np.int64), mine[t].ints())
                     for t, q in canon.items() if t in mine})
    return _parities(net, canon, kernels, producer, runs, isolate)


def _isolated(net, canon, got, tensors) -> dict:
    """Every node's output computed from onnxruntime's codes of its inputs, dispatched as
    a run does (:func:`hwsim.network.executor.execute_node`: onnxruntime's kernel where the
    layer says ``elementwise="ort"``)."""
    from ..network.executor import execute_node
    from ..ops import ExecArgs
    from ..tensors import QTensor, ints_to_codes

    plan = net.plan()

    def theirs(t):
        if t not in canon:  # a float32 tensor: computed here from onnxruntime's codes
            return out[t]
        q = plan.tensors[t]
        ints = np.asarray(got[canon[t]]).astype(np.int64)
        return QTensor(ints_to_codes(ints, q.fmt.bits, q.fmt.code_dtype), q.fmt, q.scale,
                       q.zero_point)

    out = {t: tensors[t] for t in net.inputs}
    for n in net.nodes:
        args = ExecArgs(out_q=plan.tensors[n.outputs[0]], config=net.layer_config(n),
                        layer=plan.layers.get(n.name), mac_stats=False)
        out[n.outputs[0]] = execute_node(n, [theirs(i) for i in n.inputs], args)[0]
    return out


def _canon_name(qmodel, t):
    """The float tensor behind DequantizeLinear outputs (hwsim's tensor names)."""
    dq = {n.output[0]: n.input[0] for n in qmodel.graph.node if n.op_type == "DequantizeLinear"}
    q = {n.output[0]: n.input[0] for n in qmodel.graph.node if n.op_type == "QuantizeLinear"}
    while t in dq or t in q:
        t = dq.get(t, q.get(t))
    return t


def _parities(net, canon, kernels, producer, runs, isolate=False):
    same = {t: isolate or all(np.array_equal(a, b) for run in runs for a, b in [run[t]])
            for t in canon if t in runs[0]}
    order = list(net.inputs) + [o for n in net.nodes for o in n.outputs]
    out = []
    for t in (t for t in order if t in same):
        n = producer.get(t)
        ins = [] if n is None else n.inputs
        inputs_same = all(same.get(i, i in net.inputs) for i in ins)
        diffs = [np.abs(a - b) for run in runs for a, b in [run[t]]]
        out.append(LayerParity(
            tensor=t, node="" if n is None else n.name, op="input" if n is None else n.op,
            ort_kernel=kernels[canon[t]], inputs_same=bool(inputs_same),
            mismatches=int(sum(int(np.count_nonzero(d)) for d in diffs)),
            size=int(sum(d.size for d in diffs)),
            max_diff=int(max((int(d.max(initial=0)) for d in diffs), default=0))))
    return out


def exact_failures(parities) -> list:
    """The layers in the bit-exact contract whose codes differ (empty: all exact)."""
    return [p for p in parities if p.asserted and not p.exact]


def parity_table(parities) -> str:
    """A plain-text table, one line per layer."""
    rows = [f"{'node':<16} {'hwsim op':<12} {'onnxruntime kernel':<28} {'in=':<4} "
            f"{'differ':>12} {'max':>4}"]
    for p in parities:
        rows.append(f"{p.node or p.tensor:<16} {p.op:<12} {p.ort_kernel:<28} "
                    f"{'yes' if p.inputs_same else 'no':<4} {p.mismatches:>5}/{p.size:<6} "
                    f"{p.max_diff:>4}")
    return "\n".join(rows)
