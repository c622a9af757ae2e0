"""hwsim sweep / search on the command line: every bad argument of issue 11 is one line
naming the parameter and its valid range (exit 2, no traceback, nothing written), and a
good sweep writes its table, CSV / JSON / Parquet and plots."""
import csv
import json
import os

import numpy as np
import pytest

from hwsim import cli

N_TEST = 539  # digits test split


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def bad(argv, capsys, *words):
    before = set(os.listdir("."))
    rc = cli.main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"hwsim {argv[0]}: error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    assert set(os.listdir(".")) == before
    return lines[0]


def test_n_negative(work, capsys):
    bad(["sweep", "--n", "-5"], capsys, "--n", f"1..{N_TEST}", "-5")


def test_n_zero(work, capsys):
    bad(["sweep", "--n", "0"], capsys, "--n", f"1..{N_TEST}", "got 0")


def test_n_too_large(work, capsys):
    bad(["sweep", "--n", "100000"], capsys, "--n", f"1..{N_TEST}")


def test_widths_one(work, capsys):
    msg = bad(["sweep", "--widths", "1"], capsys, "--widths", "2..64", "got 1")
    assert "int32_sat" not in msg  # not the MAC preset list


def test_widths_zero(work, capsys):
    msg = bad(["sweep", "--widths", "12,0"], capsys, "--widths", "2..64", "got 0")
    assert "bias" not in msg


def test_widths_not_integers(work, capsys):
    bad(["sweep", "--widths", "12,x"], capsys, "--widths", "2..64")


def test_overflow_sat_names_the_valid_values(work, capsys):
    bad(["sweep", "--overflow", "sat"], capsys, "--overflow", "saturate, wrap", "'sat'")


def test_bad_grid_key(work, capsys):
    bad(["sweep", "--grid", "mac=int16"], capsys, "--grid", "defaults.KEY")


def test_bad_grid_value_names_the_config_path(work, capsys):
    bad(["sweep", "--grid", "defaults.mac=int99"], capsys, "defaults.mac", "2..64")


def test_bad_formats(work, capsys):
    bad(["sweep", "--out", "o", "--formats", "csv,xls"], capsys, "--formats", "parquet")


def test_bad_workers(work, capsys):
    bad(["sweep", "--dask", "--workers", "0"], capsys, "--workers", ">= 1")


def test_bad_search_target(work, capsys):
    bad(["search", "--target", "top1:5"], capsys, "--target", "0..1")


def test_sweep_writes_table_files_and_plots(work, capsys):
    rc = cli.main(["sweep", "--n", "40", "--widths", "12,32", "--overflow", "wrap", "--quiet",
                   "--out", "o", "--formats", "csv,json,parquet", "--plot", "", "--cache", "c"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.splitlines()[0].split()[:2] == ["w", "top1"]
    rows = json.load(open("o/sweep.json"))
    assert [r["w"] for r in rows] == [12, 32]
    assert [r["defaults.mac"] for r in rows] == ["int12", "int32"]
    assert rows[1]["overflow_events"] == 0 and rows[0]["overflow_events"] > 0
    with open("o/sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert [int(r["w"]) for r in table] == [12, 32]
    assert "conv1.bits_a2q_l1" in table[0] and "macs[int8xint8->int32]" in table[1]
    import pyarrow.parquet as pq

    t = pq.read_table("o/sweep.parquet").to_pydict()
    assert t["w"] == [12, 32] and t["top1"] == [r["top1"] for r in rows]
    for p in ("sweep_vs", "sweep_heatmap", "sweep_pareto"):
        assert open(f"o/{p}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(os.listdir("c")) == 2  # one cache entry per configuration


def test_sweep_npz_data_and_grid_file(work, capsys):
    from hwsim.network.demo import load_data

    _, _, x, y = load_data()
    np.savez("d.npz", x=x[:30], y=y[:30])
    json.dump({"defaults.requant": ["tflite", "onnx"]}, open("g.json", "w"))
    rc = cli.main(["sweep", "--data", "d.npz", "--grid-file", "g.json", "--quiet", "--plot", ""])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "defaults.requant"
    assert [ln.split()[0] for ln in lines[1:3]] == ["tflite", "onnx"]


def test_search_cli_reports_evaluations_and_the_exhaustive_optimum(work, capsys):
    rc = cli.main(["search", "--n", "40", "--values", "int12_sat,int16_sat,int24_sat",
                   "--exhaustive-limit", "30", "--json", "r.json", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "of 27 configurations" in out and "(matched)" in out
    r = json.load(open("r.json"))
    assert r["grid_size"] == 27 and r["evaluations"] < 27 and r["exhaustive"]["matches"]
    assert r["row"]["top1"] >= r["row"]["float_top1"] - 0.01
