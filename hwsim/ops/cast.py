"""Cast: to float32 / float64 an identity (the accelerator keeps its own formats; the
float64 reference does not round); to float16 / bfloat16 the float64 reference rounds to
that type as ONNX does while the quantized tensor keeps its codes; to an integer type
only on integer (index) graph inputs, where it is an identity."""
from __future__ import annotations


from ..codec import decode, encode
from .quant import convert
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = []

_FLOAT = {1: None, 11: None, 10: "float16", 16: "bfloat16"}
_INT = (2, 3, 4, 5, 6, 7, 12, 13)


def _reference(n, xs):
    to = n.attrs.get("round_to")
    if to is None:
        return xs[0]
    return decode(encode(xs[0], to, "rne"), to)  # IEEE rounding, overflow to infinity


def _execute(n, ins, args):
    return convert(ins[0], args.out_q), None


def _import(ctx, n, a, nm):
    to = int(a.get("to", 1))
    src = ctx.canon(n.input[0])
    if to in _INT and src not in ctx.code_inputs:
        raise UnsupportedModelError(f"Cast {nm}: cast to integer type {to} of a non-index "
                                    "tensor")
    if to not in _INT and to not in _FLOAT:
        raise UnsupportedModelError(f"Cast {nm}: target type {to}")
    kw = {"round_to": _FLOAT[to]} if _FLOAT.get(to) else {}
    ctx.net.add("Cast", [src], n.output[0], name=nm, **kw)
    if to in _INT:
        ctx.code_inputs[n.output[0]] = ctx.code_inputs[src]


register(OpSpec("Cast", _reference, _execute, output="keep"))
register_onnx("Cast", ("to", "saturate"), _import)
