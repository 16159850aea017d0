/* SPDX-License-Identifier: MIT */
/*
 * Fewer synchronous round trips (issue 14): DeleteSecurityContext and
 * FreeCredentialsHandle answer from the library's handle table and send
 * the free without waiting; attributes the daemon marks fixed (SIZES,
 * NAMES, NATIVE_NAMES, LIFESPAN, PACKAGE_INFO, NEGOTIATION_INFO of a
 * complete non-stream context) are answered from the library's copy.
 *
 * "Without waiting" is shown with the daemon stopped (SIGSTOP): a call that
 * needs a reply would hang, these return at once. The daemon's own count
 * of calls (sspictl --json status, calls_total) shows which calls reached
 * it. The daemon is our own (t_daemon_start), with a small quota-objects.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tdaemon.h"
#include "testlib.h"

#define QUOTA_OBJECTS 8
#define N_THREADS 4
#define N_ROUNDS 150

static TDaemon d;

/* t_ok() that says whether it passed. */
static bool ok_(bool c, const char *what) {
        t_ok(c, "%s", what);
        return c;
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t calls_total(void) {
        return t_daemon_status(&d, "calls_total", NULL);
}

static uint64_t objects(void) {
        return t_daemon_status(&d, "objects", "\"counters\":");
}

/* One synchronous call: every frame sent before it was read by the daemon
 * (frees run as they are read, on one connection in order). */
static void sync_point(void) {
        ULONG n;
        PSecPkgInfoA p;

        if (EnumerateSecurityPackagesA(&n, &p) == SEC_E_OK)
                FreeContextBuffer(p);
}

static bool kerberos_pair(CredHandle *kc, CredHandle *sc, THandshake *hs) {
        return t_cred_password("alice", "alice-pw-1", kc) == SEC_E_OK &&
               t_cred_service("HTTP/localhost", sc) == SEC_E_OK &&
               t_handshake(kc, sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, hs) == SEC_E_OK;
}

/* 1. A Kerberos handshake and two deletes: 5 requests reach the daemon,
 * 3 of them waited for (the deletes return with the daemon stopped). */
static void test_handshake_count(void) {
        CredHandle kc, sc;
        THandshake hs;
        uint64_t before, after;
        double t0, took;
        SECURITY_STATUS s1, s2, s3, s4;

        sync_point();
        if (!ok_(t_cred_password("alice", "alice-pw-1", &kc) == SEC_E_OK &&
                         t_cred_service("HTTP/localhost", &sc) == SEC_E_OK,
                 "Kerberos credentials"))
                return;
        before = calls_total();
        t_status(t_handshake(&kc, &sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &hs), SEC_E_OK,
                 "Kerberos handshake");
        t_ok(hs.legs == 3, "3 legs (ISC, ASC, ISC): %d", hs.legs);

        kill(d.pid, SIGSTOP);
        t0 = now_s();
        s1 = DeleteSecurityContext(&hs.client);
        s2 = DeleteSecurityContext(&hs.server);
        s3 = FreeCredentialsHandle(&kc);
        s4 = FreeCredentialsHandle(&sc);
        took = now_s() - t0;
        kill(d.pid, SIGCONT);
        t_status(s1, SEC_E_OK, "DeleteSecurityContext(client) with the daemon stopped");
        t_status(s2, SEC_E_OK, "DeleteSecurityContext(server) with the daemon stopped");
        t_status(s3, SEC_E_OK, "FreeCredentialsHandle(client) with the daemon stopped");
        t_status(s4, SEC_E_OK, "FreeCredentialsHandle(server) with the daemon stopped");
        t_ok(took < 0.5, "2 deletes + 2 frees returned without the daemon's reply (%.1f ms)", took * 1e3);
        sync_point();
        after = calls_total();
        /* handshake 3 + 2 deletes + 2 frees + the sync point */
        t_ok(after - before == 8, "the daemon saw the 3 legs, 4 frees and 1 sync call: %llu",
             (unsigned long long) (after - before));
        printf("# Kerberos handshake + 2 deletes: 5 requests, 3 synchronous round trips (deletes pipelined)\n");
}

/* 2. After Delete/Free the handle is invalid on the next call, cached or
 * not; a free followed at once by calls on other handles. */
static void test_invalid_after_free(void) {
        CredHandle kc, sc, other;
        THandshake hs;
        SecPkgContext_Sizes sz;
        SecPkgContext_Flags fl;
        SecPkgCredentials_NamesA cn;

        if (!ok_(kerberos_pair(&kc, &sc, &hs), "Kerberos handshake"))
                return;
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "SIZES (kept)");
        t_status(DeleteSecurityContext(&hs.client), SEC_E_OK, "delete the client context");
        /* At once, on other handles: the daemon has them all. */
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_FLAGS, &fl), SEC_E_OK,
                 "right after: a call on the server context");
        t_status(t_cred_password("alice", "alice-pw-1", &other), SEC_E_OK, "right after: a new credential");
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE,
                 "deleted context: SIZES (was kept) is SEC_E_INVALID_HANDLE");
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_FLAGS, &fl), SEC_E_INVALID_HANDLE,
                 "deleted context: FLAGS (the daemon's answer) is SEC_E_INVALID_HANDLE");
        t_status(DeleteSecurityContext(&hs.client), SEC_E_INVALID_HANDLE, "deleted twice: SEC_E_INVALID_HANDLE");
        t_status(FreeCredentialsHandle(&kc), SEC_E_OK, "free the credential");
        t_status(QueryCredentialsAttributesA(&kc, SECPKG_CRED_ATTR_NAMES, &cn), SEC_E_INVALID_HANDLE,
                 "freed credential: QueryCredentialsAttributes is SEC_E_INVALID_HANDLE");
        t_status(FreeCredentialsHandle(&kc), SEC_E_INVALID_HANDLE, "freed twice: SEC_E_INVALID_HANDLE");
        t_status(FreeCredentialsHandle((CredHandle *) &hs.server), SEC_E_INVALID_HANDLE,
                 "a context handle as a credential: SEC_E_INVALID_HANDLE");
        t_status(DeleteSecurityContext((CtxtHandle *) &sc), SEC_E_INVALID_HANDLE,
                 "a credential handle as a context: SEC_E_INVALID_HANDLE");
        t_status(DeleteSecurityContext(&hs.server), SEC_E_OK, "delete the server context");
        t_status(FreeCredentialsHandle(&sc), SEC_E_OK, "free the service credential");
        t_status(FreeCredentialsHandle(&other), SEC_E_OK, "free the other credential");

        /* Async twins: still the daemon's answer, in order with the sync one. */
        if (kerberos_pair(&kc, &sc, &hs)) {
                SspiAsyncContext *ac = SspiCreateAsyncContext();
                SECURITY_STATUS st;
                t_status(SspiDeleteSecurityContextAsync(ac, &hs.client), SEC_E_OK, "async delete queued");
                t_status(DeleteSecurityContext(&hs.client), SEC_E_INVALID_HANDLE,
                         "sync delete while the async one is in flight: SEC_E_INVALID_HANDLE");
                for (int i = 0; i < 5000 && (st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING; i++)
                        usleep(1000);
                t_status(st, SEC_E_OK, "the async delete completes SEC_E_OK");
                SspiFreeAsyncContext(ac);
                DeleteSecurityContext(&hs.server);
                FreeCredentialsHandle(&kc);
                FreeCredentialsHandle(&sc);
        }
}

