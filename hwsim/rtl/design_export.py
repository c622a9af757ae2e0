"""Golden vectors of an accelerator design (:mod:`hwsim.designs`): one layer per MAC path.

``export(design_result, out_dir)`` writes the same ``hwsim-golden-1`` manifest as
network and matmul exports, so ``hwsim compare`` checks a chip built on the design:
every MAC path of the design (e.g. PWLQ's four region units per K tile) is a
``MatMul`` layer ``NN_<path>/`` with ``input``, ``weight`` and ``acc`` (result
register codes), and the manifest's ``design`` entry holds the design's parameters,
cost and statistics.
"""
from __future__ import annotations

import json
import os


from .._atomic import atomic_dir
from ..designs import DesignResult
from ..designs.base import unbatched_paths
from ..network.export import LAYOUT, _jsonable, _mac_dict, _safe, _write_files, is_golden_dir
from ..ops import macbridge as br

__all__ = ["export_design"]


def export_design(result: DesignResult, out_dir, design=None) -> dict:
    """Write every MAC path of ``result`` (see the module doc); returns the manifest."""
    if not isinstance(result, DesignResult):
        raise TypeError(f"export_design takes a DesignResult, got {type(result).__name__}")
    if not result.paths:
        raise ValueError("this design result has no MAC paths to export")
    layers = []
    with atomic_dir(out_dir, reusable=is_golden_dir) as tmp:
        for name, p, a, b, acc in unbatched_paths(result.paths):
            d = f"{len(layers):02d}_{_safe(name)}"
            tensors = dict(input=(a, p.mac.a_fmt, dict(zero_point=_jsonable(p.a_zero_point))),
                           weight=(b, p.mac.b_fmt, dict(zero_point=0)), bias=None,
                           acc=(acc, br.acc_format(p.mac), None))
            files = _write_files(tmp, d, tensors)
            layers.append(dict(name=name, op="MatMul", dir=d, attrs={}, files=files,
                               mac=_mac_dict(p.mac), requant=None, config=None, stats=None))
        man = dict(format="hwsim-golden-1", network=None, layout=LAYOUT, layers=layers,
                   design=dict(params=None if design is None else design.to_dict(),
                               cost=_jsonable(result.cost), stats=_jsonable(result.stats)))
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
    return man
