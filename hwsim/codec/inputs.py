"""Input checks shared by the codecs: real arrays, thread counts."""
from __future__ import annotations

import numpy as np

from .. import native


def as_float_array(x, name: str = "x") -> np.ndarray:
    """x as a C-contiguous float32/float64 array (exact conversion or an error)."""
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f" and a.dtype.itemsize <= 8:  # float16 and friends: exact
        return np.ascontiguousarray(a, dtype=np.float64)
    if a.dtype.kind in "iu":
        if a.size and int(np.max(np.abs(a.astype(np.float64)))) > 2**53:
            raise ValueError(f"{name}: integers beyond 2**53 are not exact in float64")
        return np.ascontiguousarray(a, dtype=np.float64)
    if a.dtype.kind == "O":
        try:
            return np.ascontiguousarray(a.astype(np.float64))
        except (TypeError, ValueError):
            pass
    if a.dtype.kind == "V" and a.dtype.itemsize in (1, 2):  # ml_dtypes types view as V
        raise TypeError(f"{name}: decode ml_dtypes arrays to float32 first")
    if a.dtype.kind in "fcbSUVMm" or a.dtype.kind == "O":
        raise TypeError(f"{name} must be a real float or integer array, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


def check_threads(threads) -> int:
    """The thread count to use: ``threads`` checked, or the default (HWSIM_NUM_THREADS / cores)."""
    if threads is None:
        return native.default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return int(threads)
