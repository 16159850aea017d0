/* SPDX-License-Identifier: MIT */
/*
 * Finding 12: secrets left in freed memory. Decoded requests were freed
 * unwiped on early returns (an unknown package returned before the
 * password was wiped; refused and invalid requests went straight to the
 * free), and message plaintext in requests and replies was never wiped.
 *
 * The daemon (and, in the normal tree, this test and its children: the
 * client library) run under tests/tools/libfreescan.so: free() scans
 * every block for the needles and logs a "free-hit" when one is still
 * there; explicit_bzero() logs a "wipe-seen" when what it wipes held one.
 * uid 65534 sends a password needle with an unknown package, with a
 * refused pvLogonId, in a request before Hello, in an invalid request and
 * in an ordinary NTLM AcquireCredentialsHandle; root runs an NTLM round with
 * message protection through the daemon (message-protection = daemon; its
 * plaintext is a needle). Then:
 *   - no free-hit anywhere;
 *   - control: every one of those paths shows a wipe-seen of the needle in
 *     the daemon (the needle did reach it, and was wiped there), the
 *     plaintext was wiped on the client side too (normal tree), and the
 *     hook itself reports a block freed with a needle in it
 *     (FREESCAN_SELFTEST), so a missing wipe would show.
 *
 * Under ASan the daemon of the normal tree is used (ASan owns free()).
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tpkgs.h"

#define PW_NEEDLE "Needle-Pw-4f9c2e71"
/* tests/lib/tpkgs.c's message plaintext. */
#define MSG_NEEDLE "message protection through the daemon, 48 bytes"

static char logpath[128], hook[PATH_MAX];
static TDaemon d;

/* Lines of the scan log with `what` from `pid` (0: any) for needle i. */
static int count(const char *what, pid_t pid, int needle) {
        char line[256], want[64];
        int n = 0;
        FILE *f = fopen(logpath, "re");

        if (!f)
                return -1;
        snprintf(want, sizeof(want), " needle %d ", needle);
        while (fgets(line, sizeof(line), f)) {
                char p[32];

                snprintf(p, sizeof(p), " pid %d ", (int) pid);
                if (!strncmp(line, what, strlen(what)) && (needle < 0 || strstr(line, want)) &&
                    (pid == 0 || strstr(line, p)))
                        n++;
        }
        fclose(f);
        return n;
}

static SECURITY_STATUS acquire_pw(const char *pkg, const LUID *logon) {
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) "mallory", .UserLength = 7,
                .Domain = (unsigned char *) "CORP", .DomainLength = 4,
                .Password = (unsigned char *) PW_NEEDLE, .PasswordLength = sizeof(PW_NEEDLE) - 1,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        CredHandle c;
        TimeStamp ts;
        SECURITY_STATUS st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *) pkg, SECPKG_CRED_OUTBOUND, (void *) logon,
                                                       &id, NULL, NULL, &c, &ts);

        if (st == SEC_E_OK)
                FreeCredentialsHandle(&c);
        return st;
}

static int unknown_package(void *arg) {
        return acquire_pw("NoSuchPackage", NULL) == SEC_E_SECPKG_NOT_FOUND ? 0 : 1;
}

static int refused(void *arg) {
        LUID root = { 0, 0 };
        return acquire_pw("NTLM", &root) == SEC_E_NOT_OWNER ? 0 : 1;
}

static int ordinary(void *arg) {
        return acquire_pw("NTLM", NULL) == SEC_E_OK ? 0 : 1;
}

/* ---- raw frames: an AcquireCredReq by hand (proto/sspi.proto) ---- */

static size_t put_len(uint8_t *p, uint8_t tag, const void *data, size_t len) {
        p[0] = tag;
        p[1] = (uint8_t) len; /* all below 128 */
        memcpy(p + 2, data, len);
        return 2 + len;
}

/* Envelope{call_id 1, acquire_cred{principal, package "NTLM", use 2,
 * identity{user "m", password NEEDLE, flags 1}}}, framed. */
