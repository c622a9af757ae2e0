"""Time per input and SQNR against float64 of the seeded issue-9 test models
(hwsim.testing.models): a transformer encoder (time per sequence) and a YOLO-style detector.

The full models need the vector-unit ops (LayerNorm, GELU, SiLU, element-wise with
constants); where this tree cannot import them the script falls back to the sub-models
built from the ops it has (no LayerNorm, ReLU for GELU / SiLU, no biases) and says so.
Softmax, Sigmoid and Add outputs are float16 in the block-format rows (their vector unit).

    python benchmarks/bench_net_models.py [--seq 128] [--size 64] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnxruntime as ort

from hwsim.errors import UnsupportedModelError
from hwsim.network import load_onnx
from hwsim.testing.models import transformer_encoder, yolo_detector

ROWS = [("int8/int32", "int8", "int32"), ("FP8 E4M3/fp32", "float8_e4m3fn", "fp32"),
        ("MXFP8/fp32", "mxfp8_e4m3", "fp32"), ("MXFP4/fp16", "mxfp4", "fp16"),
        ("NVFP4/fp32", "nvfp4", "fp32")]
VECTOR_F16 = [{"op": o, "output": "float16"} for o in ("Softmax", "Sigmoid", "Add")]


def _build(kind, args):
    if kind == "transformer":
        kw = dict(seq=args.seq, vocab=1000, d=128, heads=4, layers=2, ffn=512)
        sub = dict(layernorm=None, gelu="relu", bias=False)
        x = np.random.default_rng(0).integers(0, 1000, (1, args.seq))
        feeds = {"ids": x}
        build = transformer_encoder
    else:
        kw = dict(size=args.size)
        sub = dict(silu="relu")
        x = np.random.default_rng(1).normal(size=(1, 3, args.size, args.size))
        feeds = {"images": x.astype(np.float32)}
        build = yolo_detector
    try:
        m = build(**kw)
        return m, load_onnx(m), x, feeds, "full"
    except UnsupportedModelError as e:
        m = build(**kw, **sub)
        return m, load_onnx(m), x, feeds, f"sub-model ({str(e)[:60]}...)"


def _row(net, x, fmt, mac, repeat):
    cfg = {"defaults": {"input": fmt, "weight": fmt, "output": fmt, "mac": mac,
                        "bias": "int32" if fmt == "int8" else "float32"}}
    if fmt not in ("int8", "float8_e4m3fn"):
        cfg["layers"] = VECTOR_F16
    net.set_config(cfg)
    net.calibrate([x])
    r = net.run(x)  # warm-up (numba compilation, plan)
    best = min(_timed(net, x) for _ in range(repeat))
    return best, r.stats[net.nodes[-1].name]["sqnr_db"]


def _timed(net, x):
    t = time.perf_counter()
    net.run(x, reference=False)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for kind in ("transformer", "yolo"):
        m, net, x, feeds, which = _build(kind, args)
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        t = time.perf_counter()
        s.run(None, feeds)
        t_ort = time.perf_counter() - t
        print(f"\n{kind}: {which}, {len(net.nodes)} nodes, onnxruntime float32 {t_ort * 1e3:.1f} ms")
        print("| config | time per input (s) | SQNR of the output (dB) |\n| --- | --- | --- |")
        for label, fmt, mac in ROWS:
            sec, db = _row(net, x, fmt, mac, args.repeat)
            print(f"| {label} | {sec:.2f} | {db:.1f} |")


if __name__ == "__main__":
    main()
