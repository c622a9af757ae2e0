"""Block-format operands for the scalar MAC units (hwsim.mac.block) against the oracles.

Oracles: ``hwsim.reference`` block decoders (Fractions) for the operand values,
and plain-Python loops of exact Fraction sums rounded with
``reference.round_fraction_to_float`` for the two datapaths (per MAC, and
OCP MX v1.0 section 6.2 per-block dot products).
"""
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim import reference as R
from hwsim.mac.block import (block_dot_unit, inner_exact_accumulator, matmul_blocks,
                              scalar_format, to_scalar)
from hwsim.formats import PRESETS
from hwsim.mac import Chunked, FixedAccumulator, FloatAccumulator, MacUnit, matmul

F16 = PRESETS["float16"]
F32 = PRESETS["float32"]

BLOCK_FORMATS = ["mxfp4", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxint8",
                 "nvfp4", "msfp12", "msfp16", "nf4"]


def _data(rng, shape, span=40):
    """Wide dynamic range (per row 2^-span .. 2^span), exact zeros and negative zeros."""
    x = rng.normal(0, 1, shape) * np.exp2(rng.integers(-span, span, shape[:-1] + (1,)))
    x.reshape(-1)[::7] = 0.0
    x.reshape(-1)[3::11] = -0.0
    return x


def _ref_values(bt):
    f = bt.fmt
    ax = -1 if bt.axis is None else bt.axis
    if f.kind == "mx":
        return R.mx_decode(bt.codes, bt.scales, f, ax)
    if f.kind == "nvfp4":
        return R.nvfp4_decode(bt.codes, bt.scales, bt.tensor_scale, f, ax)
    if f.kind == "bfp":
        return R.bfp_decode(bt.codes, bt.scales, f, ax)
    return R.codebook_decode(bt.codes, bt.scales, f, ax)


