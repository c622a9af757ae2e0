"""Sigmoid ``1 / (1 + exp(-x))``, every output correctly rounded from the exact function.

Each distinct input value gets its output code from the exact sigmoid
(docs/semantics.md, "Sigmoid"): integer inputs (<= 16 bits) through a table
over every code, ``x = (q - zp) * s`` exactly; other inputs per distinct real
value.  Integer outputs: ``sat(rne(sigmoid(x) / s_out) + zp_out)``; float
outputs: ``sigmoid(x) / s_out`` rounded once (rne, saturating) into the format.
The exact function is evaluated with Ziv's strategy: float64 with hwsim's own exp and a
proven error bound (:func:`sigmoid_bracket`) decides every output whose bracket rounds to
one code; the rest in decimal arithmetic, 60 digits beyond what tells it from 0 and 1
(ties occur only at x = 0, which is exact); no libm is involved.  When the layer config states a vector unit, Sigmoid is that unit's
sigmoid function instead (correctly rounded into its format, or its table).
"""
from __future__ import annotations

import functools
from decimal import Context, Decimal
from fractions import Fraction

import numpy as np

from ..formats import format as parse_format
from ..tensors import QTensor
from .exact import TINY_ABS, U64, codes_bracketed, nan_code, output_code
from .quant import rounded_output
from .registry import OpSpec, register, register_onnx
from .vecops import configured, unit_in, unit_of, unit_out
from .vector.funcs import EXP64_REL, exp64

__all__ = ["sigmoid_exact", "sigmoid_code", "sigmoid_table", "sigmoid_q", "sigmoid_bracket",
           "SIGMOID_REL"]

_X_MAX = 1000  # |x| beyond: sigmoid is within 1e-434 of 0 or 1, below every format's resolution
_GUARD = 60    # decimal digits beyond those needed to tell sigmoid(x) from 0 / 1


def sigmoid_exact(x):
    """sigmoid(x) for a rational ``x``: a Fraction when exact (x = 0), else a Decimal
    with at least 60 correct significant digits that is never exactly 0, 1/2 or 1."""
    x = Fraction(x)
    if x == 0:
        return Fraction(1, 2)
    x = max(min(x, Fraction(_X_MAX)), Fraction(-_X_MAX))
    ctx = Context(prec=_GUARD + int(abs(x) * 0.4343) + 2, Emin=-10**6, Emax=10**6)
    xd = ctx.divide(Decimal(x.numerator), Decimal(x.denominator))
    return ctx.divide(Decimal(1), ctx.add(Decimal(1), ctx.exp(ctx.minus(xd))))


#: relative error bound of :func:`sigmoid_bracket` (u = 2^-53): ``e = exp64(-|x|)`` is within
#: ``rho = EXP64_REL + 1001u`` of ``exp(-|x_exact|)`` (the float64 ``x`` errs by at most
#: ``u |x| <= 1000u``, and ``|d log exp(-a) / da| = 1``); ``1 / (1 + e)`` adds ``rho + 2u``,
#: ``e / (1 + e)`` ``2 rho + 2u``, the division by ``s_out`` ``u``; ``2^-41`` covers the
#: second-order terms and the rounding of ``err``.  Underflow: ``TINY_ABS`` (absolute).
SIGMOID_REL = 2.0 ** -41 + 2.0 * (EXP64_REL + 1001 * U64) + 4 * U64


def sigmoid_bracket(x, s_out):
    """``(t, err)``: float64 ``sigmoid(x) / s_out`` for float64 ``x`` (each within
    ``2^-53 |x|`` of the exact argument; +-inf allowed) and a bound: the exact value (the
    argument clamped to [-1000, 1000]) lies in ``[t - err, t + err]`` on every machine."""
    x = np.clip(np.asarray(x, np.float64), -_X_MAX, _X_MAX)
    with np.errstate(all="ignore"):
        e = exp64(-np.abs(x))
        t = np.where(x >= 0, 1.0, e) / (1.0 + e) / float(s_out)
        err = t * SIGMOID_REL + TINY_ABS * (1.0 + 1.0 / float(s_out))
    return t, err


