"""NVFP4: hand-derived checks (NVIDIA's definition, ModelOpt's arithmetic) and C vs the oracle."""
from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.reference import block as R
from hwsim import formats as bf
from hwsim.codec import block as bfc

pytestmark = pytest.mark.native  # rerun by make test-asan
from hwsim.testing import assert_bits_equal

ARITH = ["float32", "exact"]


def check_vs_ref(x, axis=-1, rounding="rne", tensor_scale=None, arithmetic="float32", fmt=bf.NVFP4,
                 **kw):
    bt = bfc.encode(x, fmt, rounding, axis=axis, tensor_scale=tensor_scale,
                   arithmetic=arithmetic, **kw)
    c, s, ts = R.nvfp4_quantize(x, fmt, axis, rounding, tensor_scale, arithmetic,
                                kw.get("sr_bits"), kw.get("seed", 0), kw.get("index0", 0))
    assert bt.tensor_scale == ts
    assert_bits_equal(bt.scales, s)
    assert_bits_equal(bt.codes, c)
    assert_bits_equal(bt.values(), R.nvfp4_decode(c, s, ts, fmt, axis))
    return bt


def random_tensor(rng, shape, dtype=np.float32, spread=6):
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread, shape))
    return x.astype(dtype)


# ---------------------------------------------------------------------------
# hand-derived
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("arith", ARITH)
def test_unit_scale_block_is_exact(arith):
    # ts = 1, amax 6 -> q = 6 / 6 = 1.0 -> E4M3 code 0x38; E2M1 values are exact:
    # 6 = 0b0111, 3 = 0b0101, -1.5 = 0b1011, 0.5 = 0b0001.
    x = np.array([6.0, 3.0, -1.5, 0.5, 0.0, -0.0], np.float32)
    bt = hwsim.encode(x, "nvfp4", tensor_scale=1.0, arithmetic=arith)
    assert bt.scales.tolist() == [0x38]
    assert bt.codes.tolist() == [0x7, 0x5, 0xB, 0x1, 0x0, 0x8]
    assert_bits_equal(bt.values(), x)


@pytest.mark.parametrize("arith", ARITH)
def test_default_tensor_scale(arith):
    # ts = amax / (6 * 448): amax 2688 -> 1.0; block amax 2688 -> q = 448 (code 0x7E);
    # 2688 / 448 = 6 -> code 7; 1344 / 448 = 3 -> code 5.
    x = np.array([2688.0, 1344.0, 1.0], np.float32)
    bt = hwsim.encode(x, "nvfp4", arithmetic=arith)
    assert bt.tensor_scale == 1.0
    assert bt.scales.tolist() == [0x7E]
    assert bt.codes.tolist()[:2] == [0x7, 0x5]
    assert bfc.default_tensor_scale(np.zeros(4)) == 1.0
    assert bfc.default_tensor_scale(np.array([np.inf, np.nan, 5376.0])) == 2.0
    assert bfc.default_tensor_scale(np.array([1e-40])) == 2.0 ** -117


def test_scale_special_cases():
    # all-zero block: scale set to 1.0 (ModelOpt: "zero values in scale to 1.0")
    bt = hwsim.encode(np.zeros(16), "nvfp4", tensor_scale=1.0)
    assert bt.scales.tolist() == [0x38] and (bt.codes == 0).all()
    # q below 2^-9 clamps to 2^-9 (code 0x01)
    bt = hwsim.encode(np.array([1e-4] * 4), "nvfp4", tensor_scale=1.0)
    assert bt.scales.tolist() == [0x01]
    # q above 448 clamps to 448 (0x7E); elements then saturate at 6 (code 7)
    bt = hwsim.encode(np.array([6.0, -6.0]), "nvfp4", tensor_scale=2.0 ** -10)
    assert bt.scales.tolist() == [0x7E] and bt.codes.tolist() == [0x7, 0xF]
    # q = 1.0625 is the midpoint of E4M3 1.0 and 1.125: ties to even -> 1.0 (0x38)
    bt = hwsim.encode(np.array([6.375, 1.0]), "nvfp4", tensor_scale=1.0)
    assert bt.scales.tolist() == [0x38] and bt.codes.tolist() == [0x7, 0x2]


@pytest.mark.parametrize("arith", ARITH)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_block_nan_scale(arith, bad):
    x = np.ones(40)
    x[20] = bad
    bt = hwsim.encode(x, "nvfp4", arithmetic=arith)
    assert bt.scales.tolist() == [0x7E, 0x7F, 0x7E]  # ts = fl32(1/2688): q = 448 (0x7E)
    v = bt.values()
    assert np.isnan(v[16:32]).all() and not np.isnan(v[:16]).any()
    check_vs_ref(x, arithmetic=arith)


