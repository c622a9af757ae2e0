"""Pure-Python exact oracle (ints and fractions.Fraction; imports no C code).

One module per concern: :mod:`.scalar` (float / int / fixed codecs, on :mod:`.rounding`), :mod:`.affine`,
:mod:`.block` (MX, NVFP4, BFP, codebooks, PWLQ), :mod:`.mac` (MAC units).  It
imports :mod:`hwsim.formats` and the MAC configuration dataclasses only, never
:mod:`hwsim.native` or :mod:`hwsim.codec` (an import-linter contract).
"""
from .affine import *  # noqa: F401,F403
from .block import *  # noqa: F401,F403
from .mac import *  # noqa: F401,F403
from .scalar import *  # noqa: F401,F403
