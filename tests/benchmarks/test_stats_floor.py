"""benchmarks/floor_kernels.c (bench_stats_floor.py's loops) computes what it claims:
each loop's accumulators end where n rounds of its instructions put them, so the rates
the benchmark prints are rates of that work (nothing skipped, nothing hoisted)."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import bench_stats_floor  # noqa: E402


def _cpu_has_vnni() -> bool:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                fl = set(line.split(":", 1)[1].split())
                return {"avx512f", "avx512bw", "avx512_vnni"} <= fl
    return False


@pytest.fixture(scope="module")
def floor():
    return bench_stats_floor.build()


# b's 4 bytes per lane are (-3, 2, -2, 1) and a's (1, 1, 1, 1): every vpdpbusd adds -2 to
# its lane.  The sink is lane 0 of s0 + h0 + l0 (h0 / l0: running max / min from 0).
# loop: (vpdpbusd per state, is there a max / min, is there a +(-3) per state)
LOOPS = {0: (1, False, 0), 1: (1, True, 0), 6: (1, True, 0), 2: (1, True, -3),
         3: (2, True, 0), 4: (4, True, 0), 5: (0, True, 0)}


@pytest.mark.parametrize("which", sorted(LOOPS))
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_loop_result(floor, which, n):
    ffi, lib = floor
    sink = ffi.new("int32_t[16]")
    rc = lib.floor_loop(which, n, sink)
    if not _cpu_has_vnni():
        assert rc == -1
        return
    assert rc == 0
    dps, mm, add = LOOPS[which]
    s = n * (-2 * dps + add)            # every step makes s smaller: max stays 0
    want = s + (s if mm else 0)         # s0 + h0 (0) + l0 (= s with max / min, else 0)
    assert list(sink) == [want] * 16


def test_bad_arguments_are_refused(floor):
    ffi, lib = floor
    sink = ffi.new("int32_t[16]")
    assert lib.floor_loop(99, 10, sink) == -1
    assert lib.floor_loop(0, 0, sink) == -1
