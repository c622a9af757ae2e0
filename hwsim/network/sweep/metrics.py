"""Metrics of one configuration: accuracy, per-layer SQNR / overflow / bits, MACs, traffic, cost.

Cost model (stated in docs/sweeps.md, "Cost model"), per image:

- ``macs``: multiply-accumulates of the Conv / Gemm layers (K terms per output);
- ``cost_bitmacs`` = sum over MAC layers of macs x (a_bits x w_bits + acc_bits):
  a multiplier's size grows with the product of its operand widths, an adder's
  with the register width;
- ``traffic_weight_bytes`` = sum of |W| x w_bits / 8 (weights fetched once per image);
- ``traffic_act_bytes`` = sum of (input elements x a_bits + output elements x
  out_bits) / 8 of every MAC layer (each activation read / written once);
- ``traffic_psum_bytes``: a layer with K-tiling ``T`` spills its running sums
  after every tile but the last: (ceil(K / T) - 1) x outputs x psum_bits / 8 x 2
  (written, then read back).

Bits of a format: its ``bits`` (block formats: the element bits; a float
accumulator: its format's width).
"""
from __future__ import annotations

import json
import math

import numpy as np

from ...mac import a2q_bits, a2q_l1_bits, worst_case_bits
from ...ops import macbridge as br
from ..executor import sqnr

__all__ = ["evaluate", "eval_config", "prepare_reference", "layer_bounds"]


def _bits(fmt) -> int:
    b = getattr(fmt, "bits", None)
    if b is None:
        b = getattr(getattr(fmt, "element", None), "bits", 0)
    return int(b or 0)


def _topk(logits, y, k):
    if y is None or logits.shape[1] < k:
        return None
    top = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == y[:, None], axis=1)))


def prepare_reference(net, x) -> np.ndarray:
    """float64 logits [N, classes] of the first output (computed once per sweep)."""
    ref = net.reference(x, keep=False)[net.outputs[0]]
    return np.asarray(ref, np.float64).reshape(len(x), -1)


def _l1_per_channel(rec) -> np.ndarray | None:
    w = rec.weight
    if w.fmt.kind != "int":
        return None
    ints = w.ints().astype(np.int64)
    ch = 1 if rec.op == "Gemm" else 0
    zp = np.asarray(w.zero_point, np.int64)
    if zp.ndim:
        shape = [1] * ints.ndim
        shape[ch] = -1
        zp = zp.reshape(shape)
    axes = tuple(i for i in range(ints.ndim) if i != ch)
    return np.abs(ints - zp).sum(axis=axes)


def layer_bounds(rec, k: int) -> dict:
    """Accumulator bits: observed, worst case, A2Q, A2Q per-channel l1 and A2Q+ (int operands)."""
    a, w = rec.input.fmt, rec.weight.fmt
    out = dict(bits_observed=rec.stats.get("bits_needed"))
    if a.kind != "int" or w.kind != "int":
        return dict(out, bits_worst=None, bits_a2q=None, bits_a2q_l1=None, bits_a2q_plus=None)
    l1 = int(_l1_per_channel(rec).max())
    # A2Q+ (Colbert et al. 2024, zero-centred weights): (2^N - 1) ||w||_1 / 2 <= 2^(P-1) - 1
    need = (((1 << a.bits) - 1) * l1 + 1) // 2
    return dict(out, bits_worst=worst_case_bits(a.bits, w.bits, k),
                bits_a2q=a2q_bits(a.bits, w.bits, k, a.signed),
                bits_a2q_l1=a2q_l1_bits(l1, a.bits, a.signed),
                bits_a2q_plus=max(1, need.bit_length() + 1))


def _k_terms(rec) -> int:
    shape = rec.weight.codes.shape if hasattr(rec.weight, "codes") else rec.weight.values().shape
    return int(shape[0]) if rec.op == "Gemm" else int(np.prod(shape[1:]))


