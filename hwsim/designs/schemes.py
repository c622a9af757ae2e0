"""Named low-precision schemes from the literature, as designs and presets.

* :class:`TwoTensorInt4` — MMSE INT4 with a second INT4 tensor for the residual of
  poorly approximated layers (Choukroun, Kravchik et al., ICCVW 2019).
* :class:`VSQuant` — per-vector scaled INT4 (Dai et al., MLSys 2021).
* :class:`ChunkedFP8` — FP8 (1-5-2) products accumulated in chunks in a 16-bit
  float register with stochastic rounding (Wang et al., NeurIPS 2018).
* :data:`FORMAT_PRESETS` — 6-bit minifloats, an 8-bit short float without NaN/Inf and
  the HFP8 pair (Sun et al., NeurIPS 2019), as :class:`~hwsim.formats.FloatFormat`.
* :func:`per_layer_bits` — a network config with per-layer integer bit depths (5-12 bits
  across MobileNet v3 layers in the seed literature).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec import encode
from ..errors import check_int
from ..formats import FloatFormat
from ..formats import format as parse_format
from ..mac import Chunked, FloatAccumulator, IntAccumulator, MacUnit, matmul
from .base import DesignPath, DesignResult, as_matrix_pair, decode_values, add_rounded, \
    int_matmul, quantize_activations, weight_cache

__all__ = ["TwoTensorInt4", "VSQuant", "ChunkedFP8", "FORMAT_PRESETS", "per_layer_bits",
           "mmse_int_scale"]

#: name -> FloatFormat of the named paper formats (docs/designs.md has the citations)
FORMAT_PRESETS = {
    "minifloat6_e3m2": FloatFormat(3, 2, name="minifloat6_e3m2"),
    "minifloat6_e2m3": FloatFormat(2, 3, name="minifloat6_e2m3"),
    "shortfloat8_e4m3": FloatFormat(4, 3, specials="finite", name="shortfloat8_e4m3"),
    "shortfloat8_e5m2": FloatFormat(5, 2, specials="finite", name="shortfloat8_e5m2"),
    "hfp8_fwd_e4m3": FloatFormat(4, 3, name="hfp8_fwd_e4m3"),
    "hfp8_bwd_e5m2": FloatFormat(5, 2, name="hfp8_bwd_e5m2"),
    "wang2018_fp8_e5m2": FloatFormat(5, 2, name="wang2018_fp8_e5m2"),
    "wang2018_fp16_e6m9": FloatFormat(6, 9, name="wang2018_fp16_e6m9"),
}


def hfp8_forward(bias: int = 7) -> FloatFormat:
    """HFP8's 1-4-3 forward format with a free exponent bias (Sun et al. 2019)."""
    return FloatFormat(4, 3, bias=bias, name=f"hfp8_fwd_e4m3_b{bias}")


@weight_cache
def mmse_int_scale(w: np.ndarray, bits: int, grid: int = 64) -> np.ndarray:
    """Per-column scale of symmetric ``bits``-bit quantization minimising the squared error
    over clipping ratios ``c/grid`` of max|w| (c = 1..grid)."""
    hi = (1 << (bits - 1)) - 1
    m = np.max(np.abs(w), axis=0)
    best = np.where(m > 0, m / hi, 1.0)
    best_err = np.full(m.shape, np.inf)
    for c in range(1, grid + 1):
        s = np.where(m > 0, m * c / grid / hi, 1.0)
        err = np.sum((w - np.clip(np.rint(w / s), -hi, hi) * s) ** 2, axis=0)
        better = err < best_err
        best, best_err = np.where(better, s, best), np.where(better, err, best_err)
    return best


