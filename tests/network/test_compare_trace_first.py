"""``compare(..., trace_first=DIR)`` / ``hwsim compare --trace-first``: the trace of the
first differing output is made from the golden folder when none was exported, and
compared with the DUT's per-step dump to name the first differing MAC step."""
import json
import shutil

import numpy as np
import pytest

import hwsim
from hwsim.mac import FloatAccumulator, IntAccumulator, MacUnit, trace
from hwsim.network import Network
from hwsim.network.compare import compare
from hwsim.network.export import export as net_export
from hwsim.network.hexio import read_hex, write_hex
from hwsim.network.trace import retrace


def _matmul_golden(tmp_path, mac, a, b, bias):
    man = hwsim.export(mac, tmp_path / "g", a, b, bias=bias)
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    return man["layers"][0]


def _steps(mac, a, b, bias):
    m, n = a.shape[0], b.shape[1]
    out = np.zeros((m * n, a.shape[1]), np.uint64)
    for i in range(m):
        for j in range(n):
            out[i * n + j] = [s["after"] for s in trace(a, b, mac, i, j, bias=bias).steps
                              if s["kind"] == "mac"]
    return out


def _flip(path, index, mask, width):
    lines = path.read_text().splitlines()
    lines[index] = f"{int(lines[index], 16) ^ mask:0{width}X}"
    path.write_text("\n".join(lines) + "\n")


def test_trace_first_names_the_step_from_dut_steps(tmp_path):
    rng = np.random.default_rng(11)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "saturate"))
    a = rng.integers(0, 256, (3, 12), dtype=np.uint8)
    b = rng.integers(0, 256, (12, 4), dtype=np.uint8)
    bias = rng.integers(-500, 500, 4)
    L = _matmul_golden(tmp_path, mac, a, b, bias)
    steps = _steps(mac, a, b, bias)
    # the DUT goes wrong at output (1, 2) (element 6), MAC step 5, and stays wrong
    steps[6, 5:] ^= 0x100
    write_hex(tmp_path / "d" / L["dir"] / "steps.hex", steps, 16)
    _flip(tmp_path / "d" / L["files"]["acc"]["hex"], 6, 0x100, 4)
    # without --trace-first: the element only
    rep = compare(tmp_path / "g", tmp_path / "d")
    assert rep.first["index"] == 6 and rep.first["step"] is None
    rep = compare(tmp_path / "g", tmp_path / "d", trace_first=tmp_path / "t")
    sd = rep.first["step_details"]
    assert sd["step"] == 5 and sd["a_code"] == a[1, 5] and sd["b_code"] == b[5, 2]
    assert sd["golden"] == steps[6, 5] ^ 0x100 and sd["dut"] == steps[6, 5]
    assert sd["lsb_error"] == (256.0 if (steps[6, 5] ^ 0x100) < steps[6, 5] else -256.0)
    assert rep.first["step"].startswith("MAC step 5 (trace row 6)")
    # the trace it wrote is hwsim's trace of that output
    rows = (tmp_path / "t" / L["dir"] / "trace_1_2.csv").read_text().splitlines()
    head = rows[0].split(",")
    t = trace(a, b, mac, 1, 2, bias=bias).steps
    assert [int(r.split(",")[head.index("after")]) for r in rows[1:]] == [s["after"] for s in t]
    assert f"trace of that output: {tmp_path / 't' / L['dir'] / 'trace_1_2.csv'}" in rep.text()
    d = rep.to_dict()
    assert json.loads(json.dumps(d))["first"]["step_details"]["step"] == 5


def test_trace_first_without_dut_steps_says_so(tmp_path):
    rng = np.random.default_rng(12)
    mac = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float32"))
    a = rng.integers(0, 0x70, (2, 6), dtype=np.uint8)
    b = rng.integers(0, 0x70, (6, 2), dtype=np.uint8)
    L = _matmul_golden(tmp_path, mac, a, b, None)
    _flip(tmp_path / "d" / L["files"]["acc"]["hex"], 3, 1, 8)
    rep = compare(tmp_path / "g", tmp_path / "d", trace_first=tmp_path / "t")
    assert rep.first["coord"] == [1, 1]
    assert "no per-step dump" in rep.first["step"]
    assert (tmp_path / "t" / L["dir"] / "trace_1_1.csv").is_file()
    # a DUT steps.hex that matches the golden trace: the difference is after the steps
    write_hex(tmp_path / "d" / L["dir"] / "steps.hex", _steps(mac, a, b, None), 32)
    rep = compare(tmp_path / "g", tmp_path / "d", trace_first=tmp_path / "t2")
    assert rep.first["step"].startswith("all MAC steps match")
    # a DUT steps.hex of the wrong size is reported, not misread
    write_hex(tmp_path / "d" / L["dir"] / "steps.hex", np.zeros(5, np.uint32), 32)
    rep = compare(tmp_path / "g", tmp_path / "d", trace_first=tmp_path / "t3")
    assert "has 5 values" in rep.first["step"]


