"""IntAccumulator(fan_in=N): a register fed by a dot-product unit (VNNI, dp4a).

The terms of each reduction the register performs (a tile, a chunk) are cut
into groups of fan_in in k order from the reduction's first term (the last
group shorter); each group's exact sum is added in one add: one overflow
check, one statistics update.  Checked by hand, and the general C engine
(and whatever fast path serves the unit) against hwsim.reference.mac on
every statistic.
"""
import dataclasses
import json

import numpy as np
import pytest
from hyp_settings import examples
from hypothesis import given
from hypothesis import strategies as st

from hwsim.errors import OverflowValueError, UnsupportedModeError
from hwsim.mac import (Chunked, FixedAccumulator, IntAccumulator, MacUnit, Sequential, Tiles,
                       Tree, matmul)
from hwsim.mac import engine
from hwsim.mac import fast as _fast
from hwsim.mac.trace import trace
from hwsim.reference.mac import mac_dot, mac_matmul
from hwsim.testing.mac_strategies import mac_problems, mac_units

from .mac_check import check_against_reference

pytestmark = pytest.mark.native  # rerun by make test-asan

FAN_INS = (1, 2, 3, 4, 8)


def _i8(vals):
    """int8 values -> their two's-complement codes."""
    return (np.array(vals, dtype=np.int64) & 0xFF).astype(np.uint8)


def _unit(bits=8, overflow="saturate", fan_in=1, **kw):
    return MacUnit("int8", "int8", accumulator=IntAccumulator(bits, overflow, fan_in), **kw)


# ---------------------------------------------------------------------------
# hand-computed: per-add and per-group statistics differ
# ---------------------------------------------------------------------------
# products 100, 0, 100, -100 (b = 1) into an int8 register.
#   fan_in=1: partial sums 100, 100, 200, 100: 200 overflows (max |partial| 200,
#     9 bits); saturate: 127 then 27; wrap: -56 then -156 -> overflows again,
#     wraps to 100 (2 events).
#   fan_in=2: group sums 100 + 0 and 100 - 100: partial sums 100, 100; no
#     overflow, max 100, 8 bits, result 100 (wrap and saturate alike).
#   fan_in=4: one group of 100: the same as fan_in=2.
A = _i8([[100, 0, 100, -100]])
B = _i8([[1], [1], [1], [1]])
HAND = {  # (fan_in, overflow): (value, overflow_events, max_abs_partial, bits_needed)
    (1, "saturate"): (27, 1, 200.0, 9),
    (1, "wrap"): (100, 2, 200.0, 9),
    (2, "saturate"): (100, 0, 100.0, 8),
    (2, "wrap"): (100, 0, 100.0, 8),
    (4, "saturate"): (100, 0, 100.0, 8),
}


def _stats(res):
    st = res.stats
    return (int(res.values[0, 0]), int(st.overflow_events_per_output[0, 0]),
            float(st.max_abs_partial_per_output[0, 0]), int(st.bits_needed_per_output[0, 0]))


@pytest.mark.parametrize("fan_in,overflow", [(1, "saturate"), (1, "wrap"), (2, "saturate"),
                                             (2, "wrap"), (4, "saturate")])
def test_hand_example_per_group_statistics(fan_in, overflow):
    mac = _unit(8, overflow, fan_in)
    want = HAND[(fan_in, overflow)]
    for path in ("auto", "general"):
        assert _stats(matmul(A, B, mac, path=path)) == want
    r = mac_dot(A[0].tolist(), B[:, 0].tolist(), mac)
    assert (r.value, r.acc_events, r.max_abs, r.width_needed) == want
    check_against_reference(mac, A, B)


def test_hand_example_fan_in_3_overflows_inside_the_first_group():
    # groups [100, 0, 100] (= 200: overflow) and [-100]
    sat = _unit(8, "saturate", 3)
    assert _stats(matmul(A, B, sat)) == (27, 1, 200.0, 9)
    wrap = _unit(8, "wrap", 3)
    # 200 wraps to -56; -56 - 100 = -156 overflows again and wraps to 100
    assert _stats(matmul(A, B, wrap)) == (100, 2, 200.0, 9)
    for mac in (sat, wrap):
        check_against_reference(mac, A, B)


def test_error_policy_raises_only_when_a_group_sum_overflows():
    with pytest.raises(OverflowValueError, match="accumulator overflowed"):
        matmul(A, B, _unit(8, "error", 1))
    res = matmul(A, B, _unit(8, "error", 2))
    assert _stats(res) == (100, 0, 100.0, 8)
    with pytest.raises(OverflowValueError):
        matmul(A, B, _unit(8, "error", 3))


