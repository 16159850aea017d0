/* SPDX-License-Identifier: MIT */
/*
 * The acceptor's keys in the Heimdal test realm (issue 15 item 4): an
 * inbound Kerberos/Negotiate credential without pszPrincipal accepts a
 * ticket for any principal granted to its caller, as Windows accepts any
 * SPN of the service's account; names compare without regard to case (AD);
 * a named SPN keeps Negotiate's NTLM half; and a uid granted host/localhost
 * only (testenv.sh's [acceptor narrow], uid 65531) can never accept a
 * ticket for HTTP/localhost from the same keytab. The same against a real
 * AD DC, where SPNs share keys: tests/ad/test_ad_kerberos.c.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_MUTUAL_AUTH)
#define NARROW 65531 /* testenv.sh: granted host/localhost only */

/* A password logon of alice to `target` at an acceptor named `spn`
 * (NULL: none), both sides of package `pkg`. */
static SECURITY_STATUS logon(const char *pkg, const char *spn, const char *target) {
        CredHandle c, s;
        THandshake h = { 0 };
        SECURITY_STATUS st;

        st = t_cred_identity(pkg, "alice", t_realm(), "alice-pw-1", &c);
        if (st != SEC_E_OK)
                return st;
        st = AcquireCredentialsHandleA((char *) spn, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &s,
                                       NULL);
        if (st == SEC_E_OK) {
                st = t_handshake(&c, &s, target, ISC_FLAGS, ASC_FLAGS, &h);
                t_handshake_done(&h);
                FreeCredentialsHandle(&s);
        }
        FreeCredentialsHandle(&c);
        return st;
}

static void test_any_granted(void) {
        static const char *pkgs[] = { "Kerberos", "Negotiate" };
        static const char *targets[] = { "HTTP/localhost", "host/localhost" };
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) "alice", .UserLength = 5,
                .Domain = (unsigned char *) t_realm(), .DomainLength = (ULONG) strlen(t_realm()),
                .Password = (unsigned char *) "alice-pw-1", .PasswordLength = 10,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };

        for (size_t p = 0; p < 2; p++)
                for (size_t i = 0; i < 2; i++) {
                        CredHandle c = { 0 }, s = { 0 };
                        THandshake h;

                        t_status(logon(pkgs[p], NULL, targets[i]), SEC_E_OK,
                                 "%s: acceptor without pszPrincipal accepts a ticket for %s", pkgs[p], targets[i]);
                        t_status(t_handshake_async(pkgs[p], &id, &c, &s, targets[i], ISC_FLAGS, ASC_FLAGS, &h),
                                 SEC_E_OK, "async %s: acceptor without pszPrincipal accepts a ticket for %s", pkgs[p],
                                 targets[i]);
                        t_handshake_done(&h);
                        FreeCredentialsHandle(&c);
                        FreeCredentialsHandle(&s);
                }
}

static void test_names(void) {
        char spn[256];
        CredHandle s;

        t_status(logon("Kerberos", "HTTP/LOCALHOST", "HTTP/localhost"), SEC_E_OK,
                 "acceptor HTTP/LOCALHOST (grant HTTP/localhost) accepts its ticket");
        snprintf(spn, sizeof(spn), "http/localhost@%s", t_realm());
        for (char *p = strchr(spn, '@'); *p; p++)
                *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        t_status(logon("Negotiate", spn, "HTTP/localhost"), SEC_E_OK, "Negotiate acceptor %s (realm in lower case)",
                 spn);
        t_status(AcquireCredentialsHandleA("HTTP/localhos", "Kerberos", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                           &s, NULL),
                 SEC_E_NO_CREDENTIALS, "acceptor HTTP/localhos: a prefix is no match");
        /* A named acceptor holds only its own keys. */
        t_status(logon("Kerberos", "host/localhost", "HTTP/localhost"), SEC_E_WRONG_PRINCIPAL,
                 "acceptor host/localhost refuses a ticket for HTTP/localhost");
        t_status(logon("Negotiate", "host/localhost", "HTTP/localhost"), SEC_E_WRONG_PRINCIPAL,
                 "Negotiate acceptor host/localhost refuses a ticket for HTTP/localhost");
}

