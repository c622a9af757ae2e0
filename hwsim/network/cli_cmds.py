"""Network verbs of the ``hwsim`` command line: run, export, compare, demo, sweep, search.

``add_subparsers(subparsers)`` registers them on the main parser (``hwsim/cli.py``);
every verb is a function ``cmd_<verb>(args) -> exit status``.  ``main(argv)`` runs
them stand-alone (used by the tests).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import replace

import numpy as np

from .._atomic import atomic_file, check_output_dir, check_output_file
from .._cli_errors import Parser, add_debug_options, run_cli
from ..errors import InputFileError, NaNOutputError, UsageError
from .cli_io import check_file, check_folder, load_array
from .config import load_config
from .demo import is_demo_dir, load_data, model_path, run_demo
from .export import compare, export, is_golden_dir
from .inputs import check_inputs, parse_nan_policy
from .onnx_import import load_onnx
from .sweep.cli import add_sweep_parsers, cmd_search, cmd_sweep

__all__ = ["add_subparsers", "main", "cmd_run", "cmd_export", "cmd_compare", "cmd_demo", "cmd_sweep",
           "cmd_search"]


def _config(path):
    if path is None:
        return None

    return load_config(check_file(path, "--config"))


def _load(args, x):
    """The network of ``args.model`` (default: the demo model) with ``--config``,
    ``--nan`` applied, the input checked, calibrated when needed."""


    config = _config(args.config)
    calib = load_array(args.calib, "--calib") if getattr(args, "calib", None) else None
    net = load_onnx(args.model or model_path(), config=config)
    if getattr(args, "nan", None) is not None:
        net.set_config(replace(net.config, nan_policy=parse_nan_policy(args.nan, "--nan")))
    if net.config.nan_policy == "error":  # fail before calibration, naming the input
        check_inputs(_as_dict(net, x), {}, "error")
    if net.source.get("kind") == "float" or config is not None:
        with np.errstate(all="ignore"):  # NaN / Inf inputs under nan_policy
            net.calibrate([calib if calib is not None else x])
    return net


def _as_dict(net, x):
    if isinstance(x, dict):
        return x
    if len(net.inputs) != 1:
        raise UsageError(f"the model has inputs {list(net.inputs)}; --input gives one array")
    return {next(iter(net.inputs)): np.asarray(x)}


def _input(path, model):
    if model is not None:
        check_file(model, "model")
    if path:
        return load_array(path, "--input")
    if model is None:  # the demo model: first digits test image

        return load_data()[2][:1]
    raise UsageError("--input X.npy is required for a model other than the demo model")


def _nan_outputs(outputs) -> dict:
    """{output name: (NaN count, size)} of outputs holding NaN."""
    bad = {}
    for k, v in outputs.items():
        v = np.asarray(v)
        n = int(np.count_nonzero(np.isnan(v))) if v.dtype.kind in "fc" else 0
        if n:
            bad[k] = (n, v.size)
    return bad


def cmd_run(args) -> int:
    if args.json:
        check_output_file(args.json, "--json")
    x = _input(args.input, args.model)
    net = _load(args, x)
    with np.errstate(all="ignore"):  # NaN / Inf under nan_policy: reported below
        r = net.run(x, reference=True)
    for name, v in r.outputs.items():
        print(f"output {name}: shape {v.shape}")
        print(np.array2string(np.asarray(v), precision=5, threshold=64))
    rw = getattr(net, "source", {}).get("rewrites", [])
    if rw:  # hwsim's own import rewrites (folds, fusions), docs/semantics.md
        print(f"\nrewrites ({len(rw)}):")
        for line in rw[:20]:
            print(f"  {line}")
        if len(rw) > 20:
            print(f"  ... and {len(rw) - 20} more")
    print(f"\n{'layer':<24} {'op':<18} {'overflows':>9} {'max|psum|':>12} {'SQNR dB':>8}")
    for name, s in r.stats.items():
        print(f"{name:<24} {s['op']:<18} {s.get('overflow_events', ''):>9} "
              f"{s.get('max_abs_partial', ''):>12} {s.get('sqnr_db', float('nan')):>8.2f}")
    par = {k: s["ort_parity"] for k, s in r.stats.items() if "ort_parity" in s}
    if par:  # layers with elementwise "ort": how each relates to onnxruntime (docs/semantics.md)
        print("\nonnxruntime parity:")
        for name, p in par.items():
            print(f"  {name:<24} {p}")
    bad = _nan_outputs(r.outputs)
    for k, (n, size) in bad.items():
        print(f"NaN: output {k} has {n} NaN of {size} elements")
    if bad and net.config.nan_policy != "propagate":
        k, (n, size) = next(iter(bad.items()))
        raise NaNOutputError(f"output {k!r} has {n} NaN of {size} elements (nan_policy "
                             f"{net.config.nan_policy!r}; --nan propagate accepts NaN outputs)")
    if args.json:
        with atomic_file(args.json) as f:
            json.dump(dict(outputs={k: np.asarray(v).tolist() for k, v in r.outputs.items()},
                           stats=r.stats, rewrites=rw), f, indent=1, default=str)
    return 0


def _parse_trace(items):
    tr: dict = {}
    for it in items or []:
        layer, _, coords = it.partition(":")
        try:
            tr.setdefault(layer, []).append(tuple(int(c) for c in coords.split(",")))
        except ValueError:
            raise ValueError(f"--trace must be LAYER:n,c,y,x (integers), got {it!r}") from None
    return tr


def _coords(text, item):
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise UsageError(f"--trace {item!r}: coordinates must be integers, e.g. conv1:0,0,0,0") from None


def _parse_trace(items):
    tr: dict = {}
    for it in items or []:
        layer, _, coords = it.partition(":")
        tr.setdefault(layer, []).append(_coords(coords, it))
    return tr


def cmd_export(args) -> int:

    check_output_dir(args.out, "--out", reusable=is_golden_dir)
    trace = _parse_trace(args.trace)
    x = _input(args.input, args.model)
    net = _load(args, x)
    man = export(net, x, args.out, trace=trace, model_path=args.model or model_path())
    print(f"wrote golden vectors of {len(man['layers'])} layers to {args.out}/ (manifest.json)")
    return 0


def cmd_compare(args) -> int:


    check_folder(args.golden, "golden folder")
    man = os.path.join(args.golden, "manifest.json")
    if not os.path.isfile(man):
        raise InputFileError(f"golden folder {args.golden!r} has no manifest.json "
                             "(not written by 'hwsim export')")
    check_file(man, "golden manifest")
    check_folder(args.dut, "DUT folder")
    if args.trace_first and os.path.exists(args.trace_first) and not os.path.isdir(args.trace_first):
        raise UsageError(f"--trace-first {args.trace_first!r} exists and is not a folder")
    rep = compare(args.golden, args.dut, tensors=args.tensor, layers=args.layer,
                  ignore_xz=args.ignore_xz, trace_first=args.trace_first)
    print(rep.text())
    if args.json:
        rep.to_json(args.json)
    if args.junit:
        rep.to_junit(args.junit)
    return 0 if rep.ok else 1


def cmd_demo(args) -> int:

    check_output_dir(args.out, "--out", reusable=is_demo_dir)
    run_demo(out_dir=args.out, quiet=args.quiet)
    return 0


_NAN_HELP = ("NaN / Inf in the input: 'error' (default), a code of the input format to use "
             "instead (e.g. 0 or 0x80), or 'propagate' (float formats); overrides the "
             "config's nan_policy")


def add_subparsers(sub) -> None:
    """Register run / export / compare / demo / sweep / search on an argparse subparsers object."""
    sp = sub.add_parser("run", help="run an ONNX model through the simulated accelerator")
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--config", help="precision configuration (JSON / YAML)")
    sp.add_argument("--input", help="input .npy")
    sp.add_argument("--calib", help="calibration inputs .npy (one batch) for float models")
    sp.add_argument("--json", help="write outputs and statistics to this JSON file")
    sp.add_argument("--nan", metavar="POLICY", help=_NAN_HELP)
    sp.set_defaults(func=cmd_run)
    sp = sub.add_parser("export", help="write golden vectors ($readmemh .hex + .npy + manifest.json)")
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--config", help="precision configuration (JSON / YAML)")
    sp.add_argument("--input", help="input .npy")
    sp.add_argument("--calib", help="calibration inputs .npy for float models")
    sp.add_argument("--out", required=True, help="output folder (new, empty, or an earlier "
                    "export, which is replaced once the new one is complete)")
    sp.add_argument("--nan", metavar="POLICY", help=_NAN_HELP)
    sp.add_argument("--trace", action="append", metavar="LAYER:n,c,y,x",
                    help="per-MAC trace of one output (repeatable)")
    sp.set_defaults(func=cmd_export)
    sp = sub.add_parser("compare", help="compare an RTL dump with golden vectors (exit 1 on mismatch)")
    sp.add_argument("golden", help="folder written by 'hwsim export' (has manifest.json)")
    sp.add_argument("dut", help="RTL dump in the same layout (same file names, .hex or .npy)")
    sp.add_argument("--layer", action="append", help="compare only this layer (repeatable)")
    sp.add_argument("--tensor", action="append",
                    help="compare only this tensor kind, e.g. acc, output (repeatable)")
    sp.add_argument("--ignore-xz", action="store_true",
                    help="do not count X/Z elements as mismatches (they are still listed)")
    sp.add_argument("--trace-first", metavar="DIR",
                    help="when the first differing acc/output element has no exported trace, "
                    "write its trace into DIR and name the first differing MAC step (against "
                    "the DUT's trace CSV or <layer dir>/steps.hex)")
    sp.add_argument("--json", help="also write the report as JSON here")
    sp.add_argument("--junit", help="also write the report as JUnit XML here")
    sp.set_defaults(func=cmd_compare)
    sp = sub.add_parser("demo", help="digits CNN under several hardware configurations")
    sp.add_argument("--out", default="demo_golden", help="folder for the golden vectors")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_demo)
    add_sweep_parsers(sub)  # sweep, search (hwsim/network/sweep/cli.py)


def main(argv=None) -> int:
    """``hwsim`` with these verbs only (the same error path as :func:`hwsim.cli.main`)."""

    p = Parser(prog="hwsim")
    sub = p.add_subparsers(dest="verb", parser_class=Parser)
    add_subparsers(sub)
    add_debug_options(p, sub)
    return run_cli(p, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
