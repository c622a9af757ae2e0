"""The tflite-style integer Add, exact against a plain-Python (ints only) model.

The model follows TFLite's reference ``AddElementwise`` for 8-bit inputs
(tensorflow/lite/kernels/internal/reference/add.h, ``left_shift = 20``,
multipliers from ``QuantizeMultiplierSmallerThanOneExp``) with gemmlowp's
``SaturatingRoundingDoublingHighMul`` and ``RoundingDivideByPOT``, written out
here on Python ints so it shares no code with ``hwsim.ops``.
"""
import math

import numpy as np
import pytest

import hwsim
from hwsim.ops.add import add
from hwsim.tensors import QTensor

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def _qmult(real):
    """QuantizeMultiplier: real = m * 2^(shift - 31), m in [2^30, 2^31), half away from zero."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    m = int(math.floor(q * 2 ** 31 + 0.5))
    if m == 1 << 31:
        m, shift = m // 2, shift + 1
    if shift < -31:
        return 0, 0
    return m, shift


def _srdhm(a, b):
    assert I32_MIN <= a <= I32_MAX and I32_MIN <= b <= I32_MAX
    if a == b == I32_MIN:
        return I32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    s = ab + nudge
    return s // (1 << 31) if s >= 0 else -((-s) // (1 << 31))  # C: truncate toward zero


def _rdbpot(x, e):
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def _mbqm(x, m, shift):
    """MultiplyByQuantizedMultiplier on a 32-bit integer."""
    left, right = max(shift, 0), max(-shift, 0)
    return _rdbpot(_srdhm(x * (1 << left), m), right)


def tflite_add_model(qa, qb, sa, za, sb, zb, so, zo, qmin=-128, qmax=127):
    left = 20
    twice = 2 * max(sa, sb)
    ma, sha = _qmult(sa / twice)
    mb, shb = _qmult(sb / twice)
    mo, sho = _qmult(twice / ((1 << left) * so))
    out = []
    for a, b in zip(qa, qb):
        ya = _mbqm((int(a) - za) << left, ma, sha)
        yb = _mbqm((int(b) - zb) << left, mb, shb)
        y = _mbqm(ya + yb, mo, sho) + zo
        out.append(min(qmax, max(qmin, y)))
    return out


def _qt(q, s, z, fmt="int8"):
    f = hwsim.format(fmt)
    return QTensor((np.asarray(q, np.int64) & ((1 << f.bits) - 1)).astype(f.code_dtype), f,
                   scale=s, zero_point=z)


SCALES = [  # sa, za, sb, zb, so, zo
    (0.02, 3, 0.05, -4, 0.06, 1),
    (0.05, -4, 0.02, 3, 0.06, 1),
    (0.1, 0, 0.1, 0, 0.1, 0),  # equal scales: every sum a tie candidate
    (0.0123, -128, 0.0456, 127, 0.0312, -7),
    (1 / 64, 0, 1 / 128, 0, 1 / 256, 0),  # powers of two: exact halves reach RoundingDivideByPOT
    (0.003, 10, 0.2, -20, 0.25, 5),  # very different input scales
]


@pytest.mark.parametrize("case", range(len(SCALES)))
def test_add_tflite_exact_all_pairs(case):
    """Every (a, b) int8 pair, code for code against the ints model."""
    sa, za, sb, zb, so, zo = SCALES[case]
    qa = np.repeat(np.arange(-128, 128), 256)
    qb = np.tile(np.arange(-128, 128), 256)
    got = add(_qt(qa, sa, za), _qt(qb, sb, zb), out_fmt=hwsim.format("int8"), out_scale=so,
              out_zp=zo, style="tflite").ints()
    want = tflite_add_model(qa.tolist(), qb.tolist(), sa, za, sb, zb, so, zo)
    assert got.tolist() == want


def test_add_tflite_model_rounds_not_to_nearest():
    """The model is TFLite's, not the exact real: some pair differs from rna(real) (double rounding)."""
    from fractions import Fraction

    sa, za, sb, zb, so, zo = SCALES[0]
    qa = np.repeat(np.arange(-128, 128), 256).tolist()
    qb = np.tile(np.arange(-128, 128), 256).tolist()
    model = tflite_add_model(qa, qb, sa, za, sb, zb, so, zo, qmin=-(1 << 40), qmax=1 << 40)
    exact = []
    for a, b in zip(qa, qb):
        r = (Fraction(sa) * (a - za) + Fraction(sb) * (b - zb)) / Fraction(so)
        exact.append(math.floor(r + Fraction(1, 2)) if r >= 0 else -math.floor(-r + Fraction(1, 2)))
    diffs = {m - (e + zo) for m, e in zip(model, exact)}
    assert diffs <= {-1, 0, 1} and diffs != {0}
