"""Requantization styles against plain-Python references and hand-derived values."""
import numpy as np
import pytest

from hwsim.ops.requant import Requant, onnx_multiplier, quantize_multiplier, rdbpot, srdhm
from layers_refimpl import (ref_onnx, ref_quantize_multiplier, ref_shift, ref_tflite,
                                 ref_tflite_single)


def test_quantize_multiplier_hand_values():
    # frexp(0.5) = (0.5, 0): m = 2^30, shift 0; frexp(1.0) = (0.5, 1)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    # q just below 1: q*2^31 rounds up to 2^31 -> renormalised to 2^30, shift + 1
    assert quantize_multiplier(1 - 2.0 ** -40) == (1 << 30, 1)
    # 2^-40: frexp exponent -39 < -31 flushes to zero
    assert quantize_multiplier(2.0 ** -40) == (0, 0)
    # tie: q*2^31 = x.5 rounds away from zero (q = 0.5 + 2^-32)
    assert quantize_multiplier(0.5 + 2.0 ** -32) == ((1 << 30) + 1, 0)


def test_quantize_multiplier_matches_reference():
    rng = np.random.default_rng(1)
    for M in np.concatenate([rng.uniform(0, 1, 300), 2.0 ** rng.uniform(-40, 35, 300)]):
        assert quantize_multiplier(float(M)) == ref_quantize_multiplier(float(M)), M


def test_srdhm_rdbpot_hand_values():
    # gemmlowp semantics: ties toward +inf in SRDHM, away from zero in RDBPOT
    assert srdhm(1, 1 << 30) == 1      # 0.5 -> 1
    assert srdhm(-1, 1 << 30) == 0     # -0.5 -> 0
    assert srdhm(3, 1 << 30) == 2      # 1.5 -> 2
    assert srdhm(-3, 1 << 30) == -1    # -1.5 -> -1
    assert srdhm(-(1 << 31), -(1 << 31)) == (1 << 31) - 1   # the one saturating case
    assert rdbpot(5, 1) == 3 and rdbpot(-5, 1) == -3 and rdbpot(-6, 2) == -2 and rdbpot(6, 2) == 2
    assert rdbpot(7, 2) == 2 and rdbpot(-7, 2) == -2


@pytest.mark.parametrize("style", ["tflite", "tflite_single"])
def test_tflite_styles_vs_reference(style):
    rng = np.random.default_rng(7)
    C = 5
    sw = rng.uniform(1e-4, 0.05, C)
    sw[0] = 2.0 ** -8  # a power of two: exact multiplier, ties reachable
    rq = Requant.from_scales(style, 0.037, sw, 0.11, zero_point=-3, qmin=-128, qmax=127)
    acc = rng.integers(-2 ** 20, 2 ** 20, (40, C))
    acc[0] = [2 ** 31 - 1, -2 ** 31, 0, 1, -1]
    acc[1, 0] = 2 ** 40  # saturated to int32 first
    got = rq.apply(acc)
    ref = ref_tflite if style == "tflite" else ref_tflite_single
    for r in range(acc.shape[0]):
        for c in range(C):
            m, s = int(rq.multiplier[c]), int(rq.shift[c])
            assert got[r, c] == ref(int(acc[r, c]), m, s, -3, -128, 127), (r, c)


def test_tflite_ties_differ_from_single_rounding():
    # M = 3/4 * 2^-3 (exact): x = 4 gives 0.375 -> SRDHM(4*..)... choose x so x*M = k + 1/2
    rq = Requant.from_scales("tflite", 1.0, 0.25, 1.0, 0, -1000, 1000)   # M = 1/4
    rs = Requant.from_scales("tflite_single", 1.0, 0.25, 1.0, 0, -1000, 1000)
    x = np.array([[2], [-2], [6], [-6], [5], [-5]])
    # x/4 = 0.5, -0.5, 1.5, -1.5: double rounding rounds ties away from zero,
    # single rounding ties toward +inf (hand-derived from numerics.md section 7).
    # x = 5: m = 2^30, shift = -1; SRDHM gives 2.5 -> 3, RDBPOT 3/2 -> 2: the
    # double rounding of gemmlowp turns 1.25 into 2, single rounding gives 1.
    assert rq.apply(x).ravel().tolist() == [1, -1, 2, -2, 2, -1]
    assert rs.apply(x).ravel().tolist() == [1, 0, 2, -1, 1, -1]


def test_onnx_style_vs_reference():
    rng = np.random.default_rng(3)
    C = 4
    sw = rng.uniform(1e-4, 0.02, C).astype(np.float32).astype(np.float64)
    s_in, s_out = float(np.float32(0.0213)), float(np.float32(0.173))
    rq = Requant.from_scales("onnx", s_in, sw, s_out, zero_point=5, qmin=-128, qmax=127)
    acc = rng.integers(-2 ** 26, 2 ** 26, (60, C))  # > 2^24: float32 conversion rounds
    got = rq.apply(acc)
    for r in range(acc.shape[0]):
        for c in range(C):
            assert got[r, c] == ref_onnx(int(acc[r, c]), s_in, float(sw[c]), s_out, 5, -128, 127)
    assert onnx_multiplier(s_in, sw, s_out).dtype == np.float32


def test_onnx_ties_go_to_even():
    rq = Requant.from_scales("onnx", 1.0, 0.5, 1.0, 0, -100, 100)
    x = np.array([[1], [3], [5], [-1], [-3]])
    assert rq.apply(x).ravel().tolist() == [0, 2, 2, 0, -2]  # 0.5, 1.5, 2.5, -0.5, -1.5


@pytest.mark.parametrize("mode", ["rne", "rna", "rtz", "rup", "rdn"])
def test_shift_style_vs_reference(mode):
    rng = np.random.default_rng(11)
    sw = np.array([2.0 ** -3, 2.0 ** -5, 2.0 ** -1, 2.0 ** 2])
    rq = Requant.from_scales("shift", 1.0, sw, 1.0, zero_point=1, qmin=-128, qmax=127, rounding=mode)
    assert rq.shift.tolist() == [3, 5, 1, -2]
    acc = rng.integers(-600, 600, (50, 4))
    got = rq.apply(acc)
    for r in range(50):
        for c in range(4):
            assert got[r, c] == ref_shift(int(acc[r, c]), int(rq.shift[c]), mode, 1, -128, 127)


def test_shift_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power-of-two"):
        Requant.from_scales("shift", 1.0, 0.3, 1.0, 0, -128, 127)


def test_requant_dict_round_trip_and_axis():
    rq = Requant.from_scales("tflite", 0.02, [0.01, 0.03], 0.1, 2, -128, 127)
    rq2 = Requant.from_dict(rq.to_dict())
    acc = np.arange(-200, 200, 10).reshape(1, 2, 20)
    a = rq.apply(acc, axis=1)
    b = rq2.apply(np.moveaxis(acc, 1, -1))
    assert np.array_equal(a, np.moveaxis(b, -1, 1))
