"""hw_mac_i32_steps (the stepped integer register with statistics): its SIMD
kernels (AVX-512 VNNI speculation with exact reruns of overflowing rows, AVX2)
equal its portable loop field by field (result, overflow events, max |partial
sum|, bits needed) on random and adversarial data: sums that reach each bound of
the register exactly and one beyond, wrap and saturate, bias loaded first or
added last, shapes that are not multiples of the 4-row x 32-column blocks; and
through hwsim.mac.matmul they equal the general engine."""
import numpy as np
import pytest

from hwsim import native as _native
from hwsim.mac import IntAccumulator, MacUnit, matmul
from hwsim.mac.fast import _pack_b

pytestmark = [pytest.mark.native, pytest.mark.portable]
ffi, lib = _native.ffi, _native.lib


def _run(fn, av, bv, init, fin, bits, sat, stats=True):
    m, k = av.shape
    n = bv.shape[1]
    bp = _pack_b(bv.astype(np.int32), np.int32)
    pad = -(-n // 32) * 32

    def padded(v):
        if v is None:
            return None
        out = np.zeros(pad, np.int32)
        out[:n] = v
        return out
    ini, fi = padded(init), padded(fin)
    out = np.full((m, n), 7, np.int32)
    ev = np.full((m, n), 7, np.int32) if stats else None
    mx = np.full((m, n), 7, np.int64) if stats else None
    wd = np.full((m, n), 7, np.int32) if stats else None

    def p(ctype, x):
        return ffi.NULL if x is None else ffi.cast(ctype, ffi.from_buffer(x))
    a32 = np.ascontiguousarray(av, np.int32)   # alive until the call returns
    rc = fn(p("int32_t *", a32), p("int32_t *", bp),
            p("int32_t *", ini), p("int32_t *", fi), p("int32_t *", out), p("int32_t *", ev),
            p("int64_t *", mx), p("int32_t *", wd), m, n, k, bits, int(sat))
    assert rc == lib.HW_OK
    return out, ev, mx, wd


def _compare(av, bv, init, fin, bits, sat, stats=True):
    got = _run(lib.hw_mac_i32_steps, av, bv, init, fin, bits, sat, stats)
    want = _run(lib.hw_mac_i32_steps_portable, av, bv, init, fin, bits, sat, stats)
    for name, x, y in zip(("out", "events", "max_abs", "width"), got, want):
        assert (x is None and y is None) or np.array_equal(x, y), name
    return want


@pytest.mark.parametrize("bits", [2, 8, 16, 20, 31, 32])
@pytest.mark.parametrize("sat", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 37, 33), (9, 130, 48), (4, 64, 16)], ids=str)
def test_simd_equals_portable_random(bits, sat, shape):
    m, k, n = shape
    rng = np.random.default_rng(bits * 1000 + sat * 100 + m)
    av = rng.integers(-128, 128, (m, k))
    bv = rng.integers(-128, 128, (k, n))
    lim = 1 << (bits - 1)
    init = rng.integers(-lim, lim, n)
    for ini, fi in ((None, None), (init, None), (None, init)):
        _compare(av, bv, ini, fi, bits, sat)


