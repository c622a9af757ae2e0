"""The quantized executor shared by the MAC ops (Conv, Gemm / MatMul).

Given the layer's plan (:class:`hwsim.network.planner.LayerPlan`): cast the
input into the planned quantization, run the MACs (the op's kernel, through
:mod:`.macbridge`), apply the zero-point correction of raw-code kernels, then
requantize (integer registers: :class:`~.requant.Requant`) or scale in float32
and encode once into the output format.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec import encode
from ..tensors import QTensor, ints_to_codes
from . import macbridge as br
from .design_layer import run_design_layer
from .quant import block_input, block_quantize, convert, is_block
from .requant import scale_float

__all__ = ["LayerRecord", "run_mac_layer", "zp_correct"]


@dataclass
class LayerRecord:
    """Everything one compute layer saw and produced (for export / debugging)."""

    name: str
    op: str
    input: QTensor
    weight: QTensor
    bias: np.ndarray | None
    acc: np.ndarray
    output: QTensor
    mac: object
    requant: dict
    attrs: dict
    config: dict
    stats: dict
    acc_codes: np.ndarray | None = None  #: result-register codes (``macbridge.acc_format``)
    design_results: list | None = None   #: a design layer's DesignResults (one per group)


def _accumulate(n, x, lp, kernel, mac_stats):
    """Accumulator values, stats and the channel axis of one MAC layer."""
    in_q, wq = lp.in_q, lp.wq
    x_zp = int(in_q.zero_point) if in_q.fmt.kind == "int" else 0
    w_zp = lp.w_zp if wq.fmt.kind == "int" else 0
    mac_zp = 0 if lp.raw_zp else x_zp  # raw codes: x_zp * colsum(w) subtracted after
    acc, st, ch_axis = kernel(n, x, lp, mac_zp, w_zp, mac_stats)
    if lp.raw_zp and x_zp:
        acc = zp_correct(acc, x_zp, wq, ch_axis, lp.mac)
    return acc, st, ch_axis


def _requantize(acc, lp, ch_axis):
    """(output QTensor, requant description) of the accumulators."""
    out_q = lp.out_q
    if lp.requant is not None:
        codes = lp.requant.apply_codes(acc, out_q.fmt.bits, out_q.fmt.code_dtype, axis=ch_axis)
        return QTensor(codes, out_q.fmt, out_q.scale, out_q.zero_point), lp.requant.to_dict()
    v = scale_float(acc, lp.scale32, axis=ch_axis)
    rqd = dict(style="float32_scale", scale32=[float(s) for s in lp.scale32])
    if is_block(out_q.fmt):
        return block_quantize(v * float(out_q.scale), out_q.fmt, axis=ch_axis,
                              tensor_scale=out_q.scale), rqd
    if out_q.fmt.kind == "int":
        yi = np.clip(np.rint(v) + out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int)
        codes = ints_to_codes(yi.astype(np.int64), out_q.fmt.bits, out_q.fmt.code_dtype)
    else:
        codes = encode(v, out_q.fmt, "rne", "saturate")
    return QTensor(codes, out_q.fmt, out_q.scale, out_q.zero_point), rqd


#: LayerConfig -> its to_dict() (a deep conversion, ~1 ms): computed once per config
_CFG_DICTS: dict = {}


def _config_dict(cfg) -> dict:
    """A fresh top-level copy of ``cfg.to_dict()``, converted once per config object."""
    hit = _CFG_DICTS.get(id(cfg))
    if hit is None or hit[0] is not cfg:
        if len(_CFG_DICTS) > 4096:
            _CFG_DICTS.clear()
        hit = _CFG_DICTS[id(cfg)] = (cfg, cfg.to_dict())
    return dict(hit[1])


def run_mac_layer(n, ins, args, kernel):
    """Executor of a MAC op: ``(output QTensor, LayerRecord)``.

    ``kernel(n, x, lp, x_zp, w_zp, mac_stats)`` returns the accumulators, the MAC
    statistics and the output-channel axis (:mod:`.conv`, :mod:`.gemm`)."""
    lp = args.layer
    x = ins[0]
    if lp.config.design is not None:  # an accelerator design runs the layer (hwsim.designs)
        return run_design_layer(n, x, lp, LayerRecord)
    if is_block(lp.in_q.fmt):
        x = block_input(x, lp.in_q, lp.a_dequant, lp.a_scalar)
    elif not lp.in_q.same(x):
        x = convert(x, lp.in_q)
    acc, st, ch_axis = _accumulate(n, x, lp, kernel, args.mac_stats)
    out, rqd = _requantize(acc, lp, ch_axis)
    st = dict(st)
    acc_codes = st.pop("codes", None)
    rec = LayerRecord(n.name, n.op, x, lp.wq, lp.bias, acc, out, lp.mac, rqd, dict(n.attrs),
                      _config_dict(lp.config), st, acc_codes)
    return out, rec


def zp_correct(acc, x_zp, wq, ch_axis, mac):
    """acc - x_zp * sum_k w[k, channel], in the result register's two's complement
    (the zero-point correction of kernels that multiply raw codes, e.g. MLAS u8s8).
    Weights are ``[Cout, Cin/g, kH, kW]`` (Conv) or ``[K, N]`` (Gemm)."""
    w = wq.ints()
    col = w.reshape(w.shape[0], -1).sum(axis=1) if w.ndim == 4 else w.sum(axis=0)
    shp = [1] * acc.ndim
    shp[ch_axis] = -1
    out = np.asarray(acc, np.int64) - np.int64(x_zp) * col.reshape(shp)
    bits = br.acc_format(mac).bits
    lo = -(1 << (bits - 1))
    return ((out - lo) & ((1 << bits) - 1)) + lo
