"""Per-MAC traces of chosen outputs, for golden-vector exports (CSV and ``.npy``).

``trace_<coords>.csv`` has one row per step of the reduction, in the order the MAC
unit performs them (step kinds as in :func:`hwsim.mac.trace`), with the register
codes before / after each step, the events it raised and the output, kernel and
input coordinates of the term.  The ``.npy`` twin holds the integer columns as
int64, -1 where empty.  The columns are documented in docs/rtl.md, "Trace columns".
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

from .. import mac as _mac
from ..codec import decode
from ..errors import HwsimError
from ..formats import format as parse_format
from ..ops.conv import im2col, reduction_index, weight_matrix
from ..tensors import codes_to_ints
from .hexio import sha256_file

__all__ = ["TRACE_COLUMNS", "NPY_COLUMNS", "TraceCoordError", "check_coords", "trace_rows",
           "write_traces", "golden_record", "retrace", "trace_coord"]

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


def write_traces(out_dir, d, rec, coords):
    """Write ``d/trace_<coord>.csv`` + ``.npy`` of each output in ``coords`` under
    ``out_dir``: every step of its reduction (columns: :data:`TRACE_COLUMNS`).
    ``rec``: a layer record (op, attrs, config, mac, input, weight, bias).  Returns
    the manifest ``traces`` entries."""
    a = rec.attrs
    paths = []
    for coord in coords:
        if rec.op == "Conv":
            n_, c_, y_, x_ = coord
            g = a.get("group", 1)
            w = np.asarray(rec.weight.codes)
            cg = w.shape[0] // g
            cols, (N, Ho, Wo) = im2col(np.asarray(rec.input.codes), w.shape[2:], stride=a.get("strides", 1),
                                       padding=a.get("pads", 0), dilation=a.get("dilations", 1),
                                       groups=g, order=rec.config["order"],
                                       pad_code=_pad_code(rec))
            gi = c_ // cg
            arow = cols[gi, (n_ * Ho + y_) * Wo + x_]
            bcol = weight_matrix(w, g, rec.config["order"])[gi, :, c_ % cg]
            col = c_
        else:
            m_, col = coord
            arow = np.asarray(rec.input.codes).reshape(-1, np.shape(rec.input.codes)[-1])[m_]
            bcol = np.asarray(rec.weight.codes)[:, col]
        bias = None if rec.bias is None else rec.bias[col]
        rows = trace_rows(rec, coord, arow, bcol, bias, _zp(rec.input), _zp(rec.weight, col))
        stem = os.path.join(d, "trace_" + "_".join(str(int(v)) for v in coord))
        with open(os.path.join(out_dir, stem + ".csv"), "w") as f:
            f.write(",".join(TRACE_COLUMNS) + "\n")
            for r in rows:
                f.write(",".join(str(v) for v in r) + "\n")
        np.save(os.path.join(out_dir, stem + ".npy"), rows_to_npy(rows))
        paths.append(dict(coord=[int(v) for v in coord], file=stem + ".csv", npy=stem + ".npy",
                          columns=list(TRACE_COLUMNS), sha256=sha256_file(os.path.join(out_dir, stem + ".csv"))))
    return paths


def _pad_code(rec):
    f = rec.input.fmt
    return int(np.asarray(rec.input.zero_point)) & ((1 << f.bits) - 1) if f.kind == "int" else 0


def _zp(qt, col=None):
    if qt.fmt.kind != "int":
        return 0
    z = np.asarray(qt.zero_point)
    return int(z) if z.ndim == 0 else int(z[col])


def golden_record(golden_dir, layer) -> SimpleNamespace:
    """A layer record rebuilt from a golden folder's manifest entry and ``.npy`` files,
    enough for :func:`write_traces` (scalar-format MatMul / Gemm / Conv layers)."""
    files = layer["files"]
    if any(k.endswith("_elements") for k in files):
        raise ValueError(f"layer {layer['name']!r}: tracing block-format operands from a "
                         "golden folder is not supported (export with trace= instead)")

    def tensor(kind):
        info = files[kind]
        fmt = parse_format(info["format"])
        zp = (info.get("qparams") or {}).get("zero_point", 0)
        return SimpleNamespace(codes=np.load(os.path.join(golden_dir, info["npy"])), fmt=fmt,
                               zero_point=np.asarray(zp if zp is not None else 0), meta={})

    bias = None
    if "bias" in files:
        b = tensor("bias")
        if b.fmt.kind == "float":
            bias = decode(b.codes, b.fmt)
        else:
            bias = codes_to_ints(b.codes, b.fmt.bits, True)
            if getattr(b.fmt, "frac_bits", 0):
                bias = np.ldexp(bias.astype(np.float64), -b.fmt.frac_bits)
    return SimpleNamespace(op=layer["op"], attrs=layer.get("attrs") or {},
                           config=layer.get("config") or {}, mac=_mac.MacUnit.from_dict(layer["mac"]),
                           input=tensor("input"), weight=tensor("weight"), bias=bias)


def trace_coord(layer, index: int) -> tuple:
    """Trace coordinate of flat element ``index`` of the layer's ``acc`` tensor."""
    shape = layer["files"]["acc"]["shape"]
    if layer["op"] == "Conv":
        return tuple(int(c) for c in np.unravel_index(index, shape))
    return index // shape[-1], index % shape[-1]


def retrace(golden_dir, layer, coord, out_dir) -> dict:
    """Trace output ``coord`` of a layer of a golden folder after the fact: writes
    ``out_dir/<layer dir>/trace_<coord>.csv`` + ``.npy``; returns its ``traces`` entry
    with the rows (``rows``)."""
    rec = golden_record(golden_dir, layer)
    os.makedirs(os.path.join(out_dir, layer["dir"]), exist_ok=True)
    entry = write_traces(out_dir, layer["dir"], rec, [tuple(coord)])[0]
    with open(os.path.join(out_dir, entry["file"])) as f:
        entry["rows"] = [r.rstrip("\n").split(",") for r in f][1:]
    return entry
