"""Every op that writes an activation can write it in the network's block format (MX /
NVFP4), encoded as a MAC layer's block output: the op's result (exact ops: rounded once
into binary32; float paths: their float64 result; vector-unit ops: the unit's result),
block-quantized along the activation axis.  Checked against independent oracles: MPFR
(gmpy2, 256 bits, then one IEEE binary32 rounding) for the exact functions and
``hwsim.reference`` (pure Python) for the block encode."""
from fractions import Fraction

import gmpy2
import numpy as np
import pytest

from hwsim import reference as R
from hwsim.network import Network
from hwsim.testing import assert_bits_equal

MX8 = dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32", output="mxfp8_e4m3",
           mac="fp32")
MX4 = dict(MX8, input="mxfp4", weight="mxfp4", output="mxfp4", mac="fp16")
NV4 = dict(MX8, input="nvfp4", weight="nvfp4", output="nvfp4")
C = 40  # channels: one full block of 32 and a partial one (MX); 2.5 blocks of 16 (NVFP4)


def _f32(v) -> float:
    """An MPFR value rounded once into IEEE binary32 (subnormals included)."""
    with gmpy2.context(gmpy2.ieee(32)):
        return float(+v)


def _softmax(x):
    out = np.empty_like(x)
    with gmpy2.context(precision=256):
        for i in np.ndindex(x.shape[0], *x.shape[2:]):
            col = [gmpy2.mpfr(float(x[(i[0], c) + i[1:]])) for c in range(x.shape[1])]
            m = max(col)
            e = [gmpy2.exp(v - m) for v in col]
            s = sum(e)
            for c in range(x.shape[1]):
                out[(i[0], c) + i[1:]] = _f32(e[c] / s)
    return out


LRN = dict(size=5, alpha=0.02, beta=0.75, k=1.5)


def _lrn(x):
    out = np.empty_like(x)
    size = LRN["size"]
    with gmpy2.context(precision=256):
        for i in np.ndindex(x.shape):
            c = i[1]
            lo, hi = max(0, c - (size - 1) // 2), min(x.shape[1], c + size // 2 + 1)
            s = sum(gmpy2.mpfr(float(x[(i[0], k) + i[2:]])) ** 2 for k in range(lo, hi))
            d = gmpy2.mpfr(LRN["k"]) + gmpy2.mpfr(LRN["alpha"]) / size * s
            # + 0.0: the exact function of a zero input is the real 0, written +0 (no IEEE
            # sign of zero: hwsim's LRN evaluates exact rationals)
            out[i] = _f32(gmpy2.mpfr(float(x[i])) / d ** gmpy2.mpfr(LRN["beta"])) + 0.0
    return out


def _affine(a, b):
    def f(x):
        out = np.empty_like(x)
        for i in np.ndindex(x.shape):
            v = Fraction(float(x[i])) * Fraction(float(a[i[1]])) + Fraction(float(b[i[1]]))
            out[i] = _f32(gmpy2.mpfr(gmpy2.mpq(v.numerator, v.denominator), 256))
        return out
    return f


def _sigmoid(x):
    with gmpy2.context(precision=256):
        return np.vectorize(lambda v: _f32(1 / (1 + gmpy2.exp(-gmpy2.mpfr(float(v))))))(x)


def _net(cfg, op, seed, layers=(), **attrs):
    """conv1 (-> c), conv2 (-> d), the op on c (Add: c + d) -> o, then a 1x1 Conv and a
    GlobalAveragePool -> Flatten -> Gemm on o (the block output is consumed end to end)."""
    rng = np.random.default_rng(seed)
    net = Network({"x": (1, 8, 3, 3)}, config={"defaults": cfg, "layers": list(layers)})
    for nm in ("c", "d"):
        net.add("Conv", "x", nm, name=f"conv_{nm}", weight=rng.normal(0, 0.6, (C, 8, 1, 1)),
                bias=rng.normal(0, 0.1, C))
    net.add(op, ["c", "d"] if op == "Add" else "c", "o", name="op", **attrs)
    net.add("Conv", "o", "e", name="conv_e", weight=rng.normal(0, 0.3, (C, C, 1, 1)),
            bias=np.zeros(C))
    net.add("GlobalAveragePool", "e", "p", name="gap")
    net.add("Flatten", "p", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (C, 5)), bias=np.zeros(5))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 8, 3, 3)) for _ in range(2)])
    return net, rng.normal(0, 1, (1, 8, 3, 3))


def _ref_block(want, fmt, scale):
    """(codes, scales) of ``hwsim.reference``'s block encode along the channels."""
    if fmt.kind == "nvfp4":
        codes, scales, _ = R.nvfp4_quantize(want, fmt, axis=1, tensor_scale=scale)
        return codes, scales
    return R.mx_quantize(want, fmt, axis=1)


def _check(r, fn):
    o = r.tensors["o"]
    bt = o.meta["block"]
    ins = [r.tensors["c"].values()] + ([r.tensors["d"].values()] if fn is None else [])
    want = ins[0] + ins[1] if fn is None else fn(ins[0])
    codes, scales = _ref_block(want, bt.fmt, o.scale)
    assert bt.axis == 1
    assert_bits_equal(np.asarray(bt.codes), np.asarray(codes))
    assert_bits_equal(np.asarray(bt.scales), np.asarray(scales))
    assert np.all(np.isfinite(r.outputs["y"])) and r.outputs["y"].shape == (1, 5)


def _cases():
    rng = np.random.default_rng(11)
    a, b = rng.uniform(0.5, 1.5, C), rng.normal(0, 0.1, C)
    return [("Softmax", dict(axis=1), _softmax), ("LRN", LRN, _lrn),
            ("ChannelAffine", dict(a=list(a), b=list(b), axis=1), _affine(a, b)),
            ("Sigmoid", {}, _sigmoid), ("Add", {}, None),
            ("LeakyRelu", dict(alpha=0.1), lambda x: np.where(x >= 0, x, x * 0.1))]


@pytest.mark.parametrize("cfg", [MX8, MX4, NV4], ids=["mxfp8", "mxfp4", "nvfp4"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_op_writes_block_output_like_a_mac_layer(cfg, case):
    op, attrs, fn = case
    net, x = _net(cfg, op, seed=5, **attrs)
    r = net.run(x, keep=True)
    _check(r, fn)


@pytest.mark.parametrize("op", ["Softmax", "Sigmoid", "LeakyRelu", "Add"])
def test_vector_unit_op_writes_block_output(op):
    """With a vector unit, the block output is the unit's result (here: the same layer
    written as float16, its unit's format) block-quantized along the channels."""
    attrs = dict(axis=1) if op == "Softmax" else dict(alpha=0.1) if op == "LeakyRelu" else {}
    unit = {"format": "float16"}
    net, x = _net(dict(MX8, vector=unit), op, seed=7, **attrs)
    r = net.run(x, keep=True)
    net16, _ = _net(dict(MX8, vector=unit), op, seed=7,
                    layers=[{"name": "op", "output": "float16", "scale": "none"}], **attrs)
    r16 = net16.run(x, keep=True)
    assert r16.tensors["o"].fmt.name == "float16" and float(r16.tensors["o"].scale) == 1.0
    assert_bits_equal(r16.tensors["c"].values(), r.tensors["c"].values())
    _check(r, lambda _: r16.tensors["o"].values())
