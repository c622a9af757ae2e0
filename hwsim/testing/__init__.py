"""Tools for property-based tests of low-precision code against hwsim.

Needs ``hypothesis`` (``pip install hwsim[test]``).  Contents: hypothesis
strategies (:mod:`hwsim.testing.strategies`, re-exported), ``reference`` (the
pure-Python oracle :mod:`hwsim.reference`, loaded on first use),
:func:`assert_codes_equal` and :func:`assert_bits_equal`; see docs/architecture.md,
"Testing tools".

>>> import numpy as np, hwsim
>>> from hwsim.testing import assert_codes_equal
>>> f = hwsim.format("float8_e4m3fn")
>>> assert_codes_equal(np.array([56, 126], np.uint8), np.array([56, 126], np.uint8), f)
"""
from __future__ import annotations

import importlib
import math
from fractions import Fraction

import numpy as np

from ..formats import format as parse_format
from . import strategies
from .strategies import (
    ALL_MODES,
    DETERMINISTIC_MODES,
    TIE_ALPHAS,
    arrays_of,
    codes,
    edge_values,
    finite_codes,
    fixed_formats,
    float_formats,
    int_formats,
    next_up_value,
    overflow_thresholds,
    representable_values,
    rounding_modes,
    subnormal_boundaries,
    values_near_ties,
)

__all__ = [
    "strategies", "reference", "assert_codes_equal", "assert_bits_equal",
    "float_formats", "int_formats", "fixed_formats", "codes", "finite_codes",
    "values_near_ties", "subnormal_boundaries", "overflow_thresholds", "arrays_of",
    "rounding_modes", "representable_values", "edge_values", "next_up_value",
    "TIE_ALPHAS", "DETERMINISTIC_MODES", "ALL_MODES",
]


def __getattr__(name: str):
    # ``hwsim.testing.reference`` is the exact oracle, imported lazily so that
    # importing the strategies stays cheap.
    if name == "reference":
        mod = importlib.import_module("hwsim.reference")
        globals()["reference"] = mod
        return mod
    raise AttributeError(f"module 'hwsim.testing' has no attribute {name!r}")


def _fmt_value(v) -> str:
    if isinstance(v, Fraction):
        f = float(v)
        if Fraction(f) == v:
            return repr(f)
        return f"{v} (~{f!r})"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return repr(v)


def _describe(fmt, code: int) -> str:
    width = fmt.bits
    hexw = (width + 3) // 4
    bits = format(code, f"0{width}b")
    if fmt.kind == "float":
        s = 1 if fmt.signed else 0
        parts = [bits[:s], bits[s:s + fmt.exp_bits], bits[s + fmt.exp_bits:]]
        bits = "_".join(p for p in parts if p)
        cls = fmt.classify(code)
        val = _fmt_value(fmt.decode_exact(code))
        if cls == "zero" and fmt.signed and code & fmt.sign_bit and fmt.has_negzero:
            val = "-0.0"
        return f"0x{code:0{hexw}x} (0b{bits}) = {val} [{cls}]"
    return f"0x{code:0{hexw}x} (0b{bits}) = {_fmt_value(fmt.decode_exact(code))}"


def assert_codes_equal(got, expected, fmt, *, nan_equal: bool = False, x=None) -> None:
    """Assert two code arrays are equal, explaining the first difference.

    Parameters
    ----------
    got, expected : array_like of codes (unsigned integers below ``2**fmt.bits``)
    fmt : scalar format object or name
    nan_equal : bool
        Treat any two NaN codes as equal (e.g. ml_dtypes keeps the NaN's sign,
        hwsim writes the canonical NaN).
    x : array_like, optional
        The inputs that were encoded; the differing input is shown too.

    Raises
    ------
    AssertionError
        With the count of differing elements, the first one's index, both
        codes in hex and binary (fields separated by ``_``) and their values.
    """

    fmt = parse_format(fmt)
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.shape != e.shape:
        raise AssertionError(f"shapes differ: got {g.shape}, expected {e.shape}")
    for name, a in (("got", g), ("expected", e)):
        if a.dtype.kind not in "ui":
            raise AssertionError(f"{name} must hold integer codes, got dtype {a.dtype}")
    g64 = g.astype(np.uint64, copy=False)
    e64 = e.astype(np.uint64, copy=False)
    diff = g64 != e64
    if nan_equal and fmt.kind == "float" and diff.any():
        idx = np.flatnonzero(diff)
        both_nan = np.array([fmt.classify(int(g64.flat[i])) == "nan"
                             and fmt.classify(int(e64.flat[i])) == "nan" for i in idx],
                            dtype=bool)
        diff.flat[idx[both_nan]] = False
    if not diff.any():
        return
    n = int(diff.sum())
    first = int(np.flatnonzero(diff)[0])
    where = tuple(int(i) for i in np.unravel_index(first, g.shape)) if g.ndim > 1 else first
    gc, ec = int(g64.flat[first]), int(e64.flat[first])
    msg = [f"{n} of {g.size} codes of {fmt.name} differ; first at index {where}:",
           f"  got      {_describe(fmt, gc)}",
           f"  expected {_describe(fmt, ec)}",
           f"  xor      0x{gc ^ ec:x}"]
    if x is not None:
        xa = np.asarray(x)
        xv = xa.flat[first] if xa.shape == g.shape else None
        if xv is not None:
            msg.append(f"  input    {float(xv)!r} ({float(xv).hex()})")
    raise AssertionError("\n".join(msg))


def assert_bits_equal(got, expected) -> None:
    """Assert two arrays of values are identical bit for bit: same shape, and
    element by element the same number *and* the same sign of zero.

    ``numpy.testing.assert_array_equal`` counts ``-0.0 == +0.0``; this does not.
    Float arrays are compared as float64 (exact for every hwsim value): the
    sign bits, the NaN positions and the non-NaN values must all match (NaN
    payloads are not compared: decoded values carry none).  Integer arrays
    are compared as integers; a float array against an integer one compares
    exactly, number by number (an integer 0 expects +0.0).

    >>> import numpy as np
    >>> assert_bits_equal(np.array([0.0, -1.5]), [0.0, -1.5])
    >>> assert_bits_equal(np.array([-0.0]), [0.0])
    Traceback (most recent call last):
    ...
    AssertionError: 1 of 1 values differ in bits; first at index 0: got -0.0, expected 0.0
    """
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape:
        raise AssertionError(f"shapes differ: got {g.shape}, expected {e.shape}")
    ints = (g.dtype.kind in "iub", e.dtype.kind in "iub")
    if all(ints):
        diff = g.astype(object) != e.astype(object)
    elif any(ints):  # Python int == float is exact; an integer 0 is +0.0
        f = e if ints[0] else g
        diff = (g.astype(object) != e.astype(object)) | np.signbit(f.astype(np.float64))
    else:
        g64, e64 = g.astype(np.float64), e.astype(np.float64)
        gn, en = np.isnan(g64), np.isnan(e64)
        both = ~gn & ~en
        diff = (gn != en) | (both & (np.signbit(g64) != np.signbit(e64))) | (both & (g64 != e64))
    diff = np.asarray(diff, dtype=bool)
    if not diff.any():
        return
    first = int(np.flatnonzero(diff)[0])
    where = tuple(int(i) for i in np.unravel_index(first, g.shape)) if g.ndim > 1 else first
    raise AssertionError(f"{int(diff.sum())} of {g.size} values differ in bits; first at index "
                         f"{where}: got {g.flat[first].item()!r}, expected {e.flat[first].item()!r}")
