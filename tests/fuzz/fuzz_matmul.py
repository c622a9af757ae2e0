"""Fuzz ``hwsim.mac.matmul`` with random MacUnit configurations.

Two kinds of input (first byte even / odd):
* a valid problem drawn by :func:`hwsim.testing.mac_strategies.mac_problems` from
  the input bytes (hypothesis ``fuzz_one_input``): the result codes and overflow
  events must equal the exact reference (:mod:`hwsim._ref_mac`), and both must
  refuse the same inputs;
* a MacUnit dictionary with fields perturbed from the input (bad formats, widths,
  orders, tilings): construction and matmul must succeed or raise a deliberate error.
"""
import numpy as np
from hypothesis import HealthCheck, given, settings

try:
    from . import _common as C
except ImportError:
    import _common as C

from hwsim.errors import NaNInputError, OverflowValueError
from hwsim.mac import MacUnit, matmul
from hwsim.testing.mac_strategies import mac_problems, reference_matmul


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(mac_problems(max_m=2, max_n=2, max_k=10))
def _against_reference(problem):
    mac, a, b, bias, za, zb = problem
    try:
        ref = reference_matmul(a, b, mac, bias, za, zb)
    except (OverflowValueError, NaNInputError) as e:
        try:
            matmul(a, b, mac, bias=bias, a_zero_point=za, b_zero_point=zb, threads=1)
        except type(e):
            return
        raise C.Finding(f"reference raised {type(e).__name__}, matmul did not: {mac}")
    res = matmul(a, b, mac, bias=bias, a_zero_point=za, b_zero_point=zb, threads=1)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            r = ref[i][j]
            got = (int(res.codes[i, j]), int(res.stats.overflow_events_per_output[i, j]))
            if got != (r.code, r.acc_events):
                raise C.Finding(f"output ({i},{j}) of {mac}: a={a.tolist()} b={b.tolist()} "
                                f"bias={bias} za={za} zb={zb}: got {got}, reference "
                                f"{(r.code, r.acc_events)}")


def _bases():
    from hwsim.mac import (Chunked, FixedAccumulator, FloatAccumulator,
                           FusedMultiTermAccumulator, IntAccumulator, Tiles, Tree)
    units = [MacUnit("int8", "int8", accumulator=IntAccumulator(32)),
             MacUnit("uint4", "int8", accumulator=IntAccumulator(12, "saturate"), order=Tree(3),
                     tiling=Tiles(4, "int16", mode="separate", psum_adder=IntAccumulator(20))),
             MacUnit("float8_e4m3fn", "float8_e5m2", accumulator=FloatAccumulator("float16"),
                     order=Chunked(4, FloatAccumulator("float32")), tiling=Tiles(4, "float16")),
             MacUnit("float4_e2m1fn", "float8_e4m3fn", product="bfloat16",
                     accumulator=FusedMultiTermAccumulator(4, 3, "sticky", "joint", "rne", "float32")),
             MacUnit("mxfp4", "mxfp4", accumulator=FixedAccumulator(10, 20)),
             MacUnit("fixed8.3", "int4", accumulator=FixedAccumulator(12, 3, "rne", "saturate"),
                     bias="final", bias_format="int16")]
    return [u.to_dict() for u in units]


_BASES = None


def _perturbed(fdp):
    global _BASES
    if _BASES is None:
        _BASES = _bases()
    d = C.pick(fdp, _BASES)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        d = C.mutate(d, fdp)
    return d


def _run_perturbed(fdp):
    mac = C.call(MacUnit.from_dict, _perturbed(fdp))
    if mac is None:
        return
    m, k, n = (fdp.ConsumeIntInRange(0, 3) for _ in range(3))
    raw = np.frombuffer(fdp.ConsumeBytes(8 * (m * k + k * n)).ljust(8 * (m * k + k * n), b"\0"),
                        np.uint64)
    a, b = raw[:m * k].reshape(m, k), raw[m * k:].reshape(k, n)
    if fdp.ConsumeBool() and hasattr(mac.a_fmt, "code_dtype") and hasattr(mac.b_fmt, "code_dtype"):
        a = (a % np.uint64(1 << min(mac.a_fmt.bits, 63))).astype(mac.a_fmt.code_dtype)
        b = (b % np.uint64(1 << min(mac.b_fmt.bits, 63))).astype(mac.b_fmt.code_dtype)
    C.call(matmul, a, b, mac, threads=fdp.ConsumeIntInRange(0, 2))


def TestOneInput(data: bytes) -> None:
    import atheris

    if not data:
        return
    if data[0] % 2 == 0:
        _against_reference.hypothesis.fuzz_one_input(data[1:])
    else:
        _run_perturbed(atheris.FuzzedDataProvider(data[1:]))


if __name__ == "__main__":
    C.main(TestOneInput, "matmul")
