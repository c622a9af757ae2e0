"""What every design shares: its result, activation quantization and exact helpers.

A *design* is an accelerator datapath from the literature, simulated as a unit:
it takes real-valued activations ``x [M, K]`` and weights ``w [K, N]``,
quantizes them as the design does, runs every integer / floating MAC through
:func:`hwsim.mac.matmul` (so each path is bit-exact and exportable as golden
vectors), and combines the paths as the hardware does.  docs/designs.md states
each design's parameters, what is modelled and what is not.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..codec import decode, encode
from ..errors import HwsimError, check_int
from ..formats import format as parse_format
from ..mac import IntAccumulator, MacUnit, matmul

__all__ = ["DesignResult", "DesignPath", "quantize_activations", "int_matmul",
           "as_matrix_pair", "sqnr_db", "add_rounded", "weight_cache", "unbatched_paths"]


@dataclass
class DesignPath:
    """One MAC path of a design: the unit and the codes it ran on (for golden export)."""

    mac: MacUnit
    a_codes: np.ndarray
    b_codes: np.ndarray
    result: object  #: hwsim.mac.MatmulResult
    a_zero_point: int = 0


@dataclass
class DesignResult:
    """Output of :meth:`Design.matmul`.

    ``values``: float64 ``[M, N]``, the design's output in real units.
    ``paths``: name -> :class:`DesignPath` (every MAC unit the design ran).
    ``cost``: MAC counts by type and weight memory in bits (docs/designs.md).
    ``stats``: design-specific statistics (overflow events, ADC clips, ...).
    """

    values: np.ndarray
    paths: dict = field(default_factory=dict)
    cost: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"DesignResult(shape={self.values.shape}, paths={list(self.paths)}, "
                f"cost={self.cost})")


_CACHE: dict = {}
_CACHE_MAX = 512


def weight_cache(fn):
    """Memoise a weight-preparation function of (w, *params) on w's bytes: networks call a
    design with the same layer weights on every batch (MSE searches and SVDs are slow)."""
    def wrapped(w, *args):
        w = np.ascontiguousarray(w, dtype=np.float64)
        key = (fn.__module__, fn.__qualname__, w.shape,
               hashlib.blake2b(w.tobytes(), digest_size=16).digest(), args)
        if key not in _CACHE:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = fn(w, *args)
        return _CACHE[key]
    wrapped.__doc__, wrapped.__name__ = fn.__doc__, fn.__name__
    return wrapped


def unbatched_paths(paths: dict):
    """(name, DesignPath, a [M, K], b [K, N], acc codes [M, N]) per MAC path and batch index
    (a design's K tiles run as one batched matmul: ``<path>/tile<t>``)."""
    for name, p in paths.items():
        a, b, acc = np.asarray(p.a_codes), np.asarray(p.b_codes), np.asarray(p.result.codes)
        if a.ndim == 2:
            yield name, p, a, b, acc
            continue
        for t in range(a.shape[0]):
            yield f"{name}/tile{t}", p, a[t], b[t], acc[t]


def as_matrix_pair(x, w):
    """float64 ``x [M, K]`` and ``w [K, N]`` with finite values (clear errors otherwise)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"x must be [M, K] and w [K, N] with the same K; got shapes "
                         f"{x.shape} and {w.shape}")
    for name, a in (("x", x), ("w", w)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has non-finite values (NaN or Inf)")
    return x, w


def quantize_activations(x: np.ndarray, bits: int, signed: bool = True):
    """Per-tensor absmax quantization: (int64 ints, scale).  Unsigned: x must be >= 0
    or is shifted by nothing (negative values clamp to 0, as after a ReLU)."""
    check_int("a_bits", bits, 2, 16)
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    lo = -hi if signed else 0
    m = float(np.max(np.abs(x))) if x.size else 0.0
    scale = m / hi if m > 0 else 1.0
    q = np.clip(np.rint(x / scale), lo, hi).astype(np.int64)
    return q, scale


def _int_fmt(lo: int, hi: int) -> str:
    """Smallest signed int format holding [lo, hi]."""
    b = max(int(lo).bit_length(), int(hi).bit_length()) + 1
    return f"int{max(2, b)}"


def int_codes(ints: np.ndarray, fmt_name: str) -> np.ndarray:
    """Two's-complement codes of int64 values in the int format ``fmt_name``."""
    return encode(np.asarray(ints, dtype=np.float64), fmt_name, "rne", "error")


def int_matmul(a_ints, b_ints, acc: IntAccumulator | None = None, tiling=None):
    """An integer MAC path through :func:`hwsim.mac.matmul`: ``(int64 sums, DesignPath)``.

    Operand formats are the narrowest signed ints holding the values; ``acc``
    default: an exact 64-bit register (overflow is an error)."""
    a = np.asarray(a_ints, dtype=np.int64)
    b = np.asarray(b_ints, dtype=np.int64)
    fa = _int_fmt(int(a.min(initial=0)), int(a.max(initial=0)))
    fb = _int_fmt(int(b.min(initial=0)), int(b.max(initial=0)))
    mac = MacUnit(fa, fb, accumulator=acc or IntAccumulator(64, overflow="error"),
                  tiling=tiling)
    ac, bc = int_codes(a, fa), int_codes(b, fb)
    res = matmul(ac, bc, mac)
    return np.asarray(res.values, dtype=np.float64).astype(np.int64), DesignPath(mac, ac, bc, res)


def add_rounded(a: np.ndarray, b: np.ndarray, fmt, rounding: str = "rne", **kw) -> np.ndarray:
    """a + b (values of ``fmt``) correctly rounded into ``fmt`` (saturating); float64 values.

    The exact sum is first rounded to odd at float64 precision (TwoSum gives the error of
    the float64 sum; truncate, then set the last bit when inexact).  Rounding a
    round-to-odd value of precision 53 to precision p <= 51 equals rounding the exact value
    (Boldo and Melquiond, "When double rounding is odd", 2005); ``sr`` with r random bits
    needs p + r <= 51.  binary64 itself: the float64 add is the correctly rounded ``rne``
    sum."""
    fmt = parse_format(fmt)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    s = a + b
    if fmt.precision >= 52:
        if fmt.precision == 53 and rounding == "rne":
            return s
        raise HwsimError(f"add_rounded: format {fmt.name} with rounding {rounding!r} needs more "
                         "than float64 to round exactly")
    extra = int(kw.get("sr_bits", 0)) if rounding == "sr" else 0
    if fmt.precision + extra > 51:
        raise HwsimError(f"add_rounded: precision {fmt.precision} + sr_bits {extra} must be "
                         "<= 51")
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    inexact = err != 0
    away = inexact & ((err > 0) != (s > 0))  # s was rounded away from zero
    t = np.where(away, np.nextafter(s, 0.0), s)
    odd = (t.view(np.int64) | inexact.astype(np.int64)).view(np.float64)
    return decode_values(encode(odd, fmt, rounding, "saturate", **kw), fmt)


def decode_values(codes, fmt) -> np.ndarray:
    return np.asarray(decode(codes, fmt), dtype=np.float64)


def sqnr_db(ref: np.ndarray, y: np.ndarray) -> float:
    """10 log10(sum ref^2 / sum (ref - y)^2); inf when equal."""
    ref = np.asarray(ref, np.float64)
    e = float(np.sum((ref - np.asarray(y, np.float64)) ** 2))
    s = float(np.sum(ref ** 2))
    if e == 0.0:
        return float("inf")
    return 10.0 * np.log10(s / e) if s > 0 else float("-inf")
