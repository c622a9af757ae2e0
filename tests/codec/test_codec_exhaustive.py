"""C kernels (hwsim.encode / hwsim.decode) against the pure-Python oracle, code by code.

For every preset of at most 16 bits and a list of custom formats (P3109
samples, no-subnormal, unsigned, odd biases, tiny formats, every specials
variant):

- decode of every code equals the reference (with and without DAZ);
- encode(decode(c)) == c for every non-NaN canonical code in every mode;
- for formats of at most 10 bits: every value, every midpoint between adjacent
  values and its two float64 (or float32) neighbours, plus probes beyond max
  finite and around the smallest subnormal, encode exactly as the reference
  says, flags included, in every rounding mode (SR with explicit random words,
  all zeros and all ones included) and every overflow policy, from float64 and
  float32 inputs; tininess / FTZ / DAZ on a subset;
- for 12- and 16-bit formats, the same sweep against an independent vectorised
  numpy oracle (the neighbour each mode picks), and the reference on a random
  sample of codes.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import hwsim
from hwsim.reference import affine as RA
from hwsim.reference import scalar as R
from hwsim.errors import NaNInputError, OverflowValueError

pytestmark = [pytest.mark.native, pytest.mark.portable]  # rerun by make test-asan and make test-portable

FF = hwsim.FloatFormat
CUSTOM_SMALL = [
    hwsim.p3109(8, 1), hwsim.p3109(8, 2), hwsim.p3109(8, 3, "finite"), hwsim.p3109(8, 5),
    hwsim.p3109(8, 6, "finite"), hwsim.p3109(8, 7),
    FF(4, 3, subnormals=False),  # IEEE-like without subnormals
    FF(5, 2, specials="fn", subnormals=False),
    FF(4, 3, signed=False),  # unsigned with Inf and NaN
    FF(3, 3, specials="finite", signed=False, bias=5),  # unsigned, no specials, odd bias
    FF(4, 2, specials="fn", signed=False, subnormals=False),
    FF(4, 3, bias=-3, specials="fnuz"),  # negative bias: min subnormal 2
    FF(3, 0, specials="finite"),  # e3m0: powers of two only
    FF(2, 0),  # IEEE e2m0: Inf but no NaN
    FF(1, 2, specials="finite"),  # one exponent bit
    FF(1, 1, specials="fn"),
    FF(5, 0, signed=False, subnormals=False, specials="e8m0", bias=10),  # a 5-bit e8m0
    FF(3, 1, specials="fnuz", bias=2, subnormals=False),
    FF(5, 4, specials="finite", subnormals=False),  # 10 bits
    hwsim.p3109(10, 4),  # 10 bits
    FF(2, 7, bias=0),  # 10 bits, IEEE with E = 2
]
CUSTOM_WIDE = [
    FF(5, 6),  # 12 bits
    FF(6, 9, specials="fn", bias=40),
    FF(7, 8, specials="fnuz", subnormals=False),
    hwsim.p3109(16, 11),
    FF(6, 10, signed=False),
]
PRESETS = [f for f in hwsim.PRESETS.values() if isinstance(f, FF) and f.bits <= 16]
SMALL = [f for f in PRESETS if f.bits <= 10] + CUSTOM_SMALL
WIDE = [f for f in PRESETS if f.bits > 10] + CUSTOM_WIDE
INTS = [hwsim.IntFormat(8), hwsim.IntFormat(4, signed=False), hwsim.IntFormat(1),
        hwsim.FixedFormat(8, 3), hwsim.FixedFormat(6, -2, signed=False),
        hwsim.FixedFormat(10, 12), hwsim.FixedFormat(7, 7, signed=False)]

MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto"]
INEXACT, UNDERFLOW, OVERFLOW, INVALID = 1, 2, 4, 16


def _ids(fmts):
    return [f.name for f in fmts]


def _policies(f):
    if f.kind != "float":
        return ["saturate", "wrap", "error"]
    out = ["saturate", "saturate_finite_keep_inf", "error"]
    if f.has_inf or f.has_nan:
        out.append("special")
    return out


def _sr_variants(n, rng):
    """(sr_bits, rand words) pairs: all zeros, all ones, random words."""
    return [(1, np.zeros(n, np.uint32)), (32, np.full(n, 0xFFFFFFFF, np.uint32)),
            (4, rng.integers(0, 2**32, n, dtype=np.uint32))]


def _enc(xs, f, *args, **kw):
    """hwsim.encode on one thread (the test budget is counted on one core)."""
    return hwsim.encode(xs, f, *args, threads=1, **kw)


@functools.lru_cache(maxsize=None)
def _all_values(f):
    return R.all_values(f)


def _mode_variants(n, rng):
    out = [(m, {}) for m in MODES]
    out += [("sr", dict(sr_bits=b, rand=w)) for b, w in _sr_variants(n, rng)]
    return out


def _top_ulp(f):
    """Spacing of the grid in the binade of max finite (the gap to the overflow point)."""
    return 2.0 ** (int(np.frexp(f.max_finite)[1]) - 1 - f.man_bits)


def _finite_values(f):
    """Sorted distinct finite values of f as float64 (one zero)."""
    return np.array(sorted({float(v) for v, _ in _all_values(f)}))


def _probes(f, dtype):
    """Every value, every midpoint and its two neighbours in dtype, plus edge probes."""
    v = _finite_values(f)
    mids = (v[:-1] + v[1:]) / 2  # exact: both ends have <= 52 significand bits
    pos = v[v > 0]
    mx, ms = pos[-1], pos[0]
    top_ulp = _top_ulp(f)
    edge = [mx + top_ulp * k / 8 for k in range(1, 17)] + [mx * 2, mx * 4, 1e300, np.inf]
    edge += [ms * k / 8 for k in range(1, 8)] + [5e-324, 1e-310, 2.0 ** -1022, 1e-300,
                                                 2.0 ** -126, 1e-40, 1e-45]
    edge = np.array(edge)
    with np.errstate(over="ignore"):
        base = np.concatenate([v, mids, edge, -edge, -v[v > 0][:8], [0.0, -0.0]]).astype(dtype)
    mids_d = mids.astype(dtype)
    near = np.concatenate([np.nextafter(mids_d, dtype(-np.inf)), np.nextafter(mids_d, dtype(np.inf)),
                           np.nextafter(base, dtype(0))])
    return np.concatenate([base, near]).astype(dtype)


def _assert_same(xs, c_codes, c_flags, r_codes, r_flags, ctx):
    c_codes = np.asarray(c_codes, dtype=np.uint64)
    r_codes = np.asarray(r_codes, dtype=np.uint64)
    bad = np.nonzero((c_codes != r_codes) | (np.asarray(c_flags) != np.asarray(r_flags)))[0]
    if bad.size:
        rows = [f"x={xs[i]!r}: C code {int(c_codes[i]):#x} flags {int(c_flags[i])}, "
                f"ref code {int(r_codes[i]):#x} flags {int(r_flags[i])}" for i in bad[:6]]
        pytest.fail(f"{ctx}: {bad.size} of {len(xs)} differ\n  " + "\n  ".join(rows))


def _check_against_reference(f, xs, mode, ovf, extra):
    """hwsim.encode on the array == the reference element by element (incl. errors)."""
    ctx = f"{f.name} {xs.dtype} rounding={mode} overflow={ovf} {sorted(k for k in extra if k != 'rand')}"
    if ovf != "error":
        rc, rf = R.encode_many(f, list(xs), mode, ovf, **{k: (list(map(int, w)) if k == "rand" else w)
                                                       for k, w in extra.items()})
        codes, _, ef = _enc(xs, f, mode, ovf, return_flags="elementwise", **extra)
        _assert_same(xs, codes, ef, rc, rf, ctx)
        return
    rand = extra.get("rand")
    kw = {k: w for k, w in extra.items() if k != "rand"}
    raised, rc, rf = [], [], []
    for i, x in enumerate(xs):
        try:
            c, fl = R.encode(f, x, mode, ovf, rand=None if rand is None else int(rand[i]), **kw)
        except (OverflowValueError, NaNInputError) as e:
            raised.append((i, type(e)))
            c, fl = 0, 0
        rc.append(c)
        rf.append(fl)
    keep = np.ones(len(xs), bool)
    keep[[i for i, _ in raised]] = False
    sub = {} if rand is None else {"rand": np.ascontiguousarray(rand[keep])}
    codes, _, ef = _enc(xs[keep], f, mode, ovf, return_flags="elementwise", **kw, **sub)
    _assert_same(xs[keep], codes, ef, np.array(rc, dtype=np.uint64)[keep], np.array(rf)[keep], ctx)
    for i, exc in raised:
        one = {} if rand is None else {"rand": rand[i:i + 1].copy()}
        with pytest.raises(exc):
            _enc(xs[i:i + 1], f, mode, ovf, **kw, **one)


# ------------------------------------------------------------------ decode
@pytest.mark.parametrize("f", SMALL + WIDE + INTS, ids=_ids(SMALL + WIDE + INTS))
def test_decode_every_code(f):
    codes = np.arange(1 << f.bits, dtype=np.uint64).astype(f.code_dtype)
    for daz in ((False, True) if f.kind == "float" else (False,)):
        got = hwsim.decode(codes, f, daz=daz, threads=1)
        want = np.array([R.decode_float(f, c, daz=daz) for c in range(1 << f.bits)])
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan), f"{f.name}: NaN codes differ"
        same = got[~nan].view(np.uint64) == want[~nan].view(np.uint64)  # -0.0 vs 0.0 counts
        assert same.all(), f"{f.name} daz={daz}: codes {np.nonzero(~nan)[0][~same][:8]} differ"


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("f", SMALL + WIDE + INTS, ids=_ids(SMALL + WIDE + INTS))
def test_roundtrip_every_canonical_code(f):
    canon = [c for _, c in _all_values(f)]
    if f.kind == "float":
        canon += [c for c in range(1 << f.bits) if R.decode(f, c) in (np.inf, -np.inf)]
    canon = np.array(sorted(canon), dtype=f.code_dtype)
    x = hwsim.decode(canon, f, threads=1)
    rng = np.random.default_rng(f.bits)
    for mode, extra in _mode_variants(len(x), rng):
        codes, flags = _enc(x, f, mode, return_flags=True, **extra)
        assert np.array_equal(codes, canon), f"{f.name} {mode}: encode(decode(c)) != c"
        assert flags == 0
        x32 = x.astype(np.float32)
        if np.array_equal(x32.astype(np.float64), x, equal_nan=False):
            assert np.array_equal(_enc(x32, f, mode, **extra), canon)


# ------------------------------------------------------------------ <= 10 bits vs reference
@pytest.mark.exhaustive
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f", SMALL, ids=_ids(SMALL))
def test_midpoints_every_mode_and_policy(f, dtype):
    xs = _probes(f, dtype)
    rng = np.random.default_rng(f.bits * 7 + xs.size)
    for mode, extra in _mode_variants(xs.size, rng):
        for ovf in _policies(f):
            _check_against_reference(f, xs, mode, ovf, extra)
    # the counter-based generator: seed and index0 keyed per element
    rc, rf = R.encode_many(f, list(xs), "sr", sr_bits=5, seed=2024, index0=3)
    codes, _, ef = _enc(xs, f, "sr", sr_bits=5, seed=2024, index0=3, return_flags="elementwise")
    _assert_same(xs, codes, ef, rc, rf, f"{f.name} sr seed=2024")


@pytest.mark.exhaustive
@pytest.mark.parametrize("f", SMALL, ids=_ids(SMALL))
def test_midpoints_tininess_ftz_daz(f):
    for dtype in (np.float64, np.float32):
        xs = _probes(f, dtype)
        for mode in ("rne", "rup", "rto"):
            # (after, no ftz, no daz) is the main sweep above
            for tin, ftz, daz in (("before", False, False), ("after", True, False),
                                  ("before", True, False), ("after", False, True),
                                  ("before", True, True)):
                _check_against_reference(f, xs, mode, f.default_overflow,
                                         dict(tininess=tin, ftz=ftz, daz=daz))


@pytest.mark.parametrize("f", SMALL + WIDE, ids=_ids(SMALL + WIDE))
def test_nan_inputs(f):
    xs = np.array([np.nan, -np.nan, 1.0])
    if f.has_nan:
        codes, flags = _enc(xs[:2], f, return_flags=True)
        assert list(codes) == [R.encode(f, np.nan)[0]] * 2 == [f.nan_code] * 2 and flags == 0
    else:
        with pytest.raises(NaNInputError):
            _enc(xs, f)
        with pytest.raises(NaNInputError):
            R.encode(f, np.nan)
        for code in (0, (1 << f.bits) - 1):
            got, _, ef = _enc(xs[:2], f, nan=code, return_flags="elementwise")
            want = R.encode(f, np.nan, nan=code)
            assert [(int(c), int(e)) for c, e in zip(got, ef)] == [want, want]


# ------------------------------------------------------------------ int / fixed
@pytest.mark.exhaustive
@pytest.mark.parametrize("f", INTS, ids=_ids(INTS))
def test_int_fixed_midpoints(f):
    v = np.array([float(x) for x, _ in _all_values(f)])
    step = v[1] - v[0] if v.size > 1 else 1.0
    mids = (v[:-1] + v[1:]) / 2
    edge = np.array([v[-1] + step * k / 4 for k in range(1, 9)] + [v[0] - step * k / 4 for k in range(1, 9)]
                    + [v[-1] * 3 + 1, v[0] * 3 - 1, 1e300, -1e300, np.inf, -np.inf, -0.0, 5e-324, -1e-310])
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.float32):
        base = np.concatenate([v, mids, edge]).astype(dtype)
        md = mids.astype(dtype)
        xs = np.concatenate([base, np.nextafter(md, dtype(-np.inf)), np.nextafter(md, dtype(np.inf))])
        for mode, extra in _mode_variants(xs.size, rng):
            for ovf in _policies(f):
                _check_against_reference(f, xs, mode, ovf, extra)
        _check_against_reference(f, xs, "rne", "saturate", dict(daz=True))
    for code in (None, 0):
        if code is None:
            with pytest.raises(NaNInputError):
                _enc(np.array([np.nan]), f)
        else:
            got, _, ef = _enc(np.array([np.nan]), f, nan=code, return_flags="elementwise")
            assert (int(got[0]), int(ef[0])) == R.encode(f, np.nan, nan=code)


# ------------------------------------------------------------------ 12 / 16 bits
def _neighbour_oracle(f, dtype):
    """Probes inside each gap (a, b) of positive magnitudes, and a vectorised choice.

    Returns (x magnitudes, a, b, code_a, code_b, b_is_overflow) where the
    probe set holds a, the midpoint, its two neighbours in dtype, and a
    quarter point; the last gap is (max finite, max + ulp) whose upper end is
    an overflow.
    """
    pairs = [(float(v), c) for v, c in _all_values(f) if v >= 0 and not (c & _sign_bit(f))]
    vals = np.array([p[0] for p in pairs])
    codes = np.array([p[1] for p in pairs], dtype=np.int64)
    a = vals
    b = np.append(vals[1:], vals[-1] + _top_ulp(f))
    ca, cb = codes, np.append(codes[1:], -1)
    ovf_b = np.zeros(a.size, bool)
    ovf_b[-1] = True
    mid = ((a + b) / 2).astype(dtype)
    xs = [a.astype(dtype), mid, np.nextafter(mid, dtype(0)), np.nextafter(mid, dtype(np.inf)),
          (a + (b - a) / 4).astype(dtype), (a + (b - a) * 7 / 8).astype(dtype)]
    n = len(xs)
    x = np.concatenate(xs).astype(np.float64)
    rep = lambda z: np.tile(z, n)  # noqa: E731
    return x, rep(a), rep(b), rep(ca), rep(cb), rep(ovf_b)


def _sign_bit(f):
    return (1 << (f.exp_bits + f.man_bits)) if f.signed else 0


def _choose_upper(mode, x, a, b, neg, r=None, words=None):
    """Whether each magnitude x in [a, b) rounds to b, by the mode's rule (vectorised)."""
    inexact = x != a
    h = (b - a) / 2
    even_b = np.fmod(b / (b - a), 2) == 0  # which neighbour is an even multiple of the gap
    if mode == "rne":
        up = (x - a > h) | ((x - a == h) & even_b)
    elif mode == "rna":
        up = x - a >= h
    elif mode == "rtz":
        up = np.zeros(x.shape, bool)
    elif mode == "rup":
        up = inexact & ~neg
    elif mode == "rdn":
        up = inexact & neg
    elif mode == "rto":
        up = inexact & (np.fmod(b / (b - a), 2) == 1)  # the odd one when inexact
    else:  # sr: the top r bits of (x - a) / (b - a), plus the word, carry out?
        top = np.floor((x - a) / (b - a) * 2.0 ** r)
        up = top + (words & np.uint64((1 << r) - 1)).astype(np.float64) >= 2.0 ** r
    return up & inexact


