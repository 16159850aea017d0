/* SPDX-License-Identifier: MIT */
/*
 * The Digest package ("WDigest", alias "Digest"): HTTP Digest access
 * authentication (RFC 7616) in WDigest's HTTP mode (ISC_REQ_HTTP /
 * ASC_REQ_HTTP). SASL mode is not implemented.
 *
 * Client (ISC): explicit identity only. The password is kept until the
 * first challenge names the realm (or hashed at once when the identity's
 * Domain gives the realm); then HA1 is computed for every algorithm and
 * the password is wiped. Input buffers as WDigest takes them: TOKEN =
 * the WWW-Authenticate value, first SECBUFFER_PKG_PARAMS = method, second
 * = hex H(entity-body) for auth-int (or a SECBUFFER_DATA with the raw
 * body, which the daemon hashes). The output TOKEN is the Authorization
 * value. A later ISC on the same context without a challenge answers the
 * same nonce with the next nonce count; a new challenge (stale=true)
 * replaces the nonce without the password. The server's
 * Authentication-Info value on the completed context checks rspauth
 * (ISC_RET_MUTUAL_AUTH or SEC_E_MUTUAL_AUTH_FAILED).
 *
 * Server (ASC): a credential is a [digest-store NAME] grant. No input
 * token: a challenge (SEC_I_CONTINUE_NEEDED). A response: PKG_PARAMS #1
 * method, #2 the request-URI (optional: when given, uri= must equal it),
 * #3 hex H(entity-body), #4 realm; or a SECBUFFER_DATA raw body. Nonces
 * are MACed by a per-daemon key and tracked in a bounded table of their
 * store (nonce-cache, so one store's flood evicts only its own): expired or
 * evicted nonces are stale (SEC_E_CONTEXT_EXPIRED once the response is
 * otherwise correct; ask for a new challenge with ASC_REQ_STALE), a nonce
 * count seen before is SEC_E_OUT_OF_SEQUENCE. Wrong password and unknown
 * user are SEC_E_LOGON_DENIED after the same work (a dummy HA1).
 *
 * CompleteAuthToken: WDigest asks for it (SEC_I_COMPLETE_NEEDED) only in
 * flows where the token is finished after the message; in HTTP mode the
 * response is final when ISC returns, so ISC returns SEC_E_OK and
 * CompleteAuthToken is accepted as a no-op for callers written for
 * Windows. Make/VerifySignature and Encrypt/DecryptMessage belong to SASL
 * mode: SEC_E_UNSUPPORTED_FUNCTION.
 */
#include "digest.h"

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

#include "config.h"
#include "log.h"
#include "util.h"

#define ASC_REQ_STALE 0x20000000U /* Digest sample headers; not in the SDK */


#define MAX_USER 256
#define MAX_STORE_USERS 100000
#define NONCE_ID_LEN 12
#define NONCE_MAC_LEN 12
#define NONCE_RAW_LEN (8 + NONCE_ID_LEN + NONCE_MAC_LEN)
#define NONCE_HEX_LEN (2 * NONCE_RAW_LEN)
#define NC_WINDOW 64

/* ---- stores ------------------------------------------------------------- */

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
} NonceSlot;

/* The nonces one store has issued and remembers ([digest-store]
 * nonce-cache slots): challenges for one store evict only its own. Shared
 * by the store's generations across reloads (same name and size), so that a
 * reload forgets nothing. Slots are guarded by g_lock. */
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

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static Store **g_stores;
static size_t g_n_stores;
static bool g_md5 = true;
static unsigned g_nonce_lifetime = 300;
static uint8_t g_nonce_key[32];
static bool g_key_ready;

static void nonce_table_unref(NonceTable *t) {
        if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        free(t);
}

static void store_user_done(StoreUser *u) {
        free(u->name);
        explicit_bzero(u, sizeof(*u));
}

static Store *store_ref(Store *s) {
        if (s)
                __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
        return s;
}

static void store_unref(Store *s) {
        if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        for (size_t i = 0; i < s->n_users; i++)
                store_user_done(&s->users[i]);
        free(s->users);
        nonce_table_unref(s->nonces);
        store_user_done(&s->dummy);
        free(s->name);
        free(s->realm);
        free(s);
}

static void hex_encode(const uint8_t *b, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[b[i] >> 4];
                out[2 * i + 1] = hex[b[i] & 15];
        }
        out[2 * n] = '\0';
}

static int hex_val(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool hex_decode(const char *s, size_t len, uint8_t *out) {
        for (size_t i = 0; i < len / 2; i++) {
                int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return len % 2 == 0;
}

static bool is_hex_str(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (hex_val(s[i]) < 0)
                        return false;
        return true;
}

static int name_key(const char *name, size_t len, uint8_t key[32]) {
        unsigned n = 0;
        return EVP_Digest(name, len, key, &n, EVP_sha256(), NULL) && n == 32 ? 0 : -EIO;
}

static int user_fill_userhash(StoreUser *u, const char *realm) {
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                const char *p[2] = { u->name, realm };
                size_t l[2] = { strlen(u->name), strlen(realm) };
                int r = digest_hash_hex(a, p, l, 2, u->userhash[a]);
                if (r < 0)
                        return r;
        }
        return name_key(u->name, strlen(u->name), u->key);
}

static StoreUser *store_user_get(Store *s, const char *name) {
        StoreUser *n;

        for (size_t i = 0; i < s->n_users; i++)
                if (!strcmp(s->users[i].name, name))
                        return &s->users[i];
        if (s->n_users >= MAX_STORE_USERS)
                return NULL;
        n = reallocarray(s->users, s->n_users + 1, sizeof(*n));
        if (!n)
                return NULL;
        s->users = n;
        n = &s->users[s->n_users];
        *n = (StoreUser) {};
        n->name = strdup(name);
        if (!n->name || user_fill_userhash(n, s->realm) < 0) {
                free(n->name);
                return NULL;
        }
        s->n_users++;
        return n;
}

/*
 * The store file: "user:realm:HA1" (htdigest, MD5) or
 * "user:realm:ALGORITHM:HA1" for SHA-256 and SHA-512-256; lines of other
 * realms are skipped. The file must not be readable by group or others.
 */
static int store_load_file(Store *s, const char *path) {
        _cleanup_(closep) int fd = -1;
        struct stat st;
        FILE *f;
        char line[1024], iobuf[4096];
        unsigned lineno = 0;
        int r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((st.st_mode & 0077) || (st.st_uid != 0 && st.st_uid != geteuid())) {
                log_error("digest: %s is readable or owned by someone other than the daemon; not loaded", path);
                return -EPERM;
        }
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -1;
        /* stdio's own buffer would keep the HA1s in freed memory. */
        setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
        while (fgets(line, sizeof(line), f)) {
                char *fields[4], *save = NULL, *tok;
                size_t nf = 0, hl;
                DigestAlg alg = DIGEST_MD5;
                bool sess;
                StoreUser *u;

                lineno++;
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '\0' || line[0] == '#')
                        continue;
                for (tok = strtok_r(line, ":", &save); tok && nf < 4; tok = strtok_r(NULL, ":", &save))
                        fields[nf++] = tok;
                if (tok || nf < 3 || strlen(fields[0]) > MAX_USER) {
                        log_error("digest: %s:%u: malformed line", path, lineno);
                        continue;
                }
                if (strcmp(fields[1], s->realm) != 0)
                        continue;
                if (nf == 4 && (digest_alg_parse(fields[2], strlen(fields[2]), &alg, &sess) < 0 || sess)) {
                        log_error("digest: %s:%u: unknown algorithm", path, lineno);
                        continue;
                }
                hl = strlen(fields[nf - 1]);
                if (hl != digest_alg_hexlen(alg) || !is_hex_str(fields[nf - 1], hl)) {
                        log_error("digest: %s:%u: HA1 is not a hex %s digest", path, lineno,
                                  nf == 4 ? fields[2] : "MD5");
                        continue;
                }
                u = store_user_get(s, fields[0]);
                if (!u) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t i = 0; i <= hl; i++)
                        u->ha1[alg][i] = (char) (fields[nf - 1][i] | (i < hl ? 0x20 : 0)); /* lowercase */
        }
        explicit_bzero(line, sizeof(line));
        fclose(f);
        explicit_bzero(iobuf, sizeof(iobuf));
        return r;
}

