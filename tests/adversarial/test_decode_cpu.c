/* SPDX-License-Identifier: MIT */
/*
 * Finding 9: CPU amplification on the event loop. 32 connections of uid
 * 65534 send, over and over, frames padded with ~300k unknown protobuf
 * fields (about 1 MB each; protobuf-c decodes every one, ~100 ms a frame):
 * half as their first frame (a padded Hello), half after a valid Hello (a
 * padded EnumerateSecurityPackages). Meanwhile root's
 * EnumerateSecurityPackages latency is measured, and its victim round must
 * be served. The default daemon refuses these frames before decoding
 * (first frame larger than a Hello, from its length; more than
 * max-unknown-fields unknown fields, from the first bytes of the frame),
 * so its CPU per frame stays small. Control: the same padded requests
 * against a daemon with the pre-scan limits opened wide
 * (max-unknown-fields and max-fields = 16777216) cost the daemon far more
 * CPU; and a Hello with a few unknown fields is still accepted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sspi.h"
#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define N_CONNS 32
#define N_PAD 300000

typedef struct Shared {
        volatile int stop;
        int frames;
} Shared;

typedef struct Attack {
        const TDaemon *d;
        Shared *sh;
        TBuf hello, padded_hello, padded_enum;
        bool only_enum;
} Attack;

typedef struct Thread {
        Attack *a;
        int i;
} Thread;

static void *attack_thread(void *arg) {
        Thread *t = arg;
        Attack *a = t->a;

        while (!a->sh->stop) {
                int fd = tframe_connect(a->d);
                bool first = !a->only_enum && t->i % 2 == 0;

                if (fd < 0) {
                        usleep(10000);
                        continue;
                }
                if (first)
                        (void) tframe_send(fd, a->padded_hello.p, a->padded_hello.len, 2000);
                else if (tframe_send(fd, a->hello.p, a->hello.len, 2000))
                        (void) tframe_send(fd, a->padded_enum.p, a->padded_enum.len, 2000);
                __atomic_add_fetch(&a->sh->frames, 1, __ATOMIC_RELAXED);
                (void) tframe_closed(fd, 2000);
                close(fd);
        }
        return NULL;
}

static int attack_fn(void *arg) {
        Attack *a = arg;
        pthread_t th[N_CONNS];
        Thread t[N_CONNS];

        for (int i = 0; i < N_CONNS; i++) {
                t[i] = (Thread) { .a = a, .i = i };
                if (pthread_create(&th[i], NULL, attack_thread, &t[i]) != 0)
                        return 1;
        }
        for (int i = 0; i < N_CONNS; i++)
                pthread_join(th[i], NULL);
        return 0;
}

/* Mean and max of `n` EnumerateSecurityPackages calls of this (root)
 * process, in microseconds. */
static void enum_latency(int n, long *ret_mean_us, long *ret_max_us) {
        long sum = 0, max = 0;

        for (int i = 0; i < n; i++) {
                struct timespec a, b;
                ULONG k;
                PSecPkgInfoA p;
                long us;

                clock_gettime(CLOCK_MONOTONIC, &a);
                if (EnumerateSecurityPackagesA(&k, &p) == SEC_E_OK)
                        FreeContextBuffer(p);
                clock_gettime(CLOCK_MONOTONIC, &b);
                us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000L;
                sum += us;
                if (us > max)
                        max = us;
                usleep(50000);
        }
        *ret_mean_us = sum / n;
        *ret_max_us = max;
}

typedef struct Run {
        long cpu_ms, wall_ms, mean_us, max_us, victim_ms, log_bytes;
        int frames;
} Run;

static void run_attack(const TDaemon *d, Attack *a, Shared *sh, bool only_enum, Run *r) {
        long cpu0 = t_proc_cpu_ms(d->pid), log0 = t_file_size(d->log);
        uint64_t t0 = t_now_ms();
        pid_t pid;

        *sh = (Shared) {};
        a->d = d;
        a->sh = sh;
        a->only_enum = only_enum;
        pid = t_spawn_as(T_ATTACKER, attack_fn, a);
        usleep(500000);
        enum_latency(40, &r->mean_us, &r->max_us);
        r->victim_ms = t_victim_ms(T_VICTIM, 20000);
        sh->stop = 1;
        (void) t_wait_child(pid, 15000);
        r->cpu_ms = t_proc_cpu_ms(d->pid) - cpu0;
        r->wall_ms = (long) (t_now_ms() - t0);
        r->log_bytes = t_file_size(d->log) - log0;
        r->frames = sh->frames;
}

