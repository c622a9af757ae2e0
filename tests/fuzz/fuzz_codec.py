"""Fuzz encode / decode / quantize: random scalar formats, options and arrays.

Checks beyond "no crash": decode(encode(x)) re-encodes to the same codes
(idempotence of rounding) for every non-NaN result.
"""
import sys

import numpy as np

try:
    from . import _common as C
except ImportError:
    import _common as C

import hwsim
from hwsim.errors import HwsimError

NAMES = sorted(hwsim.PRESETS) + ["int8", "uint3", "int64", "uint1", "int65", "fixed16.8",
                                 "ufixed8.-3", "fixed8.12", "e4m3", "e5m10", "e8m0", "e2m1fn",
                                 "e11m52", "e3m2fnuz", "e4m3_b9", "binary8p3se", "binary6p2sf",
                                 "binary32p24", "float9_nope", "", "e0m3", "e4m3u"]
ROUNDINGS = ["rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "bogus"]
OVERFLOWS = [None, "saturate", "saturate_finite_keep_inf", "special", "error", "wrap", "nope"]


def _fmt(fdp):
    if fdp.ConsumeBool():
        return C.pick(fdp, NAMES)
    e, m = fdp.ConsumeIntInRange(-1, 12), fdp.ConsumeIntInRange(-1, 60)
    return f"e{e}m{m}" + C.pick(fdp, ["", "fn", "fnuz", "u", f"_b{fdp.ConsumeIntInRange(-5, 300)}"])


def TestOneInput(data: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    name = _fmt(fdp)
    fmt = C.call(hwsim.format, name)
    if fmt is None or getattr(fmt, "kind", None) not in ("float", "int", "fixed"):
        return
    n = fdp.ConsumeIntInRange(0, 40)
    x = C.floats(fdp, n).reshape(C.pick(fdp, [(n,), (1, n), (n, 1)]))
    if fdp.ConsumeBool():
        x = x.astype(np.float32)
    kw = dict(rounding=C.pick(fdp, ROUNDINGS), overflow=C.pick(fdp, OVERFLOWS))
    if fdp.ConsumeBool():
        kw.update(ftz=fdp.ConsumeBool(), daz=fdp.ConsumeBool(),
                  tininess=C.pick(fdp, ["before", "after", "x"]))
    if fdp.ConsumeBool():
        kw["nan"] = fdp.ConsumeIntInRange(-2, (1 << min(fmt.bits, 20)) + 1)
    if kw["rounding"] == "sr":
        kw.update(sr_bits=fdp.ConsumeIntInRange(-1, 34), seed=fdp.ConsumeIntInRange(0, 1 << 40))
    if fdp.ConsumeBool():
        kw["threads"] = fdp.ConsumeIntInRange(0, 3)
    codes = C.call(hwsim.encode, x, fmt, **kw)
    q = C.call(hwsim.quantize, x, fmt, **{k: v for k, v in kw.items() if k != "threads"})
    if codes is None:
        return
    vals = C.call(hwsim.decode, codes, fmt, daz=kw.get("daz", False))
    if vals is None:
        raise C.Finding("decode refused codes that encode produced")
    if q is not None and kw["rounding"] != "sr":
        same = (q == vals) | (np.isnan(q) & np.isnan(vals))
        if not np.all(same | ((q == 0) & (vals == 0))):
            raise C.Finding(f"quantize != decode(encode) for {fmt.name} {kw}")
    ok = ~np.isnan(vals)
    if kw.get("daz") or kw.get("ftz") or not ok.any():
        return
    again = C.call(hwsim.encode, vals[ok], fmt)
    if again is not None and not np.array_equal(again, codes[ok]):
        raise C.Finding(f"encode(decode(c)) != c for {fmt.name}: {codes[ok]} -> {again}")
    # arbitrary codes must decode or be refused cleanly
    raw = np.frombuffer(fdp.ConsumeBytes(8 * 4).ljust(32, b"\0"), np.uint64)
    try:
        C.call(hwsim.decode, raw.astype(fmt.code_dtype), fmt)
    except HwsimError:
        pass


if __name__ == "__main__":
    C.main(TestOneInput, "codec")
