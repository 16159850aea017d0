/* SPDX-License-Identifier: MIT */
/*
 * Finding 5: the admin listings under load. uid 65534 keeps calls in flight
 * (Kerberos ISCs whose first KDC never answers, re-issued as they end) and
 * churns worker jobs (NTLM AcquireCredentialsHandle + Free, which always run
 * on a worker), while root runs `sspictl calls`, `sessions` and `contexts`
 * hundreds of times, then lists straight on the admin socket for 10 s (tens
 * of thousands of listings: against the daemon before the fix, the release
 * build segfaulted after ~24,000 of them, the ASan build reported the
 * heap-use-after-free in job_package during the sspictl rounds). A job used to be freed (request, ordering object)
 * before it left the connection's in-flight list, so the listing read freed
 * memory: the release daemon crashed after ~20 listings, ASan reported a
 * heap-use-after-free. The daemon must survive every listing, the victim be
 * served, and (ASan tree) the log stay free of sanitizer reports.
 *
 * Control: the `calls` listing showed the attacker's calls in flight, so the
 * window in which a job ends while it is listed was exercised.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define SLOW_CALLS 8
#define CHURNERS 2
#define LISTINGS 300
#define RAW_MS 10000

static volatile sig_atomic_t stop;

static void on_term(int sig) {
        stop = 1;
}

/* Worker jobs ending all the time on the connection whose list is being
 * walked: NTLM AcquireCredentialsHandle always runs on a worker, and its
 * job is freed there, not on the loop thread. */
static void *churner(void *arg) {
        unsigned long *n = arg;

        while (!stop) {
                CredHandle c;

                if (t_cred_identity("NTLM", "alice", "CORP", "alice-pw-1", &c) == SEC_E_OK)
                        FreeCredentialsHandle(&c);
                (*n)++;
        }
        return NULL;
}

/* One connection: Kerberos ISCs toward a first KDC that never answers
 * (each stays in flight for host_timeout, then the real KDC answers;
 * re-issued as they end), so the listing walks a long in-flight list, and
 * churning threads whose jobs end while it does. */
static int attacker(void *arg) {
        pthread_t th[CHURNERS];
        unsigned long churned[CHURNERS] = { 0 };
        SspiAsyncContext *ac[SLOW_CALLS];
        static uint8_t toks[SLOW_CALLS][12000];
        SecBuffer ob[SLOW_CALLS];
        SecBufferDesc od[SLOW_CALLS];
        CtxtHandle ctx[SLOW_CALLS];
        CredHandle kc[SLOW_CALLS];
        ULONG attrs[SLOW_CALLS];
        bool busy[SLOW_CALLS] = { false };

        signal(SIGTERM, on_term);
        for (int i = 0; i < SLOW_CALLS; i++) {
                if (t_cred_password(i % 2 ? "bob" : "alice", i % 2 ? "bob-pw-2" : "alice-pw-1", &kc[i]) != SEC_E_OK)
                        return 1;
                ac[i] = SspiCreateAsyncContext();
                if (!ac[i])
                        return 1;
        }
        for (int i = 0; i < CHURNERS; i++)
                if (pthread_create(&th[i], NULL, churner, &churned[i]) != 0)
                        return 1;
        while (!stop) {
                for (int i = 0; i < SLOW_CALLS; i++) {
                        SECURITY_STATUS st;

                        if (busy[i]) {
                                st = SspiGetAsyncCallStatus(ac[i]);
                                if (st == SEC_I_ASYNC_CALL_PENDING)
                                        continue;
                                if (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK)
                                        DeleteSecurityContext(&ctx[i]);
                                SspiReinitAsyncContext(ac[i]);
                                busy[i] = false;
                        }
                        ob[i] = (SecBuffer) { sizeof(toks[i]), SECBUFFER_TOKEN, toks[i] };
                        od[i] = (SecBufferDesc) { SECBUFFER_VERSION, 1, &ob[i] };
                        st = SspiInitializeSecurityContextAsyncA(ac[i], &kc[i], NULL, "HTTP/localhost", 0, 0,
                                                                 SECURITY_NATIVE_DREP, NULL, 0, &ctx[i], &od[i],
                                                                 &attrs[i], NULL);
                        busy[i] = st == SEC_E_OK;
                }
                usleep(20000);
        }
        for (int i = 0; i < CHURNERS; i++) {
                pthread_join(th[i], NULL);
                if (churned[i] == 0)
                        return 1;
        }
        return 0;
}

/* One admin request by hand (proto/admin.proto: Request{command}), one
 * connection, as sspictl does but without a fork and exec per listing, so
 * that thousands of listings meet the jobs ending. The reply's length, or
 * -1. */
static long admin_raw(const TDaemon *dm, uint8_t command) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const uint8_t req[] = { 0, 0, 0, 2, 0x08, command };
        uint8_t buf[65536];
        long total = 0;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || strlen(dm->admin) >= sizeof(sa.sun_path)) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        memcpy(sa.sun_path, dm->admin, strlen(dm->admin) + 1);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || write(fd, req, sizeof(req)) != sizeof(req)) {
                close(fd);
                return -1;
        }
        /* The header, then its length's worth (the daemon keeps the
         * connection open for another request). */
        long want = 4;
        while (total < want) {
                ssize_t k = total < 4 ? read(fd, buf + total, (size_t) (4 - total)) : read(fd, buf, sizeof(buf));
                if (k <= 0)
                        break;
                if (total < 4 && total + k == 4)
                        want = 4 + (long) ((uint32_t) buf[0] << 24 | (uint32_t) buf[1] << 16 | (uint32_t) buf[2] << 8 |
                                           buf[3]);
                total += k;
        }
        close(fd);
        return total == want && total > 4 ? total - 4 : -1;
}

