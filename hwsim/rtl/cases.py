"""Operand generation for ``hwsim vectors``: corner cases and seeded random codes.

In the spirit of TestFloat's test levels (level 1: the boundary codes of every
field, all combinations; level 2: more of them), plus directed cases aimed at the
places a rounding datapath goes wrong: exact ties and the codes either side of
them, subnormal and overflow thresholds, exact and near-exact cancellation,
signed zeros, NaN (quiet and signalling), Inf and the maximum magnitudes.
"""
from __future__ import annotations

import random
from fractions import Fraction

from .. import reference as ref
from ..formats import FloatFormat
from ..reference.scalar import _info as _ref_info

__all__ = ["boundary_codes", "exact_code", "neighbours", "unary_cases", "binary_cases",
           "ternary_cases", "convert_cases", "random_codes"]


def _valid(f, c) -> bool:
    return isinstance(c, int) and 0 <= c < (1 << f.bits)


def exact_code(f, v: Fraction, negative: bool = False):
    """The code of exact value ``v`` in ``f`` (sign from ``negative`` for zero), or None."""
    if v == 0:
        if isinstance(f, FloatFormat):
            inf = _ref_info(f)
            return inf.sign_bit if negative and inf.has_negzero else 0
        return 0
    try:
        c, fl = ref.encode(f, -v if negative else v, "rtz", "saturate" if not isinstance(
            f, FloatFormat) else None)
    except Exception:
        return None
    return c if fl == 0 and ref.decode(f, c) == (-v if negative else v) else None


def _sign_variants(f, codes):
    out = []
    inf = _ref_info(f) if isinstance(f, FloatFormat) else None
    for c in codes:
        if c is None:
            continue
        out.append(c)
        if inf is not None and inf.signed and inf.sp in ("ieee", "fn", "finite"):
            out.append(c ^ inf.sign_bit)
    return out


def boundary_codes(f, level: int = 1) -> list:
    """Boundary codes of a scalar format (TestFloat level 1; level 2 adds neighbours)."""
    if not isinstance(f, FloatFormat):
        lo = -(1 << (f.bits - 1)) if f.signed else 0
        hi = (1 << (f.bits - 1)) - 1 if f.signed else (1 << f.bits) - 1
        raw = {0, 1, 2, hi, hi - 1, lo, lo + 1, -1, -2, 3 if level > 1 else 0}
        return sorted({r % (1 << f.bits) for r in raw if lo <= r <= hi})
    inf = _ref_info(f)
    M = inf.M
    one = exact_code(f, Fraction(1))
    mags = [0, 1, inf.m_all if M else None, 1 << M if inf.E > 1 or inf.sp != "e8m0" else None,
            (1 << M) + 1, one, None if one is None else one + 1, None if one is None else one - 1,
            exact_code(f, Fraction(2)), inf.max_code, inf.max_code - 1]
    if level > 1:
        mags += [2, inf.m_all - 1 if M > 1 else None, (1 << M) - 1 if M else None,
                 exact_code(f, Fraction(3, 2)), exact_code(f, Fraction(1, 2)),
                 (inf.max_code >> M) << M, ((inf.max_code >> M) - 1) << M | inf.m_all]
    codes = _sign_variants(f, [m for m in mags if m is not None and _valid(f, m)])
    if inf.inf_code is not None:
        codes += _sign_variants(f, [inf.inf_code])
    if inf.nan_code is not None:
        codes.append(inf.nan_code)
        if inf.sp == "ieee" and M >= 2:
            e = inf.e_all << M
            codes += [e | 1, inf.nan_code | 1, e | inf.sign_bit | 1 | (1 << (M - 2)),
                      inf.nan_code | inf.sign_bit]
    return sorted({c for c in codes if _valid(f, c) and inf.classify(c) != "noncanonical_zero"})


def random_codes(f, n: int, rng: random.Random) -> list:
    return [rng.randrange(1 << f.bits) for _ in range(n)]


