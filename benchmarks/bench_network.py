"""Whole-network benchmark: a ResNet-18-shaped model (~1.8 GMAC per 224x224 image).

Not a test.  Builds the float model with onnx.helper (seeded random weights,
batch-norm folded away), quantizes it with onnxruntime's ``quantize_static``
(QDQ, uint8 activations, int8 weights, ``reduce_range=True``: 7-bit weights), and
times in the same process:

* onnxruntime's int8 run of the QDQ model (the baseline);
* hwsim, int8 with an int32 accumulator and tflite requantization;
* hwsim, int8 with onnx requantization (and how many outputs equal onnxruntime's);
* hwsim, int8 with the dot-product accumulator ``IntAccumulator(32, fan_in=4)`` (int32,
  products in groups of 4 as VNNI's ``vpdpbusd``) and onnx requantization (``--configs dp4``;
  skipped, with the reason printed, while MacUnit refuses ``fan_in > 1``);
* hwsim, int8 with the ``u8s8_avx2`` MAC preset (MLAS VPMADDUBSW int16 pair
  saturation, NHWC K order) and onnx requantization;
* hwsim, FP8 E4M3 operands with an fp32 accumulator (goal < 3 s per image) and
  fp16 operands with an fp16 per-MAC accumulator (goal < 10 s per image).

Every MAC runs through ``hwsim.mac.matmul``.  ``--size`` sets the
input resolution (default 224: a full image); below 224 the per-image time at
224x224 is *extrapolated* by the ratio of MAC counts (all layers but the
classifier scale with the image area; per-MAC cost is nearly constant) and
printed as such.  ``--act int8`` quantizes activations to int8 instead:
onnxruntime (x86 without VNNI) then runs the convolutions and additions whose
input tensor feeds two nodes as DequantizeLinear -> float32 op ->
QuantizeLinear, which an integer model cannot match bit for bit.

``--model resnet50`` runs the onnx package's light ResNet-50 graph with seeded weights
instead (:func:`resnet50_onnx`, 224x224 only).  Every row gives wall and CPU time per image
(CPU: every thread of the process, onnxruntime's too) and both ratios to onnxruntime; the
int8 / int32 rows carry the issues' ratio goals (ResNet-18 <= 10x, ResNet-50 <= 20x).

Usage: ``PYTHONPATH=. python benchmarks/bench_network.py [--model resnet18] [--size 224]
[--repeat 1] [--configs all] [--act int8]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def resnet18_onnx(path, seed=0, classes=1000, size=224):
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
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def resnet50_onnx(path, seed=0, size=224):
    """The onnx package's light ResNet-50 (its graph, with seeded weights) as a float model.

    The shipped model builds its constants with ``ConstantOfShape``; they are folded
    (onnxscript, as hwsim's importer does), every Conv / Gemm weight and bias is replaced
    by seeded He-normal values (biases N(0, 0.05)), each BatchNormalization is dropped (its
    input passes through: with random weights it would only be one more per-channel
    affine map), and ``Sum`` of two tensors becomes ``Add`` (what quantize_static
    quantizes).  Opset 13 (the ops used mean the same as in the shipped opset 9)."""
    import onnx
    from onnx import helper, numpy_helper

    from hwsim.network.onnx_fold import fold_constants

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_light_models import light_model

    m, _ = fold_constants(light_model("resnet50", size if size != 224 else None))
    g = m.graph
    rng = np.random.default_rng(seed)
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    rename, nodes, new_inits = {}, [], {}
    for n in g.node:
        ins = [rename.get(i, i) for i in n.input]
        if n.op_type == "BatchNormalization":
            rename[n.output[0]] = ins[0]
            continue
        if n.op_type in ("Conv", "Gemm"):
            w = inits[ins[1]]
            fan_in = int(np.prod(w.shape[1:])) if n.op_type == "Conv" else w.shape[1]
            new_inits[ins[1]] = (rng.normal(0, np.sqrt(2.0 / fan_in), w.shape) * 0.7
                                 ).astype(np.float32)
            bname = ins[2] if len(ins) > 2 and ins[2] else f"{n.output[0]}_bias"
            new_inits[bname] = rng.normal(0, 0.05, w.shape[0]).astype(np.float32)
            ins = ins[:2] + [bname]
        op = "Add" if n.op_type == "Sum" and len(ins) == 2 else n.op_type
        nodes.append(helper.make_node(op, ins, list(n.output), name=n.name or n.output[0],
                                      **{a.name: helper.get_attribute_value(a)
                                         for a in n.attribute}))
    outs = [rename.get(o.name, o.name) for o in g.output]
    used = {i for n in nodes for i in n.input}
    keep = [numpy_helper.from_array(new_inits.get(k, v), k)
            for k, v in {**inits, **new_inits}.items() if k in used]
    graph = helper.make_graph(nodes, "resnet50_light_seeded", list(g.input),
                              [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None)
                               for o in outs], keep)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return g.input[0].name


CONFIGS = [  # (name, precision config, kind)
    ("int8, int32 acc, tflite requant", dict(mac="int32", requant="tflite"), "model"),
    ("int8, int32 acc, onnx requant", dict(mac="int32", requant="onnx"), "model"),
    ("int8, int32 dp4 acc, onnx requant", dict(mac="dp4", requant="onnx"), "model"),
    ("int8, u8s8_avx2 MAC, onnx requant", dict(mac="u8s8_avx2", requant="onnx", order="kh,kw,cin"),
     "model"),
    ("FP8 E4M3, fp32 acc", dict(input="float8_e4m3fn", weight="float8_e4m3fn",
                                output="float8_e4m3fn", bias="float32", mac="fp32"), "float"),
    ("fp16, fp16 per-MAC acc", dict(input="float16", weight="float16", output="float16",
                                    bias="float16", mac="fp16", scale="none"), "float"),
]
#: goals as a ratio to onnxruntime's int8 time per image (issues 11 and 9), for these rows
RATIO_GOALS = {"resnet18": 10, "resnet50": 20}
RATIO_NAMES = ("int8, int32 acc, tflite requant", "int8, int32 acc, onnx requant",
               "int8, int32 dp4 acc, onnx requant")


def dp4_mac() -> dict:
    """The MacUnit dict of ``IntAccumulator(32, fan_in=4)`` (int32 register, wrap, taking
    the products in groups of 4: VNNI's ``vpdpbusd``); the network config replaces its
    operand formats by the model's."""
    from hwsim.mac import IntAccumulator, MacUnit

    d = MacUnit("uint8", "int8", accumulator=IntAccumulator(32, overflow="wrap")).to_dict()
    d["accumulator"] = dict(d["accumulator"], fan_in=4)
    return d


def refusal(extra) -> str | None:
    """Why hwsim's MacUnit refuses the row's MAC (None: it builds).  The dp4 row needs
    ``IntAccumulator(fan_in > 1)`` in the engine and the reference; until then MacUnit
    raises and the row is skipped with that reason, not run on another accumulator."""
    if extra.get("mac") != "dp4":
        return None
    from hwsim.mac import MacUnit

    try:
        MacUnit.from_dict(dp4_mac())
    except (ValueError, TypeError, NotImplementedError) as e:
        return f"MacUnit refuses IntAccumulator(32, fan_in=4): {str(e).splitlines()[0][:70]}"
    return None
GOALS = {"FP8 E4M3, fp32 acc": 3.0, "fp16, fp16 per-MAC acc": 10.0,
         "int8, int32 acc, tflite requant": 2.0}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--size", type=int, default=224, help="input resolution (224: a full image)")
    ap.add_argument("--model", choices=("resnet18", "resnet50"), default="resnet18",
                    help="resnet18: the ResNet-18-shaped model built here; resnet50: the onnx "
                         "package's light ResNet-50 with seeded weights (224x224 only)")
    ap.add_argument("--no-stats", action="store_true",
                    help="run without MAC statistics (overflow events, max |partial sum|)")
    ap.add_argument("--act", choices=("uint8", "int8"), default="uint8",
                    help="activation type of the QDQ model")
    ap.add_argument("--configs", default="",
                    help="comma-separated substrings of config names ('all': every one; the "
                         "default leaves out u8s8_avx2, which runs on the general MAC engine)")
    args = ap.parse_args(argv)
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    from hwsim.network import load_onnx

    tmp = tempfile.mkdtemp(prefix="hwsim_bench_")
    size = args.size
    if args.model == "resnet50" and size != 224:
        ap.error("--model resnet50 runs at --size 224 only (its classifier reads a 7x7 pool)")
    fpath, qpath = os.path.join(tmp, "f.onnx"), os.path.join(tmp, "q.onnx")
    rng = np.random.default_rng(1)
    xname = "x"
    if args.model == "resnet50":
        xname = resnet50_onnx(fpath)
    else:
        resnet18_onnx(fpath, size=size)
    calib = [rng.normal(0, 1, (1, 3, size, size)).astype(np.float32) for _ in range(2)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{xname: c} for c in calib])

        def get_next(self):
            return next(self.it, None)

    t = time.time()
    act = QuantType.QUInt8 if args.act == "uint8" else QuantType.QInt8
    quantize_static(fpath, qpath, Reader(), quant_format=QuantFormat.QDQ, reduce_range=True,
                    activation_type=act, weight_type=QuantType.QInt8)
    print(f"quantize_static: {time.time() - t:.1f} s", file=sys.stderr)
    x = rng.normal(0, 1, (1, 3, size, size)).astype(np.float32)
    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave the cores to hwsim
    sess = ort.InferenceSession(qpath, so, providers=["CPUExecutionProvider"])
    want = sess.run(None, {xname: x})[0]
    t_ort = min(_time(lambda: sess.run(None, {xname: x})) for _ in range(5))
    c_ort = min(_cpu(lambda: sess.run(None, {xname: x})) for _ in range(5))

    model_cfg = dict(input="model", weight="model", bias="model", output="model")
    keys = [k.strip() for k in args.configs.split(",") if k.strip()]
    sel = [c for c in CONFIGS if "all" in keys or
           (any(k in c[0] for k in keys) if keys else "u8s8" not in c[0])]
    rows = []
    gmac = gmac224 = None
    for name, extra, kind in sel:
        why = refusal(extra)
        if why is not None:
            print(f"skipping {name}: {why}", file=sys.stderr, flush=True)
            rows.append((name, None, None, None, None, f"skipped: {why}"))
            continue
        if extra.get("mac") == "dp4":
            extra = dict(extra, mac=dp4_mac())
        cfg = {"defaults": dict(model_cfg, **extra) if kind == "model" else extra}
        try:
            net = load_onnx(qpath if kind == "model" else fpath, config=cfg)
            if kind == "float":
                net.calibrate(calib[:1])
            if gmac is None:
                gmac = macs_conv(net, x)
                gmac224 = gmac if size == 224 else _macs_at(fpath, 224)
            print(f"running {name} ...", file=sys.stderr, flush=True)
            ms = not args.no_stats
            net.run(x, reference=False, mac_stats=ms)  # warm-up: plans, numba / LUT caches
            ts = [_both(lambda: net.run(x, reference=False, mac_stats=ms))
                  for _ in range(args.repeat)]
            r = net.run(x, reference=False, mac_stats=ms)
            ovf = sum(int(s.get("overflow_events", 0)) for s in r.stats.values())
            extra_txt = f"overflow events {ovf}"
            if kind == "model":
                got = r.output_f32()
                same = int(np.sum(got.view(np.uint32) == want.view(np.uint32)))
                extra_txt += f"; {same}/{want.size} outputs equal to onnxruntime"
            t1, c1 = min(t for t, _ in ts), min(c for _, c in ts)
            rows.append((name, t1, c1, t1 * gmac224 / gmac, gmac / t1 / 1e6, extra_txt))
        except (ValueError, TypeError, NotImplementedError) as e:
            rows.append((name, None, None, None, None, f"n/a: {str(e).splitlines()[0][:80]}"))
    _report(args, rows, gmac, gmac224, t_ort, c_ort)


def _report(args, rows, gmac, gmac224, t_ort, c_ort):
    size = args.size
    title = ("ResNet-50 (onnx light model, seeded weights)" if args.model == "resnet50"
             else "ResNet-18-shaped network")
    print(f"{title}, {size}x{size}: {gmac / 1e9:.3f} GMAC per image "
          f"({gmac224 / 1e9:.2f} GMAC at 224x224); activations {args.act}; MAC statistics "
          f"{'off' if args.no_stats else 'on'}; load average {os.getloadavg()[0]:.2f}")
    print(f"onnxruntime int8 (QDQ): {t_ort * 1000:.1f} ms wall, {c_ort * 1000:.1f} ms CPU "
          f"per {size}x{size} image")
    lab = "s/img" if size == 224 else f"s@{size}"
    ratio_goal = RATIO_GOALS[args.model]
    print(f"{'hwsim configuration':<36} {lab:>8} {'CPU s':>7} {'s@224':>8} {'MMAC/s':>7} "
          f"{'x ORT':>6} {'CPU x':>6} {'goal':>6}  notes")
    for name, t1, c1, t224, rate, extra_txt in rows:
        goal = GOALS.get(name)
        g = f"<{goal:g}s" if goal else ""
        if name in RATIO_NAMES:
            g = f"<={ratio_goal}x"
        if t1 is None:
            print(f"{name:<36} {'-':>8} {'-':>7} {'-':>8} {'-':>7} {'-':>6} {'-':>6} {g:>6}  "
                  f"{extra_txt}")
        else:
            est = "" if size == 224 else " (224 extrapolated by MACs)"
            print(f"{name:<36} {t1:>8.3f} {c1:>7.3f} {t224:>8.2f} {rate:>7.1f} "
                  f"{t1 / t_ort:>6.1f} {c1 / c_ort:>6.1f} {g:>6}  {extra_txt}{est}")


def _macs_at(fpath, size):
    """MACs of the same architecture at another resolution (shapes only)."""
    tmp = fpath.replace(".onnx", f"_{size}.onnx")
    resnet18_onnx(tmp, size=size)
    from hwsim.network import load_onnx

    net = load_onnx(tmp)
    return macs_conv(net, np.zeros((1, 3, size, size), np.float32))


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


def _cpu(fn):
    """CPU seconds of fn() in this process (every thread)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def _both(fn):
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
