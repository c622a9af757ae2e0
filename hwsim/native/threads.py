"""The one thread pool and chunker of hwsim.

Every parallel C call goes through here.  The C functions release the GIL, and
each element's result depends only on its input, its global index and the
options, so how work is split never changes a bit.

* :func:`run_chunked` splits ``n`` items (elements, or rows of ``item_size``
  elements) into contiguous ranges, one per thread, runs ``call(start, stop)``
  on them and raises the error of the lowest failing range.
* :func:`run_ranges` runs ``fn(r0, r1)`` over caller-made ranges: the calling
  thread and ``threads - 1`` pool workers take them in turn (a work queue, for
  ranges of uneven cost); it returns the results in range order.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from .ffi import lib, raise_status
from .tuning import PARALLEL_THRESHOLD


def default_threads() -> int:
    """Threads to use when the caller does not say: HWSIM_NUM_THREADS, else all cores."""
    env = os.environ.get("HWSIM_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"HWSIM_NUM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"HWSIM_NUM_THREADS must be >= 1, got {n}")
        return n
    return _cpu_count()


@lru_cache(maxsize=1)
def _cpu_count() -> int:
    return os.cpu_count() or 1  # a syscall per query: asked once


_POOL: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process-wide worker pool (created on first use, max(2, cores) workers)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    return _POOL


def chunks(n: int, threads: int, min_chunk: int = PARALLEL_THRESHOLD // 2, *,
           item_size: int = 1, align: int = 64) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges of ``n`` items, at most one per thread.

    An item is ``item_size`` elements (1 for flat arrays, the row length for
    rows).  No range holds fewer than ``min_chunk`` elements (so there is one
    range below ``2 * min_chunk`` elements), and range starts are multiples of
    ``align`` items.
    """
    total = n * item_size
    if threads <= 1 or total < 2 * min_chunk or n < 2:
        return [(0, n)]
    k = min(threads, n, max(1, total // min_chunk))
    step = -(-n // k)
    step = (step + align - 1) // align * align
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def run_chunked(call, n: int, threads: int, what: str, *,
                min_chunk: int = PARALLEL_THRESHOLD // 2, item_size: int = 1,
                align: int = 64) -> int:
    """Run ``call(start, stop) -> (rc, flags, err_index relative to start)`` over
    :func:`chunks` and return the OR of the flags.

    The first range runs on the calling thread while the pool takes the others.
    On errors the lowest failing range wins, so the reported element
    (``start * item_size + err_index``) is the first offending one, as with one
    thread.
    """
    ranges = chunks(n, threads, min_chunk, item_size=item_size, align=align)
    if len(ranges) == 1:
        results = [call(0, n)]
    else:
        futures = [pool().submit(call, a, b) for a, b in ranges[1:]]
        first = call(*ranges[0])
        results = [first] + [fu.result() for fu in futures]
    flags = 0
    for (start, _), (rc, fl, ei) in zip(ranges, results):
        if rc != lib.HW_OK:
            raise_status(rc, start * item_size + ei, what)
        flags |= fl
    return flags


def run_ranges(fn, ranges, threads: int) -> list:
    """``[fn(r0, r1) for (r0, r1) in ranges]``, computed by the calling thread and
    ``threads - 1`` pool workers taking ranges in turn.

    For ranges of uneven cost (MAC row blocks).  ``fn`` must release the GIL
    to gain anything and must not depend on which thread runs it.
    """
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
    futures = [pool().submit(worker) for _ in range(min(threads, len(ranges)) - 1)]
    try:
        worker()
    finally:
        for fu in futures:
            fu.result()
    return results
