"""hwsim's fusing rewrites of an ONNX graph, applied before import and reported by
``hwsim run`` (``Network.source["rewrites"]``; docs/semantics.md, "Rewrites").

* ``x * HardSigmoid(x)`` (alpha 1/6, beta 1/2) -> HardSwish(x);
* ``x * Sigmoid(x)`` -> SiLU(x) (an hwsim op type);
* GELU written out, erf form ``(x * (1 + Erf(x / sqrt2))) * 0.5`` (or ``x * 1/sqrt2``,
  or ``(x * 0.5) * (1 + ...)``) -> Gelu(x); tanh form ``(x * 0.5) * (1 + Tanh(sqrt(2/pi)
  * (x + 0.044715 * Pow(x, 3))))`` (or ``x * x * x``) -> Gelu(x, approximate="tanh");
* LayerNorm written out, ``d = x - ReduceMean(x)``, ``Div(d, Sqrt(ReduceMean(Pow(d, 2)) +
  eps))`` (or ``d * d``), then optional ``* gamma`` and ``+ beta`` -> LayerNormalization
  over the same last axes (which keeps the written-out ``d / sqrt(v)``).

A pattern is rewritten only when every intermediate tensor feeds nothing else and is no
graph output, and every constant is an initializer with the stated value (float32
tolerance 1e-6 relative).  Nothing else changes.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import InputFileError


__all__ = ["fuse_patterns"]

_FUSED = ("HardSwish", "SiLU", "Gelu", "LayerNormalization")  # never the op of a removed node


def read_tensor(t):
    """An initializer / constant as an array; a corrupt one is an InputFileError."""
    from onnx import numpy_helper  # optional dependency (onnx): only ONNX import needs it

    try:
        a = numpy_helper.to_array(t)
    except Exception as e:  # onnx raises ValueError / TypeError / KeyError on corrupt tensors
        raise InputFileError(f"model tensor {t.name!r} cannot be read: {e}") from None
    if a.dtype.kind == "f" and a.size and np.isnan(a).any():
        # signalling NaNs become quiet ones, so later casts raise no FE_INVALID (fuzz
        # crash-9f289542); NaN constants are refused or propagated by the ops that read them
        a = np.where(np.isnan(a), np.array(np.nan, a.dtype), a)
    return a


class _Graph:
    def __init__(self, g):
        self.g = g
        self.init = {t.name: read_tensor(t) for t in g.initializer}  # fuzz crash-827d58c5
        self.prod = {o: n for n in g.node for o in n.output}
        self.uses = Counter(i for n in g.node for i in n.input) + \
            Counter(o.name for o in g.output)
        self.cons: dict = {}
        for n in g.node:
            for i in n.input:
                self.cons.setdefault(i, []).append(n)
        self.dead: set = set()  #: first outputs of the nodes a rewrite removed
        self.new: set = set()   #: names of the nodes rewrites added

    def node(self, t, op):
        """The node of type ``op`` producing ``t``, consumed only once, or None."""
        n = self.prod.get(t)
        if n is None or n.op_type != op or n.output[0] in self.dead or self.uses[t] != 1:
            return None
        return n

    def only_consumer(self, t, op):
        c = self.cons.get(t, [])
        if len(c) != 1 or c[0].op_type != op or self.uses[t] != 1 or c[0].output[0] in self.dead:
            return None
        return c[0]

    def const(self, t, value) -> bool:
        v = self.init.get(t)
        return v is not None and v.size == 1 and v.dtype.kind == "f" and \
            abs(float(v.ravel()[0]) - value) <= 1e-6 * abs(value)

    def other(self, n, t):
        """The other input of a two-input node ``n`` that has ``t`` as one input."""
        if len(n.input) != 2 or t not in n.input:
            return None
        return n.input[1] if n.input[0] == t else n.input[0]


def _attr(n, name, default):
    from onnx import helper

    for a in n.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _replace(G, last, dead, op, inputs, notes, what, **attrs):
    from onnx import helper

    new = helper.make_node(op, inputs, [last.output[0]], name=last.name or last.output[0],
                           **attrs)
    G.new.add(new.name)
    idx = list(G.g.node).index(last)
    G.g.node.insert(idx, new)
    for n in dead:
        G.dead.add(n.output[0])
    notes.append(f"{what} ({len(dead)} nodes, ending at {last.name or last.output[0]!r}) "
                 f"fused into {op}")


def _mul_by_self(G, notes):
    for m in list(G.g.node):
        if m.op_type != "Mul" or m.output[0] in G.dead or len(m.input) != 2:
            continue
        for k in (0, 1):
            x, t = m.input[1 - k], m.input[k]
            hs = G.node(t, "HardSigmoid")
            if hs is not None and hs.input[0] == x and \
                    abs(_attr(hs, "alpha", 0.2) - 1 / 6) < 1e-6 and abs(_attr(hs, "beta", 0.5) - 0.5) < 1e-7:
                _replace(G, m, [hs, m], "HardSwish", [x], notes, "x * HardSigmoid(x)")
                break
            sg = G.node(t, "Sigmoid")
            if sg is not None and sg.input[0] == x:
                _replace(G, m, [sg, m], "SiLU", [x], notes, "x * Sigmoid(x)")
                break


def _gelu_tail(G, one_in, x):
    """Nodes of ``... -> Add(., 1) -> Mul with x -> Mul 0.5`` (or ``Mul(x, 0.5)`` first),
    from the tensor ``one_in`` on; (nodes, last) or None."""
    add = G.only_consumer(one_in, "Add")
    if add is None or not G.const(G.other(add, one_in), 1.0):
        return None
    m1 = G.only_consumer(add.output[0], "Mul")
    if m1 is None:
        return None
    o = G.other(m1, add.output[0])
    if o == x:
        m2 = G.only_consumer(m1.output[0], "Mul")
        if m2 is None or not G.const(G.other(m2, m1.output[0]), 0.5):
            return None
        return [add, m1, m2], m2
    h = G.node(o, "Mul")
    if h is None or G.other(h, x) is None or not G.const(G.other(h, x), 0.5):
        return None
    return [add, h, m1], m1


def _gelu_erf(G, notes):
    for e in list(G.g.node):
        if e.op_type != "Erf" or e.output[0] in G.dead:
            continue
        d = G.node(e.input[0], "Div") or G.node(e.input[0], "Mul")
        if d is None:
            continue
        x = d.input[0]
        c = 2 ** 0.5 if d.op_type == "Div" else 2 ** -0.5
        if d.op_type == "Mul" and G.const(d.input[0], c):
            x = d.input[1]
        if not G.const(G.other(d, x) or "", c):
            continue
        tail = _gelu_tail(G, e.output[0], x)
        if tail is not None:
            _replace(G, tail[1], [d, e] + tail[0], "Gelu", [x], notes, "GELU (erf form)")


def _cube_of(G, t):
    """x if ``t`` is Pow(x, 3) or (x * x) * x consumed once, with the nodes; else None."""
    p = G.node(t, "Pow")
    if p is not None and G.const(p.input[1], 3.0):
        return p.input[0], [p]
    m = G.node(t, "Mul")
    if m is None:
        return None
    for k in (0, 1):
        sq = G.node(m.input[k], "Mul")
        if sq is not None and sq.input[0] == sq.input[1] == m.input[1 - k]:
            return m.input[1 - k], [sq, m]
    return None


def _gelu_tanh(G, notes):
    for th in list(G.g.node):
        if th.op_type != "Tanh" or th.output[0] in G.dead:
            continue
        ms = G.node(th.input[0], "Mul")
        if ms is None:
            continue
        w = next((i for i in ms.input if G.const(G.other(ms, i) or "", (2 / np.pi) ** 0.5)), None)
        ad = None if w is None else G.node(w, "Add")
        if ad is None:
            continue
        for k in (0, 1):
            x, v = ad.input[k], ad.input[1 - k]
            mc = G.node(v, "Mul")
            if mc is None:
                continue
            u = next((i for i in mc.input if G.const(G.other(mc, i) or "", 0.044715)), None)
            cube = None if u is None else _cube_of(G, u)
            if cube is None or cube[0] != x:
                continue
            tail = _gelu_tail(G, th.output[0], x)
            if tail is not None:
                _replace(G, tail[1], cube[1] + [mc, ad, ms, th] + tail[0], "Gelu", [x], notes,
                         "GELU (tanh form)", approximate="tanh")
                break


def _layernorm(G, notes):
    for sub in list(G.g.node):
        if sub.op_type != "Sub" or sub.output[0] in G.dead:
            continue
        x, mt = sub.input
        r1 = G.prod.get(mt)
        if r1 is None or r1.op_type != "ReduceMean" or r1.input[0] != x or G.uses[mt] != 1:
            continue
        found = _ln_rest(G, sub, _axes(G, r1))
        if found is None:
            continue
        nodes, last, ins, eps = found
        axes = _axes(G, r1)
        _replace(G, last, [r1, sub] + nodes, "LayerNormalization", [x] + ins, notes,
                 "LayerNorm written out", axis=int(axes[0]), epsilon=eps, hwsim_rsqrt=0)


def _axes(G, r):
    ax = _attr(r, "axes", None)
    if ax is None and len(r.input) > 1:
        ax = G.init.get(r.input[1])
    return None if ax is None else [int(a) for a in np.ravel(ax)]


def _ln_rest(G, sub, axes):
    """The nodes after ``d = x - mean`` of a written-out LayerNorm over the last axes."""
    d = sub.output[0]
    if axes is None or len(axes) != 1 or axes[0] != -1 or G.uses[d] != 2:
        return None
    c = G.cons.get(d, [])
    sq = next((n for n in c if (n.op_type == "Pow" and G.const(n.input[1], 2.0)) or
               (n.op_type == "Mul" and n.input[0] == n.input[1] == d)), None)
    dv = next((n for n in c if n.op_type == "Div" and n.input[0] == d), None)
    if sq is None or dv is None:
        return None
    r2 = G.only_consumer(sq.output[0], "ReduceMean")
    add = None if r2 is None or _axes(G, r2) != axes else G.only_consumer(r2.output[0], "Add")
    eps_t = None if add is None else G.other(add, r2.output[0])
    if eps_t not in G.init or G.init[eps_t].size != 1:
        return None
    sq_t = G.only_consumer(add.output[0], "Sqrt")
    if sq_t is None or dv.input[1] != sq_t.output[0]:
        return None
    nodes, last, ins = [sq, r2, add, sq_t, dv], dv, []
    for op in ("Mul", "Add"):
        nxt = G.only_consumer(last.output[0], op)
        c = None if nxt is None else G.other(nxt, last.output[0])
        if c is None or c not in G.init or (op == "Add" and not ins):
            break
        nodes.append(nxt)
        last, ins = nxt, ins + [c]
    return nodes, last, ins, float(G.init[eps_t].ravel()[0])


def fuse_patterns(m):
    """(model, notes): ``m`` with the patterns above fused (a copy; ``m`` unchanged), and
    one note per rewrite.  The model itself when nothing matches."""
    import onnx

    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    G = _Graph(m2.graph)
    notes: list = []
    for f in (_mul_by_self, _gelu_erf, _gelu_tanh, _layernorm):
        f(G, notes)
    if not notes:
        return m, []
    keep = [n for n in m2.graph.node if n.output[0] not in G.dead or (n.name in G.new and n.op_type in _FUSED)]
    del m2.graph.node[:]
    m2.graph.node.extend(keep)
    return m2, notes
