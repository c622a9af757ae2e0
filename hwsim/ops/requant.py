"""Requantization: accumulator values to output codes.

Styles ``tflite`` (gemmlowp's two roundings), ``tflite_single`` (one rounding,
CMSIS-NN), ``onnx`` (float32 multiplier, round half to even, as onnxruntime's
MLAS) and ``shift`` (power-of-two scales, any of five rounding modes), each a
numba kernel over an accumulator ``[R, N]`` with one multiplier per column;
every style then adds the output zero point and clamps to ``[qmin, qmax]``.
The exact arithmetic of each style is in docs/semantics.md ("Requantization").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from ..modes import NEAREST_AND_DIRECTED
from ..tensors import ints_to_codes
from .kernels import dual

__all__ = ["quantize_multiplier", "onnx_multiplier", "Requant", "STYLES", "SHIFT_ROUNDINGS",
           "srdhm", "rdbpot"]

STYLES = ("tflite", "tflite_single", "onnx", "shift")
SHIFT_ROUNDINGS = NEAREST_AND_DIRECTED
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: M = m * 2^(shift - 31), m in [2^30, 2^31).

    ``frexp`` splits M into q in [0.5, 1) and an exponent; ``m = round(q * 2^31)``
    rounding half away from zero; m = 2^31 is renormalised to 2^30 with
    shift + 1; shift < -31 flushes to (0, 0); shift > 30 saturates to
    (2^31 - 1, 30) as TFLite does.  M = 0 gives (0, 0).

    >>> quantize_multiplier(0.5)
    (1073741824, 0)
    >>> quantize_multiplier(1.0)
    (1073741824, 1)
    """
    real_multiplier = float(real_multiplier)
    if not math.isfinite(real_multiplier) or real_multiplier < 0:
        raise ValueError(f"real_multiplier must be finite and >= 0, got {real_multiplier}")
    if real_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(real_multiplier)
    t = q * (1 << 31)  # exact: scaling by a power of two
    m = int(math.floor(t + 0.5))  # half away from zero (t > 0)
    if m == (1 << 31):
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return m, shift


def onnx_multiplier(s_in, s_w, s_out) -> np.ndarray:
    """fl32(fl32(s_in * s_w) / s_out) per channel, as onnxruntime computes it."""
    a = np.float32(s_in)
    w = np.asarray(s_w, dtype=np.float32)
    o = np.float32(s_out)
    return np.atleast_1d((a * w) / o).astype(np.float32)


# --------------------------------------------------------------------------
# scalar helpers (numba)
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _wrap32(x):
    x = x & 0xFFFFFFFF
    if x >= 0x80000000:
        x -= 0x100000000
    return x


@njit(cache=True, nogil=True)
def _sat32(x):
    if x > 2147483647:
        return 2147483647
    if x < -2147483648:
        return -2147483648
    return x


