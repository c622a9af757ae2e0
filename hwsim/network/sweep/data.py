"""Datasets of a sweep: the bundled digits, an ``.npz`` file, or a folder of images.

- ``digits``: the test split of the digits demo (inputs [N, 1, 8, 8] in [0, 1]);
  calibration: the first 128 training images.
- ``file.npz``: inputs under ``x`` (else ``inputs``), labels under ``y`` (else
  ``labels``; optional).
- a folder: one sub-folder per class (sorted names are labels 0, 1, ...) of image
  files (Pillow), each resized to ``size`` (bilinear), optionally grey, scaled
  by 1/255, then ``(v - mean) / std`` per channel, laid out NCHW, sorted by path.
"""
from __future__ import annotations

import os

import numpy as np

from ...errors import InputFileError, UsageError

__all__ = ["load_dataset", "take"]

_IMG = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _npz(path):
    try:
        d = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputFileError(f"--data {path}: not a readable .npz file ({e})") from None
    xk = next((k for k in ("x", "inputs") if k in d.files), None)
    if xk is None:
        raise InputFileError(f"--data {path}: needs an array 'x' (or 'inputs'); has {d.files}")
    yk = next((k for k in ("y", "labels") if k in d.files), None)
    return np.asarray(d[xk]), (None if yk is None else np.asarray(d[yk])), None


def _folder(path, size, grayscale, mean, std):
    try:
        from PIL import Image
    except ImportError:
        raise UsageError("image folders need Pillow: pip install pillow") from None
    classes = sorted(e for e in os.listdir(path) if os.path.isdir(os.path.join(path, e)))
    if not classes:
        raise InputFileError(f"--data {path}: no class sub-folders (folder/<class>/<image>)")
    xs, ys = [], []
    for label, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(path, c))):
            if f.lower().endswith(_IMG):
                im = Image.open(os.path.join(path, c, f)).convert("L" if grayscale else "RGB")
                if size is not None:
                    im = im.resize((size[1], size[0]), Image.BILINEAR)
                a = np.asarray(im, np.float32) / 255.0
                xs.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
                ys.append(label)
    if not xs:
        raise InputFileError(f"--data {path}: no image files ({', '.join(_IMG)})")
    x = np.stack(xs)
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return ((x - m) / s).astype(np.float32), np.asarray(ys, np.int64), None


def load_dataset(spec, size=None, grayscale=False, mean=(0.0,), std=(1.0,)):
    """(x, y or None, calibration batches or None) of ``spec`` (module docstring)."""
    if spec == "digits":
        from ..demo import load_data

        xtr, _, xte, yte = load_data()
        return xte, yte, [xtr[:128]]
    if os.path.isdir(spec):
        return _folder(spec, size, grayscale, mean, std)
    if not os.path.isfile(spec):
        raise InputFileError(f"--data {spec!r}: no such file or folder (or use 'digits')")
    if not spec.endswith(".npz"):
        raise UsageError(f"--data {spec!r}: must be 'digits', a .npz file or an image folder")
    return _npz(spec)


def take(x, y, n, param="--n"):
    """The first ``n`` samples (``n`` in 1..len(x)); None: all."""
    if n is None:
        return x, y
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(x):
        raise UsageError(f"{param} must be an integer in 1..{len(x)} (the number of samples), "
                         f"got {n!r}")
    return x[:n], (None if y is None else y[:n])
