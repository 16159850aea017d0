/* SPDX-License-Identifier: MIT */
/*
 * A replay cache for AP-REQs. Heimdal's GSS acceptor keeps none, so the same
 * AP-REQ would be accepted twice; Windows refuses the second. We remember
 * every AP-REQ that was accepted (only accepted ones: garbage cannot fill
 * the cache) for twice the clock skew: older authenticators are refused by
 * the skew check anyway.
 *
 * What is remembered is what the session key authenticates: a digest of the
 * authenticator's ciphertext, as MIT krb5 does since 1.18. A digest of the
 * whole token would not do: ap-options and every DER/GSS length are outside
 * any checksum, so the same authenticator in a token with one ap-options
 * bit flipped, a length re-encoded in long form or a raw (unframed) AP-REQ
 * would be a "new" token that Heimdal accepts again. The ciphertext cannot
 * be changed without the session key: any change fails decryption.
 *
 * The first token is also refused unless its framing is canonical DER
 * (krb_ap_req_check): there is one way to frame a given AP-REQ, so nothing
 * downstream (audit lines, digests, other caches) can be fooled by a
 * re-framed copy.
 *
 * Bounded memory: a ring of `capacity` entries in insertion order plus a
 * chained hash index. When the ring is full the oldest entry is dropped
 * early (logged once): size it above handshakes/s x 600.
 */
#include <errno.h>
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
        uint8_t digest[KRB_REPLAY_KEY_SIZE];
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

/* Caller holds the lock; capacity > 0. */
static bool lookup(const uint8_t key[KRB_REPLAY_KEY_SIZE], uint64_t now) {
        while (count > 0 && ring[(head + capacity - count) % capacity].deadline <= now)
                drop_oldest();
        for (uint32_t i = buckets[bucket_of(key)]; i != NONE; i = ring[i].next)
                if (!memcmp(ring[i].digest, key, sizeof(ring[i].digest)))
                        return true;
        return false;
}

bool krb_replay_known(const uint8_t key[KRB_REPLAY_KEY_SIZE]) {
        bool seen = false;

        pthread_mutex_lock(&lock);
        if (capacity > 0)
                seen = lookup(key, now_sec());
        pthread_mutex_unlock(&lock);
        return seen;
}

bool krb_replay_seen(const uint8_t key[KRB_REPLAY_KEY_SIZE]) {
        uint64_t now = now_sec();
        bool seen = false;

        pthread_mutex_lock(&lock);
        if (capacity == 0) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        seen = lookup(key, now);
        if (!seen) {
                if (count == capacity) {
                        drop_oldest();
                        if (!warned_full) {
                                warned_full = true;
                                krb_log("replay cache key (%u entries): oldest entries dropped early; raise "
                                        "[kerberos] replay-cache",
                                        capacity);
                        }
                }
                Entry *e = &ring[head];
                memcpy(e->digest, key, sizeof(e->digest));
                e->deadline = now + REPLAY_WINDOW_SEC;
                e->next = buckets[bucket_of(key)];
                buckets[bucket_of(key)] = head;
                head = (head + 1) % capacity;
                count++;
        }
        pthread_mutex_unlock(&lock);
        return seen;
}

/* ---- canonical framing and the replay key ----------------------------- */

/* Deeper than any AP-REQ (about 12 levels) needs; bounds the recursion. */
#define DER_MAX_DEPTH 32

#define DER_CONSTRUCTED 0x20
#define DER_CLASS(id) ((id) & 0xc0)
#define DER_UNIVERSAL 0x00

typedef struct DerTlv {
        uint8_t id;             /* first identifier octet: class, constructed bit */
        uint32_t tag;
        const uint8_t *v;       /* contents */
        size_t vlen;
        size_t total;           /* identifier + length + contents */
} DerTlv;

/*
 * The element at the start of p[0..len) when its header is DER: tag in the
 * shortest form, a definite length in the shortest form, contents inside
 * the buffer. -EBADMSG otherwise (indefinite length, long form where the
 * short form fits, leading zero length octets, truncation).
 */
static int der_head(const uint8_t *p, size_t len, DerTlv *ret) {
        size_t i = 1, l;

        if (len < 2)
                return -EBADMSG;
        ret->id = p[0];
        ret->tag = p[0] & 0x1f;
        if (ret->tag == 0x1f) {
                /* High tag number: base 128, no leading 0x80, >= 31. */
                ret->tag = 0;
                if (p[1] == 0x80)
                        return -EBADMSG;
                do {
                        if (i >= len || i > 4)
                                return -EBADMSG;
                        ret->tag = ret->tag << 7 | (p[i] & 0x7f);
                } while (p[i++] & 0x80);
                if (ret->tag < 0x1f)
                        return -EBADMSG;
        }
        if (i >= len)
                return -EBADMSG;
        l = p[i++];
        if (l == 0x80 || l == 0xff)
                return -EBADMSG; /* indefinite (BER only), reserved */
        if (l > 0x80) {
                size_t n = l & 0x7f;

                if (n > sizeof(uint32_t) || n > len - i || p[i] == 0)
                        return -EBADMSG;
                l = 0;
                for (size_t k = 0; k < n; k++)
                        l = l << 8 | p[i + k];
                i += n;
                if (l < 0x80)
                        return -EBADMSG; /* the short form would do */
        }
        if (l > len - i)
                return -EBADMSG;
        ret->v = p + i;
        ret->vlen = l;
        ret->total = i + l;
        return 0;
}

