"""The compiled library ``hwsim._hwsim_c``: its ffi / lib, cached format structs,
option structs, and C status codes mapped to :mod:`hwsim.errors` exceptions.
This package is the only importer of the compiled module."""
from __future__ import annotations

import importlib
from functools import lru_cache

from ..errors import BackendError, FormatError, NaNInputError, OverflowValueError, UnsupportedModeError
from ..formats import SPECIALS_CODE, FloatFormat

# by name: the extension is a shared object that static import checkers cannot see
_hwsim_c = importlib.import_module("hwsim._hwsim_c")
ffi = _hwsim_c.ffi
lib = _hwsim_c.lib


@lru_cache(maxsize=None)
def c_format(fmt: FloatFormat):
    """The validated ``hw_format*`` of a FloatFormat (cached per format)."""
    f = ffi.new("hw_format *")
    f.exp_bits = fmt.exp_bits
    f.man_bits = fmt.man_bits
    f.bias = fmt.bias
    f.specials = SPECIALS_CODE[fmt.specials]
    f.subnormals = int(fmt.subnormals)
    f.is_signed = int(fmt.signed)
    rc = lib.hw_format_init(f)
    if rc != lib.HW_OK:
        raise FormatError(f"the C library rejected {fmt!r} (status {rc})")
    return f


def make_opts(rounding=0, overflow=0, tininess=0, ftz=False, daz=False, nan_code=None,
              sr_bits=0, sr_external=False, seed=0, index0=0):
    o = ffi.new("hw_opts *")
    o.rounding = int(rounding)
    o.overflow = int(overflow)
    o.tininess = int(tininess)
    o.ftz = int(bool(ftz))
    o.daz = int(bool(daz))
    o.nan_policy = lib.HW_NAN_ERROR if nan_code is None else lib.HW_NAN_CODE
    o.nan_code = 0 if nan_code is None else int(nan_code)
    o.sr_bits = int(sr_bits)
    o.sr_external = int(bool(sr_external))
    o.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    o.index0 = int(index0) & 0xFFFFFFFFFFFFFFFF
    return o


def raise_status(rc: int, err_index: int, what: str) -> None:
    """Raise the exception of a C status code (``err_index``: the failing element)."""
    if rc == lib.HW_E_OVERFLOW:
        raise OverflowValueError(
            f"{what}: element {err_index} overflows the format (overflow='error')")
    if rc == lib.HW_E_NAN:
        raise NaNInputError(
            f"{what}: element {err_index} is NaN and the format has no NaN code; pass "
            f"nan=<code> to choose one")
    if rc == lib.HW_E_CODE:
        raise ValueError(f"{what}: codes[{err_index}] is out of range for the format")
    if rc == lib.HW_E_MODE:
        raise UnsupportedModeError(f"{what}: unsupported option combination (status {rc})")
    if rc == lib.HW_E_FORMAT:
        raise FormatError(f"{what}: invalid format (status {rc})")
    raise BackendError(f"{what}: C kernel failed with status {rc}")
