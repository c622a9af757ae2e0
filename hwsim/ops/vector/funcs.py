"""exp, log, sigmoid, tanh, erf and rsqrt correctly rounded into the vector unit's format.

Each function is first evaluated in float64 by our own code (range reduction and
polynomials / series / a continued fraction in IEEE float64 +, -, *, /, sqrt only: no libm,
no numpy transcendental) together with an error bound ``err`` (relative bound
:data:`REL_BOUND`, or the running bound of the erf series).  Rounding is monotone, so where
``t - err`` and ``t + err`` round to the same code of the unit's format, that code is the
correctly rounded one.  The other elements (about one in 2^20 for float32) are evaluated in
Python ``decimal`` arithmetic with at least 60 correct significant digits (never exact:
these functions are transcendental at nonzero rational arguments; the exact cases,
f(0), log(1) and rsqrt of a power of 4, are handled exactly), brought to float64 with
round-to-odd and rounded once.  Checked against MPFR (gmpy2) exhaustively for float16 and
bfloat16 and on sampled float32 inputs (tests/ops/test_vector_funcs.py).
"""
from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction
from math import factorial

import numpy as np

from ..exact import round_to_odd64

__all__ = ["correctly_rounded", "approx", "exact_value", "exp64", "EXP64_REL", "REL_BOUND",
           "PI_DIGITS"]

#: relative error bound stated for the float64 evaluations (each is below 2^-47;
#: measured maxima in tests/ops/test_vector_funcs.py)
REL_BOUND = 2.0 ** -44
PI_DIGITS = ("3.14159265358979323846264338327950288419716939937510582097494459230781640628"
             "62089986280348253421170679821480865132823066470938446095505822317253594081284811")

_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: 32 significant bits ...
_LN2_LO = 1.90821492927058770002e-10  # ... and the rest
_INV_LN2 = 1.44269504088896338700e+00
_EXP_C = [1.0 / factorial(n) for n in range(14)]
_X_CLAMP = {"exp": 200.0, "sigmoid": 200.0, "tanh": 50.0, "erf": 10.0}


#: proven relative error bound of :func:`exp64` where its result is a normal float64
EXP64_REL = 2.0 ** -47


def exp64(x):
    """exp(x) for float64 ``x`` in [-1400, 0] (no libm): relative error below
    :data:`EXP64_REL` where the result is normal, plus at most 2^-1075 absolute where it
    is subnormal (``ldexp`` rounds once) or 0.

    Proof (u = 2^-53).  ``k = rint(fl(x / ln 2))``, ``|k| <= 2020``, so
    ``|r| = |x - k ln 2| <= ln(2) / 2 + 2^-40 < 0.3466``.  ``_LN2_HI`` has 32 significant
    bits, so ``k * _LN2_HI`` is exact, and ``x - k * _LN2_HI`` is exact (Sterbenz: for
    ``k != 0`` both lie within a factor 2; for ``k = 0`` it is ``x``).  Then ``r`` errs by at
    most ``u |r| + u |k _LN2_LO| + |k| |ln 2 - _LN2_HI - _LN2_LO|`` < 0.35u + 2^-73,
    i.e. a relative change of exp below 0.4u.  The degree-13 Taylor polynomial truncates
    by < 0.3467^14 / 14! * e^0.35 < 0.1u relative to exp(r) >= e^-0.3467 > 0.707.  Horner's
    rule with coefficients ``fl(1/n!)`` errs by at most ``(gamma_26 + u) sum |c_n| |r|^n <=
    27.1u e^0.3467 < 38.5u`` absolute, < 54.5u relative.  ``ldexp`` is exact for normal
    results.  Total < 55.1u < 2^-47.1."""
    return _exp(x)


def _exp(x):
    """exp(x) for |x| <= 1400: x = k ln2 + r, |r| <= 0.35, Taylor degree 13, times 2^k."""
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _EXP_C[13])
    for c in _EXP_C[12::-1]:
        p = p * r + c
    return np.ldexp(p, k.astype(np.int64))


def _expm1_small(y):
    """exp(y) - 1 for |y| <= 1: y * sum_n y^n / (n+1)!, 20 terms."""
    p = np.full_like(y, 1.0 / factorial(21))
    for n in range(20, 0, -1):
        p = p * y + 1.0 / factorial(n)
    return p * y


def _log(x):
    """log(x), x > 0 finite: x = m 2^e, m in [sqrt(1/2), sqrt(2)), 2 atanh((m-1)/(m+1))."""
    m, e = np.frexp(x)
    small = m < 0.7071067811865476
    m = np.where(small, m * 2.0, m)
    e = np.where(small, e - 1, e).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = np.full_like(z, 1.0 / 27)
    for n in range(25, 0, -2):
        p = p * z + 1.0 / n
    return e * _LN2_HI + (e * _LN2_LO + 2.0 * s * p)


