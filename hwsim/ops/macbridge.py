"""The one adapter between ops / network and :mod:`hwsim.mac`.

Every multiply-accumulate of every layer goes through :func:`mac_matmul`, a thin
adapter over :func:`hwsim.mac.matmul`: it loops over independent batches (conv
groups, each with its own bias and weight zero points), and returns the result
register's values in the form the layers use (int64 integers for integer
accumulators, float64 real values otherwise), its codes, and statistics.
MAC units are built here (:func:`preset_mac`), and block operands reach them
through :func:`to_scalar` / :func:`scalar_format` (``hwsim.mac.block``).
"""
from __future__ import annotations

import numpy as np

from .. import mac as _mac
from ..codec import decode, encode
from ..formats import FixedFormat, IntFormat
from ..formats import format as parse_format
from ..mac.api import matmul_summary
from ..mac.block import block_dot_unit, scalar_format, to_scalar

__all__ = ["mac_matmul", "acc_kind", "acc_is_int", "acc_format", "bias_register",
           "bias_to_register", "mac_trace", "preset_mac", "mac_from_dict", "MacSpecError",
           "scalar_format", "to_scalar", "MAC_PRESETS"]

#: MAC unit shorthand names -> description (built by :func:`preset_mac`).
MAC_PRESETS = {
    "int32": "integer accumulator, 32 bits, wrap-around",
    "int32_sat": "integer accumulator, 32 bits, saturating",
    "int24_sat": "integer accumulator, 24 bits, saturating",
    "int16_sat": "integer accumulator, 16 bits, saturating after every add",
    "int16": "integer accumulator, 16 bits, wrap-around",
    "fp32": "float32 accumulator, exact products, one rne rounding per MAC (fused)",
    "fp16": "float16 accumulator, exact products, one rne rounding per MAC (fused)",
    "bf16": "bfloat16 accumulator, exact products, one rne rounding per MAC (fused)",
    "block_fp32": "OCP MX v1.0 6.2 datapath: exact dot product per block, added into float32",
    "block_fp16": "OCP MX v1.0 6.2 datapath: exact dot product per block, added into float16",
    "u8s8_avx2": "x86 AVX2 u8 x s8 GEMM model (MLAS vpmaddubsw): raw-code products summed in "
                 "pairs with int16 saturation, int32 wrap accumulation, zero points after",
    "v100_fp16": "fused multi-term adder model (fan-in 4, fp32 out; Fasi et al. 2021)",
    "a100_fp16": "fused multi-term adder model (fan-in 8, fp32 out; Fasi et al. 2021)",
    "h100_fp16": "fused multi-term adder model (fan-in 16, fp32 out; Khattak & Mikaitis 2025)",
    "h100_fp8": "fused multi-term adder model (fan-in 32, 13-bit window; Khattak & Mikaitis 2025)",
}

_FLOAT_MAC = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
_BLOCK_MAC = {"block_fp32": "float32", "block_fp16": "float16"}
_FMT_MAC = ("v100_fp16", "a100_fp16", "h100_fp16", "h100_fp8")


class MacSpecError(ValueError):
    """A MAC preset that cannot be built for the given operands (the config reports it)."""


def mac_from_dict(d, a_fmt, b_fmt):
    """A MacUnit from ``MacUnit.to_dict()`` with its operand formats replaced."""
    d = dict(d)
    d["a_fmt"], d["b_fmt"] = parse_format(a_fmt).to_dict(), parse_format(b_fmt).to_dict()
    try:
        return _mac.MacUnit.from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        raise MacSpecError(f"mac: invalid MacUnit dict: {e}") from None


