"""Integer and floating accumulators, sequential order: the C engine equals the
exact reference (hwsim/_ref_mac.py) and independent oracles (Python modular
sums and clamps, numpy float32 adds, MPFR fma chains)."""
import math

import gmpy2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwsim
from hwsim.mac import FloatAccumulator, IntAccumulator, MacUnit, matmul
from hwsim.testing.mac_strategies import mac_problems, mac_units
from hyp_settings import examples
from .mac_check import check_against_reference

RNG = np.random.default_rng(20240601)


@examples(120)
@given(mac_problems(mac_units(kinds=("int",), with_order=False, with_tiling=False,
                              with_product=False)))
def test_int_accumulators_equal_reference(problem):
    check_against_reference(*problem)


@examples(150)
@given(mac_problems(mac_units(kinds=("float",), with_order=False, with_tiling=False,
                              with_product=False)))
def test_float_accumulators_equal_reference(problem):
    check_against_reference(*problem)


def _signed(codes, bits):
    c = codes.astype(np.int64)
    return np.where(c >= 1 << (bits - 1), c - (1 << bits), c)


@pytest.mark.parametrize("bits", [2, 7, 8, 16, 20, 32, 63, 64])
def test_wrapping_int_equals_python_modular_sum(bits):
    a = RNG.integers(0, 256, (5, 40)).astype(np.uint8)
    b = RNG.integers(0, 256, (40, 4)).astype(np.uint8)
    za, zb = -3, np.array([0, 1, -128, 127])
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(bits, "wrap"))
    res = matmul(a, b, mac, a_zero_point=za, b_zero_point=zb)
    av, bv = _signed(a, 8) - za, _signed(b, 8) - zb
    for i in range(5):
        for j in range(4):
            s = sum(int(av[i, k]) * int(bv[k, j]) for k in range(40))
            want = ((s + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))
            assert int(res.values[i, j]) == want


@pytest.mark.parametrize("bits", [4, 12, 16, 20])
def test_saturating_int_equals_stepwise_clamp(bits):
    a = RNG.integers(0, 256, (4, 50)).astype(np.uint8)
    b = RNG.integers(0, 256, (50, 3)).astype(np.uint8)
    mac = MacUnit("int8", "uint8", accumulator=IntAccumulator(bits, "saturate"))
    res = matmul(a, b, mac, b_zero_point=100)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    av, bv = _signed(a, 8), b.astype(np.int64) - 100
    for i in range(4):
        for j in range(3):
            acc, events = 0, 0
            for k in range(50):
                s = acc + int(av[i, k]) * int(bv[k, j])
                acc = min(max(s, lo), hi)
                events += acc != s
            assert int(res.values[i, j]) == acc
            assert int(res.stats.overflow_events_per_output[i, j]) == events


def test_int_values_at_the_overflow_threshold():
    # IntAccumulator(16, saturate): 127*127*2 + 1*1 = 32259; then + 508 -> 32767 exactly
    # (no event), one more product of 1 -> 32768 (one event, clamped to 32767).
    mac = MacUnit("int16", "int16", accumulator=IntAccumulator(16, "saturate"))
    a = np.array([[127, 127, 1, 508, 1]], dtype=np.uint16)
    b = np.array([[127], [127], [1], [1], [0]], dtype=np.uint16)
    res = matmul(a, b, mac)
    assert int(res.values[0, 0]) == 32767 and res.stats.overflow_events == 0
    b[4, 0] = 1
    res = matmul(a, b, mac)
    assert int(res.values[0, 0]) == 32767 and res.stats.overflow_events == 1
    assert res.stats.bits_needed == 17 and res.stats.max_abs_partial == 32768.0


def _np32_loop(av, bv):
    acc = np.float32(0.0)
    for x, y in zip(av, bv):
        acc = np.float32(acc + np.float32(x) * np.float32(y))
    return acc


@pytest.mark.parametrize("ops", ["float8_e4m3fn", "float16", "float8_e5m2"])
@pytest.mark.parametrize("fused", [True, False])
def test_float32_rne_equals_numpy_float32_loop(ops, fused):
    # products of these operands are exact in binary32, so fused == unfused == numpy
    fmt = hwsim.format(ops)
    a = hwsim.encode(RNG.standard_normal((4, 64)) * 8, fmt, overflow="saturate")
    b = hwsim.encode(RNG.standard_normal((64, 5)) * 8, fmt, overflow="saturate")
    # cancellation: each column of b also contains the negated a row values
    b[32:, 0] = hwsim.encode(-hwsim.decode(a[0, :32], fmt), fmt)
    av, bv = hwsim.decode(a, fmt), hwsim.decode(b, fmt)
    res = matmul(a, b, MacUnit(fmt, fmt, accumulator=FloatAccumulator("float32", "rne", fused)))
    for i in range(4):
        for j in range(5):
            want = _np32_loop(av[i], bv[:, j])
            got = np.uint32(res.codes[i, j]).view(np.float32)
            assert got.tobytes() == want.tobytes(), (i, j, got, want)


_MODES = {"rne": gmpy2.RoundToNearest, "rtz": gmpy2.RoundToZero, "rup": gmpy2.RoundUp,
          "rdn": gmpy2.RoundDown}


@pytest.mark.parametrize("acc_fmt,ops", [("float16", "float8_e4m3fn"), ("float32", "float16"),
                                         ("float16", "float8_e5m2")])
