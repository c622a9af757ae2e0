"""The 8-bit dot-product kernels (csrc/hw_mac_dot.c, hwsim.mac.fastdot): the
modular sum behind int_wrap and the group-stepped IntAccumulator(fan_in = 4j)
behind int_dot.  Their SIMD kernels (AVX-512 VNNI vpdpbusd, speculation with exact
reruns) equal their portable loops field by field, and both equal an independent
numpy model; through hwsim.mac.matmul they equal hwsim.reference and the general
engine on every statistic, for any thread count; declines fall back correctly;
the dispatch takes the VNNI kernels on a CPU that has them."""
import os

import numpy as np
import pytest

from hwsim import native as _native
from hwsim.mac import IntAccumulator, MacUnit, matmul
from hwsim.mac import fast as _fast
from hwsim.mac import fastdot

from .mac_check import check_against_reference

pytestmark = [pytest.mark.native, pytest.mark.portable]
ffi, lib = _native.ffi, _native.lib
STATS = ("overflow_events_per_output", "max_abs_partial_per_output", "bits_needed_per_output",
         "psum_overflow_events_per_output")


def _p(ctype, x):
    return ffi.NULL if x is None else ffi.cast(ctype, ffi.from_buffer(x))


def _aprime(av, off):
    m, k = av.shape
    out = np.zeros((m, -(-k // 4) * 4), np.uint8)
    out[:, :k] = av + off
    return out


def _pad32(v, n):
    if v is None:
        return None
    out = np.zeros(-(-n // 32) * 32, np.int32)
    out[:n] = v
    return out


def _steps(fn, av, bv, off, init, fin, fan_in, bits, sat, stats=True, cor=False):
    """hw_mac_dot_steps(_portable) on values av, bv; cor=True: the group corrections
    from fastdot (else the kernel computes them)."""
    m, k = av.shape
    n = bv.shape[1]
    ap, bp = _aprime(av, off), fastdot.pack_s8(bv)
    cr = fastdot._group_cor(bp.sum(axis=-1, dtype=np.int32), off, fan_in) if cor else None
    ini, fi = _pad32(init, n), _pad32(fin, n)
    out = np.full((m, n), 7, np.int32)
    ev = np.full((m, n), 7, np.int64) if stats else None
    mx = np.full((m, n), 7, np.float64) if stats else None
    wd = np.full((m, n), 7, np.int64) if stats else None
    rc = fn(_p("uint8_t *", ap), _p("int8_t *", bp), off, _p("int32_t *", cr), _p("int32_t *", ini),
            _p("int32_t *", fi), _p("int32_t *", out), _p("int64_t *", ev), _p("double *", mx),
            _p("int64_t *", wd), m, n, k, fan_in, bits, int(sat))
    assert rc == lib.HW_OK
    return out, ev, mx, wd


def _model(av, bv, init, fin, fan_in, bits, sat):
    """numpy model of the grouped register: (out, events, max_abs, width)."""
    m, k = av.shape
    n = bv.shape[1]
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    prods = av.astype(np.int64)[:, :, None] * bv.astype(np.int64)[None, :, :]
    terms = [prods[:, g:g + fan_in].sum(axis=1) for g in range(0, k, fan_in)]
    if fin is not None:
        terms.append(np.broadcast_to(np.asarray(fin, np.int64), (m, n)))
    acc = np.zeros((m, n), np.int64) + (0 if init is None else np.asarray(init, np.int64))
    pre, pmax, pmin, mx = acc.copy(), acc.copy(), acc.copy(), np.abs(acc)
    ev = np.zeros((m, n), np.int64)
    for x in terms:
        s = acc + x
        v = np.clip(s, lo, hi) if sat else (s - lo) % (1 << bits) + lo
        ev += v != s
        mx = np.maximum(mx, np.abs(s))
        pre = pre + x
        pmax, pmin = np.maximum(pmax, pre), np.minimum(pmin, pre)
        acc = v
    t = np.maximum(np.where(pmax < 0, ~pmax, pmax), np.where(pmin < 0, ~pmin, pmin))
    width = np.array([int(x).bit_length() + 1 for x in t.reshape(-1)]).reshape(m, n)
    return acc, ev, mx, width


def _compare(av, bv, off, init, fin, fan_in, bits, sat):
    got = _steps(lib.hw_mac_dot_steps, av, bv, off, init, fin, fan_in, bits, sat)
    want = _steps(lib.hw_mac_dot_steps_portable, av, bv, off, init, fin, fan_in, bits, sat)
    model = _model(av, bv, init, fin, fan_in, bits, sat)
    for name, x, y, z in zip(("out", "events", "max_abs", "width"), got, want, model):
        assert np.array_equal(x, y), name
        assert np.array_equal(y, z), name
    off_ = _steps(lib.hw_mac_dot_steps, av, bv, off, init, fin, fan_in, bits, sat, stats=False)
    assert np.array_equal(off_[0], got[0])
    if off:
        given = _steps(lib.hw_mac_dot_steps, av, bv, off, init, fin, fan_in, bits, sat, cor=True)
        for x, y in zip(given, got):
            assert np.array_equal(x, y)
    return got


@pytest.mark.parametrize("bits", [2, 8, 16, 20, 32])
@pytest.mark.parametrize("sat", [False, True])
@pytest.mark.parametrize("fan_in", [4, 8, 12, 16])
@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 37, 33), (9, 130, 48), (4, 64, 16)], ids=str)
def test_steps_simd_equals_portable_and_model(bits, sat, fan_in, shape):
    m, k, n = shape
    rng = np.random.default_rng(bits * 1000 + sat * 100 + fan_in * 10 + m)
    lim = 1 << (bits - 1)
    init = rng.integers(-lim, lim, n)
    for off, alo in ((0, 0), (128, -128), (37, -37)):   # uint8, int8, uint8 zero point 37
        av = rng.integers(alo, alo + 256, (m, k))
        bv = rng.integers(-128, 128, (k, n))
        for ini, fi in ((None, None), (init, None), (None, init)):
            _compare(av, bv, off, ini, fi, fan_in, bits, sat)


@pytest.mark.parametrize("bits", [2, 9, 16, 20, 32])
@pytest.mark.parametrize("sat", [False, True])
@pytest.mark.parametrize("fan_in", [4, 8])
def test_steps_at_both_bounds(bits, sat, fan_in):
    # a bias near a bound, then groups of +-4 (or +-8): partial sums that end 2 below,
    # at, and beyond each bound; rows that go back, alternate, stay
    k, n = 24, 37
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    c = np.arange(n)
    delta = c % 5 - 2
    up = c % 2 == 0
    av = np.ones((6, k), np.int64)
    av[1] = -1
    av[2, k // 2:] = -1
    av[3] = np.where(np.arange(k) % 8 < 4, 1, -1)
    av[4] = 0
    bv = np.tile(np.where(up, 1, -1), (k, 1))
    for near in (hi, lo):
        base = np.clip(np.where(up, near - k + delta, near + k - delta), lo, hi)
        if bits == 32:  # the speculation's precondition keeps |S| < 2^31
            base = np.clip(base, lo + k + 1, hi - k)
        for off in (3, 128):  # a' = a + off in [0, 255]
            res = _compare(av, bv, off, base, None, fan_in, bits, sat)
            if bits < 32:
                assert res[1].any(), "some outputs overflow"
            _compare(av, bv, off, None, base, fan_in, bits, sat)
            _compare(av * 3, bv, off, base, base // 2, fan_in, bits, sat)
        _compare(np.abs(av), bv, 0, base, None, fan_in, bits, sat)


def test_steps_beyond_the_precondition_takes_the_exact_loop():
    # |S| reaches 2^31: the speculation may not run; the exact loop does (32-bit register)
    k = 70000
    av = np.full((2, k), 255, np.int64)
    av[1] = 0
    bv = np.full((k, 3), -128, np.int64)
    bv[:, 1] = 127
    for sat in (False, True):
        got = _steps(lib.hw_mac_dot_steps, av, bv, 0, None, None, 4, 32, sat)
        want = _steps(lib.hw_mac_dot_steps_portable, av, bv, 0, None, None, 4, 32, sat)
        for x, y in zip(got, want):
            assert np.array_equal(x, y)
        assert got[1][0].sum() > 0   # row 0 overflowed int32


@pytest.mark.parametrize("bits", [2, 13, 31, 32])
@pytest.mark.parametrize("shape", [(1, 1, 1), (9, 37, 33), (17, 130, 70), (8, 64, 32)], ids=str)
def test_wrap_simd_equals_portable_and_model(bits, shape):
    m, k, n = shape
    rng = np.random.default_rng(bits + m)
    av = rng.integers(0, 256, (m, k))
    bv = rng.integers(-128, 128, (k, n))
    cadd = rng.integers(-(1 << 31), 1 << 31, n).astype(np.int32)
    ap, bp = _aprime(av, 0), fastdot.pack_s8(bv)
    outs = []
    for fn in (lib.hw_mac_dot_wrap, lib.hw_mac_dot_wrap_portable):
        out = np.full((m, n), 7, np.int32)
        assert fn(_p("uint8_t *", ap), _p("int8_t *", bp), _p("int32_t *", cadd),
                  _p("int32_t *", out), m, n, k, bits) == lib.HW_OK
        outs.append(out)
    s = (av @ bv + cadd.astype(np.int64)) % (1 << bits)
    want = np.where(s >= 1 << (bits - 1), s - (1 << bits), s)
    assert np.array_equal(outs[0], outs[1])
    assert np.array_equal(outs[1], want)


def test_bad_arguments_are_errors_not_crashes():
    out = np.zeros(4, np.int32)
    a = np.zeros(8, np.uint8)
    b = np.zeros(64, np.int8)
    args = (_p("uint8_t *", a), _p("int8_t *", b))
    for fan_in, bits, off in ((2, 32, 0), (6, 32, 0), (4, 33, 0), (4, 1, 0), (4, 32, 256)):
        assert lib.hw_mac_dot_steps(*args, off, ffi.NULL, ffi.NULL, ffi.NULL,
                                    _p("int32_t *", out), ffi.NULL, ffi.NULL, ffi.NULL, 1, 1, 4,
                                    fan_in, bits, 0) == lib.HW_E_SIZE
    assert lib.hw_mac_dot_wrap(*args, ffi.NULL, _p("int32_t *", out), 1, 1, 4, 33) == \
        lib.HW_E_SIZE


def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def test_vnni_kernels_run_where_the_cpu_has_them():
    # skip-free: on a CPU without AVX-512 VNNI (or the -DHWSIM_PORTABLE build) the
    # portable loops must be the ones that run
    fl = _cpu_flags()
    want = {"avx512f", "avx512bw", "avx512cd", "avx512_vnni"} <= fl and \
        not os.environ.get("HWSIM_EXPECT_PORTABLE")
    assert bool(lib.hw_mac_dot_vnni()) == want
    assert fastdot.vnni() == want


@pytest.mark.parametrize("fmts", [("uint8", "int8"), ("int8", "int8")])
@pytest.mark.parametrize("acc", [IntAccumulator(32, "wrap", 4), IntAccumulator(16, "saturate", 4),
                                 IntAccumulator(12, "wrap", 8), IntAccumulator(18, "saturate", 16),
                                 IntAccumulator(20, "wrap", 4)], ids=repr)
def test_matmul_int_dot_equals_the_reference(fmts, acc):
    rng = np.random.default_rng(acc.bits + acc.fan_in)
    a = rng.integers(0, 256, (5, 19)).astype(np.uint8)
    b = rng.integers(0, 256, (19, 7)).astype(np.uint8)
    a[1] = 0x7F
    b[:, 2] = 0x7F
    bias = rng.integers(-500, 500, 7)
    for bias_at in ("init", "final"):
        mac = MacUnit(*fmts, accumulator=acc, bias=bias_at)
        za = 3 if fmts[0] == "uint8" else 0
        res = check_against_reference(mac, a, b, bias=bias, za=za)
        assert res.path == "int_dot"
        check_against_reference(mac, a, b, za=za)


@pytest.mark.parametrize("fmts,za", [(("uint8", "int8"), 0), (("uint8", "int8"), 128),
                                     (("int8", "int8"), 0), (("int8", "int8"), -5)])
@pytest.mark.parametrize("acc", [IntAccumulator(32, "wrap", 4), IntAccumulator(22, "saturate", 4),
                                 IntAccumulator(19, "wrap", 8), IntAccumulator(20, "saturate", 16)],
                         ids=repr)
def test_matmul_int_dot_equals_the_engine_any_threads(fmts, za, acc):
    rng = np.random.default_rng(len(fmts[0]) + za + acc.bits)
    a = rng.integers(0, 256, (37, 301)).astype(np.uint8)
    b = rng.integers(0, 256, (301, 45)).astype(np.uint8)
    a[2] = 0xFF if fmts[0] == "uint8" else 0x80
    b[:, 3] = 0x80                    # one output far beyond the narrow registers
    bias = rng.integers(-3000, 3000, 45)
    mac = MacUnit(*fmts, accumulator=acc)
    gen = matmul(a, b, mac, bias=bias, a_zero_point=za, path="general")
    for threads in (1, 2):
        fast = matmul(a, b, mac, bias=bias, a_zero_point=za, threads=threads)
        assert fast.path == "int_dot"
        assert np.array_equal(fast.codes, gen.codes)
        for name in STATS:
            assert np.array_equal(getattr(fast.stats, name), getattr(gen.stats, name)), name
        assert np.array_equal(fast.stats.a2q_l1_bits, gen.stats.a2q_l1_bits) \
            if hasattr(gen.stats, "a2q_l1_bits") else True
        off = matmul(a, b, mac, bias=bias, a_zero_point=za, threads=threads, stats=False)
        assert np.array_equal(off.codes, gen.codes)
    if acc.bits < 32:
        assert gen.stats.overflow_events > 0


@pytest.mark.parametrize("fan_in", [1, 4, 8])
@pytest.mark.parametrize("bits", [32, 24, 9])
def test_int_wrap_takes_the_dot_kernel(monkeypatch, fan_in, bits):
    calls = []
    real = fastdot.run_wrap

    def spy(*args):
        got = real(*args)
        calls.append(got is not None)
        return got
    monkeypatch.setattr(fastdot, "run_wrap", spy)
    rng = np.random.default_rng(fan_in + bits)
    a = rng.integers(0, 256, (21, 203)).astype(np.uint8)
    b = rng.integers(0, 256, (203, 35)).astype(np.uint8)
    lim = min(1000, 1 << (bits - 1))  # a bias beyond the register: the engine's case
    bias = rng.integers(-lim, lim, 35)
    a3 = np.maximum(a, 3)  # with per-row zero points 0..2: values 1..255 fit u8
    for fmts, za, taken in ((("uint8", "int8"), 7, True), (("int8", "int8"), 0, True),
                            (("uint8", "int8"), np.arange(21) % 3, True),
                            (("uint8", "int8"), np.arange(21) % 5, False),   # values -4..255
                            (("uint8", "uint8"), 0, False)):     # b beyond s8: int16 kernel
        calls.clear()
        mac = MacUnit(*fmts, accumulator=IntAccumulator(bits, "wrap", fan_in))
        a = a3 if np.size(za) > 1 else a
        for threads in (1, 2):
            res = matmul(a, b, mac, bias=bias, a_zero_point=za, threads=threads, stats=False)
            gen = matmul(a, b, mac, bias=bias, a_zero_point=za, path="general", stats=False)
            assert res.path == "int_wrap"
            assert np.array_equal(res.codes, gen.codes)
        assert calls == [taken, taken]


def test_int_dot_declines_to_the_engine():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (6, 40)).astype(np.uint8)
    b = rng.integers(0, 256, (40, 9)).astype(np.uint8)
    # b values beyond int8 (uint8, zero point 0); a values spanning more than 256
    # (per-row zero points); a register of more than 32 bits; fan_in not a multiple of 4
    cases = [(MacUnit("uint8", "uint8", accumulator=IntAccumulator(20, "saturate", 4)), 0,
              "int_dot"),
             (MacUnit("uint8", "int8", accumulator=IntAccumulator(20, "saturate", 4)),
              np.array([0, 200, 0, 0, 0, 100]), "int_dot"),
             (MacUnit("int8", "int8", accumulator=IntAccumulator(40, "wrap", 4)), 0, None),
             (MacUnit("int8", "int8", accumulator=IntAccumulator(16, "wrap", 6)), 0, None)]
    for mac, za, planned in cases:
        res = check_against_reference(mac, a, b, za=za)
        assert res.path == "general"
        assert _fast.plan(mac, True) == planned
