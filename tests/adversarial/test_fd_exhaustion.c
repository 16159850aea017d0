/* SPDX-License-Identifier: MIT */
/*
 * Finding 3: descriptor exhaustion and the accept busy-loop. uid 65534
 * opens connections until refused (half of them stuck in a partial frame)
 * against a default daemon whose descriptor limit is systemd's default
 * soft limit, 1024 (set with prlimit after start, as an administrator or
 * an old unit file would leave it). Root's victim round must be served,
 * the admin socket must answer, the daemon's CPU and log stay small, and
 * the partial frames are closed by the default frame-timeout (10 s). The
 * idle-timeout (default 600 s) is observed on a second daemon where this
 * test shortens it to 2 s. Control: with fd-reserve = 0 and no per-uid
 * connection limit the same attack takes every descriptor: root is not
 * served (and the daemon still neither spins nor floods its log).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define N_ATTACK 1100
#define N_CONTROL 1400

typedef struct Shared {
        volatile int stop;
        volatile int phase;             /* 1: all connects tried; 2: counted after stop */
        int opened, connect_failed;
        int closed_early;               /* closed by the daemon within 1 s: refused */
        int partial, partial_closed;
        int idle, idle_closed;
} Shared;

typedef struct Attack {
        const TDaemon *d;
        Shared *sh;
        int n;
        bool partial;                   /* every other connection starts a frame */
} Attack;

static int attack_fn(void *arg) {
        Attack *a = arg;
        Shared *sh = a->sh;
        int *fds = calloc((size_t) a->n, sizeof(int));
        bool *is_partial = calloc((size_t) a->n, sizeof(bool));
        int n = 0;
        /* a header announcing 1000 bytes, then 10 of them */
        uint8_t part[14] = { 0, 0, 3, 0xe8, 8, 1 };

        if (!fds || !is_partial)
                return 1;
        tframe_raise_nofile();
        for (int i = 0; i < a->n; i++) {
                int fd = tframe_connect(a->d);

                if (fd < 0) {
                        sh->connect_failed++;
                        usleep(1000);
                        continue;
                }
                if (a->partial && i % 2 == 0) {
                        (void) tframe_send(fd, part, sizeof(part), 100);
                        is_partial[n] = true;
                }
                fds[n++] = fd;
        }
        sh->opened = n;
        usleep(1000000);
        for (int i = 0; i < n; i++)
                if (tframe_closed(fds[i], 0)) {
                        sh->closed_early++;
                        fds[i] = -1;
                }
        sh->phase = 1;
        while (!sh->stop)
                usleep(20000);
        for (int i = 0; i < n; i++) {
                if (fds[i] < 0)
                        continue;
                if (is_partial[i]) {
                        sh->partial++;
                        sh->partial_closed += tframe_closed(fds[i], 0);
                } else {
                        sh->idle++;
                        sh->idle_closed += tframe_closed(fds[i], 0);
                }
        }
        sh->phase = 2;
        while (sh->stop < 2)
                usleep(20000);
        return 0;
}

static bool wait_phase(Shared *sh, int phase, int ms) {
        uint64_t end = t_now_ms() + (uint64_t) ms;

        while (sh->phase < phase && t_now_ms() < end)
                usleep(20000);
        return sh->phase >= phase;
}

static void set_fd_limit(pid_t pid, rlim_t n) {
        struct rlimit rl = { n, n };

        if (prlimit(pid, RLIMIT_NOFILE, &rl, NULL) < 0)
                perror("prlimit");
}

static void start_attack(Attack *a, pid_t *pid, const TDaemon *d, Shared *sh, int n, bool partial) {
        *sh = (Shared) {};
        *a = (Attack) { .d = d, .sh = sh, .n = n, .partial = partial };
        *pid = t_spawn_as(T_ATTACKER, attack_fn, a);
}

static void end_attack(pid_t pid, Shared *sh) {
        sh->stop = 2;
        (void) t_wait_child(pid, 10000);
}

