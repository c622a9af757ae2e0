"""hwsim's fusing rewrites (x * HardSigmoid(x), x * Sigmoid(x), GELU erf / tanh, LayerNorm
written out), reported in ``Network.source["rewrites"]``, and the MobileNetV3-style block
end to end."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.network.onnx_import import load_onnx
from hwsim.testing.mobilenet import mobilenetv3_block

F32 = {"defaults": {"input": "float32", "output": "float32", "scale": "none",
                    "vector": {"format": "float32"}}}


def _model(nodes, consts, shape=(2, 3, 16), opset=13):
    inits = [numpy_helper.from_array(np.asarray(v, np.float32) if np.asarray(v).dtype.kind == "f"
                                     else np.asarray(v), k) for k, v in consts.items()]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def N(op, ins, out, **a):
    return helper.make_node(op, ins, [out], name=out, **a)


GELU_ERF = ([N("Div", ["x", "sq2"], "a"), N("Erf", ["a"], "e"), N("Add", ["e", "one"], "p"),
             N("Mul", ["x", "p"], "q"), N("Mul", ["q", "half"], "y")],
            dict(sq2=1.4142135, one=1.0, half=0.5))
GELU_TANH = ([N("Mul", ["x", "half"], "h"), N("Pow", ["x", "three"], "c"),
              N("Mul", ["c", "k1"], "d"), N("Add", ["x", "d"], "w"), N("Mul", ["w", "k2"], "f"),
              N("Tanh", ["f"], "t"), N("Add", ["one", "t"], "k"), N("Mul", ["h", "k"], "y")],
             dict(half=0.5, three=3.0, k1=0.044715, k2=0.7978845608, one=1.0))
LAYERNORM = ([N("ReduceMean", ["x"], "m", axes=[-1]), N("Sub", ["x", "m"], "d"),
              N("Pow", ["d", "two"], "d2"), N("ReduceMean", ["d2"], "v", axes=[-1]),
              N("Add", ["v", "eps"], "ve"), N("Sqrt", ["ve"], "s"), N("Div", ["d", "s"], "n"),
              N("Mul", ["n", "g"], "ng"), N("Add", ["ng", "b"], "y")],
             dict(two=2.0, eps=1e-5, g=np.linspace(0.5, 1.5, 16), b=np.linspace(-0.2, 0.2, 16)))
SILU = ([N("Sigmoid", ["x"], "s"), N("Mul", ["s", "x"], "y")], {})
HSWISH = ([N("HardSigmoid", ["x"], "s", alpha=1 / 6, beta=0.5), N("Mul", ["x", "s"], "y")], {})


@pytest.mark.parametrize("case,op,note", [(GELU_ERF, "Gelu", "GELU (erf form)"),
                                          (GELU_TANH, "Gelu", "GELU (tanh form)"),
                                          (LAYERNORM, "LayerNormalization", "LayerNorm written out"),
                                          (SILU, "SiLU", "x * Sigmoid(x)"),
                                          (HSWISH, "HardSwish", "x * HardSigmoid(x)")],
                         ids=["gelu_erf", "gelu_tanh", "layernorm", "silu", "hardswish"])
def test_fused_and_reported(case, op, note):
    m = _model(*case)
    net = load_onnx(m, config=F32)
    assert [n.op for n in net.nodes] == [op]
    assert any(note in r and op in r for r in net.source["rewrites"])
    x = np.random.default_rng(3).uniform(-4, 4, (2, 3, 16)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) \
        .run(None, {"x": x})[0]
    np.testing.assert_allclose(net.reference(x)["y"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.run(x).outputs["y"], want, rtol=1e-5, atol=1e-5)


def test_not_fused_when_intermediate_is_shared():
    nodes = SILU[0] + [N("Add", ["s", "y"], "z")]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    net = load_onnx(m, config=F32)
    assert [n.op for n in net.nodes] == ["Sigmoid", "Mul", "Add"]
    assert not any("fused" in r for r in net.source["rewrites"])


@pytest.mark.parametrize("hswish", ["mul", "op"])
def test_mobilenetv3_block_end_to_end(hswish):
    m = mobilenetv3_block(hswish=hswish, size=8)
    net = load_onnx(m)
    ops = [n.op for n in net.nodes]
    assert ops.count("HardSwish") == 2 and "HardSigmoid" in ops and "Mul" in ops
    assert sum("HardSwish" in r for r in net.source["rewrites"]) == (2 if hswish == "mul" else 0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 16, 8, 8)).astype(np.float32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) \
        .run(None, {"x": x})[0]
    np.testing.assert_allclose(net.reference(x)["y"], want, rtol=1e-5, atol=1e-5)
    net.calibrate([rng.normal(size=(1, 16, 8, 8)).astype(np.float32) for _ in range(2)])
    res = net.run(x)
    assert res.stats["y"]["sqnr_db"] > 20  # int8 / int32, float32 vector unit
    fp8 = load_onnx(m, config={"defaults": {"input": "float8_e4m3fn", "weight": "float8_e4m3fn",
                                            "output": "float8_e4m3fn", "mac": "fp32",
                                            "vector": {"format": "bfloat16"}}})
    fp8.calibrate([rng.normal(size=(1, 16, 8, 8)).astype(np.float32) for _ in range(2)])
    assert fp8.run(x).stats["y"]["sqnr_db"] > 12


def test_hwsim_run_reports_rewrites(tmp_path, capsys):
    import json

    import onnx

    from hwsim import cli

    onnx.save(mobilenetv3_block(size=8), str(tmp_path / "m.onnx"))
    rng = np.random.default_rng(7)
    np.save(tmp_path / "x.npy", rng.normal(size=(1, 16, 8, 8)).astype(np.float32))
    np.save(tmp_path / "c.npy", rng.normal(size=(1, 16, 8, 8)).astype(np.float32))
    assert cli.main(["run", str(tmp_path / "m.onnx"), "--input", str(tmp_path / "x.npy"),
                     "--calib", str(tmp_path / "c.npy"), "--json", str(tmp_path / "o.json")]) == 0
    out = capsys.readouterr().out
    assert "rewrites (3):" in out and out.count("fused into HardSwish") == 2
    assert len(json.loads((tmp_path / "o.json").read_text())["rewrites"]) == 3
