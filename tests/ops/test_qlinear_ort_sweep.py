"""onnxruntime's QLinearAdd / QLinearMul against hwsim's kernel models over many seeded
scales, zero points and shapes (docs/semantics.md, "onnxruntime's integer kernels").

One session per (op, type) takes the scales and zero points as graph inputs, so a
thousand parameter sets cost one session each.  Lengths 1, 31-33, 64+, 1037 cover the
32-byte AVX2 main loop and its masked tail; broadcast shapes cover the per-span scalar
kernels (A or B scalar, swapped call) and the one-element IsScalarA kernel.  Random
scales exercise the contracted FMAs of the fixed part (which the 256 x 256 grid tests
decide: 'plain' float32 arithmetic there differs from onnxruntime in some codes);
power-of-two scales put many results exactly on .5 ties (QLinearMul adds the output zero
point in float32 before rounding: an integer add after the rounding differs there).
Also: the encoder's add17 code (a constant bias operand) that hwsim used to miss.
"""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim.network import load_onnx
from hwsim.ops import ort_numerics as on

ort.set_default_logger_severity(3)
F32 = np.float32
TYPES = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


class _Fmt:
    def __init__(self, dt):
        self.min_int, self.max_int = int(np.iinfo(dt).min), int(np.iinfo(dt).max)


