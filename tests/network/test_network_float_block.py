"""Float accumulators and block-format operands through the network, against plain-Python
loops over the exact MAC oracle (``hwsim.reference.mac_dot``) and Fraction sums."""
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim import reference as R
from hwsim.codec import default_tensor_scale
from hwsim.formats import PRESETS
from hwsim.mac import FloatAccumulator
from hwsim.network import Network
from hwsim.network.export import export, read_hex
from hwsim.testing import assert_bits_equal

F16 = PRESETS["float16"]
F32 = PRESETS["float32"]
_F16CFG = dict(input="float16", weight="float16", bias="float16", output="float16", scale="none")

CONFIGS = {
    "fp8_fp32": dict(input="float8_e4m3fn", weight="float8_e4m3fn", bias="float32",
                     output="float8_e4m3fn", mac="fp32"),
    "fp16_fp16": dict(_F16CFG, mac="fp16"),
    "bf16_acc": dict(_F16CFG, mac="bf16"),
    "mxfp4_fp16": dict(_F16CFG, input="mxfp4", weight="mxfp4", mac="fp16"),
    "nf4_fp32": dict(_F16CFG, weight="nf4", bias="float32", mac="fp32"),
    "nvfp4_fp32": dict(_F16CFG, input="nvfp4", weight="nvfp4", bias="float32", mac="fp32"),
    # block activations: NF4 weights reach the MAC exactly (no bitsandbytes fp16 step)
    "mxfp4_nf4": dict(_F16CFG, input="mxfp4", weight="nf4", bias="float32", mac="fp32"),
}


def _net(cfg, seed=0):
    rng = np.random.default_rng(seed)
    net = Network({"x": (1, 2, 5, 5)}, config={"defaults": cfg})
    net.add("Conv", "x", "c", name="conv1", weight=rng.normal(0, 0.5, (3, 2, 3, 3)),
            bias=rng.normal(0, 0.1, 3), pads=(1, 1, 1, 1))
    net.add("Relu", "c", "r", name="relu1")
    net.add("Flatten", "r", "f", name="flat")
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (75, 4)),
            bias=rng.normal(0, 0.1, 4))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 2, 5, 5)) for _ in range(4)])
    return net, rng.normal(0, 1, (1, 2, 5, 5))


def _conv_terms(x, w, co, oy, ox, order="cin,kh,kw"):
    """(input codes, weight codes) of one conv output in reduction order; padding reads code 0."""
    C, H, W = x.shape[1:]
    idx = {"cin": range(C), "kh": range(3), "kw": range(3)}
    names = order.split(",")
    a, b = [], []
    for i0 in idx[names[0]]:
        for i1 in idx[names[1]]:
            for i2 in idx[names[2]]:
                t = dict(zip(names, (i0, i1, i2)))
                c, i, j = t["cin"], t["kh"], t["kw"]
                y, xx = oy - 1 + i, ox - 1 + j
                a.append(int(x[0, c, y, xx]) if 0 <= y < H and 0 <= xx < W else 0)
                b.append(int(w[co, c, i, j]))
    return a, b


def _check_layers_vs_reference(r):
    conv, fc = r.layers["conv1"], r.layers["fc"]
    x, w = np.asarray(conv.input.codes), np.asarray(conv.weight.codes)
    n = 0
    for co in range(3):
        for oy in range(5):
            for ox in range(5):
                a, b = _conv_terms(x, w, co, oy, ox)
                ref = R.mac_dot(a, b, conv.mac, bias=float(conv.bias[co]))
                assert conv.acc[0, co, oy, ox] == ref.value and \
                    int(conv.acc_codes[0, co, oy, ox]) == ref.code
                n += 1
    xa, wf = np.asarray(fc.input.codes), np.asarray(fc.weight.codes)
    for j in range(4):
        ref = R.mac_dot(xa[0].tolist(), wf[:, j].tolist(), fc.mac, bias=float(fc.bias[j]))
        assert fc.acc[0, j] == ref.value and int(fc.acc_codes[0, j]) == ref.code
    return n


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float_and_block_layers_vs_reference_loop(name):
    net, x = _net(CONFIGS[name])
    r = net.run(x, keep=True)
    assert _check_layers_vs_reference(r) == 75
    conv = r.layers["conv1"]
    acc_fmt = {"fp32": F32, "fp16": F16, "bf16": PRESETS["bfloat16"]}[CONFIGS[name]["mac"]]
    assert conv.mac.accumulator == FloatAccumulator(acc_fmt)
    assert r.stats["fc"]["sqnr_db"] > 5  # a working pipeline, not noise


