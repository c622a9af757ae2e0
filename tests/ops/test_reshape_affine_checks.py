"""Reshape targets and ChannelAffine constants that do not fit their input (fuzz findings)."""
from types import SimpleNamespace

import numpy as np
import pytest

from hwsim.errors import UnsupportedModelError
from hwsim.ops import get_op
from hwsim.ops.reshape import reshape_target


def _node(op, **attrs):
    return SimpleNamespace(name="n1", op=op, inputs=["x"], outputs=["y"], attrs=attrs)


def test_reshape_zero_beyond_the_input_rank_names_the_node():
    # fuzz findings (findings/onnx/crash-12372bd0..., -a15f9c2c..., -bfaf52f0..., -c96df83f...):
    # a mutated Reshape target [2, 0, 0] on a rank-2 input: IndexError in reshape_target
    x = np.zeros((2, 4))
    with pytest.raises(UnsupportedModelError, match=r"node n1 \(Reshape\): target shape \[2, 0, 0\] "
                                                    r"copies dimension 2 \(a 0\).*only 2"):
        get_op("Reshape").reference(_node("Reshape", shape=[2, 0, 0]), [x])
    with pytest.raises(UnsupportedModelError, match=r"target shape \[3, -1\] does not fit"):
        get_op("Reshape").reference(_node("Reshape", shape=[3, -1]), [x])
    with pytest.raises(UnsupportedModelError, match=r"target shape \[-1, -1\] does not fit"):
        reshape_target((2, 4), [-1, -1])
    # what fits is unchanged: 0 copies, -1 infers, allowzero keeps a real 0
    assert reshape_target((2, 4), [0, -1]) == (2, -1)  # numpy infers the -1
    assert reshape_target((2, 4), [-1]) == (-1,)
    assert reshape_target((0, 4), [0, 4], allowzero=1) == (0, 4)
    assert get_op("Reshape").reference(_node("Reshape", shape=[0, 0, 1]), [np.zeros((2, 2))]).shape == (2, 2, 1)


def test_channel_affine_constants_that_do_not_fit_the_channels_name_the_node():
    # fuzz finding (findings/onnx/crash-bd814b87...): ChannelAffine with a of shape (1, 0) on a
    # (2, 4) input: numpy's "operands could not be broadcast" in the float reference
    ref = get_op("ChannelAffine").reference
    x = np.arange(8.0).reshape(2, 4)
    with pytest.raises(UnsupportedModelError, match=r"node n1 \(ChannelAffine\): a has 0 values for "
                                                    r"axis 1 of an input of shape \(2, 4\)"):
        ref(_node("ChannelAffine", a=np.zeros((1, 0)), b=np.zeros(4), axis=1), [x])
    with pytest.raises(UnsupportedModelError, match=r"b has 3 values for axis 1"):
        ref(_node("ChannelAffine", a=np.ones(4), b=np.zeros(3), axis=1), [x])
    with pytest.raises(UnsupportedModelError, match=r"a has 4 values for axis 5"):
        ref(_node("ChannelAffine", a=np.ones(4), b=np.zeros(1), axis=5), [x])
    y = ref(_node("ChannelAffine", a=np.array([1.0, 2.0, 3.0, 4.0]), b=np.array([0.5]), axis=1), [x])
    assert y.tolist() == (x * np.array([1.0, 2.0, 3.0, 4.0]) + 0.5).tolist()


def test_reshape_shape_constant_that_is_not_integers_is_unsupported():
    # fuzz finding (findings/onnx/crash-7edfe4e4..., third 600-s onnx run): a Reshape shape
    # initializer mutated to hold Inf: OverflowError (int(inf)) in the import handler
    from onnx import TensorProto, helper, numpy_helper

    from hwsim.network import load_onnx

    for bad in (np.inf, np.nan, 2.5):
        shape = numpy_helper.from_array(np.array([2.0, bad]), "s")
        g = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"], name="r1")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [shape])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        with pytest.raises(UnsupportedModelError, match=r"Reshape r1: the shape input holds values "
                                                        r"that are not integers"):
            load_onnx(m)
