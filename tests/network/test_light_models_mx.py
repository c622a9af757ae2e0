"""Light models at MXFP8/fp32 and MXFP4/fp16 (issue 9), seeded random weights, reduced input
sizes where the model allows: the network's block-format MAC layers take the float fast
kernels (``hwsim.mac.fast``, scalar codes of the MX operands checked on the data) and give
the general engine's results bit for bit; SQNR of the logits above a floor measured with
margin; the same codes with 1 and 3 threads."""
import numpy as np
import pytest

import hwsim.mac.api as mac_api
import hwsim.mac.fast as mac_fast
from hwsim.network import load_onnx
from hwsim.network.executor import sqnr
from light_models import model as _model
from light_models import randomize as _randomize

_CFG = {"mxfp8": dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32",
                      output="mxfp8_e4m3", mac="fp32"),
        "mxfp4": dict(input="mxfp4", weight="mxfp4", bias="float32", output="mxfp4",
                      mac="fp16")}
# LRN and ChannelAffine outputs in float16 (their vector unit: neither writes MX outputs)
_LAYERS = [{"op": o, "output": "float16"} for o in ("Softmax", "LRN", "ChannelAffine")]


def _net(name, size, cfg):
    net = load_onnx(_model(name, size), config={"defaults": _CFG[cfg], "layers": _LAYERS})
    rng = np.random.default_rng(0)
    _randomize(net, rng)
    shape = next(iter(net.inputs.values()))
    net.calibrate([rng.normal(0, 1, shape).astype(np.float32)])
    return net, rng.normal(0, 1, shape).astype(np.float32)


def _logits(net):
    last = next(n for n in net.nodes if net.outputs[0] in n.outputs)
    return last.inputs[0] if last.op == "Softmax" else net.outputs[0]


def _spy(monkeypatch):
    """Paths of every hwsim.mac.matmul call the network makes ("general" where the fast
    kernels declined)."""
    paths = []
    fast, general = mac_api._matmul_fast, mac_api._matmul_general

    def spy_fast(*a, **kw):
        res = fast(*a, **kw)
        if res is not None:
            paths.append(res.path)
        return res

    def spy_general(*a, **kw):
        paths.append("general")
        return general(*a, **kw)
    monkeypatch.setattr(mac_api, "_matmul_fast", spy_fast)
    monkeypatch.setattr(mac_api, "_matmul_general", spy_general)
    return paths


@pytest.mark.parametrize("name,size,cfg,path,floor", [
    ("squeezenet", 64, "mxfp4", "narrow_seq", 5.0),   # measured 7.6 dB
    ("densenet121", 32, "mxfp8", "f32_seq", 10.0),    # measured 14.6 dB
])
def test_mx_network_fast_kernels_equal_the_general_engine(name, size, cfg, path, floor,
                                                          monkeypatch):
    net, x = _net(name, size, cfg)
    paths = _spy(monkeypatch)
    r = net.run(x, keep=True)
    lg = _logits(net)
    s = sqnr(r.reference[lg], r.tensors[lg].values())
    assert floor < s < 60.0, s
    assert paths and set(paths) == {path}, sorted(set(paths))
    monkeypatch.setattr(mac_fast, "plan", lambda mac, stats: None)  # the general engine only
    del paths[:]
    g = net.run(x, keep=True, reference=False)
    assert set(paths) == {"general"}
    for n in net.nodes:
        out = n.outputs[0]
        assert np.array_equal(np.asarray(g.tensors[out].values()),
                              np.asarray(r.tensors[out].values()), equal_nan=True), n.name


def test_mx_zfnet_full_size_and_threads(monkeypatch):
    """zfnet512 (LRN, Gemm on the flattened features: 224x224 only) at MXFP8/fp32."""
    net, x = _net("zfnet512", None, "mxfp8")
    paths = _spy(monkeypatch)
    monkeypatch.setenv("HWSIM_NUM_THREADS", "1")
    r = net.run(x, keep=True)
    lg = _logits(net)
    s = sqnr(r.reference[lg], r.tensors[lg].values())
    assert 12.0 < s < 60.0, s   # measured 17.6 dB
    assert paths and set(paths) == {"f32_seq"}, sorted(set(paths))
    monkeypatch.setenv("HWSIM_NUM_THREADS", "3")
    again = net.run(x, keep=True, reference=False)
    assert np.array_equal(again.qoutputs[net.outputs[0]].codes, r.qoutputs[net.outputs[0]].codes)
    assert np.array_equal(again.tensors[lg].values(), r.tensors[lg].values())
