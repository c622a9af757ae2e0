"""Helpers for op tests: one-node (or few-node) ONNX models run by onnxruntime and hwsim."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from hwsim.network import load_onnx

F32 = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=13):
    """A ModelProto: ``inputs`` / ``outputs`` are (name, shape) or (name, shape, type)."""
    def vi(t):
        name, shape = t[0], t[1]
        return helper.make_tensor_value_info(name, t[2] if len(t) > 2 else F32, shape)

    g = helper.make_graph(list(nodes), "g", [vi(t) for t in inputs], [vi(t) for t in outputs],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 21 else 10
    return m


def ort_run(m, feeds) -> list:
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def check_float(m, feeds, rtol=1e-5, atol=1e-5, exact=False):
    """hwsim's float64 run of ``m`` against onnxruntime's float32 run (every output)."""
    want = ort_run(m, feeds)
    net = load_onnx(m)
    got = net.reference(feeds if len(feeds) > 1 else next(iter(feeds.values())))
    for o, w in zip(m.graph.output, want):
        g = got[net.outputs[[x.name for x in m.graph.output].index(o.name)]]
        assert g.shape == w.shape, (o.name, g.shape, w.shape)
        if exact:
            assert np.array_equal(g, w.astype(np.float64)), o.name
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=o.name)
    return net


def quant_run(net, x, config=None, seed=0):
    """Calibrate on ``x`` and run quantized (int8 default): the RunResult with tensors."""
    if config is not None:
        net.set_config(config)
    net.calibrate([x])
    return net.run(x, keep=True)