@pytest.mark.parametrize("bits", [2, 16, 20, 32])
@pytest.mark.parametrize("sat", [False, True])
def test_simd_equals_portable_at_both_bounds(bits, sat):
    # bias near a bound, then k steps of +-1: partial sums end 2 below, 1 below,
    # exactly at, 1 beyond and 2 beyond each bound of the register
    k, n = 20, 37
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    c = np.arange(n)
    off = c % 5 - 2
    if bits == 32:   # the kernel's precondition: |init| + k max|a*b| + |fin| < 2^31
        off = -(c % 3) - 1
    up = c % 2 == 0
    av = np.ones((6, k), np.int64)
    av[1] = -1
    av[2, k // 2:] = -1                     # up to the bound, then back
    av[3] = np.where(np.arange(k) % 2, 1, -1)
    av[4] = 0
    bv = np.tile(np.where(up, 1, -1), (k, 1))
    for near in (hi, lo):
        base = np.clip(np.where(up, near - k + off, near + k - off), lo, hi)
        if bits == 32:
            base = np.clip(base, lo + k + 1, hi - k)
        res = _compare(av, bv, base, None, bits, sat)
        if bits < 32:
            assert res[1].any(), "some outputs overflow"
        _compare(av, bv, None, base, bits, sat)
        if bits < 32:
            _compare(av * 3, bv, base, base // 2, bits, sat)


def test_simd_declines_beyond_int16_and_int32():
    rng = np.random.default_rng(5)
    av = rng.integers(-40000, 40000, (6, 50))             # beyond int16: AVX2 / portable
    bv = rng.integers(-3, 4, (50, 20))
    _compare(av, bv, None, None, 32, True)
    # partial sums beyond int32 (statistics off: the precondition allows it)
    av = np.full((5, 3000), 32767)
    av[1] = -32767
    bv = np.full((3000, 17), 32767)
    for bits, sat in ((32, True), (20, True), (20, False), (31, False)):
        _compare(av, bv, None, None, bits, sat, stats=False)
    _compare(av[:, :2], bv[:2], None, None, 32, True)     # 2 * 32767^2 < 2^31


@pytest.mark.parametrize("acc", [IntAccumulator(32), IntAccumulator(20, "saturate"),
                                 IntAccumulator(18, "wrap"), IntAccumulator(16, "saturate")],
                         ids=repr)
def test_matmul_stats_equal_the_general_engine(acc):
    rng = np.random.default_rng(11)
    a = rng.integers(0, 256, (13, 300)).astype(np.uint8)
    b = rng.integers(0, 256, (300, 45)).astype(np.uint8)
    a[2, :] = 0x80
    b[:, 3] = 0x80                      # one output far beyond int16 / int18 / int20
    a[4, :] = 0x7F
    mac = MacUnit("int8", "int8", accumulator=acc)
    fast = matmul(a, b, mac)
    gen = matmul(a, b, mac, path="general")
    assert fast.path == "int_steps"
    assert np.array_equal(fast.values, gen.values)
    for name in ("overflow_events_per_output", "max_abs_partial_per_output",
                 "bits_needed_per_output", "psum_overflow_events_per_output"):
        assert np.array_equal(getattr(fast.stats, name), getattr(gen.stats, name)), name
    if acc.bits < 32:
        assert gen.stats.overflow_events > 0


@pytest.mark.parametrize("signs", ["u_s", "s_u", "u_u", "s_s", "int16_s"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 15), (6, 17, 17), (7, 31, 47),
                                   (5, 3, 65), (2, 64, 16)], ids=str)
def test_simd_equals_portable_operand_signs_and_tails(signs, shape):
    # the VNNI kernel zeroes a's high int16 half only when a and b both hold a
    # negative value (else one of them has it zero already): every sign mix, full
    # int16 a values, rows not a multiple of 4, odd k, columns not a multiple of 32
    # (masked epilogue), statistics on and off
    m, k, n = shape
    rng = np.random.default_rng(sum(map(ord, signs)) + 7 * m + k + n)
    lo = {"u": (0, 256), "s": (-128, 128), "int16": (-32768, 32768)}
    sa, sb = signs.split("_")
    av = rng.integers(*lo[sa], (m, k))
    bv = rng.integers(*lo[sb], (k, n))
    if sa == "int16":
        av.flat[:2] = (-32768, 32767)
        bv = np.clip(bv, -3, 3)
    init = rng.integers(-1000, 1000, n)
    for bits, sat in ((32, False), (20, True), (16, False)):
        for ini, fi in ((None, None), (init, None), (None, init)):
            _compare(av, bv, ini, fi, bits, sat)
            _compare(av, bv, ini, fi, bits, sat, stats=False)
