"""Conv2d / Linear executors against plain-Python loops (ints, sequential order)."""
import numpy as np
import pytest

from hwsim.ops.conv import conv2d, linear
from hwsim.mac import IntAccumulator, MacUnit
from hwsim.ops.conv import ORDERS
from layers_refimpl import ref_conv2d, to_int

CASES = [  # (N, C, H, W, Cout, k, stride, pads, dilation, groups)
    (1, 3, 5, 7, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (2, 4, 6, 5, 6, (3, 2), (2, 1), (0, 2, 1, 0), (1, 1), 2),
    (1, 5, 7, 7, 5, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 5),      # depthwise
    (1, 2, 9, 8, 3, (3, 3), (1, 2), (2, 0, 2, 1), (2, 2), 1),      # dilation, odd pads
    (1, 1, 3, 3, 2, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),      # 1x1
    (1, 6, 4, 4, 4, (2, 2), (1, 1), (1, 0, 0, 1), (1, 1), 2),      # groups, corner pads
]


def _unit(bits=32, overflow="wrap"):
    return MacUnit("int8", "int8", accumulator=IntAccumulator(bits, overflow=overflow))


def _codes(rng, shape, bits=8):
    return rng.integers(0, 1 << bits, shape).astype(np.uint8 if bits <= 8 else np.uint16)


def _nested(codes, bits=8):
    return np.vectorize(lambda c: to_int(c, bits))(codes).tolist()


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("acc", [("wrap", 12), ("saturate", 14), ("wrap", 32)])
def test_conv2d_vs_loop(case, acc):
    N, C, H, W, Co, k, s, p, d, g = CASES[case]
    ovf, bits = acc
    rng = np.random.default_rng(case * 10 + bits)
    x = _codes(rng, (N, C, H, W))
    w = _codes(rng, (Co, C // g, *k))
    bias = rng.integers(-500, 500, Co)
    mac = _unit(bits, ovf)
    order = ORDERS[case % len(ORDERS)]
    got, st = conv2d(x, w, mac, bias=bias, x_zp=3, stride=s, padding=p, dilation=d, groups=g,
                     order=order)
    ref = ref_conv2d(_nested(x), _nested(w), stride=s, pads=p, dilation=d, groups=g, order=order,
                     acc_bits=bits, overflow=ovf, bias=bias.tolist(), x_zp=3)
    assert got.tolist() == ref
    assert st["overflow_per_col"].shape == (Co,)


def test_order_changes_saturating_result_and_matches_loop():
    rng = np.random.default_rng(5)
    x = _codes(rng, (1, 4, 5, 5))
    w = _codes(rng, (3, 4, 3, 3))
    mac = _unit(13, "saturate")
    results = {}
    for order in ORDERS:
        got, _ = conv2d(x, w, mac, padding=1, order=order)
        ref = ref_conv2d(_nested(x), _nested(w), stride=(1, 1), pads=(1, 1, 1, 1), dilation=(1, 1),
                         groups=1, order=order, acc_bits=13, overflow="saturate")
        assert got.tolist() == ref
        results[order] = got
    assert any(not np.array_equal(results[ORDERS[0]], r) for r in results.values())


def test_nhwc_equals_nchw():
    rng = np.random.default_rng(9)
    x = _codes(rng, (2, 6, 7, 5))
    w = _codes(rng, (4, 3, 3, 3))
    mac = _unit(16, "saturate")
    a, _ = conv2d(x, w, mac, padding=(1, 2, 0, 1), stride=2, groups=2, order="kh,kw,cin")
    b, _ = conv2d(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), w, mac, padding=(1, 2, 0, 1),
                  stride=2, groups=2, order="kh,kw,cin", layout="NHWC")
    assert np.array_equal(a, b.transpose(0, 3, 1, 2))


def test_per_channel_weight_zero_points():
    rng = np.random.default_rng(2)
    x = _codes(rng, (1, 2, 4, 4))
    w = _codes(rng, (3, 2, 2, 2))
    wz = [1, -2, 5]
    mac = _unit(32)
    got, _ = conv2d(x, w, mac, x_zp=-1, w_zp=np.array(wz), padding=1)
    ref = ref_conv2d(_nested(x), _nested(w), stride=(1, 1), pads=(1, 1, 1, 1), dilation=(1, 1),
                     groups=1, order="cin,kh,kw", acc_bits=32, overflow="wrap", x_zp=-1, w_zp=wz)
    assert got.tolist() == ref


def test_linear_vs_loop():
    rng = np.random.default_rng(4)
    x = _codes(rng, (3, 17))
    w = _codes(rng, (17, 5))
    bias = rng.integers(-1000, 1000, 5)
    mac = _unit(15, "saturate")
    got, st = linear(x, w, mac, bias=bias, x_zp=2)
    xi, wi = _nested(x), _nested(w)
    for m in range(3):
        for n in range(5):
            s = int(bias[n])
            for k in range(17):
                s = max(-2 ** 14, min(2 ** 14 - 1, s + (xi[m][k] - 2) * wi[k][n]))
            assert got[m, n] == s
    assert st["overflow_per_col"].shape == (5,)


def test_conv_bad_args():
    mac = _unit()
    x = np.zeros((1, 4, 5, 5), np.uint8)
    with pytest.raises(ValueError, match="groups"):
        conv2d(x, np.zeros((4, 4, 3, 3), np.uint8), mac, groups=3)
    with pytest.raises(ValueError, match="order"):
        conv2d(x, np.zeros((4, 4, 3, 3), np.uint8), mac, order="kh,cin")
