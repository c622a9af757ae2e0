"""Comparison of an RTL dump against golden vectors written by :mod:`hwsim.network.export`.

``compare(golden_dir, dut_dir)`` verifies every golden file against the manifest
(raising :class:`GoldenFileError` on a mismatch), reads each DUT ``.hex`` file at
the same relative path strictly (too-wide values, X/Z digits, size mismatches;
``ignore_xz=True`` does not count X/Z), and reports the first differing layer /
tensor / element / bit, the mismatch count, the error in LSBs and, with trace
CSVs on both sides, the first differing MAC step.  ``CompareReport.to_json(path)``
and ``.to_junit(path)`` write the result for CI.  The checks in detail: docs/rtl.md,
"What ``compare`` checks".
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ..codec import decode
from ..errors import HwsimError
from ..formats import format as parse_format
from ..tensors import codes_to_ints
from .hexio import read_hex, sha256_file
from .trace import retrace, trace_coord

__all__ = ["compare", "CompareReport", "GoldenFileError", "read_dut_hex"]


class GoldenFileError(HwsimError, ValueError):
    """A golden folder whose files do not match its manifest."""


@dataclass
class CompareReport:
    """Result of :func:`compare`."""

    ok: bool
    mismatches: int = 0
    compared: int = 0
    first: dict | None = None
    per_file: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    xz: list = field(default_factory=list)  #: X/Z elements: file, line, index

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.compared} elements in {len(self.per_file)} files match"
        lines = [f"MISMATCH: {self.mismatches} of {self.compared} elements differ"
                 + (f", {len(self.problems)} problem(s)" if self.problems else "")]
        for p in self.problems:
            lines.append(f"  problem: {p}")
        for x in self.xz[:10]:
            lines.append(f"  X/Z: {x['file']} line {x['line']} element {x['index']}: {x['text']!r}")
        if self.first:
            f = self.first
            lines.append(f"  first: layer {f['layer']!r} tensor {f['tensor']} element {f['index']} "
                         f"{tuple(f['coord'])}: golden 0x{f['golden']:X} dut 0x{f['dut']:X}, "
                         f"bit(s) {f['bits']} differ, error {f['lsb_error']} LSB")
            sd = f.get("step_details") or {}
            if sd.get("trace"):
                lines.append(f"  trace of that output: {sd['trace']}")
            if f.get("step"):
                lines.append(f"  first differing MAC step: {f['step']}")
        for pf in self.per_file:
            if pf["mismatches"]:
                lines.append(f"  {pf['file']}: {pf['mismatches']} mismatches, max |error| "
                             f"{pf['max_lsb_error']} LSB")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        for pf in d["per_file"]:
            v = pf["max_lsb_error"]
            pf["max_lsb_error"] = v if math.isfinite(v) else str(v)
        if d["first"] and not math.isfinite(d["first"]["lsb_error"]):
            d["first"]["lsb_error"] = str(d["first"]["lsb_error"])
        sd = (d["first"] or {}).get("step_details") or {}
        if isinstance(sd.get("lsb_error"), float) and not math.isfinite(sd["lsb_error"]):
            sd["lsb_error"] = str(sd["lsb_error"])
        return d

    def to_json(self, path) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1)

    def to_junit(self, path) -> None:
        """One test case per compared file (JUnit XML, as CI systems read it)."""
        cases = []
        fails = 0
        for pf in self.per_file:
            body = ""
            if pf["mismatches"] or pf.get("problem"):
                fails += 1
                msg = pf.get("problem") or f"{pf['mismatches']} mismatches"
                body = f"<failure message={quoteattr(msg)}>{escape(msg)}</failure>"
            cases.append(f'  <testcase classname="hwsim.compare" name={quoteattr(pf["file"])}>'
                         f"{body}</testcase>")
        for p in self.problems:
            if not any(p.startswith(pf["file"]) for pf in self.per_file):
                fails += 1
                cases.append(f'  <testcase classname="hwsim.compare" name={quoteattr(p)}>'
                             f"<failure message={quoteattr(p)}/></testcase>")
        with open(path, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write(f'<testsuite name="hwsim-compare" tests="{len(cases)}" failures="{fails}">\n')
            f.write("\n".join(cases) + "\n</testsuite>\n")


def read_dut_hex(path, bits: int):
    """(values uint64, X/Z list) of a DUT ``.hex`` file; raises on a value wider than ``bits``.

    X/Z elements (any ``x``/``z`` digit) are 0 in ``values`` and listed as
    ``dict(line, index, text)``."""
    vals, xz = [], []
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("ascii")
            except UnicodeDecodeError:
                raise ValueError(f"{path} line {lineno}: not ASCII text: {raw[:40]!r}") from None
            s = line.split("//")[0].strip()
            if not s:
                continue
            if any(c in "xXzZ?" for c in s):
                xz.append(dict(line=lineno, index=len(vals), text=s))
                vals.append(0)
                continue
            try:
                v = int(s, 16)
            except ValueError:
                raise ValueError(f"{path} line {lineno}: {s!r} is not a hex value") from None
            if v >> bits:
                raise _WideValue(lineno, len(vals), s)
            vals.append(v)
    return np.array(vals, dtype=np.uint64), xz


class _WideValue(Exception):
    def __init__(self, line, index, text):
        super().__init__(line, index, text)
        self.line, self.index, self.text = line, index, text


def verify_golden(golden_dir, man) -> None:
    """Every golden file against the manifest: sha256, element count, line width."""
    for L in man["layers"]:
        for kind, info in L["files"].items():
            p = os.path.join(golden_dir, info["hex"])
            if not os.path.isfile(p):
                raise GoldenFileError(f"golden file {info['hex']} (layer {L['name']!r}) is missing "
                                      f"or not a file")
            for key, typ in (("sha256_hex", str), ("width", int)):
                if not isinstance(info.get(key), typ) or isinstance(info.get(key), bool):
                    raise GoldenFileError(f"{os.path.join(golden_dir, 'manifest.json')}: malformed "
                                          f"manifest at layer {L['name']!r} files.{kind}.{key} "
                                          f"(needs {typ.__name__}, got {info.get(key)!r})")
            if sha256_file(p) != info["sha256_hex"]:
                raise GoldenFileError(f"golden file {info['hex']} does not match the sha256 in the "
                                      "manifest (changed or truncated after export)")
            n = int(np.prod(info["shape"])) if info["shape"] else 1
            with open(p, "rb") as f:
                lines = [s.strip() for s in f.read().decode("ascii", "replace").splitlines()
                         if s.strip()]
            if len(lines) != n:
                raise GoldenFileError(f"golden file {info['hex']} has {len(lines)} elements, its "
                                      f"shape {info['shape']} needs {n}")
            bad = next((i for i, s in enumerate(lines) if len(s) != info["width"]), None)
            if bad is not None:
                raise GoldenFileError(f"golden file {info['hex']} line {bad + 1} is "
                                      f"{len(lines[bad])} digits wide, manifest width {info['width']}")


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


def _select(man, layers, tensors):
    names = [L["name"] for L in man["layers"]]
    for n in layers or ():
        if n not in names:
            raise ValueError(f"layers: unknown layer {n!r}; the golden folder has {names}")
    known = {k for L in man["layers"] for k in L["files"]}
    for t in tensors or ():
        if t not in known:
            raise ValueError(f"tensors: unknown tensor {t!r}; the golden folder has {sorted(known)}")
    for L in man["layers"]:
        if layers and L["name"] not in layers:
            continue
        for kind in L["files"]:
            if tensors is None or kind in tensors:
                yield L, kind, L["files"][kind]


def _first_step(golden_dir, dut_dir, L, coord, trace_first=None):
    """(message, details) of the first differing MAC step of output ``coord``.

    The golden trace is the exported one, or (``trace_first``: a folder) one written
    now by :func:`~hwsim.network.trace.retrace`.  The DUT side is a trace CSV at the
    same relative path, or ``<layer dir>/steps.hex``: the register after every MAC
    step of every output, [acc elements, K] in ``acc`` order."""
    t = next((t for t in L.get("traces", []) if list(t["coord"]) == list(coord)), None)
    root = golden_dir
    if t is None:
        if trace_first is None:
            return None, None
        t = retrace(golden_dir, L, coord, trace_first)
        root = trace_first
    details = dict(trace=os.path.join(str(root), t["file"]))
    dp = os.path.join(dut_dir, t["file"])
    if os.path.exists(dp):
        return _diff_trace_csv(os.path.join(root, t["file"]), dp, t["file"]), details
    sp = os.path.join(dut_dir, L["dir"], "steps.hex")
    if not os.path.exists(sp):
        return (f"golden trace {details['trace']}; the DUT has no per-step dump to compare "
                f"({t['file']} or {os.path.join(L['dir'], 'steps.hex')})"), details
    with open(os.path.join(root, t["file"])) as f:
        head = f.readline().strip().split(",")
        rows = [dict(zip(head, r.strip().split(","))) for r in f if r.strip()]
    return _diff_steps(rows, sp, L, coord, details)


def _diff_trace_csv(gp, dp, name):
    with open(gp) as f:
        g = [r.strip().split(",") for r in f if r.strip()]
    with open(dp) as f:
        d = [r.strip().split(",") for r in f if r.strip()]
    head = g[0]
    for i, (gr, dr) in enumerate(zip(g[1:], d[1:])):
        if gr != dr:
            cols = [f"{h}: golden {a} dut {b}" for h, a, b in zip(head, gr, dr) if a != b]
            return f"row {i + 1} of {name} ({dict(zip(head, gr)).get('kind', '')}): " + \
                "; ".join(cols)
    if len(g) != len(d):
        return f"{name}: golden has {len(g) - 1} steps, DUT {len(d) - 1}"
    return None


_GEO = ("ci", "kh", "kw", "iy", "ix", "padding")


def _diff_steps(rows, steps_path, L, coord, details):
    """First MAC step where the DUT's steps.hex row differs from the golden trace."""
    macs = [r for r in rows if r["kind"] == "mac"]
    fmt = parse_format(L["files"]["acc"]["format"])
    n_out = int(np.prod(L["files"]["acc"]["shape"]))
    try:
        d, xz = read_dut_hex(steps_path, fmt.bits)
    except _WideValue as e:
        return f"{steps_path} line {e.line}: value {e.text} wider than {fmt.bits} bits", details
    if d.size != n_out * len(macs):
        return (f"{steps_path} has {d.size} values, [{n_out} outputs, {len(macs)} steps] "
                f"needs {n_out * len(macs)}"), details
    idx = int(np.ravel_multi_index(tuple(coord), L["files"]["acc"]["shape"])) \
        if L["op"] == "Conv" else int(coord[0]) * L["files"]["acc"]["shape"][-1] + int(coord[1])
    row = d.reshape(n_out, len(macs))[idx]
    bad = {x["index"] - idx * len(macs) for x in xz}
    for k, r in enumerate(macs):
        dut = int(row[k])
        if k in bad or dut != int(r["after"]):
            geo = ", ".join(f"{c} {r[c]}" for c in _GEO if r.get(c, "") != "")
            details.update(step=k, trace_row=int(r["step"]), golden=int(r["after"]),
                           dut=None if k in bad else dut, before=int(r["before"]),
                           a_code=int(r["a_code"]), b_code=int(r["b_code"]),
                           lsb_error=None if k in bad else float(_lsb_error(
                               np.array([int(r["after"])], np.uint64),
                               np.array([dut], np.uint64), fmt)[0]))
            return (f"MAC step {k} (trace row {r['step']}): a 0x{int(r['a_code']):X} "
                    f"b 0x{int(r['b_code']):X}" + (f" ({geo})" if geo else "") +
                    f", register before 0x{int(r['before']):X}; after: golden "
                    f"0x{int(r['after']):X} dut " + ("X/Z" if k in bad else f"0x{dut:X}")
                    + ("" if k in bad else f", error {details['lsb_error']:g} LSB")), details
    return ("all MAC steps match the golden trace: the difference arises after the "
            "accumulation (e.g. requantization)"), details


