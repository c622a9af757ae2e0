"""Reuse of prepared weights across calls (the int_steps packed b operand, conv2d's
weight matrix) and the byte-code operand loader: a reused result is only ever the
one a fresh computation gives.  Arrays changed in place, other zero points and other
formats at the same address are prepared again; results (values and every statistic)
equal the general engine and do not depend on the thread count."""
import numpy as np
import pytest

from hwsim import native as _native
from hwsim.mac import IntAccumulator, MacUnit, matmul
from hwsim.mac import packcache as _fast
from hwsim.ops.conv import conv2d, weight_matrix

pytestmark = [pytest.mark.native]
ffi, lib = _native.ffi, _native.lib


def _mac(a="uint8", b="int8", bits=32, overflow="wrap"):
    return MacUnit(a, b, accumulator=IntAccumulator(bits, overflow=overflow))


def _same_result(r, g):
    assert np.array_equal(r.values, g.values)
    for f in ("overflow_events_per_output", "max_abs_partial_per_output",
              "bits_needed_per_output", "a2q_l1_bits"):
        assert np.array_equal(np.asarray(getattr(r.stats, f)), np.asarray(getattr(g.stats, f))), f


def test_cached_b_is_repacked_when_changed_in_place():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (20, 300), dtype=np.uint8)
    b = rng.integers(0, 256, (300, 40), dtype=np.uint8)
    mac = _mac()
    first = matmul(a, b, mac, b_zero_point=0)
    assert first.path == "int_steps"
    again = matmul(a, b, mac, b_zero_point=0)   # same address, same bytes: reused
    _same_result(again, first)
    b[17, 3] ^= 0x55                             # same address, new bytes
    b[299, 39] ^= 0x01
    got = matmul(a, b, mac, b_zero_point=0)
    _same_result(got, matmul(a, b, mac, b_zero_point=0, path="general"))
    assert not np.array_equal(got.values, first.values)


def test_cached_b_keys_on_zero_point_and_format():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 100, (8, 256), dtype=np.uint8)
    b = rng.integers(0, 100, (256, 33), dtype=np.uint8)
    for zb in (0, 3, np.arange(33) % 7):
        for mac in (_mac(b="int8"), _mac(b="uint8"), _mac(bits=20, overflow="saturate")):
            got = matmul(a, b, mac, b_zero_point=zb)
            assert got.path == "int_steps"
            _same_result(got, matmul(a, b, mac, b_zero_point=zb, path="general"))


def test_cache_stays_within_its_limit(monkeypatch):
    monkeypatch.setattr(_fast, "_PACK", {})
    monkeypatch.setattr(_fast, "_PACK_LIMIT", 200_000)
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (4, 512), dtype=np.uint8)
    keep = [rng.integers(0, 256, (512, 48), dtype=np.uint8) for _ in range(6)]
    for b in keep:
        _same_result(matmul(a, b, _mac()), matmul(a, b, _mac(), path="general"))
        held = sum(v[0].nbytes + v[1].nbytes for v in _fast._PACK.values())
        assert 0 < held <= 200_000
    assert len(_fast._PACK) < len(keep)


@pytest.mark.parametrize("threads", [1, 2])
def test_int_steps_independent_of_threads(threads):
    rng = np.random.default_rng(6)
    a = rng.integers(0, 256, (301, 576), dtype=np.uint8)
    b = rng.integers(0, 256, (576, 70), dtype=np.uint8)
    one = matmul(a, b, _mac(bits=24, overflow="saturate"), a_zero_point=128, threads=1)
    got = matmul(a, b, _mac(bits=24, overflow="saturate"), a_zero_point=128, threads=threads)
    _same_result(got, one)
    assert np.array_equal(got.codes, one.codes)


