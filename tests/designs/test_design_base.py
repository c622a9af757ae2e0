"""Shared design helpers: the correctly rounded add and activation quantization."""
from fractions import Fraction

import numpy as np
import pytest

from hwsim import reference as ref
from hwsim.codec import decode
from hwsim.designs.base import add_rounded, as_matrix_pair, quantize_activations
from hwsim.designs.schemes import FORMAT_PRESETS

FMTS = ["bfloat16", "float16", "float32", FORMAT_PRESETS["wang2018_fp16_e6m9"], "e4m3"]


def _operands(fmt, seed, n=3000):
    """Pairs of values of fmt with every exponent spread, including exact ties."""
    rng = np.random.default_rng(seed)
    bits = 32 if fmt == "float32" else 16
    codes = rng.integers(0, 1 << bits, size=(2, n)).astype(np.uint32 if bits == 32 else np.uint16)
    f = __import__("hwsim").format(fmt) if isinstance(fmt, str) else fmt
    codes = codes & ((1 << f.bits) - 1)
    v = np.asarray(decode(codes.astype(f.code_dtype), f), dtype=np.float64)
    ok = np.all(np.isfinite(v), axis=0)
    return v[0, ok], v[1, ok], f


@pytest.mark.parametrize("fmt", FMTS, ids=str)
@pytest.mark.parametrize("mode", ["rne", "rtz", "rup", "rdn", "rna"])
def test_add_rounded_is_the_exact_sum_rounded_once(fmt, mode):
    a, b, f = _operands(fmt, hash((str(fmt), mode)) % 1000)
    got = add_rounded(a, b, f, mode)
    for x, y, g in zip(a[:800], b[:800], got[:800]):
        code, _ = ref.encode(f, Fraction(float(x)) + Fraction(float(y)), mode, "saturate")
        want = ref.decode_float(f, code)
        assert (g == want and np.signbit(g) == np.signbit(want)) or (g == 0 == want), (x, y)


def test_add_rounded_sr_matches_reference_random_words():
    a, b, f = _operands("bfloat16", 5, n=600)
    got = add_rounded(a, b, f, "sr", sr_bits=8, seed=11, index0=0)
    for i, (x, y) in enumerate(zip(a, b)):
        code, _ = ref.encode(f, Fraction(float(x)) + Fraction(float(y)), "sr", "saturate",
                             sr_bits=8, seed=11, index=i)
        assert got[i] == ref.decode_float(f, code) or got[i] == 0 == ref.decode_float(f, code)


def test_quantize_activations_and_shapes():
    q, s = quantize_activations(np.array([[-2.0, 1.0, 0.5]]), 8)
    np.testing.assert_array_equal(q, [[-127, 64, 32]])
    assert s == 2.0 / 127
    with pytest.raises(ValueError, match="x must be"):
        as_matrix_pair(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        as_matrix_pair(np.array([[np.nan]]), np.zeros((1, 1)))
