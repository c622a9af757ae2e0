"""README stays true: the format table is the generated one and the quick tour runs."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md")) as fh:
        return fh.read()


def test_readme_starts_with_the_two_commands():
    lines = [ln.strip() for ln in _readme().splitlines() if ln.strip()]
    assert lines[1].startswith("make demo") and lines[2].startswith("make test")


def test_format_table_matches_catalogue():
    from hwsim.formats import markdown_table

    m = re.search(r"<!-- format-table:begin -->\n(.*?)\n<!-- format-table:end -->", _readme(), re.S)
    assert m, "README lacks the format-table markers"
    assert m.group(1).strip() == markdown_table().strip()


def test_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", _readme(), re.S)
    assert len(blocks) >= 2
    ns: dict = {}
    for i, code in enumerate(blocks):  # one namespace: later blocks build on the tour
        exec(compile(code, f"README-block-{i}", "exec"), ns)
    out = capsys.readouterr().out
    assert "126 126 127" in out  # 448, 464 -> 448, 465 -> NaN (OCP OFP8 E4M3)
    assert ns["res"].values.shape == (64, 32)
    tr = ns["steps"]
    assert sum(st["kind"] == "mac" for st in tr.steps) == 256
    assert tr.value == ns["res"].values[0, 0]


def test_shell_verbs_exist():
    from hwsim.cli import build_parser

    verbs = set(build_parser()._subparsers._group_actions[0].choices)
    sh = "\n".join(re.findall(r"```sh\n(.*?)```", _readme(), re.S))
    used = re.findall(r"^hwsim (\w+)", sh, re.M)
    assert len(used) >= 5
    for verb in used:
        assert verb in verbs, verb


def test_readme_lists_exactly_the_public_namespace():
    import hwsim

    m = re.search(r"<!-- namespace:begin -->\n(.*?)\n<!-- namespace:end -->", _readme(), re.S)
    assert m, "README lacks the namespace markers"
    listed = re.findall(r"`([A-Za-z_0-9]+)`", m.group(1))
    assert len(listed) == len(set(listed))
    assert set(listed) == set(hwsim.__all__)
    public = {n for n in vars(hwsim) if not n.startswith("_")}
    assert public - set(hwsim.__all__) <= {"native", "testing", "cli", "ops", "rtl", "designs"}, \
        public - set(hwsim.__all__)
    for name in listed:
        assert getattr(hwsim, name) is not None
