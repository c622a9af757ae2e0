"""cffi builder: compiles csrc/ into the extension module ``hwsim._hwsim_c``.

Run by setuptools (``cffi_modules`` in setup.py) during ``pip install .``.
Set ``HWSIM_SANITIZE=1`` to build with AddressSanitizer and UBSan.  The C files are
compiled in parallel (``HWSIM_BUILD_JOBS``, default: the number of CPUs), each with
the same command line as a serial build; the link order is unchanged.
"""
import glob
import os
import re
from concurrent.futures import ThreadPoolExecutor

from cffi import FFI

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
_CSRC = os.path.join(_ROOT, "csrc")


# The cffi declarations: the public API, then the test hooks (the general and fast
# paths behind the dispatchers, which the tests compare).
_HEADERS = ("hwsim.h", "hwsim_test.h")


def _cdef_text() -> str:
    blocks = []
    for name in _HEADERS:
        with open(os.path.join(_CSRC, "include", name)) as fh:
            text = fh.read()
        m = re.search(r"/\* HW_CDEF_BEGIN \*/(.*)/\* HW_CDEF_END \*/", text, re.S)
        if not m:
            raise RuntimeError(f"{name} lacks the HW_CDEF_BEGIN/END block")
        blocks.append(m.group(1))
    return "\n".join(blocks)


def _rel(p: str) -> str:
    return os.path.relpath(p, os.getcwd())


_flags = ["-O3", "-std=gnu99", "-fno-fast-math", "-ffp-contract=off", "-fno-strict-aliasing",
          "-Wall", "-Wextra", "-Wno-unused-parameter"]
_link: list = []
_flags += os.environ.get("HWSIM_EXTRA_CFLAGS", "").split()  # e.g. -DKC=512 for tuning
if os.environ.get("HWSIM_SANITIZE"):
    _flags = [f for f in _flags if f != "-O3"] + [
        "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer"]
    _link = ["-fsanitize=address,undefined"]

def _parallel_compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                      extra_preargs=None, extra_postargs=None, depends=None):
    """distutils' CCompiler.compile with the per-file ``_compile`` calls run on a thread
    pool (each is one compiler process); returns every object file, in source order."""
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)
    todo = [(obj, *build[obj]) for obj in objects if obj in build]
    jobs = int(os.environ.get("HWSIM_BUILD_JOBS", 0)) or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo) or 1))) as pool:
        for f in [pool.submit(self._compile, obj, src, ext, cc_args, extra_postargs, pp_opts)
                  for obj, src, ext in todo]:
            f.result()  # re-raises a CompileError
    return objects


def _use_parallel_compile() -> None:
    try:
        from setuptools._distutils import ccompiler
    except ImportError:  # a setuptools without its own distutils: build serially
        return
    ccompiler.CCompiler.compile = _parallel_compile


_use_parallel_compile()

ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "hwsim._hwsim_c",
    "".join(f'#include "{name}"\n' for name in _HEADERS),
    sources=sorted(_rel(p) for p in glob.glob(os.path.join(_CSRC, "*.c"))),
    include_dirs=[_rel(os.path.join(_CSRC, "include")), _rel(_CSRC)],
    extra_compile_args=_flags,
    extra_link_args=_link,
    libraries=["m", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
