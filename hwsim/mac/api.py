"""The entry points of the MAC units: :func:`matmul` and :func:`dot`.

Each checks its operands (:mod:`hwsim.mac.operands`), tries a fast kernel
where it is provably bit-identical (:mod:`hwsim.mac.fast`) and otherwise runs
the general C engine (:mod:`hwsim.mac.engine`).

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

import math
from typing import Any, NamedTuple

import numpy as np

from ..codec import check_threads as _threads
from . import engine
from . import fast as _fast
from .accumulators import is_int
from .config import MacUnit
from .engine import Strides
from .operands import _as_mac, _bias_either, _check_codes, _operand, _zero_point
from .results import MacStats, MatmulResult, _l1, _make_stats, _result_arrays, eager_stats

__all__ = ["matmul", "dot", "matmul_summary"]


def matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
           threads=None, stats: bool = True, path: str = "auto", *, flags: bool = False,
           bias_codes=None) -> MatmulResult:
    """Matrix product of code arrays through the MAC unit.

    Parameters
    ----------
    a_codes : int array [..., M, K] of codes of ``mac.a_fmt``
    b_codes : int array [K, N] or [..., K, N] of codes of ``mac.b_fmt``
        (batch dimensions broadcast against a's)
    mac : MacUnit
    bias : None, a scalar, [N] or [..., N] (one row per batch): values in the
        domain of the register the bias enters: int64 raw integers in LSB
        units for int / fixed accumulators (a value beyond the register meets
        its overflow policy when it is loaded or added, and counts as an
        event), float64 values exactly representable in the format for float
        ones.
    a_zero_point : scalar or [M] (per row); b_zero_point : scalar, [N] (per
        column) or [..., N] (per batch and column).  Integer / fixed formats
        only; products are (a - za)(b - zb).
    threads : worker threads (default: all cores); never changes a bit.
    stats : compute :class:`MacStats` (also needed for ``bits_needed``).
    path : "auto" (a fast kernel where it is provably bit-identical, see
        :mod:`hwsim.mac.fast`; ``result.path`` names it) or "general" (always
        the general engine).
    flags : also return ``result.flags``: uint8 [..., M, N], per output the
        IEEE flags (SoftFloat bits: inexact 1, underflow 2, overflow 4,
        invalid 16) OR-ed over every step of the unit (products, adds, tree
        nodes, psum encodes, bias), as an RTL unit's sticky flags.  Computed
        by the general engine in the same pass; the fast kernels do not
        compute flags, so ``flags=True`` runs the general engine (slower on
        shapes a fast kernel would take: see docs/semantics.md, "IEEE flags").
    bias_codes : instead of ``bias``: codes in the format of the register the
        bias enters (float registers: its FloatFormat, so NaN payloads and
        signalling NaNs can be given; int / fixed: two's-complement codes of
        the register width); same shapes as ``bias``.  Runs the general engine.

    Returns
    -------
    MatmulResult with codes / values (and flags) shaped [..., M, N].
    """
    if path not in ("auto", "general"):
        raise ValueError(f"path must be 'auto' or 'general', got {path!r}")
    if (bias is not None and np.ndim(bias) >= 2) or np.ndim(b_zero_point) >= 2 or \
            (bias_codes is not None and np.ndim(bias_codes) >= 2):
        return _per_batch(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads,
                          stats, path, flags, bias_codes)
    mac = _as_mac(mac)
    p = _problem(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads, bias_codes)
    general_only = flags or bias_codes is not None or not mac.nan.is_default
    fast = _fast.plan(mac, stats) if path == "auto" and not general_only else None
    if fast is not None:
        res = _matmul_fast(fast, mac, p, stats)
        if res is not None:
            return res
    return _matmul_general(mac, p, stats, flags)


def matmul_summary(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
                   threads=None) -> tuple[MatmulResult, dict]:
    """:func:`matmul` with statistics, reduced to what a network layer reports.

    Returns ``(result, summary)``: ``result`` as :func:`matmul` (``stats=True``) returns it
    but with ``result.stats = None``, and ``summary`` = dict ``overflow_events_per_column``
    (int64 [..., N]), ``max_abs_partial`` (float), ``bits_needed`` (int or None): the
    values of the :class:`MacStats` fields of the same name.  On the fast paths the
    per-output arrays are reduced as the kernel wrote them, without building MacStats
    (no int64 copy of the widths, no A2Q bounds)."""
    a_nd = np.ndim(getattr(a_codes, "codes", a_codes))
    b_nd = np.ndim(getattr(b_codes, "codes", b_codes))
    simple = a_nd == 2 and b_nd == 2 and (bias is None or np.ndim(bias) < 2) and \
        np.ndim(b_zero_point) < 2
    if simple:
        mac = _as_mac(mac)
        if mac.nan.is_default:
            fast = _fast.plan(mac, True)
            if fast is not None:
                p = _problem(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads)
                got = _matmul_fast(fast, mac, p, True, summary=True)
                if got is not None:  # its stats field holds the summary dict
                    summary, got.stats = got.stats, None
                    return got, summary
                res = _matmul_general(mac, p, True)
                return _summarised(res)
    return _summarised(matmul(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads))


def _summarised(res: MatmulResult) -> tuple[MatmulResult, dict]:
    st = res.stats
    summary = dict(overflow_events_per_column=st.overflow_events_per_column,
                   max_abs_partial=st.max_abs_partial, bits_needed=st.bits_needed)
    res.stats = None
    return res, summary


class _Problem(NamedTuple):
    """A checked matmul: operands, shapes, zero points, bias, threads."""

    a_kind: str          #: "codes" or "values" (block operands, decoded)
    b_kind: str
    a_full: np.ndarray   #: a with batches as rows: [nb * M, K]
    b: np.ndarray        #: [K, N] (shared by every batch) or [..., K, N]
    blocks: tuple        #: the block operands (BlockTensors) or None
    batch: tuple
    m: int
    n: int
    k: int
    za: Any              #: zero points (None: all zero)
    zb: Any
    bias: Any            #: as given
    bias_x: Any          #: in the engine's exact form
    threads: int

    @property
    def nb(self) -> int:
        return int(np.prod(self.batch)) if self.batch else 1

    @property
    def shared_b(self) -> bool:
        return self.b.ndim == 2

    @property
    def b_batches(self) -> np.ndarray:
        """b as [nb, K, N]."""
        return np.broadcast_to(self.b, self.batch + (self.k, self.n)).reshape(self.nb, self.k,
                                                                              self.n)


def _problem(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads,
             bias_codes=None) -> _Problem:
    """Check matmul's arguments (in the order the errors are reported)."""
    if np.ndim(getattr(a_codes, "codes", a_codes)) < 2 or \
            np.ndim(getattr(b_codes, "codes", b_codes)) < 2:
        raise ValueError(f"a_codes must be [..., M, K] and b_codes [K, N] or [..., K, N]; got "
                         f"shapes {np.shape(getattr(a_codes, 'codes', a_codes))} and "
                         f"{np.shape(getattr(b_codes, 'codes', b_codes))}")
    a_kind, a = _operand(a_codes, mac.a_fmt, "a_codes", 1)
    b_kind, b = _operand(b_codes, mac.b_fmt, "b_codes", 2)
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        raise ValueError(f"a_codes has K={k} (shape {a.shape}) but b_codes has K={k2} "
                         f"(shape {b.shape}): the reduction dimensions must match")
    mac.check_terms(k)
    if a_kind == "codes":
        _check_codes(a, mac.a_fmt, "a_codes")
    if b_kind == "codes":
        _check_codes(b, mac.b_fmt, "b_codes")
    try:
        batch = () if a.ndim == b.ndim == 2 else np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions of a_codes {a.shape[:-2]} and b_codes "
                         f"{b.shape[:-2]} do not broadcast") from None
    nt = _threads(threads)
    za = _zero_point(a_zero_point, mac.a_fmt, m, "a_zero_point", "a_fmt")
    zb = _zero_point(b_zero_point, mac.b_fmt, n, "b_zero_point", "b_fmt")
    bias_x = _bias_either(bias, bias_codes, mac, n)
    nb = int(np.prod(batch)) if batch else 1
    a_full = np.broadcast_to(a, batch + (m, k)).reshape(nb * m, k) if batch else a.reshape(m, k)
    blocks = (a_codes if a_kind == "values" else None, b_codes if b_kind == "values" else None)
    return _Problem(a_kind, b_kind, a_full, b, blocks, batch, m, n, k, za, zb, bias, bias_x, nt)


