"""The fast encode kernel and the table decode give exactly what the general C paths give.

``hw_encode_fast`` (csrc/hw_encode_fast.c) must equal ``hw_encode_general`` (the
element-by-element reference loop in csrc/hw_encode.c) code for code, flag for flag,
status for status and error index for error index; ``hw_decode_lut`` must equal
``hw_decode`` bit for bit; and the thread count must never change a result.

Flags are compared two ways: (1) the elements are grouped by the flags the general
path gives each of them (``elem_flags``) and the fast kernel, run on each group,
must report exactly that group's flags (this catches any flag the fast path adds to
any element, and any flag it drops from a whole group); (2) a sample of elements,
biased toward the tininess boundary, is encoded one element per call.
"""
from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim import native as _native
from hwsim.formats import PRESETS, FloatFormat
from hwsim.formats import format as parse_format

pytestmark = [pytest.mark.native, pytest.mark.portable]  # rerun by make test-asan and make test-portable

ffi, lib = _native.ffi, _native.lib

MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto"]
MODE_CODE = {m: i for i, m in enumerate(MODES)}  # equal to HW_ROUND_* (modes.py)
OVERFLOWS = {"saturate": 0, "saturate_finite_keep_inf": 1, "special": 2, "error": 3}

# every preset of at most 16 bits the fast kernel claims (e8m0 has no subnormals and
# another exponent rule: it is not claimed), plus formats that exercise other
# specials / signedness / mantissa widths
SMALL = [n for n, f in PRESETS.items() if f.bits <= 16 and f.specials != "e8m0"]
CUSTOM = {
    "p3109_8p3": parse_format("binary8p3se"),
    "p3109_8p4_finite": parse_format("binary8p4sf"),
    "e4m3fn_unsigned": FloatFormat(4, 3, specials="fn", signed=False),
    "e5m0_ieee": FloatFormat(5, 0, specials="ieee"),
    "e3m2_b1_finite": FloatFormat(3, 2, bias=1, specials="finite"),
}
FORMATS = {**{n: PRESETS[n] for n in SMALL}, **CUSTOM}


def _opts(fmt, mode, overflow, tininess):
    nan_code = None if fmt.has_nan else 0  # formats without NaN: write code 0
    return _native.make_opts(rounding=MODE_CODE[mode], overflow=OVERFLOWS[overflow],
                             tininess=tininess, nan_code=nan_code)


def _encode(fn, x, fmt, opts, elem_flags=None):
    """One C call; returns (status, codes, OR-ed flags, err_index)."""
    out = np.zeros(x.size, dtype=fmt.code_dtype)
    res = ffi.new("hw_result *")
    kind = lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64
    pfl = ffi.NULL if elem_flags is None else ffi.from_buffer(elem_flags)
    rc = fn(ffi.from_buffer(out), out.itemsize, ffi.from_buffer(x), kind, x.size,
            _native.c_format(fmt), opts, ffi.NULL, pfl, res)
    return rc, out, res.flags, res.err_index


def _overflows(fmt):
    pol = ["saturate", "saturate_finite_keep_inf", "error"]
    if fmt.has_inf or fmt.has_nan:
        pol.append("special")
    return pol


def _check_one_per_call(x, fmt, opts, codes, eflags, idx):
    """Encode x[i] alone with the fast kernel for every i in idx."""
    f = _native.c_format(fmt)
    out = np.zeros(1, dtype=fmt.code_dtype)
    pout = ffi.from_buffer(out)
    pin = ffi.cast("char *", ffi.from_buffer(x))
    isz = x.itemsize
    kind = lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64
    res = ffi.new("hw_result *")
    for i in idx:
        i = int(i)
        rc = lib.hw_encode_fast(pout, out.itemsize, pin + i * isz, kind, 1, f, opts, ffi.NULL,
                                ffi.NULL, res)
        assert rc == lib.HW_OK
        assert (out[0], res.flags) == (codes[i], eflags[i]), (
            f"{fmt.name}: x={x[i]!r} fast gives code {out[0]:#x} flags {res.flags}, "
            f"general {codes[i]:#x} flags {eflags[i]}")


