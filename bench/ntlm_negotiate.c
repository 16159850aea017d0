/* SPDX-License-Identifier: MIT */
/*
 * NTLM and Negotiate handshakes per second through sspid, and Heimdal's
 * SPNEGO in-process as the reference for Negotiate-with-Kerberos.
 *
 *   ntlm_negotiate MODE [-t SECONDS]
 *     ntlm           NTLM: ISC -> ASC -> ISC -> ASC, delete both
 *     nego-ntlm      Negotiate restricted to NTLM ("ntlm" package list)
 *     nego-krb       Negotiate choosing Kerberos (alice, HTTP/localhost)
 *     inproc-spnego  Heimdal gss_init/accept_sec_context with the SPNEGO
 *                    mechanism in this process (alice's ccache, service keytab)
 *     timing         the refused AUTHENTICATE step: wrong password against
 *                    unknown user (the acceptor does the same work for both),
 *                    measured alternately after a warm-up
 *
 * Prints one "RESULT MODE handshakes_per_s=... n=..." line. Needs the
 * test world's environment (testenv.sh). Never asserts on speed; exits 1
 * when a call returns an unexpected status.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_spnego.h>
#include <krb5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sspi.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static const char *realm(void) {
        const char *r = getenv("SSPID_REALM");
        return r ? r : "SSPID.TEST";
}

static SECURITY_STATUS cred_out(const char *pkg, const char *domain, const char *list, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_EXA id = {
                .Version = SEC_WINNT_AUTH_IDENTITY_VERSION,
                .Length = sizeof(id),
                .User = (unsigned char *) "alice",
                .UserLength = 5,
                .Domain = (unsigned char *) domain,
                .DomainLength = (ULONG) strlen(domain),
                .Password = (unsigned char *) "alice-pw-1",
                .PasswordLength = 10,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
                .PackageList = (unsigned char *) list,
                .PackageListLength = list ? (ULONG) strlen(list) : 0,
        };
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret, &ts);
}

/* One full handshake; 0 or -1. */
static int sspi_handshake(CredHandle *cc, CredHandle *sc) {
        static uint8_t a[16384], b[16384];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle c, s;
        bool hc = false, hs = false;
        ULONG attrs, have = 0;
        SECURITY_STATUS cst = SEC_I_CONTINUE_NEEDED, sst = SEC_I_CONTINUE_NEEDED;
        int rc = -1;

        for (int legs = 0; legs < 10; legs++) {
                if (cst == SEC_I_CONTINUE_NEEDED) {
                        ib = (SecBuffer) { have, SECBUFFER_TOKEN, b };
                        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
                        cst = InitializeSecurityContextA(cc, hc ? &c : NULL, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0,
                                                         SECURITY_NATIVE_DREP, hc ? &in : NULL, 0, &c, &out, &attrs,
                                                         NULL);
                        if (cst < 0) {
                                fprintf(stderr, "ISC: 0x%08x\n", (unsigned) cst);
                                goto out;
                        }
                        hc = true;
                        have = ob.cbBuffer;
                        memcpy(b, a, have);
                }
                if (have == 0 || sst == SEC_E_OK)
                        break;
                ib = (SecBuffer) { have, SECBUFFER_TOKEN, b };
                ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
                sst = AcceptSecurityContext(sc, hs ? &s : NULL, &in, 0, SECURITY_NATIVE_DREP, &s, &out, &attrs, NULL);
                if (sst < 0) {
                        fprintf(stderr, "ASC: 0x%08x\n", (unsigned) sst);
                        goto out;
                }
                hs = true;
                have = ob.cbBuffer;
                memcpy(b, a, have);
                if (have == 0 && cst == SEC_E_OK)
                        break;
        }
        rc = cst == SEC_E_OK && sst == SEC_E_OK ? 0 : -1;
out:
        if (hc)
                DeleteSecurityContext(&c);
        if (hs)
                DeleteSecurityContext(&s);
        return rc;
}