def _matmul_general(mac: MacUnit, p: _Problem, stats: bool, flags: bool = False) -> MatmulResult:
    """The general C engine over every batch."""
    m, n, k, nb = p.m, p.n, p.k, p.nb
    ax = engine.unpack(p.a_full, mac.a_fmt, p.za, max(k, 1), "a_codes") \
        if p.a_kind == "codes" else engine.unpack_f64(p.a_full)
    b_full = p.b if p.shared_b else p.b_batches.reshape(nb * k, n)
    # columns of b contiguous ([batch, N, K]): every output streams its column
    b_cols = np.ascontiguousarray(np.swapaxes(b_full.reshape(1 if p.shared_b else nb, k, n),
                                              1, 2))
    bx = engine.unpack(b_cols, mac.b_fmt, p.zb, max(k, 1), "b_codes") \
        if p.b_kind == "codes" else engine.unpack_f64(b_cols)
    strides = Strides(a_row=k, a_k=1, b_row=0, b_k=1, b_col=k)
    if p.shared_b:
        out, st, nlo = engine.run(mac, ax, bx, strides, nb * m, n, k, p.bias_x, stats,
                                  p.threads, lambda idx: _where(idx, p.batch, m, n), flags)
        outs, sts = [out], [st]
    else:
        outs, sts = [], []
        for t in range(nb):
            def where(idx, t=t):
                return _where(t * m * n + idx, p.batch, m, n)
            out, st, nlo = engine.run(mac, ax[t * m * k:(t + 1) * m * k],
                                      bx[t * k * n:(t + 1) * k * n], strides, m, n, k,
                                      p.bias_x, stats, p.threads, where, flags)
            outs.append(out)
            sts.append(st)
    shape = p.batch + (m, n)
    codes, values, fmt, frac, width = _result_arrays(mac, np.concatenate(outs), nlo, shape)
    fl = np.concatenate([s_.pop("flags") for s_ in sts]).reshape(shape) if flags else None
    mst = None
    if stats:
        st = {key: np.concatenate([s_[key] for s_ in sts]) for key in sts[0]}
        l1 = None
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            l1 = _l1(bx, 1 if p.shared_b else nb, n, k)
            l1 = l1[0] if p.shared_b else l1.reshape(p.batch + (n,))
        mst = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, mst, fmt, frac, width, "general", fl)


