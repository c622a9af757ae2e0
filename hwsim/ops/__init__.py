"""Ops: the op registry and one module per op (family), every MAC through :mod:`hwsim.mac`.

Each op module registers its network op (float64 reference, quantized executor,
output-quantization rule) and the ONNX op types it imports (:mod:`.registry`).
Every module of this package is imported below, so a new op registers itself
by existing.  Shared helpers: :mod:`.macbridge` (the single adapter to
:mod:`hwsim.mac`), :mod:`.requant` (requantization), :mod:`.quant` (tensor
quantization and casts), :mod:`.mac_layer` (the executor of MAC ops).
"""
import importlib
import pkgutil

from .registry import (
    ExecArgs,
    OnnxSpec,
    OpSpec,
    UnsupportedModelError,
    get_op,
    onnx_spec,
    op_names,
    register,
    register_onnx,
)

__all__ = ["OpSpec", "OnnxSpec", "ExecArgs", "UnsupportedModelError", "register",
           "register_onnx", "get_op", "op_names", "onnx_spec"]

# import every op module once (sorted: registration order does not depend on the file system)
for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_m}")
