"""MAC-unit throughput against numpy float32 matmul, measured in the same run.

Not a test: prints a table.  M = N = 256, K = 1024 (67 M multiply-adds per
matmul), the best of several runs, all cores (hwsim's default threads).
Run: ``PYTHONPATH=. python benchmarks/bench_mac.py [--quick]``.
"""
from __future__ import annotations

import sys
import time

import numpy as np

import hwsim
from hwsim import blockformats
from hwsim.mac import (FloatAccumulator, IntAccumulator, MacUnit, fused_multi_term_preset,
                       matmul)

M = N = 256
K = 1024


def best_time(fn, repeat: int) -> float:
    fn()  # warm up (LUTs, thread pool, page faults)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 2 if quick else 5
    rng = np.random.default_rng(0)
    macs = M * N * K
    a32 = rng.standard_normal((M, K)).astype(np.float32)
    b32 = rng.standard_normal((K, N)).astype(np.float32)
    t_np = best_time(lambda: a32 @ b32, repeat * 4)
    np_rate = macs / t_np
    e4m3 = hwsim.format("float8_e4m3fn")
    a8 = hwsim.encode(a32, e4m3)
    b8 = hwsim.encode(b32, e4m3)
    ai = rng.integers(0, 256, (M, K)).astype(np.uint8)
    bi = rng.integers(0, 256, (K, N)).astype(np.uint8)
    rows = []

    def bench(name, mac, a, b, stats, goal=None, reps=repeat):
        res = {}

        def run():
            res["r"] = matmul(a, b, mac, stats=stats)
        t = best_time(run, reps)
        rate = macs / t
        rows.append((name, "yes" if stats else "no", res["r"].path, rate, rate / np_rate, goal))

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
    general = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator("float32", "rtz"))
    bench("E4M3 x E4M3 -> fp32 rtz (general engine)", general, a8, b8, False, None, 1)

    print(f"MAC units, M = N = {M}, K = {K} ({macs / 1e6:.0f} M MACs per matmul), "
          f"best of {repeat}")
    print(f"numpy float32 a32 @ b32: {t_np * 1e3:.2f} ms = {np_rate / 1e9:.1f} G MAC/s")
    print()
    print(f"| {'configuration':44s} | stats | {'path':10s} | {'MAC/s':>10s} | vs numpy | goal |")
    print("|" + "-" * 46 + "|-------|" + "-" * 12 + "|------------|----------|------|")
    for name, st, path, rate, ratio, goal in rows:
        g = "" if goal is None else f">= {goal}"
        print(f"| {name:44s} | {st:5s} | {path:10s} | {rate / 1e9:7.2f} G  | {ratio:8.3f} | {g:4s} |")
    if not blockformats.NAMES:
        print("\nMXFP4 operands: not run (block formats have not landed in this branch).")


if __name__ == "__main__":
    main()
