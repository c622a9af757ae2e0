"""Reference oracle for block and codebook formats (MX, NVFP4, BFP, codebooks, PWLQ).

Pure Python: ints and ``fractions.Fraction``, one element at a time, written
from the definitions in docs/numerics.md ("Block formats", "Codebooks and
PWLQ"); it imports the format objects of :mod:`hwsim.formats` and no codec
or kernel code.  numpy is
used only to move the block axis and to hand arrays back; no value passes
through numpy arithmetic, except PWLQ, whose definition *is* IEEE float64
arithmetic and is reproduced here with Python floats.

Every ``*_quantize`` returns ``(codes, scales)`` as numpy arrays in the
layout of the fast path (codes shaped like x; scales shaped like x with the
block-axis length replaced by the number of blocks); ``*_decode`` returns
float64 values computed as exact Fractions and converted once.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..formats import E2M1, E4M3, PRESETS, BFPFormat, CodebookFormat, FloatFormat, MXFormat, PWLQFormat

# the rounding primitives (round_to_float, round_to_int, float_code, splitmix_rand)
# stay module-level helpers, not exported through hwsim.reference
__all__ = [
    "mx_quantize", "mx_decode",
    "nvfp4_tensor_scale", "nvfp4_quantize", "nvfp4_decode",
    "bfp_quantize", "bfp_decode",
    "codebook_quantize", "codebook_decode", "pack_nibbles_ref",
    "pwlq_quantize", "pwlq_decode",
]

_F32 = PRESETS["float32"]
_F64 = PRESETS["float64"]
_HALF = Fraction(1, 2)
_MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# rounding primitives
# ---------------------------------------------------------------------------
def splitmix_rand(seed: int, index: int, r: int) -> int:
    """Low r bits of the counter-based generator word for element ``index``."""
    z = (seed + (index + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 32) & ((1 << r) - 1)


def round_to_int(mag: Fraction, negative: bool, mode: str, rnd: int = 0, sr_bits: int = 0) -> int:
    """Round a magnitude mag >= 0 of a value of the given sign to an integer magnitude."""
    k = mag.numerator // mag.denominator
    rem = mag - k
    if rem == 0:
        return k
    if mode == "sr":
        top = math.floor(rem * (1 << sr_bits))
        return k + (top + rnd) // (1 << sr_bits)
    if mode == "rne":
        return k + (rem > _HALF or (rem == _HALF and k % 2 == 1))
    if mode == "rna":
        return k + (rem >= _HALF)
    if mode == "rtz":
        return k
    if mode == "rup":
        return k + (not negative)
    if mode == "rdn":
        return k + bool(negative)
    if mode == "rto":
        return k | 1
    raise ValueError(f"unknown rounding mode {mode!r}")


_POW2: dict = {}


def _pow2(e: int) -> Fraction:
    """2^e as a Fraction (memoised: the oracle asks for the same few powers)."""
    p = _POW2.get(e)
    if p is None:
        p = _POW2[e] = Fraction(2) ** e
    return p


_DECODED: dict = {}


def _decode_exact(fmt, code: int):
    """fmt.decode_exact(code), memoised per (format, code)."""
    key = (fmt, code)
    v = _DECODED.get(key)
    if v is None:
        v = _DECODED[key] = fmt.decode_exact(code)
    return v


def _floor_log2(a: Fraction) -> int:
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if _pow2(e) > a:
        e -= 1
    return e


def round_to_float(v: Fraction, fmt: FloatFormat, mode: str = "rne", rnd: int = 0,
                   sr_bits: int = 0, overflow: str = "saturate"):
    """v rounded into fmt's value set (a Fraction), or +-inf under
    overflow='inf'.  Zero comes back as Fraction(0) (the sign is the caller's)."""
    if v == 0:
        return Fraction(0)
    neg = v < 0
    a = -v if neg else v
    E = _floor_log2(a)
    M = fmt.man_bits
    if E >= fmt.emin:
        q = E - M
    else:
        q = fmt.emin - M if fmt.subnormals else fmt.emin
    k = round_to_int(a / _pow2(q), neg, mode, rnd, sr_bits)
    res = k * _pow2(q)
    if res > Fraction(fmt.max_finite):
        if overflow == "inf":
            return -math.inf if neg else math.inf
        res = Fraction(fmt.max_finite)
    return -res if neg else res


_CODE_TABLES: dict = {}


def float_code(value: Fraction, negative: bool, fmt: FloatFormat) -> int:
    """Code of a finite value of fmt (negative: the sign to use for a zero)."""
    tab = _CODE_TABLES.get(fmt)
    if tab is None:
        tab = {}
        for c in range(1 << fmt.bits):
            if fmt.signed and c & fmt.sign_bit:
                continue
            d = fmt.decode_exact(c)
            if isinstance(d, Fraction):
                tab.setdefault(d, c)
        _CODE_TABLES[fmt] = tab
    if value == 0:
        return fmt.sign_bit if (negative and fmt.has_negzero) else 0
    c = tab[abs(value)]
    return c | fmt.sign_bit if value < 0 else c


def _frac(x) -> Fraction | None:
    """Exact Fraction of a finite float, None for NaN / Inf."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return Fraction(x)


def _neg(x) -> bool:
    return math.copysign(1.0, float(x)) < 0


# ---------------------------------------------------------------------------
# block iteration
# ---------------------------------------------------------------------------
def _rows(x, axis):
    """(list of rows (lists of Python floats), moved shape, axis or None, orig shape)."""
    xa = np.asarray(x)
    if axis is None or xa.ndim == 0:
        return [list(map(float, xa.reshape(-1)))], (xa.size,), None, xa.shape
    ax = axis % xa.ndim
    xm = np.moveaxis(xa, ax, -1)
    n = xm.shape[-1]
    rows = [list(map(float, r)) for r in xm.reshape(-1, n)] if n else \
        [[] for _ in range(int(np.prod(xm.shape[:-1])))]
    return rows, xm.shape, ax, xa.shape


def _back(rows_out, moved, ax, dtype, shape=None):
    a = np.array(rows_out, dtype=dtype).reshape(moved)
    if ax is None:
        return a if shape is None else a.reshape(shape)
    return np.moveaxis(a, -1, ax).copy()


def _blocks(row, bs):
    return [row[i:i + bs] for i in range(0, len(row), bs)]


def _quantize_blocks(x, axis, bs, block, code_dtype, scale_dtype):
    """Run ``block(ri, bi, blk, first)`` over every block of x along axis (``ri``,
    ``bi``: row and block number, ``blk``: its Python floats, ``first``: the flat
    index of its first element, block axis last) and stack the ``(scale, codes)``
    it returns as (codes shaped like x, scales with the block axis's length
    replaced by the number of blocks)."""
    rows, moved, ax, shape = _rows(x, axis)
    n = moved[-1]
    codes_out, scales_out = [], []
    for ri, row in enumerate(rows):
        crow, srow = [], []
        for bi, blk in enumerate(_blocks(row, bs)):
            scale, codes = block(ri, bi, blk, ri * n + bi * bs)
            srow.append(scale)
            crow.extend(codes)
        codes_out.append(crow)
        scales_out.append(srow)
    return (_back(codes_out, moved, ax, code_dtype, shape),
            _back(scales_out, moved[:-1] + (-(-n // bs),), ax, scale_dtype))


def _mode(rounding) -> str:
    return rounding.short if hasattr(rounding, "short") else str(rounding).lower()


# ---------------------------------------------------------------------------
# MX
# ---------------------------------------------------------------------------
def _given_rows(scales, axis):
    """Caller scale codes as rows of ints (block axis last), or None."""
    if scales is None:
        return None
    return [[int(s) for s in row] for row in _rows(np.asarray(scales), axis)[0]]


def _mx_saturated(negative: bool, fmt: MXFormat) -> int:
    if fmt.is_int:
        return ((-(-fmt.int8_min)) & 0xFF) if negative else 127
    top = float_code(Fraction(fmt.elem.max_finite), False, fmt.elem)
    return top | fmt.elem.sign_bit if negative else top


def _element_codes(vals, blk, idxs, mode, sr_bits, seed, saturated, encode) -> list:
    """The element codes of one block with a known scale: ``encode(value, input,
    random bits)`` for every element; ``saturated(negative)`` for an element
    without an exact value (Inf, only with caller scales); NaN there is an error."""
    crow = []
    for v, xf, idx in zip(vals, blk, idxs):
        rnd = splitmix_rand(seed, idx, sr_bits) if mode == "sr" else 0
        if v is None:
            if math.isnan(xf):
                raise ValueError("NaN element in a block with a non-NaN scale")
            crow.append(saturated(xf < 0))
        else:
            crow.append(encode(v, xf, rnd))
    return crow


def mx_quantize(x, fmt: MXFormat, axis=-1, rounding="rne", sr_bits=None, seed=0, index0=0,
                scales=None):
    """OCP MX reference: (element codes, E8M0 scale codes).  ``scales``: the
    caller's E8M0 codes (shaped like the result's) used instead of computed ones."""
    mode = _mode(rounding)
    given = _given_rows(scales, axis)

    def block(ri, bi, blk, first):
        vals = [_frac(v) for v in blk]
        if given is not None:
            se = None if given[ri][bi] == 0xFF else given[ri][bi] - 127
        elif any(v is None for v in vals):
            se = None
        else:
            amax = max(abs(v) for v in vals)
            se = -127 if amax == 0 else _floor_log2(amax) - fmt.emax_elem
            se = None if se > 127 else max(se, -127)
        if se is None:
            return 0xFF, [0] * len(blk)
        crow = _element_codes(
            vals, blk, [index0 + first + j for j in range(len(blk))], mode, sr_bits, seed,
            lambda neg: _mx_saturated(neg, fmt),
            lambda v, xf, rnd: _mx_elem(v / _pow2(se), _neg(xf), fmt, mode, rnd, sr_bits or 0))
        return se + 127, crow

    return _quantize_blocks(x, axis, fmt.block_size, block, fmt.code_dtype, np.uint8)


def _mx_elem(q: Fraction, negative: bool, fmt: MXFormat, mode, rnd, r) -> int:
    if fmt.is_int:
        k = round_to_int(abs(q) * 64, q < 0, mode, rnd, r)
        lim = -fmt.int8_min if q < 0 else 127
        k = min(k, lim)
        return (-k if q < 0 else k) & 0xFF
    v = round_to_float(q, fmt.elem, mode, rnd, r)
    return float_code(v, negative, fmt.elem)


def mx_decode(codes, scales, fmt: MXFormat, axis=-1):
    """Values of MX codes: element * 2^(scale - 127), NaN for scale 0xFF."""
    return _decode_blocks(codes, scales, fmt.block_size, axis,
                          lambda c, s: _mx_value(int(c), int(s), fmt))


def _mx_value(c: int, s: int, fmt: MXFormat) -> float:
    if s == 0xFF:
        return math.nan
    if fmt.is_int:
        e = Fraction(c - 256 if c >= 128 else c, 64)
    else:
        e = _decode_exact(fmt.elem, c)
        if not isinstance(e, Fraction):
            return e
    if e == 0:
        return -0.0 if (not fmt.is_int and c & fmt.elem.sign_bit) else 0.0
    return float(e * _pow2(s - 127))


def _decode_blocks(codes, scales, bs, axis, fn):
    rows, moved, ax, shape = _rows(np.asarray(codes), axis)
    srows, _, _, _ = _rows(np.asarray(scales), axis)
    out = []
    for row, srow in zip(rows, srows):
        out.append([fn(c, srow[i // bs]) for i, c in enumerate(row)])
    return _back(out, moved, ax, np.float64, shape)


# ---------------------------------------------------------------------------
# NVFP4
# ---------------------------------------------------------------------------
def _fl32(v: Fraction):
    return round_to_float(v, _F32, "rne", overflow="inf")


def nvfp4_tensor_scale(x, arithmetic="float32") -> Fraction:
    """Default FP32 tensor scale: fl32(amax / 2688) over the finite values
    (float32: of the float32-rounded inputs, one float32 division; exact: the
    exact quotient rounded once), at least 2^-117; 1 for an all-zero tensor."""
    vals = []
    for v in np.asarray(x, dtype=np.float64).reshape(-1):
        f = _frac(v)
        if f is None:
            continue
        if arithmetic == "float32":
            f = _fl32(f)
            if not isinstance(f, Fraction):
                continue
        vals.append(abs(f))
    amax = max(vals, default=Fraction(0))
    if amax == 0:
        return Fraction(1)
    ts = _fl32(amax / 2688)
    if not isinstance(ts, Fraction):  # "exact": amax / 2688 beyond float32
        raise ValueError("the default tensor scale amax / 2688 is beyond float32")
    return max(ts, Fraction(1, 2 ** 117))


def nvfp4_quantize(x, fmt, axis=-1, rounding="rne", tensor_scale=None, arithmetic="float32",
                   sr_bits=None, seed=0, index0=0, scales=None):
    """NVFP4 reference: (E2M1 codes, E4M3 scale codes, tensor scale as float).
    ``scales``: the caller's E4M3 codes used instead of computed ones."""
    mode = _mode(rounding)
    given = _given_rows(scales, axis)
    ts = nvfp4_tensor_scale(x, arithmetic) if tensor_scale is None \
        else Fraction(float(tensor_scale))
    f32 = arithmetic == "float32"

    def block(ri, bi, blk, first):
        vals = [_frac(v) for v in blk]
        if f32:
            vals = [None if v is None else _fl32(v) for v in vals]
            vals = [v if isinstance(v, Fraction) else None for v in vals]
        if given is not None:
            s = None if given[ri][bi] == 0x7F else _decode_exact(E4M3, given[ri][bi])
        elif any(v is None for v in vals):
            s = None
        else:
            amax = max(abs(v) for v in vals)
            q = _fl32(amax / _fl32(6 * ts)) if f32 else amax / (6 * ts)
            if q == 0:
                s = Fraction(1)
            else:
                q = min(max(q, Fraction(1, 512)), Fraction(448))
                s = round_to_float(q, E4M3, "rne")
        if s is None:
            return 0x7F, [0] * len(blk)
        def elem(v, xf, rnd):
            if f32:
                e = _fl32(v / _fl32(s * ts))
                if not isinstance(e, Fraction):  # float32 overflow: saturate
                    e = Fraction(6) if e > 0 else Fraction(-6)
            else:
                e = v / (s * ts)
            return float_code(round_to_float(e, E2M1, mode, rnd, sr_bits or 0), _neg(xf), E2M1)

        # None elements (caller scales only): Inf or a float32 overflow saturates
        crow = _element_codes(vals, blk, [index0 + first + j for j in range(len(blk))], mode,
                              sr_bits, seed, lambda neg: 0xF if neg else 0x7, elem)
        return float_code(s, False, E4M3), crow

    codes, scale_codes = _quantize_blocks(x, axis, fmt.block_size, block, np.uint8, np.uint8)
    return codes, scale_codes, float(ts)


