"""Whole networks as the accelerator runs them: graph, ONNX import, config, export/compare."""
from .config import ConfigError, LayerConfig, NetworkConfig, load_config, make_mac
from .graph import LayerRecord, Network, Node, QuantSpec, RunResult
from .onnx_import import UnsupportedModelError, load_onnx

TensorQ = QuantSpec  # the name before 0.2 (a quantization spec, not a tensor)

__all__ = ["Network", "Node", "QuantSpec", "TensorQ", "RunResult", "LayerRecord", "LayerConfig",
           "NetworkConfig", "ConfigError", "load_config", "make_mac", "load_onnx",
           "UnsupportedModelError"]
