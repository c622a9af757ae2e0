"""Pooling, activations, Add and Concat against plain-Python loops."""
from fractions import Fraction

import numpy as np
import pytest

from hwsim.ops.activation import activation
from hwsim.ops.add import add
from hwsim.ops.concat import concat
from hwsim.ops.pool import div_round, maxpool2d, sumpool2d
from hwsim.tensors import QTensor
from layers_refimpl import f32, f32_of_float, ref_pool, round_frac, to_int
import hwsim

POOLS = [  # kernel, stride, pads, ceil_mode, count_include_pad
    ((2, 2), (2, 2), (0, 0, 0, 0), False, False),
    ((3, 3), (2, 2), (1, 1, 1, 1), False, False),
    ((3, 3), (2, 2), (1, 1, 1, 1), False, True),
    ((3, 2), (2, 3), (0, 1, 2, 0), True, False),
    ((2, 3), (1, 1), (1, 0, 0, 2), True, True),
]


@pytest.mark.parametrize("case", range(len(POOLS)))
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_pools_vs_loop(case, layout):
    k, s, p, cm, cip = POOLS[case]
    rng = np.random.default_rng(case)
    x = rng.integers(-128, 128, (2, 3, 7, 6))
    xl = x if layout == "NCHW" else x.transpose(0, 2, 3, 1)
    mx = maxpool2d(xl.astype(np.float64), k, stride=s, padding=p, ceil_mode=cm, layout=layout)
    sm, cnt = sumpool2d(xl, k, stride=s, padding=p, ceil_mode=cm, layout=layout,
                        count_include_pad=cip)
    if layout == "NHWC":
        mx, sm = mx.transpose(0, 3, 1, 2), sm.transpose(0, 3, 1, 2)
    assert mx.astype(np.int64).tolist() == ref_pool(x.tolist(), k, s, p, "max", cm)
    for rnd in ("rne", "rna", "rtz", "rdn", "rup"):
        avg = div_round(sm, cnt, rnd)
        assert avg.tolist() == ref_pool(x.tolist(), k, s, p, "avg", cm, cip, rnd)


def test_maxpool_dilation():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (1, 2, 9, 8))
    got = maxpool2d(x.astype(float), (3, 2), stride=(2, 1), padding=(1, 0, 1, 1), dilation=(2, 3))
    ref = ref_pool(x.tolist(), (3, 2), (2, 1), (1, 0, 1, 1), "max", dilation=(2, 3))
    assert got.astype(np.int64).tolist() == ref


def test_div_round_hand_values():
    # 7/2 = 3.5, -7/2 = -3.5, 5/2 = 2.5, 10/4 = 2.5, -1/3
    s = np.array([7, -7, 5, 10, -1])
    d = np.array([2, 2, 2, 4, 3])
    assert div_round(s, d, "rne").tolist() == [4, -4, 2, 2, 0]
    assert div_round(s, d, "rna").tolist() == [4, -4, 3, 3, 0]
    assert div_round(s, d, "rtz").tolist() == [3, -3, 2, 2, 0]
    assert div_round(s, d, "rdn").tolist() == [3, -4, 2, 2, -1]
    assert div_round(s, d, "rup").tolist() == [4, -3, 3, 3, 0]


def _qt(ints, scale, zp, fmt="int8"):
    f = hwsim.format(fmt)
    return QTensor((np.asarray(ints) & ((1 << f.bits) - 1)).astype(f.code_dtype), f, scale, zp)


def test_integer_relu_family():
    q = np.arange(-128, 128)
    x = _qt(q, 0.05, -10)
    assert activation(x, "relu").ints().tolist() == np.maximum(q, -10).tolist()
    # relu6: upper bound rne(6 / 0.05) - 10 = 110 (float32 division as onnxruntime)
    assert activation(x, "relu6").ints().tolist() == np.clip(q, -10, 110).tolist()
    y = activation(x, "clip", {"min": -1.0, "max": 2.0})
    assert y.ints().tolist() == np.clip(q, -30, 30).tolist()


