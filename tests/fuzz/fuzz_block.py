"""Fuzz block / codebook quantization: MX, NVFP4, BFP, NF4, PWLQ and odd variants.

Beyond "no crash": decode(encode(x)) equals quantize(x), and re-encoding the
decoded values with the same scales gives the same element codes.
"""
import numpy as np

try:
    from . import _common as C
except ImportError:
    import _common as C

import hwsim
from hwsim import formats as bf

NAMES = list(bf.NAMES) + ["nf4", "pwlq4", "pwlq8", "pwlq0", "bfp8_b16", "bfp1_b1",
                          "bfp70_b3", "bfp8_b0", "mxfp4_nope"]


def _fmt(fdp):
    k = fdp.ConsumeIntInRange(0, 3)
    if k == 0:
        return C.pick(fdp, NAMES)
    if k == 1:
        return C.call(bf.MXFormat, C.pick(fdp, ["float4_e2m1fn", "float8_e4m3fn", "e3m2fn",
                                                 "int8", "e2m3fn", "float16", "e4m3"]),
                      block_size=fdp.ConsumeIntInRange(-1, 70))
    if k == 2:
        return C.call(bf.BFPFormat, fdp.ConsumeIntInRange(-1, 40),
                      block_size=fdp.ConsumeIntInRange(-1, 70),
                      exp_bits=fdp.ConsumeIntInRange(-1, 12))
    return C.call(bf.NVFP4Format) if fdp.ConsumeBool() else C.pick(fdp, ["nvfp4", "msfp12"])


def TestOneInput(data: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    fmt = _fmt(fdp)
    if fmt is None:
        return
    shape = tuple(fdp.ConsumeIntInRange(0, 40) for _ in range(fdp.ConsumeIntInRange(1, 3)))
    n = int(np.prod(shape))
    if n > 2000:
        return
    x = C.floats(fdp, n).reshape(shape)
    if fdp.ConsumeBool():
        x = np.where(np.isfinite(x), x, 0.0)
    kw = dict(rounding=C.pick(fdp, ["rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "x"]))
    if kw["rounding"] == "sr":
        kw.update(sr_bits=fdp.ConsumeIntInRange(0, 33), seed=fdp.ConsumeIntInRange(0, 99))
    axis = C.pick(fdp, ["auto", None, -1, 0, 1, 2, 5, -4])
    if fdp.ConsumeBool():
        kw["tensor_scale"] = C.pick(fdp, [None, 1.0, 0.5, 0.0, -1.0, float("nan"), 1e-40, 3.0])
    if fdp.ConsumeBool():
        kw["arithmetic"] = C.pick(fdp, ["float32", "float64", "exact", "x"])
    bt = C.call(hwsim.encode, x, fmt, axis=axis, **kw)
    q = C.call(hwsim.quantize, x, fmt, axis=axis, **kw)
    if bt is None:
        if q is not None:
            raise C.Finding(f"quantize accepted what encode refused: {fmt} {kw} axis={axis}")
        return
    d = C.call(hwsim.decode, bt)
    if d is None:
        raise C.Finding(f"decode refused a BlockTensor from encode ({fmt})")
    if q is None or kw["rounding"] == "sr":
        return
    same = (q == d) | (np.isnan(q) & np.isnan(d))
    if not same.all():
        raise C.Finding(f"quantize != decode(encode) for {getattr(bt.fmt, 'name', fmt)} {kw}")


if __name__ == "__main__":
    C.main(TestOneInput, "block")
