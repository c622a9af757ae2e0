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
    assert set(conv["files"]) == {"input", "weight", "bias", "acc", "output", "requant_multiplier",
                                  "requant_shift"}
    # requantization parameters also as hex: int32 multipliers, int8 shifts (two's complement)
    mult = read_hex(tmp_path / "g" / conv["files"]["requant_multiplier"]["hex"]).tolist()
    shift = read_hex(tmp_path / "g" / conv["files"]["requant_shift"]["hex"]).tolist()
    assert mult == conv["requant"]["multiplier"]
    assert [v - 256 if v > 127 else v for v in shift] == conv["requant"]["shift"]
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


# --- issue 10: golden files you can trust ----------------------------------------------
def _golden_and_dut(tmp_path, trace=None):
    net, x = _net()
    export(net, x, tmp_path / "g", trace=trace)
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    man = json.loads((tmp_path / "g" / "manifest.json").read_text())
    return net, x, man


def test_compare_rejects_emptied_golden_and_dut(tmp_path):
    from hwsim.network.compare import GoldenFileError

    _, _, man = _golden_and_dut(tmp_path)
    rel = man["layers"][0]["files"]["acc"]["hex"]
    (tmp_path / "g" / rel).write_text("")
    (tmp_path / "d" / rel).write_text("")
    with pytest.raises(GoldenFileError, match="sha256"):
        compare(tmp_path / "g", tmp_path / "d")
    # even without the sha check the element count against the shape catches it
    from hwsim.network.compare import verify_golden

    man["layers"][0]["files"]["acc"]["sha256_hex"] = _sha(tmp_path / "g" / rel)
    with pytest.raises(GoldenFileError, match="has 0 elements, its shape"):
        verify_golden(tmp_path / "g", man)


def _sha(p):
    from hwsim.network.hexio import sha256_file

    return sha256_file(p)


def test_compare_rejects_wide_dut_value(tmp_path):
    _, _, man = _golden_and_dut(tmp_path)
    info = man["layers"][1]["files"]["output"]  # 8-bit codes
    p = tmp_path / "d" / info["hex"]
    lines = p.read_text().splitlines()
    lines[2] = "1" + lines[2]  # 1FC against FC: the high bit must not be masked
    p.write_text("\n".join(lines) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert not rep.ok
    assert "line 3 element 2" in rep.text() and "wider than the 8-bit field" in rep.text()


@pytest.mark.parametrize("ignore", [False, True])
def test_compare_reports_xz(tmp_path, ignore):
    _, _, man = _golden_and_dut(tmp_path)
    info = man["layers"][0]["files"]["output"]
    p = tmp_path / "d" / info["hex"]
    lines = p.read_text().splitlines()
    lines[5] = "xx"
    lines[9] = "zZ"
    p.write_text("\n".join(lines) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d", ignore_xz=ignore)
    assert [(x["file"], x["line"], x["index"]) for x in rep.xz] == [(info["hex"], 6, 5),
                                                                    (info["hex"], 10, 9)]
    if ignore:
        assert rep.ok and rep.mismatches == 0
    else:
        assert not rep.ok and rep.mismatches == 2
        assert rep.first["index"] == 5 and rep.first["xz"]
        assert f"X/Z: {info['hex']} line 6 element 5" in rep.text()


def test_compare_reports_size_mismatch(tmp_path):
    _, _, man = _golden_and_dut(tmp_path)
    info = man["layers"][0]["files"]["acc"]
    p = tmp_path / "d" / info["hex"]
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:-4]) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert not rep.ok
    assert f"size mismatch: DUT has {len(lines) - 4} elements, golden {len(lines)}" in rep.text()
    assert rep.text().startswith("MISMATCH: 0 of") and "1 problem(s)" in rep.text()


