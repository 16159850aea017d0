/* SPDX-License-Identifier: MIT */
/*
 * A replay cache for AP-REQs. Heimdal's GSS acceptor keeps none, so the same
 * AP-REQ would be accepted twice; Windows refuses the second. We remember a
 * digest of every AP-REQ that was accepted (only accepted ones: garbage
 * cannot fill the cache) for twice the clock skew: older authenticators are
 * refused by the skew check anyway.
 *
 * Bounded memory: a ring of `capacity` entries in insertion order plus a
 * chained hash index. When the ring is full the oldest entry is dropped
 * early (logged once): size it above handshakes/s x 600.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "packages/kerberos/kerberos.h"

#define REPLAY_WINDOW_SEC 600
#define NONE UINT32_MAX

typedef struct Entry {
        uint8_t digest[16];
        uint64_t deadline;      /* CLOCK_MONOTONIC seconds */
        uint32_t next;          /* in its bucket */
} Entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Entry *ring;
static uint32_t *buckets;
static uint32_t capacity, head, count, n_buckets;
static bool warned_full;

static uint64_t now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

static uint32_t bucket_of(const uint8_t *d) {
        uint32_t h;
        memcpy(&h, d, sizeof(h));
        return h & (n_buckets - 1);
}

int krb_replay_setup(unsigned cap) {
        uint32_t nb = 1;

        pthread_mutex_lock(&lock);
        if (cap == capacity) {
                pthread_mutex_unlock(&lock);
                return 0;
        }
        free(ring);
        free(buckets);
        ring = NULL;
        buckets = NULL;
        capacity = head = count = n_buckets = 0;
        if (cap > 0) {
                while (nb < cap)
                        nb <<= 1;
                ring = calloc(cap, sizeof(Entry));
                buckets = malloc(nb * sizeof(uint32_t));
                if (!ring || !buckets) {
                        free(ring);
                        free(buckets);
                        ring = NULL;
                        buckets = NULL;
                        pthread_mutex_unlock(&lock);
                        return -1;
                }
                memset(buckets, 0xff, nb * sizeof(uint32_t));
                capacity = cap;
                n_buckets = nb;
        }
        pthread_mutex_unlock(&lock);
        return 0;
}

/* Drop the oldest entry. Caller holds the lock; count > 0. */
static void drop_oldest(void) {
        uint32_t tail = (head + capacity - count) % capacity;
        uint32_t *p = &buckets[bucket_of(ring[tail].digest)];

        while (*p != NONE && *p != tail)
                p = &ring[*p].next;
        if (*p == tail)
                *p = ring[tail].next;
        count--;
}

bool krb_replay_seen(const void *token, size_t len) {
        uint8_t full[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        uint64_t now = now_sec();
        bool seen = false;

        if (!EVP_Digest(token, len, full, &dlen, EVP_sha256(), NULL))
                return false; /* cannot tell: do not refuse a good login */
        pthread_mutex_lock(&lock);
        if (capacity == 0) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        while (count > 0 && ring[(head + capacity - count) % capacity].deadline <= now)
                drop_oldest();
        for (uint32_t i = buckets[bucket_of(full)]; i != NONE; i = ring[i].next)
                if (!memcmp(ring[i].digest, full, sizeof(ring[i].digest))) {
                        seen = true;
                        break;
                }
        if (!seen) {
                if (count == capacity) {
                        drop_oldest();
                        if (!warned_full) {
                                warned_full = true;
                                krb_log("replay cache full (%u entries): oldest entries dropped early; raise "
                                        "[kerberos] replay-cache",
                                        capacity);
                        }
                }
                Entry *e = &ring[head];
                memcpy(e->digest, full, sizeof(e->digest));
                e->deadline = now + REPLAY_WINDOW_SEC;
                e->next = buckets[bucket_of(full)];
                buckets[bucket_of(full)] = head;
                head = (head + 1) % capacity;
                count++;
        }
        pthread_mutex_unlock(&lock);
        return seen;
}