def _overflow_code(f, ovf, mode, neg):
    maxc = f.max_code
    sb = _sign_bit(f)
    toward_zero = mode in ("rtz", "rto") or (mode == "rdn" and not neg) or (mode == "rup" and neg)
    if ovf in ("saturate", "saturate_finite_keep_inf") or toward_zero:
        return maxc | (sb if neg else 0)
    if f.has_inf:
        return f.inf_code | (sb if neg else 0)
    return f.nan_code | (sb if (neg and f.specials == "fn") else 0)


@pytest.mark.exhaustive
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f", WIDE, ids=_ids(WIDE))
def test_wide_midpoints_numpy_oracle(f, dtype):
    """Every gap of a 12/16-bit format, every mode, against the vectorised neighbour rule.

    The default overflow policy sees every probe; the other policies see the
    probes of the top and bottom binades and every 8th probe elsewhere (the
    policy only acts on overflow, which the top gap holds).
    """
    x, a, b, ca, cb, ovf_b = _neighbour_oracle(f, dtype)
    rng = np.random.default_rng(11)
    sel_other = (x >= f.max_finite / 4) | (x < 4 * f.min_normal) | (np.arange(x.size) % 8 == 0)
    for neg in ([False, True] if f.signed else [False]):
        xs = (-x if neg else x).astype(dtype)
        assert np.array_equal(np.abs(xs.astype(np.float64)), x)
        for mode, extra in _mode_variants(x.size, rng):
            r, words = extra.get("sr_bits"), extra.get("rand")
            up = _choose_upper(mode, x, a, b, np.full(x.shape, neg), r,
                               None if words is None else words.astype(np.uint64))
            inexact = x != a
            want = np.where(up, cb, ca).astype(np.int64)
            if neg:  # a zero result keeps the sign only where the format has -0
                want |= np.where(~up & (a == 0), _sign_bit(f) if f.has_negzero else 0, _sign_bit(f))
            wflags = np.where(inexact, INEXACT, 0) | np.where(inexact & (x < f.min_normal), UNDERFLOW, 0)
            ovf_hit = up & ovf_b
            wflags = np.where(ovf_hit, OVERFLOW | INEXACT, wflags)
            for ovf in _policies(f):
                m = np.ones(x.size, bool) if ovf == f.default_overflow else sel_other
                if ovf == "error":
                    m = m & ~ovf_hit
                w = np.where(ovf_hit, _overflow_code(f, ovf, mode, neg), want)[m]
                kw = dict(extra)
                if words is not None:
                    kw["rand"] = np.ascontiguousarray(words[m])
                codes, _, ef = _enc(xs[m], f, mode, ovf, tininess="before",
                                    return_flags="elementwise", **kw)
                _assert_same(xs[m], codes, ef, w, wflags[m],
                             f"{f.name} {np.dtype(dtype)} neg={neg} {mode} {ovf} r={r}")
                if ovf == "error":
                    for i in np.nonzero(ovf_hit)[0][:3]:
                        if words is not None:
                            kw["rand"] = words[i:i + 1].copy()
                        with pytest.raises(OverflowValueError):
                            _enc(xs[i:i + 1], f, mode, ovf, **kw)


