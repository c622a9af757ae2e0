"""The generators behind examples/rtl's FP8 MAC and MAC-array tile flows: the directed FP8
cases are what they claim (exact ties and near-ties checked with rational arithmetic,
special values as fp8_mac.v implements them), and the predicted bug locations are right.
The HDL flows themselves run in ``make rtl-test`` (Icarus / cocotb)."""
import contextlib
import io
import math
import os
import sys
from fractions import Fraction

import numpy as np
import pytest

from hwsim.codec import decode
from hwsim.mac import FloatAccumulator, MacUnit, trace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "rtl"))
import gen_fp8  # noqa: E402
import gen_tile  # noqa: E402

FMTS = ["float8_e4m3fn", "float8_e5m2"]


def _f32(code):
    return float(np.array([code], np.uint32).view(np.float32)[0])


def _is_tie(before, a, b, fmt):
    """Exact before + a*b lies halfway between two binary32 neighbours."""
    x = _f32(before)
    pa, pb = (float(decode(np.array([c], np.uint8), fmt)[0]) for c in (a, b))
    if not all(map(math.isfinite, (x, pa, pb))):
        return False
    s = abs(Fraction(x) + Fraction(pa) * Fraction(pb))
    if s == 0:
        return False
    e = max(s.numerator.bit_length() - s.denominator.bit_length() - 1, -126)
    while Fraction(2) ** (e + 1) <= s:
        e += 1
    ulp = Fraction(2) ** (max(e, -126) - 23)
    return s % ulp == ulp / 2


def _diag(fmt):
    cases, A, B, bias = gen_fp8.build(fmt, 8, 0, 1)
    mac = MacUnit(fmt, fmt, accumulator=FloatAccumulator("float32"))
    out = []
    for i, (name, terms, _) in enumerate(cases):
        steps = trace(A, B, mac, i, i, bias=bias).steps
        macs = [s for s in steps if s["kind"] == "mac"]
        ties = [k for k, s in enumerate(macs) if _is_tie(s["before"], A[i, k], B[k, i], fmt)]
        out.append((name, macs[:len(terms)], ties))  # the steps of the case (then zero padding)
    return out


@pytest.mark.parametrize("fmt", FMTS)
def test_directed_ties_are_exact_ties_and_round_to_even(fmt):
    diag = _diag(fmt)
    n_ties = 0
    for name, macs, ties in diag:
        if name.startswith("tie"):
            assert ties, f"{name}: no step is an exact tie"
            for k in ties:  # hwsim rounds each tie to the even neighbour
                assert macs[k]["after"] % 2 == 0, (name, k, hex(macs[k]["after"]))
            n_ties += len(ties)
        if name.startswith("near-tie"):
            assert not ties, name
    assert n_ties >= 7


@pytest.mark.parametrize("fmt", FMTS)
def test_directed_special_values_match_the_rtl_rules(fmt):
    res = {name: macs[-1]["after"] for name, macs, _ in _diag(fmt)}
    qnan = 0x7FC00000
    for name in ("NaN operand", "NaN operand b", "-Inf bias + NaN", "NaN bias"):
        assert res[name] == qnan, name
    assert res["Inf bias + finite"] == 0x7F800000
    assert res["cancellation to +0"] == 0 and res["cancellation of the bias to +0"] == 0
    assert res["-0 bias + -0 product = -0"] == 0x80000000
    assert res["-0 bias + +0 product = +0"] == 0
    assert res["massive cancellation, exact small rest"] == 0x34000000  # 2^-23
    assert res["binary32 subnormal bias + zero product"] == 3
    if "e5m2" in fmt:
        assert res["Inf x 0 = NaN"] == qnan and res["Inf - Inf = NaN"] == qnan
        assert res["+Inf bias + -Inf product = NaN"] == qnan
        assert res["Inf x -2 = -Inf"] == 0xFF800000


@pytest.mark.parametrize("fmt", FMTS)
def test_tie_predicate_of_the_generator(fmt):
    """gen_fp8.tie_with_even_low (behind expect_bug.txt: where ties-away-from-zero differs
    from rne) is true exactly at the ties that rne rounds toward zero."""
    cases, A, B, _ = gen_fp8.build(fmt, 8, 0, 1)
    hits = 0
    for i, (name, macs, ties) in enumerate(_diag(fmt)):
        for k, s in enumerate(macs):
            got = gen_fp8.tie_with_even_low(s["before"], A[i, k], B[k, i], fmt)
            want = False
            if k in ties:
                pa, pb = (Fraction(float(decode(np.array([c], np.uint8), fmt)[0]))
                          for c in (A[i, k], B[k, i]))
                want = abs(Fraction(_f32(s["after"]))) < abs(Fraction(_f32(s["before"])) + pa * pb)
            assert got == want, (name, k)
            hits += got
    assert hits >= 4


def test_tile_bug_prediction(tmp_path):
    """gen_tile predicts the first step where a negative input in the last tile row meets
    a nonzero weight; check it against the exported codes directly."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        gen_tile.main([str(tmp_path / "g")])
    d = out.getvalue().strip()
    line = open(os.path.join(d, "expect_bug.txt")).read()
    assert line.startswith("element 1 (0, 0, 0, 1) step 3 (ci 0, kh 1, kw 0, iy 0, ix 0)")
    x = np.load(os.path.join(d, "input.npy")).astype(np.int8)
    w = np.load(os.path.join(d, "weight.npy")).astype(np.int8)
    assert x[0, 0, 0, 0] < 0 and w[0, 0, 1, 0] != 0
    steps = open(os.path.join(d, "steps.hex")).read().split()
    assert len(steps) == 4 * 36 * 27
