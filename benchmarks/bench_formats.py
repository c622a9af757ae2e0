"""Encode / decode throughput of hwsim against ml_dtypes ``astype``, in one run.

Run from the repository root (after building the C extension in place)::

    python benchmarks/bench_formats.py            # 4 Mi elements, best of 7
    python benchmarks/bench_formats.py --n 1000000 --repeat 15
    python benchmarks/bench_formats.py --scan --formats bfloat16 float8_e4m3fn

For each format it converts the same float32 array (a normal distribution scaled so
that about 0.05 % of the values overflow and, where the format's range allows it,
some land in the subnormal range) and prints millions of elements per second:

* ``encode``: float32 -> codes.  ml_dtypes: ``x.astype(ml_dtypes.<type>)``;
  hwsim: ``hwsim.encode(x, fmt, threads=1)`` and ``threads=2``.
* ``decode``: codes -> float64.  ml_dtypes: ``y.astype(np.float64)``;
  hwsim: ``hwsim.decode(codes, fmt, threads=...)`` (hwsim always decodes to float64).

Each number is the best of ``--repeat`` timed calls (after one warm-up call); the
calls of one row are interleaved (ml_dtypes, 1 thread, 2 threads, again...), so the
ratio columns compare hwsim and ml_dtypes under the same machine conditions.
``same bits`` says whether hwsim's codes equal ml_dtypes' bytes for that data (both
use round-to-nearest-even and the format's default overflow behaviour).

Block formats are measured if this tree has them, on the data of their element
format shaped (n / 1024, 1024) so that rows can go to different threads: MXFP8
(``mxfp8_e4m3``, 32-element blocks with an E8M0 scale) and NVFP4 (16-element
blocks with an E4M3 scale and the default FP32 tensor scale, computed inside the
call).  ml_dtypes has no block format, so their ratio is against the plain
``astype`` to the element format (float8_e4m3fn, float4_e2m1fn) of the same data.

This is a plain script, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes is a dev dependency
    sys.exit("bench_formats.py needs ml_dtypes (pip install ml_dtypes)")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import hwsim  # noqa: E402  (the checkout's hwsim, built in place)
from hwsim import native  # noqa: E402

FORMATS = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "bfloat16"]
#: block formats and the element format whose ml_dtypes astype they are compared with
BLOCK_FORMATS = [("mxfp8_e4m3", "float8_e4m3fn"), ("nvfp4", "float4_e2m1fn")]


def best_rates(fns, n: int, repeat: int) -> list[float]:
    """Millions of elements per second of each fn() on n elements, best of `repeat`.

    The calls are interleaved (one of each per round) so that every candidate
    sees the same machine conditions: on a shared machine the memory bandwidth
    left to this process drifts, and a baseline timed a minute apart from its
    competitor would make the ratio drift with it.
    """
    for fn in fns:
        fn()  # warm-up: tables, thread pool, page cache
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return [n / b / 1e6 for b in best]


def make_data(fmt, n: int, seed: int = 0) -> np.ndarray:
    """float32 normal values scaled so that |x| > max_finite for ~0.05 % of them."""
    rng = np.random.default_rng(seed)
    scale = float(fmt.max_finite) / 3.5
    with np.errstate(over="ignore"):
        return (rng.standard_normal(n) * scale).astype(np.float32)


def machine_notes() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [f"cpu: {cpu}, {os.cpu_count()} logical cores, load average {load:.2f}",
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"ml_dtypes {ml_dtypes.__version__}"]


def row(name: str, op: str, ref: float, r1: float, r2: float, same: str) -> str:
    return (f"{name:<16}{op:<8}{ref:>10.1f}{r1:>10.1f}{r1 / ref:>8.2f}x"
            f"{r2:>10.1f}{r2 / ref:>8.2f}x  {same}")


def bench_scalar(name: str, n: int, repeat: int) -> list[str]:
    fmt = hwsim.format(name)
    mld = getattr(ml_dtypes, name)
    x = make_data(fmt, n)
    y = x.astype(mld)
    codes = hwsim.encode(x, fmt, threads=1)
    same = "yes" if np.array_equal(codes, y.view(codes.dtype)) else "NO"
    out = [row(name, "encode", *best_rates([lambda: x.astype(mld),
                                            lambda: hwsim.encode(x, fmt, threads=1),
                                            lambda: hwsim.encode(x, fmt, threads=2)], n, repeat),
               same)]
    vals = hwsim.decode(codes, fmt)
    ref = y.astype(np.float64)
    dsame = "yes" if np.array_equal(vals, ref, equal_nan=True) else "NO"
    out.append(row(name, "decode", *best_rates([lambda: y.astype(np.float64),
                                                lambda: hwsim.decode(codes, fmt, threads=1),
                                                lambda: hwsim.decode(codes, fmt, threads=2)],
                                               n, repeat), dsame))
    return out


def bench_block(name: str, ref_name: str, n: int, repeat: int) -> list[str]:
    """A block format on the data of its element format, shaped (n / 1024, 1024);
    the ratios are against ml_dtypes' astype to the element format."""
    try:
        fmt = hwsim.format(name)
        x = make_data(hwsim.format(ref_name), n)
        if n % 1024 == 0:  # a 2-D tensor: rows of blocks can be split over threads
            x = x.reshape(n // 1024, 1024)
        bt = hwsim.encode(x, fmt, threads=1)
        hwsim.decode(bt)
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return [f"{name:<16}{'both':<8}n/a (not in this tree)"]
    mld = getattr(ml_dtypes, ref_name)
    out = [row(name, "encode", *best_rates([lambda: x.astype(mld),
                                            lambda: hwsim.encode(x, fmt, threads=1),
                                            lambda: hwsim.encode(x, fmt, threads=2)], n, repeat),
               f"(ratio vs {ref_name} astype)")]
    y = x.astype(mld)
    out.append(row(name, "decode", *best_rates([lambda: y.astype(np.float64),
                                                lambda: hwsim.decode(bt),
                                                lambda: hwsim.decode(bt)], n, repeat),
                   "(decode takes no threads)"))
    return out


def scan_threads(names, repeat: int) -> None:
    """1 vs 2 threads over sizes 2^16 .. 2^22: where a split starts to pay (the
    minimum chunk constants of hwsim/native/tuning.py were read off this table)."""
    print(f"{'format':<16}{'log2 n':>7}{'enc 1T':>9}{'enc 2T':>9}{'dec 1T':>9}{'dec 2T':>9}"
          f"  chunks (enc/dec, 2 threads)")
    for name in names:
        fmt = hwsim.format(name)
        for lg in range(16, 23):
            n = 1 << lg
            x = make_data(fmt, n)
            c = hwsim.encode(x, fmt)
            r = best_rates([lambda: hwsim.encode(x, fmt, threads=1),
                            lambda: hwsim.encode(x, fmt, threads=2),
                            lambda: hwsim.decode(c, fmt, threads=1),
                            lambda: hwsim.decode(c, fmt, threads=2)],
                           n, max(repeat, (1 << 22) // n))
            flat = fmt.exp_bits == 8 and fmt.bias == 127
            ch = native.chunks(n, 2, native.tuning.FLAT_MIN_CHUNK if flat
                               else native.tuning.PARALLEL_THRESHOLD // 2)
            print(f"{name:<16}{lg:>7}" + "".join(f"{v:>9.0f}" for v in r) + f"  {len(ch)}",
                  flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1 << 22, help="elements per array (default 4Mi)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per number (best kept)")
    ap.add_argument("--formats", nargs="*", default=FORMATS, help="scalar formats to run")
    ap.add_argument("--scan", action="store_true",
                    help="instead: 1 vs 2 threads over sizes 2^16..2^22 for --formats")
    args = ap.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        ap.error(f"--n and --repeat must be >= 1, got {args.n} and {args.repeat}")
    for line in machine_notes():
        print(line)
    if args.scan:
        scan_threads(args.formats, args.repeat)
        return
    print(f"n = {args.n} float32 elements, best of {args.repeat}; rates in M elements/s\n")
    head = (f"{'format':<16}{'op':<8}{'ml_dtypes':>10}{'hwsim 1T':>10}{'ratio':>9}"
            f"{'hwsim 2T':>10}{'ratio':>9}  same bits")
    print(head)
    print("-" * len(head))
    for name in args.formats:
        for line in bench_scalar(name, args.n, args.repeat):
            print(line, flush=True)
    for name, ref_name in BLOCK_FORMATS:
        for line in bench_block(name, ref_name, args.n, args.repeat):
            print(line, flush=True)


if __name__ == "__main__":
    main()
