"""Element-wise arithmetic on the vector unit: Sub, Mul, Div, Min, Max, Sum, Pow, and Add
with a constant or when the layer config states a vector unit (:mod:`.add` otherwise).

Operands broadcast as numpy (ONNX multidirectional broadcasting); a constant operand is
rounded into the unit's format.  Each binary operation is one correctly rounded unit
operation (:mod:`.vector.arith`); n-ary Sum / Min / Max fold left to right in input
order.  Pow needs a constant exponent p: p = 0.5 is sqrt, p = -0.5 rsqrt, an integer
1 <= |p| <= 16 is ``x`` multiplied by itself left to right ``|p| - 1`` times (each product
rounded), then ``fl(1 / y)`` for p < 0; p = 0 gives 1.  Tensor x tensor Mul and Add of
integer tensors whose config states no vector unit keep :mod:`.add`'s integer styles.
"""
from __future__ import annotations

import numpy as np

from .registry import OpSpec, UnsupportedModelError, register, register_onnx
from .vecops import float_operands, import_const_operands, operands, unit_of, unit_out
from .vector import arith
from .vector.funcs import correctly_rounded

__all__ = ["binary_vector", "pow_unit", "BINARY"]

BINARY = {"Add": arith.add, "Sum": arith.add, "Sub": arith.sub, "Mul": arith.mul,
          "Div": arith.div, "Min": arith.vmin, "Max": arith.vmax}
_F64 = {"Add": np.add, "Sum": np.add, "Sub": np.subtract, "Mul": np.multiply,
        "Div": np.divide, "Min": np.minimum, "Max": np.maximum}


def binary_vector(n, ins, args):
    """An element-wise node (two or more operands) on the layer's vector unit."""
    unit = unit_of(args.config)
    ops = operands(n, ins, unit)
    f = BINARY[n.op]
    y = ops[0]
    for o in ops[1:]:
        y = f(unit, y, o)
    y = np.broadcast_to(y, np.broadcast_shapes(*[np.shape(o) for o in ops]))
    return unit_out(unit, y, args.out_q, ins[0]), None


def check_broadcast(n, ops) -> tuple:
    """The broadcast shape of an element-wise node's operands; UnsupportedModelError naming
    the node and the shapes when they do not broadcast together."""
    shapes = [np.shape(o) for o in ops]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise UnsupportedModelError(
            f"node {n.name} ({n.op}): operand shapes {[tuple(s) for s in shapes]} (inputs "
            f"{list(n.inputs)} and constants) do not broadcast together") from None


def binary_reference(n, xs):
    ops = float_operands(n, xs)
    check_broadcast(n, ops)
    y = ops[0]
    with np.errstate(all="ignore"):
        for o in ops[1:]:
            y = _F64[n.op](y, o)
    return np.broadcast_to(y, np.broadcast_shapes(*[np.shape(o) for o in ops])).copy()


def pow_unit(unit, x, p):
    """x ** p for a constant p (module docstring)."""
    if p == 0.5:
        return arith.sqrt(unit, x)
    if p == -0.5:
        return correctly_rounded(unit, "rsqrt", x)
    if p == 0:
        return np.ones_like(x)
    y = x
    for _ in range(int(abs(p)) - 1):
        y = arith.mul(unit, y, x)
    return arith.div(unit, np.ones_like(y), y) if p < 0 else y


def _pow_exec(n, ins, args):
    unit = unit_of(args.config)
    x = operands(n, ins, unit)[0]
    return unit_out(unit, pow_unit(unit, x, n.attrs["p"]), args.out_q, ins[0]), None


def _pow_ref(n, xs):
    with np.errstate(all="ignore"):
        return np.power(xs[0], float(n.attrs["p"]))


def _import_pow(ctx, n, a, nm):
    if not ctx.is_const(n.input[1]):
        raise UnsupportedModelError(f"Pow {nm}: the exponent must be a constant")
    p = np.asarray(ctx.const(n.input[1], nm), np.float64)
    if p.size != 1 or not (float(p.ravel()[0]) in (0.5, -0.5) or
                           (float(p.ravel()[0]).is_integer() and abs(float(p.ravel()[0])) <= 16)):
        raise UnsupportedModelError(f"Pow {nm}: exponent must be a scalar 0.5, -0.5 or an "
                                    f"integer in [-16, 16], got {p.ravel()[:4].tolist()}")
    if ctx.is_const(n.input[0]):
        raise UnsupportedModelError(f"Pow {nm}: constant base (constant folding should remove it)")
    ctx.net.add("Pow", [ctx.canon(n.input[0])], n.output[0], name=nm, p=float(p.ravel()[0]))


def import_binary(ctx, n, a, nm, op=None):
    import_const_operands(ctx, n, nm, op or n.op_type)


for _op in ("Sub", "Div", "Min", "Max", "Sum", "Mul"):
    register(OpSpec(_op, binary_reference, binary_vector, output="requant"))
for _op in ("Sub", "Div", "Min", "Max"):
    register_onnx(_op, (), import_binary)
register(OpSpec("Pow", _pow_ref, _pow_exec, output="requant"))
register_onnx("Pow", (), _import_pow)
