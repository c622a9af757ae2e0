"""Resize (opsets 10-19) and Upsample (7-9): ``nearest`` and ``linear``.

Output size: ``sizes``, or ``floor(in * scale)``.  Each output coordinate ``x`` maps
to an input coordinate by the ``coordinate_transformation_mode`` (ONNX Resize):
``half_pixel`` ``(x + 0.5) / s - 0.5``, ``half_pixel_symmetric``, ``pytorch_half_pixel``
(0 when the output length is 1), ``align_corners`` ``x (in - 1) / (out - 1)``,
``asymmetric`` ``x / s``, ``tf_half_pixel_for_nn`` ``(x + 0.5) / s``; ``s`` is the
given scale, or ``out / in`` when sizes are given.  ``nearest`` rounds it by the
``nearest_mode`` (round_prefer_floor / round_prefer_ceil / floor / ceil) and clamps
to the input: the codes move, exact.  ``linear`` interpolates one axis after the other
between the two neighbours (coordinate clamped to ``[0, in - 1]``) in float64 and the
result is encoded once (rne) into the output quantization.  Upsample and Resize-10 use
``asymmetric`` with ``floor`` (onnxruntime's opset < 11 nearest).
"""
from __future__ import annotations

import math

import numpy as np

from .movement import int_list, move, operand, quantize_to
from .registry import OpSpec, UnsupportedModelError, register, register_onnx

__all__ = ["source_coords", "out_sizes", "resize_nearest", "resize_linear"]

COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
               "asymmetric", "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def out_sizes(n, shape) -> list:
    a = n.attrs
    if a.get("sizes") is not None:
        return list(a["sizes"])
    return [int(math.floor(d * s)) for d, s in zip(shape, a["scales"])]


def _scale(n, shape, axis, out):
    sc = n.attrs.get("scales")
    return float(sc[axis]) if sc is not None else float(np.float32(out) / np.float32(shape[axis]))


def source_coords(mode, x, n_in, n_out, s):
    """Input coordinates of output positions ``x`` along one axis, computed in float32 as
    onnxruntime does (a coordinate at a rounding boundary picks the same neighbour)."""
    f = np.float32
    x, s, n_in, n_out = np.asarray(x, f), f(s), f(n_in), f(n_out)
    if mode == "half_pixel":
        c = (x + f(0.5)) / s - f(0.5)
    elif mode == "half_pixel_symmetric":
        adj = n_out / (s * n_in)
        c = n_in / f(2) * (f(1) - adj) + (x + f(0.5)) / s - f(0.5)
    elif mode == "pytorch_half_pixel":
        c = (x + f(0.5)) / s - f(0.5) if n_out > 1 else np.zeros_like(x)
    elif mode == "align_corners":
        c = x * (n_in - f(1)) / (n_out - f(1)) if n_out > 1 else np.zeros_like(x)
    elif mode == "asymmetric":
        c = x / s
    elif mode == "tf_half_pixel_for_nn":
        c = (x + f(0.5)) / s
    else:
        raise ValueError(f"coordinate_transformation_mode must be one of {COORD_MODES}, "
                         f"got {mode!r}")
    return np.asarray(c, np.float64)


def _nearest_index(c, mode, n_in):
    if mode == "round_prefer_floor":
        i = np.ceil(c - 0.5)
    elif mode == "round_prefer_ceil":
        i = np.floor(c + 0.5)
    elif mode == "floor":
        i = np.floor(c)
    elif mode == "ceil":
        i = np.ceil(c)
    else:
        raise ValueError(f"nearest_mode must be one of {NEAREST_MODES}, got {mode!r}")
    return np.clip(i, 0, n_in - 1).astype(np.int64)


def _axes(n, shape):
    outs = out_sizes(n, shape)
    for ax, (d, o) in enumerate(zip(shape, outs)):
        if o != d or _scale(n, shape, ax, o) != 1.0:
            yield ax, d, o


def resize_nearest(n, x):
    """Nearest resize of any array (values or codes): pure indexing."""
    a = n.attrs
    for ax, d, o in _axes(n, x.shape):
        c = source_coords(a.get("coord", "half_pixel"), np.arange(o, dtype=np.float64), d, o,
                          _scale(n, x.shape, ax, o))
        x = np.take(x, _nearest_index(c, a.get("nearest_mode", "round_prefer_floor"), d), axis=ax)
    return x


