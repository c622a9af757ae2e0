"""Block codecs: OCP MX, NVFP4 and BFP encoding (C kernels), block decoding.

The semantics (shared exponent, NVFP4 scale arithmetic, BFP codes, layout,
partial blocks, NaN handling) and their sources are in docs/numerics.md,
"Block formats"; :mod:`hwsim.reference.block` is the oracle.

>>> import numpy as np, hwsim
>>> bt = hwsim.encode(np.array([6.0, -3.0, 0.5, 1.0]), "mxfp4")
>>> bt.scales, bt.codes, bt.values()
(array([127], dtype=uint8), array([ 7, 13,  1,  2], dtype=uint8), array([ 6. , -3. ,  0.5,  1. ]))
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import native
from ..errors import FormatError, NaNInputError, OverflowValueError
from ..formats import code_dtype
from ..formats import format as parse_format
from ..modes import Flags, RoundingMode
from . import codebook
from .blocktensor import BlockTensor, _blocks_as_rows, _layout, _restore, index_str
from .inputs import as_float_array, check_threads


def _opts(rounding, sr_bits, seed, index0) -> dict:
    mode = RoundingMode.parse(rounding)
    if mode == RoundingMode.SR:
        if isinstance(sr_bits, bool) or not isinstance(sr_bits, (int, np.integer)) \
                or not 1 <= sr_bits <= 32:
            raise ValueError(f"rounding='sr' needs sr_bits, an integer in [1, 32]; got {sr_bits!r}")
    elif sr_bits is not None:
        raise ValueError("sr_bits applies to rounding='sr' only")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    if isinstance(index0, bool) or not isinstance(index0, (int, np.integer)) or index0 < 0:
        raise ValueError(f"index0 must be an integer >= 0, got {index0!r}")
    return dict(rounding=int(mode), sr_bits=int(sr_bits or 0), seed=int(seed), index0=int(index0))


def default_tensor_scale(x, arithmetic: str = "float32") -> float:
    """NVFP4's default FP32 tensor scale: ``fl32(amax / 2688)`` over the finite
    values (float32 division of the float32 amax for ``arithmetic="float32"``,
    the exact quotient rounded once to float32 for ``"exact"``), at least
    2^-117, and 1.0 when every finite value is zero.  With ``"exact"``, a
    quotient beyond float32 (max|x| above about 9.1e41) is an
    :class:`OverflowValueError`: no FP32 tensor scale represents that tensor."""
    xa = as_float_array(x)
    xa = xa[np.isfinite(xa)]  # before the float32 cast: a signalling NaN would raise FE_INVALID
    if arithmetic == "float32":
        # beyond float32: Inf, not counted; below: float32 subnormal or 0, as the rounding gives
        with np.errstate(over="ignore", under="ignore"):
            xa = xa.astype(np.float32)
        xa = xa[np.isfinite(xa)]
    a = np.abs(xa)
    amax = float(a.max()) if a.size else 0.0
    if amax == 0.0:
        return 1.0
    if arithmetic == "float32":
        ts = float(np.float32(amax) / np.float32(2688.0))
    else:
        ts = _fraction_to_f32(Fraction(amax) / 2688)
        if ts > _F32_MAX:
            raise OverflowValueError(
                f"NVFP4 tensor_scale: with arithmetic='exact' the default max|x| / 2688 = "
                f"{amax / 2688:.6g} is beyond float32 (max|x| must be at most "
                f"{_F32_MAX * 2688:.6g}); pass tensor_scale= (a float32 value in "
                f"[2**-117, 3.4028235e38]) or use arithmetic='float32'")
    return max(ts, 2.0 ** -117)


#: float32's largest finite value
_F32_MAX = float(np.finfo(np.float32).max)


def _fraction_to_f32(q) -> float:
    """Positive rational q rounded to float32's 24-bit significand, ties to even,
    as a float64 (exact; above float32's range when q rounds to 2^128 or more;
    below 2^-126 the 2^-117 floor of the caller makes the subnormal rounding moot)."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1
    k = round(q / Fraction(2) ** (e - 23))  # Fraction.__round__: ties to even
    return math.ldexp(k, e - 23)


def _check_tensor_scale(ts) -> float:
    try:
        v = float(ts)
    except (TypeError, ValueError):
        raise ValueError(f"tensor_scale must be a float32 value in [2**-117, 3.4028235e38], "
                         f"got {ts!r}") from None
    if not (2.0 ** -117 <= v <= float(np.finfo(np.float32).max)) or float(np.float32(v)) != v:
        raise ValueError(f"tensor_scale must be a float32 value in [2**-117, 3.4028235e38] "
                         f"(use np.float32(...)), got {ts!r}")
    return v


def _check_no_nan(xa: np.ndarray, fmt) -> None:
    bad = np.isnan(xa)
    if bad.any():
        raise NaNInputError(f"{index_str(int(np.argmax(bad)), xa.shape)} is NaN; {fmt.name} "
                            f"has no NaN encoding")


