"""The instruction-level ceiling of exact integer statistics on this CPU.

Not a test: prints a table.  Exact statistics of an integer register (max |sum|,
bits needed, overflow events) need the running max and min of every register state:
one ``vpmaxsd`` and one ``vpminsd`` per 16 int32 lanes per add.  The stats-off kernels
need neither, only ``vpdpbusd`` (AVX-512 VNNI: 64 uint8 x int8 products per
instruction).  ``benchmarks/floor_kernels.c`` (compiled here with cffi, not part of
hwsim) runs those instruction mixes over registers only, with no memory traffic and
registers allocated by hand, so the rates are what the execution units sustain: an
upper bound for any kernel, ours included.  Columns: G instructions/s, G MAC/s, the
ratio to the vpdpbusd-only loop (the best on / off a kernel with those statistics
can reach) and to onnxruntime's MatMulInteger (uint8 x int8, 256x1024x256, one
intra-op thread, CPU time) measured in the same run.
Run: ``PYTHONPATH=. python benchmarks/bench_stats_floor.py [--seconds S]``.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

#: (loop index in floor_kernels.c, name, instructions per round, products per round):
#: every loop takes 8 register states per round (8 accumulators)
LOOPS = [
    (0, "vpdpbusd only (stats off)", 8, 8 * 64),
    (1, "fan_in=4 uint8 x int8: vpdpbusd + max + min", 24, 8 * 64),
    (6, "the same, max / min after the 8 vpdpbusd", 24, 8 * 64),
    (2, "fan_in=4 int8 x int8: vpdpbusd + add + max + min", 32, 8 * 64),
    (3, "fan_in=8: 2 vpdpbusd + max + min", 32, 8 * 128),
    (4, "fan_in=16: 4 vpdpbusd + max + min", 48, 8 * 256),
    (5, "fan_in=1 bound: max + min only, 16 products per state", 16, 8 * 16),
]


def build():
    """cffi module around floor_kernels.c, built in a temporary directory."""
    from cffi import FFI
    ffi = FFI()
    ffi.cdef("int floor_loop(int which, int64_t n, int32_t *sink);")
    with open(os.path.join(HERE, "floor_kernels.c")) as f:
        src = f.read()
    ffi.set_source("_hwsim_floor", src, extra_compile_args=["-O2"])
    with tempfile.TemporaryDirectory(prefix="hwsim_floor_") as tmp:
        path = ffi.compile(tmpdir=tmp, verbose=False)
        spec = importlib.util.spec_from_file_location("_hwsim_floor", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)  # loaded: the directory may go
    return mod.ffi, mod.lib


def rates(lib, ffi, loops, seconds):
    """Rounds per second of each loop: the best of 7 rounds in which the loops run in
    turn (~seconds/7 each), so that all of them see the same machine; the best, not
    the median: a ceiling is what the units sustain when nothing else runs."""
    sink = ffi.new("int32_t[16]")
    sizes = []
    for which in loops:
        n = 1 << 12
        while True:
            t0 = time.thread_time()
            if lib.floor_loop(which, n, sink) != 0:
                return None
            dt = time.thread_time() - t0
            if dt > 0.01:
                break
            n *= 4
        sizes.append(int(n * (seconds / 7) / dt) + 1)
    best = [0.0] * len(loops)
    for _ in range(7):
        for i, (which, n) in enumerate(zip(loops, sizes)):
            t0 = time.thread_time()
            lib.floor_loop(which, n, sink)
            best[i] = max(best[i], n / (time.thread_time() - t0))
    return best


def ort_rate():
    """onnxruntime MatMulInteger uint8 x int8 MAC/s on one thread (CPU time), or None."""
    sys.path.insert(0, HERE)
    from bench_mac import K, M, N, medians, ort_matmul_integer
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (M, K)).astype(np.uint8)
    b = rng.integers(-128, 128, (K, N)).astype(np.int8)
    fn = ort_matmul_integer(a, b, 1)
    if fn is None:
        return None
    return M * N * K / medians([fn], 15, time.thread_time)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="time per loop (default 1 s, in 7 slices)")
    args = ap.parse_args()
    ffi, lib = build()
    ort = ort_rate()
    rows = []
    got = rates(lib, ffi, [x[0] for x in LOOPS], args.seconds)
    if got is None:
        print("this CPU has no AVX-512 VNNI: nothing to measure")
        return
    for (_, name, instr, prods), r in zip(LOOPS, got):
        rows.append((name, r * instr, r * prods))
    off = rows[0][2]
    print(f"onnxruntime MatMulInteger u8 x s8, 1 thread: "
          f"{'-' if ort is None else f'{ort / 1e9:.1f} G MAC/s'}")
    print("| loop | G instr/s | G MAC/s | x stats off | x onnxruntime |")
    print("|---|---|---|---|---|")
    for name, ips, macs in rows:
        ort_x = "-" if ort is None else f"{macs / ort:.2f}"
        print(f"| {name} | {ips / 1e9:.2f} | {macs / 1e9:.1f} | {macs / off:.2f} | {ort_x} |")

if __name__ == "__main__":
    main()
