"""OCP MX block formats: hand-derived spec checks and C kernel vs the Fraction oracle."""
from __future__ import annotations

import math

import numpy as np
import pytest

import hwsim
from hwsim.reference import block as R
from hwsim import formats as bf
from hwsim.codec import block as bfc
from hwsim.errors import FormatError
from hwsim.testing import assert_bits_equal

pytestmark = pytest.mark.native  # rerun by make test-asan

MX_NAMES = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"]
MODES = ["rne", "rna", "rtz", "rup", "rdn", "rto"]


def elem_grid(fmt: bf.MXFormat) -> np.ndarray:
    """Positive finite element values and the midpoints between neighbours."""
    if fmt.is_int:
        v = np.arange(0, 128) / 64.0
    else:
        e = fmt.elem
        v = np.array(sorted({float(e.decode_exact(c)) for c in range(1 << e.bits)
                             if e.classify(c) in ("normal", "subnormal", "zero")
                             and not c & e.sign_bit}))
    mids = (v[:-1] + v[1:]) / 2
    return np.concatenate([v, mids, [v[-1] * 1.0001, v[-1] * 1.2]])


def edge_tensor(fmt: bf.MXFormat, rng, rows: int, dtype=np.float32) -> np.ndarray:
    """Rows of blocks: element-grid values and midpoints times 2^k with a block
    amax at the element max (or above it), plus zeros, -0, tiny values."""
    bs = fmt.block_size
    g = elem_grid(fmt)
    out = []
    for r in range(rows):
        k = int(rng.integers(-20, 20))
        vals = rng.choice(g, bs) * rng.choice([-1.0, 1.0], bs)
        top = fmt.elem.max_finite if not fmt.is_int else 127 / 64
        vals[0] = top * rng.choice([1.0, 1.5, 1.99])
        if r % 5 == 1:
            vals[1:4] = [0.0, -0.0, 2.0 ** -30]
        out.append(np.ldexp(vals, k))
    return np.array(out, dtype=np.float64).astype(dtype)


def random_tensor(rng, shape, dtype=np.float32):
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-30, 30, shape))
    return x.astype(dtype)


def check_vs_ref(x, fmt, axis=-1, rounding="rne", **kw):
    bt = bfc.encode(x, fmt, rounding, axis=axis, **kw)
    c, s = R.mx_quantize(x, fmt, axis, rounding, kw.get("sr_bits"), kw.get("seed", 0),
                         kw.get("index0", 0))
    assert bt.codes.dtype == c.dtype
    assert_bits_equal(bt.codes, c)
    assert_bits_equal(bt.scales, s)
    assert_bits_equal(bt.values(), R.mx_decode(c, s, fmt, axis))
    return bt


# ---------------------------------------------------------------------------
# hand-derived values (OCP MX v1.0 tables and the shared_exp rule)
# ---------------------------------------------------------------------------
def test_mxfp4_amax_6_gives_scale_one_and_exact_elements():
    # OCP MX v1.0: E2M1 emax_elem = 2; floor(log2(6)) = 2 -> shared_exp 0 -> E8M0 code 127.
    # E2M1 codes: 6.0 = 0b0111, 3.0 = 0b0101 (sign 0b1000), 0.5 = 0b0001, 1.0 = 0b0010.
    bt = hwsim.encode(np.array([6.0, -3.0, 0.5, 1.0, 0.0, -4.0], np.float32), "mxfp4")
    assert bt.scales.tolist() == [127]
    assert bt.codes.tolist() == [0x7, 0xD, 0x1, 0x2, 0x0, 0xE]
    assert bt.values().tolist() == [6.0, -3.0, 0.5, 1.0, 0.0, -4.0]


def test_mxfp8_e4m3_amax_448_shared_exp_zero():
    # floor(log2(448)) = 8 = emax_elem(E4M3) -> shared_exp 0; 448 is E4M3 code 0x7E.
    bt = hwsim.encode(np.array([448.0, -1.0, 2.0 ** -9]), "mxfp8_e4m3")
    assert bt.scales.tolist() == [127]
    assert bt.codes.tolist() == [0x7E, 0xB8, 0x01]


