/* SPDX-License-Identifier: MIT */
/*
 * Finding 8: log and terminal injection. Names a client chooses (user names,
 * targets, the command name a process gives itself) reached the daemon's
 * audit lines and the sspictl tables raw: a user name with "\n" forged a
 * whole "audit: uid 0 ..." line, and `sspictl contexts` sent the
 * attacker's OSC/CSI sequences to the administrator's terminal.
 *
 * uid 65534 acquires NTLM credentials named with a newline and a forged
 * audit line, OSC and CSI sequences (ESC-based and the UTF-8 encoded C1
 * CSI), a backslash, and a name longer than the bound (bytes that are not
 * UTF-8 never pass the wire validation; escape_text covers them anyway, see
 * tests/unit/test_log.c); starts an NTLM
 * context toward such a target; and renames its process. Then:
 *   - no line of the daemon log starts with the forged prefix, and the log
 *     holds no control byte but "\n", no DEL, no C1, only UTF-8;
 *   - `sspictl credentials/contexts/calls/sessions` print no such byte;
 *   - the long name is cut, with the marker, in the log and in the table;
 *   - control: the escaped form of each name IS there (the test looked at
 *     the lines that carry them), and the victim (root) is served.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define FORGED "sspid: audit: uid 0 pid 1 acquired a credential (two-way, Kerberos) for Administrator@CORP"
/* A user name: a newline, then a whole forged audit line, then a window
 * title (OSC), a screen clear (CSI), the C1 CSI as UTF-8 and a backslash. */
#define USER "mallory\n" FORGED "\x1b]0;owned\x07\x1b[2J\xc2\x9b" "31m\\end"
#define TARGET "HTTP/evil\r" FORGED "\x1b[1A\x1b[2K\x7f"
#define COMM "\x1b]0;x\x07\x1b[2Jz"
/* The library takes up to 256 characters of user and of domain: the
 * credential's name, DOMAIN\user, is 501 bytes, above the bound (256). */
#define LONG_LEN 250

static int ready[2];
static char long_user[LONG_LEN + 1], long_domain[LONG_LEN + 1];

static int attacker(void *arg) {
        static uint8_t tok[8192];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        CredHandle c1, c2, c3;
        CtxtHandle ctx;
        ULONG attrs;
        TimeStamp ts;
        char ok = 0;

        (void) prctl(PR_SET_NAME, COMM);
        if (t_cred_identity("NTLM", USER, "CORP", "pw-1", &c1) == SEC_E_OK)
                ok |= 1;
        if (t_cred_identity("NTLM", long_user, long_domain, "pw-1", &c2) == SEC_E_OK)
                ok |= 2;
        if (t_cred_identity("NTLM", "carol", "CORP", "pw-1", &c3) == SEC_E_OK &&
            InitializeSecurityContextA(&c3, NULL, TARGET, 0, 0, SECURITY_NATIVE_DREP, NULL, 0, &ctx, &od, &attrs,
                                       &ts) == SEC_I_CONTINUE_NEEDED)
                ok |= 4;
        if (write(ready[1], &ok, 1) != 1)
                return 1;
        pause(); /* holds the objects until the test has listed them */
        return 0;
}

/* Only "\n" among C0, no DEL, no C1 (raw or UTF-8 encoded), only UTF-8. */
static bool clean(const char *s, size_t n, const char **why) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < n; i++) {
                if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f) {
                        *why = p[i] == 0x1b ? "ESC" : "a control byte";
                        return false;
                }
                if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
                        *why = "a C1 control";
                        return false;
                }
                if (p[i] >= 0x80 && (p[i] < 0xc2 || p[i] > 0xf4)) {
                        *why = "a byte that is not UTF-8";
                        return false;
                }
        }
        return true;
}

static void t_clean(const char *s, size_t n, const char *what) {
        const char *why = "";
        bool c = clean(s, n, &why);

        t_ok(c, "%s no control byte but newlines%s%s", what, c ? "" : ": found ", why);
}

static char *slurp(const char *path, size_t *len) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;

        if (!f)
                return NULL;
        buf = malloc(16 << 20);
        if (buf)
                n = fread(buf, 1, (16 << 20) - 1, f);
        fclose(f);
        if (buf)
                buf[n] = 0;
        *len = n;
        return buf;
}