def _per_batch(a_codes, b_codes, mac, bias, a_zp, b_zp, threads, stats, path, flags=False,
               bias_codes=None):
    """matmul with a per-batch bias / b zero point: one 2-D matmul per batch."""
    a = getattr(a_codes, "codes", a_codes)
    b = getattr(b_codes, "codes", b_codes)
    if hasattr(a_codes, "scales") or hasattr(b_codes, "scales"):
        raise ValueError("per-batch bias / zero points are not supported with block operands")
    a, b = np.asarray(a), np.asarray(b)
    n = b.shape[-1]
    shapes = [a.shape[:-2], b.shape[:-2]]
    if bias is not None and np.ndim(bias) >= 2:
        shapes.append(np.shape(bias)[:-1])
    if bias_codes is not None and np.ndim(bias_codes) >= 2:
        shapes.append(np.shape(bias_codes)[:-1])
    if np.ndim(b_zp) >= 2:
        shapes.append(np.shape(b_zp)[:-1])
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"batch dimensions of a_codes {shapes[0]}, b_codes {shapes[1]}, bias and "
                         f"b_zero_point {shapes[2:]} do not broadcast") from None
    parts = []
    for t in np.ndindex(*batch):
        at = np.broadcast_to(a, batch + a.shape[-2:])[t]
        bt = np.broadcast_to(b, batch + b.shape[-2:])[t]
        biast = None if bias is None else (
            np.broadcast_to(bias, batch + (n,))[t] if np.ndim(bias) >= 2 else bias)
        zbt = np.broadcast_to(b_zp, batch + (n,))[t] if np.ndim(b_zp) >= 2 else b_zp
        bct = None if bias_codes is None else (
            np.broadcast_to(bias_codes, batch + (n,))[t] if np.ndim(bias_codes) >= 2
            else bias_codes)
        parts.append(matmul(at, bt, mac, biast, a_zp, zbt, threads, stats, path, flags=flags,
                            bias_codes=bct))
    r0 = parts[0]

    def stack(get):
        return np.stack([get(p_) for p_ in parts]).reshape(batch + get(r0).shape)
    st = None
    if stats:
        s0 = r0.stats
        st = MacStats(
            stack(lambda p_: p_.stats.overflow_events_per_output),
            stack(lambda p_: p_.stats.psum_overflow_events_per_output),
            stack(lambda p_: p_.stats.max_abs_partial_per_output),
            None if s0.bits_needed_per_output is None else
            stack(lambda p_: p_.stats.bits_needed_per_output),
            s0.worst_case_bits, s0.a2q_bits,
            None if s0.a2q_l1_bits is None else stack(lambda p_: p_.stats.a2q_l1_bits))
    paths = {p_.path for p_ in parts}
    return MatmulResult(stack(lambda p_: p_.codes), stack(lambda p_: p_.values), st, r0.fmt,
                        r0.frac_bits, r0.width, paths.pop() if len(paths) == 1 else "mixed",
                        stack(lambda p_: p_.flags) if flags else None)


