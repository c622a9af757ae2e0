"""Hypothesis strategies for MAC-unit configurations, plus reference helpers.

Property-test your own dot-product kernels against :mod:`hwsim.reference.mac`:
>>> from hypothesis import given, settings
>>> from hwsim.testing.mac_strategies import mac_units, mac_problems, reference_dot
>>> @settings(max_examples=5, deadline=None)
... @given(mac_problems(mac_units(kinds=("int",), with_tiling=False), max_k=6))
... def test_mine(problem):
...     mac, a, b, bias, za, zb = problem
...     ref = reference_dot(a[0], b[:, 0], mac, None if bias is None else bias[0], za, zb)
...     assert ref.code >= 0            # compare your kernel's code here
>>> test_mine()

What ``mac_problems`` draws: docs/architecture.md, "Testing tools".
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from hwsim.formats import FloatFormat
from hwsim.formats import format as parse_format
from hwsim.mac.accumulators import (
    ROUNDINGS,
    FixedAccumulator,
    FloatAccumulator,
    FusedMultiTermAccumulator,
    IntAccumulator,
)
from hwsim.mac.config import Chunked, MacUnit, Sequential, Tiles, Tree
from hwsim.reference import mac as _ref_mac

__all__ = ["FLOAT_OPERANDS", "INT_OPERANDS", "FLOAT_REGISTERS", "operand_formats",
           "float_accumulators", "int_accumulators", "fixed_accumulators",
           "multi_accumulators", "accumulators", "orders", "tilings", "mac_units",
           "mac_problems", "reference_dot", "reference_matmul"]

#: float operand formats drawn by default (8-bit and 16-bit, every specials kind)
FLOAT_OPERANDS = ("float8_e4m3fn", "float8_e5m2", "float8_e3m4", "float8_e4m3fnuz",
                  "float6_e2m3fn", "float4_e2m1fn", "float16", "bfloat16", "binary8p3se",
                  "e4m3_b4_nosub")
#: integer / fixed operand formats drawn by default
INT_OPERANDS = ("int8", "uint8", "int4", "uint4", "int2", "int16", "fixed8.3", "ufixed6.2")
#: register formats of float accumulators, psums and products
FLOAT_REGISTERS = ("float32", "float16", "bfloat16", "e5m4", "e6m9", "e8m13", "e4m3",
                   "e3m4", "float8_e4m3fn", "e5m2")


def _fmt(name):
    if name == "e4m3_b4_nosub":
        return FloatFormat(4, 3, bias=4, subnormals=False)
    return parse_format(name)


def operand_formats(kind: str = "any"):
    """Operand formats: kind "float", "int" or "any"."""
    names = {"float": FLOAT_OPERANDS, "int": INT_OPERANDS,
             "any": FLOAT_OPERANDS + INT_OPERANDS}[kind]
    return st.sampled_from(names).map(_fmt)


def float_accumulators(registers=FLOAT_REGISTERS, allow_error: bool = False):
    def build(fmt, rounding, fused, ovf):
        f = _fmt(fmt)
        choices = ["saturate"] + (["special"] if (f.has_inf or f.has_nan) else [])
        if f.has_inf:
            choices.append("saturate_finite_keep_inf")
        if allow_error:
            choices.append("error")
        return FloatAccumulator(f, rounding, fused, choices[ovf % len(choices)])
    return st.builds(build, st.sampled_from(registers), st.sampled_from(ROUNDINGS),
                     st.booleans(), st.integers(0, 7))


def int_accumulators(min_bits: int = 2, max_bits: int = 64, allow_error: bool = False):
    ovf = ("wrap", "saturate", "error") if allow_error else ("wrap", "saturate")
    return st.builds(IntAccumulator, st.integers(min_bits, max_bits), st.sampled_from(ovf))


def fixed_accumulators(max_width: int = 400, allow_error: bool = False):
    ovf = ("wrap", "saturate", "error") if allow_error else ("wrap", "saturate")
    return st.builds(_fixed, st.integers(2, max_width), st.integers(-8, 300),
                     st.sampled_from(("truncate",) + ROUNDINGS), st.sampled_from(ovf))


def _fixed(width, frac, below, ovf):
    frac = min(frac, width - 1)
    return FixedAccumulator(width - frac, frac, below, ovf)


def multi_accumulators(registers=("float32", "float16", "bfloat16", "e5m4")):
    return st.builds(FusedMultiTermAccumulator, st.integers(1, 9), st.integers(0, 30),
                     st.sampled_from(("truncate", "sticky", "round")),
                     st.sampled_from(("joint", "late")), st.sampled_from(ROUNDINGS),
                     st.sampled_from(registers).map(_fmt))


def accumulators(kinds=("int", "fixed", "float", "multi")):
    opts = {"int": int_accumulators(), "fixed": fixed_accumulators(),
            "float": float_accumulators(), "multi": multi_accumulators()}
    return st.one_of(*[opts[k] for k in kinds])


def orders(acc, int_products: bool):
    outer = [float_accumulators(("float32", "float16", "bfloat16", "e6m9")), fixed_accumulators()]
    if int_products:
        outer.append(int_accumulators(8, 64))
    choices = [st.just(Sequential()),
               st.builds(Chunked, st.integers(1, 7), st.one_of(*outer))]
    if not isinstance(acc, FusedMultiTermAccumulator):
        choices.append(st.builds(Tree, st.integers(2, 5)))
    return st.one_of(*choices)


def _psum_formats(int_products: bool):
    names = ["float16", "bfloat16", "e5m4", "float8_e4m3fn", "e4m3", "int12", "int8",
             "fixed12.4", "int16"]
    return st.sampled_from(names).map(_fmt)


def tilings(int_products: bool, top_int: bool):
    def build(T, fmt, rnd, mode, ov, adder):
        choices = ["saturate"] + (["wrap"] if fmt.kind != "float" else
                                  (["special"] if (fmt.has_inf or fmt.has_nan) else []))
        ovf = choices[ov % len(choices)]
        if mode == "reload":
            adder = None
        return Tiles(T, fmt, rnd, mode, ovf, adder)
    adders = [st.none(), float_accumulators(("float32", "float16", "e6m9")), fixed_accumulators()]
    if int_products:
        adders.append(int_accumulators(8, 64))
    return st.one_of(st.none(), st.builds(build, st.integers(1, 6), _psum_formats(int_products),
                                          st.sampled_from(ROUNDINGS),
                                          st.sampled_from(("reload", "separate")),
                                          st.integers(0, 3), st.one_of(*adders)))


@st.composite
def mac_units(draw, kinds=("int", "fixed", "float", "multi"), operand_kind: str = "any",
              with_order: bool = True, with_tiling: bool = True, with_product: bool = True):
    """Valid MacUnit configurations (no overflow='error' units)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        a = draw(operand_formats("int"))
        b = draw(operand_formats("int"))
    else:
        a = draw(operand_formats(operand_kind))
        b = draw(operand_formats(operand_kind))
    product = None
    if with_product and draw(st.integers(0, 3)) == 0:
        if a.kind != "float" and b.kind != "float":
            product = draw(st.sampled_from(["int12", "int16", "int8"]).map(_fmt))
        elif kind != "int":
            product = draw(st.sampled_from(["float16", "bfloat16", "e5m4", "float32"]).map(_fmt))
    int_products = (product.kind != "float") if product is not None else \
        (a.kind != "float" and b.kind != "float")
    if kind == "int" and not int_products:
        kind = "fixed"
    acc = draw({"int": int_accumulators(), "fixed": fixed_accumulators(),
                "float": float_accumulators(), "multi": multi_accumulators()}[kind])
    order = draw(orders(acc, int_products)) if with_order else Sequential()
    top = order.outer_accumulator if isinstance(order, Chunked) else acc
    tiling = draw(tilings(int_products, isinstance(top, IntAccumulator))) if with_tiling else None
    prounding = draw(st.sampled_from(ROUNDINGS))
    povf = None
    if product is not None:
        povf = draw(st.sampled_from(["saturate"] + (["wrap"] if product.kind != "float" else
                                                    ["special"])))
    return MacUnit(a, b, product, acc, order, tiling, draw(st.sampled_from(("init", "final"))),
                   None, prounding, povf)


