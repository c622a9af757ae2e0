"""User-given function tables of the vector unit, as NPUs implement exp, sigmoid, tanh ...

``{"lut": {"lo": L, "hi": H, "table": [y_0, ..., y_{n-1}]}}`` (n >= 2): a lookup table
over ``n`` evenly spaced points ``L + i (H - L) / (n - 1)``.  The index of a unit value
``x`` is ``i = clamp(floor((x - L) * (n - 1) / (H - L) + 1/2), 0, n - 1)`` (nearest
point, ties upward), computed in float64 (IEEE, the same on every machine; exact when
``(n - 1) / (H - L)`` is a power of two); the result is ``y_i`` rounded into the unit's
format when the table is loaded.  NaN inputs give NaN.

``{"pwl": {"x": [x_0, ..., x_n], "y": [y_0, ..., y_n]}}`` (n >= 1, x strictly
increasing): piecewise-linear interpolation in the unit's arithmetic.  Breakpoints and
values are rounded into the unit's format at load, and each segment's slope is
``s_i = fl(fl(y_{i+1} - y_i) / fl(x_{i+1} - x_i))``.  For ``x_i <= x < x_{i+1}``:
``y = fl(y_i + fl(fl(x - x_i) * s_i))`` (three unit operations, each rounded once);
``x < x_0`` gives ``y_0`` and ``x >= x_n`` gives ``y_n``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from . import arith

__all__ = ["LookupTable", "PiecewiseLinear", "parse_table"]


def _floats(v, path, min_len):
    if not isinstance(v, list) or len(v) < min_len or \
            not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in v):
        raise ConfigError(f"{path} must be a list of at least {min_len} numbers")
    a = np.asarray(v, np.float64)
    if not np.isfinite(a).all():
        raise ConfigError(f"{path} must hold finite numbers")
    return a


@dataclass(frozen=True, eq=False)
class LookupTable:
    lo: float
    hi: float
    table: np.ndarray
    kind: str = "lut"

    def index(self, x) -> np.ndarray:
        n = self.table.size
        with np.errstate(invalid="ignore"):
            i = np.floor((x - self.lo) * ((n - 1) / (self.hi - self.lo)) + 0.5)
        return np.clip(np.nan_to_num(i, nan=0.0), 0, n - 1).astype(np.int64)

    def apply(self, unit, x) -> np.ndarray:
        y = unit.const(self.table)[self.index(x)]
        return np.where(np.isnan(x), np.nan, y)


@dataclass(frozen=True, eq=False)
class PiecewiseLinear:
    x: np.ndarray
    y: np.ndarray
    kind: str = "pwl"

    def apply(self, unit, x) -> np.ndarray:
        xs, ys = unit.const(self.x), unit.const(self.y)
        if np.any(np.diff(xs) <= 0):
            raise ConfigError(f"pwl breakpoints collapse in {unit.fmt.name}: {list(xs)}")
        slope = arith.div(unit, arith.sub(unit, ys[1:], ys[:-1]), arith.sub(unit, xs[1:], xs[:-1]))
        seg = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, max(xs.size - 2, 0))
        if xs.size == 1:
            return np.where(np.isnan(x), np.nan, np.full(np.shape(x), ys[0]))
        inner = arith.add(unit, ys[seg], arith.mul(unit, arith.sub(unit, x, xs[seg]), slope[seg]))
        y = np.where(x < xs[0], ys[0], np.where(x >= xs[-1], ys[-1], inner))
        return np.where(np.isnan(x), np.nan, y)


def parse_table(v, path):
    """A :class:`LookupTable` or :class:`PiecewiseLinear` from its config entry."""
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in ("lut", "pwl"):
        raise ConfigError(f"{path} must be \"exact\", {{\"lut\": {{...}}}} or {{\"pwl\": {{...}}}}, "
                          f"got {v!r}")
    kind, d = next(iter(v.items()))
    if not isinstance(d, dict):
        raise ConfigError(f"{path}.{kind} must be an object")
    if kind == "lut":
        extra = set(d) - {"lo", "hi", "table"}
        if extra or not {"lo", "hi", "table"} <= set(d):
            raise ConfigError(f"{path}.lut needs exactly the keys lo, hi, table; got {sorted(d)}")
        lo, hi = _floats([d["lo"], d["hi"]], f"{path}.lut.lo/hi", 2)
        if not hi > lo:
            raise ConfigError(f"{path}.lut: hi must be > lo, got lo={lo}, hi={hi}")
        return LookupTable(float(lo), float(hi), _floats(d["table"], f"{path}.lut.table", 2))
    extra = set(d) - {"x", "y"}
    if extra or not {"x", "y"} <= set(d):
        raise ConfigError(f"{path}.pwl needs exactly the keys x, y; got {sorted(d)}")
    x, y = _floats(d["x"], f"{path}.pwl.x", 1), _floats(d["y"], f"{path}.pwl.y", 1)
    if x.size != y.size or np.any(np.diff(x) <= 0):
        raise ConfigError(f"{path}.pwl: x must be strictly increasing and as long as y "
                          f"({x.size} vs {y.size})")
    return PiecewiseLinear(x, y)
