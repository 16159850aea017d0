/* SPDX-License-Identifier: MIT */
#include "core/workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/job.h"

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
};

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

/* Unlinks and returns the first queued job whose lane has room, or NULL.
 * Caller holds w->lock. */
static Job *take_job(Workers *w, Lane **ret_lane) {
        Job *prev = NULL;

        for (Job *j = w->head; j; prev = j, j = j->next) {
                Lane *l = lane_of(w, j->lane);

                if (l && l->running >= w->lane_cap)
                        continue;
                if (prev)
                        prev->next = j->next;
                else
                        w->head = j->next;
                if (w->tail == j)
                        w->tail = prev;
                w->queued--;
                if (l)
                        l->running++;
                *ret_lane = l;
                j->next = NULL;
                return j;
        }
        return NULL;
}

static void *worker_main(void *arg) {
        Workers *w = arg;

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
                pthread_mutex_unlock(&w->lock);
                w->run(job);
                pthread_mutex_lock(&w->lock);
                if (lane) {
                        lane->running--;
                        /* A job skipped for this lane may run now. */
                        if (w->head)
                                pthread_cond_broadcast(&w->cond);
                }
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
        if (!w->threads) {
                free(w);
                return -ENOMEM;
        }
        w->lane_cap = n > 1 ? n - 1 : 1;
        w->run = run;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        /* Signals belong to the event loop thread (sd-event signal sources). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (; w->n < n; w->n++) {
                r = -pthread_create(&w->threads[w->n], NULL, worker_main, w);
                if (r < 0)
                        break;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                workers_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

void workers_submit(Workers *w, Job *job, const void *lane) {
        job->next = NULL;
        job->lane = lane;
        pthread_mutex_lock(&w->lock);
        if (w->tail)
                w->tail->next = job;
        else
                w->head = job;
        w->tail = job;
        w->queued++;
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
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
}
