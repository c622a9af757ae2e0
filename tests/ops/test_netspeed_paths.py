"""The whole-network fast paths, each against the longer way it replaces.

* im2col of channel-last memory seen as NCHW (a layer output) reads it in place and gives
  the columns of the contiguous copy; the NHWC kernel of the default order equals the
  generic kernel; a 1x1 convolution of channel-last memory uses the input as its columns;
* ``Requant.apply_codes`` equals ``ints_to_codes(apply(...))``;
* ``qlinear_add_codes`` (one pass, codes to codes) equals ``qlinear_add`` on the integers;
* ``hwsim.mac.matmul_summary`` equals the reductions of ``matmul``'s MacStats.
"""
import numpy as np
import pytest

from hwsim.formats import IntFormat
from hwsim.mac import Chunked, FloatAccumulator, IntAccumulator, MacUnit, matmul
from hwsim.mac.api import matmul_summary
from hwsim.ops import conv, kernels
from hwsim.ops.conv import conv2d, im2col
from hwsim.ops.ort_numerics import qlinear_add, qlinear_add_codes
from hwsim.ops.requant import Requant
from hwsim.tensors import ints_to_codes

GEOMS = [  # kernel, stride, padding, dilation, groups
    ((3, 3), 1, 1, 1, 1), ((3, 3), 2, (1, 0, 2, 1), (1, 2), 1), ((1, 1), 1, 0, 1, 1),
    ((1, 1), 2, 0, 1, 1), ((3, 2), (2, 1), (1, 0, 2, 1), (1, 2), 3), ((7, 7), 2, 3, 1, 1)]


def _channel_last(rng, shape):
    """An NCHW-shaped view of NHWC memory (what a conv layer's requantization writes)."""
    n, c, h, w = shape
    x = rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return x.transpose(0, 3, 1, 2)


@pytest.mark.parametrize("geom", GEOMS)
@pytest.mark.parametrize("order", ["cin,kh,kw", "kh,kw,cin"])
def test_im2col_reads_channel_last_memory_in_place(geom, order):
    rng = np.random.default_rng(1)
    kernel, stride, pad, dil, groups = geom
    x = _channel_last(rng, (2, 6, 9, 8))
    assert not x.flags.c_contiguous
    kw = dict(stride=stride, padding=pad, dilation=dil, groups=groups, order=order, pad_code=7)
    got, dims = im2col(x, kernel, **kw)
    want, wdims = im2col(np.ascontiguousarray(x), kernel, **kw)
    assert dims == wdims and got.dtype == want.dtype
    assert np.array_equal(got, want)
    # the NHWC kernel of the default order against the generic kernel
    nhwc, _ = im2col(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), kernel, layout="NHWC", **kw)
    assert np.array_equal(nhwc, want)


def test_nhwc_kernel_equals_generic_kernel_directly():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (2, 7, 6, 6), dtype=np.uint8)  # NHWC, C = 6
    G, cin_g, kh, kw = 2, 3, 3, 2
    args = (2, 1, 1, 0, 1, 2)  # sh, sw, pt, pl, dh, dw
    Ho, Wo = 4, 4
    kc, ki, kj = conv.reduction_index(cin_g, kh, kw)
    a = np.full((G, 2 * Ho * Wo, cin_g * kh * kw), 99, np.uint8)
    b = a.copy()
    conv._im2col_nhwc.serial(x, G, cin_g, kh, kw, *args, Ho, Wo, np.uint8(5), a)
    conv._im2col.serial(x, True, G, cin_g, kc, ki, kj, *args, Ho, Wo, np.uint8(5), b)
    assert np.array_equal(a, b) and (a == 5).any()


def test_conv_1x1_of_channel_last_memory_uses_the_input_as_columns(monkeypatch):
    rng = np.random.default_rng(3)
    x = _channel_last(rng, (1, 16, 5, 7))
    w = rng.integers(0, 256, (8, 16, 1, 1), dtype=np.uint8)
    mac = MacUnit("uint8", "int8", accumulator=IntAccumulator(32))
    seen = []
    real = conv.mac_matmul

    def spy(a, *args, **kw):
        seen.append(a)
        return real(a, *args, **kw)
    monkeypatch.setattr(conv, "mac_matmul", spy)
    acc, st = conv2d(x, w, mac, x_zp=3, bias=np.arange(8))
    assert np.shares_memory(seen[0], x) and not seen[0].flags.writeable
    acc2, st2 = conv2d(np.ascontiguousarray(x), w, mac, x_zp=3, bias=np.arange(8))
    assert not np.shares_memory(seen[1], x)
    assert np.array_equal(acc, acc2) and np.array_equal(st["codes"], st2["codes"])
    assert np.array_equal(st["overflow_per_col"], st2["overflow_per_col"])
    assert st["max_abs_partial"] == st2["max_abs_partial"] and st["bits_needed"] == st2["bits_needed"]


@pytest.mark.parametrize("style", ["tflite", "tflite_single", "onnx", "shift"])
@pytest.mark.parametrize("fmt", [IntFormat(8, signed=False), IntFormat(8), IntFormat(4),
                                 IntFormat(16), IntFormat(12, signed=False)])
