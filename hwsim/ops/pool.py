"""Pooling: MaxPool, AveragePool, GlobalAveragePool (numba kernels, NCHW or NHWC).

MaxPool works on *keys* that order the codes by value (integers for integer
formats, decoded values for float formats) and never changes a value.
Average pooling sums integers (int64, exact) and divides by the window count
with a stated rounding: ``rne``, ``rna`` (ties away from zero, the default, as
``std::round``), ``rtz``, ``rdn`` (floor) or ``rup`` (ceil).  Windows follow ONNX
(``count_include_pad``: the divisor counts padded positions or not;
``ceil_mode``: the last partial window is kept).

With a ``vector`` entry in the layer config, AveragePool / GlobalAveragePool run on the
vector unit instead (docs/semantics.md, "Vector unit"): each window's ``kh * kw`` unit
values (row-major; positions outside the input are +0) are summed through the unit's
accumulator (:func:`.vector.reduce.reduce_sum`), then ``fl(sum / fl(count))``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..codec import encode
from ..tensors import QTensor, ints_to_codes
from .conv import _pads, _pair, as_2d, from_2d, kernel_problems, node_pads, onnx_pads, spatial_2d
from .kernels import dual as _dual
from .quant import convert, quantize_to
from .registry import OpSpec, register, register_onnx
from .requant import Requant
from .vecops import configured, unit_in, unit_of, unit_out
from .vector import arith
from .vector.reduce import reduce_sum

__all__ = ["maxpool2d", "sumpool2d", "div_round", "pool_out_size", "DIV_ROUNDINGS",
           "sumpool_float"]

DIV_ROUNDINGS = ("rne", "rna", "rtz", "rdn", "rup")


def pool_out_size(n, k, s, p0, p1, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = n + p0 + p1 - eff
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p0:  # last window must start inside input/left pad
        o -= 1
    return o


def _maxpool_py(x, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, out, nhwc):
    if nhwc:
        N, H, W, C = x.shape
    else:
        N, C, H, W = x.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oy in range(Ho):
            for ox in range(Wo):
                m = -np.inf
                for i in range(kh):
                    iy = oy * sh - pt + i * dh
                    if iy < 0 or iy >= H:
                        continue
                    for j in range(kw):
                        ix = ox * sw - pl + j * dw
                        if ix < 0 or ix >= W:
                            continue
                        v = x[n, iy, ix, c] if nhwc else x[n, c, iy, ix]
                        if v > m:
                            m = v
                if nhwc:
                    out[n, oy, ox, c] = m
                else:
                    out[n, c, oy, ox] = m


def _sumpool_py(x, kh, kw, sh, sw, pt, pl, H_pad, W_pad, Ho, Wo, out, cnt_in, cnt_all, nhwc):
    if nhwc:
        N, H, W, C = x.shape
    else:
        N, C, H, W = x.shape
    for nc in prange(N * C):
        n = nc // C
        c = nc - n * C
        for oy in range(Ho):
            for ox in range(Wo):
                s = 0
                ci = 0
                ca = 0
                for i in range(kh):
                    iy = oy * sh - pt + i
                    for j in range(kw):
                        ix = ox * sw - pl + j
                        if iy >= -pt and iy < H_pad and ix >= -pl and ix < W_pad:
                            ca += 1
                        if iy < 0 or iy >= H or ix < 0 or ix >= W:
                            continue
                        s += x[n, iy, ix, c] if nhwc else x[n, c, iy, ix]
                        ci += 1
                if nhwc:
                    out[n, oy, ox, c] = s
                else:
                    out[n, c, oy, ox] = s
                cnt_in[oy, ox] = ci
                cnt_all[oy, ox] = ca


_maxpool = _dual(_maxpool_py, arg=11, weight=16)
_sumpool = _dual(_sumpool_py, arg=11)


def _geom(shape, kernel, stride, padding, dilation, layout, ceil_mode):
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    if len(shape) != 4:
        raise ValueError(f"pooling input must be 4-D, got shape {shape}")
    H, W = (shape[2], shape[3]) if layout == "NCHW" else (shape[1], shape[2])
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride if stride is not None else 1, "stride")
    dh, dw = _pair(dilation, "dilation")
    pt, pl, pb, pr = _pads(padding)
    Ho = pool_out_size(H, kh, sh, pt, pb, dh, ceil_mode)
    Wo = pool_out_size(W, kw, sw, pl, pr, dw, ceil_mode)
    if Ho < 1 or Wo < 1:
        raise ValueError(f"empty pooling output for input {H}x{W}, kernel {kh}x{kw}")
    return H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo


def _oshape(shape, Ho, Wo, layout):
    return (shape[0], shape[1], Ho, Wo) if layout == "NCHW" else (shape[0], Ho, Wo, shape[3])


def maxpool2d(keys, kernel, *, stride=None, padding=0, dilation=1, ceil_mode=False, layout="NCHW"):
    """Window maxima of ``keys`` (float64 array that orders the codes); padding never wins."""
    k = np.ascontiguousarray(keys, dtype=np.float64)
    stride = kernel if stride is None else stride
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        k.shape, kernel, stride, padding, dilation, layout, ceil_mode)
    out = np.empty(_oshape(k.shape, Ho, Wo, layout), np.float64)
    _maxpool(k, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, out, layout == "NHWC")
    return out


def sumpool2d(ints, kernel, *, stride=None, padding=0, ceil_mode=False, layout="NCHW",
              count_include_pad=False):
    """Window sums (int64, exact) and the divisor of every output position.

    Returns ``(sums, counts)``; ``counts`` is ``[Ho, Wo]``: positions inside the
    input, or (``count_include_pad``) inside the padded input, as ONNX defines.
    """
    x = np.ascontiguousarray(ints, dtype=np.int64)
    stride = kernel if stride is None else stride
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        x.shape, kernel, stride, padding, 1, layout, ceil_mode)
    out = np.empty(_oshape(x.shape, Ho, Wo, layout), np.int64)
    ci = np.zeros((Ho, Wo), np.int64)
    ca = np.zeros((Ho, Wo), np.int64)
    _sumpool(x, kh, kw, sh, sw, pt, pl, H + pb, W + pr, Ho, Wo, out, ci, ca, layout == "NHWC")
    return out, (ca if count_include_pad else ci)


@njit(cache=True, nogil=True)
def _div_round(s, d, mode, out):
    for i in range(s.shape[0]):
        x = s[i]
        q = x // d[i]  # floor
        r = x - q * d[i]  # 0 <= r < d
        inc = 0
        if mode == 0 or mode == 1:
            if 2 * r > d[i]:
                inc = 1
            elif 2 * r == d[i]:
                if mode == 0:
                    inc = q & 1
                else:
                    inc = 1 if x > 0 else 0
        elif mode == 2:
            inc = 1 if (r != 0 and x < 0) else 0
        elif mode == 4:
            inc = 1 if r != 0 else 0
        out[i] = q + inc


def div_round(sums, counts, rounding="rna"):
    """Integer division ``sums / counts`` (counts > 0) rounded by ``rounding``."""
    if rounding not in DIV_ROUNDINGS:
        raise ValueError(f"rounding must be one of {DIV_ROUNDINGS}, got {rounding!r}")
    s = np.asarray(sums, dtype=np.int64)
    d = np.broadcast_to(np.asarray(counts, dtype=np.int64), s.shape)
    if np.any(d <= 0):
        raise ValueError("counts must be > 0")
    out = np.empty(s.size, np.int64)
    _div_round(np.ascontiguousarray(s).reshape(-1), np.ascontiguousarray(d).reshape(-1),
               DIV_ROUNDINGS.index(rounding), out)
    return out.reshape(s.shape)


def sumpool_float(x, k, a, op):
    """Float window sums and counts (reference / float formats): exact for ints via float64."""
    x = np.asarray(x, np.float64)
    if op == "GlobalAveragePool":
        s = x.sum(axis=(2, 3), keepdims=True)
        return s, np.full((1, 1), x.shape[2] * x.shape[3], np.float64)
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        x.shape, k, a.get("strides", k), node_pads(a, x.shape, k), 1, "NCHW",
        bool(a.get("ceil_mode", 0)))
    out = np.zeros(_oshape(x.shape, Ho, Wo, "NCHW"))
    cnt = np.zeros((Ho, Wo))
    cip = bool(a.get("count_include_pad", 0))
    for oy in range(Ho):
        for ox in range(Wo):
            y0, x0 = oy * sh - pt, ox * sw - pl
            ya, yb = max(y0, 0), min(y0 + kh, H)
            xa, xb = max(x0, 0), min(x0 + kw, W)
            out[:, :, oy, ox] = x[:, :, ya:yb, xa:xb].sum(axis=(2, 3))
            if cip:
                cnt[oy, ox] = (min(y0 + kh, H + pb) - y0) * (min(x0 + kw, W + pr) - x0)
            else:
                cnt[oy, ox] = (yb - ya) * (xb - xa)
    return out, cnt


# -- MaxPool ------------------------------------------------------------------------------
def _maxpool_attrs_call(keys, a):
    k = as_2d(keys)
    return from_2d(maxpool2d(k, a["kernel_shape"], stride=a.get("strides"),
                             padding=node_pads(a, k.shape, a["kernel_shape"]),
                             dilation=a.get("dilations", 1),
                             ceil_mode=bool(a.get("ceil_mode", 0))), keys)


def _maxpool_reference(n, xs):
    return _maxpool_attrs_call(xs[0], n.attrs)


def _maxpool_execute(n, ins, args):
    x = ins[0]
    keys = x.ints().astype(np.float64) if x.fmt.kind == "int" else x.decoded()
    m = _maxpool_attrs_call(keys, n.attrs)
    if x.fmt.kind == "int":
        codes = ints_to_codes(m.astype(np.int64), x.fmt.bits, x.fmt.code_dtype)
    else:
        codes = encode(m, x.fmt, "rne", "saturate" if not x.fmt.has_nan else None)
    return convert(x.with_codes(codes), args.out_q), None


# -- AveragePool / GlobalAveragePool ---------------------------------------------------------
def _window(n, x):
    return x.shape[2:] if n.op == "GlobalAveragePool" else n.attrs["kernel_shape"]


def _avgpool_reference(n, xs):
    x = as_2d(xs[0])
    s, c = sumpool_float(x, _window(n, x), n.attrs, n.op)
    return from_2d(s / c, xs[0])


def _avgpool_int(n, x, out_q, cfg):
    """Integer average: exact window sums, then one division (same quantization) or the
    requantization by ``1 / count`` (uniform counts), else divide and cast (two roundings)."""
    a = n.attrs
    avg = n.op == "AveragePool"
    zp = int(np.asarray(x.zero_point))
    xi = as_2d(x.ints())
    win = _window(n, xi)
    s, cnt = sumpool2d(xi - zp, win, stride=a.get("strides") if avg else None,
                       padding=node_pads(a, xi.shape, win) if avg else 0,
                       ceil_mode=bool(a.get("ceil_mode", 0)),
                       count_include_pad=bool(a.get("count_include_pad", 0)))
    if out_q.same(x):
        y = div_round(s, cnt, cfg.pool_rounding) + zp
    elif np.any(cnt != cnt.flat[0]):  # divide in input units, then cast (two roundings)
        y = div_round(s, cnt, cfg.pool_rounding) + zp
        y = np.clip(y, x.fmt.min_int, x.fmt.max_int)
        return convert(x.with_codes(ints_to_codes(y, x.fmt.bits, x.fmt.code_dtype)), out_q)
    else:
        rq = Requant.from_scales(cfg.requant if cfg.requant != "shift" else "onnx",
                                 float(x.scale), 1.0 / int(cnt.flat[0]), out_q.scale,
                                 out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int)
        y = rq.apply(s.reshape(-1, 1)).reshape(s.shape)
    y = np.clip(y, out_q.fmt.min_int, out_q.fmt.max_int)
    return QTensor(ints_to_codes(y, out_q.fmt.bits, out_q.fmt.code_dtype), out_q.fmt,
                   out_q.scale, out_q.zero_point)


def avgpool_windows(v, n):
    """``(windows, counts)``: the windows of the 4-D NCHW ``v`` as ``[N, C, Ho, Wo, kh * kw]``
    (row-major inside the window, +0 outside the input) and the ONNX divisor of every
    output position ``[Ho, Wo]``."""
    a = n.attrs
    if n.op == "GlobalAveragePool":
        N, C, H, W = v.shape
        return v.reshape(N, C, 1, 1, H * W), np.full((1, 1), H * W, np.int64)
    k = a["kernel_shape"]
    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        v.shape, k, a.get("strides", k), node_pads(a, v.shape, k), 1, "NCHW",
        bool(a.get("ceil_mode", 0)))
    _, cnt = sumpool2d(np.zeros((1, 1, H, W), np.int64), k, stride=(sh, sw),
                       padding=(pt, pl, pb, pr), ceil_mode=bool(a.get("ceil_mode", 0)),
                       count_include_pad=bool(a.get("count_include_pad", 0)))
    eh, ew = max(0, (Ho - 1) * sh + kh - H - pt), max(0, (Wo - 1) * sw + kw - W - pl)
    p = np.pad(v, ((0, 0), (0, 0), (pt, eh), (pl, ew)))
    win = np.lib.stride_tricks.sliding_window_view(p, (kh, kw), axis=(2, 3))
    win = win[:, :, : (Ho - 1) * sh + 1 : sh, : (Wo - 1) * sw + 1 : sw]
    return win.reshape(win.shape[:4] + (kh * kw,)), cnt


def _avgpool_unit(n, x, out_q, cfg):
    """AveragePool / GlobalAveragePool on the layer's vector unit."""
    unit = unit_of(cfg)
    v = as_2d(unit_in(unit, x))
    win, cnt = avgpool_windows(v, n)
    s = reduce_sum(unit, win, (4,))[..., 0]
    y = arith.div(unit, s, unit.const(cnt.astype(np.float64)))
    return unit_out(unit, from_2d(y, x.codes), out_q, x)


