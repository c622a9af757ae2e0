"""MAC ops: Conv 1-D / 2-D with every pads / auto_pad form, ConvTranspose, MatMul between
two activations (batched, broadcast).  float64 runs against onnxruntime; quantized runs
against the pure-Python interpreter (tests/netref.py, hwsim.reference MACs) bit for bit."""
from types import SimpleNamespace

import numpy as np
import pytest
from onnx import helper

import netref
from onnx_case import check_float, model, quant_run

from hwsim.codec import encode
from hwsim.errors import UnsupportedModelError
from hwsim.network import load_onnx
from hwsim.ops.conv import node_pads
from hwsim.ops.matmul import batch_matrices
from hwsim.testing.mac_strategies import reference_matmul

RNG = np.random.default_rng(7)


def _conv_model(xshape, wshape, op="Conv", bias=True, **attrs):
    w = RNG.normal(size=wshape).astype(np.float32)
    ins, inits = ["x", "w"], {"w": w}
    if bias:
        nb = wshape[0] if op == "Conv" else wshape[1] * attrs.get("group", 1)
        ins.append("b")
        inits["b"] = RNG.normal(size=nb).astype(np.float32)
    return model([helper.make_node(op, ins, ["y"], **attrs)], [("x", list(xshape))],
                 [("y", None)], inits)


def _check_conv_quantized(net, x):
    """hwsim's int8 Conv codes == the pure-Python interpreter's, on the 2-D form."""
    r = quant_run(net, x)
    n = net.nodes[0]
    lp = net.plan().layers[n.name]
    xq = r.tensors[n.inputs[0]]
    codes = np.asarray(xq.codes)
    codes4 = codes[:, :, None, :] if codes.ndim == 3 else codes
    dil = n.attrs.get("input_dilations")
    if dil is not None and tuple(dil) != (1, 1):  # ConvTranspose: zero-inserted input
        N, C, H, W = codes4.shape
        z = np.full((N, C, (H - 1) * dil[0] + 1, (W - 1) * dil[1] + 1),
                    int(xq.zero_point) & 0xFF, codes4.dtype)
        z[:, :, ::dil[0], ::dil[1]] = codes4
        codes4 = z
    nn = SimpleNamespace(attrs=dict(n.attrs, pads=node_pads(n.attrs, codes4.shape,
                                                            lp.wq.codes.shape[2:])))
    want = netref.conv(net, nn, netref.Tensor(codes4.astype(object), lp.in_q), lp)
    got = np.asarray(r.tensors[n.outputs[0]].codes)
    assert np.array_equal(np.asarray(want.codes, np.int64).reshape(got.shape), got.astype(np.int64))
    return r


@pytest.mark.parametrize("auto_pad", ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("dims", [1, 2])
def test_conv_auto_pad(auto_pad, dims):
    xs = (1, 3, 9) if dims == 1 else (1, 3, 7, 8)
    ws = (4, 3, 4) if dims == 1 else (4, 3, 3, 4)
    kw = dict(strides=[2] * dims, auto_pad=auto_pad)
    if auto_pad == "NOTSET":
        kw["pads"] = [1, 2] if dims == 1 else [1, 0, 2, 1]
        kw["dilations"] = [2] * dims
    m = _conv_model(xs, ws, **kw)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x}, rtol=1e-5, atol=1e-5)
    _check_conv_quantized(net, x.astype(np.float64))


def test_conv1d_groups_no_bias():
    m = _conv_model((2, 4, 10), (6, 2, 3), bias=False, group=2, pads=[2, 0])
    x = RNG.normal(size=(2, 4, 10)).astype(np.float32)
    net = check_float(m, {"x": x})
    _check_conv_quantized(net, x.astype(np.float64))


@pytest.mark.parametrize("attrs", [
    dict(strides=[2, 2]),
    dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
    dict(strides=[3, 2], dilations=[2, 1], pads=[0, 1, 2, 0]),
    dict(strides=[2, 2], group=2),
    dict(strides=[2], pads=[1, 0]),
])
def test_convtranspose(attrs):
    one_d = len(attrs["strides"]) == 1
    g = attrs.get("group", 1)
    xs = (1, 4, 7) if one_d else (1, 4, 5, 6)
    ws = (4, 3, 3) if one_d else (4, 6 // g, 3, 3)
    m = _conv_model(xs, ws, op="ConvTranspose", **attrs)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x}, rtol=1e-5, atol=1e-5)
    _check_conv_quantized(net, x.astype(np.float64))


@pytest.mark.parametrize("attrs", [dict(strides=[2, 2], output_shape=[10, 9]),
                                   dict(strides=[2, 3], auto_pad="SAME_UPPER"),
                                   dict(strides=[2, 3], auto_pad="SAME_LOWER"),
                                   dict(strides=[2], output_shape=[9]),
                                   dict(strides=[2, 2], auto_pad="VALID")])
def test_convtranspose_output_shape_and_auto_pad(attrs):
    one_d = len(attrs["strides"]) == 1
    xs, ws = ((1, 2, 5), (2, 2, 3)) if one_d else ((1, 2, 5, 5), (2, 2, 3, 3))
    m = _conv_model(xs, ws, op="ConvTranspose", **attrs)
    x = RNG.normal(size=xs).astype(np.float32)
    net = check_float(m, {"x": x}, rtol=1e-5, atol=1e-5)
    _check_conv_quantized(net, x.astype(np.float64))