def test_mxfp8_e5m2_and_fp6_emax():
    # E5M2: amax 57344 = 1.75 * 2^15 -> shared_exp 0; E3M2 max 28 = 1.75 * 2^4 -> 0;
    # E2M3 max 7.5 = 1.875 * 2^2 -> 0.
    for name, amax, code in [("mxfp8_e5m2", 57344.0, 0x7B), ("mxfp6_e3m2", 28.0, 0x1F),
                             ("mxfp6_e2m3", 7.5, 0x1F)]:
        bt = hwsim.encode(np.array([amax, 1.0]), name)
        assert bt.scales.tolist() == [127], name
        assert bt.codes.tolist()[0] == code, name


def test_amax_power_of_two_and_scale_shift():
    # amax = 2^10 in MXFP4: shared_exp = 10 - 2 = 8 (code 135); 1024 / 2^8 = 4.0 (code 0b0110).
    bt = hwsim.encode(np.array([1024.0, 256.0, -96.0]), "mxfp4")
    assert bt.scales.tolist() == [135]
    assert bt.codes.tolist() == [0x6, 0x2, 0x8 | 0x1]  # 256/256 = 1.0; -96/256 = -0.375 -> -0.5
    # just below 2^10 (the exponent of the amax, not its rounding, sets the scale)
    bt = hwsim.encode(np.array([np.nextafter(np.float32(1024), np.float32(0))]), "mxfp4")
    assert bt.scales.tolist() == [134]
    assert bt.codes.tolist() == [0x7]  # 1023.99 / 128 = 7.99.. saturates to 6.0


def test_mxint8_values():
    # MXINT8: two's complement / 64; amax 1.0 -> shared_exp 0; 1.0 = 64 (0x40),
    # -127/64 = 0x81; with int8_min=-127 the value -1.999 saturates at -127.
    x = np.array([1.0, -127 / 64, 0.5, -1.999, 1 / 128])
    bt = hwsim.encode(x, "mxint8")
    assert bt.scales.tolist() == [127]
    assert bt.codes.tolist() == [0x40, 0x81, 0x20, 0x81, 0x00]  # 0.5 -> 32; 1/128*64 = 0.5 tie -> 0
    fmt = bf.MXFormat("mxint8", int8_min=-128)
    bt = hwsim.encode(x, fmt)
    assert bt.codes.tolist()[3] == 0x80  # -1.999*64 = -127.94 -> -128 is allowed now
    assert bt.values()[3] == -2.0


def test_rna_vs_rne_tie():
    # 2.5 is the midpoint between E2M1 values 2 (0b0100) and 3 (0b0101): rne -> 2, rna -> 3.
    x = np.array([6.0, 2.5, -2.5, 0.25])
    assert hwsim.encode(x, "mxfp4", "rne").codes.tolist() == [0x7, 0x4, 0xC, 0x0]
    assert hwsim.encode(x, "mxfp4", "rna").codes.tolist() == [0x7, 0x5, 0xD, 0x1]


def test_scale_limits_nan_and_clamp():
    # float64 amax 2^200 in MXFP4: 200 - 2 = 198 > 127 -> NaN scale (0xFF), all NaN.
    bt = hwsim.encode(np.array([2.0 ** 200, 1.0]), "mxfp4")
    assert bt.scales.tolist() == [0xFF] and bt.codes.tolist() == [0, 0]
    assert np.isnan(bt.values()).all()
    # amax 2^-140: -140 - 8 < -127 -> clamps to -127 (code 0); 2^-140 / 2^-127 = 2^-13
    # is below E4M3's smallest subnormal 2^-9 -> 0.
    bt = hwsim.encode(np.array([2.0 ** -140]), "mxfp8_e4m3")
    assert bt.scales.tolist() == [0] and bt.codes.tolist() == [0]
    # amax 2^-118 in E4M3: -118 - 8 = -126 -> code 1.
    assert hwsim.encode(np.array([2.0 ** -118]), "mxfp8_e4m3").scales.tolist() == [1]