static int gss_handshake(gss_name_t target) {
        gss_ctx_id_t c = GSS_C_NO_CONTEXT, s = GSS_C_NO_CONTEXT;
        gss_buffer_desc t1 = GSS_C_EMPTY_BUFFER, t2 = GSS_C_EMPTY_BUFFER;
        OM_uint32 maj_c = GSS_S_CONTINUE_NEEDED, maj_s = GSS_S_CONTINUE_NEEDED, min;
        int rc = -1;

        for (int legs = 0; legs < 10; legs++) {
                if (maj_c == GSS_S_CONTINUE_NEEDED) {
                        maj_c = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &c, target, GSS_SPNEGO_MECHANISM,
                                                     GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS,
                                                     legs ? &t2 : GSS_C_NO_BUFFER, NULL, &t1, NULL, NULL);
                        gss_release_buffer(&min, &t2);
                        if (GSS_ERROR(maj_c)) {
                                fprintf(stderr, "gss_init_sec_context: 0x%x/%u\n", maj_c, min);
                                goto out;
                        }
                }
                if (t1.length == 0)
                        break;
                if (maj_s != GSS_S_CONTINUE_NEEDED)
                        goto out;
                maj_s = gss_accept_sec_context(&min, &s, GSS_C_NO_CREDENTIAL, &t1, GSS_C_NO_CHANNEL_BINDINGS, NULL,
                                               NULL, &t2, NULL, NULL, NULL);
                gss_release_buffer(&min, &t1);
                if (GSS_ERROR(maj_s)) {
                        fprintf(stderr, "gss_accept_sec_context: 0x%x/%u\n", maj_s, min);
                        goto out;
                }
                if (t2.length == 0 && maj_c == GSS_S_COMPLETE)
                        break;
        }
        rc = maj_c == GSS_S_COMPLETE && maj_s == GSS_S_COMPLETE ? 0 : -1;
out:
        gss_release_buffer(&min, &t1);
        gss_release_buffer(&min, &t2);
        gss_delete_sec_context(&min, &c, GSS_C_NO_BUFFER);
        gss_delete_sec_context(&min, &s, GSS_C_NO_BUFFER);
        return rc;
}

/* The time of one refused final ASC (AUTHENTICATE) for the client
 * credential `cc`, in seconds, or -1. */
static double failed_asc_once(CredHandle *cc, CredHandle *sc) {
        static uint8_t a[4096], b[4096];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle c, s;
        ULONG attrs;
        double t0, t;
        SECURITY_STATUS st;

        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
        if (InitializeSecurityContextA(cc, NULL, "HTTP/localhost", 0, 0, 0, NULL, 0, &c, &out, &attrs, NULL) !=
            SEC_I_CONTINUE_NEEDED)
                return -1;
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, a };
        ob = (SecBuffer) { sizeof(b), SECBUFFER_TOKEN, b };
        if (AcceptSecurityContext(sc, NULL, &in, 0, 0, &s, &out, &attrs, NULL) != SEC_I_CONTINUE_NEEDED)
                return -1;
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, b };
        ob = (SecBuffer) { sizeof(a), SECBUFFER_TOKEN, a };
        if (InitializeSecurityContextA(cc, &c, "HTTP/localhost", 0, 0, 0, &in, 0, &c, &out, &attrs, NULL) != SEC_E_OK)
                return -1;
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, a };
        ob = (SecBuffer) { sizeof(b), SECBUFFER_TOKEN, b };
        t0 = now();
        st = AcceptSecurityContext(sc, &s, &in, 0, 0, &s, &out, &attrs, NULL);
        t = now() - t0;
        DeleteSecurityContext(&c);
        /* A failed later leg leaves the context to the caller to delete. */
        DeleteSecurityContext(&s);
        if (st != SEC_E_LOGON_DENIED) {
                fprintf(stderr, "expected SEC_E_LOGON_DENIED, got 0x%08x\n", (unsigned) st);
                return -1;
        }
        return t;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static SECURITY_STATUS cred_ntlm(const char *user, const char *pw, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) user, (ULONG) strlen(user), (unsigned char *) "SSPID", 5,
                                         (unsigned char *) pw, (ULONG) strlen(pw), SEC_WINNT_AUTH_IDENTITY_ANSI };
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret, &ts);
}

/* The refused AUTHENTICATE for a wrong password (alice) and an unknown user
 * (nobody), measured alternately round by round after a warm-up, so drift
 * and warm-up hit both alike: mean and median of each, in us. */
static int failed_asc_us(int rounds, double ret_mean[2], double ret_median[2]) {
        CredHandle cc[2], sc;
        TimeStamp ts;
        double *v[2];
        int rc = -1;

        if (cred_ntlm("alice", "not-her-password", &cc[0]) != SEC_E_OK ||
            cred_ntlm("nobody", "whatever", &cc[1]) != SEC_E_OK ||
            AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) != SEC_E_OK)
                return -1;
        v[0] = calloc((size_t) rounds, sizeof(double));
        v[1] = calloc((size_t) rounds, sizeof(double));
        if (!v[0] || !v[1])
                goto out;
        for (int i = 0; i < rounds / 10 + 50; i++)
                for (int k = 0; k < 2; k++)
                        if (failed_asc_once(&cc[k], &sc) < 0)
                                goto out;
        for (int i = 0; i < rounds; i++)
                for (int k0 = 0; k0 < 2; k0++) {
                        int k = (k0 + i) & 1; /* who goes first alternates too */
                        if ((v[k][i] = failed_asc_once(&cc[k], &sc)) < 0)
                                goto out;
                }
        for (int k = 0; k < 2; k++) {
                double sum = 0;
                for (int i = 0; i < rounds; i++)
                        sum += v[k][i];
                qsort(v[k], (size_t) rounds, sizeof(double), cmp_double);
                ret_mean[k] = sum / rounds * 1e6;
                ret_median[k] = v[k][rounds / 2] * 1e6;
        }
        rc = 0;
