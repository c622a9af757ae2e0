"""Dependencies inside hwsim.mac point one way, and the configuration modules
(what hwsim.reference imports) import no compiled code."""
import ast
from pathlib import Path

import hwsim.mac

PKG = Path(hwsim.mac.__file__).parent
#: the package's modules, lowest first: a module may import only those before it
ORDER = ["threads", "nan", "accumulators", "config", "results", "engine", "operands", "fastcheck",
         "packcache", "fastdot", "fast", "trace", "api", "block"]


def _imports(name):
    """(relative level, module) of every import of hwsim/mac/<name>.py, and whether any
    import sits inside a function."""
    tree = ast.parse((PKG / f"{name}.py").read_text())
    found, nested = [], False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mods = [node.module or ""] if node.module else [a.name for a in node.names]
            found += [(node.level, m) for m in mods]
        elif isinstance(node, ast.Import):
            found += [(0, a.name) for a in node.names]
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested |= any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(fn))
    return found, nested


def test_modules_import_only_modules_below_them_and_never_inside_functions():
    assert sorted(ORDER) == sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__")
    for i, name in enumerate(ORDER):
        found, nested = _imports(name)
        assert not nested, f"{name}.py imports inside a function"
        inside = {m.split(".")[0] for level, m in found if level == 1}
        assert inside <= set(ORDER[:i]), f"{name}.py imports {inside - set(ORDER[:i])}"


def test_configuration_modules_import_no_compiled_code():
    for name in ("nan", "accumulators", "config"):
        found, _ = _imports(name)
        outside = {m for level, m in found if level == 2}
        assert outside <= {"errors", "formats", "modes"}, (name, outside)
        assert not any(level == 0 and m.startswith("hwsim") for level, m in found)