def test_saturate_result_depends_on_grouping():
    # products 127, 127, -127, -127 into int8: per add 127, 254 -> 127, 0, -127;
    # in pairs 254 -> 127 (1 event), 127 - 254 = -127; in fours: 0
    a = _i8([[127, 127, -127, -127]])
    b = _i8([[1]] * 4)
    got = {f: _stats(matmul(a, b, _unit(8, "saturate", f))) for f in (1, 2, 4)}
    assert got == {1: (-127, 1, 254.0, 9), 2: (-127, 1, 254.0, 9), 4: (0, 0, 0.0, 1)}
    for f in (1, 2, 4):
        check_against_reference(_unit(8, "saturate", f), a, b)


def test_trace_one_group_step_per_group():
    a = _i8([[100, 0, 100, -100, 5, 6, 7]])
    b = _i8([[1]] * 7)
    tr = trace(a, b, _unit(16, "wrap", 3), bias=np.array([10]))
    kinds = [(d["kind"], d["k"]) for d in tr.steps]
    assert kinds == [("bias", (0, 0)), ("group", (0, 3)), ("group", (3, 6)), ("group", (6, 7))]
    assert [d["acc"] for d in tr.steps] == [10, 210, 121, 128]
    assert [d["exact"] for d in tr.steps] == [10.0, 210.0, 121.0, 128.0]
    assert int(tr.value) == 128
    tr1 = trace(a, b, _unit(16, "wrap", 1))
    assert [d["kind"] for d in tr1.steps] == ["mac"] * 7


def test_groups_restart_at_every_tile_and_chunk():
    # K = 6, T = 4: tiles [0, 4) and [4, 6); fan_in 3 groups [0,3) [3,4) | [4,6)
    a = _i8([[1, 2, 3, 4, 5, 6]])
    b = _i8([[1]] * 6)
    tiles = Tiles(4, "int16", mode="reload")
    tr = trace(a, b, _unit(16, "wrap", 3, tiling=tiles))
    groups = [d["k"] for d in tr.steps if d["kind"] == "group"]
    assert groups == [(0, 3), (3, 4), (4, 6)]
    ch = Chunked(5, IntAccumulator(32))
    tr = trace(a, b, _unit(16, "wrap", 2, order=ch))
    assert [(d["kind"], d["k"]) for d in tr.steps] == [
        ("group", (0, 2)), ("group", (2, 4)), ("group", (4, 5)), ("chunk", (0, 5)),
        ("group", (5, 6)), ("chunk", (5, 6))]
    sep = Tiles(4, "int16", mode="separate")
    tr = trace(a, b, _unit(16, "wrap", 3, tiling=sep))
    assert [(d["kind"], d["k"]) for d in tr.steps if d["kind"] == "group"] == [
        ("group", (0, 3)), ("group", (3, 4)), ("group", (4, 6))]


# ---------------------------------------------------------------------------
# engine == reference, every statistic
# ---------------------------------------------------------------------------
def _tiling(draw, int_top):
    kind = draw(st.sampled_from(("none", "none", "reload", "separate")))
    if kind == "none":
        return None
    fmt = draw(st.sampled_from(("int12", "int16", "int24", "fixed16.0")))
    ovf = draw(st.sampled_from(("wrap", "saturate")))
    adder = None
    if kind == "separate" and draw(st.booleans()):
        adder = draw(st.sampled_from((IntAccumulator(20, "saturate"), IntAccumulator(40),
                                      FixedAccumulator(18, 0, "truncate", "wrap"))))
    return Tiles(draw(st.integers(1, 9)), fmt, "rne", kind, ovf, adder)


@st.composite
def fan_in_units(draw, overflows=("wrap", "saturate")):
    fa = draw(st.sampled_from(("int8", "uint8")))
    fb = draw(st.sampled_from(("int8", "int8", "uint8", "int4")))
    acc = IntAccumulator(draw(st.integers(8, 32)), draw(st.sampled_from(overflows)),
                         draw(st.sampled_from(FAN_INS)))
    order = Sequential()
    if draw(st.integers(0, 3)) == 0:
        outer = draw(st.sampled_from((IntAccumulator(32), IntAccumulator(18, "saturate"),
                                      FixedAccumulator(24, 0, "truncate", "wrap"))))
        order = Chunked(draw(st.integers(1, 10)), outer)
    tiling = _tiling(draw, True)
    product = povf = None
    if draw(st.integers(0, 4)) == 0:  # products rounded into a narrower format first
        product, povf = "int12", draw(st.sampled_from(("wrap", "saturate")))
    return MacUnit(fa, fb, product=product, product_overflow=povf, accumulator=acc, order=order,
                   tiling=tiling, bias=draw(st.sampled_from(("init", "final"))))


