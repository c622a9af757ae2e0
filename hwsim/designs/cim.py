"""Bit-plane compute-in-memory: a bit-serial MAC over weight and activation bit planes.

Activations (``a_bits``, signed two's complement, per-tensor absmax) and weights
(``w_bits``, signed, per-channel absmax) are split into bit planes; plane ``i`` of a
two's-complement ``b``-bit number weighs ``2^i``, except the sign plane, which
weighs ``-2^(b-1)``.  The array sums ``rows`` wordlines at once: for every group of
``rows`` reduction indices, activation plane ``i`` and weight plane ``j``, the
column current is the popcount ``P = sum_k a_i[k] w_j[k]`` in ``[0, rows]``.

* **ADC** (``adc_bits``): ``P`` (plus seeded Gaussian noise of std ``noise_std``
  unit cells) is clipped to ``[0, adc_range]`` (default ``rows``) and quantized with
  step ``2^max(0, ceil(log2(adc_range + 1)) - adc_bits)`` (the ADC keeps the top
  ``adc_bits`` bits of the full-scale range), rounding ``adc_rounding`` (``rne`` or
  ``floor``).  ``bitflip``: each ADC output bit flips with this probability (seeded).
* **Recombination**: ``Y += s_i s_j 2^(i+j) * ADC(P)`` in a ``recomb_bits`` digital
  register (``recomb_overflow`` ``saturate`` after every add, or ``wrap``), in the
  order group, activation plane, weight plane; ``y = Y * sa * sw``.

With ``adc_bits >= ceil(log2(rows + 1))``, no noise and no flips, every ADC is exact
and ``Y`` equals the digital integer MAC bit for bit (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check_int
from .base import DesignResult, as_matrix_pair, int_matmul, quantize_activations

__all__ = ["CIMDesign", "bit_planes"]


def bit_planes(q: np.ndarray, bits: int):
    """[(plane 0/1 int64 array, signed weight of the plane)] of b-bit two's complement q."""
    u = np.asarray(q, dtype=np.int64) & ((1 << bits) - 1)
    out = []
    for i in range(bits):
        wgt = -(1 << i) if i == bits - 1 else (1 << i)
        out.append(((u >> i) & 1, wgt))
    return out