static int store_new(const DigestStoreGrant *g, Store **ret) {
        Store *s = calloc(1, sizeof(*s));
        size_t n_nonces;
        uint8_t rnd[32];
        int r;

        if (!s)
                return -ENOMEM;
        s->refcount = 1;
        s->alg = DIGEST_SHA256;
        n_nonces = g->nonce_cache ? g->nonce_cache : DIGEST_NONCE_CACHE_DEFAULT;
        s->nonces = calloc(1, sizeof(NonceTable) + n_nonces * sizeof(NonceSlot));
        if (!s->nonces) {
                store_unref(s);
                return -ENOMEM;
        }
        s->nonces->refcount = 1;
        s->nonces->n = n_nonces;
        s->userhash = g->userhash;
        s->name = strdup(g->name);
        s->realm = strdup(g->realm);
        if (!s->name || !s->realm) {
                store_unref(s);
                return -ENOMEM;
        }
        if (g->algorithm && digest_alg_parse(g->algorithm, strlen(g->algorithm), &s->alg, &s->sess) < 0) {
                log_error("digest: [digest-store %s]: unknown algorithm %s", g->name, g->algorithm);
                store_unref(s);
                return -EINVAL;
        }
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                store_unref(s);
                return -EIO;
        }
        hex_encode(rnd, 16, s->opaque);
        s->dummy.name = strdup("\x01");
        if (!s->dummy.name || user_fill_userhash(&s->dummy, s->realm) < 0) {
                store_unref(s);
                return -ENOMEM;
        }
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                const char *p[1] = { (const char *) rnd };
                size_t l[1] = { sizeof(rnd) };
                if (digest_hash_hex(a, p, l, 1, s->dummy.ha1[a]) < 0) {
                        store_unref(s);
                        return -EIO;
                }
        }
        explicit_bzero(rnd, sizeof(rnd));
        r = store_load_file(s, g->file);
        if (r < 0) {
                log_error("digest: [digest-store %s]: cannot load %s: %s", g->name, g->file, strerror(-r));
                store_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

static Store *store_find(const char *name) {
        Store *s = NULL;

        pthread_mutex_lock(&g_lock);
        for (size_t i = 0; i < g_n_stores; i++)
                if (!strcmp(g_stores[i]->name, name)) {
                        s = store_ref(g_stores[i]);
                        break;
                }
        pthread_mutex_unlock(&g_lock);
        return s;
}

/*
 * Called at start and on every reload. A store that cannot be loaded is
 * logged and left out (its grant then yields SEC_E_NO_CREDENTIALS): one
 * bad file does not take the other packages down.
 */
static int digest_setup(const struct Config *config) {
        Store **n = NULL, **old;
        size_t nn = 0, n_old;

        if (config->n_digest_stores) {
                n = calloc(config->n_digest_stores, sizeof(*n));
                if (!n)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < config->n_digest_stores; i++) {
                Store *s;
                if (store_new(&config->digest_stores[i], &s) == 0)
                        n[nn++] = s;
        }
        pthread_mutex_lock(&g_lock);
        if (!g_key_ready) {
                if (RAND_bytes(g_nonce_key, sizeof(g_nonce_key)) != 1) {
                        pthread_mutex_unlock(&g_lock);
                        for (size_t i = 0; i < nn; i++)
                                store_unref(n[i]);
                        free(n);
                        return -EIO;
                }
                g_key_ready = true;
        }
        /* A store that stays (same name, same nonce-cache) keeps its nonces. */
        for (size_t i = 0; i < nn; i++)
                for (size_t j = 0; j < g_n_stores; j++)
                        if (!strcmp(n[i]->name, g_stores[j]->name) && n[i]->nonces->n == g_stores[j]->nonces->n) {
                                nonce_table_unref(n[i]->nonces);
                                n[i]->nonces = g_stores[j]->nonces;
                                __atomic_add_fetch(&n[i]->nonces->refcount, 1, __ATOMIC_RELAXED);
                                break;
                        }
        old = g_stores;
        n_old = g_n_stores;
        g_stores = n;
        g_n_stores = nn;
        g_md5 = config->digest_md5;
        g_nonce_lifetime = config->digest_nonce_lifetime;
        pthread_mutex_unlock(&g_lock);
        for (size_t i = 0; i < n_old; i++)
                store_unref(old[i]);
        free(old);
        return 0;
}

/* At exit, so that leak checkers see a clean daemon. */
__attribute__((destructor)) static void digest_teardown(void) {
        pthread_mutex_lock(&g_lock);
        for (size_t i = 0; i < g_n_stores; i++)
                store_unref(g_stores[i]);
        free(g_stores);
        g_stores = NULL;
        g_n_stores = 0;
        OPENSSL_cleanse(g_nonce_key, sizeof(g_nonce_key));
        pthread_mutex_unlock(&g_lock);
}

/* ---- nonces ------------------------------------------------------------- */

static void nonce_mac(const uint8_t *raw, const Store *s, uint8_t *mac) {
        uint8_t full[EVP_MAX_MD_SIZE], buf[8 + NONCE_ID_LEN + 256];
        size_t nl = strnlen(s->name, 256);
        unsigned n = 0;

        /* HMAC-SHA256(key, ts || id || store name), truncated: a nonce is
         * good only for the store that issued it. */
        memcpy(buf, raw, 8 + NONCE_ID_LEN);
        memcpy(buf + 8 + NONCE_ID_LEN, s->name, nl);
        if (!HMAC(EVP_sha256(), g_nonce_key, sizeof(g_nonce_key), buf, 8 + NONCE_ID_LEN + nl, full, &n))
                memset(full, 0, sizeof(full));
        memcpy(mac, full, NONCE_MAC_LEN);
}

/* The slot of a nonce: its random id picks it. */
static NonceSlot *nonce_slot(const Store *s, const uint8_t raw[NONCE_RAW_LEN]) {
        uint32_t h = (uint32_t) raw[8] | (uint32_t) raw[9] << 8 | (uint32_t) raw[10] << 16 | (uint32_t) raw[11] << 24;

        return &s->nonces->slots[h % s->nonces->n];
}

static int nonce_new(const Store *s, char out[NONCE_HEX_LEN + 1]) {
        uint8_t raw[NONCE_RAW_LEN];
        uint64_t now = (uint64_t) time(NULL);
        NonceSlot *slot;

        for (int i = 0; i < 8; i++)
                raw[i] = (uint8_t) (now >> (56 - 8 * i));
        if (RAND_bytes(raw + 8, NONCE_ID_LEN) != 1)
                return -EIO;
        nonce_mac(raw, s, raw + 8 + NONCE_ID_LEN);
        hex_encode(raw, sizeof(raw), out);

        pthread_mutex_lock(&g_lock);
        slot = nonce_slot(s, raw);
        memcpy(slot->id, raw + 8, NONCE_ID_LEN);
        slot->used = true;
        slot->max_nc = 0;
        slot->seen = 0;
        pthread_mutex_unlock(&g_lock);
        return 0;
}

typedef enum NonceCheck {
        NONCE_BAD,   /* not ours */
        NONCE_STALE, /* ours, but expired or forgotten */
        NONCE_FRESH,
} NonceCheck;

static NonceCheck nonce_check(const Store *s, const char *nonce, size_t len, uint8_t raw[NONCE_RAW_LEN]) {
        uint8_t mac[NONCE_MAC_LEN];
        uint64_t ts = 0, now = (uint64_t) time(NULL);
        NonceSlot *slot;
        bool known;

        if (len != NONCE_HEX_LEN || !hex_decode(nonce, len, raw))
                return NONCE_BAD;
        nonce_mac(raw, s, mac);
        if (CRYPTO_memcmp(mac, raw + 8 + NONCE_ID_LEN, NONCE_MAC_LEN) != 0)
                return NONCE_BAD;
        for (int i = 0; i < 8; i++)
                ts = ts << 8 | raw[i];
        pthread_mutex_lock(&g_lock);
        slot = nonce_slot(s, raw);
        known = slot->used && !memcmp(slot->id, raw + 8, NONCE_ID_LEN);
        if (ts > now + 5 || now - ts >= g_nonce_lifetime)
                known = false;
        pthread_mutex_unlock(&g_lock);
        return known ? NONCE_FRESH : NONCE_STALE;
}

/* Accept nonce count `nc` once: false for a count seen before (or too old
 * to tell), or when the nonce was forgotten meanwhile. */
static bool nonce_count_take(const Store *s, const uint8_t raw[NONCE_RAW_LEN], uint32_t nc) {
        NonceSlot *slot;
        bool ok = false;

        pthread_mutex_lock(&g_lock);
        slot = nonce_slot(s, raw);
        if (!slot->used || memcmp(slot->id, raw + 8, NONCE_ID_LEN) != 0)
                goto out;
        if (nc > slot->max_nc) {
                uint32_t shift = nc - slot->max_nc;
                slot->seen = shift >= NC_WINDOW ? 0 : slot->seen << shift;
                slot->seen |= 1;
                slot->max_nc = nc;
                ok = true;
        } else if (slot->max_nc - nc < NC_WINDOW && !(slot->seen & (UINT64_C(1) << (slot->max_nc - nc)))) {
                slot->seen |= UINT64_C(1) << (slot->max_nc - nc);
                ok = true;
        }
out:
        pthread_mutex_unlock(&g_lock);
        return ok;
}

/* ---- credentials -------------------------------------------------------- */

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

static void digest_cred_free(void *p) {
        DigestCred *c = p;

        if (!c)
                return;
        store_unref(c->store);
        free(c->user);
        free(c->realm);
        free_secret(c->password, c->password_len);
        pthread_mutex_destroy(&c->lock);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

/* HA1 for every algorithm, then the password goes. Caller holds c->lock. */
static SECURITY_STATUS cred_compute_ha1(DigestCred *c, const char *realm) {
        if (c->have_ha1)
                return strcmp(c->realm, realm) ? SEC_E_NO_CREDENTIALS : SEC_E_OK;
        if (!c->password)
                return SEC_E_NO_CREDENTIALS;
        if (!c->realm) {
                c->realm = strdup(realm);
                if (!c->realm)
                        return SEC_E_INSUFFICIENT_MEMORY;
        } else if (strcmp(c->realm, realm))
                return SEC_E_NO_CREDENTIALS;
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                const char *p[3] = { c->user, c->realm, (const char *) c->password };
                size_t l[3] = { strlen(c->user), strlen(c->realm), c->password_len };
                if (digest_hash_hex(a, p, l, 3, c->ha1[a]) < 0)
                        return SEC_E_INTERNAL_ERROR;
        }
        c->have_ha1 = true;
        free_secret(c->password, c->password_len);
        c->password = NULL;
        c->password_len = 0;
        return SEC_E_OK;
}

static SECURITY_STATUS acquire_outbound(DigestCred *c, const PkgAcquire *a) {
        if (!a->has_identity || !a->user || !a->user[0] || !a->password)
                return SEC_E_NO_CREDENTIALS;
        if (strlen(a->user) > MAX_USER || a->password_len > 1024 || strchr(a->user, ':'))
                return SEC_E_INVALID_PARAMETER;
        c->user = strdup(a->user);
        c->password = malloc(a->password_len + 1);
        if (!c->user || !c->password)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(c->password, a->password, a->password_len);
        c->password[a->password_len] = 0;
        c->password_len = a->password_len;
        c->md5_allowed = a->config ? a->config->digest_md5 : true;
        /* The identity's domain names the realm: hash now, keep nothing. */
        if (a->domain && a->domain[0])
                return cred_compute_ha1(c, a->domain);
        return SEC_E_OK;
}

static SECURITY_STATUS acquire_inbound(DigestCred *c, const PkgAcquire *a) {
        const DigestStoreGrant *grant = NULL;
        bool exists = false;

        if (!a->config)
                return SEC_E_NO_CREDENTIALS;
        for (size_t i = 0; i < a->config->n_digest_stores && !grant; i++) {
                const DigestStoreGrant *g = &a->config->digest_stores[i];
                if (a->principal && strcmp(a->principal, g->name) != 0)
                        continue;
                exists = true;
                if (principals_match(&g->allow, a->caller))
                        grant = g;
        }
        if (!grant)
                return exists ? SEC_E_NOT_OWNER : SEC_E_NO_CREDENTIALS;
        c->store = store_find(grant->name);
        return c->store ? SEC_E_OK : SEC_E_NO_CREDENTIALS;
}

static SECURITY_STATUS digest_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        SECURITY_STATUS st_out = SEC_E_NO_CREDENTIALS, st_in = SEC_E_NO_CREDENTIALS;
        DigestCred *c = calloc(1, sizeof(*c));

        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_init(&c->lock, NULL);
        if (a->use & SECPKG_CRED_OUTBOUND) {
                st_out = acquire_outbound(c, a);
                if (st_out == SEC_E_OK)
                        c->use |= SECPKG_CRED_OUTBOUND;
        }
        if (a->use & SECPKG_CRED_INBOUND) {
                st_in = acquire_inbound(c, a);
                if (st_in == SEC_E_OK)
                        c->use |= SECPKG_CRED_INBOUND;
        }
        if (c->use == 0) {
                digest_cred_free(c);
                return pkg_acquire_failure(a->use, st_out, st_in);
        }
        *ret_cred = c;
        *ret_expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

static SECURITY_STATUS digest_cred_name(void *p, char **ret_name) {
        DigestCred *c = p;
        char *s;

        if (!c)
                return SEC_E_INVALID_HANDLE;
        s = strdup(c->user ? c->user : c->store->name);
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret_name = s;
        return SEC_E_OK;
}

static bool digest_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        return false; /* a few hashes: cheaper than a hand-off */
}

