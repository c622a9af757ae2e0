"""Results of MAC-unit runs: statistics, analytic bounds, result arrays."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any

import numpy as np

from ..codec import decode as _decode
from ..formats import IntFormat
from .accumulators import is_int
from .config import MacUnit

__all__ = ["MacStats", "MatmulResult", "worst_case_bits", "a2q_bits", "a2q_l1_bits"]


# ---------------------------------------------------------------------------
# analytic bounds (numerics.md section 6; Colbert et al. 2023, A2Q)
# ---------------------------------------------------------------------------
def _clog2(k: int) -> int:
    return max(0, (int(k) - 1).bit_length())


def worst_case_bits(n_bits: int, m_bits: int, k: int) -> int:
    """N + M + ceil(log2 K): a signed accumulator that never overflows for
    K products of signed N-bit x M-bit integers."""
    return int(n_bits) + int(m_bits) + _clog2(k)


def a2q_bits(n_bits: int, m_bits: int, k: int, x_signed: bool) -> int:
    """A2Q data-type bound: P_min = ceil(alpha + log2(1 + 2^-alpha) + 1) with
    alpha = log2(K) + N + M - 1 - [x signed]; computed exactly as the
    smallest P with 2^(P-1) >= 2^alpha + 1 (N: bits of x = the a operand)."""
    e = int(n_bits) + int(m_bits) - 1 - int(bool(x_signed))
    t = int(k) << e if e >= 0 else Fraction(int(k), 1 << -e)
    return _p_min(t)


def a2q_l1_bits(l1: int, n_bits: int, x_signed: bool) -> int:
    """A2Q per-channel bound: alpha = log2(||w||_1) + N - [x signed], P_min as
    in :func:`a2q_bits` (||w||_1 in integer units of the weights)."""
    e = int(n_bits) - int(bool(x_signed))
    t = int(l1) << e if e >= 0 else Fraction(int(l1), 1 << -e)
    return _p_min(t)


def _p_min(t) -> int:
    """smallest P with 2^(P-1) >= t + 1 (t = 2^alpha >= 0).  For an integer t
    that is 1 + bit_length(t) (2^(P-1) >= t + 1 iff P - 1 >= ceil(log2(t + 1)))."""
    if isinstance(t, int):
        return 1 + t.bit_length()
    p = 1
    while (1 << (p - 1)) < t + 1:
        p += 1
    return p


def _a2q_l1_array(l1_cols, n_bits: int, x_signed: bool) -> np.ndarray:
    """:func:`a2q_l1_bits` of every entry of l1_cols (int64 [..., N]), vectorised
    where exact: e = N - [x signed] >= 0 and l1 < 2^53 give 1 + e + bit_length(l1)
    (1 for l1 = 0); bit_length from frexp's exponent (exact below 2^53)."""
    e = int(n_bits) - int(bool(x_signed))
    v = np.asarray(l1_cols)
    if v.dtype == object:
        try:
            v = v.astype(np.int64)
        except OverflowError:  # sums beyond int64: exact Python integers below
            pass
    if e >= 0 and v.dtype.kind in "iu" and (v.size == 0 or (int(v.min()) >= 0 and
                                                            int(v.max()) < 1 << 53)):
        bl = np.frexp(v.astype(np.float64))[1].astype(np.int64)
        return np.where(v > 0, 1 + e + bl, 1).astype(np.int64)
    return np.array([a2q_l1_bits(int(x), n_bits, x_signed) for x in v.reshape(-1)],
                    dtype=np.int64).reshape(v.shape)


#: _a2q_l1_array of read-only l1 arrays (the fast paths' sums of |b|, cached with the
#: packed weights, the same array while the same weights come back):
#: (id, n_bits, x_signed) -> (l1, bounds)
_A2Q: dict = {}
_A2Q_LOCK = threading.Lock()


