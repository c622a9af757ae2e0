"""``hwsim vectors``: write TestFloat-style test vectors, or check a DUT's results."""
from __future__ import annotations

import argparse
import sys

from ..mac import FloatAccumulator, IntAccumulator, MacUnit
from . import vectors as V
from .vectors import CONVERT_SOURCES, OPS, ROUNDINGS, _spec

__all__ = ["add_subparser", "cmd_vectors"]

_EPILOG = """\
lines: A B [C] RESULT FLAGS in hex (TestFloat layout); FLAGS bits 01 inexact,
02 underflow, 04 overflow, 08 infinite, 10 invalid.  convert: A RESULT FLAGS;
dot: A0..A(k-1) B0..B(k-1) RESULT FLAGS; quantize: X0..X(n-1) SCALE E0..E(n-1) FLAGS.
examples:
  hwsim vectors --op mul --format float8_e4m3fn -r rne -o e4m3_mul_rne.txt
  hwsim vectors --op convert --src float32 --format e5m2 -r rtz --level 2
  hwsim vectors --op dot --a-format e4m3 --b-format e4m3 --acc float32 --k 8
  hwsim vectors --op mul --format float16 --check dut_results.txt
"""


def add_subparser(sub) -> None:


    sp = sub.add_parser("vectors", help="TestFloat-style test vectors (or --check a DUT's results)",
                        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("--op", required=True, choices=OPS, help="operation")
    sp.add_argument("--format", "-f", help="format of the operands and result (convert: the "
                    "result; quantize: an MX / NVFP4 block format)")
    sp.add_argument("--src", choices=CONVERT_SOURCES, default="float32",
                    help="source format of convert (default float32)")
    sp.add_argument("--rounding", "-r", default="rne", choices=ROUNDINGS,
                    help="rounding mode (default rne)")
    sp.add_argument("--level", type=int, choices=(1, 2), default=1,
                    help="corner-case level, as TestFloat's (default 1)")
    sp.add_argument("--random", type=int, default=200, metavar="N",
                    help="seeded random cases added (default 200)")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sp.add_argument("--overflow", default=None,
                    choices=["saturate", "saturate_finite_keep_inf", "special", "wrap"],
                    help="overflow policy (default: Inf/NaN where the format has them)")
    sp.add_argument("--tininess", default="after", choices=["after", "before"])
    sp.add_argument("--nan", default="x86", choices=["riscv", "x86", "arm"],
                    help="NaN result policy (default x86 = SoftFloat 8086-SSE)")
    sp.add_argument("--a-format", help="dot: MAC operand A format")
    sp.add_argument("--b-format", help="dot: MAC operand B format")
    sp.add_argument("--acc", help="dot: accumulator, a float format (e.g. float32) or intN")
    sp.add_argument("--k", type=int, default=4, help="dot: number of terms (default 4)")
    sp.add_argument("--output", "-o", help="write the vectors here (default: stdout)")
    sp.add_argument("--check", metavar="DUT_RESULTS",
                    help="check a DUT result file in the same layout instead of generating")
    sp.set_defaults(func=cmd_vectors)


def _mac(args):

    if not (args.a_format and args.b_format and args.acc):
        raise ValueError("--op dot needs --a-format, --b-format and --acc")
    acc = args.acc
    if acc.startswith("int") and acc[3:].isdigit():
        accu = IntAccumulator(int(acc[3:]))
    else:
        accu = FloatAccumulator(acc, rounding=args.rounding)
    return MacUnit(args.a_format, args.b_format, accumulator=accu)


def cmd_vectors(args) -> int:

    if args.op != "dot" and not args.format:
        raise ValueError(f"--op {args.op} needs --format")
    kw = dict(rounding=args.rounding, src=args.src if args.op == "convert" else None,
              mac=_mac(args) if args.op == "dot" else None, k=args.k, overflow=args.overflow,
              tininess=args.tininess, nan=args.nan)
    if args.check:
        rep = V.check(args.check, args.op, args.format, **kw)
        print(rep.text())
        return 0 if rep.ok else 1
    vs = V.generate(args.op, args.format, level=args.level, n_random=args.random, seed=args.seed,
                    **kw)
    if args.output:
        n = V.write(args.output, vs, args.op, args.format, **kw)
        print(f"wrote {n} lines to {args.output}", file=sys.stderr)
    else:

        sp = _spec(args.op, args.format, args.rounding, kw["src"], kw["mac"], args.k,
                   args.overflow, args.tininess, args.nan)
        wd = sp.widths()
        sys.stdout.write("".join(V.format_line(v, wd) + "\n" for v in vs))
    return 0
