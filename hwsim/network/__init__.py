"""Whole networks as the accelerator runs them: graph, ONNX import, config, export/compare."""
from .config import ConfigError, LayerConfig, NetworkConfig, load_config, make_mac
from .graph import LayerRecord, Network, Node, RunResult, TensorQ
from .onnx_import import UnsupportedModelError, load_onnx

__all__ = ["Network", "Node", "TensorQ", "RunResult", "LayerRecord", "LayerConfig",
           "NetworkConfig", "ConfigError", "load_config", "make_mac", "load_onnx",
           "UnsupportedModelError"]
