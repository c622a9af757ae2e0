"""``run_sweep``: a grid of configurations over one network and dataset."""
from __future__ import annotations

import copy

import numpy as np

from ...errors import UsageError
from .grid import apply_point, config_hash, expand, fill_point
from .metrics import prepare_reference
from .runner import data_digest, run_configs

__all__ = ["run_sweep", "DEFAULT_BASE", "prepare"]

#: the base configuration when none is given (int8 operands, int32 bias, tflite requant)
DEFAULT_BASE = {"defaults": dict(input="int8", weight="int8", bias="int32", output="int8",
                                 mac="int32", requant="tflite")}


def prepare(net, x, y=None, calib=None):
    """Check the data, calibrate ``net`` once (on ``calib`` or ``x``); the float reference."""
    x = np.asarray(x)
    if x.ndim < 1 or len(x) < 1:
        raise UsageError(f"the data must hold at least one sample, got shape {x.shape}")
    if y is not None:
        y = np.asarray(y).astype(np.int64).reshape(-1)
        if len(y) != len(x):
            raise UsageError(f"labels: {len(y)} labels for {len(x)} samples")
    with np.errstate(all="ignore"):
        net.calibrate(calib if calib is not None else [x])
    return x, y, prepare_reference(net, x)


def run_sweep(net, x, y=None, axes=(), base=None, calib=None, cache=None, dask=None,
              progress=False, prepared=None) -> list:
    """Rows of every grid point (first axis slowest); see docs/sweeps.md.

    Parameters
    ----------
    net : :class:`hwsim.network.Network` (float or quantized model)
    x, y : inputs [N, ...] and optional integer labels [N]
    axes : [(key, [values]), ...] (:mod:`.grid`)
    base : base configuration dict (default :data:`DEFAULT_BASE`)
    calib : list of calibration batches (default ``[x]``)
    cache : folder of the resumable cache (None: no cache)
    dask : None (serial) or dict(scheduler=ADDRESS or None, workers=2)
    prepared : (x, y, ref) from :func:`prepare` when ``net`` is already calibrated
    """
    x, y, ref = prepared or prepare(net, x, y, calib)
    base = copy.deepcopy(base if base is not None else DEFAULT_BASE)
    points = expand(list(axes)) if axes else [{}]
    cfgs = [apply_point(base, p) for p in points]
    rows = run_configs(net, cfgs, x, y, ref, cache=cache, dask=dask, progress=progress)
    ctx = data_digest(net, x, y)
    return [dict(fill_point(p), hash=config_hash(c, ctx), **r) for p, c, r in zip(points, cfgs, rows)]
