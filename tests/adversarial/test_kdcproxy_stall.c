/* SPDX-License-Identifier: MIT */
/*
 * KDC proxy stall (the open risk named since session 5: any local user
 * chooses the proxy a credential's KDC traffic goes to). Against a daemon
 * with the default configuration, two attacker uids (65534, 65533) each run
 * THREADS threads that loop: a Kerberos password credential, KDC proxy
 * settings with FORCEPROXY naming a local server of root's that drips one
 * byte a second of a TLS record that never ends (as a slow server anywhere
 * could), and an ISC, whose AS exchange goes to that proxy. Before this
 * test's fix each such call held a Kerberos worker for ever (SSL_connect
 * read byte by byte, each read inside the socket timeout), and three of
 * them stopped every Kerberos logon of the machine.
 *
 * Checked, with the defaults (kdc-proxy-timeout 15 s, quota-kdc-proxy 1):
 *   - root's victim round (packages, NTLM, a Kerberos handshake with the
 *     KDC) is served while the attack runs, within a functional bound;
 *   - every attacker call ends, in SEC_E_NO_AUTHENTICATING_AUTHORITY, and
 *     none is held much past the deadline;
 *   - per uid at most one call is held at any moment and both uids together
 *     at most workers - 2 = 2 (the calls over the caps are refused at once);
 *   - the refusals are logged, but not a line each;
 *   - control: the drip bites (calls held to the deadline, the drip server
 *     saw the daemon's connections), so the bound above is the deadline's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"
#include "tframe.h"

#define THREADS   4
#define MAX_CALLS 16384
#define ATTACK_MS 22000
#define HELD_MS   5000   /* a call this long was held by the drip, not refused */
/* Two held calls overlapping by less than this are one call's slot handed
 * to the next: the daemon frees the slot, then replies, and a retry that
 * reaches it in between was started (by this clock) before the first
 * call's reply was read. A breach of the cap overlaps by seconds. */
#define HANDOVER_MS 1000

typedef struct Call {
        uint32_t slot;
        uint32_t status;
        uint64_t start, end;
} Call;

typedef struct Shared {
        volatile int stop;
        volatile int n_calls;
        volatile int drip_conns; /* connections the drip server took */
        int ready[2];
        Call calls[MAX_CALLS];
} Shared;

static Shared *sh;
static int port;

/* Root's server: every accepted connection gets the header of a TLS
 * handshake record of 16 KiB, then one byte of it a second. A process of
 * its own, forked before anything else, so that the test process has no
 * thread when it forks the attackers. */
static void drip_server(int lfd) {
        struct pollfd p[256];
        int n = 1;
        static const uint8_t head[] = { 0x16, 0x03, 0x03, 0x40, 0x00 };

        p[0] = (struct pollfd) { .fd = lfd, .events = POLLIN };
        for (;;) {
                int r = poll(p, (nfds_t) n, 1000);

                if (r < 0 && errno != EINTR)
                        break;
                if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
                        break;
                if (p[0].revents & POLLIN) {
                        int c = accept(lfd, NULL, NULL);

                        if (c < 0)
                                break;
                        if (n < 256) {
                                p[n++] = (struct pollfd) { .fd = c, .events = POLLIN };
                                __atomic_add_fetch(&sh->drip_conns, 1, __ATOMIC_SEQ_CST);
                                (void) !write(c, head, sizeof(head));
                        } else
                                close(c);
                }
                for (int i = 1; i < n; i++) {
                        uint8_t junk[4096];

                        /* Read what the daemon sends (its ClientHello) and
                         * give it one byte more; drop it when it left. */
                        if (p[i].revents & POLLIN && read(p[i].fd, junk, sizeof(junk)) <= 0) {
                                close(p[i].fd);
                                p[i--] = p[--n];
                                continue;
                        }
                        if (r == 0 && write(p[i].fd, "\0", 1) < 0) {
                                close(p[i].fd);
                                p[i--] = p[--n];
                        }
                }
        }
        for (int i = 1; i < n; i++)
                close(p[i].fd);
}

static pid_t drip_start(int lfd) {
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                drip_server(lfd);
                _exit(0);
        }
        return pid;
}

