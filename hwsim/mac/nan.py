"""NaN policies of MAC units: which NaN a unit writes when a result is NaN.

A MAC unit's NaN results (a NaN operand or bias, Inf * 0, Inf - Inf) follow
its :class:`NanPolicy`, in every format the unit writes (product, register,
partial sum):

- ``mode="canonical"``: always the *default NaN*: the format's canonical NaN
  code (``FloatFormat.nan_code``: 0x7E00 in float16, 0x7FC00000 in float32),
  with its sign bit set when ``negative``.  This is hwsim's behaviour before
  policies existed and stays the default.
- ``mode="propagate"``: a NaN operand's sign and payload carry into the result,
  quieted (quiet bit set; the trailing significand left-aligned, cut to the
  destination's width, as SoftFloat's common-NaN conversions do).  Priority:
  the register first, then a, then b (a MAC step is ``register + a * b``;
  tree nodes and sums take their terms in k order, the register first), or
  with ``prefer_snan`` the first *signalling* NaN in that order.  NaNs that no
  operand brought (Inf * 0, Inf - Inf) are the default NaN.  Formats with a
  single NaN code (fn: sign kept; fnuz, P3109) take their NaN code.

A signalling NaN (an IEEE-style NaN with the quiet bit, the MSB of the
trailing significand, clear) raises INVALID wherever it is consumed (product,
bias load); the register never holds one.  Sources for the presets are in
docs/semantics.md, "NaN policies".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError

__all__ = ["NanPolicy", "NAN_PRESETS", "nan_policy"]

#: bit values of hw_mac_spec.nan_rule (include/hwsim.h HW_NANR_*)
_PROPAGATE, _PREFER_SNAN, _NEGATIVE = 1, 2, 4


@dataclass(frozen=True)
class NanPolicy:
    """How a MAC unit chooses NaN results (see the module docstring).

    mode : "canonical" or "propagate".
    prefer_snan : propagate only: a signalling NaN operand wins over an
        earlier quiet one (ARM's FPProcessNaNs).
    negative : the default NaN has its sign bit set (x86's "QNaN floating-point
        indefinite", 0xFFC00000 in float32).
    name : a label (the preset's name), not part of the semantics.
    """

    mode: str = "canonical"
    prefer_snan: bool = False
    negative: bool = False
    name: str = field(default="", compare=False)

    def __post_init__(self):
        if self.mode not in ("canonical", "propagate"):
            raise ConfigError(f"NanPolicy mode must be 'canonical' or 'propagate', got "
                             f"{self.mode!r}")
        for f in ("prefer_snan", "negative"):
            if not isinstance(getattr(self, f), bool):
                raise ConfigError(f"NanPolicy {f} must be a bool, got {getattr(self, f)!r}")
        if self.prefer_snan and self.mode != "propagate":
            raise ConfigError("NanPolicy prefer_snan applies to mode='propagate' only")

    @property
    def rule(self) -> int:
        """The C engine's HW_NANR_* bits."""
        return ((_PROPAGATE if self.mode == "propagate" else 0)
                | (_PREFER_SNAN if self.prefer_snan else 0) | (_NEGATIVE if self.negative else 0))

    @property
    def is_default(self) -> bool:
        return self.rule == 0

    def to_dict(self) -> dict:
        return dict(mode=self.mode, prefer_snan=self.prefer_snan, negative=self.negative,
                    name=self.name)


#: RISC-V (F extension): canonical NaN 0x7FC00000, never propagated.
#: x86 SSE / AVX: first NaN operand's payload, quieted; default NaN 0xFFC00000.
#: ARM (FPCR.DN = 0): NaN operand propagated, signalling before quiet; default
#: NaN 0x7FC00000.
NAN_PRESETS = {
    "canonical": NanPolicy("canonical", name="canonical"),
    "riscv": NanPolicy("canonical", name="riscv"),
    "x86": NanPolicy("propagate", False, True, name="x86"),
    "arm": NanPolicy("propagate", True, False, name="arm"),
}


def nan_policy(p) -> NanPolicy:
    """A :class:`NanPolicy` from itself, None (canonical), a preset name
    (canonical, riscv, x86, arm) or a dict from :meth:`NanPolicy.to_dict`."""
    if p is None:
        return NAN_PRESETS["canonical"]
    if isinstance(p, NanPolicy):
        return p
    if isinstance(p, str) and p in NAN_PRESETS:
        return NAN_PRESETS[p]
    if isinstance(p, dict):
        extra = set(p) - {"mode", "prefer_snan", "negative", "name"}
        if extra:
            raise ConfigError(f"NanPolicy dict: unknown keys {sorted(extra)}")
        return NanPolicy(**p)
    raise ConfigError(f"nan must be one of {sorted(NAN_PRESETS)}, a NanPolicy or its dict, "
                     f"got {p!r}")