def preset_mac(spec, a_fmt, b_fmt, block=None):
    """The MacUnit of a preset name (``int<N>[_sat]`` or a :data:`MAC_PRESETS` key).

    ``block``: for ``block_*`` presets, dict(a=block format or None, b=block
    format or None, chunk=int), the K-run length of one block."""
    a_fmt, b_fmt = parse_format(a_fmt), parse_format(b_fmt)
    if spec.startswith("int"):
        sat = spec.endswith("_sat")
        bits = int(spec[3:].split("_")[0])
        return _mac.MacUnit(a_fmt=a_fmt, b_fmt=b_fmt, accumulator=_mac.IntAccumulator(
            bits, overflow="saturate" if sat else "wrap"))
    if spec == "u8s8_avx2":
        # vpmaddubsw: u8 * s8 products of adjacent K pairs added with int16 saturation;
        # vpmaddwd / vpaddd: the pair sums added into int32 (the layer subtracts
        # x_zp * sum(w) afterwards, as MLAS does)
        return _mac.MacUnit(a_fmt=a_fmt, b_fmt=b_fmt,
                            accumulator=_mac.IntAccumulator(16, overflow="saturate"),
                            order=_mac.Chunked(2, _mac.IntAccumulator(32, overflow="wrap")))
    if spec in _FLOAT_MAC:
        return _mac.MacUnit(a_fmt=a_fmt, b_fmt=b_fmt,
                            accumulator=_mac.FloatAccumulator(parse_format(_FLOAT_MAC[spec])))
    if spec in _FMT_MAC:
        return _mac.MacUnit(a_fmt=a_fmt, b_fmt=b_fmt,
                            accumulator=_mac.fused_multi_term_preset(spec))
    outer = _mac.FloatAccumulator(parse_format(_BLOCK_MAC[spec]))
    blk = block or {}
    fa, fb = blk.get("a") or a_fmt, blk.get("b") or b_fmt
    chunk = blk.get("chunk")
    if chunk is None:
        raise MacSpecError(f"mac {spec!r} needs block operands whose blocks are aligned along K")
    for name, bf, sf in (("input", blk.get("a"), a_fmt), ("weight", blk.get("b"), b_fmt)):
        if bf is not None and scalar_format(bf) != sf:
            raise MacSpecError(f"mac {spec!r}: the {name} ({bf.name}) must reach the MAC exactly "
                               f"(dequant 'exact'), got {sf.name}")
    return block_dot_unit(fa, fb, outer, block_size=chunk, chunk=chunk)


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


def _register_format(acc, mac):
    k = _kind(acc, mac)
    if k[0] == "int":
        return IntFormat(k[1])
    if k[0] == "fixed":
        return FixedFormat(k[1], k[2])
    return k[1]


def acc_format(mac):
    """Format of the result register: IntFormat(bits), FixedFormat(width, frac) or the float format."""
    return _register_format(_result_acc(mac), mac)


def bias_register(mac):
    """Format of the register the bias enters (see :func:`acc_format`)."""
    return _register_format(_bias_acc(mac), mac)


def bias_to_register(values, mac) -> np.ndarray:
    """Bias values (in accumulator units) as the register that receives them holds them.

    Integer / fixed registers: int64 raw values in LSB units (``values``
    rounded rne onto the LSB grid), put into the register with its overflow
    policy (wrap: modulo 2^width; saturate / error: clamped), as loading a
    wider bias into a narrow accumulator does.  Float registers: float64
    values rounded (rne, the format's overflow policy) into its format."""
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
        ag, bgc = np.ascontiguousarray(a_codes[g]), np.ascontiguousarray(b_codes[g])
        if stats:  # the layer reports totals: the per-output arrays reduced in place
            r, summ = matmul_summary(ag, bgc, mac, bias=bg, a_zero_point=a_zp, b_zero_point=zg)
        else:
            r = _mac.matmul(ag, bgc, mac, bias=bg, a_zero_point=a_zp, b_zero_point=zg,
                            stats=False)
        if kind == "int":
            v = np.asarray(r.values)
            vals.append(v.astype(np.int64, copy=False) if v.dtype != object else v)
        else:
            vals.append(np.asarray(r.real_values(), np.float64))
        codes.append(np.asarray(r.codes))
        if stats:
            ev.append(np.asarray(summ["overflow_events_per_column"], np.int64).reshape(N))
            mx.append(summ["max_abs_partial"])
            bits.append(summ["bits_needed"])
    st = dict(overflow_events=0, overflow_per_col=np.zeros((B, N), np.int64),
              max_abs_partial=0.0, bits_needed=None)
    if stats and B:
        per = _stack(ev)
        st.update(overflow_events=int(per.sum()), overflow_per_col=per,
                  max_abs_partial=float(max(mx)),
                  bits_needed=None if bits[0] is None else int(max(bits)))
    if not B:
        return np.zeros((0, M, N)), np.zeros((0, M, N), np.uint64), st
    return _stack(vals), _stack(codes), st


def _stack(parts):
    """np.stack of the batches; one batch as a view (no copy of a layer's outputs)."""
    return parts[0][None] if len(parts) == 1 else np.stack(parts)


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
