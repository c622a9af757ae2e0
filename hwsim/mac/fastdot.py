"""The 8-bit dot-product kernels of the integer fast paths (csrc/hw_mac_dot.c).

AVX-512 VNNI's ``vpdpbusd`` adds 4 products of an unsigned byte and a signed byte
to each int32 lane.  Operand values fit it after a uniform offset: a' = a + off in
[0, 255] (uint8 codes with a zero point: a' is the code; int8 codes: off = 128),
b in [-128, 127]; then sum a'*b = sum a*b + off * sum b, exactly.

- :func:`run_wrap` (path ``int_wrap``, stats off, a wrapping register of <= 32
  bits, any ``fan_in``): the sum modulo 2^32 does not depend on the grouping, so
  the correction -off * sum_k b (and the bias) is added once per column.
- :func:`run_steps` (path ``int_dot``, ``IntAccumulator(bits, fan_in)`` with
  fan_in a multiple of 4): the register adds each group's exact sum; the kernel
  tracks the group partial sums S_g (one correction -off * sum b per group and
  column) with their max and min, and steps outputs that overflow again exactly.

Both decline (None) when the values do not fit u8 / s8 after the offset; the
caller then uses another kernel or the general engine.  Results never depend on
the row split (each output is computed by one call, in one thread).
"""
from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from .. import native as _native
from .packcache import packed_b
from .threads import FAST_PARALLEL_WORK, FAST_RANGES_PER_THREAD, row_ranges, run_ranges

__all__ = ["run_wrap", "run_steps", "vnni", "pack_s8", "a_offset_bytes"]

ffi, lib = _native.ffi, _native.lib
PW = 16


def _ptr(ctype, arr):
    return ffi.NULL if arr is None else ffi.cast(ctype, ffi.from_buffer(arr))


@lru_cache(maxsize=256)
def product_frac(mac) -> int:
    """``mac.product_frac_bits``, cached (the property builds a format per call)."""
    return mac.product_frac_bits


def vnni() -> bool:
    """The AVX-512 VNNI kernels run on this CPU (else the portable loops)."""
    return bool(lib.hw_mac_dot_vnni())


def int_values(codes, fmt, zp, per_row: bool) -> np.ndarray:
    """Integer operand values (code two's complement, minus the zero point: one
    per row of a when ``per_row``, else one per column of b) as int32."""
    c = np.asarray(codes)
    if fmt.signed and fmt.bits in (8, 16, 32) and c.dtype.itemsize * 8 == fmt.bits:
        v = c.view({8: np.int8, 16: np.int16, 32: np.int32}[fmt.bits]).astype(np.int32)
    elif fmt.signed:
        sh = 32 - fmt.bits
        v = (c.astype(np.uint32) << np.uint32(sh)).view(np.int32) >> sh
    else:
        v = c.astype(np.int32)
    if zp is not None:
        z = np.asarray(zp).reshape(-1).astype(np.int32)
        v = v - (z[0] if z.size == 1 else z[:, None] if per_row else z[None, :])
    return v


