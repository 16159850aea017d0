/* SPDX-License-Identifier: MIT */
/*
 * ChangeAccountPassword against the test realm's Heimdal kpasswdd
 * (tests/tools/realm.sh: RFC 3244 on kpasswd_server, policy "at least 8
 * characters"), through Kerberos and Negotiate, A and W.
 *
 * Windows' statuses: ChangeAccountPassword returns the package's NTSTATUS
 * through SspNtStatusToSecStatus (sspicli), which maps STATUS_WRONG_PASSWORD,
 * STATUS_NO_SUCH_USER and STATUS_PASSWORD_RESTRICTION to SEC_E_LOGON_DENIED
 * and STATUS_NO_LOGON_SERVERS to SEC_E_NO_AUTHENTICATING_AUTHORITY; a package
 * without the function gets STATUS_NOT_SUPPORTED -> SEC_E_UNSUPPORTED_FUNCTION.
 * Windows has no asynchronous ChangeAccountPassword (no Sspi*Async twin in
 * the SDK), so there is no async half here.
 *
 * Every account here is made for this run (kadmin -l), so repeated runs
 * and the other tests' alice and bob are not affected.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include "testlib.h"

#define NOBODY 65534

static char user[64], pw1[64], pw2[64], pw3[64], pw4[64];

/* kadmin -l on the test realm's database. */
static int kadmin(const char *cmd) {
        char line[1024];

        snprintf(line, sizeof(line),
                 "k=$(command -v kadmin.heimdal || command -v kadmin); "
                 "KRB5_CONFIG=%s/krb5.conf \"$k\" -l -c %s/kdc.conf %s >/dev/null 2>&1",
                 t_realm_dir(), t_realm_dir(), cmd);
        return system(line);
}

/* The first leg of a Kerberos logon as user/pw to HTTP/localhost: the AS
 * exchange happens there. */
static SECURITY_STATUS logon(const char *u, const char *pw) {
        CredHandle c;
        CtxtHandle ctx;
        uint8_t tok[12288];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;

        st = t_cred_password(u, pw, &c);
        if (st != SEC_E_OK)
                return st;
        st = InitializeSecurityContextA(&c, NULL, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                        NULL, 0, &ctx, &od, &attrs, NULL);
        if (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK) {
                DeleteSecurityContext(&ctx);
                st = SEC_E_OK;
        }
        FreeCredentialsHandle(&c);
        return st;
}

static SEC_WCHAR *wide(const char *s) {
        static SEC_WCHAR buf[4][128];
        static int n;
        SEC_WCHAR *w = buf[n++ % 4];
        size_t i;

        for (i = 0; s[i] && i < 127; i++)
                w[i] = (unsigned char) s[i];
        w[i] = 0;
        return w;
}

static void test_change(void) {
        SecBuffer rb = { 0, SECBUFFER_CHANGE_PASS_RESPONSE, (void *) 0x1 };
        SecBufferDesc rd = { SECBUFFER_VERSION, 1, &rb };
        char qualified[160];
        SECURITY_STATUS st;

        t_status(logon(user, pw1), SEC_E_OK, "the new account logs on with its first password");

        /* Kerberos, A, with a CHANGE_PASS_RESPONSE slot: Heimdal's kpasswdd
         * sends no policy, so the slot comes back empty. */
        st = ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw1, pw2, 0, 0, &rd);
        t_status(st, SEC_E_OK, "ChangeAccountPasswordA(Kerberos) changes the password");
        t_ok(rb.cbBuffer == 0 && rb.pvBuffer == NULL && rb.BufferType == SECBUFFER_CHANGE_PASS_RESPONSE,
             "the response slot is empty (no policy from the server): cb %lu", (unsigned long) rb.cbBuffer);
        t_status(logon(user, pw2), SEC_E_OK, "a logon with the new password works");
        t_status(logon(user, pw1), SEC_E_LOGON_DENIED, "a logon with the old password fails");

        /* Refusals: Windows' SEC_E_LOGON_DENIED, the password unchanged. */
        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, "Not-the-password-1", pw3, 0, 0,
                                        NULL),
                 SEC_E_LOGON_DENIED, "a wrong old password: SEC_E_LOGON_DENIED");
        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw2, "short", 0, 0, NULL),
                 SEC_E_LOGON_DENIED, "a new password the policy refuses (too short): SEC_E_LOGON_DENIED");
        t_status(logon(user, pw2), SEC_E_OK, "after both refusals the password is still the second one");
        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), "no-such-user-chpass", "Whatever-pw-1",
                                        pw3, 0, 0, NULL),
                 SEC_E_LOGON_DENIED, "an unknown account: SEC_E_LOGON_DENIED");

        /* Negotiate routes to Kerberos; W strings; "user@REALM" without a
         * domain. */
        snprintf(qualified, sizeof(qualified), "%s@%s", user, t_realm());
        st = ChangeAccountPasswordW(wide("Negotiate"), NULL, wide(qualified), wide(pw2), wide(pw3), 0, 0, NULL);
        t_status(st, SEC_E_OK, "ChangeAccountPasswordW(Negotiate, user@REALM) changes the password");
        t_status(logon(user, pw3), SEC_E_OK, "a logon with the third password works");
        t_status(logon(user, pw2), SEC_E_LOGON_DENIED, "the second password no longer does");

        /* "REALM\user", lower-case realm (domains are case-insensitive). */
        snprintf(qualified, sizeof(qualified), "sspid.test\\%s", user);
        st = ChangeAccountPasswordA("kerberos", NULL, qualified, pw3, pw4, 1, 0, NULL);
        t_status(st, SEC_E_OK, "ChangeAccountPasswordA(kerberos, DOMAIN\\user) changes the password");
        t_status(logon(user, pw4), SEC_E_OK, "a logon with the fourth password works");

        t_ok(t_daemon_log_has("ChangeAccountPassword of", user), "each attempt is logged with the account");
        t_ok(t_daemon_log_has("password change for", "wrong old password"),
             "the log names the reason of a refusal (wrong old password)");
        t_ok(t_daemon_log_has("password change for", "refused by the password policy"),
             "the log names the reason of a refusal (policy)");
        t_ok(!t_daemon_log_has(pw1, NULL) && !t_daemon_log_has(pw2, NULL) && !t_daemon_log_has(pw3, NULL) &&
                     !t_daemon_log_has(pw4, NULL) && !t_daemon_log_has("Not-the-password-1", NULL),
             "no password reaches the daemon's log");
}