@pytest.mark.exhaustive
@pytest.mark.parametrize("f", WIDE, ids=_ids(WIDE))
def test_wide_sample_vs_reference(f):
    rng = np.random.default_rng(f.bits + f.exp_bits)
    v = _finite_values(f)
    idx = np.sort(rng.choice(v.size - 1, size=min(1000, v.size - 1), replace=False))
    a, b = v[idx], v[idx + 1]
    mid = (a + b) / 2
    top = v[-1] + _top_ulp(f) * np.arange(1, 9) / 4
    bot = v[v > 0][0] * np.arange(1, 8) / 4
    x64 = np.concatenate([a, mid, np.nextafter(mid, -np.inf), np.nextafter(mid, np.inf),
                          top, -top, bot, -bot, [np.inf, -np.inf, 0.0, -0.0]])
    for dtype in (np.float64, np.float32):
        xs = x64.astype(dtype)
        for mode, extra in _mode_variants(xs.size, rng):
            for ovf in ("saturate", f.default_overflow):
                _check_against_reference(f, xs, mode, ovf, extra)
        for tin in ("after", "before"):
            _check_against_reference(f, xs, "rne", f.default_overflow, dict(tininess=tin, ftz=True))
            _check_against_reference(f, xs, "rdn", f.default_overflow, dict(tininess=tin, daz=True))


