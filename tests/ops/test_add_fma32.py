"""The exact float32 fused multiply-add of onnxruntime's QLinearAdd (``ort_numerics.fma32``):
the vectorised round-to-odd computation equals exact rational arithmetic rounded once,
on random requantization-like data, on ties built on purpose, and on sums whose float64
rounding would be a double rounding."""
from fractions import Fraction

import numpy as np

from hwsim.ops.ort_numerics import fma32 as _fma32


def _frac_to_f32(v):
    f = np.float32(float(v))  # float64 rounding first; fix up below if it was a double rounding
    lo, hi = np.nextafter(f, np.float32(-np.inf)), np.nextafter(f, np.float32(np.inf))
    return min((lo, f, hi), key=lambda c: (abs(Fraction(float(c)) - v),
                                           int(np.asarray(c).view(np.uint32)) & 1))


def _fma32_fractions(x, y, z):
    """fl32(x * y + z) by exact rational arithmetic, element by element (the oracle)."""
    out = np.empty(np.shape(x), np.float32)
    for idx in np.ndindex(*out.shape):
        v = Fraction(float(x[idx])) * Fraction(float(y[idx])) + Fraction(float(z[idx]))
        out[idx] = _frac_to_f32(v)
    return out


def _check(x, y, z):
    x, y, z = (np.asarray(v, np.float32) for v in (x, y, z))
    got = _fma32(x, y, z)
    want = _fma32_fractions(x, y, z)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_fma32_random_requant_data():
    rng = np.random.default_rng(0)
    x = rng.integers(-255, 256, 20000).astype(np.float32)
    y = np.full(20000, np.float32(rng.uniform(0.001, 2.0)))
    z = rng.normal(0, 100, 20000).astype(np.float32)
    _check(x, y, z)


def test_fma32_random_full_range():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 1 << 32, (3, 20000), dtype=np.uint64).astype(np.uint32)
    x, y, z = (b.view(np.float32) for b in bits)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & (np.abs(x) < 1e18) & \
        (np.abs(y) < 1e18) & (np.abs(x) > 1e-18) & (np.abs(y) > 1e-18)
    _check(x[ok], y[ok], z[ok])


def test_fma32_ties_and_double_rounding():
    # x * y = 1 + 2^-24 (a tie between two float32) plus tiny z of either sign: a float64
    # sum then float32 rounding would round twice; the exact sum decides
    one = np.float32(1.0)
    h = np.float32(1 + 2.0 ** -23)
    x = np.array([h, h, h, h, one, one], np.float32)
    y = np.array([0.5, 0.5, 0.5, 0.5, 1.0, 1.0], np.float32)  # x*y = (1 + 2^-23) / 2 ...
    z = np.array([2.0 ** -60, -2.0 ** -60, 0.5, -0.25, 2.0 ** -24, -(2.0 ** -25)],
                 np.float32)
    _check(x, y, z)
    # 97 * 257 * 673 = 2^24 + 1: a float32 tie that a float64 sum with a tiny z would
    # keep as a tie (double rounding); powers of two with z just below them
    x = np.array([97 * 257] * 4 + [1.0, 1.0, 2.0 ** 20, 0.75], np.float32)
    y = np.array([673] * 4 + [1.0, 1.0, 4.0, 1.0 / 3], np.float32)
    z = np.array([2.0 ** -30, -2.0 ** -30, 0.0, 3.0, -2.0 ** -60, -2.0 ** -24, -2.0 ** -40,
                  -2.0 ** -80], np.float32)
    _check(x, y, z)
    rng = np.random.default_rng(2)
    m = rng.integers(1 << 23, 1 << 24, 5000).astype(np.float32)  # 24-bit integers
    k = rng.integers(1 << 23, 1 << 24, 5000).astype(np.float32)
    zz = (rng.choice([-1, 1], 5000) * 2.0 ** rng.integers(-40, 30, 5000)).astype(np.float32)
    _check(m, k, zz)


def test_fma32_parallel_compilation_equals_serial():
    """The prange twin (used from PARALLEL_MIN elements on) gives the same bits."""
    from hwsim.ops.ort_numerics import _fma32_k

    rng = np.random.default_rng(5)
    x = rng.integers(-255, 256, 50000).astype(np.float32)
    y = np.full(50000, np.float32(0.0123))
    z = rng.normal(0, 100, 50000).astype(np.float32)
    a, b = np.empty(50000, np.float32), np.empty(50000, np.float32)
    _fma32_k.serial(x, y, z, a)
    _fma32_k.parallel(x, y, z, b)
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
    _check(x[:3000], y[:3000], z[:3000])
