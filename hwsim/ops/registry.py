"""The op registry: every network op and every ONNX op type it imports, in one table.

An op module calls :func:`register` with an :class:`OpSpec` (float64 reference,
quantized executor, how the planner quantizes its output) and
:func:`register_onnx` for each ONNX op type it imports (allowed attributes, the
import handler, extra attribute checks).  The network package only looks ops
up here; adding an op touches its own module and its test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UnsupportedModelError

__all__ = ["OpSpec", "OnnxSpec", "ExecArgs", "UnsupportedModelError", "register",
           "register_onnx", "get_op", "op_names", "onnx_spec", "OUTPUT_RULES"]

#: How the planner chooses an op's output quantization:
#: ``mac``: planned with the layer's MAC unit and requantization (Conv, Gemm);
#: ``keep``: the input's quantization unless the model states one (data movement, ReLU);
#: ``requant``: the layer config's ``output`` format (a new scale from calibration).
OUTPUT_RULES = ("mac", "keep", "requant")


@dataclass(frozen=True)
class ExecArgs:
    """What the executor hands one node besides its inputs (state passed explicitly)."""

    out_q: object            #: QuantSpec of the output
    config: object           #: the node's LayerConfig
    layer: object = None     #: LayerPlan of a MAC layer, else None
    mac_stats: bool = True   #: collect MAC statistics


@dataclass(frozen=True)
class OpSpec:
    """One network op.

    ``reference(node, xs)`` returns the float64 output; ``execute(node, ins, args)``
    returns ``(QTensor, LayerRecord or None)``; ``output`` is one of
    :data:`OUTPUT_RULES`."""

    name: str
    reference: Callable
    execute: Callable
    output: str = "requant"

    def __post_init__(self) -> None:
        if self.output not in OUTPUT_RULES:
            raise ValueError(f"OpSpec {self.name}: output must be one of {OUTPUT_RULES}, "
                             f"got {self.output!r}")


@dataclass(frozen=True)
class OnnxSpec:
    """One ONNX op type: allowed attributes, import handler, extra checks.

    ``importer(ctx, node, attrs, name)`` adds the node to ``ctx.net`` (the
    import context of :mod:`hwsim.network.onnx_import`); ``check(op_type,
    attrs, name)`` returns a list of problems (strings)."""

    op_type: str
    attrs: frozenset
    importer: Callable | None
    check: Callable | None = None
    domain: str = ""  #: "" (the default ONNX domain) or e.g. "com.microsoft"


_OPS: dict = {}
_ONNX: dict = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in _OPS:
        raise ValueError(f"op {spec.name!r} is registered twice")
    _OPS[spec.name] = spec
    return spec


def register_onnx(op_type, attrs, importer, check=None, domain="") -> OnnxSpec:
    if op_type in _ONNX:
        raise ValueError(f"ONNX op type {op_type!r} is registered twice")
    s = OnnxSpec(op_type, frozenset(attrs), importer, check, domain)
    _ONNX[op_type] = s
    return s


def get_op(name) -> OpSpec:
    try:
        return _OPS[name]
    except KeyError:
        raise ValueError(f"unsupported op {name!r}") from None


def op_names() -> tuple:
    """Registered network op names, in registration order."""
    return tuple(_OPS)


def onnx_spec(op_type) -> OnnxSpec | None:
    return _ONNX.get(op_type)