def _matmul_fast(fast: str, mac: MacUnit, p: _Problem, stats: bool, summary: bool = False):
    """A fast kernel over every batch; None when it declines (general path).
    ``summary``: the result's ``stats`` is :func:`matmul_summary`'s dict instead of a
    MacStats (taken off by matmul_summary)."""
    m, n = p.m, p.n
    za_rows = None if p.za is None else (np.tile(p.za, p.nb) if p.za.size > 1 else p.za)
    if p.shared_b:
        jobs = [(p.a_full, p.b, za_rows)]
    else:
        bb = p.b_batches
        jobs = [(p.a_full[t * m:(t + 1) * m], bb[t], p.za) for t in range(p.nb)]
    parts = []
    for a, b, za in jobs:
        got = _fast.run(fast, mac, a, b, p.bias, za, p.zb, stats, p.threads, p.blocks)
        if got is None:
            return None
        parts.append(got)
    vals = (parts[0][0] if len(parts) == 1 else
            np.concatenate([p_[0] for p_ in parts])).reshape(-1, n)
    st = None
    if stats:
        st = parts[0][1] if len(parts) == 1 else \
            {key: _joined([p_[1][key] for p_ in parts]) for key in parts[0][1]}
    bails = [p_[2] for p_ in parts]
    if any(bl is not None and bl.any() for bl in bails):
        bail = np.concatenate([bl.reshape(-1, n) for bl in bails])
        st = eager_stats(st) if stats else st
        _redo_rows(mac, p, np.nonzero(bail.any(axis=1))[0], vals, st, stats)
    shape = p.batch + (m, n)
    codes, values, fmt, frac, width = _fast.result_arrays(fast, mac, vals, shape)
    if summary:
        return MatmulResult(codes, values, _summary(mac, st, shape), fmt, frac, width, fast)
    mst = None
    if stats:
        l1 = None
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            l1 = st.pop("l1", None)  # the integer kernels sum |b| while packing it
            if l1 is None:
                bv = _fast._int_values(np.asarray(p.b), mac.b_fmt, p.zb, n, False)
                l1 = np.abs(bv).sum(axis=-2).astype(object)
            elif not p.shared_b:
                l1 = l1.reshape(p.batch + (n,))
            l1 = l1 if p.shared_b else np.broadcast_to(l1, p.batch + (n,))
        mst = _make_stats(mac, st, shape, l1, p.k)
    return MatmulResult(codes, values, mst, fmt, frac, width, fast)


def _joined(vals):
    """One stats entry of several batches: arrays concatenated; None (all zero) and
    ``max_abs_frac`` (the same for every batch) kept."""
    if vals[0] is None or not isinstance(vals[0], np.ndarray):
        return vals[0]
    return np.concatenate(vals)


