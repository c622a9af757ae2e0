"""Bridge to the compiled C library ``hwsim._hwsim_c`` (the only importer of it).

Turns format objects into cached ``hw_format`` structs, builds ``hw_opts``,
maps status codes to exceptions and splits large arrays over threads (the
C calls release the GIL; every element's result depends only on its own
input, its global index and the options, so the thread count never changes
a bit).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from . import _hwsim_c
from .errors import (BackendError, FormatError, NaNInputError, OverflowValueError,
                     UnsupportedModeError)
from .formats import SPECIALS_CODE, FloatFormat

ffi = _hwsim_c.ffi
lib = _hwsim_c.lib

#: arrays shorter than this are converted on one thread, and no thread gets
#: fewer than half of it.  The fast fp8 / fp4 encode kernels and the table
#: decode do 0.8 to 1.4e9 elements/s per core (benchmarks/README.md), so a
#: chunk of 2**17 elements takes ~100 us, well above what a pool hand-off
#: costs (~20 us idle, much more when the cores are busy with other work).
PARALLEL_THRESHOLD = 1 << 18

#: the same lower bound per thread for the bfloat16-family kernels (float32
#: input at bias 127, and their decode), which run at 3 to 5e9 elements/s.
FLAT_MIN_CHUNK = 1 << 20

#: per-thread lower bound (elements) for the block-format kernels (MX, NVFP4
#: at 0.3 to 0.7e9 elements/s, BFP slower).
BLOCK_MIN_CHUNK = 1 << 16


def default_threads() -> int:
    env = os.environ.get("HWSIM_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"HWSIM_NUM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"HWSIM_NUM_THREADS must be >= 1, got {n}")
        return n
    return _cpu_count()


@lru_cache(maxsize=1)
def _cpu_count() -> int:
    return os.cpu_count() or 1  # a syscall per query: asked once


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    return _POOL


@lru_cache(maxsize=None)
def c_format(fmt: FloatFormat):
    """The validated ``hw_format*`` of a FloatFormat (cached per format)."""
    f = ffi.new("hw_format *")
    f.exp_bits = fmt.exp_bits
    f.man_bits = fmt.man_bits
    f.bias = fmt.bias
    f.specials = SPECIALS_CODE[fmt.specials]
    f.subnormals = int(fmt.subnormals)
    f.is_signed = int(fmt.signed)
    rc = lib.hw_format_init(f)
    if rc != lib.HW_OK:
        raise FormatError(f"the C library rejected {fmt!r} (status {rc})")
    return f


def make_opts(rounding=0, overflow=0, tininess=0, ftz=False, daz=False, nan_code=None,
              sr_bits=0, sr_external=False, seed=0, index0=0):
    o = ffi.new("hw_opts *")
    o.rounding = int(rounding)
    o.overflow = int(overflow)
    o.tininess = int(tininess)
    o.ftz = int(bool(ftz))
    o.daz = int(bool(daz))
    o.nan_policy = lib.HW_NAN_ERROR if nan_code is None else lib.HW_NAN_CODE
    o.nan_code = 0 if nan_code is None else int(nan_code)
    o.sr_bits = int(sr_bits)
    o.sr_external = int(bool(sr_external))
    o.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    o.index0 = int(index0) & 0xFFFFFFFFFFFFFFFF
    return o


def _raise(rc: int, err_index: int, what: str) -> None:
    if rc == lib.HW_E_OVERFLOW:
        raise OverflowValueError(
            f"{what}: element {err_index} overflows the format (overflow='error')")
    if rc == lib.HW_E_NAN:
        raise NaNInputError(
            f"{what}: element {err_index} is NaN and the format has no NaN code; pass "
            f"nan=<code> to choose one")
    if rc == lib.HW_E_CODE:
        raise ValueError(f"{what}: codes[{err_index}] is out of range for the format")
    if rc == lib.HW_E_MODE:
        raise UnsupportedModeError(f"{what}: unsupported option combination (status {rc})")
    if rc == lib.HW_E_FORMAT:
        raise FormatError(f"{what}: invalid format (status {rc})")
    raise BackendError(f"{what}: C kernel failed with status {rc}")


def _chunks(n: int, threads: int, min_chunk: int = PARALLEL_THRESHOLD // 2):
    """Contiguous (start, stop) ranges, one per thread, none below min_chunk
    elements (so one range below 2 * min_chunk), starts multiples of 64."""
    if threads <= 1 or n < 2 * min_chunk:
        return [(0, n)]
    k = min(threads, max(1, n // min_chunk))
    step = -(-n // k)
    step = (step + 63) // 64 * 64
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def _run_chunked(call, n: int, threads: int, what: str,
                 min_chunk: int = PARALLEL_THRESHOLD // 2) -> int:
    """call(start, stop) -> (rc, flags, err_index relative to start); returns OR of flags.

    The first chunk runs on the calling thread while the pool takes the others
    (the C calls release the GIL).  On errors the lowest failing chunk wins, so
    the reported element is the first offending one, as with one thread.
    """
    chunks = _chunks(n, threads, min_chunk)
    if len(chunks) == 1:
        results = [call(0, n)]
    else:
        futures = [_pool().submit(call, a, b) for a, b in chunks[1:]]
        first = call(*chunks[0])
        results = [first] + [fu.result() for fu in futures]
    flags = 0
    for (start, _), (rc, fl, ei) in zip(chunks, results):
        if rc != lib.HW_OK:
            _raise(rc, start + ei, what)
        flags |= fl
    return flags


def encode_float(x: np.ndarray, fmt: FloatFormat, opts_kw: dict, rand, elem_flags,
                 threads: int) -> tuple[np.ndarray, int]:
    """x: C-contiguous float32/float64 1-D; returns (codes, OR-ed flags)."""
    f = c_format(fmt)
    out = np.empty(x.shape, dtype=fmt.code_dtype)
    in_kind = lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64
    csize = out.dtype.itemsize
    isz = x.dtype.itemsize
    index0 = opts_kw.get("index0", 0)

    def call(a: int, b: int):
        o = make_opts(**{**opts_kw, "index0": index0 + a})
        res = ffi.new("hw_result *")
        pin = ffi.from_buffer(x)
        pout = ffi.from_buffer(out)
        prand = ffi.NULL if rand is None else ffi.cast("uint32_t *", ffi.from_buffer(rand)) + a
        pfl = ffi.NULL if elem_flags is None else ffi.cast("uint8_t *", ffi.from_buffer(elem_flags)) + a
        rc = lib.hw_encode(ffi.cast("char *", pout) + a * csize, csize,
                           ffi.cast("char *", pin) + a * isz, in_kind, b - a, f, o, prand, pfl, res)
        return rc, res.flags, res.err_index

    flat = x.dtype == np.float32 and fmt.bias == 127 and fmt.exp_bits == 8
    flags = _run_chunked(call, x.size, threads, f"encode to {fmt.name}",
                         FLAT_MIN_CHUNK if flat else PARALLEL_THRESHOLD // 2)
    return out, flags


def encode_fixed(x: np.ndarray, bits: int, frac_bits: int, signed: bool, code_dtype,
                 opts_kw: dict, rand, elem_flags, threads: int, name=None) -> tuple[np.ndarray, int]:
    """``name``: the format's name for error messages (default ``[u]fixedB.F``)."""
    name = name or f"{'' if signed else 'u'}fixed{bits}.{frac_bits}"
    out = np.empty(x.shape, dtype=code_dtype)
    in_kind = lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64
    csize = out.dtype.itemsize
    isz = x.dtype.itemsize
    index0 = opts_kw.get("index0", 0)

    def call(a: int, b: int):
        o = make_opts(**{**opts_kw, "index0": index0 + a})
        res = ffi.new("hw_result *")
        prand = ffi.NULL if rand is None else ffi.cast("uint32_t *", ffi.from_buffer(rand)) + a
        pfl = ffi.NULL if elem_flags is None else ffi.cast("uint8_t *", ffi.from_buffer(elem_flags)) + a
        rc = lib.hw_encode_fixed(ffi.cast("char *", ffi.from_buffer(out)) + a * csize, csize,
                                 ffi.cast("char *", ffi.from_buffer(x)) + a * isz, in_kind,
                                 b - a, bits, frac_bits, int(signed), o, prand, pfl, res)
        return rc, res.flags, res.err_index

    flags = _run_chunked(call, x.size, threads, f"encode to {name}")
    return out, flags


