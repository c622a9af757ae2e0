"""Sweep metrics on the digits network, checked against independent counts and against
the statistics they summarise; determinism; the resumable cache."""
import math

import numpy as np
import pytest

from hwsim.network.demo import load_data, model_path
from hwsim.network.onnx_import import load_onnx
from hwsim.network.sweep import run_sweep
from hwsim.network.sweep import runner as rn


@pytest.fixture(scope="module")
def digits():
    xtr, _, x, y = load_data()
    return x[:48], y[:48], [xtr[:128]]


def _net():
    return load_onnx(model_path())


def test_mac_counts_and_traffic_from_the_layer_shapes(digits):
    x, y, calib = digits
    tiles = {"T": 16, "psum_format": "int16"}
    rows = run_sweep(_net(), x, y, [("layers.conv2.mac.tiling", [None, tiles])], calib=calib)
    lay = rows[0]["layers"]
    # conv1: 8 x 8x8 outputs of 1x3x3; conv2: 16 x 4x4 of 8x3x3; fc: 10 of 64 (per image)
    assert [lay[n]["macs"] for n in ("conv1", "conv2", "fc")] == [8 * 64 * 9, 16 * 16 * 72, 640]
    assert rows[0]["macs"] == 8 * 64 * 9 + 16 * 16 * 72 + 640
    assert rows[0]["macs_by_type"] == {"int8xint8->int32": rows[0]["macs"]}
    assert rows[0]["traffic_psum_bytes"] == 0
    # K = 72 in tiles of 16: 4 spills of 256 outputs x 16 bits, written and read back
    assert rows[1]["layers"]["conv2"]["psum_bytes"] == 4 * 256 * 2 * 2
    assert rows[1]["traffic_psum_bytes"] == 4 * 256 * 2 * 2
    assert rows[0]["traffic_weight_bytes"] == 8 * 9 + 16 * 72 + 640  # int8: one byte each
    assert rows[0]["cost_bitmacs"] == rows[0]["macs"] * (8 * 8 + 32)


def test_bits_observed_is_the_width_that_avoids_overflow(digits):
    x, y, calib = digits
    net = _net()
    b = run_sweep(net, x, y, calib=calib)[0]["layers"]["conv2"]["bits_observed"]
    rows = run_sweep(net, x, y, [("layers.conv2.mac", [f"int{b}_sat", f"int{b - 1}_sat"])],
                     calib=calib)
    assert rows[0]["layers"]["conv2"]["overflow_events"] == 0
    assert rows[1]["layers"]["conv2"]["overflow_events"] > 0
    assert rows[1]["layers"]["conv2"]["overflow_rate"] > 0


def test_bounds_are_ordered_and_match_the_formulas(digits):
    x, y, calib = digits
    lay = run_sweep(_net(), x, y, calib=calib)[0]["layers"]
    for name, k in (("conv1", 9), ("conv2", 72), ("fc", 64)):
        v = lay[name]
        assert v["k"] == k
        assert v["bits_worst"] == 8 + 8 + math.ceil(math.log2(k))
        assert v["bits_a2q_plus"] <= v["bits_a2q_l1"] <= v["bits_a2q"] <= v["bits_worst"]


def test_accuracy_metrics_against_numpy(digits):
    x, y, calib = digits
    net = _net()
    row = run_sweep(net, x, y, calib=calib)[0]
    got = np.asarray(net.run(x, reference=False).outputs[net.outputs[0]]).reshape(len(x), -1)
    ref = np.asarray(net.reference(x, keep=False)[net.outputs[0]]).reshape(len(x), -1)
    assert row["top1"] == np.mean(got.argmax(1) == y)
    assert row["agreement"] == np.mean(got.argmax(1) == ref.argmax(1))
    assert row["float_top1"] == np.mean(ref.argmax(1) == y)
    top5 = np.argsort(-got, axis=1, kind="stable")[:, :5]
    assert row["top5"] == np.mean((top5 == y[:, None]).any(1))


def test_deterministic_and_resumable(digits, tmp_path, monkeypatch):
    x, y, calib = digits
    axes = [("w", [12, 14, 16]), ("defaults.mac", ["int${w}_sat"])]
    full = run_sweep(_net(), x, y, axes, calib=calib)
    assert run_sweep(_net(), x, y, axes, calib=calib) == full
    cache = str(tmp_path / "c")
    run_sweep(_net(), x, y, [("w", [14]), axes[1]], calib=calib, cache=cache)  # one of three
    calls = []
    real = rn.eval_config
    monkeypatch.setattr(rn, "eval_config", lambda *a: calls.append(1) or real(*a))
    assert run_sweep(_net(), x, y, axes, calib=calib, cache=cache) == full
    assert len(calls) == 2  # only the two configurations not in the cache
    calls.clear()
    assert run_sweep(_net(), x, y, axes, calib=calib, cache=cache) == full
    assert calls == []
