/* SPDX-License-Identifier: MIT */
/*
 * Finding 10: exports unbounded and unaccounted.
 *
 * uid 65534 makes complete Kerberos client contexts (no mutual
 * authentication: one leg) and exports them again and again. With the
 * default configuration a context has one export waiting at most (a new
 * export replaces the previous one, whose ticket fails) and the uid at most
 * quota-exports (256): the 257th waiting export is refused with
 * SEC_E_INSUFFICIENT_MEMORY, the daemon's RSS stays bounded, and root's
 * export/import cycle keeps its speed (the store's lookups are O(1) and do
 * not take the server-wide lock). Controls: with quota-exports = 0 the same
 * attack leaves all its exports waiting (the bound is what refuses); and
 * with quota-objects = 4 an import past the quota is refused (before the
 * fix ImportSecurityContext skipped the check), without spending its
 * ticket.
 *
 * Before the fix: every export stayed waiting (20,000 here), each
 * export/import scanned them all under the server lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define QUOTA_EXPORTS 256       /* the default */
#define N_CTX 300               /* more contexts than the bound */
#define N_FLOOD 20000           /* export attempts in the flood */
#define VICTIM_CYCLES 200
#define VICTIM_BOUND_MS 10000   /* functional: 200 cycles take well under a second */
/* RSS growth allowed: 256 waiting exports of a few KiB each
 * (before the fix this flood left 20,300 waiting: +10 MiB). Under ASan
 * freed memory stays resident in its quarantine, which the daemon of this
 * test gets at 16 MiB (T_DAEMON_ASAN_EXTRA) instead of 256: a caller-mode
 * Kerberos export also rewrites the Heimdal context (export, patch,
 * import), and the default quarantine alone passed any fixed bound. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_QUARANTINE_MB 16
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define RSS_BOUND_KIB ((ASAN_QUARANTINE_MB + 48) * 1024)
#else
#define RSS_BOUND_KIB (8 * 1024)
#endif

/* A complete Kerberos client context of alice (one leg, no mutual auth). */
static SECURITY_STATUS make_ctx(CredHandle *cred, CtxtHandle *ret) {
        uint8_t tok[8192];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        char target[256];
        ULONG attrs;
        TimeStamp ts;

        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
        return InitializeSecurityContextA(cred, NULL, target, 0, 0, SECURITY_NATIVE_DREP, NULL, 0, ret, &od, &attrs,
                                          &ts);
}

static SECURITY_STATUS export_ctx(CtxtHandle *ctx, ULONG flags, SecBuffer *packed) {
        *packed = (SecBuffer) { 0 };
        return ExportSecurityContext(ctx, flags, packed, NULL);
}

static SECURITY_STATUS import_ctx(SecBuffer *packed, CtxtHandle *ret) {
        return ImportSecurityContextA("Kerberos", packed, NULL, ret);
}

/* ---- the attacker ---- */

typedef struct Report {
        int made;               /* complete contexts */
        int replaced_old;       /* import of a replaced ticket: SEC_E_INVALID_TOKEN */
        int replaced_new;       /* import of the newer one: SEC_E_OK */
        int first_ok, first_refused;
        int flood_ok, flood_other;
        double rate_first, rate_last; /* exports per second, first and last 1000 */
} Report;

