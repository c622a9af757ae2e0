"""The one place where layers call the MAC units (MAC_CONTRACT.md).

Every multiply-accumulate of every layer goes through :func:`mac_matmul`, a thin
adapter over :func:`hwsim.mac.matmul`: it loops over independent batches (conv
groups, each with its own bias and weight zero points), and returns the result
register's values in the form the layers use (int64 integers for integer
accumulators, float64 real values otherwise), its codes, and statistics.
"""
from __future__ import annotations

import numpy as np

from .. import mac as _mac
from ..formats import FixedFormat, IntFormat

__all__ = ["mac_matmul", "acc_kind", "acc_is_int", "acc_format", "bias_register",
           "bias_to_register", "mac_trace"]


def _result_acc(mac):
    return mac.result_accumulator


def _bias_acc(mac):
    """The accumulator whose register receives the bias."""
    return mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)


def _kind(acc, mac) -> tuple:
    if isinstance(acc, _mac.IntAccumulator):
        f = mac.product_frac_bits
        return ("int", acc.bits) if f == 0 else ("fixed", acc.bits, f)
    if isinstance(acc, _mac.FixedAccumulator):
        return ("int", acc.width) if acc.frac_bits == 0 else ("fixed", acc.width, acc.frac_bits)
    if isinstance(acc, _mac.FloatAccumulator):
        return ("float", acc.fmt)
    return ("float", acc.out_fmt)  # FusedMultiTermAccumulator


def acc_kind(mac) -> str:
    """``"int"`` (integer register, LSB 1), ``"fixed"`` (LSB 2^-frac) or ``"float"``."""
    return _kind(_result_acc(mac), mac)[0]


def acc_is_int(mac) -> bool:
    """Whether the result register holds integers (int64 values, integer requant)."""
    return acc_kind(mac) == "int"


def acc_format(mac):
    """Format of the result register: IntFormat(bits), FixedFormat(width, frac) or the float format."""
    k = _kind(_result_acc(mac), mac)
    if k[0] == "int":
        return IntFormat(k[1])
    if k[0] == "fixed":
        return FixedFormat(k[1], k[2])
    return k[1]


def bias_register(mac):
    """Format of the register the bias enters (see :func:`acc_format`)."""
    k = _kind(_bias_acc(mac), mac)
    if k[0] == "int":
        return IntFormat(k[1])
    if k[0] == "fixed":
        return FixedFormat(k[1], k[2])
    return k[1]


def bias_to_register(values, mac) -> np.ndarray:
    """Bias values (in accumulator units) as the register that receives them holds them.

    Integer / fixed registers: int64 raw values in LSB units (``values``
    rounded rne onto the LSB grid), put into the register with its overflow
    policy (wrap: modulo 2^width; saturate / error: clamped), as loading a
    wider bias into a narrow accumulator does.  Float registers: float64
    values rounded (rne, the format's overflow policy) into its format."""
    from ..codec import decode, encode

    f = bias_register(mac)
    v = np.asarray(values)
    if f.kind == "float":
        return decode(encode(v.astype(np.float64), f, "rne"), f)
    if v.dtype.kind in "iu" and f.frac_bits == 0:
        raw = v.astype(np.int64)
    else:
        raw = np.rint(np.ldexp(v.astype(np.float64), f.frac_bits)).astype(np.int64)
    lo, hi = f.min_int, f.max_int
    acc = _bias_acc(mac)
    if getattr(acc, "overflow", "wrap") == "wrap" and f.bits < 64:
        return ((raw - lo) & ((1 << f.bits) - 1)) + lo
    return np.clip(raw, lo, hi)


