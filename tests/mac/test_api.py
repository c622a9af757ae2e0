"""MacUnit configuration objects, the matmul / dot / trace API, bad input,
statistics and analytic bounds."""
import json
import math

import numpy as np
import pytest
from hypothesis import given

import hwsim
from hwsim.errors import FormatError, OverflowValueError, UnsupportedModeError
from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator,
                       IntAccumulator, MacUnit, Sequential, Tiles, Tree, a2q_bits, a2q_l1_bits,
                       dot, kulisch, matmul, trace, worst_case_bits)
from hwsim.testing.mac_strategies import mac_units
from hyp_settings import examples

RNG = np.random.default_rng(7)


@examples(200)
@given(mac_units())
def test_mac_unit_json_round_trip(mac):
    d = json.loads(json.dumps(mac.to_dict()))
    assert MacUnit.from_dict(d) == mac


def test_kulisch_width_e4m3_k32_is_42_bits():
    # numerics.md section 6: E4M3 x E4M3, K = 32 -> W = 42, LSB 2^-18
    acc = kulisch("float8_e4m3fn", "float8_e4m3fn", 32)
    assert acc.width == 42 and acc.frac_bits == 18
    acc = kulisch("int8", "int8", 1024)
    assert acc.width == 8 + 8 + 10 and acc.frac_bits == 0


def test_bounds_hand_values():
    # worst case N + M + ceil(log2 K); A2Q (Colbert et al. 2023): alpha = log2 K + N + M - 1
    # - [x signed]; int8 x int8, K = 64, signed x: alpha = 20, P = ceil(20 + log2(1 + 2^-20)
    # + 1) = 22; unsigned x: alpha = 21 -> 23.  l1 bound: ||w||_1 = 1000, N = 8, signed x:
    # alpha = log2(1000) + 7 = 16.97 -> P = ceil(16.97 + tiny + 1) = 18.
    assert worst_case_bits(8, 8, 64) == 22 and worst_case_bits(4, 4, 1000) == 18
    assert a2q_bits(8, 8, 64, True) == 22 and a2q_bits(8, 8, 64, False) == 23
    assert a2q_l1_bits(1000, 8, True) == 18 and a2q_l1_bits(0, 8, True) == 1
    assert a2q_l1_bits(1, 1, True) == 2        # alpha = 0: ceil(0 + 1 + 1) = 2


def test_stats_bounds_in_a_matmul():
    a = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    b = RNG.integers(0, 256, (64, 2)).astype(np.uint8)
    res = matmul(a, b, MacUnit("int8", "int8", accumulator=IntAccumulator(32)))
    bv = b.astype(np.int64)
    bv = np.where(bv >= 128, bv - 256, bv)
    l1 = np.abs(bv).sum(axis=0)
    assert res.stats.worst_case_bits == 22 and res.stats.a2q_bits == 22
    assert res.stats.a2q_l1_bits.tolist() == [a2q_l1_bits(int(x), 8, True) for x in l1]
    exact = np.where(a >= 128, a.astype(np.int64) - 256, a).dot(bv)
    assert (res.values == exact).all() and res.stats.overflow_events == 0
    # bits needed bounds every partial sum, so it is at least the final sums' width
    widths = [(int(v) if v >= 0 else ~int(v)).bit_length() + 1 for v in exact.ravel()]
    assert res.stats.bits_needed >= max(widths)
    assert (res.stats.bits_needed_per_output <= res.stats.a2q_l1_bits[None, :]).all()


def test_threads_do_not_change_results():
    f = hwsim.format("float8_e4m3fn")
    a = RNG.integers(0, 256, (40, 96)).astype(np.uint8)
    b = RNG.integers(0, 256, (96, 24)).astype(np.uint8)
    for acc in (FloatAccumulator("float16", "rtz"), IntAccumulator(12, "saturate")):
        mac = MacUnit(f if not isinstance(acc, IntAccumulator) else "int8",
                      f if not isinstance(acc, IntAccumulator) else "int8", accumulator=acc)
        r1 = matmul(a, b, mac, threads=1)
        r2 = matmul(a, b, mac, threads=2)
        assert np.array_equal(r1.codes, r2.codes)
        for name in ("overflow_events_per_output", "max_abs_partial_per_output"):
            assert np.array_equal(getattr(r1.stats, name), getattr(r2.stats, name))


def test_batched_matmul_and_dot_agree_with_2d():
    mac = MacUnit("float8_e5m2", "float8_e5m2", accumulator=FloatAccumulator("bfloat16", "rne"))
    a = RNG.integers(0, 0x7B, (2, 3, 4, 10)).astype(np.uint8)
    b = RNG.integers(0, 0x7B, (3, 10, 5)).astype(np.uint8)
    res = matmul(a, b, mac)
    assert res.codes.shape == (2, 3, 4, 5)
    for t in range(2):
        for u in range(3):
            r = matmul(a[t, u], b[u], mac)
            assert np.array_equal(res.codes[t, u], r.codes)
    d = dot(a[0, 0], b[0].T[:, None, :], mac)            # [5, 4] dots
    assert np.array_equal(d.codes, res.codes[0, 0].T)
    shared = matmul(a, b[0], mac)
    assert np.array_equal(shared.codes[1, 2], matmul(a[1, 2], b[0], mac).codes)


