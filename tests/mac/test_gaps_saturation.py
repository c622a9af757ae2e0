"""Every saturation path at both bounds: exactly at the bound, and one beyond.

Expected results are Python ints (clamp of the exact sum), not the
implementation.  Paths (csrc/hw_acc_fixed.c, hw_mac_fast_int.c, hw_mac_engine.c,
hwsim/layers/requant.py):

* integer registers <= 64 bits: the fast int kernels (``path="auto"``) and the
  general engine's ``narrow_set``;
* a narrow register meeting a term >= 2^125 LSBs (``limbs_set`` without limbs);
* registers wider than 64 bits (``limbs_set`` over limbs), widths 65..140;
* partial sums encoded into an int or float psum format with ``saturate``;
* requantization clamps to [qmin, qmax], every style.
"""
import numpy as np
import pytest

from hwsim.ops.requant import Requant
from hwsim.mac import FixedAccumulator, FloatAccumulator, IntAccumulator, MacUnit, Tiles, matmul


def _clamp(v, w):
    return max(-(1 << (w - 1)), min((1 << (w - 1)) - 1, v))


def _targets(w):
    """(exact sum, saturates?) at and one beyond each bound."""
    hi, lo = (1 << (w - 1)) - 1, -(1 << (w - 1))
    return [(hi, False), (hi + 1, True), (lo, False), (lo - 1, True), (hi - 1, False),
            (lo + 1, False)]


@pytest.mark.parametrize("bits", [8, 16, 24, 32, 48, 63, 64])
@pytest.mark.parametrize("path", ["auto", "general"])
def test_int_accumulator_bounds(bits, path):
    """bias + one int8 product lands at / one beyond the register bound."""
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(bits, overflow="saturate"))
    for target, sat in _targets(bits):
        for p in (50, -50, 1, -1):
            bias = target - p
            if not -(1 << (bits - 1)) <= bias < (1 << (bits - 1)):
                continue
            a = np.array([[p if abs(p) == 50 else 1]], np.int64)
            b = np.array([[1 if abs(p) == 50 else p]], np.int64)
            res = matmul((a & 255).astype(np.uint8), (b & 255).astype(np.uint8), mac,
                         bias=np.array([bias], np.int64), path=path)
            assert int(res.values[0, 0]) == _clamp(target, bits), (bits, target, p, res.path)
            assert int(res.stats.overflow_events_per_output[0, 0]) == int(sat)


def _float32_terms(t):
    """Python int t as a list of (a, b) float32-exact pairs with sum(a * b) == t, all of
    t's sign (so every partial sum lies between 0 and t)."""
    s, m = (-1 if t < 0 else 1), abs(t)
    out, e = [], 0
    while m:
        chunk = m & ((1 << 24) - 1)
        if chunk:
            out.append((float(s * chunk), 2.0 ** e))
        m >>= 24
        e += 24
    return out or [(0.0, 1.0)]


def _run_terms(mac, terms, frac=0):
    a = np.array([[x for x, _ in terms]], np.float32).view(np.uint32)
    b = np.array([[y * 2.0 ** -frac] for _, y in terms], np.float32).view(np.uint32)
    return matmul(a, b, mac, path="general")


@pytest.mark.parametrize("width", [40, 64, 65, 100, 127, 128, 129, 140])
@pytest.mark.parametrize("frac", [0, 8])
def test_fixed_accumulator_bounds(width, frac):
    """Narrow (<= 64 bits) and limb (> 64 bits) registers, in LSB units."""
    mac = MacUnit("float32", "float32",
                  accumulator=FixedAccumulator(width - frac, frac, "truncate", "saturate"))
    for target, sat in _targets(width):
        res = _run_terms(mac, _float32_terms(target), frac)
        assert int(res.values[0, 0]) == _clamp(target, width), (width, target)
        assert int(res.stats.overflow_events_per_output[0, 0]) >= int(sat)
        assert (int(res.stats.overflow_events_per_output[0, 0]) > 0) == sat


