"""ONNX import beyond the registry's ops: constant folding (onnxscript), BatchNormalization folded
into Conv / Gemm in float64, grouped problem reports, declared input shapes, the light models."""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.network import UnsupportedModelError, load_onnx
from hwsim.ops.batchnorm import fold_batchnorm


def _model(nodes, inits, x_shape, opset=13, outputs=("y",)):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _ort(m, x):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def test_shape_chain_and_constant_of_shape_are_folded():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.5, (3, 2, 3, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.int64(0), "i0"),
             numpy_helper.from_array(np.array([-1], np.int64), "m1"),
             numpy_helper.from_array(np.array([3], np.int64), "bshape"),
             numpy_helper.from_array(np.array([0], np.int64), "ax0")]
    nodes = [helper.make_node("ConstantOfShape", ["bshape"], ["b"],
                              value=numpy_helper.from_array(np.array([0.25], np.float32))),
             helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Shape", ["c"], ["s"]),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["nu"]),
             helper.make_node("Concat", ["nu", "m1"], ["shp"], axis=0),
             helper.make_node("Reshape", ["c", "shp"], ["y"])]
    m = _model(nodes, inits, [2, 2, 5, 5])
    net = load_onnx(m)
    assert [n.op for n in net.nodes] == ["Conv", "Reshape"]
    assert net.nodes[1].attrs["shape"] == [2, -1]
    assert any("constant folding" in r for r in net.source["rewrites"])
    x = rng.normal(0, 1, (2, 2, 5, 5)).astype(np.float32)
    got = net.reference(x)[net.outputs[0]]
    np.testing.assert_allclose(got, _ort(m, x), rtol=1e-5, atol=1e-5)  # float64 vs float32


def test_batchnorm_folded_into_conv_and_gemm_in_float64():
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    wg = rng.normal(0, 0.5, (36, 5)).astype(np.float32)
    bn = [rng.uniform(0.5, 2, 4), rng.normal(0, 1, 4), rng.normal(0, 1, 4), rng.uniform(0.1, 2, 4)]
    bn2 = [rng.uniform(0.5, 2, 5), rng.normal(0, 1, 5), rng.normal(0, 1, 5), rng.uniform(0.1, 2, 5)]
    names = ["sc", "be", "mu", "va"]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wg, "wg")]
    inits += [numpy_helper.from_array(v.astype(np.float32), k) for k, v in zip(names, bn)]
    inits += [numpy_helper.from_array(v.astype(np.float32), k + "2") for k, v in zip(names, bn2)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c"] + names, ["b"], epsilon=1e-3),
             helper.make_node("Relu", ["b"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "wg"], ["g"]),
             helper.make_node("BatchNormalization", ["g"] + [k + "2" for k in names], ["y"])]
    m = _model(nodes, inits, [2, 3, 5, 5])
    net = load_onnx(m)
    assert [n.op for n in net.nodes] == ["Conv", "Relu", "Flatten", "Gemm"]
    assert len([r for r in net.source["rewrites"] if r.startswith("BatchNormalization")]) == 2
    f32 = [np.float64(np.float32(v)) for v in bn]
    k = f32[0] / np.sqrt(f32[3] + np.float64(np.float32(1e-3)))
    assert np.array_equal(net.nodes[0].weight, w.astype(np.float64) * k[:, None, None, None])
    assert np.array_equal(net.nodes[0].bias, (0.0 - f32[2]) * k + f32[1])
    x = rng.normal(0, 1, (2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(net.reference(x)["y"], _ort(m, x), rtol=1e-4, atol=1e-4)
    wf, bf = fold_batchnorm(np.ones((2, 3)), None, "Gemm", [2.0, 1.0, 4.0], [0.0, 1.0, 0.0],
                            [1.0, 0.0, 0.0], [3.0, 0.0, 15.0], 1.0)
    assert wf.tolist() == [[1.0, 1.0, 1.0]] * 2 and bf.tolist() == [-1.0, 1.0, 0.0]


def test_batchnorm_without_a_preceding_mac_is_a_channel_affine():
    inits = [numpy_helper.from_array(np.array(v, np.float32), k)
             for k, v in (("sc", [2, 1]), ("be", [0.5, 0]), ("mu", [1, 0]), ("va", [3, 0]))]
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "sc", "be", "mu", "va"], ["y"], epsilon=1.0)]
    net = load_onnx(_model(nodes, inits, [1, 2, 3, 3]))
    assert [n.op for n in net.nodes] == ["Relu", "ChannelAffine"]
    assert net.nodes[1].attrs["a"] == [1.0, 1.0] and net.nodes[1].attrs["b"] == [-0.5, 0.0]


