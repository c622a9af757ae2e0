"""Designs in networks (JSON config) and as golden vectors (hwsim.export + compare)."""
import json
import os

import numpy as np
import pytest

import hwsim
from hwsim.designs import PWLQDesign, PsumEncoding, design_from_dict
from hwsim.errors import ConfigError
from hwsim.network import load_onnx
from hwsim.network.compare import compare as compare_dirs
from hwsim.network.demo import model_path
from hwsim.ops.design_layer import design_forward


@pytest.fixture(scope="module")
def net_x():
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    return load_onnx(model_path()), x


DESIGNS = [{"name": "pwlq", "T": 16, "psum": {"kind": "shared_exp", "bits": 10}},
           {"name": "cim", "adc_bits": 6, "rows": 32},
           {"name": "polarization", "main": "nf4", "rank": 2},
           {"name": "vs_quant"}, {"name": "two_tensor_int4"},
           {"name": "chunked_fp8", "rounding": "rne"}]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d["name"])
def test_design_runs_every_mac_layer_of_a_network(net_x, design):
    net, x = net_x
    net.set_config({"defaults": {"design": design}})
    net.calibrate([x])
    r = net.run(x, keep=True)
    macs = [n for n in net.nodes if n.op in ("Conv", "Gemm")]
    assert macs and all(r.layers[n.name].mac == design_from_dict(design) for n in macs)
    # the first conv's real output is the design's computation on the layer input
    n0 = macs[0]
    rec = r.layers[n0.name]
    y, _ = design_forward(n0, np.asarray(rec.input.values(), np.float64), design_from_dict(design))
    np.testing.assert_array_equal(rec.acc, y)
    assert np.all(np.isfinite(r.outputs[net.outputs[0]]))
    assert any(k.startswith("cost.") and v > 0 for k, v in r.stats[n0.name].items())
    assert r.stats[n0.name]["design_overflow_events"] >= 0


def test_config_names_the_bad_design():
    with pytest.raises(ConfigError, match="defaults.design.*one of"):
        hwsim.network.config.load_config({"defaults": {"design": {"name": "tpu"}}})
    with pytest.raises(ConfigError, match=r"layers\[0\].design: design 'cim'.*adc_bits"):
        hwsim.network.config.load_config({"layers": [{"op": "Conv",
                                                     "design": {"name": "cim", "adc_bits": 0}}]})
    with pytest.raises(ConfigError, match="unexpected keyword"):
        design_from_dict({"name": "pwlq", "psum_bits": 3})


def test_design_golden_export_and_compare(tmp_path):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 40)), rng.standard_normal((40, 5))
    d = PWLQDesign(T=16, psum=PsumEncoding("shared_exp", 10))
    res = d.matmul(x, w)
    out = tmp_path / "gold"
    man = hwsim.export(res, out, d)
    assert len(man["layers"]) == 12 and man["design"]["params"]["name"] == "pwlq"
    dut = tmp_path / "dut"
    hwsim.export(res, dut, d)
    assert compare_dirs(str(out), str(dut)).ok
    # a flipped bit in one path's register is found
    lay = man["layers"][5]
    f = os.path.join(dut, lay["dir"], "acc.hex")
    lines = open(f).read().split("\n")
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")
    open(f, "w").write("\n".join(lines))
    rep = compare_dirs(str(out), str(dut))
    assert not rep.ok
    assert json.load(open(os.path.join(out, "manifest.json")))["design"]["cost"]["int_macs"] > 0


def test_network_export_of_design_layers_and_compare(net_x, tmp_path):
    """hwsim.export of a network whose MAC layers run a design: every layer writes its
    input, weight, output, the design's real output (acc, binary64) and every MAC path;
    compare finds a flipped bit in one region unit's register."""
    net, x = net_x
    net.set_config({"defaults": {"design": {"name": "pwlq", "T": 16,
                                            "psum": {"kind": "shared_exp", "bits": 10}}}})
    net.calibrate([x])
    g, d = tmp_path / "g", tmp_path / "d"
    man = hwsim.export(net, g, x[:1])
    hwsim.export(net, d, x[:1])
    conv2 = next(L for L in man["layers"] if L["name"] == "conv2")
    assert conv2["mac"]["name"] == "pwlq"
    paths = [k for k in conv2["files"] if k.startswith("design0_") and k.endswith("_acc")]
    assert len(paths) == 4 * 5  # 4 region units x ceil(72 / 16) K tiles
    assert compare_dirs(str(g), str(d)).ok
    f = os.path.join(d, conv2["files"][paths[3]]["hex"])
    lines = open(f).read().split("\n")
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")
    open(f, "w").write("\n".join(lines))
    assert not compare_dirs(str(g), str(d)).ok


def test_hwsim_sweep_grid_over_a_design_knob(tmp_path):
    """`hwsim sweep --grid defaults.design.adc_bits=...` sweeps a design like any config
    field: 7 ADC bits (lossless for 64 rows) keep the int8 accuracy, 5 bits lose it."""
    import subprocess
    import sys

    cfg = tmp_path / "base.json"
    cfg.write_text(json.dumps({"defaults": {"design": {"name": "cim", "rows": 64}}}))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "hwsim", "sweep", "--config", str(cfg), "--grid",
                        "defaults.design.adc_bits=5,7", "--n", "120", "--out", str(out),
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = json.load(open(out / "sweep.json"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    top1 = {int(str(row.get("adc_bits", row.get("defaults.design.adc_bits")))): row["top1"]
            for row in rows}
    assert top1[7] > 0.9 and top1[5] < 0.5, top1