def mac_matmul(a_codes, b_codes, mac, bias=None, a_zp=0, b_zp=0, stats=True):
    """Result registers of ``a @ b`` through ``mac``, one MAC call per batch.

    Parameters
    ----------
    a_codes : [B, M, K] codes of ``mac.a_fmt`` (B batches, e.g. conv groups)
    b_codes : [B, K, N] codes of ``mac.b_fmt``
    mac : :class:`hwsim.mac.MacUnit`
    bias : None or [B, N] values in the bias register's domain (int64 raw for
        integer / fixed registers, float64 exact values for float registers)
    a_zp : scalar zero point of ``a``; b_zp : scalar or [B, N]
    stats : collect :class:`hwsim.mac.MacStats`

    Returns
    -------
    values : [B, M, N] int64 (``acc_kind == "int"``) or float64 real values
    codes : [B, M, N] codes of the result register (:func:`acc_format`)
    stats : dict ``overflow_events`` (int), ``overflow_per_col`` ([B, N]),
        ``max_abs_partial`` (float), ``bits_needed`` (int or None)
    """
    if not isinstance(mac, _mac.MacUnit):
        raise TypeError(f"mac must be a hwsim.mac.MacUnit, got {type(mac).__name__}")
    a_codes = np.asarray(a_codes)
    b_codes = np.asarray(b_codes)
    if a_codes.ndim != 3 or b_codes.ndim != 3 or a_codes.shape[0] != b_codes.shape[0]:
        raise ValueError(f"a_codes must be [B, M, K] and b_codes [B, K, N]; got {a_codes.shape}, "
                         f"{b_codes.shape}")
    B, M, _ = a_codes.shape
    N = b_codes.shape[2]
    bz = np.asarray(b_zp)
    kind = acc_kind(mac)
    vals, codes, ev, mx, bits = [], [], [], [], []
    for g in range(B):
        bg = None if bias is None else np.asarray(bias).reshape(B, N)[g]
        zg = bz if bz.ndim == 0 else bz.reshape(B, N)[g]
        r = _mac.matmul(np.ascontiguousarray(a_codes[g]), np.ascontiguousarray(b_codes[g]), mac,
                        bias=bg, a_zero_point=a_zp, b_zero_point=zg, stats=stats)
        if kind == "int":
            v = np.asarray(r.values)
            vals.append(v.astype(np.int64) if v.dtype != object else v)
        else:
            vals.append(np.asarray(r.real_values(), np.float64))
        codes.append(np.asarray(r.codes))
        if stats:
            st = r.stats
            ev.append(np.asarray(st.overflow_events_per_column, np.int64).reshape(N))
            mx.append(st.max_abs_partial)
            bits.append(st.bits_needed)
    values = np.stack(vals) if B else np.zeros((0, M, N))
    st = dict(overflow_events=0, overflow_per_col=np.zeros((B, N), np.int64),
              max_abs_partial=0.0, bits_needed=None)
    if stats and B:
        per = np.stack(ev)
        st.update(overflow_events=int(per.sum()), overflow_per_col=per,
                  max_abs_partial=float(max(mx)),
                  bits_needed=None if bits[0] is None else int(max(bits)))
    return values, np.stack(codes) if B else np.zeros((0, M, N), np.uint64), st


def mac_trace(a_codes, b_codes, mac, bias=None, a_zp=0, b_zp=0) -> list:
    """Every step of one dot product (:func:`hwsim.mac.trace`) as CSV-ready rows.

    Columns: ``step, kind, unit, k0, k1, a_code, b_code, input, before, after,
    after_value, events``; ``input`` is the exact value entering the register
    (the product for ``mac`` steps), ``before`` / ``after`` the register codes.
    """
    a = np.asarray(a_codes).reshape(1, -1)
    b = np.asarray(b_codes).reshape(-1, 1)
    bb = None if bias is None else np.asarray([bias])
    tr = _mac.trace(a, b, mac, 0, 0, bias=bb, a_zero_point=a_zp, b_zero_point=b_zp)
    rows = []
    for i, s in enumerate(tr.steps):
        rows.append((i, s["kind"], s["unit"], s["k"][0], s["k"][1], s.get("a_code", ""),
                     s.get("b_code", ""), "" if s["input"] is None else str(s["input"]),
                     s["before"], s["after"], repr(s["after_value"]), "|".join(s["events"])))
    return rows


TRACE_HEADER = ("step,kind,unit,k0,k1,a_code,b_code,input,before,after,after_value,events")
