"""Seeded ONNX test models built with ``onnx.helper`` (issue 9): a transformer encoder and
a YOLO-style detector, as exporters write them.

:func:`transformer_encoder`: token embeddings through ``Gather`` plus position
embeddings, pre-LayerNorm blocks of multi-head attention (Q / K / V projections,
``Reshape`` / ``Transpose`` into heads, ``MatMul`` between activations, ``Softmax``) and
a GELU MLP, residual ``Add`` s.  :func:`yolo_detector`: Conv + SiLU stages, a C2f-style
``Split`` / ``Concat`` block, SPPF (three chained 5x5 max pools), ``Resize`` nearest and
``Concat`` of two scales, and a head with a distribution-focal box branch (``Softmax``
over 16 bins, expectation by a fixed 1x1 Conv) and a Sigmoid class branch.  Options
replace the parts that need other ops (``layernorm``, ``gelu``, ``silu``, ``bias``), so
sub-models can be built from fewer op types.  Needs ``onnx``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["transformer_encoder", "yolo_detector"]


class _G:
    """A graph under construction: nodes, initializers, unique names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.k = [], {}, 0

    def name(self, p):
        self.k += 1
        return f"{p}{self.k}"

    def const(self, v, p="c"):
        n = self.name(p)
        self.inits[n] = np.asarray(v)
        return n

    def w(self, shape, fan_in, p="w"):
        return self.const((self.rng.normal(size=shape) / np.sqrt(fan_in)).astype(np.float32), p)

    def op(self, op, ins, n_out=1, **attrs):
        from onnx import helper

        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(ins), outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, inputs, outputs, opset, name):
        from onnx import helper, numpy_helper

        g = helper.make_graph(self.nodes, name, inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in self.inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m


def _layernorm(g, x, d, decomposed):
    gamma = g.const((1 + 0.1 * g.rng.normal(size=d)).astype(np.float32), "ln_g")
    beta = g.const((0.1 * g.rng.normal(size=d)).astype(np.float32), "ln_b")
    if not decomposed:
        return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)
    mu = g.op("ReduceMean", [x], axes=[-1])
    c = g.op("Sub", [x, mu])
    var = g.op("ReduceMean", [g.op("Pow", [c, g.const(np.float32(2))])], axes=[-1])
    sd = g.op("Sqrt", [g.op("Add", [var, g.const(np.float32(1e-5))])])
    return g.op("Add", [g.op("Mul", [g.op("Div", [c, sd]), gamma]), beta])


def _gelu(g, x, kind):
    if kind == "relu":
        return g.op("Relu", [x])
    if kind == "op":
        return g.op("Gelu", [x], approximate="tanh")
    # tanh form as exporters write it: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x3 = g.op("Pow", [x, g.const(np.float32(3))])
    inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [x3, g.const(np.float32(0.044715))])]),
                         g.const(np.float32(np.sqrt(2 / np.pi)))])
    t = g.op("Add", [g.op("Tanh", [inner]), g.const(np.float32(1))])
    return g.op("Mul", [g.op("Mul", [x, t]), g.const(np.float32(0.5))])


def _linear(g, x, k, n, bias):
    y = g.op("MatMul", [x, g.w((k, n), k)])
    return g.op("Add", [y, g.const((0.1 * g.rng.normal(size=n)).astype(np.float32), "b")]) \
        if bias else y


def _attention(g, x, t, d, heads, bias):
    dh = d // heads
    split = g.const(np.array([1, t, heads, dh], np.int64), "shape")
    q, k, v = (g.op("Transpose", [g.op("Reshape", [_linear(g, x, d, d, bias), split])],
                    perm=perm) for perm in ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]))
    s = g.op("MatMul", [q, k])                                     # [1, H, T, T]
    s = g.op("Mul", [s, g.const(np.float32(1 / np.sqrt(dh)))]) if bias else s
    p = g.op("Softmax", [s], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.const(np.array([1, t, d], np.int64), "shape")])
    return _linear(g, o, d, d, bias)


def transformer_encoder(seq=16, vocab=50, d=32, heads=4, layers=2, ffn=64, seed=0,
                        layernorm="decomposed", gelu="tanh", bias=True, opset=17):
    """A seeded pre-LN transformer encoder (input ``ids`` int64 ``[1, seq]``, output
    ``[1, seq, d]``).  ``layernorm``: "decomposed" (ReduceMean / Sub / Pow / Sqrt / Div
    as exporters write it), "op" (LayerNormalization) or None (no normalisation);
    ``gelu``: "tanh" (written out), "op" (Gelu, opset 20) or "relu"; ``bias``: biases
    after every projection and the 1/sqrt(d_head) score scale (Adds / Mul by constants)."""
    from onnx import TensorProto, helper

    g = _G(seed)
    x = g.op("Gather", [g.w((vocab, d), 1.0, "tok_emb"), "ids"])
    x = g.op("Add", [x, g.w((1, seq, d), 4.0, "pos_emb")]) if bias else x
    norm = (lambda h: _layernorm(g, h, d, layernorm == "decomposed")) if layernorm \
        else (lambda h: h)
    for _ in range(layers):
        x = g.op("Add", [x, _attention(g, norm(x), seq, d, heads, bias)])
        h = _gelu(g, _linear(g, norm(x), d, ffn, bias), gelu)
        x = g.op("Add", [x, _linear(g, h, ffn, d, bias)])
    y = g.op("Identity", [norm(x)])
    return g.model([helper.make_tensor_value_info("ids", TensorProto.INT64, [1, seq])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, seq, d])],
                   max(opset, 20) if gelu == "op" else opset, "transformer_encoder")