int main(void) {
        Shared *sh = tframe_shared(sizeof(Shared));
        Attack a = {
                .hello = tframe_hello(1, 0),
                .padded_hello = tframe_hello(1, N_PAD),
        };
        TBuf env = {};
        TDaemon d;
        Run idle = {}, def = {}, ctl = {};

        /* EnumPackages after the Hello, padded inside the envelope */
        tbuf_tag(&env, 1, 0);
        tbuf_varint(&env, 2);
        tbuf_bytes(&env, 12, "", 0);
        tbuf_unknown_fields(&env, N_PAD);
        a.padded_enum = tframe_wrap(&env);
        tbuf_free(&env);
        printf("# attack frames: padded Hello %zu bytes, padded EnumPackages %zu bytes\n", a.padded_hello.len,
               a.padded_enum.len);

        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        enum_latency(20, &idle.mean_us, &idle.max_us);
        printf("# idle daemon: EnumerateSecurityPackages mean %ld us, max %ld us\n", idle.mean_us, idle.max_us);
        {
                /* a Hello with a few unknown fields (a newer minor version) is fine */
                TBuf h = tframe_hello(1, 8);
                int fd = tframe_connect(&d);
                uint8_t buf[64];
                ssize_t k = -1;

                if (fd >= 0 && tframe_send(fd, h.p, h.len, 2000)) {
                        for (int i = 0; i < 100 && k < 0; i++) {
                                k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                                if (k < 0)
                                        usleep(20000);
                        }
                }
                t_ok(k > 4, "a Hello with 8 unknown fields is answered (%zd bytes)", k);
                if (fd >= 0)
                        close(fd);
                tbuf_free(&h);
        }
        run_attack(&d, &a, sh, false, &def);
        printf("# default daemon under attack: %d padded frames sent; EnumerateSecurityPackages mean %ld us, max %ld "
               "us; daemon CPU %ld ms in %ld ms; log +%ld bytes; victim round %ld ms\n",
               def.frames, def.mean_us, def.max_us, def.cpu_ms, def.wall_ms, def.log_bytes, def.victim_ms);
        t_ok(def.frames >= N_CONNS, "the attacker sent its padded frames (%d)", def.frames);
        if (def.log_bytes >= 32768) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "sed 's/[0-9]\\+/N/g' %s | sort | uniq -c | sort -rn | head -5 | sed 's/^/# log: /'", d.log);
                (void) !system(cmd);
        }
        if (def.victim_ms < 0) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "grep -v 'uid 65534' %s | tail -15 | sed 's/^/# log: /'", d.log);
                (void) !system(cmd);
        }
        t_ok(def.victim_ms >= 0, "root's victim round is served during the attack (%ld ms)", def.victim_ms);
        t_ok(def.mean_us < 2000000, "EnumerateSecurityPackages mean latency under attack %ld us (bound 2 s)",
             def.mean_us);
        /* The attacker can always make the daemon accept and read: what
         * must not happen is decode work out of proportion to the bytes. */
        t_ok(def.frames > 0 && (double) def.cpu_ms / def.frames < 2.0,
             "daemon CPU per padded frame stays small: %.3f ms (%ld ms for %d frames)",
             def.frames ? (double) def.cpu_ms / def.frames : 0.0, def.cpu_ms, def.frames);
        t_ok(def.log_bytes < 32768, "log growth bounded (%ld bytes)", def.log_bytes);
        t_daemon_stop(&d);

        /* Control: the pre-scan limits opened wide; padded EnumPackages
         * frames (after a valid Hello) are then decoded in full. */
        if (t_daemon_start(&d, "max-unknown-fields = 16777216\nmax-fields = 16777216\n", NULL)) {
                Run def2 = {};

                run_attack(&d, &a, sh, true, &ctl);
                printf("# control (pre-scan off): %d padded frames; EnumerateSecurityPackages mean %ld us, max %ld us; "
                       "daemon CPU %ld ms in %ld ms\n",
                       ctl.frames, ctl.mean_us, ctl.max_us, ctl.cpu_ms, ctl.wall_ms);
                t_daemon_stop(&d);
                /* the same padded EnumPackages against the defaults, for a like-for-like figure */
                if (t_daemon_start(&d, NULL, NULL)) {
                        run_attack(&d, &a, sh, true, &def2);
                        printf("# defaults, same padded EnumPackages: %d frames; mean %ld us, max %ld us; daemon CPU %ld "
                               "ms in %ld ms\n",
                               def2.frames, def2.mean_us, def2.max_us, def2.cpu_ms, def2.wall_ms);
                        t_daemon_stop(&d);
                }
                /* per frame: the control decodes, the default refuses */
                t_ok(ctl.frames > 0 && def2.frames > 0 &&
                             (double) ctl.cpu_ms / ctl.frames > 4.0 * (double) (def2.cpu_ms + 1) / def2.frames,
                     "control: decoding the padded frames costs the daemon far more CPU per frame (%.2f vs %.2f ms)",
                     ctl.frames ? (double) ctl.cpu_ms / ctl.frames : 0.0,
                     def2.frames ? (double) def2.cpu_ms / def2.frames : 0.0);
        } else
                t_ok(false, "control daemon starts");
        tbuf_free(&a.hello);
        tbuf_free(&a.padded_hello);
        tbuf_free(&a.padded_enum);
        return t_done();
}
