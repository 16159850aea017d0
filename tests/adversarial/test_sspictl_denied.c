/* SPDX-License-Identifier: MIT */
/*
 * sspictl run by a non-admin (issue 13): sspictl(8) documents exit status 5,
 * "permission denied", but with the default configuration the admin socket
 * is 0600 root, so a non-admin's connect() fails with EACCES and sspictl
 * said 3, "daemon cannot be reached", which an operator or a monitoring
 * script reads as "sspid is down".
 *
 * Against a private daemon with the default configuration, as uid 65534:
 *   - every command (read-only and mutating) exits 5 and prints nothing on
 *     standard output;
 *   - the other refusal, by the daemon itself (the socket made reachable
 *     with chmod 0666, as a group-readable socket of a misconfigured
 *     admin-group would be), also exits 5, and the daemon is unharmed;
 *   - 3 stays "not running": a socket path with nothing behind it, and a
 *     stale socket nobody listens on (ECONNREFUSED), for root and uid 65534.
 * Controls: root gets 0 and the status text from the same daemon, and the
 * victim (root) is served meanwhile.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

typedef struct Run {
        const TDaemon *d;
        const char *const *args;
        bool printed; /* anything on standard output */
} Run;

/* In the uid-65534 child: sspictl's exit status, or 90 + n when it did
 * not run (t_sspictl -1), so that it cannot pass for 3 or 5. */
static int run_ctl(void *arg) {
        Run *r = arg;
        char out[4096];
        int rc = t_sspictl(r->d, r->args, out, sizeof(out));

        if (rc < 0)
                return 90;
        /* Reported back through the exit status: 10 + rc when something
         * was printed on stdout (a refused caller must see no listing). */
        return out[0] ? 10 + rc : rc;
}

static int ctl_as(uid_t uid, const TDaemon *d, const char *const *args, bool *printed) {
        Run r = { d, args, false };
        int rc = t_run_as(uid, run_ctl, &r);

        *printed = rc >= 10 && rc < 90;
        return *printed ? rc - 10 : rc;
}

/* A socket file nobody listens on: connect() gives ECONNREFUSED. Mode
 * 0666, so that uid 65534 gets past the permission check to the refusal. */
static bool stale_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return false;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        ok = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && chmod(path, 0666) == 0;
        close(fd);
        return ok;
}

int main(void) {
        static const char *const status[] = { "status", NULL };
        static const char *const json_status[] = { "--json", "status", NULL };
        static const char *const contexts[] = { "contexts", NULL };
        static const char *const sessions[] = { "sessions", NULL };
        static const char *const reload[] = { "reload", NULL };
        static const char *const revoke[] = { "revoke", "session", "1", NULL };
        static const char *const *const commands[] = { status, json_status, contexts, sessions, reload, revoke };
        static const char *const names[] = { "status", "--json status", "contexts", "sessions", "reload",
                                             "revoke session 1" };
        char out[65536];
        struct stat st;
        bool printed;
        long ms;
        int rc;
        TDaemon d, gone;

        signal(SIGPIPE, SIG_IGN);
        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        t_ok(stat(d.admin, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == 0,
             "default configuration: the admin socket is 0600 root (mode %o)", (unsigned) (st.st_mode & 0777));

        /* Control: the same daemon answers root. */
        rc = t_sspictl(&d, status, out, sizeof(out));
        t_ok(rc == 0 && strstr(out, "Kerberos"), "control: root's `sspictl status` exits 0 and lists packages (%d)",
             rc);

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                rc = ctl_as(T_ATTACKER, &d, commands[i], &printed);
                t_ok(rc == 5, "uid 65534: `sspictl %s` exits 5, permission denied (got %d)", names[i], rc);
                t_ok(!printed, "uid 65534: `sspictl %s` prints nothing on standard output", names[i]);
        }

        /* The daemon's own refusal (SO_PEERCRED, not root, no admin group)
         * maps to 5 as well. */
        if (chmod(d.admin, 0666) == 0) {
                rc = ctl_as(T_ATTACKER, &d, status, &printed);
                t_ok(rc == 5 && !printed, "uid 65534 reaching the admin socket: the daemon refuses, exit 5 (got %d)",
                     rc);
                rc = ctl_as(T_ATTACKER, &d, reload, &printed);
                t_ok(rc == 5, "uid 65534 reaching the admin socket: `sspictl reload` refused, exit 5 (got %d)", rc);
                (void) chmod(d.admin, 0600);
        } else
                t_ok(false, "chmod of the admin socket");
        rc = t_sspictl(&d, status, out, sizeof(out));
        t_ok(rc == 0, "control: root's `sspictl status` still exits 0 after the refusals (%d)", rc);

        ms = t_victim_ms(T_VICTIM, 120000);
        t_ok(ms >= 0, "victim (uid 0) served (%ld ms)", ms);

        /* 3 stays "daemon not running". */
        gone = d;
        snprintf(gone.admin, sizeof(gone.admin), "%s/no-such.sock", d.dir);
        rc = t_sspictl(&gone, status, out, sizeof(out));
        t_ok(rc == 3, "root, no socket at the path: exit 3, unreachable (got %d)", rc);
        rc = ctl_as(T_ATTACKER, &gone, status, &printed);
        t_ok(rc == 3, "uid 65534, no socket at the path: exit 3, unreachable (got %d)", rc);

        /* A stale socket (a stopped daemon's): bound, never listening. */
        snprintf(gone.admin, sizeof(gone.admin), "%s/stale.sock", d.dir);
        if (stale_socket(gone.admin)) {
                rc = t_sspictl(&gone, status, out, sizeof(out));
                t_ok(rc == 3, "root, a stale socket with no daemon behind it: exit 3, unreachable (got %d)", rc);
                rc = ctl_as(T_ATTACKER, &gone, status, &printed);
                t_ok(rc == 3, "uid 65534, a stale socket it may open: exit 3, unreachable (got %d)", rc);
        } else
                t_ok(false, "a stale socket at %s", gone.admin);
        t_daemon_stop(&d);
        return t_done();
}
