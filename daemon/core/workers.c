/* SPDX-License-Identifier: MIT */
#include "core/workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>

#include "core/job.h"
#include "core/conn.h"
#include "policy/quota.h"

/* Distinct lanes tracked; a lane beyond these runs without a cap (there
 * are fewer packages than this). */
#define MAX_LANES 16

typedef struct Lane {
        const void *key;
        unsigned running;
} Lane;

struct Workers {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Job *head, *tail;
        unsigned queued;
        bool stopping;
        unsigned n;
        unsigned lane_cap;
        Lane lanes[MAX_LANES];
        pthread_t *threads;
        void (*run)(Job *job);         /* dispatch_run */
        /* the uid each worker is running a job for, (uid_t) -1 when idle,
         * and the lane of that job */
        uid_t *run_uid;
        const void **run_lane;
};

static unsigned running_for(const Workers *w, uid_t uid) {
        unsigned k = 0;

        for (unsigned i = 0; i < w->n; i++)
                k += w->run_uid[i] == uid;
        return k;
}

/* Jobs of `lane` running for `uid`. Caller holds w->lock. */
static unsigned running_in_lane(const Workers *w, const void *lane, uid_t uid) {
        unsigned k = 0;

        for (unsigned i = 0; i < w->n; i++)
                k += w->run_uid[i] == uid && w->run_lane[i] == lane;
        return k;
}

/* The lane's slot, or NULL when untracked. Caller holds w->lock. */
static Lane *lane_of(Workers *w, const void *key) {
        Lane *free_slot = NULL;

        if (!key)
                return NULL;
        for (unsigned i = 0; i < MAX_LANES; i++) {
                if (w->lanes[i].key == key)
                        return &w->lanes[i];
                if (!free_slot && w->lanes[i].running == 0)
                        free_slot = &w->lanes[i];
        }
        if (free_slot)
                free_slot->key = key;
        return free_slot;
}

/* Unlinks and returns the next job, or NULL: of the queued jobs whose
 * lane has room, the first one of the uid with the fewest jobs running.
 * Uids thus take turns on the workers whatever the queue's order, so a
 * flood from one uid waits behind nobody but itself. Caller holds w->lock. */
static Job *take_job(Workers *w, Lane **ret_lane) {
        Job *best = NULL, *best_prev = NULL, *prev = NULL;
        Lane *best_lane = NULL;
        unsigned best_running = UINT_MAX;

        for (Job *j = w->head; j; prev = j, j = j->next) {
                Lane *l = lane_of(w, j->lane);
                unsigned k;

                if (l && l->running >= w->lane_cap)
                        continue;
                if (l && j->lane_per_uid && w->lane_cap >= 2 &&
                    running_in_lane(w, j->lane, j->conn->caller.uid) >= w->lane_cap - 1)
                        continue;
                k = running_for(w, j->conn->caller.uid);
                if (k < best_running) {
                        best = j;
                        best_prev = prev;
                        best_lane = l;
                        best_running = k;
                        if (k == 0)
                                break;
                }
        }
        if (!best)
                return NULL;
        if (best_prev)
                best_prev->next = best->next;
        else
                w->head = best->next;
        if (w->tail == best)
                w->tail = best_prev;
        w->queued--;
        __atomic_sub_fetch(&best->conn->usage->queued, 1, __ATOMIC_RELAXED);
        if (best_lane)
                best_lane->running++;
        *ret_lane = best_lane;
        best->next = NULL;
        return best;
}

typedef struct WorkerArg {
        Workers *w;
        unsigned slot;
} WorkerArg;

static void *worker_main(void *arg) {
        Workers *w = ((WorkerArg *) arg)->w;
        unsigned slot = ((WorkerArg *) arg)->slot;

        free(arg);
        pthread_mutex_lock(&w->lock);
        for (;;) {
                Lane *lane = NULL;
                Job *job = take_job(w, &lane);

                if (!job) {
                        if (w->stopping && !w->head)
                                break;
                        pthread_cond_wait(&w->cond, &w->lock);
                        continue;
                }
                w->run_uid[slot] = job->conn->caller.uid;
                w->run_lane[slot] = job->lane;
                pthread_mutex_unlock(&w->lock);
                w->run(job);
                pthread_mutex_lock(&w->lock);
                w->run_uid[slot] = (uid_t) -1;
                w->run_lane[slot] = NULL;
                /* A job skipped for this lane (or this uid in it) may run now. */
                if (w->head)
                        pthread_cond_broadcast(&w->cond);
                if (lane)
                        lane->running--;
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int workers_new(unsigned n, void (*run)(Job *job), Workers **ret) {
        Workers *w = calloc(1, sizeof(*w));
        sigset_t all, old;
        int r = 0;

        if (!w)
                return -ENOMEM;
        w->threads = calloc(n, sizeof(pthread_t));
        w->run_uid = calloc(n, sizeof(uid_t));
        w->run_lane = calloc(n, sizeof(*w->run_lane));
        if (!w->threads || !w->run_uid || !w->run_lane) {
                free(w->threads);
                free(w->run_uid);
                free(w->run_lane);
                free(w);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < n; i++)
                w->run_uid[i] = (uid_t) -1;
        w->lane_cap = n > 1 ? n - 1 : 1;
        w->run = run;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        /* Signals belong to the event loop thread (sd-event signal sources). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (; w->n < n; w->n++) {
                WorkerArg *a = malloc(sizeof(*a));

                if (!a) {
                        r = -ENOMEM;
                        break;
                }
                *a = (WorkerArg) { .w = w, .slot = w->n };
                r = -pthread_create(&w->threads[w->n], NULL, worker_main, a);
                if (r < 0) {
                        free(a);
                        break;
                }
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                workers_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

void workers_submit(Workers *w, Job *job, const void *lane, bool per_uid) {
        job->next = NULL;
        job->lane = lane;
        job->lane_per_uid = per_uid;
        pthread_mutex_lock(&w->lock);
        if (w->tail)
                w->tail->next = job;
        else
                w->head = job;
        w->tail = job;
        w->queued++;
        __atomic_add_fetch(&job->conn->usage->queued, 1, __ATOMIC_RELAXED);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

unsigned workers_queued(Workers *w) {
        unsigned n;

        pthread_mutex_lock(&w->lock);
        n = w->queued;
        pthread_mutex_unlock(&w->lock);
        return n;
}

void workers_free(Workers *w) {
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        for (unsigned i = 0; i < w->n; i++)
                pthread_join(w->threads[i], NULL);
        free(w->threads);
        free(w->run_uid);
        free(w->run_lane);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
}
