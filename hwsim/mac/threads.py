"""Row splitting for the MAC kernels.

Every MAC kernel computes each output in one thread, so no split changes a
bit; the split only decides speed.  Ranges run on the package's one pool
(:func:`hwsim.native.run_ranges`); the thresholds live in
:mod:`hwsim.native.tuning` with every other tuning constant.
"""
from __future__ import annotations

from ..native import run_ranges, tuning

__all__ = ["row_ranges", "run_ranges", "ENGINE_PARALLEL_WORK", "ENGINE_RANGES_PER_THREAD",
           "FAST_PARALLEL_WORK", "FAST_RANGES_PER_THREAD"]

#: general engine (hw_mac_gemm): outputs x K below which one thread is used
ENGINE_PARALLEL_WORK = tuning.MAC_GEMM_PARALLEL_WORK
#: engine: row ranges per thread (balances rows of uneven cost)
ENGINE_RANGES_PER_THREAD = 4
#: fast paths: outputs x K below which one thread is used
FAST_PARALLEL_WORK = tuning.MAC_FAST_PARALLEL_WORK
#: fast paths: row ranges per thread (1 where each call repeats a fixed cost)
FAST_RANGES_PER_THREAD = 2


def row_ranges(m: int, threads: int, work: int, min_work: int, per_thread: int,
               unit: int = 1) -> list[tuple[int, int]]:
    """Split rows [0, m) into about threads * per_thread ranges, each a
    multiple of ``unit`` rows; one range when work < min_work."""
    if threads <= 1 or work < min_work or m <= unit:
        return [(0, m)]
    per = -(-m // (threads * per_thread))
    per = -(-per // unit) * unit
    return [(r, min(m, r + per)) for r in range(0, m, per)]
