/* SPDX-License-Identifier: MIT */
#include "core/exports.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/quota.h"
#include "core/server.h"
#include "core/stats.h"
#include "util/random.h"
#include "util/util.h"

typedef struct Export {
        struct Export *ticket_next;     /* bucket chain, by ticket */
        struct Export *src_next;        /* bucket chain, by exporting context */
        struct Export *older, *newer;   /* in the order put, for expiry */
        uint8_t ticket[EXPORT_TICKET_LEN];
        uint64_t src;                   /* the exporting context's id */
        char pkg[64];
        UidUsage *usage;                /* referenced; counted in usage->exports */
        uint64_t deadline;              /* CLOCK_MONOTONIC microseconds (stats_now_usec): an
                                         * export waits export-ttl from when it was put, not
                                         * to a whole second, which let one expire early */
        ExportState state;
} Export;

struct ExportStore {
        Export **by_ticket, **by_src;
        size_t n_buckets;               /* a power of two */
        size_t n;
        Export *oldest, *newest;
        uint64_t seed;                  /* keys the bucket hash */
};

/* The store's own lock (one store per daemon process). Lock order: this
 * lock, then the server's (uid_usage_get/put). */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

#define INITIAL_BUCKETS 64u

static size_t bucket(const ExportStore *st, uint64_t key) {
        return (size_t) (((key ^ st->seed) * 0x9e3779b97f4a7c15ULL) >> 32) & (st->n_buckets - 1);
}

static uint64_t ticket_key(const uint8_t *ticket) {
        uint64_t k;
        memcpy(&k, ticket, sizeof(k));
        return k;
}

/* The store, created on first use. Caller holds store_lock. */
static ExportStore *store_get(Server *s) {
        ExportStore *st = s->exports;

        if (st)
                return st;
        st = calloc(1, sizeof(*st));
        if (!st)
                return NULL;
        st->n_buckets = INITIAL_BUCKETS;
        st->by_ticket = calloc(st->n_buckets, sizeof(Export *));
        st->by_src = calloc(st->n_buckets, sizeof(Export *));
        if (!st->by_ticket || !st->by_src || random_bytes(&st->seed, sizeof(st->seed)) < 0) {
                free(st->by_ticket);
                free(st->by_src);
                free(st);
                return NULL;
        }
        s->exports = st;
        return st;
}

/* Doubles the tables; on ENOMEM the chains just get longer. */
static void store_grow(ExportStore *st) {
        size_t n = st->n_buckets * 2, old_n = st->n_buckets;
        Export **bt = calloc(n, sizeof(Export *)), **bs = calloc(n, sizeof(Export *));

        if (!bt || !bs) {
                free(bt);
                free(bs);
                return;
        }
        st->n_buckets = n;
        for (size_t i = 0; i < old_n; i++) {
                while (st->by_ticket[i]) {
                        Export *e = st->by_ticket[i];
                        size_t b = bucket(st, ticket_key(e->ticket));

                        st->by_ticket[i] = e->ticket_next;
                        e->ticket_next = bt[b];
                        bt[b] = e;
                }
                while (st->by_src[i]) {
                        Export *e = st->by_src[i];
                        size_t b = bucket(st, e->src);

                        st->by_src[i] = e->src_next;
                        e->src_next = bs[b];
                        bs[b] = e;
                }
        }
        free(st->by_ticket);
        free(st->by_src);
        st->by_ticket = bt;
        st->by_src = bs;
}

static void store_link(ExportStore *st, Export *e) {
        size_t bt = bucket(st, ticket_key(e->ticket)), bs = bucket(st, e->src);

        e->ticket_next = st->by_ticket[bt];
        st->by_ticket[bt] = e;
        e->src_next = st->by_src[bs];
        st->by_src[bs] = e;
        e->older = st->newest;
        e->newer = NULL;
        if (st->newest)
                st->newest->newer = e;
        else
                st->oldest = e;
        st->newest = e;
        st->n++;
}

static void store_unlink(ExportStore *st, Export *e) {
        Export **p;

        for (p = &st->by_ticket[bucket(st, ticket_key(e->ticket))]; *p; p = &(*p)->ticket_next)
                if (*p == e) {
                        *p = e->ticket_next;
                        break;
                }
        for (p = &st->by_src[bucket(st, e->src)]; *p; p = &(*p)->src_next)
                if (*p == e) {
                        *p = e->src_next;
                        break;
                }
        if (e->older)
                e->older->newer = e->newer;
        else
                st->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                st->newest = e->older;
        st->n--;
}

void export_state_release(ExportState *st) {
        free_secret(st->blob, st->len);
        if (st->live)
                st->live_free(st->live);
        *st = (ExportState) { 0 };
}

