"""The operand data checks of the float fast paths against plain numpy: the (min nonzero,
max) magnitude bounds of the codes present and the code range check (both were rewritten as
reductions without temporaries for large im2col operands)."""
import math

import numpy as np
import pytest

from hwsim.codec import decode
from hwsim.formats import PRESETS
from hwsim.formats import format as fmt_of
from hwsim.mac.block import scalar_format
from hwsim.mac.fastcheck import _codes_lo_hi
from hwsim.mac.operands import _check_codes

FMTS = [PRESETS["float8_e4m3fn"], PRESETS["float8_e5m2"], PRESETS["float16"],
        scalar_format(fmt_of("mxfp4"), "exact"), scalar_format(fmt_of("mxfp8_e4m3"), "exact")]


def _naive(codes, fmt):
    mb = fmt.bits - 1 if fmt.signed else fmt.bits
    mag = codes.astype(np.int64) & ((1 << mb) - 1)
    if not mag.any():
        return 1.0, 0.0
    v = np.abs(decode(mag.astype(np.uint32), fmt))
    if not np.all(np.isfinite(v)):
        return math.inf, math.inf
    return float(v[mag > 0].min()), float(v.max())


@pytest.mark.parametrize("fmt", FMTS, ids=lambda f: f.name)
@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32])
@pytest.mark.parametrize("seed", range(4))
def test_codes_lo_hi_matches_plain_numpy(fmt, dtype, seed):
    rng = np.random.default_rng(seed)
    mb = fmt.bits - 1 if fmt.signed else fmt.bits
    finite = int(np.argmin(np.isfinite(decode(np.arange(1 << mb, dtype=np.uint32), fmt)))) or \
        (1 << mb)
    hi = finite if seed != 3 else (1 << mb)  # seed 3: NaN / Inf codes may appear
    codes = rng.integers(0, hi, (7, 33))
    codes[rng.random(codes.shape) < 0.5] = 0
    if fmt.signed:
        codes |= rng.integers(0, 2, codes.shape) << mb
    if seed == 1:
        codes[:] = codes & (1 << mb)  # signed zeros only
    codes = codes.astype(dtype)
    assert _codes_lo_hi(codes, fmt) == _naive(codes, fmt)
    assert _codes_lo_hi(codes[:, ::2], fmt) == _naive(codes[:, ::2], fmt)  # strided view


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32, np.int64])
def test_check_codes_range(dtype):
    f = scalar_format(fmt_of("mxfp4"), "exact")
    ok = np.array([[0, 5], [(1 << f.bits) - 1, 3]], dtype)
    _check_codes(ok, f, "a")
    bad = ok.copy()
    bad[1, 0] = 1 << f.bits
    with pytest.raises(ValueError, match=r"a\[1, 0\] = 2048 is not a code"):
        _check_codes(bad, f, "a")
    if np.dtype(dtype).kind == "i":
        neg = ok.copy()
        neg[0, 1] = -1
        with pytest.raises(ValueError, match=r"a\[0, 1\] = -1 is not a code"):
            _check_codes(neg, f, "a")