def _a2q_l1_cached(l1_cols, n_bits: int, x_signed: bool) -> np.ndarray:
    """:func:`_a2q_l1_array`, reused for a read-only ndarray that comes back (the
    caller gets its own copy)."""
    if not isinstance(l1_cols, np.ndarray) or l1_cols.flags.writeable:
        return _a2q_l1_array(l1_cols, n_bits, x_signed)
    key = (id(l1_cols), n_bits, x_signed)
    with _A2Q_LOCK:
        hit = _A2Q.get(key)
    if hit is None or hit[0] is not l1_cols:
        hit = (l1_cols, _a2q_l1_array(l1_cols, n_bits, x_signed))
        with _A2Q_LOCK:
            while len(_A2Q) >= 16:
                _A2Q.pop(next(iter(_A2Q)))
            _A2Q[key] = hit
    return hit[1].copy()


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class MacStats:
    """Statistics of one matmul / dot.

    Attributes
    ----------
    overflow_events_per_output : int64 [..., M, N]
        Accumulator adds (any accumulator of the unit: main, outer, psum
        adder) that overflowed: wrapped, saturated, went to Inf or to the
        saturation value of a float format.
    overflow_events, overflow_events_per_column : total, and summed over the
        rows M ([..., N]: one count per output column / channel and batch).
    psum_overflow_events_per_output, psum_overflow_events : partial-sum
        encodes that overflowed (saturated / wrapped / went to Inf).
    max_abs_partial_per_output, max_abs_partial : float64.  Integer and
        fixed accumulators: the largest |exact sum| formed by any add, before
        the overflow policy acted (a real value: raw * 2^-frac_bits).  Float
        and multi-term accumulators: the largest |register value| after any
        add (Inf once it overflowed; NaN ignored).
    bits_needed_per_output, bits_needed : int (int/fixed units only, else
        None): the smallest register width W (sign included; for a fixed
        accumulator int_bits = W - frac_bits) for which no int/fixed
        accumulator register of the unit (main, tree nodes, chunk outer,
        reloaded register, psum adder) overflows: the largest signed width
        of any exact value written into one of them, in the run where they
        are all wide enough and everything else (products, float registers,
        the psum format; a psum that wraps or saturates keeps that policy,
        any other saturates) is
        unchanged.  For outputs without an overflow event that is the real
        run.  See docs/semantics.md, "MAC statistics".
    worst_case_bits, a2q_bits : int operands only (else None): N + M +
        ceil(log2 K) and the A2Q data-type bound (x = the a operand).
    a2q_l1_bits : int [..., N] for integer operands: A2Q's per-channel l1
        bound with ||w||_1 of each column of b (zero points subtracted).

    A fast path may leave a per-output array to be made on its first read (a
    widening of what its kernel wrote); it then has the dtype and values above.
    """

    overflow_events_per_output: np.ndarray
    psum_overflow_events_per_output: np.ndarray
    max_abs_partial_per_output: np.ndarray
    bits_needed_per_output: np.ndarray | None
    worst_case_bits: int | None = None
    a2q_bits: int | None = None
    a2q_l1_bits: np.ndarray | None = None

    def __repr__(self) -> str:
        return (f"MacStats(shape={tuple(self.overflow_events_per_output.shape)}, "
                f"overflow_events={self.overflow_events}, "
                f"psum_overflow_events={self.psum_overflow_events}, "
                f"max_abs_partial={self.max_abs_partial!r}, bits_needed={self.bits_needed}, "
                f"worst_case_bits={self.worst_case_bits}, a2q_bits={self.a2q_bits}; "
                ".to_dict() has every array)")

    def to_dict(self) -> dict:
        """Every field (per-output arrays included) and the totals."""
        return dict(overflow_events_per_output=self.overflow_events_per_output,
                    psum_overflow_events_per_output=self.psum_overflow_events_per_output,
                    max_abs_partial_per_output=self.max_abs_partial_per_output,
                    bits_needed_per_output=self.bits_needed_per_output,
                    worst_case_bits=self.worst_case_bits, a2q_bits=self.a2q_bits,
                    a2q_l1_bits=self.a2q_l1_bits, overflow_events=self.overflow_events,
                    overflow_events_per_column=self.overflow_events_per_column,
                    psum_overflow_events=self.psum_overflow_events,
                    max_abs_partial=self.max_abs_partial, bits_needed=self.bits_needed)

    @classmethod
    def _deferred(cls, lazy: dict, fields: dict) -> MacStats:
        """A MacStats whose fields named in ``lazy`` (name -> function of no argument) are
        computed on first read (a dtype widening of the kernel's array nobody may read)."""
        obj = cls.__new__(cls)
        obj.__dict__.update(fields)
        obj.__dict__["_lazy"] = lazy
        return obj

    def __getattr__(self, name):  # only for attributes not set: the deferred fields
        lazy = self.__dict__.get("_lazy")
        fn = None if lazy is None else lazy.get(name)
        if fn is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self.__dict__.setdefault(name, fn())
        lazy.pop(name, None)
        return value

    def __getstate__(self) -> dict:  # pickle / copy: every field computed
        for name in list(self.__dict__.get("_lazy", ())):
            getattr(self, name)
        return {k: v for k, v in self.__dict__.items() if k != "_lazy"}

    @property
    def overflow_events(self) -> int:
        return int(self.overflow_events_per_output.sum())

    @property
    def overflow_events_per_column(self) -> np.ndarray:
        """Events summed over the rows M: [..., N] (batch dimensions kept)."""
        e = self.overflow_events_per_output
        return e.sum(axis=-2) if e.ndim >= 2 else e

    @property
    def overflow_per_column(self) -> np.ndarray:
        """Alias of :attr:`overflow_events_per_column`."""
        return self.overflow_events_per_column

    @property
    def psum_overflow_events(self) -> int:
        return int(self.psum_overflow_events_per_output.sum())

    @property
    def max_abs_partial(self) -> float:
        m = self.max_abs_partial_per_output
        return float(m.max()) if m.size else 0.0

    @property
    def bits_needed(self) -> int | None:
        b = self.bits_needed_per_output
        if b is None:
            return None
        return int(b.max()) if b.size else 1