def _avgpool_execute(n, ins, args):
    x, out_q = ins[0], args.out_q
    if configured(args.config):
        return _avgpool_unit(n, x, out_q, args.config), None
    if x.fmt.kind == "int" and out_q.fmt.kind == "int":
        y = _avgpool_int(n, x, out_q, args.config)
        return y.with_codes(from_2d(np.asarray(y.codes), x.codes)), None
    v = as_2d(x.values())
    s, c = sumpool_float(v, _window(n, v), n.attrs, n.op)
    y = from_2d(s / c, x.codes)
    return quantize_to(y, out_q), None  # block outputs: as a MAC layer's (the network's layout)


# -- ONNX import ------------------------------------------------------------------------------
def _import_pool(ctx, n, a, nm):
    op = n.op_type
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        ctx.net.add(op, [ctx.canon(n.input[0])], n.output[0], name=nm)
        return
    attrs = dict(kernel_shape=spatial_2d(a, "kernel_shape", [1, 1]),
                 strides=spatial_2d(a, "strides", [1, 1]),
                 pads=onnx_pads(a.get("pads", [0, 0, 0, 0])), ceil_mode=int(a.get("ceil_mode", 0)))
    ap = a.get("auto_pad", "NOTSET")
    ap = ap.decode() if isinstance(ap, bytes) else ap
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        attrs["auto_pad"] = ap
    elif ap == "VALID":
        attrs["pads"] = (0, 0, 0, 0)
    if op == "MaxPool":
        attrs["dilations"] = spatial_2d(a, "dilations", [1, 1])
    else:
        attrs["count_include_pad"] = int(a.get("count_include_pad", 0))
    ctx.net.add(op, [ctx.canon(n.input[0])], n.output[0], name=nm, **attrs)