static bool wide_eq(const SEC_WCHAR *a, const SEC_WCHAR *b) {
        if (!a || !b)
                return a == b;
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

/* 3. Kept attributes equal the daemon's answer; each query gets memory of
 * its own; a repeated SIZES query makes no round trip. */
static void test_cached_attributes(void) {
        CredHandle kc, sc;
        THandshake hs;
        SecPkgContext_Sizes s1, s2;
        SecPkgContext_NamesA n1, n2;
        SecPkgContext_NamesW w1, w2;
        SecPkgContext_NativeNamesA nn1, nn2;
        SecPkgContext_Lifespan l1, l2;
        SecPkgContext_PackageInfoA p1, p2;
        SecPkgContext_NegotiationInfoA g1, g2;
        uint64_t before, after;
        double t0, took;
        SECURITY_STATUS st;
        int ok = 0;

        if (!ok_(kerberos_pair(&kc, &sc, &hs), "Kerberos handshake"))
                return;
        for (int side = 0; side < 2; side++) {
                CtxtHandle *h = side ? &hs.server : &hs.client;
                const char *who = side ? "server" : "client";

                /* First query: the daemon's answer; second: the kept one. */
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_SIZES, &s1), SEC_E_OK, "%s SIZES", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_SIZES, &s2), SEC_E_OK, "%s SIZES again", who);
                t_ok(!memcmp(&s1, &s2, sizeof(s1)) && s1.cbMaxToken > 0,
                     "%s SIZES kept = daemon's (%u %u %u %u)", who, (unsigned) s2.cbMaxToken,
                     (unsigned) s2.cbMaxSignature, (unsigned) s2.cbBlockSize, (unsigned) s2.cbSecurityTrailer);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NAMES, &n1), SEC_E_OK, "%s NAMES", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NAMES, &n2), SEC_E_OK, "%s NAMES again", who);
                t_ok(n1.sUserName && n2.sUserName && !strcmp(n1.sUserName, n2.sUserName) &&
                             n1.sUserName != n2.sUserName,
                     "%s NAMES equal (%s), each in memory of its own", who, n2.sUserName ? n2.sUserName : "-");
                FreeContextBuffer(n1.sUserName);
                FreeContextBuffer(n2.sUserName);
                t_status(QueryContextAttributesW(h, SECPKG_ATTR_NAMES, &w1), SEC_E_OK, "%s NAMES (W)", who);
                t_status(QueryContextAttributesW(h, SECPKG_ATTR_NAMES, &w2), SEC_E_OK, "%s NAMES (W) again", who);
                t_ok(wide_eq(w1.sUserName, w2.sUserName) && w1.sUserName != w2.sUserName,
                     "%s NAMES (W) equal, each its own", who);
                FreeContextBuffer(w1.sUserName);
                FreeContextBuffer(w2.sUserName);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NATIVE_NAMES, &nn1), SEC_E_OK, "%s NATIVE_NAMES", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NATIVE_NAMES, &nn2), SEC_E_OK,
                         "%s NATIVE_NAMES again", who);
                t_ok(nn1.sClientName && nn2.sClientName && nn1.sServerName && nn2.sServerName &&
                             !strcmp(nn1.sClientName, nn2.sClientName) &&
                             !strcmp(nn1.sServerName, nn2.sServerName) && nn1.sClientName != nn2.sClientName,
                     "%s NATIVE_NAMES equal (%s -> %s)", who, nn2.sClientName ? nn2.sClientName : "-",
                     nn2.sServerName ? nn2.sServerName : "-");
                FreeContextBuffer(nn1.sClientName);
                FreeContextBuffer(nn1.sServerName);
                FreeContextBuffer(nn2.sClientName);
                FreeContextBuffer(nn2.sServerName);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_LIFESPAN, &l1), SEC_E_OK, "%s LIFESPAN", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_LIFESPAN, &l2), SEC_E_OK, "%s LIFESPAN again", who);
                t_ok(!memcmp(&l1, &l2, sizeof(l1)), "%s LIFESPAN equal", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_PACKAGE_INFO, &p1), SEC_E_OK, "%s PACKAGE_INFO", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_PACKAGE_INFO, &p2), SEC_E_OK,
                         "%s PACKAGE_INFO again", who);
                t_ok(p1.PackageInfo && p2.PackageInfo && p1.PackageInfo != p2.PackageInfo &&
                             !strcmp(p1.PackageInfo->Name, p2.PackageInfo->Name) &&
                             p1.PackageInfo->fCapabilities == p2.PackageInfo->fCapabilities &&
                             p1.PackageInfo->cbMaxToken == p2.PackageInfo->cbMaxToken,
                     "%s PACKAGE_INFO equal (%s), each its own", who,
                     p2.PackageInfo ? p2.PackageInfo->Name : "-");
                FreeContextBuffer(p1.PackageInfo);
                FreeContextBuffer(p2.PackageInfo);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NEGOTIATION_INFO, &g1), SEC_E_OK,
                         "%s NEGOTIATION_INFO", who);
                t_status(QueryContextAttributesA(h, SECPKG_ATTR_NEGOTIATION_INFO, &g2), SEC_E_OK,
                         "%s NEGOTIATION_INFO again", who);
                t_ok(g1.PackageInfo && g2.PackageInfo && g1.NegotiationState == g2.NegotiationState &&
                             g2.NegotiationState == SECPKG_NEGOTIATION_COMPLETE &&
                             !strcmp(g1.PackageInfo->Name, g2.PackageInfo->Name),
                     "%s NEGOTIATION_INFO equal, COMPLETE", who);
                FreeContextBuffer(g1.PackageInfo);
                FreeContextBuffer(g2.PackageInfo);
        }

        /* No round trip: the daemon's count does not move, and the answer
         * comes with the daemon stopped. */
        before = calls_total();
        for (int i = 0; i < 100; i++)
                ok += QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &s2) == SEC_E_OK;
        after = calls_total();
        t_ok(ok == 100 && after == before, "100 repeated SIZES queries: %d OK, %llu reached the daemon", ok,
             (unsigned long long) (after - before));
        kill(d.pid, SIGSTOP);
        t0 = now_s();
        st = QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &s2);
        took = now_s() - t0;
        kill(d.pid, SIGCONT);
        t_status(st, SEC_E_OK, "SIZES with the daemon stopped");
        t_ok(took < 0.5, "answered without the daemon (%.2f ms)", took * 1e3);

        /* A call that still needs the daemon reaches it. */
        before = calls_total();
        SecPkgContext_Flags fl;
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_FLAGS, &fl), SEC_E_OK, "FLAGS");
        t_ok(calls_total() - before == 1, "FLAGS is asked of the daemon every time");
        /* A leg on a complete context forgets what was kept: the daemon's
         * answer (here: an error for the extra leg) decides again. */
        {
                uint8_t tok[64] = { 0 };
                SecBuffer ib = { sizeof(tok), SECBUFFER_TOKEN, tok }, ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;
                CtxtHandle same = hs.client;
                (void) InitializeSecurityContextA(&kc, &hs.client, "HTTP/localhost", ISC_REQ_ALLOCATE_MEMORY, 0,
                                                  SECURITY_NATIVE_DREP, &id, 0, &same, &od, &attrs, NULL);
                if (ob.pvBuffer)
                        FreeContextBuffer(ob.pvBuffer);
                before = calls_total();
                st = QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &s2);
                t_ok(calls_total() - before == 1, "after another ISC leg, SIZES is asked of the daemon again (%s)",
                     status_name(st));
        }
        DeleteSecurityContext(&hs.client);
        DeleteSecurityContext(&hs.server);
        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&sc);
}

