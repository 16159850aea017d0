/* SPDX-License-Identifier: MIT */
/*
 * The soak load (make soak, tests/soak/run.sh): CLIENTS processes, each
 * with its own connection and credentials, loop over every package (a
 * handshake with both sides through the daemon, then message protection:
 * tests/lib/tpkgs.c) for SECONDS. Meanwhile the daemon's RSS and open fd
 * count are sampled every SAMPLE seconds.
 *
 * Pass criteria, printed as ok / not ok lines:
 *   - zero failed rounds in every client, every client exits cleanly;
 *   - after the warm-up (the first quarter of the run, at least one
 *     sample), the daemon's RSS never exceeds the RSS at the end of the
 *     warm-up by more than 10 % + 8 MiB, and its last sample is no higher
 *     than the warm-up one plus that margin;
 *   - after the warm-up the fd count never exceeds the one at the end of
 *     the warm-up (all clients connected) by more than 4, and once the
 *     clients are gone it is back within 4 of the count before they came.
 * Latency percentiles (p50/p90/p99/max) of one round are printed per
 * package.
 *
 *   soak CLIENTS SECONDS   (inside the test world: SSPID_TESTENV etc.)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "testlib.h"
#include "tpkgs.h"

#define MAX_SAMPLES_PER_CLIENT 100000
#define SAMPLE_SECONDS 2

/* Shared with the clients (MAP_SHARED, anonymous). */
typedef struct Shared {
        volatile int go;
        volatile int ready;
        unsigned long stale; /* Digest rounds retried on a stale nonce */
} Shared;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One client: rounds of every package until the deadline; latencies (us,
 * uint32) per package to DIR/lat-PKG-I. Exit status: 0, or 1 after a
 * failure (reported on stdout). */
static unsigned pkg_mask = (1u << TP_COUNT) - 1;

static int client(int idx, const char *dir, double seconds, Shared *sh) {
        TpCreds c = { 0 };
        uint32_t *lat[TP_COUNT];
        size_t n[TP_COUNT] = { 0 };
        double deadline;
        int failed = 0;

        for (int p = 0; p < TP_COUNT; p++) {
                SECURITY_STATUS st = pkg_mask & (1u << p) ? tp_acquire(&c, p, NULL) : SEC_E_OK;
                lat[p] = malloc(MAX_SAMPLES_PER_CLIENT * sizeof(uint32_t));
                if (st != SEC_E_OK) {
                        printf("not ok - client %d: %s: AcquireCredentialsHandle: %s\n", idx, tp_names[p],
                               status_name(st));
                        __atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
                        return 1;
                }
        }
        __atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
        while (!sh->go)
                usleep(10000);
        deadline = now() + seconds;
        for (int i = 0; now() < deadline; i++) {
                int p = (i + idx) % TP_COUNT; /* clients out of phase */
                const char *what = "";
                double t0 = now();
                SECURITY_STATUS st;
                double us;

                if (!(pkg_mask & (1u << p)))
                        continue;
                st = tp_round(&c, p, NULL, NULL, &what);
                /* A stale Digest nonce (expired, or evicted from the
                 * daemon's nonce table by other clients' nonces) is the
                 * protocol's retry case: the server answers stale=true and
                 * the client starts again with a new challenge. Counted,
                 * retried; a failure only if it keeps happening. */
                for (int r = 0; r < 3 && p == TP_DIGEST && st == SEC_E_CONTEXT_EXPIRED; r++) {
                        __atomic_add_fetch(&sh->stale, 1, __ATOMIC_RELAXED);
                        st = tp_round(&c, p, NULL, NULL, &what);
                }
                us = (now() - t0) * 1e6;
                if (st != SEC_E_OK) {
                        if (failed++ < 3)
                                printf("not ok - client %d: %s round %d: %s: %s (0x%08x)\n", idx, tp_names[p], i,
                                       what, status_name(st), (unsigned) st);
                        continue;
                }
                if (n[p] < MAX_SAMPLES_PER_CLIENT)
                        lat[p][n[p]++] = us > 4e9 ? 4000000000u : (uint32_t) us;
        }
        tp_release(&c);
        for (int p = 0; p < TP_COUNT; p++) {
                char path[600];
                FILE *f;

                snprintf(path, sizeof(path), "%s/lat-%d-%d", dir, p, idx);
                f = fopen(path, "w");
                if (f) {
                        fwrite(lat[p], sizeof(uint32_t), n[p], f);
                        fclose(f);
                }
                free(lat[p]);
        }
        if (failed)
                printf("# client %d: %d failed rounds\n", idx, failed);
        fflush(stdout);
        return failed ? 1 : 0;
}

static long daemon_rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

