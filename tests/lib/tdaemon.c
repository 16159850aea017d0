/* SPDX-License-Identifier: MIT */
#include "tdaemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static bool spawn(TDaemon *d) {
        unlink(d->sock);
        unlink(d->admin);
        fflush(stdout);
        d->pid = fork();
        if (d->pid < 0)
                return false;
        if (d->pid == 0) {
                /* A test that dies (timeout, crash) takes its daemon along. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
#if defined(__SANITIZE_ADDRESS__)
                /* Like the world's daemon in the sanitizer suite: leaks are
                 * reported at exit (the test itself runs without). With
                 * another krb5.conf (a dead KDC), Heimdal 7.8's
                 * krb5_sendto_context leaks the request copy of every KDC
                 * that timed out (valgrind shows the whole stack): only
                 * there, unwind through libkrb5 and suppress that one. */
                char supp[1024];
                snprintf(supp, sizeof(supp), "suppressions=%s/tests/tools/lsan.supp",
                         getenv("SSPID_TOP") ? getenv("SSPID_TOP") : ".");
                /* T_DAEMON_ASAN_EXTRA: options a test adds (a smaller
                 * quarantine where it measures the daemon's RSS). */
                const char *extra = getenv("T_DAEMON_ASAN_EXTRA");
                char opts[512];
                snprintf(opts, sizeof(opts), "detect_leaks=1:abort_on_error=1%s%s", extra ? ":" : "", extra ? extra : "");
                setenv("ASAN_OPTIONS", opts, 1);
                if (d->own_krb5) {
                        char path[256], line[512];
                        FILE *in = fopen(supp + 13, "re"), *out;

                        snprintf(path, sizeof(path), "%s/lsan.supp", d->dir);
                        out = fopen(path, "we");
                        while (in && out && fgets(line, sizeof(line), in))
                                fputs(line, out);
                        if (out) {
                                fputs("leak:krb5_sendto_context\n", out);
                                fclose(out);
                        }
                        if (in)
                                fclose(in);
                        snprintf(supp, sizeof(supp), "suppressions=%s", path);
                        snprintf(opts, sizeof(opts), "detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0%s%s",
                                 extra ? ":" : "", extra ? extra : "");
                        setenv("ASAN_OPTIONS", opts, 1);
                }
                setenv("LSAN_OPTIONS", supp, 1);
#endif
                if (!freopen(d->log, "a", stderr) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                        _exit(126);
                execl(d->bin, "sspid", "--socket", d->sock, "--admin-socket", d->admin, "--config", d->conf,
                      (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 400; i++) {
                struct stat st;
                if (stat(d->sock, &st) == 0 && stat(d->admin, &st) == 0)
                        return true;
                if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
                        d->pid = -1;
                        return false;
                }
                usleep(25000);
        }
        return false;
}

bool t_daemon_start(TDaemon *d, const char *daemon_keys, const char *krb5_conf) {
        char exe[PATH_MAX], line[2048];
        const char *world = getenv("SSPID_TESTENV");
        FILE *in, *out;
        ssize_t n;

        memset(d, 0, sizeof(*d));
        d->pid = -1;
        snprintf(d->dir, sizeof(d->dir), "/tmp/sspid-priv.XXXXXX");
        if (!world || !mkdtemp(d->dir) || chmod(d->dir, 0755) < 0)
                return false;
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = 0;
        if (getenv("SSPID_BIN"))
                snprintf(d->bin, sizeof(d->bin), "%s", getenv("SSPID_BIN"));
        else
                snprintf(d->bin, sizeof(d->bin), "%s/../../sspid", dirname(exe));
        snprintf(d->conf, sizeof(d->conf), "%s/sspid.conf", d->dir);
        snprintf(d->sock, sizeof(d->sock), "%s/sspid.sock", d->dir);
        snprintf(d->admin, sizeof(d->admin), "%s/admin.sock", d->dir);
        snprintf(d->log, sizeof(d->log), "%s/sspid.log", d->dir);
        snprintf(line, sizeof(line), "%s/sspid.conf", world);
        in = fopen(line, "re");
        out = fopen(d->conf, "we");
        if (!in || !out) {
                if (in)
                        fclose(in);
                if (out)
                        fclose(out);
                return false;
        }
        while (fgets(line, sizeof(line), in)) {
                if (krb5_conf && !strncmp(line, "krb5-config", 11))
                        fprintf(out, "krb5-config = %s\n", krb5_conf);
                else if (daemon_keys && !strncmp(line, "message-protection", 18) &&
                         strstr(daemon_keys, "message-protection"))
                        continue; /* the world's mode (run-tests.sh's daemon-mode pass) yields to the test's */
                else
                        fputs(line, out);
                if (!strncmp(line, "[daemon]", 8) && daemon_keys)
                        fprintf(out, "%s\n", daemon_keys);
        }
        fclose(in);
        fclose(out);
        d->own_krb5 = krb5_conf != NULL;
        if (!spawn(d))
                return false;
        setenv("SSPID_SOCKET", d->sock, 1);
        setenv("SSPID_ADMIN_SOCKET", d->admin, 1);
        return true;
}

bool t_daemon_restart(TDaemon *d) {
        return spawn(d);
}

void t_daemon_kill(TDaemon *d, int sig) {
        if (d->pid <= 0)
                return;
        kill(d->pid, sig);
        if (sig == SIGKILL || sig == SIGTERM) {
                waitpid(d->pid, NULL, 0);
                d->pid = -1;
        }
}

void t_daemon_stop(TDaemon *d) {
        char cmd[PATH_MAX + 64];
        int status = -1;

        if (d->pid > 0) {
                kill(d->pid, SIGTERM);
                if (waitpid(d->pid, &status, 0) != d->pid)
                        status = -1; /* gone already: reaped elsewhere */
                d->pid = -1;
        }
        t_ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "the private daemon exits cleanly (status 0x%x)",
             status);
        snprintf(cmd, sizeof(cmd), "! grep -E 'ERROR: |runtime error' %s >/dev/null", d->log);
        t_ok(system(cmd) == 0, "no sanitizer report in its log");
        if (system(cmd) != 0) {
                /* The report, where run-tests.sh shows it (it keeps "#" lines). */
                fflush(stdout);
                snprintf(cmd, sizeof(cmd), "grep -m1 -A30 -E 'ERROR: |runtime error' %s | sed 's/^/# /'", d->log);
                (void) !system(cmd);
        }
        if (!getenv("SSPID_KEEP_PRIVATE")) {
                snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
                (void) !system(cmd);
        }
}