/* 4. Many threads: acquire, ISC, delete, free. quota-objects is exactly
 * what the threads hold at most: a pipelined free must be counted before
 * the next acquire of the same connection, or an acquire fails. */
static int thread_fail[N_THREADS];

static void *churn(void *arg) {
        int id = (int) (intptr_t) arg;

        for (int i = 0; i < N_ROUNDS; i++) {
                CredHandle c;
                CtxtHandle x;
                SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;
                SECURITY_STATUS st;

                if (t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &c) != SEC_E_OK) {
                        thread_fail[id]++;
                        continue;
                }
                st = InitializeSecurityContextA(&c, NULL, "HTTP/localhost", ISC_REQ_ALLOCATE_MEMORY, 0,
                                                SECURITY_NATIVE_DREP, NULL, 0, &x, &od, &attrs, NULL);
                if (ob.pvBuffer)
                        FreeContextBuffer(ob.pvBuffer);
                if (st != SEC_I_CONTINUE_NEEDED)
                        thread_fail[id]++;
                else if (DeleteSecurityContext(&x) != SEC_E_OK)
                        thread_fail[id]++;
                if (FreeCredentialsHandle(&c) != SEC_E_OK)
                        thread_fail[id]++;
        }
        return NULL;
}

static void test_threads(void) {
        pthread_t th[N_THREADS];
        uint64_t start, end;
        int fails = 0;

        sync_point();
        start = objects();
        for (int i = 0; i < N_THREADS; i++)
                pthread_create(&th[i], NULL, churn, (void *) (intptr_t) i);
        for (int i = 0; i < N_THREADS; i++) {
                pthread_join(th[i], NULL);
                fails += thread_fail[i];
        }
        t_ok(fails == 0, "%d threads x %d rounds of acquire, ISC, delete, free at quota-objects %d: %d failures",
             N_THREADS, N_ROUNDS, QUOTA_OBJECTS, fails);
        sync_point();
        end = objects();
        t_ok(start != UINT64_MAX && end == start, "the daemon's object count is back to %llu (%llu)",
             (unsigned long long) start, (unsigned long long) end);
}