static int daemon_fds(pid_t pid) {
        char path[64];
        struct dirent *d;
        int n = 0;
        DIR *dp;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        dp = opendir(path);
        if (!dp)
                return -1;
        while ((d = readdir(dp)))
                if (d->d_name[0] != '.')
                        n++;
        closedir(dp);
        return n;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static void percentiles(const char *dir, int clients, int p, double seconds) {
        size_t n = 0, cap = 1 << 16;
        uint32_t *all = malloc(cap * sizeof(uint32_t));

        for (int i = 0; i < clients; i++) {
                char path[600];
                uint32_t buf[4096];
                size_t k;
                FILE *f;

                snprintf(path, sizeof(path), "%s/lat-%d-%d", dir, p, i);
                f = fopen(path, "r");
                while (f && (k = fread(buf, sizeof(uint32_t), 4096, f)) > 0) {
                        if (n + k > cap) {
                                cap = 2 * (n + k);
                                all = realloc(all, cap * sizeof(uint32_t));
                        }
                        memcpy(all + n, buf, k * sizeof(uint32_t));
                        n += k;
                }
                if (f)
                        fclose(f);
        }
        if (n == 0) {
                printf("# %-9s no rounds\n", tp_names[p]);
                free(all);
                return;
        }
        qsort(all, n, sizeof(uint32_t), cmp_u32);
#define PCT(q) (all[(size_t) ((double) (n - 1) * (q))] / 1000.0)
        printf("# %-9s %7zu rounds %7.1f/s   p50 %8.1f ms   p90 %8.1f ms   p99 %8.1f ms   max %8.1f ms\n",
               tp_names[p], n, (double) n / seconds, PCT(0.50), PCT(0.90), PCT(0.99), all[n - 1] / 1000.0);
        free(all);
}

int main(int argc, char **argv) {
        int clients = argc > 1 ? atoi(argv[1]) : 200;
        double seconds = argc > 2 ? atof(argv[2]) : 120;
        const char *world = getenv("SSPID_TESTENV");
        char dir[] = "/tmp/sspid-soak.XXXXXX", path[600], cmd[600];
        Shared *sh;
        pid_t daemon_pid = 0, *kids;
        long rss[4096];
        int fds[4096], ns = 0, warm, fd_before, fd_after, bad_clients = 0;
        double t0, t_warm;
        FILE *f;

        setvbuf(stdout, NULL, _IOLBF, 0);
        /* SOAK_PACKAGES=Kerberos,NTLM...: only these (default: all). */
        if (getenv("SOAK_PACKAGES") && *getenv("SOAK_PACKAGES")) {
                pkg_mask = 0;
                for (int p = 0; p < TP_COUNT; p++)
                        if (strstr(getenv("SOAK_PACKAGES"), tp_names[p]))
                                pkg_mask |= 1u << p;
        }
        if (!world || clients <= 0 || seconds <= 0 || !mkdtemp(dir)) {
                printf("not ok - usage: soak CLIENTS SECONDS inside the test world\n");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/sspid.pid", world);
        f = fopen(path, "r");
        if (!f || fscanf(f, "%d", &daemon_pid) != 1 || daemon_pid <= 0) {
                printf("not ok - no daemon pid in %s\n", path);
                return 1;
        }
        fclose(f);
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        kids = calloc((size_t) clients, sizeof(*kids));
        fd_before = daemon_fds(daemon_pid);
        printf("# daemon pid %d: RSS %ld KiB, %d fds before the clients\n", (int) daemon_pid,
               daemon_rss_kib(daemon_pid), fd_before);

        for (int i = 0; i < clients; i++) {
                kids[i] = fork();
                if (kids[i] == 0)
                        _exit(client(i, dir, seconds, sh));
                if (kids[i] < 0) {
                        printf("not ok - fork: %s\n", strerror(errno));
                        clients = i;
                        break;
                }
        }
        for (int i = 0; i < 6000 && sh->ready < clients; i++)
                usleep(20000);
        printf("# %d clients connected and holding credentials of every package\n", sh->ready);
        sh->go = 1;
        t0 = now();
        /* Warm-up: the first quarter, at least one sample. */
        t_warm = t0 + seconds / 4;
        warm = -1;
        while (now() < t0 + seconds && ns < 4096) {
                sleep(SAMPLE_SECONDS);
                rss[ns] = daemon_rss_kib(daemon_pid);
                fds[ns] = daemon_fds(daemon_pid);
                if (warm < 0 && now() >= t_warm)
                        warm = ns;
                ns++;
        }
        for (int i = 0; i < clients; i++) {
                int st;
                if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        bad_clients++;
        }
        usleep(500000);
        fd_after = daemon_fds(daemon_pid);

        printf("# samples every %d s (RSS KiB / fds):", SAMPLE_SECONDS);
        for (int i = 0; i < ns; i++)
                printf("%s %ld/%d%s", i % 8 ? "" : "\n#  ", rss[i], fds[i], i == warm ? " (warm)" : "");
        printf("\n");
        for (int p = 0; p < TP_COUNT; p++)
                if (pkg_mask & (1u << p))
                        percentiles(dir, clients, p, seconds);
        printf("# Digest rounds retried on a stale nonce (stale=true): %lu\n", sh->stale);
        t_ok(bad_clients == 0, "%d clients, %.0f s: every round of every package succeeded (%d clients failed)",
             clients, seconds, bad_clients);
        if (warm < 0 || ns < 2) {
                t_ok(false, "too few samples after the warm-up (%d); run longer", ns);
        } else {
                long base = rss[warm], limit = base + base / 10 + 8192, max_rss = 0;
                int fd_base = fds[warm], max_fd = 0;

                for (int i = warm; i < ns; i++) {
                        if (rss[i] > max_rss)
                                max_rss = rss[i];
                        if (fds[i] > max_fd)
                                max_fd = fds[i];
                }
                t_ok(max_rss <= limit && rss[ns - 1] <= limit,
                     "daemon RSS flat after warm-up: %ld KiB at warm-up end, max %ld, last %ld (limit %ld)", base,
                     max_rss, rss[ns - 1], limit);
                t_ok(max_fd <= fd_base + 4, "daemon fds flat after warm-up: %d at warm-up end, max %d", fd_base,
                     max_fd);
        }
        t_ok(fd_after >= 0 && fd_after <= fd_before + 4, "daemon fds back after the clients left: %d before, %d after",
             fd_before, fd_after);
        printf("# daemon RSS %ld KiB after the clients left\n", daemon_rss_kib(daemon_pid));
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                printf("# could not remove %s\n", dir);
        return t_done();
}
