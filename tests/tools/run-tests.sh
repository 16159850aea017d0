#!/usr/bin/env bash
# What `make check` runs after the build: unit tests, a short fuzzing run,
# then the integration tests twice against a real sspid and a real Heimdal
# KDC in a throwaway test world: once with the normal build, once with the
# AddressSanitizer/UBSan build (build/asan), whose daemon must also exit
# without leaks. Each test prints "ok - ..." / "not ok - ..." lines; a test
# that dies without reporting counts as one failure. The last line is the
# total.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export SSPID_TOP=$top
work=$(mktemp -d /tmp/sspid-check.XXXXXX)
chmod 755 "$work" # some checks run as nobody and must reach the test socket
passed=0
failed=0

cleanup() {
        for d in "$work"/world-*; do
                [ -d "$d" ] && tests/tools/testenv.sh stop "$d" >/dev/null 2>&1
        done
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

# The daemon of a finished suite: still alive, then a clean exit, then a
# log without sanitizer reports.
daemon_check() {
        local world=$1 pid
        pid=$(cat "$world/sspid.pid" 2>/dev/null)
        if kill -0 "$pid" 2>/dev/null; then
                echo "ok - daemon survived the suite"
        else
                echo "not ok - the daemon died; log tail:"; tail -20 "$world/sspid.log"
        fi
        tests/tools/testenv.sh stop "$world" >/dev/null 2>&1
        if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$world/sspid.log"; then
                echo "not ok - sanitizer report in the daemon log:"
                grep -A25 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$world/sspid.log" | head -60
        else
                echo "ok - no sanitizer report (no leak, no memory error) in the daemon log"
        fi
}

suite() {
        local label=$1 bdir=$2 daemon_asan=${3:-} daemon_lsan=${4:-} world="$work/world-$1"
        if ! SSPID_DAEMON_ASAN_OPTIONS="$daemon_asan" SSPID_DAEMON_LSAN_OPTIONS="$daemon_lsan" SSPID_BIN="$top/$bdir/sspid" tests/tools/testenv.sh start "$world" >"$work/testenv-$label.log" 2>&1; then
                echo "=== $label: cannot start the test world:"; cat "$work/testenv-$label.log"
                failed=$((failed + 1))
                return
        fi
        (
                . "$world/env"
                run "$label/test_kerberos" "$bdir/tests/unit/test_kerberos"
                for t in "$bdir"/tests/integration/test_*; do
                        run "$label/$(basename "$t")" "$t"
                done
                echo "$passed $failed" >"$work/counts-$label"
        )
        read -r passed failed <"$work/counts-$label"
        run "$label/daemon" daemon_check "$world"
}

mkdir -p "$work/normal" "$work/asan"
for t in build/tests/unit/test_abi build/tests/unit/test_wire build/tests/unit/test_config build/tests/unit/test_ntlm \
        build/asan/tests/unit/test_ntlm build/tests/unit/test_digest build/asan/tests/unit/test_digest; do
        run "$(basename "$t")" "$t"
done
# Every parser under libFuzzer for a short while (make fuzz runs them longer).
run fuzz tests/tools/fuzz.sh 6 build/fuzz
# make install / uninstall into temp dirs, a program on the installed
# sspi.pc, systemd-analyze verify and security of the units.
run test-install tests/tools/test-install.sh
run test-journal tests/tools/test-journal.sh

suite normal build
# Leaks are checked in the daemon only; test programs exit with handles
# open on purpose.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
suite asan build/asan "detect_leaks=1:abort_on_error=1" "suppressions=$top/tests/tools/lsan.supp"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
