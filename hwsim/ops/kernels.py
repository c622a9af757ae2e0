"""Serial and parallel numba compilations of one layer kernel, and the size that picks one.

Each output element is computed by one iteration whatever the compilation, so the choice
changes speed only; ``tests/test_gaps_parallel.py`` checks the two byte for byte.
"""
from __future__ import annotations

import os
import types

#: numba's parallel kernels run on its OpenMP layer (libgomp, loaded at the first parallel
#: call).  libgomp's default wait policy spins after every parallel region, on every core:
#: between the many short kernels of a network run that burnt the other core and doubled
#: the waits on a loaded machine (ResNet-18, one image, load 9: 0.37 CPU s spinning vs 0.16
#: passive; benchmarks/README.md).  Passive waiting unless the user chose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numba import njit  # noqa: E402

__all__ = ["PARALLEL_MIN", "parallel_twin", "dual"]

#: element count of the sized argument from which the parallel compilation is used
#: (below it, waking the threads costs more than it gains)
PARALLEL_MIN = 1 << 21


def parallel_twin(fn):
    """A copy of ``fn`` under its own qualified name, for the ``parallel=True`` compilation.

    numba's on-disk cache keys a kernel by qualified name, line and signature, not by
    its compile options: compiled from the same function, the serial and the parallel
    dispatchers would load each other's machine code, whichever was cached first.
    """
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel",
                              fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    twin.__doc__ = fn.__doc__
    return twin


def dual(fn, arg: int = -1, weight: int = 1):
    """Serial and parallel compilations of ``fn``; the size of ``args[arg]`` picks one:
    the parallel one from ``PARALLEL_MIN / weight`` elements (``weight``: a kernel whose
    element costs more than a copy pays for the threads on fewer elements)."""
    ser = njit(cache=True, nogil=True)(fn)
    par = njit(cache=True, nogil=True, parallel=True)(parallel_twin(fn))

    def pick(*args):
        return (par if args[arg].size * weight >= PARALLEL_MIN else ser)(*args)

    pick.serial, pick.parallel = ser, par
    return pick
