"""Networks built in Python: wiring, requant, statistics, mixed precision, calibration."""
import re

import numpy as np
import pytest

from hwsim.network import Network
from hwsim.network.calibrate import choose_range, fake_quant, scale_for
from layers_refimpl import ref_conv2d, ref_tflite, to_int


def _small_net(config):
    rng = np.random.default_rng(0)
    net = Network({"x": (2, 2, 6, 5)}, config=config)
    net.add("Conv", "x", "c1", name="conv1", weight=rng.normal(0, 0.4, (4, 2, 3, 3)),
            bias=rng.normal(0, 0.1, 4), pads=(1, 1, 1, 1))
    net.add("Relu", "c1", "r1", name="relu1")
    net.add("MaxPool", "r1", "p1", name="pool1", kernel_shape=(2, 2), strides=(2, 2))
    net.add("Flatten", "p1", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (24, 3)), bias=rng.normal(0, 0.1, 3))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (2, 2, 6, 5)) for _ in range(3)])
    return net, rng.normal(0, 1, (2, 2, 6, 5))


def test_conv_layer_record_matches_loops():
    net, x = _small_net({"defaults": {"requant": "tflite", "mac": "int16_sat"}})
    r = net.run(x, keep=True)
    rec = r.layers["conv1"]
    xi = np.vectorize(lambda c: to_int(c, 8))(rec.input.codes).tolist()
    wi = np.vectorize(lambda c: to_int(c, 8))(rec.weight.codes).tolist()
    ref = ref_conv2d(xi, wi, stride=(1, 1), pads=(1, 1, 1, 1), dilation=(1, 1), groups=1,
                     order="cin,kh,kw", acc_bits=16, overflow="saturate", bias=rec.bias.tolist())
    assert rec.acc.tolist() == ref
    m, s = rec.requant["multiplier"], rec.requant["shift"]
    out = rec.output.ints()
    for n in range(2):
        for c in range(4):
            for y in range(6):
                for xx in range(5):
                    assert out[n, c, y, xx] == ref_tflite(ref[n][c][y][xx], m[c], s[c], 0, -128, 127)
    # the relu / pool / flatten tensors pass the conv output quantization through
    assert r.tensors["f"].scale == rec.output.scale
    # the network input was quantized with the calibrated scale: |code| <= 127
    assert np.abs(rec.input.ints()).max() <= 127


def test_stats_overflow_and_sqnr():
    wide, x = _small_net({"defaults": {"mac": "int32"}})
    narrow, _ = _small_net({"defaults": {"mac": "int9"}})
    rw = wide.run(x)
    rn = narrow.run(x)
    assert rw.stats["conv1"]["overflow_events"] == 0
    assert rn.stats["conv1"]["overflow_events"] > 0
    assert rw.stats["fc"]["sqnr_db"] > 20
    assert rn.stats["fc"]["sqnr_db"] < rw.stats["fc"]["sqnr_db"]
    assert rw.stats["conv1"]["max_abs_partial"] >= rw.stats["conv1"]["max_abs_acc"] > 0


def test_mixed_precision_per_layer():
    net, x = _small_net({"defaults": {"mac": "int32"},
                         "layers": [{"name": "conv1", "weight": "int4", "output": "int6"},
                                    {"op": "Gemm", "input": "int6", "weight": "int5"}]})
    r = net.run(x, keep=True)
    c, f = r.layers["conv1"], r.layers["fc"]
    assert c.weight.fmt.name == "int4" and c.weight.ints().min() >= -8 and c.weight.ints().max() <= 7
    assert c.output.fmt.name == "int6" and c.output.ints().max() <= 31
    assert f.weight.fmt.name == "int5" and f.input.fmt.name == "int6"
    assert np.asarray(c.weight.scale).shape == (4,)  # per-channel weight scales


