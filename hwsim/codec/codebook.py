"""Codebook (NF4, user tables) and PWLQ encoding.

Semantics and sources: docs/numerics.md, "Codebooks and PWLQ"; the oracle is
:mod:`hwsim.reference.block`.

>>> import numpy as np, hwsim
>>> bt = hwsim.encode(np.array([0.0, 1.0, -0.5, 0.2]), "nf4")
>>> bt.codes, bt.scales
(array([ 7, 15,  2,  9], dtype=uint8), array([1.], dtype=float32))
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import FormatError, NaNInputError, OverflowValueError, UnsupportedModeError
from ..formats import CodebookFormat, PWLQFormat
from ..modes import Flags
from .blocktensor import BlockTensor, PWLQTensor, _layout, _pwlq_decode, _pwlq_scales, _restore, index_str
from .inputs import as_float_array


def _check_finite(xa: np.ndarray, fmt) -> None:
    if xa.size == 0:
        return
    bad = ~np.isfinite(xa)
    if bad.any():
        i = int(np.argmax(bad))
        where = index_str(i, xa.shape)
        v = xa.reshape(-1)[i]
        if np.isnan(v):
            raise NaNInputError(f"{where} is NaN; {fmt.name} has no NaN encoding")
        raise OverflowValueError(f"{where} is {v}; {fmt.name} needs finite inputs")


def _codebook_encode(x, fmt: CodebookFormat, axis) -> BlockTensor:
    xa, ax, x2, moved = _layout(x, axis)
    _check_finite(xa, fmt)
    x2 = x2.astype(np.float64)
    rows, n = x2.shape
    bs = fmt.block_size
    nb = -(-n // bs)
    padded = np.zeros((rows, nb * bs), dtype=np.float64)
    padded[:, :n] = np.abs(x2)
    amax = padded.reshape(rows, nb, bs).max(axis=2) if rows * nb else np.zeros((rows, nb))
    with np.errstate(over="ignore"):
        absmax = amax.astype(np.float32)
    if not np.all(np.isfinite(absmax)):
        raise OverflowValueError(f"a block's absmax exceeds the float32 range (max |x| = "
                                 f"{float(amax.max())}); {fmt.name} stores it as float32")
    den = np.repeat(absmax.astype(np.float64), bs, axis=1)[:, :n]
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(den > 0, x2 / np.where(den > 0, den, 1.0), 0.0)
    y = np.clip(y, -1.0, 1.0)
    codes = np.searchsorted(fmt.thresholds(), y, side="right").astype(np.uint8)
    codes = _restore(codes, moved, ax, xa.shape)
    scales = _restore(absmax, moved[:-1] + (nb,), ax)
    return BlockTensor(codes, scales, fmt, ax, xa.shape, None, Flags.NONE)


def _pwlq_encode_arrays(x: np.ndarray, m, p, fmt: PWLQFormat) -> np.ndarray:
    """Codes for float64 x with per-element (broadcast) m and p."""
    sc, st = _pwlq_scales(m, p, fmt)
    bc, bt, pb = fmt.center_bits, fmt.tail_bits, fmt.payload_bits
    K = float((1 << (bt - 1)) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kc = np.rint(np.clip(x, -p, p) / sc)
        kc = np.clip(np.where(m == 0, 0.0, kc), -(1 << (bc - 1)), (1 << (bc - 1)) - 1)
        kp = np.clip(np.rint((np.clip(x, p, m) - p) / st), 0.0, K)
        kn = np.clip(np.rint((np.clip(x, -m, -p) + m) / st), 0.0, K)
    center = ((-p < x) & (x < p)) | (m == 0)
    neg = ~center & (x <= -p)
    kc_i = np.where(center, kc, 0).astype(np.int64) & ((1 << bc) - 1)
    kt_i = np.where(neg, kn, np.where(center, 0, kp)).astype(np.int64)
    tail_payload = (neg.astype(np.int64) << (bt - 1)) | kt_i
    codes = np.where(center, kc_i, (1 << pb) | tail_payload)
    return codes.astype(fmt.code_dtype)


def pwlq_error(x, m: float, p: float, fmt: PWLQFormat) -> float:
    """float64 sum of squared quantization errors of x for (m, p)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # values near the float64 limit: inf
        q = _pwlq_decode(_pwlq_encode_arrays(x, m, p, fmt), m, p, fmt)
        return float(np.sum((x - q) ** 2))


def pwlq_candidates(m: float, centre: int | None = None, step: int = 100):
    """Breakpoint grid of the search: (list of p, list of i) with
    p = fl(fl(m * i) / 1000) for i = 100..900 (``centre=None``), or
    i = centre + j * step for j in -10..10 within 1..999."""
    if centre is None:
        idx = range(100, 1000, 100)
    else:
        idx = [centre + j * step for j in range(-10, 11) if 1 <= centre + j * step <= 999]
    return [(m * i) / 1000.0 for i in idx], list(idx)


