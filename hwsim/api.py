"""Array-level entry points: encode, decode, quantize (input checks live here).

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

from . import _native
from .errors import FormatError, UnsupportedModeError
from .formats import FixedFormat, FloatFormat, IntFormat
from .formats import format as parse_format
from .modes import Flags, Overflow, RoundingMode, Tininess

_SCALAR_KINDS = ("float", "int", "fixed")


def as_float_array(x, name: str = "x") -> np.ndarray:
    """x as a C-contiguous float32/float64 array (exact conversion or an error)."""
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f" and a.dtype.itemsize <= 8:  # float16 and friends: exact
        return np.ascontiguousarray(a, dtype=np.float64)
    if a.dtype.kind in "iu":
        if a.size and int(np.max(np.abs(a.astype(np.float64)))) > 2**53:
            raise ValueError(f"{name}: integers beyond 2**53 are not exact in float64")
        return np.ascontiguousarray(a, dtype=np.float64)
    if a.dtype.kind == "O":
        try:
            return np.ascontiguousarray(a.astype(np.float64))
        except (TypeError, ValueError):
            pass
    if a.dtype.kind == "V" and a.dtype.itemsize in (1, 2):  # ml_dtypes types view as V
        raise TypeError(f"{name}: decode ml_dtypes arrays to float32 first")
    if a.dtype.kind in "fcbSUVMm" or a.dtype.kind == "O":
        raise TypeError(f"{name} must be a real float or integer array, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


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


def _threads(threads) -> int:
    if threads is None:
        return _native.default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return int(threads)


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
    """Encode real values into codes of ``fmt`` (exact, then rounded once).

    Parameters
    ----------
    x : array_like of float32 / float64 (other real dtypes are converted exactly)
    fmt : format object or name (see :func:`hwsim.format`)
    rounding : 'rne' | 'rna' | 'rtz' | 'rup' | 'rdn' | 'rto' | 'sr'
    overflow : 'saturate' | 'saturate_finite_keep_inf' | 'special' | 'error' | 'wrap'
        Default: ``fmt.default_overflow`` (what ml_dtypes does for its types).
    tininess : 'after' (default, as SoftFloat) | 'before' rounding
    ftz, daz : flush tiny results to zero / read subnormal inputs as zero
    nan : None or 'error' (NaN into a format without NaN raises) or an int code
    sr_bits : random bits r for rounding='sr' (1..32)
    seed, index0 : key of the counter-based generator; element i uses index0 + i,
        so encoding a slice with its offset gives the bits of the whole.
    rand : uint32 array shaped like x: caller's random integers (low r bits used)
    return_flags : False | True (also return OR-ed :class:`Flags`) |
        'elementwise' (also return per-element flags, uint8 array)
    threads : worker threads for large arrays (default: all cores); never changes results.

    Block and codebook formats take their own keywords (``axis``...) and return
    their own result object; see :mod:`hwsim.blockformats`.
    """
    fmt = parse_format(fmt)
    if fmt.kind not in _SCALAR_KINDS:
        from . import blockformats

        scalar_only = dict(overflow=overflow, tininess=tininess, ftz=ftz, daz=daz, nan=nan,
                           rand=rand, return_flags=return_flags)
        given = [k for k, v in scalar_only.items()
                 if v not in (None, False, "after")]
        if given:
            raise UnsupportedModeError(
                f"{fmt.name} is a block/codebook format; {sorted(given)} apply to scalar "
                "formats only (block elements saturate at the element max)")
        return blockformats.encode(x, fmt, rounding=rounding, sr_bits=sr_bits, seed=seed,
                                   index0=index0, threads=threads, **block_kw)
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
    nt = _threads(threads)
    if fmt.kind == "float":
        codes, flags = _native.encode_float(flat, fmt, kw, rflat, ef, nt)
    else:
        codes, flags = _native.encode_fixed(flat, fmt.bits, fmt.frac_bits, fmt.signed,
                                            fmt.code_dtype, kw, rflat, ef, nt, name=fmt.name)
    codes = codes.reshape(shape)
    if return_flags == "elementwise":
        return codes, Flags(flags), ef.reshape(shape)
    if return_flags:
        return codes, Flags(flags)
    return codes


def decode(codes, fmt=None, *, daz=False, threads=None, **block_kw):
    """Decode codes of ``fmt`` to float64 values (exact for every scalar format).

    Codes must be an unsigned (or non-negative signed) integer array with every
    value below ``2**fmt.bits``.  A :class:`~hwsim.blockformats.BlockTensor`
    (what ``encode`` returns for block formats) decodes without ``fmt``.
    """
    if fmt is None:
        if hasattr(codes, "fmt") and callable(getattr(codes, "values", None)):
            from . import blockformats

            return blockformats.decode(codes, **block_kw)
        raise TypeError("decode() needs fmt for a code array")
    fmt = parse_format(fmt)
    if fmt.kind not in _SCALAR_KINDS:
        from . import blockformats

        return blockformats.decode(codes, fmt, **block_kw)
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if c.dtype.kind == "i":
        if c.size and int(c.min()) < 0:
            _bad_code(c.reshape(-1), fmt)
        c = c.astype(np.uint64)
    c = np.ascontiguousarray(c)
    shape = c.shape
    flat = c.reshape(-1)
    nt = _threads(threads)
    try:
        if fmt.kind == "float":
            out = _native.decode_float(flat, fmt, daz, nt)
        else:
            out = _native.decode_fixed(flat, fmt.bits, fmt.frac_bits, fmt.signed, nt)
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
    """``decode(encode(x, fmt, ...), fmt)``: the value the hardware would hold."""
    fmt = parse_format(fmt)
    if fmt.kind not in _SCALAR_KINDS:
        from . import blockformats

        return blockformats.quantize(x, fmt, rounding=rounding, **kw)
    dec_kw = {k: kw[k] for k in ("daz", "threads") if k in kw}
    return decode(encode(x, fmt, rounding, overflow, **kw), fmt, **dec_kw)


def random_bits(n: int, seed: int = 0, index0: int = 0) -> np.ndarray:
    """The counter-based generator's uint32 words for elements index0..index0+n-1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return _native.random_bits(int(n), seed, index0)


__all__ = ["encode", "decode", "quantize", "random_bits", "as_float_array",
           "FloatFormat", "IntFormat", "FixedFormat", "FormatError"]
