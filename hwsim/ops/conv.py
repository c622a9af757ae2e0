"""Conv2d and Linear executors: im2col data movement in numba, MACs through the MAC unit.

Convolution semantics follow ONNX Conv: input ``[N, C, H, W]`` (``layout="NCHW"``)
or ``[N, H, W, C]`` (``"NHWC"``), weights ``[Cout, Cin/groups, kH, kW]`` (OIHW in
both layouts), pads ``(top, left, bottom, right)``, stride, dilation, groups
(``groups == Cin == Cout`` is depthwise).  Padding reads the input's zero-point
code, i.e. real zero.

The reduction of each output is a dot product over ``K = (Cin/groups) * kH * kW``
terms.  Its order matters for non-associative accumulators (saturating
integers, floats), so it is a parameter: ``order`` names the three axes from
slowest to fastest (default ``"cin,kh,kw"``, ONNX's weight order; ``"kh,kw,cin"``
is the natural NHWC order).  It is implemented as a permutation of the im2col
columns and of the weight-matrix rows, so the MAC unit sees the terms of every
output in exactly that order.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from numba import prange

from ..mac.packcache import same_codes
from .kernels import dual as _dual
from .mac_layer import run_mac_layer
from .macbridge import mac_matmul
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["conv2d", "linear", "im2col", "conv_out_size", "reduction_index", "ORDERS",
           "conv_reference", "conv_attrs", "kernel_problems", "CONV_ATTRS", "same_pads",
           "node_pads", "as_2d", "from_2d", "spatial_2d"]

ORDERS = tuple(",".join(p) for p in itertools.permutations(("cin", "kh", "kw")))


def conv_out_size(n, k, stride, pad0, pad1, dilation):
    """Output length of one spatial axis (floor mode)."""
    eff = dilation * (k - 1) + 1
    return (n + pad0 + pad1 - eff) // stride + 1


def reduction_index(cin_g, kh, kw, order="cin,kh,kw"):
    """(c, i, j) index arrays of the K reduction terms in the given order."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    names = order.split(",")
    sizes = dict(cin=cin_g, kh=kh, kw=kw)
    grids = np.meshgrid(*[np.arange(sizes[n]) for n in names], indexing="ij")
    got = {n: g.reshape(-1).astype(np.int64) for n, g in zip(names, grids)}
    return got["cin"], got["kh"], got["kw"]


@lru_cache(maxsize=512)
def _reduction_index(cin_g, kh, kw, order):
    """:func:`reduction_index`, cached (read-only arrays: a layer asks once per call)."""
    got = reduction_index(cin_g, kh, kw, order)
    for g in got:
        g.flags.writeable = False
    return got


def _im2col_py(x, nhwc, G, cin_g, kc, ki, kj, sh, sw, pt, pl, dh, dw, Ho, Wo, pad, out):
    if nhwc:
        N, H, W, C = x.shape
    else:
        N, C, H, W = x.shape
    K = kc.shape[0]
    hw = Ho * Wo
    for g in range(G):
        for row in prange(N * hw):  # rows, not images: one image fills both cores
            n = row // hw
            oy = (row - n * hw) // Wo
            ox = row - n * hw - oy * Wo
            for k in range(K):
                c = g * cin_g + kc[k]
                iy = oy * sh - pt + ki[k] * dh
                ix = ox * sw - pl + kj[k] * dw
                if iy < 0 or iy >= H or ix < 0 or ix >= W:
                    out[g, row, k] = pad
                elif nhwc:
                    out[g, row, k] = x[n, iy, ix, c]
                else:
                    out[g, row, k] = x[n, c, iy, ix]


def _im2col_nhwc_py(x, G, cin_g, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, pad, out):
    """The default order ``cin,kh,kw`` from an NHWC array: column ``(c * kh + i) * kw + j``,
    read channel by channel from one pixel (contiguous reads)."""
    N, H, W, C = x.shape
    hw = Ho * Wo
    for g in range(G):
        for row in prange(N * hw):
            n = row // hw
            oy = (row - n * hw) // Wo
            ox = row - n * hw - oy * Wo
            for i in range(kh):
                iy = oy * sh - pt + i * dh
                for j in range(kw):
                    ix = ox * sw - pl + j * dw
                    k0 = i * kw + j
                    if iy < 0 or iy >= H or ix < 0 or ix >= W:
                        for c in range(cin_g):
                            out[g, row, c * kh * kw + k0] = pad
                    else:
                        for c in range(cin_g):
                            out[g, row, c * kh * kw + k0] = x[n, iy, ix, g * cin_g + c]


