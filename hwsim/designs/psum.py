"""Partial-sum encodings between K tiles (shared by the designs that tile K).

After each tile of ``T`` terms an integer partial sum leaves the MAC array and is
stored in ``bits`` bits, then summed exactly by a wide psum adder:

* ``none``: stored losslessly (the reference point);
* ``shared_exp``: a scaled integer with one shared exponent per tile and output
  row: ``e = max(0, bitlen(max_n |P|) - (bits - 1))``, ``q = round(P / 2^e)``
  (``rounding``: ``rne`` or ``rtz``) saturated to ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]``,
  reloaded as ``q * 2^e``.  The exponent costs ``exp_bits`` (6) per tile row.
* a float format name (e.g. ``float16``, ``e5m6``): the partial sum rounded into it
  (``rounding``, saturating), reloaded exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec import decode, encode
from ..errors import check_int
from ..formats import format as parse_format

__all__ = ["PsumEncoding", "encode_partial_sums"]

EXP_BITS = 6  #: bits of a shared exponent (covers shifts 0..63)


@dataclass(frozen=True)
class PsumEncoding:
    """How partial sums are stored between tiles (module doc)."""

    kind: str = "none"       #: "none", "shared_exp" or a float format name
    bits: int = 12           #: bits of each stored element (shared_exp)
    rounding: str = "rne"

    def __post_init__(self):
        if self.kind not in ("none", "shared_exp"):
            f = parse_format(self.kind)
            if f.kind != "float":
                raise ValueError(f"psum encoding must be 'none', 'shared_exp' or a float format "
                                 f"name, got {self.kind!r}")
        check_int("psum bits", self.bits, 2, 62)
        if self.rounding not in ("rne", "rtz"):
            raise ValueError(f"psum rounding must be 'rne' or 'rtz', got {self.rounding!r}")

    @property
    def stored_bits(self) -> int:
        """Bits per stored partial sum (the float format's width for float kinds)."""
        if self.kind == "none":
            return 64
        if self.kind == "shared_exp":
            return self.bits
        return parse_format(self.kind).bits

    def to_dict(self) -> dict:
        return dict(kind=self.kind, bits=self.bits, rounding=self.rounding)


def _round_shift(p: np.ndarray, e: np.ndarray, rounding: str) -> np.ndarray:
    """round(p / 2^e) for int64 p and per-row shifts e >= 0, exactly."""
    q = p >> e                                   # floor
    rem = p - (q << e)                           # in [0, 2^e)
    if rounding == "rtz":
        return np.where((p < 0) & (rem != 0), q + 1, q)
    half = np.where(e > 0, np.int64(1) << np.maximum(e - 1, 0), 0)
    up = (e > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
    return q + up.astype(np.int64)


def encode_partial_sums(p: np.ndarray, enc: PsumEncoding):
    """(reloaded int64 partial sums, number of saturated elements) of int64 ``p [M, N]``."""
    p = np.asarray(p, dtype=np.int64)
    if enc.kind == "none":
        return p, 0
    if enc.kind == "shared_exp":
        hi = (1 << (enc.bits - 1)) - 1
        top = np.max(np.abs(p), axis=-1, keepdims=True)
        blen = np.array([int(v).bit_length() for v in top.reshape(-1)],
                        dtype=np.int64).reshape(top.shape)
        e = np.maximum(0, blen - (enc.bits - 1))
        q = _round_shift(p, e, enc.rounding)
        sat = int(np.count_nonzero(np.abs(q) > hi))
        return np.clip(q, -hi, hi) << e, sat
    f = parse_format(enc.kind)
    codes = encode(p.astype(np.float64), f, enc.rounding, "saturate")
    v = np.asarray(decode(codes, f), dtype=np.float64)
    sat = int(np.count_nonzero(np.abs(p) > f.max_finite))
    if not np.all(v == np.rint(v)):  # p is an integer, so its rounding is one unless it underflows
        raise ValueError(f"psum format {f.name} cannot hold integer partial sums (values below 1)")
    return v.astype(np.int64), sat
