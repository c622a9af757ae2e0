"""The one chunker / pool (hwsim.native.threads) and the tuning file."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import hwsim
from hwsim import native
from hwsim.native import threads as T
from hwsim.native import tuning

pytestmark = [pytest.mark.native, pytest.mark.portable]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _flat_rule(n, threads, min_chunk):
    """The element split the codecs used before the merge (restated)."""
    if threads <= 1 or n < 2 * min_chunk:
        return [(0, n)]
    k = min(threads, max(1, n // min_chunk))
    step = (-(-n // k) + 63) // 64 * 64
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def _row_rule(nrows, ncols, threads, min_chunk):
    """The row split the block kernels used before the merge (restated)."""
    n = nrows * ncols
    if threads <= 1 or n < 2 * min_chunk or nrows < 2:
        return [(0, nrows)]
    k = min(threads, nrows, max(1, n // min_chunk))
    step = -(-nrows // k)
    return [(s, min(nrows, s + step)) for s in range(0, nrows, step)]


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_chunks_reproduce_both_former_splitters(threads):
    rng = np.random.default_rng(5)
    for n in list(rng.integers(0, 1 << 22, 200)) + [0, 1, 1 << 17, (1 << 18) - 1, 1 << 18]:
        n = int(n)
        for mc in (tuning.PARALLEL_THRESHOLD // 2, tuning.FLAT_MIN_CHUNK):
            assert T.chunks(n, threads, mc) == _flat_rule(n, threads, mc)
    for nrows, ncols in [(1, 1 << 20), (6144, 32), (256 * 48, 16), (3, 100000), (0, 5), (7, 1)]:
        got = T.chunks(nrows, threads, tuning.BLOCK_MIN_CHUNK, item_size=ncols, align=1)
        assert got == _row_rule(nrows, ncols, threads, tuning.BLOCK_MIN_CHUNK)


def test_run_chunked_reports_the_lowest_failing_element():
    lib = native.lib
    seen = []

    def call(a, b):
        seen.append((a, b))
        if a > 0:  # every range but the first fails at its third element
            return lib.HW_E_OVERFLOW, 0, 2
        return lib.HW_OK, 1, -1

    with pytest.raises(hwsim.OverflowValueError, match=r"element 8194\b"):
        T.run_chunked(call, 3 * 4096, 3, "test", min_chunk=64, item_size=2, align=1)
    assert sorted(seen) == T.chunks(3 * 4096, 3, 64, item_size=2, align=1)
    assert T.run_chunked(lambda a, b: (lib.HW_OK, 4 if a else 1, -1), 1 << 20, 2, "t",
                         min_chunk=1024) == 5


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_run_ranges_keeps_range_order(threads):
    ranges = [(i, i + 3) for i in range(0, 60, 3)]
    names = set()

    def fn(a, b):
        names.add(threading.get_ident())
        return sum(range(a, b))

    assert T.run_ranges(fn, ranges, threads) == [sum(range(a, b)) for a, b in ranges]
    assert len(names) <= threads


def test_tuning_file_is_what_the_script_writes():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "tune.py"),
                          "--defaults"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(hwsim.__file__))})
    with open(tuning.__file__) as fh:
        assert out.stdout == fh.read()
    assert (tuning.PARALLEL_THRESHOLD, tuning.FLAT_MIN_CHUNK, tuning.BLOCK_MIN_CHUNK,
            tuning.LUT_MAX_BITS, tuning.LUT_MIN_CODES, tuning.MAC_FAST_PARALLEL_WORK,
            tuning.MAC_GEMM_PARALLEL_WORK) == (1 << 18, 1 << 20, 1 << 16, 16, 4096, 1 << 16, 1 << 15)


def test_only_native_imports_the_extension():
    import ast
    pkg = os.path.dirname(hwsim.__file__)
    importers = []
    for dirpath, _, files in os.walk(pkg):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(dirpath, f)
            with open(path) as fh:
                src = fh.read()
            tree = ast.parse(src)
            hit = "_hwsim_c" in src and any(
                isinstance(node, (ast.Import, ast.ImportFrom)) and "_hwsim_c" in ast.dump(node)
                for node in ast.walk(tree)) or '"hwsim._hwsim_c"' in src
            if hit:
                importers.append(os.path.relpath(path, pkg))
    # _build.py names the module it builds; native/ffi.py is the one importer
    assert sorted(importers) == ["_build.py", os.path.join("native", "ffi.py")]
