"""Golden-vector export and RTL-dump comparison."""
import json
import os
import shutil

import numpy as np
import pytest

from hwsim.network import Network
from hwsim.network.export import compare, export, read_hex, write_hex


def _net():
    rng = np.random.default_rng(0)
    net = Network({"x": (1, 2, 5, 5)}, config={"defaults": {"requant": "tflite"},
                                               "layers": [{"op": "Gemm", "mac": "int16_sat"}]})
    net.add("Conv", "x", "c", name="conv1", weight=rng.normal(0, 0.5, (3, 2, 3, 3)),
            bias=rng.normal(0, 0.1, 3), pads=(1, 1, 1, 1))
    net.add("Relu", "c", "r", name="relu1")
    net.add("Flatten", "r", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (75, 4)), bias=np.zeros(4))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 2, 5, 5)) for _ in range(4)])
    return net, rng.normal(0, 1, (1, 2, 5, 5))


def test_hex_round_trip(tmp_path):
    codes = np.array([0, 1, 0x7F, 0x80, 0xFF], np.uint8)
    write_hex(tmp_path / "a.hex", codes, 8)
    assert (tmp_path / "a.hex").read_text() == "00\n01\n7F\n80\nFF\n"
    assert read_hex(tmp_path / "a.hex").tolist() == codes.tolist()
    write_hex(tmp_path / "b.hex", np.array([2 ** 32 - 1, 5], np.uint64), 32)
    assert (tmp_path / "b.hex").read_text() == "FFFFFFFF\n00000005\n"


def test_export_manifest_and_self_compare(tmp_path):
    net, x = _net()
    man = export(net, x, tmp_path / "g", trace={"conv1": [(0, 1, 0, 0)], "fc": [(0, 2)]})
    assert [L["name"] for L in man["layers"]] == ["conv1", "fc"]
    m2 = json.loads((tmp_path / "g" / "manifest.json").read_text())
    conv = m2["layers"][0]
    assert set(conv["files"]) == {"input", "weight", "bias", "acc", "output"}
    assert conv["files"]["acc"]["width"] == 8 and conv["files"]["weight"]["width"] == 2
    acc = np.load(tmp_path / "g" / conv["files"]["acc"]["npy"])
    assert acc.shape == (1, 3, 5, 5)
    # acc.hex holds the same codes, in C order
    assert read_hex(tmp_path / "g" / conv["files"]["acc"]["hex"]).tolist() == acc.ravel().tolist()
    # the trace of conv1 output (0, 1, 0, 0) ends in the dumped accumulator value
    rows = (tmp_path / "g" / conv["traces"][0]["file"]).read_text().strip().splitlines()
    head = rows[0].split(",")
    last = dict(zip(head, rows[-1].split(",")))
    assert int(last["after"]) == int(acc[0, 1, 0, 0])
    assert len(rows) == 1 + 1 + 2 * 9  # header, bias row, K = 18 steps
    assert rows[1].split(",")[1] == "bias" and {r.split(",")[1] for r in rows[2:]} == {"mac"}
    assert compare(tmp_path / "g", tmp_path / "g").ok


@pytest.mark.parametrize("tensor,line,bit", [("acc", 3, 3), ("acc", 1, 15), ("output", 2, 7), ("weight", 11, 0)])
def test_compare_finds_flipped_bit(tmp_path, tensor, line, bit):
    net, x = _net()
    export(net, x, tmp_path / "g")
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    man = json.loads((tmp_path / "g" / "manifest.json").read_text())
    layer = man["layers"][1]
    info = layer["files"][tensor]
    p = tmp_path / "d" / info["hex"]
    lines = p.read_text().splitlines()
    v = int(lines[line], 16) ^ (1 << bit)
    lines[line] = f"{v:0{info['width']}X}"
    p.write_text("\n".join(lines) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert not rep.ok and rep.mismatches == 1
    f = rep.first
    assert (f["layer"], f["tensor"], f["index"], f["bits"]) == ("fc", tensor, line, [bit])
    # error in LSB: two's complement difference of the flipped bit
    g = int(lines[line], 16) ^ (1 << bit)
    bits = info["bits"]
    sg = g - (1 << bits) if g >> (bits - 1) else g
    sd = v - (1 << bits) if v >> (bits - 1) else v
    assert f["lsb_error"] == sd - sg
    assert "fc" in rep.text()


def test_cli_compare_exit_status(tmp_path):
    from hwsim.network.cli_cmds import main as net_main

    net, x = _net()
    export(net, x, tmp_path / "g")
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    assert net_main(["compare", str(tmp_path / "g"), str(tmp_path / "d")]) == 0
    p = tmp_path / "d" / "00_conv1" / "output.hex"
    lines = p.read_text().splitlines()
    lines[0] = f"{int(lines[0], 16) ^ 1:02X}"
    p.write_text("\n".join(lines) + "\n")
    assert net_main(["compare", str(tmp_path / "g"), str(tmp_path / "d")]) == 1
    os.remove(p)
    assert net_main(["compare", str(tmp_path / "g"), str(tmp_path / "d")]) == 1
