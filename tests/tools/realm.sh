#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A throw-away Heimdal realm for tests, `make demo` and benchmarks.
#
#   realm.sh [--verbose] start DIR     build realm SSPID.TEST in DIR and start its KDC
#   realm.sh [--verbose] stop DIR      stop the KDC (idempotent; DIR is left for the caller)
#   realm.sh [--verbose] kdc-stop DIR  stop only the KDC (provoke "no KDC reachable")
#   realm.sh [--verbose] kdc-start DIR start the KDC again, on the same port
#
# What `start` leaves in DIR (mode 0700):
#   krb5.conf        client configuration: realm SSPID.TEST, kdc 127.0.0.1:PORT, no DNS
#   kdc.conf         KDC / kadmin -l configuration (database, logging)
#   heimdal.db       the KDC database (no master key: it is a test realm)
#   service.keytab   HTTP/localhost and host/localhost (random keys)
#   http.keytab      HTTP/localhost only
#   alice.ccache     a TGT for alice, obtained to prove the KDC answers
#   kdc.pid kdc.log  written by the KDC itself; kdc.port the port it listens on
#   kpasswdd.pid kpasswdd.log  Heimdal's kpasswdd (RFC 3244 set/change
#                    password) on 127.0.0.1, UDP port kdc.port + 1, named by
#                    krb5.conf's kpasswd_server; its password policy (kdc.conf
#                    [password_quality]): at least 8 characters
#   env              `. DIR/env` exports KRB5_CONFIG, SSPID_REALM, SSPID_KDC_PORT,
#                    SSPID_REALM_DIR
# Principals: alice (alice-pw-1), bob (bob-pw-2), HTTP/localhost, host/localhost.
# A second realm in the same database, PROXY.TEST (proxyuser, proxy-pw-1;
# HTTP/proxied.test), whose KDC krb5.conf names as 127.0.0.1:1, where
# nothing answers: only a KDC proxy (MS-KKDCP, test_kdcproxy) reaches it.
#
# Works as root or not, touches nothing outside DIR, prints nothing on
# success unless --verbose; on failure prints the reason and the end of the
# KDC log to stderr and exits non-zero.

set -u
set -o pipefail

readonly REALM=SSPID.TEST
readonly PROXY_REALM=PROXY.TEST
readonly KDC_BIN=${SSPID_KDC_BIN:-/usr/lib/heimdal-servers/kdc}
readonly KPASSWDD_BIN=${SSPID_KPASSWDD_BIN:-/usr/lib/heimdal-servers/kpasswdd}
# Below the kernel's ephemeral range (32768-60999 by default), so an
# outgoing connection cannot grab the port between our check and the bind.
readonly PORT_MIN=20000
readonly PORT_SPAN=12000

verbose=0
dir=

say() {
        if (( verbose )); then
                printf 'realm.sh: %s\n' "$*" >&2
        fi
}

kdc_log_tail() {
        if [[ -n "$dir" && -s "$dir/kdc.log" ]]; then
                printf -- '--- last lines of %s ---\n' "$dir/kdc.log" >&2
                tail -n 20 "$dir/kdc.log" >&2
        fi
}

die() {
        printf 'realm.sh: %s\n' "$*" >&2
        kdc_log_tail
        exit 1
}

usage() {
        printf 'usage: %s [--verbose] {start|stop|kdc-start|kdc-stop} DIR\n' "${0##*/}" >&2
        exit 2
}

# Debian installs Heimdal's clients under *.heimdal names (the plain names
# are alternatives that may point at MIT's tools); prefer the explicit ones.
find_tool() {
        local name
        for name in "$1.heimdal" "$1"; do
                if command -v "$name" >/dev/null 2>&1; then
                        command -v "$name"
                        return 0
                fi
        done
        return 1
}

# True when a listening TCP socket or any UDP socket (v4 or v6) has local
# port $1. Connections in other TCP states (TIME_WAIT after a kdc-stop) do
# not stop the KDC from binding: it sets SO_REUSEADDR. Read from /proc so
# that no extra tool is needed.
port_in_use() {
        local hex f state
        hex=$(printf '%04X' "$1")
        for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
                [[ -r "$f" ]] || continue
                state=any
                [[ "$f" == */tcp* ]] && state=0A
                if awk -v p=":$hex" -v want="$state" \
                        'NR > 1 { n = split($2, a, ":");
                                  if (":" a[n] == p && (want == "any" || $4 == want)) { found = 1; exit } }
                         END { exit !found }' "$f"; then
                        return 0
                fi
        done
        return 1
}