@pytest.mark.parametrize("mode", list(_MODES))
def test_fused_float_accumulator_equals_mpfr_fma_chain(acc_fmt, ops, mode):
    fmt = hwsim.format(ops)
    bits = {"float16": 16, "float32": 32}[acc_fmt]
    scale = 300.0 if acc_fmt == "float16" else 1.0
    a = hwsim.encode(RNG.standard_normal((3, 48)) * scale, fmt, overflow="saturate")
    b = hwsim.encode(RNG.standard_normal((48, 3)), fmt, overflow="saturate")
    a[1, :8] = hwsim.encode(np.full(8, 2.0 ** -7), fmt)          # tiny: subnormal sums
    b[:8, 1] = hwsim.encode(np.full(8, 2.0 ** -8), fmt)
    res = matmul(a, b, MacUnit(fmt, fmt, accumulator=FloatAccumulator(acc_fmt, mode, True)))
    av, bv = hwsim.decode(a, fmt), hwsim.decode(b, fmt)
    ctx = gmpy2.ieee(bits)
    ctx.round = _MODES[mode]
    with gmpy2.context(ctx):
        for i in range(3):
            for j in range(3):
                acc = gmpy2.mpfr(0)
                for k in range(48):
                    acc = gmpy2.fma(gmpy2.mpfr(float(av[i, k])), gmpy2.mpfr(float(bv[k, j])), acc)
                want = float(acc)
                got = float(res.values[i, j])
                assert math.copysign(1, got) == math.copysign(1, want) and (
                    got == want or (math.isnan(got) and math.isnan(want))), (i, j, got, want)


def _one(a_val, b_vals, mac, fmt, bias=None):
    a = hwsim.encode(np.array([a_val] * len(b_vals)), fmt)[None, :]
    b = hwsim.encode(np.array(b_vals), fmt)[:, None]
    return matmul(a, b, mac, bias=bias)


@pytest.mark.parametrize("mode,want", [("rne", 1.0), ("rna", 1.0 + 2 ** -10), ("rtz", 1.0),
                                       ("rup", 1.0 + 2 ** -10), ("rdn", 1.0),
                                       ("rto", 1.0 + 2 ** -10)])
def test_float16_accumulator_tie_after_one(mode, want):
    # 1 + 2^-11 is the midpoint between 1 and 1 + 2^-10 (IEEE binary16 spacing
    # at 1): ties-to-even keeps 1, ties-away and upward go up (hand-derived)
    mac = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16", mode))
    res = _one(1.0, [1.0, 2.0 ** -11], mac, hwsim.format("float16"))
    assert float(res.values[0, 0]) == want


@pytest.mark.parametrize("mode,want,events", [("rne", math.inf, 1), ("rtz", 65504.0, 0),
                                              ("rdn", 65504.0, 0), ("rup", math.inf, 1)])
def test_float16_accumulator_overflow_threshold(mode, want, events):
    # 65504 + 16 = 65520: the midpoint between max finite 65504 and 2^16; rne rounds it
    # to 2^16 -> overflow -> Inf; rtz / rdn truncate it to 65504 (no overflow: the value
    # rounded on the unbounded grid is still 65504).  65504 + 32 = 2^16 overflows in every
    # mode; rtz / rdn then give max finite 65504 (IEEE 754 7.4) and count the event.
    f = hwsim.format("float16")
    mac = MacUnit(f, f, accumulator=FloatAccumulator("float16", mode))
    res = _one(1.0, [65504.0, 16.0], mac, f)
    assert float(res.values[0, 0]) == want and res.stats.overflow_events == events
    res = _one(1.0, [65504.0, 32.0], mac, f)
    assert float(res.values[0, 0]) == (65504.0 if mode in ("rtz", "rdn") else math.inf)
    assert res.stats.overflow_events == 1
    res = _one(1.0, [65504.0, 8.0], mac, f)
    assert float(res.values[0, 0]) == (65504.0 if mode != "rup" else math.inf)


def test_exact_zero_signs_follow_ieee():
    f = hwsim.format("float16")
    for mode, want in (("rne", 0.0), ("rdn", -0.0)):
        mac = MacUnit(f, f, accumulator=FloatAccumulator("float16", mode))
        res = _one(1.0, [3.0, -3.0], mac, f)           # cancellation
        assert math.copysign(1, res.values[0, 0]) == math.copysign(1, want)
    mac = MacUnit(f, f, accumulator=FloatAccumulator("float16", "rne"))
    res = _one(-0.0, [1.0, 2.0], mac, f, bias=np.array([-0.0]))   # starts at -0; + -0 + -0
    assert math.copysign(1, res.values[0, 0]) == -1.0
    res = _one(-0.0, [1.0, 2.0], mac, f)                            # starts at +0; + -0 + -0
    assert math.copysign(1, res.values[0, 0]) == 1.0


def test_nan_and_inf_operands():
    f = hwsim.format("float16")
    mac = MacUnit(f, f, accumulator=FloatAccumulator("float32"))
    inf, nan, ninf = f.inf_code, f.nan_code, f.inf_code | f.sign_bit
    one = int(hwsim.encode(np.array([1.0]), f)[0])
    a = np.array([[inf, one], [nan, one], [0, inf], [inf, 0]], dtype=np.uint16)
    b = np.array([[one, one], [one, ninf]], dtype=np.uint16)
    v = matmul(a, b, mac).values
    assert v[0, 0] == math.inf and math.isnan(v[0, 1])      # inf + 1 ; inf + (-inf)
    assert math.isnan(v[1, 0]) and math.isnan(v[1, 1])      # nan propagates
    assert v[2, 0] == math.inf and v[2, 1] == -math.inf     # 0 + inf ; 0 + inf * -inf
    assert v[3, 0] == math.inf and math.isnan(v[3, 1])      # inf + 0 ; inf + 0 * -inf
    res = matmul(a, b, mac)
    assert int(res.codes[1, 0]) == hwsim.format("float32").nan_code
