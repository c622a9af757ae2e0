"""MPFR (gmpy2) oracle of the vector unit's correctly rounded functions, and input sweeps."""
from __future__ import annotations

import gmpy2
import numpy as np

from hwsim.codec import decode
from hwsim.formats import format as parse_format

GMODES = {"rne": gmpy2.RoundToNearest, "rtz": gmpy2.RoundToZero, "rup": gmpy2.RoundUp,
          "rdn": gmpy2.RoundDown}


def target_context(fmt, mode):
    """An MPFR context rounding exactly as the float format does (subnormals included)."""
    f = parse_format(fmt)
    return gmpy2.context(precision=f.man_bits + 1, emax=f.emax + 1,
                         emin=f.emin - f.man_bits + 1, subnormalize=True, round=GMODES[mode])


def _hi(name, x):
    if name == "exp":
        return gmpy2.exp(x)
    if name == "log":
        return gmpy2.log(x)
    if name == "tanh":
        return gmpy2.tanh(x)
    if name == "erf":
        return gmpy2.erf(x)
    if name == "rsqrt":
        return gmpy2.rec_sqrt(x)
    return 1 / (1 + gmpy2.exp(-x))  # sigmoid: exact at 400 bits except x = 0 (exact 1/2)


def mpfr_fn(name, xs, fmt, mode="rne") -> np.ndarray:
    """name(x) correctly rounded into ``fmt`` by MPFR, as float64 (NaN for NaN)."""
    ctx = target_context(fmt, mode)
    p = parse_format(fmt).man_bits + 1
    below_one = float(1 - gmpy2.mpfr(2) ** -p)
    out = np.empty(len(xs))
    for i, x in enumerate(xs.tolist()):
        if name != "sigmoid":  # MPFR's own correctly rounded function in the target context
            with ctx:
                out[i] = float(_hi(name, gmpy2.mpfr(x, 53)))
            continue
        if 4 * p < x < float("inf"):  # 1 - 2^-(p+4) < sigmoid(x) < 1: known without evaluating
            out[i] = below_one if mode in ("rtz", "rdn") else 1.0
            continue
        with gmpy2.context(precision=400, emin=-10**6, emax=10**6):
            v = _hi(name, gmpy2.mpfr(x, 53))  # within 2^-390 relative; never a midpoint (x != 0)
        with ctx:
            out[i] = float(+v)
    return out


def all_values(fmt) -> np.ndarray:
    """Every finite and infinite value of a 16-bit-or-less float format (NaNs left out)."""
    f = parse_format(fmt)
    v = decode(np.arange(1 << f.bits, dtype=np.uint64).astype(f.code_dtype), f)
    return v[~np.isnan(v)]


def same(a, b) -> np.ndarray:
    """Element-wise equality of values, NaN equal to NaN, -0 distinct from +0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))
