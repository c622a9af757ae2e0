"""IEEE flags and NaN policies of MAC units (issue 10, item 2).

Oracles: Berkeley SoftFloat 3e through ``softfloatpy`` (RISC-V specialisation:
canonical NaN, the ``riscv`` preset), hwsim.rtl.ieee's propagating scalar model
(the ``x86`` / ``arm`` presets; written independently of the MAC engine), the
pure-Python reference (hwsim.reference.mac) and the per-step trace.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

import hwsim
from hwsim.errors import ConfigError
from hwsim.mac import (
    Chunked,
    FloatAccumulator,
    FusedMultiTermAccumulator,
    IntAccumulator,
    MacUnit,
    Tiles,
    Tree,
    dot,
    matmul,
    trace,
)
from hwsim.mac.nan import NAN_PRESETS, NanPolicy, nan_policy
from hwsim.modes import Flags
from hwsim.reference.mac import mac_dot, mac_matmul
from hwsim.rtl import cases, ieee

import softfloatpy as sf  # the SoftFloat oracle, in the [test] extra: a missing install fails

INVALID = int(Flags.INVALID)
RM = {"rne": "NEAR_EVEN", "rtz": "MIN_MAG", "rdn": "MIN", "rup": "MAX", "rna": "NEAR_MAX_MAG"}
SF = {"float16": ("Float16", 2, "f16"), "float32": ("Float32", 4, "f32")}
POLICIES = ["riscv", "x86", "arm"]


def _pool(fmt: str, rng: random.Random) -> list:
    """TestFloat level-2 boundary codes plus NaNs with payloads (quiet and signalling, both
    signs): the operand pool of the dot products below."""
    f = hwsim.format(fmt)
    M, e = f.man_bits, ((1 << f.exp_bits) - 1) << f.man_bits
    nans = [e | 1, e | 0x1B, e | (1 << (M - 1)) | 5, f.sign_bit | e | 3,
            f.sign_bit | e | (1 << (M - 1)) | 0x21]
    return cases.boundary_codes(f, 2) + nans


def _dots(fmt: str, n: int, k: int, seed: int):
    """n dot products of k terms: pool codes (70%) and random codes."""
    rng = random.Random(seed)
    f = hwsim.format(fmt)
    pool = _pool(fmt, rng)

    def code():
        return rng.choice(pool) if rng.random() < 0.7 else rng.randrange(1 << f.bits)
    a = np.array([[code() for _ in range(k)] for _ in range(n)], dtype=f.code_dtype)
    b = np.array([[code() for _ in range(k)] for _ in range(n)], dtype=f.code_dtype)
    return a, b


# ---------------------------------------------------------------------------
# the cases named in issue 10
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("nan,want", [("canonical", 0x7E00), ("riscv", 0x7E00), ("x86", 0x7E1B),
                                      ("arm", 0x7E1B)])
def test_snan_operand_raises_invalid_and_follows_the_policy(nan, want):
    mac = MacUnit("float16", "float16", product="float16", nan=nan,
                  accumulator=FloatAccumulator("float16", fused=False))
    r = dot(np.array([0xE80B], np.uint16), np.array([0x7C1B], np.uint16), mac, flags=True)
    assert (int(r.codes), int(r.flags)) == (want, INVALID)  # SoftFloat (x86): 7E1B, flags 10
    t = trace(np.array([[0xE80B]], np.uint16), np.array([[0x7C1B]], np.uint16), mac)
    assert "invalid" in t.steps[0]["events"]


@pytest.mark.parametrize("nan,want", [("riscv", 0x7E00), ("x86", 0xFE00), ("arm", 0x7E00)])
def test_inf_times_zero_raises_invalid_with_the_default_nan(nan, want):
    mac = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"), nan=nan)
    for a, b in ((0x0000, 0x7C00), (0xFC00, 0x8000)):
        r = dot(np.array([a], np.uint16), np.array([b], np.uint16), mac, flags=True)
        assert (int(r.codes), int(r.flags)) == (want, INVALID)
        t = trace(np.array([[a]], np.uint16), np.array([[b]], np.uint16), mac)
        assert t.steps[0]["flags"] == INVALID


def test_arm_prefers_a_signalling_nan_x86_the_first_nan():
    # register NaN (quiet, from the bias) first, then a signalling operand
    bias = 0x7E05  # quiet NaN payload 5
    for nan, want in (("x86", 0x7E05), ("arm", 0x7E1B), ("riscv", 0x7E00)):
        mac = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"), nan=nan)
        r = dot(np.array([0x3C00], np.uint16), np.array([0x7C1B], np.uint16), mac,
                bias_codes=bias, flags=True)
        assert (int(r.codes), int(r.flags)) == (want, INVALID), nan


def test_default_policy_is_unchanged_and_presets_are_stated():
    assert MacUnit("int8", "int8").nan == NanPolicy()
    assert "nan" not in MacUnit("float16", "float16").to_dict()
    for name, p in NAN_PRESETS.items():
        m = MacUnit("float16", "float16", nan=name)
        assert MacUnit.from_dict(m.to_dict()) == m and nan_policy(name) == p
    assert NAN_PRESETS["riscv"].rule == 0
    assert (NAN_PRESETS["x86"].mode, NAN_PRESETS["x86"].negative) == ("propagate", True)
    assert (NAN_PRESETS["arm"].mode, NAN_PRESETS["arm"].prefer_snan) == ("propagate", True)
    with pytest.raises(ConfigError, match="canonical"):
        NanPolicy("loud")
    with pytest.raises(ConfigError, match="prefer_snan"):
        NanPolicy("canonical", prefer_snan=True)
    with pytest.raises(ConfigError, match="nan must be one of"):
        MacUnit("float16", "float16", nan="mips")


# ---------------------------------------------------------------------------
# sequential dot products against SoftFloat and the propagating scalar model
# ---------------------------------------------------------------------------
def _sf(op, fmt, rounding, *codes):
    cls, nb, p = SF[fmt]
    sf.set_rounding_mode(getattr(sf.RoundingMode, RM[rounding]))
    sf.set_tininess_mode(sf.TininessMode.AFTER_ROUNDING)
    sf.set_exception_flags(0)
    args = [getattr(sf, cls).from_bytes(int(c).to_bytes(nb, "big")) for c in codes]
    z = getattr(sf, f"{p}_{op}")(*args)
    return int.from_bytes(z.to_bytes(), "big"), int(sf.get_exception_flags())


def _model_dot(step, a_row, b_row):
    """acc = +0, then acc = step(acc, a_k, b_k); returns (code, flags OR-ed)."""
    acc, flags = 0, 0
    for a, b in zip(a_row, b_row):
        acc, fl = step(acc, int(a), int(b))
        flags |= fl
    return acc, flags


def _check_dots(mac, a, b, step):
    r = dot(a, b, mac, flags=True)
    for i in range(a.shape[0]):
        want = _model_dot(step, a[i], b[i])
        assert (int(r.codes[i]), int(r.flags[i])) == want, (i, [hex(int(x)) for x in a[i]],
                                                            [hex(int(x)) for x in b[i]])


@pytest.mark.parametrize("rounding", ["rne", "rtz", "rdn", "rup", "rna"])
@pytest.mark.parametrize("fmt", ["float16", "float32"])
def test_riscv_dots_equal_softfloat(fmt, rounding):
    """riscv preset: fused register = SoftFloat mulAdd steps, a product format = mul then add."""
    a, b = _dots(fmt, 120, 5, seed=11)
    fused = MacUnit(fmt, fmt, accumulator=FloatAccumulator(fmt, rounding=rounding), nan="riscv")
    _check_dots(fused, a, b, lambda acc, x, y: _sf("mul_add", fmt, rounding, x, y, acc))
    split = MacUnit(fmt, fmt, product=fmt, product_rounding=rounding, nan="riscv",
                    accumulator=FloatAccumulator(fmt, rounding=rounding, fused=False))

    def two_steps(acc, x, y):
        p, f1 = _sf("mul", fmt, rounding, x, y)
        s, f2 = _sf("add", fmt, rounding, acc, p)
        return s, f1 | f2
    _check_dots(split, a, b, two_steps)


@pytest.mark.parametrize("nan", POLICIES)
@pytest.mark.parametrize("fmt", ["float16", "float32"])
def test_propagating_dots_equal_the_scalar_model(fmt, nan):
    """product format + register: hwsim.rtl.ieee mul then add (register first) per step."""
    a, b = _dots(fmt, 80, 5, seed=12)
    mac = MacUnit(fmt, fmt, product=fmt, nan=nan,
                  accumulator=FloatAccumulator(fmt, fused=False))

    def two_steps(acc, x, y):
        p, f1 = ieee.mul(fmt, x, y, "rne", nan=nan)
        s, f2 = ieee.add(fmt, acc, p, "rne", nan=nan)
        return s, f1 | f2
    _check_dots(mac, a, b, two_steps)


# ---------------------------------------------------------------------------
# every float accumulator kind: engine = reference = OR over the trace
# ---------------------------------------------------------------------------
def _units(nan):
    f16, e4 = "float16", "float8_e4m3fn"
    fma = FusedMultiTermAccumulator.from_extra_bits(4, 3, out_fmt="float32")
    return [
        MacUnit(f16, f16, accumulator=FloatAccumulator("float32"), nan=nan),
        MacUnit(f16, f16, accumulator=FloatAccumulator("float16", "rtz", fused=False), nan=nan),
        MacUnit(f16, f16, product="bfloat16", accumulator=FloatAccumulator("float16"), nan=nan,
                order=Tree(2)),
        MacUnit(e4, e4, accumulator=FloatAccumulator("float8_e5m2", fused=False), nan=nan),
        MacUnit(e4, e4, accumulator=FloatAccumulator("bfloat16"), nan=nan,
                order=Chunked(2, FloatAccumulator("float32"))),
        MacUnit(f16, f16, accumulator=FloatAccumulator("float32"), nan=nan,
                tiling=Tiles(2, "float16", mode="separate")),
        MacUnit(f16, f16, accumulator=FloatAccumulator("float32", "rup"), nan=nan,
                tiling=Tiles(3, "bfloat16", mode="reload"), bias="final"),
        MacUnit(f16, f16, accumulator=fma, nan=nan),
    ]


def _operands(mac, m, k, n, seed):
    rng = random.Random(seed)
    f = mac.a_fmt
    pool = _pool(f.name, rng) if f.name == "float16" else cases.boundary_codes(f, 2)

    def arr(r, c):
        return np.array([[rng.choice(pool) if rng.random() < 0.15 else rng.randrange(1 << f.bits)
                          for _ in range(c)] for _ in range(r)], dtype=f.code_dtype)
    return arr(m, k), arr(k, n)


def _bias_codes(mac, n, seed):
    rng = random.Random(seed)
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or
                                                              mac.top_accumulator)
    reg = acc.register(mac).fmt
    pool = cases.boundary_codes(reg, 1) + ([reg.nan_code | 0x13] if reg.specials == "ieee" else [])
    return np.array([rng.choice(pool) for _ in range(n)], dtype=reg.code_dtype)


@pytest.mark.parametrize("nan", ["canonical", "x86", "arm"])
@pytest.mark.parametrize("unit", range(8))
def test_engine_flags_equal_reference_and_trace(unit, nan):
    mac = _units(nan)[unit]
    m, k, n = 4, 6, 5
    a, b = _operands(mac, m, k, n, seed=100 + unit)
    bias = _bias_codes(mac, n, seed=200 + unit)
    r = matmul(a, b, mac, bias_codes=bias, flags=True)
    ref = mac_matmul(a.tolist(), b.tolist(), mac, bias_codes=bias.tolist())
    assert r.flags.shape == r.codes.shape and r.flags.dtype == np.uint8
    got = [(int(r.codes[i, j]), int(r.flags[i, j])) for i in range(m) for j in range(n)]
    want = [(ref[i][j].code, ref[i][j].flags) for i in range(m) for j in range(n)]
    assert got == want
    for i, j in ((0, 0), (1, 3), (3, 4)):
        t = trace(a, b, mac, i, j, bias_codes=bias)
        ored = 0
        for s in t.steps:
            ored |= s["flags"]
        assert ored == int(r.flags[i, j]), (i, j, t.table())
    assert np.array_equal(r.codes, matmul(a, b, mac, bias_codes=bias).codes)


def test_flags_do_not_change_results_and_cover_the_fast_paths():
    """flags=True runs the general engine: same codes as the fast kernel; per-output flags
    equal the reference's on finite fp8 operands (inexact, overflow at the fp16 register)."""
    rng = np.random.default_rng(5)
    mac = MacUnit("float8_e4m3fn", "float8_e4m3fn", accumulator=FloatAccumulator("float16"))
    a = rng.integers(0, 0x7F, (6, 16)).astype(np.uint8)
    b = rng.integers(0, 0x7F, (16, 7)).astype(np.uint8)
    fast, fl = matmul(a, b, mac), matmul(a, b, mac, flags=True)
    assert fl.path == "general" and fast.flags is None
    assert np.array_equal(fast.codes, fl.codes)
    ref = mac_matmul(a.tolist(), b.tolist(), mac)
    assert [[x.flags for x in row] for row in ref] == fl.flags.tolist()
    assert int(fl.flags.max()) & int(Flags.INEXACT)


