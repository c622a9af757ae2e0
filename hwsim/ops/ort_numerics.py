"""onnxruntime's integer and float32-island kernels as numpy arithmetic (CPU EP, x86-64 with
AVX2 / FMA3; AVX-512 CPUs run the same MLAS kernels: docs/semantics.md).

Every function reproduces the order of float32 operations, the fused multiply-adds
and the roundings of the onnxruntime 1.32 kernel named in its docstring (facts read
from onnxruntime's source; docs/semantics.md, "onnxruntime's integer kernels").
float32 arithmetic is numpy's IEEE float32 (one correctly rounded operation each);
a fused multiply-add is emulated exactly (:func:`fma32`).  No libm is used: the
one transcendental table (QLinearSoftmax's ``exp`` in double) is evaluated with
Python's correctly rounded ``decimal`` exp / ln.
"""
from __future__ import annotations

from decimal import Context, Decimal

import numpy as np
from numba import njit, prange

from .kernels import dual

__all__ = ["fma32", "dequantize", "quantize_linear", "logistic_fma3", "tanh_fma3", "qlinear_add",
           "qlinear_mul", "qlinear_gap", "qlinear_avgpool", "softmax_table", "qlinear_softmax"]

F32 = np.float32
_LOGISTIC = dict(lo=-18.0, hi=18.0, a9=4.37031012579801e-11, a7=1.15627324459942e-07,
                 a5=6.08574864600143e-05, a3=8.51377133304701e-03, a1=2.48287947061529e-01,
                 b10=6.10247389755681e-13, b8=5.76102136993427e-09, b6=6.29106785017040e-06,
                 b4=1.70198817374094e-03, b2=1.16817656904453e-01, b0=9.93151921023180e-01)


@njit(cache=True, nogil=True)
def _fma32_one(x, y, z):
    """fl32(x * y + z), one rounding, for float32 scalars (see :func:`fma32`)."""
    p = np.float64(x) * np.float64(y)  # exact: 24 + 24 bits
    zz = np.float64(z)
    s = p + zz
    bp = s - zz
    err = (p - bp) + (zz - (s - bp))  # TwoSum: p + z = s + err exactly
    if err != 0.0 and np.isfinite(s):
        # s is normal here (p is 0 or >= 2^-298 in magnitude).  Round to odd: an even last
        # significand bit moves to the float64 neighbour on err's side, one step of the
        # sign-magnitude bit pattern (up in magnitude when err has s's sign; down from a
        # power of two that is the half-ulp neighbour)
        bits = np.float64(s).view(np.int64)
        if bits & 1 == 0:
            bits = bits + 1 if (err > 0) == (s > 0) else bits - 1
            s = np.int64(bits).view(np.float64)
    return np.float32(s)


def _fma32_py(x, y, z, out):
    for i in prange(x.size):
        out[i] = _fma32_one(x[i], y[i], z[i])


_fma32_k = dual(_fma32_py, 0)


def fma32(x, y, z):
    """``fl32(x * y + z)`` with one rounding (x, y, z float32, broadcast), exactly.

    The float64 product of two float32 values is exact; the float64 sum ``s`` with ``z``
    and its exact error ``e`` come from TwoSum.  Where ``e != 0`` the sum is moved to the
    odd neighbour on ``e``'s side (round to odd), and the float64 -> float32 rounding of a
    round-to-odd value with 53 >= 24 + 2 bits is the correctly rounded float32 (Boldo and
    Melquiond, IEEE Trans. Computers 57(4), 2008).  One numba pass (element-wise, so the
    result does not depend on the thread count); tests/ops/test_add_fma32.py checks it
    against exact rational arithmetic."""
    x, y, z = np.broadcast_arrays(*(np.asarray(v, F32) for v in (x, y, z)))
    shape = x.shape
    x, y, z = (np.ascontiguousarray(v).reshape(-1) for v in (x, y, z))
    out = np.empty(x.size, F32)
    _fma32_k(x, y, z, out)
    return out.reshape(shape)


def dequantize(q, scale, zp):
    """DequantizeLinear / ``dequantize_value``: ``fl32(float(q - zp) * scale)``."""
    return (np.asarray(q, np.int64) - int(zp)).astype(F32) * F32(scale)


def _cvt_rne(v, lo, hi):
    """clamp in float to [lo, hi] (integers), then round half to even (``cvtps2dq``)."""
    return np.rint(np.clip(np.asarray(v, F32), F32(lo), F32(hi))).astype(np.int64)


def quantize_linear(y32, scale, zp, fmt):
    """MlasQuantizeLinear (quantize.cpp): ``sat(rne(fl32(y / scale)) + zp)``; the
    saturation happens in float before the rounding, which gives the same codes."""
    t = np.asarray(y32, F32) / F32(scale)
    return _cvt_rne(t, fmt.min_int - zp, fmt.max_int - zp) + int(zp)


