"""Planning: every tensor's quantization and every MAC layer's :class:`LayerPlan`.

:func:`plan_network` walks the graph once.  A tensor's quantization comes from
the model (``"model"``), from the layer config's format plus a scale from
calibration, or is inherited from the op's input (the op's registered output
rule, :data:`hwsim.ops.registry.OUTPUT_RULES`).  MAC layers additionally get
their weights quantized, their MAC unit, bias register values and
requantization, frozen in a :class:`LayerPlan`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OverflowValueError, UnsupportedModelError
from ..codec import decode, default_tensor_scale, encode
from ..formats import format as parse_format
from ..ops import get_op
from ..ops import macbridge as br
from ..ops.matmul import act_matmul_plan
from ..ops.quant import QuantSpec, block_quantize, is_block
from ..ops.requant import Requant, onnx_multiplier
from ..tensors import QTensor
from .calibrate import choose_scale
from .config import LayerConfig, make_mac

__all__ = ["LayerPlan", "Plan", "plan_network", "tensor_q"]


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """What a MAC layer runs with (resolved once per configuration and calibration)."""

    in_q: QuantSpec            #: input quantization the MAC unit sees
    wq: QTensor              #: quantized weights (scalar codes for block formats)
    w_zp: np.ndarray         #: weight zero point(s)
    mac: object              #: hwsim.mac.MacUnit
    bias: np.ndarray | None  #: bias in the register it enters (macbridge.bias_to_register)
    out_q: QuantSpec           #: output quantization
    requant: Requant | None  #: integer requantization (integer register, integer output)
    scale32: np.ndarray      #: float32 output multipliers (other outputs)
    acc_int: bool            #: the result register holds integers
    config: LayerConfig
    a_dequant: object        #: how block inputs reach the MAC ("exact" or a format)
    a_scalar: object         #: the scalar format of the input codes the MAC unit sees
    raw_zp: bool             #: products of raw codes, zero point corrected afterwards


@dataclass(frozen=True, eq=False)
class Plan:
    tensors: dict  #: tensor name -> QuantSpec
    layers: dict   #: MAC layer name -> LayerPlan


def tensor_q(net, tname, fmt_name, cfg: LayerConfig, default_q=None) -> QuantSpec:
    """Quantization of tensor ``tname`` in format ``fmt_name`` ("model" keeps the model's)."""
    mq = net.model_q.get(tname)
    if fmt_name == "model":
        if mq is not None:
            return mq
        if default_q is not None:
            return default_q
        raise ValueError(f"tensor {tname!r}: config says 'model' but the model states no quantization")
    fmt = parse_format(fmt_name)
    if mq is not None and mq.fmt == fmt and net.stats is None:
        return mq
    if fmt.kind == "nvfp4" and net.stats is not None and tname in net.stats:
        # static FP32 tensor scale from calibration: fl32(amax / (6 * 448))
        return QuantSpec(fmt, default_tensor_scale(net.stats[tname]), 0)
    if cfg.scale == "none" or is_block(fmt) or fmt.kind == "fixed":
        return QuantSpec(fmt, 1.0, 0)
    if net.stats is None or tname not in net.stats:
        if mq is not None and mq.fmt == fmt:
            return mq
        if default_q is not None and default_q.fmt == fmt:
            return default_q
        raise ValueError(f"tensor {tname!r} needs a scale for {fmt.name}: call "
                         "network.calibrate(samples) first")
    v = net.stats[tname]
    if fmt.kind == "int" and not cfg.symmetric:
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        s = _f32_scale(tname, fmt, (hi - lo) / (fmt.max_int - fmt.min_int) or 1.0)
        zp = int(np.clip(round(fmt.min_int - lo / s), fmt.min_int, fmt.max_int))
        return QuantSpec(fmt, s, zp)
    return QuantSpec(fmt, _f32_scale(tname, fmt, choose_scale(v, fmt, cfg.calibration)), 0)


#: float32's largest finite value
_F32_MAX = float(np.finfo(np.float32).max)


def _f32_scale(tname, fmt, s: float) -> float:
    """A calibrated tensor scale, checked to fit float32: the integer pipelines compute
    with float32 scales (as ONNX and onnxruntime do), so a larger one has no meaning there."""
    if not s <= _F32_MAX:
        raise OverflowValueError(
            f"tensor {tname!r}: calibrated {fmt.name} scale {s:.6g} is beyond float32 (scales "
            f"must be at most {_F32_MAX:.8g}); the tensor's calibrated range is too large, "
            f"scale the network input or weights down")
    return s


def plan_network(net) -> Plan:
    """Resolve every tensor's quantization and every MAC layer's plan."""
    tq: dict = {}
    layers: dict = {}
    consumers: dict = {}
    for n in net.nodes:
        for i in n.inputs:
            consumers.setdefault(i, []).append(n)
    for name in net.inputs:
        cons = consumers.get(name, [])
        cfg = net.layer_config(cons[0]) if cons else net.config.defaults
        if name in net.code_inputs and name in net.model_q:  # given as codes: theirs
            tq[name] = net.model_q[name]
        else:
            tq[name] = tensor_q(net, name, cfg.input, cfg)
    for n in net.nodes:
        cfg = net.layer_config(n)
        out = n.outputs[0]
        inq = tq[n.inputs[0]]
        rule = get_op(n.op).output
        if rule == "mac" and n.weight is None and n.wq is None:
            layers[n.name] = plan_act_matmul(net, n, cfg, tq)
            tq[out] = layers[n.name].out_q
        elif rule == "mac":
            layers[n.name] = plan_mac_layer(net, n, cfg, tq)
            tq[out] = layers[n.name].out_q
        elif rule == "keep":
            tq[out] = tensor_q(net, out, "model", cfg, default_q=inq) if out in net.model_q else inq
        elif cfg.output != "model" and parse_format(cfg.output) == inq.fmt \
                and out not in net.model_q and net.stats is None:
            tq[out] = inq
        else:
            tq[out] = tensor_q(net, out, cfg.output, cfg, default_q=inq)
    return Plan(tensors=tq, layers=layers)


def _weights(net, n, cfg, a_q, w_dq):
    """The layer's quantized weights (the model's, or quantized as the config says)."""
    if n.wq is not None and (cfg.weight == "model" or parse_format(cfg.weight) == n.wq.fmt):
        return n.wq
    if cfg.weight == "model":
        raise ValueError(f"layer {n.name!r}: weight 'model' but the model has float weights")
    wf = parse_format(cfg.weight)
    w_axis = 0 if n.op == "Conv" else 1
    if is_block(wf):
        if w_dq == "auto":  # bitsandbytes: codebook weights -> the activation dtype
            w_dq = a_q.fmt if (wf.kind == "codebook" and a_q.fmt.kind == "float") else "exact"
        # blocks along K: Conv weights [Cout, Cin/g, kH, kW] along Cin, Gemm [K, N] along K
        return block_quantize(n.weight, wf, axis=1 if n.op == "Conv" else 0, dequant=w_dq)
    if cfg.scale == "none" and wf.kind != "int":
        sc = 1.0  # the format holds the real weights (e.g. float16)
    else:
        sc = choose_scale(n.weight, wf, cfg.weight_calibration,
                          axis=w_axis if cfg.per_channel else None)
    return QTensor.quantize(n.weight, wf, sc, 0, axis=w_axis if np.ndim(sc) else None)


def _bias(net, n, cfg, mac, wq, a_q, inq, s_acc):
    """Bias values in the register the bias enters (None without bias)."""
    if n.bq is not None and n.wq is not None and wq is n.wq and a_q is inq \
            and inq is net.model_q.get(n.inputs[0]):
        return br.bias_to_register(np.asarray(n.bq, np.int64), mac)
    if n.bias is None:
        return None
    if not np.isfinite(n.bias).all():
        raise UnsupportedModelError(f"node {n.name} ({n.op}): bias {np.shape(n.bias)} has "
                                    f"NaN / Inf values")
    bfmt = parse_format(cfg.bias if cfg.bias != "model" else "int32")
    bv = n.bias / s_acc
    if br.acc_is_int(mac):
        if bfmt.kind != "int":
            raise ValueError(f"layer {n.name!r}: integer accumulator needs an integer bias format, got {bfmt.name}")
        return br.bias_to_register(np.clip(np.rint(bv), bfmt.min_int, bfmt.max_int).astype(np.int64), mac)
    # round into the bias format, then into the register the bias enters
    bv = decode(encode(bv, bfmt, "rne", "saturate"), bfmt) if bfmt.kind == "float" else \
        np.clip(np.rint(bv), bfmt.min_int, bfmt.max_int).astype(np.float64)
    return br.bias_to_register(bv, mac)


def plan_mac_layer(net, n, cfg: LayerConfig, tq: dict) -> LayerPlan:
    """Input / weight / output quantization, MAC unit, bias and requantization of one layer."""
    inq = tq[n.inputs[0]]
    a_q = inq if cfg.input == "model" or parse_format(cfg.input) == inq.fmt \
        else tensor_q(net, n.inputs[0], cfg.input, cfg)
    # block operands reach the MAC units as scalar codes (macbridge.to_scalar)
    a_dq, w_dq = ("exact", "auto") if cfg.dequant == "auto" else (cfg.dequant, cfg.dequant)
    a_scalar = br.scalar_format(a_q.fmt, a_dq) if is_block(a_q.fmt) else a_q.fmt
    wq = _weights(net, n, cfg, a_q, w_dq)
    cout = n.weight.shape[0] if n.op == "Conv" else n.weight.shape[1]
    s_w = np.broadcast_to(np.asarray(wq.scale, np.float64), (cout,)).copy()
    w_zp = np.asarray(wq.zero_point)
    raw_zp = cfg.mac == "u8s8_avx2"
    if raw_zp and (a_q.fmt.kind != "int" or wq.fmt.kind != "int" or np.any(w_zp != 0)):
        raise ValueError(f"layer {n.name!r}: mac 'u8s8_avx2' models integer activations and "
                         "symmetric integer weights (weight zero point 0)")
    block = None
    if isinstance(cfg.mac, str) and cfg.mac.startswith("block_"):
        block = _block_chunk(n, cfg, a_q.fmt, wq)
    mac = make_mac(cfg.mac, a_scalar, wq.fmt, block=block)
    acc_int = br.acc_is_int(mac)
    s_acc = float(a_q.scale) * s_w  # real value of one accumulator unit per channel
    out_q = tensor_q(net, n.outputs[0], cfg.output, cfg)
    try:
        # scales of huge (or tiny) calibrated tensors may not fit float32 (the requant
        # multiplier) or turn bias / s_acc into Inf / NaN: a clean error, not a numpy warning
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            bias = _bias(net, n, cfg, mac, wq, a_q, inq, s_acc)
            rq = None
            if acc_int and out_q.fmt.kind == "int":
                rq = Requant.from_scales(cfg.requant, float(a_q.scale), s_w, float(out_q.scale),
                                         out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int,
                                         rounding=cfg.shift_rounding, channels=cout)
            scale32 = onnx_multiplier(float(a_q.scale), s_w, float(out_q.scale))
    except FloatingPointError as exc:
        raise OverflowValueError(
            f"node {n.name} ({n.op}): scales out of range (input scale {float(a_q.scale):.6g}, "
            f"weight scale up to {float(np.max(np.abs(s_w), initial=0.0)):.6g}, output scale "
            f"{float(out_q.scale):.6g}): {exc}; scale the network input or weights down") from None
    return LayerPlan(in_q=a_q, wq=wq, w_zp=w_zp, mac=mac, bias=bias, out_q=out_q, requant=rq,
                     scale32=scale32,
                     acc_int=acc_int, config=cfg, a_dequant=a_dq, a_scalar=a_scalar,
                     raw_zp=raw_zp)


def plan_act_matmul(net, n, cfg: LayerConfig, tq: dict):
    """Plan of a MatMul between two activations: both operands in the config's ``input``
    format (:mod:`hwsim.ops.matmul`)."""
    qs = [tq[i] if cfg.input == "model" or parse_format(cfg.input) == tq[i].fmt
          else tensor_q(net, i, cfg.input, cfg) for i in n.inputs[:2]]
    out_q = tensor_q(net, n.outputs[0], cfg.output, cfg)
    return act_matmul_plan(n, cfg, qs[0], qs[1], out_q, make_mac, Requant, onnx_multiplier)


def _block_chunk(n, cfg, a_fmt, wq: QTensor) -> dict:
    """K-run length of one block for the OCP per-block datapath (``block_*`` MAC presets)."""
    w_fmt = wq.meta.get("block_fmt")
    fa = a_fmt if is_block(a_fmt) else None
    sizes = {f.block_size for f in (fa, w_fmt) if f is not None}
    if not sizes:
        raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs block-format operands")
    if len(sizes) > 1:
        raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs equal block sizes, got "
                         f"{sorted(sizes)}")
    bs = sizes.pop()
    if n.op != "Conv":
        return dict(a=fa, b=w_fmt, chunk=bs)
    cin_g, kh, kw = n.weight.shape[1:]
    if not (cfg.order.endswith("cin") or kh * kw == 1 or cin_g == 1):
        raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs each block contiguous "
                         f"along K: use order 'kh,kw,cin' (got {cfg.order!r})")
    groups = n.attrs.get("group", 1)
    if cin_g % bs == 0:
        chunk = bs
    elif cin_g < bs and (groups == 1 or bs % cin_g == 0):  # a run never straddles blocks
        chunk = cin_g
    else:
        raise ValueError(f"layer {n.name!r}: {cin_g} input channels per group are neither a "
                         f"multiple of the block size {bs} nor smaller: blocks do not align "
                         f"with the K runs")
    return dict(a=fa, b=w_fmt, chunk=chunk)