def test_flags_batched_and_per_batch_shapes():
    mac = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"))
    rng = np.random.default_rng(3)
    a = rng.integers(0, 1 << 16, (2, 3, 4)).astype(np.uint16)
    b = rng.integers(0, 1 << 16, (4, 5)).astype(np.uint16)
    r = matmul(a, b, mac, flags=True)
    assert r.flags.shape == (2, 3, 5)
    for t in range(2):
        assert np.array_equal(matmul(a[t], b, mac, flags=True).flags, r.flags[t])
    bc = np.full((2, 5), 0x7C01, np.uint16)  # a signalling NaN bias per batch
    rb = matmul(a, b, mac, bias_codes=bc, flags=True)
    assert rb.flags.shape == (2, 3, 5) and (rb.flags & INVALID).all()
    d = dot(a[0], b.T[:3], mac, flags=True)
    assert d.flags.shape == (3,)


# ---------------------------------------------------------------------------
# bias codes
# ---------------------------------------------------------------------------
def test_bias_codes_carry_nan_payloads_and_signalling_nans():
    a, b = np.array([0x3C00], np.uint16), np.array([0x3C00], np.uint16)
    x86 = MacUnit("float16", "float16", accumulator=FloatAccumulator("float16"), nan="x86")
    r = dot(a, b, x86, bias_codes=0xFD23, flags=True)  # -sNaN payload 0x123
    assert (int(r.codes), int(r.flags)) == (0xFF23, INVALID)
    q = dot(a, b, x86, bias_codes=0x7E23, flags=True)  # quiet: kept, no flag
    assert (int(q.codes), int(q.flags)) == (0x7E23, 0)
    fin = dot(a, b, x86, bias_codes=0x4000, flags=True)  # 2 + 1 = 3
    assert int(fin.codes) == 0x4200 and int(fin.flags) == 0
    assert int(fin.codes) == int(dot(a, b, x86, bias=2.0).codes)
    ref = mac_dot([0x3C00], [0x3C00], x86, bias_codes=0xFD23)
    assert (ref.code, ref.flags) == (0xFF23, INVALID)
    f32 = MacUnit("float16", "float16", accumulator=FloatAccumulator("float32"), nan="arm")
    r32 = dot(a, b, f32, bias_codes=0x7F800123, flags=True)
    assert (int(r32.codes), int(r32.flags)) == (0x7FC00123, INVALID)


def test_bias_codes_of_an_integer_register_and_errors():
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(16))
    a = np.array([[3, 4]], np.uint8)
    b = np.array([[5], [6]], np.uint8)
    r = matmul(a, b, mac, bias_codes=np.array([0xFFFF], np.uint16))  # -1
    assert int(r.values[0, 0]) == 3 * 5 + 4 * 6 - 1
    assert int(r.values[0, 0]) == mac_dot([3, 4], [5, 6], mac, bias_codes=0xFFFF).value
    with pytest.raises(ValueError, match="not both"):
        matmul(a, b, mac, bias=1, bias_codes=1)
    with pytest.raises(ValueError, match="bias_codes"):
        matmul(a, b, mac, bias_codes=np.array([1 << 16], np.uint32))
    with pytest.raises(ValueError, match="bias_codes must be a scalar or have 1"):
        matmul(a, b, mac, bias_codes=np.array([1, 2], np.uint16))
    with pytest.raises(TypeError, match="bias_codes"):
        matmul(a, b, mac, bias_codes=1.5)