@pytest.mark.parametrize("kind,params", [("leakyrelu", {"alpha": 0.1}), ("hardswish", None),
                                         ("relu", None)])
def test_lut_activations_vs_float32_loop(kind, params):
    q = np.arange(-128, 128)
    sx, zx, so, zo = 0.043, 7, 0.031, -20
    x = _qt(q, sx, zx)
    out_fmt = hwsim.format("int8")
    y = activation(x, kind, params, out_fmt=out_fmt, out_scale=so, out_zp=zo).ints()
    for i, qi in enumerate(q.tolist()):
        v = f32(f32(Fraction(qi - zx)) * f32_of_float(sx))
        if kind == "leakyrelu":
            r = v if v >= 0 else f32(v * f32_of_float(0.1))
        elif kind == "hardswish":
            t = f32(f32(v * f32_of_float(1.0 / 6)) + Fraction(1, 2))
            r = f32(v * max(Fraction(0), min(Fraction(1), t)))
        else:
            r = max(v, Fraction(0))
        want = max(-128, min(127, round_frac(f32(r / f32_of_float(so)), "rne") + zo))
        assert int(y[i]) == want, (qi, kind)


@pytest.mark.parametrize("style", ["tflite", "onnx"])
def test_add_integer(style):
    rng = np.random.default_rng(1)
    qa, qb = rng.integers(-128, 128, 200), rng.integers(-128, 128, 200)
    sa, za, sb, zb, so, zo = 0.02, 3, 0.05, -4, 0.06, 1
    out = add(_qt(qa, sa, za), _qt(qb, sb, zb), out_fmt=hwsim.format("int8"), out_scale=so,
              out_zp=zo, style=style).ints()
    for i in range(200):
        if style == "onnx":  # MLAS QLinearAdd (AVX2): two single-rounding FMAs in float32
            ra = f32(f32_of_float(sa) / f32_of_float(so))
            rb = f32(f32_of_float(sb) / f32_of_float(so))
            fixed = f32(zo - f32(f32(ra * za) + f32(rb * zb)))
            v = f32(int(qa[i]) * ra + f32(int(qb[i]) * rb + fixed))
            want = round_frac(v, "rne")
        else:  # exact real value, then compare within the documented double rounding
            want = round_frac(Fraction(sa) * (int(qa[i]) - za) / Fraction(so)
                              + Fraction(sb) * (int(qb[i]) - zb) / Fraction(so), "rna") + zo
            assert abs(int(out[i]) - max(-128, min(127, want))) <= 1
            continue
        assert int(out[i]) == max(-128, min(127, want))


def test_add_shift_is_exact():
    qa = np.arange(-128, 128)
    qb = np.arange(127, -129, -1)
    out = add(_qt(qa, 0.25, 0), _qt(qb, 0.5, 0), out_fmt=hwsim.format("int8"), out_scale=1.0,
              out_zp=0, style="shift", rounding="rne").ints()
    want = [max(-128, min(127, round_frac(Fraction(int(a), 4) + Fraction(int(b), 2), "rne")))
            for a, b in zip(qa, qb)]
    assert out.tolist() == want


def test_concat_requantizes_mismatched_inputs():
    a = _qt(np.arange(-5, 5), 0.1, 0)
    b = _qt(np.arange(-5, 5), 0.2, 0)
    c = concat([a, b], 0)
    assert c.ints().tolist() == list(range(-5, 5)) + [2 * v for v in range(-5, 5)]


def test_float_format_activation():
    x = QTensor.quantize(np.array([-3.0, -0.5, 0.25, 7.0]), "float8_e4m3fn", scale=0.5)
    y = activation(x, "relu6")
    assert y.values().tolist() == [0.0, 0.0, 0.25, 6.0]
