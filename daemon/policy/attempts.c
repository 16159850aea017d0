/* SPDX-License-Identifier: MIT */
#include "policy/attempts.h"

#include <pthread.h>
#include <time.h>

typedef struct Entry {
        uid_t uid;
        bool used;
        unsigned spent;         /* units spent, as of `since` */
        uint64_t since;         /* CLOCK_MONOTONIC seconds of the last refill step */
} Entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Entry table[ATTEMPTS_UIDS];

static uint64_t now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

/* Give back the units earned since e->since. Caller holds lock. */
static void refill(Entry *e, uint64_t now) {
        uint64_t earned = (now - e->since) / ATTEMPTS_REFILL_SEC;

        if (earned >= e->spent) {
                e->spent = 0;
                e->since = now;
        } else {
                e->spent -= (unsigned) earned;
                e->since += earned * ATTEMPTS_REFILL_SEC;
        }
}

/* uid's entry, or a reusable one when `create`; NULL when there is none
 * (not known and not created, or the table is full of spent budgets). */
static Entry *find(uid_t uid, bool create, uint64_t now) {
        Entry *free_e = NULL;

        for (unsigned i = 0; i < ATTEMPTS_UIDS; i++) {
                Entry *e = &table[i];

                if (e->used && e->uid == uid) {
                        refill(e, now);
                        return e;
                }
                if (!create || free_e)
                        continue;
                if (!e->used)
                        free_e = e;
                else {
                        refill(e, now);
                        if (e->spent == 0)
                                free_e = e; /* a whole budget again: nothing to remember */
                }
        }
        if (free_e) {
                free_e->used = true;
                free_e->uid = uid;
                free_e->spent = 0;
                free_e->since = now;
        }
        return free_e;
}

bool attempts_take(uid_t uid) {
        uint64_t now = now_sec();
        Entry *e;
        bool ok;

        pthread_mutex_lock(&lock);
        e = find(uid, true, now);
        ok = e && e->spent < ATTEMPTS_BURST;
        if (ok) {
                if (e->spent == 0)
                        e->since = now;
                e->spent++;
        }
        pthread_mutex_unlock(&lock);
        return ok;
}

void attempts_refund(uid_t uid) {
        Entry *e;

        pthread_mutex_lock(&lock);
        e = find(uid, false, now_sec());
        if (e && e->spent > 0)
                e->spent--;
        pthread_mutex_unlock(&lock);
}