/* ---- contexts ----------------------------------------------------------- */

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
} DigestCtx;

static void digest_ctx_free(void *p) {
        DigestCtx *c = p;

        if (!c)
                return;
        store_unref(c->store);
        free(c->user);
        free(c->realm);
        free(c->nonce);
        free(c->opaque);
        free(c->last_uri);
        explicit_bzero(c, sizeof(*c));
        free(c);
}

static int64_t filetime_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return filetime_from_unix(ts.tv_sec) + ts.tv_nsec / 100;
}

/* The n-th (0-based) input buffer of `type`, or NULL. */
static PkgBuffer *nth_buffer(PkgBuffer *b, size_t n, uint32_t type, unsigned nth) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type && nth-- == 0)
                        return &b[i];
        return NULL;
}

static PkgBuffer *input_token(PkgStep *s) {
        PkgBuffer *t = nth_buffer(s->in, s->n_in, SECBUFFER_TOKEN, 0);
        return t && t->len > 0 ? t : NULL;
}

/* An HTTP method is a token (RFC 9110), ASCII, short. */
static SECURITY_STATUS buffer_method(PkgStep *s, char *out, size_t cap) {
        PkgBuffer *b = nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 0);
        size_t len;

        if (!b || b->len == 0)
                return SEC_E_INVALID_PARAMETER;
        len = strnlen((const char *) b->data, b->len); /* a trailing NUL is allowed */
        if (len == 0 || len >= cap)
                return SEC_E_INVALID_PARAMETER;
        for (size_t i = 0; i < len; i++) {
                uint8_t c = b->data[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      strchr("!#$%&'*+-.^_`|~", c)))
                        return SEC_E_INVALID_PARAMETER;
        }
        memcpy(out, b->data, len);
        out[len] = '\0';
        return SEC_E_OK;
}

