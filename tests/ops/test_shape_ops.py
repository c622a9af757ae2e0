"""Data movement ops (Squeeze / Unsqueeze, Slice / Split, Pad, Gather, Expand, Where,
Cast, Reshape / Flatten, Identity / Dropout): float64 runs against onnxruntime over the
opset forms of their attributes; quantized runs move codes exactly (numpy on the codes)."""
import numpy as np
import pytest
from onnx import TensorProto, helper

from onnx_case import check_float, model, quant_run

from hwsim.errors import UnsupportedModelError
from hwsim.network import load_onnx

X = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
I64 = TensorProto.INT64


def _one(op, opset, ins=("x",), inits=(), shape=(2, 3, 4, 5), outs=("y",), **attrs):
    return model([helper.make_node(op, list(ins), list(outs), **attrs)], [("x", list(shape))],
                 [(o, None) for o in outs], inits, opset)


def _codes_check(m, fn, x=X, outs=("y",)):
    """Quantized int8 run: each output's codes are ``fn(input codes)[k]`` exactly."""
    net = check_float(m, {"x": x}, exact=True)
    r = quant_run(net, x.astype(np.float64))
    cx = np.asarray(r.tensors["x"].codes)
    want = fn(cx)
    want = want if isinstance(want, list) else [want]
    for o, w in zip(outs, want):
        assert np.array_equal(np.asarray(r.tensors[o].codes), w), o
        assert r.tensors[o].scale == r.tensors["x"].scale


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_squeeze_unsqueeze(opset):
    x = X[:, :1]
    if opset < 13:
        m = model([helper.make_node("Squeeze", ["x"], ["s"], axes=[1]),
                   helper.make_node("Unsqueeze", ["s"], ["y"], axes=[0, -1])],
                  [("x", [2, 1, 4, 5])], [("y", None)], opset=opset)
    else:
        m = model([helper.make_node("Squeeze", ["x", "a"], ["s"]),
                   helper.make_node("Unsqueeze", ["s", "b"], ["y"])],
                  [("x", [2, 1, 4, 5])], [("y", None)],
                  {"a": np.array([1]), "b": np.array([0, -1])}, opset)
    _codes_check(m, lambda c: c.reshape(1, 2, 4, 5, 1), x=x)


def test_squeeze_without_axes():
    x = X[:1, :1]
    _codes_check(_one("Squeeze", 13, shape=(1, 1, 4, 5)), lambda c: c.reshape(4, 5), x=x)


@pytest.mark.parametrize("opset", [9, 10, 13])
def test_slice(opset):
    if opset < 10:
        m = _one("Slice", opset, starts=[1, -4], ends=[100, -1], axes=[1, 3])
        fn = lambda c: c[:, 1:, :, -4:-1]  # noqa: E731
    else:
        inits = {"s": np.array([3, 0, -1]), "e": np.array([-100, 3, -6]),
                 "a": np.array([3, 1, 2]), "t": np.array([-2, 2, -1])}
        m = _one("Slice", opset, ins=("x", "s", "e", "a", "t"), inits=inits)
        fn = lambda c: c[:, 0:3:2, -1:-6:-1, 3:-100:-2]  # noqa: E731
    _codes_check(m, fn)


@pytest.mark.parametrize("opset,form", [(11, "attr"), (13, "input"), (13, "equal"),
                                        (18, "num_outputs")])
def test_split(opset, form):
    outs = ("y0", "y1", "y2")
    x = np.random.default_rng(1).normal(size=(2, 7, 3)).astype(np.float32)
    kw, ins, inits = {"axis": 1}, ["x"], {}
    if form == "attr":
        kw["split"] = [2, 4, 1]
    elif form == "input":
        ins, inits = ["x", "sp"], {"sp": np.array([2, 4, 1])}
    elif form == "num_outputs":
        kw["num_outputs"] = 3
    if form == "equal":
        x = x[:, :6]
    m = _one("Split", opset, ins=ins, inits=inits, shape=x.shape, outs=outs, **kw)
    bounds = {"attr": [0, 2, 6, 7], "input": [0, 2, 6, 7], "equal": [0, 2, 4, 6],
              "num_outputs": [0, 3, 6, 7]}[form]
    _codes_check(m, lambda c: [c[:, bounds[i]:bounds[i + 1]] for i in range(3)], x=x, outs=outs)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_modes(mode):
    pads = np.array([0, 1, 2, 0, 0, 2, 1, 0]) if mode != "constant" else \
        np.array([0, 1, -1, 2, 1, 0, 2, -2])
    m = _one("Pad", 19, ins=("x", "p"), inits={"p": pads}, mode=mode)
    w = [(0, 0), (1, 2), (2, 1), (0, 0)] if mode != "constant" else None

    def fn(c):
        if mode != "constant":
            return np.pad(c, w, mode=mode)
        return np.pad(c[:, :, 1:, :-2], [(0, 1), (1, 0), (0, 2), (2, 0)], constant_values=c.dtype.type(0))
    _codes_check(m, fn)