def test_conv_weight_matrix_reused_only_for_same_codes():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (1, 6, 9, 9), dtype=np.uint8)
    w = rng.integers(0, 256, (8, 3, 3, 3), dtype=np.uint8)
    mac = _mac()
    kw = dict(padding=1, groups=2, order="kh,kw,cin")
    acc1, _ = conv2d(x, w, mac, **kw)
    acc2, _ = conv2d(x, w, mac, **kw)
    assert np.array_equal(acc1, acc2)
    w[5, 2, 1, 0] ^= 0x7F                        # in place: same address
    acc3, st = conv2d(x, w, mac, **kw)
    acc_g, st_g = conv2d(x, w, mac, **kw, stats=True)
    wm = weight_matrix(w, 2, "kh,kw,cin")
    assert not np.array_equal(acc3, acc1)
    # the layer's accumulators against a direct matmul of the fresh weight matrix
    from hwsim.ops.conv import im2col
    cols, (n, ho, wo) = im2col(x, (3, 3), padding=1, groups=2, order="kh,kw,cin")
    for g in range(2):
        r = matmul(cols[g], wm[g], mac, path="general")
        got = acc3[0, 4 * g:4 * g + 4].transpose(1, 2, 0).reshape(-1, 4)
        assert np.array_equal(got, r.values)
    assert np.array_equal(acc_g, acc3) and st["overflow_events"] == st_g["overflow_events"]


def _lut_rows(codes, lut, zp, per_row, code_size):
    c = np.ascontiguousarray(codes.astype({1: np.uint8, 2: np.uint16}[code_size]))
    rows, cols = c.shape
    out = np.full((rows, cols), 99, np.int32)
    rc = lib.hw_mac_lut_i32(ffi.cast("void *", ffi.from_buffer(c)), code_size, rows, cols,
                            ffi.cast("int32_t *", ffi.from_buffer(lut)), lut.size,
                            ffi.NULL if zp is None else ffi.cast("int32_t *", ffi.from_buffer(zp)),
                            per_row, ffi.cast("int32_t *", ffi.from_buffer(out)), 0)
    assert rc == lib.HW_OK
    return out


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("zp_kind", ["none", "row", "col"])
def test_byte_code_loader_equals_general_loop(signed, zp_kind):
    rng = np.random.default_rng(8 + signed)
    lut = np.arange(256, dtype=np.int32)
    if signed:
        lut = np.where(lut >= 128, lut - 256, lut).astype(np.int32)
    codes = rng.integers(0, 256, (13, 77))
    zp = {"none": None, "row": rng.integers(-300, 300, 13).astype(np.int32),
          "col": rng.integers(-300, 300, 77).astype(np.int32)}[zp_kind]
    per_row = int(zp_kind == "row")
    got = _lut_rows(codes, lut, zp, per_row, 1)        # the byte-code loop
    want = _lut_rows(codes, lut, zp, per_row, 2)       # the general loop
    z = 0 if zp is None else (zp[:, None] if per_row else zp[None, :])
    assert np.array_equal(got, want)
    assert np.array_equal(got, lut[codes] - z)


@pytest.mark.parametrize("zp_kind", ["none", "row"])
def test_byte_code_loader_other_tables(zp_kind):
    # uint8 / int8 tables take a widening loop; any other 256-entry table the gather loop:
    # a table one entry away from either must give its own values
    rng = np.random.default_rng(31)
    codes = rng.integers(0, 256, (9, 70))
    codes[0, :3] = (0, 7, 200)
    zp = None if zp_kind == "none" else rng.integers(-300, 300, 9).astype(np.int32)
    z = 0 if zp is None else zp[:, None]
    u8 = np.arange(256, dtype=np.int32)
    for lut in (u8, u8 - 256 * (u8 >= 128)):
        for bad in (0, 7, 200):
            t = lut.astype(np.int32).copy()
            t[bad] += 5
            got = _lut_rows(codes, t, zp, int(zp is not None), 1)
            assert np.array_equal(got, t[codes] - z)
    perm = rng.permutation(256).astype(np.int32)
    assert np.array_equal(_lut_rows(codes, perm, zp, int(zp is not None), 1), perm[codes] - z)
