#!/usr/bin/env bash
# Runs SSSD's KCM responder (sssd_kcm, Debian's sssd-kcm) standalone for
# test_ccache_kcm: its own sssd.conf, confdb and secrets database in DIR,
# bind-mounted over /etc/sssd and /var/lib/sss in a private mount namespace
# (the host's SSSD, if any, is not touched), listening on DIR/kcm.sock.
#
#   sssd-kcm.sh start DIR    waits until the socket is there (10 s at most)
#   sssd-kcm.sh stop DIR
#
# Needs root (unshare -m); sssd_kcm runs as root, as systemd starts it.
set -euo pipefail

cmd=${1:?usage: sssd-kcm.sh start|stop DIR}
dir=${2:?usage: sssd-kcm.sh start|stop DIR}
bin=/usr/libexec/sssd/sssd_kcm

case "$cmd" in
start)
        [ -x "$bin" ] || { echo "sssd-kcm.sh: $bin missing (apt-get install sssd-kcm)" >&2; exit 1; }
        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd)
        rm -rf "$dir/kcm.sock" "$dir/sss"
        for d in db secrets pipes/private mc pubconf gpo_cache deskprofile; do
                mkdir -p "$dir/sss/$d"
        done
        mkdir -p "$dir/etc/conf.d"
        cat >"$dir/etc/sssd.conf" <<EOC
[sssd]
services = kcm
[kcm]
socket_path = $dir/kcm.sock
EOC
        chmod 600 "$dir/etc/sssd.conf"
        rm -f "$dir/pid"
        # Orphaned from the start (the subshell exits at once): sssd_kcm
        # shuts down when the parent it started with goes away.
        # shellcheck disable=SC2016
        (unshare -m --propagation private sh -c '
                set -e
                echo $$ >"$1/pid"
                mount --bind "$1/sss" /var/lib/sss
                mount --bind "$1/etc" /etc/sssd
                /usr/sbin/sssd --genconf-section=kcm
                exec "$2" --uid 0 --gid 0 --logger=stderr -d 0x0070
        ' sh "$dir" "$bin" </dev/null >"$dir/sssd_kcm.log" 2>&1 &)
        for _ in $(seq 100); do
                [ -S "$dir/kcm.sock" ] && exit 0
                [ -f "$dir/pid" ] && ! kill -0 "$(cat "$dir/pid")" 2>/dev/null && break
                sleep 0.1
        done
        echo "sssd-kcm.sh: sssd_kcm did not start:" >&2
        cat "$dir/sssd_kcm.log" >&2
        exit 1
        ;;
stop)
        [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null || true
        rm -f "$dir/pid"
        ;;
*) echo "usage: sssd-kcm.sh start|stop DIR" >&2; exit 2 ;;
esac
