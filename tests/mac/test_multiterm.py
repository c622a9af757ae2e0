"""Fused multi-term (tensor-core style) accumulators: equal to the exact
reference on drawn configurations, and the literature's observations
reproduced with hand-derived numbers (Fasi, Higham, Mikaitis, Pranesh,
"Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021; Khattak &
Mikaitis 2025, "Accurate models of NVIDIA tensor cores")."""
import numpy as np
import pytest
from hypothesis import given

import hwsim
from hwsim.mac import (Chunked, FloatAccumulator, FusedMultiTermAccumulator, MacUnit,
                       fused_multi_term_preset, matmul)
from hwsim.testing.mac_strategies import mac_problems, mac_units
from hyp_settings import examples
from .mac_check import check_against_reference

F16 = hwsim.format("float16")
E4M3 = hwsim.format("float8_e4m3fn")


@examples(200)
@given(mac_problems(mac_units(kinds=("multi",))))
def test_multi_term_accumulators_equal_reference(problem):
    check_against_reference(*problem)


def test_presets_window_bits_and_rounding():
    want = {"v100_fp16": (4, 23), "a100_fp16": (8, 24), "a100_bf16": (8, 24),
            "h100_fp16": (16, 25), "h100_fp8": (32, 13)}
    for name, (n, w) in want.items():
        p = fused_multi_term_preset(name)
        assert (p.fan_in, p.window_bits, p.rounding, p.out_fmt.name) == (n, w, "rtz", "float32")
        assert p.shifted_out == "truncate" and p.c_alignment == "joint"
    assert FusedMultiTermAccumulator.from_extra_bits(32, -10) == fused_multi_term_preset("h100_fp8")


def _run(acc, ops_fmt, a_vals, b_vals, c=None):
    a = hwsim.encode(np.array([a_vals], dtype=np.float64), ops_fmt)
    b = hwsim.encode(np.array(b_vals, dtype=np.float64)[:, None], ops_fmt)
    mac = MacUnit(ops_fmt, ops_fmt, accumulator=acc)
    bias = None if c is None else np.array([c])
    assert (hwsim.decode(a, ops_fmt) == np.array([a_vals])).all()
    return float(matmul(a, b, mac, bias=bias).values[0, 0])


def test_v100_rounds_toward_zero_into_binary32():
    # 1.5 + 1.5 + 3*2^-23 (= 1.5*2^-11 * 2^-11): all inside the 24-bit window of the
    # largest exponent (0); exact sum 3 + 3*2^-23 = 3 + 1.5 ulp (ulp(3) = 2^-22 in fp32).
    # rtz keeps 3 + 2^-22; a round-to-nearest adder would give 3 + 2^-21.
    v100 = fused_multi_term_preset("v100_fp16")
    got = _run(v100, F16, [1.5, 1.5, 1.5 * 2 ** -11, 0.0], [1.0, 1.0, 2 ** -11, 0.0])
    assert got == 3 + 2 ** -22
    rn = FusedMultiTermAccumulator(4, 23, rounding="rne")
    assert _run(rn, F16, [1.5, 1.5, 1.5 * 2 ** -11, 0.0], [1.0, 1.0, 2 ** -11, 0.0]) == 3 + 2 ** -21


def test_v100_addition_is_not_monotonic():
    # Derivation (truncation after aligning to the largest exponent, 23 fraction bits):
    # three products p = 1.5*2^-11 * 2^-11 = 3*2^-23 (alignment exponent -22) and c.
    #  c = 2 - 2^-23 (exponent 0): grid 2^-23, each p kept whole:
    #      d = 2 - 2^-23 + 9*2^-23 = 2 + 2^-20            (exact in fp32, rtz keeps it)
    #  c = 2 (exponent 1, larger c): grid 2^-22, each p truncated to 2^-22:
    #      d = 2 + 3*2^-22 = 2 + 0.75*2^-20 < 2 + 2^-20
    # so increasing c by 2^-23 decreases d: the addition is not monotonic.
    v100 = fused_multi_term_preset("v100_fp16")
    a, b = [1.5 * 2 ** -11] * 3 + [0.0], [2 ** -11] * 3 + [0.0]
    small_c = _run(v100, F16, a, b, c=2 - 2 ** -23)
    big_c = _run(v100, F16, a, b, c=2.0)
    assert small_c == 2 + 2 ** -20 and big_c == 2 + 3 * 2 ** -22
    assert big_c < small_c
    # a correctly rounded (fp32 FMA chain, rtz) accumulator is monotonic here
    fma = FloatAccumulator("float32", "rtz")
    assert _run(fma, F16, a, b, c=2.0) >= _run(fma, F16, a, b, c=2 - 2 ** -23)


