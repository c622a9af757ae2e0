"""Block-format kernels (MX, NVFP4, BFP).

Each takes a C-contiguous 2-D float32/float64 array whose rows are cut into
blocks along the last axis; rows are split over threads by
:func:`hwsim.native.threads.run_chunked` (results never depend on the split:
every block lies in one row, SR indices are global).
"""
from __future__ import annotations

import numpy as np

from .ffi import c_format, ffi, lib, make_opts
from .threads import run_chunked
from .tuning import BLOCK_MIN_CHUNK


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


def _run_rows(x: np.ndarray, block_size: int, codes: np.ndarray, scales: np.ndarray, scale_ptr: str,
              opts_kw: dict, threads: int, what: str, kernel) -> int:
    """Quantize the rows of ``x`` in chunks over threads; ``kernel(codes_ptr, code_size,
    scales_ptr, in_ptr, in_kind, rows, opts, res)`` calls the C kernel of one chunk."""
    nrows, ncols = x.shape
    nb = -(-ncols // block_size)
    esz, isz, kind = codes.dtype.itemsize, x.dtype.itemsize, _in_kind(x)
    index0 = opts_kw.get("index0", 0)

    def call(r0: int, r1: int):
        o = make_opts(**{**opts_kw, "index0": index0 + r0 * ncols})
        res = ffi.new("hw_result *")
        rc = kernel(ffi.cast("char *", ffi.from_buffer(codes)) + r0 * ncols * esz, esz,
                    ffi.cast(scale_ptr, ffi.from_buffer(scales)) + r0 * nb,
                    ffi.cast("char *", ffi.from_buffer(x)) + r0 * ncols * isz, kind, r1 - r0, o, res)
        return rc, res.flags, res.err_index

    return run_chunked(call, nrows, threads, what, min_chunk=BLOCK_MIN_CHUNK, item_size=ncols,
                       align=1)


def mx_quantize(x: np.ndarray, block_size: int, elem_fmt, emax_elem: int, int_spec,
                code_dtype, opts_kw: dict, threads: int, scales=None):
    """OCP MX: (element codes, E8M0 scale codes, flags).  elem_fmt: a FloatFormat,
    or None with int_spec = (bits, frac_bits, int_min) for integer elements.
    scales: optional caller E8M0 codes (nrows x nblocks) used instead of computed ones."""
    nrows, ncols = x.shape
    codes = np.empty((nrows, ncols), dtype=code_dtype)
    scales, given = _scale_array(scales, (nrows, -(-ncols // block_size)), np.uint8)
    f = ffi.NULL if elem_fmt is None else c_format(elem_fmt)
    ib, ifr, imin = int_spec if int_spec is not None else (0, 0, 0)

    def kernel(pc, esz, ps, px, kind, rows, o, res):
        return lib.hw_mx_quantize(pc, esz, ps, given, px, kind, rows, ncols, block_size, f,
                                  emax_elem, ib, ifr, imin, o, res)

    flags = _run_rows(x, block_size, codes, scales, "uint8_t *", opts_kw, threads, "MX quantize",
                      kernel)
    return codes, scales, flags


def nvfp4_quantize(x: np.ndarray, block_size: int, tensor_scale: float, exact: bool,
                   opts_kw: dict, threads: int, scales=None):
    """NVFP4: (E2M1 codes, E4M3 scale codes, flags); optional caller scale codes."""
    nrows, ncols = x.shape
    codes = np.empty((nrows, ncols), dtype=np.uint8)
    scales, given = _scale_array(scales, (nrows, -(-ncols // block_size)), np.uint8)
    arith = lib.HW_NVFP4_EXACT if exact else lib.HW_NVFP4_FLOAT32

    def kernel(pc, esz, ps, px, kind, rows, o, res):
        return lib.hw_nvfp4_quantize(ffi.cast("uint8_t *", pc), ps, given, px, kind, rows, ncols,
                                     block_size, float(tensor_scale), arith, o, res)

    flags = _run_rows(x, block_size, codes, scales, "uint8_t *", opts_kw, threads,
                      "NVFP4 quantize", kernel)
    return codes, scales, flags


def bfp_quantize(x: np.ndarray, block_size: int, man_bits: int, exp_bits: int, twos: bool,
                 code_dtype, opts_kw: dict, threads: int, scales=None):
    """Block floating point: (element codes, biased shared exponents uint16, flags);
    optional caller biased exponents."""
    nrows, ncols = x.shape
    codes = np.empty((nrows, ncols), dtype=code_dtype)
    exps, given = _scale_array(scales, (nrows, -(-ncols // block_size)), np.uint16)

    def kernel(pc, esz, ps, px, kind, rows, o, res):
        return lib.hw_bfp_quantize(pc, esz, ps, given, px, kind, rows, ncols, block_size,
                                   man_bits, exp_bits, int(twos), o, res)

    flags = _run_rows(x, block_size, codes, exps, "uint16_t *", opts_kw, threads, "BFP quantize",
                      kernel)
    return codes, exps, flags
