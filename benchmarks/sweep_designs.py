"""Sweep every accelerator design's knob on the bundled digits CNN and a ResNet-18-shaped
network; write docs/designs/<design>.png and the tables of docs/designs.md.

    .venv/bin/python benchmarks/sweep_designs.py [--out docs/designs] [--images 539]

Digits: top-1 accuracy on the 539 test images and logits SQNR against the float64
reference.  ResNet-18-shaped (random seeded weights, 16x16 inputs, 10 classes): logits SQNR
and top-1 agreement with the float64 reference on ``--images`` seeded inputs (accuracy is
meaningless for random weights).  Every MAC layer runs the design (``{"defaults":
{"design": ...}}``); activations between layers are int8 as in the default config.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from hwsim.network import load_onnx
from hwsim.network.demo import load_data, model_path
from hwsim.network.sweep.resnet import resnet_digits

#: design -> (knob label, [(knob value, design dict)])
SWEEPS = {
    "pwlq": ("partial-sum bits (shared exponent, T=16)",
             [(b, {"name": "pwlq", "T": 16, "psum": {"kind": "shared_exp", "bits": b}})
              for b in (4, 6, 8, 10, 12, 16)] +
             [("lossless", {"name": "pwlq", "T": 16})]),
    "polarization": ("rank r of the bf16 compensation path (NF4 main path)",
                     [(r, {"name": "polarization", "main": "nf4", "rank": r})
                      for r in (0, 1, 2, 4, 8, 16)]),
    "polarization_noise": ("main-path noise std (x rms), rank 4 vs 0",
                           [(f"{s} r{r}", {"name": "polarization", "main": "int8", "rank": r,
                                           "noise_std": s, "seed": 1})
                            for s in (0.0, 0.02, 0.05, 0.1) for r in (0, 4)]),
    "cim": ("ADC bits (64 rows per conversion)",
            [(b, {"name": "cim", "adc_bits": b, "rows": 64}) for b in (3, 4, 5, 6, 7, 8)]),
    "schemes": ("named scheme",
                [("two-tensor INT4", {"name": "two_tensor_int4"}),
                 ("one INT4 tensor", {"name": "two_tensor_int4", "threshold": 1.0}),
                 ("VS-Quant INT4/V16", {"name": "vs_quant"}),
                 ("FP8 chunk64 SR", {"name": "chunked_fp8"}),
                 ("FP8 sequential SR", {"name": "chunked_fp8", "chunk": None}),
                 ("FP8 chunk64 rne", {"name": "chunked_fp8", "rounding": "rne"})]),
}


def _metrics(net, x, labels=None, batch=128):
    ys, refs = [], []
    for i in range(0, len(x), batch):
        r = net.run(x[i:i + batch], reference=True, keep=False)
        ys.append(r.outputs[net.outputs[0]])
        refs.append(net.reference(x[i:i + batch], keep=False)[net.outputs[0]])
    y, ref = np.concatenate(ys), np.concatenate(refs)
    err = float(np.sum((y - ref) ** 2))
    sq = float("inf") if err == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / err)
    agree = float(np.mean(y.argmax(1) == ref.argmax(1)))
    acc = None if labels is None else float(np.mean(y.argmax(1) == labels))
    one = net.run(x[:1], reference=False, keep=False).stats  # costs of one image
    cost: dict = {}
    for st in one.values():
        for k, v in st.items():
            if k.startswith("cost."):
                cost[k[5:]] = cost.get(k[5:], 0) + v
    return acc, sq, agree, cost


def _cost_text(key, c) -> str:
    """The design's cost on the ResNet-style net, per image (docs/designs.md)."""
    if key == "pwlq":
        return f"{c.get('psum_bits', 0) / 8192:.1f} KiB psum spill"
    if key.startswith("polarization"):
        return (f"+{100 * c.get('comp_macs', 0) / max(1, c.get('main_macs', 1)):.1f}% MACs, "
                f"+{100 * c.get('comp_weight_bits', 0) / max(1, c.get('main_weight_bits', 1)):.1f}%"
                " weight memory")
    if key == "cim":
        return f"{c.get('adc_conversions', 0) / 1e6:.2f} M ADC conversions"
    macs = sum(v for k, v in c.items() if k.endswith("macs"))
    return f"{macs / 1e6:.2f} M MACs, {c.get('weight_bits', 0) / 8192:.1f} KiB weights"


