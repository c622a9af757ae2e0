"""Per-step traces of one output of a MAC unit (hwsim.mac.trace)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..modes import Flags
from . import engine
from .config import MacUnit
from .operands import _as_mac, _bias_either, _operand, _zero_point
from .results import _result_arrays

__all__ = ["MacTrace", "trace"]


# ---------------------------------------------------------------------------
# trace
# ---------------------------------------------------------------------------
@dataclass(repr=False)
class MacTrace:
    """Every step of one output: ``steps`` (list of dicts, in order) and the
    final ``code`` / ``value`` (equal to matmul's for that output).

    Step keys: ``kind`` (mac, node, group, chunk, psum_store, psum_load,
    psum_add, bias), ``unit`` (accumulator, outer_accumulator, psum_adder,
    psum), ``k``
    (range of terms covered, [k0, k1): a group step of a fused multi-term or
    ``IntAccumulator(fan_in > 1)`` register covers its group), ``input`` (exact
    Fraction entering the register: the product for mac steps; None for group,
    node and chunk steps), ``before`` / ``after`` (register
    codes), ``before_value`` / ``after_value`` (float64), ``exact`` (the
    exact result before rounding / overflow, nearest float64), ``events``
    (overflow, inexact, underflow, invalid; ``flags``: the same as SoftFloat
    flag bits), ``acc`` (the register after the
    step: raw integer of an int / fixed register (wider than 64 bits: its low
    64 bits), else after_value) and, for
    mac steps, ``product`` (= input), ``a_code``, ``b_code``, ``a_value``,
    ``b_value`` (Fractions, zero points applied).
    """

    steps: list
    code: Any
    value: Any

    def __repr__(self) -> str:
        kinds = Counter(d["kind"] for d in self.steps)
        events = Counter(e for d in self.steps for e in d["events"])
        return (f"MacTrace(code={self.code!r}, value={self.value!r}, {len(self.steps)} steps ("
                + ", ".join(f"{v} {k}" for k, v in kinds.items()) + "), events: "
                + (", ".join(f"{v} {k}" for k, v in events.items()) or "none")
                + "; .table() lists every step)")

    def table(self) -> str:
        """Every step, one line each: kind, unit, k range, input, register
        before -> after (codes and values), exact sum, events."""
        head = f"{'#':>4} {'kind':<10} {'unit':<17} {'k':<11} {'input':<14} " \
               f"{'before':>10} {'after':>10} {'after_value':>14} {'exact':>14} events"
        lines = [head]
        for t, d in enumerate(self.steps):
            inp = "" if d["input"] is None else str(d["input"])
            lines.append(f"{t:>4} {d['kind']:<10} {d['unit']:<17} "
                         f"{'[%d, %d)' % d['k']:<11} {inp:<14} {d['before']:>10} "
                         f"{d['after']:>10} {d['after_value']:>14.8g} {d['exact']:>14.8g} "
                         f"{','.join(d['events'])}")
        lines.append(f"result: code {self.code!r}, value {self.value!r}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The full trace: steps (list of dicts), code and value."""
        return dict(steps=[dict(d) for d in self.steps], code=self.code, value=self.value)


def _xval_fraction(x) -> Any:
    if x["cls"] == 2:
        return float("nan")
    if x["cls"] == 1:
        return float("-inf") if x["sign"] else float("inf")
    v = Fraction(int(x["sig"])) * Fraction(2) ** int(x["exp"])
    return -v if x["sign"] else v


def _register_value(widths, unit: int, code: int, value: float):
    """Raw integer of an int / fixed register (from its code), else the float value."""
    width = widths[unit] if unit < len(widths) else None
    if width is None:
        return value
    code &= (1 << min(width, 64)) - 1
    return code - (1 << width) if width <= 64 and code >> (width - 1) else code


def trace(a_codes, b_codes, mac: MacUnit, i: int = 0, j: int = 0, bias=None, a_zero_point=0,
          b_zero_point=0, *, bias_codes=None) -> MacTrace:
    """Every step of output (i, j) of ``matmul(a_codes, b_codes, mac, ...)``
    for 2-D a_codes [M, K] and b_codes [K, N].  A step's ``events`` include
    the flags of the products (and tree leaves) it consumed, so that OR-ing
    them over the steps gives matmul's ``flags``."""
    mac = _as_mac(mac)
    a_kind, a = _operand(a_codes, mac.a_fmt, "a_codes", 1)
    b_kind, b = _operand(b_codes, mac.b_fmt, "b_codes", 2)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"trace needs a_codes [M, K] and b_codes [K, N]; got {a.shape}, {b.shape}")
    m, k = a.shape
    n = b.shape[1]
    mac.check_terms(k)
    if not (0 <= i < m and 0 <= j < n):
        raise ValueError(f"(i, j) must index the [{m}, {n}] output, got ({i}, {j})")
    za = _zero_point(a_zero_point, mac.a_fmt, m, "a_zero_point", "a_fmt")
    zb = _zero_point(b_zero_point, mac.b_fmt, n, "b_zero_point", "b_fmt")
    za1 = None if za is None else za[[i if za.size > 1 else 0]]
    zb1 = None if zb is None else zb[[j if zb.size > 1 else 0]]
    bias1 = bc1 = None
    if bias is not None:
        bb = np.asarray(bias)
        bias1 = bb.reshape(-1)[[j if bb.size > 1 else 0]]
    if bias_codes is not None:
        bb = np.asarray(bias_codes)
        bc1 = bb.reshape(-1)[[j if bb.size > 1 else 0]]
    ax = engine.unpack(a[i:i + 1], mac.a_fmt, za1, max(k, 1), "a_codes") if a_kind == "codes" \
        else engine.unpack_f64(a[i:i + 1])
    bcol = np.ascontiguousarray(b[:, j:j + 1])
    bx = engine.unpack(bcol, mac.b_fmt, zb1, 1, "b_codes") if b_kind == "codes" \
        else engine.unpack_f64(bcol)
    bias_x = _bias_either(bias1, bc1, mac, 1)
    s, keep = engine.run_spec(mac, bias_x is not None)
    nlo = mac.result_accumulator.out_limbs()
    cap = 4 * k + 64
    while True:
        try:
            out, _, tr = engine.gemm(s, ax, bx, engine.Strides(k, 1, 0, 1, 0), 1, 1, k, bias_x,
                                     nlo, False, 1, trace_cap=cap)
        except engine.GemmError as e:
            engine.raise_gemm_error(e, mac, f"output [{i}, {j}]")
        if not isinstance(tr, (int, np.integer)):
            break
        cap = int(tr) + 1
    codes, values, *_ = _result_arrays(mac, out, nlo, ())
    widths = [None if u is None else u.register(mac).width
              for u in (mac.accumulator, mac.top_accumulator, mac.psum_adder)]
    steps = []
    for t in tr:
        kind = engine.STEP_KINDS[int(t["kind"])]
        fl = Flags(int(t["flags"]) & 0x1F)
        d = dict(kind=kind, unit=engine.UNITS[int(t["unit"])], k=(int(t["k0"]), int(t["k1"])),
                 input=_xval_fraction(t["in"]) if kind in ("mac", "psum_load", "psum_add", "bias")
                 else None,
                 before=int(t["before"]), after=int(t["after"]),
                 before_value=float(t["before_v"]), after_value=float(t["after_v"]),
                 exact=float(t["exact_v"]),
                 acc=_register_value(widths, int(t["unit"]), int(t["after"]), float(t["after_v"])),
                 flags=int(fl),
                 events=[f.name.lower() for f in (Flags.OVERFLOW, Flags.INEXACT, Flags.UNDERFLOW,
                                                  Flags.INVALID) if fl & f])
        if kind == "mac":
            kk = int(t["k0"])
            d.update(product=d["input"], a_code=int(a[i, kk]) if a_kind == "codes" else None,
                     b_code=int(b[kk, j]) if b_kind == "codes" else None,
                     a_value=_xval_fraction(ax[kk]), b_value=_xval_fraction(bx[kk]))
        steps.append(d)
    del keep
    return MacTrace(steps, np.asarray(codes).reshape(())[()],
                    np.asarray(values).reshape(())[()])
