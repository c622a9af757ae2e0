"""``hwsim demo``: a digits CNN under several accelerator configurations.

The model (``hwsim/data/digits_cnn.onnx``, trained by ``tools/train_digits.py``
on scikit-learn's bundled digits) runs as a float64 reference and under each
entry of :data:`DEMO_CONFIGS`; the demo prints test accuracy, logits SQNR and
MAC overflow events per configuration, and writes golden vectors of one test
image.  Configurations whose formats or MAC units are not available in this
build are reported as such.
"""
from __future__ import annotations

import os
import time

import numpy as np

__all__ = ["DEMO_CONFIGS", "model_path", "load_data", "evaluate", "run_demo"]

_INT8 = dict(input="int8", weight="int8", bias="int32", output="int8")

#: name -> precision configuration (every entry is just a config; see config.py)
DEMO_CONFIGS = {
    "int8, int32 acc, tflite requant": {"defaults": dict(_INT8, mac="int32", requant="tflite")},
    "int8, int32 acc, onnx requant": {"defaults": dict(_INT8, mac="int32", requant="onnx")},
    "int8, 16-bit saturating acc": {"defaults": dict(_INT8, mac="int16_sat", requant="tflite")},
    "int8, 14-bit saturating acc": {"defaults": dict(_INT8, mac="int14_sat", requant="tflite")},
    "FP8 E4M3, fp32 acc": {"defaults": dict(input="float8_e4m3fn", weight="float8_e4m3fn",
                                            bias="float32", output="float8_e4m3fn", mac="fp32")},
    "MXFP4 (E2M1), fp16 acc": {"defaults": dict(input="mxfp4", weight="mxfp4", bias="float16",
                                                output="float16", mac="fp16", scale="none")},
    "NF4 weights, fp16 act, fp32 acc": {"defaults": dict(input="float16", weight="nf4",
                                                         bias="float32", output="float16",
                                                         mac="fp32", scale="none")},
}


def model_path() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "digits_cnn.onnx")


def load_data():
    """(x_train, y_train, x_test, y_test) with the split of tools/train_digits.py."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(x))
    k = int(round(0.7 * len(x)))
    return x[perm[:k]], y[perm[:k]], x[perm[k:]], y[perm[k:]]


def evaluate(net, x, y, batch=256):
    """Accuracy, logits SQNR (dB, pooled) and total MAC overflow events."""
    correct = 0
    sig = err = 0.0
    ovf = 0
    for i in range(0, len(x), batch):
        r = net.run(x[i:i + batch], reference=True, keep=False)
        out = net.outputs[0]
        logits = r.outputs[out]
        correct += int(np.sum(logits.argmax(1) == y[i:i + batch]))
        ref = net.reference(x[i:i + batch], keep=False)[out]
        sig += float(np.sum(ref ** 2))
        err += float(np.sum((logits - ref) ** 2))
        ovf += sum(int(s.get("overflow_events", 0)) for s in r.stats.values())
    sqnr = float("inf") if err == 0 else 10 * np.log10(sig / err)
    return correct / len(x), sqnr, ovf


def run_demo(out_dir="demo_golden", configs=None, n_calib=128, quiet=False) -> dict:
    """Run the demo; returns {config name: (accuracy, sqnr, overflows) or error string}."""
    from tqdm import tqdm

    from .export import export
    from .onnx_import import load_onnx

    t0 = time.time()
    xtr, ytr, xte, yte = load_data()
    net = load_onnx(model_path())
    ref_logits = net.reference(xte, keep=False)[net.outputs[0]]
    ref_acc = float(np.mean(ref_logits.argmax(1) == yte))
    results: dict = {"float64 reference": (ref_acc, float("inf"), 0)}
    configs = DEMO_CONFIGS if configs is None else configs
    calib = [xtr[:n_calib]]
    for name in tqdm(list(configs), desc="configs", disable=quiet, ncols=80):
        try:
            net.set_config(configs[name])
            net.calibrate(calib)
            results[name] = evaluate(net, xte, yte)
        except (ValueError, TypeError, NotImplementedError) as e:
            results[name] = f"n/a ({str(e).splitlines()[0][:70]})"
    # golden vectors of one test image under the first integer configuration
    first = next(iter(configs))
    net.set_config(configs[first])
    net.calibrate(calib)
    man = export(net, xte[:1], out_dir, trace={"conv1": [(0, 0, 0, 0)]}, model_path=model_path())
    if not quiet:
        print(f"\nhwsim demo: digits CNN ({len(xte)} test images), model {os.path.basename(model_path())}")
        print(f"{'configuration':<36} {'accuracy':>9} {'SQNR dB':>9} {'overflows':>10}")
        print("-" * 67)
        for k, v in results.items():
            if isinstance(v, str):
                print(f"{k:<36} {v}")
            else:
                print(f"{k:<36} {v[0]:>9.4f} {v[1]:>9.2f} {v[2]:>10d}")
        print(f"\ngolden vectors of test image 0 ({first}): {out_dir}/ "
              f"({len(man['layers'])} layers, manifest.json)")
        print(f"time: {time.time() - t0:.1f} s")
    return results
