"""ChannelAffine ``y = x * a[c] + b[c]``: BatchNormalization (inference) that follows no
Conv / Gemm, and Mul / Add by a scalar or per-channel constant that cannot be folded into
one (docs/semantics.md, "ChannelAffine").

``a`` and ``b`` are float64 vectors along one axis (BatchNormalization: axis 1 with
``a = scale / sqrt(var + eps)``, ``b = beta - mean * a``, computed in float64 from the
model's constants, as the fold does).  Quantized: the exact affine of the input's exact
real values with the float64 constants taken exactly, rounded once into the output
quantization (the float64 evaluation decides every element whose error bracket rounds to
one code, :func:`.exact.codes_bracketed`; the rest is computed with Fractions); a
block-format output is that rounding into binary32, then the block encode
(:func:`.quant.rounded_output`).  An affine
whose only consumer is another one is merged with it in float64 (import rewrite).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import UnsupportedModelError
from ..formats import format as parse_format
from ..tensors import QTensor
from .exact import codes_bracketed, exact_values
from .quant import rounded_output
from .registry import OpSpec, register

__all__ = ["affine_q", "add_affine", "constant_affine", "batchnorm_affine"]

_REL = 2.0 ** -48  # bracket: (|x a| + |b|) 2^-48 bounds the float64 evaluation's error


def _bcast(v, axis, ndim):
    v = np.asarray(v, np.float64)
    if v.size == 1:
        return v.reshape(())
    shp = [1] * ndim
    shp[axis % ndim] = -1
    return v.reshape(shp)


def _ab(n, shape):
    """(a, b) shaped to broadcast against an input of ``shape``; sizes other than 1 or the
    channel count are an :class:`UnsupportedModelError` naming the node."""
    ndim, ax = len(shape), n.attrs["axis"]
    for k in ("a", "b"):
        size = np.size(n.attrs[k])
        if not np.all(np.isfinite(np.asarray(n.attrs[k], np.float64))):  # fuzz crash-edb2f234
            raise UnsupportedModelError(f"node {n.name} ({n.op}): {k} holds NaN or Inf")
        if size != 1 and (ndim == 0 or not -ndim <= ax < ndim or size != shape[ax % ndim]):
            raise UnsupportedModelError(
                f"node {n.name} ({n.op}): {k} has {size} values for axis {ax} of an input of "
                f"shape {tuple(shape)} (needs 1 or one per channel)")
    return (_bcast(n.attrs["a"], ax, ndim), _bcast(n.attrs["b"], ax, ndim))


def _reference(n, xs):
    a, b = _ab(n, np.shape(xs[0]))
    return xs[0] * a + b


def affine_q(n, x: QTensor, out_fmt, s_out, zp_out) -> QTensor:
    """ChannelAffine of a QTensor into the given output quantization (``n``: the node)."""
    out_fmt = parse_format(out_fmt)
    a, b = _ab(n, x.shape)
    xv = x.values()
    with np.errstate(all="ignore"):
        p = xv * a
        t = (p + b) / float(s_out)
        err = (np.abs(p) + np.abs(b)) / float(s_out) * _REL
    af = np.broadcast_to(a, x.shape).reshape(-1)
    bf = np.broadcast_to(b, x.shape).reshape(-1)
    finite = np.isfinite(xv).reshape(-1)

    def exact(i):
        if not finite[i]:
            return None
        return exact_values(x, [i])[0] * Fraction(float(af[i])) + Fraction(float(bf[i]))

    codes = codes_bracketed(np.broadcast_to(t, x.shape), np.broadcast_to(err, x.shape),
                            out_fmt, s_out, zp_out, exact)
    zp = int(zp_out) if out_fmt.kind == "int" else 0
    return QTensor(codes, out_fmt, scale=s_out, zero_point=zp, layout=x.layout)


def _execute(n, ins, args):
    q = args.out_q
    return rounded_output(q, lambda f, s, z: affine_q(n, ins[0], f, s, z)), None


def _merge(ctx, src, a, b, axis):
    """Merge ``y = x * a + b`` into the ChannelAffine producing ``src`` (consumed only
    here, no model-stated quantization): ``a' = pa * a``, ``b' = pb * a + b`` in float64.
    Returns the merged node or None."""
    prev = ctx.producer(ctx.canon(src))
    if prev is None or prev.op != "ChannelAffine" or ctx.uses[src] != 1 or src in ctx.model_q:
        return None
    pa, pb = np.asarray(prev.attrs["a"]), np.asarray(prev.attrs["b"])
    n_prev, n_new = max(pa.size, pb.size), max(a.size, b.size)
    if n_prev > 1 and n_new > 1 and (axis != prev.attrs["axis"] or n_prev != n_new):
        return None
    prev.attrs.update(a=list((pa * a).ravel()), b=list((pb * a + b).ravel()),
                      axis=prev.attrs["axis"] if n_prev > 1 else axis)
    return prev


def add_affine(ctx, n, nm, a, b, axis, what) -> None:
    """Add a ChannelAffine node for ``n`` (or merge it into the one before)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    src = n.input[0] if not ctx.is_const(n.input[0]) else n.input[1]
    prev = _merge(ctx, src, a, b, axis)
    if prev is not None:
        prev.outputs = [n.output[0]]
        ctx.rewrites.append(f"{what} {nm} merged into ChannelAffine {prev.name} (float64)")
        return
    ctx.net.add("ChannelAffine", [ctx.canon(src)], n.output[0], name=nm, a=list(a), b=list(b),
                axis=axis)
    ctx.rewrites.append(f"{what} {nm} imported as ChannelAffine")


def _axis_of(c):
    """(vector, axis) of a constant that is a scalar or varies along one axis (counted from
    the right, as it broadcasts), else None."""
    c = np.asarray(c, np.float64)
    if c.size == 1:
        return c.reshape(1), 1
    big = [i for i, d in enumerate(c.shape) if d != 1]
    if len(big) != 1:
        return None
    return c.reshape(-1), big[0] - c.ndim


def constant_affine(ctx, n, nm) -> bool:
    """Import ``x * c`` / ``x + c`` / ``c + x`` (c a float constant, scalar or one axis) as
    a ChannelAffine; False if the node is not of that form."""
    ci = [i for i in n.input if i in ctx.init]
    if len(n.input) != 2 or len(ci) != 1 or ctx.init[ci[0]].dtype.kind != "f":
        return False
    va = _axis_of(ctx.init[ci[0]])
    if va is None:
        return False
    v, axis = va
    src = n.input[0] if n.input[1] == ci[0] else n.input[1]
    rank = getattr(ctx, "ranks", {}).get(src)
    if v.size > 1 and rank is not None and -axis <= rank:
        axis += rank  # the axis counted from the left (merges with BatchNormalization's axis 1)
    a, b = (v, np.zeros(1)) if n.op_type == "Mul" else (np.ones(1), v)
    add_affine(ctx, n, nm, a, b, axis, n.op_type)
    return True


def batchnorm_affine(ctx, n, a, nm) -> None:
    """A BatchNormalization that follows no foldable Conv / Gemm, as a ChannelAffine."""
    scale, beta, mean, var = (np.asarray(ctx.const(t, nm), np.float64).ravel() for t in n.input[1:5])
    k = scale / np.sqrt(var + float(a.get("epsilon", 1e-5)))
    add_affine(ctx, n, nm, k, beta - mean * k, 1, "BatchNormalization")


register(OpSpec("ChannelAffine", _reference, _execute, output="requant"))
