"""``MacStats.bits_needed``: hand-derived cases of the definition in
docs/semantics.md ("MAC statistics"), each checked on the C engine, on the
fast path that serves the unit (if any) and on the exact reference.

bits_needed = the largest signed width of any exact value written into an
int/fixed accumulator register, in the run where those registers never
overflow and everything else (product, psum format and its overflow policy,
float registers) is unchanged.  Signed width of v: 8 for -128..127, 9 for
-256..255, 10 for -512..511.
"""
import numpy as np
import pytest

from hwsim._ref_mac import mac_matmul
from hwsim.mac import (Chunked, FixedAccumulator, FusedMultiTermAccumulator, IntAccumulator,
                       MacUnit, Tiles, matmul)
from .mac_check import check_against_reference


def _codes(vals):
    """int8 values -> their two's-complement codes."""
    return (np.array(vals, dtype=np.int64) & 0xFF).astype(np.uint8)


def _check(mac, a, b, values, events, psum_events, bits, path="general"):
    """Engine (given path) and reference give these values and statistics."""
    res = matmul(a, b, mac, path=path)
    st = res.stats
    got = (res.values.tolist(), st.overflow_events_per_output.tolist(),
           st.psum_overflow_events_per_output.tolist(), st.bits_needed_per_output.tolist())
    assert got == (values, events, psum_events, bits)
    ref = mac_matmul(a.tolist(), b.tolist(), mac)
    want = ([[r.value for r in row] for row in ref], [[r.acc_events for r in row] for row in ref],
            [[r.psum_events for r in row] for row in ref],
            [[r.width_needed for r in row] for row in ref])
    assert want == (values, events, psum_events, bits)
    check_against_reference(mac, a, b)
    return res


# The unit of issue 13: a multi-term float32 register per tile (T = 1), each
# tile's result into an int8 psum (wrap), summed by a 2-bit fixed psum adder.
ISSUE13 = MacUnit("int8", "float8_e5m2",
                  accumulator=FusedMultiTermAccumulator(1, 0, "truncate", "joint", "rne", "float32"),
                  tiling=Tiles(1, "int8", "rne", "separate", "wrap",
                               FixedAccumulator(2, 0, "truncate", "wrap")))


def test_issue13_psum_wraps_to_zero_needs_one_bit():
    # b codes: 64 = 0 10000 00 = 2.0, 92 = 0 10111 00 = 2^8 = 256 (float8_e5m2).
    # Output 0: tile 1*2 = 2 -> psum 2 -> adder 0 + 2 = 2: overflows 2 bits (-2..1),
    #   wraps to -2; the widened adder holds 2: 3 bits.
    # Output 1: tile 256 -> int8 psum wraps to 0 (a psum event) -> adder holds 0: 1 bit.
    #   Its row-mate overflowed, which must not change its statistic (it used to
    #   report 8 = the width of 127, a psum saturated in the rerun).
    a = np.array([[1]], dtype=np.uint8)
    b = np.array([[64, 92]], dtype=np.uint8)
    for path in ("auto", "general"):
        _check(ISSUE13, a, b, [[-2, 0]], [[1, 0]], [[0, 1]], [[3, 1]], path)


def test_issue13_output_alone_and_with_overflowing_rows():
    # the same output 1 alone, and under more rows that overflow or do not
    b = np.array([[92]], dtype=np.uint8)
    _check(ISSUE13, np.array([[1]], np.uint8), b, [[0]], [[0]], [[1]], [[1]])
    # a = 1, 2 (int8): 256 and 512 both wrap to 0 in int8
    _check(ISSUE13, np.array([[1], [2]], np.uint8), b, [[0], [0]], [[0], [0]], [[1], [1]],
           [[1], [1]])


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_int_register_both_bounds(overflow):
    # 127 and -128 fit 8 bits; 128 and -129 need 9, under either policy; the
    # register ends at the policy's value
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, overflow))
    a = _codes([[100, 27], [100, 28], [-100, -28], [-100, -29], [100, 100], [-100, -100]])
    b = _codes([[1], [1]])
    if overflow == "wrap":
        vals = [[127], [-128], [-128], [127], [-56], [56]]
    else:
        vals = [[127], [127], [-128], [-128], [127], [-128]]
    for path in ("auto", "general"):
        _check(mac, a, b, vals, [[0], [1], [0], [1], [1], [1]], [[0]] * 6,
               [[8], [9], [8], [9], [9], [9]], path)