/* H(entity-body): PKG_PARAMS #idx as hex of the right length, or a
 * SECBUFFER_DATA with the body itself; neither: the empty body. */
static SECURITY_STATUS buffer_body_hash(PkgStep *s, unsigned idx, DigestAlg alg, char *out) {
        PkgBuffer *b = nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, idx);
        PkgBuffer *data = nth_buffer(s->in, s->n_in, SECBUFFER_DATA, 0);
        size_t hl = digest_alg_hexlen(alg);

        if (b && b->len > 0) {
                size_t len = strnlen((const char *) b->data, b->len);
                if (len != hl || !is_hex_str((const char *) b->data, len))
                        return SEC_E_INVALID_PARAMETER;
                for (size_t i = 0; i <= len; i++)
                        out[i] = i < len ? (char) (b->data[i] | 0x20) : '\0';
                return SEC_E_OK;
        }
        {
                const char *p[1] = { data ? (const char *) data->data : "" };
                size_t l[1] = { data ? data->len : 0 };
                return digest_hash_hex(alg, p, l, 1, out) < 0 ? SEC_E_INTERNAL_ERROR : SEC_E_OK;
        }
}

/* A quoted-string value: escape '"' and '\'. The caller sized `out`. */
static size_t put_quoted(char *out, const char *v) {
        size_t n = 0;
        out[n++] = '"';
        for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                        out[n++] = '\\';
                out[n++] = *v;
        }
        out[n++] = '"';
        return n;
}

typedef struct OutBuf {
        char *p;
        size_t len, cap;
        bool failed;
} OutBuf;

static void ob_add(OutBuf *o, const char *s, size_t n) {
        if (o->failed || n > o->cap - o->len) {
                o->failed = true;
                return;
        }
        memcpy(o->p + o->len, s, n);
        o->len += n;
}

static void ob_str(OutBuf *o, const char *s) {
        ob_add(o, s, strlen(s));
}

static void ob_quoted(OutBuf *o, const char *v) {
        char tmp[2 * 1024 + 3];
        if (strlen(v) > 1024) {
                o->failed = true;
                return;
        }
        ob_add(o, tmp, put_quoted(tmp, v));
}

static SECURITY_STATUS put_output(PkgStep *s, OutBuf *o) {
        PkgBuffer *slot = nth_buffer(s->out, s->n_out, SECBUFFER_TOKEN, 0);

        if (o->failed)
                return SEC_E_INTERNAL_ERROR;
        if (!slot)
                return o->len ? SEC_E_INVALID_TOKEN : SEC_E_OK;
        if (slot->cap > 0 && o->len > slot->cap)
                return SEC_E_BUFFER_TOO_SMALL;
        slot->data = (uint8_t *) o->p;
        slot->len = o->len;
        slot->owned = true;
        o->p = NULL;
        return SEC_E_OK;
}

static const char *alg_name(DigestAlg a, bool sess) {
        static const char *const names[N_DIGEST_ALGS][2] = {
                { "MD5", "MD5-sess" },
                { "SHA-256", "SHA-256-sess" },
                { "SHA-512-256", "SHA-512-256-sess" },
        };
        return names[a][sess];
}

