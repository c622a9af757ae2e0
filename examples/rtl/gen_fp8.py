"""Golden vectors for tb_fp8_mac.v / the cocotb bench: directed corner cases plus random
FP8 dot products through MacUnit(fp8, fp8, FloatAccumulator("float32")), rne.

The export is one hwsim matmul A [M, K] x B [K, M] with bias [M] (``hwsim.export``):
case c is row c of A, column c of B and bias[c] (output (c, c)); the first C cases are
directed, the rest random.  Off-diagonal outputs mix cases and are checked too.
Directed cases (``cases.txt``): exact ties at the binary32 rounding point (even and odd
LSB, both signs, with and without a bias), near-ties, cancellation to +0 / -0,
Inf / NaN / Inf x 0 / Inf - Inf, FP8 subnormal products, a binary32 subnormal register.

Also written into the layer folder: ``steps.hex`` [M, N, K] (the register after every
MAC step, from hwsim.mac.trace), ``params.vh`` and ``expect_bug.txt``: the first
(element, step), in bench order, where a rounding step is an exact tie with an even
lower neighbour, i.e. where an adder that rounds ties away from zero (the bug planted
by ``INJECT_BUG``) first differs.  It is found with exact rational arithmetic on the
golden register values, independently of the RTL.

usage: python gen_fp8.py OUT_DIR [--e5m2] [--random R] [--k K] [--seed S]
"""
import argparse
import math
import os
from fractions import Fraction

import numpy as np

import hwsim
from hwsim.codec import decode, encode
from hwsim.mac import FloatAccumulator, MacUnit, trace
from hwsim.network.hexio import write_hex

F32 = "float32"


def fp8_code(v, fmt):
    """Code of an exactly representable FP8 value (asserts exactness)."""
    c = int(encode(np.array([v], np.float64), fmt, "rne")[0])
    back = float(decode(np.array([c], np.uint8), fmt)[0])
    assert back == v or (math.isnan(v) and math.isnan(back)), (v, back, fmt)
    return c


def directed(fmt):
    """[(name, [(a, b), ...], bias)]: values (floats) or ('code', int) for special codes."""
    e5 = "e5m2" in fmt
    nan = ("code", 0x7E if e5 else 0x7F)
    cases = [
        ("tie, bias 2^14 even LSB: stays", [(2.0 ** -5, 2.0 ** -5)], 2.0 ** 14),
        ("tie, bias 2^14+2^-9 odd LSB: rounds up", [(2.0 ** -5, 2.0 ** -5)], 2.0 ** 14 + 2.0 ** -9),
        ("tie, negative", [(-(2.0 ** -5), 2.0 ** -5)], -(2.0 ** 14)),
        ("tie, 1.5 ulp", [(1.5 * 2.0 ** -5, 2.0 ** -4)], 2.0 ** 14),
        ("tie without bias: 2^16 then 2^-8", [(256.0, 256.0), (2.0 ** -4, 2.0 ** -4)], 0.0),
        ("tie below a power of two (borrow): 2^16 then -2^-9",
         [(256.0, 256.0), (-(2.0 ** -4), 2.0 ** -5)], 0.0),
        ("near-tie above", [(1.25 * 2.0 ** -5, 2.0 ** -5)], 2.0 ** 14),
        ("near-tie below", [(0.75 * 2.0 ** -5, 2.0 ** -5)], 2.0 ** 14),
        ("tie after subtraction (borrow)", [(-(2.0 ** -5), 2.0 ** -5)], 2.0 ** 14 + 2.0 ** -9),
        ("cancellation to +0", [(3.0, 5.0), (-3.0, 5.0)], 0.0),
        ("cancellation of the bias to +0", [(-1.5, 4.0)], 6.0),
        ("-0 bias + -0 product = -0", [(-0.0, 1.0)], -0.0),
        ("-0 bias + +0 product = +0", [(0.0, 1.0)], -0.0),
        ("massive cancellation, exact small rest", [(-1.0, 1.0)], 1.0 + 2.0 ** -23),
        ("FP8 subnormal x subnormal products", [("min", "min"), ("min", "min"), ("sub3", "min")],
         0.0),
        ("binary32 subnormal bias + subnormal product", [("min", "min")], 2.0 ** -140),
        ("binary32 subnormal bias + zero product", [(0.0, 3.0)], 3 * 2.0 ** -149),
        ("NaN operand", [(nan, 1.0), (1.0, 1.0)], 0.0),
        ("NaN operand b", [(2.0, nan)], 1.0),
        ("Inf bias + finite", [(2.0, 3.0)], math.inf),
        ("-Inf bias + NaN", [(nan, 3.0)], -math.inf),
        ("NaN bias", [(2.0, 3.0)], math.nan),
    ]
    if e5:
        inf = ("code", 0x7C)
        cases += [
            ("Inf x 0 = NaN", [(inf, 0.0)], 0.0),
            ("Inf x -2 = -Inf", [(inf, -2.0)], 1.0),
            ("Inf - Inf = NaN", [(inf, 1.0), (inf, -1.0)], 0.0),
            ("+Inf bias + -Inf product = NaN", [(inf, -1.0)], math.inf),
        ]
    return cases