def test_reused_export_folder_is_replaced(tmp_path):
    net, x = _net()
    out = tmp_path / "g"
    export(net, x, out, trace={"conv1": [(0, 0, 0, 0)]})
    (out / "stale.hex").write_text("00\n")
    assert (out / "00_conv1" / "trace_0_0_0_0.csv").exists()
    export(net, x, out)
    assert not (out / "stale.hex").exists()
    assert not (out / "00_conv1" / "trace_0_0_0_0.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]  # no temporary folders left


@pytest.mark.parametrize("trace,match", [
    ({"conv1": [(0, 0, 0, 9)]}, r"x=9 is outside the output shape \[1, 3, 5, 5\]"),
    ({"conv1": [(0, 0, -1, 0)]}, r"y=-1 is outside"),
    ({"conv1": [(0, 0, 0)]}, r"4 integer coordinates"),
    ({"fc": [(0, 4)]}, r"column=4 is outside"),
    ({"conv9": [(0, 0, 0, 0)]}, r"unknown layer 'conv9'"),
])
def test_bad_trace_is_an_error_and_writes_nothing(tmp_path, trace, match):
    from hwsim.errors import HwsimError

    net, x = _net()
    export(net, x, tmp_path / "g")
    before = sorted(str(p) for p in (tmp_path / "g").rglob("*"))
    with pytest.raises(HwsimError, match=match):
        export(net, x, tmp_path / "g", trace=trace)
    with pytest.raises(HwsimError, match=match):
        export(net, x, tmp_path / "new", trace=trace)
    assert sorted(str(p) for p in (tmp_path / "g").rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]


def test_trace_conv_coordinates_and_signed_values(tmp_path):
    net, x = _net()
    man = export(net, x, tmp_path / "g", trace={"conv1": [(0, 2, 0, 4)]})
    t = man["layers"][0]["traces"][0]
    rows = (tmp_path / "g" / t["file"]).read_text().splitlines()
    head = rows[0].split(",")
    assert head == t["columns"] and {"ci", "kh", "kw", "iy", "ix", "padding", "a_value"} <= set(head)
    steps = [dict(zip(head, r.split(","))) for r in rows[1:]]
    macs = [s for s in steps if s["kind"] == "mac"]
    assert len(macs) == 18
    inp = np.load(tmp_path / "g" / man["layers"][0]["files"]["input"]["npy"]).view(np.int8)
    for s in macs:
        iy, ix, pad = int(s["iy"]), int(s["ix"]), int(s["padding"])
        assert (s["n"], s["co"], s["oy"], s["ox"]) == ("0", "2", "0", "4")
        assert pad == int(not (0 <= iy < 5 and 0 <= ix < 5))
        assert iy == int(s["kh"]) - 1 and ix == 4 + int(s["kw"]) - 1  # stride 1, pad 1
        if not pad:  # the term reads input[0, ci, iy, ix]; values are signed
            assert int(s["a_code"]) == int(inp[0, int(s["ci"]), iy, ix]) & 0xFF
            assert int(s["a_value"]) == int(inp[0, int(s["ci"]), iy, ix])
    assert any(int(s["a_value"]) < 0 for s in macs if not int(s["padding"]))
    npy = np.load(tmp_path / "g" / t["npy"])
    from hwsim.network.trace import NPY_COLUMNS

    ix = NPY_COLUMNS.index("ix")
    assert npy.shape == (len(steps), 17) and npy[1:, ix].tolist() == [int(s["ix"]) for s in steps[1:]]


def test_compare_names_first_differing_mac_step(tmp_path):
    _, _, man = _golden_and_dut(tmp_path, trace={"conv1": [(0, 1, 2, 2)]})
    L = man["layers"][0]
    info = L["files"]["acc"]
    idx = int(np.ravel_multi_index((0, 1, 2, 2), info["shape"]))
    p = tmp_path / "d" / info["hex"]
    lines = p.read_text().splitlines()
    lines[idx] = f"{int(lines[idx], 16) ^ 4:0{info['width']}X}"
    p.write_text("\n".join(lines) + "\n")
    tp = tmp_path / "d" / L["traces"][0]["file"]
    rows = tp.read_text().splitlines()
    head = rows[0].split(",")
    r = rows[7].split(",")
    r[head.index("after")] = str(int(r[head.index("after")]) ^ 4)
    rows[7] = ",".join(r)
    tp.write_text("\n".join(rows) + "\n")
    rep = compare(tmp_path / "g", tmp_path / "d", tensors=["acc"], layers=["conv1"])
    assert rep.first["coord"] == [0, 1, 2, 2]
    assert rep.first["step"].startswith("row 7 of") and "after: golden" in rep.first["step"]
    assert len(rep.per_file) == 1
    rep.to_json(tmp_path / "r.json")
    rep.to_junit(tmp_path / "r.xml")
    assert json.loads((tmp_path / "r.json").read_text())["mismatches"] == 1
    import xml.etree.ElementTree as ET

    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert suite.get("failures") == "1" and suite.find("testcase/failure") is not None
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        compare(tmp_path / "g", tmp_path / "d", layers=["nope"])


def test_cli_compare_options_and_trace_errors(tmp_path, capsys):
    from hwsim.cli import main

    _, _, man = _golden_and_dut(tmp_path)
    p = tmp_path / "d" / man["layers"][1]["files"]["output"]["hex"]
    p.write_text(p.read_text().replace("\n", "\nxx\n", 1))
    args = ["compare", str(tmp_path / "g"), str(tmp_path / "d")]
    assert main(args + ["--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]) == 1
    out = capsys.readouterr().out
    assert "X/Z" in out and "size mismatch" in out
    assert json.loads((tmp_path / "r.json").read_text())["xz"][0]["line"] == 2
    assert (tmp_path / "r.xml").read_text().count("<failure") == 1
    assert main(args + ["--tensor", "acc", "--layer", "fc"]) == 0
    assert main(["export", "--out", str(tmp_path / "e"), "--trace", "conv1:0,0,0,99"]) == 2
    assert "outside the output shape" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def _write_manifest(tmp_path, man):
    (tmp_path / "g" / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize("key, value", [("sha256_hex", None), ("sha256_hex", 5), ("width", "2"),
                                        ("width", True), ("width", None)])
def test_compare_names_a_manifest_field_of_the_wrong_type(tmp_path, key, value):
    # fuzz finding (findings/golden/crash-bcfd48e5...): a manifest entry without "sha256_hex"
    # raised KeyError in verify_golden; "width" is read there too
    from hwsim.network.compare import GoldenFileError

    _, _, man = _golden_and_dut(tmp_path)
    info = man["layers"][0]["files"]["acc"]
    if value is None:
        del info[key]
    else:
        info[key] = value
    _write_manifest(tmp_path, man)
    with pytest.raises(GoldenFileError, match=rf"malformed manifest at layer '{man['layers'][0]['name']}' "
                                              rf"files\.acc\.{key} \(needs (str|int), got"):
        compare(tmp_path / "g", tmp_path / "d")


def test_compare_refuses_a_file_entry_that_is_a_folder(tmp_path):
    # fuzz finding (findings/golden/crash-c3d64839...): a manifest "hex" of "" named the golden
    # folder itself: IsADirectoryError from sha256_file
    from hwsim.network.compare import GoldenFileError

    _, _, man = _golden_and_dut(tmp_path)
    good = man["layers"][0]["files"]["acc"]["hex"]
    man["layers"][0]["files"]["acc"]["hex"] = ""
    _write_manifest(tmp_path, man)
    with pytest.raises(GoldenFileError, match=r"malformed manifest at layers\[0\]\.files\.acc\.hex"):
        compare(tmp_path / "g", tmp_path / "d")
    # a path that names a folder, on the golden side, then on the DUT side
    man["layers"][0]["files"]["acc"]["hex"] = man["layers"][0]["dir"]
    _write_manifest(tmp_path, man)
    with pytest.raises(GoldenFileError, match=r"is missing or not a file"):
        compare(tmp_path / "g", tmp_path / "d")
    man["layers"][0]["files"]["acc"]["hex"] = good
    _write_manifest(tmp_path, man)
    os.remove(tmp_path / "d" / good)
    os.mkdir(tmp_path / "d" / good)
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert not rep.ok and f"missing DUT file {good} (absent or not a file)" in rep.problems
