"""Exception hierarchy (leaf module: imports nothing from hwsim).

Every hwsim exception derives :class:`HwsimError`.  Errors raised for bad user
input are also ``ValueError`` subclasses and their message names the offending
parameter, the allowed range and the value that was given.
"""
import numpy as np


class HwsimError(Exception):
    """Base class of every hwsim-specific error."""


class FormatError(HwsimError, ValueError):
    """Invalid number-format parameters or an unknown format name."""


class UnsupportedModeError(HwsimError, ValueError):
    """A mode / operation / backend combination that hwsim does not model."""


class OverflowValueError(HwsimError, ValueError):
    """A value overflowed under an ``overflow="error"`` policy."""


class NaNInputError(HwsimError, ValueError):
    """A NaN met a format with no NaN under ``nan="error"``."""


class BackendError(HwsimError, RuntimeError):
    """The compiled kernel library reported an internal failure."""


class ConfigError(HwsimError, ValueError):
    """An invalid precision configuration (the message names the path of the bad key)."""


class UnsupportedModelError(HwsimError, ValueError):
    """The ONNX model uses ops or attributes hwsim does not model (all listed)."""


def check_int(name: str, value, lo: int, hi: int) -> int:
    """Validate that ``value`` is an int in [lo, hi]; raise a FormatError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise FormatError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise FormatError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


class InputFileError(HwsimError, ValueError):
    """A file named as input is missing, unreadable or not of the expected kind."""


class OutputPathError(HwsimError, ValueError):
    """An output path that cannot be written (exists as the wrong kind, no parent folder, ...)."""


class UsageError(HwsimError, ValueError):
    """Bad command-line usage: a missing or conflicting option (exit status 2)."""


class NaNOutputError(HwsimError, RuntimeError):
    """A network run produced NaN outputs and NaN propagation was not asked for."""