def run(out_dir, n_images):
    xtr, _, xte, yte = load_data()
    digits = load_onnx(model_path())
    resnet = resnet_digits()
    x, y = xte[:n_images], yte[:n_images]
    nets = {"digits": (digits, [xtr[:64]], x, y), "resnet": (resnet, [xtr[:64]], x, y)}
    rows = []
    for key, (label, cases) in SWEEPS.items():
        for val, d in cases:
            row = dict(design=key, knob=str(val))
            for nname, (net, cal, x, y) in nets.items():
                t = time.time()
                net.set_config({"defaults": {"design": d}})
                net.calibrate(cal)
                row[nname] = _metrics(net, x, y) + (time.time() - t,)
            rows.append(row)
            print(key, val, row["digits"][:3], row["resnet"][:3], flush=True)
    _plots(rows, out_dir)
    _tables(rows, os.path.join(out_dir, "tables.md"))
    return rows


def _fmt(v):
    return "inf" if v == float("inf") else f"{v:.1f}"


def _tables(rows, path):
    with open(path, "w") as f:
        for key, (label, _) in SWEEPS.items():
            f.write(f"\n#### {key}: {label}\n\n| {label} | digits CNN top-1 | SQNR dB | "
                    "ResNet-style top-1 | SQNR dB | agreement with float | cost (ResNet-style, "
                    "per image) |\n|---|---|---|---|---|---|---|\n")
            for r in rows:
                if r["design"] == key:
                    d, n = r["digits"], r["resnet"]
                    f.write(f"| {r['knob']} | {d[0]:.4f} | {_fmt(d[1])} | {n[0]:.4f} | "
                            f"{_fmt(n[1])} | {n[2]:.3f} | {_cost_text(key, n[3])} |\n")


def _plots(rows, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key, (label, _) in SWEEPS.items():
        rs = [r for r in rows if r["design"] == key]
        knobs = [r["knob"] for r in rs]
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
        xs = np.arange(len(rs))
        ax[0].plot(xs, [r["digits"][0] for r in rs], "o-", label="digits CNN")
        ax[0].plot(xs, [r["resnet"][0] for r in rs], "s--", label="ResNet-style")
        ax[0].set_ylabel("top-1 accuracy (digits test split)")
        ax[0].set_ylim(0, 1.02)
        cap = 80.0
        for net, mk in (("digits", "o-"), ("resnet", "s--")):
            ax[1].plot(xs, [min(r[net][1], cap) for r in rs], mk,
                       label="digits CNN" if net == "digits" else "ResNet-style")
        ax[1].set_ylabel(f"logits SQNR dB (lossless drawn at {cap:.0f})")
        for a in ax:
            a.set_xticks(xs, knobs, rotation=30 if len(max(knobs, key=len)) > 3 else 0,
                         fontsize=8)
            a.set_xlabel(label, fontsize=9)
            a.grid(alpha=0.3)
            a.legend(fontsize=8)
        fig.suptitle(f"design: {key}")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, f"{key}.png"), dpi=90)
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("docs", "designs"))
    ap.add_argument("--images", type=int, default=539)
    a = ap.parse_args(argv)
    if not 1 <= a.images <= 539:
        ap.error(f"--images must be in [1, 539] (the digits test split), got {a.images}")
    os.makedirs(a.out, exist_ok=True)
    t = time.time()
    run(a.out, a.images)
    print(f"wrote {a.out}/*.png and tables.md in {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
