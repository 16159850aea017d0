/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Call statistics: per RPC and package, the number of calls, errors, the
 * slowest call and a latency histogram; counts per failure status; config
 * reloads. Written by the dispatcher (any thread, lock-free except for the
 * status list), read by the admin socket (`sspictl stats`, `status`).
 * Below both: it knows requests only by their body case and packages only
 * by their Provider.
 */

#include <stdbool.h>
#include <stdint.h>

#include "packages/provider.h"
#include "sspi.h"

#define STATS_FUNCS 64          /* indexed by the request's body case */
#define STATS_PKGS 16           /* providers[] index + 1; 0 = no package */
#define STATS_HIST_SUB 4        /* sub-buckets per power of two */
#define STATS_HIST_BUCKETS (40 * STATS_HIST_SUB)
#define STATS_MAX_STATUSES 64

typedef struct FuncStat {
        const char *name;
        uint64_t calls, errors, max;
        uint64_t hist[STATS_HIST_BUCKETS];
} FuncStat;

typedef struct StatusCount {
        int32_t status;
        uint64_t count;
} StatusCount;

/* CLOCK_MONOTONIC in microseconds. */
uint64_t stats_now_usec(void);

/* One finished call of function `f` (< STATS_FUNCS) named `name`, for
 * package `pkg` (NULL: none), with its latency and, when it failed, its
 * status. Any thread. */
void stats_record_call(unsigned f, const char *name, const Provider *pkg, SECURITY_STATUS st, uint64_t usec);
/* A configuration reload happened (ok) or was refused. */
void stats_note_reload(bool ok);

/* Readers. The counters of function f and package slot p (providers[p - 1],
 * or none when p == 0); fields are read with __atomic_load_n. */
const FuncStat *stats_function(unsigned f, unsigned p);
/* The pct-th percentile of a copied histogram (total calls, max latency). */
uint64_t stats_percentile(const uint64_t *hist, uint64_t total, unsigned pct, uint64_t max);
/* Copies up to `max` status counts; returns how many. */
unsigned stats_status_counts(StatusCount *out, unsigned max);
void stats_reloads(uint64_t *ret_ok, uint64_t *ret_failed);
