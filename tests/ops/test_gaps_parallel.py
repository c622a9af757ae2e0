"""The ``parallel=True`` numba kernels, bit for bit against their serial compilations.

The layer executors switch to the parallel compilation at ``PARALLEL_MIN``
(2^21) elements, which no other test reaches.  Here the threshold is lowered
to 1 (so the public functions take the parallel path on small inputs) and the
results are compared with the serial path, byte for byte; the kernels are
also called directly through ``.serial`` / ``.parallel``.
"""
import numpy as np
import pytest

from hwsim.ops import conv, kernels, ort_numerics, pool, requant
from hwsim.ops.conv import im2col
from hwsim.ops.pool import maxpool2d, sumpool2d
from hwsim.ops.requant import Requant, scale_float

KERNELS = [requant._k_tflite, requant._k_tflite_single, requant._k_onnx, requant._k_onnx_f,
           requant._k_shift, conv._im2col, conv._im2col_nhwc, pool._maxpool, pool._sumpool,
           ort_numerics._qladd_codes_k, ort_numerics._fma32_k]


def _same_bytes(a, b):
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def _both(monkeypatch, fn):
    """fn() with every dispatcher forced serial, then forced parallel."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN", 1 << 62)
    ser = fn()
    monkeypatch.setattr(kernels, "PARALLEL_MIN", 1)
    par = fn()
    return ser, par


def _acc(rng, shape):
    """Accumulators with the edges: int32 limits, beyond them, zero and small values."""
    a = rng.integers(-(1 << 34), 1 << 34, shape, dtype=np.int64)
    a.flat[: 8] = [0, 1, -1, (1 << 31) - 1, -(1 << 31), (1 << 31), -(1 << 31) - 1, 1 << 33]
    a[rng.random(shape) < 0.5] //= 1 << 20
    return a


@pytest.mark.parametrize("style", ["tflite", "tflite_single", "onnx", "shift"])
def test_requant_parallel_equals_serial(monkeypatch, style):
    rng = np.random.default_rng(7)
    acc = _acc(rng, (613, 9))  # rows not a multiple of the thread count
    s_w = rng.uniform(1e-4, 1e-1, 9) if style != "shift" else 2.0 ** -rng.integers(0, 12, 9)
    kw = dict(rounding="rna") if style == "shift" else {}
    rq = Requant.from_scales(style, 1.0 if style == "shift" else 0.03, s_w, 1.0 if style == "shift"
                             else 0.7, -3, -128, 127, **kw)
    ser, par = _both(monkeypatch, lambda: rq.apply(acc))
    _same_bytes(ser, par)
    assert len(np.unique(ser)) > 100  # not saturated everywhere


def test_scale_float_parallel_equals_serial(monkeypatch):
    rng = np.random.default_rng(8)
    acc = _acc(rng, (500, 7)).astype(np.float64)
    s = rng.uniform(1e-6, 1.0, 7).astype(np.float32)
    ser, par = _both(monkeypatch, lambda: scale_float(acc, s))
    _same_bytes(ser, par)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("groups", [1, 3])
def test_im2col_parallel_equals_serial(monkeypatch, layout, groups):
    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, (5, 6, 9, 7), dtype=np.uint8)
    x = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    ser, par = _both(monkeypatch, lambda: im2col(x, (3, 2), stride=(2, 1), padding=(1, 0, 2, 1),
                                                 dilation=(1, 2), groups=groups, layout=layout,
                                                 pad_code=7)[0])
    _same_bytes(ser, par)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_pools_parallel_equal_serial(monkeypatch, layout):
    rng = np.random.default_rng(10)
    x = rng.integers(-128, 128, (3, 5, 11, 10))
    x = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    geo = dict(stride=(2, 3), padding=(1, 2, 1, 0), ceil_mode=True, layout=layout)
    ser, par = _both(monkeypatch, lambda: maxpool2d(x.astype(np.float64), (3, 3), dilation=(2, 1),
                                                    **geo))
    _same_bytes(ser, par)
    for cip in (False, True):
        ser, par = _both(monkeypatch, lambda: sumpool2d(x, (3, 4), count_include_pad=cip, **geo))
        for s, p in zip(ser, par):
            _same_bytes(s, p)


def test_dispatch_uses_parallel_at_threshold(monkeypatch):
    """From PARALLEL_MIN elements on the parallel compilation runs, below it the serial one."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN", 64)
    fresh = kernels.dual(requant._k_onnx_py, 0)  # new dispatchers: nothing compiled or loaded yet
    monkeypatch.setattr(requant, "_k_onnx", fresh)
    rq = Requant.from_scales("onnx", 0.03, [0.01] * 4, 0.5, 0, -128, 127)
    acc = np.arange(64, dtype=np.int64).reshape(16, 4)
    rq.apply(acc[:15])  # 60 elements
    assert fresh.serial.signatures and not fresh.parallel.signatures
    rq.apply(acc)  # 64 elements
    assert fresh.parallel.signatures


def test_every_kernel_has_both_compilations():
    """Two dispatchers, and two on-disk cache entries: numba keys its cache by qualified
    name and signature only, so a shared entry would hand one compilation to both."""
    for k in KERNELS:
        assert k.serial is not k.parallel
        assert k.parallel.targetoptions.get("parallel") is True
        assert not k.serial.targetoptions.get("parallel")
        assert k.serial._cache._cache_file._index_name != k.parallel._cache._cache_file._index_name


def test_serial_kernel_is_not_the_cached_parallel_one(tmp_path):
    """In a fresh process with an empty cache, the parallel kernel compiled first does
    not become the serial one (a kernel whose result depends on the loop split tells)."""
    import subprocess
    import sys
    import textwrap

    src = textwrap.dedent("""
        import numpy as np
        from numba import prange
        from hwsim.ops.kernels import dual as _dual

        def k(x, out):
            i = -1  # running index: counts from 0 only when one thread runs every row
            for r in prange(x.shape[0]):
                i += 1
                out[r] = i

        d = _dual(k, 0)
        x = np.zeros(64, np.int64)
        a, b = np.empty(64, np.int64), np.empty(64, np.int64)
        d.parallel(x, a)
        d.serial(x, b)
        print(b.tolist() == list(range(64)))
    """)
    mod = tmp_path / "kmod.py"
    mod.write_text(src)
    import os

    import hwsim

    root = os.path.dirname(os.path.dirname(os.path.abspath(hwsim.__file__)))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=root)
    out = subprocess.run([sys.executable, str(mod)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