def logistic_fma3(x32):
    """MlasLogisticKernelFma3 (x86_64/LogisticKernelFma3.S): clamp to [-18, 18],
    ``x2 = fl32(x*x)``, numerator and denominator polynomials by FMA (Horner in x2),
    ``p = fl32(x * p)``, ``fl32(fl32(p / q) + 0.5)``, then max with 0 (no upper clamp)."""
    c = {k: F32(v) for k, v in _LOGISTIC.items()}
    x = np.minimum(c["hi"], np.maximum(c["lo"], np.asarray(x32, F32)))
    x2 = x * x
    p = fma32(x2, c["a9"], c["a7"])
    for k in ("a5", "a3", "a1"):
        p = fma32(x2, p, c[k])
    q = fma32(x2, c["b10"], c["b8"])
    for k in ("b6", "b4", "b2", "b0"):
        q = fma32(x2, q, c[k])
    r = (x * p) / q + F32(0.5)
    return np.maximum(F32(0.0), r)


_TANH = dict(lo=-9.0, hi=9.0, a13=-2.76076847742355e-16, a11=2.00018790482477e-13,
             a9=-8.60467152213735e-11, a7=5.12229709037114e-08, a5=1.48572235717979e-05,
             a3=6.37261928875436e-04, a1=4.89352455891786e-03, b6=1.19825839466702e-06,
             b4=1.18534705686654e-04, b2=2.26843463243900e-03, b0=4.89352518554385e-03)


def tanh_fma3(x32):
    """MlasComputeTanh on AVX2 / FMA3 (constants in core/mlas/lib/tanh.cpp, the FMA3 kernel):
    clamp to [-9, 9], ``x2 = fl32(x*x)``, ``p`` by FMA Horner from ``a13`` down to ``a1``,
    ``p = fl32(x * p)``, ``q`` by FMA Horner from ``b6`` down to ``b0``, ``fl32(p / q)``.
    (Measured: identical to onnxruntime 1.32's float Tanh on 200,000 float32 inputs.)"""
    c = {k: F32(v) for k, v in _TANH.items()}
    x = np.minimum(c["hi"], np.maximum(c["lo"], np.asarray(x32, F32)))
    x2 = x * x
    p = fma32(x2, c["a13"], c["a11"])
    for k in ("a9", "a7", "a5", "a3", "a1"):
        p = fma32(x2, p, c[k])
    q = fma32(x2, c["b6"], c["b4"])
    for k in ("b2", "b0"):
        q = fma32(x2, q, c[k])
    return (x * p) / q


def _scalar_role(sa, sb):
    """Which operand BroadcastLooper treats as a scalar per span: 'a', 'b' or None
    (the last axis where the output is longer than 1 decides)."""
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for da, db in zip(reversed(sa), reversed(sb)):
        if max(da, db) > 1:
            return "a" if da == 1 else ("b" if db == 1 else None)
    return None


def _fixed(rv, zv, rs, zs, zc):
    """The kernel's fixed part as GCC compiles ``zc - (rv*zv + rs*zs)`` (contracted):
    ``fl32(zc - fma(rv, zv, fl32(rs*zs)))`` (measured against onnxruntime 1.32)."""
    return F32(F32(zc) - fma32(rv, F32(zv), F32(rs * F32(zs)))[()])


def _add_kernel(v, rv, zv, s, rs, zs, zc, scalar):
    """MlasQLinearAddKernelAvx2Helper: ``v`` the vector operand (its ratio is fused into
    the fixed part); ``s`` the other one, a per-span scalar folded in by FMA when
    ``scalar`` (IsScalarA / IsScalarB), else the second vector (kernel A = ``v``)."""
    fixed = _fixed(rv, zv, rs, zs, zc)
    if scalar:
        fixed = fma32(s.astype(F32), rs, fixed)
        return fma32(v.astype(F32), rv, fixed)
    return fma32(v.astype(F32), rv, fma32(s.astype(F32), rs, fixed))


