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
# A caller-chosen name with a newline, a forged line and escape sequences
# (tests/adversarial/test_log_injection does the same on stderr).
( . "$work/world/env"; python3 - "$top/build/libsspi.so" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
class Ident(ctypes.Structure):
    _fields_ = [("User", ctypes.c_char_p), ("UserLength", ctypes.c_uint32), ("Domain", ctypes.c_char_p),
                ("DomainLength", ctypes.c_uint32), ("Password", ctypes.c_char_p),
                ("PasswordLength", ctypes.c_uint32), ("Flags", ctypes.c_uint32)]
user = b"jinject\nsspid: audit: uid 0 pid 1 forged\x1b]0;t\x07\x1b[2J"
ident = Ident(user, len(user), b"CORP", 4, b"pw", 2, 1)
cred, ts = (ctypes.c_uint64 * 2)(), ctypes.c_uint64()
st = lib.AcquireCredentialsHandleA(None, b"NTLM", 2, None, ctypes.byref(ident), None, None, cred, ctypes.byref(ts))
sys.exit(0 if st == 0 else 1)
PY
) || nok "NTLM credential with an injected name"
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
inj = [e for e in audit if "jinject" in str(e.get("SSPID_PRINCIPAL", ""))]
ok(len(inj) == 1, "the audit entry of a name with a newline and escape sequences is there (%d)" % len(inj))
ok(all(isinstance(e.get(k), str) and "\\x0asspid: audit" in e[k] and "\\x1b]0;t\\x07" in e[k] and
       not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in e[k]) for e in inj for k in ("SSPID_PRINCIPAL", "MESSAGE")),
   "its SSPID_PRINCIPAL and MESSAGE are escaped: no control character, \\x0a and \\x1b instead")
blob = open(sys.argv[1]).read()
ok("alice-pw-1" not in blob and "bob-pw-2" not in blob, "no password anywhere in the journal")
PY
