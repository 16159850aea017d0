/* SPDX-License-Identifier: MIT */
/*
 * Per-uid quotas. A daemon of its own (tests/lib/tdaemon.h), with the test
 * world's config plus every quota-* key, and a krb5.conf whose only KDC
 * never answers: a Kerberos ISC then stays in flight for seconds, which is
 * how calls in flight are made to pile up. A uid over a quota gets
 * SEC_E_INSUFFICIENT_MEMORY (objects, calls) or loses the connection
 * (connections, buffered bytes), while another uid is served meanwhile.
 * `sspictl status` shows the quotas and each uid's usage.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"
#include "tattack.h"
#include "testlib.h"

#define NOBODY 65534
#define QUOTA_OBJECTS 8
#define QUOTA_CONNECTIONS 4
#define QUOTA_CALLS 3
#define QUOTA_BYTES (256 * 1024)
#define FLOOD_REQUESTS 20000

static TDaemon d;

/* A child (optionally as nobody) runs fn; returns its exit status. */
static int in_child(uid_t uid, int (*fn)(void)) {
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(99);
                _exit(fn());
        }
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

static int other_uid_acquires(void) {
        CredHandle c;
        return t_cred_password("bob", "bob-pw-2", &c) == SEC_E_OK ? 0 : 1;
}

static int can_connect(void) {
        ULONG n;
        PSecPkgInfoA p;
        SECURITY_STATUS st = EnumerateSecurityPackagesA(&n, &p);
        if (st == SEC_E_OK)
                FreeContextBuffer(p);
        return st == SEC_E_OK ? 0 : 1;
}

/* Another uid's ordinary work: list packages, an NTLM credential (on a
 * worker) and its first leg. */
static int other_uid_works(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "bob", 3, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) "bob-pw-2", 8, SEC_WINNT_AUTH_IDENTITY_ANSI };
        uint8_t tok[4096];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        CredHandle c;
        CtxtHandle ctx;
        ULONG attrs;
        TimeStamp ts;

        if (can_connect() != 0)
                return 1;
        if (AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c, &ts) != SEC_E_OK)
                return 2;
        if (InitializeSecurityContextA(&c, NULL, "HTTP/localhost", 0, 0, SECURITY_NATIVE_DREP, NULL, 0, &ctx, &od,
                                       &attrs, &ts) != SEC_I_CONTINUE_NEEDED)
                return 3;
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&c);
        return 0;
}

/* This uid's row of `sspictl --json status` usage: one field of it. */
static uint64_t usage_of(uid_t uid, const char *field) {
        char buf[16384], pat[48];
        const char *p, *end;

        if (!t_daemon_status_json(&d, buf, sizeof(buf)))
                return UINT64_MAX;
        snprintf(pat, sizeof(pat), "{\"uid\":%u,", (unsigned) uid);
        p = strstr(buf, pat);
        if (!p)
                return 0; /* no entry: uses nothing */
        end = strchr(p, '}');
        snprintf(pat, sizeof(pat), "\"%s\":", field);
        p = strstr(p, pat);
        if (!p || (end && p > end))
                return UINT64_MAX;
        return strtoull(p + strlen(pat), NULL, 10);
}

/* Whether this uid's row says "throttled": 1 yes, 0 no, -1 no answer. */
static int throttled_of(uid_t uid) {
        char buf[16384], pat[48];
        const char *p, *end, *t;

        if (!t_daemon_status_json(&d, buf, sizeof(buf)))
                return -1;
        snprintf(pat, sizeof(pat), "{\"uid\":%u,", (unsigned) uid);
        p = strstr(buf, pat);
        if (!p)
                return -1;
        end = strchr(p, '}');
        t = strstr(p, "\"throttled\":true");
        return t && (!end || t < end) ? 1 : 0;
}

