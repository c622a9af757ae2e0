"""examples/ holds the configurations and inputs the README uses; each loads and runs."""
import json
import os
import re

import numpy as np
import pytest

from hwsim import cli
from hwsim.network.config import load_config
from hwsim.network.demo import model_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")
CONFIGS = sorted(f for f in os.listdir(EX) if f.endswith(".json"))


def test_readme_names_only_existing_examples():
    text = open(os.path.join(ROOT, "README.md")).read()
    named = set(re.findall(r"examples/([\w.]+)", text))
    assert {"cfg.json", "x.npy"} <= named
    for f in named:
        assert os.path.exists(os.path.join(EX, f)), f


@pytest.mark.parametrize("name", CONFIGS)
def test_example_config_loads_and_runs(name, tmp_path, capsys):
    path = os.path.join(EX, name)
    cfg = load_config(path)
    assert cfg.to_dict()["defaults"]["input"] == json.load(open(path))["defaults"]["input"]
    out = tmp_path / "r.json"
    assert cli.main(["run", model_path(), "--config", path, "--input",
                     os.path.join(EX, "x.npy"), "--json", str(out)]) == 0
    logits = np.array(json.load(open(out))["outputs"]["logits"])
    assert logits.shape == (4, 10) and np.isfinite(logits).all()
    labels = np.load(os.path.join(EX, "labels.npy"))
    assert (logits.argmax(1) == labels).sum() >= 3  # the quantized model still classifies