@st.composite
def fan_in_problems(draw, overflows=("wrap", "saturate")):
    mac = draw(fan_in_units(overflows))
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    k = draw(st.integers(0, 21))
    a = np.array(draw(st.lists(st.integers(0, (1 << mac.a_fmt.bits) - 1), min_size=m * k,
                               max_size=m * k)), dtype=np.int64).reshape(m, k)
    b = np.array(draw(st.lists(st.integers(0, (1 << mac.b_fmt.bits) - 1), min_size=k * n,
                               max_size=k * n)), dtype=np.int64).reshape(k, n)
    bias = None
    if draw(st.booleans()):
        lim = 1 << 7
        bias = np.array(draw(st.lists(st.integers(-lim, lim - 1), min_size=n, max_size=n)),
                        dtype=np.int64)
    za = draw(st.integers(mac.a_fmt.min_int, mac.a_fmt.max_int)) if draw(st.booleans()) else 0
    zb = draw(st.integers(mac.b_fmt.min_int, mac.b_fmt.max_int)) if draw(st.booleans()) else 0
    return mac, a.astype(np.uint8), b.astype(np.uint8), bias, za, zb


@examples(150)
@given(fan_in_problems())
def test_engine_matches_reference_hypothesis(problem):
    mac, a, b, bias, za, zb = problem
    check_against_reference(mac, a, b, bias, za, zb)


@examples(60)
@given(fan_in_problems(("error",)))
def test_engine_matches_reference_error_policy(problem):
    mac, a, b, bias, za, zb = problem
    check_against_reference(mac, a, b, bias, za, zb)


def _grouped(mac, fan_in):
    acc = mac.accumulator
    return dataclasses.replace(mac, accumulator=IntAccumulator(acc.bits, acc.overflow, fan_in),
                               order=Sequential() if isinstance(mac.order, Tree) else mac.order)


#: hwsim.testing's int units (any int / fixed operands, product formats, orders, tilings
#: with int / fixed / float psum adders) with the register made a dot-product unit (a Tree
#: becomes Sequential)
GROUPED_UNITS = st.builds(_grouped, mac_units(kinds=("int",)), st.sampled_from(FAN_INS))


@examples(100)
@given(mac_problems(GROUPED_UNITS, max_k=14))
def test_engine_matches_reference_general_units(problem):
    mac, a, b, bias, za, zb = problem
    check_against_reference(mac, a, b, bias, za, zb)


@pytest.mark.parametrize("seed", range(6))
def test_engine_matches_reference_seeded(seed):
    rng = np.random.default_rng(1100 + seed)
    fa, fb = [("uint8", "int8"), ("int8", "int8")][seed % 2]
    for fan_in in FAN_INS:
        k = int(rng.integers(13, 70)) | 1  # odd: never a multiple of 2, 4, 8
        bits = int(rng.integers(8, 33))
        ovf = ("wrap", "saturate")[(seed + fan_in) % 2]
        order = Sequential() if seed < 3 else Chunked(int(rng.integers(5, 17)), IntAccumulator(32))
        tiling = None if seed % 3 == 0 else Tiles(int(rng.integers(3, 23)), "int24",
                                                  mode=("reload", "separate")[seed % 3 - 1])
        mac = MacUnit(fa, fb, accumulator=IntAccumulator(bits, ovf, fan_in), order=order,
                      tiling=tiling, bias=("init", "final")[seed % 2])
        a = rng.integers(0, 256, (4, k)).astype(np.uint8)
        b = rng.integers(0, 256, (k, 5)).astype(np.uint8)
        bias = rng.integers(-1000, 1000, 5)
        za = int(rng.integers(-20, 20)) if fa == "int8" else int(rng.integers(0, 255))
        check_against_reference(mac, a, b, bias, za, 3, threads=2)


