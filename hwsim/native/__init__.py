"""Bridge to the compiled C library ``hwsim._hwsim_c`` (this package is its only importer).

``ffi`` (ffi / lib, format and option structs, status codes), ``threads`` (the
one pool and chunker), ``tuning`` (performance thresholds), ``memory`` (glibc
malloc settings applied at import), ``codec`` (scalar
kernels) and ``block`` (MX / NVFP4 / BFP kernels).
"""
from . import tuning
from .memory import tune_malloc
from .block import bfp_quantize, mx_quantize, nvfp4_quantize
from .codec import decode_fixed, decode_float, decode_lut, encode_fixed, encode_float, random_bits
from .ffi import c_format, ffi, lib, make_opts, raise_status
from .threads import chunks, default_threads, pool, run_chunked, run_ranges

__all__ = ["ffi", "lib", "c_format", "make_opts", "raise_status", "default_threads", "pool",
           "chunks", "run_chunked", "run_ranges", "encode_float", "encode_fixed",
           "decode_float", "decode_fixed", "decode_lut", "random_bits", "mx_quantize",
           "nvfp4_quantize", "bfp_quantize", "tuning"]

tune_malloc()  # once per process (hwsim.native.memory: HWSIM_MALLOC=default to skip)