# ------------------------------------------------------------------ regressions / wide ints
def test_regression_daz_negative_subnormal_into_unsigned():
    # DAZ reads a negative subnormal input as -0, and -0 into an unsigned format is +0
    # with no flag (semantics.md).  The C kernel used to test the raw input against 0
    # first and applied the x < 0 rule (NaN / INVALID) instead.
    for f in (FF(4, 3, signed=False), FF(3, 2, specials="finite", signed=False),
              hwsim.format("float8_e8m0fnu")):
        for x in (np.array([-5e-324, -1e-310]), np.array([-1e-40], dtype=np.float32)):
            codes, _, ef = _enc(x, f, daz=True, return_flags="elementwise")
            want = [R.encode(f, v, daz=True) for v in x]
            assert [(int(c), int(e)) for c, e in zip(codes, ef)] == want
            if f.has_zero:
                assert want == [(0, 0)] * len(x)


@pytest.mark.parametrize("f", [hwsim.IntFormat(64), hwsim.IntFormat(64, signed=False),
                               hwsim.IntFormat(63), hwsim.FixedFormat(64, 70),
                               hwsim.FixedFormat(32, -40, signed=False)], ids=lambda f: f.name)
def test_wide_int_edges(f):
    """Values around 2^(bits-1), 2^bits and far beyond, every mode and policy."""
    s = 2.0 ** -f.frac_bits
    base = [2.0 ** k * s for k in range(f.bits - 3, f.bits + 3)] + [1e300, 2.0 ** 1000 + 2.0 ** 960]
    base += [(2.0 ** f.bits - 2.0 ** (f.bits - 52)) * s, (2.0 ** 52 + 0.5) * s, 0.5 * s, 1.5 * s,
             2.0 ** -1074, np.inf]
    xs = np.array(base + [-b for b in base])
    rng = np.random.default_rng(3)
    for mode, extra in _mode_variants(xs.size, rng):
        for ovf in _policies(f):
            _check_against_reference(f, xs, mode, ovf, extra)