def resize_linear(n, x):
    """Linear resize of real values (float64), one axis after the other."""
    x = np.asarray(x, np.float64)
    for ax, d, o in _axes(n, x.shape):
        c = source_coords(n.attrs.get("coord", "half_pixel"), np.arange(o, dtype=np.float64),
                          d, o, _scale(n, x.shape, ax, o))
        c = np.clip(c, 0, d - 1)
        i0 = np.floor(c).astype(np.int64)
        i1 = np.minimum(i0 + 1, d - 1)
        w = (c - i0).reshape([-1 if k == ax else 1 for k in range(x.ndim)])
        x = np.take(x, i0, axis=ax) * (1 - w) + np.take(x, i1, axis=ax) * w
    return x


def _reference(n, xs):
    f = resize_nearest if n.attrs.get("mode", "nearest") == "nearest" else resize_linear
    return f(n, xs[0])


def _execute(n, ins, args):
    x = ins[0]
    if n.attrs.get("mode", "nearest") == "nearest":
        return move(x, lambda c: resize_nearest(n, c), args.out_q), None
    return quantize_to(resize_linear(n, x.values()), args.out_q), None


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def _import(ctx, n, a, nm):
    attrs = dict(mode=_s(a.get("mode", "nearest")))
    if n.op_type == "Upsample" or ctx.opset < 11:
        sc = operand(ctx, n, a, nm, "scales", 1, 9)
        attrs.update(coord="asymmetric", nearest_mode="floor")
    else:
        sc = operand(ctx, n, {}, nm, "scales", 2, 11)
        sz = operand(ctx, n, {}, nm, "sizes", 3, 11)
        attrs.update(coord=_s(a.get("coordinate_transformation_mode", "half_pixel")),
                     nearest_mode=_s(a.get("nearest_mode", "round_prefer_floor")))
        if sz is not None and np.asarray(sz).size:
            attrs["sizes"] = int_list(sz)
    if "sizes" not in attrs:
        if sc is None or not np.asarray(sc).size:
            raise UnsupportedModelError(f"{n.op_type} {nm}: scales or sizes needed")
        attrs["scales"] = [float(v) for v in np.asarray(sc).ravel()]
    if "axes" in a:
        attrs = _expand_axes(attrs, list(a["axes"]), ctx.ranks.get(n.input[0]), nm)
    ctx.net.add("Resize", [ctx.canon(n.input[0])], n.output[0], name=nm, **attrs)


def _expand_axes(attrs, axes, rank, nm):
    """Opset-18 ``axes``: scales / sizes of the other axes are 1 / unchanged."""
    if rank is None:
        raise UnsupportedModelError(f"Resize {nm}: axes need the input rank (shape inference)")
    key = "sizes" if "sizes" in attrs else "scales"
    if key == "sizes":
        raise UnsupportedModelError(f"Resize {nm}: axes with sizes")
    full = [1.0] * rank
    for ax, v in zip(axes, attrs[key]):
        full[ax % rank] = v
    attrs[key] = full
    return attrs


def _problems(op_type, a, nm) -> list:
    p = []
    if _s(a.get("mode", "nearest")) not in ("nearest", "linear"):
        p.append(f"{op_type} mode {_s(a['mode'])!r} (node {nm})")
    if _s(a.get("coordinate_transformation_mode", "half_pixel")) not in COORD_MODES:
        p.append(f"{op_type} coordinate_transformation_mode "
                 f"{_s(a['coordinate_transformation_mode'])!r} (node {nm})")
    if _s(a.get("nearest_mode", "round_prefer_floor")) not in NEAREST_MODES:
        p.append(f"{op_type} nearest_mode {_s(a['nearest_mode'])!r} (node {nm})")
    if a.get("antialias", 0):
        p.append(f"{op_type} antialias (node {nm})")
    if _s(a.get("keep_aspect_ratio_policy", "stretch")) != "stretch":
        p.append(f"{op_type} keep_aspect_ratio_policy (node {nm})")
    return p


register(OpSpec("Resize", _reference, _execute, output="keep"))
register_onnx("Resize", ("mode", "coordinate_transformation_mode", "nearest_mode",
                         "cubic_coeff_a", "exclude_outside", "extrapolation_value", "antialias",
                         "axes", "keep_aspect_ratio_policy"), _import, _problems)
register_onnx("Upsample", ("mode", "scales"), _import, _problems)