def _design_row(rec, st, n_img, k) -> dict:
    """A layer run by an accelerator design (hwsim.designs, docs/designs.md): its own cost
    model (``cost.*`` in the layer statistics) replaces the MAC unit's."""
    d = rec.mac
    outs = int(rec.acc.size) // n_img
    macs = outs * k
    acc_bits = int(getattr(d, "acc_bits", getattr(d, "recomb_bits", 32)))
    a_bits, w_bits = _bits(rec.input.fmt), _bits(rec.weight.fmt)
    events = int(rec.stats.get("overflow_events", 0))
    row = dict(op=rec.op, k=k, macs=macs, acc_bits=acc_bits, a_bits=a_bits, w_bits=w_bits,
               mac_type=f"design:{d.name}", sqnr_db=st.get("sqnr_db"), overflow_events=events,
               overflow_rate=events / (macs * n_img) if macs else 0.0,
               weight_bytes=float(rec.stats.get("cost.weight_bits",
                                                int(rec.weight.values().size) * w_bits)) / 8,
               act_bytes=(int(rec.input.values().size) * a_bits
                          + int(rec.output.values().size) * _bits(rec.output.fmt)) / 8 / n_img,
               psum_bytes=float(rec.stats.get("cost.psum_bits", 0)) / 8 / n_img,
               cost_bitmacs=macs * (a_bits * w_bits + acc_bits))
    return dict(row, bits_observed=None, bits_worst=None, bits_a2q=None, bits_a2q_l1=None,
                bits_a2q_plus=None)


def _layer_row(rec, st, n_img) -> dict:
    mac = rec.mac
    k = _k_terms(rec)
    if getattr(rec, "design_results", None) is not None:
        return _design_row(rec, st, n_img, k)
    outs = int(rec.acc.size) // n_img
    macs = outs * k
    a_bits, w_bits = _bits(rec.input.fmt), _bits(rec.weight.fmt)
    acc_bits = _bits(br.acc_format(mac))
    tiling = getattr(mac, "tiling", None)
    spill = 0
    if tiling is not None:
        spill = (math.ceil(k / tiling.T) - 1) * outs * _bits(tiling.psum_format) / 8 * 2
    events = int(rec.stats.get("overflow_events", 0))
    row = dict(op=rec.op, k=k, macs=macs, acc_bits=acc_bits, a_bits=a_bits, w_bits=w_bits,
               mac_type=f"{rec.input.fmt.name}x{rec.weight.fmt.name}->{br.acc_format(mac).name}",
               sqnr_db=st.get("sqnr_db"), overflow_events=events,
               overflow_rate=events / (macs * n_img) if macs else 0.0,
               weight_bytes=int(rec.weight.values().size) * w_bits / 8,
               act_bytes=(int(rec.input.values().size) * a_bits
                          + int(rec.output.values().size) * _bits(rec.output.fmt)) / 8 / n_img,
               psum_bytes=spill, cost_bitmacs=macs * (a_bits * w_bits + acc_bits))
    row.update(layer_bounds(rec, k))
    return row


def evaluate(net, x, y, ref_logits) -> dict:
    """Run ``net`` (configured, calibrated) on ``x``; the metrics row (module docstring)."""
    with np.errstate(all="ignore"):
        r = net.run(x, keep=True, reference=True)
    n = len(x)
    got = np.asarray(r.outputs[net.outputs[0]], np.float64).reshape(n, -1)
    fpred = ref_logits.argmax(1)
    row = dict(top1=_topk(got, y, 1), top5=_topk(got, y, 5),
               float_top1=None if y is None else float(np.mean(fpred == y)),
               agreement=float(np.mean(got.argmax(1) == fpred)),
               output_sqnr_db=sqnr(ref_logits, got))
    layers = {name: _layer_row(rec, r.stats[name], n) for name, rec in r.layers.items()}
    macs_by_type: dict = {}
    for lr in layers.values():
        macs_by_type[lr["mac_type"]] = macs_by_type.get(lr["mac_type"], 0) + lr["macs"]
    row.update(macs=sum(v["macs"] for v in layers.values()), macs_by_type=macs_by_type,
               overflow_events=sum(v["overflow_events"] for v in layers.values()),
               traffic_weight_bytes=sum(v["weight_bytes"] for v in layers.values()),
               traffic_act_bytes=sum(v["act_bytes"] for v in layers.values()),
               traffic_psum_bytes=sum(v["psum_bytes"] for v in layers.values()),
               cost_bitmacs=sum(v["cost_bitmacs"] for v in layers.values()), layers=layers)
    row["traffic_bytes"] = (row["traffic_weight_bytes"] + row["traffic_act_bytes"]
                            + row["traffic_psum_bytes"])
    return row


def _canon(row) -> dict:
    """``row`` as JSON gives it back (numpy scalars -> Python numbers)."""
    def conv(o):
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return json.loads(json.dumps(row, default=conv))


def eval_config(net, cfg, x, y, ref):
    """One configuration's row (the network is configured in place; calibration is kept)."""
    net.set_config(cfg)
    return _canon(evaluate(net, x, y, ref))
