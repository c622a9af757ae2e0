"""Rounding modes, overflow / NaN policies and status flags.

Enum values equal the C ones in ``csrc/include/hwsim.h`` (tests/native/test_build.py);
:data:`ROUNDINGS` is the one list of rounding-mode names (``rne``, ``rna``, ``rtz``,
``rup``, ``rdn``, ``rto``, ``sr``).  Their IEEE 754-2019 names, ac_types / HDL analogs
and tie behaviour are tabulated in docs/semantics.md.
"""
from __future__ import annotations

import enum


def _parse_member(cls, value, param: str):
    """An enum member from itself or its lower-case name; ValueError naming ``param``."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value.upper() in cls.__members__:
        return cls[value.upper()]
    raise ValueError(f"{param} must be one of {[m.name.lower() for m in cls]}, got {value!r}")


class RoundingMode(enum.IntEnum):
    """How a real value is rounded into a format (``HW_ROUND_*`` in C)."""

    RNE = 0  #: round to nearest, ties to even (IEEE roundTiesToEven)
    RNA = 1  #: round to nearest, ties away from zero (IEEE roundTiesToAway)
    RTZ = 2  #: round toward zero (truncate)
    RUP = 3  #: round toward +infinity (ceiling)
    RDN = 4  #: round toward -infinity (floor)
    RTO = 5  #: round to odd: truncate, set the LSB if inexact
    SR = 6  #: stochastic rounding: r random bits added below the LSB, then truncate

    @property
    def short(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value) -> "RoundingMode":
        return _parse_member(cls, value, "rounding")


#: Every rounding-mode name, in C enum order.
ROUNDINGS = tuple(m.name.lower() for m in RoundingMode)
#: The deterministic modes (all but ``sr``): what registers and accumulators take.
DETERMINISTIC_ROUNDINGS = tuple(r for r in ROUNDINGS if r != "sr")
#: Round to nearest (both tie rules) and the three directed modes, in C enum order.
NEAREST_AND_DIRECTED = tuple(r for r in DETERMINISTIC_ROUNDINGS if r != "rto")


class Overflow(enum.IntEnum):
    """What happens to a finite value beyond the largest finite code (``HW_OVF_*``).

    ``SATURATE``: clamp to +-max finite; +-Inf inputs clamp too.
    ``SATURATE_FINITE_KEEP_INF``: finite overflow clamps, Inf stays Inf where the
    format has one (P3109 SatPropagate).
    ``SPECIAL``: overflow to Inf, or NaN if the format has no Inf (IEEE-style; a
    mode that rounds toward zero for that sign still gives max finite).
    ``ERROR``: raise :class:`~hwsim.errors.OverflowValueError`.
    ``WRAP``: integers and fixed point only: two's complement wrap-around.
    """

    SATURATE = 0
    SATURATE_FINITE_KEEP_INF = 1
    SPECIAL = 2
    ERROR = 3
    WRAP = 4

    @property
    def short(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value) -> "Overflow":
        return _parse_member(cls, value, "overflow")


class Tininess(enum.IntEnum):
    """When underflow is detected (IEEE 754 leaves it to the implementation)."""

    AFTER = 0  #: after rounding (SoftFloat / TestFloat default, x86 SSE, ARM)
    BEFORE = 1  #: before rounding

    @classmethod
    def parse(cls, value) -> "Tininess":
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise ValueError(f"tininess must be 'after' or 'before', got {value!r}")


class Flags(enum.IntFlag):
    """IEEE status flags with SoftFloat's bit meanings (``HW_FLAG_*``)."""

    NONE = 0
    INEXACT = 1
    UNDERFLOW = 2
    OVERFLOW = 4
    INFINITE = 8  #: division by zero in SoftFloat; unused by conversions
    INVALID = 16
