#!/usr/bin/env bash
# `make install` into a DESTDIR, a program built against the installed
# sspi.h / sspi.pc, `make uninstall`; then an install under a real PREFIX
# whose units `systemd-analyze verify` checks, and the service's
# `systemd-analyze security` rating (at most 2.0). Prints ok / not ok lines.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
tmp=$(mktemp -d /tmp/sspid-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { if [ "$1" = 0 ]; then echo "ok - $2"; pass=$((pass + 1)); else echo "not ok - $2"; fail=$((fail + 1)); fi; }
check() { local msg=$1; shift; "$@" >/dev/null 2>&1; ok $? "$msg"; }

root=$tmp/root
make -s --no-print-directory -o build/sspid -o build/libsspi.so.1 -o build/sspictl install DESTDIR="$root" PREFIX=/usr >"$tmp/install.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr"
for f in usr/sbin/sspid usr/bin/sspictl usr/lib/libsspi.so.1.0.0 usr/include/sspi/sspi.h \
        usr/lib/pkgconfig/sspi.pc usr/lib/systemd/system/sspid.service usr/lib/systemd/system/sspid.socket \
        usr/lib/systemd/system/sspid-admin.socket usr/lib/sysusers.d/sspid.conf usr/lib/tmpfiles.d/sspid.conf \
        usr/share/doc/sspid/sspid.conf.example usr/share/man/man8/sspid.8 usr/share/man/man8/sspictl.8 \
        usr/share/man/man5/sspid.conf.5; do
        check "installed $f" test -s "$root/$f"
done
check "libsspi.so.1 -> libsspi.so.1.0.0, libsspi.so -> libsspi.so.1" \
        test "$(readlink "$root/usr/lib/libsspi.so.1")" = libsspi.so.1.0.0 -a "$(readlink "$root/usr/lib/libsspi.so")" = libsspi.so.1
check "soname is libsspi.so.1" sh -c "readelf -d '$root/usr/lib/libsspi.so.1.0.0' | grep -q 'SONAME.*\[libsspi.so.1\]'"
check "sspi.pc says prefix=/usr" grep -qx 'prefix=/usr' "$root/usr/lib/pkgconfig/sspi.pc"
check "the unit starts the installed daemon" grep -q '^ExecStart=/usr/sbin/sspid ' "$root/usr/lib/systemd/system/sspid.service"

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <sspi.h>
int main(void) {
        PSecurityFunctionTableA t = InitSecurityInterfaceA();
        printf("%s\n", t && t->AcquireCredentialsHandleA && t->InitializeSecurityContextA ? "table" : "none");
        return t ? 0 : 1;
}
C
flags=$(PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$root/usr/lib/pkgconfig" pkg-config --cflags --libs sspi)
ok $? "pkg-config --cflags --libs sspi from the DESTDIR ($flags)"
# shellcheck disable=SC2086
cc -Wall -Werror -o "$tmp/prog" "$tmp/prog.c" $flags >"$tmp/cc.log" 2>&1
ok $? "a program builds against the installed sspi.h and libsspi.so"
check "it runs with the installed library" sh -c "LD_LIBRARY_PATH='$root/usr/lib' '$tmp/prog' | grep -qx table"
check "it records the soname libsspi.so.1" sh -c "readelf -d '$tmp/prog' | grep -q 'NEEDED.*\[libsspi.so.1\]'"

make -s --no-print-directory -o build/sspid -o build/libsspi.so.1 -o build/sspictl uninstall DESTDIR="$root" PREFIX=/usr >>"$tmp/install.log" 2>&1
ok $? "make uninstall"
left=$(find "$root" \( -type f -o -type l \) | wc -l)
ok "$([ "$left" -eq 0 ] && echo 0 || echo 1)" "uninstall leaves no file behind ($left left)"

# Units verified where they are installed for real (a temp PREFIX), with
# their man pages on MANPATH.
prefix=$tmp/prefix
make -s --no-print-directory -o build/sspid -o build/libsspi.so.1 -o build/sspictl install PREFIX="$prefix" >>"$tmp/install.log" 2>&1
ok $? "make install PREFIX=$prefix"
units=$prefix/lib/systemd/system
out=$(MANPATH="$prefix/share/man" systemd-analyze verify "$units/sspid.service" "$units/sspid.socket" \
        "$units/sspid-admin.socket" 2>&1)
rc=$?
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
ok $rc "systemd-analyze verify: sspid.service, sspid.socket, sspid-admin.socket"
level=$(systemd-analyze security --offline=true "$units/sspid.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for sspid.service: \([0-9.]*\).*/\1/p')
ok "$(awk -v l="${level:-99}" 'BEGIN { print (l <= 2.0) ? 0 : 1 }')" \
        "systemd-analyze security rates sspid.service ${level:-?} (at most 2.0)"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
