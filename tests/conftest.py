"""Shared pytest configuration: hypothesis profiles and format / mode fixtures.

Hypothesis profiles and per-test counts: see ``tests/hyp_settings.py``.
"""
from __future__ import annotations

import pytest

import hwsim
from hwsim.formats import FloatFormat

import hyp_settings

hyp_settings.load()

#: every deterministic rounding mode (``sr`` needs extra arguments)
DETERMINISTIC_MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")


def _small_formats() -> list[FloatFormat]:
    """Float formats of at most 8 bits: the ml_dtypes presets plus custom ones.

    The custom ones cover what the presets do not: a free bias, no subnormals,
    unsigned, a 0-bit mantissa, P3109 domains and the smallest legal widths.
    """
    names = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
             "float8_e4m3b11fnuz", "float8_e4m3", "float8_e3m4", "float8_e8m0fnu",
             "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"]
    fmts = [hwsim.format(n) for n in names]
    fmts += [
        FloatFormat(4, 3, bias=4),  # HFP8-style 1-4-3 with a free bias
        FloatFormat(5, 2, bias=11, specials="fn"),  # 1-5-2, free bias, fn NaN
        FloatFormat(4, 3, subnormals=False),  # no subnormals: grid {0, min_normal}
        FloatFormat(3, 2, subnormals=False, specials="finite"),  # 6-bit "short float"
        FloatFormat(4, 4, signed=False),  # unsigned 8-bit with Inf/NaN
        FloatFormat(5, 0),  # power-of-two values, Inf, no NaN
        FloatFormat(2, 0, specials="finite"),  # 3 bits: {0, 1, 2, 4} * sign (bias 1)
        FloatFormat(3, 1, specials="fn", bias=-2),  # negative bias: values >= 2^3
        hwsim.p3109(8, 3),  # P3109 binary8p3, extended domain
        hwsim.p3109(8, 4, "finite"),  # P3109 binary8p4, finite domain
        hwsim.p3109(6, 2),
    ]
    return fmts


@pytest.fixture(scope="session")
def small_formats() -> list[FloatFormat]:
    """Every <= 8-bit FloatFormat worth sweeping exhaustively (presets + custom)."""
    fmts = _small_formats()
    assert all(f.bits <= 8 for f in fmts)
    return fmts


@pytest.fixture(scope="session")
def all_presets() -> list:
    """Every scalar FloatFormat in the catalogue ``hwsim.PRESETS``."""
    return [f for f in hwsim.PRESETS.values() if isinstance(f, FloatFormat)]


@pytest.fixture(scope="session")
def all_modes() -> tuple[str, ...]:
    """The six deterministic rounding modes (``sr`` is tested on its own)."""
    return DETERMINISTIC_MODES