def _conv_net():
    rng = np.random.default_rng(4)
    net = Network({"x": (1, 2, 5, 5)}, config={"defaults": {"mac": "int18_sat"}})
    net.add("Conv", "x", "c", name="conv1", weight=rng.normal(0, 0.5, (3, 2, 3, 3)),
            bias=rng.normal(0, 0.2, 3), pads=(1, 1, 1, 1))
    net.add("Relu", "c", "r", name="relu1")
    net.add("Flatten", "r", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (75, 4)), bias=np.zeros(4))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 2, 5, 5)) for _ in range(4)])
    return net, rng.normal(0, 1, (1, 2, 5, 5))


@pytest.mark.parametrize("layer,coord", [("conv1", (0, 2, 4, 0)), ("conv1", (0, 0, 0, 0)),
                                         ("fc", (0, 3))])
def test_retrace_equals_the_exported_trace(tmp_path, layer, coord):
    net, x = _conv_net()
    man = net_export(net, x, tmp_path / "g", trace={layer: [coord]})
    L = next(L for L in man["layers"] if L["name"] == layer)
    t = retrace(tmp_path / "g", L, coord, tmp_path / "t")
    assert (tmp_path / "t" / t["file"]).read_text() == (tmp_path / "g" / L["traces"][0]["file"]).read_text()
    assert np.array_equal(np.load(tmp_path / "t" / t["npy"]), np.load(tmp_path / "g" / L["traces"][0]["npy"]))


def test_cli_trace_first_on_a_conv_names_kernel_coordinates(tmp_path, capsys):
    from hwsim.cli import main

    net, x = _conv_net()
    man = net_export(net, x, tmp_path / "g")
    shutil.copytree(tmp_path / "g", tmp_path / "d")
    L = man["layers"][0]
    info = L["files"]["acc"]
    coord = (0, 1, 3, 2)
    idx = int(np.ravel_multi_index(coord, info["shape"]))
    t = retrace(tmp_path / "g", L, coord, tmp_path / "ref")
    k = len([r for r in t["rows"] if r[1] == "mac"])
    head = t["columns"]
    steps = np.zeros((int(np.prod(info["shape"])), k), np.uint64)
    steps[idx] = [int(r[head.index("after")]) for r in t["rows"] if r[1] == "mac"]
    steps[idx, 7:] ^= 1
    # only the traced output's row matters; the others are left 0
    write_hex(tmp_path / "d" / L["dir"] / "steps.hex", steps, 18)
    _flip(tmp_path / "d" / info["hex"], idx, 1, info["width"])
    args = ["compare", str(tmp_path / "g"), str(tmp_path / "d"), "--layer", "conv1",
            "--tensor", "acc", "--trace-first", str(tmp_path / "t"), "--json", str(tmp_path / "r.json")]
    assert main(args) == 1
    out = capsys.readouterr().out
    r7 = dict(zip(head, [r for r in t["rows"] if r[1] == "mac"][7]))
    assert (f"first differing MAC step: MAC step 7 (trace row 8): a 0x{int(r7['a_code']):X} "
            f"b 0x{int(r7['b_code']):X} (ci {r7['ci']}, kh {r7['kh']}, kw {r7['kw']}, "
            f"iy {r7['iy']}, ix {r7['ix']}, padding {r7['padding']})") in out
    assert json.loads((tmp_path / "r.json").read_text())["first"]["step_details"]["step"] == 7
    (tmp_path / "f").write_text("")
    assert main(args[:-4] + ["--trace-first", str(tmp_path / "f")]) == 2
    assert "--trace-first" in capsys.readouterr().err
    assert read_hex(tmp_path / "g" / info["hex"]).size == int(np.prod(info["shape"]))
