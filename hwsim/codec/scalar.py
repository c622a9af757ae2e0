"""Scalar codecs (float / int / fixed): encode, decode, quantize, random bits.

>>> import numpy as np, hwsim
>>> hwsim.encode(np.array([1.0, 448.0, 464.0, 465.0]), "float8_e4m3fn")
array([ 56, 126, 126, 127], dtype=uint8)
>>> hwsim.decode(np.array([56, 126, 127], dtype=np.uint8), "float8_e4m3fn")
array([  1., 448.,  nan])
>>> hwsim.quantize(np.array([0.1]), "bfloat16", rounding="rtz")
array([0.09960938])
"""
from __future__ import annotations

import numpy as np

from .. import native
from ..errors import UnsupportedModeError
from ..modes import Flags, Overflow, RoundingMode, Tininess
from .inputs import as_float_array, check_threads


def _check_out_array(arr, name: str, shape, dtype) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (same as x), got {arr.shape}")
    if arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {arr.dtype}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return arr


def _scalar_opts(fmt, rounding, overflow, tininess, ftz, daz, nan, sr_bits, seed, rand,
                 index0, shape):
    mode = RoundingMode.parse(rounding)
    ovf = Overflow.parse(overflow if overflow is not None else fmt.default_overflow)
    if fmt.kind == "float":
        if ovf == Overflow.WRAP:
            raise UnsupportedModeError("overflow='wrap' applies to int/fixed formats only; "
                                       "float formats take saturate, saturate_finite_keep_inf, special, error")
        if ovf == Overflow.SPECIAL and not (fmt.has_inf or fmt.has_nan):
            raise UnsupportedModeError(
                f"overflow='special' needs a format with Inf or NaN; {fmt.name} has neither "
                "(use 'saturate' or 'error')")
    elif ovf not in (Overflow.SATURATE, Overflow.WRAP, Overflow.ERROR):
        raise UnsupportedModeError(
            f"overflow for {fmt.name} must be one of saturate, wrap, error; got {ovf.short!r}")
    if nan is None or nan == "error":
        nan_code = None
    else:
        if isinstance(nan, bool) or not isinstance(nan, (int, np.integer)):
            raise ValueError(f"nan must be 'error' or an integer code, got {nan!r}")
        if not 0 <= int(nan) < (1 << fmt.bits):
            raise ValueError(f"nan code must be in [0, {(1 << fmt.bits) - 1}], got {nan}")
        nan_code = int(nan)
    if mode == RoundingMode.SR:
        if sr_bits is None:
            raise ValueError("rounding='sr' needs sr_bits (random bits r, 1..32)")
        if isinstance(sr_bits, bool) or not isinstance(sr_bits, (int, np.integer)) or not 1 <= sr_bits <= 32:
            raise ValueError(f"sr_bits must be an integer in [1, 32], got {sr_bits!r}")
    elif sr_bits is not None or rand is not None:
        raise ValueError("sr_bits and rand apply to rounding='sr' only")
    if rand is not None:
        rand = _check_out_array(rand, "rand", shape, np.uint32)
    if isinstance(index0, bool) or not isinstance(index0, (int, np.integer)) or index0 < 0:
        raise ValueError(f"index0 must be an integer >= 0, got {index0!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return dict(rounding=int(mode), overflow=int(ovf), tininess=int(Tininess.parse(tininess)),
                ftz=bool(ftz), daz=bool(daz), nan_code=nan_code,
                sr_bits=int(sr_bits or 0), sr_external=rand is not None, seed=int(seed),
                index0=int(index0)), rand


