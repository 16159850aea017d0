/* SPDX-License-Identifier: MIT */
/*
 * Descriptors passed to the daemon (issue 15 item 7: AcquireCredReq.kcm_name
 * with the client's socket to KCM as SCM_RIGHTS), from uid 65534 against a
 * daemon with the default configuration:
 *
 *  1. Stall: two attacker uids (65534, 65533), 8 connections each, every
 *     one passing a socket whose peer is a root service that accepts and
 *     never answers (what the daemon's peer check lets through). Each call
 *     must end with SEC_E_NO_CREDENTIALS at the 3 s KCM deadline, and root's
 *     victim round (packages, NTLM, a Kerberos handshake with the KDC) must
 *     be served meanwhile within a functional bound. Control: the attack
 *     bites (every attacker call is held at least 2.5 s).
 *  1b. The same from one uid alone: it runs at most two of the Kerberos
 *     lane's three workers, so root's round is served at once (not after
 *     a stalled call's deadline); control: its 8 calls take 4 rounds.
 *  2. Descriptor pile-up: 200 connections each passing a descriptor with a
 *     frame that does not claim it (EnumPackages), then a second one. The
 *     daemon holds one unclaimed descriptor per connection at most (the
 *     control: its descriptor count rises while the first is pending) and
 *     closes the connection at the second; once the attacker is gone the
 *     daemon's descriptors and RSS are back near where they were.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define PER_UID 8
#define PILE    200

typedef struct Shared {
        volatile int done[2];
        int no_creds[2];
        long min_ms[2], max_ms[2];
        volatile int pile_ready, pile_stop;
        int pile_held, pile_closed;
} Shared;

static Shared *sh;
static char stall_path[108];

typedef struct Attack {
        const TDaemon *d;
        int slot;
} Attack;

/* Root's service that takes every connection and never answers: a process
 * of its own, forked before anything else, so that the test process has no
 * thread when it forks the attackers. */
static pid_t stall_start(int lfd) {
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid != 0)
                return pid;
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0)
                        _exit(0);
                /* held open, never answered */
        }
}

/* A Hello'd raw connection (blocking), or -1. */
static int hello_connect(const TDaemon *d) {
        TBuf h = tframe_hello(1, 0);
        int fd = t_raw_connect(d);
        bool ok = fd >= 0 && tframe_send(fd, h.p, h.len, 5000) && tframe_reply_status(fd, 5000) != TFRAME_NO_REPLY;

        tbuf_free(&h);
        if (!ok && fd >= 0) {
                close(fd);
                fd = -1;
        }
        return fd;
}

