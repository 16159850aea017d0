/* SPDX-License-Identifier: MIT */
/*
 * Finding 14: Kerberos failed once the daemon's descriptors passed 1024.
 * Cause: Heimdal 7.8 waits for KDC replies with select() and refuses a
 * socket numbered >= FD_SETSIZE (lib/krb5/send_to_kdc.c, host_connect:
 * "fd too large for select"), so with a thousand client connections open
 * every KDC socket landed above 1024 and root got
 * SEC_E_NO_AUTHENTICATING_AUTHORITY. The daemon now moves client sockets
 * above 1024 and leaves the low range to the libraries.
 *
 * 1120 idle connections, spread over two unprivileged uids (65534 and
 * 65533, 560 each) so that the default per-uid connection limit (1024)
 * stays in force; then root's victim round (a Kerberos handshake with the
 * KDC) must work. Control: a daemon started with a descriptor limit below
 * 2048 cannot keep sockets above 1024 (it says so in its log): the same
 * connections push the KDC socket past 1023 and root's round fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define PER_UID 560

typedef struct Shared {
        volatile int stop;
        volatile int ready[2];
        int opened[2];
} Shared;

typedef struct Attack {
        const TDaemon *d;
        Shared *sh;
        int slot;
} Attack;

static int hold_fn(void *arg) {
        Attack *a = arg;

        tframe_raise_nofile();
        for (int i = 0; i < PER_UID; i++) {
                int fd = tframe_connect(a->d);
                if (fd >= 0)
                        a->sh->opened[a->slot]++;
                else
                        usleep(2000);
        }
        a->sh->ready[a->slot] = 1;
        while (!a->sh->stop)
                usleep(20000);
        return 0;
}

static bool attack(const TDaemon *d, Shared *sh, Attack a[2], pid_t pid[2]) {
        uint64_t end = t_now_ms() + 30000;

        *sh = (Shared) {};
        for (int i = 0; i < 2; i++) {
                a[i] = (Attack) { .d = d, .sh = sh, .slot = i };
                pid[i] = t_spawn_as(T_ATTACKER - (uid_t) i, hold_fn, &a[i]);
        }
        while (!(sh->ready[0] && sh->ready[1]) && t_now_ms() < end)
                usleep(20000);
        /* the daemon accepts what is in its backlog */
        usleep(500000);
        return sh->ready[0] && sh->ready[1];
}

static void stop(Shared *sh, pid_t pid[2]) {
        sh->stop = 1;
        for (int i = 0; i < 2; i++)
                (void) t_wait_child(pid[i], 10000);
}

int main(void) {
        Shared *sh = tframe_shared(sizeof(Shared));
        struct rlimit saved, low = { 1600, 1600 };
        TDaemon d;
        Attack a[2];
        pid_t pid[2];
        uint64_t conns;
        long ms, fds;
        bool ok;

        tframe_raise_nofile();
        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        ok = attack(&d, sh, a, pid);
        t_ok(ok, "two uids opened %d + %d connections", sh->opened[0], sh->opened[1]);
        conns = t_daemon_status(&d, "connections", NULL);
        fds = t_proc_fds(d.pid);
        printf("# daemon: %llu connections, %ld descriptors open\n", (unsigned long long) conns, fds);
        t_ok(conns != UINT64_MAX && conns > 1024, "more than 1024 client connections are open (%llu)",
             (unsigned long long) conns);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "root's Kerberos handshake works with %llu connections open (%ld ms)", (unsigned long long) conns,
             ms);
        stop(sh, pid);
        t_daemon_stop(&d);

        /* Control: the daemon cannot keep client sockets above 1024. */
        getrlimit(RLIMIT_NOFILE, &saved);
        setrlimit(RLIMIT_NOFILE, &low);
        if (!t_daemon_start(&d, NULL, NULL)) {
                setrlimit(RLIMIT_NOFILE, &saved);
                t_ok(false, "control daemon (descriptor limit 1600) starts");
                return t_done();
        }
        setrlimit(RLIMIT_NOFILE, &saved);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "control daemon: root served with no connections open (%ld ms)", ms);
        ok = attack(&d, sh, a, pid);
        t_ok(ok, "control: two uids opened %d + %d connections", sh->opened[0], sh->opened[1]);
        conns = t_daemon_status(&d, "connections", NULL);
        ms = t_victim_ms(T_VICTIM, 20000);
        printf("# control (limit 1600, client sockets below 1024 too): %llu connections, victim %ld\n",
               (unsigned long long) conns, ms);
        t_ok(conns != UINT64_MAX && conns > 1024 && ms < 0,
             "control: with client sockets in the low range, root's Kerberos round fails (Heimdal's select())");
        stop(sh, pid);
        t_daemon_stop(&d);
        return t_done();
}