def _smallest_surviving_increment(acc, ops_fmt, c_from_bias: bool):
    """Smallest 2^e (e in -30..-1) with 1 + 2^e != 1 through the unit."""
    for e in range(-30, 0):
        # 2^e = 2^e1 * 2^e2 with both factors representable in the operand format
        e1 = max(e + 6, -9) if ops_fmt is E4M3 else max(e + 11, -24)
        e2 = e - e1
        if c_from_bias:
            got = _run(acc, ops_fmt, [2.0 ** e1], [2.0 ** e2], c=1.0)
        else:
            got = _run(acc, ops_fmt, [1.0, 2.0 ** e1], [1.0, 2.0 ** e2])
        if got != 1.0:
            return e
    return None


def test_h100_fp8_keeps_about_14_significant_bits():
    # H100 FP8 (fan-in 32, 13 window bits): with the largest term 1.0 (exponent 0) the
    # grid is 2^-13, so 1 + 2^-13 survives and 2^-14 is truncated away: a 14-bit
    # significand (DeepSeek-V3 reports ~14 bits).  The V100 setting keeps 24 bits
    # (2^-23 survives), and an fp32 FMA chain (rne) keeps 2^-23 as well, while rne
    # rounds 1 + 2^-24 back to 1 (fp16 operands: E4M3 products stop at 2^-18).
    h100 = fused_multi_term_preset("h100_fp8")
    assert _smallest_surviving_increment(h100, E4M3, True) == -13
    assert _smallest_surviving_increment(h100, E4M3, False) == -13
    v100 = fused_multi_term_preset("v100_fp16")
    assert _smallest_surviving_increment(v100, F16, True) == -23
    assert _smallest_surviving_increment(FloatAccumulator("float32"), F16, True) == -23


def test_deepseek_promotion_chunked_into_fp32():
    # chunks of 128 products summed by the H100 FP8 model, each chunk added to an fp32
    # register (DeepSeek-V3's promotion): the small terms lost inside one 32-term group
    # are fewer than without promotion
    rng = np.random.default_rng(3)
    a = hwsim.encode(rng.standard_normal((4, 512)), E4M3)
    b = hwsim.encode(rng.standard_normal((512, 4)), E4M3)
    h100 = fused_multi_term_preset("h100_fp8")
    plain = matmul(a, b, MacUnit(E4M3, E4M3, accumulator=h100)).values
    promo = matmul(a, b, MacUnit(E4M3, E4M3, accumulator=h100,
                                 order=Chunked(128, FloatAccumulator("float32")))).values
    exact = hwsim.decode(a, E4M3) @ hwsim.decode(b, E4M3)   # float64: exact here
    assert np.abs(promo - exact).sum() < np.abs(plain - exact).sum()


@pytest.mark.parametrize("rule,want", [("truncate", 1.0), ("sticky", 1.0 + 2 ** -14),
                                       ("round", 1.0 + 2 ** -13)])
def test_shifted_out_rules(rule, want):
    # window 13 bits at exponent 0 (grid 2^-13), term 0.75*2^-13 = 1.5*2^-8 * 2^-6:
    # truncation drops it; the sticky rule keeps a half grid step (2^-14, the bit just
    # below the window, as in the MATLAB models' stkbitenabled); rounding on the window
    # takes 0.75 of a step to one step.  The final rtz into fp32 is then exact.
    acc = FusedMultiTermAccumulator(4, 13, rule, rounding="rtz")
    assert _run(acc, F16, [1.0, 0.75 * 2 ** -7], [1.0, 2 ** -6]) == want
