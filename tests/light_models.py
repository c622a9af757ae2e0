"""The onnx package's light models for the tests (tests/network/test_light_models*.py): the
shipped model with its image input resized, and seeded random constants of the shipped
shapes (the shipped ``ConstantOfShape`` weights make every output degenerate)."""
import os

import numpy as np
import onnx

LIGHT_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def model(name, size=None):
    m = onnx.load(os.path.join(LIGHT_DIR, f"light_{name}.onnx"))
    if size is not None:
        inits = {t.name for t in m.graph.initializer}
        for vi in m.graph.input:
            dims = vi.type.tensor_type.shape.dim
            if vi.name not in inits and len(dims) == 4:
                dims[2].dim_value = dims[3].dim_value = size
    return m


def randomize(net, rng):
    for n in net.nodes:
        if n.weight is not None:
            w = np.asarray(n.weight)
            fan_in = int(np.prod(w.shape[1:])) if n.op == "Conv" else w.shape[0]
            n.weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape)
            n.bias = rng.normal(0.0, 0.01, w.shape[0] if n.op == "Conv" else w.shape[1])
        if n.op == "ChannelAffine":
            n.attrs["a"] = list(rng.uniform(0.5, 1.5, len(n.attrs["a"])))
            n.attrs["b"] = list(rng.normal(0.0, 0.1, len(n.attrs["b"])))


def calibrated_run(name, size, defaults):
    """(net, x, result): the light model `name` at `size` loaded with the precision defaults,
    seeded random constants, calibrated on one N(0, 1) input and run on another (every
    tensor kept); the generator is seeded 0."""
    from hwsim.network import load_onnx
    net = load_onnx(model(name, size), config={"defaults": defaults})
    rng = np.random.default_rng(0)
    randomize(net, rng)
    shape = next(iter(net.inputs.values()))
    net.calibrate([rng.normal(0, 1, shape).astype(np.float32)])
    x = rng.normal(0, 1, shape).astype(np.float32)
    return net, x, net.run(x, keep=True)