/* 5. The daemon revokes a handle (sspictl revoke): the library forgets it
 * too, kept attributes included. */
static void test_revoke(void) {
        CredHandle kc, sc;
        THandshake hs;
        SecPkgContext_Sizes sz;
        char cmd[1024];
        const char *top = getenv("SSPID_TOP");

        if (!ok_(kerberos_pair(&kc, &sc, &hs), "Kerberos handshake"))
                return;
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "SIZES (kept)");
        snprintf(cmd, sizeof(cmd), "'%s/build/sspictl' --socket '%s' revoke context %016llx >/dev/null 2>&1",
                 top ? top : ".", d.admin, (unsigned long long) hs.server.dwUpper);
        t_ok(system(cmd) == 0, "sspictl revoke context %016llx", (unsigned long long) hs.server.dwUpper);
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE,
                 "revoked: SIZES (was kept) is SEC_E_INVALID_HANDLE");
        t_status(DeleteSecurityContext(&hs.server), SEC_E_INVALID_HANDLE, "revoked: delete is SEC_E_INVALID_HANDLE");
        DeleteSecurityContext(&hs.client);
        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&sc);
}

/* 6. Export with SECPKG_CONTEXT_EXPORT_DELETE_OLD drops the old handle;
 * the imported one is ours. */
