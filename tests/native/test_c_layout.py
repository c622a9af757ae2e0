"""Layout of the C library (csrc/), read as text: no call or include cycle between
files, no file over 600 lines, the fast kernels never call a ``hw_*_general`` entry
point (hw_dispatch.c alone calls both), and include/hwsim.h declares no test hook.

The call graph is built from the names a file defines with external linkage
(``hw_*`` / ``hwi_*`` at the start of a line, followed by ``(``) and the names it
uses; comments are stripped first.  It is an approximation of the compiler's view
(macros are not expanded) that suffices for this code base's naming rules.
"""
import os
import re

CSRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "csrc")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_DEFINE = re.compile(r"^(?!static)[A-Za-z_][\w \t\*]*?\b(hwi?_\w+)\s*\([^;{]*\)\s*\{",
                     re.M | re.S)
_USE = re.compile(r"\b(hwi?_\w+)\s*\(")
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _sources():
    out = {}
    for d, _, files in os.walk(CSRC):
        for f in files:
            if f.endswith((".c", ".h")):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8") as fh:
                    out[os.path.relpath(p, CSRC)] = fh.read()
    return out


def _call_graph(src):
    """file -> set of files whose functions it calls (.c files only)."""
    code = {f: _COMMENT.sub("", t) for f, t in src.items() if f.endswith(".c")}
    owner = {}
    for f, t in code.items():
        for name in _DEFINE.findall(t):
            assert owner.setdefault(name, f) == f, f"{name} defined in {owner[name]} and {f}"
    return {f: {owner[n] for n in _USE.findall(t) if n in owner and owner[n] != f}
            for f, t in code.items()}, owner


def _cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_call_graph_has_no_cycle():
    graph, owner = _call_graph(_sources())
    assert "hw_encode" in owner and "hwi_round_pack" in owner  # the parser sees definitions
    assert "hw_round.c" in graph["hw_encode.c"]               # ... and calls
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a.c": {"b.c"}, "b.c": {"c.c"}, "c.c": {"a.c"}, "d.c": {"a.c"}}) == [
        ["a.c", "b.c", "c.c"]]


def test_include_graph_has_no_cycle_and_no_c_file_is_included():
    src = _sources()
    graph = {}
    for f, t in src.items():
        incs = [os.path.basename(i) for i in _INCLUDE.findall(t)]
        assert not [i for i in incs if i.endswith(".c")], f"{f} includes a .c file"
        graph[f] = {i if i in src else os.path.join("include", i) for i in incs} & set(src)
    assert _cycles(graph) == []


def test_fast_kernels_never_call_the_general_entry_points():
    graph, owner = _call_graph(_sources())
    for f, t in _sources().items():
        if not f.endswith(".c") or f == "hw_dispatch.c":
            continue
        used = set(_USE.findall(_COMMENT.sub("", t)))
        generals = sorted(n for n in used if n.endswith("_general") and owner.get(n) != f)
        assert generals == [], f"{f} calls {generals}: only hw_dispatch.c falls back"
    # the dispatchers are not defined next to the general loops
    for name in ("hw_encode", "hw_decode", "hw_mx_quantize", "hw_nvfp4_quantize"):
        assert owner[name] == "hw_dispatch.c", name


def test_no_file_over_600_lines():
    long = {f: t.count("\n") for f, t in _sources().items() if t.count("\n") > 600}
    assert long == {}


def test_public_header_declares_no_test_hook():
    src = _sources()
    public = _COMMENT.sub("", src[os.path.join("include", "hwsim.h")])
    hooks = sorted(n for n in _USE.findall(public) if n.endswith(("_general", "_fast")))
    assert hooks == [], f"test hooks in hwsim.h: {hooks} (they belong in hwsim_test.h)"
    assert "hw_encode_general" in src[os.path.join("include", "hwsim_test.h")]