int main(void) {
        char kdir[] = "/tmp/sspid-listing-krb.XXXXXX", krb5[128], out[65536];
        int ports[2] = { t_dead_kdc(), 0 };
        int failed = 0, saw_attacker = 0, saw_calls = 0;
        long cpu0, cpu1, rss0, rss1, log0, log1, ms;
        pid_t att;
        TDaemon d;

        signal(SIGPIPE, SIG_IGN);
        snprintf(krb5, sizeof(krb5), "%s/krb5.conf", mkdtemp(kdir) ? kdir : "/nonexistent");
        /* Only the KDC list differs from the world's: the [daemon] section
         * (every limit) is the default one. */
        if (ports[0] <= 0 || !t_krb5_conf(krb5, ports, 2, 3, 1) || !t_daemon_start(&d, NULL, krb5)) {
                t_ok(false, "private daemon with the default configuration (a dead first KDC) starts");
                return t_done();
        }
        cpu0 = t_proc_cpu_ms(d.pid);
        rss0 = t_proc_rss_kib(d.pid);
        log0 = t_file_size(d.log);

        att = t_spawn_as(T_ATTACKER, attacker, NULL);
        usleep(500000);

        for (int i = 0; i < LISTINGS; i++) {
                static const char *const json_calls[] = { "--json", "calls", NULL };
                static const char *const calls[] = { "calls", NULL };
                static const char *const sessions[] = { "sessions", NULL };
                static const char *const contexts[] = { "contexts", NULL };

                if (t_sspictl(&d, i % 2 ? calls : json_calls, out, sizeof(out)) != 0)
                        failed++;
                else if (!(i % 2)) {
                        /* Control: the attacker's calls are listed. */
                        if (strstr(out, "\"uid\":65534"))
                                saw_attacker++;
                        if (strstr(out, "\"uid\":65534") && strstr(out, "InitializeSecurityContext"))
                                saw_calls++;
                }
                if (t_sspictl(&d, sessions, out, sizeof(out)) != 0)
                        failed++;
                if (t_sspictl(&d, contexts, out, sizeof(out)) != 0)
                        failed++;
                if (kill(d.pid, 0) < 0 || waitpid(d.pid, NULL, WNOHANG) == d.pid) {
                        d.pid = -1;
                        break;
                }
        }
        /* Then as fast as the admin socket answers, for a while. */
        uint64_t end = t_now_ms() + RAW_MS;
        long raw = 0, raw_failed = 0;
        static const uint8_t cmds[] = { 5, 2, 4 }; /* CALLS, SESSIONS, CONTEXTS */
        while (d.pid > 0 && t_now_ms() < end) {
                if (admin_raw(&d, cmds[raw % 3]) < 0)
                        raw_failed++;
                raw++;
                if (raw % 256 == 0 && (kill(d.pid, 0) < 0 || waitpid(d.pid, NULL, WNOHANG) == d.pid))
                        d.pid = -1;
        }
        t_ok(d.pid > 0, "the daemon survived %d rounds of sspictl calls/sessions/contexts under load", LISTINGS);
        t_ok(d.pid > 0 && raw_failed == 0, "... and %ld listings straight on the admin socket (%ld failed)", raw,
             raw_failed);
        t_ok(failed == 0, "every listing succeeded (%d failed)", failed);
        t_ok(saw_calls > LISTINGS / 8,
             "control: `sspictl calls` listed uid 65534's Kerberos calls in flight in %d of %d listings", saw_calls,
             LISTINGS / 2);
        printf("# calls listings with uid 65534 in them: %d of %d\n", saw_attacker, LISTINGS / 2);

        ms = t_victim_ms(T_VICTIM, 120000);
        t_ok(ms >= 0, "victim (uid 0) served during the attack (%ld ms)", ms);
        printf("# victim round during the attack: %ld ms\n", ms);

        kill(att, SIGTERM);
        t_ok(t_wait_child(att, 60000) == 0, "the attacker ran as uid 65534 (slow calls and churning threads)");

        if (d.pid > 0) {
                cpu1 = t_proc_cpu_ms(d.pid);
                rss1 = t_proc_rss_kib(d.pid);
                log1 = t_file_size(d.log);
                printf("# daemon: CPU %ld ms, RSS %ld -> %ld KiB, log %ld -> %ld bytes\n", cpu1 - cpu0, rss0, rss1,
                       log0, log1);
#if defined(__SANITIZE_ADDRESS__)
                /* ASan's quarantine keeps freed blocks (256 MiB by default). */
                const long rss_bound = 1024 * 1024;
#else
                const long rss_bound = 64 * 1024;
#endif
                t_ok(rss1 - rss0 < rss_bound, "daemon RSS grew by less than %ld MiB (%ld KiB)", rss_bound / 1024,
                     rss1 - rss0);
                /* One audit line per credential the churners acquire. */
                t_ok(log1 - log0 < 64 * 1024 * 1024, "daemon log grew by less than 64 MiB (%ld bytes)", log1 - log0);
        }
        t_daemon_stop(&d);
        snprintf(out, sizeof(out), "rm -rf %s", kdir);
        (void) !system(out);
        return t_done();
}
