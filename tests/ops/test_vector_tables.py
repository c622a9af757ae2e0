"""Lookup-table and piecewise-linear vector-unit functions change a network's output
exactly as a hand computation predicts (docs/semantics.md, "Vector unit")."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from hwsim.network.onnx_import import load_onnx


def _net(nodes, shape, config, opset=13):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return load_onnx(m, config=config)


def _cfg(functions=None):
    v = {"format": "float32"}
    if functions:
        v["functions"] = functions
    return {"defaults": {"input": "float32", "output": "float32", "scale": "none", "vector": v}}


def test_sigmoid_lookup_table_in_silu():
    """x * Sigmoid(x) (fused into SiLU) with a 9-entry sigmoid table over [-4, 4]:
    index floor(x + 4 + 1/2) clamped to 0..8, y = fl32(x * table[index])."""
    table = [0.0, 0.0625, 0.125, 0.25, 0.5, 0.75, 0.875, 0.9375, 1.0]
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    x = np.array([[-5.0, -1.4, 0.3, 0.5, 2.6, 10.0]], np.float32)
    lut = _net(nodes, [1, 6], _cfg({"sigmoid": {"lut": {"lo": -4, "hi": 4, "table": table}}}))
    exact = _net(nodes, [1, 6], _cfg())
    assert any("SiLU" in r for r in lut.source["rewrites"])
    got = lut.run(x).outputs["y"]
    # by hand: indices 0 (clamped), 3, 4, 5 (the tie 0.5 goes up), 7, 8 (clamped)
    want = x.astype(np.float32) * np.array([[0.0, 0.25, 0.5, 0.75, 0.9375, 1.0]], np.float32)
    assert np.array_equal(got, want.astype(np.float64))
    assert not np.array_equal(got, exact.run(x).outputs["y"])  # the table changed the output


def test_exp_piecewise_linear_in_softmax():
    """Softmax on the unit with exp as a 2-point PWL (x = [-2, 0], y = [0, 1]):
    d = x - max, e = fl(0 + fl(fl(d + 2) * 0.5)) inside [-2, 0), 0 below -2, 1 at 0;
    s = fp32 sum in index order; y = fl32(e / s)."""
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=-1)]
    x = np.array([[0.0, -1.0, -0.5, -3.0, -1.75]], np.float32)
    net = _net(nodes, [1, 5], _cfg({"exp": {"pwl": {"x": [-2, 0], "y": [0, 1]}}}))
    got = net.run(x).outputs["y"]
    e = np.array([1.0, 0.5, 0.75, 0.0, 0.125], np.float32)
    s = np.float32(((np.float32(1.0) + np.float32(0.5)) + np.float32(0.75)) + np.float32(0.125))
    assert np.array_equal(got, (e / s).astype(np.float64)[None])
    exact = _net(nodes, [1, 5], _cfg()).run(x).outputs["y"]
    assert not np.array_equal(got, exact)


def test_pwl_slopes_and_lut_in_bfloat16():
    """The table arithmetic happens in the unit's format: bfloat16 rounds the slope
    fl(1 / 3) = 0.333984375 and each step."""
    from hwsim.ops.vector import vector_unit

    u = vector_unit({"format": "bfloat16", "functions": {"tanh": {"pwl": {"x": [0, 3], "y": [0, 1]}}}})
    x = np.array([1.5, -1.0, 4.0, np.nan])
    got = u.fn("tanh", x)
    slope = 0.333984375  # bfloat16(1/3)
    assert got[0] == u.rnd(np.array([1.5 * slope]))[0]
    assert got[1] == 0.0 and got[2] == 1.0 and np.isnan(got[3])


def test_vector_unit_per_op_type_and_per_layer():
    """The `vector` key resolves like every layer key: defaults, op type, then name."""
    nodes = [helper.make_node("Tanh", ["x"], ["t"], name="t1"),
             helper.make_node("Tanh", ["t"], ["y"], name="t2")]
    cfg = _cfg()
    cfg["layers"] = [{"op": "Tanh", "vector": {"format": "bfloat16"}},
                     {"name": "t2", "vector": {"format": "float16", "rounding": "rtz"}}]
    net = _net(nodes, [1, 4], cfg)
    x = np.array([[0.3, -1.2, 2.0, 0.001]], np.float32)
    r = net.run(x, keep=True)
    from hwsim.ops.vector import vector_unit

    bf, f16 = vector_unit({"format": "bfloat16"}), vector_unit({"format": "float16", "rounding": "rtz"})
    t1 = bf.fn("tanh", bf.rnd(x.astype(np.float64)))
    assert np.array_equal(r.tensors["t"].values(), t1)
    assert np.array_equal(r.outputs["y"], f16.fn("tanh", f16.rnd(t1)))