def usable_breakpoint(m: float, p: float, fmt: PWLQFormat) -> bool:
    """0 < p < m and both steps s_c, s_t are > 0 in float64 (for a subnormal max|x| they
    can underflow to 0, and x / 0 has no code)."""
    if not 0.0 < p < m:
        return False
    sc, st = _pwlq_scales(m, p, fmt)
    return sc > 0.0 and st > 0.0


def search_breakpoint(x, m: float, fmt: PWLQFormat) -> float:
    """MSE-optimal breakpoint on the coarse-to-fine grid (module doc)."""
    best_i, best_err, best_p = None, math.inf, None
    for step in (100, 10, 1):
        ps, idx = pwlq_candidates(m, None if best_i is None else best_i, step)
        for pv, i in zip(ps, idx):
            if not usable_breakpoint(m, pv, fmt):
                continue
            err = pwlq_error(x, m, pv, fmt)
            if err < best_err or best_p is None:  # (every error may be inf for huge values)
                best_err, best_i, best_p = err, i, pv
    if best_p is None:
        raise OverflowValueError(f"max|x| = {m} is too small for {fmt.name}: every breakpoint "
                                 f"on the search grid gives a step s_c or s_t that underflows "
                                 f"float64 to 0")
    return best_p


def _pwlq_encode(x, fmt: PWLQFormat, axis, breakpoint) -> PWLQTensor:
    xa = as_float_array(x).astype(np.float64)
    _check_finite(xa, fmt)
    if axis is None:
        chans = [xa.reshape(-1)]
        ax = None
    else:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) \
                or not -xa.ndim <= axis < xa.ndim:
            raise ValueError(f"axis must be None or in [{-xa.ndim}, {xa.ndim - 1}], got {axis!r}")
        ax = int(axis) % xa.ndim
        chans = list(np.moveaxis(xa, ax, 0))
    nc = len(chans)
    if breakpoint is None:
        bps = [None] * nc
    else:
        b = np.asarray(breakpoint, dtype=np.float64)
        if b.ndim == 0:
            b = np.full(nc, float(b))
        if b.shape != (nc,):
            raise ValueError(f"breakpoint must be a scalar or have shape ({nc},), got {b.shape}")
        bps = [float(v) for v in b]
    ms, ps = [], []
    for ch, bp in zip(chans, bps):
        m = float(np.max(np.abs(ch))) if ch.size else 0.0
        if m == 0.0:
            p = 0.0
        elif bp is None:
            p = search_breakpoint(ch.reshape(-1), m, fmt)
        else:
            if not 0.0 < bp < m:
                raise ValueError(f"breakpoint must be in (0, max|x| = {m}), got {bp}")
            if not usable_breakpoint(m, bp, fmt):
                raise OverflowValueError(f"breakpoint {bp} with max|x| = {m} gives a step s_c "
                                         f"or s_t that underflows float64 to 0 ({fmt.name})")
            p = bp
        ms.append(m)
        ps.append(p)
    marr, parr = np.array(ms), np.array(ps)
    if ax is None:
        m_e, p_e = marr[0], parr[0]
        marr, parr = marr.reshape(()), parr.reshape(())
    else:
        sh = [1] * xa.ndim
        sh[ax] = -1
        m_e, p_e = marr.reshape(sh), parr.reshape(sh)
    codes = _pwlq_encode_arrays(xa, m_e, p_e, fmt)
    return PWLQTensor(codes, marr, parr, fmt, ax, xa.shape)


def encode(x, fmt, rounding="rne", *, axis="auto", breakpoint=None, threads=None):
    """Encode into a codebook (BlockTensor) or PWLQ (PWLQTensor) format.

    ``axis``: the block axis for codebooks ('auto' = -1; None flattens); the
    channel axis for PWLQ ('auto' = None: one (m, p) per tensor; an int: one
    per index along that axis).  ``breakpoint``: PWLQ only (None:
    search).  ``rounding`` must be 'rne' (codebooks: nearest, ties to the
    lower index; PWLQ: round half to even).
    """
    if rounding != "rne":
        raise UnsupportedModeError(f"{fmt.name} supports rounding='rne' only (the tie rule is "
                                   f"part of the format), got {rounding!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if fmt.kind == "codebook":
        if breakpoint is not None:
            raise TypeError("breakpoint applies to PWLQ formats only")
        return _codebook_encode(x, fmt, -1 if axis == "auto" else axis)
    if fmt.kind == "pwlq":
        return _pwlq_encode(x, fmt, None if axis == "auto" else axis, breakpoint)
    raise FormatError(f"{fmt.name!r} is not a codebook or PWLQ format")


__all__ = ["encode", "search_breakpoint", "pwlq_error", "pwlq_candidates"]