static void *attack_thread(void *arg) {
        uint32_t slot = (uint32_t) (uintptr_t) arg;
        char url[64];
        TKdcProxySettings b;
        ULONG cb;

        snprintf(url, sizeof(url), "https://127.0.0.1:%d/KdcProxy", port);
        cb = t_kdc_proxy_settings(&b, KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY, url);
        while (!sh->stop) {
                uint8_t tok[12288];
                SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
                CredHandle c;
                CtxtHandle ctx;
                ULONG attrs;
                Call call = { .slot = slot };
                SECURITY_STATUS st;
                int i;

                if (t_cred_password("mallory", "guess", &c) != SEC_E_OK)
                        break;
                if (SetCredentialsAttributesW(&c, SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS, &b, cb) != SEC_E_OK) {
                        FreeCredentialsHandle(&c);
                        break;
                }
                call.start = t_now_ms();
                st = InitializeSecurityContextA(&c, NULL, "HTTP/localhost", 0, 0, SECURITY_NATIVE_DREP, NULL, 0, &ctx,
                                                &od, &attrs, NULL);
                call.end = t_now_ms();
                call.status = (uint32_t) st;
                if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&c);
                i = __atomic_fetch_add(&sh->n_calls, 1, __ATOMIC_RELAXED);
                if (i >= MAX_CALLS)
                        break;
                sh->calls[i] = call;
                /* A refused call comes back at once: do not spin on it. */
                if (call.end - call.start < 100)
                        usleep(200000);
        }
        return NULL;
}

static int attack_fn(void *arg) {
        uint32_t slot = (uint32_t) (uintptr_t) arg;
        pthread_t th[THREADS];

        for (int i = 0; i < THREADS; i++)
                if (pthread_create(&th[i], NULL, attack_thread, (void *) (uintptr_t) slot) != 0)
                        return 1;
        sh->ready[slot] = 1;
        for (int i = 0; i < THREADS; i++)
                pthread_join(th[i], NULL);
        return 0;
}

/* The most calls (of `slot`, or of both when slot < 0) held at one time. */
static int max_overlap(int slot) {
        int best = 0;

        for (int i = 0; i < sh->n_calls && i < MAX_CALLS; i++) {
                const Call *a = &sh->calls[i];
                int k = 0;

                if (a->end - a->start < HELD_MS || (slot >= 0 && (int) a->slot != slot))
                        continue;
                /* Calls running at a's start (a included), other than one
                 * handing its slot to a. */
                for (int j = 0; j < sh->n_calls && j < MAX_CALLS; j++) {
                        const Call *b = &sh->calls[j];

                        if (b->end - b->start >= HELD_MS && (slot < 0 || (int) b->slot == slot) &&
                            b->start <= a->start && b->end > a->start + (b == a ? 0 : HANDOVER_MS))
                                k++;
                }
                if (k > best)
                        best = k;
        }
        return best;
}

/* Held calls of one uid that began before another of its held calls
 * ended, by at most HANDOVER_MS (a slot handed on, not shared): how many,
 * and by how much at most. */
static int handovers(long *ret_max_ms) {
        int n = 0;

        *ret_max_ms = 0;
        for (int i = 0; i < sh->n_calls && i < MAX_CALLS; i++)
                for (int j = 0; j < sh->n_calls && j < MAX_CALLS; j++) {
                        const Call *a = &sh->calls[i], *b = &sh->calls[j];
                        long over = (long) (b->end - a->start);

                        if (i == j || a->slot != b->slot || a->end - a->start < HELD_MS ||
                            b->end - b->start < HELD_MS || b->start > a->start || over <= 0 || over > HANDOVER_MS)
                                continue;
                        n++;
                        if (over > *ret_max_ms)
                                *ret_max_ms = over;
                }
        return n;
}

static int log_lines(const char *path, const char *what) {
        char line[4096];
        int n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                n += strstr(line, what) != NULL;
        fclose(f);
        return n;
}

