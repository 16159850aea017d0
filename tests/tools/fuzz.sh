#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each from a copy of its checked-in
# corpus, and prints one "ok"/"not ok" line per target with executions and
# crashes. Used by `make fuzz FUZZ_SECONDS=N` and, briefly, by make check.
#   fuzz.sh SECONDS BUILD_FUZZ_DIR
set -uo pipefail

secs=${1:-60}
bin=${2:-build/fuzz}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/sspid-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0

for pair in wire:corpus digest:corpus-digest spnego:corpus-spnego config:corpus-config; do
        name=${pair%%:*}
        corpus=${pair#*:}
        target="$bin/fuzz_$name"
        if [ ! -x "$target" ]; then
                echo "not ok - fuzz_$name: not built"
                failed=1
                continue
        fi
        mkdir -p "$work/$name"
        cp "$top/tests/fuzz/$corpus"/* "$work/$name/" 2>/dev/null
        if "$target" -max_total_time="$secs" -max_len=4096 -artifact_prefix="$work/" "$work/$name" \
                >"$work/$name.log" 2>&1; then
                echo "ok - fuzz_$name: $(grep -o 'Done [0-9]* runs' "$work/$name.log" | tail -1) in ${secs} s, 0 crashes"
        else
                echo "not ok - fuzz_$name: crash found (input kept in $top/build/fuzz-crash-$name)"
                cp "$work"/crash-* "$top/build/fuzz-crash-$name" 2>/dev/null
                grep -A8 -E 'ERROR|==[0-9]+==' "$work/$name.log" | head -20
                failed=1
        fi
done
exit $failed