static int attacker(void *arg) {
        int fd = *(int *) arg;
        Report rep = { 0 };
        CtxtHandle *ctx = calloc(N_CTX, sizeof(*ctx)), imp;
        SecBuffer p1, p2;
        CredHandle cred;
        uint64_t t0 = 0;

        if (!ctx || t_cred_password("alice", "alice-pw-1", &cred) != SEC_E_OK)
                return 2;
        for (int i = 0; i < N_CTX; i++)
                if (make_ctx(&cred, &ctx[i]) == SEC_E_OK)
                        rep.made++;
        if (rep.made != N_CTX)
                goto out;

        /* Exporting again replaces: the first ticket fails, the second works. */
        if (export_ctx(&ctx[0], 0, &p1) == SEC_E_OK && export_ctx(&ctx[0], 0, &p2) == SEC_E_OK) {
                rep.replaced_old = import_ctx(&p1, &imp) == SEC_E_INVALID_TOKEN;
                if (import_ctx(&p2, &imp) == SEC_E_OK) {
                        rep.replaced_new = 1;
                        DeleteSecurityContext(&imp);
                }
                FreeContextBuffer(p1.pvBuffer);
                FreeContextBuffer(p2.pvBuffer);
        }

        /* The flood: every waiting export exported again and again. A
         * refused call throttles the uid (conn.c), so the refusals come
         * last, once: the contexts past the bound. */
        for (int i = 0; i < QUOTA_EXPORTS; i++) {
                SECURITY_STATUS st = export_ctx(&ctx[i], 0, &p1);

                if (st == SEC_E_OK) {
                        rep.first_ok++;
                        FreeContextBuffer(p1.pvBuffer);
                }
        }
        for (int i = 0; i < N_FLOOD; i++) {
                SECURITY_STATUS st;

                if (i == 0 || i == N_FLOOD - 1000)
                        t0 = t_now_ms();
                st = export_ctx(&ctx[i % QUOTA_EXPORTS], 0, &p1);
                if (st == SEC_E_OK) {
                        rep.flood_ok++;
                        FreeContextBuffer(p1.pvBuffer);
                } else
                        rep.flood_other++;
                if (i == 999)
                        rep.rate_first = 1000.0 * 1000.0 / (double) (t_now_ms() - t0 + 1);
                if (i == N_FLOOD - 1)
                        rep.rate_last = 1000.0 * 1000.0 / (double) (t_now_ms() - t0 + 1);
        }
        for (int i = QUOTA_EXPORTS; i < N_CTX; i++) {
                SECURITY_STATUS st = export_ctx(&ctx[i], 0, &p1);

                if (st == SEC_E_OK) {
                        rep.first_ok++;
                        FreeContextBuffer(p1.pvBuffer);
                } else if (st == SEC_E_INSUFFICIENT_MEMORY)
                        rep.first_refused++;
        }
out:
        return write(fd, &rep, sizeof(rep)) == sizeof(rep) ? 0 : 3;
}

static bool run_attack(const TDaemon *d, Report *rep) {
        int p[2];
        pid_t pid;
        bool ok;

        (void) d;
        if (pipe(p) < 0)
                return false;
        pid = t_spawn_as(T_ATTACKER, attacker, &p[1]);
        close(p[1]);
        ok = read(p[0], rep, sizeof(*rep)) == sizeof(*rep);
        close(p[0]);
        ok = t_wait_child(pid, 300000) == 0 && ok;
        printf("# attacker: %d contexts; replaced ticket %s, newer %s; first pass %d ok / %d refused; flood %d ok / "
               "%d failed, %.0f then %.0f exports/s\n",
               rep->made, rep->replaced_old ? "refused" : "ACCEPTED", rep->replaced_new ? "imported" : "FAILED",
               rep->first_ok, rep->first_refused, rep->flood_ok, rep->flood_other,
               rep->rate_first, rep->rate_last);
        return ok;
}

/* ---- the victim: export/import cycles of root's own context ---- */

static int victim_cycles(void *arg) {
        CredHandle cred;
        CtxtHandle ctx, imp;
        SecBuffer p;

        (void) arg;
        if (t_cred_password("alice", "alice-pw-1", &cred) != SEC_E_OK || make_ctx(&cred, &ctx) != SEC_E_OK)
                return 2;
        for (int i = 0; i < VICTIM_CYCLES; i++) {
                if (export_ctx(&ctx, 0, &p) != SEC_E_OK)
                        return 3;
                if (import_ctx(&p, &imp) != SEC_E_OK)
                        return 4;
                FreeContextBuffer(p.pvBuffer);
                DeleteSecurityContext(&imp);
        }
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
        return 0;
}

