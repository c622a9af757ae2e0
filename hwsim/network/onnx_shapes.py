"""Shape checks of an imported ONNX model, node by node.

A model whose tensors do not fit together (a Conv bias of the wrong length, Gemm
weights whose K differs from the input's last axis, a kernel_shape of -3) must
fail at import with an error naming the node and the shapes, not later inside
numpy during calibration.  Shapes come from ONNX shape inference where it knows
them (``tensor_shapes``); weights and biases are checked on the network nodes
the importer built, whatever ONNX op they came from (Conv, QLinearConv, Gemm,
MatMul, ...).
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError

__all__ = ["tensor_shapes", "attribute_problems", "check_node_shapes"]

_POSITIVE = ("kernel_shape", "strides", "dilations")


def tensor_shapes(m) -> dict:
    """Tensor name -> shape (None for an unknown dim) from ONNX shape inference
    (empty where it fails)."""
    from onnx import shape_inference  # optional dependency (onnx): only ONNX import needs it

    try:
        g = shape_inference.infer_shapes(m).graph
    except Exception:  # noqa: BLE001 - inferred shapes are an optional hint
        return {}
    out = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0
                                 else None for d in tt.shape.dim)
    return out


def attribute_problems(op_type, a, nm) -> list:
    """Every attribute has a value; kernel sizes, strides and dilations are lists of
    entries >= 1, pads a list of entries >= 0."""
    out = [f"{op_type} attribute {k!r} has no value of a known type (node {nm})"
           for k, v in a.items() if v is None]
    for k in _POSITIVE + ("pads",):
        if k in a and a[k] is not None and not (isinstance(a[k], (list, tuple)) and
                                                all(isinstance(e, int) for e in a[k])):
            out.append(f"{op_type} {k}={a[k]!r}: must be a list of integers (node {nm})")
    if out:
        return out
    for k in _POSITIVE:
        v = a.get(k)
        if isinstance(v, (list, tuple)) and any(int(e) < 1 for e in v):
            out.append(f"{op_type} {k}={list(v)}: every entry must be >= 1 (node {nm})")
    v = a.get("pads")
    if isinstance(v, (list, tuple)) and any(int(e) < 0 for e in v):
        out.append(f"{op_type} pads={list(v)}: every entry must be >= 0 (node {nm})")
    return out


def _fail(n, what) -> None:
    raise UnsupportedModelError(f"node {n.name} ({n.op}): {what}")


def _check_conv(n, xshape) -> None:
    w = n.weight
    if w.ndim != 4 or min(w.shape) < 1:
        _fail(n, f"weights must have shape [out, in/group, kh, kw] with every dim >= 1, "
                 f"got {w.shape}")
    g = int(n.attrs.get("group", 1))
    if g < 1 or w.shape[0] % g:
        _fail(n, f"group={g} must be >= 1 and divide the {w.shape[0]} output channels "
                 f"(weights {w.shape})")
    if n.bias is not None and n.bias.shape not in ((w.shape[0],), (1, w.shape[0])):
        _fail(n, f"bias has shape {n.bias.shape}; the weights {w.shape} need ({w.shape[0]},)")
    # 1-D convolutions ([N, C, L] inputs) run as 2-D with a unit height: weights [.., 1, k]
    one_d = xshape is not None and len(xshape) == 3 and w.shape[2] == 1
    if xshape is not None and ((len(xshape) != 4 and not one_d) or
                               xshape[1] is not None and xshape[1] != w.shape[1] * g):
        _fail(n, f"input {n.inputs[0]!r} has shape {_show(xshape)}; weights {w.shape} with "
                 f"group={g} need [N, {w.shape[1] * g}, H, W] (or [N, {w.shape[1] * g}, L] "
                 f"for 1-D kernels)")


def _check_gemm(n, xshape) -> None:
    w = n.weight
    if w.ndim != 2 or min(w.shape) < 1:
        _fail(n, f"weights must have shape [K, N] with K, N >= 1, got {w.shape}")
    k, nout = w.shape
    b = n.bias
    if b is not None and (b.ndim > 2 or not (b.size == 1 or b.shape in ((nout,), (1, nout)))):
        # (N, 1) would be a bias per row (fuzz crash-660c9879)
        _fail(n, f"bias has shape {b.shape}; the weights {w.shape} need ({nout},), (1, {nout}) "
                 "or a scalar")
    if xshape is not None and (len(xshape) == 0 or
                               xshape[-1] is not None and xshape[-1] != k):
        _fail(n, f"input {n.inputs[0]!r} has shape {_show(xshape)}; weights {w.shape} need "
                 f"a last axis of {k}")


def _show(shape) -> tuple:
    return tuple("?" if d is None else d for d in shape)


_CHECKS = {"Conv": _check_conv, "Gemm": _check_gemm}


def check_node_shapes(net, shapes: dict) -> None:
    """Raise UnsupportedModelError at the first MAC node whose weights, bias or input
    shape (where known) do not fit together."""
    known = dict(shapes)
    for k, v in getattr(net, "declared_shapes", {}).items():
        known.setdefault(k, tuple(v))
    for n in net.nodes:
        for what, v in (("weights", n.weight), ("bias", n.bias)):
            if v is not None and not np.isfinite(np.asarray(v, np.float64)).all():
                _fail(n, f"{what} {np.shape(v)} have NaN / Inf values")
        check = _CHECKS.get(n.op)
        if check is None or n.weight is None:
            continue
        check(n, known.get(n.inputs[0]) if n.inputs else None)
