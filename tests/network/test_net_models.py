"""The seeded test models of hwsim.testing.models (a transformer encoder, a YOLO-style
detector): valid ONNX run by onnxruntime; hwsim's float64 run matches onnxruntime, and
quantized runs (int8 / int32, FP8 / fp32) keep a stated SQNR against float64."""
import numpy as np
import onnx
import pytest

from onnx_case import ort_run

from hwsim.network import load_onnx
from hwsim.testing.models import transformer_encoder, yolo_detector

IDS = np.random.default_rng(0).integers(0, 50, (1, 16))
IMG = np.random.default_rng(1).normal(size=(1, 3, 32, 32)).astype(np.float32)


def _float_matches(m, feeds, rtol=1e-4, atol=1e-4):
    onnx.checker.check_model(m, full_check=True)
    want = ort_run(m, feeds)[0]
    net = load_onnx(m)
    got = net.reference(next(iter(feeds.values())))[net.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return net


def _sqnr(net, x, config):
    net.set_config(config)
    net.calibrate([x])
    r = net.run(x)
    return r.stats[net.nodes[-1].name]["sqnr_db"], r


INT8 = {"defaults": {"input": "int8", "weight": "int8", "output": "int8", "mac": "int32"}}
FP8 = {"defaults": {"input": "float8_e4m3fn", "weight": "float8_e4m3fn",
                    "output": "float8_e4m3fn", "mac": "fp32", "bias": "float32"}}


def test_attention_encoder_core():
    """Embeddings (Gather), multi-head attention (MatMul between activations, Softmax),
    residuals: the encoder without LayerNorm / GELU / biases."""
    m = transformer_encoder(layernorm=None, gelu="relu", bias=False)
    net = _float_matches(m, {"ids": IDS})
    ops = {n.op for n in net.nodes}
    assert {"Embedding", "MatMul", "Softmax", "Transpose", "Reshape", "Add", "Gemm"} <= ops
    s8, r = _sqnr(net, IDS, INT8)
    assert s8 > 20, s8
    s_fp8, _ = _sqnr(net, IDS, FP8)
    assert s_fp8 > 12, s_fp8  # measured 14.1 dB (no LayerNorm: peaky second-layer softmax)


def test_yolo_detector_relu_variant():
    """Split / Concat (C2f), SPPF max pools, Resize nearest, DFL head (Softmax, fixed 1x1
    Conv), Sigmoid classes: the detector with ReLU in place of SiLU."""
    m = yolo_detector(silu="relu")
    net = _float_matches(m, {"images": IMG})
    ops = {n.op for n in net.nodes}
    assert {"Slice", "Concat", "MaxPool", "Resize", "Softmax", "Sigmoid", "Conv"} <= ops
    s8, _ = _sqnr(net, IMG.astype(np.float64), INT8)
    assert s8 > 15, s8


@pytest.mark.parametrize("build", [transformer_encoder, yolo_detector])
def test_full_models_are_valid_onnx(build):
    m = build()
    onnx.checker.check_model(m, full_check=True)
    feeds = {"ids": IDS} if build is transformer_encoder else {"images": IMG}
    y = ort_run(m, feeds)[0]
    assert np.all(np.isfinite(y)) and y.std() > 0


@pytest.mark.parametrize("fmt,mac,floor_enc,floor_yolo", [
    ("mxfp8_e4m3", "fp32", 11, 20),   # measured 12.8 / 23.1 dB (every op writes MX)
    ("mxfp4", "fp16", 3, 11),         # measured 4.5 / 13.9 dB
    ("nvfp4", "fp32", 3, 25),         # measured 4.2 / 29.4 dB
])
def test_block_formats_run(fmt, mac, floor_enc, floor_yolo):
    """Block-format activations and weights through every op of the two sub-models
    (MatMul between activations blocked along K); Softmax / Sigmoid / Add write block
    outputs too (docs/semantics.md, "Block-format outputs")."""
    cfg = {"defaults": {"input": fmt, "weight": fmt, "output": fmt, "mac": mac,
                        "bias": "float32"}}
    enc = load_onnx(transformer_encoder(layernorm=None, gelu="relu", bias=False))
    s_enc, _ = _sqnr(enc, IDS, cfg)
    yolo = load_onnx(yolo_detector(silu="relu"))
    s_yolo, _ = _sqnr(yolo, IMG.astype(np.float64), cfg)
    assert s_enc > floor_enc and s_yolo > floor_yolo, (s_enc, s_yolo)


@pytest.mark.parametrize("kw", [{}, {"layernorm": "op", "gelu": "op"}])
def test_full_transformer_encoder(kw):
    """The whole encoder: Gather embeddings + position embeddings, LayerNorm (written out or
    LayerNormalization), attention with MatMul between activations and Softmax, GELU
    (tanh form or Gelu), residuals."""
    net = _float_matches(transformer_encoder(**kw), {"ids": IDS})
    s8, _ = _sqnr(net, IDS, INT8)
    assert s8 > 25, s8


def test_full_yolo_detector():
    """The whole detector: SiLU as x * Sigmoid(x), Split / Concat, SPPF, Resize nearest,
    DFL head with Softmax."""
    net = _float_matches(yolo_detector(), {"images": IMG})
    s8, _ = _sqnr(net, IMG.astype(np.float64), INT8)
    assert s8 > 35, s8