static void test_packages(void) {
        t_status(ChangeAccountPasswordA("NTLM", "SSPID", user, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_UNSUPPORTED_FUNCTION,
                 "NTLM: SEC_E_UNSUPPORTED_FUNCTION (README: Deliberate differences from Windows)");
        t_status(ChangeAccountPasswordA("WDigest", NULL, user, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_UNSUPPORTED_FUNCTION, "Digest has no password change: SEC_E_UNSUPPORTED_FUNCTION");
        t_status(ChangeAccountPasswordA("Schannel", NULL, user, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_UNSUPPORTED_FUNCTION, "Schannel has no password change: SEC_E_UNSUPPORTED_FUNCTION");
        t_status(ChangeAccountPasswordA("NoSuchPackage", NULL, user, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_SECPKG_NOT_FOUND, "an unknown package: SEC_E_SECPKG_NOT_FOUND");
        t_status(ChangeAccountPasswordW(NULL, NULL, wide(user), wide(pw4), wide("Never-set-1"), 0, 0, NULL),
                 SEC_E_SECPKG_NOT_FOUND, "a NULL package: SEC_E_SECPKG_NOT_FOUND");
        t_status(ChangeAccountPasswordA("Kerberos", NULL, NULL, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_INVALID_PARAMETER, "no account name: SEC_E_INVALID_PARAMETER");
        t_status(ChangeAccountPasswordA("Kerberos", NULL, user, "\xff\xfe", "Never-set-1", 0, 0, NULL),
                 SEC_E_INVALID_PARAMETER, "an ANSI password that is not UTF-8: SEC_E_INVALID_PARAMETER");
        t_status(logon(user, pw4), SEC_E_OK, "none of these touched the password");
}

static void test_unreachable(void) {
        t_ok(t_realm_cmd("kdc-stop") == 0, "the KDC is stopped");
        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw4, "Never-set-1", 0, 0, NULL),
                 SEC_E_NO_AUTHENTICATING_AUTHORITY, "no KDC reachable: SEC_E_NO_AUTHENTICATING_AUTHORITY");
        t_ok(t_realm_cmd("kdc-start") == 0, "the KDC is started again");
        t_status(logon(user, pw4), SEC_E_OK, "the password is unchanged");
}

/* As nobody: wrong passwords until the budget is gone, then the right one.
 * Exits 0 when every attempt was refused. */
static int attacker(void) {
        SECURITY_STATUS st;

        for (int i = 0; i < 12; i++) {
                st = ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, "Guess-pw-0001", "Never-set-1",
                                            0, 0, NULL);
                if (st != SEC_E_LOGON_DENIED)
                        return 10 + i;
        }
        st = ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw4, "Attacker-set-1", 0, 0, NULL);
        return st == SEC_E_LOGON_DENIED ? 0 : 2;
}

static void test_budget(void) {
        char pw5[64];
        pid_t pid;
        int status = -1;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(99);
                _exit(attacker());
        }
        if (pid > 0)
                waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "uid %d: 12 wrong guesses, then even the right old password is refused (exit %d)", NOBODY,
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        t_ok(t_daemon_log_has("by uid 65534 refused: too many failed attempts", user),
             "the daemon logged the refusal, before asking the KDC");
        t_status(logon(user, pw4), SEC_E_OK, "the attacker's right guess changed nothing");
        t_status(logon(user, "Attacker-set-1"), SEC_E_LOGON_DENIED, "the attacker's password was never set");

        /* The victim (this uid) is not affected by nobody's budget. */
        snprintf(pw5, sizeof(pw5), "Fifth-pw-%d", (int) getpid());
        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw4, pw5, 0, 0, NULL), SEC_E_OK,
                 "meanwhile the account's owner (another uid) changes the password");
        t_status(logon(user, pw5), SEC_E_OK, "and logs on with it");
}

int main(void) {
        char cmd[256];
        int id = (int) getpid();

        snprintf(user, sizeof(user), "chpass%d", id);
        snprintf(pw1, sizeof(pw1), "First-pw-%d", id);
        snprintf(pw2, sizeof(pw2), "Second-pw-%d", id);
        snprintf(pw3, sizeof(pw3), "Third-pw-%d", id);
        snprintf(pw4, sizeof(pw4), "Fourth-pw-%d", id);
        snprintf(cmd, sizeof(cmd), "add --password=%s --use-defaults %s", pw1, user);
        if (kadmin(cmd) != 0) {
                t_ok(false, "a fresh account %s in the test realm", user);
                return t_done();
        }

        test_change();
        test_packages();
        test_unreachable();
        test_budget();

        snprintf(cmd, sizeof(cmd), "delete %s", user);
        (void) kadmin(cmd);
        return t_done();
}