def test_fixed_adder_saturates_at_both_bounds():
    # separate tiles of one term into int16 psums; 8-bit saturating adder:
    # 100 + 100 = 200 -> 127; -100 - 100 = -200 -> -128; both need 9 bits
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "wrap"),
                  tiling=Tiles(1, "int16", "rne", "separate", "wrap", IntAccumulator(8, "saturate")))
    a = _codes([[100, 100], [-100, -100], [100, 27], [-100, -28]])
    b = _codes([[1], [1]])
    _check(mac, a, b, [[127], [-128], [127], [-128]], [[1], [1], [0], [0]], [[0]] * 4,
           [[9], [9], [8], [8]])


@pytest.mark.parametrize("psum_overflow, values, bits", [
    # widened: 100, 200 (9 bits) -> psum wraps 200 to -56 -> 44, 144: 9 bits
    ("wrap", [[-112]], [[9]]),
    # widened: 100, 200 -> psum saturates 200 to 127 -> 227, 327: 10 bits
    ("saturate", [[-112]], [[10]]),
])
def test_reload_keeps_the_psum_policy(psum_overflow, values, bits):
    # int8 wrap register, tiles of 2, reloaded from an int8 psum:
    # real run 100, 200 -> -56 (event), psum -56, 44, 144 -> -112 (event)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, "wrap"),
                  tiling=Tiles(2, "int8", "rne", "reload", psum_overflow))
    _check(mac, _codes([[100, 100, 100, 100]]), _codes([[1]] * 4), values, [[2]], [[0]], bits)


@pytest.mark.parametrize("psum_overflow, values, bits", [
    # column 1: tiles of 200 wrap to -56 in the psum; adder -56, -112, -168: 9 bits
    ("wrap", [[44, 88]], [[10, 9]]),
    # column 1: tiles of 200 saturate to 127; adder 127, 254, 381: 10 bits
    ("saturate", [[44, 125]], [[10, 10]]),
])
def test_separate_keeps_the_psum_policy(psum_overflow, values, bits):
    # column 0: tiles of 100 fit the psum; 8-bit adder 100, 200, 300: 10 bits
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "wrap"),
                  tiling=Tiles(1, "int8", "rne", "separate", psum_overflow,
                               IntAccumulator(8, "wrap")))
    _check(mac, _codes([[100, 100, 100]]), _codes([[1, 2]] * 3), values, [[1, 1]], [[0, 3]],
           bits)


def test_separate_vs_reload_same_terms():
    # same terms, same int16 psum: reload keeps one 8-bit register across tiles
    # (100, 200 | 300, 400), separate sums 200-sized tiles in an 8-bit adder
    # (200 | 200, 400); both need 10 bits for 400 but count events differently
    terms = _codes([[100, 100, 100, 100]])
    ones = _codes([[1]] * 4)
    reload = MacUnit("int8", "int8", accumulator=IntAccumulator(8, "wrap"),
                     tiling=Tiles(2, "int16", "rne", "reload", "wrap"))
    # real: 100, 200 -> -56 | psum -56, 44, 144 -> -112
    _check(reload, terms, ones, [[-112]], [[2]], [[0]], [[10]])
    sep = MacUnit("int8", "int8", accumulator=IntAccumulator(16, "wrap"),
                  tiling=Tiles(2, "int16", "rne", "separate", "wrap", IntAccumulator(8, "wrap")))
    # real: tiles 200, 200 (16-bit) -> adder 200 -> -56, 144 -> -112
    _check(sep, terms, ones, [[-112]], [[2]], [[0]], [[10]])


def test_chunked_counts_inner_and_outer_registers():
    # chunks of 2 in an 8-bit register (200 wraps to -56), outer 12-bit:
    # widened 100, 200 | 200, 400: 10 bits (the outer register's 400)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(8, "wrap"),
                  order=Chunked(2, IntAccumulator(12, "wrap")))
    _check(mac, _codes([[100, 100, 100, 100]]), _codes([[1]] * 4), [[-112]], [[2]], [[0]], [[10]])


@pytest.mark.parametrize("psum_overflow", ["special", "saturate", "error"])
def test_widened_run_saturates_a_float_psum_that_would_stop_it(psum_overflow):
    # found by the soak run: 2-bit int register, tiles of 1 reloaded from a
    # float8_e4m3 psum (max 240).  Real run: 4*62 = 248 wraps to 0 in 2 bits
    # (event), the psum 0 is fine, + 0*0 = 0.  Widened: 248 -> the psum
    # overflows; Inf ("special") or an error could not go on, so it saturates
    # to 240; 240 + 0 = 240.  Widths 9 (248) and 9 (240): 9.
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(2, "wrap"),
                  tiling=Tiles(1, "float8_e4m3", "rne", "reload", psum_overflow))
    _check(mac, _codes([[4, 0]]), _codes([[62], [0]]), [[0]], [[1]], [[0]], [[9]])