def test_unsupported_content_is_grouped_with_counts_and_first_node():
    nodes = [helper.make_node("Sin", ["x"], ["l0"], name="sin_a"),
             helper.make_node("Sin", ["l0"], ["l1"], name="sin_b"),
             helper.make_node("Cos", ["l1"], ["t"], name="co"),
             helper.make_node("Sin", ["t"], ["y"], name="sin_c")]
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(_model(nodes, [], [1, 2, 3, 3]))
    msg = str(e.value)
    assert "op Sin: 3 nodes, first 'sin_a'" in msg and "op Cos: 1 node, first 'co'" in msg
    assert msg.count("Sin") == 1


def test_declared_input_shape_is_enforced():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    net = load_onnx(_model(nodes, [], [1, 2, 8, 8]))
    net.calibrate([np.ones((1, 2, 8, 8))])
    assert net.run(np.ones((1, 2, 8, 8))).outputs["y"].shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match=r"input 'x' must have the declared shape \(1, 2, 8, 8\)"):
        net.run(np.ones((1, 2, 9, 9)))
    with pytest.raises(ValueError, match="declared shape"):
        net.reference(np.ones((2, 8, 8)))
    dyn = load_onnx(_model(nodes, [], ["batch", 2, 8, 8]))  # symbolic batch: any size
    assert dyn.reference(np.ones((3, 2, 8, 8)))["y"].shape == (3, 2, 8, 8)


_LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


@pytest.mark.parametrize("name,layers", [("squeezenet", 66), ("resnet50", 123)])
def test_light_model_imports_and_float64_matches_shipped_output(name, layers):
    net = load_onnx(os.path.join(_LIGHT, f"light_{name}.onnx"))
    assert len(net.nodes) == layers
    shape = next(iter(net.inputs.values()))
    n = int(np.prod(shape))
    x = (np.arange(n).reshape(shape) / n).astype(np.float32)  # onnx's backend runner input
    want = numpy_helper.to_array(onnx.load_tensor(os.path.join(_LIGHT, f"light_{name}_output_0.pb")))
    got = net.reference(x, keep=False)[net.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-7)  # onnx's own tolerance


def test_mul_and_add_by_per_channel_constants_fold_into_conv():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.5, (3, 2, 3, 3)).astype(np.float32)
    sc = rng.uniform(0.5, 2, (1, 3, 1, 1)).astype(np.float32)
    sh = rng.normal(0, 1, (3, 1, 1)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(sc, "sc"),
             numpy_helper.from_array(sh, "sh")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Mul", ["c", "sc"], ["m"]),
             helper.make_node("Add", ["sh", "m"], ["y"])]
    m = _model(nodes, inits, [1, 2, 5, 5])
    net = load_onnx(m)
    assert [n.op for n in net.nodes] == ["Conv"] and net.nodes[0].outputs == ["y"]
    assert np.array_equal(net.nodes[0].weight, w.astype(np.float64) * sc.astype(np.float64).reshape(3, 1, 1, 1))
    assert np.array_equal(net.nodes[0].bias, sh.astype(np.float64).reshape(3))
    x = rng.normal(0, 1, (1, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(net.reference(x)["y"], _ort(m, x), rtol=1e-5, atol=1e-5)
    # a constant that varies along H cannot fold into the Conv: it is a ChannelAffine on axis 2
    hc = rng.uniform(0.5, 2, (1, 1, 3, 1)).astype(np.float32)
    inits[1] = numpy_helper.from_array(hc, "sc")
    m2 = _model(nodes, inits, [1, 2, 5, 5])
    net = load_onnx(m2)
    # (the Add along channels does not merge with it: a different axis)
    assert [n.op for n in net.nodes] == ["Conv", "ChannelAffine", "ChannelAffine"]
    assert [n.attrs["axis"] for n in net.nodes[1:]] == [2, 1]
    np.testing.assert_allclose(net.reference(x)["y"], _ort(m2, x), rtol=1e-5, atol=1e-5)
    # one varying along two axes is an element-wise Mul on the vector unit (issue 9)
    inits[1] = numpy_helper.from_array(rng.uniform(0.5, 2, (1, 1, 3, 3)).astype(np.float32), "sc")
    m3 = _model(nodes, inits, [1, 2, 5, 5])
    net = load_onnx(m3)
    assert [n.op for n in net.nodes] == ["Conv", "Mul", "ChannelAffine"]
    np.testing.assert_allclose(net.reference(x)["y"], _ort(m3, x), rtol=1e-5, atol=1e-5)
