"""The float fast kernels' statistics equal the general engine's and the exact
reference's where the fast path derives them instead of counting per add
(hwsim/mac/fast.py, ``_run_float``): overflow events of rne registers from the
final Inf, of rtz registers from max |register| reaching the largest finite
value (then the engine recomputes the row); max |register| by vrangeps in the
512-bit binary32 kernel and the binary16 / bfloat16 kernels.  Cases: overflow
to Inf mid-sum followed by terms of the other sign, saturation with and without
an overflow (and coming back down), -0 sums, ragged tiles and k blocks."""
import numpy as np
import pytest

import hwsim
from hwsim import native as _native
from hwsim.mac import FloatAccumulator, MacUnit, matmul
from hwsim.testing.mac_strategies import reference_matmul

pytestmark = [pytest.mark.native, pytest.mark.portable]

E4M3 = hwsim.format("float8_e4m3fn")
BF16 = hwsim.format("bfloat16")
SIMD = bool(_native.lib.hw_mac_simd())
ACCS = [FloatAccumulator(f, r) for f in ("float32", "float16", "bfloat16") for r in ("rne", "rtz")]
STATS = ("overflow_events_per_output", "psum_overflow_events_per_output",
         "max_abs_partial_per_output")


def _path(acc):
    if acc.fmt.name == "float32":
        return "f32_seq" if (SIMD or acc.rounding == "rne") else "general"
    return "narrow_seq" if SIMD else "general"


def _same(mac, a, b, bias=None, ref=False, threads=None):
    """fast == general (codes and every statistic, stats on and off); returns the fast result."""
    for stats in (False, True):
        fast = matmul(a, b, mac, bias=bias, stats=stats, threads=threads)
        gen = matmul(a, b, mac, bias=bias, stats=stats, path="general")
        assert fast.path == _path(mac.accumulator)
        assert np.array_equal(fast.codes, gen.codes)
        if stats:
            for name in STATS:
                x, y = getattr(fast.stats, name), getattr(gen.stats, name)
                assert x.dtype == y.dtype and np.array_equal(x, y), name
            assert fast.stats.overflow_events == gen.stats.overflow_events
            assert fast.stats.max_abs_partial == gen.stats.max_abs_partial
    if ref:
        want = reference_matmul(a, b, mac, bias)
        for i, row in enumerate(want):
            for j, r in enumerate(row):
                assert int(fast.codes[i, j]) == r.code, (i, j)
                assert fast.stats.overflow_events_per_output[i, j] == r.acc_events, (i, j)
                assert fast.stats.max_abs_partial_per_output[i, j] == r.max_abs, (i, j)
    return fast


@pytest.mark.parametrize("acc", ACCS, ids=lambda a: f"{a.fmt.name}-{a.rounding}")
def test_overflow_mid_sum_saturation_and_negative_zero(acc, monkeypatch):
    """Columns start at +max, -max, +max and -0 (bias loaded first); rows push
    them over (row 0), over and back (rows 1, 2), or add zeros / -0 (rows 3, 4).
    binary16 rtz counts its saturation events in the kernel (no engine rerun)."""
    if SIMD and acc.fmt.name == "float16" and acc.rounding == "rtz":
        def no_rerun(*args, **kw):
            raise AssertionError("binary16 rtz rows went to the general engine")
        monkeypatch.setattr(hwsim.mac.api, "_redo_rows", no_rerun)
    k = 12
    a = np.zeros((5, k))
    a[0] = 448.0
    a[1, :3], a[1, 3:] = 448.0, -448.0
    a[2, :3], a[2, 3:] = -448.0, 448.0
    a[4] = -0.0
    b = np.ones((k, 4))
    b[:, 2] = -1.0
    b[:, 3] = 0.5
    big = float(acc.fmt.max_finite)
    mac = MacUnit(E4M3, E4M3, accumulator=acc, bias="init")
    bias = np.array([big, -big, big, -0.0])
    res = _same(mac, hwsim.encode(a, E4M3), hwsim.encode(b, E4M3), bias, ref=True)
    if acc.fmt.name == "float16":  # 65504 + 448 overflows binary16 (rne: Inf; rtz: saturates)
        assert res.stats.overflow_events > 0
    assert np.signbit(res.values[4, 3])  # -0 + (-0 * 0.5) ... stays -0


@pytest.mark.parametrize("rounding", ["rne", "rtz"])
def test_binary32_overflow_mid_sum_with_wide_operands(rounding):
    """bfloat16 operands (products up to 2^254 would not fit; the data check
    admits these): 2^63 * 2^63 = 2^126, four of them overflow binary32 at
    step 4 (rne: Inf, one event; rtz: saturation, an event per add beyond),
    then products of the other sign."""
    k = 8
    a = np.full((3, k), 2.0 ** 63)
    a[1, 4:] = -(2.0 ** 63)
    a[2] = 2.0 ** 60
    b = np.full((k, 2), 2.0 ** 63)
    b[:, 1] = 1.0
    mac = MacUnit(BF16, BF16, accumulator=FloatAccumulator("float32", rounding))
    res = _same(mac, hwsim.encode(a, BF16), hwsim.encode(b, BF16), ref=True)
    assert res.stats.overflow_events_per_output[0, 0] >= 1
    if rounding == "rne":
        assert np.isinf(res.stats.max_abs_partial_per_output[0, 0])


@pytest.mark.parametrize("acc", ACCS, ids=lambda a: f"{a.fmt.name}-{a.rounding}")
def test_rtz_register_reaching_the_largest_finite_value_exactly(acc):
    """max |register| = the largest finite value without any overflow: the fast
    path recomputes the row (it cannot tell) and reports no event."""
    big = float(acc.fmt.max_finite)
    f16 = acc.fmt.name == "float16"
    a = np.zeros((2, 4))
    a[0, 0] = 1.0
    a[1, :] = -1.0
    b = np.zeros((4, 3))
    b[0, 0] = 32.0 if f16 else 0.0  # binary16: 65472 + 32 = 65504 exactly
    b[:, 1] = 0.5
    mac = MacUnit(E4M3, E4M3, accumulator=acc, bias="init")
    res = _same(mac, hwsim.encode(a, E4M3), hwsim.encode(b, E4M3),
                np.array([65472.0 if f16 else big, 0.0, -big]), ref=True)
    assert res.stats.max_abs_partial_per_output[0, 0] == big
    assert res.stats.max_abs_partial_per_output[0, 2] == big
    assert res.stats.overflow_events == 0


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 3, 17), (7, 40, 31), (13, 1100, 35)], ids=str)
@pytest.mark.parametrize("acc", [FloatAccumulator("float32", "rne"),
                                 FloatAccumulator("float32", "rtz"),
                                 FloatAccumulator("bfloat16", "rtz")],
                         ids=lambda a: f"{a.fmt.name}-{a.rounding}")
def test_ragged_tiles_and_k_blocks(shape, acc):
    """Rows beyond a 6-row tile, columns beyond a 16-column panel (masked
    loads / stores of the 512-bit kernel), registers and maxima reloaded
    between k blocks of 1024 steps; one and two threads."""
    m, k, n = shape
    rng = np.random.default_rng(m * 1000 + n)
    a = hwsim.encode(rng.standard_normal((m, k)) * 8, E4M3)
    b = hwsim.encode(rng.standard_normal((k, n)), E4M3)
    bias = np.round(rng.standard_normal(n) * 64) / 4
    for where in ("init", "final"):
        mac = MacUnit(E4M3, E4M3, accumulator=acc, bias=where)
        for threads in (1, 2):
            _same(mac, a, b, bias, threads=threads)
