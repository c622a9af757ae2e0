"""onnxruntime's integer kernels bit for bit (issue 9 item 4; docs/semantics.md,
"onnxruntime's integer kernels").

Each test builds a small model with onnx.helper, runs it in onnxruntime (CPU EP, default
graph optimizations) and in hwsim (``load_onnx``: the quantized default config has
``elementwise="ort"``) and compares the integer codes with ``np.array_equal``:

* the com.microsoft QLinear* ops imported as they are;
* QDQ graphs ``DequantizeLinear -> op -> QuantizeLinear`` that onnxruntime fuses into
  those ops, and the ones it leaves as float32 islands.

Unary ops see every input code (256) at several seeded scales / zero points.
"""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.network import load_onnx

ort.set_default_logger_severity(3)
TYPES = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
MS = "com.microsoft"


def _model(nodes, inputs, inits, opset=13, out=None):
    out = inputs[0][1] if out is None else out
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(k, t, s) for k, t, s in inputs],
                          [helper.make_tensor_value_info("y", out, None)],
                          [numpy_helper.from_array(np.asarray(v, dtype=d), k) for k, v, d in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)])
    m.ir_version = 8
    return m


def _both(m, feed):
    """(onnxruntime codes, hwsim codes, hwsim network) of output ``y``."""
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    net = load_onnx(m)
    got = net.run(feed, reference=False).qoutputs[net.outputs[0]].ints()
    return want.astype(np.int64), got, net


def _params(rng, dt, k):
    """k seeded (scale, zero point) pairs of type dt; int8 alternates symmetric ones."""
    info = np.iinfo(dt)
    out = []
    for i in range(k):
        s = float(np.float32(rng.uniform(0.002, 0.2)))
        z = 0 if (dt is np.int8 and i % 2) else int(rng.integers(info.min, info.max + 1))
        out.append((s, z))
    return out


def _codes(rng, dt, shape):
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max + 1, shape).astype(dt)


def _all_codes(dt):
    info = np.iinfo(dt)
    return np.arange(info.min, info.max + 1).astype(dt).reshape(1, 4, 8, 8)


def _q_inits(names, params, dt):
    out = []
    for (sn, zn), (s, z) in zip(names, params):
        out += [(sn, s, np.float32), (zn, z, dt)]
    return out


# -- com.microsoft QLinear* ops ---------------------------------------------------------------
@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,attrs", [("QLinearSigmoid", {}), ("QLinearLeakyRelu", {"alpha": 0.13}),
                                      ("QLinearLeakyRelu", {})])
def test_qlinear_unary_every_code(op, attrs, dt):
    rng = np.random.default_rng(hash((op, str(attrs), dt.__name__)) % 2**32)
    T = TYPES[dt]
    for _ in range(4):
        p = _params(rng, dt, 2)
        m = _model([helper.make_node(op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain=MS, **attrs)],
                   [("x", T, [1, 4, 8, 8])], _q_inits([("xs", "xz"), ("ys", "yz")], p, dt))
        want, got, net = _both(m, {"x": _all_codes(dt)})
        assert [n.op for n in net.nodes] == [op[7:]]
        assert np.array_equal(want, got), (op, p)


SHAPES = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (3, 1, 1)), ((3, 1, 1), (2, 3, 4, 5)),
          ((1, 1, 5), (2, 3, 4, 5)), ((2, 3, 4, 1), (2, 3, 4, 5)), ((2, 3, 4, 5), (1,)),
          ((1,), (2, 3, 4, 5)), ((4, 5), (2, 3, 4, 5))]


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
def test_qlinear_binary_broadcasting(op, dt):
    rng = np.random.default_rng(7 if op == "QLinearAdd" else 8)
    T = TYPES[dt]
    total = 0
    for sa, sb in SHAPES:
        for _ in range(3):
            p = _params(rng, dt, 3)
            m = _model([helper.make_node(op, ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["y"], domain=MS)],
                       [("a", T, list(sa)), ("b", T, list(sb))],
                       _q_inits([("as", "az"), ("bs", "bz"), ("cs", "cz")], p, dt))
            want, got, _ = _both(m, {"a": _codes(rng, dt, sa), "b": _codes(rng, dt, sb)})
            assert np.array_equal(want, got), (op, sa, sb, p)
            total += want.size
    assert total == 8 * 3 * 120


