"""The per-call shortcuts of the integer fast paths (int_dot, int_wrap, int_steps) give
exactly what the general engine gives: the one-pass code check reports a bad code as
before, the A2Q bounds cached with packed weights follow weights changed in place, and
MacStats fields widened on first read have the documented dtypes and values (also
through pickle, copy, dataclasses and matmul_summary)."""
import copy
import dataclasses
import pickle

import numpy as np
import pytest

from hwsim.mac import IntAccumulator, MacUnit, matmul
from hwsim.mac.api import matmul_summary
from hwsim.mac.operands import _check_codes
from hwsim.formats import IntFormat

pytestmark = [pytest.mark.native]

FIELDS = ("overflow_events_per_output", "psum_overflow_events_per_output",
          "max_abs_partial_per_output", "bits_needed_per_output", "a2q_l1_bits")
DTYPES = dict(overflow_events_per_output=np.int64, psum_overflow_events_per_output=np.int64,
              max_abs_partial_per_output=np.float64, bits_needed_per_output=np.int64,
              a2q_l1_bits=np.int64)


def _operands(seed, m=37, k=520, n=50):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (m, k), dtype=np.uint8),
            rng.integers(0, 256, (k, n), dtype=np.uint8))


def _assert_same(got, want):
    assert np.array_equal(got.values, want.values)
    assert got.values.dtype == want.values.dtype == np.int64
    assert np.array_equal(got.codes, want.codes) and got.codes.dtype == want.codes.dtype
    for f in FIELDS:
        g, w = getattr(got.stats, f), getattr(want.stats, f)
        assert isinstance(g, np.ndarray) and g.dtype == DTYPES[f], (f, type(g))
        assert g.shape == w.shape and np.array_equal(g, w), f
    for f in ("worst_case_bits", "a2q_bits", "overflow_events", "psum_overflow_events",
              "max_abs_partial", "bits_needed"):
        assert getattr(got.stats, f) == getattr(want.stats, f), f
    assert np.array_equal(got.stats.overflow_events_per_column,
                          want.stats.overflow_events_per_column)


CASES = [("uint8", 4, 32, "wrap", "int_dot"), ("int8", 4, 20, "saturate", "int_dot"),
         ("int8", 4, 14, "saturate", "int_dot"),
         ("uint8", 1, 32, "wrap", "int_steps"), ("int8", 1, 12, "saturate", "int_steps"),
         ("fixed8.4", 1, 24, "saturate", "int_steps"), ("fixed8.4", 8, 16, "wrap", "int_dot")]


@pytest.mark.parametrize("a_fmt,fan_in,bits,overflow,path", CASES)
def test_fast_stats_match_general(a_fmt, fan_in, bits, overflow, path):
    a, b = _operands(1)
    mac = MacUnit(a_fmt, "int8", accumulator=IntAccumulator(bits, overflow, fan_in))
    got = matmul(a, b, mac, threads=1)
    assert got.path == path
    want = matmul(a, b, mac, path="general")
    _assert_same(got, want)
    assert got.stats.overflow_events > 0 or bits > 16  # narrow registers do overflow here
    # matmul_summary reduces the kernel's arrays before any widening
    res, summ = matmul_summary(a, b, mac, threads=1)
    assert res.path == path and res.stats is None
    assert np.array_equal(summ["overflow_events_per_column"],
                          want.stats.overflow_events_per_column)
    assert summ["overflow_events_per_column"].dtype == np.int64
    assert summ["max_abs_partial"] == want.stats.max_abs_partial
    assert type(summ["max_abs_partial"]) is float
    assert summ["bits_needed"] == want.stats.bits_needed


@pytest.mark.parametrize("a_fmt,fan_in,bits,overflow,path", CASES[:3])
def test_batched_b_stats_match_general(a_fmt, fan_in, bits, overflow, path):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (2, 9, 300), dtype=np.uint8)
    b = rng.integers(0, 256, (2, 300, 20), dtype=np.uint8)
    mac = MacUnit(a_fmt, "int8", accumulator=IntAccumulator(bits, overflow, fan_in))
    got = matmul(a, b, mac, threads=1)
    assert got.path == path
    _assert_same(got, matmul(a, b, mac, path="general"))


def test_deferred_stats_pickle_copy_and_dataclass():
    a, b = _operands(3)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "saturate"))
    want = matmul(a, b, mac, path="general").stats
    for make in (lambda s: pickle.loads(pickle.dumps(s)), copy.copy, copy.deepcopy,
                 lambda s: dataclasses.replace(s), lambda s: s):
        st = matmul(a, b, mac, threads=1).stats
        got = make(st)
        assert type(got) is type(want)
        for f in FIELDS:
            assert np.array_equal(getattr(got, f), getattr(want, f)), f
            assert getattr(got, f).dtype == DTYPES[f]
        d = dataclasses.asdict(got)
        assert set(d) == {f.name for f in dataclasses.fields(want)}
        assert np.array_equal(got.to_dict()["bits_needed_per_output"],
                              want.bits_needed_per_output)
        assert repr(got) == repr(want)
    st = matmul(a, b, mac, threads=1).stats
    assert st.overflow_events_per_output is st.overflow_events_per_output  # computed once
    with pytest.raises(AttributeError, match="'MacStats' object has no attribute 'nope'"):
        _ = st.nope