def neighbours(f, c: int, d: int = 1) -> list:
    """Codes c-d .. c+d that stay in the same sign half."""
    half = 1 << (f.bits - 1) if (not isinstance(f, FloatFormat) or f.signed) else 1 << f.bits
    return [x for x in range(c - d, c + d + 1) if _valid(f, x) and (x // half) == (c // half)]


def _finite(f, c) -> bool:
    if not isinstance(f, FloatFormat):
        return True
    return _ref_info(f).classify(c) in ("zero", "subnormal", "normal")


def _ulp(f, c) -> Fraction:
    """Spacing of the grid at code c (finite float code)."""
    inf = _ref_info(f)
    e = (c & ((1 << inf.width) - 1)) >> inf.M
    return Fraction(2) ** (max(e, 1) - inf.bias - inf.M) if inf.sp != "e8m0" else Fraction(2) ** (
        e - inf.bias)


def _float_pairs(f, rng, n_dir):
    """Directed (a, b) pairs for add and mul: ties, near ties, thresholds, cancellation."""
    inf = _ref_info(f)
    one = exact_code(f, Fraction(1))
    xs = [c for c in ([one, 1 << inf.M, inf.max_code, inf.m_all] +
                      [rng.randrange(1 << inf.width) for _ in range(n_dir)]) if c is not None
          and _finite(f, c) and c]
    pairs = []
    for x in xs:
        u = _ulp(f, x)
        for frac in (Fraction(1, 2), Fraction(3, 2), Fraction(1, 4), Fraction(3, 4)):
            b = exact_code(f, u * frac)
            for bb in ([] if b is None else neighbours(f, b)):
                pairs += [(x, bb), (x, bb ^ inf.sign_bit if f.signed else bb)]
        if f.signed:  # exact and near cancellation
            pairs += [(x, n ^ inf.sign_bit) for n in neighbours(f, x, 2)]
    # mul: an odd significand times 1.5 * 2^k is a tie at the last place
    threes = [exact_code(f, Fraction(3, 2) * Fraction(2) ** k) for k in range(-3, 3)]
    odd = [rng.randrange(1 << inf.width) | 1 for _ in range(4 * n_dir)]
    for x in xs + [c for c in odd if _finite(f, c)]:
        for t in threes:
            if t is not None:
                pairs += [(x, n) for n in neighbours(f, t)] + [(x | 1, t)]
    # underflow and overflow thresholds (tininess after rounding: min_normal * (1 - 2^-(M+1)))
    near_one = exact_code(f, 1 - Fraction(1, 2 ** (inf.M + 1)))
    half = exact_code(f, Fraction(1, 2))
    for a, b in ((1 << inf.M, near_one), (1, half), (inf.max_code, one), (2, half)):
        if a is not None and b is not None:
            pairs += [(a, n) for n in neighbours(f, b)]
    return pairs


def unary_cases(f, level, n_random, rng):
    return [(c,) for c in boundary_codes(f, level) + random_codes(f, n_random, rng)]


def binary_cases(f, level, n_random, rng) -> list:
    """(a, b) pairs: all pairs of boundary codes, directed cases, seeded random pairs."""
    bc = boundary_codes(f, level)
    out = [(a, b) for a in bc for b in bc]
    if isinstance(f, FloatFormat) and _ref_info(f).sp != "e8m0" and f.man_bits > 0:
        out += _float_pairs(f, rng, 8 * level)
    out += [tuple(random_codes(f, 2, rng)) for _ in range(n_random)]
    return _dedupe(f, out)


def ternary_cases(f, level, n_random, rng) -> list:
    """(a, b, c) triples for mulAdd: boundary triples, fma-specific directed cases, random."""
    bc = boundary_codes(f, 1)
    if level == 1:
        bc = bc[:: max(1, len(bc) // 12)]
    out = [(a, b, c) for a in bc for b in bc for c in bc]
    if isinstance(f, FloatFormat) and _ref_info(f).sp != "e8m0" and f.man_bits > 0:
        one = exact_code(f, Fraction(1))
        for a, b in _float_pairs(f, rng, 4 * level):
            out.append((a, one, b))  # the add ties through the fused path
            out.append((a, b, 0))
            p = ref.decode(f, a) * ref.decode(f, b) if _finite(f, a) and _finite(f, b) else None
            if p is not None:  # c = -round(a*b): the exact residual survives only if fused
                c, _ = ref.encode(f, -p, "rne", "saturate")
                out += [(a, b, n) for n in neighbours(f, c)]
    out += [tuple(random_codes(f, 3, rng)) for _ in range(n_random)]
    return _dedupe(f, out)


def convert_cases(src, f, level, n_random, rng) -> list:
    """Source codes for ``src -> f``: source boundaries, target ties, thresholds, random."""
    out = list(boundary_codes(src, level))
    targets = list(range(1 << f.bits)) if f.bits <= 8 else (
        boundary_codes(f, 2) + random_codes(f, 64 * level, rng))
    vals = sorted({ref.decode(f, c) for c in targets if _finite(f, c)})
    if isinstance(f, FloatFormat):
        inf = _ref_info(f)
        mx = ref.decode(f, inf.max_code)
        vals.append(mx + _ulp(f, inf.max_code))  # the overflow threshold's tie
        vals += [ref.decode(f, 1) / 2, ref.decode(f, 1) / 4]  # underflow ties
    vals.sort()
    mids = {(x + y) / 2 for x, y in zip(vals, vals[1:])} | set(vals)
    for m in sorted(mids):
        for neg in (False, True):
            c = exact_code(src, abs(m), neg != (m < 0))
            if c is not None:
                out += neighbours(src, c)
    out += random_codes(src, n_random, rng)
    return [(c,) for c in sorted(set(out), key=out.index)]


def _dedupe(f, items):
    seen, out = set(), []
    for t in items:
        if t not in seen and all(_valid(f, c) for c in t):
            seen.add(t)
            out.append(t)
    return out