@njit(cache=True, nogil=True)
def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul of two int32 values (as int64)."""
    if a == -2147483648 and b == -2147483648:
        return 2147483647
    ab = a * b
    if ab >= 0:
        s = ab + (1 << 30)
    else:
        s = ab + (1 - (1 << 30))
    if s >= 0:
        return s >> 31
    return -((-s) >> 31)  # C division truncates toward zero


@njit(cache=True, nogil=True)
def rdbpot(x, exponent):
    """RoundingDivideByPOT: x / 2^exponent rounded half away from zero."""
    if exponent == 0:
        return x
    mask = (1 << exponent) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if rem > thr else 0)


def _k_tflite_py(acc, mult, shift, zp, qmin, qmax, mask, out):
    R, N = acc.shape
    for r in prange(R):
        for n in range(N):
            x = _sat32(acc[r, n])
            sh = shift[n]
            left = sh if sh > 0 else 0
            right = -sh if sh < 0 else 0
            xl = _wrap32(x << left)
            y = rdbpot(srdhm(xl, mult[n]), right) + zp
            out[r, n] = (qmin if y < qmin else (qmax if y > qmax else y)) & mask


def _k_tflite_single_py(acc, mult, shift, zp, qmin, qmax, mask, out):
    R, N = acc.shape
    for r in prange(R):
        for n in range(N):
            x = _sat32(acc[r, n])
            ts = 31 - shift[n]
            y = (x * mult[n] + (1 << (ts - 1))) >> ts
            y = _sat32(y) + zp
            out[r, n] = (qmin if y < qmin else (qmax if y > qmax else y)) & mask


def _k_onnx_py(acc, scale32, zp, qmin, qmax, mask, out):
    R, N = acc.shape
    for r in prange(R):
        for n in range(N):
            f = np.float32(acc[r, n]) * scale32[n]
            y = np.int64(np.rint(f)) + zp  # rint: half to even, exact for float32
            out[r, n] = (qmin if y < qmin else (qmax if y > qmax else y)) & mask


def _k_onnx_f_py(acc, scale32, out):
    R, N = acc.shape
    for r in prange(R):
        for n in range(N):
            out[r, n] = np.float64(np.float32(acc[r, n]) * scale32[n])


def _k_shift_py(acc, shift, mode, zp, qmin, qmax, mask, out):
    # mode: 0 rne, 1 rna, 2 rtz, 3 rup, 4 rdn
    R, N = acc.shape
    for r in prange(R):
        for n in range(N):
            x = acc[r, n]
            s = shift[n]
            if s <= 0:
                y = x << (-s)
            else:
                q = x >> s
                rem = x - (q << s)  # in [0, 2^s)
                half = np.int64(1) << (s - 1)
                inc = 0
                if mode == 0:
                    if rem > half or (rem == half and (q & 1) == 1):
                        inc = 1
                elif mode == 1:
                    if rem > half or (rem == half and x >= 0):
                        inc = 1
                elif mode == 2:
                    if rem != 0 and x < 0:
                        inc = 1
                elif mode == 3:
                    if rem != 0:
                        inc = 1
                y = q + inc
            y = y + zp
            out[r, n] = (qmin if y < qmin else (qmax if y > qmax else y)) & mask


_k_tflite = dual(_k_tflite_py, 0)
_k_tflite_single = dual(_k_tflite_single_py, 0)
_k_onnx = dual(_k_onnx_py, 0)
_k_onnx_f = dual(_k_onnx_f_py, 0)
_k_shift = dual(_k_shift_py, 0)


def _per_col(a, n, dtype, name):
    a = np.asarray(a, dtype=dtype)
    if a.ndim == 0:
        return np.full(n, a, dtype=dtype)
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have {n} entries (one per channel), got shape {a.shape}")
    return np.ascontiguousarray(a)


@dataclass(frozen=True, eq=False)
class Requant:
    """A requantization step from accumulator values to output integers.

    Build it with :meth:`from_scales`; apply it with :meth:`apply` to an
    accumulator array whose last axis is the channel axis.
    """

    style: str
    zero_point: int
    qmin: int
    qmax: int
    multiplier: np.ndarray | None = None  #: tflite: int32 Q0.31 multipliers per channel
    shift: np.ndarray | None = None  #: tflite exponents / shift amounts per channel
    scale32: np.ndarray | None = None  #: onnx: float32 multipliers per channel
    rounding: str = "rne"  #: shift style rounding mode

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"requant style must be one of {STYLES}, got {self.style!r}")
        if self.style == "shift" and self.rounding not in SHIFT_ROUNDINGS:
            raise ValueError(f"shift rounding must be one of {SHIFT_ROUNDINGS}, got {self.rounding!r}")
        if self.qmin > self.qmax:
            raise ValueError(f"qmin ({self.qmin}) must be <= qmax ({self.qmax})")

    @classmethod
    def from_scales(cls, style, s_in, s_w, s_out, zero_point, qmin, qmax, rounding="rne",
                    channels=None) -> "Requant":
        """Requant for real multiplier(s) M = s_in * s_w / s_out.

        ``s_w`` may be per channel.  ``shift`` needs every M to be a power of two.
        """
        if style not in STYLES:
            raise ValueError(f"requant style must be one of {STYLES}, got {style!r}")
        sw = np.atleast_1d(np.asarray(s_w, dtype=np.float64))
        if channels is not None and sw.shape[0] == 1:
            sw = np.full(channels, sw[0])
        if style == "onnx":
            return cls(style, int(zero_point), int(qmin), int(qmax),
                       scale32=onnx_multiplier(s_in, sw, s_out))
        real = float(s_in) * sw / float(s_out)
        if style in ("tflite", "tflite_single"):
            ms = [quantize_multiplier(r) for r in real]
            return cls(style, int(zero_point), int(qmin), int(qmax),
                       multiplier=np.array([m for m, _ in ms], dtype=np.int64),
                       shift=np.array([s for _, s in ms], dtype=np.int64))
        shifts = []
        for r in real:
            mant, ex = math.frexp(r)
            if mant != 0.5:
                raise ValueError(f"requant style 'shift' needs power-of-two scale ratios "
                                 f"s_in*s_w/s_out, got {r!r}")
            shifts.append(-(ex - 1))
        return cls(style, int(zero_point), int(qmin), int(qmax),
                   shift=np.array(shifts, dtype=np.int64), rounding=rounding)

    def apply(self, acc, axis=-1) -> np.ndarray:
        """Integers (int64) of the output, same shape as ``acc``; ``axis`` = channels."""
        return self._run(acc, axis, np.int64, -1)

    def apply_codes(self, acc, bits: int, code_dtype, axis=-1) -> np.ndarray:
        """``ints_to_codes(apply(acc, axis), bits, code_dtype)`` in the same pass: the
        output integers' low ``bits`` bits as codes of the unsigned ``code_dtype``."""
        dt = np.dtype(code_dtype)
        if dt.kind != "u" or not 0 < bits <= min(8 * dt.itemsize, 63):
            return ints_to_codes(self.apply(acc, axis), bits, code_dtype)
        return self._run(acc, axis, dt, (1 << bits) - 1)

    def _run(self, acc, axis, out_dtype, mask) -> np.ndarray:
        acc = np.asarray(acc)
        if acc.dtype.kind not in "iu":
            raise TypeError(f"acc must be an integer array for style {self.style!r}, got {acc.dtype}")
        if acc.ndim > 1 and axis not in (-1, acc.ndim - 1):
            return np.moveaxis(self._run(np.moveaxis(acc, axis, -1), -1, out_dtype, mask), -1,
                               axis)
        shape = acc.shape
        n = shape[-1] if acc.ndim else 1
        a2 = np.ascontiguousarray(acc.astype(np.int64, copy=False)).reshape(-1, n)
        out = np.empty(a2.shape, dtype=out_dtype)
        zp, lo, hi = np.int64(self.zero_point), np.int64(self.qmin), np.int64(self.qmax)
        m = np.int64(mask)
        if self.style in ("tflite", "tflite_single"):
            k = _k_tflite if self.style == "tflite" else _k_tflite_single
            k(a2, _per_col(self.multiplier, n, np.int64, "multiplier"),
              _per_col(self.shift, n, np.int64, "shift"), zp, lo, hi, m, out)
        elif self.style == "onnx":
            _k_onnx(a2, _per_col(self.scale32, n, np.float32, "scale32"), zp, lo, hi, m, out)
        else:
            _k_shift(a2, _per_col(self.shift, n, np.int64, "shift"),
                     np.int64(SHIFT_ROUNDINGS.index(self.rounding)), zp, lo, hi, m, out)
        return out.reshape(shape)

    def to_dict(self) -> dict:
        d = dict(style=self.style, zero_point=self.zero_point, qmin=self.qmin, qmax=self.qmax)
        if self.multiplier is not None:
            d["multiplier"] = np.asarray(self.multiplier).tolist()
        if self.shift is not None:
            d["shift"] = np.asarray(self.shift).tolist()
        if self.scale32 is not None:
            d["scale32"] = [float(v) for v in np.asarray(self.scale32)]
        if self.style == "shift":
            d["rounding"] = self.rounding
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Requant":
        d = dict(d)
        for k, dt in (("multiplier", np.int64), ("shift", np.int64), ("scale32", np.float32)):
            if k in d and d[k] is not None:
                d[k] = np.asarray(d[k], dtype=dt)
        return cls(**d)


def scale_float(acc, scale32, axis=-1) -> np.ndarray:
    """fl32(fl32(acc) * scale32[col]) as float64: the onnx-style multiply for float outputs."""
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim > 1 and axis not in (-1, acc.ndim - 1):
        return np.moveaxis(scale_float(np.moveaxis(acc, axis, -1), scale32), -1, axis)
    shape = acc.shape
    n = shape[-1]
    a2 = np.ascontiguousarray(acc).reshape(-1, n)
    out = np.empty(a2.shape, dtype=np.float64)
    _k_onnx_f(a2, _per_col(scale32, n, np.float32, "scale32"), out)
    return out.reshape(shape)


_ = numba  # keep the import explicit for readers: kernels above are numba-compiled
