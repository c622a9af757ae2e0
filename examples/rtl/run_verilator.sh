#!/usr/bin/env bash
# Verilator DPI-C flow (no Python): the hwsim C library (libhwsim.so, `make lib`) is the
# golden model of examples/rtl/verilator/tb_dpi_mac.sv.  The bench must PASS on the
# correct int8_mac.v and, built with -DINJECT_BUG, FAIL naming the element and MAC step.
# usage: examples/rtl/run_verilator.sh LIB_DIR BUILD_DIR   (LIB_DIR holds libhwsim.so)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
L=$(cd "${1:-build/lib}" && pwd)
B=${2:-build/rtl-verilator}
[ -f "$L/libhwsim.so" ] || { echo "rtl-test: $L/libhwsim.so missing (run make lib)"; exit 1; }
rm -rf "$B" && mkdir -p "$B"
B=$(cd "$B" && pwd)
build() {  # $1: output dir, $2: extra defines
    verilator --binary --timing -j 2 -Wall -Wno-DECLFILENAME -Wno-UNUSEDSIGNAL -Wno-UNUSEDPARAM -Wno-WIDTH -Wno-BLKSEQ \
        --top-module tb_dpi_mac -Mdir "$1" $2 \
        "$HERE/dpi/hwsim_pkg.sv" "$HERE/int8_mac.v" "$HERE/verilator/tb_dpi_mac.sv" \
        -LDFLAGS "-L$L -Wl,-rpath,$L -lhwsim" >"$1.log" 2>&1 \
        || { cat "$1.log"; echo "rtl-test: verilator build failed"; exit 1; }
}
build "$B/good" ""
good=$("$B/good/Vtb_dpi_mac")
echo "$good"
echo "$good" | grep -q "^PASS" || { echo "rtl-test: correct RTL did not pass (verilator)"; exit 1; }
build "$B/bug" "-DINJECT_BUG"
set +e
bad=$("$B/bug/Vtb_dpi_mac")
set -e
echo "$bad"
expect="FAIL element 0 (0, 0) step 12:"
echo "$bad" | grep -q "^$expect" || {
    echo "rtl-test: the injected bug was not caught as '$expect' (verilator)"; exit 1; }
echo "rtl-test (verilator): PASS with the correct RTL, injected bug caught: $expect"
