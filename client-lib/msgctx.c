/* SPDX-License-Identifier: MIT */
/*
 * The table of message contexts this process holds keys for (msgctx.h).
 * One lock covers the table and the message calls on it: a call is a few
 * microseconds of symmetric crypto, and one lock makes DeleteSecurityContext
 * racing a message call on another thread safe (the wipe waits for it).
 *
 * Key memory is an arena of slots in mmap()ed chunks marked MADV_DONTDUMP
 * and MADV_WIPEONFORK: a context takes a slot when its keys arrive and
 * gives it back wiped on DeleteSecurityContext. Chunks are never unmapped
 * while the process runs: a page per context cost an mmap, two madvise and
 * an munmap (with its TLB shootdown) on every handshake (issue 14).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "msgctx.h"

#define BUCKETS 256

typedef struct MsgCtx {
        uint64_t lower, upper;
        pid_t pid;
        uint64_t epoch; /* the daemon connection it came over */
        struct MsgCtx *next;
        uint32_t mech;
        bool busy; /* Schannel: a call handed to the daemon is under way */
        union {
                NtlmMsgState ntlm;
                KrbMsgState krb;
                TlsMsgState tls;
        };
} MsgCtx;

/*
 * Key bytes pass through vector registers (memcpy, the HMAC pads, the
 * decoded reply that brought them), where they stay until overwritten; a
 * spill of the register file (the dynamic linker's lazy binding saves it
 * on the stack with XSAVE, a signal frame too) would then copy them to
 * memory that nobody wipes, and DeleteSecurityContext could not reach
 * that copy. So every call that touched keys clears the vector registers
 * on its way out: a few cycles.
 */
#if defined(__x86_64__)
#define XMM_LIST(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", p "8", p "9", p "10", p "11", p "12", \
                    p "13", p "14", p "15"
__attribute__((noinline, target("avx512f"))) static void clear_avx512(void) {
        __asm__ volatile("vzeroall\n\t"
                         "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                         "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                         "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                         "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                         "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                         "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                         "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                         "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31"
                         :
                         :
                         : XMM_LIST("xmm"), "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
                           "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

__attribute__((noinline, target("avx"))) static void clear_avx(void) {
        __asm__ volatile("vzeroall" : : : XMM_LIST("xmm"));
}

__attribute__((noinline)) static void clear_sse(void) {
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                         "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                         "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                         "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                         "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"
                         "pxor %%xmm15, %%xmm15"
                         :
                         :
                         : XMM_LIST("xmm"));
}

static void (*clear_vector_registers)(void) = clear_sse;

static void clear_vector_setup(void) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
                clear_vector_registers = clear_avx512;
        else if (__builtin_cpu_supports("avx"))
                clear_vector_registers = clear_avx;
}
#else
/* Elsewhere: the compiler's own copies only (best effort). */
static void clear_vector_registers(void) {
}

static void clear_vector_setup(void) {
}
#endif

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER; /* a busy context became free */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static MsgCtx *table[BUCKETS];
static uint64_t epoch;

/* The arena: chunks of SLOTS_PER_CHUNK slots; the free list is kept
 * outside them (a child's chunks are zeroed by MADV_WIPEONFORK). Under
 * `lock`. */
#define SLOTS_PER_CHUNK 64
#define MAX_CHUNKS 1024
static size_t slot_size;
static uint8_t *chunks[MAX_CHUNKS];
static size_t n_chunks;
static MsgCtx **free_slots; /* a stack of free slots */
static size_t n_free, free_cap;

void msgctx_connection_changed(void) {
        __atomic_add_fetch(&epoch, 1, __ATOMIC_SEQ_CST);
}

static MsgCtx **bucket(uint64_t lower, uint64_t upper) {
        return &table[(upper ^ (upper >> 17) ^ lower) % BUCKETS];
}

/* Every slot of every chunk free again (setup, a forked child). */
static void slots_reset(void) {
        n_free = 0;
        for (size_t k = 0; k < n_chunks; k++)
                for (size_t i = 0; i < SLOTS_PER_CHUNK; i++)
                        free_slots[n_free++] = (MsgCtx *) (chunks[k] + i * slot_size);
}

