#!/usr/bin/env bash
# A throwaway world for tests, the demo and benchmarks: a Heimdal realm on
# loopback (realm.sh) and an sspid on a socket in DIR, granting the realm's
# service keytab to the current user.
#
#   testenv.sh start DIR     # then: . DIR/env
#   testenv.sh stop DIR
#   testenv.sh restart-daemon DIR
#
# SSPID_BIN picks the daemon binary (default build/sspid); SSPID_DAEMON_WRAPPER,
# if set, is a command the daemon is started under (words, then the daemon).
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
                LSAN_OPTIONS="${SSPID_DAEMON_LSAN_OPTIONS:-${LSAN_OPTIONS:-}}" setsid ${SSPID_DAEMON_WRAPPER:-} "${SSPID_BIN:-$top/build/sspid}" --socket "$dir/sspid.sock" \
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

# HTTP Digest: an HA1 store (never passwords) for the test users, one
# [digest-store] per algorithm the tests exercise.
digest_realm="sspid-digest@test"
digest_config() {
        local store=$dir/digest.ha1 u p
        : >"$store"
        chmod 600 "$store"
        for u in alice:alice-pw-1 bob:bob-pw-2 zoë:zoe-pw-3; do
                p=${u#*:}; u=${u%%:*}
                echo "$u:$digest_realm:$(printf '%s' "$u:$digest_realm:$p" | md5sum | cut -d' ' -f1)" >>"$store"
                echo "$u:$digest_realm:SHA-256:$(printf '%s' "$u:$digest_realm:$p" | sha256sum | cut -d' ' -f1)" >>"$store"
                echo "$u:$digest_realm:SHA-512-256:$(printf '%s' "$u:$digest_realm:$p" | openssl dgst -sha512-256 -r | cut -d' ' -f1)" >>"$store"
        done
        printf '\n[digest]\nnonce-lifetime = 4\n'
        for a in http:SHA-256:no userhash:SHA-256:yes md5:MD5:no md5-sess:MD5-sess:no sha256:SHA-256:no \
                 sha256-sess:SHA-256-sess:no sha512-256:SHA-512-256:no sha512-256-sess:SHA-512-256-sess:no; do
                printf '\n[digest-store %s]\nfile = %s\nrealm = %s\nalgorithm = %s\nuserhash = %s\nallow = %s\n' \
                        "${a%%:*}" "$store" "$digest_realm" "$(echo "$a" | cut -d: -f2)" "${a##*:}" "$(id -u)"
        done
}

# NTLM: an NT-hash store (MD4 of the UTF-16LE password, precomputed: OpenSSL
# 3 keeps MD4 in its legacy provider), closed to group and others.
ntlm_config() {
        local store=$dir/ntlm.hashes
        umask 077
        printf '%s\n' 'SSPID\alice:3eff9d2248a167e6f337bbb22037800f' \
                'SSPID\bob:f2eb2702800eb96982f2fbea2d6b35e5' \
                "$SSPID_REALM\\alice:3eff9d2248a167e6f337bbb22037800f" \
                "$SSPID_REALM\\bob:f2eb2702800eb96982f2fbea2d6b35e5" >"$store"
        umask 022
        printf '\n[ntlm-store sspid]\nfile = %s\ndomain = SSPID\nallow = %s\n' "$store" "$(id -u)"
        # The same accounts with NTLMv1 turned on, for test_ntlm's legacy case
        # (acquired by name; the default store above refuses NTLMv1).
        printf '\n[ntlm-store legacy]\nfile = %s\ndomain = LEGACY\nallow-ntlmv1 = yes\nallow = %s\n' "$store" "$(id -u)"
}

# Schannel: a test CA, server certificates (RSA, ECDSA P-256, expired, wrong
# name, from an untrusted CA), a client certificate, and one certificate
# granted to nobody, all in DIR/pki; the daemon holds the keys.
schannel_config() {
        local pki=$dir/pki n
        mkdir -p "$pki"
        (
                cd "$pki"
                issue() { # name keytype CN days ca [extendedKeyUsage]
                        if [ "$2" = rsa ]; then openssl genrsa -out "$1.key" 2048 2>/dev/null
                        else openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"; fi
                        openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
                        printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=%s\n' "$3" "${6:-serverAuth,clientAuth}" >"$1.ext"
                        openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" -CAcreateserial -days "$4" \
                                -extfile "$1.ext" -out "$1.pem" 2>/dev/null
                        rm -f "$1.csr" "$1.ext"
                }
                for n in ca otherca; do
                        openssl ecparam -name prime256v1 -genkey -noout -out $n.key
                        openssl req -new -x509 -key $n.key -subj "/CN=sspid test $n" -days 30 -out $n.pem 2>/dev/null
                done
                issue server-rsa rsa localhost 30 ca
                issue server-ec ec localhost 30 ca
                issue expired ec localhost -1 ca
                issue wrongname ec wrong.example 30 ca
                issue untrusted ec localhost 30 otherca
                issue client ec "sspid test client" 30 ca
                issue ungranted ec localhost 30 ca
                issue clientonly ec localhost 30 ca clientAuth
        )
        printf '\n[schannel]\nca-file = %s\n' "$pki/ca.pem"
        for n in server-rsa server-ec expired wrongname untrusted client clientonly; do
                printf '\n[certificate %s]\nfile = %s\nkey = %s\nallow = %s\n' "$n" "$pki/$n.pem" "$pki/$n.key" "$(id -u)"
        done
        printf '\n[certificate ungranted]\nfile = %s\nkey = %s\nallow = 65534\n' "$pki/ungranted.pem" "$pki/ungranted.key"
}

stop_daemon() {
        local pid
        [ -f "$dir/sspid.pid" ] || return 0
        pid=$(cat "$dir/sspid.pid")
        if kill -0 "$pid" 2>/dev/null && grep -q sspid "/proc/$pid/cmdline" 2>/dev/null; then
                kill -TERM "$pid"
                # Under a wrapper (valgrind) the exit and its report take longer.
                for _ in $(seq 1 $([ -n "${SSPID_DAEMON_WRAPPER:-}" ] && echo 1200 || echo 100)); do
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
# test_kdcproxy's MS-KKDCP proxy has a certificate of the Schannel test CA.
kdc-proxy-ca-file = $dir/pki/ca.pem

[acceptor http]
principal = HTTP/localhost@$SSPID_REALM
keytab = $dir/realm/service.keytab
allow = $(id -u)

[acceptor host]
principal = host/localhost@$SSPID_REALM
keytab = $dir/realm/service.keytab
allow = $(id -u)

# uid 65531 (used by no other test: 65534 and 65533 are "no grant at
# all") may accept as host/localhost only, never as HTTP/localhost
# from the same keytab (test_acceptor_keys's grant boundary).
[acceptor narrow]
principal = host/localhost@$SSPID_REALM
keytab = $dir/realm/service.keytab
allow = 65531
CONF
        digest_config >>"$dir/sspid.conf"
        ntlm_config >>"$dir/sspid.conf"
        schannel_config >>"$dir/sspid.conf"
        start_daemon
        cat >"$dir/env" <<ENV
export SSPID_TESTENV=$dir
export SSPID_SOCKET=$dir/sspid.sock
export SSPID_ADMIN_SOCKET=$dir/admin.sock
export SSPID_DIGEST_REALM=$digest_realm
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