@dataclass(frozen=True)
class CIMDesign:
    """Bit-plane CIM with per-plane ADCs and digital shift-and-add (module doc)."""

    a_bits: int = 8
    w_bits: int = 8
    rows: int = 64
    adc_bits: int = 7
    adc_range: int | None = None
    adc_rounding: str = "rne"
    noise_std: float = 0.0
    bitflip: float = 0.0
    recomb_bits: int = 32
    recomb_overflow: str = "saturate"
    seed: int = 0
    name = "cim"

    def __post_init__(self):
        check_int("a_bits", self.a_bits, 2, 16)
        check_int("w_bits", self.w_bits, 2, 16)
        check_int("rows", self.rows, 1, 1 << 16)
        check_int("adc_bits", self.adc_bits, 1, 24)
        if self.adc_range is not None:
            check_int("adc_range", self.adc_range, 1, self.rows)
        if self.adc_rounding not in ("rne", "floor"):
            raise ValueError(f"adc_rounding must be 'rne' or 'floor', got {self.adc_rounding!r}")
        if not 0.0 <= float(self.noise_std) < 1e6:
            raise ValueError(f"noise_std must be in [0, 1e6), got {self.noise_std!r}")
        if not 0.0 <= float(self.bitflip) <= 1.0:
            raise ValueError(f"bitflip must be in [0, 1], got {self.bitflip!r}")
        check_int("recomb_bits", self.recomb_bits, 8, 63)
        if self.recomb_overflow not in ("saturate", "wrap"):
            raise ValueError(f"recomb_overflow must be 'saturate' or 'wrap', got "
                             f"{self.recomb_overflow!r}")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "name", "a_bits", "w_bits", "rows", "adc_bits", "adc_range", "adc_rounding",
            "noise_std", "bitflip", "recomb_bits", "recomb_overflow", "seed")}

    @property
    def adc_step(self) -> int:
        full = self.adc_range if self.adc_range is not None else self.rows
        return 1 << max(0, int(full).bit_length() - self.adc_bits)

    def adc(self, p: np.ndarray, rng) -> tuple[np.ndarray, int]:
        """(reconstructed ADC values, number of clipped samples) of column sums p."""
        full = self.adc_range if self.adc_range is not None else self.rows
        v = p.astype(np.float64)
        if self.noise_std > 0:
            v = v + rng.normal(0.0, self.noise_std, size=v.shape)
        clipped = int(np.count_nonzero((v > full) | (v < 0)))
        v = np.clip(v, 0.0, float(full)) / self.adc_step
        code = np.rint(v) if self.adc_rounding == "rne" else np.floor(v)
        top = (1 << self.adc_bits) - 1
        code = np.minimum(code, top).astype(np.int64)
        if self.bitflip > 0:
            flips = rng.random(code.shape + (self.adc_bits,)) < self.bitflip
            mask = (flips * (1 << np.arange(self.adc_bits))).sum(axis=-1)
            code = code ^ mask
        return code * self.adc_step, clipped

    def _add(self, Y, t):
        hi = (1 << (self.recomb_bits - 1)) - 1
        Y = Y + t
        if self.recomb_overflow == "saturate":
            return np.clip(Y, -hi - 1, hi), int(np.count_nonzero((Y > hi) | (Y < -hi - 1)))
        return ((Y + hi + 1) & ((1 << self.recomb_bits) - 1)) - hi - 1, 0

    def recombine(self, a_int, w_int):
        """(Y int64 [M, N], statistics) of the bit-serial datapath on integer operands."""
        rng = np.random.default_rng(self.seed)
        (M, K), N = a_int.shape, w_int.shape[1]
        Y = np.zeros((M, N), dtype=np.int64)
        clipped = sat = conversions = 0
        for g0 in range(0, K, self.rows):
            ap = bit_planes(a_int[:, g0:g0 + self.rows], self.a_bits)
            wp = bit_planes(w_int[g0:g0 + self.rows], self.w_bits)
            A = np.concatenate([a for a, _ in ap], axis=0).astype(np.float64)  # [ab*M, G]
            W = np.concatenate([w for w, _ in wp], axis=1).astype(np.float64)  # [G, wb*N]
            # popcounts of 1-bit products (<= rows <= 2^16): exact in float64
            P = (A @ W).astype(np.int64).reshape(self.a_bits, M, self.w_bits, N)
            V, c = self.adc(P, rng)
            clipped += c
            conversions += P.size
            for i, (_, sa_i) in enumerate(ap):
                for j, (_, sw_j) in enumerate(wp):
                    Y, s = self._add(Y, V[i, :, j, :] * (sa_i * sw_j))
                    sat += s
        return Y, dict(adc_clipped=clipped, recomb_saturations=sat, adc_conversions=conversions)

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a_int, sa = quantize_activations(x, self.a_bits)
        hi = (1 << (self.w_bits - 1)) - 1
        sw = np.max(np.abs(w), axis=0)
        sw = np.where(sw > 0, sw / hi, 1.0)
        w_int = np.clip(np.rint(w / sw), -hi, hi).astype(np.int64)
        Y, stats = self.recombine(a_int, w_int)
        _, digital = int_matmul(a_int, w_int)  # the digital MAC the CIM array replaces
        M, (K, N) = x.shape[0], w.shape
        cost = dict(bit_macs=M * K * N * self.a_bits * self.w_bits,
                    adc_conversions=stats["adc_conversions"], weight_bits=K * N * self.w_bits)
        return DesignResult(Y * sa * sw[None, :], dict(digital=digital), cost, stats)
