"""Fixed / Kulisch accumulators, adder trees, chunked accumulation, K-tiling
with partial-sum encoding (reload and separate) and product rounding: the C
engine equals the exact reference on hypothesis-drawn configurations."""
from hypothesis import given

from hwsim.testing.mac_strategies import mac_problems, mac_units
from hyp_settings import examples
from .mac_check import check_against_reference


@examples(150)
@given(mac_problems(mac_units(kinds=("fixed",), with_order=False, with_tiling=False)))
def test_fixed_accumulators_equal_reference(problem):
    check_against_reference(*problem)


@examples(250)
@given(mac_problems(mac_units(kinds=("int", "fixed", "float"), with_tiling=False)))
def test_orders_equal_reference(problem):
    check_against_reference(*problem)


@examples(250)
@given(mac_problems(mac_units(kinds=("int", "fixed", "float"))))
def test_tiles_and_psums_equal_reference(problem):
    check_against_reference(*problem)


# ---------------------------------------------------------------------------
# hand-derived examples
# ---------------------------------------------------------------------------
from fractions import Fraction  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import hwsim  # noqa: E402
from hwsim.errors import NaNInputError, OverflowValueError  # noqa: E402
from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator, IntAccumulator,  # noqa: E402
                       MacUnit, Sequential, Tiles, Tree, kulisch, matmul, trace)

F16 = hwsim.format("float16")
RNG = np.random.default_rng(11)


def _col(mac, a_vals, b_vals=None, fmt=F16, **kw):
    a = hwsim.encode(np.array([a_vals], dtype=np.float64), fmt)
    b = hwsim.encode(np.array(b_vals if b_vals is not None else [1.0] * len(a_vals))[:, None], fmt)
    return matmul(a, b, mac, **kw)


def test_tree_and_chunked_orders_change_fp16_sums():
    # terms 1, 2^-11, 2^-11, 2^-11 into fp16 (rne; ulp(1) = 2^-10):
    #  sequential: 1 + 2^-11 is a tie -> 1 (even), three times          -> 1
    #  Tree(2):   (1 + 2^-11) -> 1 ; (2^-11 + 2^-11) = 2^-10 ; 1 + 2^-10  -> 1 + 2^-10
    #  Tree(4):   1 + 3*2^-11 = 1 + 1.5 ulp, a tie -> even (1 + 2 ulp)    -> 1 + 2^-9
    #  Chunked(2, fp32 outer): chunk sums 1 and 2^-10, fp32 adds them    -> 1 + 2^-10
    terms = [1.0, 2.0 ** -11, 2.0 ** -11, 2.0 ** -11]
    acc = FloatAccumulator("float16", "rne")
    got = {name: float(_col(MacUnit(F16, F16, accumulator=acc, order=o), terms).values[0, 0])
           for name, o in [("seq", Sequential()), ("tree2", Tree(2)), ("tree4", Tree(4)),
                           ("chunk2", Chunked(2, FloatAccumulator("float32")))]}
    assert got == {"seq": 1.0, "tree2": 1 + 2 ** -10, "tree4": 1 + 2 ** -9,
                   "chunk2": 1 + 2 ** -10}


def test_sequential_default_order_object():
    mac = MacUnit(F16, F16, accumulator=FloatAccumulator("float16"))
    assert float(_col(mac, [1.0, 2.0 ** -11, 2.0 ** -11]).values[0, 0]) == 1.0


def test_tiles_with_int12_saturating_psums():
    # products 2000, 2000, -3000, 0 (int16 x int16), IntAccumulator(32), tiles of 2:
    #  reload:   tile 1 sum 4000 -> int12 saturates to 2047 (1 psum event); tile 2 resumes
    #            from 2047: 2047 - 3000 = -953          (without psums: 1000)
    #  separate: tile sums 4000 -> 2047 and -3000 -> -2048 (2 events); adder: -1
    a = np.array([[2000, 2000, (1 << 16) - 3000, 0]], dtype=np.uint16)
    b = np.ones((4, 1), dtype=np.uint16)
    acc = IntAccumulator(32, "wrap")
    res = matmul(a, b, MacUnit("int16", "int16", accumulator=acc, tiling=Tiles(2, "int12")))
    assert int(res.values[0, 0]) == -953 and res.stats.psum_overflow_events == 1
    res = matmul(a, b, MacUnit("int16", "int16", accumulator=acc,
                               tiling=Tiles(2, "int12", mode="separate")))
    assert int(res.values[0, 0]) == -1 and res.stats.psum_overflow_events == 2
    plain = matmul(a, b, MacUnit("int16", "int16", accumulator=acc))
    assert int(plain.values[0, 0]) == 1000 and plain.stats.psum_overflow_events == 0
    tr = trace(a, b, MacUnit("int16", "int16", accumulator=acc, tiling=Tiles(2, "int12")))
    assert [s["kind"] for s in tr.steps] == ["mac", "mac", "psum_store", "psum_load", "mac", "mac"]
    assert tr.steps[2]["after"] == 2047 and "overflow" in tr.steps[2]["events"]


