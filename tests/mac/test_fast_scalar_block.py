"""Block operands as the network feeds them: scalar codes of the wide formats of
``hwsim.mac.block.to_scalar`` (e.g. ``mxfp8_e4m3_scalar``, 9 exponent bits) into a per-MAC
float register.  The float fast paths serve them after checking the codes present
(``hwsim.mac.fast._data_checked``); every case equals the general engine bit for bit (and
the exact reference on a small case), extreme scales take the engine, threads change
nothing."""
import numpy as np
import pytest

import hwsim
from hwsim import native as _native
from hwsim.mac import FloatAccumulator, MacUnit, matmul
from hwsim.mac import fastcheck as F
from hwsim.mac.block import to_scalar
from .mac_check import check_against_reference

pytestmark = [pytest.mark.native, pytest.mark.portable]

SIMD = bool(_native.lib.hw_mac_simd())
RNG = np.random.default_rng(2026)
ACCS = [FloatAccumulator("float32"), FloatAccumulator("float32", "rtz"),
        FloatAccumulator("float16"), FloatAccumulator("float16", "rtz"),
        FloatAccumulator("bfloat16"), FloatAccumulator("float16", "rne", False)]


def _path(acc):
    if acc.fmt.name == "float32":
        return "f32_seq" if (SIMD or acc.rounding == "rne") else "general"
    if not acc.fused:  # products not provably exact in float16 for every code
        return "general"
    return "narrow_seq" if SIMD else "general"


def _scalar(shape, fmt, axis, spread=6, scale=1.0):
    x = RNG.standard_normal(shape) * scale
    x *= 2.0 ** RNG.integers(-spread, spread + 1, shape)
    return to_scalar(hwsim.encode(x, fmt, axis=axis))


def _same(fast, gen):
    assert np.array_equal(fast.codes, gen.codes)
    if fast.stats is not None:
        for name in ("overflow_events_per_output", "max_abs_partial_per_output"):
            assert np.array_equal(getattr(fast.stats, name), getattr(gen.stats, name)), name


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp4", "mxfp6_e2m3"])
@pytest.mark.parametrize("acc", ACCS, ids=repr)
def test_scalar_codes_of_mx_operands_fast_equals_general(fmt, acc):
    a, b = _scalar((37, 150), fmt, -1), _scalar((150, 21), fmt, 0)
    mac = MacUnit(a.fmt, b.fmt, accumulator=acc)
    assert a.fmt.exp_bits > 8  # wider than binary32: the data decides
    for stats in (False, True):
        fast = matmul(a.codes, b.codes, mac, stats=stats, bias=np.float64(0.25))
        gen = matmul(a.codes, b.codes, mac, stats=stats, bias=np.float64(0.25), path="general")
        assert fast.path == _path(acc)
        _same(fast, gen)


def test_scalar_codes_against_the_exact_reference():
    a, b = _scalar((3, 40), "mxfp4", -1), _scalar((40, 4), "mxfp4", 0)
    for acc in (FloatAccumulator("float32"), FloatAccumulator("float16")):
        check_against_reference(MacUnit(a.fmt, b.fmt, accumulator=acc), a.codes, b.codes)


def test_extreme_and_nan_scales_take_the_engine():
    f32 = FloatAccumulator("float32")
    # products beyond 2^128, products below binary32's subnormals, a NaN block scale
    big = _scalar((4, 64), "mxfp8_e4m3", -1, spread=0, scale=2.0 ** 100)
    small = _scalar((4, 64), "mxfp8_e4m3", -1, spread=0, scale=2.0 ** -110)
    b_big = _scalar((64, 5), "mxfp8_e4m3", 0, spread=0, scale=2.0 ** 40)
    b_small = _scalar((64, 5), "mxfp8_e4m3", 0, spread=0, scale=2.0 ** -30)
    x = RNG.standard_normal((4, 64))
    x[1, 2] = np.nan
    nan = to_scalar(hwsim.encode(x, "mxfp8_e4m3", axis=-1))
    for a, b in ((big, b_big), (small, b_small), (nan, b_big)):
        assert np.any(a.codes != 0) and np.any(b.codes != 0)
        mac = MacUnit(a.fmt, b.fmt, accumulator=f32)
        res = matmul(a.codes, b.codes, mac)
        assert res.path == "general"
        assert np.array_equal(res.codes, matmul(a.codes, b.codes, mac, path="general").codes)
    # the same small operand against an ordinary one: products in range, the fast path
    b = _scalar((64, 5), "mxfp8_e4m3", 0, spread=0)
    mac = MacUnit(small.fmt, b.fmt, accumulator=f32)
    res = matmul(small.codes, b.codes, mac)
    assert res.path == _path(f32)  # rne: the portable build has f32_seq too
    assert np.array_equal(res.codes, matmul(small.codes, b.codes, mac, path="general").codes)