def nvfp4_decode(codes, scales, tensor_scale, fmt, axis=-1):
    """Values: e2m1 * e4m3 * tensor_scale (NaN for scale 0x7F)."""
    ts = Fraction(float(tensor_scale))

    def val(c, s):
        sv = _decode_exact(E4M3, int(s))
        if not isinstance(sv, Fraction):
            return math.nan
        ev = _decode_exact(E2M1, int(c))
        r = ev * sv * ts
        if r == 0:
            return -0.0 if int(c) & E2M1.sign_bit else 0.0
        return float(r)

    return _decode_blocks(codes, scales, fmt.block_size, axis, val)


# ---------------------------------------------------------------------------
# BFP
# ---------------------------------------------------------------------------
def bfp_quantize(x, fmt: BFPFormat, axis=-1, rounding="rne", sr_bits=None, seed=0, index0=0,
                 scales=None):
    """BFP reference: (element codes, biased shared exponents).  ``scales``: the
    caller's biased exponents used instead of computed ones."""
    mode = _mode(rounding)
    given = _given_rows(scales, axis)
    m = fmt.man_bits
    bias = fmt.exp_bias
    twos = fmt.mantissa == "twos_complement"

    def block(ri, bi, blk, first):
        if any(math.isnan(v) for v in blk):
            raise ValueError("NaN input")
        exps = [math.inf if math.isinf(v) else _floor_log2(abs(Fraction(v)))
                for v in blk if v != 0]
        E = max(exps, default=-math.inf)
        E = int(min(max(E, -bias), bias + 1))
        if given is not None:
            E = given[ri][bi] - bias
        crow = []
        for j, v in enumerate(blk):
            idx = index0 + first + j
            rnd = splitmix_rand(seed, idx, sr_bits) if mode == "sr" else 0
            neg = _neg(v)
            lim = (1 << m) if (twos and neg) else (1 << m) - 1
            if math.isinf(v):
                k = lim
            else:
                k = round_to_int(abs(Fraction(v)) * _pow2(m - 1 - E), neg, mode,
                                 rnd, sr_bits or 0)
                k = min(k, lim)
            if twos:
                crow.append((-k if neg else k) & ((1 << (m + 1)) - 1))
            else:
                crow.append((int(neg) << m) | k)
        return E + bias, crow

    return _quantize_blocks(x, axis, fmt.block_size, block, fmt.code_dtype, np.uint16)


