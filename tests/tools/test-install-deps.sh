#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install-deps never removes or replaces a package the user has (issue 15
# item 8), tested without touching this machine: install-deps --dry-run
# against copies of the dpkg database edited to play other hosts (one with
# MIT's krb5-user and no Heimdal tools), with apt-get -s simulating each
# request. Prints "ok - " / "not ok - " lines.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
deps=$top/tests/tools/install-deps
work=$(mktemp -d /tmp/sspid-deps.XXXXXX)
trap '[ -n "${SSPID_DEPS_KEEP:-}" ] || rm -rf "$work"' EXIT
failed=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { # description command...
        local what=$1
        shift
        if "$@"; then ok "$what"; else notok "$what"; fi
}

# host NAME DROP... -- ADD...: a dpkg admin dir like this machine's, without
# the stanzas of DROP and with ADD (and what ADD depends on) installed.
host() {
        local name=$1 d=$work/$1 p
        shift
        local drop=() add=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do drop+=("$1"); shift; done
        [ $# -gt 0 ] && shift
        add=("$@")
        mkdir -p "$d"
        awk -v drop=" ${drop[*]} " 'BEGIN { RS = ""; ORS = "\n\n" }
                { split($0, l, "\n"); n = l[1]; sub(/^Package: /, "", n)
                  if (index(drop, " " n " ") == 0) print }' /var/lib/dpkg/status >"$d/status"
        if [ ${#add[@]} -gt 0 ]; then
                for p in $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                                --no-replaces --no-enhances "${add[@]}" | grep -E '^[a-z0-9]' | sort -u); do
                        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
                        apt-cache show --no-all-versions "$p" 2>/dev/null |
                                awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1 {
                                        sub(/\n/, "\nStatus: install ok installed\n")
                                        # Archive fields are not allowed in a status file.
                                        gsub(/\n(Filename|Size|MD5sum|SHA1|SHA256|SHA512|Description-md5|Tag|Section):[^\n]*/, "")
                                        print }' >>"$d/status"
                done
        fi
        echo "$d"
}

# 1. This machine: every set is satisfied, or installable without removing.
for m in build demo check; do
        if out=$("$deps" --dry-run "$m" 2>&1); then
                ok "install-deps --dry-run $m on this host: $(echo "$out" | tail -1)"
        else
                notok "install-deps --dry-run $m on this host:"
                echo "$out" | sed 's/^/# /'
        fi
done

# 2. A host with MIT's krb5-user and without Heimdal's tools and headers.
mit=$(host mit heimdal-clients heimdal-kdc heimdal-multidev -- krb5-user)
grep -q '^Package: krb5-user$' "$mit/status" && ! grep -q '^Package: heimdal-clients$' "$mit/status" ||
        notok "the MIT host's dpkg database was built"
# apt agrees that heimdal-clients cannot come without removing krb5-user.
if apt-get -s -o "Dir::State::status=$mit/status" --no-remove install heimdal-clients >"$work/apt.out" 2>&1; then
        notok "apt-get -s --no-remove refuses heimdal-clients next to krb5-user (it accepted it)"
else
        ok "apt-get -s --no-remove refuses heimdal-clients next to krb5-user (the conflict is real)"
fi
out=$(SSPID_DPKG_ADMINDIR=$mit "$deps" --dry-run build 2>&1)
rc=$?
check "MIT host: install-deps build succeeds (sspid needs only Heimdal's libraries, beside krb5-user): $(echo "$out" | tail -1)" \
        test "$rc" -eq 0
check "MIT host: the build set brings heimdal-multidev" grep -q 'would install.*heimdal-multidev' <<<"$out"
out=$(SSPID_DPKG_ADMINDIR=$mit "$deps" --dry-run demo 2>&1)
rc=$?
check "MIT host: install-deps demo stops (status $rc) instead of replacing krb5-user" test "$rc" -ne 0
check "MIT host: the message names the conflict (heimdal-clients vs krb5-user)" \
        grep -q 'heimdal-clients conflicts with your krb5-user' <<<"$out"
check "MIT host: the message says nothing was removed and how to build anyway" \
        grep -q "nothing was installed or removed" <<<"$out"
out=$(SSPID_DPKG_ADMINDIR=$mit "$deps" --dry-run check 2>&1)
check "MIT host: install-deps check stops with the same message" grep -q 'conflicts with your krb5-user' <<<"$out"

# 3. The demo installs what the demo needs only: on a host without the
# test-only tools (clang, valgrind), demo plans nothing, check plans them.
lean=$(host lean clang valgrind clang-14)
out=$(SSPID_DPKG_ADMINDIR=$lean "$deps" --dry-run demo 2>&1)
check "host without clang and valgrind: install-deps demo installs nothing ($out)" \
        grep -q 'demo: nothing to install' <<<"$out"
out=$(SSPID_DPKG_ADMINDIR=$lean "$deps" --dry-run check 2>&1)
check "the same host: install-deps check would install clang and valgrind, removing nothing" \
        grep -q 'would install.*clang.*valgrind' <<<"$out"

# 4. The conflict table of install-deps matches Debian's Conflicts: fields.
for pair in heimdal-clients:krb5-user heimdal-kdc:krb5-kdc heimdal-kdc:krb5-admin-server \
        libsasl2-modules-gssapi-mit:libsasl2-modules-gssapi-heimdal; do
        a=${pair%%:*} b=${pair#*:}
        if apt-cache show --no-all-versions "$a" "$b" 2>/dev/null | grep -E '^(Conflicts|Breaks):' |
                grep -qE "(^|[ ,:])($a|$b)([ ,(]|$)"; then
                ok "Debian declares $a and $b conflicting (install-deps checks it before apt)"
        else
                notok "Debian declares $a and $b conflicting"
        fi
done
# 5. Every apt-get install of install-deps passes --no-remove.
check "install-deps runs apt-get only with --no-remove" \
        bash -c "! grep -E 'apt-get.* install( |$)' '$deps' | grep -vE 'apt_opts|--no-remove' | grep -q ."
check "apt_opts holds --no-remove" grep -q 'apt_opts=.*--no-remove' "$deps"
echo "# $failed failed"
[ "$failed" -eq 0 ]
