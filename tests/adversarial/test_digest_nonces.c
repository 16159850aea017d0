/* SPDX-License-Identifier: MIT */
/*
 * Finding 13: Digest nonces were one 4,096-slot table for the whole daemon,
 * so anonymous clients of one service could evict another service's nonces
 * (its clients then had to start over: stale=true).
 *
 * uid 65534 is granted a store of its own ([digest-store flood]: a grant,
 * not a limit; every [daemon] key stays default) and asks it for 5 x 4,096
 * challenges while root has 16 challenges of its store "http" outstanding;
 * every one of root's answers must then be accepted the first time
 * (SEC_E_OK, no stale). Control: the same flood on a store root shares with
 * the attacker ([digest-store shared]) does evict most of root's nonces
 * there, so the test can fail.
 *
 * The world's [digest] nonce-lifetime (4 s, for test_digest's expiry
 * check) is dropped for the default (300 s): an expiry during the flood
 * must not pass for an eviction.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define TOK_MAX 4096
#define VICTIM_NONCES 16
#define FLOOD (5 * 4096)

typedef struct Tok {
        char s[TOK_MAX + 1];
        ULONG len;
} Tok;

static TDaemon d;

static SECURITY_STATUS server_cred(const char *store, CredHandle *ret) {
        TimeStamp ts;
        return AcquireCredentialsHandleA((char *) store, "Digest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, ret,
                                         &ts);
}

/* ASC with no token: a challenge, its context deleted. */
static SECURITY_STATUS challenge(CredHandle *sc, Tok *out) {
        SecBuffer in_b = { 0, SECBUFFER_TOKEN, NULL }, out_b = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle ctx;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, NULL, &in, ASC_REQ_HTTP, SECURITY_NATIVE_DREP, &ctx, &od, &attrs, NULL);
        out->len = st >= 0 ? out_b.cbBuffer : 0;
        out->s[out->len] = '\0';
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        return st;
}

/* ISC: the answer to chal for GET uri. */
static SECURITY_STATUS respond(CredHandle *cc, const char *uri, const Tok *chal, Tok *out) {
        SecBuffer in_b[2] = { { chal->len, SECBUFFER_TOKEN, (void *) chal->s },
                              { 3, SECBUFFER_PKG_PARAMS, (void *) "GET" } },
                  out_b = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 2, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle ctx;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = InitializeSecurityContextA(cc, NULL, (SEC_CHAR *) uri, ISC_REQ_HTTP, 0, 0, &in, 0, &ctx, &od, &attrs,
                                        NULL);
        out->len = st >= 0 ? out_b.cbBuffer : 0;
        out->s[out->len] = '\0';
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        return st;
}

/* ASC with the answer: SEC_E_OK, or SEC_E_CONTEXT_EXPIRED when the nonce
 * was forgotten (stale). */
static SECURITY_STATUS verify(CredHandle *sc, const Tok *resp, const char *uri) {
        char info[TOK_MAX];
        SecBuffer in_b[4] = {
                { resp->len, SECBUFFER_TOKEN, (void *) resp->s },
                { 3, SECBUFFER_PKG_PARAMS, (void *) "GET" },
                { (ULONG) strlen(uri), SECBUFFER_PKG_PARAMS, (void *) uri },
                { 0, SECBUFFER_PKG_PARAMS, NULL },
        };
        SecBuffer out_b = { sizeof(info), SECBUFFER_TOKEN, info };
        SecBufferDesc in = { SECBUFFER_VERSION, 4, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle n;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, NULL, &in, ASC_REQ_HTTP, SECURITY_NATIVE_DREP, &n, &od, &attrs, NULL);
        if (st == SEC_E_OK)
                DeleteSecurityContext(&n);
        return st;
}

static int flooder(void *arg) {
        const char *store = arg;
        CredHandle sc;
        Tok chal;
        int n = 0;

        if (server_cred(store, &sc) != SEC_E_OK)
                return 2;
        for (int i = 0; i < FLOOD; i++)
                if (challenge(&sc, &chal) == SEC_I_CONTINUE_NEEDED)
                        n++;
        FreeCredentialsHandle(&sc);
        return n == FLOOD ? 0 : 1;
}

/* Root's nonces of `store` outstanding while uid 65534 floods
 * `attack_store`; then root's answers. Returns how many were accepted
 * (-1 on a setup failure); *stale counts SEC_E_CONTEXT_EXPIRED. */