int main(void) {
        Shared *sh = tframe_shared(sizeof(Shared));
        TDaemon d;
        Attack a;
        pid_t pid;
        long cpu0, cpu1, log0, log1, ms;
        uint64_t t0, conns;

        tframe_raise_nofile();
        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        set_fd_limit(d.pid, 1024);
        cpu0 = t_proc_cpu_ms(d.pid);
        log0 = t_file_size(d.log);
        t0 = t_now_ms();
        start_attack(&a, &pid, &d, sh, N_ATTACK, true);
        t_ok(wait_phase(sh, 1, 30000), "the attacker tried %d connections", N_ATTACK);
        printf("# attacker: %d connected, %d of them closed at once (refused), %d connects failed\n", sh->opened,
               sh->closed_early, sh->connect_failed);
        t_ok(sh->closed_early + sh->connect_failed > 0,
             "the defence bit: some of uid 65534's %d connections were refused (fd-reserve / quota-connections)",
             N_ATTACK);
        conns = t_daemon_status(&d, "connections", NULL);
        t_ok(conns != UINT64_MAX, "the admin socket answers `sspictl status` during the attack (%llu connections)",
             (unsigned long long) conns);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "root's victim round is served during the attack (%ld ms)", ms);
        /* The partial frames time out at 10 s (frame-timeout default). */
        while (t_now_ms() - t0 < 13000)
                usleep(100000);
        sh->stop = 1;
        t_ok(wait_phase(sh, 2, 10000), "the attacker counted its connections");
        cpu1 = t_proc_cpu_ms(d.pid);
        log1 = t_file_size(d.log);
        printf("# after %llu ms: partial frames closed %d of %d, idle connections closed %d of %d\n",
               (unsigned long long) (t_now_ms() - t0), sh->partial_closed, sh->partial, sh->idle_closed, sh->idle);
        printf("# daemon CPU during the attack: %ld ms in %llu ms; log growth %ld bytes\n", cpu1 - cpu0,
               (unsigned long long) (t_now_ms() - t0), log1 - log0);
        {
                static char json[1 << 16];
                char *u = NULL;

                if (t_daemon_status_json(&d, json, sizeof(json)))
                        u = strstr(json, "\"uid\": 65534");
                if (!u && t_daemon_status_json(&d, json, sizeof(json)))
                        u = strstr(json, "\"uid\":65534");
                t_ok(u && strstr(u, "\"at_limit\"") && strstr(u, "frame"),
                     "sspictl status --json shows uid 65534 at the frame limit");
        }
        t_ok(sh->partial > 0 && sh->partial_closed == sh->partial,
             "every connection stuck in a partial frame was closed by the default frame-timeout");
        t_ok(sh->idle > 0 && sh->idle_closed == 0, "idle connections stay (default idle-timeout 600 s)");
        t_ok(cpu1 - cpu0 < 4000, "daemon CPU stays low: %ld ms over the attack", cpu1 - cpu0);
        t_ok(log1 - log0 < 32768, "log growth bounded: %ld bytes", log1 - log0);
        end_attack(pid, sh);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "root served after the attack (%ld ms)", ms);
        t_daemon_stop(&d);

        /* The idle timeout, shortened to be observable. */
        if (t_daemon_start(&d, "idle-timeout = 2\n", NULL)) {
                start_attack(&a, &pid, &d, sh, 50, false);
                t_ok(wait_phase(sh, 1, 20000), "50 idle connections opened");
                usleep(3500000);
                sh->stop = 1;
                t_ok(wait_phase(sh, 2, 10000), "counted");
                printf("# idle-timeout = 2 (shortened by this test): %d of %d idle connections closed after ~4.5 s\n",
                       sh->idle_closed, sh->idle);
                t_ok(sh->idle == 50 && sh->idle_closed == 50, "idle connections are closed by idle-timeout");
                end_attack(pid, sh);
                t_daemon_stop(&d);
        } else
                t_ok(false, "daemon with idle-timeout = 2 starts");

        /* Control: no reserve, no per-uid limit: the attack takes every
         * descriptor and root is not served. */
        if (t_daemon_start(&d, "fd-reserve = 0\nquota-connections = 0\nframe-timeout = 0\n", NULL)) {
                set_fd_limit(d.pid, 1024);
                cpu0 = t_proc_cpu_ms(d.pid);
                log0 = t_file_size(d.log);
                t0 = t_now_ms();
                /* more than the limit and the listen backlog (128) together */
                start_attack(&a, &pid, &d, sh, N_CONTROL, false);
                t_ok(wait_phase(sh, 1, 30000), "control: the attacker tried %d connections", N_CONTROL);
                printf("# control: daemon has %ld descriptors open, %d of the attacker's connections closed early\n",
                       t_proc_fds(d.pid), sh->closed_early);
                ms = t_victim_ms(T_VICTIM, 4000);
                t_ok(ms < 0, "control (fd-reserve = 0, quota-connections = 0): root is not served (%ld)", ms);
                cpu1 = t_proc_cpu_ms(d.pid);
                log1 = t_file_size(d.log);
                printf("# control: %d connected; daemon CPU %ld ms in %llu ms, log growth %ld bytes (accept "
                       "pauses on EMFILE: no spin)\n",
                       sh->opened, cpu1 - cpu0, (unsigned long long) (t_now_ms() - t0), log1 - log0);
                t_ok(cpu1 - cpu0 < 4000 && log1 - log0 < 32768,
                     "control: out of descriptors the daemon neither spins nor floods its log");
                end_attack(pid, sh);
                ms = t_victim_ms(T_VICTIM, 20000);
                t_ok(ms >= 0, "control: root served again once the attacker is gone (%ld ms)", ms);
                t_daemon_stop(&d);
        } else
                t_ok(false, "control daemon starts");
        return t_done();
}
