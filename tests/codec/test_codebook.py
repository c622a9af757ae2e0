"""Codebooks (NF4, user codebooks), nibble packing and PWLQ vs the reference."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import hwsim
from hwsim.reference import block as R
from hwsim import formats as cb
from hwsim import tensors as cbt
from hwsim.errors import FormatError, NaNInputError, OverflowValueError, UnsupportedModeError
from hwsim.testing import assert_bits_equal

pytestmark = pytest.mark.native  # rerun by make test-asan

# numerics.md section 5 (QLoRA / bitsandbytes NF4 table, float32 values)
NF4_SPEC = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
            -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
            0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
            0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]


def check_vs_ref(x, fmt, axis=-1):
    bt = hwsim.encode(x, fmt, axis=axis)
    c, s = R.codebook_quantize(x, fmt, axis)
    assert_bits_equal(bt.codes, c)
    assert_bits_equal(bt.scales, s)
    assert_bits_equal(bt.values(), R.codebook_decode(c, s, fmt, axis))
    return bt


# ---------------------------------------------------------------------------
# NF4
# ---------------------------------------------------------------------------
def test_nf4_table():
    f = hwsim.format("nf4")
    assert list(f.values) == NF4_SPEC
    assert all(float(np.float32(v)) == v for v in f.values)  # float32 values
    assert f.bits == 4 and f.block_size == 64 and f.kind == "codebook"
    assert hwsim.format(f.to_dict()) == f


def test_nf4_exact_values_and_absmax():
    # absmax = 2 (block max); x / 2 equal to table entries gives their index exactly.
    x = np.array([2.0 * v for v in NF4_SPEC], np.float32)
    bt = hwsim.encode(x, "nf4")
    assert bt.scales.tolist() == [2.0]
    assert bt.codes.tolist() == list(range(16))
    assert_bits_equal(bt.values(), x)


def test_nf4_tie_goes_to_lower_index():
    # y exactly halfway between NF4[8] and NF4[9] (exact in float64: both are float32)
    # -> 8; the next float64 up -> 9.  Halfway between 0 (index 7) and NF4[8] -> 7, and
    # between NF4[6] and 0 -> 6; just above those midpoints -> the upper index.
    mid89 = (NF4_SPEC[8] + NF4_SPEC[9]) / 2
    mid78 = NF4_SPEC[8] / 2
    mid67 = NF4_SPEC[6] / 2
    x = np.array([1.0, mid89, np.nextafter(mid89, 1), mid78, mid67,
                  np.nextafter(mid78, 1), np.nextafter(mid67, 1)])
    assert hwsim.encode(x, "nf4").codes.tolist() == [15, 8, 9, 7, 6, 8, 7]
    check_vs_ref(x, cb.NF4)


def test_zero_block_and_partial_block():
    x = np.zeros(70)
    x[66] = -3.0
    bt = check_vs_ref(x, cb.NF4)
    assert bt.scales.tolist() == [0.0, 3.0]
    assert (bt.codes[:64] == 7).all() and bt.codes[66] == 0  # 0 -> index 7, -3/3 = -1 -> 0
    assert bt.pad == 58


def test_random_nf4_and_user_codebook_vs_reference():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((3, 150)) * np.exp2(rng.integers(-5, 5, (3, 150)))).astype(np.float32)
    check_vs_ref(x, cb.NF4)
    check_vs_ref(x.astype(np.float64) * 1e-300, cb.NF4, axis=0)
    check_vs_ref(x, cb.NF4, axis=None)
    uni = cb.CodebookFormat(np.linspace(-1, 1, 8), block_size=10)  # 3-bit uniform
    assert uni.bits == 3
    bt = check_vs_ref(x, uni)
    assert bt.codes.max() <= 7
    odd = cb.CodebookFormat([-0.9, -0.1, 0.1 + 2 ** -40, 1.0], block_size=5, name="odd")
    check_vs_ref(x, odd)


def test_codebook_validation_and_errors():
    for vals in ([0.5], [0.2, 0.1], [-2.0, 1.0], [0.0, float("nan")]):
        with pytest.raises(FormatError):
            cb.CodebookFormat(vals)
    with pytest.raises(NaNInputError, match=r"x\[1\]"):
        hwsim.encode(np.array([1.0, np.nan]), "nf4")
    with pytest.raises(OverflowValueError):
        hwsim.encode(np.array([1.0, -np.inf]), "nf4")
    with pytest.raises(OverflowValueError):
        hwsim.encode(np.array([1e300]), "nf4")  # absmax beyond float32
    with pytest.raises(UnsupportedModeError):
        hwsim.encode(np.array([1.0]), "nf4", "rtz")


# ---------------------------------------------------------------------------
# nibble packing
# ---------------------------------------------------------------------------
def test_pack_nibbles():
    # bitsandbytes order: first element in the high nibble; odd count padded with 0.
    assert cbt.pack_nibbles(np.array([1, 2, 3], np.uint8)).tolist() == [0x12, 0x30]
    assert cbt.pack_nibbles(np.array([1, 2, 3], np.uint8), "low_first").tolist() == [0x21, 0x03]
    rng = np.random.default_rng(0)
    c = rng.integers(0, 16, 101).astype(np.uint8)
    for order in ("high_first", "low_first"):
        p = cbt.pack_nibbles(c, order)
        assert p.tolist() == R.pack_nibbles_ref(c, order)
        assert_bits_equal(cbt.unpack_nibbles(p, c.size, order), c)
    bt = hwsim.encode(rng.standard_normal(10), "nf4")
    assert_bits_equal(cbt.unpack_nibbles(bt.packed(), 10), bt.codes)
    with pytest.raises(ValueError):
        cbt.pack_nibbles(np.array([16]))
    with pytest.raises(ValueError):
        cbt.unpack_nibbles(np.zeros(2, np.uint8), 5)
    with pytest.raises(ValueError):
        hwsim.encode(np.ones(3), "mxfp8_e4m3").packed()


# ---------------------------------------------------------------------------
# PWLQ
# ---------------------------------------------------------------------------
def test_pwlq_hand_values():
    # Fang et al. (authors' code, option 2), 2 centre bits, 2 tail bits, m = 1, p = 0.5:
    # s_c = 2p / 3 = 1/3; 0.2 / s_c = 0.6 -> 1 -> 1/3 (code 0b001).  s_t = (m - p) / 1 = 0.5:
    # 0.8 -> (0.8 - 0.5) / 0.5 = 0.6 -> 1 -> 1.0 (code 0b1_0_1 = 5); -0.8 -> (-0.8 + 1) / 0.5
    # = 0.4 -> 0 -> -1.0 (code 0b1_1_0 = 6); -1.0 -> 0 -> -1.0 (6); -0.3 -> -0.9 -> -1 (0b011).
    f = cb.PWLQFormat(2, 2)
    x = np.array([0.2, 0.8, -0.8, -1.0, -0.3])
    bt = hwsim.encode(x, f, breakpoint=0.5)
    assert bt.codes.tolist() == [1, 5, 6, 6, 3]
    assert_bits_equal(bt.values(), [1 / 3, 1.0, -1.0, -1.0, -1 / 3])
    assert f.bits == 3 and bt.maxabs.tolist() == 1.0 and bt.breakpoint.tolist() == 0.5


@pytest.mark.parametrize("bits", [(4, 4), (3, 5), (6, 2)])
def test_pwlq_vs_reference(bits):
    f = cb.PWLQFormat(*bits)
    rng = np.random.default_rng(sum(bits))
    x = rng.standard_normal((6, 50)) * rng.choice([0.1, 1, 5], (6, 1))
    x[0, :3] = [0.0, -0.0, 1e-300]
    for axis, bp in [(None, 0.7), (0, np.linspace(0.05, 0.9, 6) * np.abs(x).max(axis=1)),
                     (None, None), (0, None)]:
        bt = hwsim.encode(x, f, axis=axis, breakpoint=bp)
        c, m, p = R.pwlq_quantize(x, f, bt.breakpoint, axis)
        assert_bits_equal(bt.codes, c)
        assert_bits_equal(bt.maxabs, m)
        assert_bits_equal(bt.values(), R.pwlq_decode(c, m, p, f, axis))


def test_pwlq_search_minimizes_error_on_the_grid():
    rng = np.random.default_rng(9)
    x = rng.laplace(size=2000)
    f = cb.PWLQFormat(4, 4)
    bt = hwsim.encode(x, f)
    m = float(np.abs(x).max())
    p = float(bt.breakpoint)

    def err(pv):  # independent: reference codes and values, Python float sum
        c, mm, pp = R.pwlq_quantize(x, f, pv)
        return float(np.sum((x - R.pwlq_decode(c, mm, pp, f)) ** 2))

    ps, idx = hwsim.codec.pwlq_candidates(m)
    assert idx == list(range(100, 1000, 100))
    assert p in {(m * i) / 1000.0 for i in range(1, 1000)}  # a point of the search grid
    e = err(p)
    assert all(e <= err(c) for c in ps)  # no coarse grid point beats the choice
    assert e < err(0.5 * m)


def test_pwlq_zero_tensor_and_errors():
    bt = hwsim.encode(np.zeros((2, 3)), "pwlq4")
    assert (bt.codes == 0).all() and (bt.values() == 0).all() and bt.breakpoint.tolist() == 0.0
    with pytest.raises(ValueError):
        hwsim.encode(np.array([1.0, 2.0]), "pwlq4", breakpoint=3.0)
    with pytest.raises(NaNInputError):
        hwsim.encode(np.array([1.0, np.nan]), "pwlq4")
    with pytest.raises(FormatError):
        cb.PWLQFormat(1, 4)
    f = hwsim.format("pwlq5")
    assert (f.center_bits, f.tail_bits, f.bits) == (5, 5, 6)
    g = cb.PWLQFormat(3, 6)
    assert hwsim.format(g.to_dict()) == g and g.name == "pwlq_c3_t6"


def test_pwlq_subnormal_maxabs_skips_breakpoints_whose_step_underflows():
    # fuzz finding (tests/fuzz/findings/block/): max|x| = 4.68e-321; the fine search reached
    # p = fl(m * i / 1000) with s_c = 2p / 255 = 0 in float64, and 0 / 0 gave a NaN code
    # (numpy "invalid value encountered in cast").  Such breakpoints are not candidates.
    f = hwsim.format("pwlq8")
    x = np.zeros(14)
    x[0] = 4.68e-321
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bt = hwsim.encode(x, f)
    m, p = float(bt.maxabs), float(bt.breakpoint)
    assert hwsim.codec.codebook.usable_breakpoint(m, p, f)
    c, _, _ = R.pwlq_quantize(x, f, p)
    assert_bits_equal(bt.codes, c)
    assert_bits_equal(bt.values(), R.pwlq_decode(c, m, p, f))
    # too small for any grid point: a clean error, also for a given breakpoint
    with pytest.raises(OverflowValueError, match="underflows"):
        hwsim.encode(np.array([5e-324, 0.0]), f)
    with pytest.raises(OverflowValueError, match="breakpoint"):
        hwsim.encode(np.array([4.68e-321, 0.0]), f, breakpoint=5e-324)


def test_mx_float16_elements_decode_fast_and_exact():
    """A user MX format with float16 elements: its element table comes from the C decoder
    in one call (fuzz finding timeout-bd6de7eb: 65536 Python exact decodes took 7.5 s), and
    equals the exact decode of every code bit for bit (signed zeros, NaNs in place)."""
    import time
    from fractions import Fraction

    import hwsim
    from hwsim.codec.blocktensor import _float_lut

    f = hwsim.format("float16")
    _float_lut.cache_clear()
    t = time.perf_counter()
    lut = _float_lut(f)
    assert time.perf_counter() - t < 1.0
    for c in range(0, 1 << 16, 37):
        want = f.decode_exact(c)
        if isinstance(want, Fraction):
            v = float(want)
            if v == 0 and c & f.sign_bit:
                v = -0.0
            assert lut[c] == v and np.signbit(lut[c]) == np.signbit(v), c
        else:
            assert np.isnan(lut[c]) == (want != want) or lut[c] == float(want), c