def test_per_tensor_weights_and_asymmetric_activations():
    net, x = _small_net({"defaults": {"per_channel": False, "symmetric": False}})
    r = net.run(x, keep=True)
    assert np.ndim(r.layers["conv1"].weight.scale) == 0
    # relu output quantized asymmetrically: zero point at the bottom of the range
    assert r.layers["fc"].input.zero_point != 0


def _rich_net(config):
    rng = np.random.default_rng(3)
    net = Network({"x": (1, 3, 7, 7)}, config=config)
    net.add("Conv", "x", "a", name="c1", weight=rng.normal(0, 0.4, (4, 3, 3, 3)), pads=(1, 1, 1, 1))
    net.add("LeakyRelu", "a", "b", name="lr", alpha=0.1)
    net.add("Conv", "b", "c", name="dw", weight=rng.normal(0, 0.4, (4, 1, 3, 3)), pads=(1, 1, 1, 1), group=4)
    net.add("Add", ["b", "c"], "d", name="res")
    net.add("HardSwish", "d", "e", name="hs")
    net.add("AveragePool", "e", "f", name="ap", kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))
    net.add("Clip", "f", "g", name="clip", min=0.0, max=6.0)
    net.add("Concat", ["g", "f"], "h", name="cat", axis=1)
    net.add("GlobalAveragePool", "h", "i", name="gap")
    net.add("Flatten", "i", "j", name="fl")
    net.add("Gemm", "j", "y", name="fc", weight=rng.normal(0, 0.5, (8, 5)))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 3, 7, 7)) for _ in range(4)])
    return net, rng.normal(0, 1, (1, 3, 7, 7))


@pytest.mark.parametrize("style", ["tflite", "onnx"])
def test_all_ops_run_close_to_float(style):
    net, x = _rich_net({"defaults": {"requant": style, "input": "int8", "output": "int8"}})
    r = net.run(x, keep=True)
    assert set(r.stats) == {n.name for n in net.nodes}
    assert r.stats["fc"]["sqnr_db"] > 15
    assert r.tensors["i"].fmt.name == "int8"


def test_float_format_pipeline_without_mac_float_acc_int_path():
    # int16 activations / int8 weights with int32 accumulation: much better SQNR than int4
    hi, x = _rich_net({"defaults": {"input": "int16", "output": "int16", "mac": "int40"}})
    lo, _ = _rich_net({"defaults": {"input": "int4", "output": "int4", "weight": "int4"}})
    assert hi.run(x).stats["fc"]["sqnr_db"] > lo.run(x).stats["fc"]["sqnr_db"] + 10


def test_calibration_methods():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 20000), [40.0, -35.0]])  # heavy outliers
    amax = choose_range(x, "absmax")
    pct = choose_range(x, "percentile", percentile=99.9)
    mm = choose_range(x, "mmse", fmt="int4", grid=40)
    assert amax == 40.0 and pct < 5 and mm < amax
    err = lambda r: np.mean((x - fake_quant(x, "int4", float(scale_for(r, "int4")))) ** 2)  # noqa: E731
    assert err(mm) <= err(amax) and err(mm) <= err(pct) + 1e-12


def test_add_rejects_unknown_op_and_bad_wiring():
    net = Network({"x": (1, 4)})
    with pytest.raises(ValueError, match="op must be one of"):
        net.add("Sin", "x", "y")
    with pytest.raises(ValueError, match="not produced"):
        net.add("Relu", "nope", "y")
    with pytest.raises(ValueError, match="needs weights"):
        net.add("Gemm", "x", "y")


def test_run_needs_calibration_for_float_models():
    net = Network({"x": (1, 4)})
    net.add("Gemm", "x", "y", weight=np.ones((4, 2)))
    net.outputs = ["y"]
    with pytest.raises(ValueError, match="calibrate"):
        net.run(np.ones((1, 4)))


