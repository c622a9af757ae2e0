"""The one place where layers call the MAC units (MAC_CONTRACT.md).

Every multiply-accumulate of every layer goes through :func:`mac_matmul`,
which calls :func:`hwsim.mac.matmul` when that module is present.  Until then a
small exact stand-in (:class:`BridgeMacUnit`: integer accumulators with wrap or
saturate) keeps the layers testable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..formats import format as parse_format
from ..qtensor import codes_to_ints

try:  # the real MAC units (branch `mac`)
    from .. import mac as _mac  # noqa: F401
    HAVE_MAC = hasattr(_mac, "matmul")
except ImportError:  # pragma: no cover - depends on merge state
    _mac = None
    HAVE_MAC = False


@dataclass(frozen=True)
class BridgeMacUnit:
    """Stand-in MAC unit: integer operands, exact products, int accumulator."""

    a_fmt: object
    b_fmt: object
    acc_bits: int = 32
    overflow: str = "wrap"

    def __post_init__(self) -> None:
        object.__setattr__(self, "a_fmt", parse_format(self.a_fmt))
        object.__setattr__(self, "b_fmt", parse_format(self.b_fmt))
        if self.overflow not in ("wrap", "saturate"):
            raise ValueError(f"overflow must be 'wrap' or 'saturate', got {self.overflow!r}")

    def to_dict(self) -> dict:
        return dict(kind="bridge", a_fmt=self.a_fmt.to_dict(), b_fmt=self.b_fmt.to_dict(),
                    acc_bits=self.acc_bits, overflow=self.overflow)


@njit(cache=True, nogil=True, parallel=True)
def _sat_matmul(a, b, init, lo, hi, out, events, maxabs):
    B, M, K = a.shape
    N = b.shape[2]
    for bm in prange(B * M):
        bi = bm // M
        m = bm - bi * M
        for n in range(N):
            s = init[n]
            ev = 0
            mx = abs(s)
            for k in range(K):
                s += a[bi, m, k] * b[bi, k, n]
                if abs(s) > mx:
                    mx = abs(s)
                if s > hi:
                    s = hi
                    ev += 1
                elif s < lo:
                    s = lo
                    ev += 1
            out[bi, m, n] = s
            events[bi, m, n] = ev
            maxabs[bi, m, n] = mx


def _ints(codes, fmt, zp):
    v = codes_to_ints(codes, fmt.bits, fmt.signed)
    return v - np.asarray(zp, dtype=np.int64)


def mac_matmul(a_codes, b_codes, mac, bias=None, a_zp=0, b_zp=0):
    """Accumulator values of ``a @ b`` through ``mac``.

    Parameters
    ----------
    a_codes : [B, M, K] codes of ``mac.a_fmt`` (B batches, e.g. conv groups)
    b_codes : [B, K, N] codes of ``mac.b_fmt``
    mac : MacUnit (``hwsim.mac``) or :class:`BridgeMacUnit`
    bias : None or [B, N] accumulator-domain values
    a_zp : scalar zero point of ``a``; b_zp : scalar or [B, N] of ``b``

    Returns
    -------
    values : [B, M, N] int64 (integer accumulators) or float64
    stats : dict with ``overflow_events`` (int), ``overflow_per_col`` ([B, N]),
        ``max_abs_partial`` (int/float)
    """
    a_codes = np.asarray(a_codes)
    b_codes = np.asarray(b_codes)
    B, M, K = a_codes.shape
    N = b_codes.shape[2]
    if HAVE_MAC and not isinstance(mac, BridgeMacUnit):
        return _real_matmul(a_codes, b_codes, mac, bias, a_zp, b_zp)
    a = _ints(a_codes, mac.a_fmt, a_zp)
    bz = np.asarray(b_zp, dtype=np.int64)
    b = codes_to_ints(b_codes, mac.b_fmt.bits, mac.b_fmt.signed) - (bz[:, None, :] if bz.ndim == 2 else bz)
    init = np.zeros((B, N), np.int64) if bias is None else np.asarray(bias, np.int64).reshape(B, N)
    lo, hi = -(1 << (mac.acc_bits - 1)), (1 << (mac.acc_bits - 1)) - 1
    if mac.overflow == "saturate":
        out = np.empty((B, M, N), np.int64)
        ev = np.empty((B, M, N), np.int64)
        mx = np.empty((B, M, N), np.int64)
        for bi in range(B):
            _sat_matmul(a[bi:bi + 1], b[bi:bi + 1], init[bi], lo, hi, out[bi:bi + 1],
                        ev[bi:bi + 1], mx[bi:bi + 1])
        return out, dict(overflow_events=int(ev.sum()), overflow_per_col=ev.sum(axis=1),
                         max_abs_partial=int(mx.max()) if mx.size else 0)
    amax = int(np.abs(a).max()) if a.size else 0
    bmax = int(np.abs(b).max()) if b.size else 0
    if K * amax * bmax + int(np.abs(init).max() if init.size else 0) < (1 << 53):
        exact = np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    else:
        exact = np.matmul(a, b)
    exact += init[:, None, :]
    wrapped = ((exact - lo) & ((1 << mac.acc_bits) - 1)) + lo
    ovf = (exact != wrapped)
    return wrapped, dict(overflow_events=int(ovf.sum()), overflow_per_col=ovf.sum(axis=1),
                         max_abs_partial=int(np.abs(exact).max()) if exact.size else 0)


def _real_matmul(a_codes, b_codes, mac, bias, a_zp, b_zp):  # pragma: no cover - after merge
    res = _mac.matmul(a_codes, b_codes, mac, bias=bias, a_zero_point=a_zp, b_zero_point=b_zp,
                      stats=True)
    st = res.stats
    return res.values, dict(overflow_events=int(st.overflow_events),
                            overflow_per_col=np.asarray(st.overflow_per_column),
                            max_abs_partial=st.max_abs_partial)


def acc_is_int(mac) -> bool:
    """Whether the accumulator holds integers (int64 values) or floats."""
    if isinstance(mac, BridgeMacUnit):
        return True
    acc = getattr(mac, "accumulator", None)
    return type(acc).__name__ in ("IntAccumulator",)


def mac_trace(a_codes, b_codes, mac, bias=None, a_zp=0, b_zp=0):
    """Every step of one dot product: rows ``(k, a_code, b_code, product, acc)``.

    Row 0 (k = -1) is the initial value (bias).  Uses ``mac.trace`` of the real
    MAC units when present.
    """
    a_codes = np.asarray(a_codes).ravel()
    b_codes = np.asarray(b_codes).ravel()
    if HAVE_MAC and not isinstance(mac, BridgeMacUnit) and hasattr(mac, "trace"):
        tr = mac.trace(a_codes[None, :], b_codes[:, None], 0, 0,
                       bias=None if bias is None else np.array([bias]),
                       a_zero_point=a_zp, b_zero_point=b_zp)
        rows = [(-1, "", "", "", bias if bias is not None else 0)]
        for step in tr.steps:
            if step["kind"] == "mac":
                k = step["k"][0]
                rows.append((k, int(a_codes[k]), int(b_codes[k]), step["product"], step["acc"]))
        return rows
    a = _ints(a_codes, mac.a_fmt, a_zp)
    b = _ints(b_codes, mac.b_fmt, b_zp)
    lo, hi = -(1 << (mac.acc_bits - 1)), (1 << (mac.acc_bits - 1)) - 1
    s = 0 if bias is None else int(bias)
    rows = [(-1, "", "", "", s)]
    for k in range(a.size):
        p = int(a[k]) * int(b[k])
        s += p
        if mac.overflow == "saturate":
            s = max(lo, min(hi, s))
        else:
            s = ((s - lo) & ((1 << mac.acc_bits) - 1)) + lo
        rows.append((k, int(a_codes[k]), int(b_codes[k]), p, s))
    return rows
