"""Accumulator kinds: what each class states about itself (register, range, C
spec, limits), the default register of a MacUnit, and the dict registry."""
import json

import numpy as np
import pytest

import hwsim
from hwsim.errors import OverflowValueError, UnsupportedModeError
from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator,
                       IntAccumulator, MacUnit, Tiles, dot, kulisch, matmul)
from hwsim.mac.accumulators import ACCUMULATOR_TYPES, accumulator_from_dict
from hwsim.testing.mac_strategies import reference_matmul


def _int8_codes(values):
    return np.asarray(values, dtype=np.int64).astype(np.int8).view(np.uint8)


def test_int_operands_without_accumulator_get_an_exact_int64_register():
    # issue 13: 4096 products 127 * 127 and one 1 * 1 sum to 66064385 exactly; a float32
    # register (the old default) returned 66061328
    mac = MacUnit("int8", "int8")
    assert mac.accumulator == IntAccumulator(64, overflow="error")
    a = _int8_codes([127] * 4096 + [1])
    res = dot(a, a, mac)
    assert int(res.values) == 66064385 == 127 * 127 * 4096 + 1
    assert res.fmt is None and res.width == 64
    ref = reference_matmul(a[None, :], a[:, None], mac)[0][0]
    assert ref.value == 66064385
    # the same sum through matmul (fast paths may serve it): the same value
    assert int(matmul(a[None, :], a[:, None], mac).values[0, 0]) == 66064385
    old = MacUnit("int8", "int8", accumulator=FloatAccumulator("float32"))
    assert float(dot(a, a, old).values) == 66061328.0  # what the float32 default gave


def test_default_int64_register_raises_instead_of_wrapping():
    # int32 x int32: four products (-2^31)^2 = 2^62 exceed int64: an error, not a wrong sum
    mac = MacUnit("int32", "int32")
    a = np.full(4, 1 << 31, dtype=np.uint32)  # int32 code of -2^31
    with pytest.raises(OverflowValueError, match="accumulator overflowed"):
        dot(a, a, mac)
    assert int(dot(a[:1], a[:1], mac).values) == 1 << 62


def test_default_register_of_float_or_fixed_products():
    assert MacUnit("float8_e4m3fn", "int8").accumulator == FloatAccumulator("float32")
    assert MacUnit("int8", "int8", product="float16").accumulator == FloatAccumulator("float32")
    fx = MacUnit("fixed8.4", "int8")
    assert fx.accumulator == IntAccumulator(64, "error") and fx.product_frac_bits == 4
    d = json.loads(json.dumps(MacUnit("int4", "uint8").to_dict()))
    assert MacUnit.from_dict(d) == MacUnit("int4", "uint8")


def test_registers_and_value_ranges():
    mac = MacUnit("fixed8.2", "int8", accumulator=IntAccumulator(20))
    reg = mac.accumulator.register(mac)
    assert reg.fixed and (reg.frac_bits, reg.width) == (2, 20)
    assert mac.accumulator.value_range(mac) == (-2, 18)
    fx = FixedAccumulator(10, 6)
    assert fx.register(mac) == (None, 6, 16) and fx.value_range(mac) == (-6, 10)
    f16 = FloatAccumulator("float16")
    assert not f16.register(mac).fixed and f16.register(mac).fmt == hwsim.format("float16")
    assert f16.value_range(mac) == (-24, 16)
    multi = FusedMultiTermAccumulator(4, 23)
    assert multi.register(mac).fmt == hwsim.format("float32")
    assert (fx.out_limbs(), FixedAccumulator(100, 20).out_limbs()) == (1, 2)
    assert [a.integer for a in (IntAccumulator(8), fx, f16, multi)] == [True, True, False, False]


def test_limits_and_roles_stated_by_the_classes():
    assert kulisch("int8", "int8", 32).terms_limit() == 32
    assert IntAccumulator(32).terms_limit() is None
    multi = FusedMultiTermAccumulator(4, 23, rounding="rtz", out_fmt="float16")
    assert multi.as_psum_adder() == FloatAccumulator("float16", "rtz", True)
    with pytest.raises(UnsupportedModeError, match="outer_accumulator cannot be"):
        Chunked(4, multi)
    with pytest.raises(TypeError, match="psum_adder must be"):
        Tiles(4, "float16", mode="separate", psum_adder=multi)
    with pytest.raises(hwsim.FormatError, match="IntAccumulator needs integer/fixed products"):
        MacUnit("float8_e4m3fn", "int8", accumulator=IntAccumulator(32))


def test_every_kind_loads_from_its_dict():
    accs = [IntAccumulator(12, "saturate"), kulisch("float8_e5m2", "int4", 9),
            FloatAccumulator("bfloat16", "rtz", False), FusedMultiTermAccumulator(8, 24)]
    assert sorted(ACCUMULATOR_TYPES) == sorted(type(a).__name__ for a in accs)
    for acc in accs:
        assert accumulator_from_dict(json.loads(json.dumps(acc.to_dict()))) == acc
    with pytest.raises(ValueError, match="unknown accumulator type 'Abacus'"):
        accumulator_from_dict({"type": "Abacus"})
