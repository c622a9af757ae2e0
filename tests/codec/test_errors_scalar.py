"""Every invalid parameter of the scalar API raises a ValueError / TypeError
subclass whose message names the parameter, its allowed range and the value.

Each case lists message fragments that must all appear (plain substrings).
"""
from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim import FixedFormat, FloatFormat, IntFormat
from hwsim.errors import (FormatError, HwsimError, NaNInputError, OverflowValueError,
                          UnsupportedModeError)

pytestmark = pytest.mark.native  # rerun by make test-asan

ONES = np.ones(4)
F16 = "float16"


def _enc(**kw):
    return lambda: hwsim.encode(ONES, F16, **kw)


def _sr(**kw):
    return lambda: hwsim.encode(ONES, F16, rounding="sr", **{"sr_bits": 4, **kw})


CASES = {
    # ---- FloatFormat parameters
    "exp_bits=0": (lambda: FloatFormat(0, 3), FormatError, ["exp_bits", "[1, 11]", "0"]),
    "exp_bits=12": (lambda: FloatFormat(12, 3), FormatError, ["exp_bits", "[1, 11]", "12"]),
    "exp_bits float": (lambda: FloatFormat(5.0, 2), FormatError, ["exp_bits", "integer", "5.0"]),
    "man_bits=-1": (lambda: FloatFormat(5, -1), FormatError, ["man_bits", "[0, 52]", "-1"]),
    "man_bits=53": (lambda: FloatFormat(5, 53), FormatError, ["man_bits", "[0, 52]", "53"]),
    "bias out of range": (lambda: FloatFormat(5, 2, bias=10**6), FormatError,
                          ["bias", "[-4096, 4096]", "1000000"]),
    "bias not int": (lambda: FloatFormat(5, 2, bias=1.5), FormatError, ["bias", "integer", "1.5"]),
    # bias=1100 with E=8, M=10: smallest value 2**(1 - 1100 - 10) < 2**-1074 (float64's
    # smallest subnormal), so not float64-exact; the valid range is [254 - 1023, 1075 - 10]
    "bias below float64": (lambda: FloatFormat(8, 10, bias=1100), FormatError,
                           ["bias must be in [-769, 1065]", "bias=1100", "float64"]),
    # bias=-900: largest exponent 254 + 900 > 1023
    "bias above float64": (lambda: FloatFormat(8, 10, bias=-900), FormatError,
                           ["bias must be in [-769, 1065]", "bias=-900", "float64"]),
    # 11 exponent bits with a finite top exponent and 52 mantissa bits fit no bias
    "no bias fits": (lambda: FloatFormat(11, 52, specials="finite"), FormatError,
                     ["no bias", "man_bits <= 51", "float64"]),
    "specials": (lambda: FloatFormat(5, 2, specials="nan"), FormatError,
                 ["specials", "'ieee'", "'fnuz'", "'nan'"]),
    "subnormals not bool": (lambda: FloatFormat(5, 2, subnormals=1), FormatError,
                            ["subnormals", "bool", "1"]),
    "ieee needs 2 exp bits": (lambda: FloatFormat(1, 3), FormatError, ["exp_bits >= 2", "ieee"]),
    "fnuz needs sign": (lambda: FloatFormat(4, 3, specials="fnuz", signed=False), FormatError,
                        ["signed=True", "fnuz"]),
    "e8m0 layout": (lambda: FloatFormat(8, 1, specials="e8m0", signed=False, subnormals=False),
                    FormatError, ["e8m0", "man_bits=0"]),
    "p3109 p > k-1": (lambda: hwsim.p3109(8, 8), FormatError, ["p", "[1, 7]", "8"]),
    "p3109 domain": (lambda: hwsim.p3109(8, 3, "huge"), FormatError,
                     ["domain", "'extended'", "'finite'", "'huge'"]),
    # ---- IntFormat / FixedFormat
    "IntFormat(65)": (lambda: IntFormat(65), FormatError, ["bits", "[1, 64]", "65"]),
    "IntFormat(0)": (lambda: IntFormat(0), FormatError, ["bits", "[1, 64]", "0"]),
    "FixedFormat(65, 3)": (lambda: FixedFormat(65, 3), FormatError, ["bits", "[1, 64]", "65"]),
    "FixedFormat frac_bits": (lambda: FixedFormat(8, 5000), FormatError,
                              ["frac_bits", "[-1000, 1000]", "5000"]),
    # ---- names
    "unknown name": (lambda: hwsim.format("float7_e3m3"), FormatError,
                     ["unknown format name", "'float7_e3m3'", "float8_e4m3fn", "bfloat16",
                      "intN"]),
    "name with bad field": (lambda: hwsim.format("e12m3"), FormatError, ["exp_bits", "[1, 11]", "12"]),
    "format spec type": (lambda: hwsim.format(3.5), TypeError, ["format spec", "str", "float"]),
    "int width in name": (lambda: hwsim.format("int65"), FormatError, ["bits", "[1, 64]", "65"]),
    # ---- decode
    "code too large": (lambda: hwsim.decode(np.array([3, 256], np.uint16), "float8_e4m3fn"),
                       ValueError, ["codes", "[0, 255]", "codes[1] = 256"]),
    "code too large fp6": (lambda: hwsim.decode(np.array([64], np.uint8), "float6_e2m3fn"),
                           ValueError, ["codes", "[0, 63]", "64"]),
    "code too large int4": (lambda: hwsim.decode(np.array([0, 1, 16], np.uint8), "int4"),
                            ValueError, ["codes", "[0, 15]", "codes[2] = 16"]),
    "negative code": (lambda: hwsim.decode(np.array([0, -1]), "float8_e4m3fn"), ValueError,
                      ["codes", "[0, 255]", "-1"]),
    "float codes": (lambda: hwsim.decode(np.array([1.0]), "float8_e4m3fn"), TypeError,
                    ["codes", "integer", "float64"]),
    "bool codes": (lambda: hwsim.decode(np.array([True]), "float8_e4m3fn"), TypeError,
                   ["codes", "integer", "bool"]),
    # ---- input dtypes
    "complex x": (lambda: hwsim.encode(np.array([1 + 2j]), F16), TypeError,
                  ["x", "real float or integer", "complex128"]),
    "string x": (lambda: hwsim.encode(np.array(["1.0"]), F16), TypeError,
                 ["x", "real float or integer", "<U3"]),
    "string scalar x": (lambda: hwsim.encode("1.0", F16), TypeError, ["x", "real float"]),
    "bool x": (lambda: hwsim.encode(np.array([True, False]), F16), TypeError,
               ["x", "real float or integer", "bool"]),
    "object x": (lambda: hwsim.encode(np.array([object()]), F16), TypeError, ["x", "object"]),
    "int x beyond 2**53": (lambda: hwsim.encode(np.array([2**60]), F16), ValueError,
                           ["x", "2**53"]),
    "quantize complex": (lambda: hwsim.quantize(np.array([1j]), F16), TypeError, ["x", "complex"]),
    # ---- modes and policies
    "rounding": (_enc(rounding="nearest"), ValueError, ["rounding", "'rne'", "'rto'", "'nearest'"]),
    "rounding type": (_enc(rounding=3.0), ValueError, ["rounding", "'rne'", "3.0"]),
    "overflow": (_enc(overflow="clamp"), ValueError, ["overflow", "'saturate'", "'clamp'"]),
    "tininess": (_enc(tininess="during"), ValueError, ["tininess", "'after'", "'during'"]),
    "special on finite-only": (lambda: hwsim.encode(ONES, "float4_e2m1fn", overflow="special"),
                               UnsupportedModeError, ["overflow='special'", "float4_e2m1fn",
                                                      "saturate"]),
    "wrap on float": (_enc(overflow="wrap"), UnsupportedModeError,
                      ["overflow='wrap'", "int/fixed", "saturate"]),
    "special on int": (lambda: hwsim.encode(ONES, "int8", overflow="special"),
                       UnsupportedModeError, ["overflow", "int8", "saturate, wrap, error",
                                              "'special'"]),
    "nan code range": (lambda: hwsim.encode(ONES, "float4_e2m1fn", nan=16), ValueError,
                       ["nan", "[0, 15]", "16"]),
    "nan policy": (lambda: hwsim.encode(ONES, "float4_e2m1fn", nan="zero"), ValueError,
                   ["nan", "'error'", "integer", "'zero'"]),
    "return_flags": (_enc(return_flags="yes"), ValueError, ["return_flags", "'elementwise'", "'yes'"]),
    # ---- stochastic rounding
    "sr without sr_bits": (_enc(rounding="sr"), ValueError, ["sr_bits", "1..32"]),
    "sr_bits=0": (_sr(sr_bits=0), ValueError, ["sr_bits", "[1, 32]", "0"]),
    "sr_bits=33": (_sr(sr_bits=33), ValueError, ["sr_bits", "[1, 32]", "33"]),
    "sr_bits not int": (_sr(sr_bits=4.0), ValueError, ["sr_bits", "[1, 32]", "4.0"]),
    "sr_bits without sr": (_enc(sr_bits=4), ValueError, ["sr_bits", "rounding='sr'"]),
    "rand shape": (_sr(rand=np.zeros(5, np.uint32)), ValueError, ["rand", "(4,)", "(5,)"]),
    "rand dtype": (_sr(rand=np.zeros(4, np.int64)), TypeError, ["rand", "uint32", "int64"]),
    "rand not array": (_sr(rand=[0, 0, 0, 0]), TypeError, ["rand", "numpy array", "list"]),
    "rand without sr": (_enc(rand=np.zeros(4, np.uint32)), ValueError, ["rand", "rounding='sr'"]),
    "seed negative": (_sr(seed=-1), ValueError, ["seed", "[0, 2**64)", "-1"]),
    "seed too big": (_sr(seed=2**64), ValueError, ["seed", "[0, 2**64)", str(2**64)]),
    "index0 negative": (_sr(index0=-1), ValueError, ["index0", ">= 0", "-1"]),
    "index0 float": (_sr(index0=1.0), ValueError, ["index0", "integer", "1.0"]),
    # ---- threads
    "threads=0": (_enc(threads=0), ValueError, ["threads", ">= 1", "0"]),
    "threads float": (_enc(threads=1.5), ValueError, ["threads", ">= 1", "1.5"]),
    "threads bool": (_enc(threads=True), ValueError, ["threads", ">= 1", "True"]),
    "decode threads": (lambda: hwsim.decode(np.zeros(3, np.uint16), F16, threads=-2), ValueError,
                       ["threads", ">= 1", "-2"]),
    "random_bits n": (lambda: hwsim.codec.random_bits(-1), ValueError, ["n", ">= 0", "-1"]),
    # ---- block keywords on a scalar format
    "unknown keyword": (lambda: hwsim.encode(ONES, F16, axis=0), TypeError, ["axis", "float16"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_invalid_parameter_message(case):
    call, exc, fragments = CASES[case]
    with pytest.raises(exc) as info:
        call()
    err = info.value
    assert isinstance(err, (ValueError, TypeError))
    msg = str(err)
    missing = [f for f in fragments if f not in msg]
    assert not missing, f"message {msg!r} lacks {missing}"


def test_hwsim_errors_are_value_errors():
    for cls in (FormatError, UnsupportedModeError, OverflowValueError, NaNInputError):
        assert issubclass(cls, ValueError) and issubclass(cls, HwsimError)


def test_runtime_errors_name_the_element():
    # overflow='error': the message names the first overflowing element's index
    with pytest.raises(OverflowValueError, match=r"element 2 overflows.*overflow='error'"):
        hwsim.encode(np.array([1.0, 2.0, 1e6, 1e7]), F16, overflow="error")
    with pytest.raises(OverflowValueError, match="element 1"):
        hwsim.encode(np.array([1.0, 300.0]), "int8", overflow="error")
    # NaN into a format without NaN: index and the way out (nan=<code>)
    with pytest.raises(NaNInputError, match=r"element 1 is NaN.*nan=<code>"):
        hwsim.encode(np.array([1.0, np.nan]), "float4_e2m1fn")
    # the element index is global, also when the array is split over threads
    x = np.ones(300_000)
    x[250_001] = 1e9
    with pytest.raises(OverflowValueError, match="element 250001 "):
        hwsim.encode(x, F16, overflow="error", threads=2)


def test_env_thread_count_is_validated(monkeypatch):
    monkeypatch.setenv("HWSIM_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="HWSIM_NUM_THREADS.*positive integer.*'many'"):
        hwsim.encode(ONES, F16)
    monkeypatch.setenv("HWSIM_NUM_THREADS", "0")
    with pytest.raises(ValueError, match="HWSIM_NUM_THREADS.*>= 1.*0"):
        hwsim.encode(ONES, F16)


def test_invalid_parameter_leaves_no_partial_result():
    # validation happens before any kernel runs: a bad option on a valid array
    # raises and nothing is returned or cached
    x = np.arange(-8, 9) / 4.0  # exact in float16
    with pytest.raises(ValueError):
        hwsim.encode(x, F16, rounding="sr", sr_bits=4, rand=np.zeros(3, np.uint32))
    assert np.array_equal(hwsim.quantize(x, F16), x)  # still works afterwards


def test_issue_2_p3109_k2_extended_rejected():
    # binary2p1se would have no finite value but 0: a saturated -overflow would be the NaN code
    with pytest.raises(hwsim.FormatError, match="k >= 3"):
        hwsim.p3109(2, 1)
    assert hwsim.p3109(2, 1, "finite").bits == 2


def test_block_format_rejects_scalar_only_options():
    x = np.zeros(32)
    with pytest.raises(hwsim.UnsupportedModeError, match="overflow"):
        hwsim.encode(x, "mxfp4", overflow="saturate")
    with pytest.raises(TypeError, match="needs fmt"):
        hwsim.decode(np.zeros(3, np.uint8))
