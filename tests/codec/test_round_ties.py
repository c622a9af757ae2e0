"""Midpoints and their neighbours, region by region, every mode and policy.

Regions: ``overflow`` (the gap above max finite), ``normal`` (gaps around
1.0 and across binade boundaries), ``subnormal`` (the gaps from 0 up to the
smallest normal) and ``nosub_underflow`` (below the smallest normal in a
format without subnormals).  Each probe set holds the gap ends, the midpoint,
the midpoint's float64 neighbours, and quarter points, with both signs.
hwsim.encode (C) must give the reference's code and flags for every rounding
mode, overflow policy and subnormal policy (none / FTZ / DAZ, tininess before
and after).  A few tie rules are also asserted directly from the spec text.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import hwsim
from hwsim.reference import scalar as R
from hwsim.errors import OverflowValueError

FF = hwsim.FloatFormat
FORMATS = {
    "e4m3fn": hwsim.format("float8_e4m3fn"),
    "e5m2": hwsim.format("float8_e5m2"),
    "e4m3fnuz": hwsim.format("float8_e4m3fnuz"),
    "p3109_8p3": hwsim.p3109(8, 3),
    "e2m1": hwsim.format("float4_e2m1fn"),
    "e8m0": hwsim.format("float8_e8m0fnu"),
    "float16": hwsim.format("float16"),
    "e4m3_nosub": FF(4, 3, subnormals=False),
    "e3m2fn_nosub": FF(3, 2, specials="fn", subnormals=False),
    "e3m0_nosub_finite": FF(3, 0, specials="finite", subnormals=False),
}
MODES = [("rne", {}), ("rna", {}), ("rtz", {}), ("rup", {}), ("rdn", {}), ("rto", {}),
         ("sr", {"sr_bits": 2, "word": 0}), ("sr", {"sr_bits": 2, "word": 0xFFFFFFFF}),
         ("sr", {"sr_bits": 8, "word": 0x80})]
SUBNORMAL_POLICIES = [dict(), dict(ftz=True), dict(daz=True), dict(tininess="before"),
                      dict(ftz=True, tininess="before")]
INEXACT, UNDERFLOW, OVERFLOW, INVALID = 1, 2, 4, 16


def _gap_probes(a, b):
    mid = (a + b) / 2
    return [a, b, mid, np.nextafter(mid, -np.inf), np.nextafter(mid, np.inf),
            a + (b - a) / 4, a + 3 * (b - a) / 4]


@functools.lru_cache(maxsize=None)
def _positive_values(f):
    return tuple(sorted({float(v) for v, _ in R.all_values(f) if v > 0}))


def _region_probes(f, region):
    """Positive probes of a region (float64), or None when the format has no such region."""
    v = _positive_values(f)
    mn = f.min_normal
    xs = []
    if region == "overflow":
        ulp = 2.0 ** (int(np.frexp(f.max_finite)[1]) - 1 - f.man_bits)
        xs = _gap_probes(v[-1], v[-1] + ulp) + [v[-1] + 2 * ulp, v[-1] * 2, 1e300, np.inf]
        xs += _gap_probes(v[-2], v[-1])
    elif region == "normal":
        normals = [x for x in v if x >= mn]
        i1 = normals.index(1.0) if 1.0 in normals else len(normals) // 2
        for i in {i1 - 1, i1, len(normals) // 3, 2 * len(normals) // 3}:
            if 0 <= i < len(normals) - 1:
                xs += _gap_probes(normals[i], normals[i + 1])
        # across a binade boundary: 2^k and the values just below / above it
        k = next(i for i, x in enumerate(normals[1:], 1) if x == 2.0 ** np.floor(np.log2(x)) and i > 1)
        xs += _gap_probes(normals[k - 1], normals[k]) + _gap_probes(normals[k], normals[k + 1])
    elif region == "subnormal":
        if not f.subnormals or f.man_bits == 0:
            return None
        subs = [0.0] + [x for x in v if x < mn] + [mn]
        for i in range(min(3, len(subs) - 1)):
            xs += _gap_probes(subs[i], subs[i + 1])
        xs += _gap_probes(subs[-2], subs[-1]) + [5e-324, 1e-300]
    elif region == "nosub_underflow":
        if f.subnormals and f.man_bits > 0:
            return None
        xs = _gap_probes(0.0, mn) + [mn / 8, 5e-324, 1e-300] + _gap_probes(mn, v[1] if v[0] == mn else v[0])
    return np.array(sorted(set(xs)))


def _policies(f):
    out = ["saturate", "saturate_finite_keep_inf", "error"]
    if f.has_inf or f.has_nan:
        out.insert(2, "special")
    return out


def _compare(f, xs, mode, mkw, ovf, skw):
    """C == reference for every probe (errors: the same elements raise)."""
    extra = dict(skw)
    words = None
    if mode == "sr":
        extra["sr_bits"] = mkw["sr_bits"]
        words = np.full(xs.size, mkw["word"], np.uint32)
    want = []
    for i, x in enumerate(xs):
        try:
            want.append(R.encode(f, x, mode, ovf, rand=None if words is None else mkw["word"], **extra))
        except OverflowValueError:
            want.append(None)
    ok = np.array([w is not None for w in want])
    kw = dict(extra)
    if words is not None:
        kw["rand"] = words[ok].copy()
    codes, _, ef = hwsim.encode(xs[ok], f, mode, ovf, return_flags="elementwise", threads=1, **kw)
    got = list(zip(codes.tolist(), ef.tolist()))
    exp = [w for w in want if w is not None]
    bad = [(x, g, e) for x, g, e in zip(xs[ok], got, exp) if g != e]
    assert not bad, f"{f.name} {mode} {mkw} {ovf} {skw}: {len(bad)} differ, e.g. {bad[:4]}"
    for i in np.nonzero(~ok)[0]:
        if words is not None:
            kw["rand"] = words[i:i + 1].copy()
        with pytest.raises(OverflowValueError):
            hwsim.encode(xs[i:i + 1], f, mode, ovf, threads=1, **kw)


@pytest.mark.parametrize("region", ["overflow", "normal", "subnormal", "nosub_underflow"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_region_every_mode_and_policy(name, region):
    f = FORMATS[name]
    pos = _region_probes(f, region)
    if pos is None:  # the format has no such region: check that claim instead
        assert (f.subnormals and f.man_bits > 0) == (region == "nosub_underflow")
        return
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            xs = np.concatenate([pos, -pos]).astype(dtype)
        for mode, mkw in MODES:
            for ovf in _policies(f):
                _compare(f, xs, mode, mkw, ovf, {})
            for skw in SUBNORMAL_POLICIES[1:]:
                _compare(f, xs, mode, mkw, f.default_overflow, skw)


# ---------------------------------------------------------------- tie rules from the spec text
@pytest.mark.parametrize("name", ["e4m3fn", "e5m2", "p3109_8p3", "float16", "e4m3_nosub"])
def test_normal_ties_follow_the_table(name):
    """Exact midpoints of normal gaps: rne -> even code, rna -> away, rtz -> toward 0, rto -> odd."""
    f = FORMATS[name]
    v = [x for x in _positive_values(f) if x >= f.min_normal]  # noqa: C416
    a, b = np.array(v[:-1]), np.array(v[1:])
    mids = (a + b) / 2
    for sign in (1.0, -1.0):
        xs = sign * mids
        got = {m: hwsim.encode(xs, f, m, "saturate") for m in ("rne", "rna", "rtz", "rto", "rup", "rdn")}
        lo = hwsim.encode(sign * a, f)
        hi = hwsim.encode(sign * b, f)
        assert np.all(got["rne"] & 1 == 0)  # M >= 1: the code LSB is the significand LSB
        assert np.array_equal(got["rna"], hi)
        assert np.array_equal(got["rtz"], lo)
        assert np.all(got["rto"] & 1 == 1)
        assert np.array_equal(got["rup"], lo if sign < 0 else hi)
        assert np.array_equal(got["rdn"], hi if sign < 0 else lo)
        assert all(R.encode(f, float(x), "rne", "saturate")[0] == c for x, c in zip(xs, got["rne"]))


def test_overflow_tie_depends_on_max_parity():
    # E4M3 (fn): max 448 has K = 14 (even): the tie 464 stays at 448.
    # E5M2 (ieee): max 57344 has K = 7 (odd): the tie 61440 rounds up to 2^16: overflow.
    # P3109 binary8p3: max 49152 = 0x7E, K = 6 (even): the tie 53248 stays.
    e4, e5, p3 = FORMATS["e4m3fn"], FORMATS["e5m2"], FORMATS["p3109_8p3"]
    assert hwsim.encode(np.array([464.0]), e4)[0] == 0x7E
    assert hwsim.encode(np.array([61440.0]), e5)[0] == 0x7C
    assert hwsim.encode(np.array([53248.0]), p3)[0] == 0x7E
    assert hwsim.encode(np.array([53248.0]), p3, "rna")[0] == 0x7F  # away: +Inf
    for f, x in ((e4, 464.0), (e5, 61440.0), (p3, 53248.0)):
        assert R.encode(f, x)[0] == hwsim.encode(np.array([x]), f)[0]


def test_nosub_underflow_tie_goes_to_zero_under_rne():
    # semantics.md: without subnormals the grid below min normal is {0, min_normal};
    # the tie min_normal / 2 goes to 0 (the even multiple) under rne, up under rna.
    for name in ("e4m3_nosub", "e3m2fn_nosub", "e3m0_nosub_finite"):
        f = FORMATS[name]
        half = f.min_normal / 2
        mn_code = R.encode(f, f.min_normal)[0]
        assert hwsim.encode(np.array([half]), f, "rne")[0] == 0
        assert hwsim.encode(np.array([half]), f, "rna")[0] == mn_code
        assert hwsim.encode(np.array([np.nextafter(half, 1.0)]), f, "rne")[0] == mn_code