static void test_objects_and_connections(void) {
        CredHandle creds[QUOTA_OBJECTS + 1];
        pid_t holders[QUOTA_CONNECTIONS];
        int pipes[QUOTA_CONNECTIONS][2];
        SECURITY_STATUS st;
        int held = 0;

        /* Objects: this uid fills its quota. */
        int got = 0;
        for (int i = 0; i < QUOTA_OBJECTS; i++)
                if (t_cred_service("HTTP/localhost", &creds[i]) == SEC_E_OK)
                        got++;
        t_ok(got == QUOTA_OBJECTS, "%d credentials within the quota", got);
        t_ok(usage_of(getuid(), "objects") == QUOTA_OBJECTS, "sspictl status: this uid uses %d objects",
             QUOTA_OBJECTS);
        st = t_cred_service("HTTP/localhost", &creds[QUOTA_OBJECTS]);
        t_status(st, SEC_E_INSUFFICIENT_MEMORY, "one more credential: over quota-objects");
        t_ok(in_child(NOBODY, other_uid_acquires) == 0, "another uid acquires meanwhile");
        t_status(FreeCredentialsHandle(&creds[0]), SEC_E_OK, "free one");
        t_status(t_cred_service("HTTP/localhost", &creds[0]), SEC_E_OK, "room again after a free");
        for (int i = 0; i < QUOTA_OBJECTS; i++)
                FreeCredentialsHandle(&creds[i]);

        /* Connections: this process holds one; children hold the rest. */
        fflush(stdout);
        for (int i = 0; i < QUOTA_CONNECTIONS - 1; i++) {
                if (pipe(pipes[i]) < 0)
                        break;
                holders[i] = fork();
                if (holders[i] == 0) {
                        char c = can_connect() == 0 ? 'y' : 'n';
                        (void) !write(pipes[i][1], &c, 1);
                        pause();
                        _exit(0);
                }
                char c = 0;
                if (read(pipes[i][0], &c, 1) == 1 && c == 'y')
                        held++;
        }
        t_ok(held == QUOTA_CONNECTIONS - 1, "%d more connections of this uid", held);
        t_ok(usage_of(getuid(), "connections") == QUOTA_CONNECTIONS, "sspictl status: this uid has %d connections",
             QUOTA_CONNECTIONS);
        t_ok(in_child(0, can_connect) != 0, "one connection over quota-connections is refused");
        t_ok(in_child(NOBODY, can_connect) == 0, "another uid connects meanwhile");
        t_ok(can_connect() == 0, "this process's own connection still works");
        for (int i = 0; i < held; i++) {
                kill(holders[i], SIGKILL);
                waitpid(holders[i], NULL, 0);
        }
        bool again = false;
        for (int i = 0; i < 50 && !again; i++) {
                again = in_child(0, can_connect) == 0;
                if (!again)
                        usleep(20000);
        }
        t_ok(again, "connections free up when their processes exit");
}

/* Calls in flight: Kerberos ISCs stuck on the dead KDC fill the quota. */
static void test_calls(void) {
        static uint8_t toks[QUOTA_CALLS + 1][12000];
        SspiAsyncContext *ac[QUOTA_CALLS + 1];
        SecBuffer ob[QUOTA_CALLS + 1];
        SecBufferDesc od[QUOTA_CALLS + 1];
        CtxtHandle ctx[QUOTA_CALLS + 1];
        CredHandle kc[QUOTA_CALLS];
        ULONG attrs[QUOTA_CALLS + 1];
        SecPkgCredentials_NamesA names;
        int queued = 0, failed = 0;
        SECURITY_STATUS st;

        for (int i = 0; i < QUOTA_CALLS; i++)
                t_cred_password(i % 2 ? "bob" : "alice", i % 2 ? "bob-pw-2" : "alice-pw-1", &kc[i]);
        for (int i = 0; i <= QUOTA_CALLS; i++) {
                ac[i] = SspiCreateAsyncContext();
                ob[i] = (SecBuffer) { sizeof(toks[i]), SECBUFFER_TOKEN, toks[i] };
                od[i] = (SecBufferDesc) { SECBUFFER_VERSION, 1, &ob[i] };
        }
        for (int i = 0; i < QUOTA_CALLS; i++)
                if (SspiInitializeSecurityContextAsyncA(ac[i], &kc[i], NULL, "HTTP/localhost", 0, 0,
                                                        SECURITY_NATIVE_DREP, NULL, 0, &ctx[i], &od[i], &attrs[i],
                                                        NULL) == SEC_E_OK)
                        queued++;
        t_ok(queued == QUOTA_CALLS, "%d Kerberos calls waiting on a KDC that never answers", queued);
        uint64_t calls = 0;
        for (int i = 0; i < 100 && calls != QUOTA_CALLS; i++) {
                calls = usage_of(getuid(), "calls");
                if (calls != QUOTA_CALLS)
                        usleep(10000);
        }
        t_ok(calls == QUOTA_CALLS, "sspictl status: this uid has %llu calls in flight", (unsigned long long) calls);

        st = QueryCredentialsAttributesA(&kc[0], SECPKG_CRED_ATTR_NAMES, &names);
        t_status(st, SEC_E_INSUFFICIENT_MEMORY, "one more call: over quota-calls");
        if (st == SEC_E_OK)
                FreeContextBuffer(names.sUserName);
        st = SspiInitializeSecurityContextAsyncA(ac[QUOTA_CALLS], &kc[0], NULL, "HTTP/localhost", 0, 0,
                                                 SECURITY_NATIVE_DREP, NULL, 0, &ctx[QUOTA_CALLS], &od[QUOTA_CALLS],
                                                 &attrs[QUOTA_CALLS], NULL);
        if (st == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac[QUOTA_CALLS])) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(1000);
        t_status(st, SEC_E_INSUFFICIENT_MEMORY, "one more async call: completes with the same status");
        t_ok(throttled_of(getuid()) == 1,
             "sspictl status: this uid is throttled after its refusals (served last, one request per ms)");
        /* sspid.conf(5): a throttled uid gets at most one request per
         * millisecond. Measured, not bounded tightly: before the throttle
         * timer had an accuracy of its own it was ~35 ms per request. */
        uint64_t t0 = t_now_ms();
        int refused = 0;
        for (int i = 0; i < 100; i++) {
                st = QueryCredentialsAttributesA(&kc[0], SECPKG_CRED_ATTR_NAMES, &names);
                if (st == SEC_E_OK)
                        FreeContextBuffer(names.sUserName);
                refused += st == SEC_E_INSUFFICIENT_MEMORY;
        }
        uint64_t ms = t_now_ms() - t0;
        printf("# throttled uid: 100 requests (%d refused) in %llu ms\n", refused, (unsigned long long) ms);
        t_ok(refused == 100 && ms < 2000, "a throttled uid is still served about once per ms (100 in %llu ms)",
             (unsigned long long) ms);
        int r = in_child(NOBODY, other_uid_works);
        t_ok(r == 0, "another uid is served meanwhile: packages, an NTLM credential and its first leg (%d)", r);
        t_ok(SspiGetAsyncCallStatus(ac[0]) == SEC_I_ASYNC_CALL_PENDING,
             "... while this uid's calls are still in flight");

        for (int i = 0; i < QUOTA_CALLS; i++) {
                while ((st = SspiGetAsyncCallStatus(ac[i])) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(5000);
                if (st == SEC_E_NO_AUTHENTICATING_AUTHORITY)
                        failed++;
                else
                        printf("# stuck call %d ended with %s (0x%08x)\n", i, status_name(st), (unsigned) st);
        }
        t_ok(failed == QUOTA_CALLS, "the stuck calls end with SEC_E_NO_AUTHENTICATING_AUTHORITY (%d of %d)", failed,
             QUOTA_CALLS);
        st = QueryCredentialsAttributesA(&kc[0], SECPKG_CRED_ATTR_NAMES, &names);
        t_status(st, SEC_E_OK, "calls are accepted again once they ended");
        if (st == SEC_E_OK)
                FreeContextBuffer(names.sUserName);
        t_ok(throttled_of(getuid()) == 0, "no longer throttled a second after its last refusal");
        for (int i = 0; i <= QUOTA_CALLS; i++)
                SspiFreeAsyncContext(ac[i]);
        for (int i = 0; i < QUOTA_CALLS; i++)
                FreeCredentialsHandle(&kc[i]);
}