def _sigmoid(x):
    e = _exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _tanh(x):
    a = np.abs(x)
    m = _expm1_small(-2.0 * np.minimum(a, 0.5))  # in (-0.64, 0]
    small = -m / (m + 2.0)
    e = _exp(-2.0 * np.maximum(a, 0.5))
    big = (1.0 - e) / (1.0 + e)
    return np.sign(x) * np.where(a < 0.5, small, big)


def _erf_series(a):
    """(value, abs error bound) of erf(a), 0 <= a < 2: 2/sqrt(pi) sum (-1)^n a^(2n+1) / (n! (2n+1))."""
    z = -a * a
    t = a.copy()
    s, sabs = a.copy(), a.copy()
    for n in range(1, 45):
        t = t * z / n
        s = s + t / (2 * n + 1)
        sabs = sabs + np.abs(t) / (2 * n + 1)
    c = 1.1283791670955126  # 2 / sqrt(pi)
    return c * s, c * sabs * 2.0 ** -45


def _erfc_cf(a):
    """erfc(a), a >= 2: exp(-a^2) / sqrt(pi) / (a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))))."""
    t = a.copy()
    for n in range(120, 0, -1):
        t = a + (n / 2.0) / t
    return _exp(-(a * a)) * 0.5641895835477563 / t  # 1 / sqrt(pi)


def _erf(x):
    a = np.abs(x)
    v, err = _erf_series(np.minimum(a, 2.0))
    c = 1.0 - _erfc_cf(np.clip(a, 2.0, 6.0))
    big = np.where(a >= 6.0, 1.0 - 2.0 ** -60, c)  # erf(6) > 1 - 2.2e-17
    v = np.where(a < 2.0, v, big)
    err = np.where(a < 2.0, err, np.where(a >= 6.0, 2.0 ** -55, 2.0 ** -46))
    return np.sign(x) * v, err


#: |x| beyond which sigmoid (x > 0), tanh and erf lie strictly between 1 - 2^-53 and 1
#: (1 - sigmoid(40) < 4.3e-18, 1 - tanh(20) < 8.5e-18, 1 - erf(6) < 2.2e-17, all below
#: 2^-53): their float64 round-to-odd value is 1 - 2^-53, which rounds correctly into
#: any format of at most 51 significand bits in every mode (returned with err = 0)
_NEAR_ONE = {"sigmoid": 40.0, "tanh": 20.0, "erf": 6.0}
_ONE_RO = 1.0 - 2.0 ** -53


def _tiny(name, x, t, err):
    """Round-to-odd values near x = 0, where the bound would straddle a representable
    value: for |x| < 2^-54, exp(x) lies in (1, 1 + 2^-52) or (1 - 2^-53, 1); for
    |x| < 2^-56, sigmoid(x) in (1/2, 1/2 + 2^-54) or (1/2 - 2^-54, 1/2); for
    0 < |x| < 2^-30, tanh(x) strictly between x and its float64 neighbour toward zero
    (|x^3 / 3| < ulp(x) / 2), which is odd for a value of the unit's format."""
    a = np.abs(x)
    if name == "exp":
        small = a < 2.0 ** -54
        ro = np.where(x > 0, 1.0 + 2.0 ** -52, 1.0 - 2.0 ** -53)
    elif name == "sigmoid":
        small = a < 2.0 ** -56
        ro = np.where(x > 0, 0.5 + 2.0 ** -53, 0.5 - 2.0 ** -54)
    elif name == "tanh":
        small = a < 2.0 ** -30
        ro = np.nextafter(x, 0.0)
    else:
        return t, err
    small &= x != 0
    return np.where(small, ro, t), np.where(small, 0.0, err)


def approx(name, x):
    """(float64 value, error bound) of ``name`` at float64 ``x`` (finite, clamped)."""
    with np.errstate(all="ignore"):
        if name == "erf":
            t, err = _erf(x)
        elif name == "rsqrt":
            t = 1.0 / np.sqrt(x)
            err = t * REL_BOUND
        else:
            t = {"exp": _exp, "log": _log, "sigmoid": _sigmoid, "tanh": _tanh}[name](x)
            err = np.abs(t) * REL_BOUND
    t, err = _tiny(name, x, t, err)
    if name in _NEAR_ONE:
        far = (x if name == "sigmoid" else np.abs(x)) >= _NEAR_ONE[name]
        t = np.where(far, np.sign(x) * _ONE_RO, t)
        err = np.where(far, 0.0, err)
    return t, err


# -- exact values (decimal, >= 60 correct digits, or exact Fractions) --------------------------
def _ctx(extra=0):
    return Context(prec=70 + extra, Emin=-10**6, Emax=10**6)


