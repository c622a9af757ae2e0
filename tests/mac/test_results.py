"""Results, statistics and traces print as a few lines; their full content is one
method call away (issue 13: a K = 256 trace printed about 70 KB)."""
import numpy as np

from hwsim.mac import FloatAccumulator, IntAccumulator, MacUnit, matmul, trace

RNG = np.random.default_rng(13)
K = 256


def _e4m3_problem():
    a = RNG.integers(0, 0x7F, (4, K)).astype(np.uint8)  # finite E4M3 codes
    b = RNG.integers(0, 0x7F, (K, 3)).astype(np.uint8)
    return a, b, MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float16"))


def test_trace_repr_is_short_and_table_lists_every_step():
    a, b, mac = _e4m3_problem()
    tr = trace(a, b, mac, 2, 1)
    text = repr(tr)
    assert len(text) < 300 and text.count("\n") == 0
    assert f"{len(tr.steps)} steps ({K} mac)" in text and ".table()" in text
    table = tr.table().splitlines()
    assert len(table) == len(tr.steps) + 2  # header, one line per step, the result
    for t in (0, 100, K - 1):
        d = tr.steps[t]
        assert table[t + 1].split()[:4] == [str(t), "mac", "accumulator", f"[{t},"]
        assert str(d["after"]) in table[t + 1].split()
    res = matmul(a, b, mac)
    assert int(tr.code) == int(res.codes[2, 1]) and repr(tr.code) in table[-1]
    full = tr.to_dict()
    assert full["steps"] == tr.steps and full["code"] == tr.code
    assert np.float64(full["value"]).tobytes() == np.float64(res.values[2, 1]).tobytes()


def test_stats_and_result_reprs_are_short_and_to_dict_is_complete():
    a = RNG.integers(0, 256, (64, K)).astype(np.uint8)
    b = RNG.integers(0, 256, (K, 32)).astype(np.uint8)
    res = matmul(a, b, MacUnit("int8", "int8", accumulator=IntAccumulator(16, "wrap")))
    st = res.stats
    for text in (repr(st), repr(res)):
        assert len(text) < 400 and text.count("\n") == 0
    assert f"overflow_events={st.overflow_events}" in repr(st) and st.overflow_events > 0
    assert f"bits_needed={st.bits_needed}" in repr(st)
    d = st.to_dict()
    assert d["overflow_events_per_output"] is st.overflow_events_per_output
    assert d["bits_needed_per_output"].shape == (64, 32)
    assert d["overflow_events"] == int(st.overflow_events_per_output.sum())
    assert np.array_equal(d["overflow_events_per_column"], st.overflow_events_per_output.sum(0))
    full = res.to_dict()
    assert full["codes"] is res.codes and full["values"] is res.values
    assert full["stats"].keys() == d.keys() and full["path"] == res.path
    assert (full["width"], full["frac_bits"], full["fmt"]) == (16, 0, None)
