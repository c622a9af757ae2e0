"""Run the atheris harnesses for a bounded time.

    python tests/fuzz/run.py [--asan-dir build/asan] SECONDS [NAME ...]

Each harness ``fuzz_<name>.py`` gets SECONDS in two phases:

1. two thirds coverage-guided on the normal build (atheris instruments hwsim's
   Python code); new inputs go to ``build/fuzz/<name>/corpus``;
2. one third on the C kernels built with AddressSanitizer + UBSan (``--asan-dir``,
   made by ``make asan-build``; gcc's libasan / libubsan preloaded): the committed
   corpus ``tests/fuzz/corpus/<name>/`` and everything phase 1 found are replayed,
   then mutated further.  (With gcc's ASan runtime preloaded, atheris' libFuzzer
   receives no coverage, and clang's runtime, which atheris ships, refuses gcc-built
   code: hence guided search first, sanitizers on its corpus second.)

Findings (crashing / hanging inputs) land in ``build/fuzz/<name>/`` with the log;
after one the phase restarts until its time is used.  Exit status 1 when any
harness found something.
"""
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAMES = ("codec", "block", "matmul", "onnx", "config", "golden")
#: seconds one input may take before libFuzzer calls it a hang (FUZZ_TIMEOUT, default 60)
TIMEOUT = int(os.environ.get("FUZZ_TIMEOUT", "60"))


def _gcc_lib(name):
    return subprocess.check_output(["gcc", f"-print-file-name={name}"], text=True).strip()


def _san_env(asan_dir):
    return dict(LD_PRELOAD=f"{_gcc_lib('libasan.so')} {_gcc_lib('libubsan.so')}",
                ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
                UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
                PYTHONPATH=os.path.abspath(asan_dir), HWSIM_EXPECT_ASAN="1")


def _phase(name, seconds, out, extra_env, cwd, label) -> int:
    env = dict(os.environ, HWSIM_FUZZ_INSTRUMENT="1", **extra_env)
    end = time.time() + seconds
    findings = 0
    log = os.path.join(out, "log.txt")
    while findings < 20:
        left = int(end - time.time())
        if left < 3:
            break
        cmd = [sys.executable, os.path.join(HERE, f"fuzz_{name}.py"), f"-max_total_time={left}",
               f"-timeout={TIMEOUT}", "-rss_limit_mb=4096", "-print_final_stats=1", "-max_len=4096",
               f"-artifact_prefix={out}/", os.path.join(out, "corpus"),
               os.path.join(HERE, "corpus", name)]
        with open(log, "a") as f:
            f.write(f"\n=== {label} {time.strftime('%H:%M:%S')} {left} s\n")
            f.flush()
            rc = subprocess.call(cmd, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
        if rc == 0:
            break
        findings += 1
        print(f"fuzz {name} ({label}): finding (exit {rc}); see {log}", flush=True)
    return findings


def run_one(name, seconds, asan_dir) -> int:
    out = os.path.join(ROOT, "build", "fuzz", name)
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    t0 = time.time()
    guided = seconds if asan_dir is None else (2 * seconds) // 3
    n = _phase(name, guided, out, {}, ROOT, "guided")
    if asan_dir is not None:
        n += _phase(name, seconds - (time.time() - t0), out, _san_env(asan_dir),
                    os.path.abspath(asan_dir), "asan+ubsan")
    arts = sum(len(glob.glob(os.path.join(out, p))) for p in ("crash-*", "timeout-*", "oom-*"))
    print(f"fuzz {name}: {time.time() - t0:.0f} s, {n} finding(s), {arts} artifact(s) in {out}",
          flush=True)
    return 1 if n else 0


def main(argv) -> int:
    asan_dir = None
    if argv[:1] == ["--asan-dir"]:
        asan_dir, argv = argv[1], argv[2:]
    seconds = int(argv[0]) if argv else 60
    names = argv[1:] or NAMES
    return max(run_one(n, seconds, asan_dir) for n in names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
