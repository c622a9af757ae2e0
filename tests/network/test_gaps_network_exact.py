"""Whole small networks, every tensor bit for bit against a pure-Python run of the
same graph (tests/netref.py: Python ints, hwsim.reference, no numba and no C).

The SQNR thresholds of test_network_run.py let a requantization or MAC bug
through; these compare every intermediate tensor's codes exactly.
"""
import numpy as np
import pytest

import netref
from hwsim.network import Network

CONFIGS = {
    "int8_tflite_int32": dict(mac="int32", requant="tflite"),
    "int8_onnx_int16sat": dict(mac="int16_sat", requant="onnx"),
    "int8_tflite_int12": dict(mac="int12", requant="tflite", order="kh,kw,cin"),
    "int8_asym_onnx_int32": dict(mac="int32", requant="onnx", symmetric=False),
    "fp8_e4m3_fp32": dict(input="float8_e4m3fn", weight="float8_e4m3fn", bias="float32",
                          output="float8_e4m3fn", mac="fp32"),
    "fp8_e5m2_fp16": dict(input="float8_e5m2", weight="float8_e5m2", bias="float16",
                          output="float8_e5m2", mac="fp16"),
}


def _net(defaults, seed):
    rng = np.random.default_rng(seed)
    net = Network({"x": (2, 2, 6, 5)}, config={"defaults": defaults})
    net.add("Conv", "x", "c1", name="conv1", weight=rng.normal(0, 0.4, (4, 2, 3, 3)),
            bias=rng.normal(0, 0.1, 4), pads=(1, 1, 1, 1))
    net.add("Relu", "c1", "r1", name="relu1")
    net.add("Conv", "r1", "c2", name="conv2", weight=rng.normal(0, 0.5, (4, 2, 3, 2)),
            bias=rng.normal(0, 0.1, 4), pads=(0, 1, 1, 0), strides=(1, 2), group=2)
    net.add("MaxPool", "c2", "p1", name="pool1", kernel_shape=(2, 2), strides=(2, 2))
    net.add("Flatten", "p1", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (8, 3)),
            bias=rng.normal(0, 0.1, 3))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (2, 2, 6, 5)) for _ in range(3)])
    return net, rng


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", [0, 1])
def test_network_bit_exact_vs_python_interpreter(name, seed):
    net, rng = _net(CONFIGS[name], seed)
    x = rng.normal(0, 1.5, (2, 2, 6, 5))
    got = net.run(x, keep=True, reference=False)
    want = netref.run(net, got)
    assert set(want) == set(got.tensors)
    nonzero = 0
    for t, w in want.items():
        g = np.asarray(got.tensors[t].codes).astype(np.int64)
        assert g.shape == w.codes.shape, t
        assert g.tolist() == w.codes.tolist(), t
        nonzero += int(np.count_nonzero(g))
    assert nonzero > 50  # the data exercises the layers
    if "asym" in name:  # the asymmetric config pads with a nonzero zero point
        assert any(int(np.asarray(q.zero_point)) != 0 for q in net.plan().tensors.values())