def _codes_fast(xf, exact_arg, out_fmt, s_out, zp_out):
    """Codes of sigmoid at float64 arguments ``xf`` (NaN allowed) whose exact rationals are
    ``exact_arg(i)``."""
    t, err = sigmoid_bracket(xf, s_out)

    def exact(i):
        a = exact_arg(i)
        return None if a is None else sigmoid_exact(a)

    return codes_bracketed(t, err, out_fmt, s_out, zp_out, exact, nonneg=True)


def sigmoid_code(x, out_fmt, s_out=1.0, zp_out=0) -> int:
    """Output code of sigmoid(x) (x rational, or a float: +-inf saturate, NaN stays NaN)
    in ``out_fmt`` with scale / zero point."""
    if isinstance(x, float) and x != x:
        return nan_code(out_fmt, "Sigmoid")
    if isinstance(x, float) and abs(x) == float("inf"):
        x = _X_MAX if x > 0 else -_X_MAX
    return output_code(sigmoid_exact(x), out_fmt, s_out, zp_out)


@functools.lru_cache(maxsize=64)
def sigmoid_table(in_fmt, s, zp, out_fmt, s_out, zp_out) -> np.ndarray:
    """Output codes for every code of the integer format ``in_fmt`` (index q - min_int)."""
    in_fmt, out_fmt = parse_format(in_fmt), parse_format(out_fmt)
    fs = Fraction(float(s))
    q = np.arange(in_fmt.min_int, in_fmt.max_int + 1, dtype=np.int64) - int(zp)
    with np.errstate(all="ignore"):
        xf = q.astype(np.float64) * float(s)  # one rounding: within 2^-53 |x|
    return _codes_fast(xf, lambda i: int(q[i]) * fs, out_fmt, s_out, zp_out).astype(
        out_fmt.code_dtype)


def sigmoid_q(x: QTensor, out_fmt, s_out, zp_out) -> QTensor:
    """Sigmoid of a QTensor into the given output quantization."""
    out_fmt = parse_format(out_fmt)
    zp_out = int(zp_out) if out_fmt.kind == "int" else 0
    if x.fmt.kind == "int":
        if x.axis is not None or x.fmt.bits > 16:
            raise ValueError(f"integer Sigmoid needs a per-tensor input of <= 16 bits, got "
                             f"{x.fmt.name} (axis {x.axis})")
        table = sigmoid_table(x.fmt, float(np.asarray(x.scale)), int(np.asarray(x.zero_point)),
                              out_fmt, float(s_out), zp_out)
        codes = table[x.ints() - x.fmt.min_int]
    else:
        u, inv = np.unique(x.values(), return_inverse=True)

        def arg(i):  # the exact argument of distinct value i (+-inf clamp, NaN: None)
            v = float(u[i])
            return None if v != v else Fraction(max(min(v, _X_MAX), -_X_MAX))

        vals = _codes_fast(u, arg, out_fmt, s_out, zp_out).astype(out_fmt.code_dtype)
        codes = vals[inv.reshape(np.shape(x.codes))]
    return QTensor(codes, out_fmt, scale=s_out, zero_point=zp_out, layout=x.layout)


def _reference(n, xs):
    return 1.0 / (1.0 + np.exp(-xs[0]))


def _execute(n, ins, args):
    q = args.out_q
    if configured(args.config):  # the layer's vector unit (docs/semantics.md, "Vector unit")
        unit = unit_of(args.config)
        return unit_out(unit, unit.fn("sigmoid", unit_in(unit, ins[0])), q, ins[0]), None
    return rounded_output(q, lambda f, s, z: sigmoid_q(ins[0], f, s, z)), None


def _import(ctx, n, a, nm):
    ctx.net.add("Sigmoid", [ctx.canon(n.input[0])], n.output[0], name=nm)


register(OpSpec("Sigmoid", _reference, _execute, output="requant"))
register_onnx("Sigmoid", (), _import)
