"""Bare E4M3 / E5M2 are refused with both candidates named (docs/semantics.md)."""
import pytest

import hwsim
from hwsim.errors import FormatError


@pytest.mark.parametrize("name, candidates", [
    ("E4M3", ("float8_e4m3fn", "float8_e4m3 ")),
    ("E5M2", ("float8_e5m2 ", "float8_e5m2fnuz")),
    (" E4M3 ", ("float8_e4m3fn", "float8_e4m3 ")),
])
def test_bare_upper_case_names_are_refused(name, candidates):
    with pytest.raises(FormatError) as info:
        hwsim.format(name)
    msg = str(info.value)
    assert "ambiguous" in msg
    for c in candidates:
        assert c in msg


def test_explicit_and_generated_names_keep_their_meaning():
    assert hwsim.format("float8_e4m3fn").max_finite == 448.0
    assert hwsim.format("float8_e4m3").max_finite == 240.0
    # the lower-case generated grammar stays IEEE-style, so names round-trip
    f = hwsim.FloatFormat(4, 3)
    assert f.name == "e4m3" and hwsim.format(f.name) == f
    assert hwsim.format("e5m2") == hwsim.format("float8_e5m2")
    # inside an MX format the OCP element names are unambiguous
    assert hwsim.MXFormat("E4M3").elem == hwsim.format("float8_e4m3fn")
