"""Accelerator designs from the literature, simulated as units (docs/designs.md).

Each design is a frozen dataclass with ``name``, ``to_dict()`` and
``matmul(x, w) -> DesignResult`` on real-valued ``x [M, K]`` and ``w [K, N]``; it
quantizes as the design does and runs every MAC path through :mod:`hwsim.mac`.
:func:`design_from_dict` builds one from the ``"design"`` key of a network layer
config, so designs run in networks and are swept like any config field.
"""
from __future__ import annotations

from ..errors import ConfigError
from .base import DesignPath, DesignResult, sqnr_db
from .cim import CIMDesign
from .polarize import PolarizationDesign
from .psum import PsumEncoding
from .pwlq import PWLQDesign
from .schemes import FORMAT_PRESETS, ChunkedFP8, TwoTensorInt4, VSQuant, per_layer_bits

__all__ = ["DESIGNS", "design_from_dict", "DesignResult", "DesignPath", "PWLQDesign",
           "PolarizationDesign", "CIMDesign", "TwoTensorInt4", "VSQuant", "ChunkedFP8",
           "PsumEncoding", "FORMAT_PRESETS", "per_layer_bits", "sqnr_db"]

#: design name -> class
DESIGNS = {c.name: c for c in (PWLQDesign, PolarizationDesign, CIMDesign, TwoTensorInt4,
                               VSQuant, ChunkedFP8)}


def design_from_dict(d: dict):
    """The design a config dict names: ``{"name": "pwlq", "bits": 4, ...}``."""
    if not isinstance(d, dict) or "name" not in d:
        raise ConfigError(f"design must be an object with a 'name' (one of {sorted(DESIGNS)}), "
                          f"got {d!r}")
    kw = dict(d)
    name = kw.pop("name")
    cls = DESIGNS.get(name)
    if cls is None:
        raise ConfigError(f"design name must be one of {sorted(DESIGNS)}, got {name!r}")
    try:
        return cls(**kw)
    except TypeError as e:
        raise ConfigError(f"design {name!r}: {e}") from None
    except ValueError as e:
        raise ConfigError(f"design {name!r}: {e}") from None
