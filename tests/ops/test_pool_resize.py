"""Pooling 1-D / 2-D (ceil_mode, auto_pad), GlobalMaxPool, Resize / Upsample (nearest and
linear, every coordinate mode): float64 runs against onnxruntime; quantized nearest resize
and max pools move codes exactly, linear resize encodes the float64 interpolation once."""
import numpy as np
import pytest
from onnx import helper

from onnx_case import check_float, model, quant_run

from hwsim.network import load_onnx

RNG = np.random.default_rng(11)


def _pool(op, xs, opset=13, **attrs):
    return model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", list(xs))], [("y", None)],
                 opset=opset)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("kw", [dict(ceil_mode=1), dict(auto_pad="SAME_UPPER"),
                                dict(auto_pad="SAME_LOWER"), dict(auto_pad="VALID"),
                                dict(pads="p", ceil_mode=1)])
def test_pools(op, dims, kw):
    xs = (2, 3, 11) if dims == 1 else (1, 3, 7, 9)
    kw = dict(kw)
    if kw.get("pads") == "p":
        kw["pads"] = [1, 1] if dims == 1 else [1, 0, 1, 1]
        if op == "AveragePool":
            kw["count_include_pad"] = 1
    m = _pool(op, xs, kernel_shape=[3] * dims, strides=[2] * dims, **kw)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x})
    r = quant_run(net, x.astype(np.float64))
    assert r.qoutputs["y"].shape == net.reference(x)["y"].shape
    if op == "MaxPool":  # every output code is one of its window's codes: check with numpy
        want = net.reference(r.tensors["x"].values())["y"]
        assert np.array_equal(r.qoutputs["y"].values(), want)


@pytest.mark.parametrize("xs", [(2, 3, 7), (1, 4, 5, 6)])
def test_global_max_pool(xs):
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(_pool("GlobalMaxPool", xs), {"x": x}, exact=True)
    r = quant_run(net, x.astype(np.float64))
    c = np.asarray(r.tensors["x"].codes).astype(np.int8).reshape(xs[0], xs[1], -1)
    want = c.max(axis=2).reshape(xs[:2] + (1,) * (len(xs) - 2))
    assert np.array_equal(np.asarray(r.qoutputs["y"].codes).astype(np.int8), want)


def _resize(xs, opset=13, scales=None, sizes=None, **attrs):
    ins, inits = ["x"], {}
    if opset >= 11:
        ins += ["", "sc" if scales is not None else ""]
        if sizes is not None:
            ins.append("sz")
            inits["sz"] = np.array(sizes, np.int64)
    else:
        ins.append("sc")
    if scales is not None:
        inits["sc"] = np.array(scales, np.float32)
    return model([helper.make_node("Resize", ins, ["y"], **attrs)], [("x", list(xs))],
                 [("y", None)], inits, opset)


COORDS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
          "tf_half_pixel_for_nn"]


@pytest.mark.parametrize("coord", COORDS)
@pytest.mark.parametrize("nearest", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
@pytest.mark.parametrize("scales,sizes", [([1, 1, 2, 2], None), ([1, 1, 0.6, 1.5], None),
                                          (None, [1, 2, 3, 1])])
def test_resize_nearest(coord, nearest, scales, sizes):
    if coord == "tf_half_pixel_for_nn" and nearest != "round_prefer_ceil":
        nearest = "round_prefer_ceil"
    xs = (1, 2, 5, 4)
    m = _resize(xs, 13, scales, sizes, mode="nearest", coordinate_transformation_mode=coord,
                nearest_mode=nearest)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x}, exact=True)
    r = quant_run(net, x.astype(np.float64))
    # codes move: the quantized output is the float64 resize of the quantized input
    assert np.array_equal(r.qoutputs["y"].values(), net.reference(r.tensors["x"].values())["y"])


@pytest.mark.parametrize("coord", COORDS[:4] + ["half_pixel_symmetric"])
@pytest.mark.parametrize("scales,sizes", [([1, 1, 2, 2], None), ([1, 1, 0.5, 1.7], None),
                                          (None, [1, 2, 7, 3])])
def test_resize_linear(coord, scales, sizes):
    xs = (1, 2, 5, 4)
    opset = 19 if coord == "half_pixel_symmetric" else 13
    m = _resize(xs, opset, scales, sizes, mode="linear", coordinate_transformation_mode=coord)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x}, rtol=1e-5, atol=1e-6)
    r = quant_run(net, x.astype(np.float64))
    y = r.qoutputs["y"]
    v = net.reference(r.tensors["x"].values())["y"]  # interpolation of the quantized input
    want = np.clip(np.rint(v / y.scale), -128, 127)  # encoded once, rne
    assert np.array_equal(y.ints(), want)


@pytest.mark.parametrize("op,opset", [("Upsample", 9), ("Resize", 10)])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample_and_resize10(op, opset, mode):
    xs = (1, 2, 3, 4)
    sc = np.array([1, 1, 2, 3], np.float32)
    m = model([helper.make_node(op, ["x", "sc"], ["y"], mode=mode)], [("x", list(xs))],
              [("y", None)], {"sc": sc}, opset)
    x = RNG.normal(size=xs).astype(np.float32)
    check_float(m, {"x": x}, rtol=1e-5, atol=1e-6)


def test_resize_opset18_axes():
    m = _resize((1, 2, 3, 4), 18, [2.0, 2.0], None, mode="nearest", axes=[2, 3])
    x = RNG.normal(size=(1, 2, 3, 4)).astype(np.float32)
    check_float(m, {"x": x}, exact=True)


def test_resize_cubic_refused():
    m = _resize((1, 2, 3, 4), 13, [1, 1, 2, 2], None, mode="cubic")
    with pytest.raises(Exception, match="cubic"):
        load_onnx(m)
