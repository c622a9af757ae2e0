"""Shared helper of the MAC tests: run hwsim.mac.matmul and the exact
reference (hwsim/_ref_mac.py) on the same problem and compare every output:
code, overflow events, psum events, max |partial|, bits needed, IEEE flags."""
import numpy as np
import pytest

from hwsim.errors import NaNInputError, OverflowValueError
from hwsim.mac import matmul
from hwsim.testing.mac_strategies import reference_matmul


def check_against_reference(mac, a, b, bias=None, za=0, zb=0, threads=1):
    try:
        ref = reference_matmul(a, b, mac, bias, za, zb)
        exc = None
    except (OverflowValueError, NaNInputError) as e:
        exc = type(e)
    if exc is not None:
        with pytest.raises(exc):
            matmul(a, b, mac, bias=bias, a_zero_point=za, b_zero_point=zb, threads=threads)
        return None
    res = matmul(a, b, mac, bias=bias, a_zero_point=za, b_zero_point=zb, threads=threads)
    st = res.stats
    m, n = a.shape[0], b.shape[1]
    if b.shape[0] == 0 and bias is None:
        # K = 0 (drawn on purpose): every output is the empty sum, an exact zero
        assert all(r.value == 0 and r.acc_events == 0 for row in ref for r in row)
    for i in range(m):
        for j in range(n):
            r = ref[i][j]
            got = (int(res.codes[i, j]), int(st.overflow_events_per_output[i, j]),
                   int(st.psum_overflow_events_per_output[i, j]),
                   float(st.max_abs_partial_per_output[i, j]),
                   None if st.bits_needed_per_output is None else int(st.bits_needed_per_output[i, j]))
            want = (r.code, r.acc_events, r.psum_events, r.max_abs, r.width_needed)
            assert got == want, (f"output ({i}, {j}) of {mac}\n a={a.tolist()}\n b={b.tolist()}\n"
                                 f" bias={bias} za={za} zb={zb}\n got  (code, events, psum, max, "
                                 f"bits) = {got}\n want {want}")
            if res.fmt is None:
                assert int(res.values[i, j]) == r.value
            elif r.value == r.value:
                assert res.values[i, j] == float(r.value)
    _check_flags(mac, a, b, bias, za, zb, threads, res, ref)
    return res


def _check_flags(mac, a, b, bias, za, zb, threads, res, ref):
    """flags=True (the general engine, same pass): the same codes, and per output the
    reference's IEEE flags."""
    fl = matmul(a, b, mac, bias=bias, a_zero_point=za, b_zero_point=zb, threads=threads,
                stats=False, flags=True)
    assert np.array_equal(fl.codes, res.codes)
    got = fl.flags.tolist()
    want = [[r.flags for r in row] for row in ref]
    assert got == want, f"flags of {mac}\n a={a.tolist()}\n b={b.tolist()}\n bias={bias}\n " \
                        f"got {got}\n want {want}"

