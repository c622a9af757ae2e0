"""Every bad input of issue 13 (docs/errors.md): one line on stderr, the right exit
status, no traceback, nothing left behind."""
import errno
import os
import subprocess
import sys

import numpy as np
import pytest

from hwsim import cli
from hwsim.network.demo import model_path

MODEL = model_path()


def _tree(root):
    out = set()
    for d, dirs, files in os.walk(root):
        out |= {os.path.relpath(os.path.join(d, f), root) for f in files + dirs}
    return out


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A scratch folder (the cwd) with a good input, a NaN / Inf input and bad models."""
    monkeypatch.chdir(tmp_path)
    x = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    np.save("x.npy", x)
    xn = x.copy()
    xn[0, 0, 3, 5] = np.nan
    np.save("xnan.npy", xn)
    xn[0, 0, 3, 5] = np.inf
    np.save("xinf.npy", xn)
    data = open(MODEL, "rb").read()
    open("trunc.onnx", "wb").write(data[:300])
    open("garbage.onnx", "wb").write(bytes(np.random.default_rng(0).integers(0, 256, 3000,
                                                                               dtype=np.uint8)))
    open("empty.onnx", "wb").close()
    import onnx

    open("nograph.onnx", "wb").write(onnx.ModelProto(ir_version=8).SerializeToString())
    os.mkdir("adir")
    open("afile", "w").write("x")
    return tmp_path


def fails(argv, status, *words, capsys, root):
    """Run the CLI; assert exit ``status``, one stderr line naming ``words``, no new files."""
    before = _tree(root)
    rc = cli.main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == status, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"hwsim {argv[0]}: error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    assert _tree(root) == before, "files left behind"
    return lines[0]


@pytest.mark.parametrize("model, words", [
    ("missing.onnx", ["missing.onnx", "no such file"]),
    ("trunc.onnx", ["trunc.onnx", "not an ONNX model"]),
    ("garbage.onnx", ["garbage.onnx", "not an ONNX model"]),
    ("empty.onnx", ["empty.onnx", "is empty"]),
    ("nograph.onnx", ["nograph.onnx", "no graph nodes"]),
    ("adir", ["adir", "is a folder"]),
])
def test_bad_model_files(work, capsys, model, words):
    fails(["run", model, "--input", "x.npy"], 2, *words, capsys=capsys, root=work)


def test_missing_input_and_config(work, capsys):
    fails(["run", MODEL, "--input", "nope.npy"], 2, "--input", "nope.npy", "no such file",
          capsys=capsys, root=work)
    fails(["run", MODEL, "--input", "x.npy", "--config", "nope.json"], 2, "--config",
          "nope.json", capsys=capsys, root=work)
    fails(["run", MODEL], 2, "--input", "required", capsys=capsys, root=work)
    fails(["run", MODEL, "--input", "garbage.onnx"], 2, "not a NumPy", capsys=capsys, root=work)


def test_export_out_is_a_file(work, capsys):
    fails(["export", MODEL, "--input", "x.npy", "--out", "afile"], 2, "afile", "is a file",
          capsys=capsys, root=work)


def test_export_out_is_a_foreign_folder(work, capsys):
    open("adir/mine.txt", "w").write("keep")
    fails(["export", MODEL, "--input", "x.npy", "--out", "adir"], 2, "adir",
          "not an earlier output", capsys=capsys, root=work)


def test_export_out_under_a_file(work, capsys):
    fails(["export", MODEL, "--input", "x.npy", "--out", "afile/sub"], 2, "not a folder",
          capsys=capsys, root=work)


def _raise_after(n, err, monkeypatch, target, attr):
    real = getattr(target, attr)
    calls = []

    def fake(*a, **k):
        calls.append(1)
        if len(calls) > n:
            raise OSError(err, os.strerror(err), str(a[0]) if a else None)
        return real(*a, **k)
    monkeypatch.setattr(target, attr, fake)


def test_export_read_only_destination(work, capsys, monkeypatch):
    import hwsim._atomic as at

    _raise_after(0, errno.EROFS, monkeypatch, at.tempfile, "mkdtemp")
    fails(["export", MODEL, "--input", "x.npy", "--out", "gold"], 1, "Read-only", "errno 30",
          capsys=capsys, root=work)


def test_export_full_disk_leaves_nothing_and_keeps_the_old_export(work, capsys, monkeypatch):
    import hwsim.network.export as ex

    assert cli.main(["export", MODEL, "--input", "x.npy", "--out", "gold"]) == 0
    capsys.readouterr()
    old = {p: open(os.path.join("gold", p), "rb").read() for p in _tree("gold")
           if os.path.isfile(os.path.join("gold", p))}
    _raise_after(3, errno.ENOSPC, monkeypatch, ex, "write_hex")
    fails(["export", MODEL, "--input", "x.npy", "--out", "gold", "--nan", "0"], 1,
          "No space left", "errno 28", capsys=capsys, root=work)
    assert {p: open(os.path.join("gold", p), "rb").read() for p in old} == old
    fails(["export", MODEL, "--input", "x.npy", "--out", "new"], 1, "errno 28",
          capsys=capsys, root=work)
    monkeypatch.undo()
    monkeypatch.chdir(work)
    assert cli.main(["export", MODEL, "--input", "x.npy", "--out", "gold", "--nan", "0"]) == 0
    assert '"nan_policy": 0' in open("gold/manifest.json").read()  # replaced on success


def test_run_json_is_a_folder_or_disk_full(work, capsys, monkeypatch):
    fails(["run", MODEL, "--input", "x.npy", "--json", "adir"], 2, "--json", "adir",
          "is a folder", capsys=capsys, root=work)
    import hwsim._atomic as at

    _raise_after(0, errno.ENOSPC, monkeypatch, at.os, "replace")
    fails(["run", MODEL, "--input", "x.npy", "--json", "out.json"], 1, "errno 28",
          capsys=capsys, root=work)


def test_run_json_written_whole(work, capsys):
    assert cli.main(["run", MODEL, "--input", "x.npy", "--json", "out.json"]) == 0
    import json

    assert "outputs" in json.load(open("out.json"))
    assert sorted(os.listdir(".")).count("out.json") == 1
    assert not [f for f in os.listdir(".") if f.startswith(".out.json")]


def test_demo_out_is_a_file_fails_before_work(work, capsys, monkeypatch):
    import hwsim.network.demo as demo

    monkeypatch.setattr(demo, "load_data", lambda: pytest.fail("work started"))
    fails(["demo", "--out", "afile"], 2, "--out", "afile", capsys=capsys, root=work)


def test_sweep_plot_folder_missing_fails_before_the_sweep(work, capsys, monkeypatch):
    import hwsim.network.sweep.cli as sw

    monkeypatch.setattr(sw, "run_sweep", lambda *a, **k: pytest.fail("sweep ran"))
    fails(["sweep", "--plot", "nofolder/sweep.png"], 2, "--plot", "nofolder",
          "does not exist", capsys=capsys, root=work)
    fails(["sweep", "--widths", "8,x"], 2, "--widths", capsys=capsys, root=work)


def test_compare_without_manifest(work, capsys):
    fails(["compare", "adir", "adir"], 2, "adir", "manifest.json", capsys=capsys, root=work)
    fails(["compare", "nowhere", "adir"], 2, "nowhere", "no such folder", capsys=capsys,
          root=work)


def test_nan_and_inf_inputs_name_input_element_policy(work, capsys):
    line = fails(["export", MODEL, "--input", "xnan.npy", "--out", "gold"], 2, "'x'",
                 "(0, 0, 3, 5)", "nan", "nan_policy is 'error'", capsys=capsys, root=work)
    assert "fixed" not in line
    fails(["run", MODEL, "--input", "xinf.npy"], 2, "inf", "(0, 0, 3, 5)", capsys=capsys,
          root=work)
    fails(["run", MODEL, "--input", "xinf.npy", "--nan", "propagate"], 2, "int8",
          "float input format", capsys=capsys, root=work)
    fails(["run", MODEL, "--input", "xinf.npy", "--nan", "300"], 2, "not a code of int8",
          capsys=capsys, root=work)
    fails(["run", MODEL, "--input", "xinf.npy", "--nan", "maybe"], 2, "--nan",
          capsys=capsys, root=work)


def test_nan_code_policy_runs(work, capsys):
    assert cli.main(["run", MODEL, "--input", "xnan.npy", "--nan", "0"]) == 0
    assert "NaN" not in capsys.readouterr().out


FP8 = ('{"defaults": {"input": "float8_e4m3fn", "weight": "float8_e4m3fn", "bias": "float32", '
       '"output": "float8_e4m3fn", "mac": "fp32"}}')


def test_fp8_nan_outputs(work, capsys):
    open("fp8.json", "w").write(FP8)
    args = ["run", MODEL, "--input", "xnan.npy", "--config", "fp8.json"]
    fails(args + ["--nan", "0x7f"], 1, "NaN", "logits", capsys=capsys, root=work)
    assert cli.main(args + ["--nan", "propagate"]) == 0
    out = capsys.readouterr()
    assert "NaN: output logits has 10 NaN of 10 elements" in out.out
    assert out.err == ""  # no numpy RuntimeWarnings
    open("fp8p.json", "w").write(FP8[:-1] + ', "nan_policy": "propagate"}')
    assert cli.main(["run", MODEL, "--input", "xnan.npy", "--config", "fp8p.json"]) == 0


def test_encode_names_int8_and_takes_negative_values(capsys):
    assert cli.main(["encode", "nan", "-f", "int8"]) == 2
    err = capsys.readouterr().err
    assert "int8" in err and "fixed8.0" not in err and len(err.strip().splitlines()) == 1
    assert cli.main(["encode", "-inf", "-1e39", "-.5", "-f", "float8_e4m3fn"]) == 0
    out = capsys.readouterr().out
    assert "-inf -> float8_e4m3fn" in out and "-1e+39 -> " in out and "-0.5 -> " in out


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["encode", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hwsim encode: error: ")


def test_internal_errors_are_one_line_and_debug_shows_traceback(work, capsys, monkeypatch):
    import hwsim.network.cli_cmds as cc

    def boom(*a, **k):
        raise KeyError("oops")
    monkeypatch.setattr(cc, "_input", boom)
    fails(["run", MODEL], 1, "internal error", "--debug", capsys=capsys, root=work)
    with pytest.raises(KeyError):
        cli.main(["run", MODEL, "--debug"])


def test_subprocess_negative_value_and_debug(work):
    r = subprocess.run([sys.executable, "-m", "hwsim", "encode", "-inf", "-f", "float8_e4m3fn"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "-inf -> float8_e4m3fn" in r.stdout
    r = subprocess.run([sys.executable, "-m", "hwsim", "run", "missing.onnx"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = subprocess.run([sys.executable, "-m", "hwsim", "--debug", "run", "missing.onnx"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_model_whose_shapes_do_not_fit(work, capsys):
    # a Conv bias of the wrong length (a fuzz finding's kind, tests/fuzz/findings/onnx/):
    # refused at import, naming the node and the shapes, before calibration
    import onnx
    from onnx import numpy_helper

    m = onnx.load(MODEL)
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    init = {t.name: t for t in m.graph.initializer}
    bias = init[conv.input[2]]
    n_out = numpy_helper.to_array(bias).size
    bias.CopyFrom(numpy_helper.from_array(np.zeros(n_out + 1, np.float32), bias.name))
    onnx.save(m, "badshape.onnx")
    fails(["run", "badshape.onnx", "--input", "x.npy"], 2, conv.name or "Conv", "bias has shape",
          f"({n_out + 1},)", capsys=capsys, root=work)