static int round_with_flood(const char *store, const char *attack_store, int *stale, long *flood_ms) {
        static Tok chal[VICTIM_NONCES], resp[VICTIM_NONCES];
        CredHandle sc, cc;
        int ok = 0, r;
        uint64_t t0;

        *stale = 0;
        if (server_cred(store, &sc) != SEC_E_OK)
                return -1;
        if (t_cred_identity("WDigest", "alice", NULL, "alice-pw-1", &cc) != SEC_E_OK) {
                FreeCredentialsHandle(&sc);
                return -1;
        }
        for (int i = 0; i < VICTIM_NONCES; i++)
                if (challenge(&sc, &chal[i]) != SEC_I_CONTINUE_NEEDED || respond(&cc, "/v", &chal[i], &resp[i]) != SEC_E_OK)
                        return -1;
        t0 = t_now_ms();
        r = t_run_as(T_ATTACKER, flooder, (void *) attack_store);
        *flood_ms = (long) (t_now_ms() - t0);
        t_ok(r == 0, "uid 65534 got %d challenges of store %s (%ld ms)", FLOOD, attack_store, *flood_ms);
        for (int i = 0; i < VICTIM_NONCES; i++) {
                SECURITY_STATUS st = verify(&sc, &resp[i], "/v");
                if (st == SEC_E_OK)
                        ok++;
                else if (st == SEC_E_CONTEXT_EXPIRED)
                        (*stale)++;
        }
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        return ok;
}

/* The world's configuration, nonce-lifetime back to its default, and two
 * more stores: one for uid 65534 alone, one shared with root. */
static bool configure(void) {
        char line[1024], path[160], ha1[160], out[4096];
        static const char *const reload[] = { "reload", NULL };
        FILE *in, *o;

        snprintf(path, sizeof(path), "%s.new", d.conf);
        snprintf(ha1, sizeof(ha1), "%s/digest.ha1", getenv("SSPID_TESTENV"));
        in = fopen(d.conf, "re");
        o = fopen(path, "we");
        if (!in || !o) {
                if (in)
                        fclose(in);
                if (o)
                        fclose(o);
                return false;
        }
        while (fgets(line, sizeof(line), in))
                if (strncmp(line, "nonce-lifetime", 14) != 0)
                        fputs(line, o);
        fprintf(o, "\n[digest-store flood]\nfile = %s\nrealm = sspid-digest@test\nallow = %d\n", ha1, T_ATTACKER);
        fprintf(o, "\n[digest-store shared]\nfile = %s\nrealm = sspid-digest@test\nallow = 0, %d\n", ha1, T_ATTACKER);
        fclose(in);
        fclose(o);
        return rename(path, d.conf) == 0 && t_sspictl(&d, reload, out, sizeof(out)) == 0;
}

int main(void) {
        long rss0, rss1, log0, log1, cpu0, cpu1, ms, flood_ms;
        int ok, stale;

        signal(SIGPIPE, SIG_IGN);
        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        t_ok(configure(), "stores \"flood\" (uid 65534) and \"shared\" (root and uid 65534) granted, reloaded");
        rss0 = t_proc_rss_kib(d.pid);
        log0 = t_file_size(d.log);
        cpu0 = t_proc_cpu_ms(d.pid);

        ok = round_with_flood("http", "flood", &stale, &flood_ms);
        t_ok(ok == VICTIM_NONCES, "root's %d answers on store http all accepted the first time (%d ok, %d stale)",
             VICTIM_NONCES, ok, stale);
        printf("# separate stores: %d of %d accepted, %d stale after a flood of %d challenges in %ld ms\n", ok,
               VICTIM_NONCES, stale, FLOOD, flood_ms);
        cpu1 = t_proc_cpu_ms(d.pid);
        rss1 = t_proc_rss_kib(d.pid);
        log1 = t_file_size(d.log);

        ms = t_victim_ms(T_VICTIM, 30000);
        t_ok(ms >= 0, "victim (uid 0) served after the flood (%ld ms)", ms);

        ok = round_with_flood("shared", "shared", &stale, &flood_ms);
        t_ok(ok >= 0 && stale >= VICTIM_NONCES / 2,
             "control: the same flood on a store root shares evicts its nonces there (%d ok, %d stale)", ok, stale);
        printf("# shared store (control): %d of %d accepted, %d stale\n", ok, VICTIM_NONCES, stale);

        printf("# daemon during the flood: CPU %ld ms, RSS %ld -> %ld KiB, log %ld -> %ld bytes\n", cpu1 - cpu0, rss0,
               rss1, log0, log1);
#if defined(__SANITIZE_ADDRESS__)
        /* ASan's quarantine keeps freed blocks (256 MiB by default). */
        const long rss_bound = 512 * 1024;
#else
        const long rss_bound = 32 * 1024;
#endif
        t_ok(rss1 - rss0 < rss_bound, "daemon RSS grew by less than %ld MiB (%ld KiB)", rss_bound / 1024,
             rss1 - rss0);
        t_ok(log1 - log0 < 1024 * 1024, "daemon log grew by less than 1 MiB (%ld bytes)", log1 - log0);
        t_daemon_stop(&d);
        return t_done();
}