static bool line_starts(const char *log, const char *prefix) {
        for (const char *p = log; p; p = strchr(p, '\n')) {
                if (*p == '\n')
                        p++;
                if (!strncmp(p, prefix, strlen(prefix)))
                        return true;
        }
        return false;
}

int main(void) {
        static char out[1 << 20];
        char ok = 0, cut[64];
        long log0, ms;
        size_t len = 0;
        char *log;
        pid_t pid;
        TDaemon d;

        signal(SIGPIPE, SIG_IGN);
        memset(long_user, 'L', LONG_LEN);
        memset(long_domain, 'D', LONG_LEN);
        memcpy(long_user + LONG_LEN - 8, "TAILMARK", 8);
        if (!t_daemon_start(&d, NULL, NULL) || pipe(ready) < 0) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        log0 = t_file_size(d.log);
        pid = t_spawn_as(T_ATTACKER, attacker, NULL);
        if (read(ready[0], &ok, 1) != 1)
                ok = 0;
        t_ok(ok & 1, "uid 65534 acquires an NTLM credential whose user name carries a forged audit line and escapes");
        t_ok(ok & 2, "... and one named with a %d-byte user and a %d-byte domain", LONG_LEN, LONG_LEN);
        t_ok(ok & 4, "... and starts an NTLM context toward a target with a forged line and escapes");

        static const char *const creds[] = { "credentials", NULL }, *const ctxs[] = { "contexts", NULL },
                                 *const calls[] = { "calls", NULL }, *const sess[] = { "sessions", NULL };
        t_ok(t_sspictl(&d, creds, out, sizeof(out)) == 0, "sspictl credentials runs");
        t_clean(out, strlen(out), "sspictl credentials prints");
        t_ok(strstr(out, "mallory\\x0asspid: audit: uid 0") && strstr(out, "\\x1b]0;owned\\x07\\x1b[2J\\xc2\\x9b31m") &&
                     strstr(out, "31m\\x5cend"),
             "control: sspictl credentials shows the user name, escaped");
        t_ok(strstr(out, "TAILMARK") == NULL && strstr(out, "LLLL...[truncated]") != NULL,
             "sspictl credentials cuts the %d-byte name, with the marker", 2 * LONG_LEN + 1);
        t_ok(t_sspictl(&d, ctxs, out, sizeof(out)) == 0, "sspictl contexts runs");
        t_clean(out, strlen(out), "sspictl contexts prints");
        t_ok(strstr(out, "HTTP/evil\\x0dsspid: audit: uid 0") && strstr(out, "\\x1b[1A\\x1b[2K\\x7f"),
             "control: sspictl contexts shows the target, escaped");
        t_ok(t_sspictl(&d, calls, out, sizeof(out)) == 0, "sspictl calls runs");
        t_clean(out, strlen(out), "sspictl calls prints");
        t_ok(t_sspictl(&d, sess, out, sizeof(out)) == 0, "sspictl sessions runs");
        t_clean(out, strlen(out), "sspictl sessions prints");
        t_ok(strstr(out, "\\x1b]0;x\\x07") != NULL, "control: sspictl sessions shows the command name, escaped");

        ms = t_victim_ms(T_VICTIM, 30000);
        t_ok(ms >= 0, "victim (uid 0) served (%ld ms)", ms);
        printf("# victim round: %ld ms\n", ms);
        kill(pid, SIGTERM);
        t_wait_child(pid, 10000);

        log = slurp(d.log, &len);
        t_ok(log != NULL, "the daemon log is read (%zu bytes, %ld before the attack)", len, log0);
        if (log) {
                t_ok(!line_starts(log, FORGED) && !line_starts(log, "sspid: audit: uid 0 pid 1 "),
                     "no line of the daemon log starts with the forged audit line");
                t_clean(log, len, "the daemon log holds");
                t_ok(strstr(log, "audit: uid 65534") && strstr(log, "CORP\\x5cmallory\\x0a" FORGED) &&
                             strstr(log, "\\x1b]0;owned\\x07\\x1b[2J\\xc2\\x9b31m\\x5cend"),
                     "control: the audit line of uid 65534 carries the user name, escaped");
                snprintf(cut, sizeof(cut), "LLLL...[truncated]");
                t_ok(strstr(log, "TAILMARK") == NULL && strstr(log, cut) != NULL,
                     "the %d-byte name is cut in the log, with the marker", 2 * LONG_LEN + 1);
                free(log);
        }
        t_daemon_stop(&d);
        return t_done();
}
