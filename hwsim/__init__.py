"""hwsim: bit-accurate simulator of low-precision accelerator arithmetic.

The public API is re-exported here; see README.md for a tour.
"""
from .api import decode, encode, quantize, random_bits
from .errors import (FormatError, HwsimError, NaNInputError, OverflowValueError,
                     UnsupportedModeError)
from .formats import PRESETS, FixedFormat, FloatFormat, IntFormat, format, p3109
from .modes import Flags, Overflow, RoundingMode, Tininess

__version__ = "0.1.0"

__all__ = [
    "FloatFormat", "IntFormat", "FixedFormat", "PRESETS", "format", "p3109",
    "encode", "decode", "quantize", "random_bits",
    "RoundingMode", "Overflow", "Tininess", "Flags",
    "HwsimError", "FormatError", "UnsupportedModeError", "OverflowValueError", "NaNInputError",
]
