"""Golden vectors for RTL test benches, and comparison of an RTL dump against them.

``export(network, x, out_dir)`` writes, for every compute layer (Conv / Gemm) in
execution order, a folder ``NN_<layer>/`` with the ``input``, ``weight``, ``bias``,
``acc`` and ``output`` codes as ``.hex`` (``$readmemh``-ready) and ``.npy``, plus
``manifest.json`` (formats, shapes, layout, quantization, MAC units, config, input,
model and sha256 of every file).  Optional per-MAC traces
(``trace={"layer": [(n, c, y, x), ...]}``) write ``trace_<coords>.csv``.  The file
layout, manifest fields and trace columns are in docs/rtl.md.

``compare`` (in :mod:`hwsim.network.compare`, re-exported here) checks an RTL
dump against these files.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from .._atomic import atomic_dir
from ..codec import encode
from ..designs.base import unbatched_paths
from ..formats import IntFormat
from ..formats import format as parse_format
from ..ops import macbridge as br
from ..tensors import ints_to_codes
from .compare import CompareReport, compare  # noqa: F401  (re-exported)
from .hexio import read_hex, write_hex
from .hexio import sha256_file as _sha
from .trace import TraceCoordError, check_coords, write_traces

__all__ = ["export", "is_golden_dir", "compare", "CompareReport", "write_hex", "read_hex", "acc_format"]

KINDS = ("input", "weight", "bias", "acc", "output")


def acc_format(mac):
    """Format of the accumulator register dumps: IntFormat(bits), FixedFormat(width,
    frac) (raw two's complement) or the float format of the result register."""
    return br.acc_format(mac)


def _acc_codes(values, fmt):
    """Register codes of accumulator-domain values (bias: raw ints / exact floats)."""
    if fmt.kind in ("int", "fixed"):
        return ints_to_codes(np.asarray(values).astype(np.int64), fmt.bits, _udtype(fmt.bits))
    return encode(np.asarray(values, np.float64), fmt, "rne")


def _udtype(bits):
    return np.dtype(np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else
                    np.uint32 if bits <= 32 else np.uint64)


def _mac_dict(mac):
    try:
        return mac.to_dict()
    except Exception:  # pragma: no cover
        return repr(mac)


def is_golden_dir(path) -> bool:
    """True when ``path`` holds an earlier export (a ``manifest.json``)."""
    return os.path.isfile(os.path.join(path, "manifest.json"))


LAYOUT = dict(activations="NCHW", conv_weight="OIHW [Cout, Cin/groups, kH, kW]",
              gemm_weight="[K, N]", matmul="a [M, K], b [K, N], acc [M, N]",
              order="row-major (C order), one element per line",
              hex="two's complement / raw codes, ceil(bits/4) upper-case hex digits")


def export(network, x, out_dir, trace=None, model_path=None) -> dict:
    """Run ``network`` on ``x`` and write golden vectors; returns the manifest.

    ``trace``: ``{layer: [(n, c, y, x), ...]}`` (Gemm: ``(row, column)``); an unknown
    layer or a coordinate outside the output raises
    :class:`~hwsim.network.trace.TraceCoordError` before anything is written.  The
    folder appears complete or not at all (written to a temporary sibling and
    renamed, :mod:`hwsim._atomic`); an existing ``out_dir`` must be empty or an
    earlier export, and is replaced (stale files gone) only when the new one is complete."""
    res = network.run(x, keep=True, reference=True)
    coords = _check_trace(res, trace or {})
    with atomic_dir(out_dir, reusable=is_golden_dir) as tmp:
        xin = x if isinstance(x, dict) else {next(iter(network.inputs)): x}
        np.savez(os.path.join(tmp, "network_input.npz"), **{k: np.asarray(v) for k, v in xin.items()})
        man = dict(format="hwsim-golden-1", network=network.name, layout=LAYOUT,
                   config=network.config.to_dict(), input_file="network_input.npz",
                   input_sha256=_sha(os.path.join(tmp, "network_input.npz")),
                   source=dict(network.source), layers=[],
                   outputs={o: dict(qparams=res.qoutputs[o].qparams()
                                    if hasattr(res.qoutputs[o], "qparams") else None)
                            for o in network.outputs})
        if model_path is not None:
            man["model"] = dict(path=os.path.abspath(str(model_path)), sha256=_sha(model_path))
        for idx, (name, rec) in enumerate(res.layers.items()):
            d = f"{idx:02d}_{_safe(name)}"
            entry = dict(name=name, op=rec.op, dir=d, attrs=_jsonable(rec.attrs),
                         files=_write_files(tmp, d, _layer_tensors(rec)),
                         mac=_mac_dict(rec.mac), requant=_jsonable(rec.requant), config=rec.config,
                         stats=_jsonable(res.stats.get(name, {})))
            if name in coords:
                entry["traces"] = write_traces(tmp, d, rec, coords[name])
            man["layers"].append(entry)
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
    return man



def _check_trace(res, trace) -> dict:

    out = {}
    for layer, cs in trace.items():
        rec = res.layers.get(layer)
        if rec is None:
            raise TraceCoordError(f"trace: unknown layer {layer!r}; compute layers are "
                                  f"{list(res.layers)}")
        out[layer] = check_coords(layer, rec.op, np.shape(rec.output.codes), cs)
    return out


def _design_tensors(rec) -> dict:
    """A layer run by an accelerator design (hwsim.designs): input, weight and output as
    for every layer, ``acc`` the design's real output (binary64 codes), then every MAC path
    of the design: ``design<g>_<path>_input`` / ``_weight`` / ``_acc`` (g: the conv group)."""
    f64 = parse_format("float64")
    tensors = dict(
        input=(np.asarray(rec.input.codes), rec.input.fmt, rec.input.qparams()),
        weight=(np.asarray(rec.weight.codes), rec.weight.fmt, rec.weight.qparams()),
        acc=(encode(np.asarray(rec.acc, np.float64), f64), f64, None),
        output=(np.asarray(rec.output.codes), rec.output.fmt, rec.output.qparams()))
    for g, res in enumerate(rec.design_results):
        for name, p, a, b, acc in unbatched_paths(res.paths):
            k = f"design{g}_{_safe(name)}"
            tensors[k + "_input"] = (a, p.mac.a_fmt, dict(zero_point=0))
            tensors[k + "_weight"] = (b, p.mac.b_fmt, dict(zero_point=0))
            tensors[k + "_acc"] = (acc, acc_format(p.mac), None)
    return tensors


def _layer_tensors(rec) -> dict:
    """{kind: (codes, format, qparams)} of one layer record, in file order."""
    if getattr(rec, "design_results", None) is not None:
        return _design_tensors(rec)
    afmt = acc_format(rec.mac)
    bfmt = br.bias_register(rec.mac)
    acc_codes = rec.acc_codes if rec.acc_codes is not None else _acc_codes(rec.acc, afmt)
    tensors = dict(
        input=(np.asarray(rec.input.codes), rec.input.fmt, rec.input.qparams()),
        weight=(np.asarray(rec.weight.codes), rec.weight.fmt, rec.weight.qparams()),
        bias=None if rec.bias is None else (_acc_codes(rec.bias, bfmt), bfmt, None),
        acc=(np.asarray(acc_codes), afmt, None),
        output=(np.asarray(rec.output.codes), rec.output.fmt, rec.output.qparams()),
    )
    for kind in ("input", "weight", "output"):
        # block operands: the MAC sees scalar codes (`input`); the stored block tensor is
        # element codes (`input_elements`) plus one scale per block (`input_scales`)
        bt = getattr(rec, kind).meta.get("block")
        if bt is None:
            continue
        sfmt = _scale_format(bt)
        tensors[kind + "_elements"] = (np.asarray(bt.codes), _elem_format(bt), dict(
            block_format=bt.fmt.to_dict(), axis=bt.axis, block_size=bt.block_size,
            tensor_scale=bt.tensor_scale))
        tensors[kind + "_scales"] = (np.asarray(bt.scales).view(_udtype(sfmt.bits))
                                     if sfmt.bits == 32 else np.asarray(bt.scales), sfmt, None)
    tensors.update(_requant_tensors(rec.requant))
    return tensors


def _requant_tensors(rq) -> dict:
    """Integer requantization parameters (multiplier int32, shift int8) as tensors."""
    out = {}
    for key, bits in (("multiplier", 32), ("shift", 8)):
        v = (rq or {}).get(key)
        if v is None or not all(isinstance(i, (int, np.integer)) for i in np.ravel(v).tolist()):
            continue
        arr = np.asarray(v, np.int64).reshape(-1)
        out["requant_" + key] = (ints_to_codes(arr, bits, _udtype(bits)), IntFormat(bits), None)
    return out


def _write_files(root, d, tensors) -> dict:
    """Write each tensor as ``d/<kind>.hex`` + ``.npy``; returns the manifest ``files``."""
    os.makedirs(os.path.join(root, d), exist_ok=True)
    files = {}
    for kind, t in tensors.items():
        if t is None:
            continue
        codes, fmt, qp = t
        hp = os.path.join(d, f"{kind}.hex")
        npath = os.path.join(d, f"{kind}.npy")
        write_hex(os.path.join(root, hp), codes, fmt.bits)
        np.save(os.path.join(root, npath), np.asarray(codes))
        files[kind] = dict(hex=hp, npy=npath, shape=list(np.shape(codes)), format=fmt.to_dict(),
                           bits=fmt.bits, width=max(1, -(-fmt.bits // 4)), qparams=qp,
                           sha256_hex=_sha(os.path.join(root, hp)),
                           sha256_npy=_sha(os.path.join(root, npath)))
    return files


def _safe(s):
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if math.isfinite(v) else str(v)
    return o


def _elem_format(bt):
    """Format of a BlockTensor's element codes (for the .hex width and the manifest)."""
    f = bt.fmt
    if f.kind == "mx":
        return f.elem
    if f.kind == "nvfp4":
        return f.elem
    if f.kind == "bfp":
        return IntFormat(f.bits, False)
    return IntFormat(max(1, f.bits), False)  # codebook indices


def _scale_format(bt):
    f = bt.fmt
    if f.kind in ("mx", "nvfp4"):
        return f.scale
    if f.kind == "bfp":
        return IntFormat(f.exp_bits, False)
    return parse_format("float32")  # codebook absmax
