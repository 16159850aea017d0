#!/usr/bin/env bash
# A throwaway world for tests, the demo and benchmarks: a Heimdal realm on
# loopback (realm.sh) and an sspid on a socket in DIR, granting the realm's
# service keytab to the current user.
#
#   testenv.sh start DIR     # then: . DIR/env
#   testenv.sh stop DIR
#   testenv.sh restart-daemon DIR
#
# SSPID_BIN picks the daemon binary (default build/sspid).
# DIR/env exports SSPID_SOCKET, SSPID_ADMIN_SOCKET, KRB5_CONFIG, SSPID_REALM,
# SSPID_REALM_DIR, SSPID_KDC_PORT, SSPID_TESTENV.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart-daemon DIR" >&2; exit 2; }

start_daemon() {
        . "$dir/realm/env"
        rm -f "$dir/sspid.sock" "$dir/admin.sock"
        KRB5_CONFIG="$KRB5_CONFIG" ASAN_OPTIONS="${SSPID_DAEMON_ASAN_OPTIONS:-${ASAN_OPTIONS:-}}" \
                LSAN_OPTIONS="${SSPID_DAEMON_LSAN_OPTIONS:-${LSAN_OPTIONS:-}}" setsid "${SSPID_BIN:-$top/build/sspid}" --socket "$dir/sspid.sock" \
                --admin-socket "$dir/admin.sock" --config "$dir/sspid.conf" \
                </dev/null >>"$dir/sspid.log" 2>&1 &
        echo $! >"$dir/sspid.pid"
        echo "${SSPID_BIN:-$top/build/sspid}" >"$dir/sspid.bin"
        for _ in $(seq 1 200); do
                [ -S "$dir/sspid.sock" ] && return 0
                kill -0 "$(cat "$dir/sspid.pid")" 2>/dev/null || break
                sleep 0.05
        done
        echo "testenv: sspid did not start; log:" >&2
        tail -20 "$dir/sspid.log" >&2
        return 1
}

stop_daemon() {
        local pid
        [ -f "$dir/sspid.pid" ] || return 0
        pid=$(cat "$dir/sspid.pid")
        if kill -0 "$pid" 2>/dev/null && grep -q sspid "/proc/$pid/cmdline" 2>/dev/null; then
                kill -TERM "$pid"
                for _ in $(seq 1 100); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.05
                done
                kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/sspid.pid"
}

case "$cmd" in
start)
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        # Tests run some checks as an unprivileged user: the socket must be reachable.
        chmod 755 "$dir"
        "$here/realm.sh" start "$dir/realm"
        . "$dir/realm/env"
        cat >"$dir/sspid.conf" <<CONF
# sspid configuration for the test world in $dir
[daemon]
workers = 4
session-key = $(id -u)

[kerberos]
krb5-config = $KRB5_CONFIG
delegation = yes

[acceptor http]
principal = HTTP/localhost@$SSPID_REALM
keytab = $dir/realm/service.keytab
allow = $(id -u)

[acceptor host]
principal = host/localhost@$SSPID_REALM
keytab = $dir/realm/service.keytab
allow = $(id -u)
CONF
        start_daemon
        cat >"$dir/env" <<ENV
export SSPID_TESTENV=$dir
export SSPID_SOCKET=$dir/sspid.sock
export SSPID_ADMIN_SOCKET=$dir/admin.sock
. $dir/realm/env
ENV
        ;;
stop)
        [ -d "$dir" ] || exit 0
        stop_daemon
        "$here/realm.sh" stop "$dir/realm" || true
        ;;
restart-daemon)
        [ -f "$dir/sspid.bin" ] && SSPID_BIN=$(cat "$dir/sspid.bin")
        stop_daemon
        start_daemon
        ;;
*)
        echo "usage: $0 start|stop|restart-daemon DIR" >&2
        exit 2
        ;;
esac