_im2col = _dual(_im2col_py, weight=4)
_im2col_nhwc = _dual(_im2col_nhwc_py, weight=4)


def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(t) for t in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {v!r}")
    return v


def _pads(padding):
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        return p, p, p, p
    p = tuple(int(t) for t in padding)
    if len(p) == 2:
        return p[0], p[1], p[0], p[1]
    if len(p) == 4:
        return p
    raise ValueError(f"padding must be an int, (ph, pw) or (top, left, bottom, right), got {padding!r}")


def im2col(x_codes, kernel, *, stride=1, padding=0, dilation=1, groups=1, layout="NCHW",
           order="cin,kh,kw", pad_code=0):
    """Columns ``[groups, N*Ho*Wo, K]`` of the input codes and the output size.

    Column ``k`` holds the term named by ``reduction_index(...)[:, k]``.
    """
    return _columns(x_codes, kernel, stride, padding, dilation, groups, layout, order, pad_code)


def _channels_last(x):
    """An NCHW-shaped view whose memory is NHWC (a channel-last layer output seen as NCHW):
    the NHWC array (no copy), else None."""
    if x.ndim == 4 and not x.flags.c_contiguous:
        t = x.transpose(0, 2, 3, 1)
        if t.flags.c_contiguous:
            return t
    return None


def _columns(x_codes, kernel, stride, padding, dilation, groups, layout, order, pad_code,
             view=False):
    """:func:`im2col`; ``view``: a 1x1, stride-1, unpadded, ungrouped convolution of
    channel-last memory returns the input itself as the columns (a read-only view)."""
    x = np.asarray(x_codes)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D ({layout}), got shape {x.shape}")
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    N, C, H, W = x.shape if layout == "NCHW" else (x.shape[0], x.shape[3], x.shape[1], x.shape[2])
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    pt, pl, pb, pr = _pads(padding)
    if groups < 1 or C % groups:
        raise ValueError(f"groups must divide the {C} input channels, got {groups}")
    if min(sh, sw, dh, dw) < 1 or min(pt, pl, pb, pr) < 0:
        raise ValueError("stride and dilation must be >= 1 and padding >= 0, got "
                         f"stride={stride}, dilation={dilation}, padding={padding}")
    Ho = conv_out_size(H, kh, sh, pt, pb, dh)
    Wo = conv_out_size(W, kw, sw, pl, pr, dw)
    if Ho < 1 or Wo < 1:
        raise ValueError(f"empty output ({Ho}x{Wo}) for input {H}x{W}, kernel {kh}x{kw}")
    cin_g = C // groups
    nhwc = layout == "NHWC"
    cl = _channels_last(x) if layout == "NCHW" else None
    if cl is not None:
        x, nhwc = cl, True
    else:
        x = np.ascontiguousarray(x)
    if view and nhwc and (kh, kw, sh, sw, groups) == (1, 1, 1, 1, 1) and \
            (pt, pl, pb, pr) == (0, 0, 0, 0):
        cols = x.reshape(1, N * H * W, C)
        cols.flags.writeable = False
        return cols, (N, Ho, Wo)
    pad = x.dtype.type(pad_code)
    if nhwc and order == "cin,kh,kw":
        out = np.empty((groups, N * Ho * Wo, cin_g * kh * kw), dtype=x.dtype)
        _im2col_nhwc(x, groups, cin_g, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo, pad, out)
        return out, (N, Ho, Wo)
    kc, ki, kj = _reduction_index(cin_g, kh, kw, order)
    out = np.empty((groups, N * Ho * Wo, kc.shape[0]), dtype=x.dtype)
    _im2col(x, nhwc, groups, cin_g, kc, ki, kj, sh, sw, pt, pl, dh, dw, Ho, Wo, pad, out)
    return out, (N, Ho, Wo)


def weight_matrix(w_codes, groups, order="cin,kh,kw"):
    """Weights ``[Cout, Cin/g, kH, kW]`` as ``[groups, K, Cout/g]`` in reduction order."""
    w = np.asarray(w_codes)
    cout, cin_g, kh, kw = w.shape
    if cout % groups:
        raise ValueError(f"groups ({groups}) must divide the {cout} output channels")
    kc, ki, kj = _reduction_index(cin_g, kh, kw, order)
    cg = cout // groups
    wk = w[:, kc, ki, kj]  # [Cout, K]
    return np.ascontiguousarray(wk.reshape(groups, cg, -1).transpose(0, 2, 1))


