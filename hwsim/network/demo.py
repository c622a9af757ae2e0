"""``hwsim demo``: a digits CNN under several accelerator configurations.

The model (``hwsim/data/digits_cnn.onnx``, trained by ``tools/train_digits.py``)
runs as a float64 reference and under each entry of :data:`DEMO_CONFIGS` (int8 /
int32, saturating accumulators, FP8, fp16, MXFP4, NF4; listed in
docs/architecture.md, "The demo").  It prints test accuracy, logits SQNR, MAC
overflow events and time per configuration, and writes the golden vectors of test
image 0 for the configurations in :data:`GOLDEN`.  A configuration that fails is
reported as ``n/a`` with the reason.
"""
from __future__ import annotations

import os
import time

import numpy as np

from .._atomic import atomic_dir
from .export import export, is_golden_dir
from .onnx_import import load_onnx

__all__ = ["DEMO_CONFIGS", "model_path", "load_data", "evaluate", "run_demo"]

_INT8 = dict(input="int8", weight="int8", bias="int32", output="int8")
_F16 = dict(input="float16", weight="float16", bias="float16", output="float16", scale="none")

#: name -> precision configuration (every entry is just a config; see config.py)
DEMO_CONFIGS = {
    "int8, int32 acc, tflite requant": {"defaults": dict(_INT8, mac="int32", requant="tflite")},
    "int8, int32 acc, onnx requant": {"defaults": dict(_INT8, mac="int32", requant="onnx")},
    "int8, 16-bit saturating acc": {"defaults": dict(_INT8, mac="int16_sat", requant="tflite")},
    "int8, 14-bit saturating acc": {"defaults": dict(_INT8, mac="int14_sat", requant="tflite")},
    "FP8 E4M3, fp32 acc": {"defaults": dict(input="float8_e4m3fn", weight="float8_e4m3fn",
                                            bias="float32", output="float8_e4m3fn", mac="fp32")},
    "fp16, fp16 per-MAC acc": {"defaults": dict(_F16, mac="fp16")},
    "MXFP4 (E2M1), fp16 per-MAC acc": {"defaults": dict(_F16, input="mxfp4", weight="mxfp4",
                                                        mac="fp16")},
    "MXFP4, OCP block dot, fp16 acc": {"defaults": dict(_F16, input="mxfp4", weight="mxfp4",
                                                        mac="block_fp16", order="kh,kw,cin")},
    "NF4 weights, fp16 act, fp32 acc": {"defaults": dict(_F16, weight="nf4", bias="float32",
                                                         mac="fp32")},
}

#: configurations whose golden vectors of one test image the demo writes
GOLDEN = ("int8, int32 acc, tflite requant", "FP8 E4M3, fp32 acc", "MXFP4 (E2M1), fp16 per-MAC acc")


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


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower().replace("__", "_")


def run_demo(out_dir="demo_golden", configs=None, n_calib=128, quiet=False, golden=GOLDEN) -> dict:
    """Run the demo; returns {config name: (accuracy, sqnr, overflows, seconds) or error string}.

    Golden vectors of test image 0 go to ``out_dir/<config>/`` for every name
    in ``golden`` that is among the configurations run.  ``out_dir`` appears
    complete or not at all (:mod:`hwsim._atomic`); an existing one must be empty
    or an earlier demo output, and is replaced at the end.
    """

    with atomic_dir(out_dir, reusable=is_demo_dir) as tmp:
        return _run_demo(out_dir, tmp, configs, n_calib, quiet, golden)


def is_demo_dir(path) -> bool:
    """True when ``path`` holds only earlier demo golden folders (each with a manifest)."""

    subs = os.listdir(path)
    return bool(subs) and all(is_golden_dir(os.path.join(path, d)) for d in subs)


def _run_demo(out_dir, tmp, configs, n_calib, quiet, golden) -> dict:
    from tqdm import tqdm


    t0 = time.time()
    xtr, ytr, xte, yte = load_data()
    net = load_onnx(model_path())
    ref_logits = net.reference(xte, keep=False)[net.outputs[0]]
    ref_acc = float(np.mean(ref_logits.argmax(1) == yte))
    results: dict = {"float64 reference": (ref_acc, float("inf"), 0, 0.0)}
    configs = DEMO_CONFIGS if configs is None else configs
    calib = [xtr[:n_calib]]
    written = []
    bar = tqdm(list(configs), desc="hwsim demo", disable=quiet, ncols=90)
    for name in bar:
        bar.set_postfix_str(name[:30])
        t1 = time.time()
        try:
            net.set_config(configs[name])
            net.calibrate(calib)
            acc, sq, ov = evaluate(net, xte, yte)
            results[name] = (acc, sq, ov, time.time() - t1)
            if name in golden:
                man = export(net, xte[:1], os.path.join(tmp, _slug(name)),
                             trace={"conv1": [(0, 0, 0, 0)]}, model_path=model_path())
                written.append((name, os.path.join(out_dir, _slug(name)), len(man["layers"])))
        except (ValueError, TypeError, NotImplementedError) as e:
            results[name] = f"n/a ({str(e).splitlines()[0][:70]})"
    if not quiet:
        print(f"\nhwsim demo: digits CNN ({len(xte)} test images), model {os.path.basename(model_path())}")
        print(f"{'configuration':<34} {'accuracy':>9} {'SQNR dB':>8} {'overflows':>10} {'time s':>7}")
        print("-" * 72)
        for k, v in results.items():
            if isinstance(v, str):
                print(f"{k:<34} {v}")
            else:
                print(f"{k:<34} {v[0]:>9.4f} {v[1]:>8.2f} {v[2]:>10d} {v[3]:>7.1f}")
        print("\nSQNR: logits against the float64 reference run; overflows: MAC accumulator adds "
              "that wrapped or saturated, over all test images.")
        for name, d, nl in written:
            print(f"golden vectors of test image 0 ({name}): {d}/ ({nl} layers, manifest.json)")
        print(f"time: {time.time() - t0:.1f} s")
    return results
