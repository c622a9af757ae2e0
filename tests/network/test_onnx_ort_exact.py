"""hwsim vs onnxruntime, bit for bit, on models quantized / built inside the test.

quantize_static uses reduce_range=True: on AVX2 machines without VNNI,
onnxruntime's u8s8 GEMM uses VPMADDUBSW, whose int16 pair sums saturate
(documented in onnxruntime's quantization guide); 7-bit weights rule that out,
and then the int32 accumulator + onnx requant model is exact.  With full-range
weights the ``u8s8_avx2`` MAC preset (int16-saturating pair sums of raw codes,
channels-innermost K order) is the exact model; see the last test.
"""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.network import UnsupportedModelError, load_onnx


def _float_model(rng):
    W = rng.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32)
    B = rng.normal(0, 0.1, 6).astype(np.float32)
    W2 = rng.normal(0, 0.2, (10, 6 * 3 * 4)).astype(np.float32)
    B2 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 7, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                          [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (B, "B"), (W2, "W2"), (B2, "B2"))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("per_channel", [False, True])
def test_qdq_model_bit_identical_to_onnxruntime(tmp_path, per_channel):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    rng = np.random.default_rng(0)
    onnx.save(_float_model(rng), tmp_path / "f.onnx")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": rng.normal(0, 1, (1, 3, 7, 9)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), Reader(),
                    quant_format=QuantFormat.QDQ, reduce_range=True, per_channel=per_channel)
    net = load_onnx(str(tmp_path / "q.onnx"))
    assert [n.op for n in net.nodes] == ["Conv", "MaxPool", "Flatten", "Gemm"]
    sess = ort.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"])
    mism = total = 0
    for i in range(40):
        x = rng.normal(0, 1.0 + i / 10, (1, 3, 7, 9)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        got = net.run(x, reference=False).output_f32()
        mism += int(np.sum(want.view(np.uint32) != got.view(np.uint32)))
        total += want.size
    assert total == 400 and mism == 0


def _qlinear_model(rng):
    w = rng.integers(-60, 60, (4, 2, 3, 3)).astype(np.int8)
    b = rng.integers(-500, 500, 4).astype(np.int32)
    w2 = rng.integers(-60, 60, (4 * 3 * 2, 5)).astype(np.int8)
    c = lambda n, v, dt: numpy_helper.from_array(np.asarray(v, dtype=dt), n)  # noqa: E731
    inits = [c("xs", 0.05, np.float32), c("xz", 10, np.uint8), c("w", w, np.int8),
             c("ws", [0.01, 0.02, 0.015, 0.03], np.float32), c("wz", [0, 0, 0, 0], np.int8),
             c("ys", 0.2, np.float32), c("yz", 120, np.uint8), c("b", b, np.int32),
             c("w2", w2, np.int8), c("w2s", 0.01, np.float32), c("w2z", 0, np.int8),
             c("zs", 0.3, np.float32), c("zz", 128, np.uint8), c("shape", [1, 24], np.int64)]
    nodes = [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                              pads=[1, 0, 1, 1], strides=[2, 2]),
             helper.make_node("Reshape", ["y", "shape"], ["f"]),
             helper.make_node("QLinearMatMul", ["f", "ys", "yz", "w2", "w2s", "w2z", "zs", "zz"], ["z"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2, 6, 5])],
                          [helper.make_tensor_value_info("z", TensorProto.UINT8, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def test_qlinear_model_bit_identical(tmp_path):
    rng = np.random.default_rng(1)
    m = _qlinear_model(rng)
    net = load_onnx(m)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for _ in range(20):
        x = rng.integers(0, 256, (1, 2, 6, 5)).astype(np.uint8)
        want = sess.run(None, {"x": x})[0]
        got = net.run(x, reference=False).qoutputs["z"]
        assert np.array_equal(np.asarray(got.codes), want)


def test_conv_matmul_integer_bit_identical():
    rng = np.random.default_rng(2)
    # 7-bit weights: see the module docstring (VPMADDUBSW pair saturation in onnxruntime)
    w = rng.integers(-64, 64, (3, 4, 2, 2)).astype(np.int8)
    w2 = rng.integers(-64, 64, (7, 6)).astype(np.int8)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.uint8(7), "xz"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.uint8(200), "az")]
    nodes = [helper.make_node("ConvInteger", ["x", "w", "xz"], ["y"], pads=[0, 1, 1, 0]),
             helper.make_node("MatMulInteger", ["a", "w2", "az"], ["z"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 5, 5]),
                                       helper.make_tensor_value_info("a", TensorProto.UINT8, [3, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None),
                           helper.make_tensor_value_info("z", TensorProto.INT32, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    net = load_onnx(m)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for _ in range(10):
        feed = {"x": rng.integers(0, 256, (1, 4, 5, 5)).astype(np.uint8),
                "a": rng.integers(0, 256, (3, 7)).astype(np.uint8)}
        want_y, want_z = sess.run(None, feed)
        r = net.run(feed, reference=False)
        assert np.array_equal(r.qoutputs["y"].ints(), want_y)
        assert np.array_equal(r.qoutputs["z"].ints(), want_z)


def test_unsupported_ops_and_attributes_are_listed():
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], auto_pad="SAME_MIDDLE"),
             helper.make_node("Sin", ["c"], ["s"]),
             helper.make_node("Gemm", ["s", "W2"], ["y"], alpha=2.0)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "W"),
                           numpy_helper.from_array(np.ones((16, 2), np.float32), "W2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(m)
    msg = str(e.value)
    assert "Sin" in msg and "auto_pad" in msg and "alpha" in msg


def _has_vnni() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def test_full_range_weights_u8s8_pair_saturation_model():
    # u8 activations with full-range int8 weights: on x86 without VNNI onnxruntime's MLAS
    # u8s8 kernels multiply raw codes with VPMADDUBSW, which adds adjacent products (along
    # K, channels innermost: NHWC) into int16 with signed saturation, then VPMADDWD /
    # VPADDD into int32; the zero point is corrected afterwards (x_zp * sum(w)).  The
    # 'u8s8_avx2' MAC preset models exactly that; with VNNI (VPDPBUSD) there is no int16
    # stage and the plain int32 accumulator is the model.
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (4, 2, 3, 3)).astype(np.int8)
    w2 = rng.integers(-128, 128, (24, 5)).astype(np.int8)
    m = _qlinear_model(rng)
    for init in m.graph.initializer:
        if init.name == "w":
            init.CopyFrom(numpy_helper.from_array(w, "w"))
        elif init.name == "w2":
            init.CopyFrom(numpy_helper.from_array(w2, "w2"))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    base = dict(input="model", weight="model", bias="model", output="model", requant="onnx")
    plain = load_onnx(m, config={"defaults": dict(base, mac="int32")})
    pair = load_onnx(m, config={"defaults": dict(base, mac="u8s8_avx2", order="kh,kw,cin")})
    same_plain = same_pair = differ = 0
    for _ in range(20):
        x = rng.integers(128, 256, (1, 2, 6, 5)).astype(np.uint8)
        want = sess.run(None, {"x": x})[0]
        gp = np.asarray(plain.run(x, reference=False).qoutputs["z"].codes)
        gq = pair.run(x, reference=False, keep=True)
        gq_codes = np.asarray(gq.qoutputs["z"].codes)
        same_plain += int(np.array_equal(gp, want))
        same_pair += int(np.array_equal(gq_codes, want))
        differ += int(not np.array_equal(gp, gq_codes))
    assert differ >= 10  # the data saturates int16 pair sums
    if _has_vnni():
        assert same_plain == 20
    else:
        assert same_pair == 20 and same_plain < 20
