"""Precision polarization (Jayasuriya et al. 2024): a very-low-precision main path plus a
rank-r high-precision error-compensation path per layer.

* **Main path** (``main``): ``"int8"`` — int8 weights (per-channel absmax) times the
  ``a_bits`` activation integers on an exact integer MAC; or ``"nf4"`` — NF4 weights
  (blockwise absmax along K, block 64), decoded to float32 (codebook value times
  block absmax, rounded to float32) and multiplied by the activation integers on a
  float32 MAC (``FloatAccumulator("float32")``).  Optional analog non-idealities:
  Gaussian noise on the main path's sums (std ``noise_std`` times the rms of the
  sums, seeded) and stuck-at faults (a fraction ``stuck_at`` of the weight code
  bits forced to 0 or 1, seeded).
* **Compensation path**: the weight quantization error ``E = W - W_main`` (float64),
  its SVD ``E = U S V^T``, ``L = U_r S_r`` (K x r) and ``R = V_r^T`` (r x N) stored in
  ``comp_format``.  The activation integers (exact in any format with >= a_bits
  significand bits) go through ``A.L`` then ``(A L).R`` on MAC units with
  ``comp_format`` operands and a ``comp_acc`` float register; the intermediate
  ``A L`` is stored in ``comp_format`` (rne).
* **Sum**: ``y = sa * (main + comp)`` with the add rounded into ``sum_format``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..codec import encode
from ..codec.codebook import encode as codebook_encode
from ..errors import check_int
from ..formats import format as parse_format
from ..mac import FloatAccumulator, MacUnit, matmul
from .base import DesignPath, DesignResult, as_matrix_pair, decode_values, add_rounded, int_codes, \
    int_matmul, quantize_activations, weight_cache

__all__ = ["PolarizationDesign", "stuck_at_faults"]


def stuck_at_faults(codes: np.ndarray, bits: int, fraction: float, seed: int) -> np.ndarray:
    """Codes with ``fraction`` of their ``bits`` low bits stuck at 0 or 1 (half each), seeded."""
    if fraction == 0.0:
        return codes
    rng = np.random.default_rng(seed)
    c = np.asarray(codes, dtype=np.int64).copy()
    hit = rng.random(c.shape + (bits,)) < fraction
    val = rng.random(c.shape + (bits,)) < 0.5
    for b in range(bits):
        m = np.int64(1) << b
        c = np.where(hit[..., b], np.where(val[..., b], c | m, c & ~m), c)
    return c.astype(codes.dtype)


@weight_cache
def main_weights(w, main: str, stuck_at: float, seed: int):
    """(main-path weight operand, per-channel scale or None, W_main float64, weight bits).

    int8: integer codes (per-channel absmax, faults applied) and their scales; nf4: the
    float32 codes of the decoded NF4 weights (blocks of 64 along K, faults applied)."""
    if main == "int8":
        sw = np.max(np.abs(w), axis=0)
        sw = np.where(sw > 0, sw / 127.0, 1.0)
        q = np.clip(np.rint(w / sw), -127, 127).astype(np.int64)
        qf = stuck_at_faults(q & 0xFF, 8, stuck_at, seed)
        q = np.where(qf >= 128, qf - 256, qf)
        return q, sw, q * sw[None, :], 8 * q.size + 32 * sw.size
    t = codebook_encode(w.T, parse_format("nf4"), axis=-1)  # blocks along K
    codes = stuck_at_faults(np.asarray(t.codes), 4, stuck_at, seed)
    if codes is not t.codes:
        t = dataclasses.replace(t, codes=codes)
    wm = np.asarray(t.values(), dtype=np.float64).T  # float32 values
    return encode(wm, "float32"), None, wm, 4 * wm.size + 32 * (wm.size // 64 + 1)


@weight_cache
def low_rank_factors(err, r: int, fmt_name: str):
    """Codes of ``L = U_r S_r`` and ``R = V_r^T`` (SVD of err) in format ``fmt_name``."""
    U, S, Vt = np.linalg.svd(err, full_matrices=False)
    return encode(U[:, :r] * S[None, :r], fmt_name), encode(Vt[:r], fmt_name)


@dataclass(frozen=True)
class PolarizationDesign:
    """Low-precision main path + rank-r compensation path (module doc)."""

    main: str = "int8"
    rank: int = 8
    a_bits: int = 8
    comp_format: str = "bfloat16"
    comp_acc: str = "float32"
    sum_format: str = "float32"
    noise_std: float = 0.0
    stuck_at: float = 0.0
    seed: int = 0
    name = "polarization"

    def __post_init__(self):
        if self.main not in ("int8", "nf4"):
            raise ValueError(f"main must be 'int8' or 'nf4', got {self.main!r}")
        check_int("rank", self.rank, 0, 1 << 20)
        check_int("a_bits", self.a_bits, 2, 12)
        for k in ("comp_format", "comp_acc", "sum_format"):
            f = parse_format(getattr(self, k))
            if f.kind != "float":
                raise ValueError(f"{k} must be a float format, got {getattr(self, k)!r}")
        if parse_format(self.comp_format).precision < self.a_bits:
            raise ValueError(f"comp_format needs >= a_bits={self.a_bits} significand bits to "
                             f"hold the activation integers exactly")
        if not (0.0 <= float(self.noise_std) < 1e3):
            raise ValueError(f"noise_std must be in [0, 1000), got {self.noise_std!r}")
        if not (0.0 <= float(self.stuck_at) <= 1.0):
            raise ValueError(f"stuck_at must be in [0, 1], got {self.stuck_at!r}")

    def to_dict(self) -> dict:
        return dict(name=self.name, main=self.main, rank=self.rank, a_bits=self.a_bits,
                    comp_format=self.comp_format, comp_acc=self.comp_acc,
                    sum_format=self.sum_format, noise_std=self.noise_std,
                    stuck_at=self.stuck_at, seed=self.seed)

    # -- main path ---------------------------------------------------------
    def _main(self, a_int, w):
        """(main-path sums in activation-integer units, W_main float64, path, weight bits)."""
        q, scale, wm, wbits = main_weights(w, self.main, float(self.stuck_at), int(self.seed))
        if self.main == "int8":
            r, path = int_matmul(a_int, q)
            return r * scale[None, :], wm, path, wbits
        fa = f"int{self.a_bits}"
        mac = MacUnit(fa, "float32", accumulator=FloatAccumulator("float32"))
        ac = int_codes(a_int, fa)
        res = matmul(ac, q, mac)
        return np.asarray(res.values, np.float64), wm, DesignPath(mac, ac, q, res), wbits

    def _noise(self, r):
        if self.noise_std == 0.0:
            return r
        rng = np.random.default_rng(self.seed + 1)
        rms = float(np.sqrt(np.mean(r ** 2))) if r.size else 0.0
        return r + rng.normal(0.0, self.noise_std * rms, size=r.shape)

    # -- compensation path ---------------------------------------------------
    def _comp(self, a_int, err):
        cf = parse_format(self.comp_format)
        K, N = err.shape
        r = min(self.rank, K, N)
        if r == 0:
            return np.zeros((a_int.shape[0], N)), {}
        L, R = low_rank_factors(err, r, cf.name)
        mac = MacUnit(cf, cf, accumulator=FloatAccumulator(self.comp_acc))
        ac = encode(a_int.astype(np.float64), cf, "rne", "error")
        t = matmul(ac, L, mac)
        tc = encode(np.asarray(t.values, np.float64), cf)
        u = matmul(tc, R, mac)
        paths = dict(comp_left=DesignPath(mac, ac, L, t), comp_right=DesignPath(mac, tc, R, u))
        return np.asarray(u.values, np.float64), paths

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a_int, sa = quantize_activations(x, self.a_bits)
        main, wm, mpath, wbits = self._main(a_int, w)
        main = self._noise(main)
        comp, cpaths = self._comp(a_int, w - wm)
        sf = parse_format(self.sum_format)
        s = add_rounded(decode_values(encode(main, sf), sf), decode_values(encode(comp, sf), sf),
                        sf)
        y = s * sa
        M, (K, N) = x.shape[0], w.shape
        r = min(self.rank, K, N)
        cb = parse_format(self.comp_format).bits
        cost = dict(main_macs=M * K * N, comp_macs=M * r * (K + N), main_weight_bits=wbits,
                    comp_weight_bits=r * (K + N) * cb)
        return DesignResult(y, dict(main=mpath, **cpaths), cost, dict(rank=r))
