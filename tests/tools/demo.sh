#!/usr/bin/env bash
# `make demo`: a throwaway Heimdal realm and sspid (testenv.sh), then the
# example Kerberos server and client talking through sspid twice: once with
# the client's async completions delivered by the notify callback, once by
# its own epoll loop (--event-loop). Prints each client's step table and a
# summary; exits non-zero on any failure, with the daemon and KDC logs.
#
# Everything lives in one mktemp directory and is torn down by the EXIT
# trap, however the script ends: servers killed by pid, testenv stopped,
# directory removed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build
# Every program below also has its own deadline; this one bounds waiting
# for the server's port line and is handed to both examples.
timeout_s=${SSPID_DEMO_TIMEOUT:-30}

dir=$(mktemp -d "${TMPDIR:-/tmp}/sspid-demo.XXXXXX")
started=
server_pid=
drain_pid=
runs=()
declare -A result

say() { printf '%s\n' "$*"; }
indent() { sed 's/^/    /'; }

# Stops the current server (if any) and the reader draining its output.
stop_server() {
        if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
                kill -TERM "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        server_pid=
        if [ -n "$drain_pid" ] && kill -0 "$drain_pid" 2>/dev/null; then
                kill -TERM "$drain_pid" 2>/dev/null || true
                wait "$drain_pid" 2>/dev/null || true
        fi
        drain_pid=
}

# Processes whose command line mentions our directory: anything still
# running after teardown was leaked by someone.
leftovers() {
        local p cmd
        for p in /proc/[0-9]*; do
                [ "${p#/proc/}" = "$$" ] && continue
                # Processes come and go while we look; a vanished one is fine.
                { cmd=$(tr '\0' ' ' <"$p/cmdline"); } 2>/dev/null || continue
                case $cmd in *"$dir"*) printf '%s %s\n' "${p#/proc/}" "$cmd" ;; esac
        done
}