static size_t acquire_frame(uint8_t *out, const char *principal) {
        uint8_t id[96], req[192], env[256];
        size_t n = 0, r = 0, e = 0;

        n += put_len(id + n, 0x0a, "m", 1);
        n += put_len(id + n, 0x1a, PW_NEEDLE, sizeof(PW_NEEDLE) - 1);
        id[n++] = 0x28, id[n++] = 1;
        r += put_len(req + r, 0x0a, principal, strlen(principal));
        r += put_len(req + r, 0x12, "NTLM", 4);
        req[r++] = 0x18, req[r++] = 2;
        r += put_len(req + r, 0x2a, id, n);
        env[e++] = 0x08, env[e++] = 1;
        env[e++] = 0x82, env[e++] = 0x01; /* field 16, length-delimited */
        env[e++] = (uint8_t) r;
        memcpy(env + e, req, r);
        e += r;
        out[0] = out[1] = 0, out[2] = (uint8_t) (e >> 8), out[3] = (uint8_t) e;
        memcpy(out + 4, env, e);
        return 4 + e;
}

/* Sends frames on a raw connection and waits for the daemon to close it. */
static int raw_send(bool hello, const char *principal) {
        static const uint8_t hello_frame[] = { 0, 0, 0, 8, 0x08, 0x00, 0x52, 0x04, 0x08, 0x01, 0x10, 0x00 };
        uint8_t frame[300], buf[512];
        size_t n = acquire_frame(frame, principal);
        int fd = t_raw_connect(&d), r = 1;

        if (fd < 0)
                return 2;
        if (hello && (write(fd, hello_frame, sizeof(hello_frame)) != sizeof(hello_frame)))
                goto out;
        if (write(fd, frame, n) != (ssize_t) n)
                goto out;
        /* The daemon drops the connection: EOF after the Hello reply. */
        for (int i = 0; i < 100; i++) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k == 0) {
                        r = 0;
                        break;
                }
                if (k < 0)
                        break;
        }
out:
        close(fd);
        return r;
}

static int before_hello(void *arg) {
        return raw_send(false, "p");
}

static int invalid_request(void *arg) {
        return raw_send(true, "\xff\xfe"); /* not UTF-8: wire validation refuses it */
}