/* Buffered bytes: a client that sends requests and never reads a reply.
 * Runs as nobody; the pipe reports (replies read, EOF seen) at the end. */
static int flood_fd = -1, report_fd = -1, go_fd = -1;

static int flooder(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        static const uint8_t hello[] = { 0, 0, 0, 8, 0x08, 0x00, 0x52, 0x04, 0x08, 0x01, 0x10, 0x00 };
        unsigned sent = 0, replies = 0;
        char c;

        if (strlen(d.sock) >= sizeof(sa.sun_path))
                return 1;
        memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 1;
        if (write(fd, hello, sizeof(hello)) != (ssize_t) sizeof(hello))
                return 2;
        /* EnumPackagesReq{} with call ids 1..100, in batches. */
        uint8_t batch[100 * 8];
        for (unsigned i = 0; i < 100; i++) {
                uint8_t *f = batch + i * 8;
                f[0] = 0, f[1] = 0, f[2] = 0, f[3] = 4;
                f[4] = 0x08, f[5] = (uint8_t) (i + 1), f[6] = 0x62, f[7] = 0x00;
        }
        while (sent < FLOOD_REQUESTS) {
                ssize_t n = send(fd, batch, sizeof(batch), MSG_NOSIGNAL);
                if (n != (ssize_t) sizeof(batch))
                        break; /* the daemon dropped us */
                sent += 100;
        }
        (void) !write(flood_fd, "s", 1);
        /* Wait until the parent has seen what it wanted, then drain. */
        if (read(go_fd, &c, 1) != 1)
                return 3;
        bool eof = false;
        uint8_t buf[65536];
        size_t have = 0;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 5000) <= 0)
                        break;
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0) {
                        eof = true;
                        break;
                }
                have += (size_t) n;
                /* count whole frames */
                size_t off = 0;
                while (have - off >= 4) {
                        uint32_t len = (uint32_t) buf[off] << 24 | buf[off + 1] << 16 | buf[off + 2] << 8 | buf[off + 3];
                        if (have - off < 4 + (size_t) len)
                                break;
                        off += 4 + len;
                        replies++;
                }
                memmove(buf, buf + off, have - off);
                have -= off;
        }
        unsigned rep[3] = { sent, replies, eof };
        (void) !write(report_fd, rep, sizeof(rep));
        return 0;
}