/* Naming the SPN leaves Negotiate's NTLM half (Windows). */
static void test_named_ntlm(void) {
        SEC_WINNT_AUTH_IDENTITY_EXA id = {
                .Version = SEC_WINNT_AUTH_IDENTITY_VERSION, .Length = sizeof(id),
                .User = (unsigned char *) "bob", .UserLength = 3,
                .Domain = (unsigned char *) "SSPID", .DomainLength = 5,
                .Password = (unsigned char *) "bob-pw-2", .PasswordLength = 8,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
                .PackageList = (unsigned char *) "NTLM", .PackageListLength = 4,
        };
        CredHandle c, s;
        THandshake h = { 0 };

        if (!t_status(AcquireCredentialsHandleA(NULL, "Negotiate", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c,
                                                NULL),
                      SEC_E_OK, "Negotiate client limited to NTLM"))
                return;
        if (t_status(AcquireCredentialsHandleA("HTTP/localhost", "Negotiate", SECPKG_CRED_INBOUND, NULL, NULL, NULL,
                                               NULL, &s, NULL),
                     SEC_E_OK, "Negotiate acceptor named HTTP/localhost")) {
                t_status(t_handshake(&c, &s, "HTTP/localhost", ISC_FLAGS, ASC_FLAGS, &h), SEC_E_OK,
                         "Negotiate acceptor named HTTP/localhost accepts NTLM");
                t_handshake_done(&h);
                FreeCredentialsHandle(&s);
        }
        FreeCredentialsHandle(&c);
}

/* The first token for `target` made here; ASC in a child of uid 65531,
 * whose only grant is host/localhost. Returns the child's ASC status. */
static SECURITY_STATUS asc_as_narrow(const char *pkg, const char *target) {
        CredHandle c;
        CtxtHandle cc;
        uint8_t tok[12288];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;
        int fds[2];
        pid_t pid;

        st = t_cred_identity(pkg, "alice", t_realm(), "alice-pw-1", &c);
        if (st != SEC_E_OK)
                return st;
        st = InitializeSecurityContextA(&c, NULL, (char *) target, ISC_FLAGS, 0, 0, NULL, 0, &cc, &od, &attrs, NULL);
        if ((st != SEC_I_CONTINUE_NEEDED && st != SEC_E_OK) || pipe(fds) < 0) {
                FreeCredentialsHandle(&c);
                return st < 0 ? st : SEC_E_INTERNAL_ERROR;
        }
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                CredHandle s;
                CtxtHandle sc;
                uint8_t out[12288];
                SecBuffer ib = { ob.cbBuffer, SECBUFFER_TOKEN, tok }, o2 = { sizeof(out), SECBUFFER_TOKEN, out };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od2 = { SECBUFFER_VERSION, 1, &o2 };
                SECURITY_STATUS r;

                close(fds[0]);
                if (setgroups(0, NULL) < 0 || setresgid(NARROW, NARROW, NARROW) < 0 ||
                    setresuid(NARROW, NARROW, NARROW) < 0)
                        r = SEC_E_INTERNAL_ERROR;
                else {
                        r = AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                                      &s, NULL);
                        if (r == SEC_E_OK)
                                r = AcceptSecurityContext(&s, NULL, &id, ASC_FLAGS, 0, &sc, &od2, &attrs, NULL);
                }
                _exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
        }
        close(fds[1]);
        if (pid < 0 || read(fds[0], &st, sizeof(st)) != sizeof(st))
                st = SEC_E_INTERNAL_ERROR;
        close(fds[0]);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        DeleteSecurityContext(&cc);
        FreeCredentialsHandle(&c);
        return st;
}

static void test_grant_boundary(void) {
        static const char *pkgs[] = { "Kerberos", "Negotiate" };

        for (size_t p = 0; p < 2; p++) {
                SECURITY_STATUS st = asc_as_narrow(pkgs[p], "HTTP/localhost");

                t_status(st, SEC_E_WRONG_PRINCIPAL,
                         "%s: uid 65531, granted host/localhost only, refuses a ticket for HTTP/localhost (same keytab)",
                         pkgs[p]);
                st = asc_as_narrow(pkgs[p], "host/localhost");
                t_ok(st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED, "%s: and accepts its own host/localhost (%s)",
                     pkgs[p], status_name(st));
        }
}

int main(void) {
        test_any_granted();
        test_names();
        test_named_ntlm();
        if (getuid() == 0)
                test_grant_boundary();
        else
                t_ok(false, "the grant boundary test runs as root (it becomes uid 65531)");
        return t_done();
}
