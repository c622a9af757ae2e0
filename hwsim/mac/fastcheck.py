"""Data checks of the float fast paths (:mod:`hwsim.mac.fast`): bounds of the operand values
present, from the codes (scalar formats wider than binary32, e.g. the scalar formats of MX
operands, :mod:`hwsim.mac.block`) or from decoded block operands, and the conditions under
which every operand and product is exactly a binary32 value (docs/architecture.md, "MAC fast
paths")."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..codec import decode as _decode
from .accumulators import sig_bits


def _data_checked(a, b) -> bool:
    """Float code formats of <= 16 bits whose products fit binary32's significand but whose
    range exceeds it (the scalar formats of MX operands, :mod:`hwsim.mac.block`): the float
    paths may serve them after checking the codes present (:func:`_codes_lo_hi`)."""
    return (a.kind == "float" and b.kind == "float" and a.bits <= 16 and b.bits <= 16 and
            sig_bits(a) + sig_bits(b) <= 24 and _mag_ordered(a) and _mag_ordered(b))


@lru_cache(maxsize=64)
def _lut_f64(fmt) -> np.ndarray:
    return _decode(np.arange(1 << fmt.bits, dtype=np.uint32), fmt)


@lru_cache(maxsize=64)
def _mag_ordered(fmt) -> bool:
    """|value| strictly increases with the magnitude bits (code without its sign bit) over
    the finite codes, and every code above the last finite one is NaN / Inf (checked on the
    decode table): then the largest / smallest nonzero magnitude code present gives the
    largest / smallest nonzero |value| present."""
    mb = fmt.bits - 1 if fmt.signed else fmt.bits
    v = np.abs(_lut_f64(fmt)[:1 << mb])
    fin = np.isfinite(v)
    t = int(np.argmin(fin)) if not fin.all() else v.size
    return bool(v[0] == 0.0 and not fin[t:].any() and np.all(np.diff(v[:t]) > 0))


def _codes_lo_hi(codes: np.ndarray, fmt) -> tuple[float, float]:
    """(min nonzero |v|, max |v|) of the codes present (``_mag_ordered`` formats); (1, 0)
    when all are zero; (inf, inf) when a NaN / Inf code is present."""
    mb = fmt.bits - 1 if fmt.signed else fmt.bits
    mag = np.bitwise_and(codes, codes.dtype.type((1 << mb) - 1))  # a fresh array (reused below)
    hi = int(mag.max())
    if hi == 0:
        return 1.0, 0.0
    lut = _lut_f64(fmt)
    if not math.isfinite(lut[hi]):
        return math.inf, math.inf
    # smallest nonzero magnitude: min(mag - 1) + 1 in unsigned arithmetic (0 - 1 wraps to
    # the largest value), two SIMD passes instead of a masked ``np.min(where=...)``
    u = mag.reshape(-1).view(np.dtype(f"u{mag.dtype.itemsize}"))
    np.subtract(u, u.dtype.type(1), out=u)
    lo = int(u.min()) + 1
    return abs(float(lut[lo])), abs(float(lut[hi]))


def _lsb_exp(v: float, p: int) -> int:
    """A lower bound of the exponent of the lowest bit of any value >= v (> 0) with a
    p-bit significand: its leading exponent minus (p - 1)."""
    return math.frexp(v)[1] - 1 - (p - 1)


def _exact_f32(amin, amax, bmin, bmax, pa: int, pb: int) -> bool:
    """Operands with |values| in [min, max] (p-bit significands): every operand value and
    every product exactly a finite binary32 value (<= 24 bits, LSB >= 2^-149, < 2^128)."""
    if pa + pb > 24 or math.inf in (amin, amax, bmin, bmax):  # NaN / Inf values: the engine
        return False
    if amax == 0.0 or bmax == 0.0:
        return amax < 2.0 ** 128 and bmax < 2.0 ** 128 and \
            (amax == 0.0 or _lsb_exp(amin, pa) >= -149) and \
            (bmax == 0.0 or _lsb_exp(bmin, pb) >= -149)
    la, lb = _lsb_exp(amin, pa), _lsb_exp(bmin, pb)
    return (amax < 2.0 ** 128 and bmax < 2.0 ** 128 and amax * bmax < 2.0 ** 128 and
            la >= -149 and lb >= -149 and la + lb >= -149)


def _short_data(lohi, pa: int, pb: int, fmt) -> bool:
    """:func:`short_products` on the data: operands with |values| in [min, max] of pa / pb
    significand bits."""
    amin, amax, bmin, bmax = lohi
    if pa + pb > fmt.precision:
        return False
    return amax == 0.0 or bmax == 0.0 or \
        _lsb_exp(amin, pa) + _lsb_exp(bmin, pb) >= fmt.emin - fmt.man_bits


def _lo_hi(v: np.ndarray, blocks) -> tuple[float, float]:
    """(min nonzero |v|, max |v|) or bounds of them; (1, 0) when v is all zero.
    MX operands: bounds from the block scales alone (no pass over the data)."""
    if blocks is not None and blocks.fmt.kind == "mx" and blocks.fmt.elem.kind == "float":
        sc = blocks.scales
        if (sc == 255).any():
            return math.inf, math.inf  # a NaN scale: NaN values
        lo, hi = int(sc.min()) - 127, int(sc.max()) - 127
        return blocks.fmt.elem.min_subnormal * 2.0 ** lo, blocks.fmt.elem.max_finite * 2.0 ** hi
    m = np.abs(v)
    mx = float(m.max()) if m.size else 0.0
    if not np.isfinite(mx):
        return math.inf, math.inf
    mn = float(np.min(m, where=m > 0, initial=math.inf)) if m.size else math.inf
    return (mn, mx) if mx > 0 else (1.0, 0.0)


def _values_f32_exact(av: np.ndarray, bv: np.ndarray, pa: int, pb: int, ablk=None,
                      bblk=None) -> bool:
    """Block-format operand values (float64): every product exactly a finite
    binary32 value (<= 24 bits, LSB >= 2^-149, |p| < 2^128)."""
    if pa + pb > 24:
        return False
    return _exact_f32(*_lo_hi(av, ablk), *_lo_hi(bv, bblk), pa, pb)
