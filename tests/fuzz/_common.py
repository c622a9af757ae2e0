"""Shared pieces of the atheris harnesses (see tests/fuzz/README.md).

A harness input passes when hwsim returns a result or raises a deliberate error:
an ``hwsim.errors.HwsimError``, or a ``ValueError`` / ``TypeError`` raised by a
``raise`` statement in hwsim's own source (its message names the parameter).
Anything else (IndexError, KeyError, ZeroDivisionError, an exception raised inside
numpy / onnx / protobuf, a crash, a hang, a sanitizer report) is a finding.
"""
from __future__ import annotations

import os
import sys
import traceback
import warnings

import numpy as np

def _numba_modules() -> list:
    """hwsim modules whose source mentions numba (found without importing hwsim)."""
    import importlib.util

    root = os.path.dirname(importlib.util.find_spec("hwsim").origin)
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py") and "numba" in open(os.path.join(d, f), encoding="utf-8").read():
                rel = os.path.relpath(os.path.join(d, f), os.path.dirname(root))[:-3]
                out.append(rel.replace(os.sep, ".").removesuffix(".__init__"))
    return out


if os.environ.get("HWSIM_FUZZ_INSTRUMENT") == "1":  # set by tests/fuzz/run.py
    import atheris

    # coverage of hwsim's Python code; numba-compiled modules stay uninstrumented (numba
    # cannot compile the tracing calls atheris inserts)
    with atheris.instrument_imports(include=["hwsim"], exclude=_numba_modules()):
        import hwsim  # noqa: F401
        import hwsim.mac  # noqa: F401
        import hwsim.network  # noqa: F401
        import hwsim.network.export  # noqa: F401
        import hwsim.testing.mac_strategies  # noqa: F401

HWSIM_DIR = os.path.dirname(os.path.abspath(__import__("hwsim").__file__))


class Finding(AssertionError):
    """A harness input that hwsim handled badly."""


def deliberate(exc: BaseException) -> bool:
    """True for errors hwsim raises on purpose (see the module docstring)."""
    from hwsim.errors import HwsimError

    if isinstance(exc, HwsimError):
        return True
    if not isinstance(exc, (ValueError, TypeError)):
        return False
    tb = traceback.extract_tb(exc.__traceback__)
    return (bool(tb) and os.path.abspath(tb[-1].filename).startswith(HWSIM_DIR + os.sep)
            and (tb[-1].line or "").lstrip().startswith("raise"))


def call(fn, *args, **kw):
    """``fn(*args, **kw)``; None when it raised a deliberate error; Finding otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy warnings are findings too
            return fn(*args, **kw)
    except Finding:
        raise
    except Exception as exc:  # noqa: BLE001 - classify
        if deliberate(exc):
            return None
        raise Finding(f"{type(exc).__name__} from {getattr(fn, '__name__', fn)}: {exc}") from exc


def floats(fdp, n) -> np.ndarray:
    """n float64 values: raw bit patterns (NaN, Inf, subnormals) or small decimals."""
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        raw = fdp.ConsumeBytes(8 * n).ljust(8 * n, b"\0")
        return np.frombuffer(raw, dtype=np.float64).copy()
    if mode == 1:
        return np.array([fdp.ConsumeRegularFloat() for _ in range(n)], dtype=np.float64)
    return np.array([fdp.ConsumeIntInRange(-300, 300) / 8.0 for _ in range(n)], dtype=np.float64)


def pick(fdp, seq):
    return seq[fdp.ConsumeIntInRange(0, len(seq) - 1)]


def main(test_one_input, name):
    """``python tests/fuzz/fuzz_X.py [libFuzzer args]``: run under atheris."""
    import atheris

    _warm_up(test_one_input, name)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def _warm_up(test_one_input, name) -> None:
    """Run the committed seeds once before libFuzzer's per-input timer starts: the first
    calls compile hwsim's numba kernels and import onnx (tens of seconds on a loaded
    machine), which is start-up, not a hang.  Errors here are left for the fuzzer."""
    import glob

    seeds = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                                          name, "*")))
    for data in [b""] + [open(p, "rb").read() for p in seeds if os.path.isfile(p)]:
        try:
            test_one_input(data)
        except Exception:  # noqa: BLE001 - the fuzzer reports it with its input
            pass


#: replacement values for structure-aware mutation of dicts / lists
POOL = [None, 0, -1, 1, 2, 3, 7, 8, 16, 33, 64, 65, -(1 << 70), 1 << 70, 0.5, -2.5, 1e308,
        float("nan"), float("inf"), "", "x", "int8", "uint4", "float16", "float8_e4m3fn",
        "e8m0", "mxfp4", "nf4", "int32", "int16_sat", "fp32", "model", "tflite", "onnx",
        "rne", "wrap", "saturate", "error", "Tree", "Chunked", "Tiles", "separate", True,
        False, [], {}, [1, 2], {"type": "Tree"}, {"method": "mmse"}]


def mutate(obj, fdp, depth=0):
    """A copy of a JSON-like ``obj`` with one value (deep inside) replaced, a key
    removed or added, as the fuzz input says."""
    import copy

    obj = copy.deepcopy(obj)
    if depth > 6:
        return pick(fdp, POOL)
    if isinstance(obj, dict) and obj:
        op = fdp.ConsumeIntInRange(0, 3)
        keys = sorted(obj, key=str)
        k = pick(fdp, keys)
        if op == 0:
            obj.pop(k)
        elif op == 1:
            obj[pick(fdp, keys + ["extra", "type", "name"])] = pick(fdp, POOL)
        else:
            obj[k] = mutate(obj[k], fdp, depth + 1)
        return obj
    if isinstance(obj, list) and obj:
        i = fdp.ConsumeIntInRange(0, len(obj) - 1)
        obj[i] = mutate(obj[i], fdp, depth + 1)
        return obj
    return pick(fdp, POOL)