#: weight matrices of conv2d, reused while the same weight codes come back (a layer's
#: weights, call after call): key -> (private copy of the codes, matrix)
_WM: dict = {}
_WM_LIMIT = 256


def _weight_matrix_cached(w, groups, order):
    """:func:`weight_matrix`, cached.  A hit needs the same address, shape, groups and
    order *and* the same codes (compared with the private copy); the matrix is read-only
    and stays at one address, so the MAC fast paths can reuse their packing of it."""
    w = np.ascontiguousarray(w)
    key = (w.__array_interface__["data"][0], w.shape, w.dtype.str, groups, order)
    hit = _WM.get(key)
    if hit is not None and same_codes(hit[0], w):
        return hit[1]
    wm = weight_matrix(w, groups, order)
    wm.flags.writeable = False
    if len(_WM) >= _WM_LIMIT:
        _WM.pop(next(iter(_WM)), None)
    _WM[key] = (w.copy(), wm)
    return wm


def conv2d(x_codes, w_codes, mac, *, bias=None, x_zp=0, w_zp=0, stride=1, padding=0,
           dilation=1, groups=1, layout="NCHW", order="cin,kh,kw", pad_code=None, stats=True):
    """Accumulator values of a 2-D convolution (before requantization).

    Parameters
    ----------
    x_codes : [N, C, H, W] (or NHWC) codes of ``mac.a_fmt``
    w_codes : [Cout, C/groups, kH, kW] codes of ``mac.b_fmt``
    mac : MAC unit
    bias : None or [Cout] values in the accumulator domain
    x_zp : scalar zero point of the input (integer formats)
    w_zp : scalar or [Cout] zero points of the weights
    pad_code : code written into the padding (default: ``x_zp``'s code, i.e. 0.0)
    stats : collect MAC statistics (overflow events, max |partial sum|)

    Returns
    -------
    acc : [N, Cout, Ho, Wo] (NCHW) or [N, Ho, Wo, Cout] (NHWC) accumulator values
        (int64 for integer registers, float64 real values otherwise)
    stats : dict from :func:`~hwsim.ops.macbridge.mac_matmul`
        (``overflow_per_col`` is per output channel) plus ``codes``: the
        result-register codes, shaped like ``acc``
    """
    w = np.asarray(w_codes)
    if w.ndim != 4:
        raise ValueError(f"w must be [Cout, Cin/groups, kH, kW], got shape {w.shape}")
    cout, cin_g, kh, kw = w.shape
    C = x_codes.shape[1] if layout == "NCHW" else x_codes.shape[3]
    if cin_g * groups != C:
        raise ValueError(f"weights expect {cin_g * groups} input channels (groups={groups}), input has {C}")
    if pad_code is None:
        pad_code = int(x_zp) & ((1 << mac.a_fmt.bits) - 1) if mac.a_fmt.kind == "int" else 0
    cols, (N, Ho, Wo) = _columns(x_codes, (kh, kw), stride, padding, dilation, groups, layout,
                                 order, pad_code, view=True)
    wm = _weight_matrix_cached(w, groups, order)
    cg = cout // groups
    b = None if bias is None else np.asarray(bias).reshape(groups, cg)
    wz = np.asarray(w_zp)
    wz = wz if wz.ndim == 0 else wz.reshape(groups, cg)
    acc, codes, st = mac_matmul(cols, wm, mac, bias=b, a_zp=x_zp, b_zp=wz, stats=stats)

    def arrange(t):
        # [M, G, Cg] -> channel g*Cg + o; NCHW as a view of the channel-last array (one
        # group: no copy), which is the order the requantization reads it in
        t = t.transpose(1, 0, 2).reshape(N, Ho, Wo, cout)
        return t.transpose(0, 3, 1, 2) if layout == "NCHW" else t

    st = dict(st)
    st["overflow_per_col"] = np.asarray(st["overflow_per_col"]).reshape(-1)
    st["codes"] = arrange(codes)
    return arrange(acc), st


def linear(x_codes, w_codes, mac, *, bias=None, x_zp=0, w_zp=0, stats=True):
    """Accumulator values of ``x @ w`` (x ``[..., K]``, w ``[K, N]``), before requant."""
    x = np.asarray(x_codes)
    w = np.asarray(w_codes)
    if w.ndim != 2 or x.shape[-1] != w.shape[0]:
        raise ValueError(f"linear needs x [..., K] and w [K, N]; got {x.shape} and {w.shape}")
    lead = x.shape[:-1]
    a = np.ascontiguousarray(x.reshape(1, -1, x.shape[-1]))
    b = np.ascontiguousarray(w[None])
    bb = None if bias is None else np.asarray(bias).reshape(1, -1)
    wz = np.asarray(w_zp)
    wz = wz if wz.ndim == 0 else wz.reshape(1, -1)
    acc, codes, st = mac_matmul(a, b, mac, bias=bb, a_zp=x_zp, b_zp=wz, stats=stats)
    st = dict(st)
    st["overflow_per_col"] = np.asarray(st["overflow_per_col"]).reshape(-1)
    st["codes"] = codes.reshape(*lead, w.shape[1])
    return acc.reshape(*lead, w.shape[1]), st


