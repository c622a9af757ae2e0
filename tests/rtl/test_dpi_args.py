"""The DPI-C entry points (csrc/hw_dpi*.c) on random and hostile arguments.

They are compiled into the cffi extension too, so this test loads them from
``hwsim._hwsim_c`` with ctypes: under ``make test-asan`` (marker ``native``) that is
the AddressSanitizer + UBSan build, which turns any out-of-bounds access or undefined
behaviour into a failure.  Every call must return a documented status, and the
calls with valid arguments must succeed."""
from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from hwsim import _hwsim_c

pytestmark = pytest.mark.native

U64, I32, PU, PI = C.c_ulonglong, C.c_int, C.POINTER(C.c_ulonglong), C.POINTER(C.c_int)
STATUSES = {0, -1, -2, -3, -5, -6, -8}  # -4 (overflow error) and -7 (memory): no policy/size here
NAMES = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
         "float6_e2m3fn", "float4_e2m1fn", "float8_e8m0fnu", "float64", "int8", "int20", "uint8"]


@pytest.fixture(scope="module")
def lib():
    L = C.CDLL(_hwsim_c.__file__)
    L.hwsim_dpi_format.argtypes, L.hwsim_dpi_format.restype = [C.c_char_p], I32
    L.hwsim_dpi_format_bits.argtypes = [I32]
    for n in ("add", "mul"):
        getattr(L, "hwsim_dpi_" + n).argtypes = [I32, I32, U64, U64, PU, PI]
    L.hwsim_dpi_fma.argtypes = [I32, I32, U64, U64, U64, PU, PI]
    L.hwsim_dpi_encode_f64.argtypes = [I32, I32, U64, PU, PI]
    L.hwsim_dpi_decode.argtypes = [I32, U64, PU]
    L.hwsim_dpi_mac_step.argtypes = [I32, I32, I32, I32, U64, U64, U64, PU, PI]
    L.hwsim_dpi_dot.argtypes = [I32, I32, I32, I32, I32, C.POINTER(C.c_uint),
                                C.POINTER(C.c_uint), U64, PU, PI]
    return L


def test_random_arguments_return_documented_statuses(lib):
    rng = np.random.default_rng(12)
    fmts = [lib.hwsim_dpi_format(n.encode()) for n in NAMES]
    assert min(fmts) >= 0
    z, fl = U64(0), I32(0)
    zp, fp = C.byref(z), C.byref(fl)
    arr = (C.c_uint * 70)(*rng.integers(0, 1 << 32, 70, dtype=np.uint64).tolist())
    seen = {}
    for it in range(6000):
        f, g, h = (fmts[rng.integers(len(fmts))] if rng.random() < 0.85
                   else int(rng.integers(-(1 << 31), 1 << 31)) for _ in range(3))
        mode = (int(rng.integers(0, 6)) | int(rng.integers(0, 3)) << 4
                | int(rng.choice([0, 0x40, 0x100, 0x200])))
        if rng.random() < 0.1:
            mode = int(rng.integers(-(1 << 31), 1 << 31))
        bits = lib.hwsim_dpi_format_bits(f)
        mask = (1 << bits) - 1 if 0 < bits < 64 else (1 << 64) - 1
        x, y, c = (int(v) & mask for v in rng.integers(0, 1 << 63, 3))
        if rng.random() < 0.05:
            x = (1 << 64) - 1
        k = it % 7
        if k == 0:
            rc = lib.hwsim_dpi_add(f, mode, x, y, zp, fp)
        elif k == 1:
            rc = lib.hwsim_dpi_mul(f, mode, x, y, zp, fp)
        elif k == 2:
            rc = lib.hwsim_dpi_fma(f, mode, x, y, c, zp, fp)
        elif k == 3:
            rc = lib.hwsim_dpi_encode_f64(f, mode, int(rng.integers(0, 1 << 63)) * 2 + 1, zp, fp)
        elif k == 4:
            rc = lib.hwsim_dpi_decode(f, x, zp)
        elif k == 5:
            rc = lib.hwsim_dpi_mac_step(f, g, h, mode, int(rng.integers(0, 1 << 20)), x,
                                        int(rng.integers(0, 256)), zp, fp)
        else:
            n = int(rng.integers(-3, 71))
            rc = lib.hwsim_dpi_dot(f, g, h, mode, n, arr, arr, int(rng.integers(0, 1 << 16)),
                                   zp, fp)
        assert rc in STATUSES, (k, f, g, h, mode, x, y, c, rc)
        seen[rc] = seen.get(rc, 0) + 1
        if rc == 0 and k != 4:
            assert 0 <= fl.value < 32
    assert seen[0] > 1000 and {-1, -2, -6, -8} <= set(seen), seen


def test_valid_calls_succeed(lib):
    """Every catalogue float format (mul / fma: up to 31 mantissa bits), every mode."""
    z, fl = U64(0), I32(0)
    for name in NAMES[:9]:
        f = lib.hwsim_dpi_format(name.encode())
        for mode in range(6):
            assert lib.hwsim_dpi_add(f, mode, 1, 2, C.byref(z), C.byref(fl)) == 0, name
            assert lib.hwsim_dpi_fma(f, mode, 1, 2, 3, C.byref(z), C.byref(fl)) == 0, name
            assert lib.hwsim_dpi_decode(f, 1, C.byref(z)) == 0, name
