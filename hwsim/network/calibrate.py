"""Scale selection: absmax, percentile and MMSE search (Choukroun, Kravchik et al. 2019).

Every method returns the *range* r (real value mapped to the largest magnitude of
the format); :func:`scale_for` turns a range into a scale for a format:
``r / max_int`` for integers (symmetric), ``r / max_finite`` for floats.
MMSE (Choukroun, Kravchik, Yang, Kisilev, "Low-bit Quantization of Neural
Networks for Efficient Inference", ICCVW 2019) picks the clipping range that
minimises ``||x - Q(x)||^2``; here by a grid search over ``r = absmax * i / grid``.
"""
from __future__ import annotations

import numpy as np

from ..codec import decode, encode
from ..formats import format as parse_format
from ..ops.quant import is_block

__all__ = ["scale_for", "choose_range", "choose_scale", "fake_quant", "is_block"]


_F32_TINY = float(np.finfo(np.float32).tiny)


def _fmt_max(fmt) -> float:
    if fmt.kind == "int":
        return float(fmt.max_int)
    if fmt.kind == "fixed":
        return float(fmt.max_int) / 2.0 ** fmt.frac_bits
    return float(fmt.max_finite)


def scale_for(r, fmt) -> np.ndarray:
    """Scale that maps the range ``r`` (scalar or per channel) onto the format's maximum.

    A zero range counts as range 1; a scale below float32's smallest normal number
    (2^-126; the requantization multipliers are float32) is raised to it."""
    fmt = parse_format(fmt)
    r = np.asarray(r, dtype=np.float64)
    r = np.where(r > 0, r, 1.0)
    if is_block(fmt):
        return np.ones_like(r)
    return np.maximum(r / _fmt_max(fmt), _F32_TINY)


def fake_quant(x, fmt, scale) -> np.ndarray:
    """x -> quantize(x / scale) * scale (symmetric, rne, saturating)."""
    fmt = parse_format(fmt)
    q = np.asarray(x, np.float64) / scale
    if fmt.kind == "int":
        return np.clip(np.rint(q), fmt.min_int, fmt.max_int) * scale
    return decode(encode(q, fmt, "rne", "saturate"), fmt) * scale


def choose_range(x, method="absmax", fmt=None, percentile=99.99, grid=64) -> float:
    """Calibrated range of the values ``x`` (1-D sample)."""
    a = np.abs(np.asarray(x, np.float64).ravel())
    if a.size == 0:
        return 1.0
    amax = float(a.max())
    if amax == 0.0:
        return 1.0
    if method == "absmax":
        return amax
    if method == "percentile":
        return float(np.percentile(a, percentile)) or amax
    if method == "mmse":
        if fmt is None:
            raise ValueError("mmse calibration needs the target format")
        fmt = parse_format(fmt)
        if is_block(fmt):
            return amax
        xs = np.asarray(x, np.float64).ravel()
        if xs.size > 200_000:
            xs = xs[np.random.default_rng(0).choice(xs.size, 200_000, replace=False)]
        best, best_err = amax, np.inf
        for i in range(1, grid + 1):
            r = amax * i / grid
            s = float(scale_for(r, fmt))
            err = float(np.mean((xs - fake_quant(xs, fmt, s)) ** 2))
            if err < best_err:
                best, best_err = r, err
        return best
    raise ValueError(f"calibration method must be absmax, percentile or mmse, got {method!r}")


def choose_scale(x, fmt, cal: dict, axis=None):
    """Scale(s) for values ``x`` in ``fmt``: per tensor, or per slice along ``axis``."""
    fmt = parse_format(fmt)
    kw = dict(method=cal.get("method", "absmax"), fmt=fmt, percentile=cal.get("percentile", 99.99),
              grid=cal.get("grid", 64))
    x = np.asarray(x, np.float64)
    if axis is None:
        return float(scale_for(choose_range(x, **kw), fmt))
    xm = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    return scale_for(np.array([choose_range(row, **kw) for row in xm]), fmt)
