"""The public encode / decode / quantize: one table maps each format kind to its codec.

>>> import numpy as np, hwsim
>>> hwsim.encode(np.array([1.0, 448.0, 464.0, 465.0]), "float8_e4m3fn")
array([ 56, 126, 126, 127], dtype=uint8)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import FormatError, UnsupportedModeError
from ..formats import format as parse_format
from . import block, scalar


@dataclass(frozen=True)
class Codec:
    """The three entry points of one family of format kinds."""

    encode: Callable
    decode: Callable
    quantize: Callable


def _reject_scalar_options(fmt, overflow, tininess, ftz, daz, nan, rand, return_flags) -> None:
    given = dict(overflow=overflow, tininess=tininess, ftz=ftz, daz=daz, nan=nan, rand=rand,
                 return_flags=return_flags)
    names = [k for k, v in given.items() if v not in (None, False, "after")]
    if names:
        raise UnsupportedModeError(
            f"{fmt.name} is a block/codebook format; {sorted(names)} apply to scalar "
            "formats only (block elements saturate at the element max)")


def _block_encode(x, fmt, rounding, overflow, *, tininess="after", ftz=False, daz=False,
                  nan=None, rand=None, return_flags=False, **kw):
    _reject_scalar_options(fmt, overflow, tininess, ftz, daz, nan, rand, return_flags)
    return block.encode(x, fmt, rounding=rounding, **kw)


def _block_decode(codes, fmt, *, daz=False, threads=None, **kw):
    return block.decode(codes, fmt, **kw)  # daz / threads do not apply to block codes


def _block_quantize(x, fmt, rounding, overflow, **kw):
    return block.quantize(x, fmt, rounding=rounding, **kw)


_SCALAR = Codec(scalar.encode, scalar.decode, scalar.quantize)
_BLOCK = Codec(_block_encode, _block_decode, _block_quantize)

#: the codec of each format kind (codebook / PWLQ go through the block entry points,
#: which hand them to :mod:`hwsim.codec.codebook`)
CODECS = {"float": _SCALAR, "int": _SCALAR, "fixed": _SCALAR, "mx": _BLOCK, "nvfp4": _BLOCK,
          "bfp": _BLOCK, "codebook": _BLOCK, "pwlq": _BLOCK}


def _codec(fmt) -> Codec:
    try:
        return CODECS[fmt.kind]
    except KeyError:
        raise FormatError(f"no codec for format kind {fmt.kind!r}") from None


def encode(x, fmt, rounding="rne", overflow=None, **kw):
    """Encode real values into codes of ``fmt`` (exact, then rounded once).

    Parameters
    ----------
    x : array_like of float32 / float64 (other real dtypes are converted exactly)
    fmt : format object or name (see :func:`hwsim.format`)
    rounding : 'rne' | 'rna' | 'rtz' | 'rup' | 'rdn' | 'rto' | 'sr'
    overflow : 'saturate' | 'saturate_finite_keep_inf' | 'special' | 'error' | 'wrap'
        Default: ``fmt.default_overflow`` (what ml_dtypes does for its types).
    tininess : 'after' (default, as SoftFloat) | 'before' rounding
    ftz, daz : flush tiny results to zero / read subnormal inputs as zero
    nan : None or 'error' (NaN into a format without NaN raises) or an int code
    sr_bits : random bits r for rounding='sr' (1..32)
    seed, index0 : key of the counter-based generator; element i uses index0 + i,
        so encoding a slice with its offset gives the bits of the whole.
    rand : uint32 array shaped like x: caller's random integers (low r bits used)
    return_flags : False | True (also return OR-ed :class:`Flags`) |
        'elementwise' (also return per-element flags, uint8 array)
    threads : worker threads for large arrays (default: all cores); never changes results.

    Block and codebook formats take their own keywords (``axis``, ``scales``,
    ``tensor_scale``...) and return a :class:`~hwsim.tensors.BlockTensor`; see
    :func:`hwsim.codec.block.encode`.
    """
    fmt = parse_format(fmt)
    return _codec(fmt).encode(x, fmt, rounding, overflow, **kw)


def decode(codes, fmt=None, **kw):
    """Decode codes of ``fmt`` to float64 values (exact for every format).

    Codes must be an integer array with every value in [0, 2**fmt.bits); signed
    int / fixed formats also take their signed values (np.int8 data for int8).
    A :class:`~hwsim.tensors.BlockTensor` (what ``encode`` returns for block
    formats) decodes without ``fmt``.  Keywords: ``daz``, ``threads``; block
    codes take ``scales``, ``axis``, ``tensor_scale``.
    """
    if fmt is None:
        if hasattr(codes, "fmt") and callable(getattr(codes, "values", None)):
            kw.pop("daz", None)
            kw.pop("threads", None)
            return block.decode(codes, **kw)
        raise TypeError("decode() needs fmt for a code array")
    fmt = parse_format(fmt)
    return _codec(fmt).decode(codes, fmt, **kw)


def quantize(x, fmt, rounding="rne", overflow=None, **kw):
    """``decode(encode(x, fmt, ...), fmt)``: the value the hardware would hold."""
    fmt = parse_format(fmt)
    return _codec(fmt).quantize(x, fmt, rounding, overflow, **kw)
