#!/usr/bin/env bash
# cocotb flow: test_int8_mac.py on Icarus with hwsim as the reference model; the correct
# RTL must pass, and with INJECT_BUG the scoreboard must fail at element 0, step 10.
# usage: examples/rtl/run_cocotb.sh VENV_BIN BUILD_DIR
set -euo pipefail
VBIN=$(cd "${1:-.venv/bin}" && pwd)
B=${2:-build/rtl-cocotb}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$B" && mkdir -p "$B"
B=$(cd "$B" && pwd)
export PATH="$VBIN:$PATH"
for v in good bad; do
    extra=()
    [ $v = bad ] && extra=(INJECT_BUG=1)
    (cd "$HERE/cocotb" && PYTHONDONTWRITEBYTECODE=1 COCOTB_RESULTS_FILE="$B/$v.xml" \
        make -s SIM_BUILD="$B/sim_$v" "${extra[@]}" > "$B/$v.log" 2>&1) || {
        cat "$B/$v.log"; echo "rtl-test: cocotb run ($v) did not complete"; exit 1; }
done
grep -q "<failure" "$B/good.xml" && { cat "$B/good.log"; echo "rtl-test: cocotb failed on the correct RTL"; exit 1; }
grep -q "<failure" "$B/bad.xml" || { echo "rtl-test: cocotb did not catch the injected bug"; exit 1; }
msg=$(grep -o "AssertionError: element [^;]*;[^;]*;" "$B/bad.log" | head -1)
echo "cocotb, injected bug: $msg"
echo "$msg" | grep -q "element 0 (0, 0) step 10:" || {
    echo "rtl-test: cocotb did not point at element 0 step 10"; exit 1; }
echo "rtl-test (cocotb): PASS with the correct RTL, injected bug caught at element 0 step 10"
