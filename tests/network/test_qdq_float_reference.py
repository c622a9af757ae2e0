"""The float reference of a QDQ model applies the ReLUs folded into QuantizeLinear's clamp
(issue 9 item 5; docs/semantics.md, "The float reference of a quantized model")."""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from onnx_case import model

from hwsim.network import load_onnx
from hwsim.network.executor import sqnr
from hwsim.network.floatrun import reference_run
from hwsim.network.onnx_quant import relu_clamps
from hwsim.ops.quant import QuantSpec
from hwsim.testing.ort_parity import quantize_qdq


@pytest.mark.parametrize("q,clamped", [
    (QuantSpec("uint8", 0.1, 0), True), (QuantSpec("int8", 0.1, -128), True),
    (QuantSpec("uint8", 0.1, 1), False), (QuantSpec("int8", 0.1, 0), False),
    (QuantSpec("int8", 0.1, -127), False), (QuantSpec("uint4", 0.5, 0), True),
    (QuantSpec("int32", 1.0, 0), False), (QuantSpec("float8_e4m3fn", 1.0, 0), False),
    (QuantSpec("float32", 1.0, 0), False)])
def test_clamp_rule(q, clamped):
    """max(x, 0) exactly where the zero point is the integer format's minimum."""
    assert relu_clamps({"t": q}, {"t"}) == ({"t": 0.0} if clamped else {})
    assert relu_clamps({"t": q}, set()) == {}  # graph inputs are never clamped


def test_reference_run_applies_the_clamp():
    net = load_onnx(model([helper.make_node("Identity", ["x"], ["y"])], [("x", [4])],
                          [("y", [4])]))
    x = np.array([-2.0, -0.0, 3.0, np.nan])
    net.reference_clamps = {"y": 0.0}
    y = reference_run(net, x)["y"]
    assert np.array_equal(y[:3], [0.0, 0.0, 3.0]) and np.isnan(y[3])
    net.reference_clamps = {}
    assert reference_run(net, x)["y"][0] == -2.0


def _conv_relu_model(rng):
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 8).astype(np.float32)
    w2 = rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1] * 4),
             helper.make_node("Relu", ["c2"], ["r2"])]
    return model(nodes, [("x", [1, 3, 8, 8])], [("r2", [1, 8, 8, 8])],
                 {"w1": w1, "b1": b1, "w2": w2}, opset=17)


def _with_dequantized_weights(f, q):
    """The float model with the QDQ model's weights and biases as onnxruntime dequantizes
    them (DequantizeLinear outputs read from an onnxruntime run)."""
    consts = {t.name for t in q.graph.initializer}
    dq = [n.output[0] for n in q.graph.node
          if n.op_type == "DequantizeLinear" and n.input[0] in consts]
    m = q.__class__()
    m.CopyFrom(q)
    m.graph.output.extend(helper.make_tensor_value_info(t, 1, None) for t in dq)
    x = np.zeros((1, 3, 8, 8), np.float32)
    vals = dict(zip(dq, ort.InferenceSession(m.SerializeToString()).run(dq, {"x": x})))
    qconvs = [n for n in q.graph.node if n.op_type == "Conv"]
    new = {fi: vals[qi] for fn, qn in zip([n for n in f.graph.node if n.op_type == "Conv"], qconvs)
           for fi, qi in zip(fn.input[1:], qn.input[1:])}
    g = f.__class__()
    g.CopyFrom(f)
    for init in g.graph.initializer:
        init.CopyFrom(numpy_helper.from_array(new[init.name], init.name))
    return g


@pytest.mark.parametrize("act", ["uint8", "int8"])
def test_per_layer_sqnr_of_quantize_static_model(act):
    """Conv -> Relu -> Conv -> Relu quantized by quantize_static (QDQ): the Relus are
    folded into QuantizeLinear (zero point at qmin).  hwsim's float reference is the float
    model with the QDQ model's dequantized weights (onnxruntime float32 run of it: within
    float32 rounding), Relus included, so the per-layer SQNR is the activation
    quantization error: 41.6 / 38.1 dB for the two layers here (onnxruntime's codes, which
    hwsim's are, against the original float model also count the 7-bit weights' error:
    36.3 / 30.1 dB); without the clamps it would read below 10 dB, as issue 9 found."""
    rng = np.random.default_rng(0)
    f = _conv_relu_model(rng)
    q = quantize_qdq(f, [{"x": rng.normal(size=(1, 3, 8, 8)).astype(np.float32)}
                         for _ in range(8)], act)
    assert "Relu" not in {n.op_type for n in q.graph.node}  # folded by the quantizer
    x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
    fw = _with_dequantized_weights(f, q)
    for m in (f, fw):
        m.graph.output.append(helper.make_tensor_value_info("r1", 1, None))
    want_f = ort.InferenceSession(f.SerializeToString()).run(["r1", "r2"], {"x": x})
    want_w = ort.InferenceSession(fw.SerializeToString()).run(["r1", "r2"], {"x": x})
    net = load_onnx(q)
    r = net.run(x, keep=True)
    assert any("max(x, 0) at 2 " in w for w in net.source["rewrites"])
    for node, wf, ww in zip(net.nodes, want_f, want_w):
        t = node.outputs[0]
        ref = r.reference[t]
        assert ref.min() == 0 and sqnr(ww, ref) > 120  # the float function, Relu included
        got = r.tensors[t].values()
        db = r.stats[node.name]["sqnr_db"]
        assert abs(db - sqnr(ww, got)) < 1e-3 and db > 38, db
        assert 25 < sqnr(wf, got) < db  # against the original float model
    net.reference_clamps = {}
    assert max(net.run(x).stats[n.name]["sqnr_db"] for n in net.nodes) < 10
