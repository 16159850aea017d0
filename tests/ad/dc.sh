#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A throw-away Active Directory domain controller for the AD suite: Samba's
# AD DC (Debian's samba, samba-ad-dc), provisioned in DIR and run inside
# network and mount namespaces of its own, so that its fixed ports (88, 389,
# 445, 135...) never meet the host's and /etc/hosts can name it.
#
#   dc.sh start DIR        provision realm CORP.TEST in DIR, start the DC
#   dc.sh exec DIR CMD...  run CMD in the DC's namespaces (cwd kept)
#   dc.sh stop DIR         stop the DC and every process of its namespaces
#
# The namespaces are held by one process (DIR/ns.pid: `sleep` under
# unshare): lo up with the DC's address 127.0.0.10, DIR/hosts bound over
# /etc/hosts (dc1.corp.test, web.corp.test, app1.corp.test...), tmpfs over
# /run and Samba's /var directories. Nothing is written outside DIR: no
# /etc/samba, /var/lib/samba, /run/samba of the host.
#
# What `start` leaves in DIR:
#   dc/           the DC's smb.conf, databases, logs (dc/log.*)
#   krb5.conf     a client configuration: realm CORP.TEST, kdc 127.0.0.10
#   service.keytab  HTTP/web.corp.test, HTTP/web (svc-web, AES) and
#                   HTTP/old.corp.test (svc-rc4: RC4 only, and only its RC4 key)
#   machine.keytab  APP1$, host/app1.corp.test, host/APP1,
#                   RestrictedKrbHost/app1.corp.test, RestrictedKrbHost/APP1:
#                   what a joined host's /etc/krb5.keytab holds
#   timing        seconds for provision, populate, start
#   env           `. DIR/env`: AD_DIR, AD_REALM, AD_DOMAIN, KRB5_CONFIG
# Accounts (passwords in tests/ad/README.md): alice, gina (UPN
# gina@mail.example), hank (UPN henry@corp.test), many (in 400 groups),
# dora (disabled), eve (expired), mona (must change password), svc-web,
# svc-rc4, APP1$; Administrator (Admin-pw-1!).
#
# Exits non-zero with the reason (and the DC's log) when anything is
# missing or fails: the suite must fail, never skip, without its DC.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readonly REALM=CORP.TEST DOMAIN=CORP ADDR=127.0.0.10
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|exec|stop DIR [CMD...]" >&2; exit 2; }

