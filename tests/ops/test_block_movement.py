"""Data movement of block-format tensors (docs/semantics.md, "Block formats through data
movement"): whole blocks move when the movement keeps each block's elements together and
in order along one output axis; otherwise the moved exact values are re-encoded along the
output's activation axis.  Checked against ``hwsim.reference``'s block encode and plain
numpy index arithmetic."""
import numpy as np
import pytest

import hwsim
from hwsim import reference as R
from hwsim.formats import format as fmt_of
from hwsim.network import Network
from hwsim.ops.movement import move_blocks
from hwsim.testing import assert_bits_equal

MX8 = dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32", output="mxfp8_e4m3",
           mac="fp32")
NV4 = dict(MX8, input="nvfp4", weight="nvfp4", output="nvfp4")


def _ref_encode(v, fmt, axis, tensor_scale=None):
    if fmt.kind == "nvfp4":
        codes, scales, _ = R.nvfp4_quantize(v, fmt, axis=axis, tensor_scale=tensor_scale)
        return codes, scales
    return R.mx_quantize(v, fmt, axis=axis)


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp4", "nvfp4"])
@pytest.mark.parametrize("seed", range(6))
def test_transpose_moves_whole_blocks(fmt, seed):
    """A transpose never splits an axis: every block moves whole, its block axis with its
    dimension; codes and scales are the input's moved, and they are the reference encode of
    the moved values along that axis."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 5, 3)) + (int(rng.integers(1, 70)),)
    axis = int(rng.integers(0, 4))
    f = fmt_of(fmt)
    x = rng.normal(0, 1, shape) * np.exp2(rng.integers(-6, 6, shape))
    bt = hwsim.encode(x, f, axis=axis)
    perm = tuple(int(p) for p in rng.permutation(4))
    got = move_blocks(bt, lambda c: np.transpose(c, perm))
    assert got is not None and got.axis == perm.index(axis)
    assert_bits_equal(np.asarray(got.codes), np.transpose(np.asarray(bt.codes), perm))
    assert_bits_equal(np.asarray(got.scales), np.transpose(np.asarray(bt.scales), perm))
    assert_bits_equal(got.values(), np.transpose(bt.values(), perm))
    codes, scales = _ref_encode(got.values(), f, got.axis, bt.tensor_scale)
    assert_bits_equal(np.asarray(got.codes), np.asarray(codes))
    assert_bits_equal(np.asarray(got.scales), np.asarray(scales))


def test_reshape_keeps_or_breaks_blocks():
    f = fmt_of("mxfp8_e4m3")
    bt = hwsim.encode(np.random.default_rng(1).normal(0, 1, (2, 64, 3)), f, axis=1)
    split = move_blocks(bt, lambda c: c.reshape(2, 2, 32, 3))  # 64 -> 2 x 32: blocks intact
    assert split is not None and split.axis == 2
    assert_bits_equal(split.values(), bt.values().reshape(2, 2, 32, 3))
    assert move_blocks(bt, lambda c: c.reshape(2, 4, 16, 3)) is None  # a block split in two
    assert move_blocks(bt, lambda c: c.reshape(2, -1)) is None  # strided by 3
    assert move_blocks(bt, lambda c: c[:, :40]) is None  # not a permutation (Slice)
    assert move_blocks(bt, lambda c: np.concatenate([c, c], 1)) is None


def _shuffle_net(cfg, c, g, seed=0):
    rng = np.random.default_rng(seed)
    net = Network({"x": (1, 8, 2, 3)}, config={"defaults": cfg})
    net.add("Conv", "x", "a", name="conv1", weight=rng.normal(0, 0.6, (c, 8, 1, 1)),
            bias=rng.normal(0, 0.1, c))
    net.add("Reshape", "a", "r1", name="r1", shape=[1, g, c // g, 2, 3])
    net.add("Transpose", "r1", "t", name="t", perm=[0, 2, 1, 3, 4])
    net.add("Reshape", "t", "r2", name="r2", shape=[1, c, 2, 3])
    net.add("Conv", "r2", "y", name="conv2", weight=rng.normal(0, 0.3, (4, c, 1, 1)),
            bias=np.zeros(4))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 8, 2, 3)) for _ in range(2)])
    return net, rng.normal(0, 1, (1, 8, 2, 3))


def _step(prev, got, v, intact_axis, act_axis):
    """Expected block tensor of one movement step: ``prev``'s codes / scales moved (blocks
    intact, ``intact_axis``) or the reference encode of the moved values ``v``."""
    bt = got.meta["block"]
    if intact_axis is not None:
        assert bt.axis == intact_axis
        assert_bits_equal(bt.values(), v)
        codes, scales = _ref_encode(v, bt.fmt, intact_axis, bt.tensor_scale)
    else:
        assert bt.axis == act_axis
        codes, scales = _ref_encode(v, bt.fmt, act_axis, bt.tensor_scale)
    assert_bits_equal(np.asarray(bt.codes), np.asarray(codes))
    assert_bits_equal(np.asarray(bt.scales), np.asarray(scales))


@pytest.mark.parametrize("cfg", [MX8, NV4], ids=["mxfp8", "nvfp4"])
def test_channel_shuffle_blocks_intact_then_reencoded(cfg):
    """64 channels in 2 groups of 32: the split and the transpose move whole blocks (no
    rounding); the final Reshape interleaves the groups, so its blocks are re-encoded along
    the channels (one rounding of the moved exact values)."""
    net, x = _shuffle_net(cfg, 64, 2)
    r = net.run(x, keep=True)
    a = r.tensors["a"].values()
    v1 = a.reshape(1, 2, 32, 2, 3)
    _step(r.tensors["a"], r.tensors["r1"], v1, 2, None)
    vt = np.transpose(v1, (0, 2, 1, 3, 4))
    _step(r.tensors["r1"], r.tensors["t"], vt, 1, None)
    _step(r.tensors["t"], r.tensors["r2"], vt.reshape(1, 64, 2, 3), None, 1)
    assert np.all(np.isfinite(r.outputs["y"]))


def test_channel_shuffle_split_blocks_reencoded_along_the_last_axis():
    """48 channels in 3 groups of 16: the first block (channels 0-31) spans two groups, so
    the split re-encodes (5-D: along the last axis); the transpose and the final Reshape then
    keep those blocks; conv2 re-encodes its input along the channels."""
    net, x = _shuffle_net(MX8, 48, 3)
    r = net.run(x, keep=True)
    v1 = r.tensors["a"].values().reshape(1, 3, 16, 2, 3)
    _step(r.tensors["a"], r.tensors["r1"], v1, None, 4)
    v1 = r.tensors["r1"].values()
    vt = np.transpose(v1, (0, 2, 1, 3, 4))
    _step(r.tensors["r1"], r.tensors["t"], vt, 4, None)
    _step(r.tensors["t"], r.tensors["r2"], vt.reshape(1, 48, 2, 3), 3, None)
    seen = r.layers["conv2"].input.meta["block"]  # the MAC layer's operand: channels
    codes, scales = _ref_encode(r.tensors["r2"].values(), fmt_of("mxfp8_e4m3"), 1)
    assert seen.axis == 1
    assert_bits_equal(np.asarray(seen.codes), np.asarray(codes))
    assert_bits_equal(np.asarray(seen.scales), np.asarray(scales))
    assert np.all(np.isfinite(r.outputs["y"]))


def test_pad_and_resize_of_block_tensors_reencode():
    """Pad (fill codes in the index array) and nearest Resize (repeated elements) are not
    one-to-one: their outputs are the moved values encoded once along the activation axis."""
    f = fmt_of("mxfp8_e4m3")
    bt = hwsim.encode(np.random.default_rng(2).normal(0, 1, (1, 40, 2, 2)), f, axis=1)
    assert move_blocks(bt, lambda c: np.pad(c, ((0, 0), (0, 0), (1, 1), (1, 1)),
                                            constant_values=5000)) is None
    assert move_blocks(bt, lambda c: np.pad(c, ((0, 0), (0, 0), (0, 1), (0, 0)))) is None
    assert move_blocks(bt, lambda c: np.repeat(c, 2, axis=3)) is None
    net = Network({"x": (1, 8, 2, 2)}, config={"defaults": MX8})
    rng = np.random.default_rng(3)
    net.add("Conv", "x", "a", name="conv1", weight=rng.normal(0, 0.6, (40, 8, 1, 1)),
            bias=np.zeros(40))
    net.add("Pad", "a", "p", name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.75)
    net.outputs = ["p"]
    net.calibrate([rng.normal(0, 1, (1, 8, 2, 2))])
    r = net.run(rng.normal(0, 1, (1, 8, 2, 2)), keep=True)
    want = np.pad(r.tensors["a"].values(), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=0.75)
    codes, scales = _ref_encode(want, f, 1)
    bt = r.tensors["p"].meta["block"]
    assert_bits_equal(np.asarray(bt.codes), np.asarray(codes))
    assert_bits_equal(np.asarray(bt.scales), np.asarray(scales))