def test_uint8_int8_int32_large_k_all_paths_agree():
    """The shape the VNNI kernels serve: uint8 x int8 -> int32, fan_in 4, K % 4 != 0."""
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (6, 259)).astype(np.uint8)
    b = rng.integers(0, 256, (259, 7)).astype(np.uint8)
    for ovf, bits in (("wrap", 32), ("saturate", 21), ("wrap", 18)):
        mac = MacUnit("uint8", "int8", accumulator=IntAccumulator(bits, ovf, 4))
        res = check_against_reference(mac, a, b, np.arange(7) * 1000 - 3000)
        fast = matmul(a, b, mac, bias=np.arange(7) * 1000 - 3000, stats=False)
        assert np.array_equal(fast.codes, res.codes)


# ---------------------------------------------------------------------------
# fast paths
# ---------------------------------------------------------------------------
def test_plan_int_steps_declines_grouped_registers_int_wrap_serves_them():
    for f in FAN_INS:
        mac = _unit(32, "wrap", f)
        # int_dot (hwsim.mac.fastdot): groups of a multiple of 4 (vpdpbusd)
        grouped = "int_dot" if f % 4 == 0 else None
        assert _fast.plan(mac, stats=False) == "int_wrap"  # modulo 2^bits: grouping-free
        assert _fast.plan(mac, stats=True) == ("int_steps" if f == 1 else grouped)
        assert _fast.plan(_unit(20, "saturate", f), stats=False) == \
            ("int_steps" if f == 1 else grouped)


def test_wrap_without_stats_same_codes_as_general_engine():
    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (5, 45)).astype(np.uint8)
    b = rng.integers(0, 256, (45, 9)).astype(np.uint8)
    for f in FAN_INS:
        mac = _unit(12, "wrap", f)
        fast = matmul(a, b, mac, stats=False)
        gen = matmul(a, b, mac, stats=False, path="general")
        assert fast.path == "int_wrap" and gen.path == "general"
        assert np.array_equal(fast.codes, gen.codes)
        assert np.array_equal(gen.codes, matmul(a, b, _unit(12, "wrap", 1), path="general").codes)


# ---------------------------------------------------------------------------
# configuration: refusals, JSON, network config, sweep grid
# ---------------------------------------------------------------------------
def test_refused_where_the_register_does_not_take_products():
    with pytest.raises(UnsupportedModeError, match=r"fan_in=4.*order=Tree"):
        _unit(32, "wrap", 4, order=Tree(2))
    with pytest.raises(UnsupportedModeError, match=r"outer_accumulator=IntAccumulator\(fan_in=2\)"):
        Chunked(4, IntAccumulator(32, fan_in=2))
    with pytest.raises(UnsupportedModeError, match=r"psum_adder=IntAccumulator\(fan_in=4\)"):
        Tiles(4, "int16", mode="separate", psum_adder=IntAccumulator(32, fan_in=4))
    for bad in (0, -1, 65537, 2.0):
        with pytest.raises((ValueError, TypeError), match="fan_in"):
            IntAccumulator(32, fan_in=bad)
    assert _unit(32, "wrap", 1, order=Tree(2)).order == Tree(2)  # fan_in=1 unchanged


def test_default_psum_adder_adds_partial_sums_one_at_a_time():
    mac = _unit(24, "saturate", 4, tiling=Tiles(8, "int16", mode="separate"))
    assert mac.psum_adder == IntAccumulator(24, "saturate")
    assert mac.accumulator.fan_in == 4


def test_json_round_trip_and_fan_in_1_dicts_unchanged():
    mac = _unit(32, "saturate", 4, order=Chunked(16, IntAccumulator(40)),
                tiling=Tiles(64, "int32", mode="separate"))
    d = json.loads(json.dumps(mac.to_dict()))
    assert d["accumulator"] == {"type": "IntAccumulator", "bits": 32, "overflow": "saturate",
                                "fan_in": 4}
    assert MacUnit.from_dict(d) == mac
    one = _unit(32, "saturate", 1)
    assert one.to_dict()["accumulator"] == {"type": "IntAccumulator", "bits": 32,
                                            "overflow": "saturate"}
    assert IntAccumulator(32, "saturate") == IntAccumulator(32, "saturate", 1)
    assert MacUnit.from_dict(one.to_dict()) == one


def test_network_config_accepts_a_fan_in_accumulator():
    from hwsim.network.config import load_config, make_mac
    spec = {"accumulator": {"type": "IntAccumulator", "bits": 32, "fan_in": 4}}
    cfg = load_config({"defaults": {"mac": spec}})
    mac = make_mac(cfg.defaults.mac, "uint8", "int8")
    assert mac.accumulator == IntAccumulator(32, "wrap", 4)
    bad = {"accumulator": {"type": "IntAccumulator", "bits": 32, "fan_in": 4},
           "order": {"type": "Tree", "fan_in": 2}}
    with pytest.raises(Exception, match="order=Tree"):
        make_mac(bad, "uint8", "int8")


