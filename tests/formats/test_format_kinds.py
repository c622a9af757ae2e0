"""Each format kind owns its derived properties: checked against the values themselves."""
import math
from fractions import Fraction

import pytest

import hwsim
from hwsim import formats as F


def _finite_nonzero(fmt):
    out = []
    for c in range(1 << fmt.bits):
        v = fmt.decode_exact(c)
        if isinstance(v, Fraction) and v != 0:
            out.append(abs(v))
    return out


def _lsb_exp(v: Fraction) -> int:
    """Exponent of the lowest set bit of a dyadic rational."""
    n, d = v.numerator, v.denominator
    return (n & -n).bit_length() - 1 - (d.bit_length() - 1)


def _lead_exp(v: Fraction) -> int:
    e = v.numerator.bit_length() - v.denominator.bit_length()
    return e if Fraction(2) ** e <= v else e - 1


def _sig(v: Fraction) -> int:
    return _lead_exp(v) - _lsb_exp(v) + 1


SMALL = [f for f in F.PRESETS.values() if f.bits <= 10] + [
    hwsim.format(n) for n in ("e4m3_nosub", "e3m2_unsigned", "binary8p3", "binary8p1sf",
                              "e5m2fnuz", "e2m1fn_b3")] + [
    F.IntFormat(8), F.IntFormat(5, signed=False), F.FixedFormat(8, 3), F.FixedFormat(6, -2),
    F.FixedFormat(7, 7, signed=False)]


@pytest.mark.parametrize("fmt", SMALL, ids=lambda f: f.name)
def test_scalar_ranges_match_every_value(fmt):
    vals = _finite_nonzero(fmt)
    lsb, top = fmt.range_bits
    assert lsb == min(_lsb_exp(v) for v in vals)
    assert top == max(_lead_exp(v) for v in vals) + 1
    assert fmt.sig_bits >= max(_sig(v) for v in vals)
    if fmt.kind == "float":
        p, lo, hi = fmt.lead_exp_span
        assert (lo, hi) == (min(map(_lead_exp, vals)), max(map(_lead_exp, vals)))
        assert p == fmt.precision == fmt.sig_bits
        assert fmt.exp_min == fmt.emin
    else:
        assert fmt.sig_bits == fmt.bits and fmt.exp_min == -fmt.frac_bits


def _block_values(fmt, elem_vals, scale_exps):
    return [v * Fraction(2) ** s for v in elem_vals for s in scale_exps]


@pytest.mark.parametrize("fmt", [F.MXFP8_E4M3, F.MXFP8_E5M2, F.MXFP6_E3M2, F.MXFP6_E2M3, F.MXFP4,
                                 F.MXINT8], ids=lambda f: f.name)
def test_mx_ranges_are_element_times_e8m0(fmt):
    elem = _finite_nonzero(fmt.elem)
    vals = _block_values(fmt, elem, (-127, 127))
    lsb, top = fmt.range_bits
    assert lsb == min(map(_lsb_exp, vals)) and top == max(map(_lead_exp, vals)) + 1
    p, lo, hi = fmt.lead_exp_span
    assert hi == max(map(_lead_exp, vals))
    assert lo <= min(map(_lead_exp, vals)) and p >= max(map(_sig, elem))
    assert fmt.sig_bits >= max(map(_sig, elem))
    g_lsb, g_top, g_bits = fmt.element_grid
    assert (g_lsb, g_top) == (min(map(_lsb_exp, elem)), max(map(_lead_exp, elem)) + 1)
    assert g_bits == 1  # a power-of-two scale
    assert fmt.scale_code_range == (0, 255, 0xFF)


def test_nvfp4_and_bfp_hand_values():
    # NVFP4: e2m1 LSB 2^-1, top 2^3; e4m3 scale LSB 2^-9, top 2^9; float32 ts LSB 2^-149, top 2^128
    assert F.NVFP4.range_bits == (-1 - 9 - 149, 3 + 9 + 128)
    assert F.NVFP4.sig_bits == 2 + 4 + 24
    assert F.NVFP4.element_grid == (-1, 3, 4)
    assert F.NVFP4.scale_code_range == (1, 0x7F, 0x7F)
    # MSFP12: 3 magnitude bits, shared exponent bias 127: k * 2^(E - 2), E in [-127, 128]
    f = F.MSFP12
    vals = [Fraction(k) * Fraction(2) ** (e - 2) for k in range(1, 8) for e in (-127, 128)]
    assert f.range_bits[0] == min(map(_lsb_exp, vals))
    assert f.range_bits[1] >= max(map(_lead_exp, vals)) + 1
    assert f.sig_bits == 4 and f.scale_code_range == (0, 255, None)
    assert f.scale_dtype == hwsim.formats.code_dtype(8)
    assert F.NF4.scale_dtype.name == "float32"


def test_codebook_grid_from_the_table():
    cb = F.CodebookFormat([-1.0, -0.375, 0.0, 0.25, 1.0])
    # 0.375 = 3 * 2^-3 has its lowest bit at 2^-3; every value is below 2^1
    assert cb.element_grid == (-3, 1, 24)
    p, lo, hi = cb.lead_exp_span
    assert (lo, hi) == (-2 - 149, 0 + 127 + 1) and p == 2 + 24
    assert math.isfinite(p)