def _session(op, dt):
    t = TYPES[dt]
    names = [("A", t), ("sa", TensorProto.FLOAT), ("za", t), ("B", t), ("sb", TensorProto.FLOAT),
             ("zb", t), ("sc", TensorProto.FLOAT), ("zc", t)]
    node = helper.make_node(op, [n for n, _ in names], ["C"], domain="com.microsoft")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, k, None) for n, k in names],
                          [helper.make_tensor_value_info("C", t, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("com.microsoft", 1)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # spans are never split (a split piece of length 1 would
    so.log_severity_level = 3    # take the IsScalarA kernel)
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


SHAPES = [((1,), (1,)), ((31,), (31,)), ((32,), (32,)), ((33,), (33,)), ((71,), (71,)),
          ((1037,), (1037,)), ((77,), (1,)), ((1,), (77,)), ((5, 45), (45,)), ((45,), (5, 45)),
          ((3, 4, 19), (3, 1, 1)), ((6, 1), (1, 70)), ((1, 70), (6, 1)), ((2, 3, 40), (1, 3, 1)),
          ((1, 1, 1), (1,))]


def _scales(rng, op, ties):
    e = (lambda lo, hi: float(rng.integers(lo, hi))) if ties else (lambda lo, hi: rng.uniform(lo, hi))
    sc = F32(2.0 ** e(-9, 0))
    sa = F32(sc * 2.0 ** e(-4, 2))
    sb = F32(sc / sa * 2.0 ** e(-8, 1)) if op == "QLinearMul" else F32(sc * 2.0 ** e(-4, 2))
    return sa, sb, sc


def _run(sess, dt, A, B, sa, sb, sc, z):
    feed = dict(A=A, B=B, sa=np.array(sa), sb=np.array(sb), sc=np.array(sc),
                **{k: np.array(v, dt) for k, v in zip(("za", "zb", "zc"), z)})
    return sess.run(None, feed)[0].astype(np.int64)


def _model(op, A, B, sa, sb, sc, z, dt):
    f = on.qlinear_add if op == "QLinearAdd" else on.qlinear_mul
    return f(A.astype(np.int64), float(sa), z[0], B.astype(np.int64), float(sb), z[1], float(sc),
             z[2], _Fmt(dt))


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
def test_binary_sweep_against_onnxruntime(op, dt):
    """600 parameter sets x 15 shapes (about 110,000 codes) per op and type, half of them
    with power-of-two scales (ties), all codes equal."""
    rng = np.random.default_rng(2024 + (op == "QLinearMul") * 2 + (dt is np.int8))
    info = np.iinfo(dt)
    sess, total, ties_seen = _session(op, dt), 0, 0
    for trial in range(600):
        sha, shb = SHAPES[trial % len(SHAPES)]
        A, B = (rng.integers(info.min, info.max + 1, s).astype(dt) for s in (sha, shb))
        sa, sb, sc = _scales(rng, op, ties=trial % 2 == 1)
        z = [int(rng.integers(info.min, info.max + 1)) for _ in range(3)]
        want = _run(sess, dt, A, B, sa, sb, sc, z)
        got = np.broadcast_to(_model(op, A, B, sa, sb, sc, z, dt), want.shape)
        assert np.array_equal(got, want), (op, dt, sha, shb, sa, sb, sc, z)
        total += want.size
        if trial % 2:  # power-of-two scales: the real result in float64 is exact
            a, b = (np.broadcast_to(x.astype(np.float64), want.shape) for x in (A, B))
            real = ((a - z[0]) * float(sa) + (b - z[1]) * float(sb) if op == "QLinearAdd"
                    else (a - z[0]) * (b - z[1]) * float(sa) * float(sb)) / float(sc) + z[2]
            ties_seen += int(np.count_nonzero(real - np.floor(real) == 0.5))
    assert total > 100_000 and ties_seen > 5_000, (total, ties_seen)


@pytest.mark.parametrize("dt", [np.uint8, np.int8])
def test_qlinear_add_fixed_part_on_full_grids(dt):
    """Every (a, b) pair, elementwise and with A / B a per-span scalar, for 40 random scale
    sets: the fixed part's FMA is observable here (a 'plain' fixed part is checked to
    differ from onnxruntime somewhere, so the test can fail)."""
    rng = np.random.default_rng(7 + (dt is np.int8))
    info = np.iinfo(dt)
    codes = np.arange(info.min, info.max + 1).astype(dt)
    ga, gb = (g.ravel() for g in np.meshgrid(codes, codes, indexing="ij"))
    sess, plain_differs = _session("QLinearAdd", dt), 0
    for _ in range(40):
        sa, sb, sc = _scales(rng, "QLinearAdd", ties=False)
        z = [int(rng.integers(info.min, info.max + 1)) for _ in range(3)]
        for A, B in ((ga, gb), (codes.reshape(-1, 1), codes.reshape(1, -1)),
                     (codes.reshape(1, -1), codes.reshape(-1, 1))):
            want = _run(sess, dt, A, B, sa, sb, sc, z)
            assert np.array_equal(_model("QLinearAdd", A, B, sa, sb, sc, z, dt), want)
        ra, rb = F32(sa / sc), F32(sb / sc)
        plain = F32(F32(z[2]) - F32(F32(ra * F32(z[0])) + F32(rb * F32(z[1]))))
        v = on.fma32(ga.astype(F32), ra, on.fma32(gb.astype(F32), rb, plain))
        plain_differs += int(np.count_nonzero(on._cvt_int32(v, _Fmt(dt)) != _run(sess, dt, ga, gb, sa, sb, sc, z)))
    assert plain_differs > 0


def test_encoder_add17_constant_bias_code():
    """The issue-9 encoder (uint8, 8-bit weights) adds a quantized LayerNorm bias (a
    DequantizeLinear constant) to ``mul16``; onnxruntime fuses it into QLinearAdd.  At
    a = 145, b = 141 the real sum is 142.5000023 output steps: the exact float path hwsim
    ran (fl32 dequantize, fl32 add, one rounding of y / sc = 5.500002) gives 143, the
    kernel's float32 chain lands on 142.5 exactly and rne gives 142."""
    sa, sb, sc = (float.fromhex(h) for h in ("0x1.ca149ep-6", "0x1.72de6cp-10", "0x1.cfcbd8p-6"))
    za, zb, zc = 141, 110, 137
    assert on.qlinear_add(np.array([145]), sa, za, np.array([141]), sb, zb, sc, zc, _Fmt(np.uint8))[0] == 142
    # the same through ONNX import: a QDQ Add with a constant operand, against onnxruntime
    nodes = [helper.make_node("QuantizeLinear", ["x", "sa", "za"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "sa", "za"], ["xd"]),
             helper.make_node("DequantizeLinear", ["bq", "sb", "zb"], ["bd"]),
             helper.make_node("Add", ["xd", "bd"], ["y0"]),
             helper.make_node("QuantizeLinear", ["y0", "sc", "zc"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "sc", "zc"], ["y"])]
    rng = np.random.default_rng(5)
    bq = rng.integers(0, 256, 64).astype(np.uint8)
    bq[27] = 141
    inits = [numpy_helper.from_array(np.array(v, d), k) for k, v, d in (
        ("sa", sa, F32), ("sb", sb, F32), ("sc", sc, F32), ("za", za, np.uint8),
        ("zb", zb, np.uint8), ("zc", zc, np.uint8), ("bq", bq, np.uint8))]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (16, 64))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    xq = rng.integers(0, 256, (16, 64))
    xq[12, 27] = 145
    x = ((xq - za).astype(F32) * F32(sa)).astype(F32)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    want = np.rint(want / F32(sc)).astype(np.int64) + zc
    net = load_onnx(m)
    r = net.run({"x": x}, keep=True, reference=False)
    got = r.tensors["y0"].ints()
    assert got[12, 27] == want[12, 27] == 142
    assert np.array_equal(got, want)


def _one_element(a, b, sa, sb, sc, z, fmt):
    """The IsScalarA kernel element-wise over code arrays (docs/semantics.md)."""
    ra, rb = F32(sa / sc), F32(sb / sc)
    fixed = F32(F32(z[2]) - on.fma32(rb, F32(z[1]), F32(ra * F32(z[0])))[()])
    return on._cvt_int32(on.fma32(b.astype(F32), rb, on.fma32(a.astype(F32), ra, fixed)), fmt)


def test_qlinear_add_one_element_takes_the_scalar_kernel():
    """A one-element output runs the length-1 (IsScalarA) kernel: found by search, codes
    where that kernel and the span kernel disagree are asked of onnxruntime one at a time;
    hwsim agrees on each, and the span kernel's answer differs from it."""
    rng = np.random.default_rng(3)
    fmt, codes = _Fmt(np.uint8), np.arange(256)
    ga, gb = (g.ravel() for g in np.meshgrid(codes, codes, indexing="ij"))
    sess, asked = _session("QLinearAdd", np.uint8), 0
    for _ in range(500):
        sa, sb, sc = _scales(rng, "QLinearAdd", ties=False)
        z = [int(rng.integers(0, 256)) for _ in range(3)]
        span = on.qlinear_add(ga.reshape(-1, 1), float(sa), z[0], gb.reshape(-1, 1), float(sb), z[1],
                              float(sc), z[2], fmt).ravel()
        for k in np.flatnonzero(span != _one_element(ga, gb, sa, sb, sc, z, fmt))[:2]:
            A, B = ga[k:k + 1].astype(np.uint8), gb[k:k + 1].astype(np.uint8)
            want = _run(sess, np.uint8, A, B, sa, sb, sc, z)
            assert _model("QLinearAdd", A, B, sa, sb, sc, z, np.uint8)[0] == want[0] != span[k]
            asked += 1
        if asked >= 12:
            break
    assert asked >= 12
