"""Hypothesis profiles and the one helper that gives a test its own count.

Profiles (choose with the environment variable ``HYPOTHESIS_PROFILE``, or
pytest's ``--hypothesis-profile``):

========== ============ ============= ======================================
profile    max_examples derandomize   use
========== ============ ============= ======================================
dev        100          no            quick local runs, new examples each run
ci         300          yes           default; what ``make test`` and CI run
exhaustive 1000         no            ``make test-exhaustive``: >= 1000 for every test
========== ============ ============= ======================================

``ci`` is derandomized (examples derived from each test's source, no example
database): two runs of ``make test`` draw the same examples on any machine.
``deadline=None`` everywhere: the first call into a numba kernel or a cffi
function compiles or loads code and can take seconds.

A test that needs another count than the profile's (a slow one) takes
``@examples(n)``: n under ``ci``, n/3 (at least 10) under ``dev``, and at
least the profile's count (1000) under ``exhaustive``.  No test pins
``max_examples`` itself (``tests/test_hypothesis_profiles.py`` checks).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

COUNTS = {"dev": 100, "ci": 300, "exhaustive": 1000}
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=COUNTS["dev"], **_COMMON)
settings.register_profile("ci", max_examples=COUNTS["ci"], derandomize=True, database=None,
                          **_COMMON)
settings.register_profile("exhaustive", max_examples=COUNTS["exhaustive"], **_COMMON)


def load() -> str:
    """Load the profile named by HYPOTHESIS_PROFILE (default ci); its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    if name not in COUNTS:
        raise ValueError(f"HYPOTHESIS_PROFILE must be one of {sorted(COUNTS)}, got {name!r}")
    settings.load_profile(name)
    return name


def count(ci: int, active: int | None = None) -> int:
    """The example count of a test that runs ``ci`` examples under ci, scaled
    to the active profile's max_examples (``active``, default: read from the
    loaded profile when the test is decorated, so --hypothesis-profile works)."""
    if active is None:
        active = settings.default.max_examples
    if active >= COUNTS["exhaustive"]:
        return max(active, ci)
    return max(10, round(ci * active / COUNTS["ci"]))


def examples(ci: int) -> settings:
    """``@examples(150)``: settings with the profile-scaled count (every other
    setting from the active profile)."""
    return settings(max_examples=count(ci))
