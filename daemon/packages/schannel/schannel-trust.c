/* SPDX-License-Identifier: MIT */
/*
 * Trusted roots and verified chains for Schannel.
 *
 * Loading the system store parses ~150 PEM certificates (about 20 ms); doing
 * it per AcquireCredentialsHandle made a credential cost as much as twenty
 * handshakes. The roots are now loaded once per configuration and shared by
 * every SSL_CTX (X509_STORE is reference counted and locked inside).
 *
 * A peer chain that verified is remembered for [schannel] chain-cache
 * seconds (default 300), as CryptoAPI's chain engine does on Windows. The
 * entry's key is a SHA-256 over everything the verdict depends on: the
 * caller's uid, the roots (a generation number per configuration), which
 * side verifies (server or client purpose), the expected host name or
 * address, the verification flags and depth, and the DER of every
 * certificate the peer sent. An entry never outlives the earliest notAfter
 * of the verified chain, and only successes are kept: a failure is always
 * recomputed, so its status is always the precise one. The handshake's own
 * proof of possession (CertificateVerify) is checked every time, by OpenSSL.
 */
#include "packages/schannel/schannel-trust.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/log.h"

#define CHAIN_SLOTS 1024u /* direct-mapped: a collision replaces the older entry */

typedef struct ChainEntry {
        uint8_t key[32];
        int64_t expires_ms; /* CLOCK_MONOTONIC */
        time_t not_before;  /* wall clock, latest notBefore of the chain */
        time_t not_after;   /* wall clock, earliest notAfter of the chain */
        bool used;
} ChainEntry;

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static const Config *trust_config; /* the configuration the roots below come from (a reference) */
static X509_STORE *trust_store;
static STACK_OF(X509_NAME) *trust_ca_names;
static uint64_t trust_generation;
static int store_gen_index = -1;

static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
static ChainEntry chain_cache[CHAIN_SLOTS];
static EVP_MD *sha256;
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void sha_init(void) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Builds the roots of `config`; called with trust_lock held. */
static bool load_roots(const Config *config) {
        X509_STORE *store = X509_STORE_new();
        STACK_OF(X509_NAME) *names = NULL;

        if (!store)
                return false;
        if (store_gen_index < 0)
                store_gen_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        if (config->tls_system_store && X509_STORE_set_default_paths(store) != 1)
                log_warning("schannel: cannot load the system certificate store");
        if (config->tls_ca_file) {
                if (X509_STORE_load_file(store, config->tls_ca_file) != 1)
                        log_warning("schannel: cannot load ca-file %s", config->tls_ca_file);
                names = SSL_load_client_CA_file(config->tls_ca_file);
        }
        ERR_clear_error();
        X509_STORE_set_ex_data(store, store_gen_index, (void *) (uintptr_t) ++trust_generation);

        X509_STORE_free(trust_store);
        sk_X509_NAME_pop_free(trust_ca_names, X509_NAME_free);
        if (trust_config)
                config_unref((Config *) trust_config);
        trust_store = store;
        trust_ca_names = names;
        trust_config = config_ref((Config *) config); /* the refcount is the only mutable part */
        return true;
}

bool trust_setup(SSL_CTX *ctx, const Config *config, bool server) {
        bool ok = true;

        pthread_mutex_lock(&trust_lock);
        if (trust_config != config)
                ok = load_roots(config);
        if (ok)
                SSL_CTX_set1_cert_store(ctx, trust_store);
        if (ok && server && trust_ca_names) {
                /* CertificateRequest names the CAs of ca-file, as Windows
                 * names its trusted issuers. */
                STACK_OF(X509_NAME) *copy = SSL_dup_CA_list(trust_ca_names);
                if (copy)
                        SSL_CTX_set_client_CA_list(ctx, copy);
                else
                        ok = false;
        }
        pthread_mutex_unlock(&trust_lock);
        return ok;
}

bool trust_apply(SSL *ssl, const Config *config) {
        bool ok = true;

        pthread_mutex_lock(&trust_lock);
        if (trust_config != config)
                ok = load_roots(config);
        ok = ok && SSL_set1_verify_cert_store(ssl, trust_store) == 1;
        pthread_mutex_unlock(&trust_lock);
        return ok;
}

static bool hash_cert(EVP_MD_CTX *md, X509 *x) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        return X509_digest(x, sha256, d, &n) == 1 && EVP_DigestUpdate(md, d, n) == 1;
}

static bool hash_str(EVP_MD_CTX *md, const char *s) {
        uint32_t n = s ? (uint32_t) strlen(s) + 1 : 0; /* NULL and "" differ */

        return EVP_DigestUpdate(md, &n, sizeof(n)) == 1 && (!s || EVP_DigestUpdate(md, s, n) == 1);
}

/* The key of the verdict `sctx` is about to produce; false if it cannot be
 * computed (then the chain is verified in full). */