def read_manifest(golden_dir) -> dict:
    """manifest.json of a golden folder, its structure checked (GoldenFileError naming the field)."""
    path = os.path.join(golden_dir, "manifest.json")
    try:
        with open(path, "rb") as f:
            man = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GoldenFileError(f"{path}: not a JSON manifest ({e})") from None

    def need(cond, where):
        if not cond:
            raise GoldenFileError(f"{path}: malformed manifest at {where}")
    need(isinstance(man, dict) and isinstance(man.get("layers"), list), "'layers'")
    for i, L in enumerate(man["layers"]):
        need(isinstance(L, dict) and isinstance(L.get("files"), dict), f"layers[{i}].files")
        need(isinstance(L.get("name"), str), f"layers[{i}].name")
        for kind, info in L["files"].items():
            w = f"layers[{i}].files.{kind}"
            need(isinstance(info, dict) and isinstance(info.get("hex"), str)
                 and info["hex"].strip() != "", w + ".hex")
            need(isinstance(info.get("format"), (dict, str)), w + ".format")
            shp = info.get("shape")
            need(isinstance(shp, list) and all(isinstance(d, int) and not isinstance(d, bool)
                                               and d >= 0 for d in shp), w + ".shape")
    return man


def compare(golden_dir, dut_dir, tensors=None, layers=None, ignore_xz=False,
            verify=True, trace_first=None) -> CompareReport:
    """Compare an RTL dump (``.hex`` files in the golden layout) with the golden vectors.

    ``tensors`` / ``layers``: compare only these file kinds (``input``, ``acc``,
    ``output``, ``input_elements``, ...) / layer names (unknown names are errors).
    ``ignore_xz``: do not count X/Z elements as mismatches (they are still listed).
    ``verify``: check the golden files against the manifest first.
    ``trace_first``: a folder; when the first differing ``acc`` / ``output`` element
    has no exported trace, its trace is written there (``<layer dir>/trace_<coord>.csv``)
    and compared with the DUT's per-step dump to name the first differing MAC step."""
    man = read_manifest(golden_dir)
    if verify:
        verify_golden(golden_dir, man)
    rep = CompareReport(ok=True)
    for L, kind, info in _select(man, layers, tensors):
        _compare_file(rep, golden_dir, dut_dir, L, kind, info, ignore_xz, trace_first)
    return rep


