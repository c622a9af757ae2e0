"""PWLQ design: region-wise integer MACs, partial-sum encodings and the combiners."""
from fractions import Fraction

import numpy as np
import pytest

from hwsim.codec import decode, encode
from hwsim.codec.codebook import encode as pwlq_encode
from hwsim.designs import PsumEncoding, PWLQDesign, sqnr_db
from hwsim.designs.base import quantize_activations
from hwsim.designs.psum import _round_shift, encode_partial_sums
from hwsim.designs.pwlq import pwlq_regions
from hwsim.formats import PWLQFormat


def _data(seed=0, M=6, K=96, N=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((M, K)), rng.standard_normal((K, N)) * 0.1


def test_regions_rebuild_the_decoded_pwlq_weights():
    """sc*Wc + st*Wt + p*Ip - m*In is the PWLQ decode of every weight (float64)."""
    _, w = _data()
    regions, m, p, sc, st = pwlq_regions(w, 4)
    t = pwlq_encode(w, PWLQFormat(4, 4), axis=1)
    dec = np.asarray(t.values(), dtype=np.float64)
    rebuilt = (sc * regions["centre"] + st * regions["tail"] + p * regions["tail_pos"]
               - m * regions["tail_neg"])
    np.testing.assert_allclose(rebuilt, dec, rtol=0, atol=1e-15)
    assert set(np.unique(regions["tail_pos"] + regions["tail_neg"])) <= {0, 1}
    assert np.all((regions["centre"] == 0) | ((regions["tail_pos"] + regions["tail_neg"]) == 0))


def _exact(x, w, bits):
    """The region-wise exact sum, in Fractions, rounded once to float64."""
    a, sa = quantize_activations(x, 8)
    regions, m, p, sc, st = pwlq_regions(w, bits)
    coef = dict(centre=sc, tail=st, tail_pos=p, tail_neg=-m)
    out = np.empty((x.shape[0], w.shape[1]))
    for i in range(x.shape[0]):
        for j in range(w.shape[1]):
            v = Fraction(0)
            for k in range(x.shape[1]):
                for r, c in coef.items():
                    v += int(a[i, k]) * int(regions[r][k, j]) * Fraction(float(c[j]))
            out[i, j] = float(v * Fraction(sa))
    return out


@pytest.mark.parametrize("T,psum", [(None, PsumEncoding()), (16, PsumEncoding()),
                                    (16, PsumEncoding("shared_exp", 30)),
                                    (32, PsumEncoding("float32"))])
def test_lossless_encoding_equals_the_region_wise_exact_sum(T, psum):
    x, w = _data(1, M=3, K=64, N=4)
    y = PWLQDesign(T=T, psum=psum, combine="exact").matmul(x, w).values
    np.testing.assert_array_equal(y, _exact(x, w, 4))


def test_psum_bits_trade_accuracy():
    """Fewer partial-sum bits never help; 16 bits are lossless on this layer (K=512, T=64)."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((16, 512)), rng.standard_normal((512, 16)) * 0.05
    ref = PWLQDesign(T=64, combine="exact").matmul(x, w).values
    s = {b: sqnr_db(ref, PWLQDesign(T=64, psum=PsumEncoding("shared_exp", b),
                                    combine="exact").matmul(x, w).values)
         for b in (4, 6, 8, 10, 12, 16)}
    assert s[16] == float("inf")
    assert s[4] < s[6] < s[8] < s[10] < s[12]
    assert s[4] < 20 and s[12] > 40


def test_round_shift_matches_fractions():
    p = np.arange(-300, 301, dtype=np.int64)[:, None]
    for e in range(0, 6):
        ee = np.full_like(p, e)
        rne = _round_shift(p, ee, "rne")[:, 0]
        rtz = _round_shift(p, ee, "rtz")[:, 0]
        for v, a, b in zip(p[:, 0], rne, rtz):
            f = Fraction(int(v), 1 << e)
            assert a == round(f)  # Python's round: half to even
            assert b == int(f)    # toward zero


def test_shared_exp_saturates_and_counts():
    p = np.array([[127, -127, 3], [1000, 1, -1]], dtype=np.int64)
    q, sat = encode_partial_sums(p, PsumEncoding("shared_exp", 8))
    np.testing.assert_array_equal(q[0], [127, -127, 3])        # fits: e = 0
    assert q[1, 0] == 1000 and sat == 0  # e = 3: 1000 = 125 * 8
    np.testing.assert_array_equal(q[1, 1:], [0, 0])  # +-1/8 round to 0
    q, sat = encode_partial_sums(np.array([[255]], dtype=np.int64), PsumEncoding("shared_exp", 8))
    assert q[0, 0] == 254 and sat == 1  # e = 1: 127.5 rounds to 128 (even), saturates to 127
    q, sat = encode_partial_sums(np.array([[-255, 1]], dtype=np.int64),
                                 PsumEncoding("shared_exp", 8, "rtz"))
    assert q[0, 0] == -254 and q[0, 1] == 0


@pytest.mark.parametrize("combine", ["int", "float32", "bfloat16"])
def test_combiners_close_to_exact(combine):
    x, w = _data(4, M=8, K=128, N=8)
    ex = PWLQDesign(combine="exact").matmul(x, w).values
    y = PWLQDesign(combine=combine).matmul(x, w).values
    floor = {"int": 80, "float32": 100, "bfloat16": 25}[combine]
    assert sqnr_db(ex, y) > floor


def test_float_combine_rounds_each_step_in_the_format():
    """bfloat16 combine: every output (after the activation scale, also in bfloat16) is a
    bfloat16 value, and differs from the float64 combination of the same region sums."""
    x, w = _data(5)
    y = PWLQDesign(combine="bfloat16").matmul(x, w).values
    np.testing.assert_array_equal(decode(encode(y, "bfloat16"), "bfloat16"), y)
    assert not np.array_equal(y, PWLQDesign(combine="exact").matmul(x, w).values)


def test_int_combine_saturates_narrow_register():
    x, w = _data(6)
    r = PWLQDesign(combine="int", combine_bits=12, combine_frac_bits=8).matmul(x, w)
    assert r.stats["psum_saturations"] > 0


def test_paths_are_mac_units_and_cost():
    x, w = _data(7, M=2, K=40, N=3)
    r = PWLQDesign(T=16).matmul(x, w)
    assert sorted(r.paths) == ["centre", "tail", "tail_neg", "tail_pos"]
    assert r.paths["centre"].a_codes.shape == (3, 2, 16)  # 3 K tiles (the last zero-padded)
    assert r.paths["tail"].result.codes.shape == (3, 2, 3)
    assert r.cost["int_macs"] == 4 * 2 * 40 * 3
    assert r.cost["psum_bits"] == 2 * 4 * 2 * 3 * 64


@pytest.mark.parametrize("kw,msg", [(dict(bits=1), "bits"), (dict(acc_bits=60), "acc_bits"),
                                    (dict(combine="int8"), "combine"), (dict(T=0), "T"),
                                    (dict(psum=dict(kind="int8")), "psum encoding"),
                                    (dict(psum=dict(bits=1)), "psum bits")])
def test_bad_parameters_name_themselves(kw, msg):
    with pytest.raises(ValueError, match=msg):
        PWLQDesign(**kw)
