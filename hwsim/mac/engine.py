"""Bridge from MacUnit configurations to the general C MAC engine (csrc/hw_mac_*.c).

Builds the ``hw_mac_spec`` struct from the unit (each accumulator supplies its
own part, :meth:`~hwsim.mac.accumulators.AccumulatorBase.c_spec`), decodes
operand codes into exact ``hw_xval`` arrays and runs ``hw_mac_gemm`` over row
ranges (:mod:`hwsim.mac.threads`; no thread count changes a bit).
"""
from __future__ import annotations

import dataclasses
import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .. import native as _native
from ..errors import BackendError, NaNInputError, OverflowValueError, UnsupportedModeError
from ..formats import FloatFormat
from ..modes import Overflow, RoundingMode
from .accumulators import range_bits
from .config import Chunked, MacUnit, Tree
from .threads import ENGINE_PARALLEL_WORK, ENGINE_RANGES_PER_THREAD, row_ranges, run_ranges

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

def _ptr(ctype: str, arr):
    return ffi.cast(ctype, ffi.from_buffer(arr)) if arr is not None else ffi.NULL


# ---------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------
def _fill_acc(c, acc, mac: MacUnit, keep: list) -> None:
    """Set a ``hw_acc_spec`` from the accumulator's own description of it."""
    for name, v in acc.c_spec(mac).items():
        if isinstance(v, str):
            v = getattr(lib, v)
        elif isinstance(v, FloatFormat):
            v = _native.c_format(v)
            keep.append(v)
        setattr(c, name, v)


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


def exp_span(mac: MacUnit) -> tuple[int, int]:
    """(lowest LSB exponent, exclusive top exponent) of any value of the unit."""
    la, ha = range_bits(mac.a_fmt)
    lb, hb = range_bits(mac.b_fmt)
    lo, hi = la + lb, ha + hb
    for f in (mac.product, mac.bias_format, mac.tiling.psum_format if mac.tiling else None):
        if f is not None:
            flo, fhi = range_bits(f)
            lo, hi = min(lo, flo), max(hi, fhi)
    for u in (mac.accumulator, mac.top_accumulator, mac.result_accumulator):
        ulo, uhi = u.value_range(mac)
        lo, hi = u.exp_span(mac, min(lo, ulo), max(hi, uhi))
    return lo, hi


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
    s.nan_rule = mac.nan.rule
    return s, keep


def _widened(mac: MacUnit, k: int) -> MacUnit:
    """The same unit with every int/fixed accumulator wide enough never to
    overflow over k terms."""
    _, hi = exp_span(mac)
    top = hi + math.ceil(math.log2(k + 2)) + 3
    order = mac.order
    if isinstance(order, Chunked):
        order = Chunked(order.chunk, order.outer_accumulator.widened(top, mac))
    tiling = mac.tiling
    if tiling is not None and tiling.mode == "separate":
        tiling = dataclasses.replace(tiling, psum_adder=mac.psum_adder.widened(top, mac))
    return dataclasses.replace(mac, accumulator=mac.accumulator.widened(top, mac), order=order,
                               tiling=tiling)


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


class Strides(NamedTuple):
    """Strides (in hw_xval elements) of the operands of hw_mac_gemm."""

    a_row: int  #: between rows i of a
    a_k: int    #: between terms k of a row of a
    b_row: int  #: of b between output rows i (0: one b for every row)
    b_k: int    #: between terms k of a column of b
    b_col: int  #: between columns j of b


