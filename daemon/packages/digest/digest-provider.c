/* SPDX-License-Identifier: MIT */
/*
 * The Digest package ("WDigest", alias "Digest"): HTTP Digest access
 * authentication (RFC 7616) in WDigest's HTTP mode (ISC_REQ_HTTP /
 * ASC_REQ_HTTP), and SASL DIGEST-MD5 (RFC 2831) without those flags
 * (digest-sasl.c).
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
 * CompleteAuthToken (digest-complete.c): an auth-int step without the
 * entity body returns SEC_I_COMPLETE_NEEDED (client: _AND_CONTINUE with
 * ISC_REQ_MUTUAL_AUTH) and CompleteAuthToken finishes it with the body;
 * otherwise the token is final when ISC/ASC returns and CompleteAuthToken
 * is a no-op. Without ISC_REQ_HTTP / ASC_REQ_HTTP the package runs SASL
 * DIGEST-MD5 (digest-sasl.c), whose Make/VerifySignature and
 * Encrypt/DecryptMessage are the SASL security layer; on an HTTP context
 * they are SEC_E_UNSUPPORTED_FUNCTION.
 */
#include "packages/digest/digest-private.h"

/* ---- stores ------------------------------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static Store **g_stores;
static size_t g_n_stores;
bool digest_g_md5 = true;
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

Store *digest_store_ref(Store *s) {
        if (s)
                __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
        return s;
}

void digest_store_unref(Store *s) {
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

void digest_hex_encode(const uint8_t *b, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[b[i] >> 4];
                out[2 * i + 1] = hex[b[i] & 15];
        }
        out[2 * n] = '\0';
}

int digest_hex_val(char c) {
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
                int hi = digest_hex_val(s[2 * i]), lo = digest_hex_val(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return len % 2 == 0;
}

bool digest_is_hex_str(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (digest_hex_val(s[i]) < 0)
                        return false;
        return true;
}

int digest_name_key(const char *name, size_t len, uint8_t key[32]) {
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
        return digest_name_key(u->name, strlen(u->name), u->key);
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
                if (hl != digest_alg_hexlen(alg) || !digest_is_hex_str(fields[nf - 1], hl)) {
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
                digest_store_unref(s);
                return -ENOMEM;
        }
        s->nonces->refcount = 1;
        s->nonces->n = n_nonces;
        s->userhash = g->userhash;
        s->name = strdup(g->name);
        s->realm = strdup(g->realm);
        if (!s->name || !s->realm) {
                digest_store_unref(s);
                return -ENOMEM;
        }
        if (g->algorithm && digest_alg_parse(g->algorithm, strlen(g->algorithm), &s->alg, &s->sess) < 0) {
                log_error("digest: [digest-store %s]: unknown algorithm %s", g->name, g->algorithm);
                digest_store_unref(s);
                return -EINVAL;
        }
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                digest_store_unref(s);
                return -EIO;
        }
        digest_hex_encode(rnd, 16, s->opaque);
        s->dummy.name = strdup("\x01");
        if (!s->dummy.name || user_fill_userhash(&s->dummy, s->realm) < 0) {
                digest_store_unref(s);
                return -ENOMEM;
        }
        for (int a = 0; a < N_DIGEST_ALGS; a++) {
                const char *p[1] = { (const char *) rnd };
                size_t l[1] = { sizeof(rnd) };
                if (digest_hash_hex(a, p, l, 1, s->dummy.ha1[a]) < 0) {
                        digest_store_unref(s);
                        return -EIO;
                }
        }
        explicit_bzero(rnd, sizeof(rnd));
        r = store_load_file(s, g->file);
        if (r < 0) {
                log_error("digest: [digest-store %s]: cannot load %s: %s", g->name, g->file, strerror(-r));
                digest_store_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

Store *digest_store_find(const char *name) {
        Store *s = NULL;

        pthread_mutex_lock(&g_lock);
        for (size_t i = 0; i < g_n_stores; i++)
                if (!strcmp(g_stores[i]->name, name)) {
                        s = digest_store_ref(g_stores[i]);
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
                                digest_store_unref(n[i]);
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
        digest_g_md5 = config->digest_md5;
        g_nonce_lifetime = config->digest_nonce_lifetime;
        pthread_mutex_unlock(&g_lock);
        for (size_t i = 0; i < n_old; i++)
                digest_store_unref(old[i]);
        free(old);
        return 0;
}

/* At exit, so that leak checkers see a clean daemon. */
__attribute__((destructor)) static void digest_teardown(void) {
        pthread_mutex_lock(&g_lock);
        for (size_t i = 0; i < g_n_stores; i++)
                digest_store_unref(g_stores[i]);
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

/* Nonce slots are 4-way set-associative: a nonce's random id picks its
 * set, and a new nonce takes a free or expired way of it, else the oldest.
 * A live nonce is then evicted only when its set is full of younger live
 * ones, not by a chance collision of two ids (direct-mapped, 16 open
 * challenges collided within a 4096-slot table about 3 % of the time). */
#define NONCE_WAYS 4

static NonceSlot *nonce_set(const Store *s, const uint8_t raw[NONCE_RAW_LEN]) {
        uint32_t h = (uint32_t) raw[8] | (uint32_t) raw[9] << 8 | (uint32_t) raw[10] << 16 | (uint32_t) raw[11] << 24;
        size_t sets = s->nonces->n / NONCE_WAYS;

        return &s->nonces->slots[(h % sets) * NONCE_WAYS];
}

/* The slot holding this nonce, or NULL when it was never issued or has
 * been forgotten. Caller holds g_lock. */
static NonceSlot *nonce_slot(const Store *s, const uint8_t raw[NONCE_RAW_LEN]) {
        NonceSlot *set = nonce_set(s, raw);

        for (unsigned i = 0; i < NONCE_WAYS; i++)
                if (set[i].used && !memcmp(set[i].id, raw + 8, NONCE_ID_LEN))
                        return &set[i];
        return NULL;
}

/* Where a new nonce goes. Caller holds g_lock. */
static NonceSlot *nonce_slot_new(const Store *s, const uint8_t raw[NONCE_RAW_LEN], uint64_t now) {
        NonceSlot *set = nonce_set(s, raw), *oldest = &set[0];

        for (unsigned i = 0; i < NONCE_WAYS; i++) {
                if (!set[i].used || now - set[i].issued >= g_nonce_lifetime)
                        return &set[i];
                if (set[i].issued < oldest->issued)
                        oldest = &set[i];
        }
        return oldest;
}

int digest_nonce_new(const Store *s, char out[NONCE_HEX_LEN + 1]) {
        uint8_t raw[NONCE_RAW_LEN];
        uint64_t now = (uint64_t) time(NULL);
        NonceSlot *slot;

        for (int i = 0; i < 8; i++)
                raw[i] = (uint8_t) (now >> (56 - 8 * i));
        if (RAND_bytes(raw + 8, NONCE_ID_LEN) != 1)
                return -EIO;
        nonce_mac(raw, s, raw + 8 + NONCE_ID_LEN);
        digest_hex_encode(raw, sizeof(raw), out);

        pthread_mutex_lock(&g_lock);
        slot = nonce_slot_new(s, raw, now);
        memcpy(slot->id, raw + 8, NONCE_ID_LEN);
        slot->used = true;
        slot->max_nc = 0;
        slot->seen = 0;
        slot->issued = now;
        pthread_mutex_unlock(&g_lock);
        return 0;
}

NonceCheck digest_nonce_check(const Store *s, const char *nonce, size_t len, uint8_t raw[NONCE_RAW_LEN]) {
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
        known = slot != NULL;
        if (ts > now + 5 || now - ts >= g_nonce_lifetime)
                known = false;
        pthread_mutex_unlock(&g_lock);
        return known ? NONCE_FRESH : NONCE_STALE;
}

/* Accept nonce count `nc` once: false for a count seen before (or too old
 * to tell), or when the nonce was forgotten meanwhile. */
bool digest_nonce_count_take(const Store *s, const uint8_t raw[NONCE_RAW_LEN], uint32_t nc) {
        NonceSlot *slot;
        bool ok = false;

        pthread_mutex_lock(&g_lock);
        slot = nonce_slot(s, raw);
        if (!slot)
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

static SECURITY_STATUS digest_query_ctx(void *ctx, uint32_t attr, PkgCtxAttr *out) {
        DigestCtx *c = ctx;

        switch (attr) {
        case SECPKG_ATTR_NAMES:
                if (!c->done || !c->user || c->pending_token || c->pending_in) /* CompleteAuthToken first */
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
                digest_sasl_sizes(c, &out->sizes);
                return SEC_E_OK;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

static const char *const digest_aliases[] = { "Digest", NULL };

const Provider provider_digest = {
        .name = "WDigest",
        .comment = "Digest Authentication for Windows",
        .aliases = digest_aliases,
        .capabilities = SECPKG_FLAG_TOKEN_ONLY | SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME |
                        SECPKG_FLAG_APPCONTAINER_CHECKS, /* what Windows 8.1/10 report for WDigest */
        .version = 1,
        .rpcid = 21, /* RPC_C_AUTHN_DIGEST */
        .max_token = DIGEST_PKG_MAX_TOKEN,
        .setup = digest_setup,
        .acquire = digest_acquire,
        .cred_free = digest_cred_free,
        .cred_name = digest_cred_name,
        .step_may_block = digest_step_may_block,
        .init_ctx = digest_init_ctx,
        .accept_ctx = digest_accept_ctx,
        .complete = digest_complete,
        .query_ctx = digest_query_ctx,
        .sign = digest_sasl_sign,
        .verify = digest_sasl_verify,
        .seal = digest_sasl_seal,
        .unseal = digest_sasl_unseal,
        .export_live = digest_export_live,
        .ctx_free = digest_ctx_free,
};
