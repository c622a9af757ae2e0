"""hwsim.native.memory: glibc keeps freed heap mapped, so hwsim's per-call output
arrays stop faulting in fresh pages; HWSIM_MALLOC=default leaves glibc alone."""
import os
import subprocess
import sys

import pytest

from hwsim.native import memory

pytestmark = [pytest.mark.portable]  # not "native": ASan replaces malloc (and mallopt)

# allocate, touch and free four 512 KiB arrays (a 256x256 matmul's statistics) 40 times;
# print the minor page faults of the last 30 rounds
_PROBE = """
import resource, numpy as np, hwsim
from hwsim.native import memory
def rnd():
    xs = [np.empty(65536, np.int64) for _ in range(4)]
    for x in xs:
        x.fill(1)
for _ in range(10):
    rnd()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    rnd()
print(memory.tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _probe(env_value):
    env = dict(os.environ)
    env.pop("HWSIM_MALLOC", None)
    if env_value is not None:
        env["HWSIM_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_tuned_on_glibc():
    assert memory.tuned == (memory._glibc() is not None)
    assert memory.MMAP_THRESHOLD == 64 << 20 and memory.TRIM_THRESHOLD == 256 << 20


def test_freed_arrays_are_reused_without_page_faults():
    tuned, faults = _probe(None)
    assert tuned == (memory._glibc() is not None)
    if not tuned:  # another C library: nothing was changed
        return
    # 30 rounds x 4 arrays x 128 pages would fault 15360 times if the pages went back
    assert faults < 300, faults


@pytest.mark.parametrize("value", ["default", "0"])
def test_opt_out_leaves_glibc_alone(value):
    tuned, faults = _probe(value)
    assert not tuned
    if memory._glibc() is not None:
        assert faults > 3000, faults  # glibc's own thresholds: the pages come and go
