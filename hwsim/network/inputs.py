"""Network inputs: the non-finite value policy (``nan_policy``).

A network input holding NaN or +-Inf is handled by the configuration's
``nan_policy`` (``hwsim run --nan``):

``"error"`` (default)
    refuse the input: the error names the input tensor, the first non-finite
    element (index and value), how many there are, and the policy.
an integer code
    every non-finite element becomes that code of the input's (scalar) format,
    e.g. ``0`` or ``0x80``; the code must fit the format's width.
``"propagate"``
    float input formats only: NaN / Inf go through ``encode`` as any other value
    (NaN to the format's NaN, Inf to Inf or, in formats without Inf, saturated),
    so NaN can reach the outputs.  Integer, fixed-point and block formats refuse it.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, NaNInputError

__all__ = ["NAN_POLICIES", "parse_nan_policy", "check_inputs", "apply_codes"]

NAN_POLICIES = ("error", "propagate", "<code>")


def parse_nan_policy(v, where="nan_policy"):
    """``"error"``, ``"propagate"`` or a code >= 0 (int, or text such as ``"0x80"``)."""
    if v in ("error", "propagate"):
        return v
    if isinstance(v, str):
        try:
            v = int(v.strip(), 0)
        except ValueError:
            v = None
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) < 2 ** 64:
        return int(v)
    raise ConfigError(f"{where} must be 'error', 'propagate' or a code >= 0 (e.g. 0 or 0x80), "
                      f"got {v!r}")


def _describe(name, v, mask, policy) -> str:
    i = int(np.flatnonzero(mask.ravel())[0])
    coord = tuple(int(c) for c in np.unravel_index(i, v.shape)) if v.ndim else ()
    return (f"network input {name!r}: element {coord} is {float(v.ravel()[i])!r} "
            f"({int(mask.sum())} of {v.size} elements are NaN/Inf); nan_policy is {policy!r}")


def check_inputs(xin: dict, fmts: dict, policy="error"):
    """Apply ``policy`` to float64 input arrays ``xin`` (name -> array) quantized to
    ``fmts`` (name -> format).  Returns ``(xin, fixes)``: the arrays (non-finite
    elements set to 0 under a code policy) and ``{name: (mask, code)}`` for
    :func:`apply_codes`.  Raises NaNInputError when the policy does not allow them."""
    policy = parse_nan_policy(policy)
    out, fixes = dict(xin), {}
    for name, v in xin.items():
        v = np.asarray(v)
        if v.dtype.kind not in "fc":
            continue
        mask = ~np.isfinite(v)
        if not mask.any():
            continue
        fmt = fmts.get(name)
        kind = getattr(fmt, "kind", None)
        msg = _describe(name, v, mask, policy)
        if policy == "error":
            raise NaNInputError(msg + ": clean the input, or choose --nan <code> / "
                                "--nan propagate (float formats) / nan_policy in the config")
        if policy == "propagate":
            if kind != "float":
                raise NaNInputError(f"{msg}, which needs a float input format; the input's "
                                    f"format is {getattr(fmt, 'name', fmt)}: use --nan <code>")
            continue
        if kind not in ("int", "fixed", "float"):
            raise NaNInputError(f"{msg}, which needs a scalar input format; the input's format "
                                f"is {getattr(fmt, 'name', fmt)}")
        if policy >= 1 << fmt.bits:
            raise NaNInputError(f"{msg}, but {policy} is not a code of {fmt.name} "
                                f"(allowed 0 .. {(1 << fmt.bits) - 1})")
        out[name] = np.where(mask, 0.0, v)
        fixes[name] = (mask, policy)
    return out, fixes


def apply_codes(env: dict, fixes: dict) -> None:
    """Write the policy code over the quantized inputs' non-finite positions."""
    for name, (mask, code) in fixes.items():
        qt = env[name]
        codes = np.array(qt.codes, copy=True)
        codes[mask.reshape(codes.shape)] = code
        env[name] = qt.with_codes(codes)
