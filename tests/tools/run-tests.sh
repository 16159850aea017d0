#!/usr/bin/env bash
# What `make check` runs after the build: unit tests, then integration tests
# against a real sspid and a real Heimdal KDC in a throwaway test world.
# Each test prints "ok - ..." / "not ok - ..." lines; a test that dies
# without reporting counts as one failure. The last line is the total.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export SSPID_TOP=$top
work=$(mktemp -d /tmp/sspid-check.XXXXXX)
passed=0
failed=0

cleanup() {
        tests/tools/testenv.sh stop "$work/env" >/dev/null 2>&1 || true
        rm -rf "$work"
}
trap cleanup EXIT INT TERM

run() {
        local name=$1; shift
        local out="$work/$name.out" rc p f
        echo "=== $name"
        if declare -F "$1" >/dev/null; then
                "$@" >"$out" 2>&1
        else
                timeout 300 "$@" >"$out" 2>&1
        fi
        rc=$?
        p=$(grep -c '^ok - ' "$out")
        f=$(grep -c '^not ok - ' "$out")
        grep -E '^(not ok|#)' "$out" | sed 's/^/    /'
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                echo "    $name exited with status $rc without reporting a failure; output tail:"
                tail -15 "$out" | sed 's/^/    | /'
                f=1
        fi
        echo "    $p passed, $f failed"
        passed=$((passed + p))
        failed=$((failed + f))
}

for t in build/tests/unit/test_abi build/tests/unit/test_wire build/tests/unit/test_config; do
        run "$(basename "$t")" "$t"
done

# The wire parser under libFuzzer for a short while: new inputs each run,
# the checked-in corpus always.
fuzz_check() {
        mkdir -p "$work/corpus"
        cp tests/fuzz/corpus/* "$work/corpus/"
        if build/fuzz/fuzz_wire -max_total_time=15 -max_len=4096 "$work/corpus" >"$work/fuzz.log" 2>&1; then
                echo "ok - fuzz_wire: $(grep -o 'Done [0-9]* runs' "$work/fuzz.log")"
        else
                echo "not ok - fuzz_wire found a crash:"; grep -A5 ERROR "$work/fuzz.log" | head -20
        fi
}
run fuzz_wire fuzz_check

if ! tests/tools/testenv.sh start "$work/env" >"$work/testenv.log" 2>&1; then
        echo "cannot start the test world:"; cat "$work/testenv.log"
        failed=$((failed + 1))
else
        . "$work/env/env"
        run test_kerberos env SSPID_REALM_DIR="$SSPID_REALM_DIR" build/tests/unit/test_kerberos
        for t in build/tests/integration/test_*; do
                run "$(basename "$t")" "$t"
        done
        if grep -qE 'AddressSanitizer|runtime error|double free|corrupted' "$work/env/sspid.log"; then
                echo "=== daemon log shows memory errors:"; grep -E 'AddressSanitizer|runtime error' "$work/env/sspid.log" | head
                failed=$((failed + 1))
        fi
        if ! kill -0 "$(cat "$work/env/sspid.pid" 2>/dev/null)" 2>/dev/null; then
                echo "=== the daemon is not running any more; log tail:"; tail -20 "$work/env/sspid.log"
                failed=$((failed + 1))
        fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
