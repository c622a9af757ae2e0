"""The vector unit's element-wise arithmetic is correctly rounded: add, sub, mul, div, sqrt
against MPFR (gmpy2) in the unit's format, every rounding mode MPFR has, seeded operands
(random bit patterns: subnormals, overflow, cancellation, exact ties included)."""
from __future__ import annotations

import gmpy2
import numpy as np
import pytest
from vector_oracle import target_context, same

from hwsim.codec import decode
from hwsim.errors import ConfigError
from hwsim.formats import format as parse_format
from hwsim.ops.vector import arith, vector_unit

OPS = {"add": (arith.add, lambda a, b: a + b), "sub": (arith.sub, lambda a, b: a - b),
       "mul": (arith.mul, lambda a, b: a * b), "div": (arith.div, lambda a, b: a / b)}


def _values(fmt, n, seed):
    f = parse_format(fmt)
    rng = np.random.default_rng(seed)
    v = decode(rng.integers(0, 1 << f.bits, n, dtype=np.uint64).astype(f.code_dtype), f)
    return v[np.isfinite(v)]


@pytest.mark.parametrize("fmt", ["float32", "bfloat16", "float16", "float8_e4m3fn"])
@pytest.mark.parametrize("mode", ["rne", "rtz", "rup", "rdn"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_binary_correctly_rounded(fmt, mode, op):
    n = 4000
    a, b = _values(fmt, n, 1), _values(fmt, n, 2)
    m = min(a.size, b.size)
    a, b = a[:m], b[:m]
    # near-cancellation and near-tie pairs too: b = -a + small, b = a
    a = np.concatenate([a, a[:200], a[:200]])
    b = np.concatenate([b, -a[:200] * (1 + 2.0 ** -8), a[:200]])
    unit = vector_unit({"format": fmt, "rounding": mode})
    b = unit.rnd(b)
    got = OPS[op][0](unit, a, b)
    ref = np.empty(a.size)
    with target_context(fmt, mode):
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
            ref[i] = float(OPS[op][1](gmpy2.mpfr(x, 53), gmpy2.mpfr(y, 53))) if (op != "div" or y != 0) \
                else (np.nan if x == 0 else np.copysign(np.inf, x) * np.copysign(1, y))
    f = parse_format(fmt)
    if not f.has_inf:  # MPFR's exponent range ends with a whole binade: e4m3fn's does not
        over = np.abs(ref) > f.max_finite
        assert (np.isnan(got[over]) | (np.abs(got[over]) == f.max_finite)).all()
        ref = np.where(over, got, ref)
    bad = ~same(got, ref)
    assert not bad.any(), (a[bad][:4], b[bad][:4], got[bad][:4], ref[bad][:4])


@pytest.mark.parametrize("fmt", ["float32", "bfloat16"])
@pytest.mark.parametrize("mode", ["rne", "rtz", "rup"])
def test_sqrt_correctly_rounded(fmt, mode):
    a = np.abs(_values(fmt, 5000, 3))
    got = arith.sqrt(vector_unit({"format": fmt, "rounding": mode}), a)
    with target_context(fmt, mode):
        ref = np.array([float(gmpy2.sqrt(gmpy2.mpfr(x, 53))) for x in a.tolist()])
    assert same(got, ref).all()


def test_round_to_odd_cases():
    """1 + 2^-30 in bfloat16: rne 1, rup the next value; 1 - 2^-30: rtz the value below 1."""
    one = np.array([1.0])
    tiny = np.array([2.0 ** -30])
    assert arith.add(vector_unit({"format": "bfloat16"}), one, tiny)[0] == 1.0
    assert arith.add(vector_unit({"format": "bfloat16", "rounding": "rup"}), one, tiny)[0] == 1 + 2.0 ** -7
    assert arith.sub(vector_unit({"format": "bfloat16", "rounding": "rtz"}), one, tiny)[0] == 1 - 2.0 ** -8


def test_config_errors():
    with pytest.raises(ConfigError, match="vector.format"):
        vector_unit({"format": "float64"})
    with pytest.raises(ConfigError, match="vector.rounding"):
        vector_unit({"rounding": "sr"})
    with pytest.raises(ConfigError, match="unknown key"):
        vector_unit({"fmt": "float32"})
    with pytest.raises(ConfigError, match="unknown function"):
        vector_unit({"functions": {"cos": "exact"}})
    with pytest.raises(ConfigError, match="strictly increasing"):
        vector_unit({"functions": {"exp": {"pwl": {"x": [1, 0], "y": [0, 1]}}}})
    with pytest.raises(ConfigError, match="hi must be > lo"):
        vector_unit({"functions": {"exp": {"lut": {"lo": 1, "hi": 1, "table": [0, 1]}}}})
