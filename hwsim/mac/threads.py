"""Row splitting and thread running for the MAC kernels, and their thresholds.

Every MAC kernel computes each output in one thread, so no split changes a
bit; the split only decides speed.  One runner (:func:`run_ranges`) serves
the general engine and the fast paths.  The thresholds below are the MAC
package's tuning constants, kept here in one place.
"""
from __future__ import annotations

import threading

from .. import _native

#: general engine (hw_mac_gemm): outputs x K below which one thread is used
ENGINE_PARALLEL_WORK = 1 << 15
#: engine: row ranges per thread (balances rows of uneven cost)
ENGINE_RANGES_PER_THREAD = 4
#: fast paths: outputs x K below which one thread is used
FAST_PARALLEL_WORK = 1 << 16
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


def run_ranges(fn, ranges, threads: int) -> list:
    """[fn(r0, r1) for each range], computed by the calling thread and up to
    threads - 1 pool workers taking ranges in turn (results in range order)."""
    if len(ranges) == 1 or threads <= 1:
        return [fn(*r) for r in ranges]
    results = [None] * len(ranges)
    todo = iter(range(len(ranges)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            results[i] = fn(*ranges[i])
    futures = [_native._pool().submit(worker) for _ in range(min(threads, len(ranges)) - 1)]
    try:
        worker()
    finally:
        for fu in futures:
            fu.result()
    return results
