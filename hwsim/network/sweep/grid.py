"""Sweep grids: axes over paths into the network JSON config, expanded in a fixed order.

An axis is ``(key, values)``.  ``key`` is a dotted path into the configuration
dictionary of :mod:`hwsim.network.config`:

- ``defaults.mac``, ``defaults.weight``, ``defaults.requant`` ... (a LayerConfig key);
- ``layers.<name>.<key>``: the override entry ``{"name": <name>}`` (created when
  missing), e.g. ``layers.conv1.input``; ``layers.<i>.<key>`` indexes the list;
- deeper into a MacUnit dict: ``defaults.mac.accumulator.bits``,
  ``defaults.mac.tiling.T`` (a preset name there is first expanded to its
  ``MacUnit.to_dict()``);
- a name without a dot (e.g. ``w``) is a *variable*: it sets nothing itself, and
  strings of other values containing ``${expr}`` are filled in with it
  (``expr``: integers, variables, + - * //, min(), max()), e.g. ``--grid w=12,16
  --grid 'defaults.mac=int${w}_sat'``.  A value that is exactly ``"${w}"``
  keeps the variable's type.  ``{"$select": "kind", "a": A, "b": B}`` is ``A``
  or ``B`` (filled in turn) as the variable ``kind`` is ``"a"`` or ``"b"``.

Values: ``key=v1,v2`` (each parsed as JSON when it is valid JSON, else a string),
or ``key=[...]`` (a JSON list, for values that hold commas).  The grid is the
Cartesian product of the axes, first axis slowest.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import itertools
import json
import re

from ...errors import UsageError
from ...formats import format as parse_format
from ..config import load_config, make_mac

__all__ = ["parse_axis", "load_grid_file", "expand", "apply_point", "set_path", "config_hash", "fill_point",
           "point_label"]

_TOP = ("calibration_samples", "nan_policy")
_VAR = re.compile(r"\$\{([^}]*)\}")


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_axis(item: str, param: str = "--grid") -> tuple:
    """``"key=v1,v2"`` or ``"key=[json list]"`` -> (key, [values])."""
    key, eq, rest = str(item).partition("=")
    key = key.strip()
    if not eq or not key or not rest.strip():
        raise UsageError(f"{param} must be KEY=V1,V2,... (e.g. defaults.mac=int16_sat,int32), "
                         f"got {item!r}")
    rest = rest.strip()
    if rest.startswith("["):
        try:
            vals = json.loads(rest)
        except json.JSONDecodeError as e:
            raise UsageError(f"{param} {key}: the value list is not valid JSON: {e}") from None
    else:
        vals = [_value(v.strip()) for v in rest.split(",")]
    if not vals:
        raise UsageError(f"{param} {key}: needs at least one value")
    return key, list(vals)


def load_grid_file(path: str) -> list:
    """Axes from a JSON / YAML file: an object ``{key: [values], ...}`` (file order)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise UsageError(f"--grid-file {path}: YAML needs PyYAML (pip install pyyaml)") from None
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"--grid-file {path}: not valid YAML: {str(e).splitlines()[0]}") \
                from None
    else:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"--grid-file {path}: not valid JSON: {e}") from None
    if not isinstance(d, dict) or not all(isinstance(v, list) and v for v in d.values()):
        raise UsageError(f"--grid-file {path}: must be an object of non-empty lists "
                         "{\"key\": [v1, v2], ...}")
    return [(str(k), list(v)) for k, v in d.items()]


def _check_vars(axes) -> None:
    text = json.dumps([v for k, v in axes if "." in k])
    for k, _ in axes:
        if "." in k:
            continue
        if not re.fullmatch(r"[A-Za-z_]\w*", k) or k in ("defaults", "layers"):
            raise UsageError(f"--grid key {k!r} must be defaults.KEY[.SUB...], layers.NAME.KEY"
                             "[.SUB...] or a variable name used as ${name} in other values")
        if k in ("calibration_samples", "nan_policy"):
            continue
        if not (re.search(r"\$\{[^}]*\b" + k + r"\b", text) or f'"$select": "{k}"' in text):
            raise UsageError(f"--grid key {k!r}: a key without a dot is a variable, but no value "
                             f"uses ${{{k}}}; config keys are defaults.KEY or layers.NAME.KEY")


def expand(axes) -> list:
    """Every grid point as a dict key -> value, first axis slowest."""
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise UsageError(f"--grid: a key is given twice in {keys}")
    _check_vars(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in axes))]


def _eval(expr: str, env: dict):
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        raise UsageError(f"--grid: ${{{expr}}} is not an expression") from None

    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name) and n.id in env:
            return env[n.id]
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("min", "max")
                and not n.keywords):
            return (min if n.func.id == "min" else max)(ev(a) for a in n.args)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            a, b = ev(n.left), ev(n.right)
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(n.op)) \
                if not isinstance(n.op, ast.FloorDiv) else a // b
        raise UsageError(f"--grid: cannot evaluate ${{{expr}}} (integers, grid variables "
                         f"{sorted(env)}, + - * // and min / max only)")
    return ev(node)


