"""The DPI-C library (build/lib/libhwsim.so, csrc/include/hwsim_dpi.h), loaded with
ctypes, against hwsim's Python API bit for bit: hwsim.rtl.ieee (add, mul, mul_add),
hwsim.encode / hwsim.decode, and hwsim.mac (matmul, trace); and its argument checks.

The library is built by ``make lib`` (once per session, incremental)."""
from __future__ import annotations

import ctypes as C
import os
import subprocess

import numpy as np
import pytest

import hwsim
from hwsim.formats import FloatFormat
from hwsim.mac import FloatAccumulator, IntAccumulator, MacUnit, matmul, trace
from hwsim.rtl import ieee

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
U64, I32 = C.c_ulonglong, C.c_int
MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto"]
NAN = {"x86": 0x00, "riscv": 0x10, "arm": 0x20}
SPECIALS = ["ieee", "fn", "fnuz", "finite", "p3109", "p3109_finite", "e8m0"]
E_FORMAT, E_MODE, E_SIZE, E_NAN, E_CODE, E_ARG = -1, -2, -3, -5, -6, -8
SATURATE = 0x100


@pytest.fixture(scope="module")
def lib():
    subprocess.run(["make", "-s", "-j2", "lib"], cwd=ROOT, check=True)
    L = C.CDLL(os.path.join(ROOT, "build", "lib", "libhwsim.so"))
    P64, PI = C.POINTER(U64), C.POINTER(I32)
    sig = {
        "hwsim_dpi_format": ([C.c_char_p], I32),
        "hwsim_dpi_float_format": ([I32] * 4, I32),
        "hwsim_dpi_int_format": ([I32] * 2, I32),
        "hwsim_dpi_format_bits": ([I32], I32),
        "hwsim_dpi_mode": ([C.c_char_p], I32),
        "hwsim_dpi_strerror": ([I32], C.c_char_p),
        "hwsim_dpi_encode_f64": ([I32, I32, U64, P64, PI], I32),
        "hwsim_dpi_encode_f32": ([I32, I32, C.c_uint, P64, PI], I32),
        "hwsim_dpi_decode": ([I32, U64, P64], I32),
        "hwsim_dpi_add": ([I32, I32, U64, U64, P64, PI], I32),
        "hwsim_dpi_mul": ([I32, I32, U64, U64, P64, PI], I32),
        "hwsim_dpi_fma": ([I32, I32, U64, U64, U64, P64, PI], I32),
        "hwsim_dpi_mac_step": ([I32, I32, I32, I32, U64, U64, U64, P64, PI], I32),
        "hwsim_dpi_dot": ([I32, I32, I32, I32, I32, C.POINTER(C.c_uint),
                           C.POINTER(C.c_uint), U64, P64, PI], I32),
    }
    for name, (args, res) in sig.items():
        fn = getattr(L, name)
        fn.argtypes, fn.restype = args, res
    return L


def fmt_of(lib, name):
    d = lib.hwsim_dpi_format(name.encode())
    assert d >= 0, name
    return d


def op(lib, name, fmt, mode, *codes):
    """(status, code, flags) of hwsim_dpi_<name>."""
    z, fl = U64(0), I32(0)
    rc = getattr(lib, "hwsim_dpi_" + name)(fmt, mode, *codes, C.byref(z), C.byref(fl))
    return rc, z.value, fl.value


# ---- formats ---------------------------------------------------------------------

NAMES = ["float64", "float32", "tf32", "bfloat16", "float16", "float8_e5m2", "float8_e4m3fn",
         "float8_e4m3", "float8_e3m4", "float8_e4m3fnuz", "float8_e5m2fnuz",
         "float8_e4m3b11fnuz", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
         "float4_e2m1fn", "fp8_e4m3", "e5m2", "BF16", " half ", "fp4_e2m1"]


