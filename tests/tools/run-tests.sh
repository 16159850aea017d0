#!/usr/bin/env bash
# What `make check` runs after the build: unit tests, a short fuzzing run,
# then the integration tests twice against a real sspid and a real Heimdal
# KDC in a throwaway test world: once with the normal build, once with the
# AddressSanitizer/UBSan build (build/asan), whose daemon must also exit
# without leaks. Each test prints "ok - ..." / "not ok - ..." lines; a test
# that dies without reporting counts as one failure. The last line is the
# total.
#
# SSPID_CHECK_SUITES (set by the Makefile) picks the integration suites:
#   normal    the normal build                      (make check)
#   san       the sanitizer build SSPID_SAN_BUILD   (make check; alone with SANITIZE=...)
#   valgrind  the normal build, daemon under valgrind memcheck (VALGRIND=1)
# With only "san", the unit tests run from the sanitizer tree too.
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
                timeout "${SSPID_TEST_TIMEOUT:-300}" "$@" >"$out" 2>&1
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
                # A daemon under valgrind needs far more than testenv's 5 s
                # to shut down and write its leak report.
                kill -TERM "$pid"
                for _ in $(seq 1 600); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.2
                done
        else
                echo "not ok - the daemon died; log tail:"; tail -20 "$world/sspid.log"
        fi
        tests/tools/testenv.sh stop "$world" >/dev/null 2>&1
        valgrind_check "$world"
        if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$world/sspid.log"; then
                echo "not ok - sanitizer report in the daemon log:"
                grep -A25 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$world/sspid.log" | head -60 |
                        sed 's/^/# /'
        else
                echo "ok - no sanitizer report (no leak, no memory error) in the daemon log"
        fi
}

# Every valgrind log of the world (one per daemon start: tests restart it)
# must end with "ERROR SUMMARY: 0 errors"; definite leaks count as errors.
valgrind_check() {
        local world=$1 log bad=0 n=0
        for log in "$world"/valgrind.*.log; do
                [ -f "$log" ] || continue
                n=$((n + 1))
                if ! grep -q 'ERROR SUMMARY:' "$log"; then
                        echo "not ok - valgrind: no final report in $(basename "$log") (daemon killed?); tail:"
                        tail -15 "$log" | sed 's/^/# /'
                        bad=1
                elif ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
                        echo "not ok - valgrind: errors or definite leaks in $(basename "$log"):"
                        grep -E '^==[0-9]+== ' "$log" | grep -vE '== (Memcheck|Copyright|Using Valgrind|Command|Parent PID|$)' |
                                head -100 | sed 's/^/# /'
                        bad=1
                fi
        done
        [ "$n" -eq 0 ] && return 0
        [ "$bad" -eq 0 ] && echo "ok - valgrind: $n daemon run(s), 0 errors, 0 definite leaks"
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
                        if [[ " ${SSPID_SUITE_SKIP:-} " == *" $(basename "$t") "* ]]; then
                                echo "=== $label/$(basename "$t"): not in this suite (see SSPID_SUITE_SKIP)"
                                continue
                        fi
                        run "$label/$(basename "$t")" "$t"
                done
                # What Windows returns, each check citing its source
                # (tests/windows/README.md).
                for t in "$bdir"/tests/windows/test_*; do
                        [ -x "$t" ] || continue
                        run "$label/windows/$(basename "$t")" "$t"
                done
                # Attacks from uid 65534 on private daemons with the
                # default configuration (tests/adversarial/README.md).
                for t in "$bdir"/tests/adversarial/test_*; do
                        [ -x "$t" ] || continue
                        if [[ " ${SSPID_SUITE_SKIP:-} " == *" adversarial "* ]]; then
                                echo "=== $label/adversarial: not in this suite (see SSPID_SUITE_SKIP)"
                                break
                        fi
                        run "$label/adversarial/$(basename "$t")" "$t"
                done
                # message-protection = daemon (issue 14): the message-heavy
                # tests again, with every message call through the daemon.
                sed -i 's/^\[daemon\]$/[daemon]\nmessage-protection = daemon/' "$world/sspid.conf"
                tests/tools/testenv.sh restart-daemon "$world" >/dev/null 2>&1
                for t in windows/test_win_messages windows/test_win_ntlm_messages integration/test_ntlm \
                        integration/test_negotiate windows/test_win_kerberos windows/test_win_schannel_messages \
                        integration/test_schannel integration/test_schannel_interop; do
                        [ -x "$bdir/tests/$t" ] && run "$label/daemon-mode/$(basename "$t")" "$bdir/tests/$t"
                done
                echo "$passed $failed" >"$work/counts-$label"
        )
        read -r passed failed <"$work/counts-$label"
        run "$label/daemon" daemon_check "$world"
}

