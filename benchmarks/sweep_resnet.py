"""The issue-11 sweep: 3 accumulator kinds x 6 widths x 2 partial-sum tilings on the
ResNet-style digits network, serially and on a 2-process Dask LocalCluster (one worker
killed mid-run), plus the precision searches.  Writes docs/sweeps/ (committed):

    .venv/bin/python benchmarks/sweep_resnet.py [--n 539]

- resnet_sweep.{csv,json} and resnet_sweep_{vs,heatmap,pareto}.png: the sweep;
- resnet_sweep.md: timings, whether the Dask run (with its killed worker) and the
  resumed run equal the serial run;
- search.md: precision search on the digits network (with the exhaustive optimum)
  and on the ResNet-style network.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "docs", "sweeps")


def _sweep(net, x, y, calib, lines):
    from dask.distributed import Client, LocalCluster

    from hwsim.network.sweep import load_grid_file, run_sweep, write_csv, write_json
    from hwsim.network.sweep.distributed import WorkerKiller
    from hwsim.network.sweep.plots import plot_all

    axes = load_grid_file(os.path.join(OUT, "resnet_grid.json"))
    t = time.perf_counter()
    serial = run_sweep(net, x, y, axes, calib=calib, progress=True)
    t_serial = time.perf_counter() - t
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    client = Client(cluster)
    killer = WorkerKiller(after=5)
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        dask_rows = run_sweep(net, x, y, axes, calib=calib, cache=cache,
                              dask=dict(client=client, on_result=killer), progress=True)
        t_dask = time.perf_counter() - t
        cached = len(os.listdir(cache))
        resumed = run_sweep(net, x, y, axes, calib=calib, cache=cache)
    client.close()
    cluster.close()
    write_csv(serial, os.path.join(OUT, "resnet_sweep.csv"))
    write_json(serial, os.path.join(OUT, "resnet_sweep.json"))
    plot_all(serial, ["kind", "tiling", "w"], os.path.join(OUT, "resnet_sweep"), x_key="w",
             title=f"ResNet-style digits network, {len(x)} test images")
    lines += [f"- configurations: {len(serial)} (3 kinds x 2 tilings x 6 widths)",
              f"- serial: {t_serial:.1f} s; Dask LocalCluster (2 processes, 1 thread each): "
              f"{t_dask:.1f} s, worker {killer.killed or '(none)'} killed after 5 rows",
              f"- Dask rows identical to serial: {dask_rows == serial}; cache entries after "
              f"the run: {cached} of {len(serial)}; resumed run identical: {resumed == serial}",
              "- timings are of this run on a shared 2-core machine (other jobs running), "
              "not a comparison of the back ends' speed"]
    return serial


def _table(rows):
    out = ["| kind | tiling | w | top-1 | agreement | output SQNR dB | overflow events | "
           "cost (bit-MACs) | traffic B |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['kind']} | {r['tiling']} | {r['w']} | {r['top1']:.4f} | "
                   f"{r['agreement']:.4f} | {r['output_sqnr_db']:.2f} | {r['overflow_events']} | "
                   f"{r['cost_bitmacs']} | {r['traffic_bytes']:.0f} |")
    return out


def _searches(resnet, digits_net, x, y, calib):
    from hwsim.network.sweep.search import Target, precision_search, width_options

    lines = []
    for name, net, lim, widths in (("digits CNN", digits_net, 10 ** 4, (12, 14, 16, 18, 20)),
                                   ("ResNet-style", resnet, 0, (10, 12, 14, 16, 18, 20, 24))):
        layers = [n.name for n in net.nodes if n.op in ("Conv", "Gemm")]
        space = {n: width_options("mac=int{w}_sat", widths) for n in layers}
        t = time.perf_counter()
        r = precision_search(net, x, y, space, Target("top1", 0.01), calib=calib,
                             exhaustive_limit=lim)
        dt = time.perf_counter() - t
        chosen = ", ".join(f"{k}: {v['mac']}" for k, v in r.choice.items())
        lines += [f"### {name} ({len(layers)} MAC layers, widths {widths} per layer)", "",
                  f"- float top-1 {r.row['float_top1']:.4f}; chosen top-1 {r.row['top1']:.4f} "
                  f"(target >= {r.threshold:.4f}); cost {r.row['cost_bitmacs']} bit-MACs",
                  f"- chosen: {chosen}",
                  "- sensitivity (each layer alone): "
                  + ", ".join(f"{k}: {v['mac']}" for k, v in r.sensitivity.items()),
                  f"- evaluations: {r.evaluations} of an exhaustive grid of {r.grid_size} "
                  f"({dt:.1f} s including the exhaustive check)" if lim else
                  f"- evaluations: {r.evaluations} of an exhaustive grid of {r.grid_size} ({dt:.1f} s)"]
        if r.exhaustive is not None:
            lines.append(f"- exhaustive optimum: cost {r.exhaustive['cost']} — "
                         f"{'matched' if r.exhaustive['matches'] else 'NOT matched'}")
        lines.append("")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=539, help="digits test images (1..539)")
    args = p.parse_args(argv)
    from hwsim.network.demo import load_data, model_path
    from hwsim.network.onnx_import import load_onnx
    from hwsim.network.sweep.resnet import resnet_digits

    xtr, _, x, y = load_data()
    x, y, calib = x[:args.n], y[:args.n], [xtr[:128]]
    resnet = resnet_digits(width=8)
    lines = ["# ResNet-style sweep (benchmarks/sweep_resnet.py)", "",
             f"{os.cpu_count()} CPUs; {len(x)} digits test images; grid: "
             "docs/sweeps/resnet_grid.json", ""]
    rows = _sweep(resnet, x, y, calib, lines)
    lines += ["", *_table(rows), ""]
    with open(os.path.join(OUT, "resnet_sweep.md"), "w") as f:
        f.write("\n".join(lines))
    s = ["# Precision search (benchmarks/sweep_resnet.py)", "",
         "Target: top-1 at most 1 point below the float model's; cost: bit-MACs.", ""]
    s += _searches(resnet, load_onnx(model_path()), x, y, calib)
    with open(os.path.join(OUT, "search.md"), "w") as f:
        f.write("\n".join(s))
    print("\n".join(lines[:8] + s), file=sys.stdout)


if __name__ == "__main__":
    main()
