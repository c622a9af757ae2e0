"""Precision configuration: validation messages, resolution order, round trips."""
import json

import pytest

from hwsim.network import ConfigError, LayerConfig, NetworkConfig, load_config
from hwsim.network.config import CONFIG_SCHEMA, make_mac


def test_resolution_defaults_then_op_then_name():
    cfg = NetworkConfig.from_dict({
        "defaults": {"mac": "int32", "requant": "tflite"},
        "layers": [{"name": "conv1", "weight": "int4"},
                   {"op": "Conv", "weight": "int6", "mac": "int24_sat"},
                   {"op": "Gemm", "requant": "onnx"}]})
    c1 = cfg.for_layer("conv1", "Conv")
    assert (c1.weight, c1.mac, c1.requant) == ("int4", "int24_sat", "tflite")  # name beats op
    c2 = cfg.for_layer("conv2", "Conv")
    assert (c2.weight, c2.mac) == ("int6", "int24_sat")
    assert cfg.for_layer("fc", "MatMul").requant == "onnx"  # Gemm entries cover MatMul
    assert cfg.for_layer("pool", "MaxPool") == cfg.defaults


def test_round_trip_json(tmp_path):
    cfg = NetworkConfig.from_dict({"defaults": {"output": "float8_e4m3fn", "mac": "int20"},
                                   "layers": [{"name": "a", "calibration": {"method": "mmse", "grid": 10}}],
                                   "calibration_samples": 3})
    p = tmp_path / "c.json"
    p.write_text(cfg.to_json())
    assert load_config(str(p)) == cfg
    assert NetworkConfig.from_dict(json.loads(cfg.to_json())).to_dict() == cfg.to_dict()
    assert LayerConfig.from_dict(cfg.defaults.to_dict()) == cfg.defaults


@pytest.mark.parametrize("bad,needle", [
    ({"defaults": {"requant": "floor"}}, "defaults.requant must be one of"),
    ({"defaults": {"weight": "int99"}}, "defaults.weight"),
    ({"layers": [{"op": "Conv", "mac": "int99_sat"}]}, "layers[0].mac"),
    ({"layers": [{"weight": "int4"}]}, "layers[0] needs 'name' or 'op'"),
    ({"layers": [{"name": "x", "colour": 1}]}, "layers[0]: unknown key(s) ['colour']"),
    ({"defaults": {"calibration": {"method": "kl"}}}, "defaults.calibration.method"),
    ({"defaults": {"calibration": {"percentile": 120}}}, "defaults.calibration.percentile"),
    ({"defaults": {"order": "kh,cin"}}, "defaults.order"),
    ({"defaults": {"per_channel": "yes"}}, "defaults.per_channel"),
    ({"calibration_samples": 0}, "calibration_samples"),
    ({"extra": 1}, "unknown key(s) ['extra']"),
])
def test_validation_messages_name_the_path(bad, needle):
    with pytest.raises(ConfigError) as e:
        NetworkConfig.from_dict(bad)
    assert needle in str(e.value)


def test_schema_lists_every_layer_key():
    from hwsim.network.config import LAYER_KEYS

    props = CONFIG_SCHEMA["$defs"]["layer"]["properties"]
    assert set(LAYER_KEYS) <= set(props)


def test_yaml_needs_pyyaml_or_loads(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("defaults:\n  mac: int16_sat\n")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="PyYAML"):
            load_config(str(p))
    else:
        assert load_config(str(p)).defaults.mac == "int16_sat"


def test_make_mac_int_presets():
    m = make_mac("int13_sat", "int8", "int4")
    assert m.a_fmt.bits == 8 and m.b_fmt.bits == 4
    with pytest.raises(ConfigError):
        make_mac("int1", "int8", "int8")


def test_override_naming_an_unknown_layer_is_an_error():
    import numpy as np

    from hwsim.network import Network
    from hwsim.network.config import ConfigError

    net = Network({"x": (1, 4)}, config={"layers": [{"name": "fc9", "mac": "int16_sat"}]})
    net.add("Gemm", "x", "y", name="fc", weight=np.ones((4, 2)))
    net.outputs = ["y"]
    with pytest.raises(ConfigError, match=r"unknown layer name 'fc9'.*\['fc'\]"):
        net.plan()