POOLS = [("QLinearGlobalAveragePool", {}, (2, 3, 5, 7)),
         ("QLinearGlobalAveragePool", {}, (1, 16, 1, 1)),
         ("QLinearAveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, (1, 3, 9, 8)),
         ("QLinearAveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2],
                                 "count_include_pad": 1}, (1, 3, 9, 8)),
         ("QLinearAveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, (2, 2, 7, 5)),
         ("QLinearAveragePool", {"kernel_shape": [4, 3]}, (1, 5, 4, 3)),  # the global fallback
         ("QLinearAveragePool", {"kernel_shape": [3], "strides": [1], "pads": [1, 1]}, (1, 4, 11))]


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,attrs,shape", POOLS)
def test_qlinear_pools(op, attrs, shape, dt):
    rng = np.random.default_rng(len(shape) * 10 + len(attrs))
    T = TYPES[dt]
    for _ in range(4):
        p = _params(rng, dt, 2)
        m = _model([helper.make_node(op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain=MS, **attrs)],
                   [("x", T, list(shape))], _q_inits([("xs", "xz"), ("ys", "yz")], p, dt))
        want, got, _ = _both(m, {"x": _codes(rng, dt, shape)})
        assert want.shape == got.shape and np.array_equal(want, got), (op, attrs, p)


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("axis", [1, -1])
def test_qlinear_concat(dt, axis):
    rng = np.random.default_rng(3 + axis)
    T = TYPES[dt]
    for _ in range(4):
        p = _params(rng, dt, 3)
        ins = ["ys", "yz", "a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"]  # c: the output's own (copy)
        m = _model([helper.make_node("QLinearConcat", ins, ["y"], domain=MS, axis=axis)],
                   [("a", T, [1, 4, 8, 8]), ("b", T, [1, 4, 8, 8]), ("c", T, [1, 4, 8, 8])],
                   _q_inits([("ys", "yz"), ("as", "az"), ("bs", "bz")], p, dt))
        feed = {"a": _all_codes(dt), "b": _all_codes(dt)[:, ::-1].copy(), "c": _codes(rng, dt, (1, 4, 8, 8))}
        want, got, _ = _both(m, feed)
        assert np.array_equal(want, got), p


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("opset,axis,shape", [(13, -1, (6, 10)), (13, 1, (2, 7, 3)), (12, 1, (2, 3, 4)),
                                              (13, -1, (2, 300))])
def test_qlinear_softmax(dt, opset, axis, shape):
    rng = np.random.default_rng(opset + axis + shape[-1])
    T = TYPES[dt]
    for _ in range(4):
        p = _params(rng, dt, 2)
        p[1] = (1.0 / 256, int(np.iinfo(dt).min))  # the output quantization exporters use
        m = _model([helper.make_node("QLinearSoftmax", ["x", "xs", "xz", "ys", "yz"], ["y"], domain=MS,
                                     axis=axis, opset=opset)],
                   [("x", T, list(shape))], _q_inits([("xs", "xz"), ("ys", "yz")], p, dt))
        want, got, _ = _both(m, {"x": _codes(rng, dt, shape)})
        assert np.array_equal(want, got), (p, opset, axis)


# -- QDQ graphs: what onnxruntime fuses, and the float32 islands it leaves ------------------
def _qdq(op, dt, p, attrs, n_in, extra=(), opset=17, shape=(1, 4, 8, 8)):
    """DequantizeLinear (per input) -> op -> QuantizeLinear on integer graph inputs."""
    T = TYPES[dt]
    nodes, ins, inits = [], [], []
    for k in range(n_in):
        nodes.append(helper.make_node("DequantizeLinear", [f"x{k}", f"s{k}", f"z{k}"], [f"f{k}"]))
        ins.append((f"x{k}", T, list(shape)))
        inits += [(f"s{k}", p[k][0], np.float32), (f"z{k}", p[k][1], dt)]
    inits += [("so", p[-1][0], np.float32), ("zo", p[-1][1], dt)] + [(k, v, np.float32) for k, v in extra]
    nodes += [helper.make_node(op, [f"f{k}" for k in range(n_in)] + [k for k, _ in extra], ["g"], **attrs),
              helper.make_node("QuantizeLinear", ["g", "so", "zo"], ["y"])]
    return _model(nodes, ins, inits, opset=opset)


def _ort_ops(m, tmp_path):
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    import onnx
    return [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]


QDQ = [  # op, attrs, inputs, constant inputs, what onnxruntime runs (ops after optimization)
    ("Add", {}, 2, (), ["QLinearAdd"]),
    ("Mul", {}, 2, (), ["QLinearMul"]),
    ("Sigmoid", {}, 1, (), ["QLinearSigmoid"]),
    ("LeakyRelu", {"alpha": 0.2}, 1, (), ["QLinearLeakyRelu"]),
    ("GlobalAveragePool", {}, 1, (), ["QLinearGlobalAveragePool"]),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]}, 1, (),
     ["QLinearAveragePool"]),
    ("Concat", {"axis": 1}, 2, (), ["QLinearConcat"]),
    ("Softmax", {"axis": -1}, 1, (), ["QLinearSoftmax"]),
    ("Relu", {}, 1, (), ["DequantizeLinear", "Relu", "QuantizeLinear"]),
    ("Clip", {}, 1, (("lo", -0.5), ("hi", 0.75)), ["DequantizeLinear", "Clip", "QuantizeLinear"]),
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}, 1, (),
     ["DequantizeLinear", "MaxPool", "QuantizeLinear"]),
    ("GlobalMaxPool", {}, 1, (), ["DequantizeLinear", "GlobalMaxPool", "QuantizeLinear"]),
    ("Sub", {}, 2, (), ["DequantizeLinear", "DequantizeLinear", "Sub", "QuantizeLinear"]),
    ("Div", {}, 2, (), ["DequantizeLinear", "DequantizeLinear", "Div", "QuantizeLinear"]),
    ("Max", {}, 2, (), ["DequantizeLinear", "DequantizeLinear", "Max", "QuantizeLinear"]),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 1, (), ["DequantizeLinear", "HardSigmoid", "QuantizeLinear"]),
    ("HardSwish", {}, 1, (), ["DequantizeLinear", "HardSigmoid", "Mul", "QuantizeLinear"]),
    ("Transpose", {"perm": [0, 2, 3, 1]}, 1, (), ["DequantizeLinear", "Transpose", "QuantizeLinear"]),
    ("Tanh", {}, 1, (), ["DequantizeLinear", "Tanh", "QuantizeLinear"]),
]


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,attrs,n_in,extra,ort_ops", QDQ, ids=[q[0] for q in QDQ])
def test_qdq_fused_and_islands(op, attrs, n_in, extra, ort_ops, dt, tmp_path):
    rng = np.random.default_rng(sum(map(ord, op)))
    for i in range(3):
        p = _params(rng, dt, n_in + 1)
        if op == "Softmax":
            p[-1] = (1.0 / 256, int(np.iinfo(dt).min))
        if op == "Div":  # keep the quotient inside the output range most of the time
            p[1] = (p[1][0], int(np.iinfo(dt).min))
        m = _qdq(op, dt, p, attrs, n_in, extra)
        if i == 0:  # which kernels onnxruntime runs for this pattern (default optimizations)
            assert _ort_ops(m, tmp_path) == ort_ops
        feed = {"x0": _all_codes(dt)}
        if n_in == 2:
            feed["x1"] = _codes(rng, dt, (1, 4, 8, 8))
        want, got, net = _both(m, feed)
        assert want.shape == got.shape and np.array_equal(want, got), (op, p)
        par = net.run(feed, reference=False).stats[net.nodes[-1].name]["ort_parity"]
        assert par.startswith("exact"), par


