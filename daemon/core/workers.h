/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A bounded pool of threads for package work that may wait: KDC traffic,
 * public-key operations. Cheap calls never come here (a cross-CPU wake-up
 * costs more than they do).
 *
 * Each job comes with a lane, the package it works for (NULL: none). At
 * most n - 1 workers (1 when n == 1) run jobs of one lane at a time, so a
 * package whose calls hang, such as Kerberos behind a KDC that never
 * answers, always leaves a worker to the other packages' callers. Jobs are
 * taken fairly between uids (the uid with the fewest jobs running first,
 * FIFO within a uid), skipping those whose lane is at its cap. A lane
 * submitted with `per_uid` (a package whose steps may wait outside the
 * daemon) also runs at most cap - 1 jobs of one uid (when its cap is 2 or
 * more): however long one uid's calls hang, a worker of the lane stays for
 * the others; fairness alone would give it back only when a call ends. The
 * queue is
 * bounded per uid by quota-queued: beyond it the uid's connections are not
 * read (conn.c), so its requests wait undecoded in its own sockets.
 */

#include <stdbool.h>

struct Job;

typedef struct Workers Workers;

/* Jobs are run by `run` (dispatch_run, given by main). */
int workers_new(unsigned n, void (*run)(struct Job *job), Workers **ret) __attribute__((warn_unused_result));
void workers_submit(Workers *w, struct Job *job, const void *lane, bool per_uid);
/* Stop accepting, finish queued jobs, join the threads. */
void workers_free(Workers *w);
unsigned workers_queued(Workers *w);
