/* SPDX-License-Identifier: MIT */
#include "tattack.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

pid_t t_spawn_as(uid_t uid, int (*fn)(void *arg), void *arg) {
        pid_t pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid != 0)
                return pid;
        if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                _exit(99);
        _exit(fn(arg));
}

int t_wait_child(pid_t pid, int timeout_ms) {
        uint64_t end = t_now_ms() + (uint64_t) timeout_ms;
        int status;

        if (pid < 0)
                return 97;
        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
                if (r < 0 && errno != EINTR)
                        return 97;
                if (t_now_ms() >= end) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        return 98;
                }
                usleep(5000);
        }
}

int t_run_as(uid_t uid, int (*fn)(void *arg), void *arg) {
        return t_wait_child(t_spawn_as(uid, fn, arg), 600000);
}

uint64_t t_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int t_victim_round(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "bob", 3, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) "bob-pw-2", 8, SEC_WINNT_AUTH_IDENTITY_ANSI };
        uint8_t tok[4096];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        CredHandle c, kc, ks;
        CtxtHandle ctx;
        ULONG n, attrs;
        PSecPkgInfoA p;
        TimeStamp ts;
        THandshake h;
        char target[256];
        SECURITY_STATUS st;

        if (EnumerateSecurityPackagesA(&n, &p) != SEC_E_OK)
                return 1;
        FreeContextBuffer(p);
        if (AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL, &c, &ts) != SEC_E_OK)
                return 2;
        st = InitializeSecurityContextA(&c, NULL, "host", 0, 0, SECURITY_NATIVE_DREP, NULL, 0, &ctx, &od, &attrs, &ts);
        if (st != SEC_I_CONTINUE_NEEDED) {
                FreeCredentialsHandle(&c);
                return 3;
        }
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&c);

        if (t_cred_password("alice", "alice-pw-1", &kc) != SEC_E_OK)
                return 4;
        if (t_cred_service(NULL, &ks) != SEC_E_OK) {
                FreeCredentialsHandle(&kc);
                return 5;
        }
        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
        st = t_handshake(&kc, &ks, target, ISC_REQ_MUTUAL_AUTH, 0, &h);
        t_handshake_done(&h);
        FreeCredentialsHandle(&kc);
        FreeCredentialsHandle(&ks);
        return st == SEC_E_OK ? 0 : 6;
}

/*
 * The victim runs in a fresh image of this test binary, not in a bare
 * fork: the tests fork while their own threads (stall servers, attackers)
 * are starting or allocating, and a forked child inherits whatever lock
 * such a thread held at that instant. glibc's malloc is fork-safe, but the
 * sanitizer runtimes of the ASan build are not (a child once hung in its
 * first allocation until killed, 20 s). Between fork and exec the child
 * only drops its identity; the environment (SSPID_SOCKET, KRB5_CONFIG, …)
 * carries the daemon and the realm.
 */
#define VICTIM_ENV "SSPID_T_VICTIM_ROUND"

__attribute__((constructor)) static void victim_image(void) {
        if (getenv(VICTIM_ENV)) {
                unsetenv(VICTIM_ENV);
                _exit(t_victim_round());
        }
}

static pid_t spawn_victim(uid_t uid) {
        extern char **environ;
        static char self[4096], mark[] = VICTIM_ENV "=1";
        char *argv[] = { self, NULL }, **envp;
        size_t n = 0;
        ssize_t len;
        pid_t pid;

        len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len <= 0)
                return -1;
        self[len] = 0;
        while (environ[n])
                n++;
        /* Built before the fork: the child allocates nothing. */
        envp = calloc(n + 2, sizeof(*envp));
        if (!envp)
                return -1;
        memcpy(envp, environ, n * sizeof(*envp));
        envp[n] = mark;
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid == 0) {
                if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(99);
                execve(self, argv, envp);
                _exit(96);
        }
        free(envp);
        return pid;
}

long t_victim_ms(uid_t uid, int timeout_ms) {
        uint64_t start = t_now_ms();
        int rc = t_wait_child(spawn_victim(uid), timeout_ms);

        if (rc != 0) {
                printf("# victim round as uid %u: %s (code %d) after %llu ms\n", (unsigned) uid,
                       rc == 98 ? "killed or timed out" : "failed", rc, (unsigned long long) (t_now_ms() - start));
                return -1;
        }
        return (long) (t_now_ms() - start);
}

long t_proc_cpu_ms(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long utime, stime;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (!fgets(buf, sizeof(buf), f)) {
                fclose(f);
                return -1;
        }
        fclose(f);
        /* Field 2 (comm) may hold spaces: continue after its ')'. */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
                return -1;
        return (long) ((utime + stime) * 1000u / (unsigned long) sysconf(_SC_CLK_TCK));
}

long t_file_size(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? -1 : (long) st.st_size;
}

int t_sspictl(const TDaemon *d, const char *const *args, char *out, size_t len) {
        const char *top = getenv("SSPID_TOP");
        const char *argv[16] = { "sspictl", "--socket", d->admin };
        char ctl[1024];
        size_t n = 0, na = 3;
        int p[2], status;
        pid_t pid;

        snprintf(ctl, sizeof(ctl), "%s/build/sspictl", top ? top : ".");
        for (; args && *args && na < 15; args++)
                argv[na++] = *args;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execv(ctl, (char *const *) argv);
                _exit(127);
        }
        close(p[1]);
        for (;;) {
                char sink[4096];
                ssize_t k = n + 1 < len ? read(p[0], out + n, len - 1 - n) : read(p[0], sink, sizeof(sink));

                if (k <= 0)
                        break;
                if (n + 1 < len)
                        n += (size_t) k;
        }
        close(p[0]);
        if (len > 0)
                out[n] = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

int t_raw_connect(const TDaemon *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(d->sock) >= sizeof(sa.sun_path))
                return -1;
        memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}