def bfp_decode(codes, scales, fmt: BFPFormat, axis=-1):
    """Values: +-k * 2^(E - man_bits + 1)."""
    m = fmt.man_bits

    def val(c, s):
        c = int(c)
        if fmt.mantissa == "twos_complement":
            k = c - (1 << (m + 1)) if c >> m else c
        else:
            k = -(c & ((1 << m) - 1)) if c >> m else c
        r = k * _pow2(int(s) - fmt.exp_bias - m + 1)
        if r == 0:
            return -0.0 if (fmt.mantissa == "sign_magnitude" and c >> m) else 0.0
        return float(r)

    return _decode_blocks(codes, scales, fmt.block_size, axis, val)


# ---------------------------------------------------------------------------
# codebooks
# ---------------------------------------------------------------------------
def codebook_quantize(x, fmt: CodebookFormat, axis=-1):
    """Codebook reference: (codes, float32 absmax per block)."""
    cb = [Fraction(v) for v in fmt.values]

    def block(ri, bi, blk, first):
        vals = [Fraction(v) for v in blk]
        absmax = round_to_float(max(abs(v) for v in vals), _F32, "rne", overflow="inf")
        crow = []
        for v in vals:
            y = Fraction(0) if absmax == 0 else round_to_float(v / absmax, _F64, "rne")
            y = min(max(y, Fraction(-1)), Fraction(1))
            dist = [abs(y - c) for c in cb]
            crow.append(dist.index(min(dist)))  # first minimum: ties to the lower index
        return float(absmax), crow

    return _quantize_blocks(x, axis, fmt.block_size, block, np.uint8, np.float32)


