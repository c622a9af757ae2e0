"""hwsim: bit-accurate simulator of low-precision accelerator arithmetic.

A small namespace (README.md, "Public namespace", lists it exactly): format
objects and :func:`format`, :func:`encode` / :func:`decode` / :func:`quantize`,
the MAC unit, the network, the errors and modes, and the submodules.
"""
from . import codec, errors, formats, mac, modes, network, reference, tensors
from .codec import decode, dequantize_affine, encode, quantize, quantize_affine
from .errors import (
                     BackendError,
                     FormatError,
                     HwsimError,
                     NaNInputError,
                     OverflowValueError,
                     UnsupportedModeError,
)
from .formats import (
                     PRESETS,
                     BFPFormat,
                     CodebookFormat,
                     FixedFormat,
                     FloatFormat,
                     IntFormat,
                     MXFormat,
                     NVFP4Format,
                     PWLQFormat,
                     format,
                     p3109,
)
from .mac import MacUnit, dot, matmul
from .modes import Flags, Overflow, RoundingMode, Tininess
from .network import Network, load_onnx
from .rtl.golden import export

__version__ = "0.1.0"

__all__ = [
    # formats
    "format", "FloatFormat", "IntFormat", "FixedFormat", "MXFormat", "NVFP4Format", "BFPFormat",
    "CodebookFormat", "PWLQFormat", "PRESETS", "p3109",
    # codecs
    "encode", "decode", "quantize", "quantize_affine", "dequantize_affine",
    # MAC unit and network
    "MacUnit", "matmul", "dot", "Network", "load_onnx",
    # golden vectors
    "export",
    # errors and modes
    "HwsimError", "FormatError", "UnsupportedModeError", "OverflowValueError", "NaNInputError",
    "BackendError", "RoundingMode", "Overflow", "Tininess", "Flags",
    # submodules
    "formats", "codec", "tensors", "mac", "network", "reference", "errors", "modes",
]
