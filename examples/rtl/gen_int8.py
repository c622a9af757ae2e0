"""Golden vectors for tb_int8_mac.v: hwsim.export of one int8 matmul, plus steps.hex
(the accumulator after every MAC step of every output, from hwsim.mac.trace).

usage: python gen_int8.py OUT_DIR [--width W] [--wrap] [--m M --n N --k K] [--seed S]
"""
import argparse
import os

import numpy as np

import hwsim
from hwsim.mac import IntAccumulator, MacUnit, trace
from hwsim.network.hexio import write_hex


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--width", type=int, default=14)
    p.add_argument("--wrap", action="store_true")
    p.add_argument("--m", type=int, default=4)
    p.add_argument("--n", type=int, default=3)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    mac = MacUnit("int8", "int8", accumulator=IntAccumulator(a.width, "wrap" if a.wrap else "saturate"))
    A = rng.integers(0, 256, (a.m, a.k), dtype=np.uint8)
    B = rng.integers(0, 256, (a.k, a.n), dtype=np.uint8)
    bias = rng.integers(-(1 << (a.width - 3)), 1 << (a.width - 3), a.n)
    man = hwsim.export(mac, a.out, A, B, bias=bias, trace=[(0, 0)])
    d = os.path.join(a.out, man["layers"][0]["dir"])
    steps = np.zeros((a.m, a.n, a.k), np.int64)
    for i in range(a.m):
        for j in range(a.n):
            t = trace(A, B, mac, i, j, bias=bias)
            macs = [s["acc"] for s in t.steps if s["kind"] == "mac"]
            steps[i, j] = macs
    write_hex(os.path.join(d, "steps.hex"), steps & ((1 << a.width) - 1), a.width)
    with open(os.path.join(d, "params.vh"), "w") as f:
        f.write(f"`define M {a.m}\n`define N {a.n}\n`define K {a.k}\n`define W {a.width}\n"
                f"`define SAT {0 if a.wrap else 1}\n")
    print(d)


if __name__ == "__main__":
    main()
