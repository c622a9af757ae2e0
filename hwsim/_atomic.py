"""Atomic outputs: a file or a folder appears complete under its final name, or not at all.

Everything is written into a temporary sibling (same folder, so the final
``os.replace`` / ``os.rename`` stays on one file system) and renamed at the end.
On any failure the temporary is removed and the destination is left as it was;
an existing destination is replaced only once the new content is complete.

``check_output_file`` / ``check_output_dir`` validate a destination before long
work starts (the CLI calls them first), raising :class:`~hwsim.errors.OutputPathError`.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from .errors import OutputPathError

__all__ = ["atomic_file", "atomic_dir", "check_output_file", "check_output_dir"]


def _parent(path) -> str:
    return os.path.dirname(os.path.abspath(os.fspath(path)))


def _check_parent(path, what) -> None:
    parent = _parent(path)
    if not os.path.isdir(parent):
        kind = "is not a folder" if os.path.exists(parent) else "does not exist"
        raise OutputPathError(f"{what} {os.fspath(path)!r}: parent folder {parent!r} {kind}")


def check_output_file(path, what="output file") -> None:
    """Raise OutputPathError unless ``path`` can become a file (parent folder exists,
    ``path`` is not a folder)."""
    if os.path.isdir(path):
        raise OutputPathError(f"{what} {os.fspath(path)!r} is a folder, expected a file path")
    _check_parent(path, what)


def check_output_dir(path, what="output folder", reusable=None) -> None:
    """Raise OutputPathError unless ``path`` can become a folder of outputs.

    An existing folder is accepted only when it is empty or ``reusable(path)`` is
    true (e.g. it holds an earlier output of the same command): it will be replaced.
    """
    p = os.fspath(path)
    if os.path.exists(p) and not os.path.isdir(p):
        raise OutputPathError(f"{what} {p!r} exists and is a file, expected a folder")
    if os.path.isdir(p) and os.listdir(p) and not (reusable and reusable(p)):
        raise OutputPathError(f"{what} {p!r} exists and holds files that are not an earlier "
                              "output of this command; choose another path or remove it")
    _check_parent(p, what)


def _tmp_name(path, tag) -> str:
    base = os.path.basename(os.path.abspath(os.fspath(path)))
    return f".{base}.{tag}-"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file path next to ``path``; renamed to ``path`` on success
    (for writers that take a file name, e.g. ``savefig``)."""
    check_output_file(path)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_name(path, "tmp"), dir=_parent(path),
                               suffix=os.path.splitext(os.fspath(path))[1])
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_file(path, mode="w", **open_kw):
    """``with atomic_file(p) as f: f.write(...)``: ``p`` is replaced when the block ends
    without an exception; otherwise nothing is left."""
    with atomic_path(path) as tmp, open(tmp, mode, **open_kw) as f:
        yield f


@contextlib.contextmanager
def atomic_dir(path, reusable=None):
    """Yield a temporary folder next to ``path``; it becomes ``path`` on success.

    An existing ``path`` (empty, or accepted by ``reusable``) is replaced only then.
    """
    check_output_dir(path, reusable=reusable)
    p = os.path.abspath(os.fspath(path))
    tmp = tempfile.mkdtemp(prefix=_tmp_name(p, "tmp"), dir=_parent(p))
    try:
        yield tmp
        _swap_in(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp, p) -> None:
    os.chmod(tmp, 0o777 & ~_umask())
    if not os.path.exists(p):
        os.rename(tmp, p)
        return
    old = tempfile.mkdtemp(prefix=_tmp_name(p, "old"), dir=_parent(p))
    os.rmdir(old)
    os.rename(p, old)
    try:
        os.rename(tmp, p)
    except BaseException:
        os.rename(old, p)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
