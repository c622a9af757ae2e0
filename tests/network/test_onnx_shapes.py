"""Per-node shape checks at ONNX import (hwsim/network/onnx_shapes.py) and calibration scales
that float32 can hold.  Each case is a fuzz finding (tests/fuzz/findings/onnx/) written out by
hand: before the checks these models reached numpy inside calibration (broadcast / matmul
ValueErrors, RuntimeWarnings) instead of an error naming the node and the shapes."""
import warnings

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.errors import UnsupportedModelError
from hwsim.network import load_onnx
from hwsim.network.calibrate import scale_for


def _cnn(x_shape=(1, 1, 4, 4), w_shape=(2, 1, 3, 3), b_shape=(2,), fw_shape=(8, 3),
         pool_kernel=(2, 2)):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), k) for k, s in
             [("w", w_shape), ("b", b_shape), ("fw", fw_shape), ("fb", (3,))]]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=list(pool_kernel),
                              strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc")]
    g = helper.make_graph(nodes, "tiny_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_the_seed_model_imports_and_runs():
    net = load_onnx(_cnn())
    x = np.random.default_rng(1).normal(size=(1, 1, 4, 4))
    net.calibrate([x])
    assert net.run(x).outputs["y"].shape == (1, 3)


@pytest.mark.parametrize("kw, words", [
    (dict(b_shape=(4, 1)), ["conv1", "bias", "(4, 1)", "(2,)"]),
    (dict(b_shape=(0, 1)), ["conv1", "bias", "(0, 1)"]),
    (dict(x_shape=(1, 6, 4, 4)), ["conv1", "'x'", "(1, 6, 4, 4)", "(2, 1, 3, 3)"]),
    (dict(w_shape=(5, 4, 2, 2)), ["conv1", "(5, 4, 2, 2)"]),
    (dict(w_shape=(4, 5, 0, 0)), ["conv1", "(4, 5, 0, 0)", ">= 1"]),
    (dict(fw_shape=(16, 3)), ["fc", "(1, 8)", "(16, 3)", "last axis of 16"]),
    (dict(fw_shape=(2, 5, 5, 1)), ["fc", "(2, 5, 5, 1)", "[K, N]"]),
    (dict(pool_kernel=(-3, 2)), ["MaxPool", "kernel_shape=[-3, 2]", "pool", ">= 1"]),
])
def test_shapes_that_do_not_fit_name_the_node_and_the_shapes(kw, words):
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(_cnn(**kw))
    msg = str(e.value)
    assert all(w in msg for w in words), msg


def test_gemm_bias_of_the_wrong_size():
    m = _cnn()
    m.graph.initializer[3].CopyFrom(numpy_helper.from_array(np.zeros((5, 2, 1, 1), np.float32), "fb"))
    with pytest.raises(UnsupportedModelError, match=r"node fc \(Gemm\): bias has shape \(5, 2, 1, 1\)"):
        load_onnx(m)


def test_tiny_calibration_range_gives_a_float32_normal_scale_and_no_warning():
    # fuzz finding: an input whose max |x| was 4e-308 gave a scale of 3e-310, 0 in float32,
    # and the requantization multiplier 0 / 0 (numpy "invalid value encountered in divide")
    assert scale_for(4.1e-308, "int8") == np.finfo(np.float32).tiny
    assert scale_for(0.0, "int8") == 1 / 127 and scale_for(127.0, "int8") == 1.0
    gw = numpy_helper.from_array(np.random.default_rng(2).normal(size=(4, 4)).astype(np.float32), "gw")
    nodes = [helper.make_node("Gemm", ["x", "gw"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "x"], ["y"], name="add")]
    g = helper.make_graph(nodes, "tiny_res", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [gw])
    net = load_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    x = np.zeros((2, 4))
    x[0, 0] = 4.1346346e-308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.calibrate([x])
        y = net.run(x).outputs["y"]
    assert np.all(y == 0.0)


def test_constant_folding_failure_is_an_unsupported_model_error(tmp_path):
    # fuzz finding (tests/fuzz/findings/onnx/crash-af8dced8...): a byte-flipped model with an
    # unknown Conv attribute and a non-UTF-8 tensor name; the constant folder (onnxscript)
    # raised onnx_ir's SerdeError from load_onnx
    m = _cnn()
    m.graph.node[0].attribute.extend([helper.make_attribute("bogus", 1)])
    raw = m.SerializeToString()
    assert raw.count(b"\x0a\x01x\x0a\x01w\x0a\x01b") == 1
    p = tmp_path / "m.onnx"
    p.write_bytes(raw.replace(b"\x0a\x01x\x0a\x01w\x0a\x01b", b"\x0a\x01x\x0a\x01w\x0a\x01\xff"))
    with pytest.raises(UnsupportedModelError, match=r"constant folding failed.*'bogus'"):
        load_onnx(str(p))


def test_float_reference_overflow_is_an_error_naming_the_node():
    # fuzz finding (tests/fuzz/findings/onnx/crash-8077921a...): an input element of 1.8e308
    # made the float64 reference of the Gemm overflow (numpy "overflow encountered in matmul")
    from hwsim.errors import OverflowValueError

    gw = numpy_helper.from_array(np.full((4, 4), 1.5, np.float32), "gw")
    g = helper.make_graph([helper.make_node("Gemm", ["x", "gw"], ["y"], name="fc1")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [gw])
    net = load_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    x = np.zeros((2, 4))
    x[0, 0] = 1.7976931348623157e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OverflowValueError, match=r"node fc1 \(Gemm\).*1\.79769e\+308"):
            net.calibrate([x])


@pytest.mark.parametrize("attr, words", [
    (helper.make_attribute("kernel_shape", 3), ["kernel_shape=3", "list of integers"]),
    (helper.make_attribute("strides", [1.5, 2.0]), ["strides=", "list of integers"]),
])
def test_attributes_of_the_wrong_type(attr, words):
    # fuzz finding (tests/fuzz/findings/onnx/crash-08d940ef...): a byte flip left MaxPool's
    # kernel_shape without a list value and the import raised TypeError (len of None)
    m = _cnn()
    pool = m.graph.node[2]
    keep = [a for a in pool.attribute if a.name != attr.name]
    del pool.attribute[:]
    pool.attribute.extend(keep + [attr])
    with pytest.raises(UnsupportedModelError) as e:
        load_onnx(m)
    assert all(w in str(e.value) for w in words + ["pool"]), str(e.value)


def test_node_without_inputs_is_unsupported_content():
    # fuzz finding (tests/fuzz/findings/onnx/crash-2e32e074...): a byte flip left the Relu
    # without inputs and its import handler raised IndexError
    m = _cnn()
    del m.graph.node[1].input[:]
    with pytest.raises(UnsupportedModelError, match=r"Relu without a first input"):
        load_onnx(m)


def _gemm_model(x_shape=(2, 4), bias=None):
    inits = [numpy_helper.from_array(np.full((4, 4), 0.5, np.float32), "gw")]
    ins = ["x", "gw"]
    if bias is not None:
        inits.append(numpy_helper.from_array(np.asarray(bias, np.float32), "gb"))
        ins.append("gb")
    g = helper.make_graph([helper.make_node("Gemm", ins, ["y"], name="fc1")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_conv_without_weights_input_is_unsupported():
    # fuzz finding (findings/onnx/crash-34194daa...): a Conv left with only its X input
    # raised IndexError in the import handler
    m = _cnn()
    del m.graph.node[0].input[1:]
    # (since crash-7c0bfaf3...: the ONNX schema's required input count is checked first)
    with pytest.raises(UnsupportedModelError, match=r"Conv with inputs \['x'\], needs 2: 1 node, "
                                                    r"first 'conv1'"):
        load_onnx(m)


def test_gemm_reference_with_a_k_mismatch_names_the_node():
    # fuzz findings (crash-1324dd3e..., crash-89754891..., crash-e297c191...): shape inference
    # failed on the mutated model, so the import check did not know the input shape and numpy's
    # matmul raised "mismatch in its core dimension" inside calibration
    from types import SimpleNamespace

    from hwsim.ops.gemm import gemm_reference

    n = SimpleNamespace(name="fc", op="Gemm", inputs=["f"], weight=np.ones((8, 3)), bias=None)
    with pytest.raises(UnsupportedModelError, match=r"node fc \(Gemm\).*\(8, 1\).*\(8, 3\)"):
        gemm_reference(n, [np.ones((8, 1))])


def test_elementwise_operands_that_do_not_broadcast_name_the_node():
    # fuzz finding (crash-b2601bd7...): Add of (4, 4) and (2, 4) raised numpy's broadcast error
    from types import SimpleNamespace

    from hwsim.ops.elementwise import binary_reference

    n = SimpleNamespace(name="add", op="Add", inputs=["r", "x"], attrs={})
    with pytest.raises(UnsupportedModelError, match=r"node add \(Add\).*\(4, 4\), \(2, 4\)"):
        binary_reference(n, [np.ones((4, 4)), np.ones((2, 4))])


def test_nan_input_reference_is_silent_nan():
    # fuzz findings (crash-370b55f2..., crash-9cad5574...): NaN / Inf network inputs (allowed
    # in calibration) made the Gemm reference warn "invalid value encountered in matmul"
    net = load_onnx(_gemm_model())
    x = np.zeros((2, 4))
    x[0, 0], x[0, 1] = np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.calibrate([x])
    assert np.isnan(net.reference(x)["y"][0]).all()


def test_scales_beyond_float32_are_an_overflow_error_naming_the_node():
    # fuzz findings (crash-145ca08d..., crash-c6de5224..., crash-f987013d..., crash-ff5097b0...):
    # calibrating on inputs near 1e107 gave scales beyond float32; the requant multiplier's
    # cast warned "overflow encountered in cast"
    from hwsim.errors import OverflowValueError

    # (since crash-44000659...: a calibrated scale beyond float32 is refused where the
    # tensor is planned, before the MAC layer's multiplier is reached)
    net = load_onnx(_gemm_model())
    x = np.full((2, 4), 1e107)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.calibrate([x])
        with pytest.raises(OverflowValueError, match=r"tensor 'x': calibrated int8 scale "
                                                     r"7.87402e\+104 is beyond float32"):
            net.run(x)


def test_nan_bias_is_unsupported_at_import():
    # fuzz finding (crash-4f533607...): a bias initializer mutated to NaN reached the planner,
    # where bias / s_acc warned "invalid value encountered in cast"
    with pytest.raises(UnsupportedModelError, match=r"node fc1 \(Gemm\): bias \(4,\) have NaN"):
        load_onnx(_gemm_model(bias=[1.0, np.nan, 0.0, 0.0]))


def test_activation_matmul_with_inner_dimensions_that_differ_names_the_node():
    # MatMul between activations (new op): shapes that do not multiply are an
    # UnsupportedModelError naming the node, not numpy's "mismatch in its core dimension"
    from types import SimpleNamespace

    from hwsim.ops.matmul import matmul_reference

    n = SimpleNamespace(name="mm", op="MatMul", inputs=["a", "b"], attrs={})
    with pytest.raises(UnsupportedModelError, match=r"node mm \(MatMul\).*\(2, 3\) @ \(4, 5\)"):
        matmul_reference(n, [np.ones((2, 3)), np.ones((4, 5))])
    with pytest.raises(UnsupportedModelError, match=r"\(2, 2, 3\) @ \(3, 3, 1\)"):
        matmul_reference(n, [np.ones((2, 2, 3)), np.ones((3, 3, 1))])
    assert matmul_reference(n, [np.ones((1, 2, 3)), np.ones((5, 3, 4))]).shape == (5, 2, 4)


def _identity_relu_add():
    nodes = [helper.make_node("Identity", ["x"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "x"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_calibrated_scale_beyond_float32_is_an_overflow_error_naming_the_tensor():
    # fuzz finding (findings/onnx/crash-44000659...): an input element of -1.9e289 calibrated
    # an int8 scale of 1.5e287; the Relu's integer path (float32 arithmetic, as onnxruntime's)
    # warned "overflow encountered in cast" and the per-layer SQNR "overflow in square"
    from hwsim.errors import OverflowValueError

    net = load_onnx(_identity_relu_add())
    x = np.zeros((2, 4))
    x[0, 0] = -1.9490628022799444e+289
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.calibrate([x])
        with pytest.raises(OverflowValueError, match=r"tensor 'x': calibrated int8 scale "
                                                     r"1.5347e\+287 is beyond float32 \(scales "
                                                     r"must be at most 3.4028235e\+38\)"):
            net.run(x)
    # the largest range that still fits: scale = FLT_MAX exactly runs, silently
    f32max = float(np.finfo(np.float32).max)
    x[0, 0] = -f32max * 127
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.calibrate([x])
        r = net.run(x)
    assert r.stats["relu"]["sqnr_db"] == np.inf  # ReLU of 0 / -127 * scale is exact
    assert r.outputs["y"][0, 0] == -f32max * 127 and r.outputs["y"][0, 1] == 0.0


@pytest.mark.parametrize("op", ["Gemm", "QuantizeLinear", "MatMul"])
def test_node_missing_a_required_input_is_unsupported_content(op):
    # fuzz findings (findings/onnx/crash-7c0bfaf3...: Gemm without weights, IndexError in
    # _import_gemm; crash-4ca85aae..., crash-cffe502d...: QuantizeLinear without its scale,
    # IndexError in analyse_qdq): the ONNX schema's required input count is checked
    node = helper.make_node(op, ["x"], ["y"], name="n1")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(UnsupportedModelError, match=rf"{op} with inputs \['x'\], needs 2: 1 node, first 'n1'"):
        load_onnx(m)
    m.graph.node[0].input.append("")  # an empty name is an omitted input too
    with pytest.raises(UnsupportedModelError, match=rf"{op} with inputs \['x', ''\], needs 2"):
        load_onnx(m)


def test_qdq_analysis_names_a_quantize_node_without_scale():
    from types import SimpleNamespace

    from hwsim.network.onnx_quant import analyse_qdq

    n = SimpleNamespace(op_type="QuantizeLinear", name="q1", input=["x"], output=["xq"])
    with pytest.raises(UnsupportedModelError, match=r"QuantizeLinear q1: needs inputs \(x, scale"):
        analyse_qdq([n], {}, lambda _: {})


def _qdq_input_model(scale=0.05):
    """x -> QuantizeLinear -> DequantizeLinear -> Relu (a float32 model input the model
    quantizes itself)."""
    inits = [numpy_helper.from_array(np.array(scale, np.float32), "s"),
             numpy_helper.from_array(np.array(0, np.uint8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="q"),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dq"),
             helper.make_node("Relu", ["xd"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "qdq_in",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("scale", [0.0, -0.5, float("inf"), float("nan")])
def test_quantize_scale_that_is_not_finite_and_positive_is_unsupported(scale):
    """fuzz crash-94bf524a / d78fd4e8 / eaa47e4a: a QuantizeLinear scale of 0 reached
    numpy ("invalid value encountered in divide") when the input was quantized."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(UnsupportedModelError, match=r"QuantizeLinear q: scale 's' must be "
                                                        r"finite and > 0"):
            load_onnx(_qdq_input_model(scale))


def test_float32_model_input_beyond_float32_is_an_overflow_error_naming_it():
    """fuzz crash-293dc363 / 81dfa2fe: 1e300 given to a float32 input that the model's
    QuantizeLinear quantizes in float32 ("overflow encountered in cast")."""
    from hwsim.errors import OverflowValueError

    net = load_onnx(_qdq_input_model())
    ok = np.array([[0.5, 1.0, 2.0, 3.0]])
    assert np.array_equal(net.run(ok).outputs["y"], np.array([[0.5, 1.0, 2.0, 3.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(OverflowValueError, match=r"input 'x': element 2 = 1e\+300 is beyond "
                                                     r"float32"):
            net.run(np.array([[0.5, 1.0, 1e300, 3.0]]))


def test_dequantized_constant_that_is_not_integer_is_unsupported():
    from hwsim.network.onnx_quant import dq_codes

    with pytest.raises(UnsupportedModelError, match="DequantizeLinear d: input must be an "
                                                    "integer tensor of int8, got float32"):
        dq_codes(np.array([1.0, np.nan], np.float32), "int8", "DequantizeLinear d")
    with pytest.raises(UnsupportedModelError, match=r"codes outside uint8 \[0, 255\]"):
        dq_codes(np.array([1, 300], np.int32), "uint8", "DequantizeLinear d")
    assert dq_codes(np.array([-3, 7], np.int8), "int8", "d").tolist() == [-3, 7]


def test_signalling_nan_weight_is_read_quietly_and_refused():
    """fuzz crash-9f289542: a Conv weight holding a signalling NaN raised FE_INVALID
    ("invalid value encountered in cast") when it was widened to float64."""
    m = _cnn()
    w = numpy_helper.to_array(m.graph.initializer[0]).copy()
    w.view(np.uint32)[0, 0, 0, 0] = 0x7F800001  # signalling NaN
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "w"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(UnsupportedModelError, match="conv1"):
            load_onnx(m)


def test_gemm_bias_per_row_is_unsupported():
    """fuzz crash-660c9879: a Gemm bias of shape (N, 1) passed the size check and reached
    a reshape in the MAC bridge."""
    m = _cnn()
    m.graph.initializer[3].CopyFrom(numpy_helper.from_array(np.zeros((3, 1), np.float32), "fb"))
    with pytest.raises(UnsupportedModelError, match=r"node fc \(Gemm\): bias has shape \(3, 1\)"):
        load_onnx(m)
