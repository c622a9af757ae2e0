"""Bridge from MacUnit configurations to the C MAC engine (csrc/hw_mac_*.c).

Builds the ``hw_mac_spec`` struct, decodes operand codes into exact
``hw_xval`` arrays, and runs ``hw_mac_gemm`` over row blocks on the shared
thread pool (every output is computed independently, so the thread count
never changes a bit).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import _native
from ._mac_config import (Chunked, FixedAccumulator, FloatAccumulator,
                          FusedMultiTermAccumulator, IntAccumulator, MacUnit, Tree,
                          _range_bits)
from .errors import BackendError, NaNInputError, OverflowValueError, UnsupportedModeError
from .modes import Overflow, RoundingMode

ffi, lib = _native.ffi, _native.lib


def _struct_dtype(ctype: str, fields) -> np.dtype:
    return np.dtype(dict(names=[f for f, _ in fields], formats=[t for _, t in fields],
                         offsets=[ffi.offsetof(ctype, f) for f, _ in fields],
                         itemsize=ffi.sizeof(ctype)))


#: numpy view of ``hw_xval``
XVAL = _struct_dtype("hw_xval", [("sig", "<u8"), ("exp", "<i4"), ("aexp", "<i2"),
                                 ("sign", "u1"), ("cls", "u1")])
#: numpy view of ``hw_mac_step``
STEP = _struct_dtype("hw_mac_step", [
    ("kind", "<i4"), ("unit", "<i4"), ("k0", "<i8"), ("k1", "<i8"), ("in", XVAL),
    ("before", "<u8"), ("after", "<u8"), ("before_v", "<f8"), ("after_v", "<f8"),
    ("exact_v", "<f8"), ("flags", "<u4")])

STEP_KINDS = {lib.HW_STEP_MAC: "mac", lib.HW_STEP_NODE: "node", lib.HW_STEP_GROUP: "group",
              lib.HW_STEP_CHUNK: "chunk", lib.HW_STEP_PSUM_STORE: "psum_store",
              lib.HW_STEP_PSUM_LOAD: "psum_load", lib.HW_STEP_PSUM_ADD: "psum_add",
              lib.HW_STEP_BIAS: "bias"}
UNITS = ("accumulator", "outer_accumulator", "psum_adder", "psum", "product")

#: outputs x K below which one thread is used
PARALLEL_WORK = 1 << 15


def _ptr(ctype: str, arr):
    return ffi.cast(ctype, ffi.from_buffer(arr)) if arr is not None else ffi.NULL


# ---------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------
def _fill_acc(c, acc, mac: MacUnit, keep: list) -> None:
    if isinstance(acc, IntAccumulator):
        c.kind, c.width, c.frac_bits = lib.HW_ACC_FIXED, acc.bits, mac.product_frac_bits
        c.below_lsb, c.overflow = lib.HW_BELOW_TRUNCATE, int(Overflow.parse(acc.overflow))
    elif isinstance(acc, FixedAccumulator):
        c.kind, c.width, c.frac_bits = lib.HW_ACC_FIXED, acc.width, acc.frac_bits
        c.below_lsb = (lib.HW_BELOW_TRUNCATE if acc.below_lsb == "truncate"
                       else int(RoundingMode.parse(acc.below_lsb)))
        c.overflow = int(Overflow.parse(acc.overflow))
    elif isinstance(acc, FloatAccumulator):
        c.kind, c.fmt = lib.HW_ACC_FLOAT, _native.c_format(acc.fmt)
        c.rounding, c.overflow = int(RoundingMode.parse(acc.rounding)), int(Overflow.parse(acc.overflow))
        c.fused = int(acc.fused)
        keep.append(c.fmt)
    else:
        c.kind, c.fmt = lib.HW_ACC_MULTI, _native.c_format(acc.out_fmt)
        c.rounding, c.overflow = int(RoundingMode.parse(acc.rounding)), int(Overflow.parse(acc.overflow))
        c.fan_in, c.window_bits = acc.fan_in, acc.window_bits
        c.shifted_out = {"truncate": lib.HW_SHIFTED_TRUNCATE, "sticky": lib.HW_SHIFTED_STICKY,
                         "round": lib.HW_SHIFTED_ROUND}[acc.shifted_out]
        c.c_late = int(acc.c_alignment == "late")
        keep.append(c.fmt)


def _fill_num(c, fmt, rounding: str, overflow: str, keep: list) -> None:
    if fmt is None:
        c.kind = lib.HW_NUM_NONE
        return
    c.rounding, c.overflow = int(RoundingMode.parse(rounding)), int(Overflow.parse(overflow))
    if fmt.kind == "float":
        c.kind, c.fmt = lib.HW_NUM_FLOAT, _native.c_format(fmt)
        keep.append(c.fmt)
    else:
        c.kind, c.bits, c.frac_bits = lib.HW_NUM_FIXED, fmt.bits, fmt.frac_bits
        c.is_signed = int(fmt.signed)


def _unit_range(acc, mac: MacUnit):
    """(lsb exponent, exclusive msb exponent) of an accumulator's values."""
    if isinstance(acc, IntAccumulator):
        f = mac.product_frac_bits
        return -f, acc.bits - f
    if isinstance(acc, FixedAccumulator):
        return -acc.frac_bits, acc.int_bits
    if isinstance(acc, FloatAccumulator):
        return _range_bits(acc.fmt)
    return _range_bits(acc.out_fmt)


