/* SPDX-License-Identifier: MIT */
/*
 * "Other callers are served at normal speed": uid B's NTLM handshakes per
 * second through a private sspid (tests/lib/tdaemon.h, quota-calls =
 * QUOTA_CALLS), alone and then while uid A (nobody) hammers the same
 * daemon far over its quota: HAMMERS processes each keeping IN_FLIGHT
 * asynchronous AcquireCredentialsHandle calls (worker calls) outstanding,
 * freeing what they get and reissuing at once. The figure (ratio) has the
 * hammers sleep on the library's completion descriptor between
 * completions. Shown next to it: the same hammers polling every call with
 * 100 us naps, and the control that tells the two apart, two processes of
 * uid A that only nap 100 us in a loop and never call sspid: on a machine
 * whose two CPUs uid B and the daemon already fill, 40,000 wake-ups a
 * second slow B's ping-pong by themselves, whatever the daemon does.
 *
 *   quota_fairness [-t SECONDS]
 *
 * Prints "RESULT quota alone_hs_per_s=... loaded_hs_per_s=... ratio=...
 * a_accepted_per_s=... a_refused_per_s=... polled_hs_per_s=...
 * polled_ratio=... napped_hs_per_s=... napped_ratio=...". Needs the test
 * world's environment and root (to become nobody). Never asserts on speed.
 */
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tdaemon.h"
#include "testlib.h"

#define NOBODY 65534
#define QUOTA_CALLS 8
#define HAMMERS 2
#define IN_FLIGHT 32

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static SECURITY_STATUS ntlm_cred(bool server, const char *user, const char *pw, CredHandle *ret) {
        SEC_WINNT_AUTH_IDENTITY_A id = { 0 };
        TimeStamp ts;

        if (!server)
                id = (SEC_WINNT_AUTH_IDENTITY_A) { (unsigned char *) user, (ULONG) strlen(user),
                                                   (unsigned char *) "SSPID", 5, (unsigned char *) pw,
                                                   (ULONG) strlen(pw), SEC_WINNT_AUTH_IDENTITY_ANSI };
        return AcquireCredentialsHandleA(NULL, "NTLM", server ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND, NULL,
                                         server ? NULL : &id, NULL, NULL, ret, &ts);
}

/* uid B: handshakes for `secs`; handshakes per second, -1 on a failure. */
static double handshakes(double secs) {
        CredHandle c, s;
        THandshake hs;
        unsigned n = 0;
        double t0;

        if (ntlm_cred(false, "alice", "alice-pw-1", &c) != SEC_E_OK || ntlm_cred(true, NULL, NULL, &s) != SEC_E_OK)
                return -1;
        t0 = now();
        while (now() - t0 < secs) {
                if (t_handshake(&c, &s, "HTTP/localhost", 0, 0, &hs) != SEC_E_OK)
                        return -1;
                t_handshake_done(&hs);
                n++;
        }
        double r = n / (now() - t0);
        FreeCredentialsHandle(&c);
        FreeCredentialsHandle(&s);
        return r;
}

/* uid A: keeps IN_FLIGHT acquires outstanding until told to stop. With
 * poll_status it polls every call's status, napping 100 us when none is done (20,000
 * wake-ups a second per process); else it sleeps on the library's
 * completion descriptor (SspiGetAsyncCompletionFd) until calls complete,
 * as an event-driven client does. */
static void hammer(volatile int *stop, bool poll_status, unsigned long *ret_ok, unsigned long *ret_refused) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "bob", 3, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) "bob-pw-2", 8, SEC_WINNT_AUTH_IDENTITY_ANSI };
        SspiAsyncContext *ac[IN_FLIGHT];
        CredHandle cred[IN_FLIGHT];
        TimeStamp ts[IN_FLIGHT];
        unsigned long ok = 0, refused = 0;
        int efd = poll_status ? -1 : SspiGetAsyncCompletionFd();

        for (int i = 0; i < IN_FLIGHT; i++) {
                ac[i] = SspiCreateAsyncContext();
                SspiAcquireCredentialsHandleAsyncA(ac[i], NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL, NULL,
                                                   &cred[i], &ts[i]);
        }
        while (!*stop) {
                int done = 0;

                if (efd >= 0) {
                        struct pollfd p = { .fd = efd, .events = POLLIN };
                        (void) poll(&p, 1, 10);
                        SspiProcessAsyncCompletions();
                }
                for (int i = 0; i < IN_FLIGHT; i++) {
                        SECURITY_STATUS st = SspiGetAsyncCallStatus(ac[i]);
                        if (st == SEC_I_ASYNC_CALL_PENDING)
                                continue;
                        done++;
                        if (st == SEC_E_OK) {
                                ok++;
                                FreeCredentialsHandle(&cred[i]);
                        } else if (st == SEC_E_INSUFFICIENT_MEMORY)
                                refused++;
                        SspiReinitAsyncContext(ac[i]);
                        SspiAcquireCredentialsHandleAsyncA(ac[i], NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, &id, NULL,
                                                           NULL, &cred[i], &ts[i]);
                }
                /* The load is the daemon's to carry, not this CPU's:
                 * no busy polling while everything is in flight. */
                if (done == 0 && efd < 0)
                        usleep(100);
        }
        *ret_ok = ok;
        *ret_refused = refused;
}

