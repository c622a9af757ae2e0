"""The scalar catalogue: named presets, aliases, P3109 and scalar name parsing.

Block and codebook presets live next to their classes (:mod:`.block`,
:mod:`.codebook`); :func:`hwsim.formats.format` parses every kind.

>>> parse_scalar("fixed16.8").frac_bits
8
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import FormatError, check_int
from .scalar import FixedFormat, FloatFormat, IntFormat, _parse_default_bias


# One entry per format; the line comment gives layout and quirks.
def _F(name, e, m, **kw) -> FloatFormat:
    return FloatFormat(e, m, name=name, **kw)


PRESETS: dict[str, Any] = {}


def _register(*fmts) -> None:
    for f in fmts:
        PRESETS[f.name] = f


_register(
    _F("float64", 11, 52),  # IEEE binary64
    _F("float32", 8, 23),  # IEEE binary32
    _F("tf32", 8, 10),  # NVIDIA TensorFloat-32: 1-8-10, stored as 19 bits
    _F("bfloat16", 8, 7),  # brain float: binary32 exponent, 7-bit fraction
    _F("float16", 5, 10),  # IEEE binary16
    _F("float8_e5m2", 5, 2),  # OCP OFP8 E5M2: IEEE-like, Inf 0x7C, max 57344
    _F("float8_e4m3fn", 4, 3, specials="fn"),  # OCP OFP8 E4M3: no Inf, NaN S.1111.111, max 448
    _F("float8_e4m3", 4, 3),  # IEEE-like E4M3 with Inf, max 240
    _F("float8_e3m4", 3, 4),  # IEEE-like E3M4, bias 3, max 15.5
    _F("float8_e4m3fnuz", 4, 3, bias=8, specials="fnuz"),  # NaN 0x80, no -0, max 240
    _F("float8_e5m2fnuz", 5, 2, bias=16, specials="fnuz"),  # NaN 0x80, no -0, max 57344
    _F("float8_e4m3b11fnuz", 4, 3, bias=11, specials="fnuz"),  # Graphcore, max 30
    _F("float8_e8m0fnu", 8, 0, signed=False, subnormals=False, specials="e8m0"),  # MX scale 2^(E-127), NaN 0xFF
    _F("float6_e2m3fn", 2, 3, specials="finite"),  # OCP MX FP6 E2M3, max 7.5
    _F("float6_e3m2fn", 3, 2, specials="finite"),  # OCP MX FP6 E3M2, max 28
    _F("float4_e2m1fn", 2, 1, specials="finite"),  # OCP MX FP4 E2M1, max 6
)

#: Aliases accepted by :func:`format` (the catalogue name is canonical).
ALIASES = {
    "fp64": "float64", "binary64": "float64", "double": "float64",
    "fp32": "float32", "binary32": "float32", "single": "float32",
    "fp16": "float16", "binary16": "float16", "half": "float16",
    "bf16": "bfloat16",
    "e4m3fn": "float8_e4m3fn", "fp8_e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2",
    "fp8_e5m2": "float8_e5m2", "e4m3fnuz": "float8_e4m3fnuz", "e5m2fnuz": "float8_e5m2fnuz",
    "e8m0fnu": "float8_e8m0fnu",
    # (no bare "e2m1" / "e2m3fn"...: those spell generated names of other formats)
    "fp4_e2m1": "float4_e2m1fn", "fp6_e2m3": "float6_e2m3fn", "fp6_e3m2": "float6_e3m2fn",
}


def p3109(k: int, p: int, domain: str = "extended") -> FloatFormat:
    """IEEE P3109 (interim report v3) signed format binary{k}p{p}.

    Bias 2^(k-p-1), a single NaN at 0x80.., no -0; the extended domain has
    +Inf at 0x7F.. and -Inf at 0xFF.., the finite domain has none.
    """
    check_int("k", k, 2, 64)
    check_int("p", p, 1, k - 1)
    if k == 2 and domain == "extended":
        raise FormatError("k=2 with domain='extended' leaves no finite value but 0 "
                          "(codes: 0, +Inf, NaN, -Inf); use k >= 3 or domain='finite'")
    if domain not in ("extended", "finite"):
        raise FormatError(f"domain must be 'extended' or 'finite', got {domain!r}")
    sp = "p3109" if domain == "extended" else "p3109_finite"
    return FloatFormat(k - p, p - 1, specials=sp)


_RE_EM = re.compile(
    r"^e(\d+)m(\d+)(fnuz|fnu|fn|_finite)?(u|_unsigned)?(?:_?b(-?\d+))?(_nosub)?$")
_RE_INT = re.compile(r"^(u?)int(\d+)$")
_RE_FIXED = re.compile(r"^(u?)fixed(\d+)\.(-?\d+)$")
_RE_P3109 = re.compile(r"^binary(\d+)p(\d+)(se|sf|e|f)?(?:_b(-?\d+))?(_nosub)?$")


#: Names that mean different formats to different vendors: refused, with the candidates.
AMBIGUOUS = {
    "E4M3": ("float8_e4m3fn (OCP OFP8 E4M3: no Inf, max 448)",
             "float8_e4m3 (IEEE-style E4M3 with Inf, max 240)"),
    "E5M2": ("float8_e5m2 (OCP OFP8 / IEEE-style E5M2 with Inf, max 57344)",
             "float8_e5m2fnuz (no Inf, no -0, max 57344)"),
}


def parse_scalar(spec: str):
    """The scalar format called ``spec`` (catalogue name, alias or generated
    name), or None when the name is not a scalar format name."""
    if spec.strip() in AMBIGUOUS:
        a, b = AMBIGUOUS[spec.strip()]
        raise FormatError(f"format name {spec.strip()!r} is ambiguous: write {a} or {b} "
                          f"(lower-case generated names like 'e4m3' keep their IEEE-style meaning)")
    s = spec.strip().lower()
    s = ALIASES.get(s, s)
    if s in PRESETS:
        return PRESETS[s]
    m = _RE_INT.match(s)
    if m:
        return IntFormat(int(m.group(2)), signed=not m.group(1))
    m = _RE_FIXED.match(s)
    if m:
        return FixedFormat(int(m.group(2)), int(m.group(3)), signed=not m.group(1))
    m = _RE_P3109.match(s)
    if m:
        return _p3109_name(m)
    m = _RE_EM.match(s)
    if m:
        return _em_name(m)
    return None


def _p3109_name(m) -> FloatFormat:
    dom = "finite" if (m.group(3) or "se") in ("sf", "f") else "extended"
    f = p3109(int(m.group(1)), int(m.group(2)), dom)
    if m.group(4) is not None or m.group(5):
        bias = int(m.group(4)) if m.group(4) is not None else f.bias
        f = FloatFormat(f.exp_bits, f.man_bits, bias=bias, specials=f.specials,
                        subnormals=not m.group(5))
    return f


def _em_name(m) -> FloatFormat:
    e, mm, tag, uns, b, nosub = (int(m.group(1)), int(m.group(2)), m.group(3), m.group(4),
                                 m.group(5), m.group(6))
    sp = {None: "ieee", "fn": "fn", "fnuz": "fnuz", "_finite": "finite", "fnu": "e8m0"}[tag]
    kw: dict = dict(specials=sp)
    if sp == "e8m0":
        kw.update(signed=False, subnormals=False)
    if uns:
        kw["signed"] = False
    if nosub:
        kw["subnormals"] = False
    check_int("exp_bits", e, 1, 11)
    kw["bias"] = int(b) if b is not None else _parse_default_bias(e, sp)
    f = FloatFormat(e, mm, **kw)
    for p in PRESETS.values():  # return the named preset when identical
        if isinstance(p, FloatFormat) and p == f:
            return p
    return f


#: The scalar name grammar, for error messages.
SCALAR_GRAMMAR = ("eXmY[fn|fnuz|fnu|_finite][_unsigned][_bBIAS][_nosub], intN, uintN, "
                  "fixedN.F, binaryKpP")


def scalar_from_dict(kind: str, d: dict):
    """Inverse of ``to_dict()`` for the scalar kinds, or None for another kind."""
    cls = {"float": FloatFormat, "int": IntFormat, "fixed": FixedFormat}.get(kind)
    return None if cls is None else cls(**d)


def table_rows() -> list[dict]:
    """One row per scalar preset (used by ``hwsim formats`` and the README table)."""
    rows = []
    for f in PRESETS.values():
        if not isinstance(f, FloatFormat):
            continue
        rows.append(dict(
            name=f.name, bits=f.bits, exp=f.exp_bits, man=f.man_bits, bias=f.bias,
            max=f.max_finite, min_normal=f.min_normal, min_subnormal=f.min_subnormal,
            epsilon=f.epsilon, inf="yes" if f.has_inf else "no",
            nan="yes" if f.has_nan else "no", negzero="yes" if f.has_negzero else "no",
        ))
    return rows


def markdown_table() -> str:
    """The README format table, generated from the catalogue."""
    hdr = "| name | bits | E | M | bias | max finite | min normal | min subnormal | epsilon | Inf | NaN | -0 |"
    lines = [hdr, "|" + "---|" * 12]
    for r in table_rows():
        lines.append(
            f"| {r['name']} | {r['bits']} | {r['exp']} | {r['man']} | {r['bias']} | {r['max']:.6g} | "
            f"{r['min_normal']:.6g} | {r['min_subnormal']:.6g} | {r['epsilon']:.6g} | {r['inf']} | "
            f"{r['nan']} | {r['negzero']} |"
        )
    return "\n".join(lines)
