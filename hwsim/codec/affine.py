"""Affine (scale / zero-point) quantization to integers, per tensor or per axis.

q = clamp(round(x / scale) + zero_point, qmin, qmax), the ONNX QuantizeLinear /
TFLite formula. ``x / scale`` is computed in float64 by default, or in float32
with ``compute="float32"`` (what ONNX QuantizeLinear does for float32 inputs);
the quotient is then rounded exactly by the C kernel in the given mode.

>>> import numpy as np, hwsim
>>> q = hwsim.quantize_affine(np.array([-1.0, 0.0, 0.26, 2.0]), 0.01, 3, "int8")
>>> hwsim.formats.IntFormat(8).decode_exact(int(q[2]))
Fraction(29, 1)
>>> hwsim.dequantize_affine(q, 0.01, 3, "int8")
array([-1.  ,  0.  ,  0.26,  1.24])
"""
from __future__ import annotations

import numpy as np

from .. import native
from ..errors import FormatError
from ..formats import IntFormat
from ..formats import format as parse_format
from ..modes import Overflow
from .inputs import as_float_array, check_threads
from .scalar import _scalar_opts

_CLIP = float(2 ** 52)


def _int_format(fmt) -> IntFormat:
    fmt = parse_format(fmt)
    if not isinstance(fmt, IntFormat):
        raise FormatError(f"fmt must be an integer format (intN / uintN), got {fmt.name}")
    if fmt.bits > 32:
        raise FormatError(f"affine quantization supports bits in [1, 32], got {fmt.bits}")
    return fmt


def _per_axis(arr, name: str, x_shape, axis, dtype):
    a = np.asarray(arr, dtype=dtype)
    if a.ndim == 0:
        return a
    if axis is None:
        raise ValueError(f"{name} has shape {a.shape}: pass axis= for per-axis quantization")
    if not -len(x_shape) <= axis < len(x_shape):
        raise ValueError(f"axis must be in [{-len(x_shape)}, {len(x_shape) - 1}], got {axis}")
    ax = axis % len(x_shape)
    if a.ndim != 1 or a.shape[0] != x_shape[ax]:
        raise ValueError(f"{name} must be a scalar or have shape ({x_shape[ax]},) along axis "
                         f"{axis}, got {a.shape}")
    shape = [1] * len(x_shape)
    shape[ax] = a.shape[0]
    return a.reshape(shape)


def int_range(fmt, narrow_range: bool = False) -> tuple[int, int]:
    """(qmin, qmax) of an integer format; narrow range drops the most negative value."""
    fmt = _int_format(fmt)
    lo, hi = fmt.min_int, fmt.max_int
    if narrow_range:
        if not fmt.signed:
            raise FormatError("narrow_range applies to signed formats only")
        lo = -hi
    return lo, hi


def quantize_affine(x, scale, zero_point=0, fmt="int8", *, axis=None, rounding="rne",
                    narrow_range=False, compute="float64", sr_bits=None, seed=0,
                    threads=None) -> np.ndarray:
    """Quantize real values to integer codes (two's complement bit patterns).

    Parameters
    ----------
    x : array_like of reals
    scale : positive float or 1-D array along ``axis``
    zero_point : int or 1-D int array along ``axis``, within the format's range
    fmt : integer format (``"int8"``, ``"uint8"``, ``IntFormat(4)``...), 1..32 bits
    axis : axis of per-channel scale / zero point
    rounding : rounding mode of ``x / scale`` (default 'rne', as ONNX)
    narrow_range : use [-(2^(b-1) - 1), 2^(b-1) - 1] (TFLite symmetric weights)
    compute : 'float64' or 'float32': precision of the division ``x / scale``
    """
    f = _int_format(fmt)
    if compute not in ("float64", "float32"):
        raise ValueError(f"compute must be 'float64' or 'float32', got {compute!r}")
    xa = as_float_array(x)
    dt = np.float64 if compute == "float64" else np.float32
    s = _per_axis(scale, "scale", xa.shape, axis, dt)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("scale must be finite and > 0")
    zp = _per_axis(zero_point, "zero_point", xa.shape, axis, np.int64)
    lo, hi = int_range(f, narrow_range)
    if np.any(zp < f.min_int) or np.any(zp > f.max_int):
        raise ValueError(f"zero_point must be in [{f.min_int}, {f.max_int}]")
    with np.errstate(over="ignore"):  # an overflowing quotient clamps below, as in ONNX
        v = np.divide(xa.astype(dt, copy=False), s, dtype=dt)
    if np.isnan(v).any():
        raise ValueError("x contains NaN: affine integer formats have no NaN")
    v = np.clip(v, -_CLIP, _CLIP)  # beyond this every result clamps anyway
    wide = IntFormat(64)
    kw, _ = _scalar_opts(wide, rounding, Overflow.SATURATE, "after", False, False, None,
                         sr_bits, seed, None, 0, v.shape)
    flat = np.ascontiguousarray(v).reshape(-1)
    codes, _ = native.encode_fixed(flat, 64, 0, True, np.dtype(np.uint64), kw, None, None,
                                    check_threads(threads))
    q = codes.view(np.int64).reshape(v.shape) + zp
    q = np.clip(q, lo, hi)
    return (q.astype(np.int64) & ((1 << f.bits) - 1)).astype(f.code_dtype)


def dequantize_affine(codes, scale, zero_point=0, fmt="int8", *, axis=None) -> np.ndarray:
    """(q - zero_point) * scale in float64 (one rounding of the product)."""
    f = _int_format(fmt)
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    c = c.astype(np.int64)
    if np.any(c < 0) or np.any(c >= (1 << f.bits)):
        raise ValueError(f"codes must be in [0, {(1 << f.bits) - 1}]")
    if f.signed:
        c = np.where(c >= (1 << (f.bits - 1)), c - (1 << f.bits), c)
    s = _per_axis(scale, "scale", c.shape, axis, np.float64)
    zp = _per_axis(zero_point, "zero_point", c.shape, axis, np.int64)
    return (c - zp).astype(np.float64) * s


def ints_from_codes(codes, fmt) -> np.ndarray:
    """Signed integer values (int64) of integer-format codes."""
    f = parse_format(fmt)
    c = np.asarray(codes).astype(np.int64)  # 64-bit codes wrap to two's complement here
    if f.signed and f.bits < 64:
        c = np.where(c >= (1 << (f.bits - 1)), c - (1 << f.bits), c)
    return c