def _qdq_softmax(dt, p, shape):
    T = TYPES[dt]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["f"]),
             helper.make_node("Softmax", ["f"], ["g"], axis=-1),
             helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["y"])]
    return _model(nodes, [("x", T, list(shape))], _q_inits([("xs", "xz"), ("ys", "yz")], p, dt), opset=17)


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
def test_qdq_softmax_attention_scores(dt):
    """The attention Softmax of the QDQ transformer encoder (tests/network/
    test_ort_parity_models.py, node softmax40): 4-D (1, heads, seq, seq) input, axis -1,
    output scale fl32(1/255) (``floor(fl32(1 / ys))`` = 254, not 255), then seeded scales;
    also judged layer by layer in isolation (hwsim.testing.ort_parity), which must run
    onnxruntime's kernel as the executor does (it ran hwsim's exact Softmax: 43 of 384
    codes differed by 1)."""
    from hwsim.testing.ort_parity import compare_layers, exact_failures

    rng = np.random.default_rng(40)
    info = np.iinfo(dt)
    zx = 136 if dt is np.uint8 else 8
    cases = [[(0.023786358535289764, zx), (1.0 / 255, int(info.min) if dt is np.int8 else 0)]]
    for _ in range(3):
        p = _params(rng, dt, 1)
        cases.append([p[0], (float(np.float32(1.0 / rng.choice([255, 256]))), int(info.min))])
    for p in cases:
        m = _qdq_softmax(dt, p, (1, 2, 8, 8))
        x = np.clip(rng.normal(zx if dt is np.uint8 else 0, 40, (1, 2, 8, 8)), info.min, info.max).astype(dt)
        want, got, _ = _both(m, {"x": x})
        assert np.array_equal(want, got), p
        ps = compare_layers(m, [{"x": x}, {"x": _codes(rng, dt, (1, 2, 8, 8))}], isolate=True)
        sm = [q for q in ps if q.op == "Softmax"]
        assert sm[0].ort_kernel == "QLinearSoftmax" and sm[0].asserted, sm
        assert not exact_failures(ps) and sm[0].mismatches == 0, (p, sm)