static int stall_fn(void *arg) {
        Attack *a = arg;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int sock[PER_UID], k[PER_UID];
        uint64_t t0;

        strcpy(sa.sun_path, stall_path);
        sh->min_ms[a->slot] = 1L << 30;
        for (int i = 0; i < PER_UID; i++) {
                sock[i] = hello_connect(a->d);
                k[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (sock[i] < 0 || k[i] < 0 || connect(k[i], (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return 1;
        }
        t0 = t_now_ms();
        for (int i = 0; i < PER_UID; i++)
                if (!tframe_send_kcm_acquire(sock[i], 2, &k[i], 1))
                        return 2;
        for (int i = 0; i < PER_UID; i++) {
                int64_t st = tframe_reply_status(sock[i], 60000);
                long ms = (long) (t_now_ms() - t0);

                if (st == (int32_t) SEC_E_NO_CREDENTIALS)
                        sh->no_creds[a->slot]++;
                if (ms < sh->min_ms[a->slot])
                        sh->min_ms[a->slot] = ms;
                if (ms > sh->max_ms[a->slot])
                        sh->max_ms[a->slot] = ms;
                close(sock[i]);
                close(k[i]);
        }
        sh->done[a->slot] = 1;
        return 0;
}

static int pile_fn(void *arg) {
        const TDaemon *d = arg;
        int sock[PILE], junk[2];
        TBuf e = tframe_enum(3);

        tframe_raise_nofile();
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, junk) < 0)
                return 1;
        for (int i = 0; i < PILE; i++) {
                sock[i] = hello_connect(d);
                if (sock[i] >= 0 && tframe_send_fd(sock[i], &e, junk[0]) &&
                    tframe_reply_status(sock[i], 5000) != TFRAME_NO_REPLY)
                        sh->pile_held++;
        }
        sh->pile_ready = 1;
        while (sh->pile_ready != 2)
                usleep(20000);
        /* A second descriptor while the first is unclaimed. */
        for (int i = 0; i < PILE; i++)
                if (sock[i] >= 0 && tframe_send_fd(sock[i], &e, junk[1]) && tframe_closed(sock[i], 5000))
                        sh->pile_closed++;
        while (!sh->pile_stop)
                usleep(20000);
        tbuf_free(&e);
        return 0;
}

int main(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/sspid-kcmfd.XXXXXX";
        TDaemon d;
        Attack a[2];
        pid_t pid[2], pp;
        pid_t stall = -1;
        long ms, fds0, fds1, fds2, rss0, rss2;
        int lfd;

        sh = tframe_shared(sizeof(Shared));
        tframe_raise_nofile();
        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        /* A root service that never answers. */
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        t_ok(mkdtemp(dir) && chmod(dir, 0755) == 0, "a directory for the stalling socket");
        snprintf(stall_path, sizeof(stall_path), "%s/stall.sock", dir);
        strcpy(sa.sun_path, stall_path);
        t_ok(lfd >= 0 && bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && chmod(stall_path, 0777) == 0 &&
                     listen(lfd, 64) == 0 && (stall = stall_start(lfd)) > 0,
             "root's listening socket that never answers");

        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "victim served before the attack (%ld ms)", ms);

        /* 1. Stall. */
        for (int i = 0; i < 2; i++) {
                a[i] = (Attack) { .d = &d, .slot = i };
                pid[i] = t_spawn_as(T_ATTACKER - (uid_t) i, stall_fn, &a[i]);
        }
        usleep(500000);
        ms = t_victim_ms(T_VICTIM, 30000);
        printf("# victim during the stall: %ld ms\n", ms);
        t_ok(ms >= 0 && ms < 15000, "root's victim round is served while 16 KCM calls stall (%ld ms, bound 15 s)", ms);
        for (int i = 0; i < 2; i++) {
                int st = t_wait_child(pid[i], 90000);
                t_ok(st == 0 && sh->done[i], "attacker %d finished (status %d)", i, st);
                printf("# attacker uid %u: %d of %d SEC_E_NO_CREDENTIALS, replies after %ld..%ld ms\n",
                       T_ATTACKER - i, sh->no_creds[i], PER_UID, sh->min_ms[i], sh->max_ms[i]);
                t_ok(sh->no_creds[i] == PER_UID, "attacker uid %u: every stalled call ends in SEC_E_NO_CREDENTIALS",
                     T_ATTACKER - i);
                t_ok(sh->min_ms[i] >= 2500,
                     "control: the stall bites (no call of uid %u answered before the 3 s deadline: %ld ms)",
                     T_ATTACKER - i, sh->min_ms[i]);
        }

        /* 1b. One uid alone: it may not take every worker of the Kerberos
         * lane (lane cap 3 of the 4 default workers; one uid runs at most
         * 2), so root's Kerberos work finds a worker at once instead of
         * waiting for a stalled call to reach its deadline. */
        sh->done[0] = 0;
        sh->no_creds[0] = 0;
        sh->max_ms[0] = 0;
        pid[0] = t_spawn_as(T_ATTACKER, stall_fn, &a[0]);
        usleep(500000);
        ms = t_victim_ms(T_VICTIM, 30000);
        printf("# victim while one uid stalls %d KCM calls: %ld ms\n", PER_UID, ms);
        t_ok(ms >= 0 && ms < 2000,
             "one uid's stalled calls leave a Kerberos worker free: root's round takes %ld ms (a wait for a "
             "stalled call's 3 s deadline would take over 2 s)",
             ms);
        {
                int st = t_wait_child(pid[0], 90000);
                t_ok(st == 0 && sh->done[0] && sh->no_creds[0] == PER_UID,
                     "the lone attacker's calls all end in SEC_E_NO_CREDENTIALS (%d of %d)", sh->no_creds[0], PER_UID);
                printf("# lone attacker: replies after %ld..%ld ms\n", sh->min_ms[0], sh->max_ms[0]);
                t_ok(sh->min_ms[0] >= 2500, "control: the stall bites (no call answered before the 3 s deadline: %ld ms)",
                     sh->min_ms[0]);
                t_ok(sh->max_ms[0] >= 11000,
                     "its %d calls ran 2 at a time, in 4 rounds of 3 s (the last answered after %ld ms; 3 at a time "
                     "would end after 9 s)",
                     PER_UID, sh->max_ms[0]);
        }

        /* 2. Descriptor pile-up. */
        fds0 = t_proc_fds(d.pid);
        rss0 = t_proc_rss_kib(d.pid);
        pp = t_spawn_as(T_ATTACKER, pile_fn, &d);
        for (int i = 0; i < 600 && !sh->pile_ready; i++)
                usleep(50000);
        fds1 = t_proc_fds(d.pid);
        printf("# daemon descriptors: %ld before, %ld with %d connections each holding one unclaimed\n", fds0, fds1,
               sh->pile_held);
        t_ok(sh->pile_held == PILE, "%d connections passed a descriptor with EnumPackages (answered)", sh->pile_held);
        t_ok(fds1 >= fds0 + 2L * PILE - 10,
             "control: the daemon holds the unclaimed descriptor of each connection (%ld -> %ld)", fds0, fds1);
        sh->pile_ready = 2;
        for (int i = 0; i < 600 && sh->pile_closed < PILE; i++)
                usleep(50000);
        t_ok(sh->pile_closed == PILE, "a second descriptor while one is unclaimed closes the connection (%d of %d)",
             sh->pile_closed, PILE);
        sh->pile_stop = 1;
        (void) t_wait_child(pp, 20000);
        usleep(500000);
        fds2 = t_proc_fds(d.pid);
        rss2 = t_proc_rss_kib(d.pid);
        printf("# daemon after the attacker left: %ld descriptors (%ld before), RSS %ld KiB (%ld before)\n", fds2,
               fds0, rss2, rss0);
        t_ok(fds2 >= 0 && fds2 <= fds0 + 5, "no descriptor left behind (%ld, was %ld)", fds2, fds0);
        t_ok(rss2 >= 0 && rss2 < rss0 + 64 * 1024, "RSS bounded (%ld KiB, was %ld)", rss2, rss0);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "victim served after the attacks (%ld ms)", ms);

        close(lfd);
        if (stall > 0) {
                kill(stall, SIGKILL);
                waitpid(stall, NULL, 0);
        }
        unlink(stall_path);
        rmdir(dir);
        t_daemon_stop(&d);
        return t_done();
}
