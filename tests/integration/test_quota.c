/* SPDX-License-Identifier: MIT */
/*
 * Per-uid quotas. A daemon of its own, with the test world's config plus
 * quota-objects and quota-connections: a uid over its quota gets
 * SEC_E_INSUFFICIENT_MEMORY (objects) or loses the new connection, while
 * another uid is served as usual.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define NOBODY 65534
#define QUOTA_OBJECTS 8
#define QUOTA_CONNECTIONS 4

static char dir[] = "/tmp/sspid-quota.XXXXXX";
static pid_t daemon_pid = -1;

static bool start_daemon(void) {
        char conf[PATH_MAX], sock[PATH_MAX], admin[PATH_MAX], exe[PATH_MAX], bin[PATH_MAX], line[1024];
        const char *world = getenv("SSPID_TESTENV");
        FILE *in, *out;
        ssize_t n;

        if (!world || !mkdtemp(dir) || chmod(dir, 0755) < 0)
                return false;
        /* The daemon of the build this test belongs to (build/ or build/asan/). */
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = 0;
        snprintf(bin, sizeof(bin), "%s/../../sspid", dirname(exe));
        snprintf(conf, sizeof(conf), "%s/sspid.conf", dir);
        snprintf(sock, sizeof(sock), "%s/sspid.sock", dir);
        snprintf(admin, sizeof(admin), "%s/admin.sock", dir);
        snprintf(line, sizeof(line), "%s/sspid.conf", world);
        in = fopen(line, "re");
        out = fopen(conf, "we");
        if (!in || !out)
                return false;
        while (fgets(line, sizeof(line), in)) {
                fputs(line, out);
                if (!strncmp(line, "[daemon]", 8))
                        fprintf(out, "quota-objects = %d\nquota-connections = %d\n", QUOTA_OBJECTS,
                                QUOTA_CONNECTIONS);
        }
        fclose(in);
        fclose(out);
        daemon_pid = fork();
        if (daemon_pid == 0) {
                char log[PATH_MAX + 16];
                snprintf(log, sizeof(log), "%s/sspid.log", dir);
                if (!freopen(log, "we", stderr) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                        _exit(126);
                execl(bin, "sspid", "--socket", sock, "--admin-socket", admin, "--config", conf, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                struct stat st;
                if (stat(sock, &st) == 0)
                        break;
                usleep(25000);
        }
        setenv("SSPID_SOCKET", sock, 1);
        return true;
}

static void stop_daemon(void) {
        char cmd[PATH_MAX + 64];
        int status = 0;

        if (daemon_pid > 0) {
                kill(daemon_pid, SIGTERM);
                waitpid(daemon_pid, &status, 0);
        }
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the quota daemon exits cleanly (status 0x%x)", status);
        snprintf(cmd, sizeof(cmd), "! grep -E 'ERROR: |runtime error' %s/sspid.log", dir);
        t_ok(system(cmd) == 0, "no sanitizer report in its log");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void) !system(cmd);
}

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

int main(void) {
        CredHandle creds[QUOTA_OBJECTS + 1];
        pid_t holders[QUOTA_CONNECTIONS];
        int pipes[QUOTA_CONNECTIONS][2];
        SECURITY_STATUS st;
        int held = 0;

        bool started = start_daemon();
        t_ok(started, "a daemon with quota-objects = %d, quota-connections = %d", QUOTA_OBJECTS, QUOTA_CONNECTIONS);
        if (!started)
                return t_done();

        /* Objects: this uid fills its quota. */
        int got = 0;
        for (int i = 0; i < QUOTA_OBJECTS; i++)
                if (t_cred_service("HTTP/localhost", &creds[i]) == SEC_E_OK)
                        got++;
        t_ok(got == QUOTA_OBJECTS, "%d credentials within the quota", got);
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

        stop_daemon();
        return t_done();
}
