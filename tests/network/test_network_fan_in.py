"""A network layer whose MAC register is fed by a dot-product unit:
``"accumulator": {"type": "IntAccumulator", "bits": N, "fan_in": 4}`` in the JSON config."""
import numpy as np

from hwsim.mac import IntAccumulator
from hwsim.network import Network


def _net(acc):
    rng = np.random.default_rng(3)
    cfg = {"defaults": {"mac": {"accumulator": acc}}}
    net = Network({"x": (3, 22)}, config=cfg)
    net.add("Gemm", "x", "y", name="fc", weight=rng.normal(0, 0.5, (22, 5)),
            bias=rng.normal(0, 0.1, 5))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (3, 22)) for _ in range(2)])
    return net, rng.normal(0, 1, (3, 22))


def test_layer_runs_with_a_grouped_register_and_reports_its_statistics():
    from hwsim.mac import matmul
    from hwsim.testing.mac_strategies import reference_matmul
    for f in (1, 4):
        net, x = _net({"type": "IntAccumulator", "bits": 12, "overflow": "saturate", "fan_in": f})
        r = net.run(x, keep=True)
        rec = r.layers["fc"]
        assert rec.mac.accumulator == IntAccumulator(12, "saturate", f)
        # the layer's accumulators are hwsim.mac.matmul's on the layer's own operands ...
        kw = dict(bias=rec.bias, a_zero_point=rec.input.zero_point,
                  b_zero_point=rec.weight.zero_point)
        want = matmul(rec.input.codes, rec.weight.codes, rec.mac, **kw)
        assert np.array_equal(rec.acc, want.values)
        assert r.stats["fc"]["overflow_events"] == int(want.stats.overflow_events) > 0
        # ... and the exact reference's
        ref = reference_matmul(rec.input.codes, rec.weight.codes, rec.mac, rec.bias,
                               rec.input.zero_point, rec.weight.zero_point)
        assert rec.acc.tolist() == [[c.value for c in row] for row in ref]
        assert r.stats["fc"]["overflow_events"] == sum(c.acc_events for row in ref for c in row)
        assert r.stats["fc"]["max_abs_partial"] == max(c.max_abs for row in ref for c in row)


def test_wrap_int32_register_same_outputs_for_any_fan_in():
    outs = []
    for f in (1, 4):
        net, x = _net({"type": "IntAccumulator", "bits": 32, "fan_in": f})
        outs.append(net.run(x, keep=True).layers["fc"].acc)
    assert np.array_equal(outs[0], outs[1])
