"""Gemm / MatMul with constant weights: ``y = x @ W + b`` (weights stored ``[K, N]``).

ONNX ``Gemm`` (``transB`` allowed; ``alpha = beta = 1``, no ``transA``) and
``MatMul`` with a constant right operand import as the network op ``Gemm`` (MatMul
between two activations: :mod:`.matmul`); the MACs run through
:func:`.conv.linear` and the shared MAC-layer executor.
"""
from __future__ import annotations

import numpy as np

from ..tensors import QTensor
from .conv import linear
from .mac_layer import run_mac_layer
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["gemm_reference"]


def gemm_reference(n, xs):
    """float64 ``x @ W + b`` over the last axis."""
    x = xs[0]
    w = n.weight
    if x.ndim == 0 or w.ndim != 2 or x.shape[-1] != w.shape[0]:
        raise UnsupportedModelError(f"node {n.name} ({n.op}): input {n.inputs[0]!r} has shape "
                                    f"{x.shape}; weights {w.shape} need a last axis of "
                                    f"{w.shape[0] if w.ndim else '?'}")
    y = x.reshape(-1, x.shape[-1]) @ w
    if n.bias is not None:
        y = y + n.bias
    return y.reshape(*x.shape[:-1], -1)


def _gemm_kernel(n, x, lp, x_zp, w_zp, mac_stats):
    acc, st = linear(x.codes, lp.wq.codes, lp.mac, bias=lp.bias, x_zp=x_zp, w_zp=w_zp,
                     stats=mac_stats)
    return acc, st, acc.ndim - 1


def _gemm_execute(n, ins, args):
    return run_mac_layer(n, ins, args, _gemm_kernel)


def _import_gemm(ctx, n, a, nm):
    op = n.op_type
    if op == "MatMul" and not ctx.is_const(n.input[1]):
        if ctx.is_const(n.input[0]):
            raise UnsupportedModelError(f"MatMul {nm}: a constant left operand times an "
                                        "activation is not supported")
        ctx.net.add("MatMul", [ctx.canon(i) for i in n.input], n.output[0], name=nm)
        return
    wf, wq = ctx.weight(n.input[1], f"{op} {nm} weights")
    bf, bq = ctx.bias(n, nm)
    if a.get("transB", 0):
        wf = wf.T
        if wq is not None:
            wq = QTensor(np.ascontiguousarray(np.asarray(wq.codes).T), wq.fmt, wq.scale,
                         wq.zero_point, axis=None if wq.axis is None else 1 - wq.axis)
    elif wq is not None and wq.axis == 0 and np.ndim(wq.scale):
        raise UnsupportedModelError(f"{op} {nm}: weights quantized per input row")
    ctx.net.add("Gemm", [ctx.canon(n.input[0])], n.output[0], name=nm, weight=wf, bias=bf,
                wq=wq, bq=bq)


def _gemm_problems(op_type, a, nm) -> list:
    if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
        return [f"Gemm alpha/beta != 1 or transA (node {nm})"]
    return []


register(OpSpec("Gemm", gemm_reference, _gemm_execute, output="mac"))
register_onnx("Gemm", ("alpha", "beta", "transA", "transB"), _import_gemm, _gemm_problems)
register_onnx("MatMul", (), _import_gemm)
