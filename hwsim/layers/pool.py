"""Pooling executors (numba), NCHW or NHWC.

MaxPool works on *keys* that order the codes by value (integers for integer
formats, decoded values for float formats) and never changes a value.
Average pooling sums integers (int64, exact) and divides by the window count
with a stated rounding: ``rne``, ``rna`` (ties away from zero, the default, as
``std::round``), ``rtz``, ``rdn`` (floor) or ``rup`` (ceil).  Windows follow ONNX
(``count_include_pad``: the divisor counts padded positions or not;
``ceil_mode``: the last partial window is kept).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .conv import _dual, _pads, _pair

__all__ = ["maxpool2d", "sumpool2d", "div_round", "pool_out_size", "DIV_ROUNDINGS"]

DIV_ROUNDINGS = ("rne", "rna", "rtz", "rdn", "rup")


def pool_out_size(n, k, s, p0, p1, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = n + p0 + p1 - eff
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p0:  # last window must start inside input/left pad
        o -= 1
    return o


def _maxpool_py(x, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, out, nhwc):
    if nhwc:
        N, H, W, C = x.shape
    else:
        N, C, H, W = x.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oy in range(Ho):
            for ox in range(Wo):
                m = -np.inf
                for i in range(kh):
                    iy = oy * sh - pt + i * dh
                    if iy < 0 or iy >= H:
                        continue
                    for j in range(kw):
                        ix = ox * sw - pl + j * dw
                        if ix < 0 or ix >= W:
                            continue
                        v = x[n, iy, ix, c] if nhwc else x[n, c, iy, ix]
                        if v > m:
                            m = v
                if nhwc:
                    out[n, oy, ox, c] = m
                else:
                    out[n, c, oy, ox] = m


def _sumpool_py(x, kh, kw, sh, sw, pt, pl, H_pad, W_pad, Ho, Wo, out, cnt_in, cnt_all, nhwc):
    if nhwc:
        N, H, W, C = x.shape
    else:
        N, C, H, W = x.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oy in range(Ho):
            for ox in range(Wo):
                s = 0
                ci = 0
                ca = 0
                for i in range(kh):
                    iy = oy * sh - pt + i
                    for j in range(kw):
                        ix = ox * sw - pl + j
                        if iy >= -pt and iy < H_pad and ix >= -pl and ix < W_pad:
                            ca += 1
                        if iy < 0 or iy >= H or ix < 0 or ix >= W:
                            continue
                        s += x[n, iy, ix, c] if nhwc else x[n, c, iy, ix]
                        ci += 1
                if nhwc:
                    out[n, oy, ox, c] = s
                else:
                    out[n, c, oy, ox] = s
                cnt_in[oy, ox] = ci
                cnt_all[oy, ox] = ca


_maxpool = _dual(_maxpool_py, arg=11)
_sumpool = _dual(_sumpool_py, arg=11)


def _geom(shape, kernel, stride, padding, dilation, layout, ceil_mode):
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    if len(shape) != 4:
        raise ValueError(f"pooling input must be 4-D, got shape {shape}")
    H, W = (shape[2], shape[3]) if layout == "NCHW" else (shape[1], shape[2])
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride if stride is not None else 1, "stride")
    dh, dw = _pair(dilation, "dilation")
    pt, pl, pb, pr = _pads(padding)
    Ho = pool_out_size(H, kh, sh, pt, pb, dh, ceil_mode)
    Wo = pool_out_size(W, kw, sw, pl, pr, dw, ceil_mode)
    if Ho < 1 or Wo < 1:
        raise ValueError(f"empty pooling output for input {H}x{W}, kernel {kh}x{kw}")
    return H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo


def _oshape(shape, Ho, Wo, layout):
    return (shape[0], shape[1], Ho, Wo) if layout == "NCHW" else (shape[0], Ho, Wo, shape[3])


def maxpool2d(keys, kernel, *, stride=None, padding=0, dilation=1, ceil_mode=False, layout="NCHW"):
    """Window maxima of ``keys`` (float64 array that orders the codes); padding never wins."""
    k = np.ascontiguousarray(keys, dtype=np.float64)
    stride = kernel if stride is None else stride
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        k.shape, kernel, stride, padding, dilation, layout, ceil_mode)
    out = np.empty(_oshape(k.shape, Ho, Wo, layout), np.float64)
    _maxpool(k, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, out, layout == "NHWC")
    return out


def sumpool2d(ints, kernel, *, stride=None, padding=0, ceil_mode=False, layout="NCHW",
              count_include_pad=False):
    """Window sums (int64, exact) and the divisor of every output position.

    Returns ``(sums, counts)``; ``counts`` is ``[Ho, Wo]``: positions inside the
    input, or (``count_include_pad``) inside the padded input, as ONNX defines.
    """
    x = np.ascontiguousarray(ints, dtype=np.int64)
    stride = kernel if stride is None else stride
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        x.shape, kernel, stride, padding, 1, layout, ceil_mode)
    out = np.empty(_oshape(x.shape, Ho, Wo, layout), np.int64)
    ci = np.zeros((Ho, Wo), np.int64)
    ca = np.zeros((Ho, Wo), np.int64)
    _sumpool(x, kh, kw, sh, sw, pt, pl, H + pb, W + pr, Ho, Wo, out, ci, ca, layout == "NHWC")
    return out, (ca if count_include_pad else ci)


@njit(cache=True, nogil=True)
def _div_round(s, d, mode, out):
    for i in range(s.shape[0]):
        x = s[i]
        q = x // d[i]  # floor
        r = x - q * d[i]  # 0 <= r < d
        inc = 0
        if mode == 0 or mode == 1:
            if 2 * r > d[i]:
                inc = 1
            elif 2 * r == d[i]:
                if mode == 0:
                    inc = q & 1
                else:
                    inc = 1 if x > 0 else 0
        elif mode == 2:
            inc = 1 if (r != 0 and x < 0) else 0
        elif mode == 4:
            inc = 1 if r != 0 else 0
        out[i] = q + inc


def div_round(sums, counts, rounding="rna"):
    """Integer division ``sums / counts`` (counts > 0) rounded by ``rounding``."""
    if rounding not in DIV_ROUNDINGS:
        raise ValueError(f"rounding must be one of {DIV_ROUNDINGS}, got {rounding!r}")
    s = np.asarray(sums, dtype=np.int64)
    d = np.broadcast_to(np.asarray(counts, dtype=np.int64), s.shape)
    if np.any(d <= 0):
        raise ValueError("counts must be > 0")
    out = np.empty(s.size, np.int64)
    _div_round(np.ascontiguousarray(s).reshape(-1), np.ascontiguousarray(d).reshape(-1),
               DIV_ROUNDINGS.index(rounding), out)
    return out.reshape(s.shape)
