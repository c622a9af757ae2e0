"""Fuzz the precision-configuration loader (``hwsim.network.config.load_config``).

Inputs: raw text (JSON, possibly broken), or a valid configuration mutated
structurally.  A loaded configuration must survive ``to_dict`` -> ``load_config``
unchanged and resolve a layer config for every op.
"""
import json
import os
import tempfile

try:
    from . import _common as C
except ImportError:
    import _common as C

from hwsim.network.config import load_config

BASE = {"defaults": {"input": "int8", "weight": "int8", "bias": "int32", "output": "int8",
                     "mac": "int32", "requant": "tflite", "calibration": {"method": "absmax"}},
        "layers": [{"op": "Gemm", "mac": "int16_sat"},
                   {"name": "conv1", "weight": "int4", "calibration": {"method": "mmse", "grid": 8}},
                   {"op": "Conv", "mac": {"type": "MacUnit", "a_fmt": "int8", "b_fmt": "int8"}}],
        "calibration_samples": 4, "nan_policy": "error"}
_TMP = tempfile.mkdtemp(prefix="hwsim-fuzz-config-")


def _check(cfg):
    if cfg is None:
        return
    again = C.call(load_config, cfg.to_dict())
    if again != cfg:
        raise C.Finding(f"to_dict round trip changed the config: {cfg.to_dict()}")
    for name, op in (("conv1", "Conv"), ("fc", "Gemm"), ("r", "Relu")):
        C.call(cfg.for_layer, name, op)


def TestOneInput(data: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        _check(C.call(load_config, C.mutate(BASE, fdp)))
    elif mode == 1:
        text = fdp.ConsumeUnicodeNoSurrogates(400)
        _check(C.call(load_config, "{" + text if not text.lstrip().startswith("{") else text))
    else:
        p = os.path.join(_TMP, C.pick(fdp, ["c.json", "c.yaml", "c"]))
        with open(p, "wb") as f:
            f.write(fdp.ConsumeBytes(400))
        _check(C.call(load_config, p))


if __name__ == "__main__":
    C.main(TestOneInput, "config")
