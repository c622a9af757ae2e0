"""The fuzz corpora and every recorded finding (tests/fuzz/) replay cleanly.

Each input of ``tests/fuzz/corpus/<harness>/`` and ``tests/fuzz/findings/<harness>/``
goes through the harness once (no fuzzing): a finding that comes back fails here.
"""
import glob
import importlib.util
import os

import pytest

import atheris  # noqa: F401  (test extra: the harnesses need it; a missing install must fail, not skip)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz")
NAMES = ("codec", "block", "matmul", "onnx", "config", "golden")


def _harness(name):
    import sys

    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", os.path.join(HERE, f"fuzz_{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inputs(name):
    files = []
    for kind in ("corpus", "findings"):
        files += sorted(glob.glob(os.path.join(HERE, kind, name, "*")))
    return [f for f in files if os.path.isfile(f) and not f.endswith(".md")]


@pytest.mark.parametrize("name", NAMES)
def test_corpus_replays(name):
    h = _harness(name)
    files = _inputs(name)
    assert files, f"tests/fuzz/corpus/{name}/ is empty"
    for f in files:
        with open(f, "rb") as fh:
            h.TestOneInput(fh.read())
