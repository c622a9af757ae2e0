"""Codebook formats (NF4 and user codebooks) and piecewise linear quantization (PWLQ).

**Codebooks** (numerics.md section 5).  A :class:`CodebookFormat` is a sorted
table of values in [-1, 1] indexed by the code, used blockwise: per block of
``block_size`` values along ``axis`` (default -1; None flattens), ``absmax``
= max|x| rounded to float32 (ties to even) is stored, every element becomes
``y = x / absmax`` computed in float64 (round to nearest even; y = 0 when
absmax is 0, including a tiny amax that rounds to 0 in float32), clamped to
[-1, 1], and is encoded as the index of the nearest codebook value, the lower index on an exact tie.  Decoding gives
``value[code] * absmax`` as a float64 product (exact when the codebook
values have at most 29 significant bits, as NF4's float32 values do).  The
partial last block is treated as padded with zeros (not stored), as for the
other block formats.  NaN raises NaNInputError, +-Inf OverflowValueError.

NF4 (Dettmers et al., QLoRA 2023; bitsandbytes): the 16 float32 values of
:data:`NF4_VALUES`, blocks of 64.  :func:`pack_nibbles` stores two codes per
byte with the first element in the high nibble (bitsandbytes' order;
``order="low_first"`` gives the order NVIDIA ModelOpt uses for NVFP4).
bitsandbytes' CUDA kernel multiplies by a float32 reciprocal of absmax and
compares against float32-rounded midpoints, so its codes can differ from
these exact-nearest codes for values within float32 rounding of a midpoint.

**PWLQ** (Fang et al., "Post-Training Piecewise Linear Quantization for
Deep Neural Networks", ECCV 2020; the authors' code jun-fang/PWLQ,
non-overlapping option 2).  Per tensor (``axis=None``) or per channel along
``axis``: m = max|x|, breakpoint p in (0, m).  The centre region -p < x < p
is quantized with ``center_bits`` signed levels: s_c = 2p / (2^bc - 1),
k = rne(x / s_c) clamped to [-2^(bc-1), 2^(bc-1) - 1], value k * s_c.  The
tails use ``tail_bits`` = one side bit plus bt - 1 unsigned bits:
s_t = (m - p) / (2^(bt-1) - 1); x >= p: k = rne((x - p) / s_t), value
p + k * s_t; x <= -p: k = rne((x + m) / s_t), value -m + k * s_t; k clamped
to [0, 2^(bt-1) - 1] (x clamped to its region first).  All arithmetic is
IEEE float64, each operation rounded to nearest even, in exactly this order.
Code = region bit (1 = tail) above max(bc, bt) payload bits: the centre's
two's complement k, or the tail's side bit (1 = negative) above k.  An
all-zero tensor (m = 0) has p = 0 and every code 0.  ``breakpoint=None``
searches p = fl(fl(m * i) / 1000) coarse to fine (i = 100, 200, ..., 900,
then steps of 10 and 1 around the best), minimizing the float64 sum of
squared errors (the first minimum kept).

>>> import numpy as np, hwsim
>>> bt = hwsim.encode(np.array([0.0, 1.0, -0.5, 0.2]), "nf4")
>>> bt.codes, bt.scales
(array([ 7, 15,  2,  9], dtype=uint8), array([1.], dtype=float32))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._blocktensor import BlockTensor, _layout, _readonly, _restore, index_str
from .errors import FormatError, NaNInputError, OverflowValueError, UnsupportedModeError, check_int
from .modes import Flags

#: NF4 code values, index 0..15 (QLoRA / bitsandbytes; float32 values).
NF4_VALUES = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)


@dataclass(frozen=True)
class CodebookFormat:
    """Blockwise-absmax codebook format.

    Parameters
    ----------
    values : sequence of float
        Strictly increasing finite values in [-1, 1]; code i means values[i].
        2..256 entries.
    block_size : int
        Values per absmax (NF4: 64).
    name : str, optional
    """

    values: tuple
    block_size: int = 64
    name: str | None = field(default=None, compare=False)

    kind = "codebook"

    def __post_init__(self) -> None:
        try:
            vals = tuple(float(v) for v in self.values)
        except (TypeError, ValueError):
            raise FormatError(f"values must be a sequence of floats, got {self.values!r}") from None
        if not 2 <= len(vals) <= 256:
            raise FormatError(f"values must have 2..256 entries, got {len(vals)}")
        for a, b in zip(vals, vals[1:]):
            if not a < b:
                raise FormatError(f"values must be strictly increasing, got {a} before {b}")
        if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in vals):
            raise FormatError(f"values must be finite and in [-1, 1], got {vals}")
        object.__setattr__(self, "values", vals)
        check_int("block_size", self.block_size, 1, 1 << 24)
        object.__setattr__(self, "block_size", int(self.block_size))
        if self.name is None:
            object.__setattr__(self, "name", f"codebook{len(vals)}_b{self.block_size}")

    @property
    def bits(self) -> int:
        """Bits per code: ceil(log2(len(values)))."""
        return max(1, (len(self.values) - 1).bit_length())

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    def thresholds(self) -> np.ndarray:
        """t_i = the smallest float64 above the exact midpoint of values i, i+1:
        a float64 y encodes to #{i : y >= t_i} (ties at a midpoint go low)."""
        return _thresholds(self.values)

    def to_dict(self) -> dict:
        return dict(kind="codebook", values=list(self.values), block_size=self.block_size,
                    name=self.name)


