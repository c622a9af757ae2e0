#!/usr/bin/env bash
# Icarus Verilog flows of the FP8 MAC (E4M3 and E5M2) and the int8 MAC-array tile:
# golden vectors from hwsim (gen_fp8.py / gen_tile.py), the self-checking $readmemh bench
# on the correct RTL (must PASS) and with -DINJECT_BUG (must FAIL at the element and MAC
# step that the generator predicted, expect_bug.txt), then `hwsim compare --trace-first`
# on the buggy dump (must name the same element and MAC step from a trace it writes).
# usage: examples/rtl/run_icarus_units.sh PYTHON BUILD_DIR
set -euo pipefail
PY=${1:-python3}
B=${2:-build/rtl-units}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$B" && mkdir -p "$B"
B=$(cd "$B" && pwd)

flow() {  # $1 name, $2 top bench, $3 RTL sources, $4 generator, rest: generator options
    local name=$1 tb=$2 srcs=$3 gen=$4
    shift 4
    local G="$B/$name/golden" D
    mkdir -p "$B/$name"
    D=$("$PY" "$HERE/$gen" "$G" "$@")
    local expect
    expect=$(cat "$D/expect_bug.txt")
    [ "$expect" != none ] || { echo "rtl-test ($name): the vectors cannot expose the planted bug"; exit 1; }
    run() {
        (cd "$D" && iverilog -g2005 $1 -I. -o "$B/$name/tb.vvp" "$HERE/$tb" $srcs && vvp -n "$B/$name/tb.vvp")
    }
    local good bad
    good=$(run "")
    echo "$good"
    echo "$good" | grep -q "^PASS" || { echo "rtl-test ($name): correct RTL did not pass"; exit 1; }
    bad=$(run "-DINJECT_BUG")
    echo "$bad"
    echo "$bad" | grep -q "^FAIL $expect" || {
        echo "rtl-test ($name): the injected bug was not caught at $expect"; exit 1; }
    # hwsim compare on the buggy dump; no trace was exported for that output, so
    # --trace-first writes it and compares it with the bench's per-step dump
    local L
    L=$(basename "$D")
    mkdir -p "$B/$name/dut/$L"
    mv "$D/dut_acc.hex" "$B/$name/dut/$L/acc.hex"
    mv "$D/dut_steps.hex" "$B/$name/dut/$L/steps.hex"
    set +e
    local cmp st
    cmp=$("$PY" -m hwsim compare "$G" "$B/$name/dut" --tensor acc --trace-first "$B/$name/trace" \
        --json "$B/$name/compare.json" --junit "$B/$name/compare.xml")
    st=$?
    set -e
    echo "$cmp"
    local el step
    el=$(echo "$expect" | sed -E 's/^element ([0-9]+) \(([^)]*)\) step ([0-9]+).*/\1 (\2)/')
    step=$(echo "$expect" | sed -E 's/^element [0-9]+ \([^)]*\) step ([0-9]+).*/\1/')
    [ $st -eq 1 ] && echo "$cmp" | grep -q "tensor acc element $el" \
        && echo "$cmp" | grep -q "first differing MAC step: MAC step $step " || {
        echo "rtl-test ($name): hwsim compare --trace-first did not name element $el step $step"; exit 1; }
    echo "rtl-test ($name): PASS with the correct RTL, injected bug caught at $expect"
}

flow fp8_e4m3 tb_fp8_mac.v "$HERE/fp8_mac.v" gen_fp8.py
flow fp8_e5m2 tb_fp8_mac.v "$HERE/fp8_mac.v" gen_fp8.py --e5m2
flow mac_tile tb_mac_tile.v "$HERE/mac_tile.v $HERE/int8_mac.v" gen_tile.py
