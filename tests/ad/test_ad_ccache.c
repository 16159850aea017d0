/* SPDX-License-Identifier: MIT */
/*
 * Issue 15 item 7 against the DC: a domain user's tickets where a joined
 * host keeps them. alice's TGT from the DC (Heimdal's kinit) is put into
 * SSSD's KCM responder (sssd_kcm, tests/tools/sssd-kcm.sh) and into a
 * kernel keyring by MIT krb5's own ccache code (tests/tools/mit-ccache-copy),
 * then AcquireCredentialsHandle(NULL identity) with KRB5CCNAME=KCM: or
 * KEYRING:... reaches HTTP/web.corp.test, sync and async, Kerberos and
 * Negotiate. Windows: a NULL pAuthData means the credentials of the logon
 * session the caller runs in ("AcquireCredentialsHandle (Kerberos)",
 * pszPrincipal/pAuthData); on a joined Linux host those live in KCM or a
 * keyring.
 */
#include <linux/keyctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY)
#define TARGET    "HTTP/web.corp.test"

static const char *work, *top;
static char mit_conf[600];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
        char cmd[4096];
        va_list ap;
        int st;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        fflush(stdout);
        st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool name_is(CredHandle *c, const char *want) {
        SecPkgCredentials_NamesA n = { 0 };
        bool ok;

        if (QueryCredentialsAttributesA(c, SECPKG_CRED_ATTR_NAMES, &n) != SEC_E_OK)
                return false;
        ok = n.sUserName && !strcmp(n.sUserName, want);
        FreeContextBuffer(n.sUserName);
        return ok;
}

/* ACH(NULL identity) from `ccname`, then a handshake to TARGET, sync; and
 * the same acquisition async. */
static void from_cache(const char *pkg, const char *ccname, const char *alice) {
        CredHandle c, s, ac = { 0 };
        TimeStamp ts;
        THandshake h;

        setenv("KRB5CCNAME", ccname, 1);
        t_status(AcquireCredentialsHandleA(TARGET, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &s, &ts),
                 SEC_E_OK, "%s: inbound credential %s", pkg, TARGET);
        if (t_status(AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &c,
                                               &ts),
                     SEC_E_OK, "%s: ACH(NULL identity) with KRB5CCNAME=%s", pkg, ccname)) {
                t_ok(name_is(&c, alice), "%s: the credential is %s's", pkg, alice);
                t_status(t_handshake(&c, &s, TARGET, ISC_FLAGS, 0, &h), SEC_E_OK, "%s sync: handshake to %s from %s",
                         pkg, TARGET, ccname);
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        t_status(t_handshake_async(pkg, NULL, &ac, &s, TARGET, ISC_FLAGS, 0, &h), SEC_E_OK,
                 "%s async: SspiAcquireCredentialsHandleAsyncA from %s, then the handshake", pkg, ccname);
        t_handshake_done(&h);
        if (ac.dwUpper)
                FreeCredentialsHandle(&ac);
        FreeCredentialsHandle(&s);
        unsetenv("KRB5CCNAME");
}

int main(void) {
        const char *realm = getenv("AD_REALM");
        char alice[256], file[600], kcm[600], kcm_sock[700];
        FILE *f;

        work = getenv("SSPID_AD_WORK");
        top = getenv("SSPID_TOP");
        if (!realm || !work || !top || !getenv("SSPID_SOCKET")) {
                t_ok(false, "run by tests/ad/run.sh (AD_REALM, SSPID_AD_WORK, SSPID_TOP, SSPID_SOCKET set)");
                return t_done();
        }
        snprintf(alice, sizeof(alice), "alice@%s", realm);
        snprintf(file, sizeof(file), "%s/ccache-alice", work);
        snprintf(kcm, sizeof(kcm), "%s/kcm", work);
        snprintf(mit_conf, sizeof(mit_conf), "%s/kcm-mit-krb5.conf", work);

        t_ok(run("echo Alice-pw-1 | KRB5CCNAME=FILE:%s kinit.heimdal --password-file=STDIN %s >/dev/null", file,
                 alice) == 0,
             "Heimdal's kinit: alice's TGT from the DC");
        if (run("%s/tests/tools/sssd-kcm.sh start %s", top, kcm) != 0) {
                t_ok(false, "sssd_kcm started (tests/tools/sssd-kcm.sh)");
                return t_done();
        }
        t_ok(true, "sssd_kcm started (tests/tools/sssd-kcm.sh)");
        f = fopen(mit_conf, "we");
        if (f) {
                fprintf(f, "[libdefaults]\n\tkcm_socket = %s/kcm.sock\n", kcm);
                fclose(f);
        }
        snprintf(kcm_sock, sizeof(kcm_sock), "%s/kcm.sock", kcm);
        setenv("SSPI_KCM_SOCKET", kcm_sock, 1);

        t_ok(run("KRB5_CONFIG=%s %s/build/tests/tools/mit-ccache-copy FILE:%s KCM: >/dev/null", mit_conf, top, file) ==
                     0,
             "MIT's KCM client put alice's TGT into sssd-kcm");
        from_cache("Kerberos", "KCM:", alice);
        from_cache("Negotiate", "KCM:", alice);

        /* A session keyring of this test's own, inherited by the helper. */
        t_ok(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) >= 0, "a new session keyring");
        t_ok(run("%s/build/tests/tools/mit-ccache-copy FILE:%s KEYRING:session:corp >/dev/null", top, file) == 0,
             "MIT's keyring code put alice's TGT into KEYRING:session:corp");
        from_cache("Kerberos", "KEYRING:session:corp", alice);

        run("%s/tests/tools/sssd-kcm.sh stop %s", top, kcm);
        return t_done();
}
