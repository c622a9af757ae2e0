"""MAC-unit throughput with statistics off and on, against numpy float32 matmul and
onnxruntime's MatMulInteger, all measured in the same run.

Not a test: prints a table.  M = N = 256, K = 1024 (67 M multiply-adds per
matmul).  Each configuration is timed with ``stats=False`` and ``stats=True``
(``hwsim.mac.matmul``'s default) interleaved: the two are called in turn, and
each number is the *median* of ``--repeat`` rounds (default 9) after a 50 ms
warm-up, so that both see the same machine conditions; each round times a batch
of calls lasting at least 10 ms.  Columns: wall-clock
MAC/s with hwsim's default threads (2 on the reference machine), ``on / off``
(goal >= 0.8), the stats-on rate over numpy's ``a32 @ b32`` and over
onnxruntime's MatMulInteger (uint8 x int8 -> int32, the same exact int32 sums,
2 intra-op threads), each timed the same way at the start and at the end of the
run (the faster median is the baseline), and ``path`` (the fast kernel that ran,
stats off / on).  The ``1T cpu`` columns: the per-core rate from the CPU time of
``threads=1`` calls (robust when other processes share the cores), against
onnxruntime on 1 intra-op thread timed the same way *in the same rounds as the
row* (the machine's speed drifts over seconds; the header gives its rate at the
start of the run).  Run: ``PYTHONPATH=. python benchmarks/bench_mac.py
[--quick] [--repeat N]``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import hwsim
from hwsim.mac import (FloatAccumulator, IntAccumulator, MacUnit, fused_multi_term_preset,
                       matmul)

M = N = 256
K = 1024


def _warm(fn) -> int:
    """Warm up (tables, threads, page faults, idle cores clocking up) for at least
    50 ms; returns how many calls make one timed sample of at least 10 ms."""
    t0 = time.perf_counter()
    fn()
    n = 1
    while time.perf_counter() - t0 < 0.05:
        fn()
        n += 1
    per_call = (time.perf_counter() - t0) / n
    return max(1, int(0.01 / per_call + 0.999))


def medians(fns, repeat: int, clock=time.perf_counter) -> list[float]:
    """Median time (clock) per call of each fn over `repeat` rounds; the fns run in
    turn, each sample a batch of calls lasting at least 10 ms (a single sub-ms call
    is at the mercy of a timer tick or a page fault)."""
    batches = [_warm(fn) for fn in fns]
    ts = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn, nb in zip(ts, fns, batches):
            t0 = clock()
            for _ in range(nb):
                fn()
            t.append((clock() - t0) / nb)
    return [float(np.median(t)) for t in ts]


def ort_matmul_integer(a_u8: np.ndarray, b_s8: np.ndarray, threads: int = 2):
    """A callable running onnxruntime's MatMulInteger(a uint8, b int8) -> int32 on
    `threads` intra-op threads, or None when onnxruntime is not installed."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    g = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "mmi",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, list(a_u8.shape)),
         helper.make_tensor_value_info("B", TensorProto.INT8, list(b_s8.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [a_u8.shape[0], b_s8.shape[1]])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    feeds = {"A": a_u8, "B": b_s8}
    want = a_u8.astype(np.int64) @ b_s8.astype(np.int64)
    assert np.array_equal(sess.run(None, feeds)[0], want)  # the same exact sums
    return lambda: sess.run(None, feeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds instead of --repeat")
    ap.add_argument("--repeat", type=int, default=9, help="rounds per median (default 9)")
    ap.add_argument("--fan-in16", action="store_true",
                    help="also int8 / uint8 x int8 -> int32 with IntAccumulator(32, "
                         "fan_in=8) and (32, fan_in=16)")
    ap.add_argument("--only", default="", help="comma-separated substrings: run only the "
                    "configurations whose name contains one (e.g. 'fp32 rne,float16')")
    args = ap.parse_args()
    only = [x for x in args.only.split(",") if x]
    repeat = 3 if args.quick else max(1, args.repeat)
    rng = np.random.default_rng(0)
    macs = M * N * K
    a32 = rng.standard_normal((M, K)).astype(np.float32)
    b32 = rng.standard_normal((K, N)).astype(np.float32)
    ai = rng.integers(0, 256, (M, K)).astype(np.uint8)
    bi = rng.integers(0, 256, (K, N)).astype(np.uint8)
    ort_fn = ort_matmul_integer(ai, bi.view(np.int8))
    ort_1t = ort_matmul_integer(ai, bi.view(np.int8), 1)
    base = [lambda: a32 @ b32] + ([ort_fn] if ort_fn else [])
    t_base = medians(base, repeat * 2)
    t_ort_cpu = medians([ort_1t], repeat * 2, time.thread_time)[0] if ort_1t else None
    # OpenBLAS's worker threads busy-wait for a while (about 0.1 s) after a
    # call: let them park before timing hwsim's threads on the same cores
    time.sleep(0.3)
    e4m3 = hwsim.format("float8_e4m3fn")
    a8, b8 = hwsim.encode(a32, e4m3), hwsim.encode(b32, e4m3)
    amx = hwsim.encode(a32, "mxfp4", axis=-1)
    bmx = hwsim.encode(b32, "mxfp4", axis=0)
    rows = []

    def bench(name, mac, a, b, both=True):
        if only and not any(x in name for x in only):
            return
        paths = []

        def run(stats, threads=None):
            def fn():
                r = matmul(a, b, mac, stats=stats, threads=threads)
                if len(paths) < 2 and r.path not in paths:
                    paths.append(r.path)
            return fn
        # onnxruntime on 1 thread in the same rounds as the row (the machine's speed
        # drifts over seconds).  Not the 2-thread session: its idle threads spin for
        # a while after each run, on the cores hwsim's next call needs
        ow = []
        oc = [ort_1t] if both and ort_1t else []
        t = medians([run(False), run(True)] if both else [run(False)], repeat)
        c = medians([run(False, 1), run(True, 1)] + oc if both else [run(False, 1)], repeat,
                    time.thread_time)  # per core: CPU time of one thread
        rows.append((name, "/".join(paths), macs / t[0], macs / t[1] if both else None,
                     macs / c[0], macs / c[1] if both else None,
                     macs / t[2] if ow else None, macs / c[2] if oc else None))

    fp32 = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator("float32", "rne"))
    bench("E4M3 x E4M3 -> fp32 rne, sequential", fp32, a8, b8)
    for fmt in ("float16", "bfloat16"):
        for mode in ("rne", "rtz"):
            mac = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator(fmt, mode))
            bench(f"E4M3 x E4M3 -> {fmt} {mode} per MAC", mac, a8, b8)
    for fa in ("int8", "uint8"):
        bench(f"{fa} x int8 -> int32 wrap",
              MacUnit(fa, "int8", accumulator=IntAccumulator(32, "wrap")), ai, bi)
    for fa in ("int8", "uint8"):  # dot-product register (VNNI): one add per 4 products
        bench(f"{fa} x int8 -> int32 wrap, fan_in=4",
              MacUnit(fa, "int8", accumulator=IntAccumulator(32, "wrap", 4)), ai, bi)
    if args.fan_in16:  # wider dot-product groups: one register state per 8 / 16 products
        for fan_in in (8, 16):
            for fa in ("int8", "uint8"):
                bench(f"{fa} x int8 -> int32 wrap, fan_in={fan_in}",
                      MacUnit(fa, "int8", accumulator=IntAccumulator(32, "wrap", fan_in)),
                      ai, bi)
    bench("int8 x int8 -> int20 saturate, fan_in=4",
          MacUnit("int8", "int8", accumulator=IntAccumulator(20, "saturate", 4)), ai, bi)
    bench("int8 x int8 -> int20 saturate",
          MacUnit("int8", "int8", accumulator=IntAccumulator(20, "saturate")), ai, bi)
    h100 = MacUnit(e4m3, e4m3, accumulator=fused_multi_term_preset("h100_fp8"))
    bench("E4M3 x E4M3 -> H100-FP8 fused multi-term", h100, a8, b8)
    mx = MacUnit("mxfp4", "mxfp4", accumulator=FloatAccumulator("float32", "rne"))
    bench("MXFP4 x MXFP4 -> fp32 rne, sequential", mx, amx, bmx)
    gen = MacUnit(e4m3, e4m3, accumulator=FloatAccumulator("float32", "rna"))
    bench("E4M3 x E4M3 -> fp32 rna (general engine)", gen, a8, b8, both=False)

    # the baselines once more at the end (the machine is shared): the faster
    # median of the two is the one every ratio uses
    t_base = [min(x, y) for x, y in zip(t_base, medians(base, repeat * 2))]
    np_rate = macs / t_base[0]
    ort_rate = macs / t_base[1] if ort_fn else None
    ort_cpu = macs / t_ort_cpu if t_ort_cpu else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"MAC units, M = N = {M}, K = {K} ({macs / 1e6:.0f} M MACs per matmul), "
          f"{os.cpu_count()} cores, load average {load:.1f}; medians of {repeat} rounds "
          "after a 50 ms warm-up")
    print(f"numpy float32 a32 @ b32: {np_rate / 1e9:.1f} G MAC/s; onnxruntime MatMulInteger "
          "u8 x s8 -> s32: " + (f"{ort_rate / 1e9:.1f} G MAC/s wall (2 threads), "
                               f"{ort_cpu / 1e9:.1f} G MAC/s per core (CPU time, 1 thread)"
                               if ort_rate else "n/a"))
    print()
    _table(rows, np_rate, ort_rate, ort_cpu)


def _ratio(x, base):
    return f"{x / base:.3f}" if (x is not None and base) else "n/a"


def _table(rows, np_rate, ort_rate, ort_cpu) -> None:
    hdr = ("configuration", "path (off/on)", "off wall", "on wall", "on/off", "on x numpy",
           "on x ORT", "off 1T cpu", "on 1T cpu", "on/off 1T", "on x ORT 1T")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for name, path, off, on, c_off, c_on, o_row, oc_row in rows:
        g = [f"{v / 1e9:.2f} G" if v else "" for v in (off, on, c_off, c_on)]
        cells = [name, path, g[0], g[1], _ratio(on, off), _ratio(on, np_rate),
                 _ratio(on, o_row or ort_rate), g[2], g[3], _ratio(c_on, c_off),
                 _ratio(c_on, oc_row or ort_cpu)]
        if on is None:
            cells = [x if x != "n/a" else "" for x in cells]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
