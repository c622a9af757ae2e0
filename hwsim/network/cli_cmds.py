"""Network verbs of the ``hwsim`` command line: run, export, compare, demo, sweep.

``add_subparsers(subparsers)`` registers them on the main parser (``hwsim/cli.py``);
every verb is a function ``cmd_<verb>(args) -> exit status``.  ``main(argv)`` runs
them stand-alone (used by the tests).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["add_subparsers", "main", "cmd_run", "cmd_export", "cmd_compare", "cmd_demo", "cmd_sweep"]


def _load(model, config, calib, x):
    from .demo import model_path
    from .onnx_import import load_onnx

    net = load_onnx(model or model_path(), config=config)
    if net.source.get("kind") == "float" or config is not None:
        samples = [np.load(calib)] if calib else [x]
        net.calibrate(samples)
    return net


def _input(path, model):
    if path:
        return np.load(path)
    if model is None:  # the demo model: first digits test image
        from .demo import load_data

        return load_data()[2][:1]
    raise SystemExit("hwsim: --input X.npy is required for a model other than the demo model")


def cmd_run(args) -> int:
    x = _input(args.input, args.model)
    net = _load(args.model, args.config, args.calib, x)
    r = net.run(x, reference=True)
    for name, v in r.outputs.items():
        print(f"output {name}: shape {v.shape}")
        print(np.array2string(np.asarray(v), precision=5, threshold=64))
    print(f"\n{'layer':<24} {'op':<18} {'overflows':>9} {'max|psum|':>12} {'SQNR dB':>8}")
    for name, s in r.stats.items():
        print(f"{name:<24} {s['op']:<18} {s.get('overflow_events', ''):>9} "
              f"{s.get('max_abs_partial', ''):>12} {s.get('sqnr_db', float('nan')):>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(outputs={k: np.asarray(v).tolist() for k, v in r.outputs.items()},
                           stats=r.stats), f, indent=1, default=str)
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


def cmd_export(args) -> int:
    from .demo import model_path
    from .export import export

    x = _input(args.input, args.model)
    net = _load(args.model, args.config, args.calib, x)
    man = export(net, x, args.out, trace=_parse_trace(args.trace), model_path=args.model or model_path())
    print(f"wrote golden vectors of {len(man['layers'])} layers to {args.out}/ (manifest.json)")
    return 0


def cmd_compare(args) -> int:
    from .export import compare

    rep = compare(args.golden, args.dut, tensors=args.tensor, layers=args.layer,
                  ignore_xz=args.ignore_xz)
    print(rep.text())
    if args.json:
        rep.to_json(args.json)
    if args.junit:
        rep.to_junit(args.junit)
    return 0 if rep.ok else 1


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(out_dir=args.out, quiet=args.quiet)
    return 0


def cmd_sweep(args) -> int:
    from .demo import load_data
    from .onnx_import import load_onnx
    from .sweep import format_table, plot_sweep, sweep_acc_widths

    widths = [int(w) for w in args.widths.split(",")]
    y = None
    if args.model is None:
        from .demo import model_path

        xtr, _, xte, yte = load_data()
        x, y, calib = xte[:args.n], yte[:args.n], [xtr[:128]]
        net = load_onnx(model_path())
    else:
        x = np.load(args.input) if args.input else None
        if x is None:
            raise SystemExit("hwsim sweep: --input X.npy is required with a model")
        y = np.load(args.labels) if args.labels else None
        calib = [np.load(args.calib)] if args.calib else [x]
        net = load_onnx(args.model)
    base = json.load(open(args.config)) if args.config else None
    rows = sweep_acc_widths(net, x, y, widths, base=base, overflow=args.overflow, calib=calib,
                            progress=not args.quiet)
    print(format_table(rows))
    if args.plot:
        plot_sweep(rows, args.plot)
        print(f"plot: {args.plot}")
    return 0


def add_subparsers(sub) -> None:
    """Register run / export / compare / demo / sweep on an argparse subparsers object."""
    sp = sub.add_parser("run", help="run an ONNX model through the simulated accelerator")
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--config", help="precision configuration (JSON / YAML)")
    sp.add_argument("--input", help="input .npy")
    sp.add_argument("--calib", help="calibration inputs .npy (one batch) for float models")
    sp.add_argument("--json", help="write outputs and statistics to this JSON file")
    sp.set_defaults(func=cmd_run)
    sp = sub.add_parser("export", help="write golden vectors ($readmemh .hex + .npy + manifest.json)")
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--config", help="precision configuration (JSON / YAML)")
    sp.add_argument("--input", help="input .npy")
    sp.add_argument("--calib", help="calibration inputs .npy for float models")
    sp.add_argument("--out", required=True, help="output folder")
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
    sp.add_argument("--json", help="also write the report as JSON here")
    sp.add_argument("--junit", help="also write the report as JUnit XML here")
    sp.set_defaults(func=cmd_compare)
    sp = sub.add_parser("demo", help="digits CNN under several hardware configurations")
    sp.add_argument("--out", default="demo_golden", help="folder for the golden vectors")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_demo)
    sp = sub.add_parser("sweep", help="sweep accumulator widths: table + plot")
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--input", help="inputs .npy (one batch)")
    sp.add_argument("--labels", help="labels .npy (for accuracy)")
    sp.add_argument("--calib", help="calibration inputs .npy")
    sp.add_argument("--config", help="base precision configuration (JSON)")
    sp.add_argument("--widths", default="10,12,14,16,18,20,24,32",
                    help="comma-separated accumulator widths in bits (default %(default)s)")
    sp.add_argument("--overflow", choices=["sat", "wrap"], default="sat")
    sp.add_argument("--n", type=int, default=540, help="demo images to use")
    sp.add_argument("--plot", default="sweep.png", help="plot file ('' for none)")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_sweep)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="hwsim")
    add_subparsers(p.add_subparsers(dest="verb"))
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
