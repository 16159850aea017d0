/* SPDX-License-Identifier: MIT */
/*
 * AcquireCredentialsHandle(NULL identity) from the caller's KCM cache, the
 * way a domain-joined Fedora/RHEL/Debian host with sssd-kcm keeps tickets,
 * and from its KEYRING: caches (issue 15 item 7). The peer is SSSD's own KCM responder (sssd_kcm, run
 * standalone by tests/tools/sssd-kcm.sh), filled by MIT krb5's own KCM
 * client (tests/tools/mit-ccache-copy) with the TGT Heimdal's kinit got in
 * the test realm. The library connects to KCM and passes the socket; the
 * daemon reads the cache through it (proto/PROTOCOL.md "Credentials from
 * KCM"). Then the attacks, as uid 65534: sockets that are not KCM's, a
 * KCM peer that never answers (the victim, root, measured meanwhile).
 * KEYRING: MIT's keyring code (the same helper) writes the caches, in a
 * session keyring of the test's own; the library reads them with keyctl(2)
 * and sends a FILE image.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/keyctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tframe.h"
#include "testlib.h"

#define NOBODY 65534
#define TARGET "HTTP/localhost"

static char dir[512], kcm_sock[600], mit_conf[600];

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

/* MIT's KCM client writes `src` into the KCM cache `dst` and makes it the
 * primary cache of the calling uid. */
static bool mit_copy(const char *src, const char *dst) {
        return run("KRB5_CONFIG=%s %s/build/tests/tools/mit-ccache-copy %s %s >/dev/null", mit_conf,
                   getenv("SSPID_TOP"), src, dst) == 0;
}

static SECURITY_STATUS acquire(const char *pkg, const char *ccname, CredHandle *c) {
        TimeStamp ts;

        if (ccname)
                setenv("KRB5CCNAME", ccname, 1);
        else
                unsetenv("KRB5CCNAME");
        return AcquireCredentialsHandleA(NULL, (char *) pkg, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, c, &ts);
}

static bool cred_name_is(CredHandle *c, const char *want) {
        SecPkgCredentials_NamesA n = { 0 };
        bool ok;

        if (QueryCredentialsAttributesA(c, SECPKG_CRED_ATTR_NAMES, &n) != SEC_E_OK)
                return false;
        ok = n.sUserName && !strcmp(n.sUserName, want);
        FreeContextBuffer(n.sUserName);
        return ok;
}

/* ---- the caller's own KCM cache ---------------------------------------- */