def _codes(fmt, shape, draw):
    return np.array(draw(st.lists(st.integers(0, (1 << fmt.bits) - 1), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape))))).reshape(shape).astype(fmt.code_dtype)


def _bias_strategy(mac: MacUnit):
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    if isinstance(acc, (IntAccumulator, FixedAccumulator)):
        w = acc.bits if isinstance(acc, IntAccumulator) else acc.width
        lim = 1 << (min(w, 63) - 1)
        return st.integers(-lim, lim - 1)
    fmt = acc.fmt if isinstance(acc, FloatAccumulator) else acc.out_fmt

    def val(code):
        v = fmt.decode_exact(code)
        if isinstance(v, float):
            return v
        if v == 0 and fmt.has_negzero and code & fmt.sign_bit:
            return -0.0
        return float(v)
    return st.integers(0, (1 << fmt.bits) - 1).filter(
        lambda c: fmt.classify(c) not in ("nan",)).map(val)


@st.composite
def mac_problems(draw, units=None, max_m: int = 3, max_n: int = 3, max_k: int = 12):
    """(mac, a_codes, b_codes, bias, a_zero_point, b_zero_point)."""
    mac = draw(units if units is not None else mac_units())
    m = draw(st.integers(1, max_m))
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(0, max_k))
    a = _codes(mac.a_fmt, (m, k), draw)
    b = _codes(mac.b_fmt, (k, n), draw)
    bias = None
    if draw(st.booleans()):
        bias = np.array(draw(st.lists(_bias_strategy(mac), min_size=n, max_size=n)))
        if bias.dtype.kind == "f":
            bias = bias.astype(np.float64)
        else:
            bias = bias.astype(np.int64)
    za = zb = 0
    if mac.a_fmt.kind != "float" and draw(st.booleans()):
        za = draw(st.integers(mac.a_fmt.min_int, mac.a_fmt.max_int))
    if mac.b_fmt.kind != "float" and draw(st.booleans()):
        zb = draw(st.integers(mac.b_fmt.min_int, mac.b_fmt.max_int))
    return mac, a, b, bias, za, zb


