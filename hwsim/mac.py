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

import numpy as np

from . import _mac_fast as _fast
from . import _mac_native as nat
from ._mac_config import (FMT_PRESETS, Chunked, FixedAccumulator, FloatAccumulator,
                          FusedMultiTermAccumulator, IntAccumulator, MacUnit, Sequential,
                          Tiles, Tree, fused_multi_term_preset, kulisch)
from ._mac_results import (MacStats, MatmulResult, _has_fixed, _l1,
                           _make_stats, _result_arrays, a2q_bits, a2q_l1_bits, worst_case_bits)
from ._mac_trace import MacTrace, trace
from ._mac_args import _as_mac, _bias_x, _check_codes, _operand, _zero_point
from ._mac_config import is_int
from .api import _threads
from .api import decode as _decode

__all__ = ["MacUnit", "IntAccumulator", "FixedAccumulator", "FloatAccumulator",
           "FusedMultiTermAccumulator", "Sequential", "Tree", "Chunked", "Tiles", "kulisch",
           "fused_multi_term_preset", "FMT_PRESETS", "matmul", "dot", "trace", "MatmulResult",
           "MacStats", "MacTrace", "worst_case_bits", "a2q_bits", "a2q_l1_bits"]


# ---------------------------------------------------------------------------
# the engine call
# ---------------------------------------------------------------------------
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
    over = np.nonzero(ev.reshape(-1))[0]  # only outputs that overflowed take the rerun
    st["width_needed"][over] = st2["width_needed"][over]
    del keep


def matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
           threads=None, stats: bool = True, path: str = "auto") -> MatmulResult:
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
        :mod:`hwsim._mac_fast`; ``result.path`` names it) or "general" (always
        the general engine).

    Returns
    -------
    MatmulResult with codes / values shaped [..., M, N].
    """
    if path not in ("auto", "general"):
        raise ValueError(f"path must be 'auto' or 'general', got {path!r}")
    if (bias is not None and np.ndim(bias) >= 2) or np.ndim(b_zero_point) >= 2:
        return _per_batch(a_codes, b_codes, mac, bias, a_zero_point, b_zero_point, threads,
                          stats, path)
    mac = _as_mac(mac)
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
    fast = _fast.plan(mac, stats) if path == "auto" else None
    if fast is not None:
        blocks = (a_codes if a_kind == "values" else None, b_codes if b_kind == "values" else None)
        res = _matmul_fast(fast, mac, a_full, b, bias, za, zb, stats, nt, batch, m, n, k, blocks)
        if res is not None:
            return res
    ax = nat.unpack(a_full, mac.a_fmt, za, max(k, 1), "a_codes") if a_kind == "codes" else \
        nat.unpack_f64(a_full)
    b_full = b if shared_b else np.broadcast_to(b, batch + (k, n)).reshape(nb * k, n)
    # columns of b contiguous ([batch, N, K]): every output streams its column
    b_cols = np.ascontiguousarray(np.swapaxes(b_full.reshape(1 if shared_b else nb, k, n), 1, 2))
    bx = nat.unpack(b_cols, mac.b_fmt, zb, max(k, 1), "b_codes") if b_kind == "codes" else \
        nat.unpack_f64(b_cols)
    outs, sts = [], []
    if shared_b:
        def where(idx):
            return _where(idx, batch, m, n)
        out, st, nlo = _run(mac, ax, k, 1, bx, 0, 1, k, nb * m, n, k, bias_x, stats, nt, where)
        outs, sts = [out], [st]
    else:
        for t in range(nb):
            def where(idx, t=t):
                return _where(t * m * n + idx, batch, m, n)
            out, st, nlo = _run(mac, ax[t * m * k:(t + 1) * m * k], k, 1,
                                bx[t * k * n:(t + 1) * k * n], 0, 1, k, m, n, k, bias_x,
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
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            l1 = _l1(bx, 1 if shared_b else nb, n, k)
            l1 = l1[0] if shared_b else l1.reshape(batch + (n,))
        st = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, st, fmt, frac, width, "general")


def _per_batch(a_codes, b_codes, mac, bias, a_zp, b_zp, threads, stats, path):
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
        parts.append(matmul(at, bt, mac, biast, a_zp, zbt, threads, stats, path))
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
                        r0.frac_bits, r0.width, paths.pop() if len(paths) == 1 else "mixed")


def _matmul_fast(fast, mac, a_full, b, bias, za, zb, stats, nt, batch, m, n, k,
                 blocks=(None, None)):
    """A fast kernel over every batch; None when it declines (general path)."""
    nb = a_full.shape[0] // m if m else 1
    shared_b = b.ndim == 2
    za_rows = None if za is None else (np.tile(za, nb) if za.size > 1 else za)
    parts = []
    if shared_b:
        got = _fast.run(fast, mac, a_full, b, bias, za_rows, zb, stats, nt, blocks)
        if got is None:
            return None
        parts.append(got)
    else:
        bb = np.broadcast_to(b, batch + (k, n)).reshape(nb, k, n)
        for t in range(nb):
            got = _fast.run(fast, mac, a_full[t * m:(t + 1) * m], bb[t], bias, za, zb, stats, nt,
                            blocks)
            if got is None:
                return None
            parts.append(got)
    vals = (parts[0][0] if len(parts) == 1 else
            np.concatenate([p_[0] for p_ in parts])).reshape(-1, n)
    st = None
    if stats:
        st = {key: np.concatenate([p_[1][key] for p_ in parts]) for key in parts[0][1]}
    bails = [p_[2] for p_ in parts]
    if any(bl is not None and bl.any() for bl in bails):
        bail = np.concatenate([bl.reshape(-1, n) for bl in bails])
        rows = np.nonzero(bail.any(axis=1))[0]
        bb = b if shared_b else np.broadcast_to(b, batch + (k, n)).reshape(nb, k, n)
        for r in rows:
            t = r // m
            zr = None if za is None else (za[r % m] if za.size > 1 else za[0])
            sub = matmul(a_full[r:r + 1], b if shared_b else bb[t], mac, bias, zr,
                         0 if zb is None else zb, nt, stats, path="general")
            vals[r] = sub.values[0]
            if stats:
                for key, arr in (("acc_events", sub.stats.overflow_events_per_output),
                                 ("psum_events", sub.stats.psum_overflow_events_per_output),
                                 ("max_abs", sub.stats.max_abs_partial_per_output)):
                    st[key][r * n:(r + 1) * n] = arr[0]
                if sub.stats.bits_needed_per_output is not None:
                    st["width_needed"][r * n:(r + 1) * n] = sub.stats.bits_needed_per_output[0]
    shape = batch + (m, n)
    acc = mac.accumulator
    if fast == "multi_seq":
        fmt = acc.out_fmt
        codes = vals.astype(fmt.code_dtype)
        values, frac, width = _decode(codes, fmt), 0, None
    elif isinstance(acc, IntAccumulator):
        w = acc.bits
        codes = (vals & ((1 << w) - 1)).astype(np.uint8 if w <= 8 else np.uint16 if w <= 16
                                               else np.uint32 if w <= 32 else np.uint64)
        values, fmt, frac, width = vals.astype(np.int64), None, mac.product_frac_bits, w
    else:
        fmt = acc.fmt
        v32 = vals if vals.dtype == np.float32 else vals.astype(np.float32)
        if fmt.bits == 32:
            codes = v32.view(np.uint32)
        elif fmt.exp_bits == 5:
            codes = v32.astype(np.float16).view(np.uint16)
        else:
            codes = (v32.view(np.uint32) >> 16).astype(np.uint16)
        frac, width = 0, None

        def values():  # exact: binary32 / binary16 / bfloat16 widen exactly
            return v32.astype(np.float64).reshape(shape)
    codes = codes.reshape(shape)
    if not callable(values):
        values = values.reshape(shape)
    mst = None
    if stats:
        l1 = None
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            bv = _fast._int_values(np.asarray(b), mac.b_fmt, zb, n, False)
            l1 = np.abs(bv).sum(axis=-2).astype(object)
            l1 = l1 if shared_b else np.broadcast_to(l1, batch + (n,))
        mst = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, mst, fmt, frac, width, fast)


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
    a_kind, a = _operand(a_codes, mac.a_fmt, "a_codes", 1)
    b_kind, b = _operand(b_codes, mac.b_fmt, "b_codes", 1)
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
    if a_kind == "codes":
        _check_codes(a, mac.a_fmt, "a_codes")
    if b_kind == "codes":
        _check_codes(b, mac.b_fmt, "b_codes")
    ax = nat.unpack(a2, mac.a_fmt, za, 1, "a_codes") if a_kind == "codes" else nat.unpack_f64(a2)
    bx = nat.unpack(b2, mac.b_fmt, zb, 1, "b_codes") if b_kind == "codes" else nat.unpack_f64(b2)

    def where(idx):
        return _where(idx, shape, 1, 1) if shape else "the output"
    out, st, nlo = _run(mac, ax, k, 1, bx, k, 1, 0, nb, 1, k, bias_x, stats, nt, where)
    codes, values, fmt, frac, width = _result_arrays(mac, out, nlo, shape)
    if stats:
        l1 = None
        if is_int(mac.a_fmt) and is_int(mac.b_fmt):
            l1 = _l1(bx, nb, 1, k).reshape(shape)
        st = _make_stats(mac, st, shape, l1, k)
    return MatmulResult(codes, values, st, fmt, frac, width, "general")