static void test_own_cache(void) {
        char alice[256], src[1024];
        CredHandle c, s;
        THandshake h;
        SECURITY_STATUS st;

        snprintf(alice, sizeof(alice), "alice@%s", t_realm());
        snprintf(src, sizeof(src), "FILE:%s/alice.ccache", t_realm_dir());
        t_ok(mit_copy(src, "KCM:0:second"), "MIT's KCM client stored alice's TGT in sssd-kcm as KCM:0:second");
        t_ok(mit_copy(src, "KCM:0"), "... and as KCM:0, the primary cache");
        t_status(t_cred_service(NULL, &s), SEC_E_OK, "service credential");

        if (t_status(acquire("Kerberos", "KCM:", &c), SEC_E_OK, "KRB5CCNAME=KCM: (KCM's default cache)")) {
                t_ok(cred_name_is(&c, alice), "its name is %s", alice);
                st = t_handshake(&c, &s, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h);
                t_status(st, SEC_E_OK, "sync: handshake to %s with the TGT from KCM", TARGET);
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        if (t_status(acquire("Kerberos", "KCM:0:second", &c), SEC_E_OK, "KRB5CCNAME=KCM:0:second")) {
                st = t_handshake(&c, &s, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h);
                t_status(st, SEC_E_OK, "sync: handshake from KCM:0:second");
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        {
                CredHandle ac = { 0 }, as = { 0 };

                setenv("KRB5CCNAME", "KCM:0", 1);
                st = t_handshake_async("Kerberos", NULL, &ac, &as, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h);
                t_status(st, SEC_E_OK, "async: SspiAcquireCredentialsHandleAsyncA from KCM:0, then the handshake");
                t_handshake_done(&h);
                if (ac.dwUpper)
                        FreeCredentialsHandle(&ac);
                if (as.dwUpper)
                        FreeCredentialsHandle(&as);
        }
        {
                CredHandle nc = { 0 }, ns = { 0 };

                setenv("KRB5CCNAME", "KCM:", 1);
                st = t_handshake_async("Negotiate", NULL, &nc, &ns, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h);
                t_status(st, SEC_E_OK, "async Negotiate from KCM: (Kerberos inside SPNEGO)");
                t_handshake_done(&h);
                if (nc.dwUpper)
                        FreeCredentialsHandle(&nc);
                if (ns.dwUpper)
                        FreeCredentialsHandle(&ns);
        }
        t_status(acquire("Kerberos", "KCM:0:absent", &c), SEC_E_NO_CREDENTIALS,
                 "a KCM cache that does not exist: SEC_E_NO_CREDENTIALS");
        setenv("SSPI_KCM_SOCKET", "/nonexistent/kcm.sock", 1);
        t_status(acquire("Kerberos", "KCM:", &c), SEC_E_NO_CREDENTIALS, "KCM not running: SEC_E_NO_CREDENTIALS");
        setenv("SSPI_KCM_SOCKET", kcm_sock, 1);
        FreeCredentialsHandle(&s);
        unsetenv("KRB5CCNAME");
}

/* ---- another uid: its own KCM namespace, and the attacks --------------- */

static int as_user(uid_t uid, int (*fn)(void *), void *arg) {
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                        _exit(99);
                _exit(fn(arg));
        }
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

/* Which checks failed, as bits of the exit status (a child cannot t_ok). */
#define FAIL(bit, cond)                                                  \
        do {                                                             \
                if (!(cond)) {                                           \
                        fprintf(stderr, "child check %d failed\n", bit); \
                        bad |= 1 << (bit);                               \
                }                                                        \
        } while (0)

static int child_namespace(void *arg) {
        const char *copy = arg;
        char path[64];
        CredHandle c;
        int bad = 0;

        /* KCM answers for the uid that connected: root's caches are not
         * this uid's, whatever the name says. */
        FAIL(0, acquire("Kerberos", "KCM:", &c) == SEC_E_NO_CREDENTIALS);
        FAIL(1, acquire("Kerberos", "KCM:0", &c) == SEC_E_NO_CREDENTIALS);
        /* Its own ticket in its own KCM default cache; no KRB5CCNAME and no
         * /tmp/krb5cc_65534: the library falls back to KCM's default, as a
         * host whose krb5.conf says default_ccache_name = KCM: would. */
        snprintf(path, sizeof(path), "/tmp/krb5cc_%u", (unsigned) NOBODY);
        FAIL(2, access(path, F_OK) < 0);
        FAIL(3, mit_copy(copy, "KCM:"));
        FAIL(4, acquire("Kerberos", NULL, &c) == SEC_E_OK);
        if (!bad)
                FreeCredentialsHandle(&c);
        return bad;
}

/* A raw connection to the daemon after its Hello (the library would never
 * send what follows). -1 on failure. */
static int raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *sock = getenv("SSPID_SOCKET");
        TBuf h = tframe_hello(1, 0);
        uint8_t buf[4096];
        int fd;

        if (!sock || strlen(sock) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            send(fd, h.p, h.len, MSG_NOSIGNAL) != (ssize_t) h.len || recv(fd, buf, sizeof(buf), 0) <= 0) {
                if (fd >= 0)
                        close(fd);
                fd = -1;
        }
        tbuf_free(&h);
        return fd;
}

/* Copies bytes both ways between two sockets until one side closes. */
static void *relay(void *arg) {
        int *fd = arg;
        uint8_t buf[65536];

        for (;;) {
                struct pollfd p[2] = { { .fd = fd[0], .events = POLLIN }, { .fd = fd[1], .events = POLLIN } };
                if (poll(p, 2, -1) <= 0)
                        break;
                for (int i = 0; i < 2; i++) {
                        ssize_t n;
                        if (!p[i].revents)
                                continue;
                        n = recv(fd[i], buf, sizeof(buf), 0);
                        if (n <= 0 || send(fd[1 - i], buf, (size_t) n, MSG_NOSIGNAL) != n)
                                return NULL;
                }
        }
        return NULL;
}

/* A forged KCM: a socketpair whose other end relays to the real sssd-kcm,
 * connected by this uid and holding its own ticket (child_namespace put
 * it there). Every byte the daemon would read is KCM's genuine answer, so
 * only the check of the passed socket's peer (this uid, not a KCM
 * service) can refuse it: without that check this call succeeds. */
static int child_forged(void *arg) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int sp[2], p[2], sock, bad = 0, fds[2], kcm, pair[2];
        pthread_t th;
        int64_t st;

        (void) arg;
        sock = raw_connect();
        FAIL(0, sock >= 0);
        if (sock < 0)
                return bad;
        FAIL(1, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
        strcpy(sa.sun_path, kcm_sock);
        kcm = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        FAIL(11, kcm >= 0 && connect(kcm, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        pair[0] = sp[1];
        pair[1] = kcm;
        FAIL(12, pthread_create(&th, NULL, relay, pair) == 0);
        /* A socketpair: a connected AF_UNIX stream socket, but its peer is
         * this uid, not a KCM service. */
        FAIL(2, tframe_send_kcm_acquire(sock, 2, &sp[0], 1));
        st = tframe_reply_status(sock, 5000);
        FAIL(3, st == (int32_t) SEC_E_NO_CREDENTIALS);
        /* A pipe. */
        FAIL(4, pipe(p) == 0);
        FAIL(5, tframe_send_kcm_acquire(sock, 3, &p[0], 1));
        FAIL(6, tframe_reply_status(sock, 5000) == (int32_t) SEC_E_NO_CREDENTIALS);
        /* kcm_name without a descriptor. */
        FAIL(7, tframe_send_kcm_acquire(sock, 4, NULL, 0));
        FAIL(8, tframe_reply_status(sock, 5000) == (int32_t) SEC_E_NO_CREDENTIALS);
        /* Two descriptors in one message: the connection is closed. */
        fds[0] = sp[0];
        fds[1] = p[0];
        FAIL(9, tframe_send_kcm_acquire(sock, 5, fds, 2));
        FAIL(10, tframe_reply_status(sock, 5000) == TFRAME_NO_REPLY && tframe_closed(sock, 2000));
        close(sock);
        return bad;
}

/* The victim's side of the stall: a listening socket of root's (so the
 * daemon takes it for a KCM service) that accepts and never answers. */
static void *stall_server(void *arg) {
        int lfd = *(int *) arg;

        for (;;) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0)
                        break;
                /* held open, never answered, until the test ends */
        }
        return NULL;
}

static int child_stall(void *arg) {
        const char *path = arg;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int sock, k, bad = 0;
        double t0, dt;
        int64_t st;

        sock = raw_connect();
        k = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        FAIL(0, sock >= 0 && k >= 0 && connect(k, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        if (bad)
                return bad;
        t0 = now_s();
        FAIL(1, tframe_send_kcm_acquire(sock, 2, &k, 1));
        st = tframe_reply_status(sock, 15000);
        dt = now_s() - t0;
        fprintf(stderr, "stalled KCM peer: status 0x%08x after %.2f s\n", (unsigned) (int32_t) st, dt);
        FAIL(2, st == (int32_t) SEC_E_NO_CREDENTIALS);
        /* The daemon's KCM deadline is 3 s for the whole exchange. */
        FAIL(3, dt >= 2.5 && dt < 10);
        close(sock);
        close(k);
        return bad;
}

static void test_other_uid(void) {
        char src[1024], copy[700], stall[700];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        pthread_t th;
        CredHandle c;
        int lfd, status;
        pid_t pid;
        double t0, dt;

        /* alice's FILE ccache, readable by uid 65534, to put into its KCM. */
        snprintf(copy, sizeof(copy), "%s/nobody.ccache", dir);
        snprintf(src, sizeof(src), "%s/alice.ccache", t_realm_dir());
        t_ok(run("cp %s %s && chown %d:%d %s", src, copy, NOBODY, NOBODY, copy) == 0, "a ccache for uid 65534");
        snprintf(src, sizeof(src), "FILE:%s", copy);
        status = as_user(NOBODY, child_namespace, src);
        t_ok(status == 0,
             "uid 65534: root's KCM caches are not its own (NO_CREDENTIALS for KCM: and KCM:0); its own ticket in "
             "its KCM default cache serves ACH with no KRB5CCNAME (child status 0x%x)",
             status);

        status = as_user(NOBODY, child_forged, NULL);
        t_ok(status == 0,
             "uid 65534: a socketpair relaying KCM's genuine answers, a pipe, no descriptor: SEC_E_NO_CREDENTIALS; "
             "two descriptors: connection closed (child status 0x%x)",
             status);
        t_ok(t_daemon_log_has("KCM: the socket passed is not a connection to a KCM service", NULL),
             "the daemon logs the socket it refused");

        /* The stall, with the victim (root) measured meanwhile. */
        snprintf(stall, sizeof(stall), "%s/stall.sock", dir);
        strcpy(sa.sun_path, stall);
        unlink(stall);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        t_ok(lfd >= 0 && bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && chmod(stall, 0777) == 0 &&
                     listen(lfd, 16) == 0 && pthread_create(&th, NULL, stall_server, &lfd) == 0,
             "a root socket that never answers");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(99);
                _exit(child_stall(stall));
        }
        usleep(300000);
        t0 = now_s();
        t_status(acquire("Kerberos", "KCM:0", &c), SEC_E_OK, "victim (root): ACH from KCM while uid 65534's call stalls");
        dt = now_s() - t0;
        t_ok(dt < 2.0, "victim's ACH took %.2f s (< 2 s)", dt);
        FreeCredentialsHandle(&c);
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "uid 65534 passing a root socket that never answers: SEC_E_NO_CREDENTIALS after the 3 s deadline "
             "(child status 0x%x)",
             status);
        shutdown(lfd, SHUT_RDWR);
        close(lfd);
        unsetenv("KRB5CCNAME");
}

/* ---- KEYRING: ------------------------------------------------------------ */

static void keyring_case(const char *name, const char *what) {
        CredHandle c, s;
        THandshake h;

        if (t_status(acquire("Kerberos", name, &c), SEC_E_OK, "KRB5CCNAME=%s (%s)", name, what)) {
                t_status(t_cred_service(NULL, &s), SEC_E_OK, "service credential");
                t_status(t_handshake(&c, &s, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK, "sync: handshake from %s",
                         name);
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
                FreeCredentialsHandle(&s);
        }
}

static int child_persistent(void *arg) {
        CredHandle c;
        int bad = 0;

        FAIL(0, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) >= 0);
        FAIL(1, mit_copy(arg, "KEYRING:persistent:65534"));
        FAIL(2, acquire("Kerberos", "KEYRING:persistent:65534", &c) == SEC_E_OK);
        if (!(bad & 4))
                FreeCredentialsHandle(&c);
        FAIL(3, acquire("Kerberos", "KEYRING:persistent:", &c) == SEC_E_OK);
        if (!(bad & 8))
                FreeCredentialsHandle(&c);
        /* No KRB5CCNAME, no /tmp/krb5cc_65534, no KCM: the persistent
         * keyring is the last default (RHEL 7's default_ccache_name). */
        setenv("SSPI_KCM_SOCKET", "/nonexistent/kcm.sock", 1);
        FAIL(6, acquire("Kerberos", NULL, &c) == SEC_E_OK);
        if (!(bad & 64))
                FreeCredentialsHandle(&c);
        setenv("SSPI_KCM_SOCKET", kcm_sock, 1);
        /* Another uid's persistent keyring is not this caller's. */
        FAIL(4, acquire("Kerberos", "KEYRING:persistent:0", &c) == SEC_E_NO_CREDENTIALS);
        /* The persistent keyring outlives this test: empty it again. */
        FAIL(5, run("P=$(keyctl get_persistent @s) && keyctl unlink $(keyctl search $P keyring _krb) $P "
                    ">/dev/null") == 0);
        return bad;
}

static void test_keyring(void) {
        char src[1024], copy[700];
        CredHandle c, ac = { 0 }, as = { 0 };
        THandshake h;
        int status;

        /* A session keyring of this test's own (the helper inherits it):
         * nothing lands in the user session keyring other root processes
         * share. */
        t_ok(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) >= 0, "a new session keyring");
        snprintf(src, sizeof(src), "FILE:%s/alice.ccache", t_realm_dir());
        t_ok(mit_copy(src, "KEYRING:session:sspi"), "MIT's keyring code stored alice's TGT as KEYRING:session:sspi");
        keyring_case("KEYRING:session:sspi", "the collection's primary cache");
        keyring_case("KEYRING:session:sspi:sspi", "a named cache");
        setenv("KRB5CCNAME", "KEYRING:session:sspi", 1);
        t_status(t_handshake_async("Kerberos", NULL, &ac, &as, TARGET, ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK,
                 "async: SspiAcquireCredentialsHandleAsyncA from KEYRING:session:sspi, then the handshake");
        t_handshake_done(&h);
        if (ac.dwUpper)
                FreeCredentialsHandle(&ac);
        if (as.dwUpper)
                FreeCredentialsHandle(&as);
        t_ok(mit_copy(src, "KEYRING:sspilegacy"), "... and as KEYRING:sspilegacy (legacy anchor: the session)");
        keyring_case("KEYRING:sspilegacy", "legacy form");
        t_ok(mit_copy(src, "KEYRING:process:sspi"), "MIT wrote KEYRING:process:sspi in its own process keyring");
        t_status(acquire("Kerberos", "KEYRING:process:sspi", &c), SEC_E_NO_CREDENTIALS,
                 "another process's process keyring is not ours: SEC_E_NO_CREDENTIALS");
        t_status(acquire("Kerberos", "KEYRING:session:absent", &c), SEC_E_NO_CREDENTIALS,
                 "a collection that does not exist: SEC_E_NO_CREDENTIALS");
        t_status(acquire("Kerberos", "KEYRING:bogus:x", &c), SEC_E_NO_CREDENTIALS, "an unknown anchor");

        /* Keyring content out of shape: a primary-name key of garbage, and
         * a cache whose credential key holds garbage (the library sends
         * it; the daemon's FILE image check refuses it). */
        t_ok(run("R=$(keyctl newring _krb_bad @s) && echo -n garbage | keyctl padd user krb_ccache:primary $R "
                 ">/dev/null") == 0,
             "a collection with a bad primary-name key");
        t_status(acquire("Kerberos", "KEYRING:session:bad", &c), SEC_E_NO_CREDENTIALS,
                 "bad primary-name key: SEC_E_NO_CREDENTIALS");
        t_ok(run("C=$(keyctl search @s keyring sspi) && echo -n garbage | keyctl padd user junk $C >/dev/null") == 0,
             "a garbage credential key added to KEYRING:session:sspi:sspi");
        t_status(acquire("Kerberos", "KEYRING:session:sspi:sspi", &c), SEC_E_NO_CREDENTIALS,
                 "the daemon refuses the image with the garbage credential: SEC_E_NO_CREDENTIALS");

        snprintf(copy, sizeof(copy), "%s/nobody.ccache", dir);
        snprintf(src, sizeof(src), "FILE:%s", copy);
        status = as_user(NOBODY, child_persistent, src);
        t_ok(status == 0,
             "uid 65534: KEYRING:persistent:65534, KEYRING:persistent: and (no KRB5CCNAME, no FILE, no KCM) the "
             "persistent keyring serve ACH; KEYRING:persistent:0 is refused (child status 0x%x)",
             status);
        unsetenv("KRB5CCNAME");
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");
        FILE *f;

        if (geteuid() != 0) {
                printf("not ok - test_ccache_kcm needs root (sssd_kcm in a mount namespace, uid 65534 children)\n");
                return 1;
        }
        snprintf(dir, sizeof(dir), "%s/kcm", env ? env : "/tmp/sspid-kcm");
        snprintf(kcm_sock, sizeof(kcm_sock), "%s/kcm.sock", dir);
        snprintf(mit_conf, sizeof(mit_conf), "%s/mit-krb5.conf", dir);
        if (!t_status(run("%s/tests/tools/sssd-kcm.sh start %s", getenv("SSPID_TOP"), dir) == 0 ? SEC_E_OK
                                                                                             : SEC_E_INTERNAL_ERROR,
                      SEC_E_OK, "sssd_kcm started (tests/tools/sssd-kcm.sh)"))
                return t_done();
        chmod(dir, 0755);
        f = fopen(mit_conf, "we");
        if (f) {
                fprintf(f, "[libdefaults]\n\tkcm_socket = %s\n", kcm_sock);
                fclose(f);
        }
        chmod(mit_conf, 0644);
        setenv("SSPI_KCM_SOCKET", kcm_sock, 1);

        test_own_cache();
        test_other_uid();
        test_keyring();

        run("%s/tests/tools/sssd-kcm.sh stop %s", getenv("SSPID_TOP"), dir);
        return t_done();
}
