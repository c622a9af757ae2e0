"""Time per input and SQNR against float64 of the seeded issue-9 test models
(hwsim.testing.models): the full transformer encoder (time per sequence: Gather embeddings,
LayerNorm, multi-head attention with Softmax, GELU, residuals) and the YOLO-style detector
(SiLU, Split, Concat, Resize, SPPF, a DFL head with Softmax; time per image).

Time: best of ``--repeat`` quantized runs with MAC statistics on, without the float64
reference run; SQNR: the model output against float64 (one run with the reference).
Every op writes the row's format (block rows: MX / NVFP4, encoded as a MAC layer's block
output; docs/semantics.md, "Block-format outputs").

    python benchmarks/bench_net_models.py [--seq 128] [--size 64] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnxruntime as ort

from hwsim.network import load_onnx
from hwsim.testing.models import transformer_encoder, yolo_detector

ROWS = [("int8/int32", "int8", "int32"), ("FP8 E4M3/fp32", "float8_e4m3fn", "fp32"),
        ("MXFP8/fp32", "mxfp8_e4m3", "fp32"), ("MXFP4/fp16", "mxfp4", "fp16"),
        ("NVFP4/fp32", "nvfp4", "fp32")]


def _build(kind, args):
    if kind == "transformer":
        kw = dict(seq=args.seq, vocab=1000, d=128, heads=4, layers=2, ffn=512)
        x = np.random.default_rng(0).integers(0, 1000, (1, args.seq))
        feeds = {"ids": x}
        build = transformer_encoder
    else:
        kw = dict(size=args.size)
        x = np.random.default_rng(1).normal(size=(1, 3, args.size, args.size))
        feeds = {"images": x.astype(np.float32)}
        build = yolo_detector
    m = build(**kw)
    return m, load_onnx(m), x, feeds


def _row(net, x, fmt, mac, repeat):
    cfg = {"defaults": {"input": fmt, "weight": fmt, "output": fmt, "mac": mac,
                        "bias": "int32" if fmt == "int8" else "float32"}}
    net.set_config(cfg)
    net.calibrate([x])
    r = net.run(x)  # warm-up (numba compilation, plan)
    best = min(_timed(net, x) for _ in range(repeat))
    return best, r.stats[net.nodes[-1].name]["sqnr_db"]


def _timed(net, x):
    t = time.perf_counter()
    net.run(x, reference=False, mac_stats=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    for kind in ("transformer", "yolo"):
        m, net, x, feeds = _build(kind, args)
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        t = time.perf_counter()
        s.run(None, feeds)
        t_ort = time.perf_counter() - t
        print(f"\n{kind}: {len(net.nodes)} nodes, onnxruntime float32 {t_ort * 1e3:.1f} ms")
        print("| config | time per input (s) | SQNR of the output (dB) |\n| --- | --- | --- |")
        for label, fmt, mac in ROWS:
            sec, db = _row(net, x, fmt, mac, args.repeat)
            print(f"| {label} | {sec:.2f} | {db:.1f} |")


if __name__ == "__main__":
    main()
