"""The three onnx.helper models of issue 9 quantized with onnxruntime's quantize_static
(QDQ, int8 weights, uint8 and int8 activations), compared with onnxruntime tensor by
tensor (hwsim.testing.ort_parity).  Every layer whose onnxruntime kernel is in
EXACT_ORT_KERNELS (integer MAC kernels, data movement) and whose input codes are identical
must give identical codes; the floors on the number of such layers (measured with
onnxruntime 1.32 on x86 AVX-512 VNNI) keep the contract from shrinking silently when an
upstream layer drifts.  7-bit weights (reduce_range) keep MLAS's u8s8 pair saturation out
on machines without VNNI (see test_onnx_ort_exact.py)."""
import numpy as np
import pytest

from hwsim.testing.mobilenet import mobilenetv3_block
from hwsim.testing.models import transformer_encoder, yolo_detector
from hwsim.testing.ort_parity import compare_layers, exact_failures, parity_table, quantize_qdq


def _encoder():
    return (transformer_encoder(seq=8, d=16, heads=2, ffn=32, layers=1),
            lambda r: {"ids": r.integers(0, 50, (1, 8)).astype(np.int64)})


def _yolo():
    return (yolo_detector(size=16, width=4),
            lambda r: {"images": r.normal(size=(1, 3, 16, 16)).astype(np.float32)})


def _mobilenet():
    return (mobilenetv3_block(channels=8, expand=16, size=8),
            lambda r: {"x": r.normal(size=(1, 8, 8, 8)).astype(np.float32)})


def _qdq(build, act):
    m, feed = build()
    rng = np.random.default_rng(0)
    q = quantize_qdq(m, [feed(rng) for _ in range(4)], act)
    return q, [feed(rng) for _ in range(3)]


# (model, activations, asserted layers in the chained run, in the isolated run, layers
# exact in the isolated run / total); measured: every layer exact (QLinearSoftmax included
# since the isolated run dispatches to onnxruntime's kernels as the executor does)
@pytest.mark.parametrize("build,act,chained,isolated,exact", [
    (_encoder, "uint8", 44, 44, (51, 51)), (_encoder, "int8", 35, 35, (51, 51)),
    (_yolo, "uint8", 82, 82, (82, 82)), (_yolo, "int8", 60, 60, (82, 82)),
    (_mobilenet, "uint8", 14, 14, (15, 15)), (_mobilenet, "int8", 9, 9, (15, 15))])
def test_integer_layers_bit_identical(build, act, chained, isolated, exact):
    q, feeds = _qdq(build, act)
    for iso, floor in ((False, chained), (True, isolated)):
        ps = compare_layers(q, feeds, isolate=iso)
        assert not exact_failures(ps), parity_table(ps)
        asserted = [p for p in ps if p.asserted]
        assert len(asserted) >= floor and sum(p.size for p in asserted) > 0, parity_table(ps)
    assert sum(p.exact for p in ps) >= exact[0] and len(ps) == exact[1], parity_table(ps)


def test_a_requantization_change_is_caught():
    """The contract can fail: TFLite-style requantization instead of MLAS's float32 one
    changes codes of QLinearConv layers."""
    q, feeds = _qdq(_yolo, "uint8")
    cfg = {"defaults": dict(input="model", weight="model", bias="model", output="model",
                            requant="tflite")}
    bad = exact_failures(compare_layers(q, feeds, config=cfg, isolate=True))
    assert any(p.ort_kernel == "QLinearConv" for p in bad)


def test_unquantized_qdq_tensors_run_in_float32():
    """The LayerNorm statistics quantize_static leaves in float (ReduceMean -> Sub -> Pow)
    are float32 tensors in hwsim, as in onnxruntime: the layers after them match."""
    from hwsim.network import load_onnx

    m, feed = _encoder()
    rng = np.random.default_rng(0)
    q = quantize_qdq(m, [feed(rng) for _ in range(4)], "uint8")
    plan = load_onnx(q).plan()
    assert plan.tensors["sub8"].fmt.name == "float32"
    assert plan.tensors["add13"].fmt.name == "uint8"
    ps = {p.node: p for p in compare_layers(q, [feed(rng)])}
    assert ps["add13"].exact and ps["div15"].exact


def test_full_size_encoder_uint8_8bit_weights_every_layer_exact():
    """The setting where the LayerNorm-bias QLinearAdd ``add17`` (a constant operand)
    differed in 1 code of 2048 before hwsim ran onnxruntime's kernel on the constant's
    codes: default sizes, uint8 activations, full-range weights, the benchmark's seeds."""
    m = transformer_encoder()
    feed = lambda r: {"ids": r.integers(0, 50, (1, 16)).astype(np.int64)}  # noqa: E731
    rng = np.random.default_rng(0)
    q = quantize_qdq(m, [feed(rng) for _ in range(8)], "uint8", reduce_range=False)
    feeds = [feed(rng) for _ in range(4)]
    for iso in (False, True):
        ps = compare_layers(q, feeds, isolate=iso)
        assert all(p.exact for p in ps) and len(ps) == 95, parity_table(ps)
        add17 = next(p for p in ps if p.node == "add17")
        assert add17.ort_kernel == "QLinearAdd" and add17.asserted and add17.size == 2048