def _conv(g, x, cin, cout, k=3, s=1, act="mul"):
    y = g.op("Conv", [x, g.w((cout, cin, k, k), cin * k * k),
                      g.const((0.1 * g.rng.normal(size=cout)).astype(np.float32), "b")],
             kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)
    if act == "mul":      # SiLU as exporters write it
        return g.op("Mul", [y, g.op("Sigmoid", [y])])
    return g.op("Relu", [y]) if act == "relu" else y


def _c2f(g, x, c, act):
    a, b = g.op("Split", [x, g.const(np.array([c // 2, c // 2], np.int64), "split")], n_out=2,
                axis=1)
    b2 = _conv(g, _conv(g, b, c // 2, c // 2, act=act), c // 2, c // 2, act=act)
    return _conv(g, g.op("Concat", [a, b, b2], axis=1), c * 3 // 2, c, k=1, act=act)


def _sppf(g, x, c, act):
    y = _conv(g, x, c, c // 2, k=1, act=act)
    p1 = g.op("MaxPool", [y], kernel_shape=[5, 5], strides=[1, 1], pads=[2] * 4)
    p2 = g.op("MaxPool", [p1], kernel_shape=[5, 5], strides=[1, 1], pads=[2] * 4)
    p3 = g.op("MaxPool", [p2], kernel_shape=[5, 5], strides=[1, 1], pads=[2] * 4)
    return _conv(g, g.op("Concat", [y, p1, p2, p3], axis=1), c * 2, c, k=1, act=act)


def _dfl_head(g, x, c, classes, reg_max, anchors, act):
    box = g.op("Conv", [_conv(g, x, c, c, act=act), g.w((4 * reg_max, c, 1, 1), c)],
               kernel_shape=[1, 1])
    box = g.op("Reshape", [box, g.const(np.array([1, 4, reg_max, anchors], np.int64), "shape")])
    box = g.op("Softmax", [g.op("Transpose", [box], perm=[0, 2, 1, 3])], axis=1)
    proj = g.const(np.arange(reg_max, dtype=np.float32).reshape(1, reg_max, 1, 1), "dfl")
    box = g.op("Reshape", [g.op("Conv", [box, proj], kernel_shape=[1, 1]),
                           g.const(np.array([1, 4, anchors], np.int64), "shape")])
    cls = g.op("Conv", [_conv(g, x, c, c, act=act), g.w((classes, c, 1, 1), c)],
               kernel_shape=[1, 1])
    cls = g.op("Sigmoid", [g.op("Reshape", [cls, g.const(np.array([1, classes, anchors],
                                                                  np.int64), "shape")])])
    return g.op("Concat", [box, cls], axis=1)


def yolo_detector(size=32, classes=4, width=8, reg_max=16, seed=0, silu="mul", opset=13):
    """A seeded YOLOv8-style detector: input ``[1, 3, size, size]``, output
    ``[1, 4 + classes, anchors]`` (boxes as DFL expectations, class sigmoids).
    ``silu``: "mul" (``x * Sigmoid(x)``), "relu" or None (no activation)."""
    from onnx import TensorProto, helper

    g = _G(seed)
    c = width
    x = _conv(g, "images", 3, c, s=2, act=silu)                   # /2
    p3 = _c2f(g, _conv(g, x, c, 2 * c, s=2, act=silu), 2 * c, silu)   # /4
    p4 = _sppf(g, _conv(g, p3, 2 * c, 4 * c, s=2, act=silu), 4 * c, silu)  # /8
    up = g.op("Resize", [p4, "", g.const(np.array([1, 1, 2, 2], np.float32), "scales")],
              mode="nearest")
    f3 = _c2f(g, _conv(g, g.op("Concat", [up, p3], axis=1), 6 * c, 2 * c, k=1, act=silu),
              2 * c, silu)
    a3, a4 = (size // 4) ** 2, (size // 8) ** 2
    h3 = _dfl_head(g, f3, 2 * c, classes, reg_max, a3, silu)
    h4 = _dfl_head(g, p4, 4 * c, classes, reg_max, a4, silu)
    y = g.op("Concat", [h3, h4], axis=2)
    return g.model([helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                  [1, 3, size, size])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 4 + classes, a3 + a4])],
                   opset,
                   "yolo_detector")
