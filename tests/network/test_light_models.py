"""The onnx package's light models that need LRN (inception_v1), Transpose (shufflenet) and
ChannelAffine (densenet121): the float64 run against the shipped output, and quantized runs
with seeded random weights (densenet121 at a reduced input size; the other two end in a 7x7
average pool, so they run at 224x224)."""
import os

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from hwsim.network import load_onnx
from hwsim.network.executor import sqnr
from light_models import LIGHT_DIR as _DIR
from light_models import calibrated_run
from light_models import model as _model

_OPS = {"inception_v1": "LRN", "shufflenet": "Transpose", "densenet121": "ChannelAffine"}


@pytest.fixture(scope="module", params=sorted(_OPS))
def light(request):
    return request.param, load_onnx(_model(request.param))


def test_float64_matches_shipped_output(light):
    name, net = light
    assert _OPS[name] in {n.op for n in net.nodes}
    want = numpy_helper.to_array(onnx.load_tensor(os.path.join(_DIR, f"light_{name}_output_0.pb")))
    shape = next(iter(net.inputs.values()))
    n = int(np.prod(shape))
    x = (np.arange(n).reshape(shape) / n).astype(np.float32)  # onnx's backend runner input
    got = net.reference(x, keep=False)[net.outputs[0]]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9)  # float32 vs float64


_CFG = {"int8": dict(input="int8", weight="int8", bias="int32", output="int8", mac="int32"),
        "fp8": dict(input="float8_e4m3fn", weight="float8_e4m3fn", bias="float32",
                    output="float8_e4m3fn", mac="fp32")}


@pytest.mark.parametrize("name,size,cfg,min_db", [("densenet121", 32, "int8", 15.0),
                                                  ("inception_v1", None, "fp8", 10.0),
                                                  ("shufflenet", None, "int8", 10.0)])
def test_quantized_random_weights(name, size, cfg, min_db):
    net, x, r = calibrated_run(name, size, _CFG[cfg])
    assert size is None or x.shape[2:] == (size, size)
    last = next(n for n in net.nodes if net.outputs[0] in n.outputs)
    lg = last.inputs[0] if last.op == "Softmax" else net.outputs[0]
    s = sqnr(r.reference[lg], r.tensors[lg].values())
    assert min_db < s < 80.0, s  # quantized, so neither exact nor noise
    again = net.run(x, reference=False)
    assert np.array_equal(again.qoutputs[net.outputs[0]].codes, r.qoutputs[net.outputs[0]].codes)
