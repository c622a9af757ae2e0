"""Command-line interface: ``hwsim <verb> ...`` (see ``hwsim --help``).

Verbs: ``formats`` (preset table), ``encode`` (one value, bit fields shown),
plus the network verbs (``run``, ``export``, ``compare``, ``sweep``, ``search``, ``demo``)
registered by :mod:`hwsim.network.cli_cmds` and ``vectors`` (:mod:`hwsim.rtl.cli_vectors`).

Errors: every failure prints one line ``hwsim <verb>: error: <what>`` on stderr
and exits 2 (bad usage or input: options, files, formats, values) or 1 (the
environment or the run failed: disk full, read-only folder, NaN outputs,
compare mismatch); ``--debug`` (or ``HWSIM_DEBUG=1``) shows the traceback
instead.  See docs/errors.md.
"""
from __future__ import annotations

import argparse
import math
import sys
from fractions import Fraction

import numpy as np

from ._cli_errors import NEGATIVE_NUMBER, Parser, add_debug_options, run_cli
from .codec import decode, encode
from .errors import UsageError
from .formats import format as parse_format
from .formats import markdown_table, table_rows
from .formats import parse as blockformats
from .modes import DETERMINISTIC_ROUNDINGS, Flags
from .network import cli_cmds
from .rtl import cli_vectors


def _fmt_num(v) -> str:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return f"{float(v):.10g}"


def cmd_formats(args) -> int:

    if args.markdown:
        print(markdown_table())
        return 0
    rows = table_rows()
    cols = ["name", "bits", "exp", "man", "bias", "max", "min_normal", "min_subnormal",
            "epsilon", "inf", "nan", "negzero"]
    cells = [[r[c] if isinstance(r[c], (str, int)) else f"{r[c]:.6g}" for c in cols] for r in rows]
    widths = [max(len(c), *(len(str(row[i])) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)))

    if blockformats.NAMES:
        print("\nblock / codebook formats: " + ", ".join(blockformats.NAMES))
    print("also: eXmY[fn|fnuz|u][_bBIAS], binaryKpP[se|sf] (P3109), intN, uintN, fixedN.F")
    return 0


def bit_fields(fmt, code: int) -> str:
    """Code split into sign | exponent | mantissa fields (float formats)."""
    b = format(code, f"0{fmt.bits}b")
    if getattr(fmt, "kind", None) != "float":
        return b
    parts = []
    i = 0
    if fmt.signed:
        parts.append(b[0])
        i = 1
    parts.append(b[i:i + fmt.exp_bits])
    if fmt.man_bits:
        parts.append(b[i + fmt.exp_bits:])
    return "|".join(parts)


def flag_names(flags) -> str:
    """'INEXACT|UNDERFLOW' style text of a Flags value ('none' when clear)."""

    names = [f.name for f in Flags if f.value and (int(flags) & f.value)]
    return "|".join(names) if names else "none"


def describe_encoding(value: float, fmt, rounding="rne", overflow=None) -> dict:
    """Everything ``hwsim encode`` prints, as a dict."""

    codes, flags = encode(np.array([value], dtype=np.float64), fmt, rounding, overflow,
                          return_flags=True, sr_bits=None)
    code = int(codes[0])
    dec = float(decode(codes, fmt)[0])
    out = dict(format=fmt.name, input=value, rounding=rounding, code=code,
               hex=f"0x{code:0{(fmt.bits + 3) // 4}X}", binary=bit_fields(fmt, code),
               decoded=dec, flags=flag_names(flags))
    if math.isfinite(value) and math.isfinite(dec):
        err = Fraction(dec) - Fraction(value)
        out["error"] = float(err)
        out["rel_error"] = float(err / Fraction(value)) if value != 0 else 0.0
    return out


def cmd_encode(args) -> int:

    fmt = parse_format(args.format)
    if getattr(fmt, "kind", None) not in ("float", "int", "fixed"):
        raise UsageError(f"encode takes a scalar format; {fmt.name} is a block format "
                         "(use the Python API hwsim.encode on an array)")
    for text in args.values:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"VALUE must be a real number, got {text!r}") from None
        d = describe_encoding(value, fmt, args.rounding, args.overflow)
        print(f"{d['input']!r} -> {d['format']} ({d['rounding']})")
        print(f"  code     {d['hex']}  ({d['code']})")
        print(f"  bits     {d['binary']}" + ("   sign|exponent|mantissa" if fmt.kind == "float" else ""))
        print(f"  decoded  {_fmt_num(d['decoded'])}")
        if "error" in d:
            print(f"  error    {d['error']:.6g}  (relative {d['rel_error']:.3g})")
        print(f"  flags    {d['flags']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="hwsim", description="Bit-accurate hardware arithmetic simulator for "
        "low-precision neural-network inference.",
        epilog="Errors print one line and exit 2 (usage / input) or 1 (runtime); "
        "--debug shows the traceback.")
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    sp = sub.add_parser("formats", help="print the table of preset number formats")
    sp.add_argument("--markdown", action="store_true", help="print as a Markdown table")
    sp.set_defaults(func=cmd_formats)
    sp = sub.add_parser("encode", help="encode values into a format and show the bits",
                        epilog="Negative values need no quoting: hwsim encode -1.5 -inf -f "
                        "float8_e4m3fn (a '--' before the values also works).")
    sp._negative_number_matcher = NEGATIVE_NUMBER  # -inf, -1e39 are values, not options
    sp.add_argument("values", nargs="+", metavar="VALUE",
                    help="real number(s) to encode (inf, -inf, nan, 1e-3, -2.5 ...)")
    sp.add_argument("--format", "-f", required=True, help="format name, e.g. float8_e4m3fn, e5m10, int8")
    sp.add_argument("--rounding", "-r", default="rne",
                    choices=list(DETERMINISTIC_ROUNDINGS), help="rounding mode (default rne)")
    sp.add_argument("--overflow", "-o", default=None,
                    choices=["saturate", "saturate_finite_keep_inf", "special", "error", "wrap"],
                    help="overflow policy (default: the format's, as ml_dtypes)")
    sp.set_defaults(func=cmd_encode)
    cli_cmds.add_subparsers(sub)
    add_debug_options(p, sub)
    cli_vectors.add_subparser(sub)
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
