"""Classic block floating point (BFP, MSFP): hand-derived checks and C vs the oracle."""
from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.reference import block as R
from hwsim import formats as bf
from hwsim.codec import block as bfc
from hwsim.errors import FormatError, NaNInputError
from hwsim.testing import assert_bits_equal

pytestmark = pytest.mark.native  # rerun by make test-asan

MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto"]
FORMATS = [bf.MSFP12, bf.MSFP16, bf.BFPFormat(4, 5, 8, "twos_complement"),
           bf.BFPFormat(1, 3, 3), bf.BFPFormat(12, 10, 7, "twos_complement")]


def check_vs_ref(x, fmt, axis=-1, rounding="rne", **kw):
    bt = bfc.encode(x, fmt, rounding, axis=axis, **kw)
    c, s = R.bfp_quantize(x, fmt, axis, rounding, kw.get("sr_bits"), kw.get("seed", 0),
                          kw.get("index0", 0))
    assert_bits_equal(bt.codes, c)
    assert_bits_equal(bt.scales, s)
    assert_bits_equal(bt.values(), R.bfp_decode(c, s, fmt, axis))
    return bt


def test_msfp12_hand_values():
    # MSFP12: 8-bit shared exponent, sign + 3 magnitude bits.  Block max exponent E = 0
    # (|1.0|); k = |x| * 2^(3 - 1 - 0) = 4|x|: 1.0 -> 4, 0.5 -> 2, -0.75 -> 3 (sign bit 8),
    # 0.1 -> 0.4 -> 0.  Stored exponent 0 + 127.
    bt = hwsim.encode(np.array([1.0, 0.5, -0.75, 0.1]), "msfp12")
    assert bt.scales.tolist() == [127]
    assert bt.codes.tolist() == [4, 2, 8 | 3, 0]
    assert bt.values().tolist() == [1.0, 0.5, -0.75, 0.0]


def test_saturation_and_twos_complement_range():
    # 1.99: E = 0, k = 7.96 -> rne 8 > 7 -> saturates at 7 (1.75).
    assert hwsim.quantize(np.array([1.99]), "msfp12").tolist() == [1.75]
    tc = bf.BFPFormat(3, mantissa="twos_complement")
    # two's complement reaches -8: -1.99 -> k = 8 -> code (-8) & 0xF = 8, value -2.0.
    bt = hwsim.encode(np.array([1.99, -1.99, -0.25]), tc)
    assert bt.codes.tolist() == [7, 8, 15]
    assert bt.values().tolist() == [1.75, -2.0, -0.25]


def test_msfp16_and_rounding_modes():
    # MSFP16: k = |x| * 2^(7 - 1 - E).  x = [1.0, 0.0078125 * 1.5]: E = 0, step 1/64;
    # 0.01171875 * 64 = 0.75 -> rne 1, rtz 0, rup 1, rdn 0; negated: rdn -> 1 (magnitude).
    x = np.array([1.0, 0.01171875, -0.01171875])
    got = {m: hwsim.encode(x, "msfp16", m).codes.tolist() for m in MODES}
    assert got["rne"] == [64, 1, 128 | 1]
    assert got["rtz"] == [64, 0, 128 | 0]
    assert got["rup"] == [64, 1, 128 | 0]
    assert got["rdn"] == [64, 0, 128 | 1]


def test_shared_exponent_limits_inf_and_zero():
    f = bf.BFPFormat(3, exp_bits=4)  # bias 7: E in [-7, 8]
    bt = hwsim.encode(np.array([2.0 ** 20, 1.0]), f)  # E 20 > 8 -> 8; 2^20 saturates at 7
    assert bt.scales.tolist() == [8 + 7] and bt.codes.tolist() == [7, 0]
    bt = hwsim.encode(np.array([2.0 ** -20]), f)  # E -20 < -7 -> -7; k = 2^-11 -> 0
    assert bt.scales.tolist() == [0] and bt.codes.tolist() == [0]
    bt = hwsim.encode(np.array([np.inf, -np.inf, 3.0]), "msfp12")  # Inf: E = max = 128
    assert bt.scales.tolist() == [255] and bt.codes.tolist() == [7, 15, 0]
    bt = hwsim.encode(np.array([0.0, -0.0]), "msfp12")  # zeros: smallest exponent, sign kept
    assert bt.scales.tolist() == [0] and bt.codes.tolist() == [0, 8]
    with pytest.raises(NaNInputError, match=r"x\[1\]"):
        hwsim.encode(np.array([1.0, np.nan]), "msfp12")


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("mode", MODES)
def test_random_vs_reference(fmt, mode):
    rng = np.random.default_rng(abs(hash((fmt.name, mode))) % 2**32)
    x = (rng.standard_normal((6, 41)) * np.exp2(rng.integers(-12, 12, (6, 41)))).astype(np.float32)
    x[0, :10] = 0
    x[1, 0] = -0.0
    x[2, :fmt.block_size] = 2.0 ** rng.integers(-3, 3)  # powers of two: exact k at 2^(m-1)
    x[3, 4] = np.inf
    x[4, :3] = [1e-40, -3e-39, 2.0 ** -149]  # float32 subnormals
    check_vs_ref(x, fmt, rounding=mode)


def test_axes_float64_and_sr_vs_reference():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 9, 4)) * np.exp2(rng.integers(-600, 600, (5, 9, 4)))
    for axis in (0, 1, None):
        check_vs_ref(x, bf.BFPFormat(6, exp_bits=10, block_size=4), axis=axis)
    check_vs_ref(x, bf.MSFP16, rounding="sr", sr_bits=8, seed=3)


def test_names_and_dicts():
    assert hwsim.format("msfp12") == bf.BFPFormat(3, 8, 16)
    assert hwsim.format("msfp16").bits == 8
    f = hwsim.format("bfp5_b32")
    assert (f.man_bits, f.block_size, f.exp_bits, f.bits) == (5, 32, 8, 6)
    for g in [f, bf.MSFP12, bf.BFPFormat(4, 5, 8, "twos_complement")]:
        assert hwsim.format(g.to_dict()) == g
    assert bf.BFPFormat(4, 5, 8, "twos_complement").name == "bfp4_b8_e5_tc"
    for kw in [dict(man_bits=0), dict(man_bits=3, exp_bits=11), dict(man_bits=3, mantissa="x")]:
        with pytest.raises(FormatError):
            bf.BFPFormat(**kw)


def test_raw_decode_and_scale_dtype():
    x = np.linspace(-1, 1, 33)
    bt = hwsim.encode(x, "msfp16")
    assert bt.scales.dtype == np.uint8 and bt.codes.dtype == np.uint8
    assert_bits_equal(bfc.decode(bt.codes, "msfp16", scales=bt.scales), bt.values())
    wide = bf.BFPFormat(12, exp_bits=10)
    assert hwsim.encode(x, wide).scales.dtype == np.uint16
