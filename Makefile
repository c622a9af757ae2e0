# hwsim: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SRC_C  := $(wildcard csrc/*.c csrc/*.h csrc/include/*.h)
JOBS   ?= 2
ASAN_TESTS ?= tests/test_build.py $(wildcard tests/test_codec*.py tests/test_fastpath*.py tests/test_block*.py \
                         tests/test_codebook*.py tests/test_errors*.py tests/mac/test_engine.py \
                         tests/mac/test_fast.py)

.PHONY: demo test test-asan test-portable test-exhaustive bench install clean rtl-test

$(STAMP): pyproject.toml setup.py hwsim/_build.py $(SRC_C)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip "setuptools>=77" wheel cffi
	$(VPY) -m pip install -q -e '.[test,demo,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VPY) -m hwsim demo

test: $(STAMP)
	$(VPY) -m pytest -q -n $(JOBS) --dist loadfile tests
	$(VPY) -m pytest -q --doctest-modules hwsim -p no:cacheprovider

# Every hypothesis test at 1000 examples (slower; not part of CI).
test-exhaustive: $(STAMP)
	HYPOTHESIS_PROFILE=exhaustive $(VPY) -m pytest -q -n $(JOBS) --dist loadfile tests

# The C kernels rebuilt with AddressSanitizer + UBSan, and the C-kernel tests run on them.
test-asan: $(STAMP)
	rm -rf build/asan
	mkdir -p build/asan
	cp -r hwsim build/asan/hwsim
	rm -f build/asan/hwsim/_hwsim_c*.so
	HWSIM_SANITIZE=1 $(VPY) setup.py -q build_ext --build-lib build/asan --build-temp build/asan-tmp
	cd build/asan && \
	  LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  PYTHONPATH=. HWSIM_EXPECT_ASAN=1 ../../$(VPY) -m pytest -q -p no:cacheprovider \
	  $(addprefix ../../,$(ASAN_TESTS))

# The C kernels built with -DHWSIM_PORTABLE (no SIMD): the portable loops that
# CPUs without AVX2 run, checked against the general engine on this machine.
PORTABLE_TESTS ?= tests/test_build.py tests/mac/test_fast.py tests/test_fastpath_codec.py \
                  tests/test_fastpath_block.py tests/test_codec_exhaustive.py
test-portable: $(STAMP)
	rm -rf build/portable
	mkdir -p build/portable
	cp -r hwsim build/portable/hwsim
	rm -f build/portable/hwsim/_hwsim_c*.so
	HWSIM_EXTRA_CFLAGS=-DHWSIM_PORTABLE $(VPY) setup.py -q build_ext --build-lib build/portable \
	  --build-temp build/portable-tmp
	cd build/portable && PYTHONPATH=. HWSIM_EXPECT_PORTABLE=1 ../../$(VPY) -m pytest -q \
	  -p no:cacheprovider -n $(JOBS) --dist loadfile $(addprefix ../../,$(PORTABLE_TESTS))

# RTL co-simulation examples (examples/rtl/): needs iverilog (Debian package `iverilog`);
# installs the [rtl] extra (cocotb) into the venv.
rtl-test: $(STAMP)
	$(VPY) -m pip install -q -e '.[rtl]'
	examples/rtl/run_icarus.sh $(VPY) build/rtl
	examples/rtl/run_cocotb.sh $(VENV)/bin build/rtl-cocotb

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(VPY) $$f || exit 1; done

clean:
	rm -rf build $(VENV) hwsim/_hwsim_c*.so hwsim/_hwsim_c.c *.egg-info