def codebook_decode(codes, scales, fmt: CodebookFormat, axis=-1):
    """Values: fl64(values[code] * absmax)."""
    def val(c, s):
        v, s = fmt.values[int(c)], float(s)
        r = float(round_to_float(Fraction(v) * Fraction(s), _F64))
        # a zero result keeps the IEEE sign of the product (a -0.0 entry, or an underflow)
        return math.copysign(r, math.copysign(1.0, v) * math.copysign(1.0, s)) if r == 0 else r

    return _decode_blocks(codes, scales, fmt.block_size, axis, val)


def pack_nibbles_ref(codes, order="high_first") -> list:
    """Two 4-bit codes per byte, C order, odd count padded with 0."""
    flat = [int(c) for c in np.asarray(codes).reshape(-1)]
    if len(flat) % 2:
        flat.append(0)
    out = []
    for a, b in zip(flat[0::2], flat[1::2]):
        out.append((a << 4) | b if order == "high_first" else (b << 4) | a)
    return out


# ---------------------------------------------------------------------------
# PWLQ (float64 arithmetic by definition)
# ---------------------------------------------------------------------------
def _pwlq_one(x: float, m: float, p: float, fmt: PWLQFormat) -> int:
    bc, bt = fmt.center_bits, fmt.tail_bits
    pb = max(bc, bt)
    if m == 0.0:
        return 0
    if -p < x < p:
        sc = (2.0 * p) / float(2 ** bc - 1)
        k = round(min(max(x, -p), p) / sc)  # Python round: half to even
        k = min(max(k, -(2 ** (bc - 1))), 2 ** (bc - 1) - 1)
        return k & (2 ** bc - 1)
    st = (m - p) / float(2 ** (bt - 1) - 1)
    kmax = 2 ** (bt - 1) - 1
    if x <= -p:
        k = round((min(max(x, -m), -p) + m) / st)
        side = 1
    else:
        k = round((min(max(x, p), m) - p) / st)
        side = 0
    k = min(max(k, 0), kmax)
    return (1 << pb) | (side << (bt - 1)) | k