class MatmulResult:
    """Codes and exact values of the result register, plus statistics.

    ``values``: int64 raw integers in LSB units (value = raw * 2^-frac_bits)
    for int / fixed result registers (Python ints in an object array when
    wider than 64 bits); float64 exact values for float / multi-term ones
    (both computed on first access on the fast paths).
    ``codes``: the register's bit patterns (two's complement of ``width``
    bits for int / fixed).  ``fmt``: the result FloatFormat, or None.
    ``path``: which kernel ran ("general" or a fast path's name).
    ``flags``: uint8, shaped like ``codes``: per output the IEEE flags
    (:class:`hwsim.modes.Flags` bits) OR-ed over every step, when asked for
    (``flags=True``), else None.
    """

    __slots__ = ("codes", "_values", "stats", "fmt", "frac_bits", "width", "path", "flags")

    def __init__(self, codes: np.ndarray, values, stats: MacStats | None, fmt: Any = None,
                 frac_bits: int = 0, width: int | None = None, path: str = "general",
                 flags: np.ndarray | None = None):
        self.codes = codes
        self._values = values  # an array, or a function computing it once
        self.stats = stats
        self.fmt = fmt
        self.frac_bits = frac_bits
        self.width = width
        self.path = path
        self.flags = flags

    @property
    def values(self) -> np.ndarray:
        if callable(self._values):
            self._values = self._values()
        return self._values

    def __repr__(self) -> str:
        return (f"MatmulResult(shape={tuple(np.shape(self.codes))}, fmt={self.fmt!r}, "
                f"frac_bits={self.frac_bits}, width={self.width}, path={self.path!r}, "
                f"stats={'yes' if self.stats is not None else 'no'})")

    def to_dict(self) -> dict:
        """Every field: codes, values, stats (a dict, or None), fmt, frac_bits, width, path,
        flags (or None)."""
        return dict(codes=self.codes, values=self.values,
                    stats=None if self.stats is None else self.stats.to_dict(), fmt=self.fmt,
                    frac_bits=self.frac_bits, width=self.width, path=self.path,
                    flags=self.flags)

    def real_values(self) -> np.ndarray:
        """The result as float64 real numbers (raw * 2^-frac_bits for fixed)."""
        if self.fmt is not None:
            return self.values
        return np.ldexp(self.values.astype(np.float64), -self.frac_bits)