def test_sweep_grid_reaches_fan_in():
    from hwsim.network.config import load_config, make_mac
    from hwsim.network.sweep import apply_point, expand, parse_axis
    axis = parse_axis("defaults.mac.accumulator.fan_in=1,4")
    pts = expand([axis])
    macs = [make_mac(load_config(apply_point({"defaults": {"mac": "int32"}}, p)).defaults.mac,
                     "int8", "int8") for p in pts]
    assert [m.accumulator.fan_in for m in macs] == [1, 4]
    assert macs[0].accumulator.bits == macs[1].accumulator.bits == 32


def test_reference_refuses_nothing_new_for_fan_in_1():
    # the reference's per-product path is untouched: a fan_in=1 unit gives the
    # documented doctest numbers
    r = mac_dot([100, 100], [1, 1], _unit(8, "wrap", 1))
    assert (r.value, r.acc_events, r.width_needed) == (-56, 1, 9)
    assert mac_matmul([[1, 2]], [[1], [1]], _unit(8, "wrap", 2))[0][0].value == 3


# ---------------------------------------------------------------------------
# the C spec: fan_in validated, grouped registers only where they take products
# ---------------------------------------------------------------------------
def _gemm(spec, k=5):
    ax = engine.unpack(np.ones((1, k), np.uint8), MacUnit("int8", "int8").a_fmt)
    bx = engine.unpack(np.ones((1, k), np.uint8), MacUnit("int8", "int8").b_fmt)
    return engine.gemm(spec, ax, bx, engine.Strides(k, 1, 0, 1, k), 1, 1, k, None, 1, True, 1)


def test_c_spec_carries_fan_in_and_the_engine_validates_it():
    lib = engine.lib
    s, keep = engine.build_spec(_unit(16, "wrap", 4))
    assert s.acc.fan_in == 4 and s.acc.kind == lib.HW_ACC_FIXED
    out, st, _ = _gemm(s)
    assert int(out[0]) == 5 and st["width_needed"].tolist() == [4]  # groups 4 + 1: 4, 5
    s1, keep1 = engine.build_spec(_unit(16, "wrap", 1))
    assert s1.acc.fan_in == 1
    for bad, rc in ((65537, lib.HW_E_SIZE), (1 << 30, lib.HW_E_SIZE), (-1, lib.HW_E_MODE)):
        s.acc.fan_in = bad
        with pytest.raises(engine.GemmError) as e:
            _gemm(s)
        assert e.value.rc == rc
    s.acc.fan_in = 4
    s.order, s.order_param = lib.HW_ORDER_TREE, 2  # no tree leaf: refused
    with pytest.raises(engine.GemmError) as e:
        _gemm(s)
    assert e.value.rc == lib.HW_E_MODE
    c, keepc = engine.build_spec(_unit(16, "wrap", 1, order=Chunked(2, IntAccumulator(32))))
    c.outer.fan_in = 4  # a grouped outer register: refused
    with pytest.raises(engine.GemmError) as e:
        _gemm(c)
    assert e.value.rc == lib.HW_E_MODE
    del keep, keep1, keepc


def test_widened_rerun_keeps_the_groups():
    # products 100, 100, -100, 100, 100, -100 into int8 (wrap).
    #   fan_in 1: 100, 200 (ovf), -156 (ovf: wraps to 100), 200 (ovf), 44, -56: 3 events,
    #     max 200; widened run 100, 200, 100, 200, 300, 200: bits_needed 10.
    #   fan_in 2: group sums 200, 0, 0: 200 (ovf), -56, -56: 1 event, max 200; widened run
    #     200, 200, 200: bits_needed 9 (a rerun that stepped per product would say 10).
    a = _i8([[100, 100, -100, 100, 100, -100]])
    b = _i8([[1]] * 6)
    assert _stats(matmul(a, b, _unit(8, "wrap", 1))) == (-56, 3, 200.0, 10)
    assert _stats(matmul(a, b, _unit(8, "wrap", 2))) == (-56, 1, 200.0, 9)
    for f in (1, 2, 3):
        check_against_reference(_unit(8, "wrap", f), a, b)
        assert getattr(engine._widened(_unit(8, "wrap", f), 6).accumulator, "fan_in", 1) == f