@dataclass(frozen=True)
class TwoTensorInt4:
    """W ~ s1 Q1 + s2 Q2 (both INT4, per channel, MMSE scales); the second tensor only for
    layers whose relative INT4 error ``||W - s1 Q1||^2 / ||W||^2`` exceeds ``threshold``.
    Both tensors go through the integer MAC; ``y = sa (s1 A.Q1 + s2 A.Q2)`` in float64."""

    bits: int = 4
    a_bits: int = 8
    threshold: float = 0.0
    name = "two_tensor_int4"

    def __post_init__(self):
        check_int("bits", self.bits, 2, 8)
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold!r}")

    def to_dict(self) -> dict:
        return dict(name=self.name, bits=self.bits, a_bits=self.a_bits, threshold=self.threshold)

    def quantize_weights(self, w):
        """(Q1, s1, Q2, s2, used_second) of w [K, N]."""
        hi = (1 << (self.bits - 1)) - 1
        s1 = mmse_int_scale(w, self.bits)
        q1 = np.clip(np.rint(w / s1), -hi, hi).astype(np.int64)
        res = w - q1 * s1
        rel = float(np.sum(res ** 2) / max(np.sum(w ** 2), 1e-300))
        if rel <= self.threshold:
            return q1, s1, np.zeros_like(q1), np.ones_like(s1), False
        s2 = mmse_int_scale(res, self.bits)
        q2 = np.clip(np.rint(res / s2), -hi, hi).astype(np.int64)
        return q1, s1, q2, s2, True

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a_int, sa = quantize_activations(x, self.a_bits)
        q1, s1, q2, s2, two = self.quantize_weights(w)
        r1, p1 = int_matmul(a_int, q1)
        paths = dict(first=p1)
        y = r1 * s1[None, :]
        if two:
            r2, p2 = int_matmul(a_int, q2)
            paths["second"] = p2
            y = y + r2 * s2[None, :]
        M, (K, N) = x.shape[0], w.shape
        n = 2 if two else 1
        cost = dict(int_macs=n * M * K * N, weight_bits=n * (K * N * self.bits + 32 * N))
        return DesignResult(y * sa, paths, cost, dict(second_tensor=two))


