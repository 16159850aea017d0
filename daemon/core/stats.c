/* SPDX-License-Identifier: MIT */
#include "core/stats.h"

#include <pthread.h>
#include <time.h>

static FuncStat stats[STATS_FUNCS][STATS_PKGS];
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static StatusCount status_counts[STATS_MAX_STATUSES];
static unsigned n_status_counts;
static uint64_t reloads_ok, reloads_failed;

uint64_t stats_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static unsigned hist_index(uint64_t v) {
        unsigned lg, sub, i;

        if (v < STATS_HIST_SUB)
                return (unsigned) v;
        lg = 63 - (unsigned) __builtin_clzll(v);
        sub = (unsigned) (v >> (lg - 2)) & (STATS_HIST_SUB - 1);
        i = (lg - 1) * STATS_HIST_SUB + sub;
        return i < STATS_HIST_BUCKETS ? i : STATS_HIST_BUCKETS - 1;
}

/* The largest value that lands in bucket i. */
static uint64_t hist_upper(unsigned i) {
        unsigned lg, sub;

        if (i < STATS_HIST_SUB)
                return i;
        lg = i / STATS_HIST_SUB + 1;
        sub = i % STATS_HIST_SUB;
        return ((uint64_t) (STATS_HIST_SUB + sub + 1) << (lg - 2)) - 1;
}

static int provider_index(const Provider *p) {
        for (int i = 0; providers[i] && i < STATS_PKGS - 1; i++)
                if (providers[i] == p)
                        return i + 1;
        return 0;
}

void stats_record_call(unsigned f, const char *name, const Provider *pkg, SECURITY_STATUS st, uint64_t usec) {
        FuncStat *fs;
        uint64_t m;

        if (f >= STATS_FUNCS)
                return;
        fs = &stats[f][provider_index(pkg)];
        if (!__atomic_load_n(&fs->name, __ATOMIC_RELAXED))
                __atomic_store_n(&fs->name, name, __ATOMIC_RELAXED);
        __atomic_add_fetch(&fs->calls, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&fs->hist[hist_index(usec)], 1, __ATOMIC_RELAXED);
        m = __atomic_load_n(&fs->max, __ATOMIC_RELAXED);
        while (usec > m && !__atomic_compare_exchange_n(&fs->max, &m, usec, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
        if (st >= 0)
                return;
        __atomic_add_fetch(&fs->errors, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&status_lock);
        for (unsigned i = 0; i < n_status_counts; i++)
                if (status_counts[i].status == st) {
                        status_counts[i].count++;
                        pthread_mutex_unlock(&status_lock);
                        return;
                }
        if (n_status_counts < STATS_MAX_STATUSES) {
                status_counts[n_status_counts].status = st;
                status_counts[n_status_counts++].count = 1;
        }
        pthread_mutex_unlock(&status_lock);
}

void stats_note_reload(bool ok) {
        __atomic_add_fetch(ok ? &reloads_ok : &reloads_failed, 1, __ATOMIC_RELAXED);
}

const FuncStat *stats_function(unsigned f, unsigned p) {
        if (f >= STATS_FUNCS || p >= STATS_PKGS)
                return NULL;
        return &stats[f][p];
}

uint64_t stats_percentile(const uint64_t *hist, uint64_t total, unsigned pct, uint64_t max) {
        uint64_t want = (total * pct + 99) / 100, seen = 0;

        for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++) {
                seen += hist[i];
                if (seen >= want && want > 0) {
                        uint64_t v = hist_upper(i);
                        return v < max ? v : max;
                }
        }
        return max;
}

unsigned stats_status_counts(StatusCount *out, unsigned max) {
        unsigned n;

        pthread_mutex_lock(&status_lock);
        n = n_status_counts < max ? n_status_counts : max;
        for (unsigned i = 0; i < n; i++)
                out[i] = status_counts[i];
        pthread_mutex_unlock(&status_lock);
        return n;
}

void stats_reloads(uint64_t *ret_ok, uint64_t *ret_failed) {
        *ret_ok = __atomic_load_n(&reloads_ok, __ATOMIC_RELAXED);
        *ret_failed = __atomic_load_n(&reloads_failed, __ATOMIC_RELAXED);
}
