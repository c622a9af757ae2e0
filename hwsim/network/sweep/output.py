"""Sweep results on disk: CSV, JSON, Parquet (pyarrow) and PNG plots (matplotlib).

A result row is the grid point's values, ``hash``, the whole-network metrics and
``layers`` (name -> per-layer metrics).  CSV and Parquet flatten it: per-layer
metrics become columns ``<layer>.<metric>``, MAC counts ``macs[<type>]``.
"""
from __future__ import annotations

import csv
import json
import math

from ..._atomic import atomic_file, atomic_path
from ...errors import UsageError

__all__ = ["flatten", "write_csv", "write_json", "write_parquet", "format_rows",
           "pareto_front"]

_SKIP = ("layers", "macs_by_type", "config")


def flatten(row: dict) -> dict:
    out = {k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
           for k, v in row.items() if k not in _SKIP}
    for t, n in sorted(row.get("macs_by_type", {}).items()):
        out[f"macs[{t}]"] = n
    for name, lr in row.get("layers", {}).items():
        for k, v in lr.items():
            out[f"{name}.{k}"] = v
    return out


def _columns(flat):
    cols: list = []
    for r in flat:
        cols += [k for k in r if k not in cols]
    return cols


def write_csv(rows, path) -> None:
    flat = [flatten(r) for r in rows]
    with atomic_file(path, newline="") as f:
        w = csv.DictWriter(f, fieldnames=_columns(flat))
        w.writeheader()
        w.writerows(flat)


def write_json(rows, path) -> None:
    with atomic_file(path) as f:
        json.dump(rows, f, indent=1)


def write_parquet(rows, path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("Parquet output needs pyarrow: pip install 'hwsim[sweep]'") from None
    flat = [flatten(r) for r in rows]
    cols = _columns(flat)
    data = {}
    for c in cols:
        vals = [r.get(c) for r in flat]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {int, float} and float in kinds:
            vals = [None if v is None else float(v) for v in vals]
        elif len(kinds) > 1:
            vals = [None if v is None else str(v) for v in vals]
        data[c] = vals
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(data), tmp)


def format_rows(rows, keys) -> str:
    """A text table of the point values and the main metrics."""
    cols = list(keys) + [c for c in ("top1", "agreement", "output_sqnr_db", "overflow_events",
                                     "cost_bitmacs", "traffic_bytes") if c in rows[0]]
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    w = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(n) for c, n in zip(cols, w))]
    lines += ["  ".join(x.rjust(n) for x, n in zip(cl, w)) for cl in cells]
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e6 or math.isinf(v) else f"{v:.4g}"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def pareto_front(rows, acc="top1", cost="cost_bitmacs") -> list:
    """Indices of the rows no other row beats on both accuracy (higher) and cost (lower)."""
    pts = sorted(range(len(rows)), key=lambda i: (rows[i][cost], -(rows[i][acc] or 0)))
    front, best = [], -math.inf
    for i in pts:
        a = rows[i][acc] if rows[i][acc] is not None else -math.inf
        if a > best:
            front.append(i)
            best = a
    return front