def test_zero_block_and_negative_zero():
    bt = hwsim.encode(np.array([0.0, -0.0, 0.0]), "mxfp8_e4m3")
    assert bt.scales.tolist() == [0]
    assert bt.codes.tolist() == [0x00, 0x80, 0x00]  # E4M3 keeps -0
    assert np.signbit(bt.values()).tolist() == [False, True, False]
    assert hwsim.encode(np.array([-0.0, 0.0]), "mxint8").codes.tolist() == [0, 0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_block_gets_nan_scale(bad):
    x = np.ones((2, 40), np.float32)
    x[0, 35] = bad
    bt = hwsim.encode(x, "mxfp8_e4m3")
    assert bt.scales.tolist() == [[119, 0xFF], [119, 119]]  # floor(log2 1) - 8 = -8
    assert (bt.codes[0, 32:] == 0).all()
    v = bt.values()
    assert np.isnan(v[0, 32:]).all() and (v[0, :32] == 1).all() and (v[1] == 1).all()
    check_vs_ref(x, bf.MXFP8_E4M3)


# ---------------------------------------------------------------------------
# C vs the reference
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", MX_NAMES)
@pytest.mark.parametrize("mode", MODES)
def test_edge_tensors_vs_reference(name, mode):
    fmt = hwsim.format(name)
    rng = np.random.default_rng(abs(hash((name, mode))) % 2**32)
    check_vs_ref(edge_tensor(fmt, rng, 12), fmt, rounding=mode)


@pytest.mark.parametrize("name", MX_NAMES)
def test_random_float64_partial_blocks_vs_reference(name):
    fmt = hwsim.format(name)
    rng = np.random.default_rng(7)
    x = random_tensor(rng, (3, 77), np.float64)
    x[1, 70:] = 0
    x[2, 5] = 5e-320  # float64 subnormal
    bt = check_vs_ref(x, fmt)
    assert bt.scales.shape == (3, 3) and bt.pad == 19


@pytest.mark.parametrize("axis", [0, 1, 2, -2, None])
def test_axes_vs_reference(axis):
    fmt = bf.MXFormat("float6_e3m2fn", block_size=5)
    rng = np.random.default_rng(11)
    x = random_tensor(rng, (4, 7, 6))
    bt = check_vs_ref(x, fmt, axis=axis, rounding="rna")
    assert bt.codes.shape == x.shape
    if axis is not None:
        exp = list(x.shape)
        exp[axis] = -(-x.shape[axis] // 5)
        assert bt.scales.shape == tuple(exp)
        # the axis of the blocks: moving the axis last gives the same blocks
        moved = bfc.encode(np.moveaxis(x, axis, -1).copy(), fmt, "rna")
        assert_bits_equal(np.moveaxis(bt.codes, axis, -1), moved.codes)
    else:
        flat = bfc.encode(x.reshape(-1), fmt, "rna")
        assert_bits_equal(bt.codes.reshape(-1), flat.codes)


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp4", "mxint8"])
def test_stochastic_rounding_vs_reference_and_slices(name):
    fmt = hwsim.format(name)
    rng = np.random.default_rng(5)
    x = random_tensor(rng, (4, 64))
    bt = check_vs_ref(x, fmt, rounding="sr", sr_bits=6, seed=99)
    # rows 2..3 encoded alone with index0 = their offset give the same bits
    part = bfc.encode(x[2:], fmt, "sr", sr_bits=6, seed=99, index0=2 * 64)
    assert_bits_equal(part.codes, bt.codes[2:])
    other = bfc.encode(x, fmt, "sr", sr_bits=6, seed=100)
    assert (other.codes != bt.codes).any()


def test_element_max_saturates_every_format():
    for name in MX_NAMES:
        fmt = hwsim.format(name)
        top = fmt.elem.max_finite if not fmt.is_int else 127 / 64
        # amax in [2^emax, 2^(emax+1)): just below 2^(emax+1) is above the max -> saturates
        x = np.array([np.nextafter(2.0 ** (fmt.emax_elem + 1), 0), -top, top])
        v = bfc.quantize(x, fmt, "rup")
        assert v.tolist() == [top, -top, top], name


def test_threads_do_not_change_bits():
    rng = np.random.default_rng(3)
    x = random_tensor(rng, (300, 512))
    a = bfc.encode(x, "mxfp8_e4m3", threads=1)
    b = bfc.encode(x, "mxfp8_e4m3", threads=2)
    assert_bits_equal(a.codes, b.codes)
    assert_bits_equal(a.scales, b.scales)


def test_flags_report_inexact_and_overflow():
    bt = hwsim.encode(np.array([1.0, 0.3]), "mxfp4")
    assert bt.flags & hwsim.Flags.INEXACT
    bt = hwsim.encode(np.array([7.9, 1.0]), "mxfp4")  # 7.9 / 1 > 6: saturates
    assert bt.flags & hwsim.Flags.OVERFLOW
    assert not hwsim.encode(np.array([1.0, 2.0]), "mxfp4").flags


# ---------------------------------------------------------------------------
# format objects and API
# ---------------------------------------------------------------------------
def test_names_dict_round_trip_and_bits():
    bits = {"mxfp8_e4m3": 8, "mxfp8_e5m2": 8, "mxfp6_e3m2": 6, "mxfp6_e2m3": 6,
            "mxfp4": 4, "mxint8": 8}
    emax = {"mxfp8_e4m3": 8, "mxfp8_e5m2": 15, "mxfp6_e3m2": 4, "mxfp6_e2m3": 2,
            "mxfp4": 2, "mxint8": 0}  # numerics.md section 4
    for n in MX_NAMES:
        f = hwsim.format(n)
        assert f.kind == "mx" and f.name == n and f.block_size == 32
        assert f.bits == bits[n] and f.emax_elem == emax[n]
        g = hwsim.format(f.to_dict())
        assert g == f and g.name == n
    f = bf.MXFormat("e2m1", block_size=16, int8_min=-127)
    assert hwsim.format(f.to_dict()) == f and f.name == "mx_float4_e2m1fn_b16"


@pytest.mark.parametrize("kw", [dict(elem="int4"), dict(elem="float8_e8m0fnu"),
                                dict(elem="e4m3fn", block_size=0),
                                dict(elem="mxint8", int8_min=-126),
                                dict(elem="e4m3fn", scale="float8_e4m3fn"),
                                dict(elem="float32")])
def test_invalid_mx_formats(kw):
    with pytest.raises(FormatError):
        bf.MXFormat(**kw)


def test_api_dispatch_and_raw_decode():
    x = np.linspace(-3, 3, 40)
    bt = hwsim.encode(x, "mxfp6_e2m3")
    assert_bits_equal(hwsim.quantize(x, "mxfp6_e2m3"), bt.values())
    raw = bfc.decode(bt.codes, "mxfp6_e2m3", scales=bt.scales)
    assert_bits_equal(raw, bt.values())
    assert_bits_equal(bfc.decode(bt), bt.values())
    with pytest.raises(TypeError):
        bfc.decode(bt.codes, "mxfp6_e2m3")
    with pytest.raises(ValueError):
        bfc.encode(x, "mxfp4", "sr")  # sr needs sr_bits
    with pytest.raises(ValueError):
        bfc.encode(x, "mxfp4", axis=3)
    with pytest.raises(TypeError):
        bfc.encode(x, "mxfp4", tensor_scale=1.0)
    assert bt.codes.flags.writeable is False
    assert math.isclose(bt.values()[0], -3.0)


@pytest.mark.parametrize("name", ["mxfp4", "mxint8", "nvfp4", "msfp12", "nf4", "pwlq4"])
def test_every_family_through_the_public_api(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 40))
    bt = hwsim.encode(x, name)
    assert_bits_equal(hwsim.decode(bt, name), bt.values())
    assert_bits_equal(hwsim.quantize(x, name), bt.values())
    assert bt.codes.shape == x.shape and bt.codes.dtype == np.uint8
    for shape, axis in [((3, 0), -1), ((0,), -1), ((0, 5), 0), ((2, 0, 3), None)]:
        e = hwsim.encode(np.zeros(shape), name, **({} if name == "pwlq4" else dict(axis=axis)))
        assert e.codes.shape == shape and e.values().shape == shape


# ---------------------------------------------------------------------------
# microxcaling compatibility: its documented algorithm, re-stated in float32 numpy
# (steps from microsoft/microxcaling mx/mx_ops.py _quantize_mx and mx/elemwise_ops.py
# _quantize_elemwise_core, round="nearest"; parameters (ebits, mbits incl. sign and
# implicit bit, emax, max_norm) from its mx/formats.py).
# ---------------------------------------------------------------------------
MICROXCALING_PARAMS = {
    "mxfp8_e4m3": (4, 5, 8, 448.0), "mxfp8_e5m2": (5, 4, 15, 57344.0),
    "mxfp6_e3m2": (3, 4, 4, 28.0), "mxfp6_e2m3": (2, 5, 2, 7.5),
    "mxfp4": (2, 3, 2, 6.0), "mxint8": (0, 8, 0, 127 / 64),
}


def microxcaling_style(x: np.ndarray, name: str) -> np.ndarray:
    ebits, mbits, emax, max_norm = MICROXCALING_PARAMS[name]
    f32 = np.float32
    a = x.reshape(-1, 32).astype(f32)
    amax = np.abs(a).max(axis=1, keepdims=True)
    se = np.floor(np.log2(amax + f32(2.0 ** -126) * (amax == 0))) - f32(emax)
    se = np.where(se > 127, np.nan, np.maximum(se, f32(-127))).astype(f32)
    a = a / np.exp2(se)
    if ebits:
        pexp = np.floor(np.log2(np.abs(a) + (a == 0).astype(f32)))
        pexp = np.maximum(pexp, f32(2 - 2 ** (ebits - 1)))
        out = a / np.exp2(pexp) * f32(2.0 ** (mbits - 2))
    else:
        out = a * f32(2.0 ** (mbits - 2))
    out = np.sign(out) * np.floor(np.abs(out) + f32(0.5))  # round="nearest": ties away
    out = out / f32(2.0 ** (mbits - 2))
    if ebits:
        out = out * np.exp2(pexp)
    out = np.clip(out, -f32(max_norm), f32(max_norm))
    # a float element code keeps the input's sign when it rounds to zero (-0.0); sign() * floor()
    # above loses it where the scaled value underflowed to -0.0 in float32 (sign(-0.0) = 0)
    # integer elements have no -0: their zero is +0.0 (x + 0.0 turns -0.0 into +0.0)
    out = np.copysign(out, x.reshape(-1, 32)) if ebits else out + f32(0.0)
    return (out.astype(np.float64) * np.exp2(se.astype(np.float64))).reshape(x.shape)


@pytest.mark.parametrize("name", MX_NAMES)
def test_rna_matches_microxcaling_algorithm(name):
    rng = np.random.default_rng(17)
    x = (rng.standard_normal((64, 64)) * np.exp2(rng.integers(-20, 20, (64, 1)))).astype(np.float32)
    ties = edge_tensor(hwsim.format(name), rng, 16)  # element-grid midpoints: ties
    x = np.concatenate([x.reshape(-1, 32), ties])
    got = bfc.quantize(x, name, "rna")
    assert_bits_equal(got, microxcaling_style(x, name))
    assert not np.array_equal(bfc.quantize(x, name, "rne"), got)  # the ties do matter


def test_given_scales():
    # MXFP4 with the caller's scale 127 (2^0): 7 saturates to 6 (code 7), 0.3 -> 0.5 (code 1),
    # -Inf saturates to -6 (0xF); scale 0xFF: codes 0, values NaN.
    x = np.array([7.0, 0.3, -np.inf, 1.0, 2.0, np.nan])
    bt = hwsim.encode(x, bf.MXFormat("e2m1", block_size=3), scales=np.array([127, 0xFF]))
    assert bt.codes.tolist() == [0x7, 0x1, 0xF, 0, 0, 0]
    assert bt.values()[:3].tolist() == [6.0, 0.5, -6.0] and np.isnan(bt.values()[3:]).all()
    # recomputing with the scales it chose gives the same codes
    y = random_tensor(np.random.default_rng(0), (4, 50))
    a = hwsim.encode(y, "mxfp8_e5m2", axis=0)
    assert_bits_equal(hwsim.encode(y, "mxfp8_e5m2", axis=0, scales=a.scales).codes,
                                  a.codes)
    with pytest.raises(hwsim.NaNInputError, match=r"x\[0, 1\]"):
        hwsim.encode(np.array([[1.0, np.nan]]), "mxfp4", scales=np.array([[127]]))
    with pytest.raises(ValueError):
        hwsim.encode(x, "mxfp4", scales=np.array([127, 127]))  # one block, not two
    with pytest.raises(ValueError):
        hwsim.encode(np.ones(4), "nvfp4", scales=np.array([0]))  # E4M3 scale 0
    with pytest.raises(ValueError):
        hwsim.encode(np.ones(4), bf.BFPFormat(3, exp_bits=4), scales=np.array([16]))
    with pytest.raises(TypeError):
        hwsim.encode(np.ones(4), "nf4", scales=np.array([1]))
