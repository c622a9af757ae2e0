"""Encoding, decoding and quantization for every format kind.

:func:`encode` / :func:`decode` / :func:`quantize` dispatch on the format kind
through one table (:data:`CODECS`); ``scalar`` (float / int / fixed, C kernels),
``block`` (MX / NVFP4 / BFP), ``codebook`` (NF4, PWLQ) and ``affine``
(scale / zero point) hold the codecs.
"""
from .affine import dequantize_affine, int_range, ints_from_codes, quantize_affine
from .block import codes_check, default_tensor_scale
from .blocktensor import BlockTensor, PWLQTensor, pack_nibbles, unpack_nibbles
from .codebook import pwlq_candidates, pwlq_error, search_breakpoint
from .dispatch import CODECS, Codec, decode, encode, quantize
from .inputs import as_float_array, check_threads
from .scalar import codes_from_signed, random_bits

__all__ = ["encode", "decode", "quantize", "random_bits", "quantize_affine",
           "dequantize_affine", "int_range", "ints_from_codes", "default_tensor_scale",
           "codes_check", "codes_from_signed", "as_float_array", "check_threads", "CODECS",
           "Codec", "BlockTensor", "PWLQTensor", "pack_nibbles", "unpack_nibbles",
           "search_breakpoint", "pwlq_error", "pwlq_candidates"]
