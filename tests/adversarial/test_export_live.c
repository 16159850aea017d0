/* SPDX-License-Identifier: MIT */
/*
 * Exports of live TLS connections (issue 17 item 3). A Schannel export
 * cannot be serialised: the daemon keeps the connection itself (its SSL
 * object, buffers and a reference to its credential) until it is imported
 * or export-ttl ends. uid 65534 makes TLS connections (both ends its own,
 * with a certificate granted to it) and exports their server ends, 400
 * times:
 *  - quota-exports (the default, 256) bounds them: exactly 256 are kept,
 *    the rest refused with SEC_E_INSUFFICIENT_MEMORY, the exporter's
 *    context then still usable (not consumed by a refused export);
 *  - the daemon's RSS grows by what 256 connections take, not 400, and
 *    root's own export/import round trip is served meanwhile;
 *  - after export-ttl (shortened to 3 s here; the quota is the default)
 *    the daemon's sweep frees them without any further call: exports
 *    waiting and live objects (the credentials the exports held) go to 0;
 *  - but not before: five exports made a quarter of a second apart are
 *    each imported half a second before their export-ttl ends (the store
 *    counted whole seconds once, and one made late in a second expired up
 *    to a second early).
 * Control: the same attacker with quota-exports = 0 (no bound) keeps all
 * 400 waiting, so the bound above is what refused them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schannel.h"
#include "tattack.h"
#include "testcert.h"
#include "testlib.h"
#include "tpkgs.h"

#define N_EXPORTS 400
#define QUOTA_EXPORTS 256
#define TLS_ISC (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM)
#define TLS_ASC (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM)
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KIB (384 * 1024)
#else
#define RSS_BOUND_KIB (24 * 1024)
#endif

typedef TpTls Side;

static CredHandle cred[2]; /* client, server */

static bool connect_pair(Side *cl, Side *sv) {
        return tp_tls_connect(&cred[0], &cred[1], cl, sv, NULL, NULL) == SEC_E_OK;
}

static bool acquire(void) {
        SCHANNEL_CRED cli = { .dwVersion = SCHANNEL_CRED_VERSION, .dwFlags = SCH_CRED_NO_DEFAULT_CREDS };
        SCHANNEL_CRED srv = { .dwVersion = SCHANNEL_CRED_VERSION };
        const char *env = getenv("SSPID_TESTENV");
        char pki[512];
        TimeStamp ts;
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        if (!t_load_cert(pki, "server-ec", &c))
                return false;
        srv.cCreds = 1;
        srv.paCred = &pc;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &cli, NULL, NULL, &cred[0],
                                         &ts) == SEC_E_OK &&
               AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &srv, NULL, NULL, &cred[1],
                                         &ts) == SEC_E_OK;
}

/* The attacker: exports N_EXPORTS server ends. Exit code: 0 when it saw
 * `arg` successes and every refusal was SEC_E_INSUFFICIENT_MEMORY with the
 * context left usable; else a number naming what differed. Its exit
 * closes its connection: what the exports hold (the connections and a
 * reference to its credential each) must not depend on it. */
typedef struct Attack {
        int want;
        uint64_t ttl_ms; /* 0: none in this run */
} Attack;

static int attack(void *arg) {
        const Attack *a = arg;
        int want = a->want, ok = 0, refused = 0;
        uint64_t start = t_now_ms();
        static Side cl, sv;

        if (!acquire())
                return 10;
        for (int i = 0; i < N_EXPORTS; i++) {
                SecBuffer packed = { 0 };
                SECURITY_STATUS st;

                if (!connect_pair(&cl, &sv))
                        return 11;
                st = ExportSecurityContext(&sv.ctx, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL);
                if (st == SEC_E_OK) {
                        ok++;
                        FreeContextBuffer(packed.pvBuffer);
                } else if (st == SEC_E_INSUFFICIENT_MEMORY) {
                        SecPkgContext_StreamSizes sz;
                        refused++;
                        if (QueryContextAttributesA(&sv.ctx, SECPKG_ATTR_STREAM_SIZES, &sz) != SEC_E_OK)
                                return 12; /* a refused export consumed the connection */
                        DeleteSecurityContext(&sv.ctx);
                } else
                        return 13;
                DeleteSecurityContext(&cl.ctx);
        }
        printf("# attacker: %d exports kept, %d refused in %llu ms\n", ok, refused,
               (unsigned long long) (t_now_ms() - start));
        fflush(stdout);
        /* More than the quota only when the first ones expired meanwhile
         * (a slow build: the ASan tree), never more waiting at once. */
        if (ok != want && !(ok > want && a->ttl_ms && t_now_ms() - start >= a->ttl_ms))
                return 14;
        if (ok + refused != N_EXPORTS)
                return 15;
        FreeCredentialsHandle(&cred[0]);
        FreeCredentialsHandle(&cred[1]);
        return 0;
}

/* Root's export/import round trip while the attacker's exports wait. */
static int victim(void *arg) {
        static Side cl, sv;
        SecBuffer packed = { 0 };
        CtxtHandle h;
        int r = 0;

        (void) arg;
        if (!acquire() || !connect_pair(&cl, &sv))
                return 20;
        if (ExportSecurityContext(&sv.ctx, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL) != SEC_E_OK)
                r = 21;
        else if (ImportSecurityContextA(UNISP_NAME_A, &packed, NULL, &h) != SEC_E_OK)
                r = 22;
        else
                DeleteSecurityContext(&h);
        FreeContextBuffer(packed.pvBuffer);
        DeleteSecurityContext(&cl.ctx);
        FreeCredentialsHandle(&cred[0]);
        FreeCredentialsHandle(&cred[1]);
        return r;
}