/* Frees an unlinked export and gives back its count. */
static void export_free(Export *e) {
        export_state_release(&e->state);
        explicit_bzero(e->ticket, sizeof(e->ticket));
        usage_give(&e->usage->exports);
        uid_usage_put(e->usage);
        free(e);
}

/* Drops what has expired: the oldest first. A reload that shortens
 * export-ttl lets a later export expire before an earlier one is
 * dropped; both are bounded by the longer ttl. Caller holds store_lock. */
static void store_expire(ExportStore *st) {
        uint64_t now = stats_now_usec();

        while (st->oldest && st->oldest->deadline <= now) {
                Export *e = st->oldest;

                store_unlink(st, e);
                export_free(e);
        }
}

int server_export_reserve(Server *s, UidUsage *u, uint64_t src, unsigned quota) {
        ExportStore *st;

        pthread_mutex_lock(&store_lock);
        st = s->exports;
        if (st) {
                store_expire(st);
                /* One export waiting per context: a new export replaces it. */
                for (Export *e = st->by_src[bucket(st, src)]; e; e = e->src_next)
                        if (e->src == src) {
                                store_unlink(st, e);
                                export_free(e);
                                break;
                        }
        }
        pthread_mutex_unlock(&store_lock);
        if (!usage_take(&u->exports, quota)) {
                usage_refused(u);
                return -EDQUOT;
        }
        return 0;
}

void server_export_unreserve(UidUsage *u) {
        usage_give(&u->exports);
}

int server_export_put(Server *s, UidUsage *u, uint64_t src, const char *pkg, ExportState *es,
                      uint8_t ticket[EXPORT_TICKET_LEN]) {
        Export *e = calloc(1, sizeof(*e));
        ExportStore *st;
        Config *cfg;

        if (!e)
                return -ENOMEM;
        if (random_bytes(e->ticket, sizeof(e->ticket)) < 0) {
                free(e);
                return -EIO;
        }
        /* The entry's own reference to the uid's accounting (taken before
         * the store lock: uid_usage_get takes the server's). */
        e->usage = uid_usage_get(&s->lock, &s->usage, u->uid);
        if (!e->usage) {
                free(e);
                return -ENOMEM;
        }
        snprintf(e->pkg, sizeof(e->pkg), "%s", pkg);
        e->src = src;
        cfg = server_config(s);
        e->deadline = stats_now_usec() + (uint64_t) cfg->export_ttl * 1000000;
        config_unref(cfg);

        pthread_mutex_lock(&store_lock);
        st = store_get(s);
        if (!st) {
                pthread_mutex_unlock(&store_lock);
                uid_usage_put(e->usage);
                free(e);
                return -ENOMEM;
        }
        store_expire(st);
        if (st->n >= 2 * st->n_buckets)
                store_grow(st);
        e->state = *es;
        *es = (ExportState) { 0 };
        store_link(st, e);
        memcpy(ticket, e->ticket, EXPORT_TICKET_LEN);
        pthread_mutex_unlock(&store_lock);
        return 0;
}

int server_export_take(Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       ExportState *ret) {
        ExportStore *st;
        Export *found = NULL;
        int r = -ENOENT;

        if (ticket_len != EXPORT_TICKET_LEN)
                return -ENOENT;
        pthread_mutex_lock(&store_lock);
        st = s->exports;
        if (st) {
                store_expire(st);
                for (Export *e = st->by_ticket[bucket(st, ticket_key(ticket))]; e; e = e->ticket_next) {
                        if (memcmp_const(e->ticket, ticket, EXPORT_TICKET_LEN) != 0 || strcmp(e->pkg, pkg) != 0)
                                continue;
                        if (e->usage->uid != uid) {
                                r = -EPERM;
                                break;
                        }
                        store_unlink(st, e);
                        found = e;
                        r = 0;
                        break;
                }
        }
        pthread_mutex_unlock(&store_lock);
        if (found) {
                *ret = found->state;
                found->state = (ExportState) { 0 };
                export_free(found);
        }
        return r;
}

void server_exports_expire(Server *s) {
        pthread_mutex_lock(&store_lock);
        if (s->exports)
                store_expire(s->exports);
        pthread_mutex_unlock(&store_lock);
}

unsigned server_exports_waiting(Server *s) {
        unsigned n = 0;

        pthread_mutex_lock(&store_lock);
        if (s->exports)
                n = (unsigned) ((ExportStore *) s->exports)->n;
        pthread_mutex_unlock(&store_lock);
        return n;
}

void server_free_exports(Server *s) {
        ExportStore *st;

        pthread_mutex_lock(&store_lock);
        st = TAKE_PTR(s->exports);
        pthread_mutex_unlock(&store_lock);
        if (!st)
                return;
        while (st->oldest) {
                Export *e = st->oldest;

                store_unlink(st, e);
                export_free(e);
        }
        free(st->by_ticket);
        free(st->by_src);
        free(st);
}
