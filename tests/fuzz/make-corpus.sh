#!/usr/bin/env bash
# Regenerates the fuzz_wire seed corpus (tests/fuzz/corpus/wire/) from real
# traffic: starts a test world (real Heimdal KDC + sspid, testenv.sh), puts
# the recording relay tests/tools/wire-record.c between the integration
# tests and the daemon, runs the tests of every package through it, and
# keeps up to CAP distinct request frames per request type (smallest,
# largest and evenly spread sizes between). Frames that carry a password
# are left out except one (the test realm's throwaway password), so that
# the identity checks are seeded too. Files named regression-* are kept.
#   tests/fuzz/make-corpus.sh [CAP]       (from the top of the tree)
set -euo pipefail

cap=${1:-4}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make --no-print-directory -s all itests build/tests/tools/wire-record >/dev/null
work=$(mktemp -d /tmp/sspid-corpus.XXXXXX)
chmod 755 "$work"
relay_pid=
cleanup() {
        [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null
        tests/tools/testenv.sh stop "$work/world" >/dev/null 2>&1 || true
        rm -rf "$work"
}
trap cleanup EXIT INT TERM

export SSPID_TOP=$top
tests/tools/testenv.sh start "$work/world" >"$work/testenv.log" 2>&1 || { cat "$work/testenv.log"; exit 1; }
mkdir "$work/frames"
build/tests/tools/wire-record "$work/relay.sock" "$work/world/sspid.sock" "$work/frames" &
relay_pid=$!
for _ in $(seq 1 50); do [ -S "$work/relay.sock" ] && break; sleep 0.1; done
(
        . "$work/world/env"
        export SSPID_SOCKET=$work/relay.sock
        for t in test_api test_ops test_negotiate test_ntlm test_digest test_schannel test_async test_errors \
                test_protocol; do
                [ -x "build/tests/integration/$t" ] || continue
                timeout 300 "build/tests/integration/$t" >"$work/$t.out" 2>&1 || true
                echo "$t: $(grep -c '^ok - ' "$work/$t.out") ok, $(grep -c '^not ok - ' "$work/$t.out") not ok (through the relay)"
        done
)
kill "$relay_pid" 2>/dev/null
wait "$relay_pid" 2>/dev/null || true
relay_pid=

out=tests/fuzz/corpus/wire
mkdir -p "$out"
find "$out" -type f ! -name 'regression-*' -delete
total=0
for type in $(ls "$work/frames" | sed 's/-[0-9a-f]*$//' | sort -u); do
        case "$type" in
        *+password) n=1 ;;
        *) n=$cap ;;
        esac
        mapfile -t files < <(ls -S -r "$work/frames/$type"-*)
        k=${#files[@]}
        picked=()
        if [ "$k" -le "$n" ]; then
                picked=("${files[@]}")
        else
                for i in $(seq 0 $((n - 1))); do
                        picked+=("${files[$((i * (k - 1) / (n > 1 ? n - 1 : 1)))]}")
                done
        fi
        for f in $(printf '%s\n' "${picked[@]}" | sort -u); do
                cp "$f" "$out/"
                total=$((total + 1))
        done
        echo "$type: $k recorded, kept $(printf '%s\n' "${picked[@]}" | sort -u | wc -l)"
done
echo "$total frames in $out"
