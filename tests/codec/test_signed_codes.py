"""Signed numpy integer arrays are accepted as codes of signed integer formats."""
import numpy as np
import pytest

import hwsim


@pytest.mark.parametrize("fmt, sdt, udt", [("int8", np.int8, np.uint8), ("int16", np.int16, np.uint16),
                                           ("int4", np.int8, np.uint8),
                                           ("fixed8.3", np.int8, np.uint8)])
def test_signed_arrays_decode_like_their_bit_patterns(fmt, sdt, udt):
    f = hwsim.format(fmt)
    lo, hi = -(1 << (f.bits - 1)), (1 << (f.bits - 1)) - 1
    ints = np.arange(lo, hi + 1, dtype=np.int64)
    if f.bits == 16:
        ints = ints[::7]
    codes = (ints & ((1 << f.bits) - 1)).astype(udt)
    want = hwsim.decode(codes, f)
    got = hwsim.decode(ints.astype(sdt), f)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert np.array_equal(got, ints * 2.0 ** -f.frac_bits)


def test_int64_format_takes_int64_values():
    x = np.array([-(1 << 63), -1, 0, (1 << 62)], dtype=np.int64)
    got = hwsim.decode(x, "int64")
    assert got.tolist() == [float(-(1 << 63)), -1.0, 0.0, float(1 << 62)]


def test_out_of_range_signed_values_are_refused():
    with pytest.raises(ValueError, match=r"\[-128, -1\].*codes\[1\] = -129"):
        hwsim.decode(np.array([0, -129], dtype=np.int16), "int8")
    with pytest.raises(ValueError, match=r"codes\[0\] = -1"):
        hwsim.decode(np.array([-1], dtype=np.int8), "uint8")
    with pytest.raises(ValueError, match=r"codes\[0\] = -1"):
        hwsim.decode(np.array([-1], dtype=np.int8), "float8_e4m3fn")
