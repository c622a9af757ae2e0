"""Accumulator-width / format sweeps: accuracy, SQNR and overflow vs width."""
from __future__ import annotations

import copy

import numpy as np

from .._atomic import atomic_path

__all__ = ["sweep_acc_widths", "plot_sweep"]


def sweep_acc_widths(net, x, y=None, widths=(10, 12, 14, 16, 18, 20, 24, 32), base=None,
                     overflow="sat", calib=None, progress=False):
    """Run ``net`` with integer accumulators of each width; one row per width.

    Rows: ``width``, ``accuracy`` (when labels ``y`` are given), ``sqnr_db`` of the
    first output against the float64 reference, ``overflow_events``.
    """
    base = copy.deepcopy(base or {"defaults": dict(input="int8", weight="int8", bias="int32",
                                                   output="int8", requant="tflite")})
    rows = []
    it = widths
    if progress:
        from tqdm import tqdm

        it = tqdm(list(widths), desc="widths", ncols=80)
    for w in it:
        cfg = copy.deepcopy(base)
        cfg.setdefault("defaults", {})["mac"] = f"int{w}" + ("_sat" if overflow == "sat" else "")
        if w < 32:
            cfg["defaults"]["bias"] = f"int{w}"
        net.set_config(cfg)
        if calib is not None:
            net.calibrate(calib)
        r = net.run(x, reference=True)
        out = net.outputs[0]
        ref = net.reference(x, keep=False)[out]
        got = r.outputs[out]
        err = float(np.sum((got - ref) ** 2))
        sqnr = float("inf") if err == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / err)
        row = dict(width=w, sqnr_db=sqnr,
                   overflow_events=sum(int(s.get("overflow_events", 0)) for s in r.stats.values()))
        if y is not None:
            row["accuracy"] = float(np.mean(got.reshape(len(y), -1).argmax(1) == y))
        rows.append(row)
    return rows


def format_table(rows) -> str:
    keys = list(rows[0])
    lines = ["  ".join(f"{k:>15}" for k in keys)]
    for r in rows:
        lines.append("  ".join(f"{r[k]:>15.4f}" if isinstance(r[k], float) else f"{r[k]:>15}" for k in keys))
    return "\n".join(lines)


def plot_sweep(rows, path, title="accumulator width sweep") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = [r["width"] for r in rows]
    fig, axes = plt.subplots(1, 3 if "accuracy" in rows[0] else 2, figsize=(12, 3.5))
    axes[0].plot(w, [min(r["sqnr_db"], 200) for r in rows], "o-")
    axes[0].set_ylabel("output SQNR (dB)")
    axes[1].semilogy(w, [max(r["overflow_events"], 0.5) for r in rows], "o-")
    axes[1].set_ylabel("overflow events")
    if "accuracy" in rows[0]:
        axes[2].plot(w, [r["accuracy"] for r in rows], "o-")
        axes[2].set_ylabel("accuracy")
    for a in axes:
        a.set_xlabel("accumulator bits")
        a.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