def _thresholds(vals: tuple) -> np.ndarray:
    out = []
    for a, b in zip(vals, vals[1:]):
        mid = (Fraction(a) + Fraction(b)) / 2
        t = float(mid)  # nearest double
        if Fraction(t) <= mid:
            t = math.nextafter(t, math.inf)
        out.append(t)
    return np.array(out, dtype=np.float64)


NF4 = CodebookFormat(NF4_VALUES, 64, name="nf4")


@dataclass(frozen=True)
class PWLQFormat:
    """Piecewise linear quantization with explicit bits per region.

    Parameters
    ----------
    center_bits : int
        Signed levels of the centre region [-p, p]: 2^center_bits (2..16).
    tail_bits : int
        Tail payload: one side bit + (tail_bits - 1) unsigned bits (2..16).
    name : str, optional

    A code has ``1 + max(center_bits, tail_bits)`` bits: the region-index bit
    on top.
    """

    center_bits: int = 4
    tail_bits: int = 4
    name: str | None = field(default=None, compare=False)

    kind = "pwlq"

    def __post_init__(self) -> None:
        check_int("center_bits", self.center_bits, 2, 16)
        check_int("tail_bits", self.tail_bits, 2, 16)
        object.__setattr__(self, "center_bits", int(self.center_bits))
        object.__setattr__(self, "tail_bits", int(self.tail_bits))
        if self.name is None:
            n = f"pwlq{self.center_bits}" if self.center_bits == self.tail_bits \
                else f"pwlq_c{self.center_bits}_t{self.tail_bits}"
            object.__setattr__(self, "name", n)

    @property
    def payload_bits(self) -> int:
        return max(self.center_bits, self.tail_bits)

    @property
    def bits(self) -> int:
        """Bits per code: region bit + max(center_bits, tail_bits)."""
        return 1 + self.payload_bits

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.bits <= 8 else np.uint16)

    def to_dict(self) -> dict:
        return dict(kind="pwlq", center_bits=self.center_bits, tail_bits=self.tail_bits,
                    name=self.name)


# ---------------------------------------------------------------------------
# nibble packing
# ---------------------------------------------------------------------------
def pack_nibbles(codes, order: str = "high_first") -> np.ndarray:
    """Pack 4-bit codes (flattened in C order) two per byte.

    ``order="high_first"``: element 2i in the high nibble of byte i (NF4,
    bitsandbytes); ``"low_first"``: element 2i in the low nibble.  An odd
    count pads the last byte with a zero nibble.
    """
    c = np.asarray(codes)
    if c.dtype.kind not in "ui" or (c.size and (int(c.min()) < 0 or int(c.max()) > 15)):
        raise ValueError("codes must be integers in [0, 15]")
    if order not in ("high_first", "low_first"):
        raise ValueError(f"order must be 'high_first' or 'low_first', got {order!r}")
    f = c.reshape(-1).astype(np.uint8)
    if f.size % 2:
        f = np.concatenate([f, np.zeros(1, np.uint8)])
    first, second = f[0::2], f[1::2]
    if order == "high_first":
        return (first << 4) | second
    return (second << 4) | first


def unpack_nibbles(packed, count: int, order: str = "high_first") -> np.ndarray:
    """Inverse of :func:`pack_nibbles`: the first ``count`` codes (uint8)."""
    p = np.asarray(packed)
    if p.dtype != np.uint8:
        raise TypeError(f"packed must be a uint8 array, got dtype {p.dtype}")
    if order not in ("high_first", "low_first"):
        raise ValueError(f"order must be 'high_first' or 'low_first', got {order!r}")
    p = p.reshape(-1)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) \
            or not 0 <= count <= 2 * p.size:
        raise ValueError(f"count must be an integer in [0, {2 * p.size}], got {count!r}")
    hi, lo = p >> 4, p & 0xF
    pairs = np.stack([hi, lo] if order == "high_first" else [lo, hi], axis=1)
    return pairs.reshape(-1)[:count].copy()


