/* SPDX-License-Identifier: MIT */
#include "util/resolve.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The lookup runs on glibc's resolver threads (getaddrinfo_a); we wait for
 * it with gai_suspend() until the deadline. One that outlives its deadline
 * cannot be taken back while a resolver thread works on it: it waits in
 * `abandoned`, and a later lookup frees it once it is done. The callers'
 * own limits (the KDC proxy's in-flight caps) bound how many there are.
 */
typedef struct Lookup {
        struct gaicb cb;
        struct addrinfo hints;
        struct Lookup *next;
        char *port;
        char host[];
} Lookup;

static pthread_mutex_t lookup_lock = PTHREAD_MUTEX_INITIALIZER;
static Lookup *abandoned;

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static void lookup_free(Lookup *l) {
        if (l->cb.ar_result)
                freeaddrinfo(l->cb.ar_result);
        free(l->port);
        free(l);
}

static void lookups_reap(void) {
        pthread_mutex_lock(&lookup_lock);
        for (Lookup **l = &abandoned; *l;) {
                Lookup *x = *l;

                if (gai_error(&x->cb) == EAI_INPROGRESS) {
                        l = &x->next;
                        continue;
                }
                *l = x->next;
                lookup_free(x);
        }
        pthread_mutex_unlock(&lookup_lock);
}

int resolve_until(const char *host, const char *port, const struct addrinfo *hints, uint64_t deadline,
                  struct addrinfo **ret) {
        size_t n = strlen(host) + 1;
        Lookup *l = calloc(1, sizeof(*l) + n);
        struct gaicb *list[1];
        int e;

        lookups_reap();
        if (!l || !(l->port = strdup(port))) {
                free(l);
                return -ENOMEM;
        }
        memcpy(l->host, host, n);
        l->hints = *hints;
        l->cb = (struct gaicb) { .ar_name = l->host, .ar_service = l->port, .ar_request = &l->hints };
        list[0] = &l->cb;
        if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
                lookup_free(l);
                return -EHOSTUNREACH;
        }
        while ((e = gai_error(&l->cb)) == EAI_INPROGRESS) {
                uint64_t now = now_ms();
                struct timespec ts;

                if (now >= deadline)
                        break;
                ts.tv_sec = (time_t) ((deadline - now) / 1000u);
                ts.tv_nsec = (long) ((deadline - now) % 1000u) * 1000000L;
                (void) gai_suspend((const struct gaicb *const *) list, 1, &ts);
        }
        if (e == 0) {
                *ret = l->cb.ar_result;
                l->cb.ar_result = NULL;
                lookup_free(l);
                return 0;
        }
        /* Done with an error, or still queued (cancelled): ours to free. */
        if (e != EAI_INPROGRESS || gai_cancel(&l->cb) != EAI_NOTCANCELED) {
                lookup_free(l);
                return e == EAI_INPROGRESS ? -ETIME : -EHOSTUNREACH;
        }
        pthread_mutex_lock(&lookup_lock);
        l->next = abandoned;
        abandoned = l;
        pthread_mutex_unlock(&lookup_lock);
        return -ETIME;
}