static long victim_ms(void) {
        uint64_t t0 = t_now_ms();
        int rc = t_wait_child(t_spawn_as(T_VICTIM, victim_cycles, NULL), 120000);

        if (rc != 0) {
                printf("# victim export/import cycles: code %d\n", rc);
                return -1;
        }
        return (long) (t_now_ms() - t0);
}

/* ---- quota-objects counts imports ---- */

/* An object leaves the uid's count when its last reference goes, which may
 * be a moment after the reply that removed it (the job that made it lets
 * go after its reply): a step that must succeed is retried briefly while
 * it gets SEC_E_INSUFFICIENT_MEMORY. */
#define RETRY_FULL(call)                                                                \
        ({                                                                              \
                SECURITY_STATUS _st;                                                    \
                for (int _i = 0; (_st = (call)) == SEC_E_INSUFFICIENT_MEMORY && _i < 40; _i++) \
                        usleep(50000);                                                  \
                _st;                                                                    \
        })

static int import_quota(void *arg) {
        CredHandle cred;
        CtxtHandle a, b, c, d, imp;
        SecBuffer pa, pb;
        SECURITY_STATUS st;
        int bad = 0;

        (void) arg;
        /* quota-objects = 4: the credential and three contexts. */
        if (t_cred_password("alice", "alice-pw-1", &cred) != SEC_E_OK || make_ctx(&cred, &a) != SEC_E_OK ||
            make_ctx(&cred, &b) != SEC_E_OK)
                return 2;
        /* Exported with DELETE_OLD: the contexts leave the table. */
        if (export_ctx(&a, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &pa) != SEC_E_OK ||
            export_ctx(&b, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &pb) != SEC_E_OK)
                return 3;
        if ((st = RETRY_FULL(import_ctx(&pa, &imp))) != SEC_E_OK) {
                printf("# import a: 0x%08x\n", (unsigned) st);
                bad |= 4;
        }
        if ((st = RETRY_FULL(make_ctx(&cred, &c))) != SEC_E_OK || (st = RETRY_FULL(make_ctx(&cred, &d))) != SEC_E_OK) {
                printf("# contexts c, d: 0x%08x\n", (unsigned) st);
                return 5; /* 4 objects now */
        }
        if ((st = import_ctx(&pb, &imp)) != SEC_E_INSUFFICIENT_MEMORY) {
                printf("# import over the quota: 0x%08x\n", (unsigned) st);
                bad |= 8;
        }
        DeleteSecurityContext(&d);
        if ((st = RETRY_FULL(import_ctx(&pb, &imp))) != SEC_E_OK) {
                printf("# import after a delete: 0x%08x\n", (unsigned) st);
                bad |= 16; /* the refused import did not spend the ticket */
        }
        fflush(stdout);
        return bad;
}

