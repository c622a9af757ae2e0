"""errors.py / modes.py leaves: one exception root, one list of rounding modes."""
import inspect

import hwsim
from hwsim import errors, modes


def test_every_exception_derives_hwsim_error():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, Exception) and c.__module__ == errors.__name__]
    names = {c.__name__ for c in classes}
    assert {"ConfigError", "UnsupportedModelError", "BackendError", "FormatError"} <= names
    for c in classes:
        assert issubclass(c, errors.HwsimError), c
    assert hwsim.BackendError is errors.BackendError
    assert hwsim.network.ConfigError is errors.ConfigError
    assert hwsim.network.UnsupportedModelError is errors.UnsupportedModelError
    assert issubclass(errors.ConfigError, ValueError)  # callers catching ValueError still do


def test_one_list_of_rounding_modes():
    assert modes.ROUNDINGS == tuple(m.name.lower() for m in hwsim.RoundingMode)
    assert modes.DETERMINISTIC_ROUNDINGS == ("rne", "rna", "rtz", "rup", "rdn", "rto")
    assert modes.NEAREST_AND_DIRECTED == ("rne", "rna", "rtz", "rup", "rdn")
    from hwsim.ops import requant
    from hwsim.testing import strategies
    assert requant.SHIFT_ROUNDINGS is modes.NEAREST_AND_DIRECTED
    assert strategies.ALL_MODES is modes.ROUNDINGS
