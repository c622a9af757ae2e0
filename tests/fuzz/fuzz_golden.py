"""Fuzz the golden-file reader (``read_hex``) and ``compare``.

A golden folder is exported once from a tiny model.  Each input then either
feeds raw bytes to ``read_hex``, or builds a DUT folder from the golden one with
one ``.hex`` file's text replaced by fuzz bytes, or mutates the golden
``manifest.json`` structurally; ``compare`` must return a report or raise a
deliberate error.
"""
import json
import os
import shutil
import tempfile

import numpy as np

try:
    from . import _common as C
except ImportError:
    import _common as C

from hwsim.network import load_onnx
from hwsim.network.export import compare, export, read_hex

_TMP = tempfile.mkdtemp(prefix="hwsim-fuzz-golden-")
_GOLD = None


def _golden():
    global _GOLD
    if _GOLD is None:
        try:
            from . import fuzz_onnx
        except ImportError:
            import fuzz_onnx
        net = load_onnx(fuzz_onnx.seeds()[0])
        x = np.linspace(-1, 1, 16).reshape(1, 1, 4, 4)
        net.calibrate([x])
        _GOLD = os.path.join(_TMP, "gold")
        export(net, x, _GOLD, trace={"conv1": [(0, 0, 1, 1)]})
    return _GOLD


def _hex_files(d):
    out = []
    for root, _, files in os.walk(d):
        out += [os.path.relpath(os.path.join(root, f), d) for f in files if f.endswith(".hex")]
    return sorted(out)


def TestOneInput(data: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    gold = _golden()
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        p = os.path.join(_TMP, "raw.hex")
        with open(p, "wb") as f:
            f.write(fdp.ConsumeBytes(300))
        C.call(read_hex, p)
        return
    dut = os.path.join(_TMP, "dut")
    shutil.rmtree(dut, ignore_errors=True)
    shutil.copytree(gold, dut)
    g = gold
    if mode == 1:
        rel = C.pick(fdp, _hex_files(dut))
        with open(os.path.join(dut, rel), "wb") as f:
            f.write(fdp.ConsumeBytes(200))
    else:
        g = os.path.join(_TMP, "gold_m")
        shutil.rmtree(g, ignore_errors=True)
        shutil.copytree(gold, g)
        with open(os.path.join(gold, "manifest.json")) as f:
            man = json.load(f)
        with open(os.path.join(g, "manifest.json"), "w") as f:
            json.dump(C.mutate(man, fdp), f)
    rep = C.call(compare, g, dut)
    if rep is not None:
        C.call(rep.text)


if __name__ == "__main__":
    C.main(TestOneInput, "golden")