@dataclass(frozen=True)
class VSQuant:
    """Per-vector scaled INT4 weights (Dai et al. 2021): each vector of ``V`` weights along K
    has an unsigned ``scale_bits`` integer scale ``q_v``; each output channel a float
    scale ``g``; ``w = g * q_v * Q``.  The MAC computes ``Y = sum_v q_v (A_v . Q_v)`` in
    an ``acc_bits`` integer register (run as ``A . (q_v Q)``: the same integer when
    nothing overflows) and ``y = sa * g * Y``."""

    bits: int = 4
    V: int = 16
    scale_bits: int = 4
    a_bits: int = 8
    acc_bits: int = 32
    name = "vs_quant"

    def __post_init__(self):
        check_int("bits", self.bits, 2, 8)
        check_int("V", self.V, 1, 1 << 16)
        check_int("scale_bits", self.scale_bits, 1, 16)
        check_int("acc_bits", self.acc_bits, 8, 64)

    def to_dict(self) -> dict:
        return dict(name=self.name, bits=self.bits, V=self.V, scale_bits=self.scale_bits,
                    a_bits=self.a_bits, acc_bits=self.acc_bits)

    def quantize_weights(self, w):
        """(Q int [K, N], q_v int [K, N] expanded per element, g [N])."""
        K, N = w.shape
        hi, qmax = (1 << (self.bits - 1)) - 1, (1 << self.scale_bits) - 1
        nv = -(-K // self.V)
        wp = np.zeros((nv * self.V, N))
        wp[:K] = w
        vmax = np.max(np.abs(wp.reshape(nv, self.V, N)), axis=1)          # [nv, N]
        g = np.max(vmax, axis=0) / (hi * qmax)
        g = np.where(g > 0, g, 1.0)
        qv = np.clip(np.ceil(vmax / (hi * g[None, :])), 1, qmax).astype(np.int64)
        qv_e = np.repeat(qv, self.V, axis=0)[:K]
        Q = np.clip(np.rint(w / (qv_e * g[None, :])), -hi, hi).astype(np.int64)
        return Q, qv_e, g

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a_int, sa = quantize_activations(x, self.a_bits)
        Q, qv, g = self.quantize_weights(w)
        Y, path = int_matmul(a_int, Q * qv, IntAccumulator(self.acc_bits, "saturate"))
        M, (K, N) = x.shape[0], w.shape
        cost = dict(int_macs=M * K * N, scale_macs=M * N * (-(-K // self.V)),
                    weight_bits=K * N * self.bits + (-(-K // self.V)) * N * self.scale_bits
                    + 32 * N)
        return DesignResult(Y * g[None, :] * sa, dict(main=path), cost, {})


@dataclass(frozen=True)
class ChunkedFP8:
    """Wang et al. 2018: FP8 1-5-2 operands (per-tensor scaled), exact products, chunks of
    ``chunk`` terms summed from 0 in a 1-6-9 float register, each chunk sum added into an
    outer 1-6-9 register; operands scaled so each tensor's absmax is 1.0; every add rounded with ``rounding`` (``"sr"``: stochastic,
    ``sr_bits`` random bits, seeded; or a deterministic mode).  ``chunk=None``: plain
    sequential accumulation in the register."""

    chunk: int | None = 64
    rounding: str = "sr"
    sr_bits: int = 8
    seed: int = 0
    operand: str = "wang2018_fp8_e5m2"
    register: str = "wang2018_fp16_e6m9"
    name = "chunked_fp8"

    def __post_init__(self):
        if self.chunk is not None:
            check_int("chunk", self.chunk, 1, 1 << 20)
        check_int("sr_bits", self.sr_bits, 1, 24)

    def to_dict(self) -> dict:
        return dict(name=self.name, chunk=self.chunk, rounding=self.rounding,
                    sr_bits=self.sr_bits, seed=self.seed, operand=self.operand,
                    register=self.register)

    def _fmt(self, name):
        return FORMAT_PRESETS.get(name) or parse_format(name)

    def _add(self, acc, v, step):
        """acc + v rounded into the register (one rounding; ``sr`` bits drawn per step)."""
        kw = dict(sr_bits=self.sr_bits, seed=self.seed, index0=step * v.size) \
            if self.rounding == "sr" else {}
        return add_rounded(acc, v, self._fmt(self.register), self.rounding, **kw)

    def accumulate(self, prods: np.ndarray) -> np.ndarray:
        """Register value after summing ``prods [K, ...]`` (exact products) in order."""
        K = prods.shape[0]
        chunk = self.chunk or K
        outer = np.zeros(prods.shape[1:])
        step = 0
        for c0 in range(0, K, chunk):
            inner = np.zeros(prods.shape[1:])
            for k in range(c0, min(K, c0 + chunk)):
                inner = self._add(inner, prods[k], step)
                step += 1
            if self.chunk is None:
                return inner
            outer = self._add(outer, inner, step)
            step += 1
        return outer

    def operands(self, x, w):
        """(a values, b values, scale) of x, w in the operand format, each scaled per tensor
        so that its absmax maps to 1.0 (products and sums stay well inside the register)."""
        f = self._fmt(self.operand)
        sx = float(np.max(np.abs(x))) or 1.0
        sw = float(np.max(np.abs(w))) or 1.0
        a = decode_values(encode(x / sx, f, "rne", "saturate"), f)
        b = decode_values(encode(w / sw, f, "rne", "saturate"), f)
        return a, b, sx * sw

    def matmul(self, x, w) -> DesignResult:
        x, w = as_matrix_pair(x, w)
        a, b, s = self.operands(x, w)
        prods = a.T[:, :, None] * b[:, None, :]  # [K, M, N], exact (3 x 3 significand bits)
        y = self.accumulate(prods)
        paths = {}
        if self.rounding != "sr" and self.chunk is not None:  # the same unit in hwsim.mac
            fo, fr = self._fmt(self.operand), self._fmt(self.register)
            mac = MacUnit(fo, fo, accumulator=FloatAccumulator(fr, self.rounding),
                          order=Chunked(self.chunk, FloatAccumulator(fr, self.rounding)))
            ac, bc = encode(a, fo), encode(b, fo)
            paths["mac"] = DesignPath(mac, ac, bc, matmul(ac, bc, mac))
        M, (K, N) = x.shape[0], w.shape
        return DesignResult(y * s, paths, dict(fp8_macs=M * K * N), {})


def per_layer_bits(bits: dict, default: int = 8) -> dict:
    """A network config (``hwsim.network`` JSON form) with per-layer integer bit depths:
    ``bits`` maps layer names to 2..16; weights and inputs use ``int<b>``, the register
    a saturating 32-bit integer."""
    check_int("default", default, 2, 16)
    layers = []
    for name, b in bits.items():
        check_int(f"bits[{name!r}]", b, 2, 16)
        layers.append(dict(name=name, weight=f"int{b}", input=f"int{b}"))
    return dict(defaults=dict(input=f"int{default}", weight=f"int{default}", bias="int32",
                              output=f"int{default}", mac="int32_sat"), layers=layers)