def test_trace_steps_chain_and_end_at_the_result():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(10, "saturate"), bias="final")
    a = RNG.integers(0, 256, (2, 20)).astype(np.uint8)
    b = RNG.integers(0, 256, (20, 3)).astype(np.uint8)
    bias = np.array([100, -7, 3])
    res = matmul(a, b, mac, bias=bias, a_zero_point=5)
    tr = trace(a, b, mac, 1, 2, bias=bias, a_zero_point=5)
    assert [s["kind"] for s in tr.steps] == ["mac"] * 20 + ["bias"]
    for s0, s1 in zip(tr.steps, tr.steps[1:]):
        assert s0["after"] == s1["before"]
    assert tr.steps[-1]["after"] == int(res.codes[1, 2]) == int(tr.code)
    ev = sum("overflow" in s["events"] for s in tr.steps)
    assert ev == int(res.stats.overflow_events_per_output[1, 2])
    for s in tr.steps[:-1]:
        assert s["input"] == s["a_value"] * s["b_value"]
        assert s["a_value"] == (s["a_code"] - 256 if s["a_code"] > 127 else s["a_code"]) - 5


# ---------------------------------------------------------------------------
# bad input: clear errors naming the parameter
# ---------------------------------------------------------------------------
def _raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_bad_configurations_name_the_parameter():
    _raises(FormatError, "bits", IntAccumulator, 1)
    _raises(FormatError, "bits", IntAccumulator, 65)
    _raises(ValueError, "overflow", IntAccumulator, 8, "clip")
    _raises(ValueError, "below_lsb", FixedAccumulator, 8, 4, "nearest")
    _raises(FormatError, "int_bits \\+ frac_bits", FixedAccumulator, 4000, 400)
    _raises(FormatError, "fmt", FloatAccumulator, "int8")
    _raises(UnsupportedModeError, "fmt", FloatAccumulator, "float8_e8m0fnu")
    _raises(ValueError, "rounding", FloatAccumulator, "float16", "sr")
    _raises(FormatError, "window_bits", FusedMultiTermAccumulator, 4, 101)
    _raises(FormatError, "fan_in", Tree, 1)
    _raises(FormatError, "chunk", Chunked, 0, FloatAccumulator("float32"))
    _raises(FormatError, "T", Tiles, 0, "int12")
    _raises(ValueError, "mode", Tiles, 4, "int12", mode="spill")
    _raises(ValueError, "psum_adder", Tiles, 4, "int12", "rne", "reload", None, IntAccumulator(16))
    _raises(FormatError, "a_fmt=float64", MacUnit, "float64", "float32")
    _raises(FormatError, "accumulator=IntAccumulator", MacUnit, "float16", "float16",
            accumulator=IntAccumulator(32))
    _raises(UnsupportedModeError, "Tree", MacUnit, "float16", "float16",
            accumulator=FusedMultiTermAccumulator(4, 23), order=Tree(2))
    _raises(TypeError, "accumulator", MacUnit, "int8", "int8", accumulator="int32")
    _raises(FormatError, "a_fmt", MacUnit, "nope", "int8")


def test_bad_inputs_name_the_parameter():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16))
    a = np.zeros((2, 3), np.uint8)
    b = np.zeros((4, 2), np.uint8)
    _raises(ValueError, "K=3.*K=4", matmul, a, b, mac)
    _raises(ValueError, "a_codes must be", matmul, a[0], b, mac)
    _raises(TypeError, "a_codes", matmul, a.astype(np.float32), b[:3], mac)
    _raises(ValueError, "a_codes\\[1, 2\\] = 300", matmul, np.array([[0, 0, 0], [0, 0, 300]]),
            b[:3], mac)
    _raises(ValueError, "a_zero_point must be in \\[-128, 127\\]", matmul, a, b[:3], mac,
            a_zero_point=200)
    _raises(ValueError, "b_zero_point must be a scalar or have 2", matmul, a, b[:3], mac,
            b_zero_point=[1, 2, 3])
    _raises(TypeError, "bias", matmul, a, b[:3], mac, bias=np.array([0.5, 0.0]))
    fmac = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"))
    _raises(ValueError, "a_zero_point applies to integer", matmul, a.astype(np.uint16),
            b[:3].astype(np.uint16), fmac, a_zero_point=1)
    _raises(ValueError, "bias value 0.1 is not exactly representable", matmul,
            a.astype(np.uint16), b[:3].astype(np.uint16), fmac, bias=np.array([0.1, 0.0]))
    _raises(TypeError, "mac must be a MacUnit", matmul, a, b[:3], "int8")
    _raises(ValueError, "batch dimensions", matmul, np.zeros((2, 2, 3), np.uint8),
            np.zeros((3, 3, 2), np.uint8), mac)
    _raises(ValueError, "threads", matmul, a, b[:3], mac, threads=0)


