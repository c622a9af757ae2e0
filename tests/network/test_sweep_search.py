"""Precision search: within 1 % of float top-1 on the digits network (matching the
exhaustive optimum) and on the ResNet-style network, with far fewer evaluations than
the grid."""
import pytest

from hwsim.network.demo import load_data, model_path
from hwsim.network.onnx_import import load_onnx
from hwsim.network.sweep.resnet import resnet_digits
from hwsim.network.sweep.search import Target, precision_search, width_options


@pytest.fixture(scope="module")
def data():
    xtr, _, x, y = load_data()
    return x[:120], y[:120], [xtr[:128]]


def test_digits_search_matches_the_exhaustive_optimum(data):
    x, y, calib = data
    space = {n: width_options("mac=int{w}_sat", (12, 14, 16, 18, 20)) for n in ("conv1", "conv2", "fc")}
    r = precision_search(load_onnx(model_path()), x, y, space, Target("top1", 0.01), calib=calib,
                         exhaustive_limit=200)
    assert r.grid_size == 125
    assert r.evaluations < r.grid_size / 3
    assert r.row["top1"] >= r.row["float_top1"] - 0.01
    assert r.exhaustive is not None and r.exhaustive["matches"], r.summary()
    assert r.row["_cost"] == r.exhaustive["cost"]
    # the chosen widths are not simply the widest
    assert r.choice != {n: {"mac": "int20_sat"} for n in space}


def test_resnet_search_within_one_percent(data):
    x, y, calib = data
    net = resnet_digits(width=8)
    names = [n.name for n in net.nodes if n.op in ("Conv", "Gemm")]
    assert len(names) == 7
    space = {n: width_options("mac=int{w}_sat", (10, 12, 14, 16, 18, 20, 24)) for n in names}
    r = precision_search(net, x, y, space, Target("top1", 0.01), calib=calib)
    assert r.row["top1"] >= r.row["float_top1"] - 0.01
    assert r.grid_size == 7 ** 7 and r.evaluations < 80
    assert r.row["cost_bitmacs"] < r.row["macs"] * (8 * 8 + 24)  # cheaper than all at 24 bits


def test_sqnr_target_and_format_options(data):
    x, y, calib = data
    space = {"conv2": [{"weight": "int4"}, {"weight": "int6"}, {"weight": "int8"}]}
    r = precision_search(load_onnx(model_path()), x, y, space,
                         Target("output_sqnr_db", max_drop=None, floor=20.0), calib=calib,
                         exhaustive_limit=10)
    assert r.row["output_sqnr_db"] >= 20.0 and r.exhaustive["matches"]