static bool list_has(const char *list, const char *item) {
        size_t il = strlen(item);

        for (const char *p = list; *p;) {
                size_t n;
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                n = strcspn(p, " \t,");
                if (n == il && !strncasecmp(p, item, n))
                        return true;
                p += n;
        }
        return false;
}

static bool user_is_plain(const char *u) {
        for (; *u; u++)
                if ((uint8_t) *u < 0x20 || (uint8_t) *u >= 0x7f)
                        return false;
        return true;
}

/* ---- client ------------------------------------------------------------- */

/* Take a challenge into the context. */
static SECURITY_STATUS client_take_challenge(PkgStep *s, DigestCred *cred, DigestCtx *c, const PkgBuffer *tok) {
        DigestParams p;
        DigestAlg alg = DIGEST_MD5;
        bool sess = false, want_int;
        SECURITY_STATUS st;

        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        if (!p.v[DP_REALM] || !p.v[DP_NONCE] || p.len[DP_NONCE] == 0 || p.len[DP_NONCE] > 1024 ||
            p.len[DP_REALM] > 1024 || (p.v[DP_OPAQUE] && p.len[DP_OPAQUE] > 1024)) {
                st = SEC_E_INVALID_TOKEN;
                goto out;
        }
        if (p.v[DP_ALGORITHM] && digest_alg_parse(p.v[DP_ALGORITHM], p.len[DP_ALGORITHM], &alg, &sess) < 0) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        /* Policy: a challenge weaker than the credential allows is refused. */
        if (alg == DIGEST_MD5 && !cred->md5_allowed) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        /* RFC 2069 (no qop) has no client nonce: refused as too weak. */
        if (!p.v[DP_QOP]) {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }
        want_int = s->req_flags & (ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT);
        if (want_int && list_has(p.v[DP_QOP], "auth-int"))
                c->auth_int = true;
        else if (list_has(p.v[DP_QOP], "auth"))
                c->auth_int = false;
        else {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }

        pthread_mutex_lock(&cred->lock);
        st = cred_compute_ha1(cred, p.v[DP_REALM]);
        if (st == SEC_E_OK)
                memcpy(c->ha1, cred->ha1[alg], sizeof(c->ha1));
        pthread_mutex_unlock(&cred->lock);
        if (st != SEC_E_OK)
                goto out;

        /* Not answerable again until the new challenge is fully taken. */
        c->challenged = false;
        free(c->realm);
        free(c->nonce);
        free(c->opaque);
        c->realm = strdup(p.v[DP_REALM]);
        c->nonce = strdup(p.v[DP_NONCE]);
        c->opaque = p.v[DP_OPAQUE] ? strdup(p.v[DP_OPAQUE]) : NULL;
        if (!c->realm || !c->nonce || (p.v[DP_OPAQUE] && !c->opaque)) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->alg = alg;
        c->sess = sess;
        c->userhash = p.v[DP_USERHASH] && !strcasecmp(p.v[DP_USERHASH], "true");
        c->nc = 0;
        c->challenged = true;
out:
        digest_params_done(&p);
        return st;
}

/* One Authorization value for the next nonce count. */
static SECURITY_STATUS client_respond(PkgStep *s, DigestCtx *c) {
        char method[33], body[DIGEST_HEX_MAX + 1], nc[9], cnonce[33], resp[DIGEST_HEX_MAX + 1];
        uint8_t rnd[16];
        OutBuf o = {};
        DigestInput in;
        SECURITY_STATUS st;

        st = buffer_method(s, method, sizeof(method));
        if (st != SEC_E_OK)
                return st;
        if (c->auth_int) {
                st = buffer_body_hash(s, 1, c->alg, body);
                if (st != SEC_E_OK)
                        return st;
        }
        if (c->nc == UINT32_MAX)
                return SEC_E_CONTEXT_EXPIRED;
        c->nc++;
        snprintf(nc, sizeof(nc), "%08x", c->nc);
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return SEC_E_INTERNAL_ERROR;
        hex_encode(rnd, sizeof(rnd), cnonce);
        in = (DigestInput) {
                .alg = c->alg, .sess = c->sess, .ha1 = c->ha1, .nonce = c->nonce, .nc = nc, .cnonce = cnonce,
                .qop = c->auth_int ? "auth-int" : "auth", .method = method, .uri = s->target,
                .body_hex = c->auth_int ? body : NULL,
        };
        if (digest_response(&in, resp) < 0)
                return SEC_E_INTERNAL_ERROR;

        o.cap = DIGEST_MAX_TOKEN;
        o.p = malloc(o.cap);
        if (!o.p)
                return SEC_E_INSUFFICIENT_MEMORY;
        ob_str(&o, "Digest ");
        if (c->userhash) {
                char uh[DIGEST_HEX_MAX + 1];
                const char *p[2] = { c->user, c->realm };
                size_t l[2] = { strlen(c->user), strlen(c->realm) };
                if (digest_hash_hex(c->alg, p, l, 2, uh) < 0)
                        o.failed = true;
                ob_str(&o, "username=\"");
                ob_str(&o, uh);
                ob_str(&o, "\", ");
        } else if (user_is_plain(c->user)) {
                ob_str(&o, "username=");
                ob_quoted(&o, c->user);
                ob_str(&o, ", ");
        } else {
                /* RFC 7616 §3.4.4: username*=UTF-8''percent-encoded. */
                static const char hex[] = "0123456789ABCDEF";
                ob_str(&o, "username*=UTF-8''");
                for (const uint8_t *u = (const uint8_t *) c->user; *u; u++) {
                        if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
                            strchr("!#$&+-.^_`|~", *u))
                                ob_add(&o, (const char *) u, 1);
                        else {
                                char e[3] = { '%', hex[*u >> 4], hex[*u & 15] };
                                ob_add(&o, e, 3);
                        }
                }
                ob_str(&o, ", ");
        }
        ob_str(&o, "realm=");
        ob_quoted(&o, c->realm);
        ob_str(&o, ", uri=");
        ob_quoted(&o, s->target);
        ob_str(&o, ", algorithm=");
        ob_str(&o, alg_name(c->alg, c->sess));
        ob_str(&o, ", nonce=");
        ob_quoted(&o, c->nonce);
        ob_str(&o, ", nc=");
        ob_str(&o, nc);
        ob_str(&o, ", cnonce=\"");
        ob_str(&o, cnonce);
        ob_str(&o, "\", qop=");
        ob_str(&o, c->auth_int ? "auth-int" : "auth");
        ob_str(&o, ", response=\"");
        ob_str(&o, resp);
        ob_str(&o, "\"");
        if (c->opaque) {
                ob_str(&o, ", opaque=");
                ob_quoted(&o, c->opaque);
        }
        if (c->userhash)
                ob_str(&o, ", userhash=true");
        st = put_output(s, &o);
        free(o.p);
        if (st != SEC_E_OK)
                return st;
        free(c->last_uri);
        c->last_uri = strdup(s->target);
        if (!c->last_uri)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(c->last_cnonce, cnonce, sizeof(cnonce));
        memcpy(c->last_nc, nc, sizeof(nc));
        if (c->auth_int)
                memcpy(c->last_body, body, sizeof(body));
        c->done = true;
        c->flags = (s->req_flags & ISC_REQ_HTTP) | (c->auth_int ? ISC_RET_INTEGRITY : 0);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

