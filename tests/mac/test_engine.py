"""The C MAC engine at its boundary (run again under ASan/UBSan by
``make test-asan``): argument validation, wide (multi-limb) registers,
exact sums spanning many limbs, and a mixed sweep through every kernel."""
import numpy as np
import pytest

import hwsim
from hwsim.mac import engine as nat
from hwsim._native import ffi, lib
from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator,
                       IntAccumulator, MacUnit, Tiles, Tree, kulisch, matmul)
from .mac_check import check_against_reference

pytestmark = pytest.mark.native
RNG = np.random.default_rng(5)


def test_gemm_rejects_bad_arguments():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16))
    spec, keep = nat.build_spec(mac)
    res = ffi.new("hw_mac_result *")
    out = np.zeros(4, np.uint64)
    po = ffi.cast("uint64_t *", ffi.from_buffer(out))
    assert lib.hw_mac_gemm(spec, ffi.NULL, 0, 0, ffi.NULL, 0, 0, 0, 1, 1, 1, ffi.NULL, po, 1,
                           ffi.NULL, ffi.NULL, 0, ffi.NULL, res) == lib.HW_E_SIZE
    assert lib.hw_mac_gemm(spec, ffi.NULL, 0, 0, ffi.NULL, 0, 0, 0, -1, 1, 0, ffi.NULL, po, 1,
                           ffi.NULL, ffi.NULL, 0, ffi.NULL, res) == lib.HW_E_SIZE
    bad = ffi.new("hw_mac_spec *", spec[0])
    bad.acc.width = 1
    assert lib.hw_mac_gemm(bad, ffi.NULL, 0, 0, ffi.NULL, 0, 0, 0, 0, 0, 0, ffi.NULL, po, 1,
                           ffi.NULL, ffi.NULL, 0, ffi.NULL, res) == lib.HW_E_SIZE
    bad = ffi.new("hw_mac_spec *", spec[0])
    bad.acc.overflow = lib.HW_OVF_SPECIAL
    assert lib.hw_mac_gemm(bad, ffi.NULL, 0, 0, ffi.NULL, 0, 0, 0, 0, 0, 0, ffi.NULL, po, 1,
                           ffi.NULL, ffi.NULL, 0, ffi.NULL, res) == lib.HW_E_MODE
    bad = ffi.new("hw_mac_spec *", spec[0])
    bad.xs_limbs = 0
    assert lib.hw_mac_gemm(bad, ffi.NULL, 0, 0, ffi.NULL, 0, 0, 0, 0, 0, 0, ffi.NULL, po, 1,
                           ffi.NULL, ffi.NULL, 0, ffi.NULL, res) == lib.HW_E_SIZE
    del keep


def test_unpack_rejects_codes_out_of_range():
    r = ffi.new("hw_result *")
    out = np.zeros(2, nat.XVAL)
    codes = np.array([3, 300], np.uint16)
    rc = lib.hw_mac_unpack_int(ffi.cast("hw_xval *", ffi.from_buffer(out)),
                               ffi.cast("void *", ffi.from_buffer(codes)), 2, 2, 8, 0, 1,
                               ffi.NULL, 1, 1, r)
    assert rc == lib.HW_E_CODE and r.err_index == 1


@pytest.mark.parametrize("mac", [
    MacUnit("bfloat16", "bfloat16", accumulator=kulisch("bfloat16", "bfloat16", 16)),
    MacUnit("bfloat16", "bfloat16", accumulator=FixedAccumulator(70, 60, "rne", "saturate"),
            order=Tree(3)),
    MacUnit("float16", "float16", accumulator=FixedAccumulator(40, 40, "truncate", "wrap"),
            tiling=Tiles(3, "bfloat16", mode="separate", psum_adder=FixedAccumulator(
                100, 30, "rna", "saturate"))),
    MacUnit("float16", "float16", accumulator=FloatAccumulator("float32", "rtz"),
            order=Chunked(3, FixedAccumulator(90, 20)), tiling=Tiles(5, "int16")),
    MacUnit("float16", "float16", accumulator=FusedMultiTermAccumulator(5, 40, "sticky", "late"),
            order=Chunked(7, FloatAccumulator("float64", "rdn"))),
    MacUnit("int16", "uint8", accumulator=IntAccumulator(64, "saturate"), order=Tree(2),
            tiling=Tiles(4, "fixed20.2", "rto")),
])
def test_wide_registers_and_long_sums(mac):
    a = RNG.integers(0, 1 << mac.a_fmt.bits, (3, 13)).astype(mac.a_fmt.code_dtype)
    b = RNG.integers(0, 1 << mac.b_fmt.bits, (13, 2)).astype(mac.b_fmt.code_dtype)
    if mac.a_fmt.kind == "float":       # finite operands only (fixed units reject NaN)
        fa, fb = mac.a_fmt, mac.b_fmt
        a = hwsim.encode(np.nan_to_num(hwsim.decode(a, fa), posinf=1.0, neginf=-1.0, nan=0.0), fa)
        b = hwsim.encode(np.nan_to_num(hwsim.decode(b, fb), posinf=1.0, neginf=-1.0, nan=0.0), fb)
    check_against_reference(mac, a, b)
