"""Name and dict parsing over every format kind: :func:`format` and :func:`from_dict`.

>>> format("int4")
IntFormat(bits=4, signed=True, name='int4')
>>> format("fixed16.8").frac_bits
8
"""
from __future__ import annotations

from typing import Any

from ..errors import FormatError
from .block import block_from_dict, parse_block
from .catalogue import PRESETS, SCALAR_GRAMMAR, parse_scalar, scalar_from_dict
from .codebook import codebook_from_dict, parse_codebook

#: Block and codebook format names understood by :func:`format`.
NAMES = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8",
         "nvfp4", "nf4", "msfp12", "msfp16", "bfp<m>_b<block>", "pwlq<b>"]

_PARSERS = (parse_scalar, parse_block, parse_codebook)
_FROM_DICT = (scalar_from_dict, block_from_dict, codebook_from_dict)


def format(spec) -> Any:  # noqa: A001 - public name from the spec: hwsim.format
    """Parse a format name (or pass a format object / dict through).

    Accepted: every catalogue name and alias (``float8_e4m3fn``, ``bf16``),
    ``eXmY[fn|fnuz|u][_bN]`` (``e5m10``, ``e4m3fn``, ``e4m3_b11``),
    ``intN`` / ``uintN``, ``fixedN.F`` / ``ufixedN.F``, ``binaryKpP[se|sf]``
    (P3109), and the block / codebook names (``mxfp8_e4m3``, ``mxfp4``,
    ``mxint8``, ``nvfp4``, ``nf4``, ``msfp12``, ``msfp16``, ``bfp7_b16``...).
    The bare upper-case names ``E4M3`` and ``E5M2`` are refused: vendors use
    them for different formats (docs/semantics.md).
    """
    if not isinstance(spec, (str, dict)):
        if hasattr(spec, "kind") and hasattr(spec, "to_dict"):
            return spec
        raise TypeError(f"format spec must be a str, dict or format object, got {type(spec).__name__}")
    if isinstance(spec, dict):
        return from_dict(spec)
    for parse in _PARSERS:
        hit = parse(spec)
        if hit is not None:
            return hit
    raise FormatError(
        f"unknown format name {spec!r}; valid: {sorted(PRESETS)} plus {SCALAR_GRAMMAR}, {NAMES}")


def from_dict(d: dict) -> Any:
    """Inverse of ``fmt.to_dict()`` for every format kind."""
    if not isinstance(d, dict) or "kind" not in d:
        raise FormatError(f"format dict needs a 'kind' key, got {d!r}")
    d = dict(d)
    kind = d.pop("kind")
    for build in _FROM_DICT:
        try:
            f = build(kind, d)
        except (TypeError, KeyError) as e:
            if kind in ("float", "int", "fixed"):
                raise
            raise FormatError(f"bad {kind!r} format dict {d!r}: {e}") from None
        if f is not None:
            return f
    raise FormatError(f"unknown format kind {kind!r}")
