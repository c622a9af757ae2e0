"""The build itself: the extension is the one the test run expects, compiled with IEEE flags."""
import os

import hwsim
from hwsim import native as _native
import pytest

pytestmark = [pytest.mark.native, pytest.mark.portable]  # rerun by make test-asan and make test-portable


def test_extension_location_matches_run_kind():
    path = os.path.abspath(hwsim._hwsim_c.__file__)
    for kind in ("asan", "portable"):
        inside = os.sep + os.path.join("build", kind) + os.sep in path
        assert inside == bool(os.environ.get(f"HWSIM_EXPECT_{kind.upper()}")), path


def test_simd_kernels_present_unless_portable():
    # the portable build (make test-portable) really runs the portable loops
    # (this machine's CPU has AVX2, FMA and F16C)
    assert _native.lib.hw_mac_simd() == (0 if os.environ.get("HWSIM_EXPECT_PORTABLE") else 1)


def test_compile_flags_keep_ieee_semantics():
    src = open(os.path.join(os.path.dirname(hwsim.__file__), "_build.py")).read()
    assert '"-ffp-contract=off"' in src and '"-fno-fast-math"' in src
    assert "-ffast-math" not in src and "-Ofast" not in src


def test_c_enums_equal_python_enums():
    lib = _native.lib
    for m in hwsim.RoundingMode:
        assert getattr(lib, f"HW_ROUND_{m.name}") == int(m)
    names = {"SATURATE": "SATURATE", "SATURATE_FINITE_KEEP_INF": "SATURATE_KEEP_INF",
             "SPECIAL": "SPECIAL", "ERROR": "ERROR", "WRAP": "WRAP"}
    for m in hwsim.Overflow:
        assert getattr(lib, f"HW_OVF_{names[m.name]}") == int(m)
    for m in hwsim.Tininess:
        assert getattr(lib, f"HW_TININESS_{m.name}") == int(m)
    for m in hwsim.Flags:
        if m.name != "NONE":
            assert getattr(lib, f"HW_FLAG_{m.name}") == int(m)
    from hwsim.formats import SPECIALS_CODE

    for name, code in SPECIALS_CODE.items():
        assert getattr(lib, f"HW_SPECIALS_{name.upper()}") == code


def test_c_derived_constants_equal_python(all_formats_for_build=None):
    import numpy as np

    fmts = [f for f in hwsim.PRESETS.values()] + [
        hwsim.FloatFormat(4, 3, bias=11, subnormals=False),
        hwsim.FloatFormat(3, 2, signed=False), hwsim.p3109(8, 3), hwsim.p3109(8, 1, "finite"),
        hwsim.FloatFormat(6, 9), hwsim.FloatFormat(8, 13)]
    for f in fmts:
        c = _native.c_format(f)
        assert (c.bits, c.emin, c.emax) == (f.bits, f.emin, f.emax), f
        assert c.max_code == f.max_code, f
        assert bool(c.has_inf) == f.has_inf and bool(c.has_nan) == f.has_nan, f
        assert bool(c.has_negzero) == f.has_negzero and bool(c.has_zero) == f.has_zero, f
        if f.has_nan:
            assert c.nan_code == f.nan_code, f
        if f.has_inf:
            assert c.inf_code == f.inf_code, f
        assert float(hwsim.decode(np.array([f.max_code], dtype=np.uint64), f)[0]) == f.max_finite