def _items(x):
    """Codes as Python ints, or a BlockTensor's exact values as floats."""
    if hasattr(x, "values") and hasattr(x, "scales"):
        return np.asarray(x.values(), dtype=np.float64)
    return np.asarray(x)


def reference_dot(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point: int = 0,
                  b_zero_point: int = 0) -> _ref_mac.MacRefResult:
    """The exact reference result of one dot product (codes in, code + stats out);
    block-format operands: BlockTensors or their values."""
    a, b = _items(a_codes), _items(b_codes)
    conv = (lambda v: float(v)) if a.dtype.kind == "f" else int
    convb = (lambda v: float(v)) if b.dtype.kind == "f" else int
    return _ref_mac.mac_dot([conv(c) for c in a.reshape(-1)], [convb(c) for c in b.reshape(-1)],
                            mac, bias, a_zero_point, b_zero_point)


def reference_matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0,
                     b_zero_point=0):
    """[[MacRefResult]] of a 2-D matmul (zero points scalar or per row / column);
    block-format operands: BlockTensors (blocked along K) or their values."""
    a = _items(a_codes)
    b = _items(b_codes)
    return _ref_mac.mac_matmul(a.tolist(), b.tolist(), mac,
                               None if bias is None else list(np.atleast_1d(bias)),
                               a_zero_point if np.ndim(a_zero_point) == 0 else list(a_zero_point),
                               b_zero_point if np.ndim(b_zero_point) == 0 else list(b_zero_point),
                               n=b.shape[1])

