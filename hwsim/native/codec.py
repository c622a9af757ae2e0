"""Scalar codec kernels: float / fixed encode and decode, the decode tables,
the counter-based random bits.  Arrays are split over threads by
:func:`hwsim.native.threads.run_chunked`."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..formats import FloatFormat
from .ffi import c_format, ffi, lib, make_opts, raise_status
from .threads import run_chunked
from .tuning import FLAT_MIN_CHUNK, LUT_MAX_BITS, LUT_MIN_CODES, PARALLEL_THRESHOLD


def _run_encode(x: np.ndarray, out: np.ndarray, opts_kw: dict, rand, elem_flags, threads: int,
                what: str, kernel, **chunk_kw) -> int:
    """Encode ``x`` into ``out`` in chunks over threads; ``kernel(out_ptr, code_size, in_ptr,
    in_kind, n, opts, rand_ptr, flags_ptr, res)`` calls the C encoder of one chunk."""
    in_kind = lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64
    csize = out.dtype.itemsize
    isz = x.dtype.itemsize
    index0 = opts_kw.get("index0", 0)

    def call(a: int, b: int):
        o = make_opts(**{**opts_kw, "index0": index0 + a})
        res = ffi.new("hw_result *")
        prand = ffi.NULL if rand is None else ffi.cast("uint32_t *", ffi.from_buffer(rand)) + a
        pfl = ffi.NULL if elem_flags is None else ffi.cast("uint8_t *", ffi.from_buffer(elem_flags)) + a
        rc = kernel(ffi.cast("char *", ffi.from_buffer(out)) + a * csize, csize,
                    ffi.cast("char *", ffi.from_buffer(x)) + a * isz, in_kind, b - a, o, prand, pfl,
                    res)
        return rc, res.flags, res.err_index

    return run_chunked(call, x.size, threads, what, **chunk_kw)


def encode_float(x: np.ndarray, fmt: FloatFormat, opts_kw: dict, rand, elem_flags,
                 threads: int) -> tuple[np.ndarray, int]:
    """x: C-contiguous float32/float64 1-D; returns (codes, OR-ed flags)."""
    f = c_format(fmt)
    out = np.empty(x.shape, dtype=fmt.code_dtype)

    def kernel(po, csize, pi, in_kind, n, o, prand, pfl, res):
        return lib.hw_encode(po, csize, pi, in_kind, n, f, o, prand, pfl, res)

    flat = x.dtype == np.float32 and fmt.bias == 127 and fmt.exp_bits == 8
    flags = _run_encode(x, out, opts_kw, rand, elem_flags, threads, f"encode to {fmt.name}",
                        kernel, min_chunk=FLAT_MIN_CHUNK if flat else PARALLEL_THRESHOLD // 2)
    return out, flags


def encode_fixed(x: np.ndarray, bits: int, frac_bits: int, signed: bool, code_dtype,
                 opts_kw: dict, rand, elem_flags, threads: int,
                 name=None) -> tuple[np.ndarray, int]:
    """``name``: the format's name for error messages (default ``[u]fixedB.F``)."""
    name = name or f"{'' if signed else 'u'}fixed{bits}.{frac_bits}"
    out = np.empty(x.shape, dtype=code_dtype)

    def kernel(po, csize, pi, in_kind, n, o, prand, pfl, res):
        return lib.hw_encode_fixed(po, csize, pi, in_kind, n, bits, frac_bits, int(signed), o,
                                   prand, pfl, res)

    flags = _run_encode(x, out, opts_kw, rand, elem_flags, threads, f"encode to {name}", kernel)
    return out, flags


@lru_cache(maxsize=64)
def decode_lut(fmt: FloatFormat, daz: bool) -> np.ndarray:
    """float64 table of every code of ``fmt``, built once by the general C decoder.

    Decoding through it (``hw_decode_lut``) copies table entries bit for bit,
    so it gives exactly what ``hw_decode`` gives.
    """
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    lut = np.empty(codes.size, dtype=np.float64)
    res = ffi.new("hw_result *")
    rc = lib.hw_decode_general(ffi.cast("double *", ffi.from_buffer(lut)),
                               ffi.from_buffer(codes), codes.itemsize, codes.size,
                               c_format(fmt), make_opts(daz=daz), res)
    if rc != lib.HW_OK:
        raise_status(rc, res.err_index, f"decode table of {fmt.name}")
    lut.flags.writeable = False
    return lut


def _use_lut(fmt: FloatFormat, n: int) -> bool:
    """Whether decoding n codes of fmt goes through the cached table.

    An 8-bit table costs nothing; a 16-bit one (512 KiB, built once) pays off
    only for arrays that are not tiny.  The bfloat16 family (IEEE, 8 exponent
    bits, bias 127) is widened faster by ``hw_decode``'s own float32 path.
    """
    if fmt.specials == "ieee" and fmt.exp_bits == 8 and fmt.bias == 127 and fmt.signed:
        return False
    return fmt.bits <= 8 or (fmt.bits <= LUT_MAX_BITS and n >= LUT_MIN_CODES)


def decode_float(codes: np.ndarray, fmt: FloatFormat, daz: bool, threads: int) -> np.ndarray:
    f = c_format(fmt)
    out = np.empty(codes.shape, dtype=np.float64)
    csize = codes.dtype.itemsize
    o = make_opts(daz=daz)
    lut = decode_lut(fmt, bool(daz)) if _use_lut(fmt, codes.size) else None
    plut = None if lut is None else ffi.cast("double *", ffi.from_buffer(lut))

    def call(a: int, b: int):
        res = ffi.new("hw_result *")
        pout = ffi.cast("double *", ffi.from_buffer(out)) + a
        pin = ffi.cast("char *", ffi.from_buffer(codes)) + a * csize
        if plut is not None:
            rc = lib.hw_decode_lut(pout, pin, csize, b - a, plut, lut.size, res)
        else:
            rc = lib.hw_decode(pout, pin, csize, b - a, f, o, res)
        return rc, res.flags, res.err_index

    flat = lut is None and fmt.specials == "ieee" and fmt.exp_bits == 8 and fmt.bias == 127
    run_chunked(call, codes.size, threads, f"decode from {fmt.name}",
                min_chunk=FLAT_MIN_CHUNK if flat else PARALLEL_THRESHOLD // 2)
    return out


def decode_fixed(codes: np.ndarray, bits: int, frac_bits: int, signed: bool,
                 threads: int) -> np.ndarray:
    out = np.empty(codes.shape, dtype=np.float64)
    csize = codes.dtype.itemsize

    def call(a: int, b: int):
        res = ffi.new("hw_result *")
        rc = lib.hw_decode_fixed(ffi.cast("double *", ffi.from_buffer(out)) + a,
                                 ffi.cast("char *", ffi.from_buffer(codes)) + a * csize, csize,
                                 b - a, bits, frac_bits, int(signed), res)
        return rc, res.flags, res.err_index

    run_chunked(call, codes.size, threads, "decode fixed point")
    return out


def random_bits(n: int, seed: int, index0: int = 0) -> np.ndarray:
    out = np.empty(n, dtype=np.uint32)
    rc = lib.hw_random_bits(ffi.cast("uint32_t *", ffi.from_buffer(out)), n,
                            int(seed) & 0xFFFFFFFFFFFFFFFF, int(index0) & 0xFFFFFFFFFFFFFFFF)
    if rc != lib.HW_OK:
        raise_status(rc, -1, "random_bits")
    return out