/*
 * The server's Authentication-Info for our last response (RFC 7616 §3.5):
 * rspauth is the response digest with an empty method. A match is mutual
 * authentication: the server knows HA1 too.
 */
static SECURITY_STATUS client_check_rspauth(PkgStep *s, DigestCtx *c, const DigestParams *p) {
        char want[DIGEST_HEX_MAX + 1], got[DIGEST_HEX_MAX + 1];
        size_t hl = digest_alg_hexlen(c->alg);
        DigestInput in = {
                .alg = c->alg, .sess = c->sess, .ha1 = c->ha1, .nonce = c->nonce, .nc = c->last_nc,
                .cnonce = c->last_cnonce, .qop = c->auth_int ? "auth-int" : "auth", .method = "",
                .uri = c->last_uri, .body_hex = c->auth_int ? c->last_body : NULL,
        };

        if (!c->done || !c->last_uri)
                return SEC_E_OUT_OF_SEQUENCE;
        if (p->len[DP_RSPAUTH] != hl || (p->v[DP_CNONCE] && strcmp(p->v[DP_CNONCE], c->last_cnonce)) ||
            (p->v[DP_NC] && strcasecmp(p->v[DP_NC], c->last_nc)))
                return SEC_E_MUTUAL_AUTH_FAILED;
        for (size_t i = 0; i <= hl; i++)
                got[i] = i < hl ? (char) (p->v[DP_RSPAUTH][i] | 0x20) : '\0';
        if (digest_response(&in, want) < 0)
                return SEC_E_INTERNAL_ERROR;
        if (CRYPTO_memcmp(want, got, hl) != 0)
                return SEC_E_MUTUAL_AUTH_FAILED;
        c->flags |= ISC_RET_MUTUAL_AUTH;
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;
        return SEC_E_OK;
}

static SECURITY_STATUS digest_init_ctx(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok;
        SECURITY_STATUS st;
        bool created = false;

        /* The target is the request URI: checked before anything else. */
        if (!digest_uri_valid(s->target))
                return SEC_E_INVALID_PARAMETER;
        if (!(s->req_flags & ISC_REQ_HTTP))
                return SEC_E_UNSUPPORTED_FUNCTION; /* SASL mode is not implemented */
        if (s->req_flags & ISC_REQ_CONFIDENTIALITY)
                return SEC_E_QOP_NOT_SUPPORTED; /* auth-conf is SASL only */
        if (!cred || !(cred->use & SECPKG_CRED_OUTBOUND))
                return SEC_E_NO_CREDENTIALS;
        if (c && c->server)
                return SEC_E_INVALID_HANDLE;

        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->user = strdup(cred->user);
                if (!c->user) {
                        free(c);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                c->start = filetime_now();
                created = true;
        }

        tok = input_token(s);
        if (tok && !created) {
                /* An Authentication-Info value rather than a challenge? */
                DigestParams p;
                if (digest_params_parse(tok->data, tok->len, &p) == 0 && p.v[DP_RSPAUTH] && !p.v[DP_NONCE]) {
                        st = client_check_rspauth(s, c, &p);
                        digest_params_done(&p);
                        return st;
                }
                digest_params_done(&p);
        }
        if (tok)
                st = client_take_challenge(s, cred, c, tok);
        else
                st = c->challenged ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
        if (st == SEC_E_OK)
                st = client_respond(s, c);
        else if (st == SEC_I_CONTINUE_NEEDED) {
                /* No challenge yet: an empty token, as WDigest's first call. */
                s->ret_flags = s->req_flags & ISC_REQ_HTTP;
                s->expiry = FILETIME_NEVER;
        }
        if (created && st < 0) {
                digest_ctx_free(c);
                return st;
        }
        s->ctx = c;
        return st;
}

/* ---- server ------------------------------------------------------------- */

static SECURITY_STATUS server_challenge(PkgStep *s, DigestCtx *c, bool stale) {
        char nonce[NONCE_HEX_LEN + 1];
        OutBuf o = {};
        bool want_int = s->req_flags & (ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT);
        SECURITY_STATUS st;

        if (c->store->alg == DIGEST_MD5 && !g_md5)
                return SEC_E_ALGORITHM_MISMATCH; /* the policy forbids what this store offers */
        if (nonce_new(c->store, nonce) < 0)
                return SEC_E_INTERNAL_ERROR;
        free(c->nonce);
        c->nonce = strdup(nonce);
        if (!c->nonce)
                return SEC_E_INSUFFICIENT_MEMORY;
        o.cap = 4096;
        o.p = malloc(o.cap);
        if (!o.p)
                return SEC_E_INSUFFICIENT_MEMORY;
        ob_str(&o, "Digest realm=");
        ob_quoted(&o, c->store->realm);
        ob_str(&o, want_int ? ", qop=\"auth,auth-int\"" : ", qop=\"auth\"");
        ob_str(&o, ", algorithm=");
        ob_str(&o, alg_name(c->store->alg, c->store->sess));
        ob_str(&o, ", nonce=\"");
        ob_str(&o, nonce);
        ob_str(&o, "\", opaque=\"");
        ob_str(&o, c->store->opaque);
        ob_str(&o, "\", charset=UTF-8");
        if (c->store->userhash)
                ob_str(&o, ", userhash=true");
        if (stale)
                ob_str(&o, ", stale=true");
        st = put_output(s, &o);
        free(o.p);
        if (st != SEC_E_OK)
                return st;
        c->challenged = true;
        s->ret_flags = s->req_flags & ASC_REQ_HTTP;
        s->expiry = FILETIME_NEVER;
        return SEC_I_CONTINUE_NEEDED;
}

/* username*=UTF-8''%xx... -> plain UTF-8 (RFC 8187), bounded. */
static bool decode_ext_value(const char *v, size_t len, char *out, size_t cap) {
        size_t n = 0;

        if (len < 7 || strncasecmp(v, "UTF-8'", 6))
                return false;
        v += 6, len -= 6;
        {
                const char *q = memchr(v, '\'', len); /* language tag */
                if (!q)
                        return false;
                len -= (size_t) (q + 1 - v);
                v = q + 1;
        }
        for (size_t i = 0; i < len; i++) {
                char ch = v[i];
                if (ch == '%') {
                        int hi, lo;
                        if (len - i < 3 || (hi = hex_val(v[i + 1])) < 0 || (lo = hex_val(v[i + 2])) < 0)
                                return false;
                        ch = (char) (hi << 4 | lo);
                        i += 2;
                }
                if (ch == '\0' || n + 1 >= cap)
                        return false;
                out[n++] = ch;
        }
        out[n] = '\0';
        return n > 0;
}