def pack_s8(bv: np.ndarray) -> np.ndarray:
    """b values [K, N] (int, in [-128, 127]) -> int8 panels [ceil(N/16), ceil(K/4), 16, 4]
    (hw_mac_dot's layout, zero padded)."""
    k, n = bv.shape
    kc, npan = -(-k // 4), -(-n // PW)
    full = np.zeros((4 * kc, npan * PW), dtype=np.int8)
    full[:k, :n] = bv
    return np.ascontiguousarray(full.reshape(kc, 4, npan, PW).transpose(2, 0, 3, 1))


def _pack_dot(b, fmt, zbf):
    """(int8 panels, sum_k b per column (int64), sum_k |b| per column (int64), the sums
    of each 4-deep chunk of the panels [ceil(N/16), ceil(K/4), 16] (int32)) or None (a
    value beyond int8)."""
    bv = int_values(b, fmt, zbf, False)
    if bv.size and (int(bv.min()) < -128 or int(bv.max()) > 127):
        return None
    bp = pack_s8(bv)
    colsum = bv.sum(axis=0, dtype=np.int64)
    l1 = np.abs(bv).sum(axis=0, dtype=np.int64)
    csum = bp.sum(axis=-1, dtype=np.int32)
    for x in (bp, colsum, l1, csum):
        x.flags.writeable = False
    return bp, colsum, l1, csum


#: read-only arrays derived from arrays of the pack cache (the same array while the same
#: weights come back): (id(source), what) -> (source, derived)
_COR: dict = {}
_COR_LOCK = threading.Lock()


def _derived(src, what, make):
    """make() (a new array, made read-only), reused while ``src`` (a cached, read-only
    array of the pack) comes back with the same ``what``."""
    key = (id(src), what)
    with _COR_LOCK:
        hit = _COR.get(key)
    if hit is not None and hit[0] is src:
        return hit[1]
    got = make()
    got.flags.writeable = False
    with _COR_LOCK:
        while len(_COR) >= 32:
            _COR.pop(next(iter(_COR)))
        _COR[key] = (src, got)
    return got


def _group_cor_cached(csum, off, fan_in):
    return _derived(csum, ("cor", off, fan_in), lambda: _group_cor(csum, off, fan_in))


def _i32(x):
    """int64 values modulo 2^32 as int32 (two's complement)."""
    return np.ascontiguousarray(((x + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32))


def _group_cor(csum, off, fan_in):
    """-off * the sum of b over each group of fan_in rows, per column, modulo 2^32:
    [ceil(N/16), ceil(K/fan_in), 16] int32 (hw_mac_dot_steps' cor)."""
    npan, kc, _ = csum.shape
    gch = fan_in // 4
    ng = -(-kc // gch)
    g = np.zeros((npan, ng * gch, PW), np.int64)
    g[:, :kc] = csum
    cor = -off * g.reshape(npan, ng, gch, PW).sum(axis=2)
    return _i32(cor)


def a_offset_bytes(a, fmt, za, lo_hi):
    """(a' = a value + off as uint8 [M, 4*ceil(K/4)] (zero padded), off) or None when the
    values span more than 256 (lo_hi: their range from the format and zero points; when
    that spans more, e.g. with per-row zero points, the range of the data decides)."""
    lo, hi = lo_hi
    off = -lo if lo < 0 else 0
    m, k = a.shape
    if hi + off > 255:
        v = int_values(a, fmt, None if za is None else np.asarray(za).reshape(-1), True)
        lo, hi = int(v.min()), int(v.max())
        off = -lo if lo < 0 else 0
        if hi + off > 255:
            return None
        out = np.zeros((m, -(-k // 4) * 4), dtype=np.uint8)
        out[:, :k] = v + off
        return out, off
    kp = -(-k // 4) * 4
    z = None if za is None else np.asarray(za).reshape(-1)
    if fmt.bits == 8 and kp == k and a.dtype.itemsize == 1 and (z is None or z.size == 1):
        zs = 0 if z is None else int(z[0])
        if not fmt.signed and off == zs:  # uint8 codes minus zero point plus off: the codes
            return np.ascontiguousarray(a).view(np.uint8), off
        if fmt.signed and off == 128 + zs:  # int8 codes + 128: the sign bit flipped
            return np.ascontiguousarray(a).view(np.uint8) ^ np.uint8(0x80), off
    out = np.zeros((m, kp), dtype=np.uint8)
    out[:, :k] = int_values(a, fmt, z, True) + off
    return out, off


def _split(m, threads, work, fn):
    ranges = row_ranges(m, threads, work, FAST_PARALLEL_WORK, FAST_RANGES_PER_THREAD, 4)
    return all(rc == lib.HW_OK for rc in run_ranges(fn, ranges, threads))


def _operands(mac, a, b, za, zbf, ranges):
    """(a', off, packed b, (m, k, n)) or None (declined)."""
    if mac.a_fmt.bits > 8 or mac.b_fmt.bits > 8 or ranges[1][0] < -128 or ranges[1][1] > 127:
        return None
    got = a_offset_bytes(a, mac.a_fmt, za, ranges[0])
    if got is None:
        return None
    packed = packed_b(b, mac.b_fmt, None, zbf, packer=_pack_dot)
    if packed is None:
        return None
    return got[0], got[1], packed, (a.shape[0], a.shape[1], b.shape[1])


def bias_vectors(mac, braw, n):
    """(init, fin): the bias as int32 padded to groups of 32 columns, given to
    the stepped kernels as the register's first (bias="init") or last
    (bias="final") value; None where it does not apply."""
    if braw is None:
        return None, None
    b32 = np.zeros(-(-n // (2 * PW)) * 2 * PW, dtype=np.int32)
    b32[:n] = braw
    return (b32, None) if mac.bias == "init" else (None, b32)


def run_wrap(mac, a, b, braw, za, zbf, ranges, threads):
    """int_wrap with vpdpbusd: (out values, None, None) or None (declined)."""
    got = _operands(mac, a, b, za, zbf, ranges)
    if got is None:
        return None
    ap, off, (bp, colsum, _, _), (m, k, n) = got
    if braw is None:  # -off * sum_k b per column, reused with the packed weights
        cadd = _derived(colsum, ("cadd", off), lambda: _i32(-off * colsum))
    else:  # init or final: one more term of the modular sum
        cadd = _i32(-off * colsum + braw)
    out = np.empty((m, n), dtype=np.int32)
    bits = mac.accumulator.bits

    def call(r0, r1):
        return lib.hw_mac_dot_wrap(_ptr("uint8_t *", ap[r0:r1]), _ptr("int8_t *", bp),
                                   _ptr("int32_t *", cadd), _ptr("int32_t *", out) + r0 * n,
                                   r1 - r0, n, k, bits)
    if not _split(m, threads, m * n * k, call):
        return None
    return out, None, None


def run_steps(mac, a, b, braw, za, zbf, ranges, stats, threads):
    """int_dot: IntAccumulator(bits, overflow, fan_in = 4j) stepped per group.
    (out values, stats dict or None, None) or None (declined)."""
    acc = mac.accumulator
    got = _operands(mac, a, b, za, zbf, ranges)
    if got is None:
        return None
    ap, off, (bp, _, l1, csum), (m, k, n) = got
    cor = _group_cor_cached(csum, off, acc.fan_in) if off else None
    init, fin = bias_vectors(mac, braw, n)
    out = np.empty((m, n), dtype=np.int32)
    ev = np.empty((m, n), np.int64) if stats else None   # the dtypes of MacStats:
    mx = np.empty((m, n), np.float64) if stats else None  # no conversion pass
    wd = np.empty((m, n), np.int64) if stats else None

    def call(r0, r1):
        def sub(arr, ctype):
            return ffi.NULL if arr is None else _ptr(ctype, arr) + r0 * n
        return lib.hw_mac_dot_steps(_ptr("uint8_t *", ap[r0:r1]), _ptr("int8_t *", bp), off,
                                    _ptr("int32_t *", cor), _ptr("int32_t *", init), _ptr("int32_t *", fin),
                                    sub(out, "int32_t *"), sub(ev, "int64_t *"),
                                    sub(mx, "double *"), sub(wd, "int64_t *"), r1 - r0, n, k,
                                    acc.fan_in, acc.bits, int(acc.overflow == "saturate"))
    if not _split(m, threads, m * n * k, call):
        return None
    st = None
    if stats:
        frac = product_frac(mac)
        mxf = mx.reshape(-1)
        st = dict(acc_events=ev.reshape(-1),
                  psum_events=None,  # all zero (results._make_stats, when read)
                  max_abs=np.ldexp(mxf, -frac) if frac else mxf,
                  width_needed=wd.reshape(-1), l1=l1)  # read-only, cached with the pack
    return out, st, None
