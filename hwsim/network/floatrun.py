"""The float64 run: every node's registered reference in ideal arithmetic (numpy)."""
from __future__ import annotations

import numpy as np

from ..errors import OverflowValueError
from ..ops import get_op

__all__ = ["bind_inputs", "reference_run"]


def bind_inputs(net, x) -> dict:
    """Graph input name -> float64 array, from an array (one input) or a dict."""
    if isinstance(x, dict):
        d = dict(x)
    else:
        if len(net.inputs) != 1:
            raise ValueError(f"network has inputs {list(net.inputs)}; pass a dict")
        d = {next(iter(net.inputs)): x}
    for k in net.inputs:
        if k not in d:
            raise ValueError(f"missing network input {k!r}")
    out = {k: np.asarray(v, np.float64) for k, v in d.items()}
    for k, want in net.declared_shapes.items():
        got = out[k].shape
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            shown = tuple("?" if w is None else w for w in want)
            raise ValueError(f"input {k!r} must have the declared shape {shown} (? = any size), "
                             f"got {got}")
    return out


def reference_run(net, x) -> dict:
    """Every tensor of a float64 run of ``net`` on input ``x``; a tensor listed in
    ``net.reference_clamps`` (a ReLU folded into a quantized model's QuantizeLinear) is
    clamped below at its bound, NaN kept."""
    env = bind_inputs(net, x)
    clamps = getattr(net, "reference_clamps", {})
    for n in net.nodes:
        xs = [env[i] for i in n.inputs]
        # exp(-x) of Sigmoid may overflow to a right 0; Inf - Inf or 0 * Inf (a NaN / Inf
        # input under nan_policy, or an overflow caught just below) is invalid -> NaN
        with np.errstate(over="ignore", invalid="ignore"):
            y = get_op(n.op).reference(n, xs)
        # a sum of products (MAC node) is NaN from finite inputs only through Inf - Inf
        if ((np.isinf(y).any() or n.weight is not None and np.isnan(y).any())
                and all(np.isfinite(v).all() for v in xs)):
            big = max((float(np.max(np.abs(v), initial=0.0)) for v in xs), default=0.0)
            bad = "Inf" if np.isinf(y).any() else "NaN (Inf - Inf)"
            raise OverflowValueError(
                f"node {n.name} ({n.op}): the float64 reference run overflows to {bad} from "
                f"finite inputs (largest |input| {big:.6g}); scale the network input down")
        lo = clamps.get(n.outputs[0])
        env[n.outputs[0]] = y if lo is None else np.maximum(y, lo)
    return env
