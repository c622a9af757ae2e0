"""Block-format operands (MX, NVFP4, BFP, codebooks such as NF4) as scalar codes.

A BlockTensor is converted, element by element, into codes of a scalar
FloatFormat that holds every ``element * block factor`` exactly (checked bit
for bit; NVFP4's tensor scale stays a ``post_scale`` for the epilogue), or
rounded by a ``dequant`` model.  :func:`block_dot_unit` builds the OCP MX v1.0
section 6.2 per-block dot-product datapath and :func:`matmul_blocks` runs it.
Model, format choices and sources: docs/architecture.md, "Block operands".

>>> import numpy as np, hwsim
>>> from hwsim.mac.block import to_scalar
>>> so = to_scalar(hwsim.encode(np.array([6.0, -3.0, 0.5, 1.0]), "mxfp4"))
>>> so.fmt.name, hwsim.decode(so.codes, so.fmt).tolist(), so.post_scale
('mxfp4_scalar', [6.0, -3.0, 0.5, 1.0], 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..codec import decode, encode
from ..codec.blocktensor import _E8M0_LUT, _float_lut
from ..errors import FormatError, UnsupportedModeError
from ..formats import PRESETS, FloatFormat
from ..formats import format as parse_format
from .accumulators import FloatAccumulator, kulisch
from .api import matmul
from .config import Chunked, MacUnit

__all__ = ["ScalarOperand", "scalar_format", "to_scalar", "block_dot_unit", "matmul_blocks",
           "inner_exact_accumulator", "BlockMatmulResult"]

_E4M3 = PRESETS["float8_e4m3fn"]
_E2M1 = PRESETS["float4_e2m1fn"]


# ---------------------------------------------------------------------------
# value ranges: (precision, lowest leading exponent, highest leading exponent)
# ---------------------------------------------------------------------------
def _float_span(f: FloatFormat) -> tuple[int, int, int]:
    """Leading-bit exponents of the nonzero finite values of a float format."""
    lo = f.emin - f.man_bits if f.subnormals else f.emin
    return f.precision, lo, f.emax


def _span(fmt) -> tuple[int, int, int]:
    """(precision, lo, hi) of element * block factor for a block / codebook format."""
    kind = fmt.kind
    if kind == "mx":
        if fmt.is_int:
            p, lo, hi = 7, -6, 1          # |k| <= 128, value k / 64
        else:
            p, lo, hi = _float_span(fmt.elem)
        return p, lo - 127, hi + 127      # E8M0: 2^-127 .. 2^127
    if kind == "nvfp4":
        pe, le, he = _float_span(_E2M1)
        ps, ls, hs = _float_span(_E4M3)
        return pe + ps, le + ls, he + hs + 1   # significand product in [1, 4)
    if kind == "bfp":
        m = fmt.man_bits
        top = 1 << fmt.exp_bits
        lo = -(fmt.exp_bias + m - 1)
        hi = m + (top - 1 - fmt.exp_bias - m + 1)
        return m, lo, hi
    if kind == "codebook":
        return fmt.lead_exp_span          # value x float32 absmax
    raise UnsupportedModeError(f"{fmt.name!r} ({kind}): block operands of the MAC units are MX, "
                               "NVFP4, BFP and codebook formats")


def _fit(p: int, lo: int, hi: int, name: str) -> FloatFormat:
    """The narrowest IEEE-style format (standard bias) whose normal range holds [lo, hi]."""
    for e in range(2, 12):
        bias = (1 << (e - 1)) - 1
        if 1 - bias <= lo and (1 << e) - 2 - bias >= hi:
            return FloatFormat(e, p - 1, bias, True, "ieee", True, name=name)
    raise FormatError(f"no float format of <= 11 exponent bits holds exponents [{lo}, {hi}]")


def _is_block(fmt) -> bool:
    return getattr(fmt, "kind", None) in ("mx", "nvfp4", "bfp", "codebook", "pwlq")


def scalar_format(fmt, dequant="exact") -> FloatFormat:
    """The scalar FloatFormat a block-format operand is converted to.

    Parameters
    ----------
    fmt : block or codebook format (object or name)
    dequant : "exact" (every element * block scale exactly) or a scalar
        float format (name or object) the values are rounded into (see the
        module docstring for the codebook arithmetic).
    """
    fmt = parse_format(fmt)
    if not _is_block(fmt):
        raise FormatError(f"fmt must be a block or codebook format, got {fmt.name!r} ({fmt.kind})")
    if fmt.kind == "pwlq":
        raise UnsupportedModeError("PWLQ tensors have no per-block factor; decode them and "
                                   "encode into a scalar format instead")
    if dequant != "exact":
        d = parse_format(dequant)
        if d.kind != "float":
            raise FormatError(f"dequant must be 'exact' or a float format, got {d.name!r}")
        return d
    p, lo, hi = _span(fmt)
    return _fit(p, lo, hi, f"{fmt.name}_scalar")


@dataclass(frozen=True, eq=False)
class ScalarOperand:
    """A block operand as scalar codes.

    ``codes`` (same shape as the tensor) are codes of ``fmt``; the real value
    of element i is ``decode(codes[i], fmt) * post_scale`` (``post_scale`` is
    NVFP4's FP32 tensor scale, 1.0 otherwise).  ``source`` is the BlockTensor.
    """

    codes: np.ndarray
    fmt: FloatFormat
    post_scale: float
    source: Any
    dequant: str = "exact"


def _same_bits(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Elementwise: equal float64 bit patterns, or both NaN."""
    g = np.ascontiguousarray(got, np.float64)
    w = np.ascontiguousarray(want, np.float64)
    return (g.view(np.uint64) == w.view(np.uint64)) | (np.isnan(g) & np.isnan(w))


def _unscaled_values(bt) -> tuple[np.ndarray, float]:
    """(element * block factor values, post scale) of a BlockTensor."""
    if bt.fmt.kind == "nvfp4":
        ev = _float_lut(_E2M1)[bt.codes]
        return bt.times_block(ev, _float_lut(_E4M3)[bt.scales]), float(bt.tensor_scale)
    return bt.values(), 1.0


def _codebook_dequant(bt, fmt: FloatFormat) -> np.ndarray:
    """fl_fmt(fl32(value[code] * absmax)) as float64 (bitsandbytes-style)."""
    table = np.array(bt.fmt.values, dtype=np.float32)
    ev = table[bt.codes]
    absmax = bt.scales.astype(np.float32)
    with np.errstate(over="ignore"):
        prod32 = bt.times_block(ev, absmax)  # float32 * float32 in float32: fl32, rne
    if prod32.dtype != np.float32:
        raise AssertionError("codebook dequant product must be computed in float32")
    return decode(encode(prod32.astype(np.float64), fmt, "rne"), fmt)


@lru_cache(maxsize=16)
def _mx_table(fmt, sfmt) -> np.ndarray:
    """Scalar codes of every (E8M0 scale, element code) pair of an MX format: [256, 2^bits],
    encoded from the float64 values ``BlockTensor.values`` computes (element value times
    2^(scale - 127), NaN for scale 0xFF) and checked to decode to them bit for bit."""
    elem = np.arange(1 << fmt.bits, dtype=np.uint8 if fmt.bits <= 8 else np.uint16)
    ev = elem.view(np.int8).astype(np.float64) / 64.0 if fmt.is_int \
        else _float_lut(fmt.elem)[elem]
    vals = ev[None, :] * _E8M0_LUT[:, None]
    codes = encode(vals, sfmt, "rne")
    ok = _same_bits(decode(codes, sfmt), vals)
    if not ok.all():
        s, c = np.unravel_index(int(np.argmin(ok)), ok.shape)
        raise AssertionError(f"{fmt.name} -> {sfmt.name}: scale {s}, element {c} is not exact")
    return codes


def _mx_scalar_codes(bt, sfmt) -> np.ndarray:
    """``to_scalar``'s codes of an MX BlockTensor (exact dequant) by one table look-up."""
    table = _mx_table(bt.fmt, sfmt)
    width = table.shape[1]
    sc = bt.scales.astype(np.intp) * width
    n, bs, nb, ax = bt.axis_length, bt.block_size, bt.nblocks, bt.axis
    if n % bs == 0 and ax is not None:
        blocked = bt.shape[:ax] + (nb, bs) + bt.shape[ax + 1:]
        idx = (bt.codes.reshape(blocked) + np.expand_dims(sc, ax + 1)).reshape(bt.shape)
    else:
        idx = bt.codes + bt.expand_scales(sc)
    return table.reshape(-1)[idx]


def to_scalar(bt, dequant="exact") -> ScalarOperand:
    """Convert a BlockTensor into scalar codes (exactly, or by the ``dequant`` model).

    Raises AssertionError if the converted codes do not decode to the
    expected values bit for bit (a bug, never expected).
    """
    if not (hasattr(bt, "fmt") and hasattr(bt, "scales") and hasattr(bt, "values")):
        raise TypeError(f"bt must be a BlockTensor (from hwsim.encode with a block format), got "
                        f"{type(bt).__name__}")
    sfmt = scalar_format(bt.fmt, dequant)
    dq = "exact" if dequant == "exact" else sfmt.name
    if bt.fmt.kind == "mx" and dequant == "exact":  # every (scale, element) pair checked once
        return ScalarOperand(_mx_scalar_codes(bt, sfmt), sfmt, 1.0, bt, dq)
    if bt.fmt.kind == "codebook" and dequant != "exact":
        want = _codebook_dequant(bt, sfmt)
        post = 1.0
        codes = encode(want, sfmt, "rne")
        got = decode(codes, sfmt)
    else:
        vals, post = _unscaled_values(bt)
        if dequant == "exact":
            want = vals
            codes = encode(vals, sfmt, "rne")
        else:
            codes = encode(vals, sfmt, "rne")
            want = decode(codes, sfmt)
        got = decode(codes, sfmt)
        if post != 1.0 or dequant == "exact":
            # the real values: decode * post_scale must be the BlockTensor's values
            full = bt.values()
            ok = _same_bits(vals * post, full)
            if not ok.all():
                raise AssertionError(f"{bt.fmt.name}: element * block factor * post_scale differs "
                                     f"from values() at {int(np.argmin(ok))}")
    ok = _same_bits(got, want)
    if not ok.all():
        i = int(np.argmin(ok.reshape(-1)))
        raise AssertionError(f"{bt.fmt.name} -> {sfmt.name}: code {int(codes.reshape(-1)[i])} "
                             f"decodes to {got.reshape(-1)[i]!r}, expected {want.reshape(-1)[i]!r}")
    return ScalarOperand(codes, sfmt, post, bt, dq)


# ---------------------------------------------------------------------------
# the OCP MX per-block dot-product datapath
# ---------------------------------------------------------------------------
def _grid(fmt) -> tuple[int, int, int]:
    """(lsb exponent, exclusive top exponent, significant bits of the block factor)
    of an element relative to its block factor."""
    kind = fmt.kind
    if kind == "mx":
        if fmt.is_int:
            return -6, 2, 1
        e = fmt.elem
        return e.emin - e.man_bits, e.emax + 1, 1
    if kind == "nvfp4":
        return _E2M1.emin - _E2M1.man_bits, _E2M1.emax + 1, _E4M3.precision
    if kind == "bfp":
        return -(fmt.man_bits - 1), 2, 1
    if kind == "codebook":
        return fmt.element_grid
    raise UnsupportedModeError(f"no block datapath for {fmt.name!r}")


def inner_exact_accumulator(a_fmt, b_fmt, block_size: int, a_scalar=None, b_scalar=None):
    """An accumulator that sums one block's products exactly.

    ``FloatAccumulator("float64")`` when every partial sum of a block provably
    fits 53 bits (sum_i e_A,i e_B,i times the two block factors), otherwise
    an exact Kulisch accumulator over the scalar formats.  ``a_fmt``/``b_fmt``
    are block formats or scalar formats (a scalar operand is its own block
    with factor 1).
    """
    def grid(f):
        if _is_block(f):
            return _grid(f)
        lo = (f.emin - f.man_bits) if f.kind == "float" else -f.frac_bits
        hi = (f.emax + 1) if f.kind == "float" else f.bits - f.frac_bits
        return lo, hi, 1

    a, b = parse_format(a_fmt), parse_format(b_fmt)
    la, ha, pa = grid(a)
    lb, hb, pb = grid(b)
    k = max(1, int(block_size))
    # partial sums: an integer multiple of 2^(la + lb) below k 2^(ha + hb), times the
    # two block factors (significands of pa and pb bits; 1 bit: a power of two)
    bits = (ha + hb) - (la + lb) + (k - 1).bit_length()
    bits += (pa if pa > 1 else 0) + (pb if pb > 1 else 0)
    if bits <= 53:
        return FloatAccumulator(PRESETS["float64"], "rne")
    sa = a_scalar or (scalar_format(a) if _is_block(a) else a)
    sb = b_scalar or (scalar_format(b) if _is_block(b) else b)
    return kulisch(sa, sb, k)


def block_dot_unit(a_fmt, b_fmt, outer, block_size=None, bias="init", chunk=None):
    """A MacUnit modelling OCP MX v1.0 section 6.2: per block the exact
    ``X_A X_B sum_i P_A,i P_B,i``, then accumulated by ``outer``.

    Parameters
    ----------
    a_fmt, b_fmt : block formats (or scalar formats) of the operands
    outer : accumulator (e.g. ``FloatAccumulator("float32")``) adding the
        block dot products, one rounding per block; it holds the bias.
    block_size : chunk length (default: the block formats' common block size)
    chunk : override of the chunk length (e.g. a conv whose channel runs are
        shorter than a block)
    """
    a, b = parse_format(a_fmt), parse_format(b_fmt)
    sizes = {f.block_size for f in (a, b) if _is_block(f)}
    if block_size is None:
        if len(sizes) != 1:
            raise ValueError(f"block_size: the operands' block sizes {sorted(sizes)} must agree "
                             "(or pass block_size=)")
        block_size = sizes.pop()
    c = int(chunk or block_size)
    sa = scalar_format(a) if _is_block(a) else a
    sb = scalar_format(b) if _is_block(b) else b
    inner = inner_exact_accumulator(a, b, c, sa, sb)
    return MacUnit(sa, sb, accumulator=inner, order=Chunked(c, outer), bias=bias)


@dataclass
class BlockMatmulResult:
    """:class:`hwsim.mac.MatmulResult` of the scalar codes plus the epilogue.

    ``real`` = the result register's value times ``post_scale`` (the product
    of the operands' NVFP4 tensor scales, 1.0 otherwise), one float64
    multiplication: the epilogue, after accumulation.
    """

    result: Any
    post_scale: float
    real: np.ndarray
    a: ScalarOperand
    b: ScalarOperand


def matmul_blocks(a_bt, b_bt, mac=None, outer=None, bias=None, threads=None, stats=True,
                  dequant="exact") -> BlockMatmulResult:
    """``a @ b`` of two BlockTensors through a MAC unit.

    ``a_bt``: [M, K] blocked along K (axis 1 / -1); ``b_bt``: [K, N] blocked
    along K (axis 0).  Give either ``mac`` (a MacUnit whose a_fmt / b_fmt are
    the scalar formats, e.g. a per-MAC fp16 accumulator) or ``outer`` (the
    OCP per-block datapath of :func:`block_dot_unit`).
    """
    for name, t, ax in (("a_bt", a_bt, 1), ("b_bt", b_bt, 0)):
        if len(t.shape) != 2 or t.axis != ax:
            raise ValueError(f"{name} must be 2-D and blocked along K (axis {ax}); got shape "
                             f"{t.shape}, axis {t.axis}")
    if a_bt.shape[1] != b_bt.shape[0]:
        raise ValueError(f"K differs: a_bt {a_bt.shape}, b_bt {b_bt.shape}")
    a = to_scalar(a_bt, dequant)
    b = to_scalar(b_bt, dequant)
    if (mac is None) == (outer is None):
        raise ValueError("give exactly one of mac= (a MacUnit) and outer= (an accumulator)")
    if mac is None:
        if a_bt.block_size != b_bt.block_size:
            raise ValueError(f"the per-block datapath needs equal block sizes, got "
                             f"{a_bt.block_size} and {b_bt.block_size}")
        mac = block_dot_unit(a_bt.fmt, b_bt.fmt, outer)
    elif mac.a_fmt != a.fmt or mac.b_fmt != b.fmt:
        raise ValueError(f"mac operand formats ({mac.a_fmt.name}, {mac.b_fmt.name}) must be the "
                         f"scalar formats ({a.fmt.name}, {b.fmt.name})")
    res = matmul(a.codes, b.codes, mac, bias=bias, threads=threads, stats=stats)
    post = a.post_scale * b.post_scale
    real = res.real_values() * post
    return BlockMatmulResult(res, post, real, a, b)