def qlinear_add(qa, sa, za, qb, sb, zb, sc, zc, fmt):
    """QLinearAdd (qlinear_binary_op.cc + intrinsics/avx2/qladd_avx2.cpp, the kernel MLAS
    selects on every x86-64 CPU with AVX2 / FMA3, AVX-512 included).

    ``ra = fl32(sa / sc)``, ``rb = fl32(sb / sc)``.  Spans of equal length (kernel A = A):
    ``fixed = fl32(zc - fma(ra, za, fl32(rb*zb)))``, ``rne(fma(a, ra, fma(b, rb, fixed)))``.
    A span where one operand ``s`` is a scalar (1 on the innermost axis of length > 1) and
    ``v`` the vector: ``fixed = fl32(zc - fma(rv, zv, fl32(rs*zs)))``, ``fixed' = fma(s, rs,
    fixed)``, ``rne(fma(v, rv, fixed'))``.  A one-element output takes the IsScalarA
    kernel (length 1) with ``s = A``.  The FMAs inside the fixed part and the fold are
    GCC's contraction of the source's ``x*y + z`` (measured, tests/ops/test_qlinear_ort_sweep.py).
    The result saturates to the format (``packs`` / ``packus``)."""
    ra, rb = F32(F32(sa) / F32(sc)), F32(F32(sb) / F32(sc))
    qa, qb = np.asarray(qa, np.int64), np.asarray(qb, np.int64)
    role = _scalar_role(qa.shape, qb.shape)
    A, B = np.broadcast_arrays(qa, qb)
    if role == "b":
        v = _add_kernel(A, ra, za, B, rb, zb, zc, True)
    elif role == "a" or A.size == 1:
        v = _add_kernel(B, rb, zb, A, ra, za, zc, True)
    else:
        v = _add_kernel(A, ra, za, B, rb, zb, zc, False)
    return _cvt_int32(v, fmt)


def _qladd_codes_py(ca, cb, sha, shb, ra, rb, fixed, lo, hi, mask, out):
    for i in prange(ca.size):
        a = np.int64(ca[i])
        b = np.int64(cb[i])
        if sha > 0:  # two's complement of a signed format (sha = 2^bits), else unsigned
            a = a - sha if a >= sha >> 1 else a
        if shb > 0:
            b = b - shb if b >= shb >> 1 else b
        vb = _fma32_one(np.float32(b), rb, fixed)
        v = np.float64(_fma32_one(np.float32(a), ra, vb))
        r = np.int64(-2147483648)
        if abs(v) < 2147483648.0:  # cvtps2dq: out of range (or NaN) gives INT32_MIN
            r = np.int64(np.rint(v))
        r = lo if r < lo else (hi if r > hi else r)
        out[i] = r & mask


_qladd_codes_k = dual(_qladd_codes_py, 0, weight=8)


def qlinear_add_codes(ca, fa, sa, za, cb, fb, sb, zb, sc, zc, fmt):
    """:func:`qlinear_add` of two same-shaped code arrays of integer formats (at most 16
    bits) straight to the output codes of ``fmt`` in one numba pass (the arithmetic of
    the element-wise span, element by element: the thread count changes nothing);
    None where that does not apply (broadcast operands, one-element outputs, which take
    the IsScalarA kernel, wider formats)."""
    ca, cb = np.asarray(ca), np.asarray(cb)
    if ca.shape != cb.shape or ca.size <= 1 or max(fa.bits, fb.bits, fmt.bits) > 16 or \
            np.dtype(fmt.code_dtype).kind != "u" or ca.dtype.kind != "u" or cb.dtype.kind != "u":
        return None
    order = _common_order(ca, cb)
    ta, tb = (ca.transpose(order), cb.transpose(order)) if order else (ca, cb)
    ta, tb = np.ascontiguousarray(ta), np.ascontiguousarray(tb)
    ra, rb = F32(F32(sa) / F32(sc)), F32(F32(sb) / F32(sc))
    fixed = _fixed(ra, za, rb, zb, zc)  # spans of equal length: kernel A = A
    out = np.empty(ta.shape, fmt.code_dtype)
    _qladd_codes_k(ta.reshape(-1), tb.reshape(-1), np.int64(1 << fa.bits if fa.signed else 0),
                   np.int64(1 << fb.bits if fb.signed else 0), F32(ra), F32(rb), F32(fixed),
                   np.int64(fmt.min_int), np.int64(fmt.max_int), np.int64((1 << fmt.bits) - 1),
                   out.reshape(-1))
    return out.transpose(np.argsort(order)) if order else out


def _common_order(a, b):
    """An axis order in which both arrays are C-contiguous (a channel-last layer output seen
    as NCHW: (0, 2, 3, 1)), so the kernel reads them flat without a copy; None otherwise."""
    if a.flags.c_contiguous and b.flags.c_contiguous:
        return None
    if a.ndim == 4:
        order = (0, 2, 3, 1)
        if a.transpose(order).flags.c_contiguous and b.transpose(order).flags.c_contiguous:
            return order
    return None


def _cvt_int32(v, fmt):
    """``cvtps2dq`` (rne; out of int32 range gives INT32_MIN) then saturating packs."""
    v = np.asarray(v, np.float64)
    big = ~(np.abs(v) < 2.0 ** 31)
    r = np.where(big, -(2 ** 31), np.rint(np.where(big, 0, v))).astype(np.int64)
    return np.clip(r, fmt.min_int, fmt.max_int)


