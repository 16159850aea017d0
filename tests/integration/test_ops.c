/* SPDX-License-Identifier: MIT */
/*
 * Operations: sspid under socket activation (systemd-socket-activate, both
 * sockets named), its sd_notify messages read from a NOTIFY_SOCKET this
 * test owns (READY, WATCHDOG, RELOADING, STOPPING), SIGHUP reload (a new
 * configuration takes effect while handles survive; a broken one is refused
 * and the old one stays), and sspictl against the admin socket: status,
 * sessions, credentials, contexts, calls, stats, revoke, reload, exit
 * codes, refusal of non-admin callers.
 *
 * The daemon here is our own (in a temp dir), started with the test
 * world's configuration and binary; it is stopped before the test ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static char dir[64], notify_path[128], api_path[128], admin_path[128], conf_path[128], log_path[128];
static char daemon_bin[1024], sspictl[1024];
static int notify_fd = -1;

static void copy_str(char *dst, size_t len, const char *src) {
        size_t n = strlen(src);
        if (n >= len)
                n = len - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
}

static int bind_dgram(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        copy_str(sa.sun_path, sizeof(sa.sun_path), path);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -1;
        return fd;
}

/*
 * The notify socket is drained all the time by a thread of ours, as
 * systemd would: sd_notify() blocks once a datagram queue is full, so a
 * reader that falls behind the watchdog pings would stall the daemon.
 * Messages are kept in order; wait_notify() looks at those after a cursor.
 */
#define MAX_NOTES 4096
static char *notes[MAX_NOTES];
static unsigned n_notes, note_cursor;
static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notes_cond = PTHREAD_COND_INITIALIZER;

static void *notify_reader(void *arg) {
        char buf[4096];

        (void) arg;
        for (;;) {
                ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return NULL;
                buf[n] = 0;
                pthread_mutex_lock(&notes_lock);
                /* Watchdog pings beyond the table are dropped, other messages kept. */
                if (n_notes < MAX_NOTES - 64 || (n_notes < MAX_NOTES && !strstr(buf, "WATCHDOG=1") )) {
                        notes[n_notes] = strdup(buf);
                        if (notes[n_notes])
                                n_notes++;
                }
                pthread_cond_broadcast(&notes_cond);
                pthread_mutex_unlock(&notes_lock);
        }
}

/* Waits (bounded, 30 s) for a message after the cursor containing `want`;
 * the cursor moves past it. */
static bool wait_notify(const char *want, char *seen, size_t seen_len) {
        struct timespec deadline;
        bool found = false;

        if (seen)
                seen[0] = 0;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 30;
        pthread_mutex_lock(&notes_lock);
        while (!found) {
                for (; note_cursor < n_notes; note_cursor++)
                        if (strstr(notes[note_cursor], want)) {
                                if (seen)
                                        copy_str(seen, seen_len, notes[note_cursor]);
                                note_cursor++;
                                found = true;
                                break;
                        }
                if (!found && pthread_cond_timedwait(&notes_cond, &notes_lock, &deadline) != 0)
                        break;
        }
        pthread_mutex_unlock(&notes_lock);
        return found;
}

/* Forget what came so far. */
static void drain_notify(void) {
        pthread_mutex_lock(&notes_lock);
        note_cursor = n_notes;
        pthread_mutex_unlock(&notes_lock);
}

static pid_t start_activator(const char *names, const char *logfile) {
        pid_t pid = fork();

        if (pid == 0) {
                char fdname[64], notify_env[256];
                int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                snprintf(fdname, sizeof(fdname), "--fdname=%s", names);
                snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify_path);
                setenv("SSPID_NO_SPIN", "1", 1);
                execlp("systemd-socket-activate", "systemd-socket-activate", "-l", api_path, "-l", admin_path, fdname,
                       "-E", notify_env, "-E", "WATCHDOG_USEC=400000", "-E", "KRB5_CONFIG", "-E", "ASAN_OPTIONS",
                       "-E", "LSAN_OPTIONS", "-E", "SSPID_NO_SPIN", daemon_bin, "--config", conf_path, (char *) NULL);
                _exit(127);
        }
        return pid;
}