@pytest.mark.parametrize("op", ["Exp", "Erf"])
def test_unmodelled_islands_are_reported(op):
    m = _qdq(op, np.uint8, [(0.02, 128), (0.05, 0)], {}, 1)
    net = load_onnx(m)
    st = net.run({"x0": _all_codes(np.uint8)}, reference=False).stats
    assert st[net.nodes[0].name]["ort_parity"].startswith(f"float island not modelled ({op}")


def test_tanh_kernel_on_float32_inputs():
    """The MLAS tanh model against onnxruntime's float Tanh on 20,000 float32 values."""
    from hwsim.ops.ort_numerics import tanh_fma3

    g = helper.make_graph([helper.make_node("Tanh", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    x = np.random.default_rng(5).normal(0, 3, 20000).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.array_equal(tanh_fma3(x).view(np.uint32), want.view(np.uint32))


def test_elementwise_switch():
    from hwsim.network import ConfigError, NetworkConfig

    with pytest.raises(ConfigError, match="elementwise"):
        NetworkConfig.from_dict({"defaults": {"elementwise": "onnxruntime"}})
    m = _qdq("Sigmoid", np.uint8, [(0.05, 128), (1 / 256, 0)], {}, 1)
    cfg = {"defaults": dict(input="model", weight="model", bias="model", output="model",
                            requant="onnx", elementwise="exact")}
    net = load_onnx(m, config=cfg)
    st = net.run({"x0": _all_codes(np.uint8)}, reference=False).stats
    assert "ort_parity" not in st[net.nodes[0].name]


def test_run_report_lists_parity_per_layer(tmp_path, capsys):
    import onnx

    from hwsim.cli import main

    nodes = [helper.make_node("DequantizeLinear", ["x0", "s0", "z0"], ["f0"]),
             helper.make_node("Exp", ["f0"], ["t"]),
             helper.make_node("QuantizeLinear", ["t", "s1", "z1"], ["q1"]),
             helper.make_node("DequantizeLinear", ["q1", "s1", "z1"], ["f1"]),
             helper.make_node("Sigmoid", ["f1"], ["g"]),
             helper.make_node("QuantizeLinear", ["g", "so", "zo"], ["y"])]
    inits = [("s0", 0.05, np.float32), ("z0", 128, np.uint8), ("s1", 0.01, np.float32),
             ("z1", 128, np.uint8), ("so", 1 / 256, np.float32), ("zo", 0, np.uint8)]
    onnx.save(_model(nodes, [("x0", TensorProto.UINT8, [1, 4, 8, 8])], inits), tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", _all_codes(np.uint8))
    assert main(["run", str(tmp_path / "m.onnx"), "--input", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime parity:" in out
    lines = out.split("onnxruntime parity:")[1].strip().splitlines()
    assert len(lines) == 2
    assert "float island not modelled (Exp" in lines[0] and "exact (QLinear kernel)" in lines[1]


def test_fma32_is_one_rounding():
    """fma32 against the exact rational x*y+z rounded once to float32 (Fractions)."""
    from fractions import Fraction

    from hwsim.ops.ort_numerics import fma32

    rng = np.random.default_rng(11)
    n = 3000
    x = rng.normal(0, 1, n).astype(np.float32)
    y = (rng.normal(0, 1, n) * 10.0 ** rng.integers(-6, 6, n)).astype(np.float32)
    z = (rng.normal(0, 1, n) * 10.0 ** rng.integers(-6, 6, n)).astype(np.float32)
    got = fma32(x, y, z)
    for a, b, c, g in zip(x.tolist(), y.tolist(), z.tolist(), got.tolist()):
        v = Fraction(a) * Fraction(b) + Fraction(c)
        f = np.float32(g)
        lo, hi = np.nextafter(f, np.float32(-np.inf)), np.nextafter(f, np.float32(np.inf))
        d = abs(Fraction(float(f)) - v)
        assert d <= abs(Fraction(float(lo)) - v) and d <= abs(Fraction(float(hi)) - v)
        if d == abs(Fraction(float(lo)) - v) or d == abs(Fraction(float(hi)) - v):  # a tie: even
            assert int(np.asarray(f).view(np.uint32)) & 1 == 0


# -- larger tensors: SIMD main loops, masked tails, long rows --------------------------------
ODD = (1, 5, 23, 29)  # 3335 elements: tails for 8/16/32/64-wide loops, odd pool windows


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,attrs,n_in,extra,ort_ops", QDQ, ids=[q[0] for q in QDQ])
def test_qdq_fused_and_islands_large(op, attrs, n_in, extra, ort_ops, dt):
    """The QDQ patterns above on a 1x5x23x29 tensor (every kernel's main loop and tail)."""
    rng = np.random.default_rng(sum(map(ord, op)) + 1000)
    p = _params(rng, dt, n_in + 1)
    if op == "Softmax":
        p[-1] = (1.0 / 256, int(np.iinfo(dt).min))
    if op == "Div":
        p[1] = (p[1][0], int(np.iinfo(dt).min))
    m = _qdq(op, dt, p, attrs, n_in, extra, shape=ODD)
    feed = {f"x{k}": _codes(rng, dt, ODD) for k in range(n_in)}
    want, got, _ = _both(m, feed)
    assert want.shape == got.shape and np.array_equal(want, got), (op, p)


LARGE = [("QLinearGlobalAveragePool", {}, (2, 64, 15, 15)),
         ("QLinearGlobalAveragePool", {}, (1, 8, 56, 56)),
         ("QLinearAveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}, (1, 16, 33, 35)),
         ("QLinearAveragePool", {"kernel_shape": [5, 5], "strides": [2, 2], "pads": [2, 1, 2, 1],
                                 "count_include_pad": 1}, (1, 6, 37, 31)),
         ("QLinearSigmoid", {}, (1, 5, 23, 29)),
         ("QLinearLeakyRelu", {"alpha": 0.07}, (1, 5, 23, 29)),
         ("QLinearSoftmax", {"axis": -1, "opset": 13}, (3, 1000)),
         ("QLinearSoftmax", {"axis": -1, "opset": 13}, (2, 4099)),
         ("QLinearSoftmax", {"axis": 1, "opset": 13}, (2, 77, 3))]


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,attrs,shape", LARGE, ids=[f"{o[7:]}-{'x'.join(map(str, s))}" for o, _, s in LARGE])
def test_qlinear_large(op, attrs, shape, dt):
    """The unary QLinear ops on large tensors and long softmax rows, 3 parameter sets each."""
    rng = np.random.default_rng(sum(shape) + len(op))
    T = TYPES[dt]
    for _ in range(3):
        p = _params(rng, dt, 2)
        if op == "QLinearSoftmax":
            p[1] = (1.0 / 256, int(np.iinfo(dt).min))
        m = _model([helper.make_node(op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain=MS, **attrs)],
                   [("x", T, list(shape))], _q_inits([("xs", "xz"), ("ys", "yz")], p, dt))
        want, got, _ = _both(m, {"x": _codes(rng, dt, shape)})
        assert want.shape == got.shape and np.array_equal(want, got), (op, attrs, p)


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
def test_qlinear_concat_large(dt):
    rng = np.random.default_rng(99)
    T = TYPES[dt]
    p = _params(rng, dt, 3)
    ins = ["ys", "yz", "a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"]
    shp = [(1, 7, 31, 33), (1, 5, 31, 33), (1, 3, 31, 33)]
    m = _model([helper.make_node("QLinearConcat", ins, ["y"], domain=MS, axis=1)],
               [("a", T, list(shp[0])), ("b", T, list(shp[1])), ("c", T, list(shp[2]))],
               _q_inits([("ys", "yz"), ("as", "az"), ("bs", "bz")], p, dt))
    want, got, _ = _both(m, {k: _codes(rng, dt, s) for k, s in zip("abc", shp)})
    assert np.array_equal(want, got), p


CONST_OPS = [("Add", 1, ["QLinearAdd"]), ("Mul", 1, ["QLinearMul"]), ("Add", 0, ["QLinearAdd"]),
             ("Sub", 1, ["DequantizeLinear"] * 2 + ["Sub", "QuantizeLinear"]),
             ("Div", 0, ["DequantizeLinear"] * 2 + ["Div", "QuantizeLinear"]),
             ("Max", 1, ["DequantizeLinear"] * 2 + ["Max", "QuantizeLinear"])]


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op,pos,ort_ops", CONST_OPS, ids=[f"{o}{p}" for o, p, _ in CONST_OPS])
def test_qdq_constant_operand(op, pos, ort_ops, dt, tmp_path):
    """A DequantizeLinear'd constant operand (a quantized bias, as quantize_static writes
    it), broadcast along the last axis: onnxruntime fuses Add / Mul into QLinearAdd /
    QLinearMul on the constant's codes (the encoder's add17 before the fix: 1 code in 2048
    differed), and the islands see the float32 constant."""
    rng = np.random.default_rng(len(op) * 7 + pos)
    T = TYPES[dt]
    p = _params(rng, dt, 3)
    if op == "Div":
        p[1] = (p[1][0], int(np.iinfo(dt).min))  # a positive divisor
    ins = ["xd", "cd"] if pos == 1 else ["cd", "xd"]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xd"]),
             helper.make_node("DequantizeLinear", ["c", "cs", "cz"], ["cd"]),
             helper.make_node(op, ins, ["g"]),
             helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["y"])]
    inits = _q_inits([("xs", "xz"), ("cs", "cz"), ("ys", "yz")], p, dt) + [("c", _codes(rng, dt, (29,)), dt)]
    m = _model(nodes, [("x", T, list(ODD))], inits)
    assert _ort_ops(m, tmp_path) == ort_ops
    feed = {"x": _codes(rng, dt, ODD)}
    want, got, net = _both(m, feed)
    assert np.array_equal(want, got), (op, p)
    assert net.run(feed, reference=False).stats[net.nodes[-1].name]["ort_parity"].startswith("exact")
