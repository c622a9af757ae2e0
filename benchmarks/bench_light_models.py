"""The onnx package's nine light models, quantized, with seeded random weights.

Each model is imported (constant folding and hwsim's rewrites), every Conv / Gemm weight and
bias and every ChannelAffine constant is replaced by seeded random values of the same shape
(He-normal weights, N(0, 0.01) biases, affine scales U(0.5, 1.5) and shifts N(0, 0.1):
the shipped ``ConstantOfShape`` weights make every output degenerate), calibrated on two
seeded N(0, 1) images and run on a third.  Prints a markdown table: time per image
(``run(reference=False)`` after a warm-up run, MAC statistics on) and the SQNR of the logits (the input of the
final Softmax) against the float64 run.  Models that end in a global average pool run at a
reduced input size (``--small``).  Rows: int8/int32, FP8 E4M3/fp32, MXFP8/fp32 and MXFP4/fp16
(every op, Softmax / LRN / ChannelAffine included, writes the row's format).

    python benchmarks/bench_light_models.py [--models a,b] [--configs c,d] [--small 112]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnx

from hwsim.network import load_onnx
from hwsim.network.executor import sqnr

MODELS = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
          "shufflenet", "squeezenet", "vgg19", "zfnet512"]
#: models whose classifier follows a global average pool: any input size >= 32 works
RESIZABLE = {"densenet121", "squeezenet"}
CONFIGS = {
    "int8/int32": dict(input="int8", weight="int8", bias="int32", output="int8", mac="int32"),
    "FP8 E4M3/fp32": dict(input="float8_e4m3fn", weight="float8_e4m3fn", bias="float32",
                          output="float8_e4m3fn", mac="fp32"),
    "MXFP8/fp32": dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32",
                       output="mxfp8_e4m3", mac="fp32"),
    "MXFP4/fp16": dict(input="mxfp4", weight="mxfp4", bias="float32", output="mxfp4",
                       mac="fp16"),
}


def config(cfg_name) -> dict:
    """The network config of a table row: every op writes the row's output format (block
    rows: MX, encoded as a MAC layer's block output; docs/semantics.md, "Block-format
    outputs")."""
    return {"defaults": CONFIGS[cfg_name]}


def light_path(name) -> str:
    d = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    return os.path.join(d, f"light_{name}.onnx")


def light_model(name, size=None) -> onnx.ModelProto:
    """The shipped model, its image input's spatial size set to ``size`` (None: as shipped)."""
    m = onnx.load(light_path(name))
    if size is not None:
        inits = {t.name for t in m.graph.initializer}
        for vi in m.graph.input:
            dims = vi.type.tensor_type.shape.dim
            if vi.name not in inits and len(dims) == 4 and dims[1].dim_value == 3:
                dims[2].dim_value = dims[3].dim_value = size
    return m


def randomize(net, seed) -> None:
    """Seeded random constants of the shipped shapes (in place)."""
    rng = np.random.default_rng(seed)
    for n in net.nodes:
        if n.weight is not None:
            w = np.asarray(n.weight)
            fan_in = int(np.prod(w.shape[1:])) if n.op == "Conv" else w.shape[0]
            n.weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape)
            cout = w.shape[0] if n.op == "Conv" else w.shape[1]
            n.bias = rng.normal(0.0, 0.01, cout)
        if n.op == "ChannelAffine":
            a, b = np.asarray(n.attrs["a"]), np.asarray(n.attrs["b"])
            n.attrs["a"] = list(rng.uniform(0.5, 1.5, a.size))
            n.attrs["b"] = list(rng.normal(0.0, 0.1, b.size))


def logits_name(net) -> str:
    last = next(n for n in net.nodes if net.outputs[0] in n.outputs)
    return last.inputs[0] if last.op == "Softmax" else net.outputs[0]


def bench(name, cfg_name, size, seed=0):
    net = load_onnx(light_model(name, size), config=config(cfg_name))
    randomize(net, seed)
    shape = next(iter(net.inputs.values()))
    rng = np.random.default_rng(seed + 1)
    calib = [rng.normal(0, 1, shape).astype(np.float32) for _ in range(2)]
    net.calibrate(calib)
    x = rng.normal(0, 1, shape).astype(np.float32)
    net.run(x, reference=False)  # warm-up: plan, numba / LUT caches
    t0 = time.perf_counter()
    net.run(x, reference=False)
    t = time.perf_counter() - t0
    r = net.run(x, keep=True)
    lg = logits_name(net)
    return t, sqnr(r.reference[lg], r.tensors[lg].values()), shape


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--small", type=int, default=112, help="input size of the resizable models")
    args = ap.parse_args(argv)
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("| model | input | config | time / image | SQNR of logits vs float64 |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        size = args.small if name in RESIZABLE else None
        for c in args.configs.split(","):
            t, s, shape = bench(name, c, size)
            print(f"| {name} | {shape[2]}x{shape[3]} | {c} | {t:.2f} s | {s:.1f} dB |", flush=True)


if __name__ == "__main__":
    main()
