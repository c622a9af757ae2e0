"""SQNR against float64 of the three seeded issue-9 models (hwsim.testing.models:
transformer encoder, YOLO-style detector; hwsim.testing.mobilenet: MobileNetV3 block) at
int8, FP8 E4M3, MXFP4 and NVFP4, with the MAC accumulator stated per row.

MAC inputs and weights are in the row's format; every op's output too for the int8 and
FP8 rows, bfloat16 for the block-format rows (MX / NVFP4 are MAC operand formats: each
MAC layer casts its bfloat16 input into them; ChannelAffine and the vector ops write no
block outputs); bias in int32 (int8 rows) or float32; scales from one calibration run on a seeded input, SQNR of
the model output on a second seeded input.  The vector-unit ops (LayerNorm, GELU,
Softmax, Sigmoid, SiLU, HardSwish, ...) use their defaults (docs/semantics.md).  Time per
input is one quantized run with the float64 reference, on this shared machine.  Timing of
the 128-token transformer: bench_net_models.py.

    python benchmarks/net_models_sqnr.py
"""
from __future__ import annotations

import time

import numpy as np

from hwsim.network import load_onnx
from hwsim.testing.mobilenet import mobilenetv3_block
from hwsim.testing.models import transformer_encoder, yolo_detector

#: (row label, format of every tensor, MAC accumulator preset)
ROWS = [("int8 / int32", "int8", "int32"), ("FP8 E4M3 / fp32", "float8_e4m3fn", "fp32"),
        ("MXFP4 / fp32", "mxfp4", "fp32"), ("MXFP4 / fp16", "mxfp4", "fp16"),
        ("NVFP4 / fp32", "nvfp4", "fp32")]


def models():
    """(name, ModelProto, calibration input, evaluation input), all seeded."""
    ids = [np.random.default_rng(s).integers(0, 50, (1, 16)) for s in (0, 1)]
    img = [np.random.default_rng(s).normal(size=(1, 3, 32, 32)) for s in (2, 3)]
    fm = [np.random.default_rng(s).normal(size=(1, 16, 16, 16)) for s in (4, 5)]
    return [("transformer_encoder (16 tokens, d 32, 2 layers)", transformer_encoder(), *ids),
            ("yolo_detector (32x32, width 8)", yolo_detector(), *img),
            ("mobilenetv3_block (16 ch, expand 32, 16x16)", mobilenetv3_block(), *fm)]


def sqnr_row(net, cal, x, fmt, mac):
    """(output SQNR in dB, lowest per-layer SQNR, seconds) of one configuration."""
    out_fmt = "bfloat16" if fmt in ("mxfp4", "nvfp4") else fmt
    net.set_config({"defaults": {"input": fmt, "weight": fmt, "output": out_fmt, "mac": mac,
                                 "bias": "int32" if fmt == "int8" else "float32"}})
    net.calibrate([cal])
    t = time.perf_counter()
    r = net.run(x)
    dt = time.perf_counter() - t
    layer = [s["sqnr_db"] for s in r.stats.values() if np.isfinite(s["sqnr_db"])]
    return r.stats[net.nodes[-1].name]["sqnr_db"], min(layer), dt


def main():
    print("| model | format / accumulator | output SQNR (dB) | lowest layer SQNR (dB) | time (s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, m, cal, x in models():
        net = load_onnx(m)
        for label, fmt, mac in ROWS:
            out, low, dt = sqnr_row(net, cal, x, fmt, mac)
            print(f"| {name} | {label} | {out:.1f} | {low:.1f} | {dt:.1f} |", flush=True)
            name = ""


if __name__ == "__main__":
    main()
