"""Reductions of the vector unit through an accumulator configured like a MAC unit's.

``sum(x[0..n-1])`` is the dot product of the unit values with a vector of ones through
the MAC unit named by ``vector.accumulator`` (a preset such as ``fp32``: exact products,
one rounding per add into a float32 register, elements added in index order 0..n-1 as
:class:`hwsim.mac.MacUnit`'s default sequential order does; or any ``MacUnit`` dict: its
order, tiling and register formats apply).  Products ``x * 1`` are exact, so the result is
that accumulator's sum; it is then rounded into the unit's format.  Maximum is exact.
"""
from __future__ import annotations

import numpy as np

from .. import macbridge as br

__all__ = ["reduce_sum", "accumulator_mac"]


def accumulator_mac(unit):
    """The MacUnit of the unit's reductions (operands in the unit's format)."""
    spec = unit.accumulator
    try:
        mac = br.mac_from_dict(spec, unit.fmt, unit.fmt) if isinstance(spec, dict) else \
            br.preset_mac(spec, unit.fmt, unit.fmt)
    except (br.MacSpecError, ValueError) as e:
        raise ValueError(f"vector.accumulator: {e}") from None
    if br.acc_is_int(mac):
        raise ValueError(f"vector.accumulator must hold floats (e.g. 'fp32'), got {spec!r}")
    return mac


def reduce_sum(unit, x, axes) -> np.ndarray:
    """Sum of unit values ``x`` over ``axes`` (keepdims), through the accumulator, rounded
    into the unit's format."""
    x = np.asarray(x, np.float64)
    axes = tuple(sorted(a % x.ndim for a in axes))
    keep = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, keep + list(axes))
    rows = moved.reshape(int(np.prod([x.shape[a] for a in keep], dtype=np.int64)), -1)
    n = rows.shape[1]
    out_shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape))
    if n == 0:
        return np.zeros(out_shape)
    mac = accumulator_mac(unit)
    ones = np.broadcast_to(unit.codes(np.ones(1)), (n,)).reshape(1, n, 1)
    vals, _, _ = br.mac_matmul(unit.codes(rows)[None], ones, mac, stats=False)
    return unit.rnd(vals.reshape(out_shape))
