"""hwsim: bit-accurate simulator of low-precision accelerator arithmetic.

The public API is re-exported here; see README.md for a tour.
"""
from .affine import dequantize_affine, quantize_affine
from .api import decode, encode, quantize, random_bits
from .blockformats import BFPFormat, BlockTensor, MXFormat, NVFP4Format
from .codebook import NF4, CodebookFormat, PWLQFormat, PWLQTensor, pack_nibbles, unpack_nibbles
from . import mac
from .errors import (FormatError, HwsimError, NaNInputError, OverflowValueError,
                     UnsupportedModeError)
from .mac import MacUnit, dot, matmul
from .formats import PRESETS, FixedFormat, FloatFormat, IntFormat, format, p3109
from .modes import Flags, Overflow, RoundingMode, Tininess
from .network import Network, NetworkConfig, load_onnx
from .qtensor import QTensor
from .rtl.golden import export

__version__ = "0.1.0"

__all__ = [
    "FloatFormat", "IntFormat", "FixedFormat", "PRESETS", "format", "p3109",
    "encode", "decode", "quantize", "random_bits", "quantize_affine", "dequantize_affine",
    "RoundingMode", "Overflow", "Tininess", "Flags", "QTensor", "Network", "NetworkConfig",
    "load_onnx", "MXFormat", "NVFP4Format", "BFPFormat", "BlockTensor", "CodebookFormat",
    "PWLQFormat", "PWLQTensor", "NF4", "pack_nibbles", "unpack_nibbles", "mac", "MacUnit",
    "matmul", "dot", "export",
    "HwsimError", "FormatError", "UnsupportedModeError", "OverflowValueError", "NaNInputError",
]
