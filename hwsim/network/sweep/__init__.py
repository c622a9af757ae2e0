"""Design-space sweeps and precision search over network configurations (docs/sweeps.md).

- :mod:`.grid`: grid axes as paths into the config dict, expansion, hashing;
- :mod:`.metrics`: one configuration's metrics and the cost model;
- :mod:`.runner`: serial / Dask execution through a resumable cache
  (:mod:`.distributed`: the Dask back end);
- :mod:`.output`, :mod:`.plots`: CSV / JSON / Parquet and PNG plots;
- :mod:`.search`: per-layer sensitivity and greedy precision search;
- :mod:`.data`: datasets (npz, image folders, the bundled digits).
"""
from __future__ import annotations

from .api import DEFAULT_BASE, prepare, run_sweep
from .grid import apply_point, config_hash, expand, load_grid_file, parse_axis
from .output import flatten, format_rows, pareto_front, write_csv, write_json, write_parquet

__all__ = ["run_sweep", "prepare", "DEFAULT_BASE", "apply_point", "config_hash", "expand",
           "parse_axis", "load_grid_file", "flatten", "format_rows", "pareto_front", "write_csv", "write_json",
           "write_parquet"]