def _fill(v, env):
    if isinstance(v, str):
        m = _VAR.fullmatch(v)
        if m:
            return _eval(m.group(1), env)
        return _VAR.sub(lambda mm: str(_eval(mm.group(1), env)), v)
    if isinstance(v, list):
        return [_fill(x, env) for x in v]
    if isinstance(v, dict) and "$select" in v:
        name = v["$select"]
        if name not in env or str(env[name]) not in v:
            raise UsageError(f"--grid: $select {name!r}: no entry for {env.get(name)!r} "
                             f"(entries {sorted(k for k in v if k != '$select')})")
        return _fill(v[str(env[name])], env)
    if isinstance(v, dict):
        return {k: _fill(x, env) for k, x in v.items()}
    return v


def _layer_entry(layers: list, seg: str) -> dict:
    if seg.isdigit():
        i = int(seg)
        if i >= len(layers):
            raise UsageError(f"--grid: layers.{i} does not exist (the config has {len(layers)} "
                             "layer entries)")
        return layers[i]
    for e in layers:
        if e.get("name") == seg and "op" not in e:
            return e
    layers.append({"name": seg})
    return layers[-1]


def _step(node, seg: str, cfg: dict):
    if isinstance(node, list):
        if not seg.isdigit() or int(seg) >= len(node):
            raise UsageError(f"--grid: index {seg!r} is not in a list of {len(node)}")
        return node[int(seg)]
    child = node.get(seg)
    if seg == "mac" and not isinstance(child, dict):
        # a preset name (or the default's) expanded to its MacUnit dict
        spec = child or cfg.get("defaults", {}).get("mac", "int32")
        if isinstance(spec, dict):
            child = copy.deepcopy(spec)
        else:
            child = make_mac(spec, "int8", "int8").to_dict()
        node[seg] = child
    elif child is None:
        child = node[seg] = {}
    return child


def set_path(cfg: dict, key: str, value) -> None:
    """Set ``key`` (a dotted path, module docstring) in the config dict ``cfg``."""
    segs = key.split(".")
    if segs[0] in ("calibration_samples", "nan_policy") and len(segs) == 1:
        cfg[segs[0]] = value
        return
    if segs[0] == "defaults" and len(segs) >= 2:
        node, rest = cfg.setdefault("defaults", {}), segs[1:]
    elif segs[0] == "layers" and len(segs) >= 3:
        node, rest = _layer_entry(cfg.setdefault("layers", []), segs[1]), segs[2:]
    else:
        raise UsageError(f"--grid key {key!r} must be defaults.KEY[.SUB...], "
                         "layers.NAME.KEY[.SUB...], calibration_samples or nan_policy")
    for seg in rest[:-1]:
        node = _step(node, seg, cfg)
        if not isinstance(node, (dict, list)):
            raise UsageError(f"--grid key {key!r}: {seg!r} holds a value, not an object")
    if isinstance(node, list):
        node[int(rest[-1])] = value
    else:
        node[rest[-1]] = value


_FMT_KEYS = ("fmt", "out_fmt", "psum_format", "product", "bias_format")


def _norm_mac(d):
    """Format names in a MacUnit dict (``"float16"``) as the format dicts it stores."""
    if isinstance(d, list):
        return [_norm_mac(v) for v in d]
    if not isinstance(d, dict):
        return d
    out = {}
    for k, v in d.items():
        if k in _FMT_KEYS and isinstance(v, str):
            try:
                v = parse_format(v).to_dict()
            except (ValueError, TypeError) as e:
                raise UsageError(f"--grid: mac {k}={v!r}: {e}") from None
        out[k] = _norm_mac(v)
    return out


def fill_point(point: dict) -> dict:
    """``point`` with its ``${expr}`` templates filled in from its variables."""
    env = {k: v for k, v in point.items() if "." not in k and k not in _TOP}
    return {k: (_fill(v, env) if "." in k else v) for k, v in point.items()}


def apply_point(base: dict, point: dict) -> dict:
    """The config dict of one grid point (``base`` is not changed); validated."""
    cfg = copy.deepcopy(base)
    for k, v in fill_point(point).items():
        if "." in k or k in _TOP:
            set_path(cfg, k, v)
    for entry in [cfg.get("defaults", {})] + list(cfg.get("layers", [])):
        if isinstance(entry.get("mac"), dict):
            entry["mac"] = _norm_mac(entry["mac"])
    load_config(cfg)  # ConfigError naming the path for an invalid point
    return cfg


def config_hash(cfg: dict, context: str = "") -> str:
    """sha256 of the canonical JSON of ``cfg`` plus ``context`` (model + data digest)."""
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str) + "|" + context
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def point_label(point: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in point.items())
