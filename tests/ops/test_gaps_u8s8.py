"""The ``u8s8_avx2`` MAC preset, bit for bit against a plain-Python model of VPMADDUBSW.

On every machine (the onnxruntime comparison in test_onnx_ort_exact.py is only
exact where MLAS uses VPMADDUBSW, i.e. x86 without VNNI).  Intel SDM, PMADDUBSW:
unsigned bytes of the first operand times signed bytes of the second, adjacent
products added, the sum saturated to signed 16 bits; VPMADDWD (times 1) and
VPADDD then add the pair sums into int32 with wrap-around.  K is walked in
pairs (0, 1), (2, 3), ...; an odd last term is a pair with a zero partner.
"""
import numpy as np
import pytest

import hwsim
from hwsim.mac import matmul
from hwsim.network.config import make_mac

U8, S8 = hwsim.format("uint8"), hwsim.format("int8")


def _sat16(v):
    return max(-(1 << 15), min((1 << 15) - 1, v))


def _wrap32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def pair_model(a, b, bias=None):
    """a: [M][K] uint8 ints, b: [K][N] int8 ints -> [M][N] int32 (Python ints only)."""
    m, k, n = len(a), len(a[0]), len(b[0])
    out = []
    for i in range(m):
        row = []
        for j in range(n):
            acc = 0 if bias is None else bias[j]
            for p in range(0, k, 2):
                s = a[i][p] * b[p][j]
                if p + 1 < k:
                    s += a[i][p + 1] * b[p + 1][j]
                acc = _wrap32(acc + _sat16(s))
            row.append(acc)
        out.append(row)
    return out


def _run(a, b, bias=None):
    mac = make_mac("u8s8_avx2", U8, S8)
    res = matmul(a.astype(np.uint8), b.astype(np.int8).view(np.uint8), mac,
                 bias=None if bias is None else np.asarray(bias, np.int64))
    return np.asarray(res.values).astype(np.int64).tolist()


@pytest.mark.parametrize("k", [1, 2, 7, 64, 255])
def test_u8s8_random_saturating_data(k):
    rng = np.random.default_rng(k)
    a = rng.integers(128, 256, (6, k))  # large activations: many pairs saturate
    b = rng.integers(-128, 128, (k, 5))
    bias = rng.integers(-(1 << 20), 1 << 20, 5).tolist()
    want = pair_model(a.tolist(), b.tolist())
    assert _run(a, b) == want
    assert _run(a, b, bias) == pair_model(a.tolist(), b.tolist(), bias)


def _pair_cases():
    """(a0, a1, b0, b1) whose exact pair sum is at a bound of int16, one beyond, or far out."""
    cases = []
    for target in (32767, 32768, 32766, -32768, -32769, -32767):
        for a0 in range(128, 256):
            for b0 in (127, -128, 126, -127):
                rest = target - a0 * b0
                for b1 in (127, -128, 1, -1, 100, -100):
                    if rest % b1 == 0 and 0 <= rest // b1 <= 255:
                        cases.append((a0, rest // b1, b0, b1, target))
                        break
                else:
                    continue
                break
            if cases and cases[-1][4] == target:
                break
    cases += [(255, 255, 127, 127, 64770), (255, 255, -128, -128, -65280),
              (255, 255, -128, 127, -255), (0, 0, -128, -128, 0)]
    return cases


def test_u8s8_pair_sum_at_and_beyond_int16_bounds():
    cases = _pair_cases()
    targets = {c[4] for c in cases}
    assert {32767, 32768, -32768, -32769} <= targets
    for a0, a1, b0, b1, exact in cases:
        assert a0 * b0 + a1 * b1 == exact
        got = _run(np.array([[a0, a1]]), np.array([[b0], [b1]]))[0][0]
        assert got == _sat16(exact), (a0, a1, b0, b1)


def test_u8s8_pairs_follow_k_order():
    """Pairs are (0, 1), (2, 3): moving the pairing by one changes the result."""
    a = np.array([[255, 255, 255, 255]])
    b = np.array([[127], [127], [-128], [-128]])
    assert _run(a, b)[0][0] == 32767 - 32768  # (sat 64770) + (sat -65280)
    b2 = np.array([[127], [-128], [127], [-128]])
    assert _run(a, b2)[0][0] == 2 * (255 * 127 - 255 * 128)


def test_u8s8_int32_wraps():
    k = 2 * 70000  # 70000 pairs of +32767: 2293490000 > 2^31 - 1
    a = np.full((1, k), 255)
    b = np.full((k, 1), 127)
    assert _run(a, b)[0][0] == _wrap32(70000 * 32767)