def _aexp_min(f) -> int:
    if f.kind == "float":
        return f.emin
    if f.kind in ("int", "fixed"):
        return -f.frac_bits
    return _range_bits(f)[0]  # block formats: values decoded exactly


def exp_span(mac: MacUnit) -> tuple[int, int]:
    """(lowest LSB exponent, exclusive top exponent) of any value of the unit."""
    a, b = mac.a_fmt, mac.b_fmt
    la, ha = _range_bits(a)
    lb, hb = _range_bits(b)
    los, his = [la + lb], [ha + hb]
    for f in (mac.product, mac.bias_format, mac.tiling.psum_format if mac.tiling else None):
        if f is not None:
            lo, hi = _range_bits(f)
            los.append(lo)
            his.append(hi)
    units = [mac.accumulator, mac.top_accumulator, mac.result_accumulator]
    for u in units:
        lo, hi = _unit_range(u, mac)
        los.append(lo)
        his.append(hi)
        if isinstance(u, FusedMultiTermAccumulator):
            pa = _aexp_min(mac.product) if mac.product is not None else _aexp_min(a) + _aexp_min(b)
            los.append(min(pa, u.out_fmt.emin) - u.window_bits - 1)
            his.append(max(his) + 3 + math.ceil(math.log2(u.fan_in + 1)))
    return min(los), max(his)