out:
        free(v[0]);
        free(v[1]);
        FreeCredentialsHandle(&cc[0]);
        FreeCredentialsHandle(&cc[1]);
        FreeCredentialsHandle(&sc);
        return rc;
}

int main(int argc, char **argv) {
        double secs = 2, t0, t;
        unsigned long n = 0;
        const char *mode;
        CredHandle cc, sc;
        TimeStamp ts;
        gss_name_t target = GSS_C_NO_NAME;
        int opt;

        while ((opt = getopt(argc, argv, "t:")) != -1)
                if (opt == 't')
                        secs = atof(optarg);
        if (optind >= argc) {
                fprintf(stderr, "usage: %s ntlm|nego-ntlm|nego-krb|inproc-spnego [-t SECONDS]\n", argv[0]);
                return 2;
        }
        mode = argv[optind];
        if (!strcmp(mode, "timing")) {
                double mean[2], med[2];
                int rounds = (int) (secs * 1000);
                if (rounds < 10)
                        rounds = 10;
                if (failed_asc_us(rounds, mean, med) < 0)
                        return 1;
                printf("refused NTLM AUTHENTICATE, %d each, alternating: wrong password %.1f us (median %.1f), "
                       "unknown user %.1f us (median %.1f)\n",
                       rounds, mean[0], med[0], mean[1], med[1]);
                printf("RESULT timing wrong_password_us=%.1f unknown_user_us=%.1f wrong_password_median_us=%.1f "
                       "unknown_user_median_us=%.1f n=%d\n",
                       mean[0], mean[1], med[0], med[1], rounds);
                return 0;
        }
        if (!strcmp(mode, "inproc-spnego")) {
                const char *dir = getenv("SSPID_REALM_DIR");
                char cc_env[600], kt_env[600];
                gss_buffer_desc nb = { 14, (void *) "HTTP@localhost" };
                OM_uint32 min;

                if (!dir)
                        return 2;
                snprintf(cc_env, sizeof(cc_env), "FILE:%s/alice.ccache", dir);
                snprintf(kt_env, sizeof(kt_env), "FILE:%s/service.keytab", dir);
                {
                        /* alice's tickets in a MEMORY ccache, as the Kerberos
                         * bench's baseline: no file read per handshake. */
                        krb5_context k;
                        krb5_ccache from, to;
                        if (krb5_init_context(&k) || krb5_cc_resolve(k, cc_env, &from) ||
                            krb5_cc_new_unique(k, "MEMORY", NULL, &to) || krb5_cc_copy_cache(k, from, to))
                                return 1;
                        snprintf(cc_env, sizeof(cc_env), "MEMORY:%s", krb5_cc_get_name(k, to));
                        krb5_cc_close(k, from);
                        /* `to` and `k` stay open: the MEMORY cache lives as long as they do. */
                }
                setenv("KRB5CCNAME", cc_env, 1);
                setenv("KRB5_KTNAME", kt_env, 1);
                if (gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target) != GSS_S_COMPLETE)
                        return 1;
        } else {
                const char *pkg = strcmp(mode, "ntlm") ? "Negotiate" : "NTLM";
                const char *list = !strcmp(mode, "nego-ntlm") ? "ntlm" : NULL;
                const char *dom = !strcmp(mode, "nego-krb") ? realm() : "SSPID";

                if (strcmp(mode, "ntlm") && strcmp(mode, "nego-ntlm") && strcmp(mode, "nego-krb"))
                        return 2;
                if (AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                            SEC_E_OK ||
                    cred_out(pkg, dom, list, &cc) != SEC_E_OK) {
                        fprintf(stderr, "credentials for %s failed\n", mode);
                        return 1;
                }
        }
        /* Warm up (tickets, first KDC exchange), then measure. */
        for (int i = 0; i < 5; i++)
                if ((target ? gss_handshake(target) : sspi_handshake(&cc, &sc)) < 0)
                        return 1;
        t0 = now();
        do {
                if ((target ? gss_handshake(target) : sspi_handshake(&cc, &sc)) < 0)
                        return 1;
                n++;
                t = now() - t0;
        } while (t < secs);
        printf("%s: %lu handshakes in %.3f s\n", mode, n, t);
        printf("RESULT %s handshakes_per_s=%.1f n=%lu seconds=%.3f\n", mode, (double) n / t, n, t);
        if (!target) {
                FreeCredentialsHandle(&cc);
                FreeCredentialsHandle(&sc);
        } else {
                OM_uint32 min;
                gss_release_name(&min, &target);
        }
        return 0;
}
