"""Sweep grids: paths into the config, variables and templates, hashing, the cache and the
metrics that do not need a network run to be checked."""
import json

import pytest

from hwsim.errors import ConfigError, UsageError
from hwsim.network.sweep import apply_point, config_hash, expand, parse_axis
from hwsim.network.sweep.grid import fill_point, set_path
from hwsim.network.sweep.output import flatten, pareto_front
from hwsim.network.sweep.runner import Cache

BASE = {"defaults": {"mac": "int32"}}


def test_parse_axis_forms():
    assert parse_axis("defaults.mac=int16_sat,int32") == ("defaults.mac", ["int16_sat", "int32"])
    assert parse_axis("defaults.mac.accumulator.bits=12,16") == ("defaults.mac.accumulator.bits",
                                                                 [12, 16])
    assert parse_axis('defaults.mac.tiling=[null, {"T": 16, "psum_format": "bfloat16"}]')[1] == \
        [None, {"T": 16, "psum_format": "bfloat16"}]
    for item in ("defaults.mac", "=1,2", "defaults.mac=", "k=[1,"):
        with pytest.raises(UsageError, match="--grid"):
            parse_axis(item)


def test_expand_order_first_axis_slowest():
    pts = expand([("defaults.input", ["int8", "int4"]), ("defaults.mac", ["int16", "int32"])])
    assert [(p["defaults.input"], p["defaults.mac"]) for p in pts] == [
        ("int8", "int16"), ("int8", "int32"), ("int4", "int16"), ("int4", "int32")]


def test_layer_path_creates_a_name_entry_and_mac_path_expands_the_preset():
    cfg = apply_point(BASE, {"layers.conv1.weight": "int4",
                             "layers.conv1.mac.accumulator.bits": 14})
    e = cfg["layers"][0]
    assert e["name"] == "conv1" and e["weight"] == "int4"
    assert e["mac"]["type"] == "MacUnit" and e["mac"]["accumulator"]["bits"] == 14
    assert e["mac"]["accumulator"]["overflow"] == "wrap"  # int32 preset: wrap-around
    assert BASE == {"defaults": {"mac": "int32"}}  # not changed


def test_format_names_in_mac_dicts_become_format_dicts():
    cfg = apply_point(BASE, {"defaults.mac.tiling": {"T": 8, "psum_format": "bfloat16"}})
    assert cfg["defaults"]["mac"]["tiling"]["psum_format"]["kind"] == "float"


def test_variables_templates_and_select():
    axes = [("kind", ["sat", "float"]), ("w", [12, 16]),
            ("defaults.mac.accumulator", [{"$select": "kind",
                                           "sat": {"type": "IntAccumulator", "bits": "${w}",
                                                   "overflow": "saturate"},
                                           "float": {"type": "FloatAccumulator",
                                                     "fmt": "e8m${w - 9}"}}]),
            ("defaults.bias", ["int${min(w, 14)}"])]
    pts = [fill_point(p) for p in expand(axes)]
    assert pts[1]["defaults.mac.accumulator"] == {"type": "IntAccumulator", "bits": 16,
                                                  "overflow": "saturate"}
    assert pts[3]["defaults.mac.accumulator"]["fmt"] == "e8m7"
    assert [p["defaults.bias"] for p in pts] == ["int12", "int14", "int12", "int14"]
    cfg = apply_point(BASE, expand(axes)[3])
    assert cfg["defaults"]["mac"]["accumulator"]["fmt"]["exp_bits"] == 8


def test_unused_variable_and_bad_template_are_errors():
    with pytest.raises(UsageError, match="no value uses"):
        expand([("mac", ["int16"])])
    with pytest.raises(UsageError, match="cannot evaluate"):
        fill_point({"w": 3, "defaults.mac": "int${w ** 2}"})
    with pytest.raises(UsageError, match="twice"):
        expand([("defaults.mac", ["int16"]), ("defaults.mac", ["int32"])])


def test_invalid_point_is_a_config_error_naming_the_path():
    with pytest.raises(ConfigError, match="defaults.requant"):
        apply_point(BASE, {"defaults.requant": "nope"})


def test_set_path_rejects_unknown_roots():
    with pytest.raises(UsageError, match="defaults.KEY"):
        set_path({}, "mac.bits", 3)


def test_hash_is_canonical_and_depends_on_context():
    a = config_hash({"x": 1, "y": [1, 2]}, "c")
    assert a == config_hash(json.loads('{"y": [1, 2], "x": 1}'), "c")
    assert a != config_hash({"x": 1, "y": [1, 2]}, "d")
    assert a != config_hash({"x": 2, "y": [1, 2]}, "c")


def test_cache_round_trip_and_damaged_entry(tmp_path):
    c = Cache(str(tmp_path / "c"))
    assert c.get("h") is None
    c.put("h", {"cfg": 1}, {"top1": 0.5})
    assert c.get("h") == {"top1": 0.5}
    (tmp_path / "c" / "h.json").write_text("{broken")
    assert c.get("h") is None  # recomputed, not a crash


def test_pareto_front_and_flatten():
    rows = [dict(top1=0.9, cost_bitmacs=10), dict(top1=0.8, cost_bitmacs=12),
            dict(top1=0.95, cost_bitmacs=20), dict(top1=0.5, cost_bitmacs=5)]
    assert pareto_front(rows) == [3, 0, 2]
    f = flatten(dict(w=1, macs_by_type={"a": 3}, layers={"c": {"sqnr_db": 2.0}}))
    assert f == {"w": 1, "macs[a]": 3, "c.sqnr_db": 2.0}


def test_image_folder_dataset(tmp_path):
    import numpy as np
    from PIL import Image

    from hwsim.network.sweep.data import load_dataset, take

    for c, v in (("b_cls", 200), ("a_cls", 50)):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 4), v + i, np.uint8)).save(tmp_path / c / f"{i}.png")
    x, y, calib = load_dataset(str(tmp_path), size=(3, 2), grayscale=True, mean=(0.5,), std=(0.25,))
    assert x.shape == (4, 1, 3, 2) and list(y) == [0, 0, 1, 1] and calib is None
    np.testing.assert_array_equal(x[0], np.float32((50 / 255 - 0.5) / 0.25))  # sorted classes
    assert take(x, y, 3)[0].shape[0] == 3
    with pytest.raises(UsageError, match=r"--n must be an integer in 1\.\.4"):
        take(x, y, 5)
