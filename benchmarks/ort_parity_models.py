"""The three issue-9 models (default builder sizes) quantized with onnxruntime's
quantize_static (QDQ, int8 weights; uint8 / int8 activations; 7-bit and full-range
weights), compared with onnxruntime tensor by tensor (hwsim.testing.ort_parity): layers
exact / total, in the chained run and with each layer on onnxruntime's input codes
(isolated), and the layers that differ with onnxruntime's kernel for them.

    python benchmarks/ort_parity_models.py
"""
from __future__ import annotations

import numpy as np

from hwsim.testing.mobilenet import mobilenetv3_block
from hwsim.testing.models import transformer_encoder, yolo_detector
from hwsim.testing.ort_parity import compare_layers, exact_failures, quantize_qdq

MODELS = {
    "transformer_encoder": (transformer_encoder,
                            lambda r: {"ids": r.integers(0, 50, (1, 16)).astype(np.int64)}),
    "yolo_detector": (yolo_detector,
                      lambda r: {"images": r.normal(size=(1, 3, 32, 32)).astype(np.float32)}),
    "mobilenetv3_block": (mobilenetv3_block,
                          lambda r: {"x": r.normal(size=(1, 16, 16, 16)).astype(np.float32)}),
}


def main():
    for name, (build, feed) in MODELS.items():
        m = build()
        for act in ("uint8", "int8"):
            for rr in (True, False):
                rng = np.random.default_rng(0)
                q = quantize_qdq(m, [feed(rng) for _ in range(8)], act, reduce_range=rr)
                feeds = [feed(rng) for _ in range(4)]
                for iso in (False, True):
                    ps = compare_layers(q, feeds, isolate=iso)
                    bad = [f"{p.node} ({p.ort_kernel}: {p.mismatches}/{p.size}, max {p.max_diff})"
                           for p in ps if not p.exact]
                    print(f"{name} act={act} weights={'7-bit' if rr else '8-bit'} "
                          f"{'isolated' if iso else 'chained'}: exact {sum(p.exact for p in ps)}"
                          f"/{len(ps)}, in contract {sum(p.asserted for p in ps)}, contract "
                          f"failures {len(exact_failures(ps))}; differ: "
                          + ("; ".join(bad[:4]) + (f"; ... {len(bad) - 4} more" if len(bad) > 4
                                                   else "") if bad else "none"), flush=True)


if __name__ == "__main__":
    main()
