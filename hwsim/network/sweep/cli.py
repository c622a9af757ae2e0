"""``hwsim sweep`` and ``hwsim search`` (registered by :mod:`hwsim.network.cli_cmds`)."""
from __future__ import annotations

import json
import os

from ..._atomic import atomic_file, check_output_dir, check_output_file
from ...errors import UsageError
from ..cli_io import check_file, load_array
from ..config import load_config
from ..demo import model_path
from ..onnx_import import load_onnx
from .api import DEFAULT_BASE, run_sweep
from .data import load_dataset, take
from .grid import load_grid_file, parse_axis
from .output import format_rows, write_csv, write_json, write_parquet
from .search import Target, precision_search

__all__ = ["add_sweep_parsers", "cmd_sweep", "cmd_search"]

OVERFLOWS = ("saturate", "wrap")
FORMATS = ("csv", "json", "parquet")


def _ints(text, param, lo, hi, what="integers"):
    try:
        vals = [int(v) for v in str(text).split(",")]
    except ValueError:
        raise UsageError(f"{param} must be comma-separated {what} in {lo}..{hi}, got {text!r}") from None
    bad = [v for v in vals if not lo <= v <= hi]
    if bad:
        raise UsageError(f"{param}: each value must be an integer in {lo}..{hi}, got {bad[0]}")
    return vals


def _floats(text, param):
    try:
        return tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise UsageError(f"{param} must be comma-separated numbers, got {text!r}") from None


def _data(args):
    """(net, x, y, calib) from the model / data options."""
    size = tuple(_ints(args.size, "--size", 1, 1 << 16)) if args.size else None
    if size is not None and len(size) != 2:
        raise UsageError(f"--size must be H,W, got {args.size!r}")
    if args.input:
        x, y = load_array(args.input, "--input"), None
        if args.labels:
            y = load_array(args.labels, "--labels")
        calib = None
    elif args.data or args.model is None:
        x, y, calib = load_dataset(args.data or "digits", size, args.grayscale,
                                   _floats(args.mean, "--mean"), _floats(args.std, "--std"))
    else:
        raise UsageError("--data (digits, a .npz file or an image folder) or --input X.npy is "
                         "required with a model")
    if args.model is not None:
        check_file(args.model, "model")
    if args.calib:
        calib = [load_array(args.calib, "--calib")]
    x, y = take(x, y, args.n)
    return load_onnx(args.model or model_path()), x, y, calib


def _axes(args) -> list:
    axes = []
    if args.grid_file:
        axes += load_grid_file(check_file(args.grid_file, "--grid-file"))
    axes += [parse_axis(g) for g in args.grid or []]
    if args.overflow not in OVERFLOWS:
        raise UsageError(f"--overflow must be one of {', '.join(OVERFLOWS)}, got {args.overflow!r}")
    if args.widths is not None or not axes:
        widths = _ints(args.widths or "10,12,14,16,18,20,24,32", "--widths", 2, 64)
        sat = "_sat" if args.overflow == "saturate" else ""
        axes = [("w", widths), ("defaults.mac", [f"int${{w}}{sat}"]),
                ("defaults.bias", ["int${min(w, 32)}"])] + axes
    return axes


def _dask(args):
    if not (args.dask or args.scheduler):
        return None
    return dict(scheduler=args.scheduler, workers=args.workers)


def _base(args):
    return load_config(check_file(args.config, "--config")).to_dict() if args.config else DEFAULT_BASE


def _formats(args) -> list:
    fmts = [f.strip() for f in args.formats.split(",")]
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise UsageError(f"--formats: each must be one of {', '.join(FORMATS)}, got {bad[0]!r}")
    return fmts


def _write(rows, keys, args):
    if args.out:
        fmts = _formats(args)
        writers = dict(csv=write_csv, json=write_json, parquet=write_parquet)
        for f in fmts:
            writers[f](rows, os.path.join(args.out, f"sweep.{f}"))
        from .plots import plot_all

        for p in plot_all(rows, keys, os.path.join(args.out, "sweep")):
            print(f"plot: {p}")
        print(f"results: {args.out}/sweep.{{{','.join(fmts)}}}")
    if args.plot:
        from .plots import plot_vs

        x_key = next((k for k in keys if all(isinstance(r[k], (int, float)) for r in rows)), keys[0])
        plot_vs(rows, x_key, keys, args.plot)
        print(f"plot: {args.plot}")


def cmd_sweep(args) -> int:
    if args.plot:
        check_output_file(args.plot, "--plot")
    if args.out:
        check_output_dir(args.out, "--out", reusable=lambda p: True)
    _formats(args)
    if args.workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {args.workers}")
    axes = _axes(args)
    base = _base(args)
    net, x, y, calib = _data(args)
    rows = run_sweep(net, x, y, axes, base=base, calib=calib, cache=args.cache,
                     dask=_dask(args), progress=not args.quiet)
    keys = [k for k, v in axes if len(v) > 1] or [axes[0][0]]
    print(format_rows(rows, keys))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    _write(rows, keys, args)
    return 0