def qlinear_mul(qa, sa, za, qb, sb, zb, sc, zc, fmt):
    """QLinearMul (core/mlas/lib/qlmul.cpp, SSE2 kernel, no FMA): the exact integer
    product ``(a - za) * (b - zb)`` to float32, ``fl32(fl32(prod * fl32(fl32(sa*sb)/sc))
    + zc)``, ``cvtps2dq`` (rne), saturating packs to int16 then to the 8-bit format."""
    ratio = F32(F32(F32(sa) * F32(sb)) / F32(sc))
    prod = (np.asarray(qa, np.int64) - int(za)) * (np.asarray(qb, np.int64) - int(zb))
    v = prod.astype(F32) * ratio + F32(zc)
    return _cvt_int32(v, fmt)


def gap_scale(si, so, n):
    """CheckQLinearGlobalAveragePoolScaleAndSize: ``fl32(si / fl32(so * fl32(n)))``."""
    return F32(F32(si) / F32(F32(so) * F32(n)))


def qlinear_gap(sums, n, si, zi, so, zo, fmt):
    """MlasQLinearGlobalAveragePool (qlgavgpool.cpp, SSE2): ``acc = sum(q) - zi * n``
    (int32), ``fl32(float(acc) * scale)`` clamped to ``[qmin - zo, qmax - zo]``, rne, + zo."""
    acc = np.asarray(sums, np.int64) - int(zi) * int(n)
    v = acc.astype(F32) * gap_scale(si, so, n)
    return _cvt_rne(v, fmt.min_int - zo, fmt.max_int - zo) + int(zo)


def qlinear_avgpool(x32_windows, counts, so, zo, fmt):
    """QLinearAveragePool (contrib_ops/cpu/quantization/qlinear_pool.cc) after the
    dequantization: the float32 window sum in row-major window order (one rounding per
    addition; positions outside the input are skipped, here added as exact zeros),
    ``fl32(sum / count)``, then ``quantize_value``: ``sat(rne(fl32(fl32(y / so) + zo)))``.
    ``x32_windows``: ``[K, ...]`` float32, one slice per window position in order."""
    acc = np.zeros(x32_windows.shape[1:], F32)
    for k in range(x32_windows.shape[0]):
        acc = acc + x32_windows[k]
    y = acc / np.asarray(counts).astype(F32)
    t = (y / F32(so)) + F32(zo)
    return np.clip(np.rint(t).astype(np.int64), fmt.min_int, fmt.max_int)


def _dec_to_double(d: Decimal) -> float:
    return float(d)  # correctly rounded (Python's Decimal -> float conversion)


def softmax_table(x_scale, reduce_len):
    """QlinearBuildLookupTableUint32 (qlinear_softmax.cc), EXP_OUT_DTYPE float:
    ``bit_shift = max(0, log(fl32(FLT_MAX / fl32(D))) - 5) / x_scale`` (double), and for
    ``k = 0..255`` ``fl32(exp((k - 255 + bit_shift) * x_scale))`` (exp in double).
    Entry ``k`` belongs to ``x - max(x) = k - 255``.  exp and log are evaluated in
    correctly rounded decimal arithmetic and rounded to double."""
    ctx = Context(prec=40)
    fmax = F32(np.finfo(F32).max) / F32(reduce_len)
    bs = _dec_to_double(ctx.ln(Decimal(float(fmax))))
    bs = max(0.0, bs - 5.0) / float(F32(x_scale))
    xs = float(F32(x_scale))
    vals = [_dec_to_double(ctx.exp(Decimal((float(k) - 255.0 + bs) * xs))) for k in range(256)]
    return np.array(vals, np.float64).astype(F32)


def qlinear_softmax(q, table, y_scale, y_zp, fmt):
    """QlinearSoftmaxCPU over the last axis of ``q`` (integer codes, rows in order):
    ``vt = table[x - max + 255]``, ``vsum`` the float32 sum in order,
    ``vq = nearbyintf(fl32(fl32(vt * floor(fl32(1 / y_scale))) / vsum)) + y_zp``, saturated
    to the format (onnxruntime 1.32 measured: an int8 ``vq = 128`` gives 127; the source
    read, older, would wrap it)."""
    q = np.asarray(q, np.int64)
    vt = table[q - q.max(axis=-1, keepdims=True) + 255]
    vsum = np.zeros(q.shape[:-1], F32)
    for j in range(q.shape[-1]):
        vsum = vsum + vt[..., j]
    if np.any(vsum == 0):
        raise ValueError("QLinearSoftmax: a row's exp sum is 0 (input scale too large)")
    ys = F32(np.floor(F32(1.0) / F32(y_scale)))
    vq = np.rint((vt * ys) / vsum[..., None]).astype(np.int64) + int(y_zp)
    return np.clip(vq, fmt.min_int, fmt.max_int)
