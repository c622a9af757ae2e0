"""MAC units: what a dot product means, bit for bit, and fast.

A :class:`MacUnit` describes y = init + sum_k a_k * b_k in hardware terms:
operand formats (codes in, zero points for integer formats), the product path
(exact or rounded), the accumulator (integer, fixed-point / Kulisch, floating,
fused multi-term), the reduction order, K-tiling with partial-sum encoding and
where the bias enters.  :func:`matmul` and :func:`dot` run it on code arrays
and return the accumulator codes, their exact values and statistics;
:func:`trace` returns every step of one output.  ``hwsim/_ref_mac.py`` is the
pure-Python oracle of the same semantics.

>>> import numpy as np
>>> from hwsim.mac import MacUnit, IntAccumulator, matmul
>>> mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, overflow="wrap"))
>>> a = np.array([[100, 100]], dtype=np.uint8)      # int8 codes: 100, 100
>>> b = np.array([[1], [1]], dtype=np.uint8)
>>> res = matmul(a, b, mac)
>>> int(res.values[0, 0]), res.stats.overflow_events, res.stats.bits_needed
(-56, 1, 9)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from . import _mac_native as nat
from ._mac_config import (FMT_PRESETS, Chunked, FixedAccumulator, FloatAccumulator,
                          FusedMultiTermAccumulator, IntAccumulator, MacUnit, Sequential,
                          Tiles, Tree, fused_multi_term_preset, kulisch)
from .api import _threads
from .api import decode as _decode
from .api import encode as _encode
from .errors import FormatError
from .modes import Flags

__all__ = ["MacUnit", "IntAccumulator", "FixedAccumulator", "FloatAccumulator",
           "FusedMultiTermAccumulator", "Sequential", "Tree", "Chunked", "Tiles", "kulisch",
           "fused_multi_term_preset", "FMT_PRESETS", "matmul", "dot", "trace", "MatmulResult",
           "MacStats", "MacTrace", "worst_case_bits", "a2q_bits", "a2q_l1_bits"]


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
    """smallest P with 2^(P-1) >= t + 1 (t = 2^alpha >= 0)."""
    p = 1
    while (1 << (p - 1)) < t + 1:
        p += 1
    return p


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass
class MacStats:
    """Statistics of one matmul / dot.

    Attributes
    ----------
    overflow_events_per_output : int64 [..., M, N]
        Accumulator adds (any accumulator of the unit: main, outer, psum
        adder) that overflowed: wrapped, saturated, went to Inf or to the
        saturation value of a float format.
    overflow_events, overflow_events_per_column : total, and summed over all
        axes but the last ([N]).
    psum_overflow_events_per_output, psum_overflow_events : partial-sum
        encodes that overflowed (saturated / wrapped / went to Inf).
    max_abs_partial_per_output, max_abs_partial : float64.  Integer and
        fixed accumulators: the largest |exact sum| formed by any add, before
        the overflow policy acted (a real value: raw * 2^-frac_bits).  Float
        and multi-term accumulators: the largest |register value| after any
        add (Inf once it overflowed; NaN ignored).
    bits_needed_per_output, bits_needed : int (int/fixed units only, else
        None): the smallest register width W (sign included; for a fixed
        accumulator int_bits = W - frac_bits) for which the same computation
        never overflows: the signed width of every exact partial sum of an
        overflow-free run in the same order (for outputs that overflowed, a
        rerun with every int/fixed accumulator widened, in which partial sums
        that overflow their psum format saturate).  Over all int/fixed
        accumulators of the unit.
    worst_case_bits, a2q_bits : int operands only (else None): N + M +
        ceil(log2 K) and the A2Q data-type bound (x = the a operand).
    a2q_l1_bits : int [..., N] for integer operands: A2Q's per-channel l1
        bound with ||w||_1 of each column of b (zero points subtracted).
    """

    overflow_events_per_output: np.ndarray
    psum_overflow_events_per_output: np.ndarray
    max_abs_partial_per_output: np.ndarray
    bits_needed_per_output: np.ndarray | None
    worst_case_bits: int | None = None
    a2q_bits: int | None = None
    a2q_l1_bits: np.ndarray | None = None

    @property
    def overflow_events(self) -> int:
        return int(self.overflow_events_per_output.sum())

    @property
    def overflow_events_per_column(self) -> np.ndarray:
        e = self.overflow_events_per_output
        return e.reshape(-1, e.shape[-1]).sum(axis=0) if e.ndim else e

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


@dataclass
class MatmulResult:
    """Codes and exact values of the result register, plus statistics.

    ``values``: int64 raw integers in LSB units (value = raw * 2^-frac_bits)
    for int / fixed result registers (Python ints in an object array when
    wider than 64 bits); float64 exact values for float / multi-term ones.
    ``codes``: the register's bit patterns (two's complement of ``width``
    bits for int / fixed).  ``fmt``: the result FloatFormat, or None.
    ``path``: which kernel ran ("general" or a fast path's name).
    """

    codes: np.ndarray
    values: np.ndarray
    stats: MacStats | None
    fmt: Any = None
    frac_bits: int = 0
    width: int | None = None
    path: str = "general"

    def real_values(self) -> np.ndarray:
        """The result as float64 real numbers (raw * 2^-frac_bits for fixed)."""
        if self.fmt is not None:
            return self.values
        return np.ldexp(self.values.astype(np.float64), -self.frac_bits)


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------
def _as_mac(mac) -> MacUnit:
    if not isinstance(mac, MacUnit):
        raise TypeError(f"mac must be a MacUnit, got {type(mac).__name__}")
    return mac


def _codes(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must be an integer array of codes, got dtype {a.dtype}")
    return a


def _zero_point(zp, fmt, n: int, name: str, fmt_name: str):
    """None (all zero) or an int64 array of length 1 or n."""
    z = np.asarray(0 if zp is None else zp)
    if z.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer scalar or array, got dtype {z.dtype}")
    z = z.astype(np.int64)
    if z.ndim > 1 or (z.ndim == 1 and z.size not in (1, n)):
        raise ValueError(f"{name} must be a scalar or have {n} entries, got shape {z.shape}")
    if not z.any():
        return None
    if fmt.kind == "float":
        raise ValueError(f"{name} applies to integer / fixed {fmt_name} only; {fmt_name} is "
                         f"{fmt.name}")
    lo, hi = fmt.min_int, fmt.max_int
    if int(z.min()) < lo or int(z.max()) > hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] (the range of {fmt.name}), got "
                         f"values in [{int(z.min())}, {int(z.max())}]")
    return z.reshape(-1)


def _acc_unit_domain(acc, mac: MacUnit):
    """('fixed', frac_bits, width) or ('float', FloatFormat)."""
    if isinstance(acc, IntAccumulator):
        return "fixed", mac.product_frac_bits, acc.bits
    if isinstance(acc, FixedAccumulator):
        return "fixed", acc.frac_bits, acc.width
    if isinstance(acc, FloatAccumulator):
        return "float", acc.fmt, None
    return "float", acc.out_fmt, None


def _exact_in(values: np.ndarray, fmt) -> np.ndarray:
    """mask: float64 values exactly representable in the scalar format fmt."""
    if fmt.kind == "float":
        ov = "saturate"
        q = _decode(_encode(np.where(np.isnan(values), 0.0, values), fmt, "rtz", ov), fmt)
        ok = (q == values) | (np.isnan(values) & fmt.has_nan)
        if fmt.has_inf:
            ok |= np.isinf(values)
        return ok
    scaled = np.ldexp(values, fmt.frac_bits)
    return np.isfinite(values) & (scaled == np.round(scaled)) & (scaled >= fmt.min_int) & \
        (scaled <= fmt.max_int)


def _bias_x(bias, mac: MacUnit, n: int):
    if bias is None:
        return None
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    dom = _acc_unit_domain(acc, mac)
    b = np.asarray(bias)
    if b.ndim > 1 or (b.ndim == 1 and b.size not in (1, n)):
        raise ValueError(f"bias must be a scalar or have {n} entries (one per output column), "
                         f"got shape {b.shape}")
    b = np.broadcast_to(b.reshape(-1) if b.ndim else b, (n,))
    if dom[0] == "fixed":
        if b.dtype.kind not in "iu":
            raise TypeError(f"bias for an integer / fixed accumulator must be an integer array of "
                            f"raw values in LSB units (2^-{dom[1]}), got dtype {b.dtype}")
        raw = b.astype(np.int64)
        lim = 1 << (dom[2] - 1) if dom[2] <= 63 else None
        if lim is not None and (raw.min() < -lim or raw.max() >= lim):
            raise ValueError(f"bias values must fit the {dom[2]}-bit accumulator register "
                             f"[{-lim}, {lim - 1}], got [{int(raw.min())}, {int(raw.max())}]")
        if mac.bias_format is not None and not _exact_in(np.ldexp(raw.astype(np.float64), -dom[1]),
                                                        mac.bias_format).all():
            raise ValueError(f"bias values are not all exact in bias_format={mac.bias_format.name}")
        return nat.unpack_raw(raw, dom[1])
    vals = np.asarray(b, dtype=np.float64)
    for fmt, what in ((dom[1], "the accumulator format " + dom[1].name),
                      (mac.bias_format, "bias_format")):
        if fmt is not None and not _exact_in(vals, fmt).all():
            bad = float(vals[~_exact_in(vals, fmt)][0])
            raise ValueError(f"bias value {bad!r} is not exactly representable in {what}"
                             f"{'' if what != 'bias_format' else '=' + fmt.name}")
    return nat.unpack_f64(vals)


# ---------------------------------------------------------------------------
# the engine call
# ---------------------------------------------------------------------------
def _result_arrays(mac: MacUnit, out: np.ndarray, nlo: int, shape):
    acc = mac.result_accumulator
    dom = _acc_unit_domain(acc, mac)
    if dom[0] == "float":
        fmt = dom[1]
        codes = out.astype(fmt.code_dtype).reshape(shape)
        return codes, _decode(codes, fmt), fmt, 0, None
    frac, width = dom[1], dom[2]
    if nlo == 1:
        mask = np.uint64((1 << width) - 1) if width < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        codes = (out & mask)
        if width < 64:
            sign = np.uint64(1 << (width - 1))
            vals = (codes ^ sign).astype(np.int64) - np.int64(1 << (width - 1))
        else:
            vals = codes.view(np.int64).copy()
        dt = np.dtype(np.uint8 if width <= 8 else np.uint16 if width <= 16 else
                      np.uint32 if width <= 32 else np.uint64)
        return codes.astype(dt).reshape(shape), vals.reshape(shape), None, frac, width
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


def _run(mac, ax, a_rs, a_ks, bx, b_is, b_ks, b_cs, m, n, k, bias_x, want_stats, threads,
         where_fn):
    """General C engine over all outputs; returns (out, stats dict, nlo)."""
    spec, keep = nat.cached_spec(mac)
    s = nat.ffi.new("hw_mac_spec *", spec[0])
    lib = nat.lib
    s.bias = lib.HW_BIAS_NONE if bias_x is None else (
        lib.HW_BIAS_INIT if mac.bias == "init" else lib.HW_BIAS_FINAL)
    nlo = nat.out_limbs(mac.result_accumulator)
    try:
        out, st, _ = nat.gemm(s, ax, a_rs, a_ks, bx, b_is, b_ks, b_cs, m, n, k, bias_x, nlo,
                              want_stats, threads)
    except nat.GemmError as e:
        nat.raise_gemm_error(e, mac, where_fn(e.index))
    if want_stats and _has_fixed(mac):
        _shadow_widths(mac, st, s.bias, ax, a_rs, a_ks, bx, b_is, b_ks, b_cs, m, n, k, bias_x,
                       threads)
    del keep
    return out, st, nlo


def _shadow_widths(mac, st, bias_mode, ax, a_rs, a_ks, bx, b_is, b_ks, b_cs, m, n, k, bias_x,
                   threads):
    """bits_needed of outputs that overflowed: rerun their rows overflow-free."""
    ev = st["acc_events"].reshape(m, n)
    rows = np.nonzero(ev.any(axis=1))[0]
    if not rows.size:
        return
    wide = nat._widened(mac, k)
    sh, keep = nat.build_spec(mac, shadow_k=k)
    sh.bias = bias_mode
    ranges = [(int(r), int(r) + 1) for r in rows]
    _, st2, _ = nat.gemm(sh, ax, a_rs, a_ks, bx, b_is, b_ks, b_cs, m, n, k, bias_x,
                         nat.out_limbs(wide.result_accumulator), True, threads, rows=ranges)
    for r in rows:
        st["width_needed"][r * n:(r + 1) * n] = st2["width_needed"][r * n:(r + 1) * n]
    del keep


def _has_fixed(mac: MacUnit) -> bool:
    return any(isinstance(u, (IntAccumulator, FixedAccumulator))
               for u in (mac.accumulator, mac.top_accumulator, mac.result_accumulator))


def _make_stats(mac, st, shape, l1_cols, k):
    if st is None:
        return None
    a, b = mac.a_fmt, mac.b_fmt
    ints = a.kind != "float" and b.kind != "float"
    l1 = None
    if ints and l1_cols is not None:
        l1 = np.array([a2q_l1_bits(int(v), a.bits, a.signed) for v in l1_cols.reshape(-1)],
                      dtype=np.int64).reshape(l1_cols.shape)
    return MacStats(
        overflow_events_per_output=st["acc_events"].reshape(shape),
        psum_overflow_events_per_output=st["psum_events"].reshape(shape),
        max_abs_partial_per_output=st["max_abs"].reshape(shape),
        bits_needed_per_output=(st["width_needed"].reshape(shape).astype(np.int64)
                                if _has_fixed(mac) else None),
        worst_case_bits=worst_case_bits(a.bits, b.bits, k) if ints else None,
        a2q_bits=a2q_bits(a.bits, b.bits, k, a.signed) if ints else None,
        a2q_l1_bits=l1)


def _l1(bx: np.ndarray, batch: int, kdim: int, n: int) -> np.ndarray:
    """sum_k |b[k, j]| in integer units (zero points subtracted), [batch, n]."""
    mags = bx["sig"].reshape(batch, kdim, n)
    return np.array([[sum(int(v) for v in mags[t, :, j]) for j in range(n)]
                     for t in range(batch)], dtype=object)


def matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
           threads=None, stats: bool = True) -> MatmulResult:
    """Matrix product of code arrays through the MAC unit.

    Parameters
    ----------
    a_codes : int array [..., M, K] of codes of ``mac.a_fmt``
    b_codes : int array [K, N] or [..., K, N] of codes of ``mac.b_fmt``
        (batch dimensions broadcast against a's)
    mac : MacUnit
    bias : None, a scalar or [N]: values in the domain of the register the
        bias enters: int64 raw integers in LSB units for int / fixed
        accumulators, float64 exact values for float ones.
    a_zero_point : scalar or [M] (per row); b_zero_point : scalar or [N] (per
        column).  Integer / fixed formats only; products are (a - za)(b - zb).
    threads : worker threads (default: all cores); never changes a bit.
    stats : compute :class:`MacStats` (also needed for ``bits_needed``).

    Returns
    -------
    MatmulResult with codes / values shaped [..., M, N].
    """
    mac = _as_mac(mac)
    a = _codes(a_codes, "a_codes")
    b = _codes(b_codes, "b_codes")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"a_codes must be [..., M, K] and b_codes [K, N] or [..., K, N]; got "
                         f"shapes {a.shape} and {b.shape}")
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        raise ValueError(f"a_codes has K={k} (shape {a.shape}) but b_codes has K={k2} "
                         f"(shape {b.shape}): the reduction dimensions must match")
    mac.check_terms(k)
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions of a_codes {a.shape[:-2]} and b_codes "
                         f"{b.shape[:-2]} do not broadcast") from None
    nt = _threads(threads)
    za = _zero_point(a_zero_point, mac.a_fmt, m, "a_zero_point", "a_fmt")
    zb = _zero_point(b_zero_point, mac.b_fmt, n, "b_zero_point", "b_fmt")
    bias_x = _bias_x(bias, mac, n)
    nb = int(np.prod(batch)) if batch else 1
    shared_b = b.ndim == 2
    a_full = np.broadcast_to(a, batch + (m, k)).reshape(nb * m, k) if batch else a.reshape(m, k)
    ax = nat.unpack(a_full, mac.a_fmt, za, max(k, 1), "a_codes")
    b_full = b if shared_b else np.broadcast_to(b, batch + (k, n)).reshape(nb * k, n)
    bx = nat.unpack(b_full, mac.b_fmt, zb, 1, "b_codes")
    outs, sts = [], []
    if shared_b:
        def where(idx):
            return _where(idx, batch, m, n)
        out, st, nlo = _run(mac, ax, k, 1, bx, 0, n, 1, nb * m, n, k, bias_x, stats, nt, where)
        outs, sts = [out], [st]
    else:
        for t in range(nb):
            def where(idx, t=t):
                return _where(t * m * n + idx, batch, m, n)
            out, st, nlo = _run(mac, ax[t * m * k:(t + 1) * m * k], k, 1,
                                bx[t * k * n:(t + 1) * k * n], 0, n, 1, m, n, k, bias_x,
                                stats, nt, where)
            outs.append(out)
            sts.append(st)
    out = np.concatenate(outs)
    shape = batch + (m, n)
    codes, values, fmt, frac, width = _result_arrays(mac, out, nlo, shape)
    st = None
    if stats:
        st = {key: np.concatenate([s_[key] for s_ in sts]) for key in sts[0]}
        l1 = None
        if mac.a_fmt.kind != "float" and mac.b_fmt.kind != "float":
            l1 = _l1(bx, 1 if shared_b else nb, k, n)
            l1 = l1[0] if shared_b else l1.reshape(batch + (n,))
        st = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, st, fmt, frac, width, "general")


def _where(idx: int, batch, m: int, n: int) -> str:
    if idx < 0:
        return "an output"
    pos = np.unravel_index(idx, batch + (m, n))
    return "output [" + ", ".join(str(int(p)) for p in pos) + "]"


def dot(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
        threads=None, stats: bool = True) -> MatmulResult:
    """Dot products over the last axis: a_codes [..., K], b_codes [..., K]
    (broadcast) -> [...].  bias: None or a scalar; zero points: scalars."""
    mac = _as_mac(mac)
    a = _codes(a_codes, "a_codes")
    b = _codes(b_codes, "b_codes")
    if a.ndim < 1 or b.ndim < 1:
        raise ValueError(f"a_codes and b_codes must have a last axis K; got shapes {a.shape}, "
                         f"{b.shape}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"a_codes has K={a.shape[-1]} but b_codes has K={b.shape[-1]}: the "
                         "reduction dimensions must match")
    for zp, name in ((a_zero_point, "a_zero_point"), (b_zero_point, "b_zero_point"),
                     (bias, "bias")):
        if zp is not None and np.ndim(zp) != 0:
            raise ValueError(f"{name} must be a scalar for dot(), got shape {np.shape(zp)}")
    try:
        shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"a_codes {a.shape} and b_codes {b.shape} do not broadcast") from None
    k = a.shape[-1]
    mac.check_terms(k)
    nb = int(np.prod(shape)) if shape else 1
    a2 = np.broadcast_to(a, shape + (k,)).reshape(nb, k)
    b2 = np.broadcast_to(b, shape + (k,)).reshape(nb, k)
    nt = _threads(threads)
    za = _zero_point(a_zero_point, mac.a_fmt, 1, "a_zero_point", "a_fmt")
    zb = _zero_point(b_zero_point, mac.b_fmt, 1, "b_zero_point", "b_fmt")
    bias_x = _bias_x(bias, mac, 1)
    ax = nat.unpack(a2, mac.a_fmt, za, 1, "a_codes")
    bx = nat.unpack(b2, mac.b_fmt, zb, 1, "b_codes")

    def where(idx):
        return _where(idx, shape, 1, 1) if shape else "the output"
    out, st, nlo = _run(mac, ax, k, 1, bx, k, 1, 0, nb, 1, k, bias_x, stats, nt, where)
    codes, values, fmt, frac, width = _result_arrays(mac, out, nlo, shape)
    if stats:
        l1 = None
        if mac.a_fmt.kind != "float" and mac.b_fmt.kind != "float":
            l1 = _l1(bx, nb, k, 1).reshape(shape)
        st = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, st, fmt, frac, width, "general")


# ---------------------------------------------------------------------------
# trace
# ---------------------------------------------------------------------------
@dataclass
class MacTrace:
    """Every step of one output: ``steps`` (list of dicts, in order) and the
    final ``code`` / ``value`` (equal to matmul's for that output).

    Step keys: ``kind`` (mac, node, group, chunk, psum_store, psum_load,
    psum_add, bias), ``unit`` (accumulator, outer_accumulator, psum), ``k``
    (range of terms covered, [k0, k1)), ``input`` (exact Fraction entering the
    register: the product for mac steps), ``before`` / ``after`` (register
    codes), ``before_value`` / ``after_value`` (float64), ``exact`` (the
    exact result before rounding / overflow, nearest float64), ``events``
    (overflow, inexact, underflow, invalid) and, for mac steps, ``a_code``,
    ``b_code``, ``a_value``, ``b_value`` (Fractions, zero points applied).
    """

    steps: list
    code: Any
    value: Any


def _xval_fraction(x) -> Any:
    if x["cls"] == 2:
        return float("nan")
    if x["cls"] == 1:
        return float("-inf") if x["sign"] else float("inf")
    v = Fraction(int(x["sig"])) * Fraction(2) ** int(x["exp"])
    return -v if x["sign"] else v


def trace(a_codes, b_codes, mac: MacUnit, i: int = 0, j: int = 0, bias=None, a_zero_point=0,
          b_zero_point=0) -> MacTrace:
    """Every step of output (i, j) of ``matmul(a_codes, b_codes, mac, ...)``
    for 2-D a_codes [M, K] and b_codes [K, N]."""
    mac = _as_mac(mac)
    a = _codes(a_codes, "a_codes")
    b = _codes(b_codes, "b_codes")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"trace needs a_codes [M, K] and b_codes [K, N]; got {a.shape}, {b.shape}")
    m, k = a.shape
    n = b.shape[1]
    mac.check_terms(k)
    if not (0 <= i < m and 0 <= j < n):
        raise ValueError(f"(i, j) must index the [{m}, {n}] output, got ({i}, {j})")
    za = _zero_point(a_zero_point, mac.a_fmt, m, "a_zero_point", "a_fmt")
    zb = _zero_point(b_zero_point, mac.b_fmt, n, "b_zero_point", "b_fmt")
    za1 = None if za is None else za[[i if za.size > 1 else 0]]
    zb1 = None if zb is None else zb[[j if zb.size > 1 else 0]]
    bias1 = None
    if bias is not None:
        bb = np.asarray(bias)
        bias1 = bb.reshape(-1)[[j if bb.size > 1 else 0]]
    ax = nat.unpack(a[i:i + 1], mac.a_fmt, za1, max(k, 1), "a_codes")
    bx = nat.unpack(np.ascontiguousarray(b[:, j:j + 1]), mac.b_fmt, zb1, 1, "b_codes")
    bias_x = _bias_x(bias1, mac, 1)
    spec, keep = nat.cached_spec(mac)
    s = nat.ffi.new("hw_mac_spec *", spec[0])
    s.bias = nat.lib.HW_BIAS_NONE if bias_x is None else (
        nat.lib.HW_BIAS_INIT if mac.bias == "init" else nat.lib.HW_BIAS_FINAL)
    nlo = nat.out_limbs(mac.result_accumulator)
    cap = 4 * k + 64
    while True:
        try:
            out, _, tr = nat.gemm(s, ax, k, 1, bx, 0, 1, 0, 1, 1, k, bias_x, nlo, False, 1,
                                  trace_cap=cap)
        except nat.GemmError as e:
            nat.raise_gemm_error(e, mac, f"output [{i}, {j}]")
        if not isinstance(tr, (int, np.integer)):
            break
        cap = int(tr) + 1
    codes, values, *_ = _result_arrays(mac, out, nlo, ())
    steps = []
    for t in tr:
        kind = nat.STEP_KINDS[int(t["kind"])]
        fl = Flags(int(t["flags"]) & 0x1F)
        d = dict(kind=kind, unit=nat.UNITS[int(t["unit"])], k=(int(t["k0"]), int(t["k1"])),
                 input=_xval_fraction(t["in"]) if kind in ("mac", "psum_load", "psum_add", "bias")
                 else None,
                 before=int(t["before"]), after=int(t["after"]),
                 before_value=float(t["before_v"]), after_value=float(t["after_v"]),
                 exact=float(t["exact_v"]),
                 events=[f.name.lower() for f in (Flags.OVERFLOW, Flags.INEXACT, Flags.UNDERFLOW,
                                                  Flags.INVALID) if fl & f])
        if kind == "mac":
            kk = int(t["k0"])
            d.update(a_code=int(a[i, kk]), b_code=int(b[kk, j]),
                     a_value=_xval_fraction(ax[kk]), b_value=_xval_fraction(bx[kk]))
        steps.append(d)
    del keep
    return MacTrace(steps, codes[()] if hasattr(codes, "shape") else codes,
                    values[()] if hasattr(values, "shape") else values)