def _pwlq_val(c: int, m: float, p: float, fmt: PWLQFormat) -> float:
    bc, bt = fmt.center_bits, fmt.tail_bits
    pb = max(bc, bt)
    if not (c >> pb) & 1:
        k = c & (2 ** bc - 1)
        if k >> (bc - 1):
            k -= 2 ** bc
        return 0.0 if m == 0.0 else k * ((2.0 * p) / float(2 ** bc - 1))
    st = (m - p) / float(2 ** (bt - 1) - 1)
    k = c & (2 ** (bt - 1) - 1)
    if (c >> (bt - 1)) & 1:
        return k * st + (-m)
    return k * st + p


def _pwlq_params(xa, axis, maxabs, breakpoint):
    if axis is None:
        return lambda idx: (float(maxabs), float(breakpoint))
    ms = np.asarray(maxabs).reshape(-1)
    ps = np.asarray(breakpoint).reshape(-1)
    return lambda idx: (float(ms[idx[axis]]), float(ps[idx[axis]]))


def pwlq_quantize(x, fmt: PWLQFormat, breakpoint, axis=None):
    """PWLQ reference with given breakpoint(s): (codes, maxabs, breakpoint)."""
    xa = np.asarray(x, dtype=np.float64)
    if axis is None:
        maxabs = max((abs(float(v)) for v in xa.reshape(-1)), default=0.0)
        bp = 0.0 if maxabs == 0 else float(breakpoint)
    else:
        axis = axis % xa.ndim
        chans = np.moveaxis(xa, axis, 0)
        maxabs = [max((abs(float(v)) for v in c.reshape(-1)), default=0.0) for c in chans]
        b = np.broadcast_to(np.asarray(breakpoint, dtype=np.float64), (len(maxabs),))
        bp = [0.0 if mm == 0 else float(bv) for mm, bv in zip(maxabs, b)]
    par = _pwlq_params(xa, axis, maxabs, bp)
    codes = np.zeros(xa.shape, dtype=fmt.code_dtype)
    for idx in np.ndindex(xa.shape):
        m, p = par(idx)
        codes[idx] = _pwlq_one(float(xa[idx]), m, p, fmt)
    return codes, np.asarray(maxabs, dtype=np.float64), np.asarray(bp, dtype=np.float64)


def pwlq_decode(codes, maxabs, breakpoint, fmt: PWLQFormat, axis=None):
    """PWLQ values from codes and (m, p)."""
    c = np.asarray(codes)
    par = _pwlq_params(c, None if axis is None else axis % c.ndim, maxabs, breakpoint)
    out = np.zeros(c.shape, dtype=np.float64)
    for idx in np.ndindex(c.shape):
        m, p = par(idx)
        out[idx] = _pwlq_val(int(c[idx]), m, p, fmt)
    return out
