"""Hypothesis: random formats, block sizes, shapes, axes, modes and values; the C
kernels (and numpy codebook path) agree with the Fraction oracle bit for bit."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import hwsim
from hwsim import _ref_block as R
from hwsim import blockformats as bf
from hwsim import codebook as cb
from hyp_settings import examples

MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto", "sr"]
ELEMS = ["float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn",
         "mxint8", "float8_e4m3", "e3m4"]


@st.composite
def tensors(draw, finite=True, max_dims=3):
    """Float tensors mixing random values over a wide range with exact powers of two,
    zeros, signed zeros and (optionally) NaN / Inf."""
    ndim = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    span = draw(st.integers(0, 60))
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-span, span + 1, shape))
    special = rng.random(shape)
    pow2 = np.exp2(rng.integers(-10, 10, shape)) * rng.choice([-1, 1], shape)
    x = np.where(special < 0.1, pow2, x)
    x = np.where((special >= 0.1) & (special < 0.15), 0.0, x)
    x = np.where((special >= 0.15) & (special < 0.18), -0.0, x)
    if not finite:
        x = np.where(special > 0.985, rng.choice([np.nan, np.inf, -np.inf], shape), x)
    x = x.astype(dtype)
    axis = draw(st.sampled_from([None] + list(range(-ndim, ndim))))
    return x, axis


def _sr(mode, draw_bits, seed):
    return dict(sr_bits=draw_bits, seed=seed) if mode == "sr" else {}


@examples(300)
@given(tensors(finite=False), st.sampled_from(ELEMS), st.integers(1, 12), st.sampled_from(MODES),
       st.integers(1, 12), st.integers(0, 1000), st.sampled_from([-127, -128]))
def test_mx_matches_reference(xa, elem, bs, mode, r, seed, imin):
    x, axis = xa
    fmt = bf.MXFormat(elem, block_size=bs, int8_min=imin)
    kw = _sr(mode, r, seed)
    bt = bf.encode(x, fmt, mode, axis=axis, **kw)
    c, s = R.mx_quantize(x, fmt, axis, mode, kw.get("sr_bits"), kw.get("seed", 0))
    np.testing.assert_array_equal(bt.codes, c)
    np.testing.assert_array_equal(bt.scales, s)
    np.testing.assert_array_equal(bt.values(), R.mx_decode(c, s, fmt, axis))


@examples(200)
@given(tensors(finite=False), st.integers(1, 20), st.sampled_from(MODES), st.integers(1, 8),
       st.sampled_from(["float32", "exact"]),
       st.one_of(st.none(), st.floats(2.0 ** -100, 2.0 ** 100, width=32)))
def test_nvfp4_matches_reference(xa, bs, mode, r, arith, ts):
    x, axis = xa
    fmt = bf.NVFP4Format(bs)
    kw = _sr(mode, r, 5)
    bt = bf.encode(x, fmt, mode, axis=axis, tensor_scale=ts, arithmetic=arith, **kw)
    c, s, t = R.nvfp4_quantize(x, fmt, axis, mode, ts, arith, kw.get("sr_bits"), kw.get("seed", 0))
    assert bt.tensor_scale == t
    np.testing.assert_array_equal(bt.scales, s)
    np.testing.assert_array_equal(bt.codes, c)
    np.testing.assert_array_equal(bt.values(), R.nvfp4_decode(c, s, t, fmt, axis))


@examples(200)
@given(tensors(), st.integers(1, 12), st.integers(1, 10), st.integers(1, 16),
       st.sampled_from(["sign_magnitude", "twos_complement"]), st.sampled_from(MODES))
def test_bfp_matches_reference(xa, m, e, bs, mant, mode):
    x, axis = xa
    fmt = bf.BFPFormat(m, e, bs, mant)
    kw = _sr(mode, 4, 9)
    bt = bf.encode(x, fmt, mode, axis=axis, **kw)
    c, s = R.bfp_quantize(x, fmt, axis, mode, kw.get("sr_bits"), kw.get("seed", 0))
    np.testing.assert_array_equal(bt.codes, c)
    np.testing.assert_array_equal(bt.scales, s)
    np.testing.assert_array_equal(bt.values(), R.bfp_decode(c, s, fmt, axis))


@examples(150)
@given(tensors(), st.integers(1, 70),
       st.lists(st.floats(-1, 1, allow_subnormal=False), min_size=2, max_size=17, unique=True))
def test_codebook_matches_reference(xa, bs, vals):
    x, axis = xa
    x = np.clip(x, -1e30, 1e30)  # absmax must fit float32
    fmt = cb.CodebookFormat(sorted(vals), block_size=bs)
    bt = hwsim.encode(x, fmt, axis=axis)
    c, s = R.codebook_quantize(x, fmt, axis)
    np.testing.assert_array_equal(bt.codes, c)
    np.testing.assert_array_equal(bt.scales, s)
    np.testing.assert_array_equal(bt.values(), R.codebook_decode(c, s, fmt, axis))


@examples(80)
@given(tensors(max_dims=2), st.integers(2, 8), st.integers(2, 8), st.floats(0.01, 0.99))
def test_pwlq_matches_reference(xa, bc, bt_, ratio):
    x, _ = xa
    fmt = cb.PWLQFormat(bc, bt_)
    m = float(np.max(np.abs(x)))
    p = m * ratio
    if not 0 < p < m:
        p = None
    q = hwsim.encode(x, fmt, breakpoint=p)
    c, mm, pp = R.pwlq_quantize(x, fmt, q.breakpoint)
    np.testing.assert_array_equal(q.codes, c)
    np.testing.assert_array_equal(q.values(), R.pwlq_decode(c, mm, pp, fmt))


@st.composite
def given_scale_case(draw):
    x, axis = draw(tensors(finite=False))
    x = np.where(np.isnan(x), np.inf, x)  # NaN elements need a NaN scale; Inf saturates
    kind = draw(st.sampled_from(["mx", "nvfp4", "bfp"]))
    bs = draw(st.integers(1, 10))
    if kind == "mx":
        fmt = bf.MXFormat(draw(st.sampled_from(ELEMS)), block_size=bs)
        lo, hi = 0, 255
    elif kind == "nvfp4":
        fmt = bf.NVFP4Format(bs)
        lo, hi = 1, 0x7F
    else:
        fmt = bf.BFPFormat(draw(st.integers(1, 9)), draw(st.integers(2, 9)), bs)
        lo, hi = 0, (1 << fmt.exp_bits) - 1
    n = x.size if axis is None else x.shape[axis]
    nb = -(-n // bs)
    shape = (nb,) if axis is None else x.shape[:axis % x.ndim] + (nb,) + x.shape[axis % x.ndim + 1:]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scales = rng.integers(lo, hi + 1, shape)
    return x, axis, fmt, scales


@examples(150)
@given(given_scale_case(), st.sampled_from(MODES[:-1]))
def test_given_scales_match_reference(case, mode):
    x, axis, fmt, scales = case
    bt = bf.encode(x, fmt, mode, axis=axis, scales=scales)
    np.testing.assert_array_equal(bt.scales, scales)
    if fmt.kind == "mx":
        c, s = R.mx_quantize(x, fmt, axis, mode, scales=scales)
        ref = R.mx_decode(c, s, fmt, axis)
    elif fmt.kind == "nvfp4":
        c, s, t = R.nvfp4_quantize(x, fmt, axis, mode, tensor_scale=bt.tensor_scale,
                                   scales=scales)
        ref = R.nvfp4_decode(c, s, t, fmt, axis)
    else:
        x = np.where(np.isinf(x), 0.0, x)  # BFP: Inf moves the computed exponent only
        bt = bf.encode(x, fmt, mode, axis=axis, scales=scales)
        c, s = R.bfp_quantize(x, fmt, axis, mode, scales=scales)
        ref = R.bfp_decode(c, s, fmt, axis)
    np.testing.assert_array_equal(bt.codes, c)
    np.testing.assert_array_equal(bt.values(), ref)
