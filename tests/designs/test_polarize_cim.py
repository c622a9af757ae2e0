"""Precision polarization and bit-plane CIM: the properties their construction implies."""
import numpy as np
import pytest

from hwsim.designs import CIMDesign, PolarizationDesign, sqnr_db
from hwsim.designs.base import quantize_activations
from hwsim.designs.cim import bit_planes
from hwsim.designs.polarize import stuck_at_faults


def _data(seed=0, M=16, K=128, N=24):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((M, K)), rng.standard_normal((K, N)) * 0.1


def _ideal(x, w, bits=8):
    """What the datapath approximates: the quantized activations times the float weights."""
    a, sa = quantize_activations(x, bits)
    return sa * (a @ w)


@pytest.mark.parametrize("main", ["int8", "nf4"])
def test_polarization_sqnr_rises_with_rank(main):
    x, w = _data()
    ideal = _ideal(x, w)
    s = [sqnr_db(ideal, PolarizationDesign(main=main, rank=r).matmul(x, w).values)
         for r in (0, 1, 2, 4, 8, 16)]
    assert all(b > a for a, b in zip(s, s[1:])), s
    # numbers of this seeded layer (bfloat16 compensation, fp32 accumulate)
    assert s[0] < (45 if main == "int8" else 22) and s[-1] > s[0] + (4 if main == "int8" else 5)


@pytest.mark.parametrize("main", ["int8", "nf4"])
def test_polarization_full_rank_is_exact_up_to_the_compensation_format(main):
    """At full rank E = L R exactly (SVD), so with a float32 compensation path and float64
    accumulation and sum, the only error is float32 storage of L, R and A L."""
    x, w = _data(1, K=64, N=16)
    ideal = _ideal(x, w)
    d = PolarizationDesign(main=main, rank=16, comp_format="float32", comp_acc="float64",
                           sum_format="float64")
    assert sqnr_db(ideal, d.matmul(x, w).values) > 120


def test_polarization_noise_and_faults_are_seeded():
    x, w = _data(2)
    d = PolarizationDesign(rank=4, noise_std=0.05, stuck_at=0.01, seed=7)
    y1, y2 = d.matmul(x, w).values, d.matmul(x, w).values
    np.testing.assert_array_equal(y1, y2)
    y3 = PolarizationDesign(rank=4, noise_std=0.05, stuck_at=0.01, seed=8).matmul(x, w).values
    assert not np.array_equal(y1, y3)
    clean = PolarizationDesign(rank=4).matmul(x, w).values
    ideal = _ideal(x, w)
    assert sqnr_db(ideal, y1) < sqnr_db(ideal, clean) - 10


def test_stuck_at_fraction():
    codes = np.zeros(20000, dtype=np.uint8)
    f = stuck_at_faults(codes, 8, 0.1, 0)
    ones = np.unpackbits(f.view(np.uint8)).mean()  # half the stuck bits are stuck at 1
    assert 0.04 < ones < 0.06


def test_polarization_cost():
    x, w = _data(3, M=4, K=32, N=8)
    c = PolarizationDesign(rank=3).matmul(x, w).cost
    assert c["comp_macs"] == 4 * 3 * (32 + 8) and c["comp_weight_bits"] == 3 * 40 * 16


def test_bit_planes_rebuild_twos_complement():
    q = np.arange(-128, 128)
    planes = bit_planes(q, 8)
    np.testing.assert_array_equal(sum(p * wgt for p, wgt in planes), q)


@pytest.mark.parametrize("rows,a_bits,w_bits", [(64, 8, 8), (16, 4, 6), (100, 8, 4), (7, 3, 3)])
def test_cim_with_enough_adc_bits_equals_the_digital_mac(rows, a_bits, w_bits):
    rng = np.random.default_rng(rows)
    K = 3 * rows + 5
    a = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=(9, K))
    w = rng.integers(-(1 << (w_bits - 1)) + 1, 1 << (w_bits - 1), size=(K, 11))
    d = CIMDesign(a_bits=a_bits, w_bits=w_bits, rows=rows,
                  adc_bits=int(rows).bit_length(), recomb_bits=40)
    Y, st = d.recombine(a, w)
    np.testing.assert_array_equal(Y, a @ w)
    assert st["adc_clipped"] == 0 and st["recomb_saturations"] == 0


def test_cim_adc_bits_sweep_on_a_layer():
    x, w = _data(4)
    ref = CIMDesign(adc_bits=7).matmul(x, w).values  # exact: rows = 64 needs 7 bits
    s = {b: sqnr_db(ref, CIMDesign(adc_bits=b).matmul(x, w).values) for b in (4, 5, 6, 7)}
    assert s[7] == float("inf") and s[4] < s[6] < 25


def test_cim_noise_and_bitflips_seeded():
    x, w = _data(5)
    d = CIMDesign(noise_std=0.3, bitflip=1e-3, seed=3)
    np.testing.assert_array_equal(d.matmul(x, w).values, d.matmul(x, w).values)
    exact = CIMDesign().matmul(x, w).values
    assert not np.array_equal(d.matmul(x, w).values, exact)


def test_cim_recombination_register_saturates():
    x, w = _data(6)
    r = CIMDesign(recomb_bits=12).matmul(x, w)
    assert r.stats["recomb_saturations"] > 0
    r = CIMDesign(recomb_bits=12, recomb_overflow="wrap").matmul(x, w)
    assert r.stats["recomb_saturations"] == 0


@pytest.mark.parametrize("cls,kw,msg", [
    (CIMDesign, dict(adc_bits=0), "adc_bits"), (CIMDesign, dict(adc_range=1000), "adc_range"),
    (CIMDesign, dict(bitflip=2.0), "bitflip"), (CIMDesign, dict(recomb_overflow="sat"), "recomb"),
    (PolarizationDesign, dict(main="int4"), "main"), (PolarizationDesign, dict(rank=-1), "rank"),
    (PolarizationDesign, dict(comp_format="int8"), "comp_format"),
    (PolarizationDesign, dict(stuck_at=1.5), "stuck_at")])
def test_bad_parameters(cls, kw, msg):
    with pytest.raises(ValueError, match=msg):
        cls(**kw)