def test_float32_mode_rounds_float64_input_first():
    # 1e39 overflows float32: under arithmetic="float32" the block is non-finite.
    x = np.array([1e39, 1.0])
    assert hwsim.encode(x, "nvfp4", arithmetic="float32").scales.tolist() == [0x7F]
    assert hwsim.encode(x, "nvfp4", arithmetic="exact").scales.tolist() != [0x7F]


def test_float32_double_rounding_differs_from_exact():
    # ts = 1 - 22 * 2^-24 (float32).  6 * ts = 6 - 16.5 * 2^-21 is a float32 tie (ulp 2^-21
    # in [4, 8)) and rounds to even: d6 = 6 - 2^-17, above the exact 6 * ts.  amax =
    # (17/16) * d6 = 6.375 - 17 * 2^-21 is a float32, so float32 q = amax / d6 = 1.0625 exactly,
    # the E4M3 midpoint of 1.0 and 1.125: ties to even -> 1.0 (0x38).  Exact: q = amax / (6 ts)
    # > 1.0625 -> 1.125 (0x39).
    ts = 1.0 - 22 * 2.0 ** -24
    x = np.array([6.375 - 17 * 2.0 ** -21], np.float32)
    assert float(x[0]) == 6.375 - 17 * 2.0 ** -21
    assert hwsim.encode(x, "nvfp4", tensor_scale=ts, arithmetic="float32").scales.tolist() == [0x38]
    assert hwsim.encode(x, "nvfp4", tensor_scale=ts, arithmetic="exact").scales.tolist() == [0x39]
    check_vs_ref(x, tensor_scale=ts, arithmetic="float32")
    check_vs_ref(x, tensor_scale=ts, arithmetic="exact")


def test_exact_mode_keeps_the_remainder_of_the_division():
    # ts = fl32(0.7) has a 24-bit significand, so V / ts has a remainder.  Block [6 ts, V]:
    # amax / (6 ts) = 1 -> s = 1.0.  V = 2.5 ts + ulp(V) (float64) is above the E2M1 midpoint
    # 2.5 by about 2^-52 relative: exact -> 3 (code 5), -V -> code 0xD; 6 ts / ts = 6 (code 7).
    ts = float(np.float32(0.7))
    v = 2.5 * ts
    v = np.nextafter(v, np.inf)
    bt = hwsim.encode(np.array([6 * ts, v, -v]), "nvfp4", tensor_scale=ts, arithmetic="exact")
    assert bt.scales.tolist() == [0x38] and bt.codes.tolist() == [0x7, 0x5, 0xD]
    # the same for the scale: amax = 6 ts * 1.0625 + ulp -> q just above the E4M3 midpoint of
    # 1.0 and 1.125 -> 1.125 (0x39); exactly 6 ts * 1.0625 -> tie -> 1.0 (0x38).
    a = 6 * ts * 1.0625
    assert hwsim.encode(np.array([a]), "nvfp4", tensor_scale=ts,
                        arithmetic="exact").scales.tolist() == [0x38]
    assert hwsim.encode(np.array([np.nextafter(a, np.inf)]), "nvfp4", tensor_scale=ts,
                        arithmetic="exact").scales.tolist() == [0x39]


# ---------------------------------------------------------------------------
# C vs reference
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("arith", ARITH)
@pytest.mark.parametrize("mode", ["rne", "rna", "rtz", "rup", "rdn", "rto"])
def test_random_vs_reference(arith, mode):
    rng = np.random.default_rng(abs(hash((arith, mode))) % 2**32)
    x = random_tensor(rng, (5, 37))
    x[0, :16] = 0
    x[1, 3] = -0.0
    x[2, :4] = [6.0, 5.0, 2.5, 0.25]  # E2M1 maximum and ties
    check_vs_ref(x, rounding=mode, arithmetic=arith)
    check_vs_ref(x, rounding=mode, arithmetic=arith, tensor_scale=float(np.float32(0.0137)))


@pytest.mark.parametrize("arith", ARITH)
def test_float64_input_axes_and_sr_vs_reference(arith):
    rng = np.random.default_rng(8)
    x = random_tensor(rng, (3, 20, 6), np.float64, spread=40)
    for axis in (0, 1, None):
        check_vs_ref(x, axis=axis, arithmetic=arith)
    check_vs_ref(x, rounding="sr", arithmetic=arith, sr_bits=3, seed=7)
    check_vs_ref(x, arithmetic=arith, fmt=bf.NVFP4Format(block_size=8))