def _xs_params(mac: MacUnit) -> tuple[int, int]:
    lo, hi = exp_span(mac)
    fan = mac.order.fan_in if isinstance(mac.order, Tree) else 2
    hi += math.ceil(math.log2(fan + 2)) + 4
    nl = -(-(hi - lo + 2) // 64) + 1
    if nl > 96:
        raise UnsupportedModeError(
            f"the values of this MAC unit span {hi - lo} bits (from 2^{lo} to 2^{hi}); the "
            "exact-sum scratch holds at most 6000 bits")
    return lo, nl


def build_spec(mac: MacUnit, shadow_k: int | None = None):
    """(hw_mac_spec*, keepalive list).  shadow_k: widen every fixed unit so that
    nothing overflows over that many terms (measures the bits an overflow-free
    run needs)."""
    keep: list = []
    s = ffi.new("hw_mac_spec *")
    keep.append(s)
    shadow = shadow_k is not None
    if shadow:
        mac = _widened(mac, shadow_k)
    _fill_acc(s.acc, mac.accumulator, mac, keep)
    _fill_num(s.product, mac.product, mac.product_rounding, mac.product_overflow, keep)
    s.order = lib.HW_ORDER_SEQUENTIAL
    if isinstance(mac.order, Tree):
        s.order, s.order_param = lib.HW_ORDER_TREE, mac.order.fan_in
    elif isinstance(mac.order, Chunked):
        s.order, s.order_param = lib.HW_ORDER_CHUNKED, mac.order.chunk
        _fill_acc(s.outer, mac.order.outer_accumulator, mac, keep)
    s.tiles = lib.HW_TILES_NONE
    if mac.tiling is not None:
        t = mac.tiling
        s.tiles = lib.HW_TILES_RELOAD if t.mode == "reload" else lib.HW_TILES_SEPARATE
        s.tile = t.T
        # the shadow keeps a psum that wraps or saturates as it is (the psum
        # buffer is not resized); "error" and "special" (Inf, which no int/fixed
        # register can take) saturate: the statistic must not stop the run
        ov = t.psum_overflow
        if shadow and ov not in ("wrap", "saturate"):
            ov = "saturate"
        _fill_num(s.psum, t.psum_format, t.psum_rounding, ov, keep)
        if t.mode == "separate":
            _fill_acc(s.adder, mac.psum_adder, mac, keep)
    s.xs_lo, s.xs_limbs = _xs_params(mac)
    return s, keep


def _widened(mac: MacUnit, k: int) -> MacUnit:
    """The same unit with every int/fixed accumulator wide enough never to
    overflow over k terms."""
    import dataclasses

    lo, hi = exp_span(mac)
    top = hi + math.ceil(math.log2(k + 2)) + 3

    def widen(acc):
        if isinstance(acc, IntAccumulator):
            return _fixed_wide(top, mac.product_frac_bits, "truncate")
        if isinstance(acc, FixedAccumulator):
            return _fixed_wide(top, acc.frac_bits, acc.below_lsb)
        return acc

    order = mac.order
    if isinstance(order, Chunked):
        order = Chunked(order.chunk, widen(order.outer_accumulator))
    tiling = mac.tiling
    if tiling is not None and tiling.mode == "separate":
        tiling = dataclasses.replace(tiling, psum_adder=widen(mac.psum_adder))
    return dataclasses.replace(mac, accumulator=widen(mac.accumulator), order=order,
                               tiling=tiling)


def _fixed_wide(top: int, frac: int, below: str) -> FixedAccumulator:
    int_bits = max(2, min(top + 1, 4160 - frac))
    if int_bits + frac < 2:
        int_bits = 2 - frac
    return FixedAccumulator(int_bits, frac, below, "wrap")


def out_limbs(acc) -> int:
    if isinstance(acc, FixedAccumulator) and acc.width > 64:
        return (acc.width + 2 + 63) // 64
    return 1


# ---------------------------------------------------------------------------
# operands
# ---------------------------------------------------------------------------
def unpack(codes: np.ndarray, fmt, zp=None, zp_div: int = 1, what: str = "codes") -> np.ndarray:
    """codes (any shape, unsigned or non-negative ints) -> flat hw_xval array."""
    c = np.ascontiguousarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"{what} must be an integer array of codes, got dtype {c.dtype}")
    if c.dtype.kind == "i":
        if c.size and int(c.min()) < 0:
            raise ValueError(f"{what}: codes must be in [0, 2**{fmt.bits}), got a negative code")
        c = c.astype(np.uint64)
    flat = c.reshape(-1)
    out = np.empty(flat.size, dtype=XVAL)
    res = ffi.new("hw_result *")
    pc = ffi.cast("void *", ffi.from_buffer(flat))
    if fmt.kind == "float":
        rc = lib.hw_mac_unpack_float(_ptr("hw_xval *", out), pc, flat.dtype.itemsize, flat.size,
                                     _native.c_format(fmt), res)
    else:
        zpa = None if zp is None else np.ascontiguousarray(zp, dtype=np.int64).reshape(-1)
        rc = lib.hw_mac_unpack_int(_ptr("hw_xval *", out), pc, flat.dtype.itemsize, flat.size,
                                   fmt.bits, fmt.frac_bits, int(fmt.signed),
                                   _ptr("int64_t *", zpa), zp_div, 1 if zpa is None else zpa.size,
                                   res)
    if rc == lib.HW_E_CODE:
        idx = np.unravel_index(res.err_index, c.shape) if c.ndim else ()
        raise ValueError(f"{what}[{', '.join(map(str, idx))}] = {int(flat[res.err_index])} is not "
                         f"a code of {fmt.name} (codes are < 2**{fmt.bits})")
    if rc != lib.HW_OK:
        raise BackendError(f"unpacking {what} failed with status {rc}")
    return out


