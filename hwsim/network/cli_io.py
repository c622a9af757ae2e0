"""Input files of the command line, checked before any work starts.

Each loader raises :class:`~hwsim.errors.InputFileError` naming the option, the
path and what is wrong (missing, a folder, empty, not the expected kind).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputFileError

__all__ = ["check_file", "load_array", "read_model", "check_folder"]


def check_file(path, what) -> str:
    """``path`` must be an existing, non-empty, readable regular file."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputFileError(f"{what} {p!r}: no such file")
    if os.path.isdir(p):
        raise InputFileError(f"{what} {p!r} is a folder, expected a file")
    if os.path.getsize(p) == 0:
        raise InputFileError(f"{what} {p!r} is empty")
    try:
        with open(p, "rb") as f:
            f.read(1)
    except OSError as e:
        raise InputFileError(f"{what} {p!r}: cannot read ({e.strerror})") from None
    return p


def check_folder(path, what) -> str:
    p = os.fspath(path)
    if not os.path.isdir(p):
        raise InputFileError(f"{what} {p!r}: " + ("not a folder" if os.path.exists(p)
                                                   else "no such folder"))
    return p


def load_array(path, what="--input") -> np.ndarray:
    """A numeric array from a ``.npy`` file (or a ``.npz`` holding one array)."""
    p = check_file(path, what)
    try:
        a = np.load(p, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError / OSError / EOFError / ... on bad files
        raise InputFileError(f"{what} {p!r}: not a NumPy .npy file ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else 'unreadable'})") from None
    if isinstance(a, np.lib.npyio.NpzFile):
        with a:
            if len(a.files) != 1:
                raise InputFileError(f"{what} {p!r}: a .npz must hold exactly one array, "
                                     f"it holds {a.files}")
            a = a[a.files[0]]
    if a.dtype.kind not in "biuf":
        raise InputFileError(f"{what} {p!r}: array of {a.dtype} is not numeric")
    return a


def read_model(path):
    """An ``onnx.ModelProto`` from a file, or InputFileError saying why it is not one."""
    import onnx

    p = check_file(path, "model")
    try:
        m = onnx.load(p)
    except Exception as e:  # protobuf DecodeError, RuntimeError, ... on corrupt files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputFileError(f"model {p!r}: not an ONNX model ({msg})") from None
    if not m.graph.node or not m.graph.input:
        raise InputFileError(f"model {p!r}: not an ONNX model (no graph nodes or inputs; "
                             "is the file truncated?)")
    return m
