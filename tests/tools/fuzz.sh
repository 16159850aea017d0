#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each from a copy of its checked-in
# corpus, and prints one "ok"/"not ok" line per target with executions and
# crashes. Used by `make fuzz FUZZ_SECONDS=N` and, briefly, by make check.
#   fuzz.sh SECONDS BUILD_FUZZ_DIR [TARGET...]
# Targets are found, not listed: every tests/fuzz/fuzz_NAME.c is a target
# built as BUILD_FUZZ_DIR/fuzz_NAME, seeded from tests/fuzz/corpus/NAME/.
# A crashing input is copied to build/fuzz-crash-NAME; once the bug is
# fixed it goes into the corpus as a regression input.
set -uo pipefail

secs=${1:-60}
bin=${2:-build/fuzz}
shift 2 2>/dev/null
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/sspid-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
summary=

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
        for src in "$top"/tests/fuzz/fuzz_*.c; do
                n=${src##*/fuzz_}
                names+=("${n%.c}")
        done
fi

for name in "${names[@]}"; do
        target="$bin/fuzz_$name"
        if [ ! -x "$target" ]; then
                echo "not ok - fuzz_$name: not built"
                failed=1
                continue
        fi
        mkdir -p "$work/$name"
        seeds=0
        if [ -d "$top/tests/fuzz/corpus/$name" ]; then
                cp "$top/tests/fuzz/corpus/$name"/* "$work/$name/" 2>/dev/null
                seeds=$(find "$top/tests/fuzz/corpus/$name" -type f | wc -l)
        fi
        if "$target" -max_total_time="$secs" -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
                -artifact_prefix="$work/" "$work/$name" >"$work/$name.log" 2>&1; then
                runs=$(grep -o 'Done [0-9]* runs' "$work/$name.log" | tail -1 | grep -o '[0-9]*')
                echo "ok - fuzz_$name: ${runs:-0} executions in ${secs} s, 0 crashes ($seeds seeds)"
                summary+=" $name=${runs:-0}"
        else
                runs=$(grep -oE '^#[0-9]+' "$work/$name.log" | tail -1 | tr -d '#')
                echo "not ok - fuzz_$name: 1 crash after ${runs:-0} executions (input kept in $top/build/fuzz-crash-$name)"
                summary+=" $name=${runs:-0}(crash)"
                mkdir -p "$top/build"
                cp "$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)" \
                        "$top/build/fuzz-crash-$name" 2>/dev/null
                rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
                grep -A12 -E 'ERROR|==[0-9]+==|runtime error' "$work/$name.log" | head -30
                failed=1
        fi
done
# One line make check shows (it prints only "#" and "not ok" lines).
echo "# executions in ${secs} s per target:$summary"
exit $failed
