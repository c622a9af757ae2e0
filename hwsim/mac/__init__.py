"""MAC units: what a dot product means, bit for bit, and fast.

A :class:`MacUnit` describes y = init + sum_k a_k * b_k in hardware terms:
operand formats (codes in, zero points for integer formats), the product path
(exact or rounded), the accumulator (integer, fixed-point / Kulisch, floating,
fused multi-term), the reduction order, K-tiling with partial-sum encoding and
where the bias enters.  :func:`matmul` and :func:`dot` run it on code arrays
and return the accumulator codes, their exact values and statistics;
:func:`trace` returns every step of one output.  :mod:`hwsim.reference` is
the pure-Python oracle of the same semantics.  Package layout:
docs/architecture.md, "MAC units".
"""
from __future__ import annotations

from .accumulators import (
                           FUSED_MULTI_TERM_PRESETS,
                           FixedAccumulator,
                           FloatAccumulator,
                           FusedMultiTermAccumulator,
                           IntAccumulator,
                           fused_multi_term_preset,
                           kulisch,
)
from .api import dot, matmul
from .config import Chunked, MacUnit, Sequential, Tiles, Tree
from .results import MacStats, MatmulResult, a2q_bits, a2q_l1_bits, worst_case_bits
from .trace import MacTrace, trace

__all__ = ["MacUnit", "IntAccumulator", "FixedAccumulator", "FloatAccumulator",
           "FusedMultiTermAccumulator", "Sequential", "Tree", "Chunked", "Tiles", "kulisch",
           "fused_multi_term_preset", "FUSED_MULTI_TERM_PRESETS", "matmul", "dot", "trace",
           "MatmulResult", "MacStats", "MacTrace", "worst_case_bits", "a2q_bits", "a2q_l1_bits"]
