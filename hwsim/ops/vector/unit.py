"""The vector unit's configuration: format, rounding, accumulator, function tables.

A layer config's ``vector`` entry (JSON)::

    {"format": "bfloat16", "rounding": "rne", "accumulator": "fp32",
     "functions": {"exp": {"pwl": {"x": [-4, 0], "y": [0, 1]}},
                   "sigmoid": {"lut": {"lo": -8, "hi": 8, "table": [...]}}}}

``format``: a float format of at most 24 significand bits inside float32's exponent
range (float32, float16, bfloat16, FP8 ...); ``rounding``: rne, rna, rtz, rup, rdn;
``accumulator``: the register of the unit's reductions, a MAC preset name (``fp32``,
``fp16``, ``bf16``) or a ``MacUnit.to_dict()`` dictionary; ``functions``: per function
name (:data:`VECTOR_FUNCTIONS`) ``"exact"`` (correctly rounded, the default) or a table
(:mod:`.tables`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...codec import decode, encode
from ...errors import ConfigError
from ...formats import format as parse_format
from . import funcs, tables

__all__ = ["VectorUnit", "vector_unit", "VECTOR_FUNCTIONS", "VECTOR_ROUNDINGS", "VECTOR_KEYS"]

VECTOR_FUNCTIONS = ("exp", "log", "sigmoid", "tanh", "erf", "rsqrt")
VECTOR_ROUNDINGS = ("rne", "rna", "rtz", "rup", "rdn")
VECTOR_KEYS = ("format", "rounding", "accumulator", "functions")


def _check_format(f, path):
    try:
        f = parse_format(f)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{path}.format: {e}") from None
    if f.kind != "float" or not f.signed:
        raise ConfigError(f"{path}.format must be a signed float format, got {f.name}")
    if f.man_bits > 23 or f.emax > 127 or f.range_bits[0] < -149:
        raise ConfigError(f"{path}.format must have at most 23 mantissa bits and lie inside "
                          f"float32's exponent range (2^-149 .. 2^127), got {f.name}")
    return f


@dataclass(frozen=True, eq=False)
class VectorUnit:
    """One configured vector unit (see the module docstring)."""

    fmt: object = "float32"
    rounding: str = "rne"
    accumulator: object = "fp32"
    functions: dict = field(default_factory=dict)  #: name -> "exact" or a table object

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", _check_format(self.fmt, "vector"))
        if self.rounding not in VECTOR_ROUNDINGS:
            raise ConfigError(f"vector.rounding must be one of {VECTOR_ROUNDINGS}, "
                              f"got {self.rounding!r}")
        object.__setattr__(self, "_overflow", self.fmt.default_overflow)

    # -- rounding into the unit's format ---------------------------------------------------
    def codes(self, v) -> np.ndarray:
        """Codes of float64 values rounded once into the unit's format."""
        return encode(np.asarray(v, np.float64), self.fmt, self.rounding, self._overflow)

    def value(self, codes) -> np.ndarray:
        return decode(codes, self.fmt)

    def rnd(self, v) -> np.ndarray:
        """Float64 values rounded once into the unit's format (values returned exactly).

        Exact for a float64 input; a float64 round-to-odd value of an exact result
        (:mod:`.arith`) rounds to the correctly rounded result."""
        return self.value(self.codes(v))

    def const(self, c) -> np.ndarray:
        """A model constant (float64) as a unit value."""
        return self.rnd(np.asarray(c, np.float64))

    # -- functions ---------------------------------------------------------------------------
    def fn(self, name, x) -> np.ndarray:
        """``name`` (:data:`VECTOR_FUNCTIONS`) of unit values ``x``: correctly rounded, or
        through the configured table."""
        t = self.functions.get(name, "exact")
        if t == "exact":
            return funcs.correctly_rounded(self, name, np.asarray(x, np.float64))
        return t.apply(self, np.asarray(x, np.float64))

    def describe(self) -> str:
        f = ", ".join(f"{k}: {v if v == 'exact' else v.kind}" for k, v in self.functions.items())
        acc = self.accumulator if isinstance(self.accumulator, str) else "MacUnit dict"
        return f"vector unit {self.fmt.name} {self.rounding}, accumulator {acc}" + \
            (f", functions {{{f}}}" if f else "")


def _functions(d, path) -> dict:
    if not isinstance(d, dict):
        raise ConfigError(f"{path} must be an object, got {type(d).__name__}")
    out = {}
    for k, v in d.items():
        if k not in VECTOR_FUNCTIONS:
            raise ConfigError(f"{path}: unknown function {k!r}; allowed: {VECTOR_FUNCTIONS}")
        out[k] = "exact" if v == "exact" else tables.parse_table(v, f"{path}.{k}")
    return out


def vector_unit(d, path="vector") -> VectorUnit:
    """A :class:`VectorUnit` from a config dict (``{}``: float32, rne, fp32, exact)."""
    if isinstance(d, VectorUnit):
        return d
    if not isinstance(d, dict):
        raise ConfigError(f"{path} must be an object, got {type(d).__name__}")
    extra = set(d) - set(VECTOR_KEYS)
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {sorted(extra)}; allowed: {list(VECTOR_KEYS)}")
    acc = d.get("accumulator", "fp32")
    if not isinstance(acc, (str, dict)):
        raise ConfigError(f"{path}.accumulator must be a MAC preset name or a MacUnit dict, "
                          f"got {acc!r}")
    return VectorUnit(d.get("format", "float32"), d.get("rounding", "rne"), acc,
                      _functions(d.get("functions", {}), f"{path}.functions"))
