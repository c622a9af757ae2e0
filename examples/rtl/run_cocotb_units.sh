#!/usr/bin/env bash
# cocotb flows of the FP8 MAC (E4M3, E5M2) and the int8 MAC-array tile on Icarus, hwsim
# as the reference model: the correct RTL must pass; with INJECT_BUG the scoreboard must
# fail at the element and MAC step that the generator predicts (gen_fp8.py /
# gen_tile.py write expect_bug.txt from the golden values alone).
# usage: examples/rtl/run_cocotb_units.sh VENV_BIN BUILD_DIR
set -euo pipefail
VBIN=$(cd "${1:-.venv/bin}" && pwd)
B=${2:-build/rtl-cocotb-units}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$B" && mkdir -p "$B"
B=$(cd "$B" && pwd)
export PATH="$VBIN:$PATH"

flow() {  # $1 name, $2 cocotb makefile, $3 generator command, rest: make variables
    local name=$1 mk=$2 gen=$3
    shift 3
    local D expect
    D=$(python "$HERE/$gen" "$B/$name-golden" ${GEN_ARGS:-})
    expect=$(sed -E 's/^(element [0-9]+ \([^)]*\) step [0-9]+).*/\1/' "$D/expect_bug.txt")
    for v in good bad; do
        local extra=("$@")
        [ $v = bad ] && extra+=(INJECT_BUG=1)
        (cd "$HERE/cocotb" && PYTHONDONTWRITEBYTECODE=1 COCOTB_RESULTS_FILE="$B/$name-$v.xml" \
            make -s -f "$mk" SIM_BUILD="$B/sim-$name-$v" "${extra[@]}" > "$B/$name-$v.log" 2>&1) || {
            cat "$B/$name-$v.log"; echo "rtl-test: cocotb run $name ($v) did not complete"; exit 1; }
    done
    grep -q "<failure" "$B/$name-good.xml" && {
        cat "$B/$name-good.log"; echo "rtl-test: cocotb $name failed on the correct RTL"; exit 1; }
    grep -q "<failure" "$B/$name-bad.xml" || {
        echo "rtl-test: cocotb $name did not catch the injected bug"; exit 1; }
    local msg
    msg=$(grep -o "AssertionError: element .*" "$B/$name-bad.log" | head -1)
    echo "cocotb $name, injected bug: $msg"
    echo "$msg" | grep -qF "AssertionError: $expect" || {
        echo "rtl-test: cocotb $name did not point at $expect"; exit 1; }
    echo "rtl-test (cocotb $name): PASS with the correct RTL, injected bug caught at $expect"
}

GEN_ARGS= flow fp8_e4m3 Makefile.fp8 gen_fp8.py FP8=e4m3
GEN_ARGS=--e5m2 flow fp8_e5m2 Makefile.fp8 gen_fp8.py FP8=e5m2
GEN_ARGS= flow mac_tile Makefile.tile gen_tile.py