suites=${SSPID_CHECK_SUITES:-normal san}
san=${SSPID_SAN_BUILD:-build/asan}
has_suite() { [[ " $suites " == *" $1 "* ]]; }

mkdir -p "$work/normal/adversarial" "$work/asan/adversarial" "$work/valgrind/adversarial" \
        "$work/normal/daemon-mode" "$work/asan/daemon-mode" "$work/valgrind/daemon-mode" \
        "$work/normal/windows" "$work/asan/windows" "$work/valgrind/windows"
if [ "$suites" = san ]; then
        units="$san/tests/unit/test_abi $san/tests/unit/test_wire $san/tests/unit/test_config $san/tests/unit/test_ntlm
                $san/tests/unit/test_digest $san/tests/unit/test_log $san/tests/unit/test_random"
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
else
        units="build/tests/unit/test_abi build/tests/unit/test_wire build/tests/unit/test_config build/tests/unit/test_ntlm
                $san/tests/unit/test_ntlm build/tests/unit/test_digest $san/tests/unit/test_digest build/tests/unit/test_log
                build/tests/unit/test_random $san/tests/unit/test_random"
fi
for t in $units; do
        run "$(basename "$t")" "$t"
done
# Every parser under libFuzzer for a short while (make fuzz runs them longer).
run fuzz tests/tools/fuzz.sh 6 build/fuzz
# make install / uninstall into temp dirs, a program on the installed
# sspi.pc, systemd-analyze verify and security of the units.
run test-install tests/tools/test-install.sh
run test-journal tests/tools/test-journal.sh
# install-deps never removes or replaces a user's package (dry runs only).
run test-install-deps tests/tools/test-install-deps.sh
# The Active Directory suite: a Samba AD DC in namespaces of its own, the
# normal build's sspid and tests (tests/ad/README.md); a DC that cannot
# start fails it.
has_suite normal && run ad tests/ad/run.sh build

has_suite normal && suite normal build
if has_suite valgrind; then
        # The normal build, the daemon under memcheck (every restart too:
        # the wrapper stays in the tests' environment). The client library
        # and the daemon do not spin-poll, which under valgrind only burns
        # the CPU the daemon needs.
        (
                export SSPID_NO_SPIN=1
                export SSPID_TEST_TIMEOUT=1200
                # test_faults kills and restarts daemons of its own (never
                # the world's, the one under valgrind) 1000 times: it adds
                # nothing here and runs in the normal and ASan suites.
                # The adversarial tests start private daemons of their own (never
                # under valgrind) and run in the normal and ASan suites.
                export SSPID_SUITE_SKIP="test_faults adversarial"
                export SSPID_DAEMON_WRAPPER="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
                        --errors-for-leak-kinds=definite --num-callers=40 --error-exitcode=99
                        --suppressions=$top/tests/tools/valgrind.supp --log-file=$work/world-valgrind/valgrind.%p.log"
                suite valgrind build
                echo "$passed $failed" >"$work/counts-valgrind-all"
        )
        read -r passed failed <"$work/counts-valgrind-all"
fi
if has_suite san; then
        # Leaks are checked in the daemon only; test programs exit with
        # handles open on purpose.
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
        suite asan "$san" "detect_leaks=1:abort_on_error=1" "suppressions=$top/tests/tools/lsan.supp"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
