"""Precision configuration of a network: defaults plus per-layer overrides.

A configuration is JSON (or YAML when PyYAML is installed)::

    {"defaults": {"input": "int8", "weight": "int8", "bias": "int32", "output": "int8",
                  "mac": "int32", "requant": "tflite"},
     "layers": [{"op": "Gemm", "mac": "int16_sat"},
                {"name": "conv1", "weight": "int4", "calibration": {"method": "mmse"}}]}

Resolution for a layer: ``defaults``, then every ``layers`` entry matching its op
type (in file order), then every entry matching its name.  The keys of a layer
entry (:data:`LAYER_KEYS`) and the top-level keys are described in
docs/architecture.md, "Precision configuration".
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace

from ..designs import DESIGNS, design_from_dict
from ..errors import ConfigError
from ..formats import format as parse_format
from ..ops import macbridge as br
from ..ops.conv import ORDERS
from ..ops.macbridge import MAC_PRESETS
from ..ops.ort_ops import ORT_MODES
from ..ops.pool import DIV_ROUNDINGS
from ..ops.requant import SHIFT_ROUNDINGS, STYLES
from ..ops.vector.unit import VECTOR_ROUNDINGS, vector_unit
from .inputs import parse_nan_policy

__all__ = ["LayerConfig", "NetworkConfig", "ConfigError", "MAC_PRESETS", "LAYER_KEYS",
           "CONFIG_SCHEMA", "load_config", "make_mac"]


CAL_METHODS = ("absmax", "percentile", "mmse")

_INT_MAC = re.compile(r"^int(\d+)(_sat)?$")


def is_mac_name(v) -> bool:
    """A preset name or ``int<N>`` / ``int<N>_sat`` (N in 2..64)."""
    if v in MAC_PRESETS:
        return True
    m = _INT_MAC.match(v)
    return bool(m) and 2 <= int(m.group(1)) <= 64


LAYER_KEYS = {
    "input": str, "weight": str, "bias": str, "output": str, "mac": (str, dict),
    "requant": str, "shift_rounding": str, "pool_rounding": str, "order": str,
    "calibration": dict, "weight_calibration": dict, "per_channel": bool, "symmetric": bool,
    "scale": str, "dequant": str, "vector": dict, "design": (dict, type(None)),
    "elementwise": str,
}

#: JSON Schema (draft 2020-12) of a configuration file; :func:`NetworkConfig.from_dict`
#: enforces the same rules with messages that name the offending path.
CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "defaults": {"$ref": "#/$defs/layer"},
        "layers": {"type": "array", "items": {"allOf": [
            {"$ref": "#/$defs/layer"},
            {"anyOf": [{"required": ["name"]}, {"required": ["op"]}]}]}},
        "calibration_samples": {"type": "integer", "minimum": 1},
        "nan_policy": {"anyOf": [{"enum": ["error", "propagate"]},
                                 {"type": "integer", "minimum": 0}]},
    },
    "$defs": {
        "cal": {"type": "object", "additionalProperties": False, "properties": {
            "method": {"enum": list(CAL_METHODS)},
            "percentile": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
            "grid": {"type": "integer", "minimum": 2}}},
        "layer": {"type": "object", "properties": {
            "name": {"type": "string"}, "op": {"type": "string"},
            "input": {"type": "string"}, "weight": {"type": "string"},
            "bias": {"type": "string"}, "output": {"type": "string"},
            "mac": {"anyOf": [{"enum": list(MAC_PRESETS)}, {"type": "string", "pattern": "^int[0-9]+(_sat)?$"},
                              {"type": "object"}]},
            "requant": {"enum": list(STYLES)},
            "shift_rounding": {"enum": list(SHIFT_ROUNDINGS)},
            "pool_rounding": {"enum": list(DIV_ROUNDINGS)},
            "order": {"enum": list(ORDERS)},
            "calibration": {"$ref": "#/$defs/cal"},
            "weight_calibration": {"$ref": "#/$defs/cal"},
            "per_channel": {"type": "boolean"}, "symmetric": {"type": "boolean"},
            "scale": {"enum": ["calibrate", "none"]},
            "dequant": {"type": "string"},
            "elementwise": {"enum": list(ORT_MODES)},
            "vector": {"type": "object", "additionalProperties": False, "properties": {
                "format": {"type": "string"}, "rounding": {"enum": list(VECTOR_ROUNDINGS)},
                "accumulator": {"anyOf": [{"type": "string"}, {"type": "object"}]},
                "functions": {"type": "object"}}},
            "design": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["name"],
                                                    "properties": {"name": {"enum": sorted(DESIGNS)}}}]}}},
    },
}


def _check_fmt(path, v):
    if v == "model":
        return
    try:
        parse_format(v)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{path}: {e}") from None


def _check_cal(path, d):
    extra = set(d) - {"method", "percentile", "grid"}
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {sorted(extra)}; allowed: method, percentile, grid")
    m = d.get("method", "absmax")
    if m not in CAL_METHODS:
        raise ConfigError(f"{path}.method must be one of {CAL_METHODS}, got {m!r}")
    p = d.get("percentile", 99.99)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 100:
        raise ConfigError(f"{path}.percentile must be a number in (0, 100], got {p!r}")
    g = d.get("grid", 64)
    if isinstance(g, bool) or not isinstance(g, int) or g < 2:
        raise ConfigError(f"{path}.grid must be an integer >= 2, got {g!r}")


@dataclass(frozen=True)
class LayerConfig:
    """Resolved precision settings of one layer (see the module docstring)."""

    input: str = "int8"
    weight: str = "int8"
    bias: str = "int32"
    output: str = "int8"
    mac: object = "int32"
    requant: str = "onnx"
    shift_rounding: str = "rne"
    pool_rounding: str = "rna"
    order: str = "cin,kh,kw"
    calibration: dict = field(default_factory=lambda: {"method": "absmax"})
    weight_calibration: dict = field(default_factory=lambda: {"method": "absmax"})
    per_channel: bool = True
    symmetric: bool = True
    scale: str = "calibrate"
    dequant: str = "auto"
    vector: dict = field(default_factory=dict)
    design: dict | None = None  #: an accelerator design (hwsim.designs) runs this MAC layer
    elementwise: str = "exact"  #: "ort": non-MAC int8 ops as onnxruntime computes them

    def __post_init__(self) -> None:
        validate_layer_dict(asdict(self), "layer")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerConfig":
        validate_layer_dict(d, "layer")
        return cls(**d)

    def merged(self, d: dict) -> "LayerConfig":
        d = {k: v for k, v in d.items() if k not in ("name", "op")}
        return replace(self, **d)


def validate_layer_dict(d: dict, path: str, allow_match=False) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f"{path} must be an object, got {type(d).__name__}")
    allowed = set(LAYER_KEYS) | ({"name", "op"} if allow_match else set())
    extra = set(d) - allowed
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {sorted(extra)}; allowed: {sorted(allowed)}")
    for k, v in d.items():
        if k in ("name", "op"):
            if not isinstance(v, str):
                raise ConfigError(f"{path}.{k} must be a string, got {v!r}")
            continue
        t = LAYER_KEYS[k]
        if not isinstance(v, t) or (t is not bool and isinstance(v, bool)):
            raise ConfigError(f"{path}.{k} must be {t}, got {v!r}")
        if k in ("input", "weight", "bias", "output"):
            _check_fmt(f"{path}.{k}", v)
        elif k == "mac" and isinstance(v, str) and not is_mac_name(v):
            raise ConfigError(f"{path}.mac must be one of {sorted(MAC_PRESETS)}, int<N>[_sat] "
                              f"(N in 2..64) or a MacUnit dict, got {v!r}")
        elif k == "elementwise" and v not in ORT_MODES:
            raise ConfigError(f"{path}.elementwise must be one of {ORT_MODES}, got {v!r}")
        elif k == "requant" and v not in STYLES:
            raise ConfigError(f"{path}.requant must be one of {STYLES}, got {v!r}")
        elif k == "shift_rounding" and v not in SHIFT_ROUNDINGS:
            raise ConfigError(f"{path}.shift_rounding must be one of {SHIFT_ROUNDINGS}, got {v!r}")
        elif k == "pool_rounding" and v not in DIV_ROUNDINGS:
            raise ConfigError(f"{path}.pool_rounding must be one of {DIV_ROUNDINGS}, got {v!r}")
        elif k == "order" and v not in ORDERS:
            raise ConfigError(f"{path}.order must be one of {ORDERS}, got {v!r}")
        elif k in ("calibration", "weight_calibration"):
            _check_cal(f"{path}.{k}", v)
        elif k == "scale" and v not in ("calibrate", "none"):
            raise ConfigError(f"{path}.scale must be 'calibrate' or 'none', got {v!r}")
        elif k == "vector":
            if v:
                vector_unit(v, f"{path}.vector")
        elif k == "design" and v is not None:
            try:
                design_from_dict(v)
            except ConfigError as e:
                raise ConfigError(f"{path}.design: {e}") from None
        elif k == "dequant" and v not in ("auto", "exact"):
            _check_fmt(f"{path}.{k}", v)
            if parse_format(v).kind != "float":
                raise ConfigError(f"{path}.dequant must be 'auto', 'exact' or a float format, "
                                  f"got {v!r}")
    if allow_match and "name" not in d and "op" not in d:
        raise ConfigError(f"{path} needs 'name' or 'op' to say which layers it applies to")


@dataclass(frozen=True)
class NetworkConfig:
    """Defaults plus ordered per-layer overrides (by op type, then by name)."""

    defaults: LayerConfig = field(default_factory=LayerConfig)
    layers: tuple = ()
    calibration_samples: int = 32
    nan_policy: object = "error"

    def __post_init__(self) -> None:
        object.__setattr__(self, "nan_policy", parse_nan_policy(self.nan_policy))

    def for_layer(self, name: str, op: str) -> LayerConfig:
        cfg = self.defaults
        for e in self.layers:
            if "name" not in e and _op_matches(e["op"], op):
                cfg = cfg.merged(e)
        for e in self.layers:
            if e.get("name") == name and ("op" not in e or _op_matches(e["op"], op)):
                cfg = cfg.merged(e)
        return cfg

    def check_names(self, names) -> None:
        """ConfigError for an override naming a layer that is not in ``names``."""
        for i, e in enumerate(self.layers):
            if "name" in e and e["name"] not in names:
                raise ConfigError(f"layers[{i}]: unknown layer name {e['name']!r}; the network's "
                                  f"layers are {list(names)}")

    def to_dict(self) -> dict:
        return dict(defaults=self.defaults.to_dict(), layers=[dict(e) for e in self.layers],
                    calibration_samples=self.calibration_samples, nan_policy=self.nan_policy)

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"config must be an object, got {type(d).__name__}")
        extra = set(d) - {"defaults", "layers", "calibration_samples", "nan_policy"}
        if extra:
            raise ConfigError(f"config: unknown key(s) {sorted(extra)}; allowed: "
                              "calibration_samples, defaults, layers, nan_policy")
        dd = d.get("defaults", {})
        validate_layer_dict(dd, "defaults")
        base = LayerConfig().merged(dd)
        layers = d.get("layers", [])
        if not isinstance(layers, list):
            raise ConfigError(f"layers must be a list, got {type(layers).__name__}")
        for i, e in enumerate(layers):
            validate_layer_dict(e, f"layers[{i}]", allow_match=True)
        n = d.get("calibration_samples", 32)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"calibration_samples must be an integer >= 1, got {n!r}")
        return cls(base, tuple(dict(e) for e in layers), n,
                   parse_nan_policy(d.get("nan_policy", "error"), "nan_policy"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


_OP_ALIASES = {"Gemm": ("Gemm", "MatMul", "Linear"), "MatMul": ("Gemm", "MatMul", "Linear"),
               "Linear": ("Gemm", "MatMul", "Linear")}


def _op_matches(pattern, op):
    return op in _OP_ALIASES.get(pattern, (pattern,))


def load_config(src) -> NetworkConfig:
    """A NetworkConfig from a dict, a JSON/YAML file path or a JSON string."""
    if isinstance(src, NetworkConfig):
        return src
    if src is None:
        return NetworkConfig()
    if isinstance(src, dict):
        return NetworkConfig.from_dict(src)
    s = str(src)
    if s.lstrip().startswith("{"):
        try:
            return NetworkConfig.from_dict(json.loads(s))
        except json.JSONDecodeError as e:
            raise ConfigError(f"config text is not valid JSON: {e}") from None
    with open(s, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{s}: not a text (UTF-8) file: {e}") from None
    if s.endswith((".yaml", ".yml")):
        try:
            import yaml  # optional dependency
        except ImportError:
            raise ConfigError(f"{s}: YAML configs need PyYAML (pip install pyyaml); use JSON otherwise") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:  # fuzz finding: scanner / reader errors of bad YAML
            raise ConfigError(f"{s}: not valid YAML: {str(e).splitlines()[0]}") from None
        return NetworkConfig.from_dict(data)
    try:
        return NetworkConfig.from_dict(json.loads(text))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{s}: not valid JSON: {e}") from None


def make_mac(spec, a_fmt, b_fmt, block=None):
    """A :class:`hwsim.mac.MacUnit` for scalar operand formats ``a_fmt``, ``b_fmt``.

    Parameters
    ----------
    spec : preset name (:data:`MAC_PRESETS`, ``int<N>``, ``int<N>_sat``) or a
        ``MacUnit.to_dict()`` dictionary (its ``a_fmt`` / ``b_fmt`` are replaced)
    a_fmt, b_fmt : the scalar formats the MAC unit sees (block operands
        already converted by :mod:`hwsim.mac.block`)
    block : for ``block_*`` presets: dict(a=block format or None, b=block
        format or None, chunk=int), the K-run length of one block
    """
    if isinstance(spec, dict):
        try:
            return br.mac_from_dict(spec, a_fmt, b_fmt)
        except br.MacSpecError as e:
            raise ConfigError(str(e)) from None
    if not is_mac_name(spec):
        raise ConfigError(f"mac must be one of {sorted(MAC_PRESETS)}, int<N>[_sat] or a MacUnit "
                          f"dict, got {spec!r}")
    try:
        return br.preset_mac(spec, a_fmt, b_fmt, block)
    except br.MacSpecError as e:
        raise ConfigError(str(e)) from None
