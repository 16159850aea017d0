/* SPDX-License-Identifier: MIT */
/*
 * The table of message contexts this process holds keys for (msgctx.h).
 * One lock covers the table and the message calls on it: a call is a few
 * microseconds of symmetric crypto, and one lock makes DeleteSecurityContext
 * racing a message call on another thread safe (the wipe waits for it).
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msgctx.h"

#define BUCKETS 256

typedef struct MsgCtx {
        uint64_t lower, upper;
        pid_t pid;
        uint64_t epoch; /* the daemon connection it came over */
        struct MsgCtx *next;
        uint32_t mech;
        NtlmMsgState ntlm;
} MsgCtx;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static MsgCtx *table[BUCKETS];
static size_t page_size;
static uint64_t epoch;

void msgctx_connection_changed(void) {
        __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
}

static MsgCtx **bucket(uint64_t lower, uint64_t upper) {
        return &table[(upper ^ (upper >> 17) ^ lower) % BUCKETS];
}

/* Key memory: a page of its own, out of core dumps and zeroed in a child. */
static MsgCtx *ctx_alloc(void) {
        void *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return NULL;
        /* Both are best effort: without them the keys are still wiped on
         * delete, at exit and in a child. */
        (void) madvise(p, page_size, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
        (void) madvise(p, page_size, MADV_WIPEONFORK);
#endif
        return p;
}

static void ctx_wipe(MsgCtx *c) {
        explicit_bzero(c, page_size);
        (void) munmap(c, page_size);
}

static void wipe_all(void) {
        for (size_t i = 0; i < BUCKETS; i++) {
                MsgCtx *c = table[i];
                table[i] = NULL;
                while (c) {
                        /* Read next before the page goes (zero after a fork
                         * with MADV_WIPEONFORK: the rest of the chain is then
                         * unreachable, and only its mappings remain, zeroed). */
                        MsgCtx *next = c->next;
                        ctx_wipe(c);
                        c = next;
                }
        }
}

static void atfork_prepare(void) {
        pthread_mutex_lock(&lock);
}

static void atfork_parent(void) {
        pthread_mutex_unlock(&lock);
}

/* The child's handles are invalid (its calls go to a new connection that
 * does not know them): its copies of the keys go. */
static void atfork_child(void) {
        wipe_all();
        pthread_mutex_init(&lock, NULL);
}

static void setup(void) {
        long ps = sysconf(_SC_PAGESIZE);

        page_size = ps > 0 ? (size_t) ps : 4096;
        if (page_size < sizeof(MsgCtx))
                page_size = (sizeof(MsgCtx) + 4095) / 4096 * 4096;
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

__attribute__((destructor)) static void msgctx_exit(void) {
        pthread_mutex_lock(&lock);
        wipe_all();
        pthread_mutex_unlock(&lock);
}

static MsgCtx *lookup(uint64_t lower, uint64_t upper, MsgCtx ***ret_prev) {
        for (MsgCtx **p = bucket(lower, upper); *p; p = &(*p)->next)
                if ((*p)->lower == lower && (*p)->upper == upper) {
                        if (ret_prev)
                                *ret_prev = p;
                        return *p;
                }
        return NULL;
}

static bool take_rc4(NtlmRc4State *r, const ProtobufCBinaryData *b) {
        if (b->len != 258)
                return false;
        memcpy(r->s, b->data, 256);
        r->i = b->data[256];
        r->j = b->data[257];
        return true;
}

void msgctx_install(const SecHandle *h, const Sspiw__MsgKeys *k) {
        MsgCtx *c, **prev;

        pthread_once(&once, setup);
        /* Only what this library implements, in the sizes it expects. */
        if (k->mech != 1 || k->send_sign.len != 16 || k->recv_sign.len != 16 || !ntlm_msg_usable())
                return;
        c = ctx_alloc();
        if (!c)
                return; /* the daemon path: slower, not wrong */
        c->lower = h->dwLower;
        c->upper = h->dwUpper;
        c->pid = getpid();
        c->epoch = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
        c->mech = k->mech;
        c->ntlm.flags = k->flags;
        memcpy(c->ntlm.send_sign, k->send_sign.data, 16);
        memcpy(c->ntlm.recv_sign, k->recv_sign.data, 16);
        c->ntlm.send_seq = k->send_seq;
        c->ntlm.recv_seq = k->recv_seq;
        if (!take_rc4(&c->ntlm.send_rc4, &k->send_rc4) || !take_rc4(&c->ntlm.recv_rc4, &k->recv_rc4)) {
                ctx_wipe(c);
                return;
        }
        pthread_mutex_lock(&lock);
        /* The daemon hands keys over once per context; a handle seen again
         * (reused after a delete we missed) gets the new state. */
        if (lookup(c->lower, c->upper, &prev)) {
                MsgCtx *old = *prev;
                *prev = old->next;
                ctx_wipe(old);
        }
        prev = bucket(c->lower, c->upper);
        c->next = *prev;
        *prev = c;
        pthread_mutex_unlock(&lock);
}

static void rc4_out(const NtlmRc4State *r, uint8_t out[258]) {
        memcpy(out, r->s, 256);
        out[256] = r->i;
        out[257] = r->j;
}

bool msgctx_snapshot(const SecHandle *h, MsgSnapshot *ret) {
        MsgCtx *c;

        pthread_once(&once, setup);
        pthread_mutex_lock(&lock);
        c = lookup(h->dwLower, h->dwUpper, NULL);
        if (!c || c->pid != getpid() || c->epoch != __atomic_load_n(&epoch, __ATOMIC_SEQ_CST)) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        sspiw__msg_keys__init(&ret->m);
        ret->m.mech = c->mech;
        ret->m.flags = c->ntlm.flags;
        memcpy(ret->send_sign, c->ntlm.send_sign, 16);
        memcpy(ret->recv_sign, c->ntlm.recv_sign, 16);
        rc4_out(&c->ntlm.send_rc4, ret->send_rc4);
        rc4_out(&c->ntlm.recv_rc4, ret->recv_rc4);
        ret->m.send_seq = c->ntlm.send_seq;
        ret->m.recv_seq = c->ntlm.recv_seq;
        pthread_mutex_unlock(&lock);
        ret->m.send_sign = (ProtobufCBinaryData) { 16, ret->send_sign };
        ret->m.recv_sign = (ProtobufCBinaryData) { 16, ret->recv_sign };
        ret->m.send_rc4 = (ProtobufCBinaryData) { 258, ret->send_rc4 };
        ret->m.recv_rc4 = (ProtobufCBinaryData) { 258, ret->recv_rc4 };
        return true;
}

void msgctx_forget(const SecHandle *h) {
        MsgCtx *c, **prev;

        pthread_once(&once, setup);
        pthread_mutex_lock(&lock);
        c = lookup(h->dwLower, h->dwUpper, &prev);
        if (c) {
                *prev = c->next;
                ctx_wipe(c);
        }
        pthread_mutex_unlock(&lock);
}

bool msgctx_message(MsgOp op, const SecHandle *h, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP,
                    SECURITY_STATUS *ret) {
        MsgCtx *c;

        pthread_once(&once, setup);
        pthread_mutex_lock(&lock);
        c = lookup(h->dwLower, h->dwUpper, NULL);
        if (!c || c->pid != getpid() || c->epoch != __atomic_load_n(&epoch, __ATOMIC_SEQ_CST)) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        *ret = ntlm_msg(&c->ntlm, op, qop, d, pfQOP);
        pthread_mutex_unlock(&lock);
        return true;
}