@pytest.mark.parametrize("name", NAMES)
def test_format_names_match_hwsim_catalogue(lib, name):
    f = hwsim.format(name.strip())
    variant = (SPECIALS.index(f.specials) | (0 if f.subnormals else 8)
               | (0 if f.signed else 16))
    d = lib.hwsim_dpi_format(name.encode())
    assert d == lib.hwsim_dpi_float_format(f.exp_bits, f.man_bits, f.bias, variant)
    default = FloatFormat(f.exp_bits, f.man_bits, specials=f.specials, subnormals=f.subnormals,
                          signed=f.signed).bias
    assert lib.hwsim_dpi_float_format(f.exp_bits, f.man_bits, 999, variant | 32) == (
        lib.hwsim_dpi_float_format(f.exp_bits, f.man_bits, default, variant))
    assert lib.hwsim_dpi_format_bits(d) == f.bits


def test_int_format_names(lib):
    for bits in (2, 8, 20, 64):
        assert lib.hwsim_dpi_format(f"int{bits}".encode()) == lib.hwsim_dpi_int_format(bits, 1)
        assert lib.hwsim_dpi_format(f"uint{bits}".encode()) == lib.hwsim_dpi_int_format(bits, 0)
        assert lib.hwsim_dpi_format_bits(lib.hwsim_dpi_int_format(bits, 1)) == bits


# ---- exhaustive fp8 add / mul ----------------------------------------------------

def _dpi_table(lib, name, fmt, mode, n):
    out = np.zeros((n, n), np.int64)
    fl = np.zeros((n, n), np.int64)
    for a in range(n):
        for b in range(n):
            rc, out[a, b], fl[a, b] = op(lib, name, fmt, mode, a, b)
            assert rc == 0, (a, b, rc)
    return out, fl