/* An export waits export-ttl seconds from when it was made, whatever the
 * phase of the daemon's clock: LIFETIME_N exports at least a quarter of a
 * second apart (so that one of them is made late in a second), each
 * imported half a second before its export-ttl ends. Exit code: 0, 29 when
 * a connection or an export failed, else 30 + the first late import. */
#define LIFETIME_N 5
static int lifetime(void *arg) {
        const unsigned *ttl = arg;
        static Side cl[LIFETIME_N], sv[LIFETIME_N];
        SecBuffer packed[LIFETIME_N] = { { 0 } };
        uint64_t made[LIFETIME_N];
        int r = 0;

        if (!acquire())
                return 29;
        for (int i = 0; i < LIFETIME_N; i++) {
                if (!connect_pair(&cl[i], &sv[i]))
                        return 29;
                made[i] = t_now_ms(); /* the daemon's deadline starts later */
                if (ExportSecurityContext(&sv[i].ctx, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed[i], NULL) != SEC_E_OK)
                        return 29;
                usleep(250000);
        }
        for (int i = 0; i < LIFETIME_N; i++) {
                uint64_t at = made[i] + *ttl * 1000ull - 500, now = t_now_ms();
                CtxtHandle h;

                if (now < at)
                        usleep((useconds_t) ((at - now) * 1000));
                if (ImportSecurityContextA(UNISP_NAME_A, &packed[i], NULL, &h) == SEC_E_OK)
                        DeleteSecurityContext(&h);
                else if (!r)
                        r = 30 + i;
                FreeContextBuffer(packed[i].pvBuffer);
                DeleteSecurityContext(&cl[i].ctx);
        }
        FreeCredentialsHandle(&cred[0]);
        FreeCredentialsHandle(&cred[1]);
        return r;
}

/* Grants server-ec to the attacker too, and reloads. */
static bool grant_attacker(TDaemon *d) {
        const char *env = getenv("SSPID_TESTENV");
        FILE *f = fopen(d->conf, "a");

        if (!f || !env)
                return false;
        fprintf(f, "\n[certificate attacker-ec]\nfile = %s/pki/server-ec.pem\nkey = %s/pki/server-ec.key\nallow = %d\n",
                env, env, T_ATTACKER);
        fclose(f);
        uint64_t before = t_daemon_status(d, "reloads", NULL);
        t_daemon_kill(d, SIGHUP);
        for (int i = 0; i < 100; i++) {
                uint64_t now = t_daemon_status(d, "reloads", NULL);
                if (now != UINT64_MAX && now > before)
                        return true;
                usleep(50000);
        }
        return false;
}

static void run(const char *keys, int want_kept, unsigned ttl) {
        TDaemon d;
        long rss0, rss1;
        uint64_t waiting, objects = UINT64_MAX;
        int r;

        if (!t_daemon_start(&d, keys, NULL)) {
                t_ok(false, "private daemon (%s)", keys);
                return;
        }
        t_ok(grant_attacker(&d), "[%s] the attacker is granted a server certificate (reloaded)", keys);
        rss0 = t_proc_rss_kib(d.pid);
        Attack a = { want_kept, ttl * 1000ull };
        r = t_run_as(T_ATTACKER, attack, &a);
        t_ok(r == 0, "[%s] uid %d: %d live TLS exports attempted, %d kept, the rest refused with "
                     "SEC_E_INSUFFICIENT_MEMORY, each refused connection still usable (exit %d)",
             keys, T_ATTACKER, N_EXPORTS, want_kept, r);
        waiting = t_daemon_status(&d, "exports_waiting", NULL);
        t_ok(waiting <= (uint64_t) want_kept && waiting > 0, "[%s] exports waiting: %llu (at most %d)", keys,
             (unsigned long long) waiting, want_kept);
        rss1 = t_proc_rss_kib(d.pid);
        if (want_kept == QUOTA_EXPORTS)
                t_ok(rss0 > 0 && rss1 > 0 && rss1 - rss0 < RSS_BOUND_KIB,
                     "[%s] daemon RSS grew %ld KiB for %d live connections kept (bound %d KiB)", keys, rss1 - rss0,
                     want_kept, RSS_BOUND_KIB);
        else
                printf("# [%s] daemon RSS grew %ld KiB for %d live connections kept\n", keys, rss1 - rss0, want_kept);
        r = t_run_as(T_VICTIM, victim, NULL);
        t_ok(r == 0 || want_kept != QUOTA_EXPORTS, "[%s] root's own live export and import meanwhile (exit %d)", keys,
             r);
        if (ttl) {
                r = t_run_as(T_VICTIM, lifetime, &ttl);
                t_ok(r == 0, "[%s] each export is still imported half a second before its export-ttl ends (exit %d)",
                     keys, r);
                /* The sweep (each second) frees them after export-ttl. */
                for (int i = 0; i < 100; i++) {
                        waiting = t_daemon_status(&d, "exports_waiting", NULL);
                        objects = t_daemon_status(&d, "objects", NULL);
                        if (waiting == 0 && objects == 0)
                                break;
                        usleep(100000);
                }
                t_ok(waiting == 0 && objects == 0,
                     "[%s] after export-ttl, with no call, the live exports are freed: %llu waiting, %llu objects", keys,
                     (unsigned long long) waiting, (unsigned long long) objects);
        }
        t_daemon_stop(&d);
}

int main(void) {
        run("export-ttl = 3", QUOTA_EXPORTS, 3);
        /* Control: without the bound every export stays (the default
         * export-ttl, 60 s, outlasts the attack). */
        run("quota-exports = 0", N_EXPORTS, 0);
        return t_done();
}