int main(void) {
        TDaemon d;
        Report rep;
        long idle_ms, ms, rss0, rss1, cpu0, cpu1, log0, log1;
        uint64_t waiting;

#if defined(__SANITIZE_ADDRESS__)
        setenv("T_DAEMON_ASAN_EXTRA", "quarantine_size_mb=" STRINGIFY(ASAN_QUARANTINE_MB), 1);
#endif
        int rc;

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        idle_ms = victim_ms();
        t_ok(idle_ms >= 0, "victim: %d export/import cycles on the idle daemon (%ld ms)", VICTIM_CYCLES, idle_ms);
        rss0 = t_proc_rss_kib(d.pid);
        cpu0 = t_proc_cpu_ms(d.pid);
        log0 = t_file_size(d.log);

        t_ok(run_attack(&d, &rep) && rep.made == N_CTX, "attacker (uid 65534) made %d contexts and flooded", N_CTX);
        t_ok(rep.replaced_old && rep.replaced_new, "a second export of a context replaces the first (old ticket "
                                                   "SEC_E_INVALID_TOKEN, new one imported)");
        t_ok(rep.first_ok == QUOTA_EXPORTS && rep.first_refused == N_CTX - QUOTA_EXPORTS,
             "the first %d exports wait, the next %d get SEC_E_INSUFFICIENT_MEMORY (%d / %d)", QUOTA_EXPORTS,
             N_CTX - QUOTA_EXPORTS, rep.first_ok, rep.first_refused);
        t_ok(rep.flood_ok == N_FLOOD && rep.flood_other == 0,
             "flood: %d re-exports of the waiting contexts, each replacing the last (%d ok, %d failed)", N_FLOOD,
             rep.flood_ok, rep.flood_other);
        waiting = t_daemon_status(&d, "exports_waiting", NULL);
        t_ok(waiting == QUOTA_EXPORTS, "sspictl status: %d exported contexts waiting (%llu)", QUOTA_EXPORTS,
             (unsigned long long) waiting);
        waiting = t_daemon_status(&d, "exports", "\"uid\":65534");
        t_ok(waiting == QUOTA_EXPORTS, "sspictl status: uid 65534 has %d exports waiting (%llu)", QUOTA_EXPORTS,
             (unsigned long long) waiting);

        ms = victim_ms();
        printf("# victim: %d export/import cycles idle %ld ms, with the attacker's exports waiting %ld ms\n",
               VICTIM_CYCLES, idle_ms, ms);
        t_ok(ms >= 0 && ms < VICTIM_BOUND_MS, "victim's export/import cycles still served (%ld ms < %d)", ms,
             VICTIM_BOUND_MS);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0 && ms < VICTIM_BOUND_MS, "victim round served (%ld ms)", ms);

        rss1 = t_proc_rss_kib(d.pid);
        cpu1 = t_proc_cpu_ms(d.pid);
        log1 = t_file_size(d.log);
        printf("# daemon: RSS %ld -> %ld KiB, CPU %ld ms, log +%ld bytes after %d export attempts\n", rss0, rss1,
               cpu1 - cpu0, log1 - log0, N_CTX * 2 + N_FLOOD);
        t_ok(rss1 - rss0 < RSS_BOUND_KIB, "daemon RSS growth bounded (%ld KiB)", rss1 - rss0);
        t_ok(log1 - log0 < 256 * 1024, "daemon log growth bounded (%ld bytes)", log1 - log0);
        t_daemon_stop(&d);

        /* Control: without the bound every export of the attack waits. */
        if (t_daemon_start(&d, "quota-exports = 0\n", NULL)) {
                rss0 = t_proc_rss_kib(d.pid);
                t_ok(run_attack(&d, &rep), "control: the same attack with quota-exports = 0");
                waiting = t_daemon_status(&d, "exports_waiting", NULL);
                rss1 = t_proc_rss_kib(d.pid);
                printf("# control (quota-exports = 0): %llu exports waiting, RSS %ld -> %ld KiB\n",
                       (unsigned long long) waiting, rss0, rss1);
                t_ok(rep.first_ok == N_CTX && waiting == N_CTX,
                     "control: all %d contexts have an export waiting (%llu): the default bound is what refuses",
                     N_CTX, (unsigned long long) waiting);
                t_daemon_stop(&d);
        } else
                t_ok(false, "control daemon starts");

        /* Imports count against quota-objects. */
        if (t_daemon_start(&d, "quota-objects = 4\n", NULL)) {
                rc = t_run_as(T_ATTACKER, import_quota, NULL);
                t_ok(rc == 0, "quota-objects = 4: an import over the quota gets SEC_E_INSUFFICIENT_MEMORY, its "
                              "ticket still good after a delete (code %d)",
                     rc);
                t_daemon_stop(&d);
        } else
                t_ok(false, "quota daemon starts");
        return t_done();
}
