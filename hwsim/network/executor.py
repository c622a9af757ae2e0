"""The quantized run: inputs quantized as planned, each node run by its registered executor.

State travels explicitly: the plan, the tensor environment and the MAC-statistics
switch are arguments (:class:`hwsim.ops.ExecArgs`), nothing is kept on the network.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import OverflowValueError
from ..ops import ExecArgs, get_op
from ..ops.ort_ops import ort_kernel, ort_parity
from ..ops.quant import act_axis, block_quantize, is_block
from ..tensors import QTensor, ints_to_codes
from .floatrun import bind_inputs, reference_run
from .inputs import apply_codes, check_inputs

__all__ = ["RunResult", "run_network", "execute_node", "sqnr"]


@dataclass
class RunResult:
    """Outputs (float64 real values) plus, on request, every tensor and layer record."""

    outputs: dict
    qoutputs: dict
    tensors: dict
    layers: dict
    stats: dict
    reference: dict

    def output_f32(self, name=None) -> np.ndarray:
        """An output dequantized as ONNX DequantizeLinear does (float32 (q - zp) * scale)."""
        qt = self.qoutputs[name or next(iter(self.qoutputs))]
        if qt.fmt.kind == "int":
            return (qt.ints() - int(np.asarray(qt.zero_point))).astype(np.float32) * np.float32(qt.scale)
        return qt.values().astype(np.float32)


def sqnr(ref, got) -> float:
    """Signal-to-quantization-noise ratio in dB, ``10 log10(sum ref^2 / sum (got - ref)^2)``.

    inf: exact; -inf: zero reference with an error, or an Inf output against a finite
    reference (infinite noise); nan: a NaN in either, or an Inf in the reference (no
    defined ratio).  Both sums are taken of values scaled by a power of two, so finite
    values up to float64's maximum (whose squares overflow) give the right ratio."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64)
    if np.isnan(ref).any() or np.isnan(got).any() or np.isinf(ref).any():
        return math.nan
    if np.isinf(got).any():
        return -math.inf
    with np.errstate(over="ignore"):
        err = got - ref
    shift = 0
    if np.isinf(err).any():  # |got - ref| beyond float64: the halves' difference is finite
        with np.errstate(under="ignore"):
            err, shift = np.ldexp(got, -1) - np.ldexp(ref, -1), 1
    n, en = _sum_sq(err)
    if n == 0.0:
        return math.inf
    p, ep = _sum_sq(ref)
    if p == 0.0:
        return -math.inf
    return 10.0 * math.log10(p / n) + 20.0 * (ep - en - shift) * math.log10(2.0)


