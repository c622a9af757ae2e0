"""A small pure-Python interpreter over a Network's layers (tests only).

It takes from the Network only what the configuration fixes: the plan's
tensor quantizations (format, scale, zero point), each compute layer's
quantized weight codes, bias in register units, MAC unit and requantization
parameters, and the quantized network input.  Every tensor after that is
recomputed here with Python ints and ``hwsim.reference``: im2col by index
arithmetic, the MAC through the exact reference (``hwsim.reference.mac`` via
``reference_matmul``), TFLite requantization on Python ints (gemmlowp
SaturatingRoundingDoublingHighMul + RoundingDivideByPOT), onnx
requantization as fl32(fl32(acc) * scale32) rounded half to even, float
outputs encoded by ``hwsim.reference.encode``.  No numba kernel and no C
code runs here.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim import reference as R
from hwsim.tensors import codes_to_ints
from hwsim.testing.mac_strategies import reference_matmul

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def _srdhm(a, b):
    if a == b == I32_MIN:
        return I32_MAX
    ab = a * b
    s = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    return s // (1 << 31) if s >= 0 else -((-s) // (1 << 31))


def _rdbpot(x, e):
    mask = (1 << e) - 1
    return (x >> e) + (1 if (x & mask) > (mask >> 1) + (1 if x < 0 else 0) else 0)


def _wrap32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def requant_tflite(acc, m, shift, zp, qmin, qmax):
    x = max(I32_MIN, min(I32_MAX, acc))
    left, right = max(shift, 0), max(-shift, 0)
    y = _rdbpot(_srdhm(_wrap32(x << left), m), right) + zp
    return max(qmin, min(qmax, y))


def _rint_half_even(f: float) -> int:
    fl = math.floor(f)
    d = f - fl
    if d > 0.5 or (d == 0.5 and fl % 2 == 1):
        return int(fl) + 1
    return int(fl)


def requant_onnx(acc, scale32, zp, qmin, qmax):
    v = float(np.float32(acc) * np.float32(scale32))  # two IEEE binary32 roundings
    return max(qmin, min(qmax, _rint_half_even(v) + zp))


def _ints(qt):
    return codes_to_ints(np.asarray(qt.codes), qt.fmt.bits, qt.fmt.signed).astype(np.int64)


def _value(fmt, code):
    return Fraction(R.decode(fmt, int(code)))


class Tensor:
    """codes (numpy, for the shape only: every element is a Python int) + quantization."""

    def __init__(self, codes, q):
        self.codes = np.asarray(codes, dtype=object)
        self.q = q

    def ints(self):
        f = self.q.fmt
        return np.vectorize(lambda c: c - (1 << f.bits) if f.signed and c >> (f.bits - 1) else c,
                            otypes=[object])(self.codes)


def _im2col(x, kh, kw, sh, sw, pads, dh, dw, groups, order, pad_code):
    """rows [(n, oy, ox)] x columns (g, [terms in order]) of codes."""
    N, C, H, W = x.shape
    pt, pl, pb, pr = pads
    Ho = (H + pt + pb - (dh * (kh - 1) + 1)) // sh + 1
    Wo = (W + pl + pr - (dw * (kw - 1) + 1)) // sw + 1
    cg = C // groups
    idx = {"cin": range(cg), "kh": range(kh), "kw": range(kw)}
    names = order.split(",")
    terms = []
    for t0 in idx[names[0]]:
        for t1 in idx[names[1]]:
            for t2 in idx[names[2]]:
                d = dict(zip(names, (t0, t1, t2)))
                terms.append((d["cin"], d["kh"], d["kw"]))
    cols = []
    for g in range(groups):
        rows = []
        for n in range(N):
            for oy in range(Ho):
                for ox in range(Wo):
                    row = []
                    for c, i, j in terms:
                        iy, ix = oy * sh - pt + i * dh, ox * sw - pl + j * dw
                        inside = 0 <= iy < H and 0 <= ix < W
                        row.append(int(x[n, g * cg + c, iy, ix]) if inside else pad_code)
                    rows.append(row)
        cols.append(rows)
    return cols, terms, (N, Ho, Wo)


def _w_matrix(w, groups, terms):
    cout = w.shape[0]
    cg = cout // groups
    return [[[int(w[g * cg + o, c, i, j]) for o in range(cg)] for c, i, j in terms]
            for g in range(groups)]


def _finish(net, lp, accs, out_q):
    """Register results [rows][cout] -> output codes (requant or float scale + encode)."""
    rq = lp.requant
    f = out_q.fmt
    out = []
    for row in accs:
        orow = []
        for c, r in enumerate(row):
            if rq is not None:
                acc = int(r.value)
                if rq.style == "tflite":
                    y = requant_tflite(acc, int(rq.multiplier[c]), int(rq.shift[c]), rq.zero_point,
                                       rq.qmin, rq.qmax)
                elif rq.style == "onnx":
                    y = requant_onnx(acc, float(rq.scale32[c]), rq.zero_point, rq.qmin, rq.qmax)
                else:
                    raise NotImplementedError(rq.style)
                orow.append(y & ((1 << f.bits) - 1))
            else:  # raw LSB units of an int register, or the float register's exact value
                v = int(r.value) if lp.acc_int else r.value
                v32 = float(np.float32(float(v)) * np.float32(lp.scale32[c]))
                if f.kind == "int":
                    y = max(f.min_int, min(f.max_int, _rint_half_even(v32) + int(out_q.zero_point)))
                    orow.append(y & ((1 << f.bits) - 1))
                else:
                    orow.append(R.encode(f, v32, "rne", "saturate")[0])
        out.append(orow)
    return out


def conv(net, n, x: Tensor, lp):
    a = n.attrs
    cfg = lp.config
    wq, in_q = lp.wq, lp.in_q
    assert in_q.same(_as_qtensor(x)), "the interpreter supports Conv inputs in the layer's format"
    kh, kw = wq.codes.shape[2:]
    sh, sw = _pair(a.get("strides", 1))
    dh, dw = _pair(a.get("dilations", 1))
    pads = _pads(a.get("pads", 0))
    groups = a.get("group", 1)
    x_zp = int(in_q.zero_point) if in_q.fmt.kind == "int" else 0
    pad = x_zp & ((1 << in_q.fmt.bits) - 1) if in_q.fmt.kind == "int" else 0
    cols, terms, (N, Ho, Wo) = _im2col(x.codes, kh, kw, sh, sw, pads, dh, dw, groups, cfg.order, pad)
    wm = _w_matrix(np.asarray(wq.codes), groups, terms)
    cout = wq.codes.shape[0]
    cg = cout // groups
    w_zp = lp.w_zp if wq.fmt.kind == "int" else 0
    bias = lp.bias
    accs = [[None] * cout for _ in range(N * Ho * Wo)]
    for g in range(groups):
        b = None if bias is None else np.asarray(bias)[g * cg:(g + 1) * cg]
        wzp = w_zp if np.ndim(w_zp) == 0 else np.asarray(w_zp)[g * cg:(g + 1) * cg]
        res = reference_matmul(np.array(cols[g], dtype=np.int64), np.array(wm[g], dtype=np.int64),
                               lp.mac, b, x_zp, wzp)
        for r, row in enumerate(res):
            for o, v in enumerate(row):
                accs[r][g * cg + o] = v
    out_q = lp.out_q
    codes = _finish(net, lp, accs, out_q)
    arr = np.empty((N, cout, Ho, Wo), dtype=object)
    for r, row in enumerate(codes):
        nn, rem = divmod(r, Ho * Wo)
        oy, ox = divmod(rem, Wo)
        for c in range(cout):
            arr[nn, c, oy, ox] = row[c]
    return Tensor(arr, out_q)


def gemm(net, n, x: Tensor, lp):
    wq, in_q = lp.wq, lp.in_q
    assert in_q.same(_as_qtensor(x))
    x_zp = int(in_q.zero_point) if in_q.fmt.kind == "int" else 0
    w_zp = lp.w_zp if wq.fmt.kind == "int" else 0
    res = reference_matmul(np.array(x.codes.tolist(), dtype=np.int64),
                           np.asarray(wq.codes).astype(np.int64), lp.mac, lp.bias, x_zp, w_zp)
    return Tensor(np.array(_finish(net, lp, res, lp.out_q), dtype=object), lp.out_q)


def relu(x: Tensor):
    f = x.q.fmt
    if f.kind == "int":
        zp = int(x.q.zero_point)
        ints = x.ints()
        out = np.vectorize(lambda v: max(v, zp) & ((1 << f.bits) - 1), otypes=[object])(ints)
        return Tensor(out, x.q)
    zero = R.encode(f, 0.0)[0]
    return Tensor(np.vectorize(lambda c: zero if _value(f, c) < 0 else c, otypes=[object])(x.codes),
                  x.q)


def maxpool(n, x: Tensor):
    a = n.attrs
    kh, kw = a["kernel_shape"]
    sh, sw = _pair(a.get("strides") or (kh, kw))
    pt, pl, pb, pr = _pads(a.get("pads", 0))
    N, C, H, W = x.codes.shape
    Ho, Wo = (H + pt + pb - kh) // sh + 1, (W + pl + pr - kw) // sw + 1
    f = x.q.fmt
    key = (lambda c: c - (1 << f.bits) if f.signed and c >> (f.bits - 1) else c) if f.kind == "int" \
        else (lambda c: _value(f, c))
    out = np.empty((N, C, Ho, Wo), dtype=object)
    for nn in range(N):
        for c in range(C):
            for oy in range(Ho):
                for ox in range(Wo):
                    best = None
                    for i in range(kh):
                        for j in range(kw):
                            iy, ix = oy * sh - pt + i, ox * sw - pl + j
                            if 0 <= iy < H and 0 <= ix < W:
                                cd = int(x.codes[nn, c, iy, ix])
                                if best is None or key(cd) > key(best):
                                    best = cd
                    out[nn, c, oy, ox] = best
    return Tensor(out, x.q)


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(t) for t in v)


def _pads(p):
    if np.ndim(p) == 0:
        return (int(p),) * 4
    p = tuple(int(t) for t in p)
    return p if len(p) == 4 else (p[0], p[1], p[0], p[1])


def _as_qtensor(t: Tensor):
    from hwsim.tensors import QTensor

    f = t.q.fmt
    return QTensor(np.asarray(t.codes.astype(np.int64)).astype(f.code_dtype), f, t.q.scale,
                   t.q.zero_point)


def run(net, run_result):
    """Every tensor of ``net`` recomputed from the quantized network input of a
    ``net.run(x, keep=True)`` result; returns {tensor name: Tensor}."""
    plan = net.plan()
    tq = plan.tensors
    env = {}
    for name in net.inputs:
        env[name] = Tensor(np.asarray(run_result.tensors[name].codes).astype(object), tq[name])
    for n in net.nodes:
        x = env[n.inputs[0]]
        if n.op == "Conv":
            y = conv(net, n, x, plan.layers[n.name])
        elif n.op in ("Gemm", "MatMul"):
            y = gemm(net, n, x, plan.layers[n.name])
        elif n.op == "Relu":
            y = relu(x)
        elif n.op == "MaxPool":
            y = maxpool(n, x)
        elif n.op == "Flatten":
            ax = n.attrs.get("axis", 1)
            y = Tensor(x.codes.reshape(int(np.prod(x.codes.shape[:ax])), -1), x.q)
        else:
            raise NotImplementedError(n.op)
        assert tq[n.outputs[0]].same(_as_qtensor(y)), f"{n.name}: output quantization differs"
        env[n.outputs[0]] = y
    return env