def test_requant_apply_codes_equals_codes_of_apply(style, fmt):
    rng = np.random.default_rng(4)
    acc = rng.integers(-(1 << 33), 1 << 33, (37, 5), dtype=np.int64) >> rng.integers(0, 30, (37, 5))
    sw = 2.0 ** -rng.integers(0, 12, 5) if style == "shift" else rng.uniform(1e-4, 1e-1, 5)
    rq = Requant.from_scales(style, 1.0 if style == "shift" else 0.03, sw,
                             1.0 if style == "shift" else 0.7, fmt.min_int // 3, fmt.min_int,
                             fmt.max_int)
    for axis, a in ((-1, acc), (0, np.ascontiguousarray(acc.T))):
        want = ints_to_codes(rq.apply(a, axis=axis), fmt.bits, fmt.code_dtype)
        got = rq.apply_codes(a, fmt.bits, fmt.code_dtype, axis=axis)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert len(np.unique(want)) > 8  # not saturated everywhere


def _add_operands(rng, fa, fb, shape, channel_last):
    ca = rng.integers(0, 1 << fa.bits, shape).astype(fa.code_dtype)
    cb = rng.integers(0, 1 << fb.bits, shape).astype(fb.code_dtype)
    ca.flat[:4] = [0, (1 << fa.bits) - 1, 1 << (fa.bits - 1), (1 << (fa.bits - 1)) - 1]
    if channel_last:
        ca = np.ascontiguousarray(ca.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        cb = np.ascontiguousarray(cb.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return ca, cb


def _ints(c, f):
    c = np.asarray(c).astype(np.int64)
    return c - (1 << f.bits) * (c >= (1 << (f.bits - 1))) if f.signed else c


@pytest.mark.parametrize("fmts", [(IntFormat(8, signed=False),) * 3, (IntFormat(8),) * 3,
                                  (IntFormat(8), IntFormat(8, signed=False), IntFormat(4)),
                                  (IntFormat(16),) * 3])
@pytest.mark.parametrize("channel_last", [False, True])
def test_qlinear_add_codes_equals_qlinear_add(fmts, channel_last, monkeypatch):
    fa, fb, fo = fmts
    rng = np.random.default_rng(5)
    ca, cb = _add_operands(rng, fa, fb, (2, 5, 6, 7), channel_last)
    seen = set()
    for sa, za, sb, zb, sc, zc in ((0.031, 3, 0.027, -2, 0.05, 1), (0.5, 0, 1e-3, 7, 0.011, -4),
                                   (2.0 ** -5, 1, 3.7, 0, 0.0625, 0)):
        za, zb, zc = (int(np.clip(z, f.min_int, f.max_int)) for z, f in ((za, fa), (zb, fb),
                                                                          (zc, fo)))
        want = qlinear_add(_ints(ca, fa), sa, za, _ints(cb, fb), sb, zb, sc, zc, fo)
        want = ints_to_codes(want, fo.bits, fo.code_dtype)
        for pmin in (1 << 62, 1):  # serial, then the parallel compilation
            monkeypatch.setattr(kernels, "PARALLEL_MIN", pmin)
            got = qlinear_add_codes(ca, fa, sa, za, cb, fb, sb, zb, sc, zc, fo)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want)
        seen.update(np.unique(want).tolist())
    assert len(seen) > 5  # not saturated everywhere


def test_qlinear_add_codes_declines_broadcasts_and_wide_formats():
    f8, f32 = IntFormat(8), IntFormat(32)
    a = np.zeros((1, 3, 4, 4), np.uint8)
    assert qlinear_add_codes(a, f8, 1.0, 0, a[:, :1], f8, 1.0, 0, 1.0, 0, f8) is None
    w = np.zeros((1, 3, 4, 4), np.uint32)
    assert qlinear_add_codes(w, f32, 1.0, 0, w, f32, 1.0, 0, 1.0, 0, f32) is None
    one = np.zeros((1, 1, 1, 1), np.uint8)  # a one-element output: the IsScalarA kernel
    assert qlinear_add_codes(one, f8, 1.0, 0, one, f8, 1.0, 0, 1.0, 0, f8) is None


MACS = [MacUnit("uint8", "int8", accumulator=IntAccumulator(32)),
        MacUnit("uint8", "int8", accumulator=IntAccumulator(18, overflow="saturate")),
        MacUnit("int8", "int8", accumulator=IntAccumulator(16),
                order=Chunked(4, IntAccumulator(32))),
        MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float32")),
        MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"))]


@pytest.mark.parametrize("mac", MACS, ids=lambda m: m.accumulator.to_dict()["type"])
def test_matmul_summary_equals_macstats(mac):
    rng = np.random.default_rng(6)
    a = rng.integers(0, 1 << mac.a_fmt.bits, (23, 40)).astype(mac.a_fmt.code_dtype)
    b = rng.integers(0, 1 << mac.b_fmt.bits, (40, 9)).astype(mac.b_fmt.code_dtype)
    if mac.a_fmt.kind == "float":  # finite codes only
        a &= 0x3F if mac.a_fmt.bits == 8 else 0x3BFF
        b &= 0x3F if mac.b_fmt.bits == 8 else 0x3BFF
    kw = dict(bias=None, a_zero_point=0, b_zero_point=0)
    if mac.a_fmt.kind == "int":
        kw = dict(bias=rng.integers(-1000, 1000, 9), a_zero_point=5, b_zero_point=0)
    r = matmul(a, b, mac, **kw)
    got, summ = matmul_summary(a, b, mac, **kw)
    assert got.stats is None and got.path == r.path
    assert np.array_equal(got.codes, r.codes) and np.array_equal(got.values, r.values)
    st = r.stats
    assert np.array_equal(summ["overflow_events_per_column"], st.overflow_events_per_column)
    assert summ["max_abs_partial"] == st.max_abs_partial
    assert summ["bits_needed"] == st.bits_needed
    if mac.accumulator.kind == "int" and mac.accumulator.bits <= 18:
        assert st.overflow_events > 0 or st.bits_needed > 8
