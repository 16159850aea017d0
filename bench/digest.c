/* SPDX-License-Identifier: MIT */
/*
 * Digest (WDigest, HTTP mode) benchmarks, run by bench/run.sh.
 *
 *   digest daemon   handshakes through libsspi and sspid: ASC (challenge),
 *                   ISC (response), ASC (verify), delete the three contexts;
 *                   SHA-256, qop=auth, store "sha256" of the test world
 *   digest inproc   the hashing of one handshake alone, in this process with
 *                   OpenSSL EVP: nonce MAC, the client's H(A2) and response,
 *                   the server's nonce check, user key, H(A2) and response
 *   digest timing   ASC on a wrong password against ASC on an unknown user,
 *                   alternating (the package promises the same work)
 *
 * Options: -t SECONDS measuring time (default 2). Each mode prints one
 * "RESULT <mode> key=value..." line. Nothing is asserted about speed: the
 * program fails only when a call returns an unexpected status.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "sspi.h"

static double opt_seconds = 2.0;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void hex(const uint8_t *b, size_t n, char *out) {
        static const char h[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = h[b[i] >> 4];
                out[2 * i + 1] = h[b[i] & 15];
        }
        out[2 * n] = '\0';
}

/* H(a:b:c...) as hex, SHA-256. */
static void h256(char *out, int n, ...) {
        uint8_t md[32];
        unsigned len = 0;
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        va_list ap;

        EVP_DigestInit_ex(m, EVP_sha256(), NULL);
        va_start(ap, n);
        for (int i = 0; i < n; i++) {
                const char *s = va_arg(ap, const char *);
                if (i)
                        EVP_DigestUpdate(m, ":", 1);
                EVP_DigestUpdate(m, s, strlen(s));
        }
        va_end(ap);
        EVP_DigestFinal_ex(m, md, &len);
        EVP_MD_CTX_free(m);
        hex(md, 32, out);
}

static int mode_inproc(void) {
        uint8_t key[32], raw[32], mac[32];
        char ha1[65], ha2[65], resp[65], nonce[65], expect[65], cnonce[33];
        unsigned ml;
        uint64_t n = 0, t0, t1, deadline;

        RAND_bytes(key, sizeof(key));
        h256(ha1, 3, "alice", "sspid-digest@test", "alice-pw-1");
        t0 = now_ns();
        deadline = t0 + (uint64_t) (opt_seconds * 1e9);
        do {
                for (int k = 0; k < 64; k++, n++) {
                        uint8_t c[16];
                        /* server: nonce */
                        RAND_bytes(raw, 20);
                        HMAC(EVP_sha256(), key, sizeof(key), raw, 20, mac, &ml);
                        memcpy(raw + 20, mac, 12);
                        hex(raw, 32, nonce);
                        /* client: response */
                        RAND_bytes(c, sizeof(c));
                        hex(c, sizeof(c), cnonce);
                        h256(ha2, 2, "GET", "/bench");
                        h256(resp, 6, ha1, nonce, "00000001", cnonce, "auth", ha2);
                        /* server: nonce check, user key, response */
                        HMAC(EVP_sha256(), key, sizeof(key), raw, 20, mac, &ml);
                        if (CRYPTO_memcmp(mac, raw + 20, 12) != 0)
                                return 1;
                        h256(expect, 1, "alice");
                        h256(ha2, 2, "GET", "/bench");
                        h256(expect, 6, ha1, nonce, "00000001", cnonce, "auth", ha2);
                        if (CRYPTO_memcmp(expect, resp, 64) != 0)
                                return 1;
                }
                t1 = now_ns();
        } while (t1 < deadline);
        printf("in-process hashing: %llu handshakes in %.2f s\n", (unsigned long long) n, (t1 - t0) / 1e9);
        printf("RESULT inproc handshakes_per_s=%.0f n=%llu\n", n / ((t1 - t0) / 1e9), (unsigned long long) n);
        return 0;
}

typedef struct Peer {
        CredHandle cc, sc, sc_bad;
} Peer;

static bool acquire(const char *user, const char *pw, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) user, .UserLength = (ULONG) strlen(user),
                .Password = (unsigned char *) pw, .PasswordLength = (ULONG) strlen(pw),
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        TimeStamp ts;
        return AcquireCredentialsHandleA(NULL, "WDigest", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, ret, &ts) ==
               SEC_E_OK;
}

