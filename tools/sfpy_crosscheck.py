"""Check ``hwsim vectors`` files against SoftFloat through PyPI ``sfpy`` (8086-SSE build).

sfpy 0.6.0 does not build on Python >= 3.11 (its sdist's Cython C includes
``longintrepr.h``), so this runs under an older interpreter that has sfpy, on
files written by hwsim::

    hwsim vectors --op mul --format float16 -r rne --nan x86 -o f16_mul_rne.txt
    python3.10 tools/sfpy_crosscheck.py f16_mul_rne.txt ...

File names say what to check: ``<f16|f32>_<add|mul|mulAdd>_<rounding>.txt`` or
``<f16|f32>_to_<f16|f32>_<rounding>.txt``.  Prints one line per file; exit 1 on
any difference (the first differing line is shown).
"""
import os
import sys

import sfpy
import sfpy.float as F

MODES = dict(rne=F.ROUND_NEAREST_EVEN, rtz=F.ROUND_TO_ZERO, rdn=F.ROUND_DOWN, rup=F.ROUND_UP,
             rna=F.ROUND_NEAREST_AWAY)
CLS = dict(f16=sfpy.Float16, f32=sfpy.Float32)


def run(path):
    parts = os.path.basename(path)[:-4].split("_")
    mode = parts[-1]
    F.round_set_mode(MODES[mode])
    F.tininess_set(F.TININESS_AFTER_ROUNDING)
    if parts[1] == "to":
        src, dst = parts[0], parts[2]
        fn = getattr(F, f"{src}_to_{dst}")
        def calc(ops):
            return fn(CLS[src].from_bits(ops[0]))
    else:
        p, op = parts[0], parts[1]
        c = CLS[p]
        if op == "mulAdd":  # sfpy's fma(acc, a, b) is SoftFloat mulAdd(a, b, acc)
            def calc(ops):
                return getattr(F, f"{p}_fma")(c.from_bits(ops[2]), c.from_bits(ops[0]),
                                              c.from_bits(ops[1]))
        else:
            fn = getattr(F, f"{p}_{op}")
            def calc(ops):
                return fn(c.from_bits(ops[0]), c.from_bits(ops[1]))
    n = 0
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            v = [int(x, 16) for x in line.split()]
            F.flag_set(0)
            z = calc(v[:-2])
            got = (z.bits, F.flag_get())
            n += 1
            if got != (v[-2], v[-1]):
                print(f"{path}:{i}: {line.strip()}  sfpy gives {got[0]:X} {got[1]:02X}")
                return False
    print(f"{path}: {n} lines equal sfpy")
    return True


if __name__ == "__main__":
    ok = all([run(p) for p in sys.argv[1:]])
    sys.exit(0 if ok else 1)