def _target(text) -> Target:
    metric, _, val = str(text).partition(":")
    try:
        v = float(val)
    except ValueError:
        v = None
    if metric in ("top1", "agreement") and v is not None and 0 <= v <= 1:
        return Target(metric, max_drop=v)
    if metric == "sqnr" and v is not None:
        return Target("output_sqnr_db", max_drop=None, floor=v)
    raise UsageError(f"--target must be top1:DROP or agreement:DROP (DROP in 0..1) or sqnr:DB, "
                     f"got {text!r}")


def cmd_search(args) -> int:
    if args.workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {args.workers}")
    target = _target(args.target)
    if args.json:
        check_output_file(args.json, "--json")
    net, x, y, calib = _data(args)
    if args.space_file:
        with open(check_file(args.space_file, "--space-file"), encoding="utf-8") as f:
            space = json.load(f)
    else:
        vals = [parse_axis(f"v={v}")[1][0] for v in args.values.split(",")]
        names = [n.name for n in net.nodes if n.op in ("Conv", "Gemm")]
        layers = names if args.layers == "all" else args.layers.split(",")
        space = {n: [{args.key: v} for v in vals] for n in layers}
    res = precision_search(net, x, y, space, target, base=_base(args), cost=args.cost,
                           cache=args.cache, dask=_dask(args), calib=calib,
                           exhaustive_limit=args.exhaustive_limit)
    print(res.summary())
    if args.json:
        with atomic_file(args.json) as f:
            json.dump(dict(choice=res.choice, config=res.config, row=res.row,
                           evaluations=res.evaluations, grid_size=res.grid_size,
                           sensitivity=res.sensitivity, exhaustive=res.exhaustive), f, indent=1)
    return 0


def _common(sp) -> None:
    sp.add_argument("model", nargs="?", help="ONNX model (default: the digits demo model)")
    sp.add_argument("--data", help="digits (default with no model), a .npz (x, y) or an image "
                    "folder (folder/<class>/<image>)")
    sp.add_argument("--size", metavar="H,W", help="image folders: resize to H,W")
    sp.add_argument("--grayscale", action="store_true", help="image folders: one channel")
    sp.add_argument("--mean", default="0", help="image folders: per-channel mean (after /255)")
    sp.add_argument("--std", default="1", help="image folders: per-channel std (after /255)")
    sp.add_argument("--input", help="inputs .npy (one batch), instead of --data")
    sp.add_argument("--labels", help="labels .npy with --input (for accuracy)")
    sp.add_argument("--calib", help="calibration inputs .npy (default: the data)")
    sp.add_argument("--n", type=int, help="use the first N samples (1..samples; default all)")
    sp.add_argument("--config", help="base precision configuration (JSON / YAML)")
    sp.add_argument("--cache", help="resumable cache folder (one JSON per configuration hash)")
    sp.add_argument("--dask", action="store_true", help="run on a local Dask cluster")
    sp.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler")
    sp.add_argument("--workers", type=int, default=2, help="LocalCluster processes (default 2)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


def add_sweep_parsers(sub) -> None:
    sp = sub.add_parser("sweep", help="sweep any configuration fields: table, CSV/JSON/Parquet, plots",
                        description="Grid over paths into the config (docs/sweeps.md). Without "
                        "--grid: integer accumulator widths (--widths, --overflow).")
    _common(sp)
    sp.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                    help="one grid axis (repeatable), e.g. defaults.mac.accumulator.bits=12,16")
    sp.add_argument("--grid-file", help="grid axes as a JSON / YAML object {key: [values]}")
    sp.add_argument("--widths", help="integer accumulator widths in 2..64 (default "
                    "10,12,14,16,18,20,24,32 when no --grid)")
    sp.add_argument("--overflow", default="saturate",
                    help="with --widths: saturate (default) or wrap")
    sp.add_argument("--out", help="folder for sweep.csv/.json/.parquet and the plots")
    sp.add_argument("--formats", default="csv,json", help="with --out: csv,json,parquet")
    sp.add_argument("--plot", default="sweep.png", help="metrics-vs-width plot ('' for none)")
    sp.set_defaults(func=cmd_sweep)
    sp = sub.add_parser("search", help="precision search: cheapest per-layer options meeting a target")
    _common(sp)
    sp.add_argument("--target", default="top1:0.01", help="top1:DROP, agreement:DROP or sqnr:DB")
    sp.add_argument("--key", default="mac", help="the layer config key searched (default mac)")
    sp.add_argument("--values", default=",".join(f"int{w}_sat" for w in range(8, 33, 2)),
                    help="its values, cheapest first")
    sp.add_argument("--layers", default="all", help="layers searched (default all Conv / Gemm)")
    sp.add_argument("--space-file", help="JSON {layer: [option dicts, cheapest first]}")
    sp.add_argument("--cost", default="cost_bitmacs", choices=["cost_bitmacs", "traffic_bytes"])
    sp.add_argument("--exhaustive-limit", type=int, default=0,
                    help="also search the whole grid when it has at most this many configs")
    sp.add_argument("--json", help="write the result here")
    sp.set_defaults(func=cmd_search)
