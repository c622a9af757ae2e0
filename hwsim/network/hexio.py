"""``.hex`` files for ``$readmemh``: one code per line, fixed width, upper case, C order."""
from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["write_hex", "read_hex", "sha256_file"]


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_hex(path, codes, bits) -> None:
    """One code per line, ``ceil(bits/4)`` upper-case hex digits, C order."""
    w = max(1, -(-bits // 4))
    flat = np.asarray(codes).astype(np.uint64).ravel()
    with open(path, "w") as f:
        f.write("".join(f"{int(c):0{w}X}\n" for c in flat))


def read_hex(path) -> np.ndarray:
    """Codes of a ``.hex`` file as uint64 (blank lines and ``//`` comments skipped)."""
    out = []
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            s = line.split(b"//")[0].strip()
            if not s:
                continue
            try:
                v = int(s.decode("ascii"), 16)
            except (UnicodeDecodeError, ValueError):
                raise ValueError(f"{path}: line {no} is not a hex number: {s[:40]!r}") from None
            if not 0 <= v < 1 << 64:
                raise ValueError(f"{path}: line {no}: {s[:40]!r} does not fit 64 bits")
            out.append(v)
    return np.array(out, dtype=np.uint64)
