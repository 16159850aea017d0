/* SPDX-License-Identifier: MIT */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "dispatch.h"

struct Workers {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Job *head, *tail;
        unsigned queued;
        bool stopping;
        unsigned n;
        pthread_t *threads;
};

static void *worker_main(void *arg) {
        Workers *w = arg;

        for (;;) {
                Job *job;

                pthread_mutex_lock(&w->lock);
                while (!w->head && !w->stopping)
                        pthread_cond_wait(&w->cond, &w->lock);
                job = w->head;
                if (!job) {
                        pthread_mutex_unlock(&w->lock);
                        return NULL;
                }
                w->head = job->next;
                if (!w->head)
                        w->tail = NULL;
                w->queued--;
                pthread_mutex_unlock(&w->lock);

                job->next = NULL;
                dispatch_run(job);
        }
}

int workers_new(unsigned n, Workers **ret) {
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

void workers_submit(Workers *w, Job *job) {
        job->next = NULL;
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