bool t_daemon_status_json(const TDaemon *d, char *buf, size_t len) {
        char ctl[1024];
        const char *top = getenv("SSPID_TOP");
        size_t n = 0;
        int p[2], status;
        pid_t pid;

        /* sspictl straight, without a shell: the crash test asks often. */
        snprintf(ctl, sizeof(ctl), "%s/build/sspictl", top ? top : ".");
        if (pipe2(p, O_CLOEXEC) < 0)
                return false;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execl(ctl, "sspictl", "--json", "--socket", d->admin, "status", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        while (pid > 0 && n < len - 1) {
                ssize_t k = read(p[0], buf + n, len - 1 - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(p[0]);
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0)
                return false;
        buf[n] = 0;
        return true;
}

uint64_t t_daemon_status(const TDaemon *d, const char *key, const char *after) {
        char buf[16384], pat[64];
        const char *p = buf;

        if (!t_daemon_status_json(d, buf, sizeof(buf)))
                return UINT64_MAX;
        if (after && !(p = strstr(buf, after)))
                return UINT64_MAX;
        snprintf(pat, sizeof(pat), "\"%s\":", key);
        p = strstr(p, pat);
        return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

long t_proc_fds(pid_t pid) {
        char path[64];
        struct dirent *e;
        long n = 0;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        dir = opendir(path);
        if (!dir)
                return -1;
        while ((e = readdir(dir)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(dir);
        return n;
}

long t_proc_rss_kib(pid_t pid) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "VmRSS:", 6))
                        v = strtol(line + 6, NULL, 10);
        fclose(f);
        return v;
}

int t_dead_kdc(void) {
        for (int attempt = 0; attempt < 20; attempt++) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t len = sizeof(sa);
                int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), t;

                if (u < 0 || bind(u, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    getsockname(u, (struct sockaddr *) &sa, &len) < 0) {
                        if (u >= 0)
                                close(u);
                        continue;
                }
                t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (t >= 0 && bind(t, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(t, 64) == 0)
                        return ntohs(sa.sin_port); /* both stay open: nobody ever reads them */
                if (t >= 0)
                        close(t);
                close(u);
        }
        return 0;
}

bool t_krb5_conf(const char *path, const int *ports, int n_ports, int kdc_timeout, int host_timeout) {
        const char *world = getenv("KRB5_CONFIG"), *real = getenv("SSPID_KDC_PORT");
        char line[1024];
        FILE *in, *out;

        if (!world || !real)
                return false;
        in = fopen(world, "re");
        out = fopen(path, "we");
        if (!in || !out) {
                if (in)
                        fclose(in);
                if (out)
                        fclose(out);
                return false;
        }
        while (fgets(line, sizeof(line), in)) {
                if (strstr(line, "kdc = 127.0.0.1:")) {
                        for (int i = 0; i < n_ports; i++) {
                                if (ports[i])
                                        fprintf(out, "\t\tkdc = 127.0.0.1:%d\n", ports[i]);
                                else
                                        fprintf(out, "\t\tkdc = 127.0.0.1:%s\n", real);
                        }
                        continue;
                }
                fputs(line, out);
                if (!strncmp(line, "[libdefaults]", 13))
                        fprintf(out, "\tkdc_timeout = %d\n\thost_timeout = %d\n", kdc_timeout, host_timeout);
        }
        fclose(in);
        fclose(out);
        return true;
}
