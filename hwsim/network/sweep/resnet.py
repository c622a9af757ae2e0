"""A small ResNet-style digits classifier for sweeps, searches and their tests.

Stem Conv 3x3 (1 -> C) + ReLU, a residual block at C channels, a residual block
down to 4x4 with 2C channels (stride 2, 1x1 projection shortcut), Flatten, Gemm
(2C x 16 -> 10): 7 MAC layers, two residual Adds.  The convolutions keep their
seeded random (He-scaled) weights, a random-feature trunk; the Gemm head is fit
by ridge regression (closed form, one-hot targets) on the float features of the
digits training split.  So the model is deterministic, builds in well under a
second, and classifies the digits test split well enough (about 95 % top-1) for
accuracy to mean something.  Needs the ``onnx`` and ``scikit-learn`` packages.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["resnet_digits"]


def _graph(width, rng, head_w, head_b):
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def conv(x, cin, cout, k, s, relu=True):
        i = len([n for n in nodes if n.op_type == "Conv"])
        w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        b = rng.normal(0, 0.05, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")])
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p]))
        if not relu:
            return f"c{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        return f"r{i}"

    x = conv("x", 1, width, 3, 1)
    cin = width
    for blk, (cout, s) in enumerate(((width, 1), (2 * width, 2))):
        h = conv(conv(x, cin, cout, 3, s), cout, cout, 3, 1, relu=False)
        sc = conv(x, cin, cout, 1, s, relu=False) if (s != 1 or cin != cout) else x
        nodes.append(helper.make_node("Add", [h, sc], [f"add{blk}"], name=f"add{blk}"))
        nodes.append(helper.make_node("Relu", [f"add{blk}"], [f"res{blk}"], name=f"res{blk}"))
        x, cin = f"res{blk}", cout
    nodes.append(helper.make_node("Flatten", [x], ["feat"], name="flatten"))
    inits += [numpy_helper.from_array(head_w.astype(np.float32), "wfc"),
              numpy_helper.from_array(head_b.astype(np.float32), "bfc")]
    nodes.append(helper.make_node("Gemm", ["feat", "wfc", "bfc"], ["y"], transB=1, name="fc"))
    g = helper.make_graph(nodes, "resnet_digits",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _load(model):
    import onnx

    from ..onnx_import import load_onnx

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.onnx")
        onnx.save(model, p)
        return load_onnx(p)


def resnet_digits(width=8, seed=0, ridge=1e-2, path=None):
    """The network (:class:`hwsim.network.Network`, float) and, when ``path`` is
    given, its ONNX file written there."""
    from ..demo import load_data

    xtr, ytr, _, _ = load_data()
    feats = 2 * width * 16
    zero = _graph(width, np.random.default_rng(seed), np.zeros((10, feats)), np.zeros(10))
    f = np.asarray(_load(zero).reference(xtr)["feat"], np.float64)
    f1 = np.hstack([f, np.ones((len(f), 1))])
    t = np.eye(10)[ytr]
    sol = np.linalg.solve(f1.T @ f1 + ridge * len(f) * np.eye(f1.shape[1]), f1.T @ t)
    model = _graph(width, np.random.default_rng(seed), sol[:-1].T, sol[-1])
    if path is not None:
        import onnx

        onnx.save(model, path)
    return _load(model)
