"""The hypothesis profiles do what tests/hyp_settings.py claims: under
``exhaustive`` every hypothesis test runs >= 1000 examples, under ``ci``
(make test) every one is derandomized, and no test pins its own count."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import hyp_settings

TESTS = pathlib.Path(__file__).parent

_PROBE = r"""
import importlib, json, pathlib, sys
sys.path.insert(0, sys.argv[1])
import hyp_settings
hyp_settings.load()
from hypothesis.internal.detection import is_hypothesis_test
out = {}
root = pathlib.Path(sys.argv[1])
for p in sorted(root.rglob("test_*.py")):  # tests/<package>/ folders are packages
    modname = ".".join(p.relative_to(root).with_suffix("").parts)
    mod = importlib.import_module(modname)
    for name, f in vars(mod).items():
        if callable(f) and is_hypothesis_test(f):
            s = f._hypothesis_internal_use_settings
            out[modname + "::" + name] = [s.max_examples, s.derandomize]
print(json.dumps(out))
"""


def _settings_under(profile: str) -> dict:
    env = dict(os.environ, HYPOTHESIS_PROFILE=profile)
    r = subprocess.run([sys.executable, "-c", _PROBE, str(TESTS)], env=env, capture_output=True,
                       text=True, timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_exhaustive_profile_runs_1000_everywhere():
    got = _settings_under("exhaustive")
    assert len(got) >= 30  # every hypothesis test of the suite was found
    low = {k: v[0] for k, v in got.items() if v[0] < 1000}
    assert not low, low


def test_ci_profile_is_derandomized_and_keeps_per_test_counts():
    got = _settings_under("ci")
    assert all(derand for _, derand in got.values()), got
    # a test with its own count keeps it under ci (the slow MAC comparisons)
    assert got["mac.test_multiterm::test_multi_term_accumulators_equal_reference"][0] == 200
    assert got["test_properties::test_monotonic"][0] == hyp_settings.COUNTS["ci"]


def test_no_test_pins_max_examples():
    pinned = [p.name for p in TESTS.rglob("test_*.py")
              if p.name != pathlib.Path(__file__).name
              and re.search(r"max_examples\s*=", p.read_text())]
    assert not pinned, pinned


@pytest.mark.parametrize("ci, want", [(60, {"dev": 20, "ci": 60, "exhaustive": 1000}),
                                      (300, {"dev": 100, "ci": 300, "exhaustive": 1000}),
                                      (2000, {"dev": 667, "ci": 2000, "exhaustive": 2000})])
def test_count_scales_with_the_profile(ci, want):
    for name, n in want.items():
        assert hyp_settings.count(ci, hyp_settings.COUNTS[name]) == n
