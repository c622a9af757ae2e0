"""Network: layers in topological order over named tensors, run as the accelerator would.

A :class:`Network` holds :class:`Node` objects (ONNX-like op names and
attributes, float weights and, for quantized models, the weights / biases /
tensor quantization the model states).  ``run(x)`` executes it with the integer
or low-precision pipeline that a :class:`~hwsim.network.config.NetworkConfig`
describes, every MAC through :mod:`hwsim.mac`, and returns the outputs, on
request every intermediate tensor (codes + format + quantization), the
accumulators of every compute layer, and per-layer statistics (MAC overflow
events, max |partial sum|, SQNR against a float64 run of the same graph).

Supported ops: ``Conv``, ``Gemm`` (weights stored ``[K, N]``), ``MaxPool``,
``AveragePool``, ``GlobalAveragePool``, ``Add``, ``Relu``, ``Clip`` (``min``,
``max`` attributes), ``LeakyRelu``, ``HardSwish``, ``Concat``, ``Flatten``,
``Reshape`` (``shape`` attribute), ``Identity``.

>>> import numpy as np
>>> from hwsim.network import Network
>>> net = Network({"x": (1, 4)})
>>> _ = net.add("Gemm", ["x"], "y", weight=np.eye(4, 2))
>>> net.outputs = ["y"]
>>> net.calibrate([np.ones((1, 4))])
>>> r = net.run(np.array([[1.0, -0.5, 0.0, 0.0]]))
>>> np.round(r.outputs["y"], 2).tolist()
[[1.0, -0.5]]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..api import decode, encode
from ..formats import format as parse_format
from ..layers import _macbridge as br
from ..layers.conv import conv2d, im2col, linear
from ..layers.eltwise import activation, act_fn, add, concat
from ..layers.pool import div_round, maxpool2d, sumpool2d
from ..layers.requant import Requant, onnx_multiplier, scale_float
from ..qtensor import QTensor, codes_to_ints, ints_to_codes
from ..mac.block import scalar_format, to_scalar
from .calibrate import choose_scale, is_block
from .config import LayerConfig, NetworkConfig, load_config, make_mac

__all__ = ["Node", "Network", "TensorQ", "RunResult", "LayerRecord", "SUPPORTED_OPS"]

COMPUTE_OPS = ("Conv", "Gemm")
ACT_OPS = {"Relu": "relu", "Clip": "clip", "LeakyRelu": "leakyrelu", "HardSwish": "hardswish"}
PASS_OPS = ("Flatten", "Reshape", "Identity", "MaxPool")
SUPPORTED_OPS = COMPUTE_OPS + tuple(ACT_OPS) + PASS_OPS + (
    "AveragePool", "GlobalAveragePool", "Add", "Concat")


@dataclass(frozen=True)
class TensorQ:
    """Quantization of a tensor: format, scale, zero point (per tensor)."""

    fmt: object
    scale: float = 1.0
    zero_point: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", parse_format(self.fmt))

    def same(self, qt: QTensor) -> bool:
        if is_block(self.fmt):  # codes: scalar codes of a BlockTensor (hwsim.mac.block)
            return (qt.meta.get("block_fmt") == self.fmt and np.ndim(qt.scale) == 0
                    and float(qt.scale) == float(self.scale))
        return (qt.fmt == self.fmt and qt.axis is None and np.ndim(qt.scale) == 0
                and float(qt.scale) == float(self.scale)
                and int(np.asarray(qt.zero_point)) == int(self.zero_point))

    def to_dict(self) -> dict:
        return dict(format=self.fmt.to_dict(), scale=float(self.scale), zero_point=int(self.zero_point))


@dataclass
class Node:
    """One layer.  ``weight``/``bias`` are float64 (Gemm weight ``[K, N]``);
    ``wq``/``bq`` are the quantized weights / int32 bias a quantized model states."""

    name: str
    op: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    wq: QTensor | None = None
    bq: np.ndarray | None = None


@dataclass
class LayerRecord:
    """Everything one compute layer saw and produced (for export / debugging)."""

    name: str
    op: str
    input: QTensor
    weight: QTensor
    bias: np.ndarray | None
    acc: np.ndarray
    output: QTensor
    mac: object
    requant: dict
    attrs: dict
    config: dict
    stats: dict
    acc_codes: np.ndarray | None = None  #: result-register codes (``_macbridge.acc_format``)


@dataclass
class RunResult:
    """Outputs (float64 real values) plus, on request, every tensor and layer record."""

    outputs: dict
    qoutputs: dict
    tensors: dict
    layers: dict
    stats: dict
    reference: dict

    def output_f32(self, name=None) -> np.ndarray:
        """An output dequantized as ONNX DequantizeLinear does (float32 (q - zp) * scale)."""
        qt = self.qoutputs[name or next(iter(self.qoutputs))]
        if qt.fmt.kind == "int":
            return (qt.ints() - int(np.asarray(qt.zero_point))).astype(np.float32) * np.float32(qt.scale)
        return qt.values().astype(np.float32)


def _sqnr(ref, got) -> float:
    ref = np.asarray(ref, np.float64)
    err = np.asarray(got, np.float64) - ref
    p, n = float(np.sum(ref ** 2)), float(np.sum(err ** 2))
    if n == 0.0:
        return math.inf
    if p == 0.0:
        return -math.inf
    return 10.0 * math.log10(p / n)


class Network:
    """A graph of layers in topological order.

    Parameters
    ----------
    inputs : dict name -> shape of the graph inputs (float tensors)
    config : NetworkConfig, dict, path or None
    name : str
    """

    def __init__(self, inputs, config=None, name="network"):
        self.name = name
        self.inputs = dict(inputs)
        self.outputs: list = []
        self.nodes: list[Node] = []
        self.model_q: dict = {}  # tensor name -> TensorQ stated by a quantized model
        self.config = load_config(config)
        self.stats: dict | None = None  # calibration: tensor -> sample of float values
        self._plan = None
        self.source: dict = {}
        self.code_inputs: set = set()  # inputs given as integer codes (ONNX integer inputs)

    # -- building -------------------------------------------------------------
    def add(self, op, inputs, output, name=None, weight=None, bias=None, wq=None, bq=None,
            **attrs) -> str:
        """Append a layer; returns the output tensor name."""
        if op not in SUPPORTED_OPS:
            raise ValueError(f"op must be one of {SUPPORTED_OPS}, got {op!r}")
        name = name or f"{op.lower()}_{len(self.nodes)}"
        if any(n.name == name for n in self.nodes):
            raise ValueError(f"duplicate layer name {name!r}")
        known = set(self.inputs) | {o for n in self.nodes for o in n.outputs}
        ins = [inputs] if isinstance(inputs, str) else list(inputs)
        for i in ins:
            if i not in known:
                raise ValueError(f"layer {name!r}: input tensor {i!r} is not produced by an earlier layer")
        if op in COMPUTE_OPS and weight is None and wq is None:
            raise ValueError(f"layer {name!r} ({op}) needs weights")
        w = None if weight is None else np.asarray(weight, np.float64)
        if w is None and wq is not None:
            w = wq.values()
        b = None if bias is None else np.asarray(bias, np.float64)
        self.nodes.append(Node(name, op, ins, [output], attrs, w, b, wq, bq))
        self._plan = None
        return output

    def set_config(self, config) -> None:
        self.config = load_config(config)
        self._plan = None

    # -- float64 reference ------------------------------------------------------
    def reference(self, x, keep=True) -> dict:
        """Every tensor of a float64 run (ideal arithmetic, numpy)."""
        env = self._bind_inputs(x, float_mode=True)
        for n in self.nodes:
            env[n.outputs[0]] = self._ref_node(n, [env[i] for i in n.inputs])
        return env if keep else {o: env[o] for o in self.outputs}

    def _bind_inputs(self, x, float_mode):
        if isinstance(x, dict):
            d = dict(x)
        else:
            if len(self.inputs) != 1:
                raise ValueError(f"network has inputs {list(self.inputs)}; pass a dict")
            d = {next(iter(self.inputs)): x}
        for k in self.inputs:
            if k not in d:
                raise ValueError(f"missing network input {k!r}")
        return {k: np.asarray(v, np.float64) for k, v in d.items()}

    def _ref_node(self, n: Node, xs):
        a = n.attrs
        x = xs[0]
        if n.op == "Conv":
            w = n.weight
            g = a.get("group", 1)
            cols, (N, Ho, Wo) = im2col(x, w.shape[2:], stride=a.get("strides", 1),
                                       padding=a.get("pads", 0), dilation=a.get("dilations", 1),
                                       groups=g, pad_code=0.0)
            cg = w.shape[0] // g
            wm = w.reshape(g, cg, -1).transpose(0, 2, 1)
            y = np.matmul(cols, wm)  # [G, M, Cg]
            y = y.transpose(1, 0, 2).reshape(N, Ho, Wo, -1).transpose(0, 3, 1, 2)
            if n.bias is not None:
                y = y + n.bias.reshape(1, -1, 1, 1)
            return y
        if n.op == "Gemm":
            y = x.reshape(-1, x.shape[-1]) @ n.weight
            if n.bias is not None:
                y = y + n.bias
            return y.reshape(*x.shape[:-1], -1)
        if n.op == "MaxPool":
            return maxpool2d(x, a["kernel_shape"], stride=a.get("strides"), padding=a.get("pads", 0),
                             dilation=a.get("dilations", 1), ceil_mode=bool(a.get("ceil_mode", 0)))
        if n.op in ("AveragePool", "GlobalAveragePool"):
            k = x.shape[2:] if n.op == "GlobalAveragePool" else a["kernel_shape"]
            ones = np.ones_like(x)
            s, c = _sumpool_f(x, k, a, n.op)
            s1, _ = _sumpool_f(ones, k, a, n.op)
            _ = s1
            return s / c
        if n.op in ACT_OPS:
            return act_fn(ACT_OPS[n.op], _act_params(n))(x)
        if n.op == "Add":
            return xs[0] + xs[1]
        if n.op == "Concat":
            return np.concatenate(xs, axis=a.get("axis", 1))
        if n.op == "Flatten":
            ax = a.get("axis", 1)
            return x.reshape(int(np.prod(x.shape[:ax])), -1)
        if n.op == "Reshape":
            return x.reshape(_reshape_target(x.shape, a["shape"]))
        if n.op == "Identity":
            return x
        raise ValueError(f"unsupported op {n.op!r}")

    # -- calibration ----------------------------------------------------------
    def calibrate(self, samples, max_values=200_000) -> None:
        """Collect float64 tensor statistics over calibration inputs."""
        acc: dict = {}
        for x in samples:
            env = self.reference(x)
            for k, v in env.items():
                acc.setdefault(k, []).append(np.asarray(v).ravel())
        rng = np.random.default_rng(0)
        self.stats = {}
        for k, vs in acc.items():
            v = np.concatenate(vs)
            if v.size > max_values:
                keep = rng.choice(v.size, max_values, replace=False)
                keep[0] = int(np.argmax(np.abs(v)))
                v = v[keep]
            self.stats[k] = v
        self._plan = None

    # -- planning: formats, scales, MAC units per layer -------------------------
    def layer_config(self, node: Node) -> LayerConfig:
        return self.config.for_layer(node.name, node.op)

    def _tensor_q(self, tname, fmt_name, cfg: LayerConfig, default_q=None) -> TensorQ:
        """Quantization of tensor ``tname`` in format ``fmt_name`` ("model" keeps the model's)."""
        mq = self.model_q.get(tname)
        if fmt_name == "model":
            if mq is not None:
                return mq
            if default_q is not None:
                return default_q
            raise ValueError(f"tensor {tname!r}: config says 'model' but the model states no quantization")
        fmt = parse_format(fmt_name)
        if mq is not None and mq.fmt == fmt and self.stats is None:
            return mq
        if fmt.kind == "nvfp4" and self.stats is not None and tname in self.stats:
            # static FP32 tensor scale from calibration: fl32(amax / (6 * 448))
            from ..blockformats import default_tensor_scale

            return TensorQ(fmt, default_tensor_scale(self.stats[tname]), 0)
        if cfg.scale == "none" or is_block(fmt) or fmt.kind == "fixed":
            return TensorQ(fmt, 1.0, 0)
        if self.stats is None or tname not in self.stats:
            if mq is not None and mq.fmt == fmt:
                return mq
            if default_q is not None and default_q.fmt == fmt:
                return default_q
            raise ValueError(f"tensor {tname!r} needs a scale for {fmt.name}: call "
                             "network.calibrate(samples) first")
        v = self.stats[tname]
        if fmt.kind == "int" and not cfg.symmetric:
            lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
            s = (hi - lo) / (fmt.max_int - fmt.min_int) or 1.0
            zp = int(np.clip(round(fmt.min_int - lo / s), fmt.min_int, fmt.max_int))
            return TensorQ(fmt, s, zp)
        return TensorQ(fmt, choose_scale(v, fmt, cfg.calibration), 0)

    def plan(self) -> dict:
        """Resolve every tensor's quantization and every compute layer's MAC / requant."""
        if self._plan is not None:
            return self._plan
        self.config.check_names([n.name for n in self.nodes])
        tq: dict = {}
        layers: dict = {}
        consumers: dict = {}
        for n in self.nodes:
            for i in n.inputs:
                consumers.setdefault(i, []).append(n)
        for name in self.inputs:
            cons = consumers.get(name, [])
            cfg = self.layer_config(cons[0]) if cons else self.config.defaults
            tq[name] = self._tensor_q(name, cfg.input, cfg)
        for n in self.nodes:
            cfg = self.layer_config(n)
            out = n.outputs[0]
            inq = tq[n.inputs[0]]
            if n.op in COMPUTE_OPS:
                layers[n.name] = self._plan_compute(n, cfg, tq)
                tq[out] = layers[n.name]["out_q"]
            elif n.op in PASS_OPS or n.op in ("Relu", "Clip", "AveragePool", "GlobalAveragePool"):
                tq[out] = self._tensor_q(out, "model", cfg, default_q=inq) if out in self.model_q else inq
            else:
                default = inq if n.op != "Concat" else tq[n.inputs[0]]
                fmt = cfg.output if cfg.output != "model" else "model"
                if fmt != "model" and parse_format(fmt) == inq.fmt and out not in self.model_q \
                        and self.stats is None:
                    tq[out] = default
                else:
                    tq[out] = self._tensor_q(out, fmt, cfg, default_q=default)
        self._plan = dict(tensors=tq, layers=layers)
        return self._plan

    def _plan_compute(self, n: Node, cfg: LayerConfig, tq: dict) -> dict:
        inq = tq[n.inputs[0]]
        a_q = inq if cfg.input == "model" else (
            inq if parse_format(cfg.input) == inq.fmt else self._tensor_q(n.inputs[0], cfg.input, cfg))
        # block operands reach the MAC units as scalar codes (hwsim.mac.block)
        a_dq, w_dq = ("exact", "auto") if cfg.dequant == "auto" else (cfg.dequant, cfg.dequant)
        a_scalar = scalar_format(a_q.fmt, a_dq) if is_block(a_q.fmt) else a_q.fmt
        # weights
        w_axis = 0 if n.op == "Conv" else 1
        if n.wq is not None and (cfg.weight == "model" or parse_format(cfg.weight) == n.wq.fmt):
            wq = n.wq
        else:
            if cfg.weight == "model":
                raise ValueError(f"layer {n.name!r}: weight 'model' but the model has float weights")
            wf = parse_format(cfg.weight)
            if is_block(wf):
                if w_dq == "auto":  # bitsandbytes: codebook weights -> the activation dtype
                    w_dq = a_q.fmt if (wf.kind == "codebook" and a_q.fmt.kind == "float") \
                        else "exact"
                # blocks along K: Conv weights [Cout, Cin/g, kH, kW] along Cin, Gemm [K, N] along K
                wq = _block_quantize(n.weight, wf, axis=1 if n.op == "Conv" else 0,
                                     dequant=w_dq)
            else:
                if cfg.scale == "none" and wf.kind != "int":
                    sc = 1.0  # the format holds the real weights (e.g. float16)
                else:
                    sc = choose_scale(n.weight, wf, cfg.weight_calibration,
                                      axis=w_axis if cfg.per_channel else None)
                wq = QTensor.quantize(n.weight, wf, sc, 0, axis=w_axis if np.ndim(sc) else None)
        cout = n.weight.shape[0] if n.op == "Conv" else n.weight.shape[1]
        s_w = np.broadcast_to(np.asarray(wq.scale, np.float64), (cout,)).copy()
        w_zp = np.asarray(wq.zero_point)
        raw_zp = cfg.mac == "u8s8_avx2"
        if raw_zp and (a_q.fmt.kind != "int" or wq.fmt.kind != "int" or np.any(w_zp != 0)):
            raise ValueError(f"layer {n.name!r}: mac 'u8s8_avx2' models integer activations and "
                             "symmetric integer weights (weight zero point 0)")
        block = None
        if isinstance(cfg.mac, str) and cfg.mac.startswith("block_"):
            block = _block_chunk(n, cfg, a_q.fmt, wq)
        mac = make_mac(cfg.mac, a_scalar, wq.fmt, block=block)
        acc_int = br.acc_is_int(mac)
        s_acc = float(a_q.scale) * s_w  # real value of one accumulator unit per channel
        # bias in the accumulator domain
        bias = None
        if n.bq is not None and n.wq is not None and wq is n.wq and a_q is inq and inq is self.model_q.get(n.inputs[0]):
            bias = br.bias_to_register(np.asarray(n.bq, np.int64), mac)
        elif n.bias is not None:
            bfmt = parse_format(cfg.bias if cfg.bias != "model" else "int32")
            bv = n.bias / s_acc
            if acc_int:
                if bfmt.kind != "int":
                    raise ValueError(f"layer {n.name!r}: integer accumulator needs an integer bias format, got {bfmt.name}")
                bias = br.bias_to_register(
                    np.clip(np.rint(bv), bfmt.min_int, bfmt.max_int).astype(np.int64), mac)
            else:  # round into the bias format, then into the register the bias enters
                bv = decode(encode(bv, bfmt, "rne", "saturate"), bfmt) if bfmt.kind == "float" else \
                    np.clip(np.rint(bv), bfmt.min_int, bfmt.max_int).astype(np.float64)
                bias = br.bias_to_register(bv, mac)
        # output quantization
        out = n.outputs[0]
        out_q = self._tensor_q(out, cfg.output, cfg)
        rq = None
        if acc_int and out_q.fmt.kind == "int":
            rq = Requant.from_scales(cfg.requant, float(a_q.scale), s_w, float(out_q.scale),
                                     out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int,
                                     rounding=cfg.shift_rounding, channels=cout)
        return dict(in_q=a_q, wq=wq, w_zp=w_zp, mac=mac, bias=bias, out_q=out_q, requant=rq,
                    scale32=onnx_multiplier(float(a_q.scale), s_w, float(out_q.scale)),
                    acc_int=acc_int, config=cfg, a_dequant=a_dq, a_scalar=a_scalar,
                    raw_zp=raw_zp)

    # -- running -----------------------------------------------------------------
    def run(self, x, keep=False, reference=True, mac_stats=True) -> RunResult:
        """Run one input (batch) through the simulated accelerator.

        Parameters
        ----------
        x : array (single-input networks) or dict name -> array, float values
        keep : also return every tensor (``tensors``) and layer record (``layers``)
        reference : compute the float64 reference run and per-layer SQNR
        mac_stats : collect MAC statistics (overflow events, max |partial sum|);
            False skips them (faster; the statistics then read 0)
        """
        plan = self.plan()
        tq = plan["tensors"]
        xin = self._bind_inputs(x, float_mode=False)
        env: dict = {}
        for k, v in xin.items():
            q = tq[k]
            if k in self.code_inputs:
                ci = np.asarray(x[k] if isinstance(x, dict) else x).astype(np.int64)
                env[k] = QTensor(ints_to_codes(ci, q.fmt.bits, q.fmt.code_dtype), q.fmt, q.scale,
                                 q.zero_point)
                continue
            if is_block(q.fmt):
                env[k] = _block_quantize(v, q.fmt, axis=_act_axis(v), tensor_scale=q.scale)
                continue
            env[k] = QTensor.quantize(v, q.fmt, q.scale, q.zero_point if q.fmt.kind == "int" else 0,
                                      compute="float32" if k in self.model_q else "float64")
        ref = self.reference(x) if reference else {}
        records: dict = {}
        stats: dict = {}
        self._mac_stats = mac_stats
        for n in self.nodes:
            ins = [env[i] for i in n.inputs]
            out, rec = self._run_node(n, ins, plan)
            env[n.outputs[0]] = out
            st = dict(op=n.op)
            if rec is not None:
                st.update(overflow_events=int(rec.stats["overflow_events"]),
                          overflow_per_channel=np.asarray(rec.stats["overflow_per_col"]).tolist(),
                          max_abs_partial=_num(rec.stats["max_abs_partial"]),
                          max_abs_acc=_num(np.abs(rec.acc).max()) if rec.acc.size else 0)
                if keep:
                    records[n.name] = rec
            if reference:
                st["sqnr_db"] = _sqnr(ref[n.outputs[0]], out.values())
            stats[n.name] = st
        outs = {o: env[o].values() for o in self.outputs}
        return RunResult(outputs=outs, qoutputs={o: env[o] for o in self.outputs},
                         tensors=env if keep else {}, layers=records, stats=stats,
                         reference=ref if keep else {})

    def _run_node(self, n: Node, ins, plan):
        a = n.attrs
        tq = plan["tensors"]
        out_q = tq[n.outputs[0]]
        x = ins[0]
        cfg = self.layer_config(n)
        if n.op in COMPUTE_OPS:
            return self._run_compute(n, x, plan["layers"][n.name])
        if n.op in ("Flatten", "Reshape", "Identity"):
            if n.op == "Flatten":
                ax = a.get("axis", 1)
                shp = (int(np.prod(x.shape[:ax])), -1)
            elif n.op == "Reshape":
                shp = _reshape_target(x.shape, a["shape"])
            else:
                shp = x.shape
            y = x.with_codes(np.asarray(x.codes).reshape(shp))
            return _convert(y, out_q), None
        if n.op == "MaxPool":
            keys = x.ints().astype(np.float64) if x.fmt.kind == "int" else x.decoded()
            m = maxpool2d(keys, a["kernel_shape"], stride=a.get("strides"), padding=a.get("pads", 0),
                          dilation=a.get("dilations", 1), ceil_mode=bool(a.get("ceil_mode", 0)))
            if x.fmt.kind == "int":
                codes = ints_to_codes(m.astype(np.int64), x.fmt.bits, x.fmt.code_dtype)
            else:
                codes = encode(m, x.fmt, "rne", "saturate" if not x.fmt.has_nan else None)
            return _convert(x.with_codes(codes), out_q), None
        if n.op in ("AveragePool", "GlobalAveragePool"):
            return self._run_avgpool(n, x, out_q, cfg), None
        if n.op in ACT_OPS:
            same = out_q.same(x)
            y = activation(x, ACT_OPS[n.op], _act_params(n),
                           out_fmt=None if same else out_q.fmt,
                           out_scale=None if same else out_q.scale,
                           out_zp=None if same else out_q.zero_point)
            return y, None
        if n.op == "Add":
            return add(ins[0], ins[1], out_fmt=out_q.fmt, out_scale=out_q.scale,
                       out_zp=out_q.zero_point, style=cfg.requant, rounding=cfg.shift_rounding), None
        if n.op == "Concat":
            return concat(ins, a.get("axis", 1), out_fmt=out_q.fmt, out_scale=out_q.scale,
                          out_zp=out_q.zero_point), None
        raise ValueError(f"unsupported op {n.op!r}")

    def _run_avgpool(self, n, x, out_q, cfg):
        a = n.attrs
        k = x.shape[2:] if n.op == "GlobalAveragePool" else a["kernel_shape"]
        if x.fmt.kind == "int" and out_q.fmt.kind == "int":
            zp = int(np.asarray(x.zero_point))
            s, cnt = sumpool2d(x.ints() - zp, k, stride=a.get("strides") if n.op == "AveragePool" else None,
                               padding=a.get("pads", 0) if n.op == "AveragePool" else 0,
                               ceil_mode=bool(a.get("ceil_mode", 0)),
                               count_include_pad=bool(a.get("count_include_pad", 0)))
            if out_q.same(x):
                y = div_round(s, cnt, cfg.pool_rounding) + zp
            else:
                if np.any(cnt != cnt.flat[0]):  # divide in input units, then cast (two roundings)
                    y = div_round(s, cnt, cfg.pool_rounding) + zp
                    y = np.clip(y, x.fmt.min_int, x.fmt.max_int)
                    return _convert(x.with_codes(ints_to_codes(y, x.fmt.bits, x.fmt.code_dtype)), out_q)
                rq = Requant.from_scales(cfg.requant if cfg.requant != "shift" else "onnx",
                                         float(x.scale), 1.0 / int(cnt.flat[0]), out_q.scale,
                                         out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int)
                y = rq.apply(s.reshape(-1, 1)).reshape(s.shape)
            y = np.clip(y, out_q.fmt.min_int, out_q.fmt.max_int)
            return QTensor(ints_to_codes(y, out_q.fmt.bits, out_q.fmt.code_dtype), out_q.fmt,
                           out_q.scale, out_q.zero_point)
        s, c = _sumpool_f(x.values(), k, a, n.op)
        return QTensor.quantize(s / c, out_q.fmt, out_q.scale,
                                out_q.zero_point if out_q.fmt.kind == "int" else 0)

    def _run_compute(self, n: Node, x: QTensor, lp: dict):
        a = n.attrs
        in_q = lp["in_q"]
        if is_block(in_q.fmt):
            x = _block_input(x, in_q, lp["a_dequant"], lp["a_scalar"])
        elif not in_q.same(x):
            x = _convert(x, in_q)
        wq = lp["wq"]
        ms = getattr(self, "_mac_stats", True)
        x_zp = int(in_q.zero_point) if in_q.fmt.kind == "int" else 0
        w_zp = lp["w_zp"] if wq.fmt.kind == "int" else 0
        raw = lp.get("raw_zp", False)  # products of raw codes; x_zp * colsum(w) subtracted after
        mac_zp = 0 if raw else x_zp
        if n.op == "Conv":
            pad = int(x_zp) & ((1 << in_q.fmt.bits) - 1) if in_q.fmt.kind == "int" else 0
            acc, st = conv2d(x.codes, wq.codes, lp["mac"], bias=lp["bias"], x_zp=mac_zp, w_zp=w_zp,
                             stride=a.get("strides", 1), padding=a.get("pads", 0),
                             dilation=a.get("dilations", 1), groups=a.get("group", 1),
                             order=lp["config"].order, stats=ms, pad_code=pad)
            ch_axis = 1
        else:
            acc, st = linear(x.codes, wq.codes, lp["mac"], bias=lp["bias"], x_zp=mac_zp, w_zp=w_zp,
                             stats=ms)
            ch_axis = acc.ndim - 1
        if raw and x_zp:
            acc = _zp_correct(acc, x_zp, wq, n.op, ch_axis, lp["mac"])
        out_q: TensorQ = lp["out_q"]
        codes = None
        if lp["requant"] is not None:
            y = lp["requant"].apply(acc, axis=ch_axis)
            codes = ints_to_codes(y, out_q.fmt.bits, out_q.fmt.code_dtype)
            rqd = lp["requant"].to_dict()
        else:
            v = scale_float(acc, lp["scale32"], axis=ch_axis)
            rqd = dict(style="float32_scale", scale32=[float(s) for s in lp["scale32"]])
            if is_block(out_q.fmt):
                codes = None
                out = _block_quantize(v * float(out_q.scale), out_q.fmt, axis=ch_axis,
                                      tensor_scale=out_q.scale)
            elif out_q.fmt.kind == "int":
                yi = np.clip(np.rint(v) + out_q.zero_point, out_q.fmt.min_int, out_q.fmt.max_int)
                codes = ints_to_codes(yi.astype(np.int64), out_q.fmt.bits, out_q.fmt.code_dtype)
            else:
                codes = encode(v, out_q.fmt, "rne", "saturate")
        if codes is not None:
            out = QTensor(codes, out_q.fmt, out_q.scale, out_q.zero_point)
        st = dict(st)
        acc_codes = st.pop("codes", None)
        rec = LayerRecord(n.name, n.op, x, wq, lp["bias"], acc, out, lp["mac"], rqd, dict(a),
                          lp["config"].to_dict(), st, acc_codes)
        return out, rec

    # -- misc -------------------------------------------------------------------
    def summary(self) -> str:
        lines = [f"Network {self.name}: inputs {self.inputs}, outputs {self.outputs}"]
        for n in self.nodes:
            w = "" if n.weight is None else f" w{tuple(n.weight.shape)}"
            lines.append(f"  {n.name:<24} {n.op:<18} {n.inputs} -> {n.outputs}{w}")
        return "\n".join(lines)


def _num(v):
    v = np.asarray(v)
    return int(v) if v.dtype.kind in "iu" else float(v)


def _act_params(n: Node) -> dict:
    a = n.attrs
    if n.op == "Clip":
        return {"min": a.get("min", -np.inf), "max": a.get("max", np.inf)}
    if n.op == "LeakyRelu":
        return {"alpha": a.get("alpha", 0.01)}
    return {}


def _reshape_target(shape, target):
    t = list(target)
    for i, v in enumerate(t):
        if v == 0:
            t[i] = shape[i]
    return tuple(int(v) for v in t)


def _sumpool_f(x, k, a, op):
    """Float window sums and counts (reference / float formats): exact for ints via float64."""
    glob = op == "GlobalAveragePool"
    x = np.asarray(x, np.float64)
    if glob:
        s = x.sum(axis=(2, 3), keepdims=True)
        return s, np.full((1, 1), x.shape[2] * x.shape[3], np.float64)
    from .. import layers  # noqa: F401  (keep import graph simple)
    from ..layers.pool import _geom, _oshape

    H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, Ho, Wo = _geom(
        x.shape, k, a.get("strides", k), a.get("pads", 0), 1, "NCHW", bool(a.get("ceil_mode", 0)))
    out = np.zeros(_oshape(x.shape, Ho, Wo, "NCHW"))
    cnt = np.zeros((Ho, Wo))
    cip = bool(a.get("count_include_pad", 0))
    for oy in range(Ho):
        for ox in range(Wo):
            y0, x0 = oy * sh - pt, ox * sw - pl
            ya, yb = max(y0, 0), min(y0 + kh, H)
            xa, xb = max(x0, 0), min(x0 + kw, W)
            out[:, :, oy, ox] = x[:, :, ya:yb, xa:xb].sum(axis=(2, 3))
            if cip:
                cnt[oy, ox] = (min(y0 + kh, H + pb) - y0) * (min(x0 + kw, W + pr) - x0)
            else:
                cnt[oy, ox] = (yb - ya) * (xb - xa)
    return out, cnt


def _convert(qt: QTensor, q: TensorQ) -> QTensor:
    """Re-encode a tensor into another quantization (a cast unit: exact real, rne once)."""
    if q.same(qt):
        return qt
    if qt.fmt.kind == "int" and q.fmt.kind == "int" and qt.axis is None and qt.fmt.bits <= 16 \
            and float(qt.scale) == float(q.scale):
        y = np.clip(qt.ints() - int(np.asarray(qt.zero_point)) + q.zero_point, q.fmt.min_int, q.fmt.max_int)
        return QTensor(ints_to_codes(y, q.fmt.bits, q.fmt.code_dtype), q.fmt, q.scale, q.zero_point,
                       layout=qt.layout)
    if is_block(q.fmt):
        v = qt.values()
        return _block_quantize(v, q.fmt, axis=_act_axis(v), tensor_scale=q.scale)
    return QTensor.quantize(qt.values(), q.fmt, q.scale, q.zero_point if q.fmt.kind == "int" else 0,
                            layout=qt.layout)


def _zp_correct(acc, x_zp, wq, op, ch_axis, mac):
    """acc - x_zp * sum_k w[k, channel], in the result register's two's complement
    (the zero-point correction of kernels that multiply raw codes, e.g. MLAS u8s8)."""
    w = wq.ints()
    col = w.reshape(w.shape[0], -1).sum(axis=1) if op == "Conv" else w.sum(axis=0)
    shp = [1] * acc.ndim
    shp[ch_axis] = -1
    out = np.asarray(acc, np.int64) - np.int64(x_zp) * col.reshape(shp)
    bits = br.acc_format(mac).bits
    lo = -(1 << (bits - 1))
    return ((out - lo) & ((1 << bits) - 1)) + lo


def _act_axis(v) -> int:
    """Block axis of an activation: channels (axis 1) of NCHW images, features (-1) else."""
    return 1 if np.ndim(v) == 4 else -1


def _block_quantize(x, fmt, axis, tensor_scale=None, dequant="exact") -> QTensor:
    """Encode real values into a block format; the QTensor holds the scalar codes the
    MAC units see (:func:`hwsim.mac.block.to_scalar`), its ``scale`` the NVFP4 tensor
    scale (1.0 otherwise) and ``meta["block"]`` the BlockTensor."""
    from ..api import encode as _enc

    kw = {}
    if fmt.kind == "nvfp4" and tensor_scale is not None and float(tensor_scale) != 1.0:
        kw["tensor_scale"] = float(np.float32(tensor_scale))
    bt = _enc(np.asarray(x, np.float64), fmt, axis=axis, **kw)
    return _scalar_qtensor(bt, dequant)


def _scalar_qtensor(bt, dequant) -> QTensor:
    so = to_scalar(bt, dequant)
    return QTensor(so.codes, so.fmt, so.post_scale, 0,
                   meta=dict(block=bt, block_fmt=bt.fmt, dequant=so.dequant))


def _block_input(x: QTensor, in_q: TensorQ, dequant, a_scalar) -> QTensor:
    """A compute layer's block-format input as scalar codes of ``a_scalar``."""
    bt = x.meta.get("block")
    if bt is not None and bt.fmt == in_q.fmt and float(x.scale) == float(in_q.scale):
        return x if x.fmt == a_scalar else _scalar_qtensor(bt, dequant)
    v = x.values()
    return _block_quantize(v, in_q.fmt, axis=_act_axis(v), tensor_scale=in_q.scale,
                           dequant=dequant)


def _block_chunk(n: Node, cfg, a_fmt, wq: QTensor) -> dict:
    """K-run length of one block for the OCP per-block datapath (``block_*`` MAC presets)."""
    w_fmt = wq.meta.get("block_fmt")
    fa = a_fmt if is_block(a_fmt) else None
    sizes = {f.block_size for f in (fa, w_fmt) if f is not None}
    if not sizes:
        raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs block-format operands")
    if len(sizes) > 1:
        raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs equal block sizes, got "
                         f"{sorted(sizes)}")
    bs = sizes.pop()
    if n.op == "Conv":
        cin_g, kh, kw = n.weight.shape[1:]
        if not (cfg.order.endswith("cin") or kh * kw == 1 or cin_g == 1):
            raise ValueError(f"layer {n.name!r}: mac {cfg.mac!r} needs each block contiguous "
                             f"along K: use order 'kh,kw,cin' (got {cfg.order!r})")
        groups = n.attrs.get("group", 1)
        if cin_g % bs == 0:
            chunk = bs
        elif cin_g < bs and (groups == 1 or bs % cin_g == 0):  # a run never straddles blocks
            chunk = cin_g
        else:
            raise ValueError(f"layer {n.name!r}: {cin_g} input channels per group are neither a "
                             f"multiple of the block size {bs} nor smaller: blocks do not align "
                             f"with the K runs")
    else:
        chunk = bs
    return dict(a=fa, b=w_fmt, chunk=chunk)


_ = (codes_to_ints, NetworkConfig)
