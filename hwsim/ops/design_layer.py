"""MAC layers run by an accelerator design (:mod:`hwsim.designs`) instead of a MAC unit.

The design sees the layer input as the network delivers it (its QTensor's real
values) and the layer's float weights, quantizes both its own way, runs its
datapath and returns real outputs; the bias is added in float64 and the result
is encoded into the layer's planned output quantization (round half to even,
saturating), as the float-register path of :mod:`.mac_layer` does.
"""
from __future__ import annotations

import numpy as np

from ..designs import design_from_dict
from ..tensors import QTensor
from .quant import block_quantize, is_block

__all__ = ["run_design_layer", "design_forward"]


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _columns(x, kh, kw, a):
    """float64 im2col of NCHW ``x``: ([N * Ho * Wo, C, kh * kw] rows, (N, Ho, Wo))."""
    sh, sw = _pair(a.get("strides", 1))
    dh, dw = _pair(a.get("dilations", 1))
    p = a.get("pads", 0)
    pt, pl, pb, pr = (p,) * 4 if np.ndim(p) == 0 else tuple(int(v) for v in p)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1),
                                                   axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]  # [N, C, Ho, Wo, kh, kw]
    N, C, Ho, Wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C, kh * kw), (N, Ho, Wo)


def design_forward(n, x: np.ndarray, design):
    """(float64 output, list of DesignResult) of Conv / Gemm node ``n`` on real ``x``."""
    w = n.weight
    if n.op == "Conv":
        a = n.attrs
        g = a.get("group", 1)
        cols, (N, Ho, Wo) = _columns(x, w.shape[2], w.shape[3], a)
        cg, cin_g = w.shape[0] // g, w.shape[1]
        wm = w.reshape(g, cg, -1).transpose(0, 2, 1)  # [G, cin_g * kh * kw, Cg]
        results = [design.matmul(cols[:, i * cin_g:(i + 1) * cin_g].reshape(len(cols), -1),
                                 wm[i]) for i in range(g)]
        y = np.stack([r.values for r in results])  # [G, M, Cg]
        y = y.transpose(1, 0, 2).reshape(N, Ho, Wo, -1).transpose(0, 3, 1, 2)
        if n.bias is not None:
            y = y + n.bias.reshape(1, -1, 1, 1)
        return y, results
    res = design.matmul(x.reshape(-1, x.shape[-1]), w)
    y = res.values.reshape(*x.shape[:-1], -1)
    if n.bias is not None:
        y = y + n.bias
    return y, [res]


#: design statistics that count overflow / saturation events of the datapath
OVERFLOW_KEYS = ("overflow_events", "psum_saturations", "recomb_saturations", "adc_clipped")


def _summary(results, cout: int) -> dict:
    """Layer statistics: the designs' numeric stats and costs summed over the groups, plus
    the keys every MAC layer reports (per-channel overflow counts are not tracked: 0)."""
    st: dict = {}
    for r in results:
        for k, v in list(r.stats.items()) + [(f"cost.{k}", v) for k, v in r.cost.items()]:
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                st[k] = st.get(k, 0) + v
    st["design_overflow_events"] = int(sum(st.get(k, 0) for k in OVERFLOW_KEYS))
    st["overflow_events"] = st["design_overflow_events"]
    st["overflow_per_col"] = np.zeros(cout, dtype=np.int64)
    # the largest register magnitude of any MAC path (each in its own register's units)
    st["max_abs_partial"] = max([float(np.max(p.result.stats.max_abs_partial))
                                 for r in results for p in r.paths.values()
                                 if getattr(p.result, "stats", None) is not None] or [0.0])
    return st


def run_design_layer(n, x: QTensor, lp, record_cls):
    """Executor of a MAC layer whose config names a design: ``(output QTensor, record)``."""
    design = design_from_dict(lp.config.design)
    y, results = design_forward(n, np.asarray(x.values(), dtype=np.float64), design)
    oq = lp.out_q
    ch_axis = 1 if n.op == "Conv" else y.ndim - 1
    if is_block(oq.fmt):
        out = block_quantize(y, oq.fmt, axis=ch_axis, tensor_scale=oq.scale)
    else:
        out = QTensor.quantize(y, oq.fmt, oq.scale, oq.zero_point,
                               axis=ch_axis if np.ndim(oq.scale) else None)
    rec = record_cls(n.name, n.op, x, lp.wq, lp.bias, y, out, design, dict(style="design"),
                     dict(n.attrs), lp.config.to_dict(), _summary(results, y.shape[ch_axis]),
                     design_results=results)
    return out, rec