def test_block_inputs_are_the_block_quantized_layer_inputs():
    net, x = _net(CONFIGS["mxfp4_fp16"])
    r = net.run(x, keep=True)
    conv, fc = r.layers["conv1"], r.layers["fc"]
    # conv1 input: the network input in MXFP4, blocks along the channels
    bt = conv.input.meta["block"]
    want = hwsim.encode(x, "mxfp4", axis=1)
    assert np.array_equal(bt.codes, want.codes) and np.array_equal(bt.scales, want.scales)
    assert_bits_equal(conv.input.values(), want.values())
    # fc input: the float16 relu output, flattened, in MXFP4 with blocks along K
    prev = r.tensors["f"].values()
    bt2 = fc.input.meta["block"]
    assert bt2.axis == 1 and np.array_equal(fc.input.values(), hwsim.encode(prev, "mxfp4", axis=1).values())
    # weights: blocks along K (Conv: Cin, Gemm: rows of [K, N])
    assert conv.weight.meta["block"].axis == 1 and fc.weight.meta["block"].axis == 0


def test_nf4_weights_dequantized_bitsandbytes_style_to_the_activation_format():
    net, x = _net(CONFIGS["nf4_fp32"])
    r = net.run(x, keep=True)
    fc = r.layers["fc"]
    assert fc.weight.fmt == F16 and fc.mac.b_fmt == F16
    bt = fc.weight.meta["block"]
    v32 = (np.array(bt.fmt.values, np.float32)[bt.codes] *
           np.repeat(bt.scales.astype(np.float32), 64, axis=0)[:75])     # fl32(value * absmax)
    assert_bits_equal(fc.weight.values(), v32.astype(np.float16).astype(np.float64))
    net2, _ = _net(dict(CONFIGS["nf4_fp32"], dequant="exact"))
    fc2 = net2.run(x, keep=True).layers["fc"]
    assert np.array_equal(fc2.weight.values(), bt.values())  # exact: value * absmax in float64
    net3, _ = _net(CONFIGS["mxfp4_nf4"])
    fc3 = net3.run(x, keep=True).layers["fc"]
    assert fc3.weight.fmt.precision == 48 and np.array_equal(fc3.weight.values(), bt.values())


def test_nvfp4_static_tensor_scale_from_calibration():
    net, x = _net(CONFIGS["nvfp4_fp32"])
    r = net.run(x, keep=True)
    conv = r.layers["conv1"]
    ts = default_tensor_scale(net.stats["x"])
    assert float(conv.input.scale) == ts == conv.input.meta["block"].tensor_scale
    assert_bits_equal(conv.input.values(), conv.input.meta["block"].values())


def _loop_block_dot(av, bv, bias, fmt, chunk):
    acc = Fraction(float(bias))
    for k0 in range(0, len(av), chunk):
        s = sum(Fraction(float(p)) * Fraction(float(q))
                for p, q in zip(av[k0:k0 + chunk], bv[k0:k0 + chunk]))
        sign = 1 if acc + s < 0 else 0
        code, _ = R.round_fraction_to_float(sign, abs(acc + s), fmt, "rne", "special")
        acc = fmt.decode_exact(code)
    return float(acc)


def test_ocp_block_datapath_in_conv_and_gemm():
    # conv1 has 2 input channels: a K run of 2 per (kh, kw) is one (partial) MX block
    net, x = _net(dict(_F16CFG, input="mxfp4", weight="mxfp4", mac="block_fp16",
                       order="kh,kw,cin"))
    r = net.run(x, keep=True)
    conv, fc = r.layers["conv1"], r.layers["fc"]
    assert conv.mac.order.chunk == 2 and fc.mac.order.chunk == 32
    xs, ws = conv.input, conv.weight
    for co, oy, ox in ((0, 0, 0), (1, 2, 3), (2, 4, 4)):
        a, b = _conv_terms(np.asarray(xs.codes), np.asarray(ws.codes), co, oy, ox, "kh,kw,cin")
        av = hwsim.decode(np.array(a, xs.fmt.code_dtype), xs.fmt)
        bv = hwsim.decode(np.array(b, ws.fmt.code_dtype), ws.fmt)
        assert conv.acc[0, co, oy, ox] == _loop_block_dot(av, bv, conv.bias[co], F16, 2)
    fa = hwsim.decode(np.asarray(fc.input.codes), fc.input.fmt)[0]
    fw = hwsim.decode(np.asarray(fc.weight.codes), fc.weight.fmt)
    for j in range(4):
        assert fc.acc[0, j] == _loop_block_dot(fa, fw[:, j], fc.bias[j], F16, 32)
    with pytest.raises(ValueError, match="kh,kw,cin"):
        _net(dict(_F16CFG, input="mxfp4", weight="mxfp4", mac="block_fp16"))[0].plan()