def test_data_check_bounds_at_binary32_limits():
    # 1-bit operands: lowest bit 2^-149 is binary32's, 2^-150 is not; products the same
    assert F._exact_f32(2.0 ** -149, 1.0, 1.0, 1.0, 1, 1)
    assert not F._exact_f32(2.0 ** -150, 1.0, 1.0, 1.0, 1, 1)
    assert not F._exact_f32(2.0 ** -100, 1.0, 2.0 ** -50, 1.0, 1, 1)
    assert F._exact_f32(2.0 ** -100, 1.0, 2.0 ** -49, 1.0, 1, 1)
    # a 4-bit value 1.875 * 2^-146 has its lowest bit at 2^-149
    assert F._exact_f32(1.875 * 2.0 ** -146, 1.0, 1.0, 1.0, 4, 1)
    assert not F._exact_f32(1.875 * 2.0 ** -147, 1.0, 1.0, 1.0, 4, 1)
    assert not F._exact_f32(1.0, 2.0 ** 64, 1.0, 2.0 ** 64, 1, 1)
    assert F._exact_f32(1.0, 2.0 ** 63, 1.0, 2.0 ** 64, 1, 1)
    assert F._exact_f32(1.0, 0.0, 2.0 ** -149, 1.0, 1, 1)   # a zero operand
    assert not F._exact_f32(1.0, 0.0, 2.0 ** -150, 1.0, 1, 1)


def test_scalar_fast_paths_do_not_depend_on_threads():
    a, b = _scalar((130, 300), "mxfp4", -1), _scalar((300, 70), "mxfp4", 0)
    for acc in (FloatAccumulator("float32"), FloatAccumulator("float16")):
        mac = MacUnit(a.fmt, b.fmt, accumulator=acc)
        r1 = matmul(a.codes, b.codes, mac, threads=1)
        for t in (2, 5):
            rt = matmul(a.codes, b.codes, mac, threads=t)
            assert r1.path == rt.path == _path(acc)
            _same(r1, rt)


@pytest.mark.parametrize("fmt,spread,short", [("mxfp4", 0, True), ("mxfp8_e4m3", 8, False)])
def test_narrow_register_with_and_without_short_products(fmt, spread, short):
    # short: every product on the float16 grid with <= 11 bits (the kernel's cheaper mode)
    a, b = _scalar((40, 96), fmt, -1, spread), _scalar((96, 33), fmt, 0, spread)
    lohi = (*F._codes_lo_hi(a.codes, a.fmt), *F._codes_lo_hi(b.codes, b.fmt))
    pa, pb = F.sig_bits(a.fmt), F.sig_bits(b.fmt)
    assert F._exact_f32(*lohi, pa, pb)
    assert F._short_data(lohi, pa, pb, hwsim.format("float16")) == short
    for acc in (FloatAccumulator("float16"), FloatAccumulator("float16", "rtz"),
                FloatAccumulator("bfloat16")):
        mac = MacUnit(a.fmt, b.fmt, accumulator=acc)
        for stats in (False, True):
            fast = matmul(a.codes, b.codes, mac, stats=stats)
            assert fast.path == _path(acc)
            _same(fast, matmul(a.codes, b.codes, mac, stats=stats, path="general"))


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4",
                                 "mxint8"])
def test_mx_to_scalar_table_equals_encoding_the_values(fmt):
    # to_scalar of MX tensors looks codes up in a table checked once per (scale, element);
    # it must equal encoding BlockTensor.values() into the scalar format: NaN blocks, -0,
    # scales from 2^-127 to 2^127, a partial last block, every axis
    from hwsim.mac.block import _mx_scalar_codes, scalar_format
    for shape, axis in [((2, 70, 5, 3), 1), ((3, 64), -1), ((64, 7), 0), ((40,), None)]:
        x = RNG.standard_normal(shape) * 2.0 ** RNG.integers(-120, 120, shape)
        x.reshape(-1)[3] = np.nan
        x.reshape(-1)[5] = -0.0
        bt = hwsim.encode(x, fmt, axis=axis) if axis is not None else hwsim.encode(x, fmt)
        sf = scalar_format(bt.fmt)
        want = hwsim.encode(bt.values(), sf, "rne")
        got = _mx_scalar_codes(bt, sf)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        assert np.array_equal(to_scalar(bt).codes, want)


@pytest.mark.parametrize("name", ["float32", "float16"])
def test_bias_exactness_check_by_conversion_equals_encoding(name):
    # operands._exact_in checks binary32 / binary16 biases by a numpy conversion (the
    # per-call cost of grouped convolutions); it must equal the encode / decode check
    from hwsim.codec import decode, encode
    from hwsim.mac.operands import _exact_in
    fmt = hwsim.format(name)
    tiny, top = fmt.min_subnormal, fmt.max_finite
    edge = [0.0, -0.0, tiny, tiny / 2, tiny * 1.5, tiny * 3, top, -top, top * (1 + 2.0 ** -12),
            top * 2, 2.0 ** (fmt.emin - 1), 1 + 2.0 ** -fmt.man_bits, 1 + 2.0 ** -(fmt.man_bits + 1),
            np.inf, -np.inf, np.nan, 1e300, -1e-300]
    rnd = RNG.standard_normal(3000) * 2.0 ** RNG.integers(-160, 140, 3000)
    v = np.concatenate([edge, rnd, decode(encode(rnd, fmt, "rne", "saturate"), fmt)])
    q = decode(encode(np.where(np.isnan(v), 0.0, v), fmt, "rtz", "saturate"), fmt)
    want = (q == v) | np.isnan(v) | np.isinf(v)
    assert np.array_equal(_exact_in(v, fmt), want)
    assert want.sum() > 3000 and (~want).sum() > 1000
