"""Comparison of an RTL dump against golden vectors written by :mod:`hwsim.network.export`.

``compare(golden_dir, dut_dir)`` reads an RTL dump laid out the same way
(``.hex`` files at the same relative paths) and reports the first differing
layer / tensor / element / bit, the number of mismatches and the error in
units of the format's LSB.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from ..api import decode
from ..formats import format as parse_format
from ..qtensor import codes_to_ints
from .hexio import read_hex

__all__ = ["compare", "CompareReport"]


# ---------------------------------------------------------------------------
@dataclass
class CompareReport:
    """Result of :func:`compare`."""

    ok: bool
    mismatches: int = 0
    compared: int = 0
    first: dict | None = None
    per_file: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.compared} elements in {len(self.per_file)} files match"
        lines = [f"MISMATCH: {self.mismatches} of {self.compared} elements differ"]
        for p in self.problems:
            lines.append(f"  problem: {p}")
        if self.first:
            f = self.first
            lines.append(f"  first: layer {f['layer']!r} tensor {f['tensor']} element {f['index']} "
                         f"{tuple(f['coord'])}: golden 0x{f['golden']:X} dut 0x{f['dut']:X}, "
                         f"bit(s) {f['bits']} differ, error {f['lsb_error']} LSB")
        for pf in self.per_file:
            if pf["mismatches"]:
                lines.append(f"  {pf['file']}: {pf['mismatches']} mismatches, max |error| "
                             f"{pf['max_lsb_error']} LSB")
        return "\n".join(lines)


def _lsb_error(g, d, fmt):
    if fmt.kind in ("int", "fixed"):
        gi = codes_to_ints(g, fmt.bits, fmt.signed)
        di = codes_to_ints(d, fmt.bits, fmt.signed)
        return (di - gi).astype(np.float64)
    gv = decode(g.astype(fmt.code_dtype), fmt)
    dv = decode(d.astype(fmt.code_dtype), fmt)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.floor(np.log2(np.maximum(np.abs(gv), fmt.min_normal)))
        ulp = np.exp2(e - fmt.man_bits)
        err = (dv - gv) / ulp
    return np.where(np.isfinite(err), err, np.inf)


def compare(golden_dir, dut_dir, tensors=None) -> CompareReport:
    """Compare an RTL dump (``.hex`` files in the golden layout) with the golden vectors.

    ``tensors``: the file kinds to compare (default: every file of the manifest,
    e.g. ``input``, ``acc``, ``output``, ``input_elements``, ``input_scales``)."""
    with open(os.path.join(golden_dir, "manifest.json")) as f:
        man = json.load(f)
    rep = CompareReport(ok=True)
    for L in man["layers"]:
        for kind in (L["files"] if tensors is None else tensors):
            info = L["files"].get(kind)
            if info is None:
                continue
            gpath = os.path.join(golden_dir, info["hex"])
            dpath = os.path.join(dut_dir, info["hex"])
            if not os.path.exists(dpath):
                rep.problems.append(f"missing DUT file {info['hex']}")
                rep.ok = False
                continue
            g = read_hex(gpath)
            d = read_hex(dpath)
            fmt = parse_format(info["format"])
            pf = dict(file=info["hex"], mismatches=0, max_lsb_error=0.0)
            rep.per_file.append(pf)
            if d.size != g.size:
                rep.problems.append(f"{info['hex']}: {d.size} elements, golden has {g.size}")
                rep.ok = False
                n = min(d.size, g.size)
                g, d = g[:n], d[:n]
            mask = np.uint64((1 << fmt.bits) - 1) if fmt.bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
            d = d & mask
            diff = np.nonzero(g != d)[0]
            rep.compared += int(g.size)
            if diff.size == 0:
                continue
            rep.ok = False
            rep.mismatches += int(diff.size)
            pf["mismatches"] = int(diff.size)
            err = _lsb_error(g[diff], d[diff], fmt)
            pf["max_lsb_error"] = float(np.max(np.abs(err)))
            if rep.first is None:
                i = int(diff[0])
                x = int(g[i]) ^ int(d[i])
                rep.first = dict(layer=L["name"], tensor=kind, file=info["hex"], index=i,
                                 coord=[int(c) for c in np.unravel_index(i, info["shape"])] if info["shape"] else [],
                                 golden=int(g[i]), dut=int(d[i]),
                                 bits=[b for b in range(fmt.bits) if x >> b & 1],
                                 lsb_error=float(err[0]))
    return rep
