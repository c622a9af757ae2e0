"""Layer executors: data movement in numba, every MAC through :mod:`hwsim.mac`.

Modules: :mod:`.conv` (Conv2d, Linear), :mod:`.pool` (MaxPool, sum/average
pooling), :mod:`.eltwise` (activations, Add, Concat), :mod:`.requant`
(tflite / onnx / shift requantization).
"""
from .conv import conv2d, im2col, linear, reduction_index
from .eltwise import activation, add, concat
from .pool import div_round, maxpool2d, sumpool2d
from .requant import Requant, onnx_multiplier, quantize_multiplier

__all__ = ["conv2d", "linear", "im2col", "reduction_index", "maxpool2d", "sumpool2d",
           "div_round", "activation", "add", "concat", "Requant", "quantize_multiplier",
           "onnx_multiplier"]