# ---------------------------------------------------------------------------
# encode / decode
# ---------------------------------------------------------------------------
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


def codebook_values(bt: BlockTensor) -> np.ndarray:
    """float64 values of a codebook BlockTensor: value[code] * absmax."""
    table = np.array(bt.fmt.values, dtype=np.float64)
    if bt.codes.size and int(bt.codes.max()) >= table.size:
        raise ValueError(f"codes must be below {table.size} for {bt.fmt.name}")
    return bt.times_block(table[bt.codes], bt.scales.astype(np.float64))


@dataclass(frozen=True, eq=False)
class PWLQTensor:
    """A tensor quantized with PWLQ.

    Attributes
    ----------
    codes : ndarray
        Codes, same shape as the input.
    maxabs, breakpoint : ndarray
        m and p per channel (shape (C,) along ``axis``) or per tensor (shape ()).
    fmt : PWLQFormat
    axis : int or None
    shape : tuple
    """

    codes: np.ndarray
    maxabs: np.ndarray
    breakpoint: np.ndarray
    fmt: PWLQFormat
    axis: int | None
    shape: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", _readonly(self.codes))
        object.__setattr__(self, "maxabs", _readonly(np.asarray(self.maxabs, np.float64)))
        object.__setattr__(self, "breakpoint", _readonly(np.asarray(self.breakpoint, np.float64)))

    def _per_element(self, a: np.ndarray) -> np.ndarray:
        if self.axis is None:
            return np.broadcast_to(a, self.shape)
        sh = [1] * len(self.shape)
        sh[self.axis] = -1
        return np.broadcast_to(a.reshape(sh), self.shape)

    def values(self) -> np.ndarray:
        """float64 values (the documented float64 formula, bit for bit)."""
        return _pwlq_decode(self.codes, self._per_element(self.maxabs),
                            self._per_element(self.breakpoint), self.fmt)


def _pwlq_scales(m, p, fmt: PWLQFormat):
    sc = (2.0 * p) / float((1 << fmt.center_bits) - 1)
    st = (m - p) / float((1 << (fmt.tail_bits - 1)) - 1)
    return sc, st


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


def _pwlq_decode(codes: np.ndarray, m, p, fmt: PWLQFormat) -> np.ndarray:
    c = codes.astype(np.int64)
    bc, bt, pb = fmt.center_bits, fmt.tail_bits, fmt.payload_bits
    sc, st = _pwlq_scales(m, p, fmt)
    tail = (c >> pb) & 1
    kc = c & ((1 << bc) - 1)
    kc = np.where(kc >> (bc - 1), kc - (1 << bc), kc).astype(np.float64)
    neg = (c >> (bt - 1)) & 1
    kt = (c & ((1 << (bt - 1)) - 1)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        vc = np.where(m == 0, 0.0, kc * sc)
        vt = np.where(neg == 1, kt * st + (-m), kt * st + p)
    return np.where(tail == 1, vt, vc)


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


def search_breakpoint(x, m: float, fmt: PWLQFormat) -> float:
    """MSE-optimal breakpoint on the coarse-to-fine grid (module doc)."""
    best_i, best_err, best_p = None, math.inf, None
    for step in (100, 10, 1):
        ps, idx = pwlq_candidates(m, None if best_i is None else best_i, step)
        for pv, i in zip(ps, idx):
            if not 0.0 < pv < m:
                continue
            err = pwlq_error(x, m, pv, fmt)
            if err < best_err or best_p is None:  # (every error may be inf for huge values)
                best_err, best_i, best_p = err, i, pv
    if best_p is None:
        raise ValueError(f"no breakpoint in (0, {m}) on the search grid")
    return best_p


def _pwlq_encode(x, fmt: PWLQFormat, axis, breakpoint) -> PWLQTensor:
    from .api import as_float_array

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


__all__ = ["NF4_VALUES", "NF4", "CodebookFormat", "PWLQFormat", "PWLQTensor", "pack_nibbles",
           "unpack_nibbles", "encode", "codebook_values", "search_breakpoint", "pwlq_error",
           "pwlq_candidates"]