@pytest.mark.parametrize("opset", [2, 11, 18])
def test_pad_constant_value_forms(opset):
    if opset < 11:
        m = _one("Pad", opset, pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0)
    elif opset < 18:
        m = _one("Pad", opset, ins=("x", "p", "v"), inits={"p": np.array([0, 0, 1, 1, 0, 0, 1, 1]),
                                                           "v": np.array(0.0, np.float32)})
    else:
        m = _one("Pad", opset, ins=("x", "p", "", "ax"),
                 inits={"p": np.array([1, 1, 1, 1]), "ax": np.array([2, 3])})
    _codes_check(m, lambda c: np.pad(c, [(0, 0), (0, 0), (1, 1), (1, 1)]))


def test_pad_nonzero_constant_quantized_once():
    m = _one("Pad", 13, ins=("x", "p", "v"), inits={"p": np.array([0, 0, 1, 0, 0, 0, 0, 0]),
                                                    "v": np.array(0.3, np.float32)})
    net = check_float(m, {"x": X}, exact=True)
    r = quant_run(net, X.astype(np.float64))
    xq = r.tensors["x"]
    fill = int(np.clip(np.rint(0.3 / xq.scale), -128, 127)) & 0xFF
    assert np.all(np.asarray(r.tensors["y"].codes)[:, :, 0] == fill)


@pytest.mark.parametrize("axis,idx", [(0, [1, 0, 1]), (1, 2), (-1, [[0, -1], [2, 3]])])
def test_gather_constant_indices(axis, idx):
    m = _one("Gather", 13, ins=("x", "i"), inits={"i": np.array(idx)}, axis=axis)
    _codes_check(m, lambda c: np.take(c, np.where(np.array(idx) < 0, np.array(idx) + c.shape[axis],
                                                   np.array(idx)), axis=axis))


def test_gather_embedding():
    table = np.random.default_rng(2).normal(size=(10, 6)).astype(np.float32)
    m = model([helper.make_node("Gather", ["t", "ids"], ["y"])], [("ids", [2, 5], I64)],
              [("y", None)], {"t": table})
    ids = np.array([[0, 3, 9, 3, -1], [1, 2, 4, 5, 6]])
    net = check_float(m, {"ids": ids}, exact=True)
    r = quant_run(net, ids)
    y = r.qoutputs["y"]
    tq = np.clip(np.rint(table.astype(np.float64) / y.scale), -128, 127).astype(np.int64)
    assert np.array_equal(y.ints(), tq[np.where(ids < 0, ids + 10, ids)])
    with pytest.raises(ValueError, match="indices must be in"):
        net.run(np.array([[0, 1, 2, 3, 10], [0, 0, 0, 0, 0]]))


def test_expand():
    x = X[:, :1, :, :1]
    m = _one("Expand", 13, ins=("x", "s"), inits={"s": np.array([3, 4, 1])}, shape=x.shape)
    _codes_check(m, lambda c: np.broadcast_to(c, (2, 3, 4, 1)), x=x)


def test_where_constant_condition():
    cond = np.random.default_rng(3).random((4, 5)) < 0.5
    m = model([helper.make_node("Where", ["c", "x", "z"], ["y"])], [("x", [2, 3, 4, 5])],
              [("y", None)], {"c": cond, "z": np.array(-2.0, np.float32)})
    net = check_float(m, {"x": X}, exact=True)
    r = quant_run(net, X.astype(np.float64))
    yq, xq = r.tensors["y"], r.tensors["x"]
    want = np.where(cond, xq.values(), -2.0)
    # one quantization step of the output format for the re-quantized values
    assert np.max(np.abs(yq.values() - want)) <= yq.scale / 2 + 1e-12
    zq = np.clip(np.rint(-2.0 / yq.scale), -128, 127)
    assert np.all(yq.ints()[np.broadcast_to(~cond, yq.shape)] == zq)


