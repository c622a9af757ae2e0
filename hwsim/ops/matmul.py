"""MatMul between two activations (attention's Q K^T and P V): batched and broadcast.

ONNX MatMul semantics (numpy ``matmul``: 1-D operands promoted, leading batch
dimensions broadcast).  Both operands are quantized as the layer config's ``input``
format says (scale from calibration, or the model's), every product and sum goes
through the layer's MAC unit (:func:`.macbridge.mac_matmul`, one call per batch
matrix), then the accumulators are requantized as for Conv / Gemm (integer register
and integer output: the configured requant style with ``M = s_a s_b / s_out``; else
the float32 multiplier and one encoding).  Block formats are quantized in blocks along
K (A's last axis, B's second to last), so the ``block_*`` MAC presets (one exact dot
product per block) see aligned blocks.  MatMul with a constant operand imports as Gemm (:mod:`.gemm`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec import encode
from ..tensors import QTensor, ints_to_codes
from . import macbridge as br
from .mac_layer import LayerRecord
from .quant import block_quantize, convert, is_block
from .registry import OpSpec, UnsupportedModelError, register
from .requant import scale_float

__all__ = ["ActMatmulPlan", "act_matmul_plan", "matmul_reference", "batch_matrices"]


@dataclass(frozen=True, eq=False)
class ActMatmulPlan:
    """What an activation x activation MatMul runs with."""

    a_q: object        #: QuantSpec of A as the MAC unit sees it
    b_q: object        #: QuantSpec of B
    mac: object        #: hwsim.mac.MacUnit (scalar operand formats)
    out_q: object      #: QuantSpec of the output
    requant: object    #: Requant (integer register, integer output) or None
    scale32: np.ndarray  #: float32 output multiplier (other outputs)
    config: object


def act_matmul_plan(n, cfg, a_q, b_q, out_q, make_mac, requant_cls, multiplier):
    """The :class:`ActMatmulPlan` of node ``n`` (called by the network planner)."""
    if cfg.mac == "u8s8_avx2":
        raise ValueError(f"layer {n.name!r}: mac 'u8s8_avx2' needs constant weights")
    if getattr(cfg, "design", None) is not None:
        raise ValueError(f"layer {n.name!r}: an accelerator design ('design') runs layers with "
                         "constant weights; MatMul between two activations has none (set "
                         "'design': null for op MatMul)")
    fa = br.scalar_format(a_q.fmt, "exact") if is_block(a_q.fmt) else a_q.fmt
    fb = br.scalar_format(b_q.fmt, "exact") if is_block(b_q.fmt) else b_q.fmt
    block = None
    if isinstance(cfg.mac, str) and cfg.mac.startswith("block_"):
        sizes = {q.fmt.block_size for q in (a_q, b_q) if is_block(q.fmt)}
        if len(sizes) != 1:
            raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs block-format operands "
                             f"of one block size, got {sorted(sizes)}")
        block = dict(a=a_q.fmt if is_block(a_q.fmt) else None,
                     b=b_q.fmt if is_block(b_q.fmt) else None, chunk=sizes.pop())
    mac = make_mac(cfg.mac, fa, fb, block=block)
    rq = None
    if br.acc_is_int(mac) and out_q.fmt.kind == "int":
        rq = requant_cls.from_scales(cfg.requant, float(a_q.scale), float(b_q.scale),
                                     float(out_q.scale), out_q.zero_point, out_q.fmt.min_int,
                                     out_q.fmt.max_int, rounding=cfg.shift_rounding)
    return ActMatmulPlan(a_q, b_q, mac, out_q, rq,
                         multiplier(float(a_q.scale), float(b_q.scale), float(out_q.scale)), cfg)


def batch_matrices(a, b):
    """``a [..., M, K]``, ``b [..., K, N]`` (1-D promoted, batch broadcast) as
    ``[B, M, K]``, ``[B, K, N]`` and the output shape of ``matmul(a, b)``."""
    a1, b1 = a.ndim == 1, b.ndim == 1
    a2 = a[None, :] if a1 else a
    b2 = b[:, None] if b1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"MatMul: inner dimensions differ, {a.shape} @ {b.shape}")
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    M, K, N = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    A = np.ascontiguousarray(np.broadcast_to(a2, batch + (M, K)).reshape(-1, M, K))
    B = np.ascontiguousarray(np.broadcast_to(b2, batch + (K, N)).reshape(-1, K, N))
    out = batch + ((M,) if not a1 else ()) + ((N,) if not b1 else ())
    return A, B, out


def check_matmul_shapes(n, sa, sb) -> None:
    """UnsupportedModelError naming the node when activations of shapes ``sa`` @ ``sb`` do
    not multiply (numpy's rules: 1-D operands promoted, batch axes broadcast)."""
    ok = len(sa) >= 1 and len(sb) >= 1
    if ok:
        a2 = (1,) + tuple(sa) if len(sa) == 1 else tuple(sa)
        b2 = tuple(sb) + (1,) if len(sb) == 1 else tuple(sb)
        ok = a2[-1] == b2[-2]
        try:
            np.broadcast_shapes(a2[:-2], b2[:-2])
        except ValueError:
            ok = False
    if not ok:
        raise UnsupportedModelError(f"node {n.name} ({n.op}): operands {list(n.inputs)} of "
                                    f"shapes {tuple(sa)} @ {tuple(sb)} do not multiply (inner "
                                    f"dimensions must match, batch axes broadcast)")


def matmul_reference(n, xs):
    a, b = np.asarray(xs[0], np.float64), np.asarray(xs[1], np.float64)
    check_matmul_shapes(n, a.shape, b.shape)
    return np.matmul(a, b)


def _operand(x, q, axis):
    """``x`` in the quantization ``q``: scalar codes the MAC unit multiplies."""
    if is_block(q.fmt):
        return block_quantize(x.values(), q.fmt, axis=axis, tensor_scale=q.scale)
    return x if q.same(x) else convert(x, q)


def _zp(x):
    return int(np.asarray(x.zero_point)) if x.fmt.kind == "int" else 0


def _requantize(acc, lp):
    out_q = lp.out_q
    flat = acc.reshape(-1, 1)
    if lp.requant is not None:
        y = lp.requant.apply(flat).reshape(acc.shape)
        return QTensor(ints_to_codes(y, out_q.fmt.bits, out_q.fmt.code_dtype), out_q.fmt,
                       out_q.scale, out_q.zero_point)
    v = scale_float(flat, lp.scale32).reshape(acc.shape)
    if is_block(out_q.fmt):
        return block_quantize(v * float(out_q.scale), out_q.fmt, axis=-1,
                              tensor_scale=out_q.scale)
    if out_q.fmt.kind == "int":
        yi = np.clip(np.rint(v) + out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int)
        codes = ints_to_codes(yi.astype(np.int64), out_q.fmt.bits, out_q.fmt.code_dtype)
    else:
        codes = encode(v, out_q.fmt, "rne", "saturate")
    return QTensor(codes, out_q.fmt, out_q.scale, out_q.zero_point)


def matmul_execute(n, ins, args):
    """(output QTensor, LayerRecord) of an activation x activation MatMul."""
    lp = args.layer
    a, b = _operand(ins[0], lp.a_q, -1), _operand(ins[1], lp.b_q, -2 if len(ins[1].shape) > 1
                                                   else -1)
    A, B, shape = batch_matrices(np.asarray(a.codes), np.asarray(b.codes))
    acc, codes, st = br.mac_matmul(A, B, lp.mac, a_zp=_zp(a), b_zp=_zp(b), stats=args.mac_stats)
    acc = np.asarray(acc).reshape(shape)
    out = _requantize(acc, lp)
    st = dict(st)
    st["overflow_per_col"] = np.asarray(st["overflow_per_col"]).reshape(-1)
    rec = LayerRecord(n.name, n.op, a, b, None, acc, out, lp.mac, {}, dict(n.attrs),
                      lp.config.to_dict(), st, np.asarray(codes).reshape(shape))
    return out, rec


register(OpSpec("MatMul", matmul_reference, matmul_execute, output="mac"))
