"""Fast paths (hwsim/mac/fast.py, csrc/hw_mac_fast_*.c) equal the general
engine and the exact reference on the same inputs: random data, ties at
every rounding step, overflow thresholds, subnormal sums, NaN / Inf operands;
thread counts; and a numba function calling a C MAC kernel."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwsim
from hwsim import _native
from hwsim.mac import (FloatAccumulator, FusedMultiTermAccumulator, IntAccumulator, MacUnit,
                       fused_multi_term_preset, matmul)
from hwsim.testing.mac_strategies import reference_matmul
from hyp_settings import examples

# C kernels: rerun under ASan/UBSan (native) and on the -DHWSIM_PORTABLE build (portable)
pytestmark = [pytest.mark.native, pytest.mark.portable]

E4M3 = hwsim.format("float8_e4m3fn")
F16 = hwsim.format("float16")
RNG = np.random.default_rng(99)

FLOAT_ACCS = [FloatAccumulator("float32", "rne"), FloatAccumulator("float32", "rne", False),
              FloatAccumulator("float32", "rtz"), FloatAccumulator("float16", "rne"),
              FloatAccumulator("float16", "rtz"), FloatAccumulator("bfloat16", "rne"),
              FloatAccumulator("bfloat16", "rtz"), FloatAccumulator("bfloat16", "rne", False)]
# binary32 rtz and the binary16 / bfloat16 registers need the SIMD kernels;
# the portable build (make test-portable) serves them with the general engine
SIMD = bool(_native.lib.hw_mac_simd())


def _float_path(acc):
    if acc.fmt.name == "float32":
        return "f32_seq" if (SIMD or acc.rounding == "rne") else "general"
    return "narrow_seq" if SIMD else "general"


def _same(fast, gen, ref=None):
    assert np.array_equal(fast.codes, gen.codes)
    if fast.stats is not None:
        for name in ("overflow_events_per_output", "psum_overflow_events_per_output",
                     "max_abs_partial_per_output", "bits_needed_per_output"):
            x, y = getattr(fast.stats, name), getattr(gen.stats, name)
            assert (x is None and y is None) or np.array_equal(x, y), name
    if ref is not None:
        for i, row in enumerate(ref):
            for j, r in enumerate(row):
                assert int(gen.codes[i, j]) == r.code


def _check(mac, a, b, want_path=None, ref=False, **kw):
    for stats in (False, True):
        fast = matmul(a, b, mac, stats=stats, **kw)
        gen = matmul(a, b, mac, stats=stats, path="general", **kw)
        if want_path is not None:
            assert fast.path == want_path
        _same(fast, gen)
    if ref:
        _same(fast, gen, reference_matmul(a, b, mac, kw.get("bias"), kw.get("a_zero_point", 0),
                                          kw.get("b_zero_point", 0)))
    return fast


def _e4m3(x):
    return hwsim.encode(np.asarray(x, dtype=np.float64), E4M3)


@pytest.mark.parametrize("acc", FLOAT_ACCS, ids=lambda a: f"{a.fmt.name}-{a.rounding}-{a.fused}")
def test_float_fast_paths_random(acc):
    a = _e4m3(RNG.standard_normal((13, 300)) * 4)
    b = _e4m3(RNG.standard_normal((300, 21)))
    mac = MacUnit(E4M3, E4M3, accumulator=acc)
    res = _check(mac, a, b)
    assert res.path == _float_path(acc)
    _check(MacUnit(E4M3, E4M3, accumulator=acc, bias="final"), a, b,
           bias=np.arange(21, dtype=np.float64) - 10)


@pytest.mark.parametrize("acc", FLOAT_ACCS, ids=lambda a: f"{a.fmt.name}-{a.rounding}-{a.fused}")
def test_float_fast_paths_ties_overflow_subnormals(acc):
    # row 0: 1 + 2^-11 + 2^-11 ...: a tie in binary16 after every add (rne keeps 1)
    # row 1: 64 then 2^-18 terms: ties in binary32 (ulp(64) = 2^-17)
    # row 2: 448 * 448 = 200704 terms: binary16 overflows (rne: Inf -> engine; rtz: 65504
    #        with an event per add); bfloat16 / binary32 do not
    # row 3: only 2^-18 products: binary16 subnormal sums (spacing 2^-24)
    # row 4: cancellation to exact zero, then tiny terms
    k = 40
    a = np.zeros((5, k))
    b = np.ones((k, 3))
    a[0, 0], a[0, 1:] = 1.0, 2.0 ** -11
    a[1, 0], a[1, 1:] = 64.0, 2.0 ** -18
    a[2, :] = 448.0
    b[:, 2] = -448.0 if acc.fmt.name != "float16" else 448.0
    a[3, :] = 2.0 ** -9
    b[:, 1] = np.where(np.arange(k) % 2, 1.0, 2.0 ** -9)
    a[4, :20] = np.tile([3.0, -3.0], 10)
    a[4, 20:] = 2.0 ** -9
    a[2, :] = 448.0
    b[:, 0] = 1.0
    aa, bb = _e4m3(a), _e4m3(b)
    mac = MacUnit(E4M3, E4M3, accumulator=acc)
    _check(mac, aa, bb, ref=True)
    fmt = acc.fmt
    big = float(np.float64(fmt.max_finite))
    _check(MacUnit(E4M3, E4M3, accumulator=acc), aa, bb, bias=np.array([big, -big, 0.0]))


@pytest.mark.parametrize("acc", [IntAccumulator(32), IntAccumulator(12), IntAccumulator(20, "saturate"),
                                 IntAccumulator(8, "saturate"), IntAccumulator(31, "saturate"),
                                 IntAccumulator(2, "wrap")], ids=repr)
def test_int_fast_paths(acc):
    a = RNG.integers(0, 256, (11, 200)).astype(np.uint8)
    b = RNG.integers(0, 256, (200, 17)).astype(np.uint8)
    a[0, :] = 0x80                          # -128 everywhere: extremes of the products
    b[:, 0] = 0x80
    mac = MacUnit("int8", "uint8", accumulator=acc)
    lim = 1 << (acc.bits - 1)
    res = _check(mac, a, b, a_zero_point=np.arange(11) - 5, b_zero_point=7,
                 bias=np.clip(np.arange(17) - 8, -lim, lim - 1))
    assert res.path in ("int_wrap", "int_steps")
    _check(MacUnit("int8", "int8", accumulator=acc, bias="final"), a, b,
           bias=np.full(17, -(1 << (acc.bits - 1))))


def test_int_saturation_thresholds_match_the_reference():
    # IntAccumulator(16, saturate): sums reach exactly 32767 / -32768 and one beyond
    a = np.array([[127, 127, 1], [127, 127, 2], [0x81, 0x7F, 0]], dtype=np.uint8)
    b = np.array([[127, 1], [127, 1], [1, 0]], dtype=np.uint8)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "saturate"))
    _check(mac, a, b, bias=np.array([32767 - 2 * 127 * 127 - 1, 0]), ref=True)


def test_nan_and_inf_operands_take_the_engine():
    a = _e4m3(RNG.standard_normal((4, 32)))
    b = _e4m3(RNG.standard_normal((32, 3)))
    a[1, 5] = E4M3.nan_code
    for acc in FLOAT_ACCS:
        res = _check(MacUnit(E4M3, E4M3, accumulator=acc), a, b)
        assert res.path == "general"
    f = F16
    a16 = hwsim.encode(RNG.standard_normal((3, 9)), f)
    b16 = hwsim.encode(RNG.standard_normal((9, 2)), f)
    a16[0, 0] = f.inf_code
    _check(MacUnit(f, f, accumulator=FloatAccumulator("float32")), a16, b16, want_path="general")


@examples(60)
@given(st.sampled_from(FLOAT_ACCS), st.integers(1, 9), st.integers(1, 40), st.integers(1, 20),
       st.integers(0, 2 ** 32 - 1), st.sampled_from([0.25, 1.0, 16.0, 200.0]))
def test_float_fast_paths_hypothesis(acc, m, k, n, seed, scale):
    rng = np.random.default_rng(seed)
    a = _e4m3(np.round(rng.standard_normal((m, k)) * scale * 8) / 8)
    b = _e4m3(rng.standard_normal((k, n)) * scale)
    _check(MacUnit(E4M3, E4M3, accumulator=acc), a, b)


def test_fast_paths_do_not_depend_on_threads():
    a = _e4m3(RNG.standard_normal((96, 256)))
    b = _e4m3(RNG.standard_normal((256, 40)))
    # (the float kernels run their own POSIX threads: each sets the caller's
    # rounding mode, e.g. toward zero for binary32 rtz, in its MXCSR)
    for acc in (FloatAccumulator("float32"), FloatAccumulator("float32", "rtz"),
                FloatAccumulator("float16", "rtz"), FloatAccumulator("bfloat16", "rne")):
        mac = MacUnit(E4M3, E4M3, accumulator=acc)
        r1 = matmul(a, b, mac, threads=1)
        for t in (2, 3, 8):
            rt = matmul(a, b, mac, threads=t)
            assert r1.path == rt.path == _float_path(acc)
            _same(r1, rt)
    ai = RNG.integers(0, 256, (96, 256)).astype(np.uint8)
    bi = RNG.integers(0, 256, (256, 40)).astype(np.uint8)
    for acc in (IntAccumulator(32), IntAccumulator(20, "saturate")):
        mac = MacUnit("int8", "int8", accumulator=acc)
        for stats in (False, True):
            r1 = matmul(ai, bi, mac, threads=1, stats=stats)
            r2 = matmul(ai, bi, mac, threads=2, stats=stats)
            _same(r1, r2)


# numba nopython code calling the C kernel through the registered cffi module
# (numba cannot cache functions that call cffi functions: their addresses are
# dynamic globals; it compiles them in about a second)
import numba  # noqa: E402
from numba.core.typing import cffi_utils  # noqa: E402

import hwsim._hwsim_c as _C  # noqa: E402

cffi_utils.register_module(_C)
_ffi, _lib = _C.ffi, _C.lib


@numba.njit(cache=True, nogil=True)
def _numba_int_mac(a, bp, zero, out, events, max_abs, width, bits, saturate):
    return _lib.hw_mac_i32_steps(_ffi.from_buffer(a), _ffi.from_buffer(bp),
                                 _ffi.from_buffer(zero), _ffi.from_buffer(zero),
                                 _ffi.from_buffer(out), _ffi.from_buffer(events),
                                 _ffi.from_buffer(max_abs), _ffi.from_buffer(width),
                                 a.shape[0], out.shape[1], a.shape[1], bits, saturate)


@pytest.mark.filterwarnings("ignore::numba.NumbaWarning")
def test_numba_function_calls_a_c_mac_kernel():
    # the same register values, overflow events and max |partial| as hwsim.mac.matmul
    a = RNG.integers(0, 256, (6, 50)).astype(np.uint8)
    b = RNG.integers(0, 256, (50, 5)).astype(np.uint8)
    av = np.where(a > 127, a.astype(np.int32) - 256, a).astype(np.int32)
    bv = np.where(b > 127, b.astype(np.int32) - 256, b).astype(np.int32)
    from hwsim.mac.fast import _pack_b

    bp = _pack_b(bv, np.int32)               # panels of 16 columns, zero padded
    out = np.zeros((6, 5), np.int32)
    ev = np.zeros((6, 5), np.int32)
    mx = np.zeros((6, 5), np.int64)
    wd = np.zeros((6, 5), np.int32)
    zero = np.zeros(32, np.int32)            # the kernel reads init / fin in 32-column groups
    assert _numba_int_mac(av, bp, zero, out, ev, mx, wd, 16, 1) == 0
    res = matmul(a, b, MacUnit("int8", "int8", accumulator=IntAccumulator(16, "saturate")),
                 path="general")
    assert np.array_equal(out, res.values)
    assert np.array_equal(ev, res.stats.overflow_events_per_output)
    assert np.array_equal(mx, res.stats.max_abs_partial_per_output.astype(np.int64))
    assert np.array_equal(wd, res.stats.bits_needed_per_output)


MULTI = [fused_multi_term_preset(p) for p in ("v100_fp16", "a100_fp16", "h100_fp16", "h100_fp8")] + [
    FusedMultiTermAccumulator(5, 7, "sticky", "late", "rne", "float16"),
    FusedMultiTermAccumulator(3, 10, "round", "joint", "rdn", "bfloat16"),
    FusedMultiTermAccumulator(9, 0, "truncate", "late", "rup", "float32")]


@pytest.mark.parametrize("acc", MULTI, ids=lambda a: a.name or f"{a.fan_in}-{a.window_bits}-"
                         f"{a.shifted_out}-{a.c_alignment}-{a.rounding}")
def test_multi_term_fast_path(acc):
    for ops in (E4M3, F16):
        a = hwsim.encode(RNG.standard_normal((3, 70)) * 8, ops)
        b = hwsim.encode(RNG.standard_normal((70, 5)), ops)
        a[0, ::2] = 0                                   # zero products; a row of -0 terms
        a[1, :] = hwsim.encode(-np.zeros(70), ops)
        mac = MacUnit(ops, ops, accumulator=acc)
        res = _check(mac, a, b, want_path="multi_seq", ref=True)
        _check(MacUnit(ops, ops, accumulator=acc, bias="final"), a, b,
               bias=np.array([1.0, -0.0, 0.5, -2.0, 0.0]))
        assert res.path == "multi_seq"


# ---- the blocked float kernels (csrc/hw_mac_fast_f32.c: KC = 1024 k steps,
# MC = 24 rows, NC = 1024 columns per block; registers stored and reloaded
# between k blocks) and their operand decoders (hw_mac_pack.c)
BLOCK_SHAPES = [(7, 1030, 1040), (30, 2100, 20), (49, 1025, 17)]


@pytest.mark.parametrize("shape", BLOCK_SHAPES, ids=str)
@pytest.mark.parametrize("acc", [FloatAccumulator("float32"), FloatAccumulator("float32", "rtz"),
                                 FloatAccumulator("float16", "rne"),
                                 FloatAccumulator("bfloat16", "rtz")],
                         ids=lambda a: f"{a.fmt.name}-{a.rounding}")
def test_float_kernels_across_block_boundaries(shape, acc):
    m, k, n = shape
    rng = np.random.default_rng(m * k + n)
    a = _e4m3(rng.standard_normal((m, k)) * 6)
    b = _e4m3(rng.standard_normal((k, n)))
    bias = np.round(rng.standard_normal(n) * 64) / 4      # exact in every register format
    for where in ("init", "final"):
        mac = MacUnit(E4M3, E4M3, accumulator=acc, bias=where)
        _check(mac, a, b, want_path=_float_path(acc), bias=bias)


def test_non_finite_operand_in_a_late_block_takes_the_engine():
    m, k, n = 60, 1100, 1030
    a = _e4m3(RNG.standard_normal((m, k)))
    b = _e4m3(RNG.standard_normal((k, n)))
    mac = MacUnit(E4M3, E4M3, accumulator=FloatAccumulator("float32"))
    assert matmul(a, b, mac, stats=False).path == "f32_seq"
    a2 = a.copy()
    a2[55, 1090] = E4M3.nan_code                             # third row block, second k block
    r = matmul(a2, b[:, :20], mac, stats=False)
    assert r.path == "general" and np.isnan(r.values[55]).all()
    b2 = b.copy()
    b2[1080, 1027] = E4M3.nan_code                           # second k block, second column block
    r = matmul(a[:3], b2, mac, stats=False)
    assert r.path == "general"
    assert np.isnan(r.values[:, 1027]).all()


DECODER_FORMATS = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                   "float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn", "float8_e3m4", "e3m2",
                   "float16", "e4m3_nosub", "e3m3_unsigned"]   # (bfloat16 products can
# fall below binary32's range: such operands never reach these kernels)


@pytest.mark.parametrize("name", DECODER_FORMATS)
def test_operand_decoders_are_exact_on_every_code(name):
    # every finite code of the format through the A decoder (column) and the
    # B decoder (row), times exactly 1: the fast kernel returns the code's value
    from hwsim.mac.fast import _arith_dec
    fmt = hwsim.format(name)
    codes = np.arange(1 << fmt.bits, dtype=np.uint16 if fmt.bits > 8 else np.uint8)
    vals = hwsim.decode(codes, fmt)
    codes = codes[np.isfinite(vals)]
    vals = vals[np.isfinite(vals)]
    one = hwsim.encode(np.ones((1, 1)), fmt).astype(codes.dtype)
    mac = MacUnit(fmt, fmt, accumulator=FloatAccumulator("float32"))
    ra = matmul(codes[:, None], one, mac, stats=False)
    rb = matmul(one, codes[None, :], mac, stats=False)
    assert ra.path == rb.path == "f32_seq"
    want = vals + 0.0                                        # 0 + (-0 * 1) = +0 under rne
    assert np.array_equal(ra.values[:, 0], want) and np.array_equal(rb.values[0], want)
    assert np.array_equal(np.signbit(ra.values[:, 0]), np.signbit(want))
    # which decoder served it: arithmetic unless the format's layout defeats it
    expect_arith = name not in ("e4m3_nosub",)
    assert (_arith_dec(fmt) is not None) == expect_arith


def test_wide_code_arrays_of_narrow_formats():
    # uint16 / int64 code arrays of an 8-bit format: the same results
    a = _e4m3(RNG.standard_normal((9, 40)))
    b = _e4m3(RNG.standard_normal((40, 11)))
    mac = MacUnit(E4M3, E4M3, accumulator=FloatAccumulator("float32"))
    r8 = matmul(a, b, mac)
    for dt in (np.uint16, np.int64):
        r = matmul(a.astype(dt), b.astype(dt), mac)
        assert r.path == "f32_seq"
        _same(r, r8)


def test_float_kernel_rejects_bad_arguments_at_the_c_boundary():
    from hwsim import _native
    ffi, lib = _native.ffi, _native.lib
    a = np.zeros((2, 3), np.uint8)
    b = np.zeros((3, 2), np.uint8)
    out = np.zeros((2, 2), np.float32)
    nf = ffi.new("int64_t *")
    pa = ffi.cast("char *", ffi.from_buffer(a))
    pb = ffi.cast("char *", ffi.from_buffer(b))
    po = ffi.cast("float *", ffi.from_buffer(out))
    lut = np.zeros(256, np.float32)
    pl = ffi.cast("float *", ffi.from_buffer(lut))
    good = dict(a=(pa, 1, pl, 256, ffi.NULL), b=(pb, 1, pl, 256, ffi.NULL))

    def call(a_op=None, b_op=None, m=2, n=2, k=3):
        return lib.hw_mac_f32_seq(*(a_op or good["a"]), *(b_op or good["b"]), ffi.NULL, ffi.NULL,
                                  po, ffi.NULL, m, n, k, lib.HW_ROUND_RNE, 1, nf)
    assert call() == lib.HW_OK and nf[0] == 0
    assert call(m=-1) == lib.HW_E_SIZE
    assert call(a_op=(pa, 3, pl, 256, ffi.NULL)) == lib.HW_E_SIZE          # code size 3
    assert call(a_op=(pa, 1, pl, 0, ffi.NULL)) == lib.HW_E_SIZE            # empty table
    assert call(a_op=(pa, 1, pl, 5, ffi.NULL)) == lib.HW_OK                # codes are all 0
    a[1, 2] = 9
    assert call(a_op=(pa, 1, pl, 5, ffi.NULL)) == lib.HW_E_CODE            # code 9 >= 5 entries
    bad_dec = np.array([24, 0, 7, 1, 128, 0], np.int32)                    # shift 24 > 23
    pd = ffi.cast("int32_t *", ffi.from_buffer(bad_dec))
    assert call(b_op=(pb, 1, pl, 256, pd)) == lib.HW_E_SIZE
    dec = np.array([20, 120, 3, 0, 8, 0], np.int32)                        # 3-bit magnitudes
    pd = ffi.cast("int32_t *", ffi.from_buffer(dec))
    assert call(a_op=(pa, 1, pl, 256, pd)) == lib.HW_E_CODE                # code 9 >= 2^3
    a[1, 2] = 0
    lut[0] = np.inf
    assert call() == lib.HW_OK and nf[0] == 1                              # non-finite value


def test_prepacked_b_gives_the_same_registers():
    # hw_mac_pack_f32 (row ranges packed separately) + HW_MAC_PACKED equals
    # decoding b inside the kernel, for 1 and 3 threads
    from hwsim import _native
    from hwsim.mac.fast import PW, _float_operand
    ffi, lib = _native.ffi, _native.lib
    m, k, n = 40, 300, 37
    a = _e4m3(RNG.standard_normal((m, k)))
    b = _e4m3(RNG.standard_normal((k, n)))
    opa, opb = _float_operand(a, E4M3), _float_operand(b, E4M3)
    bp = np.full((-(-n // PW), k, PW), np.nan, np.float32)
    nf = ffi.new("int64_t *")
    pbp = ffi.cast("float *", ffi.from_buffer(bp))
    for r0, r1 in ((0, 100), (100, 300)):
        assert lib.hw_mac_pack_f32(opb[0] + r0 * n, *opb[1:], r1 - r0, n, k, pbp + r0 * PW,
                                   nf) == lib.HW_OK and nf[0] == 0
    assert not np.isnan(bp).any() and (bp[-1, :, n % PW:] == 0).all()
    want = matmul(a, b, MacUnit(E4M3, E4M3, accumulator=FloatAccumulator("float32")),
                  path="general").values
    for threads in (1, 3):
        out = np.empty((m, n), np.float32)
        rc = lib.hw_mac_f32_seq(*opa, ffi.cast("char *", pbp), lib.HW_MAC_PACKED, ffi.NULL, 1,
                                ffi.NULL, ffi.NULL, ffi.NULL, ffi.cast("float *",
                                                                       ffi.from_buffer(out)),
                                ffi.NULL, m, n, k, lib.HW_ROUND_RNE, threads, nf)
        assert rc == lib.HW_OK and nf[0] == 0
        assert np.array_equal(out.astype(np.float64), want)


def test_lut_f32_packs_row_ranges_into_panels():
    # hw_mac_lut_f32 with panel_rows: two row ranges packed separately equal the
    # table values in the panel layout, pad columns zero; row-major with 0
    from hwsim import _native
    from hwsim.mac.fast import PW, _lut_f32, _pack_b
    ffi, lib = _native.ffi, _native.lib
    k, n = 50, 21
    b = _e4m3(RNG.standard_normal((k, n)))
    lut = _lut_f32(E4M3)
    want = _pack_b(lut[b], np.float32)
    got = np.full(want.shape, np.nan, np.float32)
    nf = ffi.new("int64_t *")
    pg = ffi.cast("float *", ffi.from_buffer(got))
    pl = ffi.cast("float *", ffi.from_buffer(lut))
    pb = ffi.cast("char *", ffi.from_buffer(b))
    for r0, r1 in ((0, 17), (17, 50)):
        assert lib.hw_mac_lut_f32(pb + r0 * n, 1, r1 - r0, n, pl, lut.size, pg + r0 * PW, k,
                                  nf) == lib.HW_OK and nf[0] == 0
    assert np.array_equal(got, want)
    assert lib.hw_mac_lut_f32(pb, 1, k, n, pl, lut.size, pg, k - 1, nf) == lib.HW_E_SIZE
    flat = np.empty((k, n), np.float32)
    assert lib.hw_mac_lut_f32(pb, 1, k, n, pl, lut.size, ffi.cast("float *", ffi.from_buffer(flat)),
                              0, nf) == lib.HW_OK
    assert np.array_equal(flat, lut[b])
