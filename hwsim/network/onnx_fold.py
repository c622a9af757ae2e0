"""Constant folding and shape inference before import (onnxscript's optimizer).

Used only for models the registry cannot import as they are: models that import
directly are never rewritten.  ``ConstantOfShape`` / ``Shape`` / ``Gather`` /
``Concat`` / ``Unsqueeze`` chains on constants become initializers (onnxscript's
constant folder with ONNX shape inference; ``ConstantOfShape``, which it skips
by default to keep models small, is folded too).  Initializers that are also
listed as graph inputs (IR < 4 style) are treated as constants, as the importer
does.  Why onnxscript: docs/architecture.md ("ONNX import").
"""
from __future__ import annotations

__all__ = ["fold_constants", "folding_available"]

_NO_LIMIT = 1 << 40


def folding_available() -> bool:
    try:
        import onnxscript.optimizer  # noqa: F401  optional dependency (hwsim[onnx])
    except ImportError:
        return False
    return True


def _never_quantization(node):
    """Keep QuantizeLinear / DequantizeLinear (they carry the model's quantization)."""
    if node.op_type in ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"):
        return False
    return True if node.op_type == "ConstantOfShape" else None


def fold_constants(m):
    """(folded ModelProto, number of nodes removed) of an ONNX ModelProto (not modified)."""
    import onnx  # optional dependency (onnx): only ONNX import needs it
    import onnx_ir as ir  # optional dependency (hwsim[onnx], with onnxscript)
    from onnxscript.optimizer import _constant_folding as cf  # optional dependency

    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    inits = {t.name for t in m2.graph.initializer}
    keep = [i for i in m2.graph.input if i.name not in inits]
    del m2.graph.input[:]
    m2.graph.input.extend(keep)
    model = ir.serde.deserialize_model(m2)
    cf.fold_constants(model, onnx_shape_inference=True, input_size_limit=_NO_LIMIT,
                      output_size_limit=_NO_LIMIT, should_fold=_never_quantization)
    out = ir.serde.serialize_model(model)
    _drop_unused(out.graph)
    return out, len(m.graph.node) - len(out.graph.node)


def _drop_unused(g) -> None:
    """Remove nodes whose outputs nothing uses (folded constants' producers)."""
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [k for k, n in enumerate(g.node) if not any(o in used for o in n.output)]
        if not dead:
            return
        for k in reversed(dead):
            del g.node[k]