die() {
        echo "dc.sh: $*" >&2
        if [ -s "$dir/dc/samba.out" ]; then
                echo "--- last lines of $dir/dc/samba.out ---" >&2
                tail -n 20 "$dir/dc/samba.out" >&2
        fi
        exit 1
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

holder() { cat "$dir/ns.pid" 2>/dev/null; }

# nsenter into the holder's namespaces, keeping the working directory.
in_ns() {
        local pid
        pid=$(holder) || die "no namespace holder in $dir (not started?)"
        nsenter -t "$pid" --net --mount --wd="$PWD" -- "$@"
}

need() {
        local missing=() t
        for t in samba samba-tool unshare nsenter ip ktutil.heimdal kinit.heimdal; do
                command -v "$t" >/dev/null 2>&1 || missing+=("$t")
        done
        /usr/bin/python3 -c 'import samba.samdb' 2>/dev/null || missing+=("python3-samba")
        [ -d /usr/share/samba/setup/ad-schema ] || missing+=("samba-ad-provision")
        [ ${#missing[@]} -eq 0 ] ||
                die "missing: ${missing[*]} (tests/tools/install-deps check installs samba, samba-ad-dc, samba-ad-provision, winbind, ldap-utils)"
        [ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, samba)"
}

# Processes in the holder's network namespace (the DC, its children, and
# whatever tests left there), by the namespace's inode.
ns_pids() {
        local pid ns p
        pid=$(holder) || return 0
        ns=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || return 0
        for p in /proc/[0-9]*; do
                [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
        done
        return 0
}

wait_port() { # port seconds
        local i
        for i in $(seq 1 $(($2 * 10))); do
                in_ns bash -c "exec 3<>/dev/tcp/$ADDR/$1" 2>/dev/null && return 0
                kill -0 "$(cat "$dir/samba.pid")" 2>/dev/null || return 1
                sleep 0.1
        done
        return 1
}

# Each SPN gets the account's keys under its own name, as a join writes them
# (Samba's export by SPN gives only the RC4 key: the AES keys need the
# account's salt, which lives with the account's name).
spn_keytab() { # out account-keytab account spn...
        local out=$1 src=$2 acct=$3 spn
        shift 3
        cp "$src" "$out"
        for spn in "$@"; do
                cp "$src" "$dir/tmp.keytab"
                ktutil.heimdal -k "$dir/tmp.keytab" rename "$acct@$REALM" "$spn@$REALM"
                # ktutil copy exits 1 even when it copied: check the result.
                ktutil.heimdal copy "$dir/tmp.keytab" "$out" || true
                ktutil.heimdal -k "$out" list | grep -q " $spn@$REALM " || die "no $spn in $out"
        done
        rm -f "$dir/tmp.keytab"
}

start() {
        local t0 t_prov t_pop t_start conf=$dir/dc/etc/smb.conf
        need
        [ ! -e "$dir/ns.pid" ] || die "$dir already holds a DC (dc.sh stop it first)"
        mkdir -p "$dir/dc/run"
        chmod 755 "$dir"
        cat >"$dir/hosts" <<HOSTS
127.0.0.1 localhost
$ADDR dc1.corp.test dc1
$ADDR web.corp.test web old.corp.test app1.corp.test app1
HOSTS
        # The holder: lo up, the DC's address, our hosts file; then it sleeps
        # until stop kills it. The mount namespace is private, so the bind
        # over /etc/hosts is seen by nothing outside.
        # Samba's compiled-in paths (/run/samba for ncalrpc and winbindd's
        # socket, /var/lib/samba, /var/cache/samba, /var/log/samba) get
        # tmpfs mounts seen only in the namespace: whatever a Samba tool
        # writes by default stays off the host, and ntlm_auth finds the
        # DC's winbindd where it looks for it.
        unshare --net --mount --propagation private -- /bin/sh -c "
                ip link set lo up && ip addr add $ADDR/8 dev lo && mount --bind '$dir/hosts' /etc/hosts &&
                mount -t tmpfs -o mode=755 sspid-ad /run && mkdir -p /run/samba &&
                for d in /var/lib/samba /var/cache/samba /var/log/samba; do
                        [ ! -d \$d ] || mount -t tmpfs -o mode=755 sspid-ad \$d || exit 1
                done &&
                echo ready >'$dir/ns.ready' && exec sleep infinity" </dev/null >"$dir/ns.log" 2>&1 &
        echo $! >"$dir/ns.pid"
        for _ in $(seq 1 50); do
                [ -e "$dir/ns.ready" ] && break
                kill -0 "$(holder)" 2>/dev/null || die "cannot create namespaces: $(cat "$dir/ns.log")"
                sleep 0.1
        done
        [ -e "$dir/ns.ready" ] || die "namespaces not ready: $(cat "$dir/ns.log")"

        # tdb's fsync on every transaction is most of the provisioning time
        # on a busy disk; a throw-away DC needs no durability.
        export TDB_NO_FSYNC=1
        t0=$(now)
        in_ns samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
                --dns-backend=NONE --host-name=dc1 --host-ip="$ADDR" --adminpass='Admin-pw-1!' \
                --use-rfc2307 --targetdir="$dir/dc" --option="interfaces=$ADDR" \
                --option="bind interfaces only=yes" >"$dir/dc/provision.log" 2>&1 ||
                { tail -n 20 "$dir/dc/provision.log" >&2; die "samba-tool domain provision failed"; }
        t_prov=$(since "$t0")
        # Everything the DC writes stays in DIR; only the services the
        # tests use (no DNS updates, replication, WINS).
        sed -i -e "s|^\tlog file = .*|\tlog file = $dir/dc/log.%m\n\tpid directory = $dir/dc/run\n\tncalrpc dir = $dir/dc/run/ncalrpc\n\tntp signd socket directory = $dir/dc/run/ntp_signd\n\tlog level = 1 auth_audit:3 kerberos:3|" \
                -e "s|^\tpanic action = .*|\tpanic action =|" \
                -e "s|^\tserver services = .*|\tserver services = s3fs, rpc, nbt, ldap, cldap, kdc, winbindd|" "$conf"
        grep -q "log file = $dir" "$conf" || die "could not adjust $conf"

        t0=$(now)
        in_ns /usr/bin/python3 "$here/populate.py" "$conf" "$dir" >"$dir/dc/populate.log" 2>&1 ||
                { tail -n 20 "$dir/dc/populate.log" >&2; die "populate.py failed"; }
        spn_keytab "$dir/service.keytab" "$dir/svc-web.keytab" svc-web HTTP/web.corp.test HTTP/web
        spn_keytab "$dir/rc4.keytab" "$dir/svc-rc4.keytab" svc-rc4 HTTP/old.corp.test
        # Only the RC4 key for HTTP/old: a ticket it decrypts is an RC4 ticket.
        for e in aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96; do
                ktutil.heimdal -k "$dir/rc4.keytab" remove -p "HTTP/old.corp.test@$REALM" -e "$e"
        done
        ktutil.heimdal -k "$dir/rc4.keytab" remove -p "svc-rc4@$REALM"
        ktutil.heimdal -k "$dir/rc4.keytab" list | grep -q aes && die "AES keys left in rc4.keytab"
        ktutil.heimdal copy "$dir/rc4.keytab" "$dir/service.keytab" || true
        ktutil.heimdal -k "$dir/service.keytab" list | grep -q " HTTP/old.corp.test@$REALM " ||
                die "no HTTP/old.corp.test in service.keytab"
        spn_keytab "$dir/machine.keytab" "$dir/app1.keytab" 'APP1$' host/app1.corp.test host/APP1 \
                RestrictedKrbHost/app1.corp.test RestrictedKrbHost/APP1
        chmod 600 "$dir"/*.keytab
        t_pop=$(since "$t0")

        cat >"$dir/krb5.conf" <<KRB5
[libdefaults]
        default_realm = $REALM
        dns_lookup_kdc = false
        dns_lookup_realm = false
        dns_canonicalize_hostname = false
        rdns = false
        kdc_timeout = 10
[realms]
        $REALM = {
                kdc = $ADDR
        }
[domain_realm]
        .corp.test = $REALM
        corp.test = $REALM
KRB5

        t0=$(now)
        # -M single: one process for the DC's services (the default forks
        # four per service, too many for a test on a shared machine).
        nsenter -t "$(holder)" --net --mount -- samba -i -M single -s "$conf" </dev/null >"$dir/dc/samba.out" 2>&1 &
        echo $! >"$dir/samba.pid"
        wait_port 88 60 || die "the KDC (port 88) did not answer within 60 s"
        wait_port 389 60 || die "LDAP (port 389) did not answer within 60 s"
        # A real logon proves the KDC serves the populated database.
        KRB5_CONFIG=$dir/krb5.conf in_ns kinit.heimdal --password-file=STDIN -c "FILE:$dir/alice.ccache" \
                alice@$REALM <<<'Alice-pw-1' >"$dir/kinit.out" 2>&1 ||
                die "kinit alice failed: $(cat "$dir/kinit.out")"
        t_start=$(since "$t0")
        printf 'provision %s s, populate %s s, start %s s\n' "$t_prov" "$t_pop" "$t_start" >"$dir/timing"
        cat >"$dir/env" <<ENV
export AD_DIR=$dir
export AD_REALM=$REALM
export AD_DOMAIN=$DOMAIN
export AD_DC=dc1.corp.test
export KRB5_CONFIG=$dir/krb5.conf
ENV
}

stop() {
        local pids p i
        [ -e "$dir/ns.pid" ] || return 0
        if [ -e "$dir/samba.pid" ]; then
                kill -TERM "$(cat "$dir/samba.pid")" 2>/dev/null || true
        fi
        # samba stops its children on SIGTERM; whatever is left in our
        # namespace after 5 s (and the holder) is killed.
        for i in $(seq 1 50); do
                pids=$(ns_pids | grep -vx "$(holder)" || true)
                [ -z "$pids" ] && break
                sleep 0.1
        done
        for p in $(ns_pids); do
                kill -KILL "$p" 2>/dev/null || true
        done
        wait 2>/dev/null || true
        rm -f "$dir/ns.pid" "$dir/ns.ready" "$dir/samba.pid"
}

case "$cmd" in
start)
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        # A failed start leaves nothing running (set -e ends start early).
        trap 'rc=$?; [ "$rc" -eq 0 ] || stop; exit "$rc"' EXIT
        start
        ;;
exec)
        dir=$(cd "$dir" && pwd)
        shift 2
        in_ns "$@"
        ;;
stop)
        [ -d "$dir" ] || exit 0
        dir=$(cd "$dir" && pwd)
        stop
        ;;
*)
        echo "usage: $0 start|exec|stop DIR [CMD...]" >&2
        exit 2
        ;;
esac