def _compare_file(rep, golden_dir, dut_dir, L, kind, info, ignore_xz, trace_first=None):
    dpath = os.path.join(dut_dir, info["hex"])
    pf = dict(file=info["hex"], mismatches=0, max_lsb_error=0.0, problem=None)
    rep.per_file.append(pf)
    if not os.path.isfile(dpath):
        pf["problem"] = f"missing DUT file {info['hex']} (absent or not a file)"
        rep.problems.append(pf["problem"])
        rep.ok = False
        return
    fmt = parse_format(info["format"])
    g = read_hex(os.path.join(golden_dir, info["hex"]))
    try:
        d, xz = read_dut_hex(dpath, fmt.bits)
    except _WideValue as e:
        pf["problem"] = (f"{info['hex']} line {e.line} element {e.index}: DUT value {e.text} is "
                         f"wider than the {fmt.bits}-bit field")
        rep.problems.append(pf["problem"])
        rep.ok = False
        return
    for x in xz:
        rep.xz.append(dict(file=info["hex"], **x))
    if d.size != g.size:
        pf["problem"] = (f"{info['hex']}: size mismatch: DUT has {d.size} elements, golden "
                         f"{g.size} (shape {info['shape']})")
        rep.problems.append(pf["problem"])
        rep.ok = False
        n = min(d.size, g.size)
        g, d = g[:n], d[:n]
    isxz = np.zeros(g.size, bool)
    isxz[[x["index"] for x in xz if x["index"] < g.size]] = True
    diff = np.nonzero((g != d) & ~isxz | (isxz & (not ignore_xz)))[0]
    rep.compared += int(g.size)
    if diff.size == 0:
        return
    rep.ok = False
    rep.mismatches += int(diff.size)
    pf["mismatches"] = int(diff.size)
    err = _lsb_error(g[diff], d[diff], fmt)
    err[isxz[diff]] = np.inf
    pf["max_lsb_error"] = float(np.max(np.abs(err)))
    if rep.first is None:
        i = int(diff[0])
        x = int(g[i]) ^ int(d[i])
        coord = [int(c) for c in np.unravel_index(i, info["shape"])] if info["shape"] else []
        rep.first = dict(layer=L["name"], tensor=kind, file=info["hex"], index=i, coord=coord,
                         golden=int(g[i]), dut=int(d[i]), xz=bool(isxz[i]),
                         bits=[b for b in range(fmt.bits) if x >> b & 1], lsb_error=float(err[0]))
        if kind in ("acc", "output"):
            c = coord if L["op"] == "Conv" else list(trace_coord(L, i))
            rep.first["step"], rep.first["step_details"] = _first_step(
                golden_dir, dut_dir, L, c, trace_first)
