/* SPDX-License-Identifier: MIT */
#include "policy/quota.h"

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