def test_export_float_accumulator_and_block_files(tmp_path):
    net, x = _net(CONFIGS["mxfp4_fp16"])
    man = export(net, x, tmp_path / "g", trace={"conv1": [(0, 1, 2, 2)]})
    conv = man["layers"][0]
    files = conv["files"]
    assert {"input_elements", "input_scales", "weight_elements", "weight_scales"} <= set(files)
    r = net.run(x, keep=True)
    rec = r.layers["conv1"]
    acc = read_hex(tmp_path / "g" / files["acc"]["hex"]).astype(np.uint16)
    assert files["acc"]["bits"] == 16  # float16 accumulator codes
    assert_bits_equal(hwsim.decode(acc, F16).reshape(rec.acc.shape), rec.acc)
    bias = read_hex(tmp_path / "g" / files["bias"]["hex"]).astype(np.uint16)
    assert_bits_equal(hwsim.decode(bias, F16), rec.bias)
    el = read_hex(tmp_path / "g" / files["input_elements"]["hex"])
    sc = read_hex(tmp_path / "g" / files["input_scales"]["hex"])
    bt = rec.input.meta["block"]
    assert el.tolist() == bt.codes.ravel().tolist() and sc.tolist() == bt.scales.ravel().tolist()
    rows = (tmp_path / "g" / conv["traces"][0]["file"]).read_text().strip().splitlines()
    last = dict(zip(rows[0].split(","), rows[-1].split(",")))
    assert int(last["after"]) == int(acc.reshape(rec.acc.shape)[0, 1, 2, 2])


@pytest.mark.parametrize("op", ["AveragePool", "GlobalAveragePool"])
def test_average_pool_writes_block_outputs_in_the_network_layout(op):
    """An MX-output AveragePool (no vector unit) feeds Flatten -> Gemm: its output is the
    block quantization of the exact window means, as scalar codes like every block tensor
    (it used to be a bare BlockTensor, and the Flatten after it failed)."""
    from hwsim.ops.quant import act_axis, block_quantize

    cfg = dict(input="mxfp8_e4m3", weight="mxfp8_e4m3", bias="float32",
               output="mxfp8_e4m3", mac="fp32")
    rng = np.random.default_rng(3)
    net = Network({"x": (1, 4, 4, 4)}, config={"defaults": cfg})
    net.add("Conv", "x", "c", name="conv1", weight=rng.normal(0, 0.5, (32, 4, 1, 1)),
            bias=rng.normal(0, 0.1, 32))
    kw = dict(kernel_shape=(2, 2), strides=(2, 2)) if op == "AveragePool" else {}
    net.add(op, "c", "p", name="pool", **kw)
    net.add("Flatten", "p", "f", name="flat")
    k = 32 * (4 if op == "AveragePool" else 1)
    net.add("Gemm", "f", "y", name="fc", weight=rng.normal(0, 0.3, (k, 4)), bias=np.zeros(4))
    net.outputs = ["y"]
    net.calibrate([rng.normal(0, 1, (1, 4, 4, 4)) for _ in range(2)])
    r = net.run(rng.normal(0, 1, (1, 4, 4, 4)), keep=True)
    c, p = r.tensors["c"], r.tensors["p"]
    v = c.values()
    want = v.reshape(1, 32, 2, 2, 2, 2).mean(axis=(3, 5)) if op == "AveragePool" else \
        v.mean(axis=(2, 3), keepdims=True)
    q = block_quantize(want, p.meta["block_fmt"], axis=act_axis(want), tensor_scale=p.scale)
    assert_bits_equal(np.asarray(p.codes), np.asarray(q.codes))
    assert r.outputs["y"].shape == (1, 4) and np.all(np.isfinite(r.outputs["y"]))