# Pid from DIR/kdc.pid if it names a live KDC of this realm, else nothing.
# The pid file may be stale (KDC killed hard, pid reused), so the process's
# command line must name our kdc.conf before we signal anything.
kdc_pid() {
        local pid
        [[ -r "$dir/kdc.pid" ]] || return 1
        read -r pid <"$dir/kdc.pid" || return 1
        [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
        pid_is_our_kdc "$pid" || return 1
        printf '%s\n' "$pid"
}

pid_is_our_kdc() {
        local pid=$1 cmdline state
        [[ -r "/proc/$pid/stat" ]] || return 1
        # Field 3 of /proc/PID/stat (after the parenthesised name): a zombie
        # has exited already, it only waits to be reaped.
        state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
        [[ "$state" != Z && "$state" != X ]] || return 1
        cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        grep -Fqx -- "--config-file=$dir/kdc.conf" <<<"$cmdline" || return 1
        [[ "$(head -n1 <<<"$cmdline")" == */kdc || "$(head -n1 <<<"$cmdline")" == kdc ]] || return 1
        return 0
}

# Pid from DIR/kpasswdd.pid if it names our live kpasswdd, else nothing.
kpasswdd_pid() {
        local pid cmdline
        [[ -r "$dir/kpasswdd.pid" ]] || return 1
        read -r pid <"$dir/kpasswdd.pid" || return 1
        [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
        cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        grep -Fqx -- "--config-file=$dir/kdc.conf" <<<"$cmdline" || return 1
        [[ "$(head -n1 <<<"$cmdline")" == */kpasswdd ]] || return 1
        printf '%s\n' "$pid"
}

do_kpasswdd_stop() {
        local pid tries=50
        if pid=$(kpasswdd_pid); then
                say "stopping kpasswdd pid $pid"
                kill -TERM "$pid" 2>/dev/null
                while (( tries-- > 0 )) && kpasswdd_pid >/dev/null; do
                        sleep 0.1
                done
                kpasswdd_pid >/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$dir/kpasswdd.pid"
        return 0
}

# kpasswdd on the port krb5.conf names (kdc.port + 1), with the keys of
# kadmin/changepw@REALM in a keytab of its own (its default, the database
# itself, finds the wrong one now that the database holds two realms).
launch_kpasswdd() {
        local port=$1 tries=50
        rm -f "$dir/kpasswdd.pid"
        say "starting kpasswdd on 127.0.0.1:$port"
        ( cd "$dir" && exec 9>&- && env KRB5_CONFIG="$dir/krb5.conf" HEIM_PIDFILE_DIR="$dir/" \
                "$KPASSWDD_BIN" --config-file="$dir/kdc.conf" --port="$port" --addresses=127.0.0.1 \
                --keytab="FILE:$dir/kpasswd.keytab" --detach </dev/null >>"$dir/kpasswdd.log" 2>&1 ) \
                || die "kpasswdd failed to start (see $dir/kpasswdd.log)"
        while (( tries-- > 0 )) && ! kpasswdd_pid >/dev/null; do
                sleep 0.1
        done
        kpasswdd_pid >/dev/null || die "kpasswdd did not write $dir/kpasswdd.pid"
}

# Worker processes the KDC master forked (children whose cmdline is ours).
kdc_children() {
        local parent=$1 p ppid
        for p in /proc/[0-9]*; do
                p=${p#/proc/}
                ppid=$(sed -e 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2) || continue
                if [[ "$ppid" == "$parent" ]] && pid_is_our_kdc "$p"; then
                        printf '%s\n' "$p"
                fi
        done
}

# Wait up to $2 tenths of a second for every pid in $1 to be gone.
wait_gone() {
        local pids=$1 tries=$2 p alive
        while (( tries-- > 0 )); do
                alive=0
                for p in $pids; do
                        pid_is_our_kdc "$p" && alive=1
                done
                (( alive )) || return 0
                sleep 0.1
        done
        return 1
}

do_kdc_stop() {
        local pid children p
        if ! pid=$(kdc_pid); then
                say "no KDC running for $dir"
                rm -f "$dir/kdc.pid"
                return 0
        fi
        children=$(kdc_children "$pid")
        say "stopping KDC pid $pid (workers: ${children//$'\n'/ })"
        kill -TERM "$pid" 2>/dev/null
        if ! wait_gone "$pid $children" 50; then
                # SIGTERM makes the master stop its workers; if that did not
                # happen in 5 s, end every process of this KDC by force.
                for p in $pid $children; do
                        pid_is_our_kdc "$p" && kill -KILL "$p" 2>/dev/null
                done
                wait_gone "$pid $children" 20 || die "KDC pid $pid did not exit"
        fi
        rm -f "$dir/kdc.pid"
        return 0
}

# One kinit for alice proves the KDC answers on both the port and the
# database; it also leaves DIR/alice.ccache for tests of the ccache path.
probe_kdc() {
        KRB5_CONFIG="$dir/krb5.conf" KRB5CCNAME="FILE:$dir/alice.ccache" \
                timeout 5 "$KINIT" --password-file=STDIN -c "FILE:$dir/alice.ccache" "alice@$REALM" \
                <<<"alice-pw-1" >"$dir/kinit.out" 2>&1
}

# Start the KDC on $1. Returns 0 when it listens on UDP and TCP and
# answers, 1 when the port turned out to be taken (caller may retry),
# and dies on any other failure.
launch_kdc() {
        local port=$1 log_size pid tries new_log
        log_size=$(stat -c %s "$dir/kdc.log" 2>/dev/null || echo 0)
        rm -f "$dir/kdc.pid"
        say "starting KDC on 127.0.0.1:$port"
        # HEIM_PIDFILE_DIR keeps the KDC's pid file in DIR instead of
        # /var/run; this Heimdal concatenates it without a separator, hence
        # the trailing slash. --detach returns once the sockets are bound.
        ( cd "$dir" && exec 9>&- && env KRB5_CONFIG="$dir/krb5.conf" HEIM_PIDFILE_DIR="$dir/" \
                "$KDC_BIN" --config-file="$dir/kdc.conf" --ports="$port" --addresses=127.0.0.1 \
                --detach </dev/null >>"$dir/kdc.log" 2>&1 ) \
                || die "the KDC failed to start"
        tries=50
        while (( tries-- > 0 )) && ! pid=$(kdc_pid); do
                sleep 0.1
        done
        [[ -n "${pid:-}" ]] || die "the KDC did not write $dir/kdc.pid"

        new_log=$(tail -c +"$((log_size + 1))" "$dir/kdc.log")
        # The KDC sets SO_REUSEADDR, so a UDP bind can succeed on a port
        # that another process already uses: insist on our own two sockets.
        if grep -q 'Address already in use' <<<"$new_log" ||
           ! grep -q "port $port/udp" <<<"$new_log" ||
           ! grep -q "port $port/tcp" <<<"$new_log"; then
                say "port $port is taken, trying another"
                do_kdc_stop
                return 1
        fi

        tries=50
        until probe_kdc; do
                if (( --tries <= 0 )); then
                        cat "$dir/kinit.out" >&2
                        do_kdc_stop
                        die "the KDC on port $port does not answer"
                fi
                sleep 0.1
        done
        rm -f "$dir/kinit.out"
        return 0
}

write_configs() {
        local port=$1
        cat >"$dir/krb5.conf" <<EOF
# Generated by realm.sh for a test realm; see $dir/env.
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	forwardable = true
	default_cc_name = FILE:$dir/krb5cc
	default_keytab_name = FILE:$dir/service.keytab

[realms]
	$REALM = {
		kdc = 127.0.0.1:$port
		kpasswd_server = 127.0.0.1:$((port + 1))
	}
	$PROXY_REALM = {
		kdc = 127.0.0.1:1
	}

[domain_realm]
	localhost = $REALM
	.localhost = $REALM
	127.0.0.1 = $REALM
	proxied.test = $PROXY_REALM
EOF
        cat >"$dir/kdc.conf" <<EOF
# Generated by realm.sh. No master key: this realm's keys protect nothing.
[kdc]
	database = {
		dbname = $dir/heimdal
		# No realm here: the database holds $REALM and $PROXY_REALM.
		acl_file = $dir/kadmind.acl
		# kadmin -l appends every change to an iprop log, by default
		# in /var/lib/heimdal-kdc: keep it here.
		log_file = $dir/heimdal.iprop
	}

[logging]
	kdc = FILE:$dir/kdc.log
	default = FILE:$dir/kdc.log

# kpasswdd's policy (Heimdal's built-in check), so that a change can be
# refused: ChangeAccountPassword's policy refusal.
[password_quality]
	policies = builtin:minimum-length
	min_length = 8
EOF
        printf '%s\n' "$port" >"$dir/kdc.port"
        {
                printf 'export KRB5_CONFIG=%q\n' "$dir/krb5.conf"
                printf 'export SSPID_REALM=%q\n' "$REALM"
                printf 'export SSPID_KDC_PORT=%q\n' "$port"
                printf 'export SSPID_REALM_DIR=%q\n' "$dir"
                printf 'export SSPID_PROXY_REALM=%q\n' "$PROXY_REALM"
        } >"$dir/env"
}

make_database() {
        local out
        say "creating the database"
        # One kadmin process for all commands: each start costs ~0.1 s.
        out=$(KRB5_CONFIG="$dir/krb5.conf" "$KADMIN" -l -c "$dir/kdc.conf" 2>&1 <<EOF
init --realm-max-ticket-life=unlimited --realm-max-renewable-life=unlimited $REALM
add --password=alice-pw-1 --use-defaults alice
add --password=bob-pw-2 --use-defaults bob
add --random-key --use-defaults HTTP/localhost
add --random-key --use-defaults host/localhost
ext_keytab -k $dir/service.keytab HTTP/localhost host/localhost
ext_keytab -k $dir/http.keytab HTTP/localhost
ext_keytab -k $dir/kpasswd.keytab kadmin/changepw@$REALM
init --realm-max-ticket-life=unlimited --realm-max-renewable-life=unlimited $PROXY_REALM
add --password=proxy-pw-1 --use-defaults proxyuser@$PROXY_REALM
add --random-key --use-defaults HTTP/proxied.test@$PROXY_REALM
EOF
        ) || die "kadmin -l failed: $out"
        # kadmin's command loop does not fail on a failing command, so check
        # the results instead of the exit status.
        [[ -s "$dir/service.keytab" && -s "$dir/http.keytab" && -s "$dir/kpasswd.keytab" ]] || die "kadmin -l failed: $out"
        if [[ -n "$out" ]]; then
                say "kadmin: $out"
        fi
}

do_start() {
        local port
        if [[ -e "$dir" ]]; then
                [[ -d "$dir" ]] || die "$dir exists and is not a directory"
                [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
        else
                mkdir -p -- "$dir" || die "cannot create $dir"
        fi
        chmod 0700 "$dir" || die "cannot chmod $dir"
        take_lock

        make_database_once=0
        for _ in 1 2 3 4 5 6 7 8 9 10; do
                port=$(( PORT_MIN + (RANDOM * 32768 + RANDOM) % PORT_SPAN ))
                port_in_use "$port" && continue
                port_in_use "$((port + 1))" && continue
                write_configs "$port"
                if (( !make_database_once )); then
                        make_database
                        make_database_once=1
                fi
                if launch_kdc "$port"; then
                        launch_kpasswdd "$((port + 1))"
                        say "realm $REALM up: KDC 127.0.0.1:$port, . $dir/env"
                        return 0
                fi
        done
        die "no free port found for the KDC"
}

do_kdc_start() {
        local port
        [[ -r "$dir/kdc.port" && -r "$dir/kdc.conf" ]] || die "$dir holds no realm (run start first)"
        take_lock
        if kdc_kpid=$(kdc_pid); then
                say "KDC already running (pid $kdc_kpid)"
                return 0
        fi
        read -r port <"$dir/kdc.port"
        # The clients' krb5.conf names this port, so it cannot change now.
        port_in_use "$port" && die "port $port is now used by another process"
        launch_kdc "$port" || die "port $port is now used by another process"
}

# Serialise realm.sh calls on one DIR (a test's kdc-stop racing a
# kdc-start). The KDC must not inherit the lock descriptor.
take_lock() {
        exec 9>>"$dir/.lock" || die "cannot open $dir/.lock"
        flock 9 || die "cannot lock $dir/.lock"
}

while (( $# > 0 )); do
        case "$1" in
        -v|--verbose) verbose=1; shift ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) break ;;
        esac
done
(( $# == 2 )) || usage
cmd=$1
case "$2" in
/*) dir=$2 ;;
*) dir=$PWD/$2 ;;
esac
dir=${dir%/}
# Paths end up in configuration files and in a grep pattern of the kdc's
# command line: keep them to a safe alphabet.
[[ "$dir" =~ ^/[A-Za-z0-9._/+-]*$ ]] || die "unsupported characters in DIR: $dir"

KADMIN=$(find_tool kadmin) || die "kadmin not found (install heimdal-clients)"
KINIT=$(find_tool kinit) || die "kinit not found (install heimdal-clients)"
[[ -x "$KDC_BIN" ]] || die "$KDC_BIN not found (install heimdal-kdc)"

case "$cmd" in
start)
        do_start
        ;;
stop|kdc-stop)
        if [[ ! -d "$dir" ]]; then
                say "$dir does not exist, nothing to stop"
                exit 0
        fi
        take_lock
        do_kdc_stop
        [[ "$cmd" == stop ]] && do_kpasswdd_stop
        ;;
kdc-start)
        do_kdc_start
        ;;
*)
        usage
        ;;
esac
exit 0