static void test_export_import(void) {
        CredHandle kc, sc;
        THandshake hs;
        SecBuffer packed = { 0, SECBUFFER_EMPTY, NULL };
        CtxtHandle imported;
        SecPkgContext_Sizes sz;

        if (!ok_(kerberos_pair(&kc, &sc, &hs), "Kerberos handshake"))
                return;
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "SIZES (kept)");
        if (t_status(ExportSecurityContext(&hs.server, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL), SEC_E_OK,
                     "export, deleting the old context")) {
                t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE,
                         "old handle: SIZES is SEC_E_INVALID_HANDLE");
                t_status(DeleteSecurityContext(&hs.server), SEC_E_INVALID_HANDLE,
                         "old handle: delete is SEC_E_INVALID_HANDLE");
                t_status(ImportSecurityContextA("Kerberos", &packed, NULL, &imported), SEC_E_OK, "import");
                t_status(QueryContextAttributesA(&imported, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "imported: SIZES");
                t_status(DeleteSecurityContext(&imported), SEC_E_OK, "imported: delete");
                t_status(DeleteSecurityContext(&imported), SEC_E_INVALID_HANDLE, "imported: deleted twice");
                FreeContextBuffer(packed.pvBuffer);
        }
        DeleteSecurityContext(&hs.client);
        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&sc);
}

/* 7. A forked child's handles are not its parent's. */
static void test_fork(void) {
        CredHandle c;
        int status = -1;
        pid_t pid;

        if (!t_status(t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &c), SEC_E_OK, "NTLM credential"))
                return;
        pid = fork();
        if (pid == 0) {
                SECURITY_STATUS st = FreeCredentialsHandle(&c);
                if (st != SEC_E_INVALID_HANDLE)
                        fprintf(stderr, "# child: FreeCredentialsHandle: %s\n", status_name(st));
                _exit(st == SEC_E_INVALID_HANDLE ? 0 : 1);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: the parent's credential is SEC_E_INVALID_HANDLE");
        t_status(FreeCredentialsHandle(&c), SEC_E_OK, "parent: still its own");
}

/* 8. The daemon is gone: a free returns promptly, today's status. */
static void test_broken(void) {
        CredHandle c1, c2;
        double t0, took;
        SECURITY_STATUS s1, s2;

        if (!t_status(t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &c1), SEC_E_OK, "NTLM credential") ||
            !t_status(t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &c2), SEC_E_OK, "second NTLM credential"))
                return;
        t_daemon_kill(&d, SIGKILL);
        t0 = now_s();
        s1 = FreeCredentialsHandle(&c1);
        s2 = FreeCredentialsHandle(&c2);
        took = now_s() - t0;
        t_status(s1, SEC_E_INTERNAL_ERROR, "daemon gone: free is SEC_E_INTERNAL_ERROR (as before)");
        t_status(s2, SEC_E_INTERNAL_ERROR, "daemon gone: a second free too");
        t_ok(took < 1.0, "both returned promptly (%.1f ms)", took * 1e3);
        if (ok_(t_daemon_restart(&d), "daemon restarted"))
                t_status(FreeCredentialsHandle(&c1), SEC_E_INVALID_HANDLE,
                         "after the restart: the old handle is SEC_E_INVALID_HANDLE");
}

int main(void) {
        char keys[128];

        snprintf(keys, sizeof(keys), "quota-objects = %d", QUOTA_OBJECTS);
        if (!ok_(t_daemon_start(&d, keys, NULL), keys))
                return t_done();
        test_handshake_count();
        test_invalid_after_free();
        test_cached_attributes();
        test_threads();
        test_revoke();
        test_export_import();
        test_fork();
        test_broken();
        t_daemon_stop(&d);
        return t_done();
}