def _code(v, fmt):
    if isinstance(v, tuple):
        return v[1]
    if v == "min":
        return 0x01
    if v == "sub3":
        return 0x03
    return fp8_code(v, fmt)


def build(fmt, k, n_random, seed):
    cases = directed(fmt)
    c = len(cases)
    m = c + n_random
    rng = np.random.default_rng(seed)
    A = np.zeros((m, k), np.uint8)
    B = np.zeros((k, m), np.uint8)
    bias = np.zeros(m)
    for i, (_, terms, bv) in enumerate(cases):
        assert len(terms) <= k
        for s, (x, y) in enumerate(terms):
            A[i, s], B[s, i] = _code(x, fmt), _code(y, fmt)
        bias[i] = bv
    A[c:] = rng.integers(0, 256, (n_random, k), dtype=np.uint8)
    B[:, c:] = rng.integers(0, 256, (k, n_random), dtype=np.uint8)
    bias[c:] = decode(rng.integers(0, 256, n_random).astype(np.uint8), fmt)
    bias[c:][np.isnan(bias[c:])] = 0.0
    return cases, A, B, bias


def f32(code):
    return float(np.array([code], np.uint32).view(np.float32)[0])


def tie_with_even_low(before_code, a, b, fmt):
    """True when round(before + a*b) is an exact tie whose lower neighbour (toward zero)
    has an even significand: where rne and ties-away-from-zero differ."""
    x, pa, pb = f32(before_code), float(decode(np.array([a], np.uint8), fmt)[0]), \
        float(decode(np.array([b], np.uint8), fmt)[0])
    if not all(map(math.isfinite, (x, pa, pb))):
        return False
    s = Fraction(x) + Fraction(pa) * Fraction(pb)
    if s == 0:
        return False
    mag = abs(s)
    e = max(math.floor(math.log2(mag)), -126)
    if Fraction(2) ** e > mag:
        e -= 1
    if Fraction(2) ** (e + 1) <= mag:
        e += 1
    ulp = Fraction(2) ** (max(e, -126) - 23)
    q, r = divmod(mag, ulp)
    return r == ulp / 2 and q % 2 == 0


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--e5m2", action="store_true")
    p.add_argument("--random", type=int, default=8)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    fmt = "float8_e5m2" if a.e5m2 else "float8_e4m3fn"
    mac = MacUnit(fmt, fmt, accumulator=FloatAccumulator(F32))
    cases, A, B, bias = build(fmt, a.k, a.random, a.seed)
    m = A.shape[0]
    man = hwsim.export(mac, a.out, A, B, bias=bias, trace=[(m - 1, m - 1)], name="fp8_mac")
    d = os.path.join(a.out, man["layers"][0]["dir"])
    steps = np.zeros((m, m, a.k), np.uint32)
    first = None
    ties = 0
    for i in range(m):
        for j in range(m):
            t = trace(A, B, mac, i, j, bias=bias)
            macs = [x for x in t.steps if x["kind"] == "mac"]
            before = macs[0]["before"]
            for s_i, s in enumerate(macs):
                steps[i, j, s_i] = s["after"]
                if tie_with_even_low(before, A[i, s_i], B[s_i, j], fmt):
                    ties += 1
                    first = first or (i * m + j, i, j, s_i)
                before = s["after"]
    write_hex(os.path.join(d, "steps.hex"), steps, 32)
    with open(os.path.join(d, "params.vh"), "w") as f:
        f.write(f"`define M {m}\n`define N {m}\n`define K {a.k}\n`define E5M2 {int(a.e5m2)}\n")
    with open(os.path.join(d, "cases.txt"), "w") as f:
        for i, (name, _, _) in enumerate(cases):
            f.write(f"{i} ({i}, {i}): {name}\n")
    with open(os.path.join(d, "expect_bug.txt"), "w") as f:
        f.write("none\n" if first is None else "element %d (%d, %d) step %d\n" % first)
    print(d)
    return ties


if __name__ == "__main__":
    main()
