"""``hwsim.export``: golden vectors of a network, a matmul or a dot product.

One manifest format for all (``hwsim-golden-1``, see docs/rtl.md), so
``hwsim compare`` checks any of them.  A matmul / dot export is one layer
(``op`` ``MatMul``) in folder ``00_<name>/`` with ``input`` (a codes
``[M, K]``), ``weight`` (b codes ``[K, N]``), ``bias`` (register codes, when
given) and ``acc`` (the result register codes ``[M, N]``), each ``.hex`` +
``.npy``, and optional traces ``trace_<i>_<j>.csv``.
"""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np

from .._atomic import atomic_dir
from ..codec import encode
from ..designs import DesignResult
from ..mac import MacUnit, matmul
from ..network import Network
from ..network.export import LAYOUT, _jsonable, _mac_dict, _safe, _sha, _write_files, is_golden_dir
from ..network.export import export as net_export
from ..network.trace import TRACE_COLUMNS, check_coords, rows_to_npy, trace_rows
from ..ops import macbridge as br
from ..tensors import ints_to_codes
from .design_export import export_design

__all__ = ["export"]


def export(target, out_dir, *args, **kw) -> dict:
    """Write golden vectors; returns the manifest.

    * ``export(network, out_dir, x, trace=None, model_path=None)``: every compute
      layer of a :class:`~hwsim.network.Network` run on ``x``
      (:func:`hwsim.network.export.export`).
    * ``export(mac, out_dir, a_codes, b_codes, bias=None, a_zero_point=0,
      b_zero_point=0, result=None, trace=None, name="matmul")``: one matmul
      (a ``[M, K]``, b ``[K, N]``) or dot product (a, b ``[K]``) through a
      :class:`~hwsim.mac.MacUnit`.  ``result``: a :class:`~hwsim.mac.MatmulResult`
      already computed (checked to equal a fresh run); ``trace``: output
      coordinates ``[(i, j), ...]`` to trace.
    * ``export(design_result, out_dir, design=None)``: every MAC path of an accelerator
      design's :class:`~hwsim.designs.DesignResult` (:mod:`hwsim.rtl.design_export`).
    """
    if isinstance(target, Network):
        if not args:
            raise TypeError("export(network, out_dir, x): the network input x is missing")
        return net_export(target, args[0], out_dir, *args[1:], **kw)
    if isinstance(target, MacUnit):
        return _export_matmul(target, out_dir, *args, **kw)
    if isinstance(target, DesignResult):
        return export_design(target, out_dir, *args, **kw)
    raise TypeError(f"export takes a Network, a MacUnit or a DesignResult, got "
                    f"{type(target).__name__}")


def _export_matmul(mac, out_dir, a_codes, b_codes, bias=None, a_zero_point=0, b_zero_point=0,
                   result=None, trace=None, name="matmul"):
    a, b = np.asarray(a_codes), np.asarray(b_codes)
    if a.ndim == 1 and b.ndim == 1:  # a dot product: a [1, K] x b [K, 1]
        a, b = a.reshape(1, -1), b.reshape(-1, 1)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a_codes and b_codes must be [M, K] and [K, N] (or both [K]); got "
                         f"shapes {a.shape}, {b.shape}")
    res = matmul(a, b, mac, bias=bias, a_zero_point=a_zero_point, b_zero_point=b_zero_point)
    if result is not None and not np.array_equal(np.asarray(result.codes).reshape(res.codes.shape),
                                                 res.codes):
        raise ValueError("result does not match matmul(a_codes, b_codes, mac, ...) of these "
                         "operands: pass the result of the same call")
    coords = check_coords(name, "MatMul", res.codes.shape, trace or [])
    afmt = br.acc_format(mac)
    tensors = dict(input=(a, mac.a_fmt, dict(zero_point=_jsonable(a_zero_point))),
                   weight=(b, mac.b_fmt, dict(zero_point=_jsonable(b_zero_point))),
                   bias=None, acc=(np.asarray(res.codes), afmt, None))
    if bias is not None:
        bfmt = br.bias_register(mac)
        bv = np.broadcast_to(np.asarray(bias).reshape(-1), (b.shape[1],))
        tensors["bias"] = (_bias_codes(br.bias_to_register(bv, mac), bfmt), bfmt, None)
    d = f"00_{_safe(name)}"
    with atomic_dir(out_dir, reusable=is_golden_dir) as tmp:
        files = _write_files(tmp, d, tensors)
        entry = dict(name=name, op="MatMul", dir=d, attrs={}, files=files, mac=_mac_dict(mac),
                     requant=None, config=None, stats=None)
        if coords:
            entry["traces"] = _traces(tmp, d, mac, a, b, bias, a_zero_point, b_zero_point, coords)
        man = dict(format="hwsim-golden-1", network=None, layout=LAYOUT, layers=[entry])
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
    return man


def _bias_codes(reg, fmt):
    if fmt.kind in ("int", "fixed"):
        return ints_to_codes(np.asarray(reg, np.int64), fmt.bits,
                             np.uint64 if fmt.bits > 32 else np.uint32 if fmt.bits > 16 else
                             np.uint16 if fmt.bits > 8 else np.uint8)
    return encode(np.asarray(reg, np.float64), fmt, "rne")


def _traces(root, d, mac, a, b, bias, za, zb, coords):
    rec = SimpleNamespace(op="MatMul", mac=mac)
    out = []
    for i, j in coords:
        bj = None if bias is None else np.broadcast_to(np.asarray(bias).reshape(-1), (b.shape[1],))[j]
        zbj = zb if np.ndim(zb) == 0 else np.asarray(zb)[j]
        rows = trace_rows(rec, (i, j), a[i], b[:, j], bj, za, zbj)
        stem = os.path.join(d, f"trace_{i}_{j}")
        with open(os.path.join(root, stem + ".csv"), "w") as f:
            f.write(",".join(TRACE_COLUMNS) + "\n")
            f.write("".join(",".join(str(v) for v in r) + "\n" for r in rows))
        np.save(os.path.join(root, stem + ".npy"), rows_to_npy(rows))
        out.append(dict(coord=[i, j], file=stem + ".csv", npy=stem + ".npy",
                        columns=list(TRACE_COLUMNS), sha256=_sha(os.path.join(root, stem + ".csv"))))
    return out