# -- the Conv op -----------------------------------------------------------------------------
CONV_ATTRS = ("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad")


def same_pads(hw, kernel, strides, dilations, mode):
    """ONNX ``auto_pad`` SAME_UPPER / SAME_LOWER: (top, left, bottom, right) giving
    ``ceil(n / stride)`` outputs; an odd total puts the extra pad at the end (UPPER) or
    the beginning (LOWER)."""
    begin, end = [], []
    for n, k, s, d in zip(hw, kernel, strides, dilations):
        tot = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        lo = tot // 2 if mode == "SAME_UPPER" else tot - tot // 2
        begin.append(lo)
        end.append(tot - lo)
    return begin[0], begin[1], end[0], end[1]


def node_pads(a, shape, kernel):
    """2-D pads of a Conv / pooling node for a 4-D input shape (auto_pad resolved)."""
    ap = a.get("auto_pad", "NOTSET")
    if "transposed" in a:
        return _transposed_pads(a["transposed"], shape, _pair(kernel, "kernel"),
                                _pair(a.get("dilations", 1), "dilation"))
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        return same_pads(shape[2:4], _pair(kernel, "kernel"),
                         _pair(a.get("strides") or 1, "stride"),
                         _pair(a.get("dilations", 1), "dilation"), ap)
    return a.get("pads", 0)


def _transposed_pads(t, shape, kernel, dil):
    """Conv pads of a ConvTranspose given ``output_shape`` or ``auto_pad`` SAME (ONNX:
    ``total = s (n - 1) + output_padding + d (k - 1) + 1 - out``, the odd half at the end
    for SAME_UPPER, else at the beginning), for the zero-inserted input ``shape``."""
    begin, end = [], []
    for i in range(2):
        s, op, k, d = t["strides"][i], t["output_padding"][i], kernel[i], dil[i]
        n = (shape[2 + i] - 1) // s + 1
        out = t["output_shape"][i] if t.get("output_shape") else n * s
        tot = s * (n - 1) + op + d * (k - 1) + 1 - out
        lo = tot // 2 if t["mode"] == "SAME_UPPER" else tot - tot // 2
        ext = d * (k - 1)
        begin.append(ext - lo)
        end.append(ext - (tot - lo) + op)
    if min(begin + end) < 0:
        raise ValueError(f"ConvTranspose: output_shape / auto_pad need pads larger than "
                         f"dilation * (kernel - 1) (got conv pads {begin + end})")
    return begin[0], begin[1], end[0], end[1]


def as_2d(x):
    """A 3-D ``[N, C, L]`` array as ``[N, C, 1, L]`` (1-D ops run as 2-D), 4-D unchanged."""
    return x[:, :, None, :] if np.ndim(x) == 3 else x


def from_2d(y, like):
    """Undo :func:`as_2d` when ``like`` is 3-D."""
    return y[:, :, 0, :] if np.ndim(like) == 3 else y


def conv_reference(n, xs):
    """float64 Conv: im2col of the real input times the real weights, plus bias."""
    a, w, x = n.attrs, n.weight, as_2d(xs[0])
    g = a.get("group", 1)
    x = _zero_stuff(x, a.get("input_dilations"), 0.0)
    cols, (N, Ho, Wo) = im2col(x, w.shape[2:], stride=a.get("strides", 1),
                               padding=node_pads(a, x.shape, w.shape[2:]),
                               dilation=a.get("dilations", 1), groups=g, pad_code=0.0)
    cg = w.shape[0] // g
    wm = w.reshape(g, cg, -1).transpose(0, 2, 1)
    y = np.matmul(cols, wm)  # [G, M, Cg]
    y = y.transpose(1, 0, 2).reshape(N, Ho, Wo, -1).transpose(0, 3, 1, 2)
    if n.bias is not None:
        y = y + n.bias.reshape(1, -1, 1, 1)
    return from_2d(y, xs[0])


