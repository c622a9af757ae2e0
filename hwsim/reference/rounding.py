"""Reference rounding primitives: a rational rounded to an integer (the G/T/L
table of docs/semantics.md), and the counter-based random words of ``sr``."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..modes import RoundingMode

_MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Rounding: the G/T/L table (same order as docs/semantics.md)
# ---------------------------------------------------------------------------
def _round_nd(n: int, d: int, mode: RoundingMode, negative: bool, r: int, R: int):
    """Round the non-negative rational n/d to an integer; returns (K, inexact)."""
    K, rem = divmod(n, d)
    G = 2 * rem >= d  # first bit below the LSB
    T = (2 * rem) % d != 0  # OR of all the bits below G
    L = K & 1
    if mode == RoundingMode.RNE:
        inc = G and (T or L)
    elif mode == RoundingMode.RNA:
        inc = G
    elif mode == RoundingMode.RTZ:
        inc = False
    elif mode == RoundingMode.RUP:
        inc = (G or T) and not negative
    elif mode == RoundingMode.RDN:
        inc = (G or T) and negative
    elif mode == RoundingMode.RTO:
        inc = False
        if G or T:
            K |= 1
    else:  # SR: the r bits below the LSB (zero padded, lower ones dropped) + R
        top = (rem << r) // d
        inc = (top + (R & ((1 << r) - 1))) >> r
    return K + int(inc), rem != 0


def round_to_integer(x, rounding="rne", sign_negative: bool = False, sr_bits=None, rand=None):
    """Round a non-negative exact magnitude to an integer with the mode table.

    Parameters
    ----------
    x : Fraction (or int / float), >= 0
        The magnitude |value| / 2^q.
    rounding : mode name or :class:`~hwsim.modes.RoundingMode`
    sign_negative : bool
        Sign of the value (matters for ``rup`` / ``rdn`` only).
    sr_bits, rand : int
        For ``sr``: r random bits, and the uint32 word whose low r bits are added.

    Returns
    -------
    (K, inexact) : (int, bool)

    >>> round_to_integer(Fraction(7, 2), "rne"), round_to_integer(Fraction(5, 2), "rna")
    ((4, True), (3, True))
    >>> round_to_integer(Fraction(9, 4), "rdn", sign_negative=True)
    (3, True)
    >>> round_to_integer(Fraction(9, 4), "sr", sr_bits=2, rand=3)   # .01 + 11 carries
    (3, True)
    """
    mode = RoundingMode.parse(rounding)
    x = Fraction(x)
    if x < 0:
        raise ValueError(f"x must be >= 0 (a magnitude), got {x}")
    r, R = _sr_params(mode, sr_bits, rand, None, None)
    return _round_nd(x.numerator, x.denominator, mode, bool(sign_negative), r, R)


def random_word(seed: int, index: int) -> int:
    """The counter-based generator: high 32 bits of splitmix64(seed + (index+1) * golden).

    >>> random_word(0, 0) == (0xE220A8397B1DCDAF >> 32)   # splitmix64's first output for seed 0
    True
    """
    for name, v in (("seed", seed), ("index", index)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < 2**64:
            raise ValueError(f"{name} must be an integer in [0, 2**64), got {v!r}")
    z = (int(seed) + (int(index) + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z >> 32


def _sr_params(mode, sr_bits, rand, seed, index):
    if mode != RoundingMode.SR:
        if sr_bits is not None or rand is not None:
            raise ValueError("sr_bits and rand apply to rounding='sr' only")
        return 0, 0
    if isinstance(sr_bits, bool) or not isinstance(sr_bits, (int, np.integer)) or not 1 <= sr_bits <= 32:
        raise ValueError(f"sr_bits must be an integer in [1, 32] for rounding='sr', got {sr_bits!r}")
    if rand is None:
        rand = random_word(seed or 0, index or 0)
    if isinstance(rand, bool) or not isinstance(rand, (int, np.integer)) or not 0 <= rand < 2**32:
        raise ValueError(f"rand must be a uint32 word in [0, 2**32), got {rand!r}")
    return int(sr_bits), int(rand)
