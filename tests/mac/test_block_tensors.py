"""Block-format operands (MX, NVFP4, BFP): each operand value is its element
times its block's factor, exactly; the engine, the fast path and the exact
reference agree, and the OCP MX dot product is Chunked(32) with an exact inner
accumulator."""
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim.errors import UnsupportedModeError
from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator,
                       IntAccumulator, MacUnit, Tree, kulisch, matmul)
from hwsim._ref_mac import round_fraction_to_float
from hwsim.testing.mac_strategies import reference_matmul
from .mac_check import check_against_reference

RNG = np.random.default_rng(31)


def _mx(shape, axis, fmt="mxfp4", scale=1.0):
    x = RNG.standard_normal(shape) * scale
    x *= 2.0 ** RNG.integers(-20, 20, shape)   # blocks with very different scales
    return hwsim.encode(x, fmt, axis=axis)


@pytest.mark.parametrize("acc", [FloatAccumulator("float32"), FloatAccumulator("float32", "rtz"),
                                 FloatAccumulator("bfloat16", "rne"),
                                 FusedMultiTermAccumulator(8, 24)], ids=repr)
def test_mxfp4_operands_fast_general_reference(acc):
    a, b = _mx((3, 70), -1), _mx((70, 4), 0)
    mac = MacUnit("mxfp4", "mxfp4", accumulator=acc)
    res = check_against_reference(mac, a, b)
    gen = matmul(a, b, mac, path="general")
    assert np.array_equal(res.codes, gen.codes)
    if isinstance(acc, FloatAccumulator) and acc.fmt.name == "float32":
        assert res.path == "f32_seq"


def test_mx_spec_dot_is_chunked_exact_then_fp32():
    # OCP MX v1.0: Dot(A, B) = X_A X_B sum_i P_A,i P_B,i per block of 32; with an exact
    # inner sum and each block sum added into an fp32 register (rne):
    a, b = _mx((2, 96), -1, "mxfp8_e4m3"), _mx((96, 3), 0, "mxfp8_e4m3")
    inner = kulisch("float8_e4m3fn", "float8_e4m3fn", 32)
    inner = FixedAccumulator(inner.int_bits + 254, inner.frac_bits + 254)  # scales 2^+-127
    mac = MacUnit("mxfp8_e4m3", "mxfp8_e4m3", accumulator=inner,
                  order=Chunked(32, FloatAccumulator("float32")))
    res = matmul(a, b, mac)
    av, bv = a.values(), b.values()
    f32 = hwsim.format("float32")
    for i in range(2):
        for j in range(3):
            acc = Fraction(0)
            for blk in range(3):   # exact block sum (the scale factors out), one fp32 rounding
                s = sum(Fraction(av[i, k]) * Fraction(bv[k, j])
                        for k in range(32 * blk, 32 * blk + 32))
                t = acc + s
                code, _ = round_fraction_to_float(int(t < 0), abs(t), f32, "rne", "special")
                acc = Fraction(f32.decode_exact(code))
            assert float(res.values[i, j]) == float(acc)
    ref = reference_matmul(a, b, mac)
    assert [[r.code for r in row] for row in ref] == res.codes.tolist()


@pytest.mark.parametrize("fmt", ["nvfp4", "msfp16", "mxint8", "mxfp6_e2m3"])
def test_other_block_formats(fmt):
    a = hwsim.encode(RNG.standard_normal((2, 40)), fmt, axis=-1)
    b = hwsim.encode(RNG.standard_normal((40, 3)), fmt, axis=0)
    for mac in (MacUnit(fmt, fmt, accumulator=FloatAccumulator("float32")),
                MacUnit(fmt, fmt, accumulator=FloatAccumulator("float16", "rtz"), order=Tree(2))):
        check_against_reference(mac, a, b)


def test_block_operand_errors():
    mac = MacUnit("mxfp4", "mxfp4", accumulator=FloatAccumulator("float32"))
    a, b = _mx((2, 64), -1), _mx((64, 2), 0)
    with pytest.raises(TypeError, match="a_codes must be a BlockTensor of mxfp4"):
        matmul(a.codes, b, mac)
    with pytest.raises(ValueError, match="b_codes must have its blocks along the reduction axis"):
        matmul(a, _mx((64, 2), 1), mac)
    with pytest.raises(ValueError, match="a_codes is a BlockTensor of mxfp8_e4m3"):
        matmul(_mx((2, 64), -1, "mxfp8_e4m3"), b, mac)
    with pytest.raises(ValueError, match="a_zero_point applies to integer"):
        matmul(a, b, mac, a_zero_point=1)
    with pytest.raises(UnsupportedModeError, match="a_fmt"):
        kulisch("mxfp4", "mxfp4", 32)
    with pytest.raises(hwsim.FormatError, match="IntAccumulator"):
        MacUnit("mxint8", "mxint8", accumulator=IntAccumulator(32))
    with pytest.raises(UnsupportedModeError, match="codebook"):
        MacUnit("nf4", "int8")


def test_mx_nan_scale_and_extreme_scales_take_the_engine():
    # a NaN block scale (0xFF) makes every value of the block NaN; scales 2^+-127 put
    # products outside binary32: the fast path must decline, results equal the engine
    x = RNG.standard_normal((2, 64))
    x[0, 3] = np.nan
    a = hwsim.encode(x, "mxfp4", axis=-1)
    b = _mx((64, 3), 0)
    mac = MacUnit("mxfp4", "mxfp4", accumulator=FloatAccumulator("float32"))
    res = matmul(a, b, mac)
    assert res.path == "general" and np.isnan(res.values[0]).all()
    big = hwsim.encode(np.full((2, 64), 2.0 ** 120), "mxfp4", axis=-1)
    b_big = _mx((64, 3), 0, scale=2.0 ** 30)
    res = matmul(big, b_big, mac)
    assert res.path == "general"
    assert np.array_equal(res.codes, matmul(big, b_big, mac, path="general").codes)
