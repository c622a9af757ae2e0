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


def test_quick_tour_runs(capsys):
    m = re.search(r"## Quick tour\n\n```python\n(.*?)```", _readme(), re.S)
    assert m
    ns: dict = {}
    exec(compile(m.group(1), "README-quick-tour", "exec"), ns)
    out = capsys.readouterr().out
    assert "126 126 127" in out  # 448, 464 -> 448, 465 -> NaN (OCP OFP8 E4M3)