def _compare(x, fmt, mode, overflow, tininess, sample=0, rng=None):
    """Fast vs general on x; returns the number of elements compared."""
    opts = _opts(fmt, mode, overflow, tininess)
    ef = np.zeros(x.size, dtype=np.uint8)
    g_rc, g_codes, g_flags, g_err = _encode(lib.hw_encode_general, x, fmt, opts, ef)
    f_rc, f_codes, f_flags, f_err = _encode(lib.hw_encode_fast, x, fmt, opts)
    what = f"{fmt.name} {x.dtype} {mode} {overflow} tininess={tininess}"
    assert f_rc != lib.HW_E_MODE, f"fast kernel does not claim {what}"
    assert (f_rc, f_err, f_flags) == (g_rc, g_err, g_flags), what
    n = g_err if g_rc != lib.HW_OK else x.size
    bad = np.flatnonzero(f_codes[:n] != g_codes[:n])
    assert bad.size == 0, (f"{what}: {bad.size} codes differ, first x={x[bad[0]]!r}: "
                           f"fast {f_codes[bad[0]]:#x} general {g_codes[bad[0]]:#x}")
    # (1) per flag group
    xs, efs = x[:n], ef[:n]
    for fl in np.unique(efs):
        grp = np.ascontiguousarray(xs[efs == fl])
        rc, _, got, _ = _encode(lib.hw_encode_fast, grp, fmt, opts)
        assert (rc, got) == (lib.HW_OK, int(fl)), f"{what}: flag group {fl} reports {got}"
    # (2) one element per call on a sample, half of it near the tininess boundary
    if sample and n:
        mn = float(fmt.min_normal)
        with np.errstate(invalid="ignore"):  # signalling NaN patterns
            a = np.abs(xs.astype(np.float64))
        near = np.flatnonzero((a >= mn / 4) & (a <= mn * 2))
        idx = np.concatenate([rng.choice(n, min(n, sample // 2), replace=False),
                              rng.choice(near, min(near.size, sample // 2), replace=False)
                              if near.size else np.zeros(0, dtype=np.int64)])
        _check_one_per_call(xs, fmt, opts, g_codes, efs, idx)
    return n


# --------------------------------------------------------------------------- sweep
@pytest.fixture(scope="module")
def sweep32():
    """Every 997th float32 bit pattern (4.3 M values: all classes, both signs)."""
    return np.arange(0, 1 << 32, 997, dtype=np.uint64).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("name", SMALL + ["tf32"])
def test_sweep_float32_patterns(name, sweep32):
    fmt = PRESETS[name]
    rng = np.random.default_rng(7)
    for mode in MODES:
        overflow = fmt.default_overflow
        n = _compare(sweep32, fmt, mode, overflow, 0, sample=300, rng=rng)
        assert n == sweep32.size  # no error: every pattern compared
    # the other tininess rule changes only UNDERFLOW: once per format
    _compare(sweep32, fmt, "rne", fmt.default_overflow, 1)


# ------------------------------------------------------------------- midpoints
def _midpoints(fmt, dtype):
    """Every value of fmt, every midpoint between neighbours (and above max finite),
    their dtype neighbours, both signs, plus +-0, +-Inf, NaN, dtype subnormals."""
    vals = hwsim.decode(np.arange(1 << fmt.bits, dtype=fmt.code_dtype), fmt)
    grid = np.unique(np.abs(vals[np.isfinite(vals)]))
    above = float(fmt.max_finite) + 2.0 ** (fmt.emax - fmt.man_bits)
    grid = np.append(grid, above)
    mids = (grid[:-1] + grid[1:]) / 2  # exact in float64
    with np.errstate(over="ignore"):  # above bfloat16's max: Inf in float32
        pts = np.concatenate([grid, mids]).astype(dtype)
    finite = np.isfinite(pts)
    assert np.array_equal(pts[finite].astype(np.float64),
                          np.concatenate([grid, mids])[finite])  # exact in dtype
    pts = pts[finite]
    with np.errstate(over="ignore"):
        up = np.nextafter(pts, np.array(np.inf, dtype=dtype))
        dn = np.nextafter(pts, np.array(0, dtype=dtype))
    tiny = np.finfo(dtype).smallest_subnormal
    extra = np.array([0.0, np.inf, np.nan, tiny, 3 * tiny, np.finfo(dtype).max], dtype=dtype)
    x = np.concatenate([pts, up, dn, extra])
    return np.concatenate([x, -x])


@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_midpoints_all_modes_and_policies(name, dtype):
    fmt = FORMATS[name]
    x = _midpoints(fmt, dtype)
    rng = np.random.default_rng(11)
    sample = 4000 if fmt.bits <= 8 else 600
    for mode in MODES:
        for tininess in (0, 1):
            for overflow in _overflows(fmt):
                xs = x
                if overflow == "error":
                    # sort by magnitude so that the first overflow comes late
                    xs = np.ascontiguousarray(x[np.argsort(np.abs(x), kind="stable")])
                n = _compare(xs, fmt, mode, overflow, tininess,
                             sample=sample if overflow == fmt.default_overflow else 0, rng=rng)
                if overflow == "error" and not (dtype == np.float32 and fmt.emax == 127
                                                and mode in ("rtz", "rto")):
                    # the error case was reached, not skipped (float32 cannot
                    # overflow bfloat16 / tf32 when rounding toward zero)
                    assert 0 < n < xs.size


# --------------------------------------------------------------- float64 inputs
@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn", "bfloat16", "float16",
                                  "float32", "tf32"])
def test_float64_random_patterns(name):
    """float64 inputs over the whole exponent range (incl. subnormals, specials)."""
    fmt = PRESETS[name]
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 1 << 63, 300_000, dtype=np.uint64)
    bits[::2] = (bits[::2] & np.uint64((1 << 52) - 1)) | (  # half near the format's range
        (rng.integers(1023 + fmt.emin - fmt.man_bits - 3, 1023 + fmt.emax + 3, bits[::2].size)
         .astype(np.uint64)) << np.uint64(52))
    bits[1::4] |= np.uint64(1 << 63)
    x = bits.view(np.float64)
    for mode in MODES:
        _compare(x, fmt, mode, fmt.default_overflow, 0, sample=200, rng=rng)


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("in_dtype", [np.float32, np.float64])
def test_first_error_index_and_flags_before_it(in_dtype):
    """Overflow under 'error' and NaN into a format without NaN, placed after
    inexact / underflowing elements and past the kernel's first block."""
    rng = np.random.default_rng(5)
    for name, bad_value, overflow in [("float8_e4m3fn", 1e6, "error"),
                                      ("float4_e2m1fn", np.nan, "saturate")]:
        fmt = PRESETS[name]
        for pos in (0, 1, 1023, 1024, 1500, 5000):
            x = (rng.standard_normal(6000) * 2.0).astype(in_dtype)
            x[pos] = bad_value
            x[pos + 1:] = bad_value  # later errors must not matter
            opts = _native.make_opts(rounding=0, overflow=OVERFLOWS[overflow])
            g = _encode(lib.hw_encode_general, x, fmt, opts)
            f = _encode(lib.hw_encode_fast, x, fmt, opts)
            assert g[0] in (lib.HW_E_OVERFLOW, lib.HW_E_NAN) and g[3] == pos
            assert (f[0], f[2], f[3]) == (g[0], g[2], g[3])
            assert np.array_equal(f[1][:pos], g[1][:pos])


def test_outside_scope_is_refused_and_hw_encode_falls_back():
    """SR, FTZ, DAZ, per-element flags and e8m0 are not claimed: hw_encode_fast says
    HW_E_MODE and hw_encode (the dispatcher) still gives the general result."""
    x = (np.random.default_rng(2).standard_normal(5000) * 8).astype(np.float32)
    e4 = PRESETS["float8_e4m3fn"]
    cases = [(e4, dict(rounding=6, sr_bits=5, seed=9, overflow=2)),
             (e4, dict(rounding=0, ftz=True, overflow=2)),
             (e4, dict(rounding=0, daz=True, overflow=2)),
             (PRESETS["float8_e8m0fnu"], dict(rounding=0, overflow=0))]
    for fmt, kw in cases:
        opts = _native.make_opts(**kw)
        assert _encode(lib.hw_encode_fast, x, fmt, opts)[0] == lib.HW_E_MODE
        a, b = _encode(lib.hw_encode, x, fmt, opts), _encode(lib.hw_encode_general, x, fmt, opts)
        assert a[0] == b[0] == lib.HW_OK and a[2] == b[2] and np.array_equal(a[1], b[1])
    ef = np.zeros(x.size, np.uint8)
    opts = _native.make_opts(rounding=0, overflow=2)
    assert _encode(lib.hw_encode_fast, x, e4, opts, ef)[0] == lib.HW_E_MODE


# ----------------------------------------------------------------------- threads
@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(17)
    return (rng.standard_normal(1 << 20) * 60).astype(np.float32)


@pytest.mark.parametrize("name,kw", [
    ("float8_e4m3fn", {}), ("float4_e2m1fn", {"rounding": "rtz"}), ("bfloat16", {}),
    ("float8_e5m2", {"rounding": "sr", "sr_bits": 8, "seed": 3}),
    ("float8_e4m3fn", {"rounding": "rdn", "overflow": "saturate", "tininess": "before"}),
])
def test_threads_do_not_change_results(big, name, kw):
    for x in (big, big.astype(np.float64)):
        c1, f1, e1 = hwsim.encode(x, name, threads=1, return_flags="elementwise", **kw)
        c2, f2, e2 = hwsim.encode(x, name, threads=2, return_flags="elementwise", **kw)
        assert f1 == f2 and np.array_equal(c1, c2) and np.array_equal(e1, e2)
        d1, g1 = hwsim.encode(x, name, threads=1, return_flags=True, **kw)
        d2, g2 = hwsim.encode(x, name, threads=2, return_flags=True, **kw)
        assert g1 == g2 == f1 and np.array_equal(d1, c1) and np.array_equal(d2, c1)
        a, b = 123_457, 901_234  # slices encode like the whole with index0 = offset
        s = hwsim.encode(x[a:b], name, threads=2, index0=a, **kw)
        assert np.array_equal(s, c1[a:b])
        v1 = hwsim.decode(c1, name, threads=1)
        v2 = hwsim.decode(c1, name, threads=2)
        assert np.array_equal(v1.view(np.uint64), v2.view(np.uint64))


# ------------------------------------------------------------------------ decode
def _decode_with(fn, codes, fmt, daz=False):
    out = np.zeros(codes.size, np.float64)
    res = ffi.new("hw_result *")
    rc = fn(ffi.cast("double *", ffi.from_buffer(out)), ffi.from_buffer(codes), codes.itemsize,
            codes.size, _native.c_format(fmt), _native.make_opts(daz=daz), res)
    return rc, out, res.err_index


def _decode_general(codes, fmt, daz):
    rc, out, _ = _decode_with(lib.hw_decode_general, codes, fmt, daz)
    assert rc == lib.HW_OK
    return out


@pytest.mark.parametrize("name", [n for n, f in PRESETS.items() if f.bits <= 32] + list(CUSTOM))
def test_arithmetic_decode_equals_general_bit_for_bit(name):
    """hw_decode_fast (integer-built float64 patterns, general path for subnormal,
    Inf, NaN and invalid codes) against hw_decode_general: every code of formats up
    to 16 bits, random codes of wider ones, and out-of-range codes."""
    fmt = PRESETS.get(name) or CUSTOM[name]
    rng = np.random.default_rng(29)
    if fmt.bits <= 16:
        codes = rng.permutation(np.arange(1 << fmt.bits, dtype=fmt.code_dtype))
    else:
        codes = rng.integers(0, 1 << fmt.bits, 200_000, dtype=np.uint64).astype(fmt.code_dtype)
        codes[:64] = np.arange(64)  # zeros, subnormals, specials at both ends
        codes[64:128] = (1 << fmt.bits) - 1 - np.arange(64)
    rc, got, _ = _decode_with(lib.hw_decode_fast, codes, fmt)
    if fmt.specials == "e8m0":
        assert rc == lib.HW_E_MODE  # not claimed: hw_decode uses the general loop
        return
    assert rc == lib.HW_OK
    want = _decode_general(codes, fmt, False)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    for wide in (np.uint32, np.uint64):  # out-of-range codes, high bits set
        if np.dtype(wide).itemsize < codes.itemsize or (1 << fmt.bits) > np.iinfo(wide).max:
            continue
        w = np.tile(codes.astype(wide), -(-3000 // codes.size))  # past one block
        for pos, bad in ((3, 1 << fmt.bits), (1500, np.iinfo(wide).max)):
            w2 = w.copy()
            w2[pos] = bad
            a = _decode_with(lib.hw_decode_fast, w2, fmt)
            b = _decode_with(lib.hw_decode_general, w2, fmt)
            assert a[0] == b[0] == lib.HW_E_CODE and a[2] == b[2] == pos
            assert np.array_equal(a[1][:pos].view(np.uint64), b[1][:pos].view(np.uint64))


@pytest.mark.parametrize("name", [n for n, f in PRESETS.items() if f.bits <= 16])
def test_lut_decode_equals_general_bit_for_bit(name):
    """The cached table through hw_decode_lut, and hwsim.decode (table or
    hw_decode, 1 and 2 threads), against hw_decode_general on every code."""
    fmt = PRESETS[name]
    rng = np.random.default_rng(23)
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    codes = rng.permutation(np.tile(codes, max(1, 8192 >> fmt.bits)))
    for daz in (False, True):
        want = _decode_general(codes, fmt, daz).view(np.uint64)
        lut = _native.decode_lut(fmt, daz)
        out = np.zeros(codes.size, np.float64)
        res = ffi.new("hw_result *")
        rc = lib.hw_decode_lut(ffi.cast("double *", ffi.from_buffer(out)), ffi.from_buffer(codes),
                               codes.itemsize, codes.size,
                               ffi.cast("double *", ffi.from_buffer(lut)), lut.size, res)
        assert rc == lib.HW_OK and np.array_equal(out.view(np.uint64), want)
        for threads in (1, 2):
            got = hwsim.decode(codes, fmt, daz=daz, threads=threads)
            assert np.array_equal(got.view(np.uint64), want)
    for wide in (np.uint16, np.uint32, np.uint64):  # codes held in wider integers
        if np.dtype(wide).itemsize > codes.itemsize:
            got = hwsim.decode(codes.astype(wide), fmt)
            want = _decode_general(codes, fmt, False).view(np.uint64)
            assert np.array_equal(got.view(np.uint64), want)


def test_lut_decode_rejects_out_of_range_code_with_its_index():
    fmt = PRESETS["float4_e2m1fn"]
    codes = np.zeros(10_000, np.uint8)
    codes[7777] = 16
    codes[9000] = 200
    with pytest.raises(ValueError, match=r"codes\[7777\]"):
        hwsim.decode(codes, fmt, threads=2)
    out = np.empty(4, np.float64)
    res = ffi.new("hw_result *")
    lut = _native.decode_lut(fmt, False)
    bad = np.array([1, 2, 16, 3], np.uint8)
    rc = lib.hw_decode_lut(ffi.cast("double *", ffi.from_buffer(out)), ffi.from_buffer(bad), 1, 4,
                           ffi.cast("double *", ffi.from_buffer(lut)), lut.size, res)
    assert (rc, res.err_index) == (lib.HW_E_CODE, 2)


# ------------------------------------------------------------ random formats
def _random_formats(count, seed):
    """Valid FloatFormats with random widths, biases, specials and signedness."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        e, m = int(rng.integers(2, 9)), int(rng.integers(0, 13))
        sp = str(rng.choice(["ieee", "fn", "fnuz", "finite", "p3109", "p3109_finite"]))
        signed = bool(rng.integers(0, 2)) or sp in ("fnuz", "p3109", "p3109_finite")
        bias = (1 << (e - 1)) - 1 + int(rng.integers(-6, 7))
        sub = bool(rng.integers(0, 6))  # 1 in 6 without subnormals: not claimed
        try:
            out.append(FloatFormat(e, m, bias=bias, specials=sp, signed=signed, subnormals=sub))
        except ValueError:
            continue
    return out


@pytest.mark.parametrize("fmt", _random_formats(24, 31), ids=lambda f: f.name)
def test_random_formats_all_modes(fmt):
    """Odd biases (down to negative ones), unsigned formats, wide mantissas."""
    rng = np.random.default_rng(37)
    lo = fmt.emin - fmt.man_bits - 3
    x = np.ldexp(rng.uniform(1, 2, 20_000), rng.integers(lo, fmt.emax + 3, 20_000))
    x[::3] *= -1
    x[::101] = np.inf
    x[::103] = np.nan
    for dtype in (np.float32, np.float64):
        with np.errstate(over="ignore"):
            xs = x.astype(dtype)
        claimed = fmt.subnormals and fmt.bias <= (127 if dtype == np.float32 else 1023)
        for mode in MODES:
            if claimed:
                _compare(xs, fmt, mode, fmt.default_overflow, int(rng.integers(0, 2)),
                         sample=100, rng=rng)
                continue
            opts = _opts(fmt, mode, fmt.default_overflow, 0)
            assert _encode(lib.hw_encode_fast, xs, fmt, opts)[0] == lib.HW_E_MODE
            a = _encode(lib.hw_encode, xs, fmt, opts)
            b = _encode(lib.hw_encode_general, xs, fmt, opts)
            assert a[0] == b[0] and a[2:] == b[2:] and np.array_equal(a[1], b[1])
