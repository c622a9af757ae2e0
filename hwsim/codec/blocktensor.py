"""Result objects of block / codebook quantization (:class:`BlockTensor`,
:class:`PWLQTensor`), their exact float64 decoding, nibble packing, and the
layout helpers shared by :mod:`hwsim.codec.block` and :mod:`hwsim.codec.codebook`
(moving the block axis last and back).  Re-exported by :mod:`hwsim.tensors`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import FormatError
from ..formats import E2M1, E4M3, FloatFormat, PWLQFormat
from ..modes import Flags
from ..native import codec as native_codec
from .inputs import as_float_array


# ---------------------------------------------------------------------------
# Result object
# ---------------------------------------------------------------------------
def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous view (the caller's own array keeps its flags)."""
    a = np.asarray(a)
    a = a.copy(order="C") if not a.flags.c_contiguous else a.view()
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class BlockTensor:
    """A tensor in a block or codebook format.

    Attributes
    ----------
    codes : ndarray
        Element codes, same shape as the input (read-only).
    scales : ndarray
        One entry per block, shaped like the input with the block axis length
        replaced by the number of blocks (flat when ``axis`` is None): E8M0
        codes (MX), E4M3 codes (NVFP4), biased shared exponents (BFP) or
        float32 absmax (codebooks).
    fmt : MXFormat | NVFP4Format | BFPFormat | CodebookFormat
    axis : int or None
        Block axis (non-negative), or None when blocks run over the flattened
        tensor.
    shape : tuple
        Shape of the original tensor.
    tensor_scale : float or None
        NVFP4's FP32 per-tensor scale.
    flags : Flags
        OR of the element conversion flags (INEXACT, OVERFLOW...).
    """

    codes: np.ndarray
    scales: np.ndarray
    fmt: Any
    axis: int | None
    shape: tuple
    tensor_scale: float | None = None
    flags: Flags = Flags.NONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", _readonly(self.codes))
        object.__setattr__(self, "scales", _readonly(self.scales))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if self.codes.shape != self.shape:
            raise ValueError(f"codes must have shape {self.shape}, got {self.codes.shape}")
        n = self.axis_length
        nb = -(-n // self.block_size)
        want = (nb,) if self.axis is None else \
            self.shape[:self.axis] + (nb,) + self.shape[self.axis + 1:]
        if self.scales.shape != want:
            raise ValueError(f"scales must have shape {want}, got {self.scales.shape}")

    @property
    def block_size(self) -> int:
        return self.fmt.block_size

    @property
    def axis_length(self) -> int:
        """Number of values along the block axis (all values when axis is None)."""
        if self.axis is None:
            return int(np.prod(self.shape, dtype=np.int64))
        return self.shape[self.axis]

    @property
    def nblocks(self) -> int:
        """Blocks along the block axis."""
        return -(-self.axis_length // self.block_size)

    @property
    def pad(self) -> int:
        """Zeros the last block along the axis would need to be full."""
        return self.nblocks * self.block_size - self.axis_length

    def expand_scales(self, arr: np.ndarray | None = None) -> np.ndarray:
        """Per-block array (default: ``scales``) repeated onto every element."""
        s = self.scales if arr is None else arr
        n = self.axis_length
        if self.axis is None:
            return np.repeat(s, self.block_size)[:n].reshape(self.shape)
        e = np.repeat(s, self.block_size, axis=self.axis)
        return e.take(np.arange(n), axis=self.axis)

    def values(self) -> np.ndarray:
        """The float64 values (exact; NaN for elements of a NaN-scale block)."""
        decoder = _VALUES.get(self.fmt.kind)
        if decoder is None:
            raise FormatError(f"BlockTensor of unknown kind {self.fmt.kind!r}")
        return decoder(self)

    def times_block(self, elem: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """``elem`` (shaped like the tensor) times the per-block ``factor``
        (shaped like ``scales``), each element by its own block's entry."""
        n, bs, nb = self.axis_length, self.block_size, self.nblocks
        if n % bs:
            return elem * self.expand_scales(factor)
        if self.axis is None:
            return (elem.reshape(nb, bs) * factor.reshape(nb, 1)).reshape(self.shape)
        ax = self.axis
        blocked = self.shape[:ax] + (nb, bs) + self.shape[ax + 1:]
        return (elem.reshape(blocked) * np.expand_dims(factor, ax + 1)).reshape(self.shape)

    def packed(self, order: str = "high_first") -> np.ndarray:
        """Element codes two per byte (formats of at most 4 bits); see
        :func:`pack_nibbles`."""
        if self.fmt.bits > 4:
            raise ValueError(f"packed() needs codes of at most 4 bits; {self.fmt.name} has "
                             f"{self.fmt.bits}")
        return pack_nibbles(self.codes, order=order)

    def __repr__(self) -> str:
        return (f"BlockTensor({self.fmt.name}, shape={self.shape}, axis={self.axis}, "
                f"nblocks={self.nblocks}, pad={self.pad})")


@lru_cache(maxsize=None)
def _float_lut(fmt: FloatFormat) -> np.ndarray:
    """float64 value of every code of an element float format (read-only table).

    Formats wider than 8 bits (e.g. float16 elements of a user MX format) take the C
    decoder's table (``hw_decode_general``, bit for bit the same values: one call instead
    of 65536 exact decodes in Python, fuzz finding timeout-bd6de7eb)."""
    if fmt.bits > 8:
        return native_codec.decode_lut(fmt, False)

    def val(c: int) -> float:
        v = float(fmt.decode_exact(c))
        return -0.0 if (v == 0 and fmt.signed and c & fmt.sign_bit) else v

    t = np.array([val(c) for c in range(1 << fmt.bits)], dtype=np.float64)
    t.flags.writeable = False
    return t


_E8M0_LUT = np.array([math.ldexp(1.0, s - 127) for s in range(255)] + [math.nan])


def _mx_values(bt: BlockTensor) -> np.ndarray:
    fmt = bt.fmt
    if fmt.is_int:
        ev = bt.codes.view(np.int8).astype(np.float64) / 64.0
    else:
        ev = _float_lut(fmt.elem)[bt.codes]
    # 2^(s - 127) per block, NaN for 0xFF; the products are exact (powers of two, no
    # float64 underflow: the smallest is 2^-16 * 2^-127)
    return bt.times_block(ev, _E8M0_LUT[bt.scales])


def _bfp_values(bt: BlockTensor) -> np.ndarray:
    fmt = bt.fmt
    m = fmt.man_bits
    c = bt.codes.astype(np.int64)
    if fmt.mantissa == "twos_complement":
        k = np.where(c >> m, c - (1 << (m + 1)), c).astype(np.float64)
    else:
        mag = (c & ((1 << m) - 1)).astype(np.float64)
        k = np.where(c >> m, -mag, mag)
    e = bt.scales.astype(np.int32) - (fmt.exp_bias + m - 1)
    return bt.times_block(k, np.ldexp(1.0, e))  # k < 2^31 times a power of two: exact


def _nvfp4_values(bt: BlockTensor) -> np.ndarray:
    ev = _float_lut(E2M1)[bt.codes]
    factor = _float_lut(E4M3)[bt.scales] * float(bt.tensor_scale)  # exact
    return bt.times_block(ev, factor)


def codebook_values(bt: BlockTensor) -> np.ndarray:
    """float64 values of a codebook BlockTensor: value[code] * absmax."""
    table = np.array(bt.fmt.values, dtype=np.float64)
    if bt.codes.size and int(bt.codes.max()) >= table.size:
        raise ValueError(f"codes must be below {table.size} for {bt.fmt.name}")
    return bt.times_block(table[bt.codes], bt.scales.astype(np.float64))


#: float64 decoder of each block / codebook kind
_VALUES = {"mx": _mx_values, "nvfp4": _nvfp4_values, "bfp": _bfp_values,
           "codebook": codebook_values}


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
# layout: the block axis moved last, rows of values
# ---------------------------------------------------------------------------
def _layout(x, axis):
    """(x as float array, normalized axis or None, 2-D row view (rows, n), moved shape)."""
    xa = as_float_array(x)
    if axis is None or xa.ndim == 0:
        return xa, None, xa.reshape(1, -1), (xa.size,)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int or None, got {axis!r}")
    if not -xa.ndim <= axis < xa.ndim:
        raise ValueError(f"axis must be in [{-xa.ndim}, {xa.ndim - 1}] for a {xa.ndim}-d "
                         f"input, got {axis}")
    ax = int(axis) % xa.ndim
    xm = np.ascontiguousarray(np.moveaxis(xa, ax, -1))
    rows = int(np.prod(xm.shape[:-1], dtype=np.int64))
    return xa, ax, xm.reshape(rows, xm.shape[-1]), xm.shape


def _restore(arr2d: np.ndarray, moved_shape: tuple, ax, shape=None) -> np.ndarray:
    """Undo _layout: reshape to the moved shape and move the axis back (or, for
    axis None, reshape to ``shape`` when given)."""
    a = arr2d.reshape(moved_shape)
    if ax is None:
        return a if shape is None else a.reshape(shape)
    return np.ascontiguousarray(np.moveaxis(a, -1, ax))


def _blocks_as_rows(x2: np.ndarray, bs: int) -> np.ndarray:
    """When blocks tile the rows exactly, view every block as one row (more rows:
    better thread splitting; element order, hence SR indices, unchanged)."""
    rows, n = x2.shape
    if n > bs and n % bs == 0:
        return x2.reshape(-1, bs)
    return x2


def index_str(flat: int, shape: tuple) -> str:
    """'x[i, j]' for a flat C-order index into an array of ``shape``."""
    idx = [int(i) for i in np.unravel_index(flat, shape)] if shape else []
    return f"x[{', '.join(map(str, idx))}]"