def test_tensor_scale_validation():
    x = np.ones(4)
    for bad in (0.0, -1.0, 0.1, 2.0 ** -120, np.inf, "a"):
        with pytest.raises(ValueError):
            hwsim.encode(x, "nvfp4", tensor_scale=bad)
    with pytest.raises(ValueError):
        hwsim.encode(x, "nvfp4", arithmetic="float16")
    assert hwsim.encode(x, "nvfp4", tensor_scale=np.float32(0.1)).tensor_scale == \
        float(np.float32(0.1))


def test_format_object_and_raw_decode():
    f = hwsim.format("nvfp4")
    assert f.kind == "nvfp4" and f.bits == 4 and f.block_size == 16
    assert hwsim.format(f.to_dict()) == f
    g = bf.NVFP4Format(block_size=32)
    assert g.name == "nvfp4_b32" and hwsim.format(g.to_dict()) == g
    x = np.linspace(-5, 5, 50)
    bt = hwsim.encode(x, "nvfp4")
    raw = bfc.decode(bt.codes, "nvfp4", scales=bt.scales, tensor_scale=bt.tensor_scale)
    assert_bits_equal(raw, bt.values())
    with pytest.raises(TypeError):
        bfc.decode(bt.codes, "nvfp4", scales=bt.scales)
    packed = bt.packed("low_first")
    assert packed[0] == (bt.codes[1] << 4) | bt.codes[0]


# fuzz findings (tests/fuzz/findings/block/crash-254ae680..., -3cfea9b1..., -59d46449...,
# -b307bd7e..., -c9d370f2..., -d566e678...: signalling NaNs; -d386bd6f...: 1.5e308, exact)
def _snan(bits):
    return np.array([bits], np.uint64).view(np.float64)[0]


@pytest.mark.parametrize("arith", ARITH)
@pytest.mark.parametrize("tiny", [1.26e-321, 2.1219957905e-314, 7.291122019556397e-304, 0.0])
def test_signalling_nan_input_is_silent_and_matches_reference(arith, tiny):
    # the default tensor scale cast the whole input to float32: a signalling NaN (raw bit
    # pattern) raised FE_INVALID, numpy's "invalid value encountered in cast"
    x = np.array([_snan(0x7FF0000000000001), _snan(0xFFF4000000000000), tiny, 2.0e-289]
                 + [0.0] * 14)
    assert np.isnan(x[:2]).all()
    with np.errstate(all="raise"):
        bt = check_vs_ref(x, arithmetic=arith)
    assert bt.scales.tolist()[0] == 0x7F  # the block with NaN: NaN scale
    assert bt.tensor_scale == float(R.nvfp4_tensor_scale(x, arith))
    with np.errstate(all="raise"):
        assert bfc.default_tensor_scale(x[:2]) == 1.0  # no finite value


F32_MAX = float(np.finfo(np.float32).max)


def test_exact_default_tensor_scale_beyond_float32_is_an_overflow_error():
    # max|x| / 2688 beyond float32: before, fl32 overflowed to an Inf tensor scale (numpy's
    # "overflow encountered in cast"); no FP32 tensor scale represents such a tensor
    x = np.array([-1.5168035825400737e+308])
    with pytest.raises(hwsim.errors.OverflowValueError, match=r"tensor_scale.*exact.*at most"):
        bfc.encode(x, bf.NVFP4, arithmetic="exact")
    with pytest.raises(ValueError, match="beyond float32"):
        R.nvfp4_tensor_scale(x, "exact")
    # the boundary: amax = FLT_MAX * 2688 gives ts = FLT_MAX exactly; the next float64 up
    # still rounds to FLT_MAX; the RNE midpoint (FLT_MAX + half an ulp) * 2688 overflows
    top = F32_MAX * 2688
    for v in (top, np.nextafter(top, np.inf)):
        bt = check_vs_ref(np.array([v, 1.0]), arithmetic="exact")
        assert bt.tensor_scale == F32_MAX
    mid = (2.0 ** 128 - 2.0 ** 103) * 2688
    with pytest.raises(hwsim.errors.OverflowValueError):
        bfc.default_tensor_scale(np.array([mid]), "exact")
    with pytest.raises(ValueError):
        R.nvfp4_tensor_scale(np.array([mid]), "exact")
    assert bfc.default_tensor_scale(np.array([np.nextafter(mid, 0)]), "exact") == F32_MAX
    # arithmetic="float32" rounds the inputs first: 1.5e308 is Inf there, a NaN block
    with np.errstate(all="raise"):
        bt = check_vs_ref(x, arithmetic="float32")
    assert bt.tensor_scale == 1.0 and bt.scales.tolist() == [0x7F]
