"""PWLQ with region-wise integer accumulation and partial-sum encoding.

Weights are quantized per output channel with :class:`hwsim.formats.PWLQFormat`
(Fang et al., ECCV 2020): a centre region ``[-p, p]`` on a uniform signed grid
(``w = kc * sc``) and two tails on uniform unsigned grids anchored at ``p`` and
``-m`` (``w = p + kt * st`` or ``w = -m + kt * st``).  Written per region,

    y = sa * (sc * A.Wc + st * A.Wt + p * A.Ip - m * A.In)

with integer matrices ``Wc`` (centre codes), ``Wt`` (tail codes), ``Ip`` / ``In``
(1 where the weight is in the positive / negative tail).  Each of the four
products runs on its own integer MAC unit (``acc_bits`` register).  With ``T``
set, K is cut into tiles and every region's tile sum is stored with a
:class:`~hwsim.designs.psum.PsumEncoding` before an exact psum adder sums them.
The region results are combined as the hardware does (``combine``):

* ``"int"``: the coefficients ``st/sc``, ``p/sc``, ``m/sc`` are fixed-point
  integers with ``combine_frac_bits`` F fraction bits (rounded to nearest), and
  ``Y = 2^F R_c + Mt R_t + Mp R_p - Mn R_n`` in a ``combine_bits`` (<= 53)
  saturating integer; the output scaling ``y = Y * sa * sc / 2^F`` is float64.
* a float format name (e.g. ``"float32"``, ``"bfloat16"``): every region result
  and coefficient is rounded into it (rne), each product rounded, and the four
  terms summed in that order with one rounding per add.
* ``"exact"``: the exact rational combination rounded once to float64 (an ideal
  combiner; the reference point of the tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..codec import encode
from ..codec.codebook import encode as pwlq_encode
from ..errors import check_int
from ..formats import PWLQFormat
from ..formats import format as parse_format
from ..mac import IntAccumulator
from .base import DesignResult, weight_cache, as_matrix_pair, decode_values, add_rounded, int_matmul, \
    quantize_activations
from .psum import PsumEncoding, encode_partial_sums

__all__ = ["PWLQDesign", "pwlq_regions"]

REGIONS = ("centre", "tail", "tail_pos", "tail_neg")


@weight_cache
def pwlq_regions(w: np.ndarray, bits: int, breakpoint=None):
    """Per-column PWLQ of ``w [K, N]``: (dict region -> int64 [K, N], m [N], p [N], sc, st)."""
    fmt = PWLQFormat(bits, bits)
    t = pwlq_encode(w, fmt, axis=1, breakpoint=breakpoint)
    c = np.asarray(t.codes, dtype=np.int64)
    pb, b = fmt.payload_bits, bits
    tail = ((c >> pb) & 1).astype(bool)
    kc = c & ((1 << b) - 1)
    kc = np.where(kc >> (b - 1), kc - (1 << b), kc)
    neg = ((c >> (b - 1)) & 1).astype(bool) & tail
    kt = c & ((1 << (b - 1)) - 1)
    m = np.asarray(t.maxabs, dtype=np.float64).reshape(-1)
    p = np.asarray(t.breakpoint, dtype=np.float64).reshape(-1)
    regions = dict(centre=np.where(tail, 0, kc), tail=np.where(tail, kt, 0),
                   tail_pos=(tail & ~neg).astype(np.int64), tail_neg=neg.astype(np.int64))
    sc = (2.0 * p) / float((1 << b) - 1)
    st = (m - p) / float((1 << (b - 1)) - 1)
    return regions, m, p, sc, st


@dataclass(frozen=True)
class PWLQDesign:
    """PWLQ weights, region-wise integer MACs, K-tiles with encoded partial sums (module doc)."""

    bits: int = 4                 #: bits per region grid (centre and tail)
    a_bits: int = 8               #: signed activation bits (per-tensor absmax scale)
    acc_bits: int = 32            #: width of each region's integer register
    acc_overflow: str = "saturate"
    T: int | None = None          #: K-tile size (None: one tile)
    psum: PsumEncoding = field(default_factory=PsumEncoding)
    combine: str = "int"          #: "int", "exact" or a float format name
    combine_frac_bits: int = 16
    combine_bits: int = 48
    name = "pwlq"

    def __post_init__(self):
        check_int("bits", self.bits, 2, 16)
        check_int("acc_bits", self.acc_bits, 2, 53)  # region sums exact in float64
        if self.T is not None:
            check_int("T", self.T, 1, 1 << 30)
        if isinstance(self.psum, dict):
            object.__setattr__(self, "psum", PsumEncoding(**self.psum))
        if self.combine not in ("int", "exact") and parse_format(self.combine).kind != "float":
            raise ValueError(f"combine must be 'int', 'exact' or a float format, got "
                             f"{self.combine!r}")
        check_int("combine_frac_bits", self.combine_frac_bits, 0, 40)
        check_int("combine_bits", self.combine_bits, 8, 53)  # Y exact in float64

    def to_dict(self) -> dict:
        return dict(name=self.name, bits=self.bits, a_bits=self.a_bits, acc_bits=self.acc_bits,
                    acc_overflow=self.acc_overflow, T=self.T, psum=self.psum.to_dict(),
                    combine=self.combine, combine_frac_bits=self.combine_frac_bits,
                    combine_bits=self.combine_bits)

    # -- the datapath ------------------------------------------------------
    def region_sums(self, a_int, regions):
        """Per region: the (tiled, psum-encoded) integer sums, paths and saturation counts.

        The tiles of one region run as one batched :func:`hwsim.mac.matmul` (batch = tile);
        its path's codes are ``[tiles, M, T]`` / ``[tiles, T, N]``."""
        M, K = a_int.shape
        T = min(self.T or K, K)
        nt = -(-K // T)
        acc = IntAccumulator(self.acc_bits, overflow=self.acc_overflow)
        a = np.zeros((M, nt * T), dtype=np.int64)
        a[:, :K] = a_int
        a = a.reshape(M, nt, T).transpose(1, 0, 2)
        sums, paths, sat = {}, {}, 0
        for r in REGIONS:
            w = np.zeros((nt * T, regions[r].shape[1]), dtype=np.int64)
            w[:K] = regions[r]
            part, path = int_matmul(a, w.reshape(nt, T, -1), acc)  # [nt, M, N]
            paths[r] = path
            if nt > 1:  # partial sums leave the array between tiles
                part, s = encode_partial_sums(part, self.psum)
                sat += s
            sums[r] = part.sum(axis=0)  # the exact psum adder
        return sums, paths, sat

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a_int, sa = quantize_activations(x, self.a_bits)
        regions, m, p, sc, st = pwlq_regions(w, self.bits)
        sums, paths, sat = self.region_sums(a_int, regions)
        coef = dict(centre=sc, tail=st, tail_pos=p, tail_neg=-m)
        if self.combine == "exact":
            y = _combine_exact(sums, coef, sa)
        elif self.combine == "int":
            y, ovf = self._combine_int(sums, coef, sc, sa)
            sat += ovf
        else:
            y = _combine_float(sums, coef, sa, parse_format(self.combine))
        K, N = w.shape
        M = x.shape[0]
        stats = dict(psum_saturations=sat,
                     overflow_events=int(sum(np.sum(pt.result.stats.overflow_events)
                                             for pt in paths.values())),
                     tail_fraction=float(regions["tail_pos"].sum() + regions["tail_neg"].sum())
                     / max(1, K * N))
        n_tiles = -(-K // (self.T or K))
        cost = dict(int_macs=4 * M * N * K, weight_bits=K * N * (1 + self.bits) + 64 * N,
                    psum_bits=(n_tiles - 1) * 4 * M * N * self.psum.stored_bits
                    if n_tiles > 1 else 0)
        return DesignResult(y, paths, cost, stats)

    def _combine_int(self, sums, coef, sc, sa):
        F = self.combine_frac_bits
        hi = (1 << (self.combine_bits - 1)) - 1
        mults = {r: np.rint(coef[r] / np.where(sc == 0, 1.0, sc) * 2.0 ** F).astype(np.int64)
                 for r in REGIONS}
        bound = sum(float(np.max(np.abs(sums[r]), initial=0)) *
                    float(np.max(np.abs(mults[r]), initial=0)) for r in REGIONS)
        dt = np.int64 if bound < 2.0 ** 62 else object  # exact either way
        Y = np.zeros(sums["centre"].shape, dtype=dt)
        for r in REGIONS:
            Y = Y + sums[r].astype(dt) * mults[r].astype(dt)[None, :]
        over = int(np.count_nonzero((Y > hi) | (Y < -hi - 1)))
        Y = np.clip(Y, -hi - 1, hi).astype(np.float64)  # exact: combine_bits <= 53
        return Y * sa * sc[None, :] / 2.0 ** F, over


def _combine_exact(sums, coef, sa):
    out = np.empty(sums["centre"].shape, dtype=np.float64)
    fs = Fraction(sa)
    fc = {r: [Fraction(float(c)) for c in coef[r]] for r in REGIONS}
    for i, j in np.ndindex(out.shape):
        v = sum(int(sums[r][i, j]) * fc[r][j] for r in REGIONS)
        out[i, j] = float(v * fs)
    return out


def _combine_float(sums, coef, sa, fmt):
    def rnd(v):
        return decode_values(encode(v, fmt, "rne", "saturate"), fmt)

    acc = None
    for r in REGIONS:
        term = rnd(rnd(sums[r].astype(np.float64)) * rnd(np.asarray(coef[r]))[None, :])
        acc = term if acc is None else add_rounded(acc, term, fmt)
    return rnd(acc * rnd(np.asarray(sa)))