def _summary(mac: MacUnit, st: dict, shape) -> dict:
    """The MacStats totals of :func:`matmul_summary` from a fast path's flat per-output
    arrays (the same reductions as MacStats' properties, on the arrays before their
    dtype conversions: integer sums and maxima do not depend on the width)."""
    ev = st["acc_events"].reshape(shape)
    mx = st["max_abs"]  # raw integers when max_abs_frac is given: scaled after the max
    mxa = float(mx.max()) if mx.size else 0.0
    bits = None
    if mac.has_integer_register:
        wd = st["width_needed"]
        bits = int(wd.max()) if wd.size else 1
    return dict(overflow_events_per_column=ev.sum(axis=-2, dtype=np.int64) if ev.ndim >= 2
                else ev.astype(np.int64, copy=False),
                max_abs_partial=math.ldexp(mxa, -st.get("max_abs_frac", 0)), bits_needed=bits)


def _redo_rows(mac: MacUnit, p: _Problem, rows, vals, st, stats: bool) -> None:
    """Rows a fast kernel gave back (Inf / NaN / possible overflow): the general
    engine recomputes them, in place in vals and st."""
    n = p.n
    bb = p.b if p.shared_b else p.b_batches
    for r in rows:
        t = r // p.m
        zr = None if p.za is None else (p.za[r % p.m] if p.za.size > 1 else p.za[0])
        sub = matmul(p.a_full[r:r + 1], p.b if p.shared_b else bb[t], mac, p.bias, zr,
                     0 if p.zb is None else p.zb, p.threads, stats, path="general")
        vals[r] = sub.values[0]
        if stats:
            for key, arr in (("acc_events", sub.stats.overflow_events_per_output),
                             ("psum_events", sub.stats.psum_overflow_events_per_output),
                             ("max_abs", sub.stats.max_abs_partial_per_output)):
                st[key][r * n:(r + 1) * n] = arr[0]
            if sub.stats.bits_needed_per_output is not None:
                st["width_needed"][r * n:(r + 1) * n] = sub.stats.bits_needed_per_output[0]


def _where(idx: int, batch, m: int, n: int) -> str:
    if idx < 0:
        return "an output"
    pos = np.unravel_index(idx, batch + (m, n))
    return "output [" + ", ".join(str(int(p)) for p in pos) + "]"


def dot(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
        threads=None, stats: bool = True, *, flags: bool = False,
        bias_codes=None) -> MatmulResult:
    """Dot products over the last axis: a_codes [..., K], b_codes [..., K]
    (broadcast) -> [...].  bias / bias_codes: None or a scalar; zero points:
    scalars; flags: as :func:`matmul` (``result.flags`` shaped [...]).  Always
    the general engine."""
    mac = _as_mac(mac)
    a_kind, a = _operand(a_codes, mac.a_fmt, "a_codes", 1)
    b_kind, b = _operand(b_codes, mac.b_fmt, "b_codes", 1)
    if a.ndim < 1 or b.ndim < 1:
        raise ValueError(f"a_codes and b_codes must have a last axis K; got shapes {a.shape}, "
                         f"{b.shape}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"a_codes has K={a.shape[-1]} but b_codes has K={b.shape[-1]}: the "
                         "reduction dimensions must match")
    for zp, name in ((a_zero_point, "a_zero_point"), (b_zero_point, "b_zero_point"),
                     (bias, "bias"), (bias_codes, "bias_codes")):
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
    bias_x = _bias_either(bias, bias_codes, mac, 1)
    if a_kind == "codes":
        _check_codes(a, mac.a_fmt, "a_codes")
    if b_kind == "codes":
        _check_codes(b, mac.b_fmt, "b_codes")
    ax = engine.unpack(a2, mac.a_fmt, za, 1, "a_codes") if a_kind == "codes" else engine.unpack_f64(a2)
    bx = engine.unpack(b2, mac.b_fmt, zb, 1, "b_codes") if b_kind == "codes" else engine.unpack_f64(b2)

    def where(idx):
        return _where(idx, shape, 1, 1) if shape else "the output"
    out, st, nlo = engine.run(mac, ax, bx, Strides(a_row=k, a_k=1, b_row=k, b_k=1, b_col=0),
                              nb, 1, k, bias_x, stats, nt, where, flags)
    codes, values, fmt, frac, width = _result_arrays(mac, out, nlo, shape)
    fl = st.pop("flags").reshape(shape) if flags else None
    if stats:
        l1 = None
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            l1 = _l1(bx, nb, 1, k).reshape(shape)
        st = _make_stats(mac, st, shape, l1, k)
    else:
        st = None
    return MatmulResult(codes, values, st, fmt, frac, width, "general", fl)