def _result_arrays(mac: MacUnit, out: np.ndarray, nlo: int, shape):
    reg = mac.result_accumulator.register(mac)
    if not reg.fixed:
        fmt = reg.fmt
        codes = out.astype(fmt.code_dtype).reshape(shape)
        return codes, _decode(codes, fmt).reshape(shape), fmt, 0, None
    frac, width = reg.frac_bits, reg.width
    if nlo == 1:
        mask = np.uint64((1 << width) - 1) if width < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        codes = (out & mask)
        if width < 64:
            sign = np.uint64(1 << (width - 1))
            vals = (codes ^ sign).astype(np.int64) - np.int64(1 << (width - 1))
        else:
            vals = codes.view(np.int64).copy()
        return codes.astype(register_code_dtype(width)).reshape(shape), vals.reshape(shape), None, frac, width
    limbs = out.reshape(-1, nlo)
    vals = np.empty(limbs.shape[0], dtype=object)
    codes = np.empty(limbs.shape[0], dtype=object)
    for r in range(limbs.shape[0]):
        v = 0
        for li in range(nlo - 1, -1, -1):
            v = (v << 64) | int(limbs[r, li])
        if v >> (64 * nlo - 1):
            v -= 1 << (64 * nlo)
        vals[r] = v
        codes[r] = v & ((1 << width) - 1)
    return codes.reshape(shape), vals.reshape(shape), None, frac, width


@lru_cache(maxsize=None)
def register_code_dtype(width: int) -> np.dtype:
    """The unsigned dtype holding the codes of a ``width``-bit register (<= 64)."""
    return IntFormat(width).code_dtype


def _make_stats(mac, st, shape, l1_cols, k):
    if st is None:
        return None
    a, b = mac.a_fmt, mac.b_fmt
    ints = is_int(a) and is_int(b)
    l1 = None
    if ints and l1_cols is not None:
        l1 = _a2q_l1_cached(l1_cols, a.bits, a.signed)
    fields = dict(worst_case_bits=worst_case_bits(a.bits, b.bits, k) if ints else None,
                  a2q_bits=a2q_bits(a.bits, b.bits, k, a.signed) if ints else None,
                  a2q_l1_bits=l1)
    lazy = {}
    for name, key, dtype in _PER_OUTPUT:
        if key == "width_needed" and not mac.has_integer_register:
            fields[name] = None
            continue
        arr = st[key]
        frac = st.get("max_abs_frac", 0) if key == "max_abs" else 0
        if arr is not None and arr.dtype == dtype and not frac:
            fields[name] = arr.reshape(shape)
        else:  # converted when read
            lazy[name] = partial(_widened, arr, dtype, frac, shape)
    return MacStats._deferred(lazy, fields) if lazy else MacStats(**fields)


#: (MacStats field, key of the kernels' stats dict, the field's dtype)
_PER_OUTPUT = (("overflow_events_per_output", "acc_events", np.int64),
               ("psum_overflow_events_per_output", "psum_events", np.int64),
               ("max_abs_partial_per_output", "max_abs", np.float64),
               ("bits_needed_per_output", "width_needed", np.int64))


def _widened(arr, dtype, frac: int, shape) -> np.ndarray:
    """A kernel's per-output statistic in its MacStats dtype (arr None: all zero;
    ``frac``: arr holds raw integers, the value is raw * 2^-frac)."""
    if arr is None:
        return np.zeros(shape, dtype)
    out = arr.astype(dtype)
    if frac:
        out = np.ldexp(out, -frac)
    return out.reshape(shape)


def eager_stats(st: dict) -> dict:
    """A kernel's stats dict with every entry an array in its MacStats dtype (to be
    written into: psum_events None -> zeros, raw max_abs scaled)."""
    out = dict(st)
    for _, key, dtype in _PER_OUTPUT:
        arr, frac = st[key], st.get("max_abs_frac", 0) if key == "max_abs" else 0
        if arr is None or frac or (key != "width_needed" and arr.dtype != dtype):
            out[key] = _widened(arr, dtype, frac, (len(st["acc_events"]),))
    out.pop("max_abs_frac", None)
    return out


def _l1(bx: np.ndarray, batch: int, n: int, kdim: int) -> np.ndarray:
    """sum_k |b[k, j]| in integer units (zero points subtracted), [batch, n];
    bx holds the columns of b contiguously ([batch, n, kdim])."""
    mags = bx["sig"].reshape(batch, n, kdim)
    if kdim == 0 or int(mags.max(initial=0)) < (1 << 62) // max(kdim, 1):
        return mags.sum(axis=2, dtype=np.int64).astype(object)
    return np.array([[sum(int(v) for v in mags[t, j]) for j in range(n)]
                     for t in range(batch)], dtype=object)


