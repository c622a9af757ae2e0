"""TestFloat-style test vectors for any format hwsim models (``hwsim vectors``).

A vector file has one case per line, in TestFloat's layout (``testfloat_gen``),
``A B [C] RESULT FLAGS`` in upper-case hex with SoftFloat's flag bits; ``convert``,
``mulAdd``, ``dot`` and ``quantize`` have their own line layouts (docs/rtl.md,
"Test vectors").  The expected results come from :mod:`hwsim.rtl.ieee`, from
:func:`hwsim.mac.dot` / :func:`hwsim.mac.trace` for ``dot`` and from
:mod:`hwsim.reference` for block quantization.

``check(path, ...)`` reads a DUT's result file in the same layout and reports the
first line whose RESULT or FLAGS differ, with the fields of both codes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .. import reference as ref
from ..errors import HwsimError
from ..formats import FloatFormat
from ..formats import format as parse_format
from ..modes import Flags, RoundingMode
from ..ops.macbridge import acc_format
from . import cases, ieee

__all__ = ["OPS", "ROUNDINGS", "TESTFLOAT_ROUNDING", "Vector", "generate", "format_line", "write",
           "check", "CheckReport", "VectorFileError"]

OPS = ("convert", "add", "mul", "mulAdd", "dot", "quantize")
ROUNDINGS = ("rne", "rtz", "rdn", "rup", "rna", "rto")
#: TestFloat's ``-r`` names of the rounding modes
TESTFLOAT_ROUNDING = dict(rne="near_even", rtz="minMag", rdn="min", rup="max", rna="near_maxMag",
                          rto="odd")
CONVERT_SOURCES = ("float32", "float16", "bfloat16")


class VectorFileError(HwsimError, ValueError):
    """A vector or DUT result file that cannot be read (names file and line)."""


@dataclass(frozen=True)
class Vector:
    """One line: operand codes, result code(s), flags."""

    operands: tuple
    result: tuple
    flags: int


@dataclass(frozen=True)
class _Spec:
    op: str
    fmt: object
    rounding: str
    src: object = None
    mac: object = None
    k: int = 0
    overflow: str | None = None
    tininess: str = "after"
    nan: str = "x86"

    def widths(self):
        """Hex digits of each operand field and each result field."""
        if self.op == "convert":
            return [_width(self.src)], [_width(self.fmt)]
        if self.op == "dot":
            a, b = self.mac.a_fmt, self.mac.b_fmt
            return [_width(a)] * self.k + [_width(b)] * self.k, [_width(_dot_result_fmt(self.mac))]
        if self.op == "quantize":
            f = self.fmt
            return [8] * f.block_size, [_width(f.scale)] + [_width(f.elem)] * f.block_size
        w = _width(self.fmt)
        return [w] * (3 if self.op == "mulAdd" else 2), [w]


def _width(f) -> int:
    return max(1, -(-f.bits // 4))


def _dot_result_fmt(mac):
    return acc_format(mac)


def _spec(op, fmt, rounding, src, mac, k, overflow, tininess, nan) -> _Spec:
    if op not in OPS:
        raise ValueError(f"op must be one of {list(OPS)}, got {op!r}")
    r = RoundingMode.parse(rounding).short
    if r not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {list(ROUNDINGS)} for test vectors, got {r!r}")
    if op == "dot":
        if mac is None:
            raise ValueError("op='dot' needs mac=MacUnit(...)")
        if not 1 <= int(k) <= 64:
            raise ValueError(f"k must be in [1, 64] for op='dot', got {k}")
        return _Spec(op, None, r, mac=mac, k=int(k), nan=nan)
    f = parse_format(fmt)
    kind = getattr(f, "kind", None)
    if op == "quantize":
        if kind not in ("mx", "nvfp4"):
            raise ValueError(f"op='quantize' takes an MX or NVFP4 block format, got {f.name}")
        return _Spec(op, f, r)
    if kind not in ("float", "int", "fixed"):
        raise ValueError(f"op={op!r} takes a scalar format (float, int, fixed), got {f.name}")
    s = None
    if op == "convert":
        s = parse_format(src or "float32")
        if s.name not in CONVERT_SOURCES:
            raise ValueError(f"src must be one of {list(CONVERT_SOURCES)}, got {src!r}")
    ieee.nan_policy(nan)
    return _Spec(op, f, r, s, None, 0, overflow, tininess, nan)


def _expected(sp: _Spec, ops: tuple):
    """(result tuple, flags) of one case."""
    kw = dict(overflow=sp.overflow, tininess=sp.tininess, nan=sp.nan)
    if sp.op == "convert":
        c, fl = ieee.convert(sp.src, sp.fmt, ops[0], sp.rounding, **kw)
    elif sp.op == "add":
        c, fl = ieee.add(sp.fmt, *ops, sp.rounding, **kw)
    elif sp.op == "mul":
        c, fl = ieee.mul(sp.fmt, *ops, sp.rounding, **kw)
    elif sp.op == "mulAdd":
        c, fl = ieee.mul_add(sp.fmt, *ops, sp.rounding, **kw)
    elif sp.op == "dot":
        return _dot(sp, ops)
    else:
        return _quantize(sp, ops)
    return (int(c),), int(fl)


def _dot(sp: _Spec, ops):
    from ..mac import dot, trace

    k = sp.k
    a = np.array([ops[:k]], dtype=np.uint64)
    b = np.array([ops[k:]], dtype=np.uint64)
    a = a.astype(sp.mac.a_fmt.code_dtype) if hasattr(sp.mac.a_fmt, "code_dtype") else a
    b = b.astype(sp.mac.b_fmt.code_dtype) if hasattr(sp.mac.b_fmt, "code_dtype") else b
    res = dot(a[0], b[0], sp.mac, stats=False)
    t = trace(a, b.T, sp.mac)
    fl = 0
    for st in t.steps:
        for e in st["events"]:
            fl |= int(Flags[e.upper()])
    code = int(np.asarray(res.codes).reshape(-1)[0]) & ((1 << _dot_result_fmt(sp.mac).bits) - 1)
    return (code,), fl


def _quantize(sp: _Spec, ops):
    f = sp.fmt
    x = np.array(ops, dtype=np.uint32).view(np.float32)
    if f.kind == "mx":
        codes, scales = ref.mx_quantize(x, f, rounding=sp.rounding)
    else:
        codes, scales = ref.nvfp4_quantize(x, f, rounding=sp.rounding)[:2]
    sc = np.asarray(scales).reshape(-1)
    scode = int(sc.view(np.uint8)[0]) if sc.dtype.kind == "f" else int(sc[0])
    return (scode,) + tuple(int(c) for c in np.asarray(codes).reshape(-1)), 0


def _operands(sp: _Spec, level: int, n_random: int, rng: random.Random):
    if sp.op == "convert":
        return cases.convert_cases(sp.src, sp.fmt, level, n_random, rng)
    if sp.op in ("add", "mul"):
        return cases.binary_cases(sp.fmt, level, n_random, rng)
    if sp.op == "mulAdd":
        return cases.ternary_cases(sp.fmt, level, n_random, rng)
    if sp.op == "dot":
        return _dot_cases(sp, level, n_random, rng)
    return _block_cases(sp, level, n_random, rng)


def _dot_cases(sp, level, n_random, rng):
    af, bf, k = sp.mac.a_fmt, sp.mac.b_fmt, sp.k
    ab, bb = cases.boundary_codes(af, level), cases.boundary_codes(bf, level)
    out = []
    for i, x in enumerate(ab):  # every boundary code meets every other in some lane
        row_b = [bb[(i + j) % len(bb)] for j in range(k)]
        out.append(tuple([x] + [ab[(i + j) % len(ab)] for j in range(1, k)]) + tuple(row_b))
    for _ in range(n_random):
        out.append(tuple(cases.random_codes(af, k, rng) + cases.random_codes(bf, k, rng)))
    return out


def _block_cases(sp, level, n_random, rng):
    bs = sp.fmt.block_size
    f32 = parse_format("float32")
    bc = [c for c in cases.boundary_codes(f32, level) if ieee.classify(f32, c) != "snan"]
    out = [tuple(bc[(i + j) % len(bc)] for j in range(bs)) for i in range(len(bc))]
    for _ in range(n_random):
        e = rng.randrange(100, 150)
        out.append(tuple((rng.randrange(2) << 31) | (rng.randrange(e - 8, e + 1) << 23) |
                         rng.randrange(1 << 23) for _ in range(bs)))
    return out


def generate(op, fmt=None, rounding="rne", *, src=None, mac=None, k=4, level=1, n_random=200,
             seed=0, overflow=None, tininess="after", nan="x86") -> list:
    """Test vectors for ``op`` in ``fmt``: a list of :class:`Vector`.

    ``level`` 1 or 2 (TestFloat-like), ``n_random`` seeded random cases (``seed``),
    ``src`` the source format of ``convert`` (float32, float16, bfloat16), ``mac`` and
    ``k`` for ``dot``; ``overflow``, ``tininess`` and ``nan`` (riscv, x86, arm) as in
    :mod:`hwsim.rtl.ieee`.
    """
    if level not in (1, 2):
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if not 0 <= int(n_random) <= 10_000_000:
        raise ValueError(f"n_random must be in [0, 10000000], got {n_random}")
    sp = _spec(op, fmt, rounding, src, mac, k, overflow, tininess, nan)
    rng = random.Random(int(seed))
    out = []
    for ops in _operands(sp, level, int(n_random), rng):
        res, fl = _expected(sp, tuple(int(o) for o in ops))
        out.append(Vector(tuple(int(o) for o in ops), res, fl))
    return out


def format_line(v: Vector, widths) -> str:
    wa, wr = widths
    parts = [f"{c:0{w}X}" for c, w in zip(v.operands, wa)]
    parts += [f"{c:0{w}X}" for c, w in zip(v.result, wr)]
    return " ".join(parts) + f" {v.flags:02X}"


def write(path, vectors, op, fmt=None, **kw) -> int:
    """Write vectors (from :func:`generate` with the same ``op``/``fmt``/``kw``); returns lines."""
    sp = _spec(op, fmt, kw.get("rounding", "rne"), kw.get("src"), kw.get("mac"), kw.get("k", 4),
               kw.get("overflow"), kw.get("tininess", "after"), kw.get("nan", "x86"))
    wd = sp.widths()
    with open(path, "w") as f:
        for v in vectors:
            f.write(format_line(v, wd) + "\n")
    return len(vectors)


@dataclass
class CheckReport:
    """Result of :func:`check`."""

    ok: bool
    lines: int
    failures: int
    first: dict | None = None

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.lines} lines match"
        f = self.first
        out = [f"FAIL: {self.failures} of {self.lines} lines differ",
               f"  first failing line {f['line']}: {f['text']}",
               f"  operands  {'  '.join(f['operands'])}",
               f"  expected  {f['expected']}  flags {f['expected_flags']}",
               f"  DUT       {f['dut']}  flags {f['dut_flags']}"]
        return "\n".join(out)


def _fields(f, code: int) -> str:
    """Hex code and, for float formats, its sign|exponent|mantissa fields."""
    w = _width(f)
    if not isinstance(f, FloatFormat):
        return f"{code:0{w}X}"
    b = format(code, f"0{f.bits}b")
    cut = [0, 1 if f.signed else 0, (1 if f.signed else 0) + f.exp_bits, f.bits]
    parts = [b[i:j] for i, j in zip(cut, cut[1:]) if j > i]
    return f"{code:0{w}X} ({'|'.join(parts)})"


def _flag_text(fl: int) -> str:
    names = [m.name.lower() for m in Flags if m.value and fl & m.value]
    return f"{fl:02X} ({'|'.join(names) or 'none'})"


def _parse(path, lineno, text, n):
    parts = text.split()
    if len(parts) != n:
        raise VectorFileError(f"{path}:{lineno}: expected {n} hex fields, got {len(parts)}: {text!r}")
    try:
        return [int(p, 16) for p in parts]
    except ValueError:
        raise VectorFileError(f"{path}:{lineno}: not a hex field (X/Z?) in {text!r}") from None


def check(path, op, fmt=None, *, rounding="rne", src=None, mac=None, k=4, overflow=None,
          tininess="after", nan="x86") -> CheckReport:
    """Check a DUT result file (lines ``A B [C] RESULT FLAGS``) against hwsim."""
    sp = _spec(op, fmt, rounding, src, mac, k, overflow, tininess, nan)
    wa, wr = sp.widths()
    na = len(wa)
    rep = CheckReport(True, 0, 0)
    ofmts = _operand_formats(sp)
    rfmts = _result_formats(sp)
    with open(path) as fh:
        for lineno, text in enumerate(fh, 1):
            text = text.split("//")[0].strip()
            if not text:
                continue
            vals = _parse(path, lineno, text, na + len(wr) + 1)
            ops, res, fl = tuple(vals[:na]), tuple(vals[na:-1]), vals[-1]
            for c, f in zip(ops + res, ofmts + rfmts):
                if c >> f.bits:
                    raise VectorFileError(f"{path}:{lineno}: field {c:X} is wider than "
                                          f"{f.bits} bits ({f.name})")
            want, wfl = _expected(sp, ops)
            rep.lines += 1
            if want == res and wfl == fl:
                continue
            rep.ok = False
            rep.failures += 1
            if rep.first is None:
                rep.first = dict(
                    line=lineno, text=text,
                    operands=[_fields(f, c) for c, f in zip(ops, ofmts)],
                    expected=" ".join(_fields(f, c) for c, f in zip(want, rfmts)),
                    dut=" ".join(_fields(f, c) for c, f in zip(res, rfmts)),
                    expected_flags=_flag_text(wfl), dut_flags=_flag_text(fl))
    return rep


def _operand_formats(sp):
    if sp.op == "convert":
        return [sp.src]
    if sp.op == "dot":
        return [sp.mac.a_fmt] * sp.k + [sp.mac.b_fmt] * sp.k
    if sp.op == "quantize":
        return [parse_format("float32")] * sp.fmt.block_size
    return [sp.fmt] * (3 if sp.op == "mulAdd" else 2)


def _result_formats(sp):
    if sp.op == "dot":
        return [_dot_result_fmt(sp.mac)]
    if sp.op == "quantize":
        return [sp.fmt.scale] + [sp.fmt.elem] * sp.fmt.block_size
    return [sp.fmt]
