"""Light models (densenet121: ChannelAffine; shufflenet: Transpose, Softmax) with MX
activations through every op, without work-arounds: Softmax, LRN,
ChannelAffine, pools and Transpose write block outputs (docs/semantics.md, "Block-format
outputs", "Block formats through data movement").  Every block-format tensor of the run is
a real block encoding (its BlockTensor decodes to the tensor's values, blocked along the
activation axis or where whole blocks moved), and the logits keep a quantized SQNR."""
import pytest

from hwsim.network.executor import sqnr
from hwsim.ops.quant import act_axis
from hwsim.testing import assert_bits_equal
from light_models import calibrated_run

MX = {"mxfp8": dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32",
                    output="mxfp8_e4m3", mac="fp32"),
      "mxfp4": dict(input="mxfp4", weight="mxfp4", bias="float32", output="mxfp4", mac="fp16")}


@pytest.mark.parametrize("name,size,cfg,min_db", [("densenet121", 32, "mxfp4", 1.0),
                                                  ("shufflenet", None, "mxfp8", 5.0)])
def test_light_model_block_activations(name, size, cfg, min_db):
    net, _, r = calibrated_run(name, size, MX[cfg])
    assert {"ChannelAffine" if name == "densenet121" else "Transpose"} <= {n.op for n in net.nodes}
    moved = 0
    for k, t in r.tensors.items():
        bt = t.meta.get("block")
        if k in net.inputs or bt is None:
            continue
        assert_bits_equal(bt.values(), t.values())
        moved += bt.axis != act_axis(bt.codes) % bt.codes.ndim
    assert all(t.meta.get("block") is not None for k, t in r.tensors.items()
               if k not in net.inputs and k not in net.outputs)
    assert (moved > 0) == (name == "shufflenet")  # whole blocks moved along W by the shuffle
    last = next(n for n in net.nodes if net.outputs[0] in n.outputs)
    lg = last.inputs[0] if last.op == "Softmax" else net.outputs[0]
    s = sqnr(r.reference[lg], r.tensors[lg].values())
    assert min_db < s < 80.0, s
