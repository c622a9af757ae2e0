"""Fast paths of :func:`hwsim.mac.matmul`, used only where provably identical.

Each path (``f32_seq``, ``narrow_seq``, ``int_wrap``, ``int_steps``,
``int_dot``, ``multi_seq``) states the conditions under which its kernel computes exactly
what the general engine (``hw_mac_gemm``) computes; :func:`plan` checks them
on the formats and :func:`run` on the data, and otherwise declines (returns
None) so that the general engine runs.  The conditions and why they suffice:
docs/architecture.md, "MAC fast paths".
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import native as _native
from ..codec import decode as _decode
from ..formats import FloatFormat
from . import engine, fastdot
from .accumulators import BLOCK_KINDS, is_int, range_bits, sig_bits
from .config import MacUnit, Sequential, Tree
from .fastcheck import _codes_lo_hi, _data_checked, _exact_f32, _short_data, _values_f32_exact
from .packcache import packed_b
from .results import register_code_dtype
from .threads import FAST_PARALLEL_WORK, FAST_RANGES_PER_THREAD, row_ranges, run_ranges

ffi, lib = _native.ffi, _native.lib
F32 = FloatFormat(8, 23)
F16 = FloatFormat(5, 10)
BF16 = FloatFormat(8, 7)
PW = 16


def _ptr(ctype, arr):
    return ffi.NULL if arr is None else ffi.cast(ctype, ffi.from_buffer(arr))


def _range(f):
    """(lsb exponent, exclusive msb exponent, significand bits) of a scalar operand format."""
    return (*range_bits(f), sig_bits(f))


def products_exact_in_f32(a, b) -> bool:
    """Every product of a_fmt x b_fmt values is exactly a binary32 value."""
    if a.kind != "float" or b.kind != "float":
        return False
    la, ha, pa = _range(a)
    lb, hb, pb = _range(b)
    return pa + pb <= 24 and la + lb >= -149 and ha + hb <= 128


def products_exact_in(a, b, fmt) -> bool:
    """Every product is exactly representable in the float format fmt."""
    la, ha, pa = _range(a)
    lb, hb, pb = _range(b)
    return (pa + pb <= fmt.precision and la + lb >= fmt.emin - fmt.man_bits
            and 2.0 ** (ha + hb) <= fmt.max_finite)


def short_products(a, b, fmt) -> bool:
    """Every product has at most fmt.precision significant bits and lies on
    fmt's subnormal grid (then binary32 sums rounded again into fmt are exact
    rne: double rounding is innocuous for 24 >= 2p + 2)."""
    la, _, pa = _range(a)
    lb, _, pb = _range(b)
    return pa + pb <= fmt.precision and la + lb >= fmt.emin - fmt.man_bits


def _pack_b(b: np.ndarray, dtype) -> np.ndarray:
    """[K, N] -> panels [ceil(N/16), K, 16], zero padded (the layout of the
    integer kernels' b)."""
    k, n = b.shape
    npan = -(-n // PW)
    out = np.zeros((npan, k, PW), dtype=dtype)
    full = n // PW
    if full:
        out[:full] = b[:, :full * PW].reshape(k, full, PW).transpose(1, 0, 2)
    if n % PW:
        out[full, :, :n % PW] = b[:, full * PW:]
    return out


def _parallel(fn, m: int, threads: int, work: int, unit: int = 1):
    """fn(r0, r1) over row ranges of [0, m) (:mod:`hwsim.mac.threads`)."""
    return run_ranges(fn, row_ranges(m, threads, work, FAST_PARALLEL_WORK,
                                     FAST_RANGES_PER_THREAD, unit), threads)


@lru_cache(maxsize=256)
def plan(mac: MacUnit, stats: bool) -> str | None:
    """The fast path that may serve this unit (data checks come later), or None."""
    acc = mac.accumulator
    if mac.tiling is not None or mac.product is not None:
        return None
    if acc.kind == "float" and isinstance(mac.order, Sequential):
        block = mac.a_fmt.kind in BLOCK_KINDS or mac.b_fmt.kind in BLOCK_KINDS
        if block and acc.fmt == F32 and acc.rounding in ("rne", "rtz") and \
                acc.overflow == "special" and sig_bits(mac.a_fmt) + sig_bits(mac.b_fmt) <= 24:
            return "f32_seq"  # products checked on the data (scales)
        exact = products_exact_in_f32(mac.a_fmt, mac.b_fmt)
        if acc.overflow != "special" or not (exact or _data_checked(mac.a_fmt, mac.b_fmt)):
            return None
        if acc.fmt == F32 and acc.rounding in ("rne", "rtz"):
            return "f32_seq"
        if acc.fmt in (F16, BF16) and acc.rounding in ("rne", "rtz"):
            if acc.fused or (exact and products_exact_in(mac.a_fmt, mac.b_fmt, acc.fmt)):
                return "narrow_seq"
        return None
    if acc.kind == "multi" and isinstance(mac.order, Sequential):
        fa, fb = mac.a_fmt, mac.b_fmt
        if fa.kind == "float" and fb.kind == "float" and fa.bits <= 16 and fb.bits <= 16 and \
                acc.window_bits + 3 + (acc.fan_in + 1).bit_length() <= 53:
            return "multi_seq"
        return None
    if acc.kind == "int" and is_int(mac.a_fmt) and is_int(mac.b_fmt):
        if not stats and acc.overflow == "wrap" and acc.bits <= 32 and \
                isinstance(mac.order, (Sequential, Tree)) and \
                mac.a_fmt.bits <= 15 and mac.b_fmt.bits <= 15:
            return "int_wrap"
        # int_wrap: a sum modulo 2^bits does not depend on fan_in's grouping;
        # int_steps checks and counts per product: fan_in=1 only
        steps = isinstance(mac.order, Sequential) and acc.bits <= 32 and acc.overflow != "error"
        if acc.fan_in > 1:  # groups of products per add: the dot-product kernels (fastdot)
            ok = steps and acc.fan_in % 4 == 0 and mac.a_fmt.bits <= 8 and mac.b_fmt.bits <= 8
            return "int_dot" if ok else None
        if steps and mac.a_fmt.bits <= 16 and mac.b_fmt.bits <= 16:
            return "int_steps"
    return None


def run(path: str, mac: MacUnit, a: np.ndarray, b: np.ndarray, bias, za, zb, stats: bool,
        threads: int, blocks=(None, None)):
    """Run a fast path on 2-D code arrays a [M, K], b [K, N].  Returns
    (out values, stats dict or None, bail mask or None) or None (declined)."""
    m, k = a.shape
    n = b.shape[1]
    if k == 0 or m == 0 or n == 0:
        return None
    # code operands come checked (api._problem: _check_codes raises on a bad code)
    if (a.dtype.kind == "f") != (b.dtype.kind == "f"):  # one block operand, one scalar
        return None
    if path in ("f32_seq", "narrow_seq"):
        return _run_float(path, mac, a, b, bias, stats, threads, blocks)
    if path == "multi_seq":
        return _run_multi(mac, a, b, bias, stats, threads)
    return _run_int(path, mac, a, b, bias, za, zb, stats, threads)


def _float_bias(bias, n):
    if bias is None:
        return None
    v = np.ascontiguousarray(np.broadcast_to(np.asarray(bias, dtype=np.float64), (n,)))
    if not np.isfinite(v).all():
        return False
    pad = np.zeros(-(-n // (4 * PW)) * 4 * PW, dtype=np.float32)  # kernels read 64-col groups
    pad[:n] = v.astype(np.float32)
    return pad


@lru_cache(maxsize=64)
def _lut_f32(fmt) -> np.ndarray:
    """Decode table in binary32 (codes beyond its range, of ``_data_checked`` formats, are
    never read: the data checks exclude them)."""
    with np.errstate(over="ignore"):
        return _decode(np.arange(1 << fmt.bits, dtype=np.uint32), fmt).astype(np.float32)


@lru_cache(maxsize=64)
def _arith_dec(fmt):
    """The arithmetic decoder of a float format of <= 16 bits for the float
    kernels (hwsim.h, ``dec``), or None.  Accepted only after comparing it,
    code by code, with the decode table: every finite value bit for bit, and
    exactly the non-finite codes flagged."""
    if fmt.kind != "float" or fmt.bits > 16 or fmt.exp_bits > 8 or fmt.man_bits > 23:
        return None
    mb, sgn = fmt.exp_bits + fmt.man_bits, int(fmt.signed)
    e = 127 - fmt.bias
    if not -126 <= e <= 127:
        return None
    lut = _lut_f32(fmt)
    fin = np.isfinite(lut)
    pos_bad = ~fin[:1 << mb]
    t = int(np.argmax(pos_bad)) if pos_bad.any() else 1 << mb
    if pos_bad[:t].any() or not pos_bad[t:].all():
        return None
    nan_sign = int(bool(sgn) and not fin[1 << mb])
    dec = np.array([23 - fmt.man_bits, e, mb, sgn, t, nan_sign], dtype=np.int32)
    codes = np.arange(1 << fmt.bits, dtype=np.uint32)
    mag = codes & np.uint32((1 << mb) - 1)
    with np.errstate(all="ignore"):  # NaN / Inf patterns: compared as flagged below
        v = (mag << np.uint32(dec[0])).view(np.float32) * np.float32(2.0 ** e)
    bits = v.view(np.uint32) | (((codes >> np.uint32(mb)) & np.uint32(sgn)) << np.uint32(31))
    flagged = (mag >= t) | ((codes == (1 << mb)) & bool(nan_sign))
    if not np.array_equal(flagged, ~fin) or \
            not np.array_equal(bits[fin], lut.view(np.uint32)[fin]):
        return None
    return dec


@lru_cache(maxsize=64)
def _lut_i32(fmt) -> np.ndarray:
    v = np.arange(1 << fmt.bits, dtype=np.int64)
    if fmt.signed:
        v = np.where(v >= 1 << (fmt.bits - 1), v - (1 << fmt.bits), v)
    return v.astype(np.int32)


def _codes_c(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x)
    if x.dtype.itemsize not in (1, 2, 4, 8) or x.dtype.kind not in "ui":
        x = x.astype(np.uint64)
    return x


def _lut_f32_call(codes, lut, rows, cols, out, panel_rows=0):
    nf = ffi.new("int64_t *")
    rc = lib.hw_mac_lut_f32(_ptr("void *", codes), codes.dtype.itemsize, rows, cols,
                            _ptr("float *", lut), lut.size, _ptr("float *", out), panel_rows, nf)
    return rc, nf[0]



def _float_operand(codes: np.ndarray, fmt):
    """(pointer, code size, lut, lut size, dec) of a code operand of the float kernels."""
    lut = _lut_f32(fmt)
    dec = _arith_dec(fmt) if codes.dtype.itemsize <= 2 else None
    return (_ptr("char *", codes), codes.dtype.itemsize, _ptr("float *", lut), lut.size,
            _ptr("int32_t *", dec))


def _float_op(x: np.ndarray, fmt, values: bool):
    """The kernel operand tuple of float values (block operands) or codes."""
    if values:
        return (_ptr("char *", x), 0, ffi.NULL, 1, ffi.NULL)
    return _float_operand(x, fmt)


def _float_kernel(narrow, opa, opb, bvecs, shape, modes, threads, stats, events=False):
    """One call of f32_seq / narrow_seq over shape (m, n, k): (out, max |register| or
    None, bail or None, events or None), or None (a NaN / Inf operand, or a CPU /
    environment without the kernel)."""
    m, n, k = shape
    fmt_id, rnd, short = modes
    out = np.empty((m, n), dtype=np.float32)
    mx = np.empty((m, n), dtype=np.float32) if stats else None
    bail = np.zeros((m, n), dtype=np.uint8) if narrow else None
    ev = np.zeros((m, n), dtype=np.int32) if events else None
    flag = ffi.new("int64_t *")
    ptrs = (_ptr("float *", bvecs[0]), _ptr("float *", bvecs[1]), _ptr("float *", out),
            _ptr("float *", mx))
    if not narrow:
        rc = lib.hw_mac_f32_seq(*opa, *opb, *ptrs, m, n, k, rnd, threads, flag)
    else:
        rc = lib.hw_mac_narrow_seq(*opa, *opb, *ptrs, _ptr("int32_t *", ev),
                                   _ptr("uint8_t *", bail), m, n, k, fmt_id, rnd, short,
                                   threads, flag)
    if rc != lib.HW_OK or flag[0]:
        return None
    return out, mx, bail, ev


def _run_float(path, mac, a, b, bias, stats, threads, blocks=(None, None)):
    m, k = a.shape
    n = b.shape[1]
    values = a.dtype.kind == "f"
    lohi = None  # (min nonzero |a|, max |a|, the same of b) where the data were checked
    if values:  # block-format operands, decoded exactly
        if not _values_f32_exact(a, b, sig_bits(mac.a_fmt), sig_bits(mac.b_fmt), *blocks):
            return None
        a = np.ascontiguousarray(a, dtype=np.float32)
        b = np.ascontiguousarray(b, dtype=np.float32)
    else:
        if mac.a_fmt.bits > 16 or mac.b_fmt.bits > 16:
            return None
        a, b = _codes_c(a), _codes_c(b)
        if not products_exact_in_f32(mac.a_fmt, mac.b_fmt):  # plan: _data_checked formats
            lohi = (*_codes_lo_hi(a, mac.a_fmt), *_codes_lo_hi(b, mac.b_fmt))
            if not _exact_f32(*lohi, sig_bits(mac.a_fmt), sig_bits(mac.b_fmt)):
                return None
    opb = _float_op(b, mac.b_fmt, values)
    bvec = _float_bias(bias, n)
    if bvec is False:
        return None
    bvecs = (bvec if (bvec is not None and mac.bias == "init") else None,
             bvec if (bvec is not None and mac.bias == "final") else None)
    narrow = path == "narrow_seq"
    acc = mac.accumulator
    modes = (0 if acc.fmt == F16 else 1, lib.HW_ROUND_RNE if acc.rounding == "rne" else
             lib.HW_ROUND_RTZ,
             int(narrow and (short_products(mac.a_fmt, mac.b_fmt, acc.fmt) or (
                 lohi is not None and _short_data(lohi, sig_bits(mac.a_fmt),
                                                  sig_bits(mac.b_fmt), acc.fmt)))))
    # no event counts from the kernel (events = NULL): see the comment below
    got = _float_kernel(narrow, _float_op(a, mac.a_fmt, values), opb, bvecs, (m, n, k), modes,
                        threads, stats)
    if got is None:
        return None
    out, mx, bail, _ = got
    redo = None if bail is None else bail.view(bool)
    events = None
    if stats and acc.rounding == "rtz":
        # rtz saturates silently (binary32 and bfloat16 at binary32's largest
        # finite value, binary16 at 65504): registers that reached the largest
        # finite value may have overflowed.  binary16: the kernel steps those
        # rows again counting events (sums beyond 65536); the others: the
        # engine recomputes them
        hit = mx >= np.float32(acc.fmt.max_finite)
        if hit.any():
            rows = np.nonzero(hit.any(axis=1))[0]
            again = None
            if narrow and acc.fmt == F16:
                sub = np.ascontiguousarray(a[rows])
                again = _float_kernel(True, _float_op(sub, mac.a_fmt, values), opb, bvecs,
                                      (rows.size, n, k), modes, threads, True, events=True)
            if again is not None:
                events = np.zeros((m, n), np.int64)
                events[rows] = again[3]
                events = events.reshape(-1)
            else:
                redo = hit if redo is None else (redo | hit)
    st = None
    if stats:
        # Overflow events.  rne: an add that overflows makes the register Inf,
        # and Inf + a finite product (or finite bias) stays Inf, so the output
        # ends non-finite: narrow_seq gives it back (bail, the general engine
        # recomputes its row) and f32_seq counts it below (binary32 rne: only
        # the add that went to Inf is an event).  rtz: an overflow saturates
        # at the largest finite value, so its output is in `hit` above (its
        # events counted there or its row recomputed).  Every other output
        # had no event.
        if events is None:
            events = (np.zeros(m * n, np.int64) if narrow
                      else (~np.isfinite(out)).astype(np.int64).reshape(-1))
        st = dict(acc_events=events, psum_events=np.zeros(m * n, np.int64),
                  max_abs=mx.astype(np.float64).reshape(-1),
                  width_needed=np.zeros(m * n, np.int32))
    return out, st, redo


def _int_values(codes, fmt, zp, axis_len, per_row: bool):
    """Integer operand values (code two's complement, minus the zero point) as int32."""
    return fastdot.int_values(codes, fmt, zp, per_row)


def _value_range(fmt, zp):
    """(min, max) of operand values (code value minus zero point)."""
    if zp is None:
        return _fmt_range(fmt)
    z = zp.reshape(-1).astype(np.int64)
    return fmt.min_int - int(z.max()), fmt.max_int - int(z.min())


@lru_cache(maxsize=64)
def _fmt_range(fmt):
    return fmt.min_int, fmt.max_int


def _zp_full(zp, length):
    if zp is None:
        return None
    z = zp.reshape(-1).astype(np.int32)
    return np.ascontiguousarray(np.broadcast_to(z, (length,)) if z.size == 1 else z)


def _int_rows(a, r0, r1, lut, zaf, dtype):
    """(status, rows r0:r1 of the code array a as int16 / int32 values, zero points
    (zaf, one per row, or None) subtracted)."""
    out = np.empty((r1 - r0, a.shape[1]), dtype=dtype)
    fn, ctype = ((lib.hw_mac_lut_i16, "int16_t *") if dtype == np.int16 else
                 (lib.hw_mac_lut_i32, "int32_t *"))
    rc = fn(_ptr("void *", a[r0:r1]), a.dtype.itemsize, r1 - r0, a.shape[1],
            _ptr("int32_t *", lut), lut.size,
            ffi.NULL if zaf is None else _ptr("int32_t *", zaf) + r0, 1, _ptr(ctype, out), 0)
    return rc, out


def _run_int(path, mac, a, b, bias, za, zb, stats, threads):
    """The integer paths: checks shared by all, then int_wrap (the vpdpbusd kernel of
    :mod:`hwsim.mac.fastdot` where the values fit u8 / s8, else int16 pairs), int_dot or
    int_steps."""
    n = b.shape[1]
    if mac.a_fmt.bits > 16 or mac.b_fmt.bits > 16:
        return None
    braw = None
    if bias is not None:
        braw = np.ascontiguousarray(np.broadcast_to(np.asarray(bias, dtype=np.int64), (n,)))
        half = 1 << (mac.accumulator.bits - 1)
        if int(braw.min()) < -half or int(braw.max()) >= half:
            return None  # a bias beyond the register: its load overflows (engine)
    ranges = (_value_range(mac.a_fmt, za), _value_range(mac.b_fmt, zb))
    a, b = _codes_c(a), _codes_c(b)
    if path == "int_wrap":
        got = fastdot.run_wrap(mac, a, b, braw, za, _zp_full(zb, n), ranges, threads)
        return got if got is not None else _run_int_wrap(mac, a, b, braw, za, zb, ranges,
                                                         threads)
    if path == "int_dot":
        return fastdot.run_steps(mac, a, b, braw, za, _zp_full(zb, n), ranges, stats, threads)
    return _run_int_steps(mac, a, b, braw, za, zb, ranges, stats, threads)


def _run_int_wrap(mac, a, b, braw, za, zb, ranges, threads):
    """int_wrap: the exact sum modulo 2^32 (int16 values), then modulo 2^bits."""
    (alo, ahi), (blo, bhi) = ranges
    if min(alo, blo) <= -32768 or max(ahi, bhi) > 32767:
        return None
    m, k = a.shape
    n = b.shape[1]
    la, lb = _lut_i32(mac.a_fmt), _lut_i32(mac.b_fmt)
    zaf, zbf = _zp_full(za, m), _zp_full(zb, n)
    kp = k + (k & 1)
    bp = np.empty(-(-n // PW) * PW * kp, dtype=np.int16)
    if lib.hw_mac_lut_i16(_ptr("void *", b), b.dtype.itemsize, k, n, _ptr("int32_t *", lb),
                          lb.size, _ptr("int32_t *", zbf), 0, _ptr("int16_t *", bp),
                          1) != lib.HW_OK:
        return None
    out = np.empty((m, n), dtype=np.int32)

    def call(r0, r1):
        rc, a16 = _int_rows(a, r0, r1, la, zaf, np.int16)
        if rc != lib.HW_OK:
            return rc
        return lib.hw_mac_i16_wrap(_ptr("int16_t *", a16), _ptr("int16_t *", bp),
                                   _ptr("int32_t *", out) + r0 * n, r1 - r0, n, k)
    if any(rc != lib.HW_OK for rc in _parallel(call, m, threads, m * n * k, unit=4)):
        return None
    bits = mac.accumulator.bits
    if braw is not None:  # the bias is one more term of the modular sum
        out += braw.astype(np.int32) if bits < 32 else braw.astype(np.int64).astype(np.int32)
    if bits < 32:
        sh = np.int32(32 - bits)
        out = (out << sh) >> sh  # keep the low `bits` bits, sign-extended
    return out, None, None


def _run_int_steps(mac, a, b, braw, za, zb, ranges, stats, threads):
    """int_steps: the register stepped product by product in int32."""
    m, k = a.shape
    n = b.shape[1]
    acc = mac.accumulator
    (alo, ahi), (blo, bhi) = ranges
    pmax = max(-alo, ahi) * max(-blo, bhi)
    bb = 0 if braw is None else int(np.abs(braw).max(initial=0))
    half = 1 << (acc.bits - 1)
    if (pmax + half >= 1 << 31 and acc.bits < 32) or pmax >= 1 << 31:
        return None
    if stats and k * pmax + 2 * bb >= 1 << 31:
        return None
    la = _lut_i32(mac.a_fmt)
    packed = packed_b(b, mac.b_fmt, _lut_i32(mac.b_fmt), _zp_full(zb, n))
    if packed is None:
        return None
    bp, l1 = packed
    zaf = _zp_full(za, m)
    init, fin = fastdot.bias_vectors(mac, braw, n)
    out = np.empty((m, n), dtype=np.int32)
    ev = np.empty((m, n), np.int32) if stats else None
    mx = np.empty((m, n), np.int64) if stats else None
    wd = np.empty((m, n), np.int32) if stats else None
    sat = int(acc.overflow == "saturate")

    def call(r0, r1):
        def sub(arr, ctype):
            return ffi.NULL if arr is None else _ptr(ctype, arr) + r0 * n
        rc, av = _int_rows(a, r0, r1, la, zaf, np.int32)
        if rc != lib.HW_OK:
            return rc
        return lib.hw_mac_i32_steps(_ptr("int32_t *", av), _ptr("int32_t *", bp),
                                    _ptr("int32_t *", init), _ptr("int32_t *", fin),
                                    sub(out, "int32_t *"), sub(ev, "int32_t *"),
                                    sub(mx, "int64_t *"), sub(wd, "int32_t *"), r1 - r0, n, k,
                                    acc.bits, sat)
    if any(rc != lib.HW_OK for rc in _parallel(call, m, threads, m * n * k)):
        return None
    st = None
    if stats:
        # as the kernel wrote them: results._make_stats widens them to MacStats' dtypes
        # (and scales max_abs by 2^-frac) when they are read; psum_events None: all zero
        st = dict(acc_events=ev.reshape(-1), psum_events=None, max_abs=mx.reshape(-1),
                  max_abs_frac=fastdot.product_frac(mac), width_needed=wd.reshape(-1),
                  # sum_k |b[k, j]| (zero points subtracted) from the packed panels
                  # (read-only, cached with them): A2Q's per-channel bound
                  # (results.MacStats.a2q_l1_bits, cached per l1 array)
                  l1=l1)
    return out, st, None


@lru_cache(maxsize=64)
def _aexp_lut(fmt) -> np.ndarray:
    """Alignment exponent of every code: floor(log2|x|), clamped at emin (zeros:
    -16000, below any real one)."""
    out = np.full(1 << fmt.bits, -16000, dtype=np.int16)
    for c in range(1 << fmt.bits):
        cls = fmt.classify(c)
        if cls == "normal":
            mag = c & ((1 << (fmt.exp_bits + fmt.man_bits)) - 1)
            out[c] = (mag >> fmt.man_bits) - fmt.bias
        elif cls == "subnormal":
            out[c] = fmt.emin
    return out


def _run_multi(mac, a, b, bias, stats, threads):
    """Fused multi-term groups, sequential, narrow float operands (C kernel)."""
    m, k = a.shape
    n = b.shape[1]
    fa, fb = mac.a_fmt, mac.b_fmt
    a, b = _codes_c(a), _codes_c(np.ascontiguousarray(b.T))
    la, lb = _lut_f32(fa), _lut_f32(fb)
    bt = np.empty((n, k), dtype=np.float32)
    rc, bad = _lut_f32_call(b, lb, n, k, bt)
    if rc != lib.HW_OK or bad:
        return None
    bae = np.ascontiguousarray(_aexp_lut(fb)[b])
    bvec = None
    if bias is not None:
        bvec = np.ascontiguousarray(np.broadcast_to(np.asarray(bias, dtype=np.float64), (n,)))
        if not np.isfinite(bvec).all():
            return None
    init = bvec if (bvec is not None and mac.bias == "init") else None
    fin = bvec if (bvec is not None and mac.bias == "final") else None
    spec, keep = engine.cached_spec(mac)
    out = np.empty((m, n), dtype=np.uint64)
    mx = np.empty((m, n), dtype=np.float64) if stats else None
    ev = np.empty((m, n), dtype=np.int32) if stats else None

    def call(r0, r1):
        av = np.empty((r1 - r0, k), dtype=np.float32)
        rc, bad = _lut_f32_call(a[r0:r1], la, r1 - r0, k, av)
        if rc != lib.HW_OK or bad:
            return -100
        aae = np.ascontiguousarray(_aexp_lut(fa)[a[r0:r1]])
        return lib.hw_mac_multi_seq(_ptr("float *", av), _ptr("int16_t *", aae),
                                    _ptr("float *", bt), _ptr("int16_t *", bae),
                                    _ptr("double *", init), _ptr("double *", fin),
                                    _ptr("uint64_t *", out) + r0 * n,
                                    ffi.NULL if mx is None else _ptr("double *", mx) + r0 * n,
                                    ffi.NULL if ev is None else _ptr("int32_t *", ev) + r0 * n,
                                    r1 - r0, n, k, ffi.addressof(spec[0], "acc"))
    rcs = _parallel(call, m, threads, m * n * k)
    del keep
    if any(rc != lib.HW_OK for rc in rcs):
        return None
    st = None
    if stats:
        st = dict(acc_events=ev.astype(np.int64).reshape(-1),
                  psum_events=np.zeros(m * n, np.int64), max_abs=mx.reshape(-1),
                  width_needed=np.zeros(m * n, np.int32))
    return out, st, None


def result_arrays(path: str, mac: MacUnit, vals: np.ndarray, shape):
    """(codes, values, fmt, frac_bits, width) of a fast path's register values
    ``vals`` [rows, N]; float values are widened (exactly) on first access."""
    acc = mac.accumulator
    if path == "multi_seq":
        fmt = acc.out_fmt
        codes = vals.astype(fmt.code_dtype).reshape(shape)
        return codes, _decode(codes, fmt), fmt, 0, None
    if path in ("int_wrap", "int_steps", "int_dot"):  # int32 register values (bits <= 32)
        w = acc.bits
        v32 = vals.astype(np.int32, copy=False)
        if w == 32:
            codes = v32.view(np.uint32)
        else:
            codes = v32 & np.int32((1 << w) - 1)  # >= 0: the uint32 view has the same numbers
            cdt = register_code_dtype(w)
            codes = codes.view(np.uint32) if cdt == np.uint32 else codes.astype(cdt)

        def ivalues():  # int64 on first access (a widening copy of every output)
            return v32.astype(np.int64).reshape(shape)
        return codes.reshape(shape), ivalues, None, fastdot.product_frac(mac), w
    fmt = acc.fmt
    v32 = vals if vals.dtype == np.float32 else vals.astype(np.float32)
    if fmt.bits == 32:
        codes = v32.view(np.uint32)
    elif fmt.exp_bits == 5:
        codes = v32.astype(np.float16).view(np.uint16)
    else:
        codes = (v32.view(np.uint32) >> 16).astype(np.uint16)

    def values():  # exact: binary32 / binary16 / bfloat16 widen exactly
        return v32.astype(np.float64).reshape(shape)
    return codes.reshape(shape), values, fmt, 0, None
