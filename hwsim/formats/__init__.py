"""Number formats: data objects only (no encoding code).

``scalar`` (FloatFormat, IntFormat, FixedFormat), ``block`` (MX, NVFP4, BFP),
``codebook`` (codebooks, NF4, PWLQ), ``catalogue`` (scalar presets, aliases,
P3109) and ``parse`` (:func:`format` / :func:`from_dict` over every kind).
Encoding lives in :mod:`hwsim.codec`.

>>> import hwsim
>>> f = hwsim.format("float8_e4m3fn")
>>> (f.bits, f.bias, f.max_finite, f.min_subnormal)
(8, 7, 448.0, 0.001953125)
>>> hwsim.format("e5m10") == hwsim.format("float16")
True
"""
from .block import (
                    E2M1,
                    E4M3,
                    E8M0,
                    MSFP12,
                    MSFP16,
                    MXFP4,
                    MXFP6_E2M3,
                    MXFP6_E3M2,
                    MXFP8_E4M3,
                    MXFP8_E5M2,
                    MXINT8,
                    MXINT8_ELEM,
                    NVFP4,
                    BFPFormat,
                    MXFormat,
                    NVFP4Format,
)
from .catalogue import ALIASES, AMBIGUOUS, PRESETS, markdown_table, p3109, table_rows
from .codebook import NF4, NF4_VALUES, CodebookFormat, PWLQFormat
from .parse import NAMES, format, from_dict
from .scalar import SPECIALS, SPECIALS_CODE, FixedFormat, FloatFormat, IntFormat, code_dtype

#: Kinds of scalar formats (one code per value) and of block / codebook formats.
SCALAR_KINDS = ("float", "int", "fixed")
BLOCK_KINDS = ("mx", "nvfp4", "bfp")

__all__ = [
    "FloatFormat", "IntFormat", "FixedFormat", "MXFormat", "NVFP4Format", "BFPFormat",
    "CodebookFormat", "PWLQFormat", "PRESETS", "ALIASES", "AMBIGUOUS", "SPECIALS",
    "SPECIALS_CODE", "NAMES", "SCALAR_KINDS", "BLOCK_KINDS", "format", "from_dict", "p3109",
    "table_rows", "markdown_table", "code_dtype", "E8M0", "E4M3", "E2M1", "MXINT8_ELEM",
    "MXFP8_E4M3", "MXFP8_E5M2", "MXFP6_E3M2", "MXFP6_E2M3", "MXFP4", "MXINT8", "NVFP4",
    "MSFP12", "MSFP16", "NF4", "NF4_VALUES",
]
