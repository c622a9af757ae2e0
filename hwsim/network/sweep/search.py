"""Precision search: per-layer sensitivity, then greedy steps toward a target at least cost.

The search space gives every searched layer an ordered list of options, cheapest
first; an option is a dict of config keys of that layer (``{"mac": "int12_sat"}``,
``{"weight": "int6"}``, ``{"mac.tiling.psum_format": "int16"}``: paths below
``layers.<name>.``).  The target is met when ``metric >= floor``:

- ``Target("top1", max_drop=0.01)``: at most 1 point below the float model's top-1
  (``agreement``: below 1.0, i.e. the float model's own answers);
- ``Target("output_sqnr_db", floor=30)``: output SQNR at least 30 dB.

Algorithm (assumes that more precision in one layer never hurts, which the
exhaustive comparison checks where it can be computed):

1. **sensitivity**: for each layer alone (the others at their last, most precise
   option), bisection for the cheapest option that meets the target; the layers'
   bisections run side by side, one batch of evaluations per step;
2. **combine**: every layer at its own cheapest option; while the target is missed,
   raise the one layer whose next option gives the most metric per added cost
   (one batch of candidates per step);
3. **trim**: while some layer can step down one option and still meet the
   target, take the step that saves the most cost.

The cost is a column of the result row (default ``cost_bitmacs``; or
``traffic_bytes``; docs/sweeps.md, "Cost model").  Evaluations go through
:func:`.runner.run_configs`, so they are cached and may run on Dask.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

from ...errors import UsageError
from .api import DEFAULT_BASE, prepare
from .grid import set_path
from .runner import run_configs

__all__ = ["Target", "SearchResult", "precision_search", "width_options"]


@dataclass(frozen=True)
class Target:
    """``metric >= floor``, or ``metric >= reference - max_drop`` (module docstring)."""

    metric: str = "top1"
    max_drop: float | None = 0.01
    floor: float | None = None

    def threshold(self, row0) -> float:
        if self.floor is not None:
            return float(self.floor)
        if self.metric == "top1":
            if row0.get("float_top1") is None:
                raise UsageError("target top1 needs labels; use metric 'agreement' without them")
            return row0["float_top1"] - self.max_drop
        if self.metric == "agreement":
            return 1.0 - self.max_drop
        raise UsageError(f"target {self.metric!r} needs floor= (an absolute value)")


@dataclass
class SearchResult:
    choice: dict            #: layer -> chosen option
    row: dict               #: metrics of the chosen configuration
    config: dict            #: the chosen configuration
    threshold: float        #: the target's floor on the metric
    evaluations: int        #: distinct configurations evaluated by the search
    grid_size: int          #: size of the exhaustive grid
    sensitivity: dict       #: layer -> cheapest option index alone
    exhaustive: dict | None = None  #: optimum of the exhaustive grid (when computed)

    def summary(self) -> str:
        s = (f"search: {self.evaluations} evaluations of {self.grid_size} configurations; "
             f"chosen {self.choice}: metric {self.row['_metric']:.4f} (>= {self.threshold:.4f}), "
             f"cost {self.row['_cost']:.6g}")
        if self.exhaustive is not None:
            s += (f"\nexhaustive optimum {self.exhaustive['choice']}: cost "
                  f"{self.exhaustive['cost']:.6g} ({'matched' if self.exhaustive['matches'] else 'NOT matched'})")
        return s


def width_options(key_template: str, widths) -> list:
    """Options ``[{key: template with {w}}]``, e.g. ``width_options("mac", ...)``."""
    key, _, tmpl = key_template.partition("=")
    return [{key: (w if tmpl in ("", "{w}") else tmpl.format(w=w))} for w in widths]


class _Evaluator:
    def __init__(self, net, data, base, space, target, cost, cache, dask):
        self.net, self.data, self.base, self.space = net, data, base, space
        self.layers = list(space)
        self.target, self.cost, self.cache, self.dask = target, cost, cache, dask
        self.seen: dict = {}

    def config(self, idx) -> dict:
        cfg = copy.deepcopy(self.base)
        for name, i in zip(self.layers, idx):
            for k, v in self.space[name][i].items():
                set_path(cfg, f"layers.{name}.{k}", v)
        return cfg

    def rows(self, idxs) -> list:
        new = [t for t in dict.fromkeys(tuple(i) for i in idxs) if t not in self.seen]
        if new:
            got = run_configs(self.net, [self.config(t) for t in new], *self.data,
                              cache=self.cache, dask=self.dask)
            for t, r in zip(new, got):
                r = dict(r, _metric=r[self.target.metric], _cost=r[self.cost])
                self.seen[t] = r
        return [self.seen[tuple(i)] for i in idxs]


def _sensitivity(ev, thr) -> list:
    """Per layer: the cheapest option meeting ``thr`` with the other layers at their top."""
    top = [len(ev.space[n]) - 1 for n in ev.layers]
    lo, hi = [0] * len(top), list(top)
    while any(a < b for a, b in zip(lo, hi)):
        act = [i for i in range(len(top)) if lo[i] < hi[i]]
        probes = []
        for i in act:
            t = list(top)
            t[i] = (lo[i] + hi[i]) // 2
            probes.append(t)
        for i, r in zip(act, ev.rows(probes)):
            mid = (lo[i] + hi[i]) // 2
            if r["_metric"] >= thr:
                hi[i] = mid
            else:
                lo[i] = mid + 1
    return lo


def _neighbours(cur, space_len, step):
    out = []
    for i in range(len(cur)):
        j = cur[i] + step
        if 0 <= j < space_len[i]:
            t = list(cur)
            t[i] = j
            out.append(t)
    return out


def _combine(ev, start, thr, lens):
    cur = list(start)
    r = ev.rows([cur])[0]
    while r["_metric"] < thr:
        cands = _neighbours(cur, lens, +1)
        if not cands:
            raise UsageError("precision search: the most precise options miss the target")
        rs = ev.rows(cands)
        ok = [(x["_cost"], c) for c, x in zip(cands, rs) if x["_metric"] >= thr]
        if ok:
            cur = min(ok)[1]
        else:
            gain = [((x["_metric"] - r["_metric"]) / max(x["_cost"] - r["_cost"], 1e-12), c)
                    for c, x in zip(cands, rs)]
            cur = max(gain, key=lambda g: g[0])[1]
        r = ev.rows([cur])[0]
    return cur


def _trim(ev, cur, thr, lens):
    while True:
        cands = _neighbours(cur, lens, -1)
        rs = ev.rows(cands) if cands else []
        ok = [(x["_cost"], c) for c, x in zip(cands, rs) if x["_metric"] >= thr]
        if not ok:
            return cur
        cur = min(ok)[1]


def _exhaustive(ev, thr, lens, best):
    allc = [list(t) for t in itertools.product(*(range(n) for n in lens))]
    rs = ev.rows(allc)
    ok = [(r["_cost"], c) for c, r in zip(allc, rs) if r["_metric"] >= thr]
    cost, c = min(ok)
    choice = {n: ev.space[n][i] for n, i in zip(ev.layers, c)}
    return dict(choice=choice, cost=cost, matches=cost == ev.rows([best])[0]["_cost"])


def precision_search(net, x, y, space, target=Target(), base=None, cost="cost_bitmacs",
                     cache=None, dask=None, exhaustive_limit=0, calib=None) -> SearchResult:
    """Search ``space`` (layer -> ordered options) for the cheapest config meeting ``target``.

    ``exhaustive_limit``: also evaluate the whole grid when it has at most this
    many configurations, and report whether the search found its optimum."""
    if not space:
        raise UsageError("precision search: the search space names no layer")
    base = copy.deepcopy(base if base is not None else DEFAULT_BASE)
    data = prepare(net, x, y, calib)
    ev = _Evaluator(net, data, base, dict(space), target, cost, cache, dask)
    lens = [len(space[n]) for n in ev.layers]
    if min(lens) < 1:
        raise UsageError("precision search: every layer needs at least one option")
    thr = target.threshold(ev.rows([[n - 1 for n in lens]])[0])
    sens = _sensitivity(ev, thr)
    best = _trim(ev, _combine(ev, sens, thr, lens), thr, lens)
    n_search = len(ev.seen)
    grid = 1
    for n in lens:
        grid *= n
    exh = _exhaustive(ev, thr, lens, best) if grid <= exhaustive_limit else None
    return SearchResult(choice={n: space[n][i] for n, i in zip(ev.layers, best)},
                        row=ev.rows([best])[0], config=ev.config(best), threshold=thr,
                        evaluations=n_search, grid_size=grid,
                        sensitivity={n: space[n][i] for n, i in zip(ev.layers, sens)},
                        exhaustive=exh)