static void test_bytes(void) {
        int f[2], r[2], g[2];
        char c = 0;

        if (pipe(f) < 0 || pipe(r) < 0 || pipe(g) < 0)
                return;
        flood_fd = f[1];
        report_fd = r[1];
        go_fd = g[0];
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(99);
                _exit(flooder());
        }
        close(f[1]);
        close(r[1]);
        close(g[0]);
        t_ok(read(f[0], &c, 1) == 1, "a client of another uid sends %d requests and reads no reply",
             FLOOD_REQUESTS);
        /* Its connection goes once its replies pass quota-bytes. */
        uint64_t conns = 1;
        for (int i = 0; i < 200 && conns != 0; i++) {
                conns = usage_of(NOBODY, "connections");
                if (conns != 0)
                        usleep(25000);
        }
        t_ok(conns == 0, "the daemon dropped that connection (quota-bytes %d)", QUOTA_BYTES);
        t_ok(usage_of(NOBODY, "bytes") == 0, "sspictl status: nothing stays buffered for that uid");
        t_ok(can_connect() == 0 && in_child(0, other_uid_acquires) == 0, "this uid is served meanwhile");
        (void) !write(g[1], "g", 1);
        unsigned rep[3] = { 0, 0, 0 };
        t_ok(read(r[0], rep, sizeof(rep)) == (ssize_t) sizeof(rep), "the flooder reports");
        printf("# flooder: %u requests sent, %u replies read before EOF\n", rep[0], rep[1]);
        t_ok(rep[2] == 1 && rep[1] < rep[0], "it read %u of %u replies, then end of file", rep[1], rep[0]);
        waitpid(pid, NULL, 0);
        close(f[0]);
        close(r[0]);
        close(g[1]);
}

static void test_status_shows_quotas(void) {
        char cmd[2048], out[8192] = "";
        const char *top = getenv("SSPID_TOP");
        FILE *p;
        size_t n;

        snprintf(cmd, sizeof(cmd), "'%s/build/sspictl' --socket '%s' status", top ? top : ".", d.admin);
        p = popen(cmd, "r");
        n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
        if (p)
                pclose(p);
        out[n] = 0;
        snprintf(cmd, sizeof(cmd), "Quotas per uid: connections %d, objects %d, calls %d, queued",
                 QUOTA_CONNECTIONS, QUOTA_OBJECTS, QUOTA_CALLS);
        t_ok(strstr(out, cmd) != NULL, "sspictl status shows the quotas");
        snprintf(cmd, sizeof(cmd), "bytes %dK (replies)", QUOTA_BYTES / 1024);
        t_ok(strstr(out, cmd) != NULL, "sspictl status shows quota-bytes (%s)", cmd);
        t_ok(strstr(out, "CONNS") && strstr(out, "OBJS") && strstr(out, "AT LIMIT"),
             "sspictl status has a per-uid usage table");
        t_ok(t_daemon_status(&d, "calls", "\"quotas\":") == QUOTA_CALLS, "sspictl --json status: quotas.calls = %d",
             QUOTA_CALLS);
}

int main(void) {
        char kdir[] = "/tmp/sspid-quota-krb.XXXXXX", krb5[128], keys[256];
        int dead = t_dead_kdc();

        signal(SIGPIPE, SIG_IGN);
        snprintf(krb5, sizeof(krb5), "%s/krb5.conf", mkdtemp(kdir) ? kdir : "/nonexistent");
        snprintf(keys, sizeof(keys),
                 "quota-objects = %d\nquota-connections = %d\nquota-calls = %d\nquota-bytes = %d", QUOTA_OBJECTS,
                 QUOTA_CONNECTIONS, QUOTA_CALLS, QUOTA_BYTES);
        bool started = dead > 0 && t_krb5_conf(krb5, &dead, 1, 3, 1) && t_daemon_start(&d, keys, krb5);
        t_ok(started, "a daemon with quota-objects = %d, quota-connections = %d, quota-calls = %d, quota-bytes = %d",
             QUOTA_OBJECTS, QUOTA_CONNECTIONS, QUOTA_CALLS, QUOTA_BYTES);
        if (!started)
                return t_done();

        t_ok(can_connect() == 0, "this uid connects");
        test_status_shows_quotas();
        test_objects_and_connections();
        test_calls();
        test_bytes();

        t_daemon_stop(&d);
        snprintf(keys, sizeof(keys), "rm -rf %s", kdir);
        (void) !system(keys);
        return t_done();
}