@pytest.mark.exhaustive
@pytest.mark.parametrize("fname", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("opname", ["add", "mul"])
def test_fp8_exhaustive_every_mode(lib, fname, opname):
    """Every pair of codes in every rounding mode: results whose exact float64 value
    is finite and non-zero against hwsim.encode of that value (fp8 sums and
    products are exact in float64); every other pair (zeros, Inf, NaN) against
    hwsim.rtl.ieee."""
    f = hwsim.format(fname)
    d = fmt_of(lib, fname)
    v = hwsim.decode(np.arange(256), f)
    with np.errstate(all="ignore"):
        exact = (v[:, None] + v[None, :]) if opname == "add" else (v[:, None] * v[None, :])
    regular = np.isfinite(exact) & (exact != 0)
    ref_op = getattr(ieee, opname)
    for mode in MODES:
        got, gfl = _dpi_table(lib, opname, d, MODES.index(mode), 256)
        codes, _, efl = hwsim.encode(exact[regular], f, mode, return_flags="elementwise")
        assert np.array_equal(got[regular], codes.astype(np.int64)), mode
        assert np.array_equal(gfl[regular], efl.astype(np.int64)), mode
        for a, b in zip(*np.nonzero(~regular)):
            assert (got[a, b], gfl[a, b]) == ref_op(f, int(a), int(b), mode), (mode, a, b)


@pytest.mark.exhaustive
@pytest.mark.parametrize("opname", ["add", "mul"])
def test_fp8_e5m2_exhaustive_rne_against_ieee(lib, opname):
    """All 65536 pairs straight against hwsim.rtl.ieee (rne, x86 NaN policy)."""
    d = fmt_of(lib, "float8_e5m2")
    got, gfl = _dpi_table(lib, opname, d, 0, 256)
    ref_op = getattr(ieee, opname)
    for a in range(256):
        for b in range(256):
            assert (got[a, b], gfl[a, b]) == ref_op("float8_e5m2", a, b, "rne"), (a, b)


@pytest.mark.parametrize("policy", ["x86", "riscv", "arm"])
def test_nan_policies_on_every_nan_pair(lib, policy):
    """float8_e5m2 has quiet and signalling NaNs: every pair with a NaN operand."""
    d = fmt_of(lib, "float8_e5m2")
    nans = [c for c in range(256) if ieee.classify("float8_e5m2", c) in ("snan", "qnan")]
    others = [0x00, 0x80, 0x3C, 0x7C, 0xFC, 0x01]
    for a in nans:
        for b in nans + others:
            for x, y in ((a, b), (b, a)):
                for opname in ("add", "mul"):
                    rc, z, fl = op(lib, opname, d, NAN[policy], x, y)
                    ref = getattr(ieee, opname)("float8_e5m2", x, y, "rne", nan=policy)
                    assert (rc, z, fl) == (0, *ref), (opname, x, y)
                rc, z, fl = op(lib, "fma", d, NAN[policy], x, y, a)
                assert (rc, z, fl) == (0, *ieee.mul_add("float8_e5m2", x, y, a, nan=policy))


# ---- samples of float16 / bfloat16 / float32 -------------------------------------

def _samples(f, rng, n):
    """Random codes, half of them drawn from corner cases (zeros, Inf, NaNs, extremes,
    1.0 and neighbours, subnormals)."""
    top = 1 << f.bits
    sb = f.sign_bit if hasattr(f, "sign_bit") else 1 << (f.bits - 1)
    mexp = ((1 << f.exp_bits) - 1) << f.man_bits
    one = hwsim.encode(np.array([1.0]), f)[0]
    corner = [0, 1, 2, (1 << f.man_bits) - 1, 1 << f.man_bits, mexp - 1, mexp, mexp | 1,
              mexp | (1 << (f.man_bits - 1)), int(one), int(one) + 1, int(one) - 1]
    corner += [c | sb for c in corner]
    pick = rng.integers(0, top, n)
    use = rng.random(n) < 0.5
    pick[use] = rng.choice(corner, int(use.sum()))
    return [int(c) for c in pick]


@pytest.mark.parametrize("fname", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("mode", MODES)
def test_samples_add_mul_fma_against_ieee(lib, fname, mode):
    rng = np.random.default_rng([7, MODES.index(mode), len(fname)])
    f = hwsim.format(fname)
    d = fmt_of(lib, fname)
    m = MODES.index(mode)
    a, b, c = (_samples(f, rng, 150) for _ in range(3))
    for x, y, z in zip(a, b, c):
        assert op(lib, "add", d, m, x, y) == (0, *ieee.add(f, x, y, mode)), (x, y)
        assert op(lib, "mul", d, m, x, y) == (0, *ieee.mul(f, x, y, mode)), (x, y)
        assert op(lib, "fma", d, m, x, y, z) == (0, *ieee.mul_add(f, x, y, z, mode)), (x, y, z)


@pytest.mark.parametrize("fname", ["float16", "bfloat16", "float8_e4m3fn", "float6_e2m3fn"])
def test_encode_decode_match_hwsim(lib, fname):
    rng = np.random.default_rng(11)
    f = hwsim.format(fname)
    d = fmt_of(lib, fname)
    x64 = np.concatenate([rng.standard_normal(300) * 2.0 ** rng.integers(-30, 30, 300),
                          [0.0, -0.0, np.inf, -np.inf, 1e300, 5e-324]])
    x32 = rng.integers(0, 1 << 32, 300, dtype=np.uint64).astype(np.uint32)
    x32 = x32[~np.isnan(x32.view(np.float32))]
    for mode in MODES:
        m = MODES.index(mode)
        codes, _, fl = hwsim.encode(x64, f, mode, return_flags="elementwise")
        for x, c, e in zip(x64, codes, fl):
            assert op(lib, "encode_f64", d, m, int(np.float64(x).view(np.uint64))) == (
                0, int(c), int(e)), (mode, x)
        codes, _, fl = hwsim.encode(x32.view(np.float32), f, mode, return_flags="elementwise")
        for x, c, e in zip(x32, codes, fl):
            assert op(lib, "encode_f32", d, m, int(x)) == (0, int(c), int(e)), (mode, x)
    n = min(1 << f.bits, 4096)
    want = hwsim.decode(np.arange(n), f)
    out = U64(0)
    for code in range(n):
        assert lib.hwsim_dpi_decode(d, code, C.byref(out)) == 0
        got = np.uint64(out.value).view(np.float64)
        assert (np.isnan(got) and np.isnan(want[code])) or got.view(np.uint64) == want[
            code].view(np.uint64), code


# ---- MAC units ---------------------------------------------------------------------

def _dot(lib, fa, fb, facc, mode, a, b, bias):
    n = len(a)
    A, B = (C.c_uint * max(n, 1))(*a), (C.c_uint * max(n, 1))(*b)
    z, fl = U64(0), I32(0)
    rc = lib.hwsim_dpi_dot(fa, fb, facc, mode, n, A, B, bias, C.byref(z), C.byref(fl))
    return rc, z.value, fl.value


@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
def test_int8_mac_step_and_dot_match_hwsim_mac(lib, overflow):
    rng = np.random.default_rng(3)
    W, K = 14, 40
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(W, overflow))
    A = rng.integers(0, 256, (3, K), dtype=np.uint8)
    B = rng.integers(0, 256, (K, 2), dtype=np.uint8)
    bias = rng.integers(-(1 << (W - 2)), 1 << (W - 2), 2)
    res = matmul(A, B, mac, bias=bias)
    i8, acc = fmt_of(lib, "int8"), lib.hwsim_dpi_int_format(W, 1)
    mode = SATURATE if overflow == "saturate" else 0
    mask = (1 << W) - 1
    for i in range(3):
        for j in range(2):
            want = int(np.asarray(res.codes)[i, j]) & mask
            assert _dot(lib, i8, i8, acc, mode, A[i].tolist(), B[:, j].tolist(),
                        int(bias[j]) & mask)[:2] == (0, want)
            steps = [s["acc"] for s in trace(A, B, mac, i, j, bias=bias).steps
                     if s["kind"] == "mac"]
            g = int(bias[j]) & mask
            for k in range(K):
                rc, g, _ = op(lib, "mac_step", i8, i8, acc, mode, g, int(A[i, k]), int(B[k, j]))
                assert rc == 0 and g == steps[k] & mask, (i, j, k)


@pytest.mark.parametrize("rounding", ["rne", "rtz"])
def test_fp8_dot_into_fp32_matches_hwsim_mac(lib, rounding):
    rng = np.random.default_rng(4)
    K = 48
    mac = MacUnit("float8_e4m3fn", "float8_e4m3fn",
                  accumulator=FloatAccumulator("float32", rounding))
    A = rng.integers(0, 256, (4, K), dtype=np.uint8)
    B = rng.integers(0, 256, (K, 3), dtype=np.uint8)
    A[(A & 0x7F) == 0x7F] ^= 1  # finite operands
    B[(B & 0x7F) == 0x7F] ^= 1
    bias = rng.standard_normal(3).astype(np.float32).astype(np.float64)
    res = matmul(A, B, mac, bias=bias)
    f8, f32 = fmt_of(lib, "float8_e4m3fn"), fmt_of(lib, "float32")
    m = MODES.index(rounding)
    bias_codes = bias.astype(np.float32).view(np.uint32)
    for i in range(4):
        for j in range(3):
            rc, z, fl = _dot(lib, f8, f8, f32, m, A[i].tolist(), B[:, j].tolist(),
                             int(bias_codes[j]))
            assert (rc, z) == (0, int(np.asarray(res.codes)[i, j]))
            g, sticky = int(bias_codes[j]), 0
            for k in range(K):
                rc, g, sfl = op(lib, "mac_step", f8, f8, f32, m, g, int(A[i, k]), int(B[k, j]))
                sticky |= sfl
            assert (g, sticky) == (z, fl)


# ---- argument checks ------------------------------------------------------------------

def test_bad_formats_are_refused(lib):
    assert lib.hwsim_dpi_format(None) == E_ARG
    for name in (b"", b"float8", b"E4M3", b"int1", b"int65", b"int8x", b"x" * 100):
        assert lib.hwsim_dpi_format(name) == E_FORMAT, name
    assert lib.hwsim_dpi_float_format(0, 3, 7, 0) == E_FORMAT
    assert lib.hwsim_dpi_float_format(12, 3, 7, 0) == E_FORMAT
    assert lib.hwsim_dpi_float_format(4, 53, 7, 0) == E_FORMAT
    assert lib.hwsim_dpi_float_format(4, 3, 7, 7) == E_FORMAT      # specials 7
    assert lib.hwsim_dpi_float_format(4, 3, 7, 64) == E_FORMAT     # unknown variant bit
    assert lib.hwsim_dpi_float_format(4, 3, 5000, 0) == E_FORMAT   # bias range
    assert lib.hwsim_dpi_float_format(1, 3, 0, 0) == E_FORMAT      # ieee needs 2 exp bits
    assert lib.hwsim_dpi_int_format(1, 1) == E_FORMAT
    assert lib.hwsim_dpi_int_format(8, 2) == E_FORMAT
    for d in (-1, 1 << 30, (1 << 29) | 200, (1 << 29) | (1 << 20) | 8, 15 | (60 << 4)):
        assert lib.hwsim_dpi_format_bits(d) == E_FORMAT, d
        assert op(lib, "add", d, 0, 0, 0)[0] == E_FORMAT, d
        assert op(lib, "encode_f64", d, 0, 0)[0] == E_FORMAT, d


def test_bad_modes_codes_and_pointers(lib):
    d = fmt_of(lib, "float8_e4m3fn")
    for mode in (-1, 6, 7, 0x30, 0x80, 0x400, 1 << 30):
        assert op(lib, "add", d, mode, 0, 0)[0] == E_MODE, mode
        assert op(lib, "encode_f64", d, mode, 0)[0] == E_MODE, mode
    assert lib.hwsim_dpi_mode(b"sr") == E_MODE and lib.hwsim_dpi_mode(None) == E_ARG
    assert [lib.hwsim_dpi_mode(m.encode()) for m in MODES] == list(range(6))
    assert op(lib, "add", d, 0, 0x100, 0)[0] == E_CODE
    assert op(lib, "fma", d, 0, 0, 0, 1 << 63)[0] == E_CODE
    assert lib.hwsim_dpi_decode(d, 0x1FF, C.byref(U64())) == E_CODE
    assert lib.hwsim_dpi_add(d, 0, 0, 0, None, C.byref(I32())) == E_ARG
    assert lib.hwsim_dpi_decode(d, 0, None) == E_ARG
    assert op(lib, "mul", fmt_of(lib, "float64"), 0, 0, 0)[0] == E_ARG  # products > 64 bits
    assert op(lib, "add", fmt_of(lib, "int8"), 0, 0, 0)[0] == E_ARG     # IEEE ops: floats
    nan64 = int(np.float64("nan").view(np.uint64))
    assert op(lib, "encode_f64", fmt_of(lib, "float4_e2m1fn"), 0, nan64)[0] == E_NAN
    assert lib.hwsim_dpi_strerror(E_CODE) == b"code out of range for its format"


def test_bad_mac_arguments(lib):
    i8, f8, f32 = fmt_of(lib, "int8"), fmt_of(lib, "float8_e4m3fn"), fmt_of(lib, "float32")
    acc = lib.hwsim_dpi_int_format(20, 1)
    assert op(lib, "mac_step", f8, f8, acc, 0, 0, 0, 0)[0] == E_ARG   # int register, floats
    assert op(lib, "mac_step", i8, i8, lib.hwsim_dpi_int_format(20, 0), 0, 0, 0, 0)[0] == E_ARG
    assert op(lib, "mac_step", i8, i8, acc, 0, 1 << 20, 0, 0)[0] == E_CODE
    assert op(lib, "mac_step", i8, i8, acc, 0, 0, 256, 0)[0] == E_CODE
    assert op(lib, "mac_step", f8, f8, fmt_of(lib, "float8_e8m0fnu"), 0, 0, 0, 0)[0] == E_FORMAT
    assert op(lib, "mac_step", fmt_of(lib, "float64"), f8, f32, 0, 0, 0, 0)[0] == E_ARG
    assert op(lib, "mac_step", i8, i8, acc, 6, 0, 0, 0)[0] == E_MODE
    assert _dot(lib, i8, i8, acc, 0, [1] * 3, [1, 2, 300], 0)[0] == E_CODE
    for n in (-1, 65537):
        z, fl = U64(0), I32(0)
        A = (C.c_uint * 1)(0)
        assert lib.hwsim_dpi_dot(i8, i8, acc, 0, n, A, A, 0, C.byref(z), C.byref(fl)) == E_SIZE
    assert lib.hwsim_dpi_dot(i8, i8, acc, 0, 2, None, None, 0, C.byref(U64()),
                             C.byref(I32())) == E_ARG
    assert _dot(lib, i8, i8, acc, 0, [], [], 5) == (0, 5, 0)