def _maxpool_problems(op_type, a, nm) -> list:
    p = [f"MaxPool storage_order=1 (node {nm})"] if a.get("storage_order", 0) else []
    return p + kernel_problems(op_type, a, nm)


def _avgpool_problems(op_type, a, nm) -> list:
    p = [f"AveragePool dilations (node {nm})"] if any(d != 1 for d in a.get("dilations", [1, 1])) \
        else []
    return p + kernel_problems(op_type, a, nm)


register(OpSpec("MaxPool", _maxpool_reference, _maxpool_execute, output="keep"))
register(OpSpec("AveragePool", _avgpool_reference, _avgpool_execute, output="keep"))
register(OpSpec("GlobalAveragePool", _avgpool_reference, _avgpool_execute, output="keep"))
register_onnx("MaxPool", ("kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad",
                          "storage_order"), _import_pool, _maxpool_problems)
register_onnx("AveragePool", ("kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad",
                              "auto_pad", "dilations"), _import_pool, _avgpool_problems)
register_onnx("GlobalAveragePool", (), _import_pool)


# -- GlobalMaxPool ----------------------------------------------------------------------------
def _gmax_reference(n, xs):
    x = xs[0]
    return x.reshape(x.shape[0], x.shape[1], -1).max(axis=2).reshape(
        x.shape[:2] + (1,) * (x.ndim - 2))


def _gmax_execute(n, ins, args):
    """The code of the largest value of every channel, moved (never recomputed)."""
    x = ins[0]
    keys = x.ints() if x.fmt.kind == "int" else x.decoded()
    lead = x.shape[:2]
    k = keys.reshape(*lead, -1)
    idx = np.argmax(k, axis=2)[..., None]
    codes = np.take_along_axis(np.asarray(x.codes).reshape(*lead, -1), idx, axis=2)
    y = x.with_codes(codes.reshape(lead + (1,) * (len(x.shape) - 2)))
    return convert(y, args.out_q), None


register(OpSpec("GlobalMaxPool", _gmax_reference, _gmax_execute, output="keep"))
register_onnx("GlobalMaxPool", (), _import_pool)
