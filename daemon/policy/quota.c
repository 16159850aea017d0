/* SPDX-License-Identifier: MIT */
#include "policy/quota.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

UidUsage *uid_usage_get(pthread_mutex_t *lock, UidUsage **list, uid_t uid) {
        UidUsage *u;

        pthread_mutex_lock(lock);
        for (u = *list; u; u = u->next)
                if (u->uid == uid)
                        break;
        if (!u) {
                u = calloc(1, sizeof(*u));
                if (u) {
                        u->lock = lock;
                        u->list = list;
                        u->uid = uid;
                        u->next = *list;
                        *list = u;
                }
        }
        if (u)
                u->refs++;
        pthread_mutex_unlock(lock);
        return u;
}

void uid_usage_put(UidUsage *u) {
        pthread_mutex_t *lock;

        if (!u)
                return;
        lock = u->lock;
        pthread_mutex_lock(lock);
        if (--u->refs == 0) {
                for (UidUsage **p = u->list; *p; p = &(*p)->next)
                        if (*p == u) {
                                *p = u->next;
                                break;
                        }
                free(u);
        }
        pthread_mutex_unlock(lock);
}

bool usage_take(unsigned *counter, unsigned quota) {
        unsigned n = __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);

        if (quota != 0 && n > quota) {
                __atomic_sub_fetch(counter, 1, __ATOMIC_RELAXED);
                return false;
        }
        return true;
}

void usage_give(unsigned *counter) {
        __atomic_sub_fetch(counter, 1, __ATOMIC_RELAXED);
}

bool usage_below(const unsigned *counter, unsigned quota) {
        return quota == 0 || __atomic_load_n(counter, __ATOMIC_RELAXED) < quota;
}

void usage_refused(UidUsage *u) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        __atomic_store_n(&u->refused_usec, (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u,
                         __ATOMIC_RELAXED);
}

bool usage_flooding(const UidUsage *u, uint64_t now_usec) {
        uint64_t t = __atomic_load_n(&u->refused_usec, __ATOMIC_RELAXED);

        return t != 0 && now_usec - t < QUOTA_PENALTY_USEC;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void usage_hit(UidUsage *u, Limit l) {
        uint64_t now = mono_usec();

        /* Bits older than the window are forgotten at the next hit. */
        if (now - __atomic_load_n(&u->hit_usec, __ATOMIC_RELAXED) >= LIMIT_HIT_RECENT_USEC)
                __atomic_store_n(&u->limits_hit, 0, __ATOMIC_RELAXED);
        __atomic_or_fetch(&u->limits_hit, (unsigned) l, __ATOMIC_RELAXED);
        __atomic_store_n(&u->hit_usec, now, __ATOMIC_RELAXED);
}

unsigned usage_hits(const UidUsage *u, uint64_t now_usec) {
        uint64_t t = __atomic_load_n(&u->hit_usec, __ATOMIC_RELAXED);

        if (t == 0 || now_usec - t >= LIMIT_HIT_RECENT_USEC)
                return 0;
        return __atomic_load_n(&u->limits_hit, __ATOMIC_RELAXED);
}

const char *limit_name(Limit l) {
        switch (l) {
        case LIMIT_CONNECTIONS:
                return "quota-connections";
        case LIMIT_OBJECTS:
                return "quota-objects";
        case LIMIT_CALLS:
                return "quota-calls";
        case LIMIT_BYTES:
                return "quota-bytes";
        case LIMIT_INPUT_BYTES:
                return "quota-input-bytes";
        case LIMIT_QUEUED:
                return "quota-queued";
        case LIMIT_FD_RESERVE:
                return "fd-reserve";
        case LIMIT_FRAME:
                return "frame";
        case LIMIT_IDLE:
                return "idle-timeout";
        }
        return "?";
}

/* Log lines about limits: LIMIT_LOG_BURST per kind of limit in each
 * LIMIT_HIT_RECENT_USEC window, whoever hits it, then a count of those
 * suppressed. A uid's usage entry goes when its last connection does, so
 * the limiter cannot live there: a uid reconnecting in a loop would get a
 * fresh allowance each time. */
#define LIMIT_LOG_BURST 3u
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        uint64_t window_usec;
        unsigned lines;
        unsigned suppressed;
} log_state[16];

bool limit_log_ok(Limit l, unsigned *ret_suppressed) {
        unsigned i = (unsigned) __builtin_ctz((unsigned) l);
        uint64_t now = mono_usec();
        bool ok;

        if (i >= 16)
                return true;
        pthread_mutex_lock(&log_lock);
        *ret_suppressed = 0;
        if (now - log_state[i].window_usec >= LIMIT_HIT_RECENT_USEC) {
                *ret_suppressed = log_state[i].suppressed;
                log_state[i].window_usec = now;
                log_state[i].lines = 0;
                log_state[i].suppressed = 0;
        }
        ok = log_state[i].lines < LIMIT_LOG_BURST;
        if (ok)
                log_state[i].lines++;
        else
                log_state[i].suppressed++;
        pthread_mutex_unlock(&log_lock);
        return ok;
}
