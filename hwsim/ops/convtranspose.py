"""ConvTranspose imported as a Conv over the zero-inserted input (the zero-insertion
datapath of a transposed convolution).

ONNX ConvTranspose ``y = conv_transpose(x, W)``, W ``[Cin, Cout/g, kH, kW]``, equals a
stride-1 Conv (dilation ``d``) of the input with ``stride - 1`` zeros inserted between
neighbours (the Conv node's ``input_dilations``), padded by ``d (k - 1) - pad_begin``
before and ``d (k - 1) - pad_end + output_padding`` after, with the weights flipped in
H and W and their in / out channels swapped per group.  The inserted zeros are the
input's zero-point code (real zero); the MAC unit sees them as terms, as such a
datapath does.  ``output_shape`` / ``auto_pad`` SAME: pads from the input size at run
time (:func:`.conv.node_pads`).  Pads larger than ``d (k - 1)`` are not supported.
"""
from __future__ import annotations

import numpy as np

from .conv import CONV_ATTRS, _auto_pad, onnx_pads, spatial_2d
from .registry import UnsupportedModelError, register_onnx

__all__ = ["transposed_weights", "convtranspose_attrs"]


def transposed_weights(w, groups):
    """ConvTranspose weights ``[Cin, Cout/g, kH, kW]`` as Conv weights ``[Cout, Cin/g, kH, kW]``
    (in / out swapped per group, kernel flipped)."""
    w = np.asarray(w)
    cin, cout_g, kh, kw = w.shape
    cin_g = cin // groups
    t = w.reshape(groups, cin_g, cout_g, kh, kw).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(t.reshape(groups * cout_g, cin_g, kh, kw)[:, :, ::-1, ::-1])


def convtranspose_attrs(a, kernel, nm) -> dict:
    """Conv attributes (``input_dilations`` = the strides) of a ConvTranspose."""
    s = spatial_2d(a, "strides", [1, 1])
    d = spatial_2d(a, "dilations", [1, 1])
    op = spatial_2d(a, "output_padding", [0, 0])
    pt, pl, pb, pr = onnx_pads(a.get("pads", [0, 0, 0, 0]))
    if _auto_pad(a) != "NOTSET" or "output_shape" in a:
        pt = pl = pb = pr = 0
    ext = [d[0] * (kernel[0] - 1), d[1] * (kernel[1] - 1)]
    pads = (ext[0] - pt, ext[1] - pl, ext[0] - pb + op[0], ext[1] - pr + op[1])
    if min(pads) < 0:
        raise UnsupportedModelError(f"ConvTranspose {nm}: pads larger than dilation * "
                                    "(kernel - 1) are not supported")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise UnsupportedModelError(f"ConvTranspose {nm}: output_padding {op} must be smaller "
                                    "than the stride or the dilation")
    out = dict(strides=[1, 1], pads=pads, dilations=d, group=int(a.get("group", 1)),
               input_dilations=s)
    if "output_shape" in a or _auto_pad(a) in ("SAME_UPPER", "SAME_LOWER"):
        osh = [int(v) for v in a.get("output_shape", [])][-2:]
        out["transposed"] = dict(strides=s, output_padding=op, mode=_auto_pad(a),
                                 output_shape=([1] + osh if len(osh) == 1 else osh) or None)
    return out


def _import(ctx, n, a, nm):
    g = int(a.get("group", 1))
    wf, wq = ctx.weight(n.input[1], f"ConvTranspose {nm} weights")
    if wf.ndim == 3:  # 1-D
        wf = wf[:, :, None, :]
        wq = None if wq is None else wq.with_codes(np.asarray(wq.codes)[:, :, None, :])
    if wq is not None:
        if wq.axis not in (None, 1) or (wq.axis == 1 and g > 1) or np.ndim(wq.zero_point):
            raise UnsupportedModelError(f"ConvTranspose {nm}: weights quantized along axis "
                                        f"{wq.axis}")
        codes = transposed_weights(wq.codes, g)
        wq = wq.with_codes(codes, axis=None if wq.axis is None else 0)
        wf = wq.values()
    else:
        wf = transposed_weights(wf, g)
    bf, bq = ctx.bias(n, nm)
    ctx.net.add("Conv", [ctx.canon(n.input[0])], n.output[0], name=nm, weight=wf, bias=bf,
                wq=wq, bq=bq, **convtranspose_attrs(a, wf.shape[2:], nm))


def _problems(op_type, a, nm) -> list:
    p = []
    if _auto_pad(a) not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        p.append(f"ConvTranspose auto_pad={_auto_pad(a)!r} (node {nm})")
    if len(a.get("kernel_shape", [1, 1])) not in (1, 2):
        p.append(f"ConvTranspose with a {len(a['kernel_shape'])}-D kernel (node {nm})")
    return p


register_onnx("ConvTranspose", CONV_ATTRS + ("output_padding", "output_shape"), _import,
              _problems)
