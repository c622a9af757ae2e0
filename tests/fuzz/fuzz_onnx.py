"""Fuzz the ONNX importer with mutated models, then run what it accepts.

Seeds: two small float models built here (Conv/Relu/MaxPool/Flatten/Gemm and
Gemm/Relu/Add).  An input either flips bytes of a serialized seed (read through
a file, as the CLI does) or mutates the ModelProto: an attribute, an initializer's
shape or values, an op type, a node's inputs, a graph input's shape or type.
Whatever ``load_onnx`` accepts is calibrated and run on a small input.
"""
import os
import tempfile

import numpy as np

try:
    from . import _common as C
except ImportError:
    import _common as C

from hwsim.network import load_onnx

_TMP = tempfile.mkdtemp(prefix="hwsim-fuzz-onnx-")


def seeds():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(2, 1, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(2,)).astype(np.float32), "b")
    fw = numpy_helper.from_array(rng.normal(size=(8, 3)).astype(np.float32), "fw")
    fb = numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "fb")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1],
                              strides=[1, 1], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc")]
    g = helper.make_graph(nodes, "tiny_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w, b, fw, fb])
    m1 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    gw = numpy_helper.from_array(rng.normal(size=(4, 4)).astype(np.float32), "gw")
    nodes = [helper.make_node("Gemm", ["x", "gw"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "x"], ["y"], name="add")]
    g = helper.make_graph(nodes, "tiny_res",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [gw])
    m2 = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return [m1, m2]


_SEEDS = None
OPS = ["Conv", "Relu", "Gemm", "MatMul", "Add", "MaxPool", "AveragePool", "Flatten", "Reshape",
       "Concat", "Sigmoid", "Softmax", "Identity", "QuantizeLinear", "Bogus"]


def _mutate_proto(m, fdp):
    from onnx import numpy_helper

    g = m.graph
    what = fdp.ConsumeIntInRange(0, 5)
    if what == 0 and g.node:
        n = C.pick(fdp, list(g.node))
        if n.attribute:
            a = C.pick(fdp, list(n.attribute))
            if a.ints:
                a.ints[fdp.ConsumeIntInRange(0, len(a.ints) - 1)] = fdp.ConsumeIntInRange(-3, 9)
            else:
                a.i = fdp.ConsumeIntInRange(-3, 9)
    elif what == 1 and g.initializer:
        t = C.pick(fdp, list(g.initializer))
        arr = numpy_helper.to_array(t).ravel()
        shape = tuple(fdp.ConsumeIntInRange(0, 5) for _ in range(fdp.ConsumeIntInRange(0, 4)))
        vals = C.floats(fdp, int(np.prod(shape))).astype(np.float32) if fdp.ConsumeBool() else \
            np.resize(arr, int(np.prod(shape)))
        t.CopyFrom(numpy_helper.from_array(vals.reshape(shape), t.name))
    elif what == 2 and g.node:
        C.pick(fdp, list(g.node)).op_type = C.pick(fdp, OPS)
    elif what == 3 and g.node:
        n = C.pick(fdp, list(g.node))
        names = ["x", "w", "b", "c", "r", "p", "f", "h", "y", "gw", "fw", "zz", ""]
        if n.input:
            n.input[fdp.ConsumeIntInRange(0, len(n.input) - 1)] = C.pick(fdp, names)
    elif what == 4:
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            dims[fdp.ConsumeIntInRange(0, len(dims) - 1)].dim_value = fdp.ConsumeIntInRange(0, 9)
        g.input[0].type.tensor_type.elem_type = C.pick(fdp, [1, 1, 1, 2, 3, 6, 10, 11])
    elif g.node:
        del g.node[fdp.ConsumeIntInRange(0, len(g.node) - 1)]


def _run(net, fdp):
    shapes = {k: tuple(int(d) if isinstance(d, int) and 0 < d < 10 else 1 for d in (s or ()))
              for k, s in net.inputs.items()}
    xs = {k: C.floats(fdp, int(np.prod(s))).reshape(s) for k, s in shapes.items()}
    if fdp.ConsumeBool():
        xs = {k: np.clip(np.nan_to_num(v), -8, 8) for k, v in xs.items()}
    if C.call(net.calibrate, [xs]) is None and net.stats is None:
        return
    C.call(net.run, xs)


def TestOneInput(data: bytes) -> None:
    import atheris

    global _SEEDS
    if _SEEDS is None:
        _SEEDS = seeds()
    fdp = atheris.FuzzedDataProvider(data)
    m = type(_SEEDS[0])()
    m.CopyFrom(C.pick(fdp, _SEEDS))
    if fdp.ConsumeBool():
        raw = bytearray(m.SerializeToString())
        for _ in range(fdp.ConsumeIntInRange(1, 8)):
            raw[fdp.ConsumeIntInRange(0, len(raw) - 1)] = fdp.ConsumeIntInRange(0, 255)
        cut = fdp.ConsumeIntInRange(0, len(raw))
        p = os.path.join(_TMP, "m.onnx")
        with open(p, "wb") as f:
            f.write(bytes(raw[:cut] if fdp.ConsumeBool() else raw))
        net = C.call(load_onnx, p)
    else:
        for _ in range(fdp.ConsumeIntInRange(1, 3)):
            _mutate_proto(m, fdp)
        net = C.call(load_onnx, m)
    if net is not None:
        _run(net, fdp)


if __name__ == "__main__":
    C.main(TestOneInput, "onnx")
