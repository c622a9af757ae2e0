"""QDQ models (onnxruntime quantize_static, uint8 and int8 activations) whose non-MAC ops are
data movement: hwsim's quantized output equals onnxruntime's bit for bit."""
import os

import numpy as np
import onnx
import pytest
from onnx import helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)

from onnx_case import model, ort_run

from hwsim.network import load_onnx

RNG = np.random.default_rng(0)
XS = [RNG.normal(size=(1, 3, 8, 8)).astype(np.float32) for _ in range(4)]


def _graph_a():
    w = (RNG.normal(size=(4, 3, 3, 3)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Resize", ["p", "", "sc"], ["r"], mode="nearest"),
             helper.make_node("Concat", ["r", "c"], ["cc"], axis=1),
             helper.make_node("Slice", ["cc", "st", "en", "ax"], ["s"]),
             helper.make_node("Transpose", ["s"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["t", "shp"], ["y"])]
    return model(nodes, [("x", [1, 3, 8, 8])], [("y", [1, 64, 6])],
                 {"w": w, "sc": np.array([1, 1, 2, 2], np.float32), "st": np.array([1]),
                  "en": np.array([7]), "ax": np.array([1]), "shp": np.array([1, 64, 6])}, 13)


def _graph_b():
    w = (RNG.normal(size=(6, 3, 3, 3)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER", strides=[2, 2]),
             helper.make_node("Split", ["c", "sp"], ["a", "b"], axis=1),
             helper.make_node("Pad", ["a", "pads"], ["ap"], mode="edge"),
             helper.make_node("Pad", ["b", "pads"], ["bp"]),
             helper.make_node("Concat", ["bp", "ap"], ["cc"], axis=1),
             helper.make_node("Gather", ["cc", "gi"], ["g"], axis=1),
             helper.make_node("Unsqueeze", ["g", "ua"], ["u"]),
             helper.make_node("Squeeze", ["u", "ua"], ["y"])]
    return model(nodes, [("x", [1, 3, 8, 8])], [("y", None)],
                 {"w": w, "sp": np.array([2, 4]), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1]),
                  "gi": np.array([5, 0, 3]), "ua": np.array([0])}, 13)


class _Reader(CalibrationDataReader):
    def __init__(self):
        self.it = iter([{"x": x} for x in XS])

    def get_next(self):
        return next(self.it, None)


@pytest.mark.parametrize("build", [_graph_a, _graph_b])
@pytest.mark.parametrize("act", [QuantType.QUInt8, QuantType.QInt8])
def test_qdq_data_movement_bit_exact(tmp_path, build, act):
    fp, qp = os.path.join(tmp_path, "f.onnx"), os.path.join(tmp_path, "q.onnx")
    onnx.save(build(), fp)
    quantize_static(fp, qp, _Reader(), quant_format=QuantFormat.QDQ, activation_type=act,
                    weight_type=QuantType.QInt8)
    q = onnx.load(qp)
    net = load_onnx(q)
    assert net.source["kind"] == "quantized"
    for x in XS:
        want = ort_run(q, {"x": x})[0]
        got = net.run(x, reference=False).output_f32()
        assert np.array_equal(got, want)


def _graph_attention(k):
    wq = (RNG.normal(size=(k, 8)) * 0.4).astype(np.float32)
    wk = (RNG.normal(size=(k, 8)) * 0.4).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"]),
             helper.make_node("MatMul", ["x", "wk"], ["k"]),
             helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("MatMul", ["s", "q"], ["y"])]
    return model(nodes, [("x", [2, 6, k])], [("y", [2, 6, 8])], {"wq": wq, "wk": wk}, 13)


@pytest.mark.parametrize("k", [8, 64])
@pytest.mark.parametrize("act", [QuantType.QUInt8, QuantType.QInt8])
def test_qdq_matmul_between_activations_bit_exact(tmp_path, k, act):
    """Q K^T and S Q: MatMul between two quantized activations, as onnxruntime's integer
    MatMul computes it (the default import config: the model's quantization, requant onnx)."""
    xs = [RNG.normal(size=(2, 6, k)).astype(np.float32) for _ in range(3)]
    fp, qp = os.path.join(tmp_path, "f.onnx"), os.path.join(tmp_path, "q.onnx")
    onnx.save(_graph_attention(k), fp)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": x} for x in xs])

        def get_next(self):
            return next(self.it, None)

    quantize_static(fp, qp, Reader(), quant_format=QuantFormat.QDQ, activation_type=act,
                    weight_type=QuantType.QInt8, reduce_range=act == QuantType.QUInt8)
    q = onnx.load(qp)
    net = load_onnx(q)
    assert [n.op for n in net.nodes].count("MatMul") == 2
    for x in xs:
        assert np.array_equal(net.run(x, reference=False).output_f32(), ort_run(q, {"x": x})[0])
