"""Transpose (hwsim.ops.transpose): codes move unchanged, a per-channel axis moves with its
dimension; the ONNX import runs as onnxruntime (float and quantized)."""
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from hwsim.formats import format as F
from hwsim.network import load_onnx
from hwsim.ops import get_op
from hwsim.ops.quant import QuantSpec
from hwsim.ops.transpose import transpose_q
from hwsim.tensors import QTensor


def _run(perm, x):
    n = SimpleNamespace(name="t", attrs={} if perm is None else {"perm": perm})
    args = SimpleNamespace(out_q=QuantSpec(x.fmt, x.scale, x.zero_point))
    return get_op("Transpose").execute(n, [x], args)[0]


@pytest.mark.parametrize("perm", [None, [0, 2, 3, 1], [1, 0, 3, 2]])
def test_codes_unchanged(perm):
    codes = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 5)).astype(np.uint8)
    x = QTensor(codes, F("e4m3"), scale=0.5)
    y = _run(perm, x)
    assert np.array_equal(y.codes, np.transpose(codes, perm))
    assert y.fmt == x.fmt and y.scale == x.scale


def test_per_channel_axis_moves():
    codes = np.random.default_rng(1).integers(0, 256, (2, 3, 4)).astype(np.uint8)
    x = QTensor(codes, F("int8"), scale=np.array([0.1, 0.2, 0.3]), zero_point=np.zeros(3, np.int64), axis=1)
    y = transpose_q(SimpleNamespace(name="t", attrs={"perm": [2, 0, 1]}), x)
    assert y.axis == 2
    assert np.array_equal(y.values(), np.transpose(x.values(), [2, 0, 1]))


def test_bad_perm():
    x = QTensor(np.zeros((2, 3), np.uint8), F("int8"), scale=1.0)
    with pytest.raises(ValueError, match="not a permutation"):
        _run([0, 0], x)


def test_import_matches_onnxruntime():
    node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    x = np.random.default_rng(2).normal(size=(1, 2, 3, 4)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    net = load_onnx(m)
    assert np.array_equal(net.reference(x)["y"], want)
    net.calibrate([x])
    res = net.run(x, keep=True)
    qin, qout = res.tensors["x"], res.qoutputs["y"]
    assert np.array_equal(qout.codes, np.transpose(qin.codes, [0, 2, 1, 3]))
