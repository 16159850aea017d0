/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Per-uid usage, for the [daemon] quota-* keys: connections, objects
 * (credentials + contexts), calls in flight and buffered reply bytes of all
 * of one uid's connections together. A caller over a quota gets
 * SEC_E_INSUFFICIENT_MEMORY (or, for connections and bytes, loses that
 * connection); other uids are not affected.
 *
 * An entry lives while a connection or an object of its uid does. The
 * counters are atomics: the hot path takes no lock. Checks are made before
 * the work and the count taken after, so concurrent calls of one uid may
 * overshoot a quota by the number of workers; that is the price of not
 * serialising every uid's calls.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct UidUsage {
        struct UidUsage *next;          /* *list (server->usage), under *lock (server->lock) */
        pthread_mutex_t *lock;
        struct UidUsage **list;
        uid_t uid;
        unsigned refs;                  /* under server->lock */
        unsigned connections;
        unsigned objects;
        unsigned calls;
        uint64_t bytes;
        unsigned get_key_waits;         /* calls parked for the client's pGetKeyFn (getkey.c) */
        unsigned exports;               /* exported contexts waiting to be imported (exports.c) */
        uint64_t in_bytes;              /* read buffers + requests in flight (quota-input-bytes) */
        unsigned queued;                /* jobs waiting for a worker (quota-queued) */
        unsigned running;               /* jobs on a worker (workers.c, under its lock) */
        unsigned limits_hit;            /* LIMIT_* bits refused lately (atomic), for sspictl */
        uint64_t hit_usec;              /* CLOCK_MONOTONIC of the last of those */
        uint64_t refused_usec;          /* CLOCK_MONOTONIC of the last quota refusal */
        uint64_t flood_next_usec;       /* next request slot while flooding (loop thread only) */
} UidUsage;

/* Find or create the entry for uid in *list (server->usage, guarded by
 * server->lock: core/server.h), referenced. NULL on ENOMEM. */
UidUsage *uid_usage_get(pthread_mutex_t *lock, UidUsage **list, uid_t uid);
void uid_usage_put(UidUsage *u);

/* Take one unit of *counter unless that would pass `quota` (0: none). */
bool usage_take(unsigned *counter, unsigned quota);
void usage_give(unsigned *counter);
/* Under quota, for a check without taking (0: none). */
bool usage_below(const unsigned *counter, unsigned quota);

/* Which limit a uid met, for `sspictl status`. */
typedef enum Limit {
        LIMIT_CONNECTIONS = 1 << 0,
        LIMIT_OBJECTS = 1 << 1,
        LIMIT_CALLS = 1 << 2,
        LIMIT_BYTES = 1 << 3,
        LIMIT_INPUT_BYTES = 1 << 4,
        LIMIT_QUEUED = 1 << 5,
        LIMIT_FD_RESERVE = 1 << 6,
        LIMIT_FRAME = 1 << 7,           /* frame refused before decoding or timed out */
        LIMIT_IDLE = 1 << 8,
} Limit;
#define LIMIT_HIT_RECENT_USEC 10000000u
void usage_hit(UidUsage *u, Limit l);
/* Bits hit within LIMIT_HIT_RECENT_USEC of now. */
unsigned usage_hits(const UidUsage *u, uint64_t now_usec);
const char *limit_name(Limit l);
/* Whether a line about limit l may be logged now (a few per window and
 * kind); *ret_suppressed: lines not logged in the window before. */
bool limit_log_ok(Limit l, unsigned *ret_suppressed);

/* A uid refused for a quota is "flooding" for QUOTA_PENALTY_USEC after its
 * last refusal: its connections then take turns after everybody else's
 * (conn.c), so that other uids are served as if it were not there. */
#define QUOTA_PENALTY_USEC 1000000u
void usage_refused(UidUsage *u);
bool usage_flooding(const UidUsage *u, uint64_t now_usec);
