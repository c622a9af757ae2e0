"""Whole-network benchmark: a ResNet-18-shaped model (224x224, ~1.8 GMAC), per image.

Not a test.  Builds the float model with onnx.helper (seeded random weights,
batch-norm folded away), quantizes it with onnxruntime's ``quantize_static``
(QDQ, int8, ``reduce_range=True``), and times in the same process:

* onnxruntime's int8 run of the QDQ model (the baseline);
* hwsim, int8 with an int32 accumulator and tflite requantization (goal < 2 s);
* hwsim, int8 with onnx requantization (and how many outputs equal onnxruntime's);
* hwsim, FP8 E4M3 with an fp32 accumulator (goal < 3 s) and an fp16 per-MAC
  accumulator (goal < 10 s): these need the float MAC units of ``hwsim.mac``.

Usage: ``PYTHONPATH=. python benchmarks/bench_network.py [--repeat 2]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def resnet18_onnx(path, seed=0, classes=1000):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    cnt = [0]

    def conv(x, cin, cout, k, s, relu=True):
        i = cnt[0]
        cnt[0] += 1
        w = (rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)) * 0.7).astype(np.float32)
        b = rng.normal(0, 0.05, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")])
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p]))
        if not relu:
            return f"c{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        return f"r{i}"

    x = conv("x", 3, 64, 7, 2)
    nodes.append(helper.make_node("MaxPool", [x], ["mp"], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1], name="maxpool"))
    x, cin = "mp", 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for blk in range(2):
            s = 2 if (stage > 0 and blk == 0) else 1
            h = conv(x, cin, cout, 3, s)
            h = conv(h, cout, cout, 3, 1, relu=False)
            sc = conv(x, cin, cout, 1, s, relu=False) if (s != 1 or cin != cout) else x
            a = f"add{stage}_{blk}"
            nodes.append(helper.make_node("Add", [h, sc], [a], name=a))
            nodes.append(helper.make_node("Relu", [a], [a + "_r"], name=a + "_relu"))
            x, cin = a + "_r", cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"))
    wf = rng.normal(0, np.sqrt(1.0 / 512), (classes, 512)).astype(np.float32)
    inits += [numpy_helper.from_array(wf, "wfc"), numpy_helper.from_array(np.zeros(classes, np.float32), "bfc")]
    nodes.append(helper.make_node("Gemm", ["flat", "wfc", "bfc"], ["y"], transB=1, name="fc"))
    g = helper.make_graph(nodes, "resnet18ish",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 224, 224])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def macs(net):
    tot = 0
    for n in net.nodes:
        if n.op == "Gemm":
            tot += n.weight.shape[0] * n.weight.shape[1]
    return tot


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    from hwsim.network import load_onnx

    tmp = tempfile.mkdtemp(prefix="hwsim_bench_")
    fpath, qpath = os.path.join(tmp, "r18.onnx"), os.path.join(tmp, "r18_q.onnx")
    rng = np.random.default_rng(1)
    resnet18_onnx(fpath)
    calib = [rng.normal(0, 1, (1, 3, 224, 224)).astype(np.float32) for _ in range(2)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": c} for c in calib])

        def get_next(self):
            return next(self.it, None)

    t = time.time()
    quantize_static(fpath, qpath, Reader(), quant_format=QuantFormat.QDQ, reduce_range=True)
    print(f"quantize_static: {time.time() - t:.1f} s", file=sys.stderr)
    x = rng.normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the cores to hwsim
    sess = ort.InferenceSession(qpath, so, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})[0]
    t_ort = min(_time(lambda: sess.run(None, {"x": x})) for _ in range(5))

    rows = []
    model_cfg = dict(input="model", weight="model", bias="model", output="model", mac="int32")
    configs = [
        ("int8, int32 acc, tflite requant", {"defaults": dict(model_cfg, requant="tflite")}, None),
        ("int8, int32 acc, onnx requant", {"defaults": dict(model_cfg, requant="onnx")}, None),
        ("FP8 E4M3, fp32 acc", {"defaults": dict(input="float8_e4m3fn", weight="float8_e4m3fn",
                                                 output="float8_e4m3fn", bias="float32", mac="fp32")}, "float"),
        ("fp16, fp16 per-MAC acc", {"defaults": dict(input="float16", weight="float16", output="float16",
                                                     bias="float16", mac="fp16", scale="none")}, "float"),
    ]
    gmac = None
    for name, cfg, kind in configs:
        try:
            net = load_onnx(qpath if kind is None else fpath, config=cfg)
            if kind == "float":
                net.calibrate(calib[:1])
            gmac = gmac or macs_conv(net, x)
            net.run(x, reference=False)  # warm-up: numba compile, plans
            ts = [_time(lambda: net.run(x, reference=False)) for _ in range(args.repeat)]
            r = net.run(x, reference=False)
            extra = ""
            if kind is None:
                got = r.output_f32()
                same = int(np.sum(got.view(np.uint32) == want.view(np.uint32)))
                extra = f"{same}/{want.size} outputs equal to onnxruntime"
            rows.append((name, min(ts), min(ts) / t_ort, extra))
        except (ValueError, TypeError, NotImplementedError) as e:
            rows.append((name, None, None, f"n/a: {str(e).splitlines()[0][:80]}"))
    print(f"ResNet-18-shaped network, 224x224, {gmac / 1e9:.2f} GMAC per image")
    print(f"onnxruntime int8 (QDQ): {t_ort * 1000:.1f} ms per image")
    print(f"{'hwsim configuration':<34} {'s/image':>8} {'x ORT':>8}  notes")
    for name, t, ratio, extra in rows:
        if t is None:
            print(f"{name:<34} {'-':>8} {'-':>8}  {extra}")
        else:
            print(f"{name:<34} {t:>8.2f} {ratio:>8.0f}  {extra}")


def macs_conv(net, x):
    """MACs of one image: Conv (Cout * K * Ho * Wo) + Gemm, from a float64 reference pass."""
    env = net.reference(x)
    tot = 0
    for n in net.nodes:
        if n.op == "Conv":
            y = env[n.outputs[0]]
            tot += int(np.prod(n.weight.shape)) * y.shape[2] * y.shape[3]
        elif n.op == "Gemm":
            tot += int(np.prod(n.weight.shape))
    return tot


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
