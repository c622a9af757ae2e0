"""Pure-Python exact oracle (ints and fractions.Fraction; imports no C code).

Facade over the reference modules, one per concern:
``hwsim._ref_scalar`` (float/int/fixed/affine codecs), ``hwsim._ref_block``
(MX, NVFP4, BFP, codebooks), ``hwsim._ref_mac`` (MAC units).
"""
from ._ref_scalar import *  # noqa: F401,F403
from ._ref_block import *  # noqa: F401,F403
from ._ref_mac import *  # noqa: F401,F403