def encode(x, fmt, rounding="rne", overflow=None, *, tininess="after", ftz=False, daz=False,
           nan=None, sr_bits=None, seed=0, rand=None, index0=0, return_flags=False,
           threads=None, **block_kw):
    """Codes of the scalar format ``fmt`` (a format object); see :func:`hwsim.encode`."""
    if block_kw:
        raise TypeError(f"encode() got unexpected keyword(s) {sorted(block_kw)} for {fmt.name}")
    xa = as_float_array(x)
    shape = xa.shape
    flat = xa.reshape(-1)
    kw, rand = _scalar_opts(fmt, rounding, overflow, tininess, ftz, daz, nan, sr_bits, seed,
                            rand, index0, shape)
    if return_flags not in (False, True, "elementwise"):
        raise ValueError(f"return_flags must be False, True or 'elementwise', got {return_flags!r}")
    ef = np.zeros(flat.shape, dtype=np.uint8) if return_flags == "elementwise" else None
    rflat = None if rand is None else rand.reshape(-1)
    nt = check_threads(threads)
    if fmt.kind == "float":
        codes, flags = native.encode_float(flat, fmt, kw, rflat, ef, nt)
    else:
        codes, flags = native.encode_fixed(flat, fmt.bits, fmt.frac_bits, fmt.signed,
                                            fmt.code_dtype, kw, rflat, ef, nt, name=fmt.name)
    codes = codes.reshape(shape)
    if return_flags == "elementwise":
        return codes, Flags(flags), ef.reshape(shape)
    if return_flags:
        return codes, Flags(flags)
    return codes


def decode(codes, fmt, *, daz=False, threads=None):
    """float64 values of codes of the scalar format ``fmt``; see :func:`hwsim.decode`."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if c.dtype.kind == "i":
        c = codes_from_signed(c, fmt)
    c = np.ascontiguousarray(c)
    shape = c.shape
    flat = c.reshape(-1)
    nt = check_threads(threads)
    try:
        if fmt.kind == "float":
            out = native.decode_float(flat, fmt, daz, nt)
        else:
            out = native.decode_fixed(flat, fmt.bits, fmt.frac_bits, fmt.signed, nt)
    except ValueError:  # the kernel found a code >= 2**bits: say which, and the range
        _bad_code(flat, fmt)
        raise
    return out.reshape(shape)


def _bad_code(flat: np.ndarray, fmt) -> None:
    """Raise the ValueError naming the first code outside [0, 2**fmt.bits)."""
    top = (1 << fmt.bits) - 1
    if flat.dtype.kind == "i":
        bad = np.flatnonzero((flat < 0) | (flat.astype(np.uint64) > np.uint64(top)))
    else:
        bad = np.flatnonzero(flat.astype(np.uint64) > np.uint64(top))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"codes must be in [0, {top}] for {fmt.name} ({fmt.bits} bits), "
                         f"got codes[{i}] = {int(flat[i])}")


def quantize(x, fmt, rounding="rne", overflow=None, **kw):
    """``decode(encode(x, fmt, ...), fmt)`` for a scalar format object."""
    dec_kw = {k: kw[k] for k in ("daz", "threads") if k in kw}
    return decode(encode(x, fmt, rounding, overflow, **kw), fmt, **dec_kw)


def codes_from_signed(c: np.ndarray, fmt) -> np.ndarray:
    """Codes (uint64) from a signed numpy integer array.

    Non-negative entries are codes.  For a signed int / fixed format, a negative
    entry v in [-2**(bits-1), -1] is the two's complement value itself (np.int8
    data for int8 is accepted as it is) and becomes the code v + 2**bits.
    Anything else raises the ValueError naming the first bad entry.
    """
    flat = c.reshape(-1)
    if c.size and int(flat.min()) < 0:
        if not (fmt.kind in ("int", "fixed") and fmt.signed):
            _bad_code(flat, fmt)
        lo = -(1 << (fmt.bits - 1))
        bad = np.flatnonzero(flat < lo)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"codes of {fmt.name} must be in [0, {(1 << fmt.bits) - 1}] (or, "
                             f"as signed values, in [{lo}, -1]), got codes[{i}] = {int(flat[i])}")
        wide = c.astype(np.int64)
        if fmt.bits < 64:
            wide = np.where(wide < 0, wide + (1 << fmt.bits), wide)
        return wide.astype(np.uint64)
    return c.astype(np.uint64)


def random_bits(n: int, seed: int = 0, index0: int = 0) -> np.ndarray:
    """The counter-based generator's uint32 words for elements index0..index0+n-1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return native.random_bits(int(n), seed, index0)


__all__ = ["encode", "decode", "quantize", "random_bits", "codes_from_signed"]