# ------------------------------------------------------------------ affine quantization
@pytest.mark.parametrize("fmt,narrow,compute", [
    ("int8", False, "float64"), ("int8", True, "float64"), ("uint8", False, "float64"),
    ("int4", False, "float64"), ("int8", False, "float32"), ("uint4", False, "float32")])
def test_affine_vs_reference(fmt, narrow, compute):
    """hwsim.quantize_affine (C rounding) == the oracle on ties, neighbours and clamps."""
    f = hwsim.format(fmt)
    rng = np.random.default_rng(17)
    for scale in (0.1, 0.0173, 3.0):
        for zp in sorted({0, f.max_int, (f.min_int + f.max_int) // 2 + 1}):
            ks = np.arange(f.min_int - zp - 3, f.max_int - zp + 4, dtype=np.float64)
            t = (ks + 0.5) * scale  # ties of x / scale (up to the division's rounding)
            x = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), ks * scale,
                                rng.normal(0, scale * 2 ** (f.bits - 1), 64),
                                [1e300, -1e300, np.inf, -np.inf, 0.0, -0.0, 5e-324]])
            for mode in MODES:
                got = hwsim.quantize_affine(x, scale, zp, f, rounding=mode, narrow_range=narrow,
                                            compute=compute, threads=1)
                want = [RA.quantize_affine(v, scale, zp, f.bits, f.signed, mode, narrow,
                                          compute=compute) & ((1 << f.bits) - 1) for v in x]
                bad = np.nonzero(got.astype(np.int64) != np.array(want))[0]
                assert bad.size == 0, (f"{fmt} scale={scale} zp={zp} {mode}: x={x[bad[:4]]} "
                                       f"C={got[bad[:4]]} ref={np.array(want)[bad[:4]]}")
            got = hwsim.quantize_affine(x, scale, zp, f, rounding="sr", sr_bits=6, seed=9,
                                        narrow_range=narrow, compute=compute, threads=1)
            want = [RA.quantize_affine(v, scale, zp, f.bits, f.signed, "sr", narrow, compute=compute,
                                      sr_bits=6, rand=R.random_word(9, i)) & ((1 << f.bits) - 1)
                    for i, v in enumerate(x)]
            assert np.array_equal(got.astype(np.int64), np.array(want)), f"{fmt} sr"
