"""Golden vectors for tb_mac_tile.v / the cocotb tile bench: one int8 conv layer exported
by ``hwsim.export`` (a Network with a single Conv, int8 symmetric quantization, an int
W-bit saturating accumulator), with a trace of EVERY output (conv coordinates).

Written into the layer folder besides the export's files: ``steps.hex``
[COUT*HO*WO, K] (the accumulator after every MAC step of every output, the ``after``
column of the traces), ``kmap.hex`` [K] ({ci, kh, kw} of step k, one byte each, the
trace's conv coordinates: the layer's reduction order), ``params.vh`` and
``expect_bug.txt``: the first (element, step), in the bench's tile order, where the bug
planted by ``INJECT_BUG`` (the last tile row drops the sign bit of its input) changes a
product: a negative input times a nonzero weight in PE row P-1.  Found from the golden
operands alone, independently of the RTL.

usage: python gen_tile.py OUT_DIR [--p P] [--q Q] [--width W] [--seed S]
"""
import argparse
import os
import shutil
import tempfile

import numpy as np

import hwsim
from hwsim.network import Network
from hwsim.network.hexio import write_hex
from hwsim.network.trace import NPY_COLUMNS, retrace

CIN, COUT, H, WI, KH, KW, STRIDE, PAD = 3, 4, 6, 6, 3, 3, 1, 1


def build(width, seed):
    rng = np.random.default_rng(seed)
    net = Network({"x": (1, CIN, H, WI)},
                  config={"defaults": {"mac": f"int{width}_sat", "requant": "tflite"}})
    net.add("Conv", "x", "y", name="conv", weight=rng.normal(0, 0.5, (COUT, CIN, KH, KW)),
            bias=rng.normal(0, 0.3, COUT), pads=(PAD,) * 4, strides=(STRIDE, STRIDE))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, CIN, H, WI)) for _ in range(4)])
    return net, rng.normal(0, 1, (1, CIN, H, WI))


def tile_order(npix, cout, p_, q_, k):
    """(pixel, channel, step, pe_row) in the order the bench checks them."""
    for pt in range(0, npix, p_):
        for qt in range(0, cout, q_):
            for s in range(k):
                for p in range(p_):
                    for q in range(q_):
                        yield pt + p, qt + q, s, p


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--p", type=int, default=2)
    ap.add_argument("--q", type=int, default=2)
    ap.add_argument("--width", type=int, default=20)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args(argv)
    net, x = build(a.width, a.seed)
    ho, wo = (H + 2 * PAD - KH) // STRIDE + 1, (WI + 2 * PAD - KW) // STRIDE + 1
    npix, k = ho * wo, CIN * KH * KW
    if npix % a.p or COUT % a.q:
        raise SystemExit(f"--p must divide {npix} output pixels and --q the {COUT} channels")
    coords = [(0, c, y, xx) for c in range(COUT) for y in range(ho) for xx in range(wo)]
    man = hwsim.export(net, a.out, x)  # no trace exported: compare --trace-first makes one
    L = man["layers"][0]
    d = os.path.join(a.out, L["dir"])
    for kind in ("input", "weight"):
        zp = np.asarray((L["files"][kind]["qparams"] or {}).get("zero_point", 0))
        assert not zp.any(), f"{kind} zero point must be 0 for this tile (got {zp})"
    col = {n: i for i, n in enumerate(NPY_COLUMNS)}
    steps = np.zeros((len(coords), k), np.uint64)
    tmp = tempfile.mkdtemp()
    for c in coords:  # every output traced from the golden folder (hwsim.network.trace.retrace)
        t = retrace(a.out, L, c, tmp)
        rows = np.load(os.path.join(tmp, t["npy"]))
        mac = rows[rows[:, col["ci"]] >= 0]  # the MAC steps (the bias row has no ci)
        assert len(mac) == k
        steps[c[1] * npix + c[2] * wo + c[3]] = mac[:, col["after"]].astype(np.uint64)
        kmap = mac[:, [col["ci"], col["kh"], col["kw"]]]
    shutil.rmtree(tmp)
    write_hex(os.path.join(d, "steps.hex"), steps, a.width)
    write_hex(os.path.join(d, "kmap.hex"),
              (kmap[:, 0] << 16 | kmap[:, 1] << 8 | kmap[:, 2]).astype(np.uint32), 24)
    xin = np.load(os.path.join(a.out, L["files"]["input"]["npy"])).astype(np.int8)
    w = np.load(os.path.join(a.out, L["files"]["weight"]["npy"])).astype(np.int8)
    first = None
    for pix, co, s, p in tile_order(npix, COUT, a.p, a.q, k):
        ci, kh, kw = kmap[s]
        iy, ix = pix // wo * STRIDE - PAD + kh, pix % wo * STRIDE - PAD + kw
        xv = xin[0, ci, iy, ix] if 0 <= iy < H and 0 <= ix < WI else 0
        if p == a.p - 1 and xv < 0 and w[co, ci, kh, kw] != 0:
            first = (co * npix + pix, co, pix // wo, pix % wo, s, ci, kh, kw, iy, ix)
            break
    bw = L["files"]["bias"]["bits"]
    with open(os.path.join(d, "params.vh"), "w") as f:
        f.write("".join(f"`define {n} {v}\n" for n, v in dict(
            P=a.p, Q=a.q, W=a.width, SAT=1, BW=bw, CIN=CIN, COUT=COUT, H=H, WI=WI, KH=KH,
            KW=KW, HO=ho, WO=wo, STRIDE=STRIDE, PAD=PAD).items()))
    with open(os.path.join(d, "expect_bug.txt"), "w") as f:
        f.write("none\n" if first is None else
                "element %d (0, %d, %d, %d) step %d (ci %d, kh %d, kw %d, iy %d, ix %d)\n" % first)
    print(d)


if __name__ == "__main__":
    main()
