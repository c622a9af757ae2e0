"""Plain-Python reference loops for the layer tests (ints and Fractions, no numpy math).

These are written from the specs (ONNX operator definitions, gemmlowp / TFLite
semantics as stated in numerics.md section 7), independently of the executors.
No tests live here; the test_layers_* files import these helpers.
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction


def to_int(code, bits, signed=True):
    code = int(code)
    if signed and code >= 1 << (bits - 1):
        code -= 1 << bits
    return code


def round_frac(x: Fraction, mode: str) -> int:
    """Round a Fraction to an integer by mode."""
    fl = math.floor(x)
    r = x - fl
    if mode == "rdn":
        return fl
    if mode == "rup":
        return fl + (1 if r else 0)
    if mode == "rtz":
        return fl + (1 if (r and x < 0) else 0)
    if mode == "half_up":  # ties toward +inf
        return math.floor(x + Fraction(1, 2))
    if mode == "rna":
        if r == Fraction(1, 2):
            return fl + (1 if x > 0 else 0)
        return math.floor(x + Fraction(1, 2))
    if mode == "rne":
        return round(x)  # Fraction.__round__ is half to even
    raise ValueError(mode)


def f32(x) -> Fraction:
    """x (Fraction/int) rounded to the nearest binary32 value, ties to even (normal range)."""
    x = Fraction(x)
    if x == 0:
        return Fraction(0)
    s = -1 if x < 0 else 1
    a = abs(x)
    e = math.floor(math.log2(a))
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    e = max(e, -126)
    q = Fraction(2) ** (e - 23)
    return s * round(a / q) * q


def f32_of_float(v: float) -> Fraction:
    return Fraction(struct.unpack("f", struct.pack("f", v))[0])


# -- requantization ----------------------------------------------------------
def ref_quantize_multiplier(M: float):
    if M == 0:
        return 0, 0
    fr = Fraction(M)
    shift = 0
    while fr >= 1:
        fr /= 2
        shift += 1
    while fr < Fraction(1, 2):
        fr *= 2
        shift -= 1
    m = round_frac(fr * 2 ** 31, "rna")
    if m == 2 ** 31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return 2 ** 31 - 1, 30
    return m, shift


def ref_tflite(x, m, shift, zp, qmin, qmax):
    x = max(-2 ** 31, min(2 ** 31 - 1, x))
    left = max(shift, 0)
    right = max(-shift, 0)
    xl = x * 2 ** left
    xl = (xl + 2 ** 31) % 2 ** 32 - 2 ** 31
    if xl == -2 ** 31 and m == -2 ** 31:
        h = 2 ** 31 - 1
    else:
        h = round_frac(Fraction(xl * m, 2 ** 31), "half_up")
    y = round_frac(Fraction(h, 2 ** right), "rna") + zp
    return max(qmin, min(qmax, y))


def ref_tflite_single(x, m, shift, zp, qmin, qmax):
    x = max(-2 ** 31, min(2 ** 31 - 1, x))
    y = round_frac(Fraction(x * m, 2 ** (31 - shift)), "half_up") + zp
    return max(qmin, min(qmax, y))


def ref_onnx(x, s_in, s_w, s_out, zp, qmin, qmax):
    M = f32(f32(f32_of_float(s_in) * f32_of_float(s_w)) / f32_of_float(s_out))
    y = round_frac(f32(f32(x) * M), "rne") + zp
    return max(qmin, min(qmax, y))


def ref_shift(x, s, mode, zp, qmin, qmax):
    y = round_frac(Fraction(x, 1) / Fraction(2) ** s, mode) + zp
    return max(qmin, min(qmax, y))


# -- conv / linear -----------------------------------------------------------
def ref_conv2d(x, w, *, stride, pads, dilation, groups, order, acc_bits, overflow,
               bias=None, x_zp=0, w_zp=0):
    """x: nested lists [N][C][H][W] of ints; w: [Cout][Cin/g][kh][kw] ints (values)."""
    N, C, H, W = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    cout, cin_g, kh, kw = len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    lo, hi = -2 ** (acc_bits - 1), 2 ** (acc_bits - 1) - 1
    names = order.split(",")
    sizes = dict(cin=cin_g, kh=kh, kw=kw)
    terms = []
    for a in range(sizes[names[0]]):
        for b in range(sizes[names[1]]):
            for c in range(sizes[names[2]]):
                d = {names[0]: a, names[1]: b, names[2]: c}
                terms.append((d["cin"], d["kh"], d["kw"]))
    cg = cout // groups
    out = [[[[0] * Wo for _ in range(Ho)] for _ in range(cout)] for _ in range(N)]
    for n in range(N):
        for o in range(cout):
            g = o // cg
            for oy in range(Ho):
                for ox in range(Wo):
                    s = 0 if bias is None else bias[o]
                    for (ci, i, j) in terms:
                        iy = oy * sh - pt + i * dh
                        ix = ox * sw - pl + j * dw
                        xv = x[n][g * cin_g + ci][iy][ix] if (0 <= iy < H and 0 <= ix < W) else x_zp
                        wz = w_zp[o] if isinstance(w_zp, (list, tuple)) else w_zp
                        s += (xv - x_zp) * (w[o][ci][i][j] - wz)
                        if overflow == "saturate":
                            s = max(lo, min(hi, s))
                    if overflow == "wrap":
                        s = (s - lo) % 2 ** acc_bits + lo
                    out[n][o][oy][ox] = s
    return out


def ref_pool(x, kernel, stride, pads, mode, ceil_mode=False, count_include_pad=False,
             rounding="rna", dilation=(1, 1)):
    """Max or average pooling over nested lists [N][C][H][W] of ints."""
    N, C, H, W = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads

    def osz(n, k, s, p0, p1, d):
        num = n + p0 + p1 - d * (k - 1) - 1
        o = (-(-num // s) if ceil_mode else num // s) + 1
        if ceil_mode and (o - 1) * s >= n + p0:
            o -= 1
        return o

    Ho, Wo = osz(H, kh, sh, pt, pb, dh), osz(W, kw, sw, pl, pr, dw)
    out = [[[[None] * Wo for _ in range(Ho)] for _ in range(C)] for _ in range(N)]
    for n in range(N):
        for c in range(C):
            for oy in range(Ho):
                for ox in range(Wo):
                    vals = []
                    cnt_all = 0
                    for i in range(kh):
                        for j in range(kw):
                            iy = oy * sh - pt + i * dh
                            ix = ox * sw - pl + j * dw
                            if -pt <= iy < H + pb and -pl <= ix < W + pr:
                                cnt_all += 1
                            if 0 <= iy < H and 0 <= ix < W:
                                vals.append(x[n][c][iy][ix])
                    if mode == "max":
                        out[n][c][oy][ox] = max(vals)
                    else:
                        d = cnt_all if count_include_pad else len(vals)
                        out[n][c][oy][ox] = round_frac(Fraction(sum(vals), d), rounding)
    return out


def exact_inputs(qt):
    """Exact real values (Fractions) of a per-tensor QTensor's elements, flat."""
    if qt.fmt.kind == "int":
        return [(int(q) - int(qt.zero_point)) * Fraction(float(qt.scale)) for q in qt.ints().ravel()]
    return [Fraction(float(v)) * Fraction(float(qt.scale)) for v in qt.decoded().ravel()]


def round_once(t, out_fmt, zp):
    """Code of the exact value ``t`` (already divided by the output scale): integers
    sat(rne(t) + zp) as an int, floats hwsim.reference.encode(t, rne, saturate)."""
    from hwsim import reference as _ref

    if out_fmt.kind == "int":
        return min(max(round(t) + zp, out_fmt.min_int), out_fmt.max_int)
    return _ref.encode(out_fmt, t, "rne", "saturate")[0]


def codes_list(qt):
    """A QTensor's integers (integer formats) or codes, flat, as a list."""
    return (qt.ints() if qt.fmt.kind == "int" else qt.codes).ravel().tolist()
