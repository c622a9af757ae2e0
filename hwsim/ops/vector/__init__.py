"""The vector unit: the non-MAC arithmetic of an accelerator (docs/semantics.md, "Vector unit").

Every value it holds is in one float format (float32, float16, bfloat16, FP8 ...);
every operation is rounded once into that format with the configured rounding:
element-wise arithmetic (:mod:`.arith`, correctly rounded through float64 round-to-odd),
the functions exp / log / sigmoid / tanh / erf / rsqrt (:mod:`.funcs`: correctly rounded,
float64 evaluation with a stated error bound and an exact decimal fallback; or a
user-given lookup or piecewise-linear table, :mod:`.tables`), and reductions through an
accumulator configured like a MAC unit's (:mod:`.reduce`).  :mod:`.unit` holds the
configuration (:class:`VectorUnit`).  Nothing here calls the host libm or a numpy
transcendental: only IEEE float64 +, -, *, /, sqrt, which numpy computes correctly rounded
on every machine, and Python's ``decimal``.
"""
from .unit import VECTOR_FUNCTIONS, VectorUnit, vector_unit

__all__ = ["VectorUnit", "vector_unit", "VECTOR_FUNCTIONS"]
