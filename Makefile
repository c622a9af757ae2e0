# hwsim: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SRC_C  := $(wildcard csrc/*.c csrc/*.h csrc/include/*.h)
JOBS   ?= 2

FUZZ_SECONDS ?= 60
DEMO_STAMP := $(VENV)/.installed-demo
PIP_SHOW := --progress-bar on --disable-pip-version-check

.PHONY: demo test test-asan asan-build fuzz test-portable test-exhaustive bench install clean

# `make demo` needs only the runtime and the demo extra (no test / bench packages).
# The C kernels compile (hwsim/_build.py: all CPUs, same flags as a serial build) while a
# second pip installs the runtime + demo packages (tools/deps.py lists them); both use
# the venv's setuptools / cffi (--no-build-isolation: no throw-away build environment).
# pip's own progress is shown.
$(DEMO_STAMP): pyproject.toml setup.py hwsim/_build.py tools/deps.py $(SRC_C)
	@echo "[1/3] python venv ($(VENV))"
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@echo "[2/3] build tools (setuptools, wheel, cffi)"
	$(VPY) -m pip install $(PIP_SHOW) "setuptools>=77" wheel cffi
	@echo "[3/3] hwsim (compiles the C kernels) while the runtime + demo packages install"
	@set -e; if $(VPY) tools/deps.py demo > $(VENV)/demo-requirements.txt; then \
	  $(VPY) -m pip install $(PIP_SHOW) -r $(VENV)/demo-requirements.txt & deps=$$!; \
	  $(VPY) -m pip install $(PIP_SHOW) --no-build-isolation --no-deps -e . || { wait $$deps; exit 1; }; \
	  wait $$deps; \
	else $(VPY) -m pip install $(PIP_SHOW) --no-build-isolation -e '.[demo]'; fi
	touch $(DEMO_STAMP)

# everything: tests, benchmarks, fuzzing (also satisfies `make demo`)
$(STAMP): pyproject.toml setup.py hwsim/_build.py tools/deps.py $(SRC_C)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install $(PIP_SHOW) "setuptools>=77" wheel cffi
	$(VPY) -m pip install $(PIP_SHOW) --no-build-isolation -e '.[test,demo,bench,fuzz]'
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(VPY) -m hwsim demo

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check hwsim
	$(VPY) -m pytest -q -n $(JOBS) --dist loadfile tests
	$(VPY) -m pytest -q --doctest-modules hwsim -p no:cacheprovider

# Every hypothesis test at 1000 examples (slower; not part of CI).
test-exhaustive: $(STAMP)
	HYPOTHESIS_PROFILE=exhaustive $(VPY) -m pytest -q -n $(JOBS) --dist loadfile tests

# The C kernels rebuilt with AddressSanitizer + UBSan (build/asan/hwsim), and the tests
# marked `native` run on them.
SAN_ENV = LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  PYTHONPATH=. HWSIM_EXPECT_ASAN=1

asan-build: $(STAMP)
	rm -rf build/asan
	mkdir -p build/asan
	cp -r hwsim build/asan/hwsim
	rm -f build/asan/hwsim/_hwsim_c*.so
	HWSIM_SANITIZE=1 $(VPY) setup.py -q build_ext --build-lib build/asan --build-temp build/asan-tmp

test-asan: asan-build
	cd build/asan && $(SAN_ENV) ../../$(VPY) -m pytest -q -p no:cacheprovider \
	  -m native ../../tests

# atheris harnesses (tests/fuzz/), FUZZ_SECONDS each (default 60): coverage-guided, then
# the grown corpus replayed and mutated on the ASan + UBSan build (tests/fuzz/README.md).
fuzz: asan-build
	nice $(VPY) tests/fuzz/run.py --asan-dir build/asan $(FUZZ_SECONDS)

# The C kernels built with -DHWSIM_PORTABLE (no SIMD): the portable loops that
# CPUs without AVX2 run, checked against the general engine on this machine (tests marked
# `portable`).
test-portable: $(STAMP)
	rm -rf build/portable
	mkdir -p build/portable
	cp -r hwsim build/portable/hwsim
	rm -f build/portable/hwsim/_hwsim_c*.so
	HWSIM_EXTRA_CFLAGS=-DHWSIM_PORTABLE $(VPY) setup.py -q build_ext --build-lib build/portable \
	  --build-temp build/portable-tmp
	cd build/portable && PYTHONPATH=. HWSIM_EXPECT_PORTABLE=1 ../../$(VPY) -m pytest -q \
	  -p no:cacheprovider -n $(JOBS) --dist loadfile -m portable ../../tests

# RTL co-simulation examples (examples/rtl/): needs iverilog (Debian package `iverilog`);
# installs the [rtl] extra (cocotb) into the venv.
rtl-test: $(STAMP)
	$(VPY) -m pip install -q -e '.[rtl]'
	examples/rtl/run_icarus.sh $(VPY) build/rtl
	examples/rtl/run_cocotb.sh $(VENV)/bin build/rtl-cocotb
	examples/rtl/run_icarus_units.sh $(VPY) build/rtl-units
	examples/rtl/run_cocotb_units.sh $(VENV)/bin build/rtl-cocotb-units

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(VPY) $$f || exit 1; done

clean:
	rm -rf build $(VENV) hwsim/_hwsim_c*.so hwsim/_hwsim_c.c *.egg-info
