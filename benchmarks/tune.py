"""Measure where splitting work over threads starts to pay, and print (or write)
``hwsim/native/tuning.py``.

    python benchmarks/tune.py              # measure, print the file to stdout
    python benchmarks/tune.py --write      # measure, overwrite hwsim/native/tuning.py
    python benchmarks/tune.py --defaults   # print the file with the current values

Thresholds only change speed, never a result.  For each splittable kernel the
script times 1 and 2 threads on arrays of 2^14 .. 2^22 elements (best of
``--repeat``) and takes the smallest size from which 2 threads stay faster by
``--margin``; the per-thread minimum is half of it.  Thresholds with no
measurement here (the decode-table sizes, the MAC work thresholds) keep their
current values.  On a busy machine the figures are noisy: run it idle.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hwsim  # noqa: E402  (the checkout's hwsim, built in place)
from hwsim.native import tuning  # noqa: E402

NAMES = ("PARALLEL_THRESHOLD", "FLAT_MIN_CHUNK", "BLOCK_MIN_CHUNK", "LUT_MAX_BITS",
         "LUT_MIN_CODES", "MAC_FAST_PARALLEL_WORK", "MAC_GEMM_PARALLEL_WORK")
PATH = os.path.join(os.path.dirname(tuning.__file__), "tuning.py")


def _best(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def crossover(make_call, repeat: int, margin: float) -> int | None:
    """Smallest n = 2^k (k = 14..22) from which make_call(n, 2) beats make_call(n, 1)."""
    found = None
    for lg in range(22, 13, -1):  # from the top: the first size where 2T stops winning ends it
        n = 1 << lg
        one = _best(make_call(n, 1), repeat)
        two = _best(make_call(n, 2), repeat)
        if two * margin < one:
            found = n
        else:
            break
    return found


def _encode_call(fmt_name: str):
    fmt = hwsim.format(fmt_name)
    rng = np.random.default_rng(0)

    def make(n: int, threads: int):
        x = rng.standard_normal(n).astype(np.float32)
        return lambda: hwsim.encode(x, fmt, threads=threads)
    return make


def _block_call(fmt_name: str):
    rng = np.random.default_rng(0)

    def make(n: int, threads: int):
        x = rng.standard_normal((max(1, n // 1024), 1024)).astype(np.float32)
        return lambda: hwsim.encode(x, fmt_name, threads=threads)
    return make


def measure(repeat: int, margin: float) -> dict:
    """Current values, with the three chunk sizes replaced by measured ones."""
    vals = {k: getattr(tuning, k) for k in NAMES}
    for key, make, per_thread in (
            ("PARALLEL_THRESHOLD", _encode_call("float8_e4m3fn"), False),
            ("FLAT_MIN_CHUNK", _encode_call("bfloat16"), True),
            ("BLOCK_MIN_CHUNK", _block_call("mxfp8_e4m3"), True)):
        n = crossover(make, repeat, margin)
        if n is not None:
            vals[key] = n // 2 if per_thread else n
        print(f"# {key}: 2 threads win from n = {n}", file=sys.stderr)
    return vals


def render(vals: dict) -> str:
    """The text of hwsim/native/tuning.py for these values (comments kept)."""
    with open(PATH) as fh:
        lines = fh.read().splitlines()
    out = []
    for ln in lines:
        name = ln.split(" = ")[0] if " = " in ln and not ln.startswith("#") else None
        if name in vals:
            v = vals[name]
            lg = v.bit_length() - 1
            out.append(f"{name} = 1 << {lg}" if v == 1 << lg and v >= 1024 else f"{name} = {v}")
        else:
            out.append(ln)
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="overwrite hwsim/native/tuning.py")
    ap.add_argument("--defaults", action="store_true", help="no measuring: current values")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per point (best kept)")
    ap.add_argument("--margin", type=float, default=1.1,
                    help="2 threads must be this many times faster than 1")
    a = ap.parse_args(argv)
    vals = {k: getattr(tuning, k) for k in NAMES} if a.defaults else measure(a.repeat, a.margin)
    text = render(vals)
    if a.write:
        with open(PATH, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
