"""Encode / decode throughput of hwsim against ml_dtypes ``astype``, in one run.

Run from the repository root (after building the C extension in place)::

    python benchmarks/bench_formats.py            # 4 Mi elements, best of 7
    python benchmarks/bench_formats.py --n 1000000 --repeat 15

For each format it converts the same float32 array (a normal distribution scaled so
that about 0.05 % of the values overflow and, where the format's range allows it,
some land in the subnormal range) and prints millions of elements per second:

* ``encode``: float32 -> codes.  ml_dtypes: ``x.astype(ml_dtypes.<type>)``;
  hwsim: ``hwsim.encode(x, fmt, threads=1)`` and ``threads=2``.
* ``decode``: codes -> float64.  ml_dtypes: ``y.astype(np.float64)``;
  hwsim: ``hwsim.decode(codes, fmt, threads=...)`` (hwsim always decodes to float64).

Each number is the best of ``--repeat`` timed calls (after one warm-up call), and the
ratio columns are hwsim / ml_dtypes measured in the same process moments apart.
``same bits`` says whether hwsim's codes equal ml_dtypes' bytes for that data (both
use round-to-nearest-even and the format's default overflow behaviour).

MXFP8 (``mxfp8_e4m3``, 32-element blocks with an E8M0 scale, on the same data
shaped (n / 1024, 1024) so that rows can go to different threads) is measured if
this tree has it; ml_dtypes has no block format, so its ratio is against the
plain float8_e4m3fn ``astype`` of the same data (the element conversion alone).

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

FORMATS = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "bfloat16"]
MX_NAME = "mxfp8_e4m3"


def best_rate(fn, n: int, repeat: int) -> float:
    """Millions of elements per second of fn() on n elements: best of `repeat` runs."""
    fn()  # warm-up: tables, thread pool, page cache
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best / 1e6


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
    out = [row(name, "encode", best_rate(lambda: x.astype(mld), n, repeat),
               best_rate(lambda: hwsim.encode(x, fmt, threads=1), n, repeat),
               best_rate(lambda: hwsim.encode(x, fmt, threads=2), n, repeat), same)]
    vals = hwsim.decode(codes, fmt)
    ref = y.astype(np.float64)
    dsame = "yes" if np.array_equal(vals, ref, equal_nan=True) else "NO"
    out.append(row(name, "decode", best_rate(lambda: y.astype(np.float64), n, repeat),
                   best_rate(lambda: hwsim.decode(codes, fmt, threads=1), n, repeat),
                   best_rate(lambda: hwsim.decode(codes, fmt, threads=2), n, repeat), dsame))
    return out


def bench_mx(n: int, repeat: int) -> list[str]:
    try:
        fmt = hwsim.format(MX_NAME)
        x = make_data(hwsim.format("float8_e4m3fn"), n)
        if n % 1024 == 0:  # a 2-D tensor: rows of blocks can be split over threads
            x = x.reshape(n // 1024, 1024)
        bt = hwsim.encode(x, fmt, threads=1)
        hwsim.decode(bt)
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return [f"{MX_NAME:<16}{'both':<8}n/a (not in this tree)"]
    ref = best_rate(lambda: x.astype(ml_dtypes.float8_e4m3fn), n, repeat)
    out = [row(MX_NAME, "encode", ref,
               best_rate(lambda: hwsim.encode(x, fmt, threads=1), n, repeat),
               best_rate(lambda: hwsim.encode(x, fmt, threads=2), n, repeat),
               "(ratio vs e4m3fn astype)")]
    y = x.astype(ml_dtypes.float8_e4m3fn)
    dref = best_rate(lambda: y.astype(np.float64), n, repeat)
    out.append(row(MX_NAME, "decode", dref,
                   best_rate(lambda: hwsim.decode(bt), n, repeat),
                   best_rate(lambda: hwsim.decode(bt), n, repeat),
                   "(decode takes no threads)"))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1 << 22, help="elements per array (default 4Mi)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per number (best kept)")
    ap.add_argument("--formats", nargs="*", default=FORMATS, help="scalar formats to run")
    args = ap.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        ap.error(f"--n and --repeat must be >= 1, got {args.n} and {args.repeat}")
    for line in machine_notes():
        print(line)
    print(f"n = {args.n} float32 elements, best of {args.repeat}; rates in M elements/s\n")
    head = (f"{'format':<16}{'op':<8}{'ml_dtypes':>10}{'hwsim 1T':>10}{'ratio':>9}"
            f"{'hwsim 2T':>10}{'ratio':>9}  same bits")
    print(head)
    print("-" * len(head))
    for name in args.formats:
        for line in bench_scalar(name, args.n, args.repeat):
            print(line, flush=True)
    for line in bench_mx(args.n, args.repeat):
        print(line, flush=True)


if __name__ == "__main__":
    main()