def test_values_on_first_access_and_narrow_codes():
    a, b = _operands(4)
    for bits, code_dtype in ((32, np.uint32), (20, np.uint32), (12, np.uint16), (8, np.uint8)):
        mac = MacUnit("uint8", "int8", accumulator=IntAccumulator(bits, "wrap", 4))
        for stats in (True, False):
            got = matmul(a, b, mac, stats=stats, threads=1)
            want = matmul(a, b, mac, stats=stats, path="general")
            assert got.path == ("int_dot" if stats else "int_wrap")
            assert got.codes.dtype == want.codes.dtype == code_dtype
            assert np.array_equal(got.codes, want.codes)
            assert got.values.dtype == np.int64 and np.array_equal(got.values, want.values)
            assert got.values is got.values


@pytest.mark.parametrize("fan_in,path", [(4, "int_dot"), (1, "int_steps")])
def test_cached_a2q_bounds_follow_weights_changed_in_place(fan_in, path):
    a, b = _operands(5, m=6, k=400, n=40)
    mac = MacUnit("uint8", "int8", accumulator=IntAccumulator(32, "wrap", fan_in))
    first = matmul(a, b, mac, threads=1)
    again = matmul(a, b, mac, threads=1)  # packed weights reused
    assert first.path == again.path == path
    assert np.array_equal(first.stats.a2q_l1_bits, again.stats.a2q_l1_bits)
    again.stats.a2q_l1_bits[:] = 0  # the caller's copy: the cache is not affected
    b[:, 7] = 0x80                  # column 7 now all -128: its l1 grows
    got = matmul(a, b, mac, threads=1)
    want = matmul(a, b, mac, path="general")
    _assert_same(got, want)
    assert got.stats.a2q_l1_bits[7] > first.stats.a2q_l1_bits[7]
    assert np.array_equal(matmul(a, b, mac, threads=1).stats.a2q_l1_bits,
                          want.stats.a2q_l1_bits)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, ">i4", "<i2"])
@pytest.mark.parametrize("bits", [4, 7, 8, 15, 16])
def test_one_pass_code_check_reports_the_first_bad_code(dtype, bits):
    f = IntFormat(bits)
    dt = np.dtype(dtype)
    hi = min((1 << bits) - 1, np.iinfo(dt).max)
    ok = np.array([[0, hi, 1], [hi // 2, 0, hi]], dt)
    _check_codes(ok, f, "a_codes")
    _check_codes(ok[:, ::2], f, "a_codes")  # strided
    neg = ok.copy()
    neg[1, 1] = -1
    with pytest.raises(ValueError, match=r"a_codes\[1, 1\] = -1 is not a code of "
                       rf"{f.name} \(codes are < 2\*\*{bits}\)"):
        _check_codes(neg, f, "a_codes")
    neg[0, 2] = np.iinfo(dt).min
    with pytest.raises(ValueError, match=rf"a_codes\[0, 2\] = {np.iinfo(dt).min} is not"):
        _check_codes(neg, f, "a_codes")
    if (1 << bits) <= np.iinfo(dt).max:
        big = ok.copy()
        big[0, 1] = 1 << bits
        with pytest.raises(ValueError, match=rf"a_codes\[0, 1\] = {1 << bits} is not a code"):
            _check_codes(big, f, "a_codes")


def test_matmul_reports_a_negative_code_in_a_signed_array():
    a, b = _operands(6, m=4, k=64, n=20)
    mac = MacUnit("uint8", "int8", accumulator=IntAccumulator(32, "wrap", 4))
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    assert matmul(a64, b64, mac, threads=1).path == "int_dot"
    a64[2, 5] = -3
    with pytest.raises(ValueError, match=r"a_codes\[2, 5\] = -3 is not a code of uint8"):
        matmul(a64, b64, mac)
    b64[63, 19] = 256
    with pytest.raises(ValueError, match=r"b_codes\[63, 19\] = 256 is not a code of int8"):
        matmul(a, b64, mac, stats=False)


@pytest.mark.parametrize("a_fmt", ["int8", "uint8"])
def test_int_wrap_cached_corrections_follow_weights_changed_in_place(a_fmt):
    a, b = _operands(7, m=9, k=300, n=40)
    mac = MacUnit(a_fmt, "int8", accumulator=IntAccumulator(24, "wrap", 4))
    bias = np.arange(40, dtype=np.int64) * 1000 - 20000
    for _ in range(2):  # the second call reuses the pack and its corrections
        for bi in (None, bias):
            got = matmul(a, b, mac, bias=bi, stats=False, threads=1)
            assert got.path == "int_wrap"
            assert np.array_equal(got.values, matmul(a, b, mac, bias=bi, stats=False,
                                                     path="general").values)
    b[::3, 11] ^= 0x7F  # column 11's sum of b changes
    for bi in (None, bias):
        got = matmul(a, b, mac, bias=bi, stats=False, threads=1)
        assert np.array_equal(got.values, matmul(a, b, mac, bias=bi, stats=False,
                                                 path="general").values)