def test_convtranspose_unsupported_forms():
    m = _conv_model((1, 2, 4, 4), (2, 2, 3, 3), op="ConvTranspose", pads=[3, 3, 3, 3])
    with pytest.raises(UnsupportedModelError, match="pads larger"):
        load_onnx(m)


def _matmul_ref(net, r, n):
    """Pure-Python: reference MACs per batch matrix, then the onnx requantization."""
    lp = net.plan().layers[n.name]
    a, b = (r.tensors[i] for i in n.inputs)
    ai, bi = (np.asarray(t.codes).astype(np.int64) for t in (a, b))
    A, B, shape = batch_matrices(ai, bi)
    out = []
    for g in range(A.shape[0]):
        res = reference_matmul(A[g], B[g], lp.mac, None, int(a.zero_point), int(b.zero_point))
        out.append([[netref.requant_onnx(int(v.value), float(lp.requant.scale32[0]),
                                         lp.requant.zero_point, lp.requant.qmin, lp.requant.qmax)
                     for v in row] for row in res])
    return np.array(out, np.int64).reshape(shape)


@pytest.mark.parametrize("sa,sb", [((2, 3, 4, 5), (2, 3, 5, 6)),   # batched
                                   ((2, 1, 4, 5), (1, 3, 5, 2)),   # broadcast
                                   ((3, 4, 5), (5, 2)),            # batch x matrix
                                   ((5,), (2, 5, 3)),              # 1-D promoted
                                   ((2, 4, 5), (5,))])
def test_matmul_two_activations(sa, sb):
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", list(sa)), ("b", list(sb))],
              [("y", None)])
    feeds = {"a": RNG.normal(size=sa).astype(np.float32), "b": RNG.normal(size=sb).astype(np.float32)}
    net = check_float(m, feeds)
    x = {k: v.astype(np.float64) for k, v in feeds.items()}
    net.calibrate([x])
    r = net.run(x, keep=True)
    n = net.nodes[0]
    assert n.op == "MatMul"
    assert np.array_equal(_matmul_ref(net, r, n), r.qoutputs["y"].ints())
    assert r.stats[n.name]["sqnr_db"] > 25


def test_matmul_attention_shapes_qk_transposed():
    """Q K^T through Transpose then MatMul (two activations), fp8 operands, fp32 MAC."""
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["y"])]
    m = model(nodes, [("q", [1, 2, 6, 4]), ("k", [1, 2, 6, 4])], [("y", None)])
    feeds = {k: RNG.normal(size=(1, 2, 6, 4)).astype(np.float32) for k in ("q", "k")}
    net = check_float(m, feeds)
    net.set_config({"defaults": {"input": "float8_e4m3fn", "output": "float8_e4m3fn",
                                 "mac": "fp32"}})
    x = {k: v.astype(np.float64) for k, v in feeds.items()}
    net.calibrate([x])
    r = net.run(x, keep=True)
    lp = net.plan().layers[net.nodes[1].name]
    qa, qk = r.tensors["q"], r.tensors["kt"]
    # fp8 products (8-bit significands), 4 terms: the fp32 register holds every sum exactly
    exact = np.matmul(qa.decoded(), qk.decoded())
    v = (exact.astype(np.float32) * lp.scale32[0]).astype(np.float64)
    want = encode(v, lp.out_q.fmt, "rne", "saturate")
    assert np.array_equal(np.asarray(r.qoutputs["y"].codes), want)
    assert r.stats[net.nodes[1].name]["sqnr_db"] > 15


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp4"])
def test_matmul_two_activations_block_mac(fmt):
    """MX operands blocked along K (= one block of 32) through the OCP block datapath
    (block_fp32): every output is the exact dot product of the decoded MX values, rounded
    once into float32, then scaled (float32) and encoded once into float16."""
    sa, sb = (2, 3, 32), (2, 32, 4)
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", list(sa)), ("b", list(sb))],
              [("y", None)])
    feeds = {"a": RNG.normal(size=sa), "b": RNG.normal(size=sb)}
    net = load_onnx(m)
    net.set_config({"defaults": {"input": fmt, "output": "float16", "mac": "block_fp32"}})
    net.calibrate([feeds])
    r = net.run(feeds, keep=True)
    rec = r.layers[net.nodes[0].name]
    exact = np.matmul(rec.input.values() / float(rec.input.scale),
                      rec.weight.values() / float(rec.weight.scale))
    assert np.array_equal(rec.acc, exact.astype(np.float32).astype(np.float64))
    lp = net.plan().layers[net.nodes[0].name]
    want = encode((exact.astype(np.float32) * lp.scale32[0]).astype(np.float64), "float16", "rne",
                  "saturate")
    assert np.array_equal(np.asarray(r.qoutputs["y"].codes), want)


def test_matmul_two_activations_refuses_a_design():
    m = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", [2, 3]), ("b", [3, 2])],
              [("y", None)])
    net = load_onnx(m)
    net.set_config({"defaults": {"input": "int8", "design": {"name": "chunked_fp8"}}})
    feeds = {"a": np.ones((2, 3)), "b": np.ones((3, 2))}
    net.calibrate([feeds])
    with pytest.raises(ValueError, match="design"):
        net.run(feeds)
