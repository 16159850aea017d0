/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A bounded pool of threads for package work that may wait: KDC traffic,
 * public-key operations. Jobs are taken in FIFO order. Cheap calls never come
 * here (a cross-CPU wake-up costs more than they do).
 */

struct Job;

typedef struct Workers Workers;

int workers_new(unsigned n, Workers **ret) __attribute__((warn_unused_result));
void workers_submit(Workers *w, struct Job *job);
/* Stop accepting, finish queued jobs, join the threads. */
void workers_free(Workers *w);
unsigned workers_queued(Workers *w);
