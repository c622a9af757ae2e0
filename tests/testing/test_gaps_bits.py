"""assert_bits_equal: the value comparison that tells -0.0 from +0.0."""
import numpy as np
import pytest

import hwsim
from hwsim.testing import assert_bits_equal


def test_signed_zero_differs():
    with pytest.raises(AssertionError, match="got -0.0, expected 0.0"):
        assert_bits_equal(np.array([1.0, -0.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(np.array([-0.0]), np.array([0.0]))  # what it replaces


def test_nan_positions_values_shapes_and_ints():
    assert_bits_equal(np.array([np.nan, -0.0, 2.5]), [float("nan"), -0.0, 2.5])
    with pytest.raises(AssertionError):
        assert_bits_equal(np.array([np.nan]), [0.0])
    with pytest.raises(AssertionError):
        assert_bits_equal(np.array([1.0]), [np.nextafter(1.0, 2.0)])
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_bits_equal(np.zeros(2), np.zeros((1, 2)))
    assert_bits_equal(np.array([1 << 62], np.int64), np.array([1 << 62], np.uint64))
    with pytest.raises(AssertionError):
        assert_bits_equal(np.array([(1 << 62) + 1], np.int64), [float(1 << 62)])


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp4", "nvfp4", "msfp16", "float8_e4m3fn"])
def test_negative_zero_survives_encode_decode(name):
    """-0.0 and a negative input that rounds to zero decode to -0.0 (float elements)."""
    x = np.array([-0.0, -1e-30, 0.0] + [1.0] * 29)
    got = hwsim.encode(x, name)
    v = got.values() if hasattr(got, "values") else hwsim.decode(got, name)
    assert_bits_equal(v[:3], [-0.0, -0.0, 0.0])
