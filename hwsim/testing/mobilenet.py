"""A seeded MobileNetV3-style block built with ``onnx.helper`` (issue 9), as exporters
write it: 1x1 expansion Conv + BatchNormalization + HardSwish, 3x3 depthwise Conv +
HardSwish, squeeze-and-excite (GlobalAveragePool, 1x1 Conv, Relu, 1x1 Conv,
HardSigmoid, ``Mul`` of the feature map by the [N, C, 1, 1] gate), 1x1 projection Conv
and the residual ``Add``.  ``hswish="mul"`` writes HardSwish out as ``x * HardSigmoid(x)``
(PyTorch's export before opset 14) and ``hswish="op"`` uses the ONNX op.  Needs ``onnx``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mobilenetv3_block"]


def mobilenetv3_block(channels=16, expand=32, size=16, seed=0, hswish="mul", opset=14):
    """The ONNX ModelProto of one block; input ``x`` [1, channels, size, size]."""
    from onnx import TensorProto, helper, numpy_helper

    if hswish not in ("mul", "op"):
        raise ValueError(f"hswish must be 'mul' or 'op', got {hswish!r}")
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name, v):
        inits.append(numpy_helper.from_array(np.asarray(v, np.float32), name))
        return name

    def w(name, shape):
        fan_in = int(np.prod(shape[1:]))
        return const(name, rng.normal(size=shape) * np.sqrt(2.0 / fan_in))

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def hs(x, tag):
        if hswish == "op":
            return node("HardSwish", [x], f"{tag}_hswish")
        g = node("HardSigmoid", [x], f"{tag}_hsig", alpha=1.0 / 6, beta=0.5)
        return node("Mul", [x, g], f"{tag}_hswish")

    se = max(expand // 4, 1)
    t = node("Conv", ["x", w("w_exp", (expand, channels, 1, 1))], "expand")
    bn = [const(f"bn_{k}", v) for k, v in (("s", 1 + 0.1 * rng.normal(size=expand)),
                                            ("b", 0.1 * rng.normal(size=expand)),
                                            ("m", 0.1 * rng.normal(size=expand)),
                                            ("v", 1 + 0.1 * rng.random(expand)))]
    t = hs(node("BatchNormalization", [t] + bn, "expand_bn", epsilon=1e-5), "expand")
    t = hs(node("Conv", [t, w("w_dw", (expand, 1, 3, 3)), const("b_dw", 0.1 * rng.normal(size=expand))],
                "dw", group=expand, pads=[1, 1, 1, 1]), "dw")
    s = node("GlobalAveragePool", [t], "se_pool")
    s = node("Relu", [node("Conv", [s, w("w_se1", (se, expand, 1, 1)),
                                    const("b_se1", 0.1 * rng.normal(size=se))], "se_fc1")], "se_relu")
    s = node("Conv", [s, w("w_se2", (expand, se, 1, 1)), const("b_se2", 0.1 * rng.normal(size=expand))],
             "se_fc2")
    s = node("HardSigmoid", [s], "se_gate", alpha=1.0 / 6, beta=0.5)
    t = node("Mul", [t, s], "se_scale")
    t = node("Conv", [t, w("w_proj", (channels, expand, 1, 1))], "project")
    node("Add", [t, "x"], "y")
    shape = [1, channels, size, size]
    g = helper.make_graph(nodes, "mobilenetv3_block",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m