/* Contents rules DER adds for the universal types an AP-REQ uses. */
static int der_contents_ok(const DerTlv *t) {
        bool constructed = t->id & DER_CONSTRUCTED;

        if (DER_CLASS(t->id) != DER_UNIVERSAL)
                return 0;
        switch (t->tag) {
        case 0: /* end-of-contents: indefinite lengths only */
                return -EBADMSG;
        case 16: /* SEQUENCE, SET */
        case 17:
                return constructed ? 0 : -EBADMSG;
        case 2: /* INTEGER: at least one octet, no redundant sign octet */
                if (constructed || t->vlen == 0)
                        return -EBADMSG;
                if (t->vlen > 1 && ((t->v[0] == 0x00 && !(t->v[1] & 0x80)) || (t->v[0] == 0xff && (t->v[1] & 0x80))))
                        return -EBADMSG;
                return 0;
        case 3: /* BIT STRING: 0..7 unused bits, none when empty */
                if (constructed || t->vlen == 0 || t->v[0] > 7 || (t->vlen == 1 && t->v[0] != 0))
                        return -EBADMSG;
                return 0;
        default:
                /* Strings and times are primitive in DER. */
                return constructed ? -EBADMSG : 0;
        }
}

static int der_walk(const uint8_t *p, size_t len, unsigned depth) {
        while (len > 0) {
                DerTlv t;
                int r;

                if (depth >= DER_MAX_DEPTH)
                        return -EBADMSG;
                r = der_head(p, len, &t);
                if (r < 0)
                        return r;
                r = der_contents_ok(&t);
                if (r < 0)
                        return r;
                if (t.id & DER_CONSTRUCTED) {
                        /* The children fill the contents exactly. */
                        r = der_walk(t.v, t.vlen, depth + 1);
                        if (r < 0)
                                return r;
                }
                p += t.total;
                len -= t.total;
        }
        return 0;
}

int krb_der_canonical(const uint8_t *p, size_t len) {
        DerTlv t;
        int r;

        r = der_head(p, len, &t);
        if (r < 0)
                return r;
        if (t.total != len)
                return -EBADMSG; /* trailing bytes */
        return der_walk(p, len, 0);
}

/* The child of a constructed element with the given first identifier
 * octet; contents already walked. */
static int der_child(const DerTlv *parent, uint8_t id, DerTlv *ret) {
        const uint8_t *p = parent->v;
        size_t len = parent->vlen;

        while (len > 0) {
                if (der_head(p, len, ret) < 0)
                        return -EBADMSG;
                if (ret->id == id)
                        return 0;
                p += ret->total;
                len -= ret->total;
        }
        return -EBADMSG;
}

#define TAG_AP_REQ 0x6e         /* [APPLICATION 14], constructed */
#define TAG_GSS 0x60            /* [APPLICATION 0], constructed (RFC 2743 §3.1) */
#define TAG_OID 0x06

/* SHA-256, fetched once (EVP_sha256() fetches by name on every digest). */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int krb_ap_req_check(const void *token, size_t len, uint8_t ret_key[KRB_REPLAY_KEY_SIZE]) {
        const uint8_t *p = token, *ap;
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        DerTlv t, oid, seq, auth, enc, cipher, os;
        size_t ap_len;

        if (!p || len < 2)
                return -EBADMSG;
        if (p[0] == TAG_GSS) {
                /* 60 len { 06 len OID, TOK_ID 01 00, AP-REQ }: the outer
                 * length covers exactly the rest of the token. */
                if (der_head(p, len, &t) < 0 || t.total != len)
                        return -EBADMSG;
                if (der_head(t.v, t.vlen, &oid) < 0 || oid.id != TAG_OID || oid.vlen == 0)
                        return -EBADMSG;
                if (t.vlen - oid.total < 2 || memcmp(t.v + oid.total, "\x01\x00", 2) != 0)
                        return -EBADMSG;
                ap = t.v + oid.total + 2;
                ap_len = t.vlen - oid.total - 2;
        } else {
                /* A raw AP-REQ: DCE style, or an initiator that omits the
                 * framing (Heimdal's acceptor takes both). */
                ap = p;
                ap_len = len;
        }
        if (ap_len == 0 || ap[0] != TAG_AP_REQ || krb_der_canonical(ap, ap_len) < 0)
                return -EBADMSG;

        /* AP-REQ ::= [APPLICATION 14] SEQUENCE { ..., authenticator [4]
         * EncryptedData }; EncryptedData ::= SEQUENCE { etype [0], kvno [1]
         * OPTIONAL, cipher [2] OCTET STRING }. */
        if (der_head(ap, ap_len, &t) < 0 || der_child(&t, 0x30, &seq) < 0 || der_child(&seq, 0xa4, &auth) < 0 ||
            der_child(&auth, 0x30, &enc) < 0 || der_child(&enc, 0xa2, &cipher) < 0 ||
            der_child(&cipher, 0x04, &os) < 0 || os.vlen == 0)
                return -EBADMSG;
        pthread_once(&sha256_once, sha256_fetch);
        if (!sha256 || !EVP_Digest(os.v, os.vlen, md, &mdlen, sha256, NULL) || mdlen < KRB_REPLAY_KEY_SIZE)
                return -ENOMEM;
        memcpy(ret_key, md, KRB_REPLAY_KEY_SIZE);
        return 0;
}