def _bits_equal(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return bool(np.all((a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("name", BLOCK_FORMATS)
def test_to_scalar_exact_vs_oracle(name):
    rng = np.random.default_rng(BLOCK_FORMATS.index(name))
    x = _data(rng, (3, 70))
    if name.startswith("mx") or name == "nvfp4":
        x[1, 5] = np.nan  # a NaN block: NaN scale, every element NaN
    bt = hwsim.encode(x, name, axis=1)
    so = to_scalar(bt)
    got = hwsim.decode(so.codes, so.fmt) * so.post_scale
    assert _bits_equal(got, _ref_values(bt))
    assert _bits_equal(got, bt.values())
    assert so.codes.shape == x.shape and so.fmt == scalar_format(name)
    if name.startswith("mx") or name == "nvfp4":
        assert np.isnan(got[1, :16]).all()


def test_scalar_format_widths_hand_derived():
    # OCP MX v1.0: E2M1 has 1 mantissa bit, E8M0 scales 2^-127..2^127: the element's mantissa
    # and enough exponent range (2^-1 * 2^-127 .. 6 * 2^127) -> 9 exponent bits
    f = scalar_format("mxfp4")
    assert (f.man_bits, f.exp_bits) == (1, 9) and f.emin <= -128 and f.emax >= 129
    # NVFP4: e2m1 (2 significant bits) times e4m3 (4) -> 6 bits; 1.5 * 1.875 = 2.8125 = 0b101101
    # * 2^-4 needs all six; range 0.5 * 2^-9 .. 6 * 448 = 2688
    g = scalar_format("nvfp4")
    assert g.precision == 6 and g.emin <= -10 and g.max_finite >= 2688
    code = hwsim.encode(np.array([1.5 * 1.875, 0.5 * 2.0 ** -9, 2688.0]), g)
    assert hwsim.decode(code, g).tolist() == [2.8125, 2.0 ** -10, 2688.0]
    # MXINT8: k / 64 with |k| <= 127 needs 7 significant bits
    assert scalar_format("mxint8").precision == 7
    # NF4: float32 codebook value (<= 24 bits) times float32 absmax (24) -> <= 48 bits
    assert scalar_format("nf4").precision <= 48


def _fl(v: Fraction, fmt):
    """Fraction rounded once (rne, overflow to Inf) into fmt, as a float."""
    sign = 1 if v < 0 else 0
    code, _ = R.round_fraction_to_float(sign, abs(v), fmt, "rne", "special")
    return float(fmt.decode_exact(code)) if fmt.classify(code) not in ("inf", "nan") \
        else float(hwsim.decode(np.array([code], fmt.code_dtype), fmt)[0])


def test_nf4_bitsandbytes_dequant_vs_fraction_reference():
    rng = np.random.default_rng(7)
    bt = hwsim.encode(_data(rng, (2, 128)) * 1e-3, "nf4", axis=1)
    for fmt in (F16, PRESETS["bfloat16"]):
        so = to_scalar(bt, fmt.name)
        assert so.fmt == fmt and so.post_scale == 1.0
        got = hwsim.decode(so.codes, fmt)
        table = bt.fmt.values
        want = np.empty(bt.shape)
        for r in range(bt.shape[0]):
            for i in range(bt.shape[1]):
                absmax = Fraction(float(bt.scales[r, i // 64]))
                p32 = _fl(Fraction(table[int(bt.codes[r, i])]) * absmax, F32)  # fl32(v * absmax)
                want[r, i] = _fl(Fraction(p32), fmt)                            # then fl16 / flbf16
        assert np.array_equal(got, want)
    # exact model: the float64 product value * absmax, no rounding
    assert _bits_equal(hwsim.decode(to_scalar(bt).codes, scalar_format("nf4")), bt.values())


def _loop_per_mac(av, bv, bias, fmt):
    """acc = bias; acc = fl(acc + a_k b_k) for every k (fused: one rounding per MAC)."""
    return _loop_per_block(av, bv, bias, fmt, 1)


def _loop_per_block(av, bv, bias, fmt, bs):
    """OCP MX 6.2: acc = bias; per block: acc = fl(acc + exact sum of the block's products)."""
    M, K = av.shape
    N = bv.shape[1]
    out = np.empty((M, N))
    for i in range(M):
        for j in range(N):
            acc = Fraction(float(bias[j]))
            for k0 in range(0, K, bs):
                s = sum(Fraction(float(av[i, k])) * Fraction(float(bv[k, j]))
                        for k in range(k0, min(K, k0 + bs)))
                acc = Fraction(_fl(acc + s, fmt))
            out[i, j] = float(acc)
    return out


@pytest.mark.parametrize("name", ["mxfp4", "mxfp8_e4m3", "mxint8", "nvfp4", "nf4"])
def test_per_mac_fp16_matmul_vs_loop(name):
    rng = np.random.default_rng(11)
    A = hwsim.encode(_data(rng, (3, 40), 3), name, axis=1)
    B = hwsim.encode(_data(rng, (2, 40), 3).T, name, axis=0)
    a, b = to_scalar(A), to_scalar(B)
    bias = np.array([0.25, -1.5])
    if name == "nf4":  # exact NF4 products need 96 significand bits: fp16 dequant (bitsandbytes)
        a, b = to_scalar(A, "float16"), to_scalar(B, "float16")
    acc = F32 if name == "nvfp4" else F16  # NVFP4 values before the tensor scale reach 2688
    mac = MacUnit(a.fmt, b.fmt, accumulator=FloatAccumulator(acc))
    res = matmul(a.codes, b.codes, mac, bias=bias)
    av = hwsim.decode(a.codes, a.fmt)
    bv = hwsim.decode(b.codes, b.fmt)
    assert np.array_equal(res.values, _loop_per_mac(av, bv, bias, acc))
    if name != "nf4":  # the operands the MAC saw are the block values (tensor scales aside)
        assert _bits_equal(av * a.post_scale, _ref_values(A))


@pytest.mark.parametrize("name,inner", [("mxfp4", "float"), ("mxfp8_e4m3", "float"),
                                        ("mxfp8_e5m2", "fixed"), ("mxint8", "float"),
                                        ("nvfp4", "float")])
def test_ocp_block_dot_vs_loop(name, inner):
    rng = np.random.default_rng(13)
    A = hwsim.encode(_data(rng, (2, 70), 3), name, axis=1)       # K = 70: a partial last block
    B = hwsim.encode(_data(rng, (3, 70), 3).T, name, axis=0)
    bias = np.array([1.0, 0.0, -2.0 ** -3])
    acc = F32 if name == "nvfp4" else F16
    r = matmul_blocks(A, B, outer=FloatAccumulator(acc), bias=bias)
    # inner accumulator: float64 is exact when a block sum needs <= 53 bits; E5M2 products
    # span 2^-32 .. 2^31.6 (57344^2), 32 of them need 69 bits: a Kulisch register instead
    assert r.result.stats is not None
    unit = block_dot_unit(A.fmt, B.fmt, FloatAccumulator(F16))
    assert isinstance(unit.accumulator, FixedAccumulator if inner == "fixed" else FloatAccumulator)
    av = hwsim.decode(r.a.codes, r.a.fmt)
    bv = hwsim.decode(r.b.codes, r.b.fmt)
    want = _loop_per_block(av, bv, bias, acc, A.block_size)
    assert np.array_equal(r.result.values, want)
    assert np.array_equal(r.real, want * (r.a.post_scale * r.b.post_scale))


def test_block_dot_differs_from_per_mac_in_fp16():
    # hand-made MXFP8 E4M3 blocks: per MAC in fp16, 2048 + 1 + 1 stays 2048 (ties to even,
    # ulp(2048) = 2 in binary16); the exact block sum 2050 is representable
    x = np.array([[256.0, 1.0, 1.0] + [0.0] * 29])
    w = np.array([[8.0, 1.0, 1.0] + [0.0] * 29]).T
    A = hwsim.encode(x, "mxfp8_e4m3", axis=1)
    B = hwsim.encode(w, "mxfp8_e4m3", axis=0)
    blk = matmul_blocks(A, B, outer=FloatAccumulator(F16))
    a, b = blk.a, blk.b
    per = matmul(a.codes, b.codes, MacUnit(a.fmt, b.fmt, accumulator=FloatAccumulator(F16)))
    assert blk.real[0, 0] == 2050.0 and per.values[0, 0] == 2048.0


def test_inner_accumulator_and_errors():
    assert isinstance(inner_exact_accumulator("mxfp4", "mxfp4", 32), FloatAccumulator)
    assert isinstance(inner_exact_accumulator("mxfp8_e5m2", "mxfp8_e5m2", 32), FixedAccumulator)
    rng = np.random.default_rng(0)
    A = hwsim.encode(rng.normal(0, 1, (2, 64)), "mxfp4", axis=0)   # blocked along M, not K
    B = hwsim.encode(rng.normal(0, 1, (64, 2)), "mxfp4", axis=0)
    with pytest.raises(ValueError, match="blocked along K"):
        matmul_blocks(A, B, outer=FloatAccumulator(F32))
    A = hwsim.encode(rng.normal(0, 1, (2, 64)), "mxfp4", axis=1)
    with pytest.raises(ValueError, match="exactly one"):
        matmul_blocks(A, B)
    with pytest.raises(ValueError, match="scalar formats"):
        matmul_blocks(A, B, mac=MacUnit("float16", "float16", accumulator=FloatAccumulator(F32)))
    with pytest.raises(TypeError, match="BlockTensor"):
        to_scalar(np.zeros(3))
    with pytest.raises(hwsim.errors.FormatError, match="block or codebook"):
        scalar_format("float16")


@pytest.mark.parametrize("name", ["mxfp4", "mxfp8_e5m2", "mxint8", "msfp12", "nvfp4"])
def test_scalar_codes_match_native_block_operands(name):
    # two independent routes to the same products: scalar codes of element * block factor
    # (this module) and hwsim.mac's own BlockTensor operands; every accumulator / order
    # then gives the same bits (NVFP4 with tensor scale 1: here it is an epilogue factor)
    rng = np.random.default_rng(17)
    kw = {"tensor_scale": 1.0} if name == "nvfp4" else {}
    A = hwsim.encode(_data(rng, (3, 70), 3), name, axis=1, **kw)
    B = hwsim.encode(_data(rng, (2, 70), 3).T, name, axis=0, **kw)
    a, b = to_scalar(A), to_scalar(B)
    bs = A.block_size
    for acc, order in ((FloatAccumulator(F16), None), (FloatAccumulator(F32, "rtz"), None),
                       (inner_exact_accumulator(name, name, bs), Chunked(bs, FloatAccumulator(F16)))):
        kw2 = {} if order is None else {"order": order}
        mine = matmul(a.codes, b.codes, MacUnit(a.fmt, b.fmt, accumulator=acc, **kw2))
        native = matmul(A, B, MacUnit(A.fmt, B.fmt, accumulator=acc, **kw2))
        assert np.array_equal(mine.codes, native.codes)
