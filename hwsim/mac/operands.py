"""Operands of hwsim.mac's entry points: checks of codes, zero points and bias,
and their conversion into the engine's exact ``hw_xval`` arrays."""
from __future__ import annotations

import numpy as np

from ..codec import decode as _decode
from ..codec import encode as _encode
from ..codec.blocktensor import BlockTensor
from ..formats import IntFormat
from . import engine
from .accumulators import BLOCK_KINDS, is_int
from .config import MacUnit


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------
def _as_mac(mac) -> MacUnit:
    if not isinstance(mac, MacUnit):
        raise TypeError(f"mac must be a MacUnit, got {type(mac).__name__}")
    return mac


def _codes(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "ui":
        raise TypeError(f"{name} must be an integer array of codes, got dtype {a.dtype}")
    return a


def _operand(x, fmt, name: str, axis_from_end: int):
    """("codes", int array) for scalar formats; ("values", exact float64 array)
    for block formats, whose operands are BlockTensors blocked along K."""
    if fmt.kind not in BLOCK_KINDS:
        return "codes", _codes(x, name)
    if not isinstance(x, BlockTensor):
        raise TypeError(f"{name} must be a BlockTensor of {fmt.name} (hwsim.encode(x, "
                        f"{fmt.name!r}, axis=...)), got {type(x).__name__}")
    if x.fmt != fmt:
        raise ValueError(f"{name} is a BlockTensor of {x.fmt.name}, but the MacUnit operand "
                         f"format is {fmt.name}")
    nd = len(x.shape)
    if nd < axis_from_end or x.axis != nd - axis_from_end:
        raise ValueError(f"{name} must have its blocks along the reduction axis K (axis "
                         f"{nd - axis_from_end} of shape {x.shape}), got axis={x.axis}")
    return "values", x.values()


def _check_codes(codes: np.ndarray, fmt, name: str) -> None:
    """Raise naming the first code that is not a code of fmt (negative or >= 2^bits)."""
    if not codes.size:
        return
    if codes.dtype.kind == "i":
        # one reduction, no temporaries (im2col operands are large): viewed as unsigned, a
        # negative code has its top bit set, so it is >= 2^(itemsize*8 - 1) like a code
        # beyond fmt's range (fmt.bits < itemsize*8 - 1) or a sign (fmt.bits larger)
        if int(codes.view(codes.dtype.str.replace("i", "u")).max()) >> \
                min(fmt.bits, codes.dtype.itemsize * 8 - 1) == 0:
            return
        bad = (codes < 0) | ((codes >> min(fmt.bits, 63)) != 0)
    elif fmt.bits >= codes.dtype.itemsize * 8 or int(codes.max()) >> fmt.bits == 0:
        return
    else:
        bad = (codes >> fmt.bits) != 0
    pos = np.unravel_index(int(np.argmax(bad)), codes.shape)
    raise ValueError(f"{name}[{', '.join(str(int(p)) for p in pos)}] = {int(codes[pos])} is not "
                     f"a code of {fmt.name} (codes are < 2**{fmt.bits})")


def _zero_point(zp, fmt, n: int, name: str, fmt_name: str):
    """None (all zero) or an int64 array of length 1 or n."""
    if zp is None or (type(zp) is int and zp == 0):
        return None  # the default: what the checks below give for 0
    z = np.asarray(zp)
    if z.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer scalar or array, got dtype {z.dtype}")
    z = z.astype(np.int64)
    if z.ndim > 1 or (z.ndim == 1 and z.size not in (1, n)):
        raise ValueError(f"{name} must be a scalar or have {n} entries, got shape {z.shape}")
    if not z.any():
        return None
    if not is_int(fmt):
        raise ValueError(f"{name} applies to integer / fixed {fmt_name} only; {fmt_name} is "
                         f"{fmt.name}")
    lo, hi = fmt.min_int, fmt.max_int
    if int(z.min()) < lo or int(z.max()) > hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] (the range of {fmt.name}), got "
                         f"values in [{int(z.min())}, {int(z.max())}]")
    return z.reshape(-1)


#: (exp_bits, man_bits, bias, specials) of the IEEE formats numpy converts to
_NATIVE_FLOAT = {(8, 23, 127, "ieee"): np.float32, (5, 10, 15, "ieee"): np.float16}