static bool wait_path(const char *path) {
        for (int i = 0; i < 300; i++) {
                if (access(path, F_OK) == 0)
                        return true;
                usleep(50000);
        }
        return false;
}

/* Runs sspictl with the given arguments; its exit code, output in out. */
static int ctl(char *out, size_t out_len, const char *args) {
        char cmd[4096];
        size_t n = 0;
        FILE *p;
        int st;

        snprintf(cmd, sizeof(cmd), "'%s' --socket '%s' %s 2>&1", sspictl, admin_path, args);
        p = popen(cmd, "r");
        if (!p)
                return -1;
        if (out) {
                n = fread(out, 1, out_len - 1, p);
                out[n] = 0;
        } else {
                char sink[4096];
                while (fread(sink, 1, sizeof(sink), p) > 0)
                        ;
        }
        st = pclose(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long json_num(const char *json, const char *key) {
        char k[64];
        const char *p;

        snprintf(k, sizeof(k), "\"%s\":", key);
        p = strstr(json, k);
        return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static bool file_has(const char *path, const char *s) {
        char buf[65536];
        size_t n;
        FILE *f = fopen(path, "re");

        if (!f)
                return false;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        return strstr(buf, s) != NULL;
}

static void append_conf(const char *text) {
        FILE *f = fopen(conf_path, "ae");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static bool write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f)
                return false;
        fputs(text, f);
        return fclose(f) == 0;
}

static char *read_file(const char *path) {
        char *buf = calloc(1, 1 << 16);
        FILE *f = fopen(path, "re");
        if (f && buf) {
                size_t n = fread(buf, 1, (1 << 16) - 1, f);
                buf[n] = 0;
        }
        if (f)
                fclose(f);
        return buf;
}

/* Longest line of a text. */
static size_t max_line(const char *s) {
        size_t best = 0;
        while (*s) {
                size_t l = strcspn(s, "\n");
                if (l > best)
                        best = l;
                s += l;
                if (*s)
                        s++;
        }
        return best;
}

static int run_as_nobody(const char *args) {
        pid_t pid = fork();
        int st;

        if (pid == 0) {
                char cmd[2048];
                int fd = open("/dev/null", O_WRONLY);
                dup2(fd, 1);
                dup2(fd, 2);
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(99);
                snprintf(cmd, sizeof(cmd), "'%s' --socket '%s' %s", sspictl, admin_path, args);
                execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                _exit(98);
        }
        if (waitpid(pid, &st, 0) < 0)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* pGetKeyFn: while it runs, AcquireCredentialsHandle waits in the daemon:
 * a call in flight for `sspictl calls` to show. */
static char calls_seen[8192];
static int calls_rc = -1;

static void SEC_ENTRY get_key(void *arg, void *principal, ULONG key_ver, void **key, SECURITY_STATUS *status) {
        (void) principal;
        (void) key_ver;
        calls_rc = ctl(calls_seen, sizeof(calls_seen), "--json calls");
        *key = arg;
        *status = SEC_E_OK;
}

static void test_unknown_name(void) {
        char log2[160];
        pid_t act;
        int fd, st;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(log2, sizeof(log2), "%s/unknown.log", dir);
        unlink(api_path);
        unlink(admin_path);
        drain_notify();
        act = start_activator("api:bogus", log2);
        t_ok(wait_path(api_path), "second activation: sockets bound");
        /* The first connection makes systemd-socket-activate start sspid. */
        copy_str(sa.sun_path, sizeof(sa.sun_path), api_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        (void) !connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        t_ok(wait_notify("READY=1", NULL, 0), "daemon with an unknown socket name still starts (READY=1)");
        close(fd);
        t_ok(file_has(log2, "unknown name 'bogus'; refused"), "a socket named 'bogus' is refused with a log line");
        kill(act, SIGTERM);
        waitpid(act, &st, 0);
        t_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "that daemon stops cleanly (status %d)", st);
}

int main(void) {
        const char *world = getenv("SSPID_TESTENV"), *top = getenv("SSPID_TOP");
        char buf[65536], seen[512], path[1100], id[32];
        CredHandle sc, cc, extra;
        THandshake hs = { 0 };
        SecPkgContext_Sizes sizes;
        pid_t act, daemon_pid;
        char *conf, *p;
        int rc, st;
        long n;

        if (!world || !top) {
                printf("not ok - SSPID_TESTENV and SSPID_TOP must be set (run inside the test world)\n");
                return 1;
        }
        snprintf(dir, sizeof(dir), "/tmp/sspid-ops-XXXXXX");
        if (!mkdtemp(dir))
                return 1;
        chmod(dir, 0755);
        snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
        snprintf(api_path, sizeof(api_path), "%s/sspid.sock", dir);
        snprintf(admin_path, sizeof(admin_path), "%s/admin.sock", dir);
        snprintf(conf_path, sizeof(conf_path), "%s/sspid.conf", dir);
        snprintf(log_path, sizeof(log_path), "%s/sspid.log", dir);
        snprintf(sspictl, sizeof(sspictl), "%s/build/sspictl", top);
        snprintf(path, sizeof(path), "%s/sspid.bin", world);
        conf = read_file(path);
        snprintf(daemon_bin, sizeof(daemon_bin), "%s", conf && *conf ? conf : "build/sspid");
        daemon_bin[strcspn(daemon_bin, "\n")] = 0;
        free(conf);
        snprintf(path, sizeof(path), "%s/sspid.conf", world);
        conf = read_file(path);
        write_file(conf_path, conf ? conf : "");
        notify_fd = bind_dgram(notify_path);
        t_ok(notify_fd >= 0, "notify socket bound at %s", notify_path);
        {
                pthread_t th;
                if (notify_fd >= 0)
                        pthread_create(&th, NULL, notify_reader, NULL);
        }

        /* ---- socket activation, readiness, watchdog ---- */
        act = start_activator("api:admin", log_path);
        t_ok(wait_path(api_path) && wait_path(admin_path), "systemd-socket-activate listens on both sockets");
        setenv("SSPID_SOCKET", api_path, 1);
        {
                ULONG np = 0;
                PSecPkgInfoA pk = NULL;
                t_status(EnumerateSecurityPackagesA(&np, &pk), SEC_E_OK, "first call through the activated socket");
                if (pk)
                        FreeContextBuffer(pk);
        }
        t_ok(wait_notify("READY=1", seen, sizeof(seen)), "READY=1 on the notify socket (%s)", seen);
        t_ok(wait_notify("WATCHDOG=1", NULL, 0), "WATCHDOG=1 pings from the event loop");

        rc = ctl(buf, sizeof(buf), "--json status");
        daemon_pid = (pid_t) json_num(buf, "pid");
        t_ok(rc == 0 && daemon_pid > 0 && strstr(buf, "\"version\":") && strstr(buf, "Kerberos"),
             "sspictl --json status through the activated admin socket (pid %d)", (int) daemon_pid);
        rc = ctl(buf, sizeof(buf), "status");
        t_ok(rc == 0 && strstr(buf, "Configuration:") && strstr(buf, conf_path) && max_line(buf) <= 80,
             "sspictl status: human text within 80 columns");

        /* ---- objects for the admin views ---- */
        snprintf(path, sizeof(path), "HTTP/localhost@%s", t_realm());
        t_status(t_cred_service(path, &sc), SEC_E_OK, "inbound credential");
        t_status(t_cred_password("alice", "alice-pw-1", &cc), SEC_E_OK, "outbound credential for alice");
        t_status(t_handshake(&cc, &sc, "HTTP/localhost", ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, 0, &hs),
                 SEC_E_OK, "handshake");

        rc = ctl(buf, sizeof(buf), "--json credentials");
        t_ok(rc == 0 && strstr(buf, path) && strstr(buf, "alice@") && strstr(buf, "\"direction\":\"inbound\""),
             "credentials: principals and direction listed");
        t_ok(!strstr(buf, "alice-pw-1"), "credentials: no password anywhere in the answer");
        rc = ctl(buf, sizeof(buf), "--json contexts");
        t_ok(rc == 0 && strstr(buf, "\"principal\":\"alice@") && strstr(buf, "\"state\":\"complete\"") &&
                     strstr(buf, "\"principal\":\"HTTP/localhost\""),
             "contexts: accepted client and initiator target listed, complete");
        /* The inbound context's id, for revoke below. */
        id[0] = 0;
        p = strstr(buf, "\"principal\":\"alice@");
        if (p) {
                char *q = p;
                while (q > buf && strncmp(q, "\"id\":\"", 6) != 0)
                        q--;
                if (q > buf)
                        snprintf(id, sizeof(id), "%.16s", q + 6);
        }
        rc = ctl(buf, sizeof(buf), "contexts");
        t_ok(rc == 0 && strstr(buf, "TARGET/CLIENT") && strstr(buf, "complete") && max_line(buf) <= 80,
             "contexts: table within 80 columns");
        snprintf(path, sizeof(path), "\"pid\":%d", (int) getpid());
        rc = ctl(buf, sizeof(buf), "--json sessions");
        t_ok(rc == 0 && strstr(buf, path) && strstr(buf, "\"command\":\"test_ops\"") &&
                     json_num(buf, "credentials") == 2 && json_num(buf, "contexts") == 2,
             "sessions: this process, its command, 2 credentials and 2 contexts");
        rc = ctl(buf, sizeof(buf), "sessions");
        t_ok(rc == 0 && strstr(buf, "test_ops") && max_line(buf) <= 80, "sessions: table within 80 columns");
        rc = ctl(buf, sizeof(buf), "--json calls");
        t_ok(rc == 0 && strstr(buf, "\"calls\":[]"), "calls: none in flight while idle");
        rc = ctl(buf, sizeof(buf), "--json stats");
        t_ok(rc == 0 && strstr(buf, "\"function\":\"AcceptSecurityContext\",\"package\":\"Kerberos\"") &&
                     strstr(buf, "\"p99_usec\":"),
             "stats: calls per function and package with latency percentiles");
        rc = ctl(buf, sizeof(buf), "stats");
        t_ok(rc == 0 && strstr(buf, "InitializeSecurityContext") && max_line(buf) <= 80,
             "stats: table within 80 columns");

        /* ---- a call in flight ---- */
        {
                SEC_WINNT_AUTH_IDENTITY_A idn = { (unsigned char *) "alice", 5, (unsigned char *) t_realm(),
                                                  (ULONG) strlen(t_realm()), NULL, 0, SEC_WINNT_AUTH_IDENTITY_ANSI };
                CredHandle gk;

                if (t_status(AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &idn, get_key,
                                                       "alice-pw-1", &gk, NULL),
                             SEC_E_OK, "ACH with pGetKeyFn"))
                        FreeCredentialsHandle(&gk);
                t_ok(calls_rc == 0 &&
                             strstr(calls_seen, "\"function\":\"AcquireCredentialsHandle\",\"package\":\"Kerberos\"") &&
                             strstr(calls_seen, "\"running\":true") && strstr(calls_seen, "\"age_usec\":"),
                     "calls: the acquisition waiting for pGetKeyFn is listed, running, with its age");
        }

        /* ---- SIGHUP reload: the new configuration takes effect ---- */
        t_ok(!file_has(log_path, "admin (uid 0): STATUS"), "log-level info: no debug lines yet");
        append_conf("\n[daemon]\nmax-objects = 2\nlog-level = debug\n");
        drain_notify();
        kill(daemon_pid, SIGHUP);
        t_ok(wait_notify("RELOADING=1", NULL, 0), "RELOADING=1 on SIGHUP");
        t_ok(wait_notify("READY=1", NULL, 0), "READY=1 after the reload");
        t_status(QueryContextAttributesA(&hs.client, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK,
                 "client context survives the reload");
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK,
                 "server context survives the reload");
        t_status(t_cred_password("alice", "alice-pw-1", &extra), SEC_E_INSUFFICIENT_MEMORY,
                 "max-objects = 2 from the reloaded file is in force");
        rc = ctl(buf, sizeof(buf), "--json status");
        t_ok(rc == 0 && json_num(buf, "reloads") == 1 && json_num(buf, "connections") >= 1,
             "status counts the reload; the connection is still there");
        t_ok(file_has(log_path, "admin (uid 0): STATUS"), "log-level = debug from the reloaded file is in force");

        /* ---- a broken file is refused and the old configuration stays ---- */
        append_conf("no-such-key = 1\n");
        drain_notify();
        kill(daemon_pid, SIGHUP);
        t_ok(wait_notify("RELOADING=1", NULL, 0) && wait_notify("READY=1", NULL, 0),
             "broken file: RELOADING=1 then READY=1");
        snprintf(path, sizeof(path), "reload failed, keeping the old configuration: %s:", conf_path);
        t_ok(file_has(log_path, path) && file_has(log_path, "unknown key 'no-such-key'"),
             "broken file: refused with a log line naming file, line and key");
        t_status(t_cred_password("alice", "alice-pw-1", &extra), SEC_E_INSUFFICIENT_MEMORY,
                 "broken file: the previous configuration is still in force");
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sizes), SEC_E_OK,
                 "broken file: handles still work");
        rc = ctl(buf, sizeof(buf), "reload");
        t_ok(rc == 1 && strstr(buf, "unknown key"), "sspictl reload of a broken file: exit 1 with the reason");
        write_file(conf_path, conf ? conf : "");
        rc = ctl(buf, sizeof(buf), "reload");
        t_ok(rc == 0, "sspictl reload of a good file: exit 0 (%s)", buf);
        t_status(t_cred_password("alice", "alice-pw-1", &extra), SEC_E_OK, "the original limits are back");
        FreeCredentialsHandle(&extra);
        rc = ctl(buf, sizeof(buf), "--json status");
        t_ok(json_num(buf, "reloads") == 2 && json_num(buf, "reloads_failed") == 2,
             "status: 2 reloads done, 2 refused");

        /* ---- revoke ---- */
        snprintf(path, sizeof(path), "revoke context %s", id);
        rc = ctl(buf, sizeof(buf), path);
        t_ok(strlen(id) == 16 && rc == 0, "revoke context %s: exit 0", id);
        t_status(QueryContextAttributesA(&hs.server, SECPKG_ATTR_SIZES, &sizes), SEC_E_INVALID_HANDLE,
                 "a revoked context is gone for its owner");
        rc = ctl(buf, sizeof(buf), path);
        t_ok(rc == 4, "revoking it again: exit 4 (no such object)");
        {
                /* A second connection, without handles: revoked, it is closed. */
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                char *q, one;
                long sess = -1;

                copy_str(sa.sun_path, sizeof(sa.sun_path), api_path);
                t_ok(other >= 0 && connect(other, (struct sockaddr *) &sa, sizeof(sa)) == 0,
                     "a second client connects");
                /* sessions are listed newest first; find the one with no handles */
                for (int i = 0; i < 50 && sess < 0; i++) {
                        ctl(buf, sizeof(buf), "--json sessions");
                        for (q = strstr(buf, "{\"id\":"); q; q = strstr(q + 1, "{\"id\":")) {
                                char *end = strchr(q, '}');
                                if (end && memmem(q, (size_t) (end - q), "\"credentials\":0,", 16) &&
                                    memmem(q, (size_t) (end - q), "\"contexts\":0,", 13)) {
                                        sess = strtol(q + 6, NULL, 10);
                                        break;
                                }
                        }
                        if (sess < 0)
                                usleep(20000);
                }
                snprintf(path, sizeof(path), "revoke session %ld", sess);
                rc = ctl(buf, sizeof(buf), path);
                t_ok(sess > 0 && rc == 0, "revoke session %ld: exit 0", sess);
                {
                        struct pollfd pf = { .fd = other, .events = POLLIN };
                        t_ok(other >= 0 && sess > 0 && poll(&pf, 1, 10000) == 1 && read(other, &one, 1) == 0,
                             "the revoked client sees its connection closed");
                }
                t_ok(file_has(log_path, "closed: revoked by an administrator"), "the revocation is logged");
                if (other >= 0)
                        close(other);
        }
        rc = ctl(buf, sizeof(buf), "revoke session 999999");
        t_ok(rc == 4, "revoke of an unknown session: exit 4");
        rc = ctl(NULL, 0, "revoke context nothex");
        t_ok(rc == 2, "malformed id: exit 2");
        rc = ctl(NULL, 0, "frobnicate");
        t_ok(rc == 2, "unknown command: exit 2");
        rc = ctl(buf, sizeof(buf), "--help");
        t_ok(rc == 0 && strstr(buf, "revoke") && max_line(buf) <= 80, "--help: exit 0, within 80 columns");

        /* ---- only root and the admin group ---- */
        chmod(admin_path, 0666);
        rc = run_as_nobody("status");
        t_ok(rc == 5, "a non-admin caller is refused by the daemon (exit %d, want 5)", rc);
        t_ok(file_has(log_path, "uid 65534") && file_has(log_path, "refused (not root or in the admin group)"),
             "the refusal is logged with the caller's uid");

        /* ---- audit lines ---- */
        t_ok(file_has(log_path, "audit: uid") && file_has(log_path, "accepted a Kerberos context from alice@"),
             "audit lines for credential acquisition and the accepted context");
        t_ok(!file_has(log_path, "alice-pw-1"), "no password in the log");

        /* ---- a stalled admin client does not stall the daemon ---- */
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int slow = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                ULONG np = 0;
                PSecPkgInfoA pk = NULL;

                copy_str(sa.sun_path, sizeof(sa.sun_path), admin_path);
                t_ok(slow >= 0 && connect(slow, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
                             write(slow, "\0\0", 2) == 2,
                     "an admin client sends half a frame header and stalls");
                t_status(EnumerateSecurityPackagesA(&np, &pk), SEC_E_OK, "meanwhile SSPI calls are served");
                if (pk)
                        FreeContextBuffer(pk);
                t_ok(ctl(NULL, 0, "status") == 0, "meanwhile another sspictl is answered");
                close(slow);
        }

        /* ---- stop ---- */
        t_handshake_done(&hs);
        FreeCredentialsHandle(&sc);
        FreeCredentialsHandle(&cc);
        drain_notify();
        kill(daemon_pid, SIGTERM);
        t_ok(wait_notify("STOPPING=1", NULL, 0), "STOPPING=1 on SIGTERM");
        waitpid(act, &st, 0);
        t_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon exits with status 0 (%d)", st);

        test_unknown_name();

        snprintf(path, sizeof(path), "%s/unknown.log", dir);
        n = file_has(log_path, "ERROR: AddressSanitizer") || file_has(log_path, "ERROR: LeakSanitizer") ||
            file_has(log_path, "runtime error") ||
            file_has(path, "ERROR: AddressSanitizer");
        t_ok(!n, "no sanitizer report from the activated daemons");
        free(conf);
        snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
        if (system(buf) != 0)
                printf("# could not remove %s\n", dir);
        return t_done();
}
