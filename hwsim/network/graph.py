"""Network: layers in topological order over named tensors, run as the accelerator would.

A :class:`Network` holds :class:`Node` objects; ``run(x)`` executes it under a
:class:`~hwsim.network.config.NetworkConfig` (docs/architecture.md, "Ops and networks").

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

from dataclasses import dataclass, field

import numpy as np

from ..ops import get_op, op_names
from ..ops.mac_layer import LayerRecord
from ..ops.quant import QuantSpec
from ..tensors import QTensor
from .config import LayerConfig, load_config
from .executor import RunResult, run_network
from .floatrun import reference_run
from .planner import Plan, plan_network

__all__ = ["Node", "Network", "QuantSpec", "RunResult", "LayerRecord", "SUPPORTED_OPS"]

#: the network ops registered in :mod:`hwsim.ops`
SUPPORTED_OPS = op_names()


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
        self.model_q: dict = {}  # tensor name -> QuantSpec stated by a quantized model
        self.config = load_config(config)
        self.stats: dict | None = None  # calibration: tensor -> sample of float values
        self._plan: Plan | None = None  # cache of plan(); reset by every change
        self.source: dict = {}
        self.code_inputs: set = set()  # inputs given as integer codes (ONNX integer inputs)
        self.declared_shapes: dict = {}  # input -> declared shape (None: any size), enforced
        # tensor -> lower bound the float64 reference applies (ReLUs folded into a quantized
        # model's QuantizeLinear clamp; docs/semantics.md)
        self.reference_clamps: dict = {}

    # -- building -------------------------------------------------------------
    def add(self, op, inputs, output, name=None, weight=None, bias=None, wq=None, bq=None,
            **attrs) -> str:
        """Append a layer; returns the output tensor name."""
        if op not in op_names():
            raise ValueError(f"op must be one of {op_names()}, got {op!r}")
        name = name or f"{op.lower()}_{len(self.nodes)}"
        if any(n.name == name for n in self.nodes):
            raise ValueError(f"duplicate layer name {name!r}")
        known = set(self.inputs) | {o for n in self.nodes for o in n.outputs}
        ins = [inputs] if isinstance(inputs, str) else list(inputs)
        for i in ins:
            if i not in known:
                raise ValueError(f"layer {name!r}: input tensor {i!r} is not produced by an earlier layer")
        if get_op(op).output == "mac" and weight is None and wq is None and len(ins) < 2:
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
        env = reference_run(self, x)
        return env if keep else {o: env[o] for o in self.outputs}

    # -- calibration ----------------------------------------------------------
    def calibrate(self, samples, max_values=200_000) -> None:
        """Collect float64 tensor statistics over calibration inputs."""
        acc: dict = {}
        for x in samples:
            env = reference_run(self, x)
            for k, v in env.items():
                acc.setdefault(k, []).append(np.asarray(v).ravel())
        rng = np.random.default_rng(0)
        self.stats = {}
        for k, vs in acc.items():
            v = np.concatenate(vs)
            v = v[np.isfinite(v)]  # NaN/Inf inputs (nan_policy) carry no scale information
            if v.size > max_values:
                keep = rng.choice(v.size, max_values, replace=False)
                keep[0] = int(np.argmax(np.abs(v)))
                v = v[keep]
            self.stats[k] = v
        self._plan = None

    # -- planning and running ----------------------------------------------------
    def layer_config(self, node: Node) -> LayerConfig:
        return self.config.for_layer(node.name, node.op)

    def plan(self) -> Plan:
        """Every tensor's quantization and every MAC layer's :class:`LayerPlan` (cached)."""
        if self._plan is None:
            self.config.check_names([n.name for n in self.nodes])
            self._plan = plan_network(self)
        return self._plan

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
        return run_network(self, self.plan(), x, keep=keep, reference=reference,
                           mac_stats=mac_stats)

    # -- misc -------------------------------------------------------------------
    def summary(self) -> str:
        lines = [f"Network {self.name}: inputs {self.inputs}, outputs {self.outputs}"]
        for n in self.nodes:
            w = "" if n.weight is None else f" w{tuple(n.weight.shape)}"
            lines.append(f"  {n.name:<24} {n.op:<18} {n.inputs} -> {n.outputs}{w}")
        return "\n".join(lines)
