"""PNG plots of sweep rows (matplotlib, Agg): metrics vs a grid key, per-layer heatmap, Pareto.

Overflow counts are drawn on a symlog axis (linear below 1), so 0 events sit at 0,
not at an invented floor.
"""
from __future__ import annotations

import math

from ..._atomic import atomic_path
from .output import pareto_front

__all__ = ["plot_vs", "plot_heatmap", "plot_pareto", "plot_all"]

_SQNR_CAP = 200.0  # an exact output (SQNR = inf) is drawn at this height


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, plt):
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


def _sq(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return float("nan")
    return min(float(v), _SQNR_CAP)


def _series(rows, x_key, keys):
    """{label: [(x, row), ...]}: rows grouped by the other grid keys."""
    out: dict = {}
    for r in rows:
        label = ", ".join(f"{k}={r[k]}" for k in keys if k != x_key) or "all"
        out.setdefault(label, []).append((r[x_key], r))
    return out


def plot_vs(rows, x_key, keys, path, title="sweep") -> None:
    """Accuracy, output SQNR and overflow events against grid key ``x_key``."""
    plt = _plt()
    acc = "top1" if rows[0].get("top1") is not None else "agreement"
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for label, pts in _series(rows, x_key, keys).items():
        xs = [p[0] for p in pts]
        ax[0].plot(xs, [p[1][acc] for p in pts], "o-", label=label)
        ax[1].plot(xs, [_sq(p[1]["output_sqnr_db"]) for p in pts], "o-", label=label)
        ax[2].plot(xs, [p[1]["overflow_events"] for p in pts], "o-", label=label)
    ax[0].set_ylabel(f"{acc} accuracy")
    ax[1].set_ylabel(f"output SQNR dB (exact drawn at {_SQNR_CAP:g})")
    ax[2].set_yscale("symlog", linthresh=1)
    ax[2].set_ylim(bottom=0)
    ax[2].set_ylabel("overflow events (symlog: 0 is 0)")
    for a in ax:
        a.set_xlabel(x_key)
        a.grid(True, alpha=0.3)
    ax[0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path, plt)


def plot_heatmap(rows, keys, path, metric="sqnr_db", title="per-layer SQNR (dB)") -> None:
    """Layers x configurations, colour = a per-layer metric."""
    import numpy as np

    plt = _plt()
    layers = list(rows[0]["layers"])
    m = np.array([[_sq(r["layers"][n][metric]) for r in rows] for n in layers], float)
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(rows) + 3), 0.35 * len(layers) + 2))
    im = ax.imshow(m, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(layers)), layers, fontsize=7)
    ax.set_xticks(range(len(rows)), [str(i) for i in range(len(rows))], fontsize=6)
    ax.set_xlabel("configuration (row index in the CSV)")
    fig.colorbar(im, ax=ax, label=metric)
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path, plt)


def plot_pareto(rows, path, cost="cost_bitmacs", title="accuracy vs cost") -> None:
    plt = _plt()
    acc = "top1" if rows[0].get("top1") is not None else "agreement"
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter([r[cost] for r in rows], [r[acc] for r in rows], s=14, alpha=0.6, label="configs")
    front = pareto_front(rows, acc, cost)
    ax.plot([rows[i][cost] for i in front], [rows[i][acc] for i in front], "r.-",
            label="Pareto front")
    ax.set_xlabel(cost + " (docs/sweeps.md, cost model)")
    ax.set_ylabel(f"{acc} accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path, plt)


def plot_all(rows, keys, prefix, x_key=None, title="sweep") -> list:
    """The three plots as ``<prefix>_vs.png``, ``_heatmap.png``, ``_pareto.png``; their paths."""
    x_key = x_key or next((k for k in keys if all(isinstance(r[k], (int, float)) for r in rows)),
                          keys[0] if keys else None)
    paths = []
    if x_key is not None:
        paths.append(f"{prefix}_vs.png")
        plot_vs(rows, x_key, keys, paths[-1], title)
    paths.append(f"{prefix}_heatmap.png")
    plot_heatmap(rows, keys, paths[-1])
    paths.append(f"{prefix}_pareto.png")
    plot_pareto(rows, paths[-1])
    return paths
