"""Vector-unit ops: import handlers, float64 references against onnxruntime (float32), and
quantized runs on the vector unit.

Every op is built as a one-node ONNX model; its float64 reference must match onnxruntime
within float32 tolerance, and its run on a float32 vector unit (float32 in and out,
scale 1) must match onnxruntime within a few float32 ulps (onnxruntime's float32 kernels
are not correctly rounded, so bits are compared only against our own models below).
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.errors import UnsupportedModelError
from hwsim.network.onnx_import import load_onnx

F32 = {"defaults": {"input": "float32", "output": "float32", "scale": "none",
                    "vector": {"format": "float32"}}}


def model(op, shapes, out_shape=None, consts=(), opset=18, **attrs):
    """A one-node model: tensor inputs ``x0, x1, ...`` of ``shapes``, then constants."""
    ins = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, s) for i, s in enumerate(shapes)]
    names = [f"x{i}" for i in range(len(shapes))]
    inits = []
    for k, c in enumerate(consts):
        c = np.asarray(c)
        inits.append(numpy_helper.from_array(c, f"c{k}"))
        names.append(f"c{k}")
    node = helper.make_node(op, names, ["y"], name="n", **attrs)
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    g = helper.make_graph([node], "t", ins, [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def run_both(m, xs, config=F32):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {f"x{i}": x for i, x in enumerate(xs)})[0]
    net = load_onnx(m, config=config)
    feed = {f"x{i}": x for i, x in enumerate(xs)}
    ref = net.reference(feed)[net.outputs[0]]
    got = net.run(feed).outputs[net.outputs[0]]
    return want, ref, got, net


def _x(shape, seed=0, lo=-4, hi=4):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32)


def _check(want, ref, got, ulps=4):
    np.testing.assert_allclose(ref, want, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(got, want, rtol=ulps * 2.0 ** -23, atol=1e-6)
    assert got.dtype == np.float64 and np.array_equal(got, got.astype(np.float32))


UNARY = [("Exp", {}), ("Tanh", {}), ("Erf", {}), ("Sqrt", {}), ("Reciprocal", {}),
         ("Softplus", {}), ("HardSigmoid", dict(alpha=0.2, beta=0.5)), ("Sigmoid", {}),
         ("LeakyRelu", dict(alpha=0.1)), ("HardSwish", {}), ("Log", {}), ("Neg", {}), ("Abs", {})]


@pytest.mark.parametrize("op,attrs", UNARY, ids=[u[0] for u in UNARY])
def test_unary_against_onnxruntime(op, attrs):
    lo = 0.05 if op in ("Sqrt", "Log") else -4
    x = _x((2, 3, 5), lo=lo)
    _check(*run_both(model(op, [[2, 3, 5]], **attrs), [x])[:3])


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Min", "Max", "Sum"])
def test_binary_broadcast_and_constants(op):
    a, b = _x((2, 3, 4), 1), _x((3, 1), 2, 0.5, 4)
    _check(*run_both(model(op, [[2, 3, 4], [3, 1]]), [a, b])[:3])
    c = _x((3, 4), 3, 0.5, 2)  # a constant varying along two axes: never a ChannelAffine
    _check(*run_both(model(op, [[2, 3, 4]], consts=[c]), [a])[:3])


def test_sum_of_three_and_tensor_mul_bits():
    a, b, c = _x((4, 5), 1), _x((4, 5), 2), _x((1, 5), 3)
    want, ref, got, _ = run_both(model("Sum", [[4, 5], [4, 5], [1, 5]]), [a, b, c])
    # left to right, each add rounded to float32 (exactly numpy's float32 adds)
    assert np.array_equal(got, (a + b) + c)
    _, _, got, _ = run_both(model("Mul", [[4, 5], [1, 5]]), [a, c])
    assert np.array_equal(got, a * c)


@pytest.mark.parametrize("p", [2.0, 3.0, 0.5, -1.0])
def test_pow_constant_exponent(p):
    x = _x((3, 4), 4, 0.1, 3)
    _check(*run_both(model("Pow", [[3, 4]], consts=[np.float32(p)]), [x])[:3], ulps=8)


def test_pow_refuses_other_exponents():
    with pytest.raises(UnsupportedModelError, match="exponent"):
        load_onnx(model("Pow", [[3]], consts=[np.float32(1.5)]))


@pytest.mark.parametrize("op,opset,axes_attr", [("ReduceMean", 13, True), ("ReduceMean", 18, False),
                                                ("ReduceSum", 13, False), ("ReduceMax", 18, False),
                                                ("ReduceSum", 11, True)])
def test_reductions_opsets(op, opset, axes_attr):
    x = _x((2, 3, 8), 5)
    kw = dict(axes=[-1]) if axes_attr else {}
    consts = [] if axes_attr else [np.array([-1], np.int64)]
    m = model(op, [[2, 3, 8]], consts=consts, opset=opset, keepdims=0, **kw)
    _check(*run_both(m, [x])[:3])


def test_reduce_sum_order_is_sequential_float32():
    """ReduceSum through the fp32 accumulator: index order, one float32 rounding per add."""
    x = np.array([[1.0, 2.0 ** -24, 2.0 ** -24, -1.0]], np.float32)
    _, _, got, _ = run_both(model("ReduceSum", [[1, 4]], consts=[np.array([1], np.int64)],
                                  keepdims=0), [x])
    assert got.tolist() == [0.0]  # 1 + 2^-24 rounds to 1 (tie to even), twice; then - 1


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_family(op):
    x = _x((3, 10), 6)
    _check(*run_both(model(op, [[3, 10]], opset=13, axis=-1), [x])[:3], ulps=8)


def test_layernorm_and_gelu_ops():
    x = _x((2, 4, 16), 7)
    g, b = _x((16,), 8, 0.5, 1.5), _x((16,), 9, -0.5, 0.5)
    m = model("LayerNormalization", [[2, 4, 16]], consts=[g, b], opset=17, axis=-1, epsilon=1e-5)
    _check(*run_both(m, [x])[:3], ulps=16)
    for ap in ("none", "tanh"):
        _check(*run_both(model("Gelu", [[2, 4, 16]], opset=20, approximate=ap), [x])[:3], ulps=8)


def test_prelu():
    x = _x((2, 3, 4), 10)
    slope = np.array([0.1, 0.2, 0.3], np.float32).reshape(3, 1)
    _check(*run_both(model("PRelu", [[2, 3, 4]], consts=[slope]), [x])[:3])


def test_int8_network_through_vector_unit():
    """int8 tensors: inputs dequantized exactly, float32 unit, requantized once (rne)."""
    a, b = _x((4, 8), 11), _x((4, 8), 12)
    cfg = {"defaults": {"input": "int8", "output": "int8", "vector": {"format": "float32"}}}
    m = model("Mul", [[4, 8], [4, 8]])
    net = load_onnx(m, config=cfg)
    net.calibrate([{"x0": a, "x1": b}])
    r = net.run({"x0": a, "x1": b}, keep=True)
    qa, qb = r.tensors["x0"], r.tensors["x1"]
    prod = (qa.values().astype(np.float32) * qb.values().astype(np.float32)).astype(np.float64)
    qy = r.qoutputs[net.outputs[0]]
    want = np.clip(np.rint(prod / float(qy.scale)), -128, 127)
    assert np.array_equal(qy.ints(), want)


def test_softplus_large_inputs_do_not_overflow():
    x = np.array([[-100.0, -20.0, 0.0, 20.0, 100.0, 1e30]], np.float32)
    want, ref, got, _ = run_both(model("Softplus", [[1, 6]]), [x])
    assert np.isfinite(got).all() and got[0, 4] == 100.0 and got[0, 5] == np.float32(1e30)
    np.testing.assert_allclose(got[0, 2:5], want[0, 2:5], rtol=2.0 ** -21)
    # the stated sequence: fl32(1 + exp(-20)) = 1, log(1) = 0 (the true value is 2.06e-9)
    assert got[0, 0] == 0.0 and got[0, 1] == 0.0
