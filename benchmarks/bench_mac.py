"""MAC-unit throughput against numpy float32 matmul, measured in the same run.

Not a test: prints a table.  M = N = 256, K = 1024 (67 M multiply-adds per
matmul).  Columns: wall-clock MAC/s with hwsim's default threads (best of
several runs) and its ratio to numpy's ``a32 @ b32`` timed the same way in
the same run (nothing unset: numpy uses its own BLAS threads); and the
per-core rate from CPU time with ``threads=1`` (robust when other processes
share the machine).  Every timing is the best of 4 x repeat calls after a
50 ms warm-up; numpy is timed at the start and at the end, and the faster of
the two is the baseline.  Run: ``PYTHONPATH=. python benchmarks/bench_mac.py
[--quick]``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import hwsim
from hwsim.mac import (FloatAccumulator, IntAccumulator, MacUnit, fused_multi_term_preset,
                       matmul)

M = N = 256
K = 1024


def best(fn, repeat: int, clock=time.perf_counter) -> float:
    t0 = time.perf_counter()  # warm up (tables, threads, page faults, idle cores
    fn()                      # clocking up) for at least 50 ms
    while time.perf_counter() - t0 < 0.05:
        fn()
    t_best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        t_best = min(t_best, clock() - t0)
    return t_best


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 2 if quick else 5
    rng = np.random.default_rng(0)
    macs = M * N * K
    a32 = rng.standard_normal((M, K)).astype(np.float32)
    b32 = rng.standard_normal((K, N)).astype(np.float32)
    t_np = best(lambda: a32 @ b32, repeat * 4)
    # OpenBLAS's worker threads busy-wait for a while (about 0.1 s) after a
    # call: let them park before timing hwsim's threads on the same cores
    time.sleep(0.3)
    e4m3 = hwsim.format("float8_e4m3fn")
    a8, b8 = hwsim.encode(a32, e4m3), hwsim.encode(b32, e4m3)
    ai = rng.integers(0, 256, (M, K)).astype(np.uint8)
    bi = rng.integers(0, 256, (K, N)).astype(np.uint8)
    amx = hwsim.encode(a32, "mxfp4", axis=-1)
    bmx = hwsim.encode(b32, "mxfp4", axis=0)
    rows = []

    def bench(name, mac, a, b, stats, goal=None, reps=repeat * 4):  # as many as numpy's
        res = {}

        def run(threads=None):
            res["r"] = matmul(a, b, mac, stats=stats, threads=threads)
        t_wall = best(run, reps)
        t_cpu = best(lambda: run(1), max(1, reps // 2), time.thread_time)
        rows.append((name, "yes" if stats else "no", res["r"].path, macs / t_wall, None,
                     macs / t_cpu, goal))

    fp32 = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator("float32", "rne"))
    for st in (False, True):
        bench("E4M3 x E4M3 -> fp32 rne, sequential", fp32, a8, b8, st, 0.5)
    for fmt in ("float16", "bfloat16"):
        for mode in ("rne", "rtz"):
            mac = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator(fmt, mode))
            for st in (False, True):
                bench(f"E4M3 x E4M3 -> {fmt} {mode} per MAC", mac, a8, b8, st, 0.1)
    i32 = MacUnit("int8", "int8", accumulator=IntAccumulator(32, "wrap"))
    for st in (False, True):
        bench("int8 x int8 -> int32 wrap", i32, ai, bi, st, 0.5)
    i20 = MacUnit("int8", "int8", accumulator=IntAccumulator(20, "saturate"))
    for st in (False, True):
        bench("int8 x int8 -> int20 saturate", i20, ai, bi, st, 0.1)
    h100 = MacUnit(e4m3, e4m3, accumulator=fused_multi_term_preset("h100_fp8"))
    bench("E4M3 x E4M3 -> H100-FP8 fused multi-term", h100, a8, b8, False, None, 1)
    mx = MacUnit("mxfp4", "mxfp4", accumulator=FloatAccumulator("float32", "rne"))
    for st in (False, True):
        bench("MXFP4 x MXFP4 -> fp32 rne, sequential", mx, amx, bmx, st)
    gen = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator("float32", "rna"))
    bench("E4M3 x E4M3 -> fp32 rna (general engine)", gen, a8, b8, False, None, 1)

    # numpy once more at the end (the machine is shared): the faster of the two
    # is the baseline every ratio uses
    t_np = min(t_np, best(lambda: a32 @ b32, repeat * 4))
    np_rate = macs / t_np
    rows = [(name, st, path, rate, rate / np_rate, cpu_rate, goal)
            for name, st, path, rate, _, cpu_rate, goal in rows]
    print(f"MAC units, M = N = {M}, K = {K} ({macs / 1e6:.0f} M MACs per matmul), "
          f"{os.cpu_count()} cores, best of {repeat * 4} after a 50 ms warm-up")
    print(f"numpy float32 a32 @ b32: {t_np * 1e3:.2f} ms = {np_rate / 1e9:.1f} G MAC/s "
          "(an earlier quiet run of this machine: ~87 G MAC/s)")
    print()
    print(f"| {'configuration':42s} | stats | {'path':10s} | wall MAC/s | x numpy | goal   "
          f"| 1-thread MAC/s (CPU time) |")
    print("|" + "-" * 44 + "|-------|" + "-" * 12 + "|------------|---------|--------|"
          + "-" * 27 + "|")
    for name, st, path, rate, ratio, cpu_rate, goal in rows:
        g = "" if goal is None else f">= {goal}"
        print(f"| {name:42s} | {st:5s} | {path:10s} | {rate / 1e9:7.2f} G  | {ratio:7.3f} | "
              f"{g:6s} | {cpu_rate / 1e9:22.2f} G |")


if __name__ == "__main__":
    main()