def test_overflow_error_policy_raises_with_position():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, "error"))
    a = np.array([[1, 1], [100, 100]], np.uint8)
    b = np.array([[1], [1]], np.uint8)
    with pytest.raises(OverflowValueError, match=r"accumulator overflowed at output \[1, 0\], "
                                                 r"term k=1"):
        matmul(a, b, mac)
    f = hwsim.format("float16")
    mac = MacUnit(f, f, accumulator=FloatAccumulator("float16", overflow="error"))
    big = hwsim.encode(np.array([[60000.0, 60000.0]]), f)
    with pytest.raises(OverflowValueError, match="accumulator"):
        matmul(big, hwsim.encode(np.array([[1.0], [1.0]]), f), mac)


def test_nan_into_integer_product_format_is_an_error():
    f = hwsim.format("float16")
    mac = MacUnit(f, f, product="int16", accumulator=IntAccumulator(32))
    a = np.array([[f.nan_code]], np.uint16)
    with pytest.raises(hwsim.NaNInputError, match="product"):
        matmul(a, np.array([[0x3C00]], np.uint16), mac)


def test_empty_reduction_gives_zero_or_bias():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16))
    res = matmul(np.zeros((2, 0), np.uint8), np.zeros((0, 3), np.uint8), mac,
                 bias=np.array([1, 2, 3]))
    assert res.values.tolist() == [[1, 2, 3]] * 2
    fm = MacUnit("float16", "float16", accumulator=FloatAccumulator("float32"))
    res = matmul(np.zeros((1, 0), np.uint16), np.zeros((0, 1), np.uint16), fm)
    assert res.values[0, 0] == 0.0 and math.copysign(1, res.values[0, 0]) == 1


def test_k_beyond_a_kulisch_accumulator_is_refused():
    acc = kulisch("float8_e4m3fn", "float8_e4m3fn", 32)
    mac = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
    a = np.zeros((1, 64), np.uint8)
    with pytest.raises(ValueError, match="K=64 .*exact for 32 terms"):
        matmul(a, np.zeros((64, 1), np.uint8), mac)
    ok = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=acc,
                 order=Chunked(32, FloatAccumulator("float32")))
    assert matmul(a, np.zeros((64, 1), np.uint8), ok).values[0, 0] == 0.0
    with pytest.raises(FormatError, match="T must be in"):
        Tiles(1 << 31, "int12")


def test_bad_codes_are_reported_whatever_the_path():
    for acc in (IntAccumulator(32), IntAccumulator(20, "saturate")):
        mac = MacUnit("int8", "int8", accumulator=acc)
        for stats in (False, True):
            with pytest.raises(ValueError, match=r"a_codes\[1, 2\] = 300"):
                matmul(np.array([[0, 0, 0], [0, 0, 300]], np.uint16), np.zeros((3, 2), np.uint8),
                       mac, stats=stats)
    fmac = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float32"))
    with pytest.raises(ValueError, match=r"b_codes\[0, 1\] = 256"):
        matmul(np.zeros((2, 3), np.uint16), np.array([[0, 256], [0, 0], [0, 0]], np.uint16), fmac)


def test_per_batch_bias_and_zero_points():
    # [B, M, K] x [B, K, N] with a [B, N] bias and [B, N] zero points (e.g. conv groups)
    mac = MacUnit("uint8", "uint8", accumulator=IntAccumulator(20, "saturate"))
    a = RNG.integers(0, 256, (3, 4, 30)).astype(np.uint8)
    b = RNG.integers(0, 256, (3, 30, 5)).astype(np.uint8)
    bias = RNG.integers(-1000, 1000, (3, 5))
    zb = RNG.integers(0, 256, (3, 5))
    res = matmul(a, b, mac, bias=bias, a_zero_point=7, b_zero_point=zb)
    for t in range(3):
        r = matmul(a[t], b[t], mac, bias=bias[t], a_zero_point=7, b_zero_point=zb[t])
        assert np.array_equal(res.values[t], r.values)
        assert np.array_equal(res.stats.overflow_events_per_output[t],
                              r.stats.overflow_events_per_output)
    assert res.stats.overflow_per_column.shape == (3, 5)
    assert res.stats.overflow_per_column.sum() == res.stats.overflow_events


def test_bias_beyond_an_integer_register_meets_its_overflow_policy():
    a = np.array([[1, 2]], np.uint8)
    b = np.array([[1], [1]], np.uint8)
    for ovf, want in (("saturate", 127), ("wrap", (300 - 256) + 3)):
        mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, ovf))
        res = matmul(a, b, mac, bias=np.array([300]))
        assert int(res.values[0, 0]) == want
        assert res.stats.overflow_events >= 1
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, "error"))
    with pytest.raises(OverflowValueError, match="accumulator"):
        matmul(a, b, mac, bias=np.array([300]))