/* A new chunk of slots, out of core dumps and zeroed in a child. */
static bool chunk_add(void) {
        size_t len = SLOTS_PER_CHUNK * slot_size, cap = (n_chunks + 1) * SLOTS_PER_CHUNK;
        MsgCtx **grown;
        void *p;

        if (n_chunks == MAX_CHUNKS)
                return false;
        if (cap > free_cap) {
                grown = realloc(free_slots, cap * sizeof(*free_slots));
                if (!grown)
                        return false;
                free_slots = grown;
                free_cap = cap;
        }
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return false;
        /* Both are best effort: without them the keys are still wiped on
         * delete, at exit and in a child. */
        (void) madvise(p, len, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
        (void) madvise(p, len, MADV_WIPEONFORK);
#endif
        chunks[n_chunks++] = p;
        for (size_t i = SLOTS_PER_CHUNK; i > 0; i--)
                free_slots[n_free++] = (MsgCtx *) ((uint8_t *) p + (i - 1) * slot_size);
        return true;
}

/* A zeroed slot for a context's keys, NULL when none can be had (the
 * context then stays on the daemon path). Under `lock`. */
static MsgCtx *ctx_alloc(void) {
        if (n_free == 0 && !chunk_add())
                return NULL;
        return free_slots[--n_free];
}

/* Wipe a slot and give it back. Under `lock`. */
static void ctx_wipe(MsgCtx *c) {
        explicit_bzero(c, slot_size);
        free_slots[n_free++] = c;
}

/* Forget every context and wipe every slot (at exit, in a forked child). */
static void wipe_all(void) {
        for (size_t i = 0; i < BUCKETS; i++)
                table[i] = NULL;
        for (size_t k = 0; k < n_chunks; k++)
                explicit_bzero(chunks[k], SLOTS_PER_CHUNK * slot_size);
        slots_reset();
}

static void atfork_prepare(void) {
        pthread_mutex_lock(&lock);
}

static void atfork_parent(void) {
        pthread_mutex_unlock(&lock);
}

/* The child's handles are invalid (its calls go to a new connection that
 * does not know them): its copies of the keys go, and with them every
 * slot (MADV_WIPEONFORK zeroed the chunks already where it exists). */
static void atfork_child(void) {
        wipe_all();
        pthread_mutex_init(&lock, NULL);
        pthread_cond_init(&idle, NULL);
}

static void setup(void) {
        /* Slots on cache lines of their own. */
        slot_size = (sizeof(MsgCtx) + 63) / 64 * 64;
        clear_vector_setup();
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

static bool take_ntlm(NtlmMsgState *n, const Sspiw__MsgKeys *k) {
        if (k->send_sign.len != 16 || k->recv_sign.len != 16 || !ntlm_msg_usable())
                return false;
        n->flags = k->flags;
        memcpy(n->send_sign, k->send_sign.data, 16);
        memcpy(n->recv_sign, k->recv_sign.data, 16);
        n->send_seq = k->send_seq;
        n->recv_seq = k->recv_seq;
        return take_rc4(&n->send_rc4, &k->send_rc4) && take_rc4(&n->recv_rc4, &k->recv_rc4);
}

/* Kerberos (proto/sspi.proto MsgKeys, mech 2): four keys per direction
 * in send_sign/recv_sign, the receive window in the new fields. */
static void take_keys(KrbMsgKeys *out, const uint8_t *p, size_t n) {
        memcpy(out->ke, p, n);
        memcpy(out->ki, p + n, n);
        memcpy(out->kc_seal, p + 2 * n, n);
        memcpy(out->kc_sign, p + 3 * n, n);
}

static bool take_krb(KrbMsgState *c, const Sspiw__MsgKeys *k) {
        size_t n;

        /* aes128 (17) and aes256 (18) -cts-hmac-sha1-96, RFC 4121 only. */
        if (!k->has_enctype || (k->enctype != 17 && k->enctype != 18) || !k->has_order_flags ||
            !k->has_window_len || k->window_len > KRB_MSG_WINDOW || k->n_window != KRB_MSG_WINDOW ||
            (k->flags & ~(uint32_t) 0x05) || !krb_msg_usable())
                return false;
        n = k->enctype == 17 ? 16 : 32;
        if (k->send_sign.len != 4 * n || k->recv_sign.len != 4 * n)
                return false;
        c->key_len = (uint32_t) n;
        c->flags = (uint8_t) k->flags;
        take_keys(&c->send, k->send_sign.data, n);
        take_keys(&c->recv, k->recv_sign.data, n);
        c->send_seq = k->send_seq;
        c->first_seq = k->recv_seq;
        c->order_flags = k->order_flags;
        c->length = k->window_len;
        memcpy(c->elem, k->window, sizeof(c->elem));
        return true;
}

/* Schannel (mech 3): record keys and IVs per direction, 64-bit numbers. */
static bool take_tls(TlsMsgState *c, const Sspiw__MsgKeys *k) {
        size_t n;

        if (!k->has_tls_version || !k->has_tls_cipher || !k->has_send_seq64 || !k->has_recv_seq64 ||
            k->tls_version > 0xffff || k->tls_cipher > 0xff)
                return false;
        n = k->tls_cipher == TLSREC_AES128_GCM ? 16 : 32;
        if (k->send_sign.len != n + 12 || k->recv_sign.len != n + 12)
                return false;
        c->send = c->recv = (TlsRecKeys) { .version = (uint16_t) k->tls_version,
                                           .cipher = (uint8_t) k->tls_cipher,
                                           .key_len = (uint8_t) n };
        memcpy(c->send.key, k->send_sign.data, n);
        memcpy(c->send.iv, k->send_sign.data + n, 12);
        memcpy(c->recv.key, k->recv_sign.data, n);
        memcpy(c->recv.iv, k->recv_sign.data + n, 12);
        c->send_seq = k->send_seq64;
        c->recv_seq = k->recv_seq64;
        return tlsrec_valid(&c->send);
}

static bool tls_paused(const Sspiw__MsgKeys *k) {
        return k->mech == 3 && k->has_paused && k->paused;
}

void msgctx_install(const SecHandle *h, const Sspiw__MsgKeys *k) {
        MsgCtx *c, **prev;
        bool ok;

        pthread_once(&once, setup);
        /* A Schannel context the library is to hold nothing for now. */
        if (tls_paused(k)) {
                msgctx_forget(h);
                return;
        }
        /* Only what this library implements, in the sizes it expects. */
        if (k->mech != 1 && k->mech != 2 && k->mech != 3)
                return;
        pthread_mutex_lock(&lock);
        c = ctx_alloc();
        pthread_mutex_unlock(&lock);
        if (!c)
                return; /* the daemon path: slower, not wrong */
        c->lower = h->dwLower;
        c->upper = h->dwUpper;
        c->pid = client_pid();
        c->epoch = __atomic_load_n(&epoch, __ATOMIC_SEQ_CST);
        c->mech = k->mech;
        ok = k->mech == 1 ? take_ntlm(&c->ntlm, k) : k->mech == 2 ? take_krb(&c->krb, k) : take_tls(&c->tls, k);
        clear_vector_registers();
        pthread_mutex_lock(&lock);
        if (!ok) {
                ctx_wipe(c);
                pthread_mutex_unlock(&lock);
                return;
        }
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
        if (!c || c->pid != client_pid() || c->epoch != __atomic_load_n(&epoch, __ATOMIC_SEQ_CST)) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        sspiw__msg_keys__init(&ret->m);
        ret->m.mech = c->mech;
        if (c->mech == 3) {
                /* Schannel: its record numbers only. */
                ret->m.has_send_seq64 = ret->m.has_recv_seq64 = true;
                ret->m.send_seq64 = c->tls.send_seq;
                ret->m.recv_seq64 = c->tls.recv_seq;
                pthread_mutex_unlock(&lock);
                return true;
        }
        if (c->mech == 2) {
                /* Kerberos: sequence state only; the daemon has the keys. */
                ret->m.flags = c->krb.flags;
                ret->m.send_seq = c->krb.send_seq;
                ret->m.recv_seq = c->krb.first_seq;
                ret->m.has_order_flags = ret->m.has_window_len = true;
                ret->m.order_flags = c->krb.order_flags;
                ret->m.window_len = c->krb.length;
                memcpy(ret->window, c->krb.elem, sizeof(c->krb.elem));
                pthread_mutex_unlock(&lock);
                ret->m.n_window = KRB_MSG_WINDOW;
                ret->m.window = ret->window;
                return true;
        }
        ret->m.flags = c->ntlm.flags;
        memcpy(ret->send_sign, c->ntlm.send_sign, 16);
        memcpy(ret->recv_sign, c->ntlm.recv_sign, 16);
        rc4_out(&c->ntlm.send_rc4, ret->send_rc4);
        rc4_out(&c->ntlm.recv_rc4, ret->recv_rc4);
        ret->m.send_seq = c->ntlm.send_seq;
        ret->m.recv_seq = c->ntlm.recv_seq;
        clear_vector_registers();
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
        pthread_cond_broadcast(&idle);
        pthread_mutex_unlock(&lock);
}

/* This process's live state for h, waiting while a Schannel call on it
 * is with the daemon. Under `lock`. */
static MsgCtx *lookup_idle(const SecHandle *h) {
        MsgCtx *c;

        for (;;) {
                c = lookup(h->dwLower, h->dwUpper, NULL);
                if (!c || c->pid != client_pid() || c->epoch != __atomic_load_n(&epoch, __ATOMIC_SEQ_CST))
                        return NULL;
                if (!c->busy)
                        return c;
                pthread_cond_wait(&idle, &lock);
        }
}

/* Mark c busy and put its record numbers in ho. Under `lock`. */
static void handoff_start(MsgCtx *c, const SecHandle *h, MsgHandoff *ho) {
        c->busy = true;
        ho->active = true;
        ho->h = *h;
        sspiw__msg_keys__init(&ho->m);
        ho->m.mech = 3;
        ho->m.has_send_seq64 = ho->m.has_recv_seq64 = true;
        ho->m.send_seq64 = c->tls.send_seq;
        ho->m.recv_seq64 = c->tls.recv_seq;
}

bool msgctx_message(MsgOp op, const SecHandle *h, uint32_t qop, SecBufferDesc *d, ULONG *pfQOP,
                    SECURITY_STATUS *ret, MsgHandoff *ho) {
        MsgCtx *c;

        ho->active = false;
        ho->h = *h;
        pthread_once(&once, setup);
        pthread_mutex_lock(&lock);
        c = lookup_idle(h);
        if (!c) {
                pthread_mutex_unlock(&lock);
                return false;
        }
        switch (c->mech) {
        case 1:
                *ret = ntlm_msg(&c->ntlm, op, qop, d, pfQOP);
                break;
        case 2:
                *ret = krb_msg(&c->krb, op, qop, d, pfQOP);
                break;
        default:
                *ret = tls_msg(&c->tls, op, d);
                if (*ret == TLS_HANDOFF) {
                        handoff_start(c, h, ho);
                        clear_vector_registers();
                        pthread_mutex_unlock(&lock);
                        return false;
                }
                break;
        }
        clear_vector_registers();
        pthread_mutex_unlock(&lock);
        return true;
}

void msgctx_handoff_begin(const SecHandle *h, MsgHandoff *ho) {
        MsgCtx *c;

        ho->active = false;
        ho->h = *h;
        pthread_once(&once, setup);
        pthread_mutex_lock(&lock);
        c = lookup_idle(h);
        if (c && c->mech == 3)
                handoff_start(c, h, ho);
        pthread_mutex_unlock(&lock);
}

void msgctx_handoff_done(MsgHandoff *ho, const Sspiw__MsgKeys *k) {
        MsgCtx *c, **prev;
        TlsMsgState next;
        bool ok;

        if (!ho->active) {
                if (k && k->mech == 3)
                        msgctx_install(&ho->h, k);
                return;
        }
        ho->active = false;
        ok = k && k->mech == 3 && !tls_paused(k) && take_tls(&next, k);
        pthread_mutex_lock(&lock);
        c = lookup(ho->h.dwLower, ho->h.dwUpper, &prev);
        if (c && c->busy) {
                c->busy = false;
                if (ok)
                        c->tls = next;
                else {
                        /* No state, or one to drop: the daemon answers. */
                        *prev = c->next;
                        ctx_wipe(c);
                }
        }
        explicit_bzero(&next, sizeof(next));
        clear_vector_registers();
        pthread_cond_broadcast(&idle);
        pthread_mutex_unlock(&lock);
}