#: formats of at most this many bits decode through a cached lookup table
LUT_MAX_BITS = 16


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
        _raise(rc, res.err_index, f"decode table of {fmt.name}")
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
    return fmt.bits <= 8 or (fmt.bits <= LUT_MAX_BITS and n >= 4096)


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
    _run_chunked(call, codes.size, threads, f"decode from {fmt.name}",
                 FLAT_MIN_CHUNK if flat else PARALLEL_THRESHOLD // 2)
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

    _run_chunked(call, codes.size, threads, "decode fixed point")
    return out


def random_bits(n: int, seed: int, index0: int = 0) -> np.ndarray:
    out = np.empty(n, dtype=np.uint32)
    rc = lib.hw_random_bits(ffi.cast("uint32_t *", ffi.from_buffer(out)), n,
                            int(seed) & 0xFFFFFFFFFFFFFFFF, int(index0) & 0xFFFFFFFFFFFFFFFF)
    if rc != lib.HW_OK:
        _raise(rc, -1, "random_bits")
    return out


# ---------------------------------------------------------------------------
# Block formats (section owned by the `block` branch: MX, NVFP4, BFP kernels).
# Each takes a C-contiguous 2-D float32/float64 array whose rows are cut into
# blocks along the last axis; rows are split over threads (results never
# depend on the split: every block lies in one row, SR indices are global).
# ---------------------------------------------------------------------------
def _row_chunks(nrows: int, ncols: int, threads: int):
    n = nrows * ncols
    if threads <= 1 or n < 2 * BLOCK_MIN_CHUNK or nrows < 2:
        return [(0, nrows)]
    k = min(threads, nrows, max(1, n // BLOCK_MIN_CHUNK))
    step = -(-nrows // k)
    return [(s, min(nrows, s + step)) for s in range(0, nrows, step)]


def _run_rows(call, nrows: int, ncols: int, threads: int, what: str) -> int:
    """call(r0, r1) -> (rc, flags, err_index relative to row r0); returns OR of flags.

    As _run_chunked: the first row chunk runs on the calling thread while the
    pool takes the others, and the lowest failing chunk's error is raised.
    """
    chunks = _row_chunks(nrows, ncols, threads)
    if len(chunks) == 1:
        results = [call(0, nrows)]
    else:
        futures = [_pool().submit(call, a, b) for a, b in chunks[1:]]
        first = call(*chunks[0])
        results = [first] + [fu.result() for fu in futures]
    flags = 0
    for (r0, _), (rc, fl, ei) in zip(chunks, results):
        if rc != lib.HW_OK:
            _raise(rc, r0 * ncols + ei, what)
        flags |= fl
    return flags


def _in_kind(x: np.ndarray) -> int:
    return lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64


def _scale_array(given, shape, dtype) -> tuple[np.ndarray, int]:
    """(scale array the kernel reads or writes, scales_in flag)."""
    if given is None:
        return np.empty(shape, dtype=dtype), 0
    g = np.ascontiguousarray(given, dtype=dtype)
    if g.shape != shape:
        raise ValueError(f"scales must have {shape[0] * shape[1]} entries in the kernel layout, "
                         f"got shape {g.shape}")
    return g.copy(), 1


def mx_quantize(x: np.ndarray, block_size: int, elem_fmt, emax_elem: int, int_spec,
                code_dtype, opts_kw: dict, threads: int, scales=None):
    """OCP MX: (element codes, E8M0 scale codes, flags).  elem_fmt: a FloatFormat,
    or None with int_spec = (bits, frac_bits, int_min) for integer elements.
    scales: optional caller E8M0 codes (nrows x nblocks) used instead of computed ones."""
    nrows, ncols = x.shape
    nb = -(-ncols // block_size)
    codes = np.empty((nrows, ncols), dtype=code_dtype)
    scales, given = _scale_array(scales, (nrows, nb), np.uint8)
    f = ffi.NULL if elem_fmt is None else c_format(elem_fmt)
    ib, ifr, imin = int_spec if int_spec is not None else (0, 0, 0)
    esz, isz, kind = codes.dtype.itemsize, x.dtype.itemsize, _in_kind(x)
    index0 = opts_kw.get("index0", 0)

    def call(r0: int, r1: int):
        o = make_opts(**{**opts_kw, "index0": index0 + r0 * ncols})
        res = ffi.new("hw_result *")
        rc = lib.hw_mx_quantize(
            ffi.cast("char *", ffi.from_buffer(codes)) + r0 * ncols * esz, esz,
            ffi.cast("uint8_t *", ffi.from_buffer(scales)) + r0 * nb, given,
            ffi.cast("char *", ffi.from_buffer(x)) + r0 * ncols * isz, kind,
            r1 - r0, ncols, block_size, f, emax_elem, ib, ifr, imin, o, res)
        return rc, res.flags, res.err_index

    flags = _run_rows(call, nrows, ncols, threads, "MX quantize")
    return codes, scales, flags


def nvfp4_quantize(x: np.ndarray, block_size: int, tensor_scale: float, exact: bool,
                   opts_kw: dict, threads: int, scales=None):
    """NVFP4: (E2M1 codes, E4M3 scale codes, flags); optional caller scale codes."""
    nrows, ncols = x.shape
    nb = -(-ncols // block_size)
    codes = np.empty((nrows, ncols), dtype=np.uint8)
    scales, given = _scale_array(scales, (nrows, nb), np.uint8)
    isz, kind = x.dtype.itemsize, _in_kind(x)
    arith = lib.HW_NVFP4_EXACT if exact else lib.HW_NVFP4_FLOAT32
    index0 = opts_kw.get("index0", 0)

    def call(r0: int, r1: int):
        o = make_opts(**{**opts_kw, "index0": index0 + r0 * ncols})
        res = ffi.new("hw_result *")
        rc = lib.hw_nvfp4_quantize(
            ffi.cast("uint8_t *", ffi.from_buffer(codes)) + r0 * ncols,
            ffi.cast("uint8_t *", ffi.from_buffer(scales)) + r0 * nb, given,
            ffi.cast("char *", ffi.from_buffer(x)) + r0 * ncols * isz, kind,
            r1 - r0, ncols, block_size, float(tensor_scale), arith, o, res)
        return rc, res.flags, res.err_index

    flags = _run_rows(call, nrows, ncols, threads, "NVFP4 quantize")
    return codes, scales, flags


def bfp_quantize(x: np.ndarray, block_size: int, man_bits: int, exp_bits: int, twos: bool,
                 code_dtype, opts_kw: dict, threads: int, scales=None):
    """Block floating point: (element codes, biased shared exponents uint16, flags);
    optional caller biased exponents."""
    nrows, ncols = x.shape
    nb = -(-ncols // block_size)
    codes = np.empty((nrows, ncols), dtype=code_dtype)
    exps, given = _scale_array(scales, (nrows, nb), np.uint16)
    esz, isz, kind = codes.dtype.itemsize, x.dtype.itemsize, _in_kind(x)
    index0 = opts_kw.get("index0", 0)

    def call(r0: int, r1: int):
        o = make_opts(**{**opts_kw, "index0": index0 + r0 * ncols})
        res = ffi.new("hw_result *")
        rc = lib.hw_bfp_quantize(
            ffi.cast("char *", ffi.from_buffer(codes)) + r0 * ncols * esz, esz,
            ffi.cast("uint16_t *", ffi.from_buffer(exps)) + r0 * nb, given,
            ffi.cast("char *", ffi.from_buffer(x)) + r0 * ncols * isz, kind,
            r1 - r0, ncols, block_size, man_bits, exp_bits, int(twos), o, res)
        return rc, res.flags, res.err_index

    flags = _run_rows(call, nrows, ncols, threads, "BFP quantize")
    return codes, exps, flags
