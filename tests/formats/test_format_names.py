"""Every format's name parses back to the same format; to_dict/from_dict round-trips."""
from hypothesis import given

import hwsim
from hwsim.formats import from_dict
from hwsim.testing import fixed_formats, float_formats, int_formats


@given(float_formats(max_bits=64))
def test_float_format_name_round_trip(f):
    g = hwsim.format(f.name)
    assert g == f, (f, g)
    assert from_dict(f.to_dict()) == f


@given(int_formats())
def test_int_format_name_round_trip(f):
    assert hwsim.format(f.name) == f and from_dict(f.to_dict()) == f


@given(fixed_formats())
def test_fixed_format_name_round_trip(f):
    assert hwsim.format(f.name) == f and from_dict(f.to_dict()) == f


def test_presets_and_block_names_round_trip():
    for name, f in hwsim.PRESETS.items():
        assert hwsim.format(name) is f
    from hwsim import formats as blockformats

    names = [n for n in blockformats.NAMES if "<" not in n] + ["bfp7_b16", "bfp3_b32", "pwlq4"]
    for name in names:
        f = hwsim.format(name)
        assert hwsim.format(f.to_dict()) == f, name


def test_parse_defaults_follow_ml_dtypes_names():
    assert hwsim.format("e4m3fnuz").bias == 8  # ml_dtypes float8_e4m3fnuz
    assert hwsim.format("e4m3_b11").bias == 11
    assert hwsim.format("binary8p3").bias == 16  # P3109: 2^(K-P-1)