@pytest.mark.parametrize("width", [40, 64, 100])
def test_huge_term_saturates_to_each_bound(width):
    """A single term >= 2^125 LSBs takes the wide path even for a narrow register."""
    mac = MacUnit("float32", "float32",
                  accumulator=FixedAccumulator(width, 0, "truncate", "saturate"))
    for sign in (1, -1):
        for terms in ([(sign * 2.0 ** 63, 2.0 ** 64)],  # one term of 2^127 LSBs
                      [(sign * 2.0 ** 63, 2.0 ** 64), (sign * 3.0, 2.0 ** 100)]):
            res = _run_terms(mac, terms)
            want = _clamp(sign * (1 << 127), width)
            assert int(res.values[0, 0]) == want, (width, terms)
            if width <= 64:
                assert int(res.codes[0, 0]) == want & ((1 << width) - 1)


@pytest.mark.parametrize("fmt_bits", [8, 16])
def test_int_psum_bounds(fmt_bits):
    """Tiles of 1 term: every partial sum encoded into int8 / int16 with saturate."""
    fmt = f"int{fmt_bits}"
    hi, lo = (1 << (fmt_bits - 1)) - 1, -(1 << (fmt_bits - 1))
    mac = MacUnit("float32", "float32", accumulator=FixedAccumulator(32, 0, "truncate", "wrap"),
                  tiling=Tiles(1, fmt, "rne", "separate", "saturate",
                               FixedAccumulator(40, 0, "truncate", "wrap")))
    for v in (hi, hi + 1, lo, lo - 1):
        res = matmul(np.array([[float(v)]], np.float32).view(np.uint32),
                     np.array([[1.0]], np.float32).view(np.uint32), mac, path="general")
        assert int(res.values[0, 0]) == max(lo, min(hi, v)), v
        assert int(res.stats.psum_overflow_events_per_output[0, 0]) == int(v in (hi + 1, lo - 1))


def test_float_psum_bounds():
    """float8_e5m2 psums with saturate: max 57344 kept, the overflow threshold 61440
    (rne midpoint to 2^16) and just below it."""
    mac = MacUnit("float32", "float32", accumulator=FloatAccumulator("float32"),
                  tiling=Tiles(1, "float8_e5m2", "rne", "separate", "saturate",
                               FloatAccumulator("float32")))
    cases = [(57344.0, 57344.0, False), (61440.0, 57344.0, True), (61439.0, 57344.0, False),
             (65536.0, 57344.0, True)]
    for v, want, ovf in cases + [(-x, -w, o) for x, w, o in cases]:
        res = matmul(np.array([[v]], np.float32).view(np.uint32),
                     np.array([[1.0]], np.float32).view(np.uint32), mac, path="general")
        assert float(res.values[0, 0]) == want, v
        assert int(res.stats.psum_overflow_events_per_output[0, 0]) == int(ovf), v


REQUANTS = {
    "tflite": dict(multiplier=np.array([1 << 30], np.int64), shift=np.array([1], np.int64)),
    "tflite_single": dict(multiplier=np.array([1 << 30], np.int64), shift=np.array([1], np.int64)),
    "onnx": dict(scale32=np.array([1.0], np.float32)),
    "shift": dict(shift=np.array([0], np.int64)),
}


@pytest.mark.parametrize("style", sorted(REQUANTS))
@pytest.mark.parametrize("qrange", [(-128, 127), (0, 255), (-8, 7), (-32768, 32767)])
def test_requant_clamps_at_both_bounds(style, qrange):
    """Multiplier 1: the output is acc + zp clamped to [qmin, qmax]."""
    qmin, qmax = qrange
    zp = 3
    rq = Requant(style, zp, qmin, qmax, **REQUANTS[style])
    acc = np.array([[qmin - zp - 1], [qmin - zp], [qmin - zp + 1], [qmax - zp - 1], [qmax - zp],
                    [qmax - zp + 1]], np.int64)
    want = [qmin, qmin, qmin + 1, qmax - 1, qmax, qmax]
    assert rq.apply(acc).reshape(-1).tolist() == want