def _given_scales(scales, fmt, xa, ax, x2, moved) -> np.ndarray:
    """Validate caller scale codes; return them in the kernel layout (rows, nblocks)."""
    n = moved[-1]
    nb = -(-n // fmt.block_size)
    want = (nb,) if ax is None else xa.shape[:ax] + (nb,) + xa.shape[ax + 1:]
    s = np.asarray(scales)
    if s.shape != want:
        raise ValueError(f"scales must have shape {want} (the input's with the block axis "
                         f"length replaced by the {nb} blocks), got {s.shape}")
    if s.dtype.kind not in "ui":
        raise TypeError(f"scales must be integer codes, got dtype {s.dtype}")
    lo, hi, nan = fmt.scale_code_range
    if s.size and (int(s.min()) < lo or int(s.max()) > hi):
        raise ValueError(f"scales for {fmt.name} must be codes in [{lo}, {hi}], got values in "
                         f"[{int(s.min())}, {int(s.max())}]")
    s2 = (s.reshape(1, -1) if ax is None else np.moveaxis(s, ax, -1).reshape(x2.shape[0], nb))
    s2 = s2.astype(np.int64)
    if nan is not None and x2.size:
        per_elem = np.repeat(s2, fmt.block_size, axis=1)[:, :n]
        bad = np.isnan(x2) & (per_elem != nan)
        if bad.any():
            flat = int(np.argmax(bad))
            idx = list(np.unravel_index(flat, moved))
            if ax is not None:
                idx.insert(ax, idx.pop())
                where = f"x[{', '.join(map(str, idx))}]"
            else:
                where = index_str(flat, xa.shape)
            raise NaNInputError(f"{where} is NaN in a block whose given scale is not NaN; "
                                f"{fmt.name} elements have no NaN")
    return s2


def encode(x, fmt, rounding="rne", *, axis="auto", sr_bits=None, seed=0, index0=0,
           tensor_scale=None, arithmetic="float32", scales=None, threads=None,
           **kw) -> BlockTensor:
    """Quantize ``x`` into a block or codebook format.

    Parameters
    ----------
    x : array_like of float32 / float64
    fmt : MXFormat | NVFP4Format | BFPFormat | CodebookFormat | PWLQFormat or name
    rounding : str
        Element rounding mode ('rne' default; 'rna' matches microxcaling's MX
        default; 'rtz', 'rup', 'rdn', 'rto', 'sr').  Codebook and PWLQ formats
        take 'rne' only (see :mod:`hwsim.codec.codebook`).
    axis : int, None or 'auto'
        Block axis; None flattens the tensor first; 'auto' (default) is -1,
        except for PWLQ where it means one (m, p) per tensor.
    sr_bits, seed, index0 : stochastic rounding (see :func:`hwsim.encode`).
    tensor_scale : float, optional
        NVFP4 only: the FP32 tensor scale (default :func:`default_tensor_scale`).
    arithmetic : 'float32' | 'exact'
        NVFP4 only: how the scale and element divisions are done (module doc).
    scales : array of int, optional
        MX / NVFP4 / BFP: the caller's scale codes (shaped like the result's
        ``scales``: E8M0 codes 0..255, E4M3 codes 0x01..0x7F, or biased
        exponents 0..2^exp_bits - 1) used instead of the computed ones; the
        elements are then rounded against them (saturating).  A NaN scale
        (0xFF / 0x7F) gives element codes 0; otherwise a NaN element raises
        NaNInputError and +-Inf saturates.
    threads : int, optional
        Worker threads (never changes the result).

    Returns
    -------
    BlockTensor (PWLQTensor for PWLQ formats)
    """
    fmt = parse_format(fmt)
    if fmt.kind in ("codebook", "pwlq"):
        if sr_bits is not None or tensor_scale is not None or arithmetic != "float32" \
                or scales is not None:
            raise TypeError(f"{fmt.name}: sr_bits, tensor_scale, arithmetic and scales do not "
                            f"apply")
        return codebook.encode(x, fmt, rounding=rounding, axis=axis, threads=threads, **kw)
    if kw:
        raise TypeError(f"encode() got unexpected keyword(s) {sorted(kw)} for {fmt.name}")
    kernel = _KERNELS.get(fmt.kind)
    if kernel is None:
        raise FormatError(f"{fmt.name!r} is not a block format")
    if fmt.kind != "nvfp4" and (tensor_scale is not None or arithmetic != "float32"):
        raise TypeError(f"tensor_scale and arithmetic apply to NVFP4 only, not {fmt.name}")
    opts = _opts(rounding, sr_bits, seed, index0)
    nt = check_threads(threads)
    xa, ax, x2, moved = _layout(x, -1 if axis == "auto" else axis)
    xr = _blocks_as_rows(x2, fmt.block_size)
    given = None
    if scales is not None:
        given = _given_scales(scales, fmt, xa, ax, x2, moved).reshape(xr.shape[0], -1)
    job = _Job(xa, xr, fmt, opts, nt, given, tensor_scale, arithmetic)
    codes, scales, flags, ts = kernel(job)
    nb = -(-moved[-1] // fmt.block_size)
    codes = _restore(codes, moved, ax, xa.shape)
    scales = _restore(scales, moved[:-1] + (nb,), ax)
    return BlockTensor(codes, scales, fmt, ax, xa.shape, ts, Flags(flags))


@dataclass(frozen=True)
class _Job:
    """One block quantization: the input (whole, and as kernel rows) and its options."""

    xa: np.ndarray
    rows: np.ndarray
    fmt: Any
    opts: dict
    threads: int
    given: np.ndarray | None
    tensor_scale: Any
    arithmetic: str


def _mx_kernel(job: _Job):
    fmt = job.fmt
    int_spec = (8, 6, fmt.int8_min) if fmt.is_int else None
    codes, scales, flags = native.mx_quantize(
        job.rows, fmt.block_size, None if fmt.is_int else fmt.elem, fmt.emax_elem, int_spec,
        fmt.code_dtype, job.opts, job.threads, job.given)
    return codes, scales, flags, None


def _nvfp4_kernel(job: _Job):
    if job.arithmetic not in ("float32", "exact"):
        raise ValueError(f"arithmetic must be 'float32' or 'exact', got {job.arithmetic!r}")
    ts = default_tensor_scale(job.xa, job.arithmetic) if job.tensor_scale is None \
        else _check_tensor_scale(job.tensor_scale)
    codes, scales, flags = native.nvfp4_quantize(job.rows, job.fmt.block_size, ts,
                                                 job.arithmetic == "exact", job.opts,
                                                 job.threads, job.given)
    return codes, scales, flags, ts


def _bfp_kernel(job: _Job):
    fmt = job.fmt
    _check_no_nan(job.xa, fmt)
    codes, scales, flags = native.bfp_quantize(
        job.rows, fmt.block_size, fmt.man_bits, fmt.exp_bits, fmt.mantissa == "twos_complement",
        fmt.code_dtype, job.opts, job.threads, job.given)
    return codes, scales.astype(code_dtype(fmt.exp_bits)), flags, None


#: the C kernel driver of each block kind
_KERNELS = {"mx": _mx_kernel, "nvfp4": _nvfp4_kernel, "bfp": _bfp_kernel}


def decode(obj, fmt=None, *, scales=None, axis=-1, tensor_scale=None, **kw) -> np.ndarray:
    """float64 values of a :class:`BlockTensor` (or PWLQTensor), or of raw
    element ``codes`` with their ``scales`` (and NVFP4 ``tensor_scale``)."""

    if hasattr(obj, "values") and hasattr(obj, "fmt") and callable(obj.values):
        if fmt is not None and parse_format(fmt) != obj.fmt:
            raise ValueError(f"fmt {parse_format(fmt).name} does not match the tensor's "
                             f"{obj.fmt.name}")
        if scales is not None or tensor_scale is not None or kw:
            raise TypeError("decode(BlockTensor) takes no scales / tensor_scale / keywords")
        return obj.values()
    if fmt is None:
        raise TypeError("decode(codes, fmt, scales=...) needs the format")
    fmt = parse_format(fmt)
    if kw:
        raise TypeError(f"decode() got unexpected keyword(s) {sorted(kw)} for {fmt.name}")
    if scales is None:
        raise TypeError(f"decoding raw {fmt.name} codes needs scales=")
    if fmt.kind == "pwlq":
        raise TypeError("PWLQ codes decode from their PWLQTensor (codes alone lack m and p)")
    codes = np.asarray(codes_check(obj, fmt))
    sc = np.asarray(scales)
    ax = None if axis is None else int(axis) % max(codes.ndim, 1)
    ts = None
    if fmt.kind == "nvfp4":
        if tensor_scale is None:
            raise TypeError("decoding NVFP4 codes needs tensor_scale=")
        ts = _check_tensor_scale(tensor_scale)
    sdt = fmt.scale_dtype
    if fmt.kind != "codebook" and (sc.dtype.kind not in "ui" or (sc.size and sc.min() < 0)):
        raise TypeError(f"scales must be non-negative integer codes, got dtype {sc.dtype}")
    return BlockTensor(codes.astype(fmt.code_dtype), sc.astype(sdt), fmt, ax, codes.shape,
                       ts).values()


def codes_check(codes, fmt) -> np.ndarray:
    """Validate an element-code array for ``fmt`` (integer, below 2**bits)."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << fmt.bits)):
        raise ValueError(f"codes must be in [0, {(1 << fmt.bits) - 1}] for {fmt.name}")
    return c


def quantize(x, fmt, rounding="rne", **kw) -> np.ndarray:
    """``encode(x, fmt, ...).values()``: the float64 values the hardware holds."""
    return encode(x, fmt, rounding, **kw).values()


__all__ = ["encode", "decode", "quantize", "default_tensor_scale", "codes_check"]
