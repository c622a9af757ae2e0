"""hwsim.export for a bare matmul / dot product, checked by compare."""
import json
import shutil

import numpy as np
import pytest

import hwsim
from hwsim.mac import FloatAccumulator, IntAccumulator, MacUnit, matmul
from hwsim.network.compare import compare
from hwsim.network.hexio import read_hex


def test_export_matmul_int8_saturating(tmp_path):
    rng = np.random.default_rng(5)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(20, overflow="saturate"))
    a = rng.integers(0, 256, (3, 40), dtype=np.uint8)
    b = rng.integers(0, 256, (40, 4), dtype=np.uint8)
    bias = rng.integers(-1000, 1000, 4)
    res = matmul(a, b, mac, bias=bias)
    man = hwsim.export(mac, tmp_path / "g", a, b, bias=bias, result=res, trace=[(2, 3)])
    L = man["layers"][0]
    assert set(L["files"]) == {"input", "weight", "bias", "acc"}
    acc = read_hex(tmp_path / "g" / L["files"]["acc"]["hex"])
    assert acc.tolist() == np.asarray(res.codes).ravel().tolist()
    assert L["files"]["acc"]["width"] == 5  # 20 bits
    rows = (tmp_path / "g" / L["traces"][0]["file"]).read_text().splitlines()
    last = dict(zip(rows[0].split(","), rows[-1].split(",")))
    assert int(last["acc"]) == int(res.values[2, 3])
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    assert compare(tmp_path / "g", tmp_path / "d").ok
    p = tmp_path / "d" / L["files"]["acc"]["hex"]
    lines = p.read_text().splitlines()
    lines[7] = f"{int(lines[7], 16) ^ 0x10:05X}"
    p.write_text("\n".join(lines) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert not rep.ok and rep.first["coord"] == [1, 3] and rep.first["bits"] == [4]
    with pytest.raises(ValueError, match="result does not match"):
        hwsim.export(mac, tmp_path / "x", a, b, result=res)


def test_export_dot_fp8_into_fp32(tmp_path):
    rng = np.random.default_rng(6)
    mac = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float32"))
    a = rng.integers(0, 0x7F, 16, dtype=np.uint8)
    b = rng.integers(0, 0x7F, 16, dtype=np.uint8)
    man = hwsim.export(mac, tmp_path / "g", a, b, trace=[(0, 0)])
    acc = man["layers"][0]["files"]["acc"]
    assert acc["shape"] == [1, 1] and acc["width"] == 8
    code = int(read_hex(tmp_path / "g" / acc["hex"])[0])
    assert code == int(np.asarray(hwsim.dot(a, b, mac).codes).view(np.uint32))
    with pytest.raises(hwsim.HwsimError, match="outside the output shape"):
        hwsim.export(mac, tmp_path / "g", a, b, trace=[(0, 1)])
    assert json.loads((tmp_path / "g" / "manifest.json").read_text())["layers"][0]["traces"]
