"""Running a list of configurations: serially or on Dask, through a resumable cache.

Every finished configuration is written at once to the cache folder as
``<hash>.json`` (atomic rename), the hash being :func:`.grid.config_hash` of the
configuration plus a digest of the model, its calibration and the data.  A rerun
(or a run after a crash or a killed worker) computes only what is missing.  Rows
are returned in the order of the configurations, whatever the order they finished
in, and pass through JSON either way, so a cached row and a fresh one are equal.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np

from ..._atomic import atomic_file
from ...errors import UsageError
from .grid import config_hash
from .metrics import eval_config

__all__ = ["Cache", "data_digest", "run_configs"]


class Cache:
    """A folder of finished rows, one JSON file per configuration hash (None: no cache)."""

    def __init__(self, folder):
        self.folder = folder
        if folder:
            os.makedirs(folder, exist_ok=True)

    def _path(self, h):
        return os.path.join(self.folder, f"{h}.json")

    def get(self, h):
        if not self.folder or not os.path.isfile(self._path(h)):
            return None
        try:
            with open(self._path(h), encoding="utf-8") as f:
                return json.load(f)["row"]
        except (OSError, ValueError, KeyError):
            return None  # a damaged entry is recomputed

    def put(self, h, cfg, row) -> None:
        if self.folder:
            with atomic_file(self._path(h)) as f:
                json.dump(dict(config=cfg, row=row), f, sort_keys=True)


def data_digest(net, x, y) -> str:
    """Digest of the model's layers, its calibration statistics and the data."""
    h = hashlib.sha256()
    for n in net.nodes:
        h.update(f"{n.name}|{n.op}|{n.inputs}|{n.outputs}|{sorted(n.attrs.items())!r}".encode())
        for a in (n.weight, n.bias):
            if a is not None:
                h.update(np.ascontiguousarray(a).tobytes())
    for k in sorted(net.stats or {}):
        h.update(k.encode() + np.ascontiguousarray(net.stats[k]).tobytes())
    for a in (x, y):
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(str((a.dtype, a.shape)).encode() + a.tobytes())
    return h.hexdigest()[:20]


class _Progress:
    def __init__(self, total, show):
        self.bar, self.n, self.total, self.show = None, 0, total, show
        if show:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc="sweep", unit="config", file=sys.stderr)
            except ImportError:
                pass

    def step(self, k=1):
        self.n += k
        if self.bar is not None:
            self.bar.update(k)
        elif self.show:
            print(f"sweep: {self.n}/{self.total} configurations", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_configs(net, cfgs, x, y, ref, cache=None, dask=None, progress=False) -> list:
    """Rows of every config dict in ``cfgs`` (same order).

    ``dask``: None (serial, in this process) or a dict ``scheduler`` (address or
    None: a LocalCluster), ``workers`` (LocalCluster processes, default 2).
    """
    cache = cache if isinstance(cache, Cache) else Cache(cache)
    ctx = data_digest(net, x, y)
    hashes = [config_hash(c, ctx) for c in cfgs]
    rows: dict = {}
    for h in hashes:
        if h not in rows:
            got = cache.get(h)
            if got is not None:
                rows[h] = got
    todo = {}
    for h, c in zip(hashes, cfgs):
        if h not in rows:
            todo.setdefault(h, c)
    bar = _Progress(len(set(hashes)), progress)
    if rows:
        bar.step(len(rows))
    try:
        if dask is None:
            saved = net.config
            try:
                for h, c in todo.items():
                    rows[h] = eval_config(net, c, x, y, ref)
                    cache.put(h, c, rows[h])
                    bar.step()
            finally:
                net.set_config(saved)
        else:
            from .distributed import run_on_dask

            run_on_dask(net, todo, x, y, ref, rows, cache, bar, **dask)
    finally:
        bar.close()
    missing = [h for h in hashes if h not in rows]
    if missing:
        raise UsageError(f"{len(missing)} configurations did not finish; rerun with the same "
                         "--cache to compute only those")
    return [rows[h] for h in hashes]
