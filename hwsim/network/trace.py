"""Per-MAC traces of chosen outputs, for golden-vector exports (CSV and ``.npy``).

``trace_<coords>.csv`` has one row per step of the reduction, in the order the MAC
unit performs them (step kinds as in :func:`hwsim.mac.trace`), with the register
codes before / after each step, the events it raised and the output, kernel and
input coordinates of the term.  The ``.npy`` twin holds the integer columns as
int64, -1 where empty.  The columns are documented in docs/rtl.md, "Trace columns".
"""
from __future__ import annotations

import numpy as np

from .. import mac as _mac
from ..errors import HwsimError
from ..ops.conv import reduction_index

__all__ = ["TRACE_COLUMNS", "NPY_COLUMNS", "TraceCoordError", "check_coords", "trace_rows"]

TRACE_COLUMNS = ("step", "kind", "unit", "k0", "k1", "a_code", "b_code", "input", "before",
                 "after", "after_value", "events", "n", "co", "oy", "ox", "ci", "kh", "kw",
                 "iy", "ix", "padding", "a_value", "b_value", "acc")
NPY_COLUMNS = ("step", "k0", "k1", "a_code", "b_code", "before", "after", "n", "co", "oy", "ox",
               "ci", "kh", "kw", "iy", "ix", "padding")


class TraceCoordError(HwsimError, ValueError):
    """A ``--trace`` request naming an unknown layer or an output outside the layer."""


def check_coords(layer: str, op: str, out_shape, coords) -> list:
    """Validate trace coordinates against the layer's output shape; returns int tuples."""
    out = []
    want = 4 if op == "Conv" else 2
    shape = tuple(int(s) for s in out_shape)
    if op != "Conv":
        shape = (int(np.prod(shape[:-1])), shape[-1])
    names = "(n, c, y, x)" if op == "Conv" else "(row, column)"
    for c in coords:
        c = tuple(c)
        if len(c) != want or not all(isinstance(v, (int, np.integer)) for v in c):
            raise TraceCoordError(f"trace {layer}: {op} outputs take {want} integer coordinates "
                                  f"{names}, got {c}")
        for v, s, nm in zip(c, shape, names.strip("()").split(", ")):
            if not 0 <= v < s:
                raise TraceCoordError(f"trace {layer}: coordinate {nm}={v} is outside the output "
                                      f"shape {list(shape)} (allowed 0..{s - 1})")
        out.append(tuple(int(v) for v in c))
    return out


def _conv_geometry(rec, coord, k_index):
    """(ci, kh, kw, iy, ix, padding) of reduction term ``k_index`` of a Conv output."""
    a = rec.attrs
    w = np.shape(rec.weight.codes)
    g = a.get("group", 1)
    kc, ki, kj = reduction_index(w[1], w[2], w[3], rec.config["order"])
    sh, sw = _pair(a.get("strides", 1))
    dh, dw = _pair(a.get("dilations", 1))
    pads = a.get("pads", 0)
    pt, pl = (pads, pads) if np.ndim(pads) == 0 else (pads[0], pads[1])
    _, co, oy, ox = coord
    ci = int(kc[k_index]) + (co // (w[0] // g)) * w[1]
    kh, kw = int(ki[k_index]), int(kj[k_index])
    iy, ix = oy * sh - pt + kh * dh, ox * sw - pl + kw * dw
    H, W = np.shape(rec.input.codes)[2:]
    return ci, kh, kw, iy, ix, int(not (0 <= iy < H and 0 <= ix < W))


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def trace_rows(rec, coord, arow, bcol, bias, a_zp, b_zp) -> list:
    """Rows (tuples in :data:`TRACE_COLUMNS` order) of the reduction of one output."""
    a = np.asarray(arow).reshape(1, -1)
    b = np.asarray(bcol).reshape(-1, 1)
    bb = None if bias is None else np.asarray([bias])
    tr = _mac.trace(a, b, rec.mac, 0, 0, bias=bb, a_zero_point=a_zp, b_zero_point=b_zp)
    conv = rec.op == "Conv"
    pos = tuple(coord) if conv else (coord[0], coord[1], 0, 0)
    rows = []
    for i, s in enumerate(tr.steps):
        geo = ("",) * 6
        if s["kind"] == "mac" and conv:
            geo = _conv_geometry(rec, coord, s["k"][0])
        acc = s["acc"]
        rows.append((i, s["kind"], s["unit"], s["k"][0], s["k"][1], s.get("a_code", ""),
                     s.get("b_code", ""), "" if s["input"] is None else str(s["input"]),
                     s["before"], s["after"], repr(s["after_value"]), "|".join(s["events"]))
                    + pos + geo
                    + (str(s.get("a_value", "")), str(s.get("b_value", "")),
                       str(int(acc)) if isinstance(acc, (int, np.integer)) else repr(float(acc))))
    return rows


def rows_to_npy(rows) -> np.ndarray:
    idx = [TRACE_COLUMNS.index(c) for c in NPY_COLUMNS]
    out = np.full((len(rows), len(idx)), -1, np.int64)
    for r, row in enumerate(rows):
        for j, i in enumerate(idx):
            v = row[i]
            if v != "" and v is not None:
                out[r, j] = int(v) if int(v) < (1 << 63) else -1
    return out