def _erf_exact(x: Fraction):
    a = abs(x)
    c = _ctx(int(a * a * 0.4343) + 10)
    ad = _ctx(130).divide(Decimal(a.numerator), Decimal(a.denominator))  # exact
    z, t = c.multiply(ad, ad), ad
    s, n = ad, 0
    while True:
        n += 1
        t = c.divide(c.multiply(t, z), n)
        term = c.divide(t, 2 * n + 1)
        s = c.subtract(s, term) if n % 2 else c.add(s, term)
        if term.is_zero() or term.adjusted() < s.adjusted() - c.prec - 2:
            break
    v = c.divide(c.multiply(2, s), c.sqrt(Decimal(PI_DIGITS)))
    return v if x > 0 else -v


def _tanh_exact(xd):
    """tanh in decimal: sinh / cosh by their series for |x| < 1 (no cancellation), else
    (1 - e^-2|x|) / (1 + e^-2|x|)."""
    c = _ctx(10)
    a = abs(xd)
    if a < 1:
        z, t = c.multiply(a, a), a
        sh, ch, ct, n = a, Decimal(1), Decimal(1), 0
        while True:
            n += 2
            ct = c.divide(c.multiply(ct, z), (n - 1) * n)
            t = c.divide(c.multiply(t, z), n * (n + 1))
            sh, ch = c.add(sh, t), c.add(ch, ct)
            if ct.adjusted() < -c.prec - 2:
                break
        v = c.divide(sh, ch)
    else:
        e = c.exp(c.multiply(-2, a))
        v = c.divide(c.subtract(1, e), c.add(1, e))
    return v if xd > 0 else -v


def exact_value(name, x: float):
    """``name(x)`` as a Fraction (exact cases) or a Decimal with >= 60 correct digits."""
    fx = Fraction(x)
    if fx == 0 and name in ("exp", "sigmoid", "tanh", "erf"):
        return {"exp": Fraction(1), "sigmoid": Fraction(1, 2)}.get(name, Fraction(0))
    xd = _ctx(130).divide(Decimal(fx.numerator), Decimal(fx.denominator))  # exact
    if name == "exp":
        return _ctx().exp(xd)
    if name == "sigmoid":
        c = _ctx(int(abs(x) * 0.4343))
        return c.divide(1, c.add(1, c.exp(-xd)))
    if name == "tanh":
        return _tanh_exact(xd)
    if name == "erf":
        return _erf_exact(fx)
    if name == "log":
        return Fraction(0) if fx == 1 else _ctx(10).ln(xd)
    # rsqrt: exact when x is a power of 4
    m, e = np.frexp(x)
    if m == 0.5 and (e - 1) % 2 == 0:
        return Fraction(2) ** (-(int(e) - 1) // 2)
    c = _ctx()
    return c.divide(1, c.sqrt(xd))


# -- special inputs --------------------------------------------------------------------------
def _specials(name, x):
    """(mask of inputs with a fixed result, those results as float64) and the clamped x."""
    nan = np.isnan(x)
    if name in ("log", "rsqrt"):
        fixed = nan | (x <= 0) | np.isinf(x)
        with np.errstate(all="ignore"):
            val = np.where(x < 0, np.nan, np.where(x == 0, -np.inf if name == "log" else np.inf,
                                                   np.inf if name == "log" else 0.0))
        val = np.where(nan, np.nan, val)
        return fixed, val, np.where(fixed, 1.0, x)
    inf = np.isinf(x) | (x == 0)
    pos = {"exp": np.inf, "sigmoid": 1.0}.get(name, 1.0)
    neg = {"exp": 0.0, "sigmoid": 0.0}.get(name, -1.0)
    zero = {"exp": 1.0, "sigmoid": 0.5}.get(name)
    val = np.where(nan, np.nan, np.where(x > 0, pos, neg))
    val = np.where(x == 0, x if zero is None else zero, val)  # tanh / erf keep -0
    lim = _X_CLAMP[name]
    return nan | inf, val, np.clip(np.where(nan | inf, 0.0, x), -lim, lim)


def correctly_rounded(unit, name, x) -> np.ndarray:
    """``name(x)`` for unit values ``x``, correctly rounded into the unit's format
    (clamping the argument changes no result: see :data:`_X_CLAMP`)."""
    x = np.asarray(x, np.float64)
    fixed, fval, xc = _specials(name, x)
    t, err = approx(name, xc)
    lo, hi = unit.codes(np.where(fixed, 0.0, t - err)), unit.codes(np.where(fixed, 0.0, t + err))
    codes = lo
    if fixed.any():
        codes[fixed] = unit.codes(fval[fixed])
    bad = np.flatnonzero((lo != hi) & ~fixed)
    flat_x, flat_c = xc.reshape(-1), codes.reshape(-1)
    for i in bad:
        v = exact_value(name, float(flat_x[i]))
        flat_c[i] = unit.codes(np.array([round_to_odd64(v)]))[0]
    return unit.value(flat_c.reshape(x.shape))
