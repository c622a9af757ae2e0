"""GELU on the vector unit: ONNX Gelu (opset 20, ``approximate`` "none" or "tanh") and the
import rewrite of GELU written out as separate ops (:mod:`hwsim.network.onnx_rewrite`).

Every step is one unit operation rounded once into the unit's format (``fl``), constants
rounded into the format first:

* ``none`` (erf form): ``a = fl(x * c1)`` with ``c1 = 1/sqrt(2)``, ``e = erf(a)``,
  ``b = fl(1 + e)``, ``y = fl(fl(x * 0.5) * b)``;
* ``tanh``: ``u = fl(fl(x * x) * x)``, ``w = fl(x + fl(u * 0.044715))``,
  ``t = tanh(fl(w * c2))`` with ``c2 = sqrt(2/pi)``, ``y = fl(fl(x * 0.5) * fl(1 + t))``.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import OpSpec, UnsupportedModelError, register, register_onnx
from .vecops import unit_in, unit_of, unit_out
from .vector import arith

__all__ = ["gelu_unit"]

_C1 = 1.0 / math.sqrt(2.0)
_C2 = math.sqrt(2.0 / math.pi)
_ERF = np.frompyfunc(math.erf, 1, 1)


def gelu_unit(unit, x, approximate="none"):
    """GELU of unit values (module docstring)."""
    half = arith.mul(unit, x, unit.const(0.5))
    if approximate == "tanh":
        u = arith.mul(unit, arith.mul(unit, x, x), x)
        w = arith.add(unit, x, arith.mul(unit, u, unit.const(0.044715)))
        t = unit.fn("tanh", arith.mul(unit, w, unit.const(_C2)))
    else:
        t = unit.fn("erf", arith.mul(unit, x, unit.const(_C1)))
    return arith.mul(unit, half, arith.add(unit, unit.const(1.0), t))


def _reference(n, xs):
    x = np.asarray(xs[0], np.float64)
    if n.attrs.get("approximate", "none") == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_C2 * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _ERF(x * _C1).astype(np.float64))


def _execute(n, ins, args):
    unit = unit_of(args.config)
    y = gelu_unit(unit, unit_in(unit, ins[0]), n.attrs.get("approximate", "none"))
    return unit_out(unit, y, args.out_q, ins[0]), None


def _import(ctx, n, a, nm):
    ap = a.get("approximate", "none")
    ap = ap.decode() if isinstance(ap, bytes) else ap
    if ap not in ("none", "tanh"):
        raise UnsupportedModelError(f"Gelu {nm}: approximate must be 'none' or 'tanh', got {ap!r}")
    ctx.net.add("Gelu", [ctx.canon(n.input[0])], n.output[0], name=nm, approximate=ap)


register(OpSpec("Gelu", _reference, _execute, output="requant"))
register_onnx("Gelu", ("approximate",), _import)
