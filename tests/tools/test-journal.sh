#!/usr/bin/env bash
# sspid's structured logging under journald: a daemon whose stderr is a
# journal stream sends MESSAGE plus SSPID_* fields, an audit entry for each
# credential acquisition and accepted context, and never a password.
# Starts a private systemd-journald when none is running (containers), and
# stops it again.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/sspid-journal.XXXXXX)
chmod 755 "$work"
journald_pid=

cleanup() {
        tests/tools/testenv.sh stop "$work/world" >/dev/null 2>&1
        [ -n "$journald_pid" ] && kill "$journald_pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT INT TERM

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }

listening() { echo probe | systemd-cat -t sspid-jprobe >/dev/null 2>&1; }
if ! listening; then
        /lib/systemd/systemd-journald >"$work/journald.log" 2>&1 &
        journald_pid=$!
        for _ in $(seq 1 50); do
                listening && break
                sleep 0.1
        done
fi
if listening; then ok "journald listening"; else nok "no journald"; cat "$work/journald.log"; exit 1; fi

tag="sspid-jtest-$$"
if ! SSPID_DAEMON_WRAPPER="systemd-cat -t $tag $top/tests/tools/journal-wrap.sh" \
        tests/tools/testenv.sh start "$work/world" >"$work/testenv.log" 2>&1; then
        nok "test world under journald"; cat "$work/testenv.log"; exit 1
fi
pid=$(cat "$work/world/sspid.pid")
ok "sspid started with stderr on a journal stream (pid $pid)"

# Some real work: credentials, handshakes, failures.
( . "$work/world/env"; SSPID_TOP=$top build/tests/integration/test_api >"$work/api.out" 2>&1 )
tests/tools/testenv.sh stop "$work/world" >/dev/null 2>&1
sleep 0.5
journalctl --no-pager -o json _PID="$pid" >"$work/journal.json" 2>/dev/null

python3 - "$work/journal.json" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def ok(c, m): print(("ok - " if c else "not ok - ") + m)
ok(len(entries) > 0, "%d journal entries from the daemon" % len(entries))
ident = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "sspid"]
ok(len(ident) > 0, "entries carry SYSLOG_IDENTIFIER=sspid (%d)" % len(ident))
audit = [e for e in entries if e.get("SSPID_AUDIT") == "1"]
ok(len(audit) > 0, "audit entries (%d)" % len(audit))
ok(all("SSPID_UID" in e and "SSPID_PID" in e for e in audit), "audit entries name the caller's uid and pid")
ok(any(e.get("SSPID_PACKAGE") == "Kerberos" for e in audit), "audit entries name the package")
ok(any("SSPID_PRINCIPAL" in e for e in audit), "audit entries name the principal")
blob = open(sys.argv[1]).read()
ok("alice-pw-1" not in blob and "bob-pw-2" not in blob, "no password anywhere in the journal")
PY
