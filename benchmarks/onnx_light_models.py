"""How far the onnx package's nine light models get through hwsim.load_onnx.

Prints, per model, whether it imports (after constant folding and hwsim's own rewrites) and,
if not, what is still unsupported (grouped by op type with counts and first node); for models
that import, the float64 run against the ``*_output_0.pb`` shipped beside the model.

    python benchmarks/onnx_light_models.py
"""
from __future__ import annotations

import glob
import os
import time

import numpy as np
import onnx
from onnx import numpy_helper

from hwsim.network import UnsupportedModelError, load_onnx


def main() -> None:
    d = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    for path in sorted(glob.glob(os.path.join(d, "light_*.onnx"))):
        name = os.path.basename(path)[len("light_"):-len(".onnx")]
        t0 = time.perf_counter()
        try:
            net = load_onnx(path)
        except UnsupportedModelError as e:
            print(f"{name:<13} no ({time.perf_counter() - t0:.1f} s): {e}")
            continue
        rw = net.source.get("rewrites", [])
        line = f"{name:<13} imports ({time.perf_counter() - t0:.1f} s, {len(net.nodes)} layers, " \
               f"{len(rw)} rewrites)"
        want = numpy_helper.to_array(onnx.load_tensor(path.replace(".onnx", "_output_0.pb")))
        shape = next(iter(net.inputs.values()))  # the input onnx's backend runner feeds
        n = int(np.prod(shape))
        x = (np.arange(n).reshape(shape) / n).astype(np.float32)
        got = net.reference(x, keep=False)[net.outputs[0]]
        err = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("nan")
        print(f"{line}; float64 vs shipped output: max |diff| {err:.3g}")


if __name__ == "__main__":
    main()
