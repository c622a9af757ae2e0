"""The vector unit's functions: correctly rounded (MPFR via gmpy2), and the same bits on
every machine (stored digests of the sweeps).

* exhaustive: every float16 and every bfloat16 input, exp / log / sigmoid / tanh / erf /
  rsqrt, round-to-nearest-even (and float16 under rtz / rup / rdn);
* float32: 10^5 seeded inputs per function in ``make test`` (half uniform over all bit
  patterns, half uniform over the range where the function varies); 10^6 under
  ``make test-exhaustive`` (HYPOTHESIS_PROFILE=exhaustive);
* the float64 evaluations' error against MPFR is far inside the stated bound.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import gmpy2
import numpy as np
import pytest
from vector_oracle import all_values, mpfr_fn, same

from hwsim.ops.vector import vector_unit
from hwsim.ops.vector.funcs import REL_BOUND, approx

FUNCS = ("exp", "log", "sigmoid", "tanh", "erf", "rsqrt")
DIGESTS = Path(__file__).parent / "data" / "vector_digests.json"
N32 = 10**6 if os.environ.get("HYPOTHESIS_PROFILE") == "exhaustive" else 10**5
_RANGE = {"exp": 100.0, "log": 1e6, "sigmoid": 30.0, "tanh": 12.0, "erf": 5.0, "rsqrt": 1e6}


def _digest(values) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, np.float64).tobytes()).hexdigest()[:32]


def float32_inputs(name, n) -> np.ndarray:
    rng = np.random.default_rng(9009)
    bits = rng.integers(0, 1 << 32, n // 2, dtype=np.uint64).astype(np.uint32)
    with np.errstate(invalid="ignore"):
        a = bits.view(np.float32).astype(np.float64)
    lo = 0.0 if name in ("log", "rsqrt") else -_RANGE[name]
    b = rng.uniform(lo, _RANGE[name], n - n // 2).astype(np.float32).astype(np.float64)
    x = np.concatenate([a, b])
    return x[~np.isnan(x)]


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", FUNCS)
def test_exhaustive_16bit_rne(fmt, name):
    xs = all_values(fmt)
    got = vector_unit({"format": fmt}).fn(name, xs)
    ref = mpfr_fn(name, xs, fmt)
    bad = ~same(got, ref)
    assert not bad.any(), (xs[bad][:5], got[bad][:5], ref[bad][:5])
    stored = json.loads(DIGESTS.read_text())
    assert _digest(got) == stored[f"{fmt}/rne/{name}"]


@pytest.mark.parametrize("mode", ["rtz", "rup", "rdn"])
@pytest.mark.parametrize("name", FUNCS)
def test_exhaustive_float16_directed(mode, name):
    xs = all_values("float16")
    got = vector_unit({"format": "float16", "rounding": mode}).fn(name, xs)
    ref = mpfr_fn(name, xs, "float16", mode)
    bad = ~same(got, ref)
    assert not bad.any(), (xs[bad][:5], got[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("name", FUNCS)
def test_float32_sample(name):
    xs = float32_inputs(name, N32)
    got = vector_unit({"format": "float32"}).fn(name, xs)
    ref = mpfr_fn(name, xs, "float32")
    bad = ~same(got, ref)
    assert not bad.any(), (xs[bad][:5], got[bad][:5], ref[bad][:5])
    if N32 == 10**5:
        assert _digest(got) == json.loads(DIGESTS.read_text())[f"float32/rne/{name}/1e5"]


@pytest.mark.parametrize("name", FUNCS)
def test_float64_evaluation_within_bound(name):
    """|t - f(x)| <= err everywhere, and the largest relative error is far below the
    stated bound (2^-44): the bracket never excludes the true value."""
    xs = float32_inputs(name, 4000)
    xs = xs[np.isfinite(xs) & (np.abs(xs) < {"exp": 88, "tanh": 20, "erf": 6,
                                              "sigmoid": 40}.get(name, np.inf))]
    if name in ("log", "rsqrt"):
        xs = xs[xs > 0]
    t, err = approx(name, xs)
    worst = 0.0
    with gmpy2.context(precision=300, emin=-10**6, emax=10**6):
        for x, ti, ei in zip(xs.tolist(), t.tolist(), err.tolist()):
            v = {"exp": gmpy2.exp, "log": gmpy2.log, "tanh": gmpy2.tanh, "erf": gmpy2.erf,
                 "rsqrt": gmpy2.rec_sqrt,
                 "sigmoid": lambda y: 1 / (1 + gmpy2.exp(-y))}[name](gmpy2.mpfr(x))
            d = abs(gmpy2.mpfr(ti) - v)
            if ei == 0:  # a round-to-odd value: v strictly between t's float64 neighbours
                assert np.nextafter(ti, -np.inf) < v < np.nextafter(ti, np.inf), (x, ti)
                continue
            assert d <= ei or v == 0, (x, ti, float(v), ei)
            if v != 0:
                worst = max(worst, float(d / abs(v)))
    assert worst < REL_BOUND / 16, worst


def test_special_inputs():
    u = vector_unit({"format": "float32"})
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
    assert same(u.fn("exp", x), [np.nan, np.inf, 0.0, 1.0, 1.0]).all()
    assert same(u.fn("tanh", x), [np.nan, 1.0, -1.0, 0.0, -0.0]).all()
    assert same(u.fn("erf", x), [np.nan, 1.0, -1.0, 0.0, -0.0]).all()
    assert same(u.fn("sigmoid", x), [np.nan, 1.0, 0.0, 0.5, 0.5]).all()
    assert same(u.fn("rsqrt", np.array([np.nan, np.inf, 0.0, -1.0, 16.0])),
                [np.nan, 0.0, np.inf, np.nan, 0.25]).all()
    assert same(u.fn("log", np.array([np.nan, np.inf, 0.0, -1.0, 1.0])),
                [np.nan, np.inf, -np.inf, np.nan, 0.0]).all()


def write_digests():  # pragma: no cover - run by hand after an MPFR-checked change
    d = {}
    for fmt in ("float16", "bfloat16"):
        for name in FUNCS:
            d[f"{fmt}/rne/{name}"] = _digest(vector_unit({"format": fmt}).fn(name, all_values(fmt)))
    for name in FUNCS:
        d[f"float32/rne/{name}/1e5"] = _digest(
            vector_unit({"format": "float32"}).fn(name, float32_inputs(name, 10**5)))
    DIGESTS.parent.mkdir(exist_ok=True)
    DIGESTS.write_text(json.dumps(d, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover
    write_digests()
