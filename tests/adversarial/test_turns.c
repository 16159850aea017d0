/* SPDX-License-Identifier: MIT */
/*
 * Taking turns on the event loop. uid 65534 keeps one connection's input
 * full of cheap, valid requests (EnumerateSecurityPackages, answered on the
 * loop thread, never refused for a quota, so the uid is never "flooding"
 * and stays at normal priority) and reads every answer. A connection
 * dispatches 16 requests a turn and continues from a defer source; that
 * source, re-enabled turn after turn, stayed the oldest pending source of
 * its priority in sd-event, so the attacker's turns came back to back and
 * nothing else at normal priority ran until its input ran dry: against the
 * daemon before the fix
 * the victim's round (root, a new connection) took 10 s instead of 0.2 s
 * (normal tree), and with costlier requests (the Kerberos first legs of
 * test_admin_listing, once its frees no longer waited) neither the victim
 * nor the admin socket was served at all while the attack lasted. Now
 * every turn is queued behind what is already waiting: the victim is
 * served during the attack, and `sspictl status` answers.
 *
 * Control: the attacker's answers are counted while the victim runs: the
 * loop was busy with it the whole time (the attack bit), and it was never
 * refused (a refusal would put it at idle priority and prove nothing).
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define BATCH 256

typedef struct Shared {
        volatile int stop;
        volatile long answers; /* frames read back */
        volatile long sent;
        volatile long refused; /* answers with a non-zero status */
        volatile int broken;   /* an answer longer than the buffer */
} Shared;

static Shared *sh;
static const TDaemon *dm;

static uint64_t varint(const uint8_t **p, const uint8_t *end) {
        uint64_t v = 0;

        for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
                uint8_t b = *(*p)++;

                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80))
                        break;
        }
        return v;
}

/* Whether an answer's Envelope has a non-zero status (field 2, right after
 * call_id, as protobuf-c packs it): a refusal (max-calls, quota-calls). */
static bool refused(const uint8_t *p, size_t len) {
        const uint8_t *end = p + len;

        if (len < 2 || *p++ != 0x08)
                return false;
        (void) varint(&p, end);
        return p < end && *p++ == 0x10 && varint(&p, end) != 0;
}

/* Reads the answers back and counts them. */
static void *reader(void *arg) {
        int fd = *(int *) arg;
        static uint8_t buf[1 << 16];
        size_t have = 0;

        while (!sh->stop) {
                struct pollfd p = {fd, POLLIN, 0};
                ssize_t n;

                if (poll(&p, 1, 200) <= 0)
                        continue;
                n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0)
                        break;
                have += (size_t) n;
                for (;;) {
                        size_t len;

                        if (have < 4)
                                break;
                        len = (size_t) buf[0] << 24 | (size_t) buf[1] << 16 | (size_t) buf[2] << 8 | buf[3];
                        if (len > sizeof(buf) - 4) {
                                sh->broken = 1;
                                return NULL;
                        }
                        if (have < 4 + len)
                                break;
                        __atomic_add_fetch(&sh->answers, 1, __ATOMIC_RELAXED);
                        if (refused(buf + 4, len))
                                __atomic_add_fetch(&sh->refused, 1, __ATOMIC_RELAXED);
                        memmove(buf, buf + 4 + len, have - 4 - len);
                        have -= 4 + len;
                }
        }
        return NULL;
}

static int attacker(void *arg) {
        TBuf hello = tframe_hello(1, 0), batch = {0};
        pthread_t th;
        int fd;

        (void) arg;
        for (int i = 0; i < BATCH; i++) {
                TBuf e = tframe_enum(2 + (uint64_t) i);

                if (batch.cap < batch.len + e.len) {
                        batch.cap = (batch.len + e.len) * 2;
                        batch.p = realloc(batch.p, batch.cap);
                        if (!batch.p)
                                return 1;
                }
                memcpy(batch.p + batch.len, e.p, e.len);
                batch.len += e.len;
                tbuf_free(&e);
        }
        fd = tframe_connect(dm);
        if (fd < 0 || !tframe_send(fd, hello.p, hello.len, 5000))
                return 1;
        if (pthread_create(&th, NULL, reader, &fd) != 0)
                return 1;
        while (!sh->stop) {
                if (!tframe_send(fd, batch.p, batch.len, 5000))
                        break;
                __atomic_add_fetch(&sh->sent, BATCH, __ATOMIC_RELAXED);
                /* Keep the input full, no more: many batches ahead of
                 * the answers (quota-input-bytes would hold a client that
                 * runs far ahead, and holding it is a refusal of sorts). */
                while (!sh->stop && sh->sent - sh->answers > 64 * BATCH)
                        usleep(200);
        }
        sh->stop = 1;
        pthread_join(th, NULL);
        close(fd);
        return 0;
}

int main(void) {
        long cpu0, ms, before, during, st_ms = -1;
        static const char *const status[] = {"status", NULL};
        char out[16384];
        pid_t att;
        TDaemon d;

        signal(SIGPIPE, SIG_IGN);
        sh = tframe_shared(sizeof(*sh));
        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        dm = &d;
        cpu0 = t_proc_cpu_ms(d.pid);

        att = t_spawn_as(T_ATTACKER, attacker, NULL);
        /* Until the attack runs at full speed. */
        for (int i = 0; i < 100 && sh->answers < 20 * BATCH; i++)
                usleep(50000);
        before = sh->answers;
        ms = t_victim_ms(T_VICTIM, 30000);
        during = sh->answers - before;
        {
                uint64_t t0 = t_now_ms();

                if (t_sspictl(&d, status, out, sizeof(out)) == 0)
                        st_ms = (long) (t_now_ms() - t0);
        }
        /* Before the fix (normal tree, idle machine): 10.3 s, and never
         * while the attacker's requests cost more (Kerberos first legs in
         * test_admin_listing); after it 0.2 s. */
        t_ok(ms >= 0 && ms < 5000,
             "victim (uid 0, a new connection) served within 5 s while uid 65534 keeps its input full (%ld ms)", ms);
        printf("# victim round during the attack: %ld ms; attacker answered %ld requests meanwhile\n", ms, during);
        t_ok(st_ms >= 0, "`sspictl status` answered during the attack (%ld ms)", st_ms);
        t_ok(during > BATCH, "control: the loop served the attacker all along (%ld answers during the victim's round)",
             during);
        t_ok(sh->broken == 0 && sh->refused == 0,
             "control: no answer to the attacker was a refusal (%ld refused): it stayed at normal priority",
             sh->refused);

        sh->stop = 1;
        t_ok(t_wait_child(att, 30000) == 0, "the attacker ran as uid 65534");
        if (d.pid > 0)
                printf("# daemon CPU during the test: %ld ms\n", t_proc_cpu_ms(d.pid) - cpu0);
        t_daemon_stop(&d);
        return t_done();
}