/*
 * Verify a response. The work after parsing does not depend on whether
 * the user exists: every user's key is compared, the HA1 of a missing
 * user is the store's random dummy, the comparison is constant-time.
 */
static SECURITY_STATUS server_verify(PkgStep *s, DigestCtx *c, const PkgBuffer *tok) {
        Store *store = c->store;
        DigestParams p;
        char method[33], body[DIGEST_HEX_MAX + 1], user[MAX_USER + 1], nc_s[9], expect[DIGEST_HEX_MAX + 1],
                got[DIGEST_HEX_MAX + 1];
        uint8_t raw[NONCE_RAW_LEN], key[32];
        const StoreUser *found = &store->dummy;
        DigestAlg alg = DIGEST_MD5;
        bool sess = false, auth_int, uh, match;
        unsigned long nc;
        NonceCheck nonce_state;
        PkgBuffer *uri_b, *realm_b;
        SECURITY_STATUS st;
        char *end;

        st = buffer_method(s, method, sizeof(method));
        if (st != SEC_E_OK)
                return st;
        if (digest_params_parse(tok->data, tok->len, &p) < 0)
                return SEC_E_INVALID_TOKEN;
        st = SEC_E_INVALID_TOKEN;
        if (!p.v[DP_REALM] || !p.v[DP_NONCE] || !p.v[DP_URI] || !p.v[DP_RESPONSE] || !p.v[DP_QOP] ||
            !p.v[DP_NC] || !p.v[DP_CNONCE] || p.len[DP_CNONCE] == 0 || p.len[DP_CNONCE] > 256 ||
            !(p.v[DP_USERNAME] || p.v[DP_USERNAME_EXT]) || (p.v[DP_USERNAME] && p.v[DP_USERNAME_EXT]))
                goto out;
        if (p.v[DP_ALGORITHM] && digest_alg_parse(p.v[DP_ALGORITHM], p.len[DP_ALGORITHM], &alg, &sess) < 0)
                goto out;
        if (alg != store->alg || sess != store->sess || (alg == DIGEST_MD5 && !g_md5)) {
                st = SEC_E_ALGORITHM_MISMATCH;
                goto out;
        }
        if (!strcasecmp(p.v[DP_QOP], "auth"))
                auth_int = false;
        else if (!strcasecmp(p.v[DP_QOP], "auth-int"))
                auth_int = true;
        else {
                st = SEC_E_QOP_NOT_SUPPORTED;
                goto out;
        }
        if (p.len[DP_NC] != 8 || !is_hex_str(p.v[DP_NC], 8))
                goto out;
        nc = strtoul(p.v[DP_NC], &end, 16);
        if (nc == 0)
                goto out;
        snprintf(nc_s, sizeof(nc_s), "%s", p.v[DP_NC]);
        if (!digest_uri_valid(p.v[DP_URI]) || p.len[DP_RESPONSE] != digest_alg_hexlen(alg) ||
            !is_hex_str(p.v[DP_RESPONSE], p.len[DP_RESPONSE]))
                goto out;
        for (size_t i = 0; i < p.len[DP_CNONCE]; i++)
                if (p.v[DP_CNONCE][i] == '"' || (uint8_t) p.v[DP_CNONCE][i] < 0x20)
                        goto out;

        st = SEC_E_LOGON_DENIED;
        if (strcmp(p.v[DP_REALM], store->realm) != 0)
                goto out;
        if (p.v[DP_OPAQUE] && strcmp(p.v[DP_OPAQUE], store->opaque) != 0)
                goto out;
        realm_b = nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 3);
        if (realm_b && realm_b->len > 0) {
                /* The realm parameter: UTF-16LE (the W API) or bytes. */
                char r[1025];
                size_t n = 0;
                bool wide = realm_b->len % 2 == 0 && realm_b->len >= 2 && realm_b->data[1] == 0;
                for (size_t i = 0; i < realm_b->len && n < sizeof(r) - 1; i += wide ? 2 : 1) {
                        if (realm_b->data[i] == 0)
                                break;
                        r[n++] = (char) realm_b->data[i];
                }
                r[n] = '\0';
                if (strcmp(r, store->realm) != 0)
                        goto out;
        }
        /* The URI the server saw must be the one the client hashed. */
        uri_b = nth_buffer(s->in, s->n_in, SECBUFFER_PKG_PARAMS, 1);
        if (uri_b && uri_b->len > 0) {
                size_t n = strnlen((const char *) uri_b->data, uri_b->len);
                if (n != p.len[DP_URI] || memcmp(uri_b->data, p.v[DP_URI], n) != 0)
                        goto out;
        }
        nonce_state = nonce_check(store, p.v[DP_NONCE], p.len[DP_NONCE], raw);
        if (nonce_state == NONCE_BAD)
                goto out;
        if (auth_int) {
                st = buffer_body_hash(s, 2, alg, body);
                if (st != SEC_E_OK)
                        goto out;
                st = SEC_E_LOGON_DENIED;
        }

        /* Who: a plain name, an ext-value, or H(user:realm). */
        uh = p.v[DP_USERHASH] && !strcasecmp(p.v[DP_USERHASH], "true");
        if (p.v[DP_USERNAME_EXT]) {
                if (!decode_ext_value(p.v[DP_USERNAME_EXT], p.len[DP_USERNAME_EXT], user, sizeof(user)))
                        goto out;
        } else if (p.len[DP_USERNAME] <= MAX_USER)
                memcpy(user, p.v[DP_USERNAME], p.len[DP_USERNAME] + 1);
        else
                user[0] = '\0';
        if (name_key(user, strlen(user), key) < 0) {
                st = SEC_E_INTERNAL_ERROR;
                goto out;
        }
        for (size_t i = 0; i < store->n_users; i++) {
                const StoreUser *u = &store->users[i];
                bool eq = uh ? strlen(user) == digest_alg_hexlen(alg) &&
                                       CRYPTO_memcmp(user, u->userhash[alg], digest_alg_hexlen(alg)) == 0
                             : CRYPTO_memcmp(key, u->key, 32) == 0;
                /* Select without branching on the match. */
                uintptr_t m = (uintptr_t) 0 - (uintptr_t) (eq && u->ha1[alg][0]);
                found = (const StoreUser *) (((uintptr_t) u & m) | ((uintptr_t) found & ~m));
        }
        {
                DigestInput in = {
                        .alg = alg, .sess = sess, .ha1 = found->ha1[alg], .nonce = p.v[DP_NONCE], .nc = nc_s,
                        .cnonce = p.v[DP_CNONCE], .qop = auth_int ? "auth-int" : "auth", .method = method,
                        .uri = p.v[DP_URI], .body_hex = auth_int ? body : NULL,
                };
                if (digest_response(&in, expect) < 0) {
                        st = SEC_E_INTERNAL_ERROR;
                        goto out;
                }
        }
        for (size_t i = 0; i <= p.len[DP_RESPONSE]; i++)
                got[i] = p.v[DP_RESPONSE][i] ? (char) (p.v[DP_RESPONSE][i] | 0x20) : '\0'; /* hex, lowercase */
        match = CRYPTO_memcmp(expect, got, p.len[DP_RESPONSE]) == 0 && found != &store->dummy;
        if (!match)
                goto out;

        /* The response is right; now is it in time, and new? */
        if (nonce_state == NONCE_STALE) {
                st = SEC_E_CONTEXT_EXPIRED;
                goto out;
        }
        if (!nonce_count_take(store, raw, (uint32_t) nc)) {
                st = SEC_E_OUT_OF_SEQUENCE;
                goto out;
        }

        free(c->user);
        c->user = strdup(found->name);
        if (!c->user) {
                st = SEC_E_INSUFFICIENT_MEMORY;
                goto out;
        }
        c->alg = alg;
        c->sess = sess;
        c->auth_int = auth_int;
        c->done = true;
        c->flags = (s->req_flags & ASC_REQ_HTTP) | (auth_int ? ASC_RET_INTEGRITY : 0);
        s->ret_flags = c->flags;
        s->expiry = FILETIME_NEVER;

        /* Authentication-Info (RFC 7616 §3.5) if the caller gave a slot. */
        if (nth_buffer(s->out, s->n_out, SECBUFFER_TOKEN, 0)) {
                char rsp[DIGEST_HEX_MAX + 1];
                OutBuf o = { .cap = 2048 };
                DigestInput in = {
                        .alg = alg, .sess = sess, .ha1 = found->ha1[alg], .nonce = p.v[DP_NONCE], .nc = nc_s,
                        .cnonce = p.v[DP_CNONCE], .qop = auth_int ? "auth-int" : "auth", .method = "",
                        .uri = p.v[DP_URI], .body_hex = auth_int ? body : NULL,
                };
                o.p = malloc(o.cap);
                if (!o.p || digest_response(&in, rsp) < 0) {
                        free(o.p);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                        goto out;
                }
                ob_str(&o, "rspauth=\"");
                ob_str(&o, rsp);
                ob_str(&o, "\", qop=");
                ob_str(&o, auth_int ? "auth-int" : "auth");
                ob_str(&o, ", nc=");
                ob_str(&o, nc_s);
                ob_str(&o, ", cnonce=");
                ob_quoted(&o, p.v[DP_CNONCE]);
                st = put_output(s, &o);
                free(o.p);
                if (st != SEC_E_OK)
                        goto out;
        }
        st = SEC_E_OK;