/* One handshake; returns the final ASC status. */
static SECURITY_STATUS handshake(CredHandle *cc, CredHandle *sc) {
        char chal[2048], resp[2048];
        SecBuffer e = { 0, SECBUFFER_TOKEN, NULL }, co = { sizeof(chal), SECBUFFER_TOKEN, chal };
        SecBufferDesc ed = { SECBUFFER_VERSION, 1, &e }, cod = { SECBUFFER_VERSION, 1, &co };
        CtxtHandle s1, c1, s2;
        ULONG attrs;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, NULL, &ed, ASC_REQ_HTTP, 0, &s1, &cod, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED)
                return st;
        DeleteSecurityContext(&s1);
        {
                SecBuffer in[2] = { { co.cbBuffer, SECBUFFER_TOKEN, chal }, { 3, SECBUFFER_PKG_PARAMS, "GET" } };
                SecBuffer ro = { sizeof(resp), SECBUFFER_TOKEN, resp };
                SecBufferDesc ind = { SECBUFFER_VERSION, 2, in }, rod = { SECBUFFER_VERSION, 1, &ro };
                st = InitializeSecurityContextA(cc, NULL, "/bench", ISC_REQ_HTTP, 0, 0, &ind, 0, &c1, &rod, &attrs,
                                                NULL);
                if (st != SEC_E_OK)
                        return st;
                DeleteSecurityContext(&c1);
                {
                        SecBuffer vin[3] = { { ro.cbBuffer, SECBUFFER_TOKEN, resp }, { 3, SECBUFFER_PKG_PARAMS, "GET" },
                                             { 6, SECBUFFER_PKG_PARAMS, "/bench" } };
                        SecBufferDesc vind = { SECBUFFER_VERSION, 3, vin };
                        st = AcceptSecurityContext(sc, NULL, &vind, ASC_REQ_HTTP, 0, &s2, NULL, &attrs, NULL);
                        if (st == SEC_E_OK)
                                DeleteSecurityContext(&s2);
                }
        }
        return st;
}

static int mode_daemon(void) {
        CredHandle cc, sc;
        TimeStamp ts;
        uint64_t n = 0, t0, t1, deadline;
        SECURITY_STATUS st;

        if (!acquire("alice", "alice-pw-1", &cc) ||
            AcquireCredentialsHandleA("sha256", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                    SEC_E_OK) {
                fprintf(stderr, "digest: cannot acquire credentials (test world with digest stores?)\n");
                return 1;
        }
        for (int i = 0; i < 50; i++)
                if ((st = handshake(&cc, &sc)) != SEC_E_OK) {
                        fprintf(stderr, "digest: handshake: 0x%08x\n", (unsigned) st);
                        return 1;
                }
        t0 = now_ns();
        deadline = t0 + (uint64_t) (opt_seconds * 1e9);
        do {
                if ((st = handshake(&cc, &sc)) != SEC_E_OK) {
                        fprintf(stderr, "digest: handshake: 0x%08x\n", (unsigned) st);
                        return 1;
                }
                n++;
                t1 = now_ns();
        } while (t1 < deadline);
        printf("through sspid: %llu handshakes (ASC, ISC, ASC + 3 deletes) in %.2f s\n", (unsigned long long) n,
               (t1 - t0) / 1e9);
        printf("RESULT daemon handshakes_per_s=%.0f n=%llu\n", n / ((t1 - t0) / 1e9), (unsigned long long) n);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        return 0;
}

static int mode_timing(void) {
        CredHandle bad, unknown, sc;
        TimeStamp ts;
        uint64_t t_bad = 0, t_unk = 0, n = 0, t0, deadline;

        if (!acquire("alice", "wrong-password", &bad) || !acquire("mallory", "whatever", &unknown) ||
            AcquireCredentialsHandleA("sha256", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                    SEC_E_OK)
                return 1;
        deadline = now_ns() + (uint64_t) (opt_seconds * 1e9);
        while (now_ns() < deadline) {
                t0 = now_ns();
                if (handshake(&bad, &sc) != SEC_E_LOGON_DENIED)
                        return 1;
                t_bad += now_ns() - t0;
                t0 = now_ns();
                if (handshake(&unknown, &sc) != SEC_E_LOGON_DENIED)
                        return 1;
                t_unk += now_ns() - t0;
                n++;
        }
        printf("failed handshakes, mean: wrong password %.1f us, unknown user %.1f us (%llu each)\n",
               t_bad / 1e3 / n, t_unk / 1e3 / n, (unsigned long long) n);
        printf("RESULT timing wrong_password_us=%.1f unknown_user_us=%.1f n=%llu\n", t_bad / 1e3 / n, t_unk / 1e3 / n,
               (unsigned long long) n);
        FreeCredentialsHandle(&bad);
        FreeCredentialsHandle(&unknown);
        FreeCredentialsHandle(&sc);
        return 0;
}

int main(int argc, char **argv) {
        const char *mode = argc > 1 ? argv[1] : "";

        if (getenv("SSPID_BENCH_SECONDS"))
                opt_seconds = atof(getenv("SSPID_BENCH_SECONDS"));
        for (int i = 2; i < argc; i++)
                if (!strcmp(argv[i], "-t") && i + 1 < argc)
                        opt_seconds = atof(argv[++i]);
        if (opt_seconds <= 0)
                opt_seconds = 2.0;
        if (!strcmp(mode, "inproc"))
                return mode_inproc();
        if (!strcmp(mode, "daemon"))
                return mode_daemon();
        if (!strcmp(mode, "timing"))
                return mode_timing();
        fprintf(stderr, "usage: %s inproc|daemon|timing [-t SECONDS]\n", argv[0]);
        return 2;
}
