"""glibc malloc settings for hwsim's large, short-lived arrays.

A MAC run or a layer allocates its outputs and statistics afresh every call (a
256x256 matmul with statistics: about 1.8 MB in four arrays).  With glibc's
defaults, arrays above the (dynamic) mmap threshold are mapped and unmapped per
call, or the freed top of the heap is trimmed back to the kernel, so every call
touches new pages: on the reference machine (a virtual machine) a page fault costs
about 2 us, 0.9 ms for those four arrays against 0.07 ms to fill them when the
pages stay mapped (benchmarks/README.md, "Session 7", page faults).  hwsim therefore asks
glibc, once at import, to serve allocations below 64 MiB from the heap and to keep
up to 256 MiB of freed heap mapped (``mallopt`` M_MMAP_THRESHOLD / M_TRIM_THRESHOLD):
memory freed by the process is reused instead of returned, up to that bound.
``HWSIM_MALLOC=default`` (or ``0``) leaves glibc's settings alone.  Nothing happens
on other C libraries.  Results never depend on it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_malloc", "tuned"]

M_TRIM_THRESHOLD = -1   # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20

#: whether tune_malloc changed glibc's settings in this process
tuned = False


def _glibc():
    """The process's C library when it is glibc, else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


def tune_malloc() -> bool:
    """Apply the settings above unless ``HWSIM_MALLOC`` is ``default`` / ``0`` or the C
    library is not glibc; returns whether they are in force."""
    global tuned
    if os.environ.get("HWSIM_MALLOC", "").strip().lower() in ("default", "0", "off"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    tuned = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
