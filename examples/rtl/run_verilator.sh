#!/usr/bin/env bash
# Verilator DPI-C flow (no Python): the hwsim C library (libhwsim.so, `make lib`) is the
# golden model of examples/rtl/verilator/tb_dpi_mac.sv.  The bench must PASS on the
# correct int8_mac.v, fp8_mac.v (E4M3 and E5M2) and mac_tile.v and, built with
# -DINJECT_BUG (planted in all three), FAIL on each of them naming the element and MAC step.
# usage: examples/rtl/run_verilator.sh LIB_DIR BUILD_DIR   (LIB_DIR holds libhwsim.so)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
L=$(cd "${1:-build/lib}" && pwd)
B=${2:-build/rtl-verilator}
[ -f "$L/libhwsim.so" ] || { echo "rtl-test: $L/libhwsim.so missing (run make lib)"; exit 1; }
rm -rf "$B" && mkdir -p "$B"
B=$(cd "$B" && pwd)
build() {  # $1: output dir, $2: extra defines
    verilator --binary --timing -j 2 -Wall -Wno-DECLFILENAME -Wno-UNUSEDSIGNAL -Wno-UNUSEDPARAM -Wno-WIDTH -Wno-BLKSEQ -Wno-LATCH \
        --top-module tb_dpi_mac -Mdir "$1" $2 \
        "$HERE/dpi/hwsim_pkg.sv" "$HERE/int8_mac.v" "$HERE/fp8_mac.v" "$HERE/mac_tile.v" \
        "$HERE/verilator/tb_dpi_mac.sv" \
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
# int8_mac: negative overflow wraps; fp8_mac: the exact tie 2^16 + 2^-8 (even LSB) of
# directed element 2 rounds away from zero; mac_tile: PE (1, 0) meets the first negative
# input of the last row (a = 8d) at step 3
expects=("FAIL element 0 (0, 0) step 12:"
         "FAIL fp8_mac E4M3 element 2 step 1 "
         "FAIL fp8_mac E5M2 element 2 step 1 "
         "FAIL mac_tile element 3 PE (1, 0) step 3:")
for expect in "${expects[@]}"; do
    echo "$bad" | grep -q "^$expect" || {
        echo "rtl-test: the injected bug was not caught as '$expect' (verilator)"; exit 1; }
done
echo "rtl-test (verilator): PASS with the correct RTL, injected bugs caught:$(printf " '%s'" "${expects[@]}")"
