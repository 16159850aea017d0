/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Digest package's own types and limits, shared by its files:
 * digest-provider.c (user stores, nonces, the provider table),
 * digest-credential.c, digest-context.c (digest-parse.c needs only
 * digest.h). Never included outside daemon/packages/digest/.
 */

#include "packages/digest/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "policy/config.h"
#include "util/log.h"
#include "util/util.h"

#define ASC_REQ_STALE 0x20000000U /* Digest sample headers; not in the SDK */

#define MAX_USER 256
#define MAX_STORE_USERS 100000
#define NONCE_ID_LEN 12
#define NONCE_MAC_LEN 12
#define NONCE_RAW_LEN (8 + NONCE_ID_LEN + NONCE_MAC_LEN)
#define NONCE_HEX_LEN (2 * NONCE_RAW_LEN)
#define NC_WINDOW 64

typedef struct StoreUser {
        char *name;
        uint8_t key[32];                                   /* SHA-256(name): lookup without early exit */
        char ha1[N_DIGEST_ALGS][DIGEST_HEX_MAX + 1];       /* "" when the file has none */
        char userhash[N_DIGEST_ALGS][DIGEST_HEX_MAX + 1];  /* H(name:realm) */
} StoreUser;

typedef struct NonceSlot {
        uint8_t id[NONCE_ID_LEN];
        bool used;
        uint32_t max_nc;
        uint64_t seen; /* bit i: nonce count max_nc - i was accepted */
        uint64_t issued; /* Unix seconds */
} NonceSlot;

/* The nonces one store has issued and remembers ([digest-store]
 * nonce-cache slots): challenges for one store evict only its own. Shared
 * by the store's generations across reloads (same name and size), so that a
 * reload forgets nothing. Slots are guarded by digest-provider.c's g_lock. */
typedef struct NonceTable {
        unsigned refcount;
        size_t n;
        NonceSlot slots[];
} NonceTable;

typedef struct Store {
        unsigned refcount;
        NonceTable *nonces;
        char *name;
        char *realm;
        DigestAlg alg;
        bool sess;
        bool userhash;
        char opaque[33];
        StoreUser *users;
        size_t n_users;
        StoreUser dummy; /* random HA1s: unknown users cost what known ones do */
} Store;
typedef enum NonceCheck {
        NONCE_BAD,   /* not ours */
        NONCE_STALE, /* ours, but expired or forgotten */
        NONCE_FRESH,
} NonceCheck;
typedef struct DigestCred {
        pthread_mutex_t lock;
        uint32_t use;
        Store *store;   /* inbound */
        char *user;     /* outbound */
        char *realm;    /* realm the HA1s below belong to, NULL until known */
        uint8_t *password;
        size_t password_len;
        bool have_ha1;
        bool md5_allowed;
        char ha1[N_DIGEST_ALGS][DIGEST_HEX_MAX + 1];
} DigestCred;
typedef struct DigestRc4 {
        uint8_t s[256];
        uint8_t i, j;
} DigestRc4;
typedef struct DigestCtx {
        bool server;
        bool done;
        bool challenged;
        Store *store;                   /* server */
        char *user;                     /* authenticated (server) or own (client) user */
        char *realm;
        char *nonce;
        char *opaque;
        DigestAlg alg;
        bool sess;
        bool auth_int;
        bool userhash;
        uint32_t nc;
        char ha1[DIGEST_HEX_MAX + 1];   /* client: of alg, for this realm */
        /* client: what the last response hashed, to check rspauth */
        char last_cnonce[33];
        char last_nc[9];
        char last_body[DIGEST_HEX_MAX + 1];
        char *last_uri;
        int64_t start;
        uint32_t flags;
        /* SEC_I_COMPLETE_NEEDED: client, the token with a placeholder
         * response at pending_off; server, the step's input buffers */
        char *pending_token;
        size_t pending_len, pending_off;
        char *pending_method;
        PkgBuffer *pending_in;
        /* SASL mode (RFC 2831): no ISC_REQ_HTTP / ASC_REQ_HTTP */
        bool sasl;
        uint8_t layer;                  /* SASL_LAYER_* once done */
        char *digest_uri;               /* client: the target; server: what the client hashed */
        char rspauth[33];               /* client: the rspauth it expects */
        uint8_t ha1_sess[16];           /* H(A1) of RFC 2831 §2.1.2.1 */
        uint8_t ki_send[16], ki_recv[16];
        uint32_t seq_send, seq_recv;
        bool rc4;                       /* auth-conf: cipher=rc4, else 3des */
        EVP_CIPHER_CTX *enc, *dec;      /* 3des: 3DES-CBC, chained across messages */
        DigestRc4 rc4_send, rc4_recv;   /* rc4: one stream per direction */
} DigestCtx;


/* Shared between the package's files (static before the split). */
extern bool digest_g_md5;
Store *digest_store_ref(Store *s);
void digest_store_unref(Store *s);
void digest_hex_encode(const uint8_t *b, size_t n, char *out);
int digest_hex_val(char c);
bool digest_is_hex_str(const char *s, size_t len);
int digest_name_key(const char *name, size_t len, uint8_t key[32]);
Store *digest_store_find(const char *name);
int digest_nonce_new(const Store *s, char out[NONCE_HEX_LEN + 1]);
NonceCheck digest_nonce_check(const Store *s, const char *nonce, size_t len, uint8_t raw[NONCE_RAW_LEN]);
bool digest_nonce_count_take(const Store *s, const uint8_t raw[NONCE_RAW_LEN], uint32_t nc);
void digest_cred_free(void *p);
SECURITY_STATUS digest_cred_compute_ha1(DigestCred *c, const char *realm);
SECURITY_STATUS digest_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry);
SECURITY_STATUS digest_cred_name(void *p, char **ret_name);
bool digest_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept);
void digest_ctx_free(void *p);
SECURITY_STATUS digest_export_live(void *ctx, bool keep_old, void **ret_live, bool *ctx_consumed);
SECURITY_STATUS digest_init_ctx(PkgStep *s);
SECURITY_STATUS digest_accept_ctx(PkgStep *s);
SECURITY_STATUS digest_complete(void *ctx, PkgBuffer *b, size_t n);
void digest_pending_free(PkgBuffer *b);
SECURITY_STATUS digest_body_hash(PkgBuffer *in, size_t n, unsigned idx, DigestAlg alg, char *out);
SECURITY_STATUS digest_http_verify(PkgStep *s, DigestCtx *c, const PkgBuffer *tok);

/* digest-sasl.c: SASL mode (RFC 2831) and its security layer. */
PkgBuffer *digest_nth_buffer(PkgBuffer *b, size_t n, uint32_t type, unsigned nth);
SECURITY_STATUS digest_sasl_init(PkgStep *s);
SECURITY_STATUS digest_sasl_accept(PkgStep *s);
void digest_sasl_free(DigestCtx *c);
void digest_sasl_sizes(const DigestCtx *c, SecPkgContext_Sizes *out);
SECURITY_STATUS digest_sasl_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS digest_sasl_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
SECURITY_STATUS digest_sasl_seal(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no);
SECURITY_STATUS digest_sasl_unseal(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop);