def _sum_sq(v) -> tuple[float, int]:
    """(s, e) with ``sum(v ** 2) = s * 4 ** e``: v scaled by 2^-e, e the exponent of
    max|v| (s >= 0.25; 0.0 for all zeros).  Scaled elements or squares that underflow are
    below 2^-1074 of the largest square, beyond float64's precision of the sum."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0.0:
        return 0.0, 0
    e = math.frexp(m)[1]
    with np.errstate(under="ignore"):
        u = np.ldexp(v, -e)
        return float(np.sum(u * u)), e


def _num(v):
    v = np.asarray(v)
    return int(v) if v.dtype.kind in "iu" else float(v)


def quantize_inputs(net, x, tq) -> tuple[dict, dict]:
    """(the graph inputs as QTensors, the inputs after the NaN policy): integer-code
    inputs taken as codes; non-finite values checked against ``config.nan_policy``
    (:mod:`.inputs`) before anything is quantized."""
    xin, nan_fixes = check_inputs(bind_inputs(net, x), {k: tq[k].fmt for k in net.inputs},
                                  net.config.nan_policy)
    env: dict = {}
    for k, v in xin.items():
        q = tq[k]
        if k in net.code_inputs:
            ci = _code_ints(k, x[k] if isinstance(x, dict) else x, q.fmt)
            env[k] = QTensor(ints_to_codes(ci, q.fmt.bits, q.fmt.code_dtype), q.fmt, q.scale,
                             q.zero_point)
        elif is_block(q.fmt):
            env[k] = block_quantize(v, q.fmt, axis=act_axis(v), tensor_scale=q.scale)
        else:
            f32 = k in net.model_q  # the model's own QuantizeLinear: float32 arithmetic
            if f32:
                _check_float32_range(k, v)
            env[k] = QTensor.quantize(v, q.fmt, q.scale, q.zero_point if q.fmt.kind == "int" else 0,
                                      compute="float32" if f32 else "float64")
    apply_codes(env, nan_fixes)
    return env, xin


def _check_float32_range(name, v):
    """A float32 model input must hold float32 values (fuzz crash-293dc363: 1e300 given)."""
    v = np.asarray(v, np.float64)
    big = np.isfinite(v) & (np.abs(v) > float(np.finfo(np.float32).max))
    if big.any():
        i = int(np.flatnonzero(big.ravel())[0])
        raise OverflowValueError(f"input {name!r}: element {i} = {float(v.ravel()[i])!r} is beyond "
                                 f"float32 (|x| <= {float(np.finfo(np.float32).max)!r}), the "
                                 "type of the model's QuantizeLinear")


def _code_ints(name, v, fmt) -> np.ndarray:
    """The integers of an input declared with an integer ONNX type (taken as codes of
    ``fmt``): every element must be an integer in the format's range, not wrapped or
    truncated silently."""
    a = np.asarray(v)
    if a.dtype.kind in "iu" and (a.size == 0 or (int(a.min()) >= fmt.min_int
                                                 and int(a.max()) <= fmt.max_int)):
        return a.astype(np.int64)
    af = a.astype(np.float64) if a.dtype.kind in "iufb" else np.full(a.shape, np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~((af == np.rint(af)) & (af >= fmt.min_int) & (af <= fmt.max_int))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        coord = tuple(int(c) for c in np.unravel_index(i, a.shape)) if a.ndim else ()
        raise OverflowValueError(
            f"network input {name!r} (declared {fmt.name}, given as integers): element {coord} "
            f"is {a.ravel()[i].item()!r}; values must be integers in [{fmt.min_int}, {fmt.max_int}] "
            f"({int(bad.sum())} of {a.size} elements are not)")
    return af.astype(np.int64)


def _max_abs(acc):
    """max |acc| (0 for an empty array): int64 accumulators from their min and max
    (no |acc| array), others as ``np.abs(acc).max()``."""
    if not acc.size:
        return 0
    if acc.dtype == np.int64:
        lo, hi = int(acc.min()), int(acc.max())
        if lo > -(1 << 63):
            return max(hi, -lo)
    return _num(np.abs(acc).max())


def _layer_stats(n, rec) -> dict:
    st = dict(op=n.op)
    if rec is not None:
        st.update(overflow_events=int(rec.stats["overflow_events"]),
                  overflow_per_channel=np.asarray(rec.stats["overflow_per_col"]).tolist(),
                  max_abs_partial=_num(rec.stats["max_abs_partial"]),
                  max_abs_acc=_max_abs(rec.acc))
        # layers run by an accelerator design (hwsim.designs): its costs and event counts
        st.update({k: _num(v) for k, v in rec.stats.items()
                   if k.startswith(("cost.", "design_"))})
    return st


def execute_node(n, ins, args):
    """``(output QTensor, record)`` of node ``n`` as a run computes it: onnxruntime's kernel
    where the layer says ``elementwise="ort"`` and one is modelled (issue 9), else the op's
    own executor."""
    res = ort_kernel(n, ins, args) if args.config.elementwise == "ort" else None
    return res if res is not None else get_op(n.op).execute(n, ins, args)


def run_network(net, plan, x, keep=False, reference=True, mac_stats=True) -> RunResult:
    """Run one input (batch) through the simulated accelerator (see :meth:`Network.run`)."""
    env, xin = quantize_inputs(net, x, plan.tensors)
    ref = reference_run(net, xin) if reference else {}
    records: dict = {}
    stats: dict = {}
    for n in net.nodes:
        args = ExecArgs(out_q=plan.tensors[n.outputs[0]], config=net.layer_config(n),
                        layer=plan.layers.get(n.name), mac_stats=mac_stats)
        ins = [env[i] for i in n.inputs]
        ort = args.config.elementwise == "ort"
        out, rec = execute_node(n, ins, args)
        env[n.outputs[0]] = out
        st = _layer_stats(n, rec)
        if ort:
            st["ort_parity"] = ort_parity(n, ins, args.out_q, args.config)
        if rec is not None and keep:
            records[n.name] = rec
        if reference:
            st["sqnr_db"] = sqnr(ref[n.outputs[0]], out.values())
        stats[n.name] = st
    outs = {o: env[o].values() for o in net.outputs}
    return RunResult(outputs=outs, qoutputs={o: env[o] for o in net.outputs},
                     tensors=env if keep else {}, layers=records, stats=stats,
                     reference=ref if keep else {})
