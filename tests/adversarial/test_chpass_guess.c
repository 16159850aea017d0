/* SPDX-License-Identifier: MIT */
/*
 * Password guessing through ChangeAccountPassword. Anybody who knows an
 * account's password may change it, so the call is open to every uid; an
 * unprivileged user could use the daemon as an oracle, each call one
 * guess checked by the KDC. Defence (default, policy/attempts.h): a budget
 * of 10 judged guesses per uid, one more every 30 s, taken before the KDC
 * is asked, so that concurrent calls cannot overshoot it; past it even the
 * right password is refused without asking the KDC.
 *
 * Attack: 4 children of uid 65534 guess 15 times each, at once, then one
 * tries the right password. Positive control: the first 10 guesses do
 * reach the KDC (the daemon's log names each as a wrong old password).
 * Victim: root's usual work stays served and root still changes the
 * account's password (its budget is its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define CHILDREN 4
#define GUESSES 15

static char user[64], pw[64];
static TDaemon d;

static int kadmin(const char *cmd) {
        char line[1024];

        snprintf(line, sizeof(line),
                 "k=$(command -v kadmin.heimdal || command -v kadmin); "
                 "KRB5_CONFIG=%s/krb5.conf \"$k\" -l -c %s/kdc.conf %s >/dev/null 2>&1",
                 t_realm_dir(), t_realm_dir(), cmd);
        return system(line);
}

static int guesser(void *arg) {
        int refused = 0;
        char guess[64];

        for (int i = 0; i < GUESSES; i++) {
                snprintf(guess, sizeof(guess), "Guess-%d-%d", (int) (intptr_t) arg, i);
                if (ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, guess, "Attacker-set-1", 0, 0, NULL) !=
                    SEC_E_LOGON_DENIED)
                        return 10;
                refused++;
        }
        return refused == GUESSES ? 0 : 11;
}

static int right_password(void *arg) {
        return ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw, "Attacker-set-1", 0, 0, NULL) ==
                               SEC_E_LOGON_DENIED
                       ? 0
                       : 1;
}

static int log_lines(const char *a, const char *b) {
        char line[2048];
        int n = 0;
        FILE *f = fopen(d.log, "re");

        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, a) && strstr(line, b))
                        n++;
        if (f)
                fclose(f);
        return n;
}

static SECURITY_STATUS logon(const char *p) {
        CredHandle c;
        CtxtHandle ctx;
        uint8_t tok[12288];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st = t_cred_password(user, p, &c);

        if (st != SEC_E_OK)
                return st;
        st = InitializeSecurityContextA(&c, NULL, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, SECURITY_NATIVE_DREP,
                                        NULL, 0, &ctx, &od, &attrs, NULL);
        if (st == SEC_I_CONTINUE_NEEDED) {
                DeleteSecurityContext(&ctx);
                st = SEC_E_OK;
        }
        FreeCredentialsHandle(&c);
        return st;
}

int main(void) {
        pid_t kids[CHILDREN];
        char cmd[256], pw2[64];
        int judged, refused, ok_kids = 0;
        long victim, log0;

        snprintf(user, sizeof(user), "guessed%d", (int) getpid());
        snprintf(pw, sizeof(pw), "Right-pw-%d", (int) getpid());
        snprintf(pw2, sizeof(pw2), "Owner-pw-%d", (int) getpid());
        snprintf(cmd, sizeof(cmd), "add --password=%s --use-defaults %s", pw, user);
        if (kadmin(cmd) != 0 || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "setup: an account and a private daemon with the default configuration");
                return t_done();
        }
        log0 = t_file_size(d.log);

        for (int i = 0; i < CHILDREN; i++)
                kids[i] = t_spawn_as(T_ATTACKER, guesser, (void *) (intptr_t) i);
        victim = t_victim_ms(T_VICTIM, 20000);
        t_ok(victim >= 0, "the victim's packages, NTLM leg and Kerberos handshake are served meanwhile (%ld ms)",
             victim);
        for (int i = 0; i < CHILDREN; i++)
                ok_kids += t_wait_child(kids[i], 60000) == 0;
        t_ok(ok_kids == CHILDREN, "every one of the %d guesses was refused (%d/%d children)", CHILDREN * GUESSES,
             ok_kids, CHILDREN);

        judged = log_lines("uid 65534", "wrong old password");
        refused = log_lines("by uid 65534 refused", "too many failed attempts");
        t_ok(judged >= 10, "positive control: the first guesses did reach the KDC (%d judged)", judged);
        t_ok(judged <= 11, "no more than the budget (10, +1 if 30 s passed) reached the KDC, concurrent "
                           "callers included (%d)", judged);
        t_ok(refused >= CHILDREN * GUESSES - 11, "the rest were refused before the KDC (%d)", refused);
        t_ok(t_run_as(T_ATTACKER, right_password, NULL) == 0,
             "past the budget the right password is refused too: no oracle");
        t_status(logon(pw), SEC_E_OK, "the account's password is unchanged");

        t_status(ChangeAccountPasswordA("Kerberos", (char *) t_realm(), user, pw, pw2, 0, 0, NULL), SEC_E_OK,
                 "root (another uid) changes the account's password meanwhile");
        t_status(logon(pw2), SEC_E_OK, "and the new password works");
        t_ok(t_file_size(d.log) - log0 < 64 * 1024, "the daemon's log grew by %ld bytes for %d attempts",
             t_file_size(d.log) - log0, CHILDREN * GUESSES + 2);

        t_daemon_stop(&d);
        snprintf(cmd, sizeof(cmd), "delete %s", user);
        (void) kadmin(cmd);
        return t_done();
}