int main(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        TDaemon d;
        pid_t pid[2];
        pid_t drip = -1;
        long ms, ms_max = 0, rss0, rss1;
        int lfd, held[2] = { 0, 0 }, refused[2] = { 0, 0 }, other = 0, refusal_lines;
        uint64_t t0;

        sh = tframe_shared(sizeof(Shared));
        if (!sh || !t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        t_ok(lfd >= 0 && bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(lfd, 64) == 0 &&
                     getsockname(lfd, (struct sockaddr *) &sa, &len) == 0 &&
                     (drip = drip_start(lfd)) > 0,
             "root's dripping server on 127.0.0.1");
        port = ntohs(sa.sin_port);

        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "victim served before the attack (%ld ms)", ms);
        rss0 = t_proc_rss_kib(d.pid);

        t0 = t_now_ms();
        for (int i = 0; i < 2; i++)
                pid[i] = t_spawn_as(T_ATTACKER - (uid_t) i, attack_fn, (void *) (uintptr_t) i);
        usleep(2000000);
        ms = t_victim_ms(T_VICTIM, 30000);
        printf("# victim 2 s into the attack: %ld ms\n", ms);
        t_ok(ms >= 0 && ms < 10000, "root's victim round is served during the attack (%ld ms, bound 10 s)", ms);
        while (t_now_ms() - t0 < ATTACK_MS - 5000)
                usleep(200000);
        ms = t_victim_ms(T_VICTIM, 30000);
        printf("# victim %llu s into the attack: %ld ms\n", (unsigned long long) ((t_now_ms() - t0) / 1000), ms);
        t_ok(ms >= 0 && ms < 10000, "root's victim round is served later in the attack (%ld ms, bound 10 s)", ms);
        while (t_now_ms() - t0 < ATTACK_MS)
                usleep(200000);
        sh->stop = 1;
        for (int i = 0; i < 2; i++) {
                int st = t_wait_child(pid[i], 60000);
                t_ok(st == 0 && sh->ready[i], "attacker uid %u ended (status %d)", T_ATTACKER - i, st);
        }

        for (int i = 0; i < sh->n_calls && i < MAX_CALLS; i++) {
                const Call *c = &sh->calls[i];
                long dur = (long) (c->end - c->start);

                if (dur > ms_max)
                        ms_max = dur;
                if (c->status != (uint32_t) SEC_E_NO_AUTHENTICATING_AUTHORITY)
                        other++;
                else if (dur >= HELD_MS)
                        held[c->slot]++;
                else
                        refused[c->slot]++;
        }
        printf("# %d attacker calls; held to the deadline: %d + %d; refused at once: %d + %d; longest %ld ms; "
               "the drip server saw %d connections\n",
               sh->n_calls, held[0], held[1], refused[0], refused[1], ms_max, sh->drip_conns);
        t_ok(other == 0, "every attacker call ends in SEC_E_NO_AUTHENTICATING_AUTHORITY (%d did not)", other);
        t_ok(ms_max > 0 && ms_max < 15000 + 5000,
             "no attacker call is held much past kdc-proxy-timeout (15 s): longest %ld ms", ms_max);
        t_ok(held[0] >= 1 && held[1] >= 1 && ms_max >= 14000,
             "control: the drip bites, calls of both uids were held to the deadline (%d, %d; %ld ms)", held[0],
             held[1], ms_max);
        t_ok(sh->drip_conns >= 2, "control: the daemon connected to the dripping proxy (%d connections)",
             sh->drip_conns);
        t_ok(refused[0] > 0 && refused[1] > 0, "calls over the caps were refused at once (%d, %d)", refused[0],
             refused[1]);
        {
                long over_ms;
                int n = handovers(&over_ms);
                printf("# a uid's slot handed from one held call to the next with the calls overlapping: %d time(s), "
                       "by at most %ld ms\n", n, over_ms);
        }
        for (int i = 0; i < 2; i++) {
                int k = max_overlap(i);
                t_ok(k == 1, "quota-kdc-proxy = 1: uid %u had %d call(s) held at one time", T_ATTACKER - i, k);
        }
        {
                int k = max_overlap(-1);
                t_ok(k >= 1 && k <= 2, "both uids together: %d call(s) held at one time (at most workers - 2 = 2)",
                     k);
        }
        refusal_lines = log_lines(d.log, "refused: ");
        t_ok(refusal_lines >= 1 && refusal_lines <= ATTACK_MS / 1000 + 5,
             "the refusals are logged, a line a second at most (%d lines for %d refusals)", refusal_lines,
             refused[0] + refused[1]);
        rss1 = t_proc_rss_kib(d.pid);
        t_ok(rss1 >= 0 && rss1 < rss0 + 64 * 1024, "daemon RSS bounded (%ld KiB, was %ld)", rss1, rss0);
        ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(ms >= 0, "victim served after the attack (%ld ms)", ms);

        close(lfd);
        if (drip > 0) {
                kill(drip, SIGKILL);
                waitpid(drip, NULL, 0);
        }
        t_daemon_stop(&d);
        return t_done();
}
