"""LRN (local response normalization across channels), the exact function rounded once
(docs/semantics.md, "LRN").

ONNX: ``y = x / (bias + alpha / size * S)^beta`` with ``S`` the sum of ``x^2`` over the
channels ``c - floor((size-1)/2) .. c + ceil((size-1)/2)`` (clipped to the tensor).
Quantized: the input's real values (exact), the exact function, one rounding into the
output quantization.  The float64 evaluation decides every element whose error bracket
rounds to one code (:func:`.exact.codes_bracketed`); the others are evaluated exactly
(Fractions; ``d^-beta`` rational when exact, else a 60-digit Decimal).  A block-format
output: that rounding into binary32, then the block encode (:func:`.quant.rounded_output`).
"""
from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

import numpy as np

from ..formats import format as parse_format
from ..tensors import QTensor
from .exact import codes_bracketed, exact_values
from .quant import rounded_output
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["lrn_q", "lrn_exact_pow", "lrn_window", "lrn_rel_bound"]

_CTX = Context(prec=60, Emin=-10**6, Emax=10**6)


def lrn_rel_bound(size, beta) -> float:
    """Relative bracket of the float64 evaluation: 8 times its error bound
    ``(beta (size + 3) + 3) 2^-53`` (docs/semantics.md, "LRN") plus ``2^-42`` for the host's
    ``pow`` (a margin of about 2^10 ulp); at most ``2^-30`` for ``size <= 4096``,
    ``beta <= 64``.  Tight enough that float32 outputs rarely take the exact path."""
    return 8.0 * (float(beta) * (size + 3) + 3) * 2.0 ** -53 + 2.0 ** -42


def lrn_window(c, size, channels):
    """The channel range ``[lo, hi)`` summed for output channel ``c``."""
    return max(0, c - (size - 1) // 2), min(channels, c + size // 2 + 1)


def _iroot(n: int, k: int):
    """Exact integer k-th root of n >= 0, or None."""
    r = round(n ** (1.0 / k)) if n < 2 ** 1000 else int(Fraction(n) ** Fraction(1, k))
    for c in (r - 1, r, r + 1):
        if c >= 0 and c ** k == n:
            return c
    lo, hi = 0, 1 << (n.bit_length() // k + 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if mid ** k < n:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo ** k == n else None


def lrn_exact_pow(d: Fraction, beta: Fraction):
    """``d^-beta`` (d > 0 rational, beta a dyadic rational): a Fraction when rational,
    else a Decimal with 60 significant digits."""
    p, q = beta.numerator, beta.denominator
    if q <= 1 << 16:
        a, b = _iroot(d.numerator, q), _iroot(d.denominator, q)
        if a is not None and b is not None:
            return Fraction(b, a) ** p
    ld = _CTX.ln(_CTX.divide(Decimal(d.numerator), Decimal(d.denominator)))
    return _CTX.exp(_CTX.multiply(ld, _CTX.divide(Decimal(-p), Decimal(q))))


def _params(n):
    a = n.attrs
    return (int(a["size"]), Fraction(float(a.get("alpha", np.float32(1e-4)))),
            Fraction(float(a.get("beta", np.float32(0.75)))),
            Fraction(float(a.get("k", np.float32(1.0)))))


def _reference(n, xs):
    x = np.asarray(xs[0], np.float64)
    size, alpha, beta, bias = (float(v) for v in _params(n))
    sq = x * x
    s = np.zeros_like(x)
    for c in range(x.shape[1]):
        lo, hi = lrn_window(c, int(size), x.shape[1])
        s[:, c] = sq[:, lo:hi].sum(axis=1)
    return x / (bias + alpha / size * s) ** beta


def _exact_one(x, vals_of, idx, params):
    """Exact output value of flat element ``idx`` (None for a non-finite input)."""
    size, alpha, beta, bias = params
    shp = x.shape
    pos = np.unravel_index(idx, shp)
    lo, hi = lrn_window(int(pos[1]), size, shp[1])
    flat = [int(np.ravel_multi_index(pos[:1] + (c,) + pos[2:], shp)) for c in range(lo, hi)]
    vs = vals_of(flat)
    xv = vals_of([idx])[0]
    if any(v is None for v in vs):
        return None
    d = bias + alpha / size * sum(v * v for v in vs)
    if xv == 0:
        return Fraction(0)
    pw = lrn_exact_pow(d, beta)
    if isinstance(pw, Fraction):
        return xv * pw
    return _CTX.multiply(Decimal(xv.numerator) / Decimal(xv.denominator), pw)


def lrn_q(n, x: QTensor, out_fmt, s_out, zp_out) -> QTensor:
    """LRN of a QTensor (NC...) into the given output quantization (``n``: the node)."""
    out_fmt = parse_format(out_fmt)
    params = _params(n)
    if params[3] <= 0 or params[1] < 0 or not 0 <= params[2] <= 64:
        raise ValueError("LRN needs bias > 0, alpha >= 0 and 0 <= beta <= 64, got "
                         f"bias={float(params[3])}, alpha={float(params[1])}, beta={float(params[2])}")
    if params[0] > 4096:
        raise ValueError(f"LRN size must be in [1, 4096], got {params[0]}")
    xv = x.values()
    if np.nanmax(np.abs(np.where(np.isinf(xv), 0, xv)), initial=0.0) >= 2.0 ** 400:
        raise ValueError("LRN input magnitudes must be below 2^400 (float64 bracket)")
    with np.errstate(all="ignore"):
        t = _reference(n, [xv]) / float(s_out)
    err = np.abs(t) * lrn_rel_bound(params[0], params[2])

    def vals_of(idx):
        fin = np.isfinite(xv.reshape(-1)[idx])
        ex = exact_values(x, [i for i, f in zip(idx, fin) if f])
        it = iter(ex)
        return [next(it) if f else None for f in fin]

    codes = codes_bracketed(t, err, out_fmt, s_out, zp_out,
                            lambda i: _exact_one(x, vals_of, i, params))
    zp = int(zp_out) if out_fmt.kind == "int" else 0
    return QTensor(codes, out_fmt, scale=s_out, zero_point=zp, layout=x.layout)


def _execute(n, ins, args):
    q = args.out_q
    return rounded_output(q, lambda f, s, z: lrn_q(n, ins[0], f, s, z)), None


def _import(ctx, n, a, nm):
    if "size" not in a or int(a["size"]) < 1:
        raise UnsupportedModelError(f"LRN {nm}: attribute 'size' (>= 1) is required")
    kw = {k: float(np.float32(a[k])) for k in ("alpha", "beta") if k in a}
    if "bias" in a:  # stored as ``k`` (a node's ``bias`` is a MAC bias)
        kw["k"] = float(np.float32(a["bias"]))
    ctx.net.add("LRN", [ctx.canon(n.input[0])], n.output[0], name=nm, size=int(a["size"]), **kw)


register(OpSpec("LRN", _reference, _execute, output="requant"))
register_onnx("LRN", ("alpha", "beta", "bias", "size"), _import)