static void scenario(const char *name, int (*fn)(void *)) {
        int before = count("wipe-seen", d.pid, 0), r = t_run_as(T_ATTACKER, fn, NULL), after;

        /* The daemon may still be finishing the call after the reply. */
        for (int i = 0; i < 50 && (after = count("wipe-seen", d.pid, 0)) <= before; i++)
                usleep(20000);
        t_ok(r == 0, "uid 65534: %s: answered as expected", name);
        t_ok(after > before, "control: the daemon held the password and wiped it (%d wipes)", after - before);
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/sspid-residue.XXXXXX", cmd[PATH_MAX + 64];
        const char *top = getenv("SSPID_TOP") ? getenv("SSPID_TOP") : ".";
        bool client_hooked = false;
        const char *what = "";
        TpCreds creds = { 0 };
        SECURITY_STATUS st;

        signal(SIGPIPE, SIG_IGN);
        snprintf(hook, sizeof(hook), "%s/build/tests/tools/libfreescan.so", top);
#if !defined(__SANITIZE_ADDRESS__)
        /* The client side is scanned too: this process again, hooked. */
        if (!getenv("FREESCAN_LOG")) {
                if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
                        return 1;
                snprintf(logpath, sizeof(logpath), "%s/scan.log", dir);
                setenv("FREESCAN_LOG", logpath, 1);
                setenv("FREESCAN_NEEDLES", PW_NEEDLE "|" MSG_NEEDLE, 1);
                setenv("LD_PRELOAD", hook, 1);
                fflush(stdout);
                execv("/proc/self/exe", argv);
                return 1;
        }
        snprintf(logpath, sizeof(logpath), "%s", getenv("FREESCAN_LOG"));
        snprintf(dir, sizeof(dir), "%.*s", (int) (strrchr(logpath, '/') - logpath), logpath);
        client_hooked = true;
#else
        /* ASan owns free(): the daemon of the normal tree, hooked. */
        if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
                return 1;
        snprintf(logpath, sizeof(logpath), "%s/scan.log", dir);
        snprintf(cmd, sizeof(cmd), "%s/build/sspid", top);
        setenv("SSPID_BIN", cmd, 1);
        setenv("FREESCAN_LOG", logpath, 1);
        setenv("FREESCAN_NEEDLES", PW_NEEDLE "|" MSG_NEEDLE, 1);
        setenv("LD_PRELOAD", hook, 1);
#endif
        /* The log is created (and made writable for uid 65534's children)
         * before anyone writes to it. */
        close(open(logpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
        chmod(logpath, 0666);
        /* message-protection = daemon: the NTLM round's plaintext must
         * travel through the daemon for its wipes to be checked (by default
         * the keys go to the library and the plaintext never leaves this
         * process; the library wipes its own copies, msg-ntlm.c). */
        if (!t_daemon_start(&d, "message-protection = daemon", NULL)) {
                t_ok(false, "private daemon with the default configuration starts (under libfreescan.so)");
                return t_done();
        }
#if defined(__SANITIZE_ADDRESS__)
        unsetenv("LD_PRELOAD");
#endif

        scenario("AcquireCredentialsHandle of an unknown package with a password", unknown_package);
        scenario("AcquireCredentialsHandle for uid 0's logon session (SEC_E_NOT_OWNER)", refused);
        scenario("a request before Hello (connection dropped)", before_hello);
        scenario("an invalid request (principal not UTF-8, connection dropped)", invalid_request);
        scenario("an ordinary NTLM AcquireCredentialsHandle", ordinary);

        st = tp_acquire(&creds, TP_NTLM, NULL);
        if (st == SEC_E_OK)
                st = tp_round(&creds, TP_NTLM, NULL, NULL, &what);
        tp_release(&creds);
        t_ok(st == SEC_E_OK, "root: an NTLM round with EncryptMessage/DecryptMessage (%s %s)", what,
             status_name(st));
        usleep(200000);
        t_ok(count("wipe-seen", d.pid, 1) > 0, "control: the daemon held the message plaintext and wiped it (%d)",
             count("wipe-seen", d.pid, 1));
        if (client_hooked)
                t_ok(count("wipe-seen", getpid(), 1) > 0,
                     "control: the client library held the plaintext in frames and wiped them (%d)",
                     count("wipe-seen", getpid(), 1));

        long ms = t_victim_ms(T_VICTIM, 30000);
        t_ok(ms >= 0, "victim (uid 0) served (%ld ms)", ms);
        pid_t daemon_pid = d.pid;
        t_daemon_stop(&d);

        int hits = count("free-hit", 0, -1);
        t_ok(hits == 0, "no block was freed with the password or the plaintext in it (%d hits: daemon %d, %s)",
             hits, count("free-hit", daemon_pid, -1), client_hooked ? "client side scanned" : "client side not scanned");
        if (hits) {
                snprintf(cmd, sizeof(cmd), "grep -m10 free-hit %s | sed 's/^/# /'", logpath);
                fflush(stdout);
                (void) !system(cmd);
        }
        printf("# wipes that held the password: daemon %d; the plaintext: daemon %d, client %d\n",
               count("wipe-seen", daemon_pid, 0), count("wipe-seen", daemon_pid, 1),
               client_hooked ? count("wipe-seen", getpid(), 1) : -1);

        /* The hook's own control: a block freed with a needle is reported. */
        snprintf(cmd, sizeof(cmd), "FREESCAN_SELFTEST=1 LD_PRELOAD='%s' /bin/true", hook);
        int before = count("free-hit", 0, 0);
        (void) !system(cmd);
        t_ok(count("free-hit", 0, 0) == before + 1, "control: the hook reports a block freed with the needle in it");

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        unsetenv("LD_PRELOAD");
        (void) !system(cmd);
        return t_done();
}