def gemm(spec, ax: np.ndarray, bx: np.ndarray, strides: Strides, m: int, n: int, k: int,
         bias_x, nlo: int, want_stats: bool,
         threads: int, trace_cap: int = 0, rows=None, want_flags: bool = False):
    """Run hw_mac_gemm; returns (out [m*n*nlo] uint64, stats dict, trace).

    rows: None (all rows, split over threads) or a list of (r0, r1) row
    ranges to compute (the others stay zero).  trace: the step array, or the
    number of steps when trace_cap was too small.  want_flags: the stats dict
    (then never None) also has "flags", uint8 [m*n]."""
    out = np.zeros(m * n * nlo, dtype=np.uint64)
    st = None
    if want_stats:
        st = dict(acc_events=np.zeros(m * n, np.int64), psum_events=np.zeros(m * n, np.int64),
                  max_abs=np.zeros(m * n, np.float64), width_needed=np.zeros(m * n, np.int32))
    if want_flags:
        st = dict(st or {}, flags=np.zeros(m * n, np.uint8))
    trace = np.zeros(max(trace_cap, 0), dtype=STEP) if trace_cap else None
    pa, pb = _ptr("hw_xval *", ax), _ptr("hw_xval *", bx)
    pbias = _ptr("hw_xval *", bias_x)

    def call(r0: int, r1: int):
        res = ffi.new("hw_mac_result *")
        cst = ffi.NULL
        if st is not None:
            cst = ffi.new("hw_mac_stats *")
            for key, ctype in (("acc_events", "int64_t *"), ("psum_events", "int64_t *"),
                               ("max_abs", "double *"), ("width_needed", "int32_t *"),
                               ("flags", "uint8_t *")):
                if key in st:
                    setattr(cst, key, _ptr(ctype, st[key]) + r0 * n)
        tl = ffi.new("int64_t *")
        ptr = ffi.NULL if trace is None else _ptr("hw_mac_step *", trace)
        rc = lib.hw_mac_gemm(spec, pa + r0 * strides.a_row if ax.size else pa, strides.a_row,
                             strides.a_k, pb + r0 * strides.b_row if bx.size else pb,
                             strides.b_row, strides.b_k, strides.b_col,
                             r1 - r0, n, k, pbias, _ptr("uint64_t *", out) + r0 * n * nlo, nlo,
                             cst, ptr, trace_cap, tl, res)
        err = None
        if rc != lib.HW_OK:
            err = (rc, (res.err_index + r0 * n) if res.err_index >= 0 else -1, res.err_k,
                   res.err_unit)
        return err, tl[0]

    if trace is not None:
        threads = 1
    if rows is None:
        rows = row_ranges(m, threads, m * n * max(k, 1), ENGINE_PARALLEL_WORK,
                          ENGINE_RANGES_PER_THREAD)
    results = run_ranges(call, rows, threads)
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


# ---------------------------------------------------------------------------
# a whole matmul
# ---------------------------------------------------------------------------
def run(mac: MacUnit, ax, bx, strides: Strides, m: int, n: int, k: int, bias_x,
        want_stats: bool, threads: int, where_fn, want_flags: bool = False):
    """General C engine over all outputs; returns (out, stats dict, nlo)
    (stats dict: see :func:`gemm`)."""
    s, keep = run_spec(mac, bias_x is not None)
    nlo = mac.result_accumulator.out_limbs()
    try:
        out, st, _ = gemm(s, ax, bx, strides, m, n, k, bias_x, nlo, want_stats, threads,
                          want_flags=want_flags)
    except GemmError as e:
        raise_gemm_error(e, mac, where_fn(e.index))
    if want_stats and mac.has_integer_register:
        _shadow_widths(mac, st, s.bias, ax, bx, strides, m, n, k, bias_x, threads)
    del keep
    return out, st, nlo


def run_spec(mac: MacUnit, has_bias: bool):
    """(hw_mac_spec* of the unit with its bias mode set, keepalive)."""
    spec, keep = cached_spec(mac)
    s = ffi.new("hw_mac_spec *", spec[0])
    s.bias = lib.HW_BIAS_NONE if not has_bias else (
        lib.HW_BIAS_INIT if mac.bias == "init" else lib.HW_BIAS_FINAL)
    return s, keep


def _shadow_widths(mac, st, bias_mode, ax, bx, strides, m, n, k, bias_x, threads):
    """bits_needed of outputs that overflowed: rerun their rows overflow-free."""
    ev = st["acc_events"].reshape(m, n)
    rows = np.nonzero(ev.any(axis=1))[0]
    if not rows.size:
        return
    wide = _widened(mac, k)
    sh, keep = build_spec(mac, shadow_k=k)
    sh.bias = bias_mode
    ranges = [(int(r), int(r) + 1) for r in rows]
    _, st2, _ = gemm(sh, ax, bx, strides, m, n, k, bias_x,
                     wide.result_accumulator.out_limbs(), True, threads, rows=ranges)
    over = np.nonzero(ev.reshape(-1))[0]  # only outputs that overflowed take the rerun
    st["width_needed"][over] = st2["width_needed"][over]
    del keep


@lru_cache(maxsize=256)
def cached_spec(mac: MacUnit, shadow_k: int | None = None):
    return build_spec(mac, shadow_k)