cleanup() {
        local rc=$? left
        trap - EXIT INT TERM HUP
        stop_server
        if [ -n "$started" ]; then
                "$here/testenv.sh" stop "$dir" >>"$dir/testenv.log" 2>&1 ||
                        { echo "demo: testenv.sh stop failed:" >&2; tail -n 20 "$dir/testenv.log" >&2; rc=1; }
        fi
        left=$(leftovers)
        if [ -n "$left" ]; then
                echo "demo: processes still running after teardown:" >&2
                printf '%s\n' "$left" | indent >&2
                rc=1
        fi
        rm -rf "$dir"
        exit "$rc"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM
trap 'echo "demo: hung up" >&2; exit 129' HUP

# What went wrong, from every side that keeps a log.
diagnose() {
        local f
        echo >&2
        echo "---- diagnosis ----" >&2
        for f in "$dir"/server-*.log "$dir"/client-*.log; do
                [ -s "$f" ] || continue
                echo "-- ${f#"$dir"/} --" >&2
                tail -n 40 "$f" | indent >&2
        done
        if [ -s "$dir/sspid.log" ]; then
                echo "-- sspid.log (last 40 lines) --" >&2
                tail -n 40 "$dir/sspid.log" | indent >&2
        fi
        # realm.sh decides where the KDC logs; show every log it keeps.
        if [ -d "$dir/realm" ]; then
                while IFS= read -r f; do
                        echo "-- realm/${f#"$dir"/realm/} (last 30 lines) --" >&2
                        tail -n 30 "$f" | indent >&2
                done < <(find "$dir/realm" -type f -name '*.log' 2>/dev/null | sort)
        fi
        if [ -s "$dir/testenv.log" ]; then
                echo "-- testenv.sh --" >&2
                tail -n 20 "$dir/testenv.log" | indent >&2
        fi
}

die() {
        echo "demo: $*" >&2
        diagnose
        exit 1
}

# run LABEL [CLIENT-OPTION...]: one server, one client, one conversation.
run() {
        local label=$1 fifo line got_line part deadline rc port fd client_rc=0 server_rc=0
        shift
        local slog=$dir/server-$label.log clog=$dir/client-$label.log

        say
        say "== run '$label': krb-client${*:+ $*} --user alice → krb-server (Kerberos, HTTP/localhost) =="
        # The server announces its port on the first line of stdout. A FIFO
        # lets us wait for exactly that line (no sleeps, no polling), after
        # which a reader drains the rest into a log so the server never
        # blocks on a full pipe.
        fifo=$dir/server-$label.fifo
        mkfifo "$fifo"
        "$build/examples/krb-server" --expect-client "alice@$SSPID_REALM" --timeout "$timeout_s" 0 \
                >"$fifo" 2>&1 </dev/null &
        server_pid=$!
        exec {fd}<"$fifo"
        # The server's own --timeout fires first, so that when it hangs we
        # read its explanation rather than time out in the middle of it.
        # Bash runs traps only between commands, so the read is sliced into
        # one-second waits: an interrupt is acted on at once, not when the
        # line finally comes. A slice that times out keeps what it read.
        line=
        got_line=
        deadline=$((SECONDS + timeout_s + 5))
        while [ "$SECONDS" -lt "$deadline" ]; do
                part=
                rc=0
                IFS= read -r -t 1 part <&"$fd" || rc=$?
                line+=$part
                if [ "$rc" -eq 0 ]; then
                        got_line=1
                        break
                fi
                # Above 128: this slice timed out; otherwise end of file.
                [ "$rc" -gt 128 ] || break
        done
        if [ -z "$got_line" ] || [[ $line != "PORT "* ]]; then
                # Whatever it said instead is the diagnosis; the server is
                # stopped first so that reading the rest cannot hang.
                stop_server
                { printf '%s' "$line"; [ -z "$got_line" ] || echo; timeout 5 cat <&"$fd" || true; } >"$slog"
                exec {fd}<&-
                die "krb-server did not announce its port"
        fi
        port=${line#PORT }
        cat <&"$fd" >"$slog" &
        drain_pid=$!
        exec {fd}<&-

        "$build/examples/krb-client" --user alice --password-file "$dir/alice.pw" --realm "$SSPID_REALM" \
                --timeout "$timeout_s" "$@" "$port" >"$clog" 2>&1 </dev/null || client_rc=$?
        # The server exits by itself once the client is done (or has gone
        # away); its own alarm bounds this wait.
        wait "$server_pid" || server_rc=$?
        server_pid=
        wait "$drain_pid" || true
        drain_pid=

        indent <"$clog"
        # The server's side in brief: who it saw, what it granted, its
        # verdict (its whole log is in the diagnosis when something fails).
        say "  server side:"
        grep -E '^(client|flags): |^krb-server: (OK|FAILED)' "$slog" | indent || true

        if [ "$client_rc" -ne 0 ] || [ "$server_rc" -ne 0 ]; then
                die "run '$label' failed: krb-client exited $client_rc, krb-server exited $server_rc"
        fi

        # The client's last line is "summary: key=value ..." for us.
        line=$(grep '^summary: ' "$clog" | tail -n 1) || die "run '$label': krb-client printed no summary line"
        local kv
        for kv in ${line#summary: }; do
                result[$label.${kv%%=*}]=${kv#*=}
        done
        result[$label.server]=$(tail -n 1 "$slog")
        runs+=("$label")
}

# testenv.sh runs $SSPID_BIN when set (e.g. a sanitizer build), else ours.
for b in "${SSPID_BIN:-$build/sspid}" "$build/examples/krb-server" "$build/examples/krb-client"; do
        [ -x "$b" ] || { echo "demo: $b is missing; run 'make' first" >&2; exit 1; }
done

say "== sspid demo: Kerberos via sspid; client on Sspi*Async, server on synchronous SSPI =="
say "   work directory: $dir"
started=1
"$here/testenv.sh" start "$dir" >"$dir/testenv.log" 2>&1 || die "testenv.sh start failed"
# shellcheck source=/dev/null
. "$dir/env"
say "   realm $SSPID_REALM (KDC port ${SSPID_KDC_PORT:-?}), sspid at $SSPID_SOCKET"

# alice's password, readable by us alone, never on a command line.
(umask 077 && printf '%s\n' 'alice-pw-1' >"$dir/alice.pw")
chmod 600 "$dir/alice.pw"

run callback
run event-loop --event-loop

say
say "== summary =="
printf '  %-11s %-9s %-5s %-33s %11s  %-9s %-7s %s\n' run package legs "InitializeSecurityContext legs" \
        handshake messages client server
for r in "${runs[@]}"; do
        hs=$(awk -v us="${result[$r.handshake_us]:-0}" 'BEGIN { printf "%.2f ms", us / 1000 }')
        server=${result[$r.server]}
        case $server in *": OK"*) server=OK ;; *) server=FAILED ;; esac
        printf '  %-11s %-9s %-5s %-33s %11s  %-9s %-7s %s\n' "$r" "${result[$r.package]}" "${result[$r.legs]}" \
                "${result[$r.isc]}" "$hs" "${result[$r.messages]}" "${result[$r.result]}" "$server"
done
say
say "demo: OK (both runs authenticated alice@$SSPID_REALM to HTTP/localhost and verified every message)"