out:
        explicit_bzero(expect, sizeof(expect));
        digest_params_done(&p);
        return st;
}

static SECURITY_STATUS digest_accept_ctx(PkgStep *s) {
        DigestCred *cred = s->cred;
        DigestCtx *c = s->ctx;
        PkgBuffer *tok;
        SECURITY_STATUS st;
        bool created = false;

        if (!(s->req_flags & ASC_REQ_HTTP))
                return SEC_E_UNSUPPORTED_FUNCTION; /* SASL mode is not implemented */
        if (s->req_flags & ASC_REQ_CONFIDENTIALITY)
                return SEC_E_SECURITY_QOS_FAILED;
        if (c && !c->server)
                return SEC_E_INVALID_HANDLE;
        if (c && c->done)
                return (SECURITY_STATUS) STATUS_LOGON_FAILURE; /* WDigest: the context is already established */
        if (!c && (!cred || !(cred->use & SECPKG_CRED_INBOUND) || !cred->store))
                return SEC_E_NO_CREDENTIALS;

        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return SEC_E_INSUFFICIENT_MEMORY;
                c->server = true;
                c->store = store_ref(cred->store);
                c->start = filetime_now();
                created = true;
        }
        tok = input_token(s);
        st = tok ? server_verify(s, c, tok) : server_challenge(s, c, s->req_flags & ASC_REQ_STALE);
        if (created && st < 0) {
                digest_ctx_free(c);
                return st;
        }
        s->ctx = c;
        return st;
}

/* HTTP mode has no message to finish: see the header comment. */
static SECURITY_STATUS digest_complete(void *ctx, PkgBuffer *b, size_t n) {
        DigestCtx *c = ctx;
        return c && c->done ? SEC_E_OK : SEC_E_OUT_OF_SEQUENCE;
}

static SECURITY_STATUS digest_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        DigestCtx *c = ctx;

        switch (attr) {
        case SECPKG_ATTR_NAMES:
                if (!c->done || !c->user)
                        return SEC_E_INVALID_HANDLE;
                out->user_name = strdup(c->user);
                return out->user_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_LIFESPAN:
                out->has_lifespan = true;
                out->start = c->start;
                out->expiry = FILETIME_NEVER; /* Digest contexts do not expire */
                return SEC_E_OK;
        case SECPKG_ATTR_SIZES:
                out->has_sizes = true;
                out->sizes.cbMaxToken = DIGEST_MAX_TOKEN;
                return SEC_E_OK;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

static SECURITY_STATUS digest_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        return SEC_E_UNSUPPORTED_FUNCTION; /* SASL mode only */
}

static SECURITY_STATUS digest_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

static SECURITY_STATUS digest_import_ctx(const uint8_t *blob, size_t len, void **ret_ctx) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

static const char *const digest_aliases[] = { "Digest", NULL };

const Provider provider_digest = {
        .name = "WDigest",
        .comment = "Digest Authentication for Windows",
        .aliases = digest_aliases,
        .capabilities = SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                        SECPKG_FLAG_ASCII_BUFFERS,
        .version = 1,
        .rpcid = 21, /* RPC_C_AUTHN_DIGEST */
        .max_token = DIGEST_MAX_TOKEN,
        .setup = digest_setup,
        .acquire = digest_acquire,
        .cred_free = digest_cred_free,
        .cred_name = digest_cred_name,
        .step_may_block = digest_step_may_block,
        .init_ctx = digest_init_ctx,
        .accept_ctx = digest_accept_ctx,
        .complete = digest_complete,
        .query_ctx = digest_query_ctx,
        .sign = digest_sign,
        .verify = digest_verify,
        .seal = digest_sign,
        .unseal = digest_verify,
        .export_ctx = NULL,
        .import_ctx = digest_import_ctx,
        .ctx_free = digest_ctx_free,
};