static bool chain_key(X509_STORE_CTX *sctx, const TrustScope *scope, uint8_t key[32]) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
        STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(sctx);
        X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
        X509_STORE *store = X509_STORE_CTX_get0_store(sctx);
        struct {
                uint32_t uid;
                uint32_t server;
                uint64_t generation;
                uint64_t flags;
                uint32_t hostflags;
                int32_t depth;
        } fixed = { 0 };
        EVP_MD_CTX *md;
        char *ip;
        unsigned n = 0;
        bool ok;

        pthread_once(&sha_once, sha_init);
        if (!ssl || !leaf || !store || !sha256 || store_gen_index < 0)
                return false;
        fixed.uid = (uint32_t) scope->uid;
        fixed.server = SSL_is_server(ssl) ? 1 : 0;
        fixed.generation = (uint64_t) (uintptr_t) X509_STORE_get_ex_data(store, store_gen_index);
        fixed.flags = X509_VERIFY_PARAM_get_flags(param);
        fixed.hostflags = X509_VERIFY_PARAM_get_hostflags(param);
        fixed.depth = X509_VERIFY_PARAM_get_depth(param);
        if (fixed.generation == 0)
                return false; /* not one of our stores */

        md = EVP_MD_CTX_new();
        if (!md)
                return false;
        /* No address set: OpenSSL returns NULL and queues an error, which
         * would make SSL_get_error() report SSL_ERROR_SSL for a read that
         * only wants more bytes. */
        ERR_set_mark();
        ip = X509_VERIFY_PARAM_get1_ip_asc(param);
        ERR_pop_to_mark();
        ok = EVP_DigestInit_ex(md, sha256, NULL) == 1 && EVP_DigestUpdate(md, "sspid-chain-1", 13) == 1 &&
             EVP_DigestUpdate(md, &fixed, sizeof(fixed)) == 1 &&
             hash_str(md, X509_VERIFY_PARAM_get0_host(param, 0)) &&
             /* one host name is all we ever set; a second would change the verdict */
             !X509_VERIFY_PARAM_get0_host(param, 1) && hash_str(md, ip) && hash_cert(md, leaf);
        for (int i = 0; ok && sent && i < sk_X509_num(sent); i++)
                ok = hash_cert(md, sk_X509_value(sent, i));
        ok = ok && EVP_DigestFinal_ex(md, key, &n) == 1 && n == 32;
        OPENSSL_free(ip);
        EVP_MD_CTX_free(md);
        return ok;
}

static bool cert_time(const ASN1_TIME *t, time_t *ret) {
        struct tm tm;

        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return false;
        *ret = timegm(&tm);
        return true;
}

static bool chain_cached(const uint8_t key[32]) {
        const ChainEntry *e = &chain_cache[(key[0] | (unsigned) key[1] << 8) % CHAIN_SLOTS];
        time_t now = time(NULL);
        bool hit;

        pthread_mutex_lock(&chain_lock);
        hit = e->used && memcmp(e->key, key, 32) == 0 && now_ms() < e->expires_ms && now >= e->not_before &&
              now < e->not_after;
        pthread_mutex_unlock(&chain_lock);
        return hit;
}

static void chain_remember(const uint8_t key[32], X509_STORE_CTX *sctx, unsigned ttl) {
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
        ChainEntry e = { .used = true, .expires_ms = now_ms() + (int64_t) ttl * 1000, .not_before = 0 };
        bool first = true;

        if (!chain || sk_X509_num(chain) == 0)
                return;
        for (int i = 0; i < sk_X509_num(chain); i++) {
                X509 *x = sk_X509_value(chain, i);
                time_t nb, na;
                if (!cert_time(X509_get0_notBefore(x), &nb) || !cert_time(X509_get0_notAfter(x), &na))
                        return; /* unreadable times: never cached */
                if (first || nb > e.not_before)
                        e.not_before = nb;
                if (first || na < e.not_after)
                        e.not_after = na;
                first = false;
        }
        memcpy(e.key, key, 32);
        pthread_mutex_lock(&chain_lock);
        chain_cache[(key[0] | (unsigned) key[1] << 8) % CHAIN_SLOTS] = e;
        pthread_mutex_unlock(&chain_lock);
}

static int verify_chain(X509_STORE_CTX *sctx, void *arg) {
        const TrustScope *scope = arg;
        uint8_t key[32];
        bool keyed;
        int r;

        /* Computing the key must leave OpenSSL's error queue as it was
         * (asking for an unset address, for one, queues an error): the
         * handshake's status is read from that queue. */
        ERR_set_mark();
        keyed = scope->ttl > 0 && chain_key(sctx, scope, key);
        ERR_pop_to_mark();
        if (keyed && chain_cached(key)) {
                X509_STORE_CTX_set_error(sctx, X509_V_OK);
                return 1;
        }
        r = X509_verify_cert(sctx);
        if (keyed && r == 1 && X509_STORE_CTX_get_error(sctx) == X509_V_OK)
                chain_remember(key, sctx, scope->ttl);
        return r;
}

void trust_use_chain_cache(SSL_CTX *ctx, TrustScope *scope) {
        if (scope->ttl > 0)
                SSL_CTX_set_cert_verify_callback(ctx, verify_chain, scope);
}
