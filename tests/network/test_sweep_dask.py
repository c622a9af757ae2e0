"""Sweeps on a 2-process Dask LocalCluster: rows identical to the serial run; a worker
killed mid-run loses nothing (its configurations are recomputed, the cache holds every
finished one, and a resumed run gives the same output)."""
import json
import os

import pytest

from hwsim.network.demo import load_data, model_path
from hwsim.network.onnx_import import load_onnx
from hwsim.network.sweep import run_sweep
from hwsim.network.sweep.distributed import WorkerKiller

from dask.distributed import Client, LocalCluster

AXES = [("w", [12, 14, 16, 18, 20, 24]), ("kind", ["sat", "wrap"]),
        ("defaults.mac.accumulator", [{"$select": "kind",
                                       "sat": {"type": "IntAccumulator", "bits": "${w}",
                                               "overflow": "saturate"},
                                       "wrap": {"type": "IntAccumulator", "bits": "${w}",
                                                "overflow": "wrap"}}])]


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def serial():
    xtr, _, x, y = load_data()
    data = (x[:40], y[:40], [xtr[:128]])
    return data, run_sweep(load_onnx(model_path()), data[0], data[1], AXES, calib=data[2])


def test_dask_rows_identical_to_serial(client, serial, tmp_path):
    (x, y, calib), rows = serial
    got = run_sweep(load_onnx(model_path()), x, y, AXES, calib=calib,
                    dask=dict(client=client), cache=str(tmp_path / "c"))
    assert got == rows
    assert json.dumps(got) == json.dumps(rows)


def test_killed_worker_loses_nothing(client, serial, tmp_path):
    (x, y, calib), rows = serial
    cache = str(tmp_path / "c")
    killer = WorkerKiller(after=2)
    got = run_sweep(load_onnx(model_path()), x, y, AXES, calib=calib, cache=cache,
                    dask=dict(client=client, on_result=killer))
    assert killer.killed, "no worker was killed"
    assert killer.killed_at <= len(rows) - 4  # mid-run: both workers still had work
    assert got == rows
    assert len(os.listdir(cache)) == len(rows)  # every finished configuration is cached
    again = run_sweep(load_onnx(model_path()), x, y, AXES, calib=calib, cache=cache,
                      dask=dict(client=client))
    assert again == rows
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
