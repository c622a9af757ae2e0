"""A quantized residual network through the whole-network fast paths, against the longer
paths they replace and across thread counts.

The fast paths (``hwsim/ops``: channel-last inputs read in place by im2col and as 1x1
columns, requantization straight to codes, the one-pass onnxruntime QLinearAdd, the MAC
statistics reduced without MacStats) must not change one bit of the outputs, the tensors,
the accumulators or the per-layer statistics; neither may the number of threads (hwsim's
pool and numba's, with every numba kernel forced onto its parallel compilation).
"""
import numba
import numpy as np
import pytest
import onnx
import onnxruntime.quantization as ort_q
from onnx import TensorProto, helper, numpy_helper

from hwsim.mac import api as mac_api
from hwsim.ops import add as add_op
from hwsim.ops import conv, kernels, macbridge
from hwsim.ops.requant import Requant
from hwsim.tensors import ints_to_codes


def _float_model(path, rng):
    """conv 3x3 s2 -> relu -> [conv 3x3 -> relu -> conv 1x1] + conv 1x1 s1 shortcut -> add ->
    relu -> conv 1x1 s2 -> relu -> global average pool -> Gemm."""
    nodes, inits = [], []

    def conv_(x, cin, cout, k, s, relu, name):
        w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        b = rng.normal(0, 0.05, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [name], name=name,
                                      kernel_shape=[k, k], strides=[s, s],
                                      pads=[k // 2] * 4))
        if relu:
            nodes.append(helper.make_node("Relu", [name], [name + "_r"], name=name + "_relu"))
            return name + "_r"
        return name
    x = conv_("x", 3, 16, 3, 2, True, "c0")
    h = conv_(x, 16, 16, 3, 1, True, "c1")
    h = conv_(h, 16, 32, 1, 1, False, "c2")
    sc = conv_(x, 16, 32, 1, 1, False, "sc")
    nodes.append(helper.make_node("Add", [h, sc], ["add"], name="add"))
    nodes.append(helper.make_node("Relu", ["add"], ["add_r"], name="add_relu"))
    y = conv_("add_r", 32, 24, 1, 2, True, "c3")
    nodes.append(helper.make_node("GlobalAveragePool", [y], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"))
    wf = rng.normal(0, 0.2, (10, 24)).astype(np.float32)
    inits += [numpy_helper.from_array(wf, "wfc"), numpy_helper.from_array(np.zeros(10, np.float32), "bfc")]
    nodes.append(helper.make_node("Gemm", ["flat", "wfc", "bfc"], ["y"], transB=1, name="fc"))
    g = helper.make_graph(nodes, "resblock",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 24, 24])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resblock")
    rng = np.random.default_rng(11)
    fpath, qpath = str(tmp / "f.onnx"), str(tmp / "q.onnx")
    _float_model(fpath, rng)
    calib = [rng.normal(0, 1, (1, 3, 24, 24)).astype(np.float32) for _ in range(2)]

    class Reader(ort_q.CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": c} for c in calib])

        def get_next(self):
            return next(self.it, None)
    ort_q.quantize_static(fpath, qpath, Reader(), quant_format=ort_q.QuantFormat.QDQ,
                          reduce_range=True, activation_type=ort_q.QuantType.QUInt8,
                          weight_type=ort_q.QuantType.QInt8)
    return qpath, rng.normal(0, 1, (1, 3, 24, 24)).astype(np.float32)


def _run(qpath, x, requant):
    from hwsim.network import load_onnx
    net = load_onnx(qpath, config={"defaults": dict(input="model", weight="model", bias="model",
                                                    output="model", mac="int32", requant=requant)})
    r = net.run(x, keep=True, reference=False)
    return dict(out={k: np.asarray(v.codes) for k, v in r.qoutputs.items()},
                tensors={k: np.asarray(v.codes) for k, v in r.tensors.items()},
                acc={k: np.asarray(v.acc) for k, v in r.layers.items()},
                acc_codes={k: np.asarray(v.acc_codes) for k, v in r.layers.items()},
                stats=repr(r.stats), requant={k: repr(v.requant) for k, v in r.layers.items()})


def _same(a, b):
    assert a["stats"] == b["stats"] and a["requant"] == b["requant"]
    for key in ("out", "tensors", "acc", "acc_codes"):
        assert a[key].keys() == b[key].keys()
        for k in a[key]:
            assert a[key][k].dtype == b[key][k].dtype and np.array_equal(a[key][k], b[key][k]), (key, k)


def _longer_paths(mp):
    """The paths the fast ones replace: contiguous NCHW copies for im2col, requantization to
    int64 then codes, QLinearAdd on int64 arrays, MacStats built and reduced."""
    mp.setattr(conv, "_channels_last", lambda x: None)
    mp.setattr(add_op, "qlinear_add_codes", lambda *a: None)
    mp.setattr(Requant, "apply_codes", lambda self, acc, bits, dt, axis=-1:
               ints_to_codes(self.apply(acc, axis), bits, dt))

    def summary(a, b, mac, bias=None, a_zero_point=0, b_zero_point=0, threads=None):
        return mac_api._summarised(mac_api.matmul(a, b, mac, bias, a_zero_point, b_zero_point,
                                                  threads))
    mp.setattr(macbridge, "matmul_summary", summary)


@pytest.mark.parametrize("requant", ["onnx", "tflite"])
def test_fast_paths_and_thread_counts_change_no_bit(qdq_model, requant, monkeypatch):
    qpath, x = qdq_model
    old_threads = numba.get_num_threads()
    try:
        monkeypatch.setenv("HWSIM_NUM_THREADS", "1")
        numba.set_num_threads(1)
        monkeypatch.setattr(kernels, "PARALLEL_MIN", 1 << 62)
        taken = []
        for mod, name in ((conv, "_channels_last"), (add_op, "qlinear_add_codes")):
            real = getattr(mod, name)
            monkeypatch.setattr(mod, name, lambda *a, real=real, name=name:
                                taken.append(name) or real(*a) if real(*a) is not None else None)
        one = _run(qpath, x, requant)
        # the fast paths ran: c1, c2 (1x1: the input as columns), sc (and, after the
        # channel-last output of the onnx-style Add, c3) read layer outputs in place
        assert taken.count("_channels_last") >= (4 if requant == "onnx" else 3)
        assert ("qlinear_add_codes" in taken) == (requant == "onnx")
        monkeypatch.setenv("HWSIM_NUM_THREADS", "3")
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        monkeypatch.setattr(kernels, "PARALLEL_MIN", 1)  # every numba kernel in parallel
        many = _run(qpath, x, requant)
        with monkeypatch.context() as mp:
            _longer_paths(mp)
            longer = _run(qpath, x, requant)
    finally:
        numba.set_num_threads(old_threads)
    _same(one, many)
    _same(one, longer)
    assert len(one["acc"]) == 6 and len(np.unique(one["out"][next(iter(one["out"]))])) > 3
