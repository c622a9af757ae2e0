"""Hand-set performance thresholds (results never depend on them, only speed).

Written by ``benchmarks/tune.py`` (run it on the target machine to regenerate;
the values below are the defaults measured for benchmarks/README.md).
"""

#: elementwise codecs: arrays shorter than this run on one thread, and no thread
#: gets fewer than half of it (fp8 / fp4 encode and table decode: 0.8-1.4e9 el/s/core,
#: so a 2**17 chunk takes ~100 us, well above a pool hand-off of ~20 us)
PARALLEL_THRESHOLD = 1 << 18

#: per-thread lower bound (elements) for the bfloat16-family kernels (3-5e9 el/s)
FLAT_MIN_CHUNK = 1 << 20

#: per-thread lower bound (elements) for the block-format kernels (MX, NVFP4, BFP)
BLOCK_MIN_CHUNK = 1 << 16

#: float formats of at most this many bits decode through a cached lookup table
LUT_MAX_BITS = 16

#: ... and a table above 8 bits is used only for arrays of at least this many codes
LUT_MIN_CODES = 1 << 12

#: MAC fast paths: below this much work (m * n * k) one thread runs the whole product
MAC_FAST_PARALLEL_WORK = 1 << 16

#: general C MAC engine (hw_mac_gemm): below this much work one thread runs it
MAC_GEMM_PARALLEL_WORK = 1 << 15