def _exact_sqnr(ref, got):
    """10 log10(sum ref^2 / sum (got - ref)^2) from exact rationals (the oracle)."""
    from fractions import Fraction
    import math

    p = sum(Fraction(float(r)) ** 2 for r in np.ravel(ref))
    n = sum((Fraction(float(g)) - Fraction(float(r))) ** 2 for r, g in zip(np.ravel(ref), np.ravel(got)))
    return 10 * (math.log10(p.numerator * n.denominator) - math.log10(p.denominator * n.numerator))


@pytest.mark.parametrize("big", [1.9490628022799444e+289, 1e200, 1.7976931348623157e308, 1.0, 1e-300])
def test_sqnr_of_huge_and_tiny_values_is_right_and_silent(big):
    # fuzz finding (findings/onnx/crash-44000659...): the per-layer SQNR squared values near
    # 1.9e289 ("overflow encountered in square") and reported nan; the sums are now scaled
    import warnings

    from hwsim.network.executor import sqnr

    ref = np.array([big, -big / 3, big * 2.0 ** -40, 0.0])
    got = np.array([big * (1 - 2.0 ** -20), -big / 3, 0.0, big * 2.0 ** -60])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            s = sqnr(ref, got)
    assert s == pytest.approx(_exact_sqnr(ref, got), rel=1e-12, abs=1e-9)
    # a difference beyond float64 (opposite signs near the maximum)
    m = 1.7976931348623157e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sqnr(np.array([m, 1.0]), np.array([-m, 1.0]))
    assert s == pytest.approx(_exact_sqnr([m, 1.0], [-m, 1.0]), rel=1e-12)
    assert s == pytest.approx(-20 * np.log10(2.0), rel=1e-12)  # error 2m against signal m


def test_sqnr_special_cases():
    from hwsim.network.executor import sqnr

    assert sqnr([1.0, -2.0], [1.0, -2.0]) == np.inf        # exact
    assert sqnr([0.0, 0.0], [0.0, 1.0]) == -np.inf         # zero reference, some error
    assert sqnr([1.0, 2.0], [1.0, np.inf]) == -np.inf      # infinite noise
    assert np.isnan(sqnr([1.0, np.nan], [1.0, np.nan]))    # NaN: no ratio
    assert np.isnan(sqnr([1.0, np.inf], [1.0, np.inf]))    # Inf reference: no ratio
    assert sqnr([3.0, 4.0], [3.0, 4.5]) == pytest.approx(10 * np.log10(25 / 0.25), rel=1e-15)


def _uint8_input_model():
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Flatten", ["x"], ["h"], name="fc1", axis=1),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "x"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [2, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.UINT8, [2, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_integer_typed_input_refuses_values_that_are_not_its_integers():
    # fuzz findings (findings/onnx/crash-a5ebb70e..., crash-ba90e367...): a uint8-typed input
    # given -1.8e308 warned "invalid value encountered in cast" (float to int64); in-range
    # misfits (300, -1, 2.5) were silently wrapped or truncated to other codes
    import warnings

    from hwsim.errors import OverflowValueError
    from hwsim.network import load_onnx

    net = load_onnx(_uint8_input_model())
    good = np.array([[0, 1, 2, 255], [7, 8, 9, 10]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in (good, good.astype(np.uint8), good.astype(np.float64)):
            r = net.run(x)
            assert r.outputs["y"].tolist() == np.minimum(2 * good, 255).tolist()
        for bad, where, val in ((-1.79769313e+308, (0, 1), r"-1\.79769313e\+308"), (300, (1, 2), "300"),
                                (-1, (0, 0), "-1"), (2.5, (1, 3), r"2\.5")):
            x = good.astype(np.float64 if isinstance(bad, float) else np.int64)
            x[where] = bad
            with pytest.raises(OverflowValueError,
                               match=rf"network input 'x' \(declared uint8, given as integers\): "
                                     rf"element {re.escape(str(where))} is {val}.*integers in \[0, 255\]"):
                net.run(x)