def _zero_stuff(x, dil, fill):
    """ConvTranspose's input: ``dil - 1`` zeros (``fill``) between neighbours along H, W."""
    if dil is None or tuple(dil) == (1, 1):
        return x
    dh, dw = dil
    N, C, H, W = x.shape
    out = np.full((N, C, (H - 1) * dh + 1, (W - 1) * dw + 1), fill, dtype=x.dtype)
    out[:, :, ::dh, ::dw] = x
    return out


def onnx_pads(p):
    """ONNX ``pads`` of a 1-D (begin, end) or 2-D op as (top, left, bottom, right)."""
    p = list(p)
    if len(p) == 2:
        return (0, p[0], 0, p[1])
    if len(p) != 4:
        raise UnsupportedModelError(f"pads must have 4 entries for 2-D ops, got {p}")
    return (p[0], p[1], p[2], p[3])


def _auto_pad(a):
    ap = a.get("auto_pad", "NOTSET")
    return ap.decode() if isinstance(ap, bytes) else str(ap)


def spatial_2d(a, key, default):
    """A 1-D or 2-D ONNX attribute (strides, dilations, kernel_shape) as a 2-D list."""
    v = list(a.get(key, default))
    return [1] + v if len(v) == 1 else v


def conv_attrs(a) -> dict:
    """Network Conv attributes from ONNX Conv / QLinearConv / ConvInteger attributes
    (1-D attributes made 2-D with a unit height; ``auto_pad`` kept, resolved at run time)."""
    d = dict(strides=spatial_2d(a, "strides", [1, 1]),
             pads=onnx_pads(a.get("pads", [0, 0, 0, 0])),
             dilations=spatial_2d(a, "dilations", [1, 1]), group=int(a.get("group", 1)))
    ap = _auto_pad(a)
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        d["auto_pad"] = ap
    elif ap == "VALID":
        d["pads"] = (0, 0, 0, 0)
    return d


def kernel_problems(op_type, a, nm) -> list:
    """Kernel rank (2-D, or 1-D for the float ops) and auto_pad of Conv-like and pooling ops."""
    ranks = (2,) if op_type in ("QLinearConv", "ConvInteger") else (1, 2)
    p = []
    if len(a.get("kernel_shape", [1, 1])) not in ranks:
        p.append(f"{op_type} with a {len(a['kernel_shape'])}-D kernel (node {nm})")
    if _auto_pad(a) not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        p.append(f"{op_type} auto_pad={_auto_pad(a)!r} (node {nm})")
    return p


def _import_conv(ctx, n, a, nm):
    if len(n.input) < 2 or not n.input[0] or not n.input[1]:
        raise UnsupportedModelError(f"{n.op_type} {nm}: needs inputs (X, W[, B]), got "
                                    f"{list(n.input)}")
    wf, wq = ctx.weight(n.input[1], f"{n.op_type} {nm} weights")
    bf, bq = ctx.bias(n, nm)
    if wf is not None and wf.ndim == 3:  # 1-D: [Cout, Cin/g, k] -> [Cout, Cin/g, 1, k]
        wf = wf[:, :, None, :]
        wq = None if wq is None else wq.with_codes(np.asarray(wq.codes)[:, :, None, :])
    ctx.net.add("Conv", [ctx.canon(n.input[0])], n.output[0], name=nm, weight=wf, bias=bf,
                wq=wq, bq=bq, **conv_attrs(a))


def _conv_kernel(n, x, lp, x_zp, w_zp, mac_stats):
    a = n.attrs
    in_fmt = lp.in_q.fmt
    pad = int(lp.in_q.zero_point) & ((1 << in_fmt.bits) - 1) if in_fmt.kind == "int" else 0
    codes = _zero_stuff(as_2d(np.asarray(x.codes)), a.get("input_dilations"),
                        np.asarray(x.codes).dtype.type(pad))
    acc, st = conv2d(codes, lp.wq.codes, lp.mac, bias=lp.bias, x_zp=x_zp, w_zp=w_zp,
                     stride=a.get("strides", 1),
                     padding=node_pads(a, codes.shape, lp.wq.codes.shape[2:]),
                     dilation=a.get("dilations", 1), groups=a.get("group", 1),
                     order=lp.config.order, stats=mac_stats, pad_code=pad)
    st["codes"] = from_2d(st["codes"], x.codes)
    return from_2d(acc, x.codes), st, 1


def _conv_execute(n, ins, args):
    return run_mac_layer(n, ins, args, _conv_kernel)


register(OpSpec("Conv", conv_reference, _conv_execute, output="mac"))
register_onnx("Conv", CONV_ATTRS, _import_conv, kernel_problems)
