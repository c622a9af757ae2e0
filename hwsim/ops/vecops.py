"""Shared plumbing of the ops that run on the vector unit (:mod:`hwsim.ops.vector`).

A vector op takes each input's real value (``QTensor.values()``) rounded once into the
unit's format, runs its sequence of unit operations (each rounded once, stated per op in
docs/semantics.md, "Vector unit"), and the unit's result is converted into the planned
output quantization as a cast does (:func:`.quant.convert`: exact value, rne once).
Constant operands are rounded into the unit's format.  The unit comes from the layer
config's ``vector`` entry; an empty entry means float32, rne, an ``fp32`` accumulator and
correctly rounded functions.
"""
from __future__ import annotations

import json

import numpy as np

from ..tensors import QTensor
from .quant import convert
from .registry import UnsupportedModelError
from .vector import VectorUnit, vector_unit

__all__ = ["unit_of", "configured", "unit_in", "unit_out", "operands", "binary_consts",
           "float_operands", "import_const_operands"]

_CACHE: dict = {}


def configured(cfg) -> bool:
    """True when the layer config states a vector unit (ops with an older exact or
    integer pipeline keep it otherwise)."""
    return bool(getattr(cfg, "vector", None))


def unit_of(cfg) -> VectorUnit:
    """The vector unit of a layer config (cached per distinct config entry)."""
    d = getattr(cfg, "vector", None) or {}
    key = json.dumps(d, sort_keys=True)
    u = _CACHE.get(key)
    if u is None:
        u = _CACHE[key] = vector_unit(d)
    return u


def unit_in(unit, x: QTensor) -> np.ndarray:
    """An input tensor's real values rounded once into the unit's format."""
    return unit.rnd(x.values())


def unit_out(unit, v, out_q, like: QTensor) -> QTensor:
    """Unit values into the planned output quantization (a cast: exact value, rne once)."""
    qt = QTensor(unit.codes(v), unit.fmt, 1.0, 0, layout=like.layout)
    return convert(qt, out_q)


def operands(n, ins, unit) -> list:
    """The node's operands as unit values: its tensor inputs and its constants
    (``n.attrs["consts"]``: {position: float64 array}) in ONNX input order."""
    consts = n.attrs.get("consts", {})
    k = len(ins) + len(consts)
    it = iter(ins)
    return [unit.const(consts[i]) if i in consts else unit_in(unit, next(it)) for i in range(k)]


def float_operands(n, xs) -> list:
    """The float64 reference's operands: inputs and constants in ONNX input order."""
    consts = n.attrs.get("consts", {})
    k = len(xs) + len(consts)
    it = iter(xs)
    return [np.asarray(consts[i], np.float64) if i in consts else next(it) for i in range(k)]


def binary_consts(ctx, n, nm) -> tuple:
    """(tensor inputs, {position: constant}) of an ONNX node whose operands may be
    constants (float constants as float64; integer constants converted exactly)."""
    ins, consts = [], {}
    for i, t in enumerate(n.input):
        if ctx.is_const(t):
            consts[i] = np.asarray(ctx.weight(t, f"{n.op_type} {nm}")[0] if t in ctx.dq_const
                                   else ctx.const(t, nm), np.float64)
        else:
            ins.append(ctx.canon(t))
    return ins, consts


def _const_codes(ctx, n) -> dict:
    """{position: dict(codes, scale, zp, fmt)} of the constant operands that are a
    DequantizeLinear of per-tensor integer codes (onnxruntime's QLinear kernels take the
    codes themselves: :mod:`.ort_ops`)."""
    out = {}
    for i, t in enumerate(n.input):
        if t in ctx.dq_const:
            q, s, z, fmt, _ = ctx.dq_const[t]
            if np.size(s) == 1 and np.size(z) == 1:
                out[i] = dict(codes=np.asarray(q, np.int64), scale=float(np.ravel(s)[0]),
                              zp=int(np.ravel(z)[0]), fmt=str(fmt))
    return out


def import_const_operands(ctx, n, nm, op, **attrs) -> None:
    """Add ``op`` for an ONNX node with any mix of tensor and constant operands; a
    dequantized per-tensor constant also keeps its codes (``const_q``)."""
    ins, consts = binary_consts(ctx, n, nm)
    if not ins:
        raise UnsupportedModelError(f"{n.op_type} {nm}: every operand is a constant "
                                    "(constant folding should have removed it)")
    cq = _const_codes(ctx, n) if consts else {}
    ctx.net.add(op, ins, n.output[0], name=nm, **({"consts": consts} if consts else {}),
                **({"const_q": cq} if cq else {}), **attrs)