typedef struct Shared {
        int stop;
        unsigned long ok[HAMMERS], refused[HAMMERS];
} Shared;

/* Runs HAMMERS children as nobody: hammers (`mode` 0: completion
 * descriptor, 1: polling) or, mode 2, processes that only nap 100 us in a
 * loop and never call sspid. */
static void start_uid_a(Shared *sh, int mode, pid_t *pids) {
        memset(sh, 0, sizeof(*sh));
        fflush(stdout);
        for (int i = 0; i < HAMMERS; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                                _exit(99);
                        if (mode == 2)
                                while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
                                        usleep(100);
                        else
                                hammer(&sh->stop, mode == 1, &sh->ok[i], &sh->refused[i]);
                        _exit(0);
                }
        }
        usleep(300000); /* uid A is at full speed */
}

/* Stops uid A; the number of children that failed. */
static int stop_uid_a(Shared *sh, const pid_t *pids, unsigned long *ret_ok, unsigned long *ret_refused) {
        int bad = 0;

        __atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
        *ret_ok = *ret_refused = 0;
        for (int i = 0; i < HAMMERS; i++) {
                int status;
                waitpid(pids[i], &status, 0);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        bad++;
                *ret_ok += sh->ok[i];
                *ret_refused += sh->refused[i];
        }
        return bad;
}

int main(int argc, char **argv) {
        double secs = 2, loaded, polled, napped, t0, took;
        unsigned long ok, refused, p_ok, p_refused, junk;
        char keys[128];
        pid_t pids[HAMMERS];
        Shared *sh;
        TDaemon d;
        int bad = 0;

        for (int i = 1; i + 1 < argc; i++)
                if (!strcmp(argv[i], "-t"))
                        secs = atof(argv[++i]);
        snprintf(keys, sizeof(keys), "quota-calls = %d", QUOTA_CALLS);
        if (!t_daemon_start(&d, keys, NULL)) {
                fprintf(stderr, "quota_fairness: the private daemon did not start\n");
                return 1;
        }
        /* Warm-up, not counted: a fresh daemon's first handshakes are cold,
         * and "alone" must not be slower for that than "loaded". */
        double alone = handshakes(0.3);
        if (alone >= 0)
                alone = handshakes(secs);
        if (alone < 0) {
                t_daemon_stop(&d);
                fprintf(stderr, "quota_fairness: a handshake failed\n");
                return 1;
        }
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                return 1;

        /* uid A waits for its completions on the descriptor: the figure. */
        start_uid_a(sh, 0, pids);
        t0 = now();
        loaded = handshakes(secs);
        took = now() - t0;
        bad += stop_uid_a(sh, pids, &ok, &refused);
        /* uid A polls its calls, napping 100 us (shown, not the figure). */
        start_uid_a(sh, 1, pids);
        polled = handshakes(secs);
        bad += stop_uid_a(sh, pids, &p_ok, &p_refused);
        /* The control: two processes of uid A that only nap 100 us in a
         * loop, no sspid call at all. */
        start_uid_a(sh, 2, pids);
        napped = handshakes(secs);
        bad += stop_uid_a(sh, pids, &junk, &junk);
        t_daemon_stop(&d);

        printf("uid B (%u) alone: %.0f NTLM handshakes/s; while uid %d keeps %d x %d acquires in flight over "
               "quota-calls = %d, waiting on the completion descriptor: %.0f/s\n",
               (unsigned) getuid(), alone, NOBODY, HAMMERS, IN_FLIGHT, QUOTA_CALLS, loaded);
        printf("uid A meanwhile: %.0f acquires/s accepted, %.0f/s refused with SEC_E_INSUFFICIENT_MEMORY\n",
               (took + 0.3) > 0 ? ok / (took + 0.3) : 0, (took + 0.3) > 0 ? refused / (took + 0.3) : 0);
        printf("the same hammers polling every call's status with 100 us naps: uid B %.0f/s (%.2fx); "
               "control, %d processes of uid A that only nap 100 us in a loop and never call sspid: uid B %.0f/s "
               "(%.2fx)\n",
               polled, alone > 0 ? polled / alone : 0, HAMMERS, napped, alone > 0 ? napped / alone : 0);
        printf("RESULT quota alone_hs_per_s=%.1f loaded_hs_per_s=%.1f ratio=%.2f a_accepted_per_s=%.0f "
               "a_refused_per_s=%.0f polled_hs_per_s=%.1f polled_ratio=%.2f napped_hs_per_s=%.1f napped_ratio=%.2f\n",
               alone, loaded, alone > 0 ? loaded / alone : 0, ok / (took + 0.3), refused / (took + 0.3), polled,
               alone > 0 ? polled / alone : 0, napped, alone > 0 ? napped / alone : 0);
        return alone < 0 || loaded < 0 || polled < 0 || napped < 0 || bad || refused + p_refused == 0 ? 1 : 0;
}