@pytest.mark.parametrize("to", [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16])
def test_cast(to):
    m = model([helper.make_node("Cast", ["x"], ["c"], to=to),
               helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)],
              [("x", [2, 3, 4, 5])], [("y", None)])
    _codes_check(m, lambda c: c)


def test_cast_of_activation_to_int_refused():
    m = _one("Cast", 13, to=TensorProto.INT64)
    with pytest.raises(UnsupportedModelError, match="Cast"):
        load_onnx(m)


@pytest.mark.parametrize("op,kw", [("Flatten", {"axis": 2}), ("Flatten", {"axis": -1}),
                                   ("Identity", {}), ("Dropout", {})])
def test_flatten_identity_dropout(op, kw):
    m = _one(op, 13, **kw)
    ax = kw.get("axis", 0) % 4
    _codes_check(m, lambda c: c.reshape(int(np.prod(c.shape[:ax])), -1) if op == "Flatten" else c)


@pytest.mark.parametrize("shape", [[0, 12, -1], [2, 0, 20], [-1]])
def test_reshape(shape):
    m = _one("Reshape", 14, ins=("x", "s"), inits={"s": np.array(shape)})
    want = tuple(int(v) for v in [X.shape[i] if v == 0 else v for i, v in enumerate(shape)])
    _codes_check(m, lambda c: c.reshape(want))


def test_transpose_concat():
    m = model([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 1, 3, 2]),
               helper.make_node("Transpose", ["x"], ["u"], perm=[0, 1, 3, 2]),
               helper.make_node("Concat", ["t", "u"], ["y"], axis=-1)],
              [("x", [2, 3, 4, 5])], [("y", None)])
    net = check_float(m, {"x": X}, exact=True)
    net.calibrate([X.astype(np.float64)])
    net.set_config({"defaults": {"input": "int8", "output": "int8"}})
    net.calibrate([X.astype(np.float64)])
    r = net.run(X.astype(np.float64), keep=True)
    assert r.qoutputs["y"].shape == (2, 3, 5, 8)


@pytest.mark.parametrize("op,ins,inits,msg", [
    ("Where", ("c", "x", "x"), {}, "condition must be a constant"),
    ("Slice", ("x", "s", "e"), {"e": np.array([2])}, "must be a constant"),
])
def test_refused_with_clear_errors(op, ins, inits, msg):
    inputs = [("x", [2, 3, 4, 5])] + ([("c", [2, 3, 4, 5], TensorProto.BOOL)] if "c" in ins else []) \
        + ([("s", [1], I64)] if "s" in ins else [])
    m = model([helper.make_node(op, list(ins), ["y"])], inputs, [("y", None)], inits, 13)
    with pytest.raises(UnsupportedModelError, match=msg):
        load_onnx(m)


def test_concat_constant_operand_quantized_once():
    tok = np.random.default_rng(5).normal(size=(2, 3, 1, 5)).astype(np.float32)
    m = model([helper.make_node("Concat", ["t", "x"], ["y"], axis=2)], [("x", [2, 3, 4, 5])],
              [("y", None)], {"t": tok})
    net = check_float(m, {"x": X}, exact=True)
    r = quant_run(net, X.astype(np.float64))
    y = r.qoutputs["y"]
    want_t = np.clip(np.rint(tok.astype(np.float64) / y.scale), -128, 127)
    assert np.array_equal(y.ints()[:, :, :1], want_t)
    assert np.array_equal(np.asarray(y.codes)[:, :, 1:], np.asarray(r.tensors["x"].codes)) \
        or r.tensors["x"].scale != y.scale


def test_reshape_allowzero():
    x = np.zeros((0, 3), np.float32)
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=1)], [("x", [0, 3])],
              [("y", None)], {"s": np.array([3, 0])}, 14)
    check_float(m, {"x": x}, exact=True)