def _exact_in(values: np.ndarray, fmt) -> np.ndarray:
    """mask: float64 values exactly representable in the scalar format fmt."""
    if fmt.kind == "float":
        native = _NATIVE_FLOAT.get((fmt.exp_bits, fmt.man_bits, fmt.bias, fmt.specials))
        if native is not None and fmt.subnormals and fmt.signed:
            # binary32 / binary16: a finite value is exact iff the IEEE conversion (any
            # rounding) gives it back; NaN and Inf are handled as below
            with np.errstate(over="ignore", invalid="ignore"):
                ok = values.astype(native).astype(np.float64) == values
            return ok | (np.isnan(values) & fmt.has_nan)
        ov = "saturate"
        q = _decode(_encode(np.where(np.isnan(values), 0.0, values), fmt, "rtz", ov), fmt)
        ok = (q == values) | (np.isnan(values) & fmt.has_nan)
        if fmt.has_inf:
            ok |= np.isinf(values)
        return ok
    scaled = np.ldexp(values, fmt.frac_bits)
    return np.isfinite(values) & (scaled == np.round(scaled)) & (scaled >= fmt.min_int) & \
        (scaled <= fmt.max_int)


def _bias_x(bias, mac: MacUnit, n: int):
    if bias is None:
        return None
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    reg = acc.register(mac)
    b = np.asarray(bias)
    if b.ndim > 1 or (b.ndim == 1 and b.size not in (1, n)):
        raise ValueError(f"bias must be a scalar or have {n} entries (one per output column), "
                         f"got shape {b.shape}")
    b = np.broadcast_to(b.reshape(-1) if b.ndim else b, (n,))
    if reg.fixed:
        if b.dtype.kind not in "iu":
            raise TypeError(f"bias for an integer / fixed accumulator must be an integer array of "
                            f"raw values in LSB units (2^-{reg.frac_bits}), got dtype {b.dtype}")
        raw = b.astype(np.int64)  # outside the register: its overflow policy applies
        if mac.bias_format is not None and not _exact_in(np.ldexp(raw.astype(np.float64), -reg.frac_bits),
                                                        mac.bias_format).all():
            raise ValueError(f"bias values are not all exact in bias_format={mac.bias_format.name}")
        return engine.unpack_raw(raw, reg.frac_bits)
    vals = np.asarray(b, dtype=np.float64)
    for fmt, what in ((reg.fmt, "the accumulator format " + reg.fmt.name),
                      (mac.bias_format, "bias_format")):
        if fmt is not None and not _exact_in(vals, fmt).all():
            bad = float(vals[~_exact_in(vals, fmt)][0])
            raise ValueError(f"bias value {bad!r} is not exactly representable in {what}"
                             f"{'' if what != 'bias_format' else '=' + fmt.name}")
    return engine.unpack_f64(vals)




def _bias_codes_x(codes, mac: MacUnit, n: int):
    """bias_codes: codes in the format of the register the bias enters (float:
    its FloatFormat, so NaN payloads and signalling NaNs can be given; int /
    fixed: the register's two's-complement codes of its width)."""
    if codes is None:
        return None
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    reg = acc.register(mac)
    c = _codes(codes, "bias_codes")
    if c.ndim > 1 or (c.ndim == 1 and c.size not in (1, n)):
        raise ValueError(f"bias_codes must be a scalar or have {n} entries (one per output "
                         f"column), got shape {c.shape}")
    c = np.ascontiguousarray(np.broadcast_to(c.reshape(-1) if c.ndim else c, (n,)))
    if reg.fixed:
        w = reg.width
        if w > 64:
            raise ValueError(f"bias_codes: the {w}-bit register is wider than 64 bits; give "
                             "bias= raw integers instead")
        _check_codes(c, IntFormat(w, signed=False), "bias_codes")
        u = c.astype(np.uint64)
        raw = u.view(np.int64) if w == 64 else (
            u.astype(np.int64) - ((u >> np.uint64(w - 1)).astype(np.int64) << w))
        vals = np.ldexp(raw.astype(np.float64), -reg.frac_bits)
        if mac.bias_format is not None and not _exact_in(vals, mac.bias_format).all():
            raise ValueError(f"bias_codes values are not all exact in "
                             f"bias_format={mac.bias_format.name}")
        return engine.unpack_raw(raw, reg.frac_bits)
    _check_codes(c, reg.fmt, "bias_codes")
    if mac.bias_format is not None:
        vals = _decode(c, reg.fmt)
        if not _exact_in(vals, mac.bias_format).all():
            raise ValueError(f"bias_codes values are not all exact in "
                             f"bias_format={mac.bias_format.name}")
    return engine.unpack(c, reg.fmt, what="bias_codes")


def _bias_either(bias, bias_codes, mac: MacUnit, n: int):
    """The engine's bias from bias= values or bias_codes= codes (not both)."""
    if bias is not None and bias_codes is not None:
        raise ValueError("give bias (values) or bias_codes (codes of the register's format), "
                         "not both")
    if bias_codes is not None:
        return _bias_codes_x(bias_codes, mac, n)
    return _bias_x(bias, mac, n)
