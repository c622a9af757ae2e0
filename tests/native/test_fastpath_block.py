"""Fast MX quantization and the lean bfloat16 passes give exactly what the general C paths give.

``hw_mx_quantize_fast`` (csrc/hw_mx_fast.c) must equal ``hw_mx_quantize_general`` (the
block-by-block, element-by-element loop of csrc/hw_block.c) code for code, scale for
scale and flag for flag; a call that ends in an error (a NaN element under a caller's
scale) the kernel answers HW_E_MODE, "not handled", and ``hw_mx_quantize`` (the
dispatcher, csrc/hw_dispatch.c) must then give the general loop's status, error index and
flags.  The bfloat16
encode / decode kernels first try a lean pass per block (csrc/hw_encode_fast.c
``flat_s_clean``, csrc/hw_decode_fast.c ``dec_flat_clean``); blocks it cannot settle go
through the older per-element pass, so both are checked against the general loops on
data that mixes clean blocks with every kind of element that spoils one.

Flags of the MX kernel are checked per element as well: an MX element with shared
exponent ``se`` is the scalar encode of ``x * 2**-se`` into the element format with
saturation (``hw_encode_general`` with per-element flags gives the expected flags); the
elements are grouped by those flags and each group, given its blocks' scale codes with
one element per block, must report exactly that group's flags from the fast kernel.
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
SATURATE, SPECIAL = 0, 2  # HW_OVF_*

MX_NAMES = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4"]
# element formats outside the MX presets: IEEE specials, P3109, unsigned, no mantissa
CUSTOM_ELEMS = {
    "e4m3_ieee": (FloatFormat(4, 3, specials="ieee"), 7),
    "p3109_8p3": (parse_format("binary8p3se"), 15),
    "e4m3fn_unsigned": (FloatFormat(4, 3, specials="fn", signed=False), 8),
    "e5m0_ieee": (FloatFormat(5, 0, specials="ieee"), 15),
    "e3m2_b1": (FloatFormat(3, 2, bias=1, specials="finite"), 4),
    # emax_elem is a free parameter of the kernel: low values make blocks whose
    # largest element is a float32 / float64 subnormal take unclamped exponents
    "e4m3fn_emax_m25": (PRESETS["float8_e4m3fn"], -25),
    "e2m1fn_emax_m1000": (PRESETS["float4_e2m1fn"], -1000),
}


# ------------------------------------------------------------------ MX helpers
def _kind(x):
    return lib.HW_IN_F32 if x.dtype == np.float32 else lib.HW_IN_F64


def _mx(fn, x2, elem, emax_elem, bs, opts, scales=None, elem_size=1):
    """One C call on the 2-D array x2; returns (status, codes, scales, flags, err_index)."""
    nrows, ncols = x2.shape
    nb = -(-ncols // bs)
    codes = np.zeros(x2.shape, np.dtype(f"u{elem_size}"))
    sc = np.zeros((nrows, nb), np.uint8) if scales is None else scales.copy()
    res = ffi.new("hw_result *")
    rc = fn(ffi.from_buffer(codes), elem_size, ffi.from_buffer(sc), int(scales is not None),
            ffi.from_buffer(x2), _kind(x2), nrows, ncols, bs,
            ffi.NULL if elem is None else _native.c_format(elem), emax_elem, 8, 6, -127, opts,
            res)
    return rc, codes, sc, res.flags, res.err_index


def _elem_flags(x2, sc, elem, bs, opts_kw):
    """Expected per-element flags: hw_encode_general of x * 2^-se with saturation
    (-1, excluded: elements of NaN-scale blocks, float64 elements whose x * 2^-se
    underflows float64, and negative elements of an unsigned element format, which
    the scalar encode maps to 0 while MX rounds their magnitude)."""
    nrows, ncols = x2.shape
    se = np.repeat(sc.astype(np.int64), bs, axis=1)[:, :ncols] - 127
    xd = x2.astype(np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        y = np.ldexp(xd, -se.reshape(-1))  # exact unless float64 underflows (checked below)
        lost = np.ldexp(y, se.reshape(-1)) != xd
    ef = np.zeros(y.size, np.uint8)
    out = np.zeros(y.size, elem.code_dtype)
    res = ffi.new("hw_result *")
    rc = lib.hw_encode_general(ffi.from_buffer(out), out.itemsize, ffi.from_buffer(y),
                               lib.HW_IN_F64, y.size, _native.c_format(elem),
                               _native.make_opts(**opts_kw, overflow=SATURATE, nan_code=0),
                               ffi.NULL, ffi.from_buffer(ef), res)
    assert rc == lib.HW_OK
    flags = ef.astype(np.int64)
    flags[(se == 255 - 127).reshape(-1) | np.isnan(y) | lost] = -1
    if not elem.signed:  # the scalar encode treats negatives apart (saturate to 0)
        flags[y < 0] = -1
    return flags


def _compare_mx(x2, elem, emax_elem, bs, mode, tininess, scales=None, groups=False):
    """Fast vs general on x2; returns the general result."""
    kw = dict(rounding=MODE_CODE[mode], tininess=tininess)
    opts = _native.make_opts(**kw)
    g = _mx(lib.hw_mx_quantize_general, x2, elem, emax_elem, bs, opts, scales)
    f = _mx(lib.hw_mx_quantize_fast, x2, elem, emax_elem, bs, opts, scales)
    what = f"{elem.name} {x2.dtype} {x2.shape} bs={bs} {mode} tininess={tininess}"
    if g[0] != lib.HW_OK:  # an error: the kernel leaves it to the general loop
        assert f[0] == lib.HW_E_MODE, f"fast kernel reports {f[0]} itself: {what}"
        f = _mx(lib.hw_mx_quantize, x2, elem, emax_elem, bs, opts, scales)
    assert f[0] != lib.HW_E_MODE, f"fast kernel does not claim {what}"
    assert (f[0], f[3], f[4]) == (g[0], g[3], g[4]), what
    n = g[4] if g[0] != lib.HW_OK else x2.size
    fc, gc = f[1].reshape(-1)[:n], g[1].reshape(-1)[:n]
    bad = np.flatnonzero(fc != gc)
    assert bad.size == 0, (f"{what}: {bad.size} codes differ, first x={x2.reshape(-1)[bad[0]]!r}"
                           f": fast {fc[bad[0]]:#x} general {gc[bad[0]]:#x}")
    if g[0] == lib.HW_OK:
        assert np.array_equal(f[2], g[2]), f"{what}: scales differ"
    if groups and g[0] == lib.HW_OK:
        _check_flag_groups(x2, g, elem, emax_elem, bs, opts, kw, what)
    return g


def _check_flag_groups(x2, g, elem, emax_elem, bs, opts, kw, what):
    ef = _elem_flags(x2, g[2], elem, bs, kw)
    assert (int(np.bitwise_or.reduce(ef[ef >= 0])) if (ef >= 0).any() else 0) == g[3], what
    sc_el = np.repeat(g[2], bs, axis=1)[:, :x2.shape[1]].reshape(-1)
    xs, codes = x2.reshape(-1), g[1].reshape(-1)
    for fl in np.unique(ef[ef >= 0]):
        sel = np.flatnonzero(ef == fl)
        xg = np.ascontiguousarray(xs[sel]).reshape(1, -1)
        rc, c, _, got, _ = _mx(lib.hw_mx_quantize_fast, xg, elem, emax_elem, 1, opts,
                               np.ascontiguousarray(sc_el[sel]).reshape(1, -1))
        assert (rc, got) == (lib.HW_OK, int(fl)), f"{what}: flag group {fl} reports {got}"
        assert np.array_equal(c.reshape(-1), codes[sel]), f"{what}: flag group {fl} codes"


def _elem_grid(elem):
    """Positive finite element values, midpoints between neighbours and above the max."""
    vals = hwsim.decode(np.arange(1 << elem.bits, dtype=elem.code_dtype), elem)
    grid = np.unique(np.abs(vals[np.isfinite(vals)]))
    grid = np.append(grid, float(elem.max_finite) + 2.0 ** (elem.emax - elem.man_bits))
    return np.concatenate([grid, (grid[:-1] + grid[1:]) / 2])


def _mx_tensor(elem, emax_elem, bs, nrows, ncols, rng, dtype=np.float32):
    """Rows of blocks of seven kinds: element-grid values (and their dtype
    neighbours) times 2^k; wide exponent spread (underflow, tininess edges);
    float subnormals and tiny normals (shared exponent clamped at -127); zeros
    with a few tiny values; a NaN or Inf (NaN scale); amax just below a power of
    two (elements round past the element max); values near the dtype's max."""
    grid = _elem_grid(elem)
    tiny = np.finfo(dtype).smallest_subnormal
    top = float(np.finfo(dtype).max)
    x = np.empty((nrows, ncols), np.float64)
    nb = -(-ncols // bs)
    for r in range(nrows):
        for b in range(nb):
            m = min(bs, ncols - b * bs)
            kind = int(rng.integers(0, 7))
            k = int(rng.integers(-30, 30))
            if kind == 0:
                v = np.ldexp(rng.choice(grid, m), k + emax_elem - elem.emax)
            elif kind == 1:
                v = np.ldexp(rng.uniform(1, 2, m), rng.integers(k - 40, k + 1, m))
            elif kind == 2:
                v = tiny * rng.integers(0, 1 << 12, m) * 2.0 ** int(rng.integers(0, 12))
            elif kind == 3:
                v = np.zeros(m)
                v[rng.integers(0, m, 2)] = tiny * rng.integers(1, 100, 2)
            elif kind == 4:
                v = rng.standard_normal(m)
                v[int(rng.integers(0, m))] = rng.choice([np.nan, np.inf])
            elif kind == 5:
                v = np.ldexp(rng.uniform(1, 2, m), k)
                v[int(rng.integers(0, m))] = np.ldexp(2.0 - 2.0 ** -int(rng.integers(3, 23)), k)
            else:
                v = top * rng.uniform(0.1, 1.0, m)
            x[r, b * bs:b * bs + m] = v * rng.choice([-1.0, 1.0], m)
    x = x.astype(dtype)
    with np.errstate(over="ignore"):  # a few dtype neighbours of grid points
        sel = rng.random(x.shape) < 0.15
        x[sel] = np.nextafter(x[sel], rng.choice([-np.inf, np.inf], int(sel.sum())).astype(dtype))
    return np.ascontiguousarray(x)


# --------------------------------------------------------------------- MX tests
@pytest.mark.parametrize("name", MX_NAMES + list(CUSTOM_ELEMS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mx_fast_equals_general_all_modes(name, dtype):
    if name in CUSTOM_ELEMS:
        elem, emax_elem = CUSTOM_ELEMS[name]
    else:
        fmt = hwsim.format(name)
        elem, emax_elem = fmt.elem, fmt.emax_elem
    rng = np.random.default_rng(sum(map(ord, name)) * 8 + np.dtype(dtype).itemsize)
    x2 = _mx_tensor(elem, emax_elem, 32, 96, 256, rng, dtype)  # 768 blocks, 24 chunks
    for mode in MODES:
        for tininess in (0, 1):
            _compare_mx(x2, elem, emax_elem, 32, mode, tininess, groups=(tininess == 0))


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp6_e2m3", "mxfp4"])
def test_mx_one_element_per_call_near_tininess_boundary(name):
    """Each element alone (one-element blocks with its block's scale code), half of
    them with |x| / 2^se in [min_normal / 4, 2 min_normal], where tininess after
    rounding is decided element by element: flags and code equal the scalar encode
    of x / 2^se with saturation (the MX element rule)."""
    fmt = hwsim.format(name)
    elem = fmt.elem
    rng = np.random.default_rng(73)
    mn = float(elem.min_normal)
    # x / 2^se spread around min_normal: ulps of the element's precision and finer
    k = rng.integers(-3 * elem.man_bits - 8, 0, 3000)
    frac = np.ldexp(rng.integers(1, 1 << 20, 3000), -20)
    y = np.ldexp(mn * (0.25 + 1.75 * frac), 0) + np.ldexp(mn, k) * rng.choice([-1, 1], 3000)
    y = np.abs(y) * rng.choice([-1.0, 1.0], 3000)
    se = rng.integers(-20, 20, 3000)
    x = np.ldexp(y, se).astype(np.float32)
    sc = (se + 127).astype(np.uint8)
    for mode in MODES:
        for tininess in (0, 1):
            kw = dict(rounding=MODE_CODE[mode], tininess=tininess)
            opts = _native.make_opts(**kw)
            want = _elem_flags(x.reshape(1, -1), sc.reshape(1, -1), elem, 1, kw)
            out = np.zeros(1, np.uint8)
            res = ffi.new("hw_result *")
            g = _mx(lib.hw_mx_quantize_general, x.reshape(1, -1), elem, fmt.emax_elem, 1, opts,
                    sc.reshape(1, -1))
            px = ffi.cast("float *", ffi.from_buffer(x))
            psc = ffi.cast("uint8_t *", ffi.from_buffer(sc))
            pout, f = ffi.from_buffer(out), _native.c_format(elem)
            seen = set()
            for i in range(x.size):
                rc = lib.hw_mx_quantize_fast(pout, 1, psc + i, 1, px + i, lib.HW_IN_F32, 1, 1, 1,
                                             f, fmt.emax_elem, 0, 0, 0, opts, res)
                assert (rc, res.flags, out[0]) == (lib.HW_OK, want[i], g[1][0, i]), (
                    f"{name} {mode} tininess={tininess}: x={x[i]!r} scale {sc[i]}: fast "
                    f"flags {res.flags} code {out[0]:#x}, expected {want[i]} {g[1][0, i]:#x}")
                seen.add(int(want[i]))
            assert {1, 3} <= seen  # both outcomes of the tininess decision occurred


@pytest.mark.parametrize("bs,ncols", [(1, 45), (7, 45), (32, 100), (1024, 2048), (1000, 2500),
                                      (3, 1)])
def test_mx_block_sizes_and_partial_blocks(bs, ncols):
    """Partial last blocks, blocks across chunk ends, a block of the chunk's size."""
    fmt = hwsim.format("mxfp8_e4m3")
    rng = np.random.default_rng(bs * 7919 + ncols)
    x2 = _mx_tensor(fmt.elem, fmt.emax_elem, bs, 6, ncols, rng)
    for mode in ("rne", "rup", "rto"):
        _compare_mx(x2, fmt.elem, fmt.emax_elem, bs, mode, 0, groups=(mode == "rne"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mx_float64_beyond_float32_range(dtype):
    """float64 blocks whose shared exponent exceeds 127 (NaN scale), values far below
    the clamp, float64 subnormals; the same data as float32 where it fits."""
    fmt = hwsim.format("mxfp6_e2m3")
    rng = np.random.default_rng(41)
    e = rng.integers(-1074, 1020, (40, 64))
    e[::3] = rng.integers(100, 200, (14, 64))  # around the shared exponent limit
    x = np.ldexp(rng.uniform(1, 2, e.shape), e) * rng.choice([-1.0, 1.0], e.shape)
    x[5, :8] = 5e-324 * np.arange(8)
    with np.errstate(over="ignore", under="ignore"):
        x2 = np.ascontiguousarray(x.astype(dtype))
    for mode in MODES:
        _compare_mx(x2, fmt.elem, fmt.emax_elem, 32, mode, 1, groups=(mode == "rna"))


def test_mx_caller_scales_with_inf_and_nan_scale_blocks():
    """Caller scale codes over the whole E8M0 range (NaN scale 0xFF included);
    +-Inf elements saturate with INVALID."""
    fmt = hwsim.format("mxfp8_e5m2")
    rng = np.random.default_rng(43)
    x2 = _mx_tensor(fmt.elem, fmt.emax_elem, 32, 40, 96, rng)
    x2[np.isnan(x2)] = np.inf
    scales = rng.integers(0, 256, (40, 3)).astype(np.uint8)
    scales[::4, 1] = 0xFF
    scales[1::4, 0] = 127 + 8 + rng.integers(-20, 20, 10)  # near the data
    for mode in MODES:
        g = _compare_mx(x2, fmt.elem, fmt.emax_elem, 32, mode, 0, scales=scales, groups=True)
        assert g[0] == lib.HW_OK and g[3] & lib.HW_FLAG_INVALID  # from the Infs


def test_mx_nan_under_caller_scale_reports_general_error():
    """A NaN element of a non-NaN block is HW_E_NAN at its index with the flags of
    the elements before it, wherever it falls (first chunk, later chunk, after
    elements the fast kernel redoes one by one)."""
    fmt = hwsim.format("mxfp8_e4m3")
    rng = np.random.default_rng(47)
    x = _mx_tensor(fmt.elem, fmt.emax_elem, 32, 80, 64, rng)
    x[np.isnan(x)] = 1.0
    scales = rng.integers(100, 150, (80, 2)).astype(np.uint8)
    scales[3, 0] = 0xFF
    for pos in (0, 1, 6 * 64 + 5, 3 * 64 + 2, 2100, 80 * 64 - 1):
        x2 = x.copy()
        x2.reshape(-1)[pos] = np.nan
        g = _compare_mx(x2, fmt.elem, fmt.emax_elem, 32, "rne", 0, scales=scales)
        if pos == 3 * 64 + 2:  # inside the NaN-scale block: no error
            assert g[0] == lib.HW_OK
        else:
            assert (g[0], g[4]) == (lib.HW_E_NAN, pos)


def test_mx_outside_scope_is_refused_and_dispatcher_falls_back():
    """SR, integer elements, wide element codes, block_size > 1024 and e8m0-like
    element formats are not claimed; hw_mx_quantize still gives the general result."""
    fmt = hwsim.format("mxfp8_e4m3")
    rng = np.random.default_rng(53)
    x2 = _mx_tensor(fmt.elem, fmt.emax_elem, 32, 4, 2100, rng)
    x2[np.isnan(x2)] = 0.0
    e4, nosub = fmt.elem, FloatFormat(4, 3, specials="fn", subnormals=False)
    cases = [(e4, 32, dict(rounding=6, sr_bits=4, seed=3), 1), (None, 32, {}, 1),
             (e4, 32, {}, 2), (e4, 1025, {}, 1), (nosub, 32, {}, 1)]
    for elem, bs, kw, size in cases:
        opts = _native.make_opts(**kw)
        f = _mx(lib.hw_mx_quantize_fast, x2, elem, 8 if elem else 0, bs, opts, elem_size=size)
        assert f[0] == lib.HW_E_MODE
        a = _mx(lib.hw_mx_quantize, x2, elem, 8 if elem else 0, bs, opts, elem_size=size)
        b = _mx(lib.hw_mx_quantize_general, x2, elem, 8 if elem else 0, bs, opts,
                elem_size=size)
        assert a[0] == b[0] == lib.HW_OK and a[3:] == b[3:]
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


@pytest.mark.parametrize("name,kw", [("mxfp8_e4m3", {}), ("mxfp4", {"rounding": "rtz"}),
                                     ("mxfp6_e3m2", {"rounding": "rup"})])
def test_mx_threads_do_not_change_results(name, kw):
    rng = np.random.default_rng(59)
    fmt = hwsim.format(name)
    x = _mx_tensor(fmt.elem, fmt.emax_elem, 32, 512, 384, rng)  # 196 608 elements
    x[np.isnan(x)] = 0.0
    assert len(_native.chunks(6144, 3, _native.tuning.BLOCK_MIN_CHUNK, item_size=32, align=1)) == 3  # rows of blocks really split
    base = hwsim.encode(x, fmt, threads=1, **kw)
    for threads in (2, 3):
        for axis in (-1, None):
            bt = hwsim.encode(x, fmt, threads=threads, axis=axis, **kw)
            if axis is None:
                bt1 = hwsim.encode(x, fmt, threads=1, axis=None, **kw)
                assert np.array_equal(bt.codes, bt1.codes)
                assert np.array_equal(bt.scales, bt1.scales) and bt.flags == bt1.flags
            else:
                assert np.array_equal(bt.codes, base.codes)
                assert np.array_equal(bt.scales, base.scales) and bt.flags == base.flags


# ------------------------------------------------------------- bfloat16 passes
def _encode(fn, x, fmt, opts, elem_flags=None):
    out = np.zeros(x.size, dtype=fmt.code_dtype)
    res = ffi.new("hw_result *")
    pfl = ffi.NULL if elem_flags is None else ffi.from_buffer(elem_flags)
    rc = fn(ffi.from_buffer(out), out.itemsize, ffi.from_buffer(x), lib.HW_IN_F32, x.size,
            _native.c_format(fmt), opts, ffi.NULL, pfl, res)
    return rc, out, res.flags, res.err_index


def _bf16_data(fmt, rng, nblocks=64):
    """512-element blocks (the kernel's) of float32 normals in the format's range,
    most of them clean, the others with one or two spoilers: a subnormal, +-Inf, NaN,
    a value between the max finite and the next binade, the max finite itself,
    the smallest normal, -0."""
    s = 23 - fmt.man_bits
    lim = int(fmt.max_code) << s
    x = np.ldexp(rng.uniform(1, 2, (nblocks, 512)), rng.integers(-126, 128, (nblocks, 512)))
    x = (x * rng.choice([-1.0, 1.0], x.shape)).astype(np.float32)
    u = x.view(np.uint32)
    spoil = [lambda: int(rng.integers(1, 1 << 23)), lambda: 0x7F800000, lambda: 0x7FC00001,
             lambda: int(rng.integers(lim + 1, 0x7F800000)), lambda: lim,
             lambda: 0x00800000, lambda: 0]
    for b in range(nblocks):
        if b % 3 == 0:
            continue  # clean block
        for _ in range(int(rng.integers(1, 3))):
            u[b, int(rng.integers(0, 512))] = spoil[b % len(spoil)]() | (
                int(rng.integers(0, 2)) << 31)
    u[1, :] &= 0xFFFF0000  # an exact block
    return np.ascontiguousarray(x.reshape(-1))


@pytest.mark.parametrize("fmt", [PRESETS["bfloat16"], FloatFormat(8, 3, specials="ieee")],
                         ids=lambda f: f.name)
def test_bfloat16_lean_encode_pass_equals_general(fmt):
    rng = np.random.default_rng(61)
    x = _bf16_data(fmt, rng)
    for mode in MODES:
        for tininess in (0, 1):
            opts = _native.make_opts(rounding=MODE_CODE[mode], overflow=SPECIAL,
                                     tininess=tininess)
            ef = np.zeros(x.size, np.uint8)
            g = _encode(lib.hw_encode_general, x, fmt, opts, ef)
            f = _encode(lib.hw_encode_fast, x, fmt, opts)
            assert g[0] == f[0] == lib.HW_OK and f[2] == g[2], (fmt.name, mode)
            assert np.array_equal(f[1], g[1]), (fmt.name, mode)
            for fl in np.unique(ef):  # each flag group alone reports its flags
                grp = np.ascontiguousarray(x[ef == fl])
                rc, c, got, _ = _encode(lib.hw_encode_fast, grp, fmt, opts)
                assert (rc, got) == (lib.HW_OK, int(fl)), (fmt.name, mode, fl)
                assert np.array_equal(c, g[1][ef == fl])
            for b in (0, 1, 3):  # one block at a time: clean ones report INEXACT alone
                xb = np.ascontiguousarray(x[b * 512:(b + 1) * 512])
                gb, fb = _encode(lib.hw_encode_general, xb, fmt, opts), \
                    _encode(lib.hw_encode_fast, xb, fmt, opts)
                assert fb[2] == gb[2] and np.array_equal(fb[1], gb[1])


def _decode_with(fn, codes, fmt):
    out = np.zeros(codes.size, np.float64)
    res = ffi.new("hw_result *")
    rc = fn(ffi.cast("double *", ffi.from_buffer(out)), ffi.from_buffer(codes), codes.itemsize,
            codes.size, _native.c_format(fmt), _native.make_opts(), res)
    return rc, out, res.err_index


@pytest.mark.parametrize("fmt", [PRESETS["bfloat16"], FloatFormat(8, 3, specials="ieee")],
                         ids=lambda f: f.name)
@pytest.mark.parametrize("wide", [False, True])
def test_bfloat16_lean_decode_pass_equals_general(fmt, wide):
    """1024-code blocks (the decoder's), most of normal codes only, others with a
    subnormal, Inf or NaN code; then an out-of-range code in a later block."""
    rng = np.random.default_rng(67)
    M, top = fmt.man_bits, (1 << fmt.bits)
    e = rng.integers(1, 255, (48, 1024)).astype(np.uint64)
    c = (e << np.uint64(M)) | rng.integers(0, 1 << M, e.shape).astype(np.uint64)
    c |= rng.integers(0, 2, e.shape).astype(np.uint64) << np.uint64(fmt.bits - 1)
    spoil = [1, (1 << M) - 1, 255 << M, (255 << M) | 1, (255 << M) + (1 << M) - 1]
    for b in range(48):
        if b % 2:
            c[b, int(rng.integers(0, 1024))] = spoil[b % len(spoil)]
    c = np.ascontiguousarray(c.reshape(-1).astype(np.uint32 if wide else fmt.code_dtype))
    a, g = _decode_with(lib.hw_decode_fast, c, fmt), _decode_with(lib.hw_decode_general, c, fmt)
    assert a[0] == g[0] == lib.HW_OK
    assert np.array_equal(a[1].view(np.uint64), g[1].view(np.uint64))
    if top <= np.iinfo(c.dtype).max:
        for pos in (5, 20 * 1024 + 7):
            c2 = c.copy()
            c2[pos] = top
            a, g = _decode_with(lib.hw_decode_fast, c2, fmt), \
                _decode_with(lib.hw_decode_general, c2, fmt)
            assert a[0] == g[0] == lib.HW_E_CODE and a[2] == g[2] == pos
            assert np.array_equal(a[1][:pos].view(np.uint64), g[1][:pos].view(np.uint64))


def test_bfloat16_threads_do_not_change_results():
    fmt = PRESETS["bfloat16"]
    x = np.tile(_bf16_data(fmt, np.random.default_rng(71)), 72)  # 2 359 296 elements
    assert len(_native.chunks(x.size, 2, _native.tuning.FLAT_MIN_CHUNK)) == 2  # really split
    c1, f1 = hwsim.encode(x, fmt, threads=1, return_flags=True)
    c2, f2 = hwsim.encode(x, fmt, threads=2, return_flags=True)
    assert f1 == f2 and np.array_equal(c1, c2)
    v1, v2 = hwsim.decode(c1, fmt, threads=1), hwsim.decode(c1, fmt, threads=2)
    assert np.array_equal(v1.view(np.uint64), v2.view(np.uint64))


# ------------------------------------------------------------------------ NVFP4
E2M1 = PRESETS["float4_e2m1fn"]
FLOAT32, EXACT = 0, 1  # HW_NVFP4_*


def _nv(fn, x2, bs, ts, opts, scales=None, arith=FLOAT32):
    nrows, ncols = x2.shape
    nb = -(-ncols // bs)
    codes = np.zeros(x2.shape, np.uint8)
    sc = np.zeros((nrows, nb), np.uint8) if scales is None else scales.copy()
    res = ffi.new("hw_result *")
    rc = fn(ffi.from_buffer(codes), ffi.from_buffer(sc), int(scales is not None),
            ffi.from_buffer(x2), _kind(x2), nrows, ncols, bs, ts, arith, opts, res)
    return rc, codes, sc, res.flags, res.err_index


def _nv_elem_flags(x2, sc, bs, ts, kw):
    """Expected per-element flags: the scalar encode of the binary32 quotient
    q = fl32(fl32(x) / fl32(s * ts)) into E2M1 with saturation (-1, excluded: NaN-scale
    blocks and non-finite q, which NVFP4 saturates with OVERFLOW instead of INVALID)."""
    lut = hwsim.decode(np.arange(128, dtype=np.uint8), "float8_e4m3fn").astype(np.float32)
    s = np.repeat(lut[sc], bs, axis=1)[:, :x2.shape[1]].reshape(-1)
    with np.errstate(all="ignore"):
        q = x2.reshape(-1).astype(np.float32) / (s * np.float32(ts))
    ef = np.zeros(q.size, np.uint8)
    out = np.zeros(q.size, np.uint8)
    res = ffi.new("hw_result *")
    rc = lib.hw_encode_general(ffi.from_buffer(out), 1, ffi.from_buffer(q), lib.HW_IN_F32,
                               q.size, _native.c_format(E2M1),
                               _native.make_opts(**kw, overflow=SATURATE, nan_code=0),
                               ffi.NULL, ffi.from_buffer(ef), res)
    assert rc == lib.HW_OK
    flags = ef.astype(np.int64)
    nan_block = np.repeat(sc == 0x7F, bs, axis=1)[:, :x2.shape[1]].reshape(-1)
    flags[nan_block | ~np.isfinite(q)] = -1
    return flags


def _compare_nv(x2, bs, ts, mode, tininess, scales=None, groups=False):
    kw = dict(rounding=MODE_CODE[mode], tininess=tininess)
    opts = _native.make_opts(**kw)
    g = _nv(lib.hw_nvfp4_quantize_general, x2, bs, ts, opts, scales)
    f = _nv(lib.hw_nvfp4_quantize_fast, x2, bs, ts, opts, scales)
    what = f"nvfp4 {x2.dtype} {x2.shape} bs={bs} ts={ts!r} {mode} tininess={tininess}"
    if g[0] != lib.HW_OK:  # an error: the kernel leaves it to the general loop
        assert f[0] == lib.HW_E_MODE, f"fast kernel reports {f[0]} itself: {what}"
        f = _nv(lib.hw_nvfp4_quantize, x2, bs, ts, opts, scales)
    assert f[0] != lib.HW_E_MODE, f"fast kernel does not claim {what}"
    assert (f[0], f[3], f[4]) == (g[0], g[3], g[4]), what
    n = g[4] if g[0] == lib.HW_E_NAN else (0 if g[0] != lib.HW_OK else x2.size)
    assert np.array_equal(f[1].reshape(-1)[:n], g[1].reshape(-1)[:n]), f"{what}: codes differ"
    if g[0] == lib.HW_OK:
        assert np.array_equal(f[2], g[2]), f"{what}: scales differ"
    if groups and g[0] == lib.HW_OK:
        ef = _nv_elem_flags(x2, g[2], bs, ts, kw)
        sc_el = np.repeat(g[2], bs, axis=1)[:, :x2.shape[1]].reshape(-1)
        xs, codes = x2.reshape(-1), g[1].reshape(-1)
        for fl in np.unique(ef[ef >= 0]):
            sel = np.flatnonzero(ef == fl)
            rc, c, _, got, _ = _nv(lib.hw_nvfp4_quantize_fast,
                                   np.ascontiguousarray(xs[sel]).reshape(1, -1), 1, ts, opts,
                                   np.ascontiguousarray(sc_el[sel]).reshape(1, -1))
            assert (rc, got) == (lib.HW_OK, int(fl)), f"{what}: flag group {fl} reports {got}"
            assert np.array_equal(c.reshape(-1), codes[sel]), f"{what}: flag group {fl} codes"
    return g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ts", [None, 2.0 ** -117, 1.0, float(np.float32(3.1e37))])
def test_nvfp4_fast_equals_general_all_modes(dtype, ts):
    """Tensor scales: the default (amax / 2688), the smallest allowed (quotients
    overflow binary32), 1, and a huge one (s * ts overflows to Inf: q = 0)."""
    rng = np.random.default_rng(79 + np.dtype(dtype).itemsize)
    x2 = _mx_tensor(E2M1, 2, 16, 40, 96, rng, dtype)
    if ts is None:
        from hwsim.codec import default_tensor_scale
        ts = default_tensor_scale(x2)
    for mode in MODES:
        for tininess in (0, 1):
            _compare_nv(x2, 16, ts, mode, tininess, groups=(tininess == 0))


def test_nvfp4_one_element_per_call_near_tininess_boundary():
    """Each element alone with its own scale code, quotients spread over
    [min_normal / 4, 2 min_normal] of E2M1 (tininess after rounding decided per
    element): flags and code equal the scalar encode of the binary32 quotient."""
    rng = np.random.default_rng(103)
    sc = rng.integers(0x20, 0x50, 2000).astype(np.uint8)
    lut = hwsim.decode(np.arange(128, dtype=np.uint8), "float8_e4m3fn")
    q = rng.uniform(0.25, 2.0, 2000) * rng.choice([-1.0, 1.0], 2000)
    x = (q * lut[sc]).astype(np.float32)
    f = ffi.cast("float *", ffi.from_buffer(x))
    psc = ffi.cast("uint8_t *", ffi.from_buffer(sc))
    out = np.zeros(1, np.uint8)
    pout, res = ffi.from_buffer(out), ffi.new("hw_result *")
    for mode in MODES:
        for tininess in (0, 1):
            kw = dict(rounding=MODE_CODE[mode], tininess=tininess)
            opts = _native.make_opts(**kw)
            want = _nv_elem_flags(x.reshape(1, -1), sc.reshape(1, -1), 1, 1.0, kw)
            g = _nv(lib.hw_nvfp4_quantize_general, x.reshape(1, -1), 1, 1.0, opts,
                    sc.reshape(1, -1))
            for i in range(x.size):
                rc = lib.hw_nvfp4_quantize_fast(pout, psc + i, 1, f + i, lib.HW_IN_F32, 1, 1, 1,
                                                1.0, FLOAT32, opts, res)
                assert (rc, res.flags, out[0]) == (lib.HW_OK, want[i], g[1][0, i]), (
                    f"{mode} tininess={tininess}: x={x[i]!r} scale {sc[i]:#x}")
            assert {1, 3} <= set(want.tolist())


@pytest.mark.parametrize("bs,ncols", [(1, 45), (7, 45), (16, 100), (1024, 2048)])
def test_nvfp4_block_sizes_and_partial_blocks(bs, ncols):
    rng = np.random.default_rng(83 + bs)
    x2 = _mx_tensor(E2M1, 2, bs, 6, ncols, rng)
    for mode in ("rne", "rdn"):
        _compare_nv(x2, bs, 1.0, mode, 0, groups=True)


def test_nvfp4_caller_scales_and_errors():
    """Caller scale codes 0x01..0x7F (0x7F: NaN block) with +-Inf elements; an invalid
    code (0 or 0x80) is HW_E_CODE at its block; a NaN element of a non-NaN block is
    HW_E_NAN at its index with the flags of the elements before it."""
    rng = np.random.default_rng(89)
    x = _mx_tensor(E2M1, 2, 16, 50, 64, rng)
    x[np.isnan(x)] = np.inf
    scales = rng.integers(1, 128, (50, 4)).astype(np.uint8)
    scales[::5, 2] = 0x7F
    for mode in MODES:
        g = _compare_nv(x, 16, 1.0, mode, 0, scales=scales, groups=True)
        assert g[0] == lib.HW_OK
    for bad_code, blk in ((0, 37), (0x80, 150)):
        s2 = scales.copy()
        s2.reshape(-1)[blk] = bad_code
        g = _compare_nv(x, 16, 1.0, "rne", 0, scales=s2)
        assert (g[0], g[4]) == (lib.HW_E_CODE, blk)
    for pos in (3, 1030, 2 * 16 + 5, 50 * 64 - 1):  # 2*16+5: block (0, 2), a NaN block
        x2 = x.copy()
        x2.reshape(-1)[pos] = np.nan
        g = _compare_nv(x2, 16, 1.0, "rne", 0, scales=scales)
        assert (g[0], g[4]) == ((lib.HW_OK, -1) if pos == 37 else (lib.HW_E_NAN, pos))


def test_nvfp4_outside_scope_is_refused_and_dispatcher_falls_back():
    rng = np.random.default_rng(97)
    x2 = _mx_tensor(E2M1, 2, 16, 4, 2100, rng)
    x2[np.isnan(x2)] = 0.0
    for arith, kw, bs in ((EXACT, {}, 16), (FLOAT32, dict(rounding=6, sr_bits=3), 16),
                          (FLOAT32, {}, 1025)):
        opts = _native.make_opts(**kw)
        assert _nv(lib.hw_nvfp4_quantize_fast, x2, bs, 1.0, opts, arith=arith)[0] == \
            lib.HW_E_MODE
        a = _nv(lib.hw_nvfp4_quantize, x2, bs, 1.0, opts, arith=arith)
        b = _nv(lib.hw_nvfp4_quantize_general, x2, bs, 1.0, opts, arith=arith)
        assert a[0] == b[0] == lib.HW_OK and a[3:] == b[3:]
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


def test_nvfp4_threads_do_not_change_results():
    rng = np.random.default_rng(101)
    x = _mx_tensor(E2M1, 2, 16, 256, 768, rng)  # 196 608 elements
    x[np.isnan(x)] = 0.0
    assert len(_native.chunks(256 * 48, 3, _native.tuning.BLOCK_MIN_CHUNK, item_size=16, align=1)) == 3
    base = hwsim.encode(x, "nvfp4", threads=1)
    for threads in (2, 3):
        bt = hwsim.encode(x, "nvfp4", threads=threads)
        assert np.array_equal(bt.codes, base.codes) and np.array_equal(bt.scales, base.scales)
        assert bt.flags == base.flags and bt.tensor_scale == base.tensor_scale
