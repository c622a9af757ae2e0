"""CLI verbs formats / encode: output is true to the library."""
import subprocess
import sys

import numpy as np

import hwsim
from hwsim import cli


def test_formats_lists_every_preset(capsys):
    assert cli.main(["formats"]) == 0
    out = capsys.readouterr().out
    for name in hwsim.PRESETS:
        assert name in out


def test_formats_markdown_is_the_catalogue_table(capsys):
    from hwsim.formats import markdown_table

    assert cli.main(["formats", "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == markdown_table().strip()


def test_encode_shows_fields_and_value(capsys):
    assert cli.main(["encode", "0.1", "--format", "float8_e5m2", "--rounding", "rtz"]) == 0
    out = capsys.readouterr().out
    code = int(hwsim.encode(np.array([0.1]), "float8_e5m2", rounding="rtz")[0])
    assert f"0x{code:02X}" in out
    b = format(code, "08b")
    assert f"{b[0]}|{b[1:6]}|{b[6:]}" in out  # sign|exponent|mantissa of E5M2
    assert repr(float(hwsim.decode(np.array([code], np.uint8), "float8_e5m2")[0]))[:6] in out
    assert "INEXACT" in out


def test_encode_rejects_bad_value_and_format(capsys):
    assert cli.main(["encode", "abc", "--format", "int8"]) == 2
    assert "VALUE" in capsys.readouterr().err
    assert cli.main(["encode", "1", "--format", "float9_nope"]) == 2
    assert "unknown format name" in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "hwsim", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for verb in ("formats", "encode", "run", "export", "compare", "sweep", "demo"):
        assert verb in r.stdout