def test_psum_format_that_cannot_hold_the_value_is_named():
    a = np.array([[2000, 2000, 0, 0]], dtype=np.uint16)
    b = np.ones((4, 1), dtype=np.uint16)
    mac = MacUnit("int16", "int16", accumulator=IntAccumulator(32),
                  tiling=Tiles(2, "int12", psum_overflow="error"))
    with pytest.raises(OverflowValueError, match=r"tiling.psum_format.*output \[0, 0\]"):
        matmul(a, b, mac)
    fmac = MacUnit(F16, F16, accumulator=FloatAccumulator("float32"), tiling=Tiles(1, "int12"))
    nan = np.array([[F16.nan_code, 0]], dtype=np.uint16)
    with pytest.raises(NaNInputError, match="tiling.psum_format"):
        matmul(nan, np.zeros((2, 1), np.uint16), fmac)


@pytest.mark.parametrize("below,want", [("truncate", -0.75), ("rtz", -0.5), ("rne", -0.5),
                                        ("rna", -0.75), ("rup", -0.5), ("rdn", -0.75),
                                        ("rto", -0.75)])
def test_fixed_accumulator_below_lsb_rules(below, want):
    # product -0.625 = -2.5 LSBs of a 2-fraction-bit register: floor (two's-complement
    # truncation) -3, toward zero -2, ties-to-even -2, ties-away -3, up -2, down -3,
    # round-to-odd: truncate magnitude 2, set the LSB -> 3
    mac = MacUnit(F16, F16, accumulator=FixedAccumulator(8, 2, below))
    res = _col(mac, [-0.625])
    assert res.real_values()[0, 0] == want and res.frac_bits == 2


def test_product_rounding_into_bfloat16():
    # (1 + 2^-10)^2 = 1 + 2^-9 + 2^-20 exactly; rounded toward zero into bfloat16 (8-bit
    # significand) the product is 1.0; rne keeps it too (2^-9 < half an ulp 2^-8); rup
    # gives 1 + 2^-7.  An exact product into fp32 keeps 1 + 2^-9 + 2^-20.
    x = 1 + 2.0 ** -10
    for mode, want in (("rtz", 1.0), ("rne", 1.0), ("rup", 1 + 2.0 ** -7)):
        mac = MacUnit(F16, F16, product="bfloat16", product_rounding=mode,
                      accumulator=FloatAccumulator("float32"))
        assert float(_col(mac, [x], [x]).values[0, 0]) == want
    mac = MacUnit(F16, F16, accumulator=FloatAccumulator("float32"))
    assert float(_col(mac, [x], [x]).values[0, 0]) == 1 + 2.0 ** -9 + 2.0 ** -20


@pytest.mark.parametrize("ops,k", [("float8_e4m3fn", 32), ("float16", 40), ("bfloat16", 24),
                                   ("float8_e5m2", 64)])
def test_kulisch_equals_exact_fraction_sum(ops, k):
    f = hwsim.format(ops)
    finite = [c for c in range(1 << f.bits) if f.classify(c) not in ("nan", "inf")]
    a = RNG.choice(finite, (3, k)).astype(f.code_dtype)
    b = RNG.choice(finite, (k, 2)).astype(f.code_dtype)
    a[0, :] = f.max_code              # the largest magnitudes, all adding up
    b[:, 0] = f.max_code
    acc = kulisch(f, f, k, overflow="error")
    res = matmul(a, b, MacUnit(f, f, accumulator=acc))
    for i in range(3):
        for j in range(2):
            exact = sum(f.decode_exact(int(a[i, t])) * f.decode_exact(int(b[t, j]))
                        for t in range(k))
            assert Fraction(int(res.values[i, j]), 1 << acc.frac_bits) == exact
    assert res.stats.overflow_events == 0 and res.stats.bits_needed <= acc.width


def test_tree_trace_lists_nodes_and_root():
    mac = MacUnit(F16, F16, accumulator=FloatAccumulator("float16"), order=Tree(2))
    a = hwsim.encode(RNG.standard_normal((1, 5)), F16)
    b = hwsim.encode(RNG.standard_normal((5, 1)), F16)
    tr = trace(a, b, mac)
    # 5 leaves: nodes (0,1) (2,3) at level 1, ((0,1),(2,3)) at level 2, leaf 4 passes up,
    # root node (0..5), then the register add of the root
    assert [(s["kind"], s["k"]) for s in tr.steps] == [
        ("node", (0, 2)), ("node", (2, 4)), ("node", (0, 4)), ("node", (0, 5)), ("node", (0, 5))]
    assert tr.steps[-1]["after"] == int(matmul(a, b, mac).codes[0, 0])