def unpack_f64(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    out = np.empty(x.size, dtype=XVAL)
    res = ffi.new("hw_result *")
    lib.hw_mac_unpack_f64(_ptr("hw_xval *", out), ffi.cast("double *", ffi.from_buffer(x)),
                          x.size, res)
    return out


def unpack_raw(v: np.ndarray, frac_bits: int) -> np.ndarray:
    v = np.ascontiguousarray(v, dtype=np.int64).reshape(-1)
    out = np.empty(v.size, dtype=XVAL)
    res = ffi.new("hw_result *")
    rc = lib.hw_mac_unpack_int(_ptr("hw_xval *", out), ffi.cast("void *", ffi.from_buffer(v)), 8,
                               v.size, 64, frac_bits, 1, ffi.NULL, 1, 1, res)
    if rc != lib.HW_OK:
        raise BackendError(f"unpacking raw values failed with status {rc}")
    return out


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
class GemmError(Exception):
    """Carries an engine error to the caller that knows the shapes."""

    def __init__(self, rc, index, k, unit):
        super().__init__(rc, index, k, unit)
        self.rc, self.index, self.k, self.unit = rc, index, k, unit


def gemm(spec, ax: np.ndarray, a_rs: int, a_ks: int, bx: np.ndarray, b_is: int, b_ks: int,
         b_cs: int, m: int, n: int, k: int, bias_x, nlo: int, want_stats: bool,
         threads: int, trace_cap: int = 0, rows=None):
    """Run hw_mac_gemm; returns (out [m*n*nlo] uint64, stats dict, trace).

    rows: None (all rows, split over threads) or a list of (r0, r1) row
    ranges to compute (the others stay zero).  trace: the step array, or the
    number of steps when trace_cap was too small."""
    out = np.zeros(m * n * nlo, dtype=np.uint64)
    st = None
    if want_stats:
        st = dict(acc_events=np.zeros(m * n, np.int64), psum_events=np.zeros(m * n, np.int64),
                  max_abs=np.zeros(m * n, np.float64), width_needed=np.zeros(m * n, np.int32))
    trace = np.zeros(max(trace_cap, 0), dtype=STEP) if trace_cap else None
    pa, pb = _ptr("hw_xval *", ax), _ptr("hw_xval *", bx)
    pbias = _ptr("hw_xval *", bias_x)

    def call(r0: int, r1: int):
        res = ffi.new("hw_mac_result *")
        cst = ffi.NULL
        if st is not None:
            cst = ffi.new("hw_mac_stats *")
            cst.acc_events = _ptr("int64_t *", st["acc_events"]) + r0 * n
            cst.psum_events = _ptr("int64_t *", st["psum_events"]) + r0 * n
            cst.max_abs = _ptr("double *", st["max_abs"]) + r0 * n
            cst.width_needed = _ptr("int32_t *", st["width_needed"]) + r0 * n
        tl = ffi.new("int64_t *")
        ptr = ffi.NULL if trace is None else _ptr("hw_mac_step *", trace)
        rc = lib.hw_mac_gemm(spec, pa + r0 * a_rs if ax.size else pa, a_rs, a_ks,
                             pb + r0 * b_is if bx.size else pb, b_is, b_ks, b_cs,
                             r1 - r0, n, k, pbias, _ptr("uint64_t *", out) + r0 * n * nlo, nlo,
                             cst, ptr, trace_cap, tl, res)
        err = None
        if rc != lib.HW_OK:
            err = (rc, (res.err_index + r0 * n) if res.err_index >= 0 else -1, res.err_k,
                   res.err_unit)
        return err, tl[0]

    work = m * n * max(k, 1)
    if rows is None:
        if threads <= 1 or m < 2 or work < PARALLEL_WORK or trace is not None:
            rows = [(0, m)]
        else:
            nchunk = min(m, threads * 4)
            bounds = np.linspace(0, m, nchunk + 1).astype(int)
            rows = [(int(r0), int(r1)) for r0, r1 in zip(bounds[:-1], bounds[1:]) if r1 > r0]
    if len(rows) == 1 or threads <= 1:
        results = [call(r0, r1) for r0, r1 in rows]
    else:
        results = list(_native._pool().map(lambda r: call(*r), rows))
    errs = [e for e, _ in results if e is not None]
    if errs:
        rc, idx, kk, unit = min(errs, key=lambda e: (e[1] < 0, e[1]))
        raise GemmError(rc, idx, kk, unit)
    tlen = results[0][1]
    if trace is not None:
        trace = trace[:min(tlen, trace_cap)] if tlen <= trace_cap else tlen
    return out, st, trace


def raise_gemm_error(e: GemmError, mac: MacUnit, where: str) -> None:
    unit = UNITS[e.unit] if 0 <= e.unit < len(UNITS) else "unit"
    pname = {"accumulator": "accumulator", "outer_accumulator": "order.outer_accumulator",
             "psum_adder": "tiling.psum_adder", "psum": "tiling.psum_format",
             "product": "product"}.get(unit, unit)
    if e.rc == lib.HW_E_OVERFLOW:
        raise OverflowValueError(
            f"{pname} overflowed at {where}, term k={e.k} (its overflow policy is 'error')")
    if e.rc == lib.HW_E_NAN:
        raise NaNInputError(
            f"{pname} cannot hold the NaN/Inf that reached it at {where}, term k={e.k} "
            "(a NaN/Inf operand, or a NaN into a format without NaN)")
    if e.rc == lib.HW_E_SIZE and unit == "product":
        raise UnsupportedModeError(f"product significand beyond 64 bits at {where}, term k={e.k}")
    raise BackendError(f"MAC engine failed with status {e.rc} at {where} (unit {unit})")


@lru_cache(maxsize=256)
def cached_spec(mac: MacUnit, shadow_k: int | None = None):
    return build_spec(mac, shadow_k)
