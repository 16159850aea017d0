/* SPDX-License-Identifier: MIT */
/*
 * Schannel credentials: the certificates the daemon holds, SCHANNEL_CRED /
 * SCH_CREDENTIALS with TLS_PARAMETERS and CRYPTO_SETTINGS, the servers'
 * session-cache budget.
 */
#include "packages/schannel/schannel-private.h"

/* ---- certificates held by the daemon ---- */

static int load_grant(const CertificateGrant *g, X509 **ret_cert, EVP_PKEY **ret_key, STACK_OF(X509) **ret_chain) {
        BIO *b = BIO_new_file(g->file, "rb");
        X509 *cert = NULL;
        EVP_PKEY *key = NULL;
        STACK_OF(X509) *chain = NULL;
        PKCS12 *p12;

        if (!b)
                return -ENOENT;
        p12 = d2i_PKCS12_bio(b, NULL);
        if (p12) {
                int ok = PKCS12_parse(p12, g->password ? g->password : "", &key, &cert, &chain);
                PKCS12_free(p12);
                BIO_free(b);
                if (!ok)
                        goto fail;
        } else {
                X509 *x;
                ERR_clear_error();
                (void) BIO_reset(b);
                cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
                if (!cert) {
                        BIO_free(b);
                        goto fail;
                }
                chain = sk_X509_new_null();
                while (chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
                        sk_X509_push(chain, x);
                ERR_clear_error();
                BIO_free(b);
                b = BIO_new_file(g->key ? g->key : g->file, "rb");
                if (b) {
                        key = PEM_read_bio_PrivateKey(b, NULL, NULL, g->password);
                        BIO_free(b);
                }
        }
        ERR_clear_error();
        if (!cert || !key)
                goto fail;
        *ret_cert = cert;
        *ret_key = key;
        *ret_chain = chain;
        return 0;
fail:
        ERR_clear_error();
        X509_free(cert);
        EVP_PKEY_free(key);
        sk_X509_pop_free(chain, X509_free);
        return -EINVAL;
}

/* The granted certificate whose public key matches `der`, or (der NULL)
 * whose SHA-1 thumbprint is `sha1` (SCH_CRED_FORMAT_CERT_HASH). */
static SECURITY_STATUS find_certificate(const PkgAcquire *a, const uint8_t *der, size_t len, const uint8_t *sha1,
                                        SchCred *c) {
        const unsigned char *p = der;
        X509 *want = der ? d2i_X509(NULL, &p, (long) len) : NULL;
        SECURITY_STATUS st = SEC_E_NO_CREDENTIALS;

        if (der && (!want || p != der + len)) {
                X509_free(want);
                ERR_clear_error();
                return SEC_E_UNKNOWN_CREDENTIALS;
        }
        for (size_t i = 0; i < a->config->n_certificates; i++) {
                const CertificateGrant *g = &a->config->certificates[i];
                X509 *cert = NULL;
                EVP_PKEY *key = NULL;
                STACK_OF(X509) *chain = NULL;

                if (!principals_match(&g->allow, a->caller))
                        continue;
                if (load_grant(g, &cert, &key, &chain) < 0) {
                        log_warning("schannel: [certificate %s]: cannot load %s", g->name, g->file);
                        continue;
                }
                if (!want) {
                        uint8_t md[EVP_MAX_MD_SIZE];
                        unsigned md_len = 0;
                        if (X509_digest(cert, EVP_sha1(), md, &md_len) != 1 || md_len != 20 || memcmp(md, sha1, 20))
                                md_len = 0;
                        if (md_len && X509_check_private_key(cert, key) == 1) {
                                c->cert = cert;
                                c->key = key;
                                c->chain = chain;
                                st = SEC_E_OK;
                                break;
                        }
                } else if (EVP_PKEY_eq(X509_get0_pubkey(cert), X509_get0_pubkey(want)) == 1 &&
                           X509_check_private_key(cert, key) == 1) {
                        c->cert = cert;
                        c->key = key;
                        c->chain = chain;
                        st = SEC_E_OK;
                        break;
                }
                X509_free(cert);
                EVP_PKEY_free(key);
                sk_X509_pop_free(chain, X509_free);
        }
        ERR_clear_error();
        X509_free(want);
        return st;
}

/* SP_PROT_* -> an OpenSSL version range; 0 when nothing usable is left. */
int sch_protocol_range(uint32_t enabled, uint32_t disabled, bool server, int *ret_min, int *ret_max) {
        static const struct {
                uint32_t bits;
                int version;
        } map[] = {
                { SP_PROT_TLS1_0, TLS1_VERSION },
                { SP_PROT_TLS1_1, TLS1_1_VERSION },
                { SP_PROT_TLS1_2, TLS1_2_VERSION },
                { SP_PROT_TLS1_3, TLS1_3_VERSION },
        };
        uint32_t side = server ? (SP_PROT_TLS1_0_SERVER | SP_PROT_TLS1_1_SERVER | SP_PROT_TLS1_2_SERVER |
                                  SP_PROT_TLS1_3_SERVER)
                               : (SP_PROT_TLS1_0_CLIENT | SP_PROT_TLS1_1_CLIENT | SP_PROT_TLS1_2_CLIENT |
                                  SP_PROT_TLS1_3_CLIENT);
        int lo = 0, hi = 0;

        if (enabled == 0 || enabled == SP_PROT_ALL)
                enabled = SP_PROT_TLS1_2 | SP_PROT_TLS1_3; /* the system default */
        enabled &= ~disabled & side;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (enabled & map[i].bits) {
                        if (!lo)
                                lo = map[i].version;
                        hi = map[i].version;
                }
        *ret_min = lo;
        *ret_max = hi;
        return lo ? 0 : -EPROTONOSUPPORT;
}

int sch_new_session_cb(SSL *ssl, SSL_SESSION *sess);
int sch_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned inlen, void *arg);
int sch_client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_key);

/* ---- TLS_PARAMETERS, CRYPTO_SETTINGS and cipher strengths ----
 *
 * A CRYPTO_SETTINGS entry disables a CNG algorithm for one use, entirely
 * (no chaining modes, bit lengths 0) or outside [dwMinBitLength,
 * dwMaxBitLength] and/or for the listed chaining modes. What maps onto
 * OpenSSL: Cipher (AES, CHACHA20_POLY1305, 3DES, ...; modes GCM/CCM/CBC;
 * key bits), Digest (the suite's hash), KeyExchange (the suite's exchange in
 * TLS 1.2; ECDH/DH/named curves as the groups offered), Signature (RSA,
 * ECDSA, SCH_RSA_PSS_PAD, SCH_RSA_PKCS_PAD as signature algorithms, without
 * bit lengths). CertSig and anything else is refused with
 * SEC_E_UNSUPPORTED_FUNCTION, unknown names with SEC_E_ALGORITHM_MISMATCH.
 * Entries with ALPN ids are checked once that protocol is negotiated
 * (protocol versions and suites only). */

enum { USAGE_KEYX = 0, USAGE_SIGNATURE = 1, USAGE_CIPHER = 2, USAGE_DIGEST = 3, USAGE_CERTSIG = 4 };

static const char *suite_cipher(const SSL_CIPHER *ci, const char **ret_mode) {
        switch (SSL_CIPHER_get_cipher_nid(ci)) {
        case NID_aes_128_gcm:
        case NID_aes_256_gcm:
                *ret_mode = "ChainingModeGCM";
                return "AES";
        case NID_aes_128_ccm:
        case NID_aes_256_ccm:
                *ret_mode = "ChainingModeCCM";
                return "AES";
        case NID_aes_128_cbc:
        case NID_aes_256_cbc:
                *ret_mode = "ChainingModeCBC";
                return "AES";
        case NID_des_ede3_cbc:
                *ret_mode = "ChainingModeCBC";
                return "3DES";
        case NID_chacha20_poly1305:
                *ret_mode = NULL;
                return "CHACHA20_POLY1305";
        default:
                *ret_mode = NULL;
                return "";
        }
}

static const char *suite_digest(const SSL_CIPHER *ci) {
        int nid = SSL_CIPHER_is_aead(ci) ? EVP_MD_get_type(SSL_CIPHER_get_handshake_digest(ci))
                                         : SSL_CIPHER_get_digest_nid(ci);
        return nid == NID_sha1 ? "SHA1" : nid == NID_sha256 ? "SHA256" : nid == NID_sha384 ? "SHA384" : "";
}

static const char *suite_keyx(const SSL_CIPHER *ci) {
        switch (SSL_CIPHER_get_kx_nid(ci)) {
        case NID_kx_ecdhe:
                return "ECDH";
        case NID_kx_dhe:
                return "DH";
        case NID_kx_rsa:
                return "RSA";
        default:
                return NULL; /* TLS 1.3: the groups decide */
        }
}

static bool in_range(const Sspiw__CryptoSetting *cs, int bits) {
        uint32_t lo = cs->has_min_bits ? cs->min_bits : 0, hi = cs->has_max_bits ? cs->max_bits : 0;
        if (!lo && !hi)
                return false; /* no lengths: the whole algorithm */
        return (!lo || (uint32_t) bits >= lo) && (!hi || (uint32_t) bits <= hi);
}

/* Whether `cs` disables suite `ci`. */
static bool setting_hits_suite(const Sspiw__CryptoSetting *cs, const SSL_CIPHER *ci) {
        const char *mode = NULL, *alg;
        int bits = 0;

        SSL_CIPHER_get_bits(ci, &bits);
        switch (cs->usage) {
        case USAGE_CIPHER:
                alg = suite_cipher(ci, &mode);
                if (strcasecmp(cs->alg, alg))
                        return false;
                if (cs->n_chaining_modes) {
                        bool hit = false;
                        for (size_t i = 0; i < cs->n_chaining_modes; i++)
                                hit |= mode && !strcasecmp(cs->chaining_modes[i], mode);
                        if (!hit)
                                return false;
                }
                return (!cs->has_min_bits || !cs->min_bits) && (!cs->has_max_bits || !cs->max_bits)
                               ? true
                               : !in_range(cs, bits);
        case USAGE_DIGEST:
                return !strcasecmp(cs->alg, suite_digest(ci));
        case USAGE_KEYX:
                alg = suite_keyx(ci);
                return alg && !strcasecmp(cs->alg, alg);
        default:
                return false;
        }
}

static const char *const cipher_names[] = { "AES", "CHACHA20_POLY1305", "3DES", "DES", "RC4", "RC2", NULL };
static const char *const digest_names[] = { "MD5", "SHA1", "SHA256", "SHA384", "SHA512", NULL };
static const char *const keyx_names[] = { "ECDH", "DH", "RSA", "ECDH_P256", "ECDH_P384", "ECDH_P521", "curve25519", NULL };
static const char *const sig_names[] = { "RSA", "ECDSA", "SCH_RSA_PSS_PAD", "SCH_RSA_PKCS_PAD", NULL };

bool sch_known(const char *const *names, const char *s) {
        for (; *names; names++)
                if (!strcasecmp(*names, s))
                        return true;
        return false;
}

/* Refusals common to every entry. */
static SECURITY_STATUS check_setting(const Sspiw__CryptoSetting *cs, bool alpn_scoped) {
        bool lengths = (cs->has_min_bits && cs->min_bits) || (cs->has_max_bits && cs->max_bits);

        switch (cs->usage) {
        case USAGE_CIPHER:
                return sch_known(cipher_names, cs->alg) ? SEC_E_OK : SEC_E_ALGORITHM_MISMATCH;
        case USAGE_DIGEST:
                if (!sch_known(digest_names, cs->alg))
                        return SEC_E_ALGORITHM_MISMATCH;
                return cs->n_chaining_modes || lengths ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK;
        case USAGE_KEYX:
                if (!sch_known(keyx_names, cs->alg))
                        return SEC_E_ALGORITHM_MISMATCH;
                /* After the handshake has begun only the TLS 1.2 suite can be judged. */
                if (alpn_scoped && (lengths || strcasecmp(cs->alg, "RSA")))
                        return SEC_E_UNSUPPORTED_FUNCTION;
                return cs->n_chaining_modes ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK;
        case USAGE_SIGNATURE:
                if (!sch_known(sig_names, cs->alg))
                        return SEC_E_ALGORITHM_MISMATCH;
                return alpn_scoped || lengths || cs->n_chaining_modes ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION; /* CertSig: certificate chains are judged by OpenSSL's policy */
        }
}

/* Key exchange groups: which a KeyExchange setting leaves. */
static const struct {
        const char *openssl, *cng;
        bool ec;
        int bits;
} groups[] = {
        { "X25519", "curve25519", true, 255 },  { "P-256", "ECDH_P256", true, 256 },
        { "P-384", "ECDH_P384", true, 384 },    { "P-521", "ECDH_P521", true, 521 },
        { "ffdhe2048", NULL, false, 2048 },     { "ffdhe3072", NULL, false, 3072 },
        { "ffdhe4096", NULL, false, 4096 },
};

static const struct {
        const char *name;
        const char *alg;  /* RSA or ECDSA */
        bool pss;
} sigalgs[] = {
        { "ECDSA+SHA256", "ECDSA", false },     { "ECDSA+SHA384", "ECDSA", false },
        { "ECDSA+SHA512", "ECDSA", false },     { "rsa_pss_rsae_sha256", "RSA", true },
        { "rsa_pss_rsae_sha384", "RSA", true }, { "rsa_pss_rsae_sha512", "RSA", true },
        { "rsa_pss_pss_sha256", "RSA", true },  { "rsa_pss_pss_sha384", "RSA", true },
        { "rsa_pss_pss_sha512", "RSA", true },  { "RSA+SHA256", "RSA", false },
        { "RSA+SHA384", "RSA", false },         { "RSA+SHA512", "RSA", false },
};

static bool append(char *buf, size_t cap, const char *s) {
        size_t n = strlen(buf);
        if (n + 1 + strlen(s) + 1 > cap)
                return false;
        if (n)
                buf[n++] = ':';
        strcpy(buf + n, s);
        return true;
}

/* The credential-wide restrictions (TLS_PARAMETERS without ALPN ids,
 * dwMinimum/dwMaximumCipherStrength) applied to the SSL_CTX; the version
 * range narrows when one version has no suite left. */
static SECURITY_STATUS apply_restrictions(SSL_CTX *ctx, const Sspiw__SchannelCred *w, int *lo, int *hi) {
        uint32_t min_bits = w && w->has_min_cipher_strength ? w->min_cipher_strength : 0;
        uint32_t max_bits = w && w->has_max_cipher_strength ? w->max_cipher_strength : 0;
        const Sspiw__CryptoSetting *cs[256];
        size_t n_cs = 0, n_global = 0;
        bool kx_groups = false, sig = false;
        char tls13[512] = "", tls12[8192] = "", list[512] = "";
        STACK_OF(SSL_CIPHER) *sk;
        SECURITY_STATUS st;

        if (min_bits == 0xffffffffu)
                return SEC_E_ALGORITHM_MISMATCH; /* NULL-cipher suites only: none here */
        for (size_t i = 0; w && i < w->n_tls_params; i++) {
                const Sspiw__TlsParams *t = w->tls_params[i];
                if (t->has_flags && (t->flags & 0x1u /* TLS_PARAMS_OPTIONAL */))
                        return SEC_E_UNSUPPORTED_FUNCTION;
                if (t->n_alpn_ids == 0 && ++n_global > 1)
                        return SEC_E_INVALID_PARAMETER; /* at most one entry without ALPN ids */
                for (size_t j = 0; j < t->n_disabled_crypto; j++) {
                        st = check_setting(t->disabled_crypto[j], t->n_alpn_ids > 0);
                        if (st != SEC_E_OK)
                                return st;
                        if (t->n_alpn_ids == 0 && n_cs < 256) {
                                cs[n_cs++] = t->disabled_crypto[j];
                                kx_groups |= t->disabled_crypto[j]->usage == USAGE_KEYX &&
                                             strcasecmp(t->disabled_crypto[j]->alg, "RSA");
                                sig |= t->disabled_crypto[j]->usage == USAGE_SIGNATURE;
                        }
                }
        }
        if (n_cs == 0 && !min_bits && !max_bits)
                return SEC_E_OK;

        /* Suites. */
        sk = SSL_CTX_get_ciphers(ctx);
        for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk); i++) {
                const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
                int bits = 0;
                bool off = false, v13;
                SSL_CIPHER_get_bits(ci, &bits);
                off = (min_bits && (uint32_t) bits < min_bits) || (max_bits && (uint32_t) bits > max_bits);
                for (size_t k = 0; !off && k < n_cs; k++)
                        off = setting_hits_suite(cs[k], ci);
                if (off)
                        continue;
                v13 = !strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3");
                if (!append(v13 ? tls13 : tls12, v13 ? sizeof(tls13) : sizeof(tls12), SSL_CIPHER_get_name(ci)))
                        return SEC_E_INTERNAL_ERROR;
        }
        if (SSL_CTX_set_ciphersuites(ctx, tls13) != 1)
                return SEC_E_INTERNAL_ERROR;
        if (!*tls13 && *hi >= TLS1_3_VERSION)
                *hi = TLS1_2_VERSION;
        if (!*tls12 && *lo <= TLS1_2_VERSION)
                *lo = TLS1_3_VERSION;
        else if (*tls12 && SSL_CTX_set_cipher_list(ctx, tls12) != 1)
                return SEC_E_INTERNAL_ERROR;

        /* Groups (ECDH, DH, named curves). */
        if (kx_groups) {
                for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
                        bool off = false;
                        for (size_t k = 0; !off && k < n_cs; k++) {
                                if (cs[k]->usage != USAGE_KEYX)
                                        continue;
                                if (!strcasecmp(cs[k]->alg, groups[g].ec ? "ECDH" : "DH"))
                                        off = !(cs[k]->has_min_bits && cs[k]->min_bits) &&
                                                              !(cs[k]->has_max_bits && cs[k]->max_bits)
                                                      ? true
                                                      : !in_range(cs[k], groups[g].bits);
                                else if (groups[g].cng && !strcasecmp(cs[k]->alg, groups[g].cng))
                                        off = true;
                        }
                        if (!off && !append(list, sizeof(list), groups[g].openssl))
                                return SEC_E_INTERNAL_ERROR;
                }
                if (!*list)
                        return SEC_E_ALGORITHM_MISMATCH;
                if (SSL_CTX_set1_groups_list(ctx, list) != 1)
                        return SEC_E_INTERNAL_ERROR;
        }

        /* Signature algorithms. */
        if (sig) {
                *list = 0;
                for (size_t a = 0; a < sizeof(sigalgs) / sizeof(sigalgs[0]); a++) {
                        bool off = false;
                        for (size_t k = 0; !off && k < n_cs; k++) {
                                if (cs[k]->usage != USAGE_SIGNATURE)
                                        continue;
                                if (!strcasecmp(cs[k]->alg, "SCH_RSA_PSS_PAD"))
                                        off = sigalgs[a].pss;
                                else if (!strcasecmp(cs[k]->alg, "SCH_RSA_PKCS_PAD"))
                                        off = !strcmp(sigalgs[a].alg, "RSA") && !sigalgs[a].pss;
                                else
                                        off = !strcasecmp(cs[k]->alg, sigalgs[a].alg);
                        }
                        if (!off && !append(list, sizeof(list), sigalgs[a].name))
                                return SEC_E_INTERNAL_ERROR;
                }
                if (!*list)
                        return SEC_E_ALGORITHM_MISMATCH;
                if (SSL_CTX_set1_sigalgs_list(ctx, list) != 1)
                        return SEC_E_INTERNAL_ERROR;
        }
        return *lo <= *hi ? SEC_E_OK : SEC_E_ALGORITHM_MISMATCH;
}

/* Whether the ALPN-scoped entries allow `proto` with this connection's
 * version and suite (cipher: the one being negotiated). */
bool sch_alpn_allowed(const SchCred *c, SSL *ssl, const SSL_CIPHER *ci, bool server, const unsigned char *proto,
                         unsigned len) {
        int version = SSL_version(ssl);
        uint32_t bit = version == TLS1_3_VERSION   ? SP_PROT_TLS1_3_CLIENT
                       : version == TLS1_2_VERSION ? SP_PROT_TLS1_2_CLIENT
                       : version == TLS1_1_VERSION ? SP_PROT_TLS1_1_CLIENT
                                                   : SP_PROT_TLS1_0_CLIENT;

        if (server)
                bit >>= 1;
        for (size_t i = 0; i < c->n_rules; i++) {
                const Sspiw__TlsParams *t = c->rules[i];
                bool match = false;
                for (size_t j = 0; j < t->n_alpn_ids; j++)
                        match |= t->alpn_ids[j].len == len && !memcmp(t->alpn_ids[j].data, proto, len);
                if (!match)
                        continue;
                if (t->has_disabled_protocols && (t->disabled_protocols & bit))
                        return false;
                for (size_t j = 0; ci && j < t->n_disabled_crypto; j++)
                        if (setting_hits_suite(t->disabled_crypto[j], ci))
                                return false;
        }
        return true;
}

/* The entries with ALPN ids, kept with the credential. */
static SECURITY_STATUS copy_rules(SchCred *c, const Sspiw__SchannelCred *w) {
        size_t n = 0, len;
        uint8_t *buf;

        for (size_t i = 0; w && i < w->n_tls_params; i++)
                n += w->tls_params[i]->n_alpn_ids > 0;
        if (n == 0)
                return SEC_E_OK;
        len = sspiw__schannel_cred__get_packed_size(w);
        buf = malloc(len ? len : 1);
        if (!buf)
                return SEC_E_INSUFFICIENT_MEMORY;
        sspiw__schannel_cred__pack(w, buf);
        c->params = sspiw__schannel_cred__unpack(NULL, len, buf);
        free(buf);
        c->rules = calloc(n, sizeof(*c->rules));
        if (!c->params || !c->rules)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (size_t i = 0; i < c->params->n_tls_params; i++)
                if (c->params->tls_params[i]->n_alpn_ids > 0)
                        c->rules[c->n_rules++] = c->params->tls_params[i];
        return SEC_E_OK;
}

/* The server session caches share one budget, [schannel] session-cache
 * sessions daemon-wide (as Windows' MaximumCacheSize), split evenly among
 * the server credentials alive; each keeps at least SERVER_CACHE_MIN (or
 * the whole budget if smaller). A credential over its share loses its
 * oldest sessions as new ones come. */

static pthread_mutex_t servers_lock = PTHREAD_MUTEX_INITIALIZER;
static SchCred *servers;
static unsigned n_servers, server_budget = 1;

/* Called with servers_lock held. */
static void servers_rebalance(void) {
        unsigned floor = server_budget < SERVER_CACHE_MIN ? server_budget : SERVER_CACHE_MIN;
        unsigned share = n_servers ? server_budget / n_servers : server_budget;

        if (share < floor)
                share = floor;
        /* OpenSSL 3.0 counts the session being added before it compares
         * with the size, so a size of N keeps N - 1: hence the + 1. */
        for (SchCred *c = servers; c; c = c->srv_next)
                SSL_CTX_sess_set_cache_size(c->ssl_ctx, (long) share + 1);
}

static void servers_add(SchCred *c, unsigned budget) {
        pthread_mutex_lock(&servers_lock);
        c->srv_next = servers;
        if (servers)
                servers->srv_prev = c;
        servers = c;
        c->listed = true;
        n_servers++;
        server_budget = budget ? budget : 1;
        servers_rebalance();
        pthread_mutex_unlock(&servers_lock);
}

static void servers_remove(SchCred *c) {
        pthread_mutex_lock(&servers_lock);
        if (c->srv_prev)
                c->srv_prev->srv_next = c->srv_next;
        else
                servers = c->srv_next;
        if (c->srv_next)
                c->srv_next->srv_prev = c->srv_prev;
        n_servers--;
        servers_rebalance();
        pthread_mutex_unlock(&servers_lock);
}

void sch_cred_free(void *p) {
        SchCred *c = p;

        if (!c)
                return;
        if (c->listed)
                servers_remove(c);
        for (CacheEntry *e = c->cache, *n; e; e = n) {
                n = e->next;
                SSL_SESSION_free(e->session);
                free(e->target);
                free(e);
        }
        SSL_CTX_free(c->ssl_ctx);
        SSL_CTX_free(c->dtls_ctx);
        if (c->dtls_params)
                sspiw__schannel_cred__free_unpacked(c->dtls_params, NULL);
        if (c->params)
                sspiw__schannel_cred__free_unpacked(c->params, NULL);
        free(c->rules);
        sk_SSL_CIPHER_free(c->base);
        free(c->algs);
        X509_free(c->cert);
        EVP_PKEY_free(c->key);
        sk_X509_pop_free(c->chain, X509_free);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* One SSL_CTX of the credential (TLS's, or DTLS 1.2's) into *ret, which
 * the credential owns (sch_cred_free) even when this fails. */
static SECURITY_STATUS ctx_setup(SchCred *c, const Config *config, const Sspiw__SchannelCred *w, bool server,
                                 bool dtls, int lo, int hi, SSL_CTX **ret) {
        SSL_CTX *ctx = SSL_CTX_new(dtls ? DTLS_method() : TLS_method());
        SECURITY_STATUS st;

        *ret = ctx;
        if (!ctx)
                return SEC_E_INSUFFICIENT_MEMORY;
        /* TLS_PARAMETERS, CRYPTO_SETTINGS, cipher strengths: honoured or refused. */
        st = apply_restrictions(ctx, w, &lo, &hi);
        if (st != SEC_E_OK) {
                sch_log_ssl_errors("TLS parameters");
                return st;
        }
        if (dtls) {
                lo = hi = DTLS1_2_VERSION;
                /* No renegotiation over datagrams (nor through the
                 * caller's retransmission scheme). */
                SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
        }
        SSL_CTX_set_min_proto_version(ctx, lo);
        SSL_CTX_set_max_proto_version(ctx, hi);
        if (!trust_setup(ctx, config, server))
                return SEC_E_INSUFFICIENT_MEMORY;
        trust_use_chain_cache(ctx, &c->scope);
        if (c->cert) {
                if (SSL_CTX_use_certificate(ctx, c->cert) != 1 ||
                    SSL_CTX_use_PrivateKey(ctx, c->key) != 1) {
                        sch_log_ssl_errors("certificate");
                        return SEC_E_NO_CREDENTIALS;
                }
                for (int i = 0; c->chain && i < sk_X509_num(c->chain); i++)
                        SSL_CTX_add1_chain_cert(ctx, sk_X509_value(c->chain, i));
                /* The chain we send is built once, here: the certificate
                 * file's own chain, else the issuers found among the
                 * trusted roots; the root itself only with
                 * SCH_SEND_ROOT_CERT, as on Windows. (OpenSSL would
                 * otherwise rebuild it, root included, on every handshake.) */
                if (!c->chain || sk_X509_num(c->chain) == 0)
                        (void) SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                                                            ((c->flags & SCH_SEND_ROOT_CERT)
                                                                                     ? 0
                                                                                     : SSL_BUILD_CHAIN_FLAG_NO_ROOT));
                SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
                ERR_clear_error();
        }
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *) "sspid", 5);
        /* TLS 1.3 traffic secrets for message-protection = caller (only
         * contexts that hand keys to the library keep them; OpenSSL formats
         * every secret as text for the callback, so none without it). */
        if (!dtls && !config->message_in_daemon)
                SSL_CTX_set_keylog_callback(ctx, sch_keylog_cb);
        if (server) {
                /* Sessions live in this credential's server cache (TLS 1.3
                 * tickets are stateful), so that a connection can take its
                 * sessions out (SCH_CRED_DISABLE_RECONNECTS,
                 * SSL_SESSION_DISABLE_RECONNECTS) or put them back
                 * (SSL_SESSION_ENABLE_RECONNECTS). */
                SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
                /* Bounded by servers_add() below (OpenSSL's default of
                 * 20,480 per credential grew the daemon by ~1 KiB a
                 * handshake under soak). */
                SSL_CTX_sess_set_new_cb(ctx, sch_new_session_cb);
                SSL_CTX_set_timeout(ctx, c->lifespan_ms / 1000 ? c->lifespan_ms / 1000 : 1);
                SSL_CTX_set_alpn_select_cb(ctx, sch_alpn_select_cb, NULL);
        } else {
                SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
                SSL_CTX_sess_set_new_cb(ctx, sch_new_session_cb);
                if (!c->cert)
                        SSL_CTX_set_client_cert_cb(ctx, sch_client_cert_cb);
        }
        return SEC_E_OK;
}

SECURITY_STATUS sch_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        const Sspiw__SchannelCred *w = a->schannel;
        bool server = a->use & SECPKG_CRED_INBOUND;
        int lo, hi;
        SchCred *c;
        SECURITY_STATUS st;

        pthread_once(&sch_ex_once, sch_ex_init);
        /* Windows-verified in Wine's schannel.c testAcquireSecurityContext:
         * a server without SCHANNEL_CRED is SEC_E_NO_CREDENTIALS, two
         * certificates SEC_E_UNKNOWN_CREDENTIALS. */
        if (server && !w)
                return SEC_E_NO_CREDENTIALS;
        if (a->has_identity)
                return SEC_E_UNKNOWN_CREDENTIALS; /* passwords mean nothing to TLS */
        if (w && w->n_certs > 1)
                return SEC_E_UNKNOWN_CREDENTIALS; /* one certificate per credential */
        uint32_t enabled = w && w->has_enabled_protocols ? w->enabled_protocols : 0;
        uint32_t disabled = w && w->has_disabled_protocols ? w->disabled_protocols : 0;
        bool dtls = (enabled & SP_PROT_DTLS1_X) != 0;
        if (dtls) {
                /* Windows-verified in Wine's schannel.c test_dtls: DTLS
                 * bits with any TLS or SSL bit (either side) are
                 * SEC_E_ALGORITHM_MISMATCH. DTLS 1.0 (RFC 4347, deprecated
                 * by RFC 8996) is not offered here: a credential that
                 * enables nothing but it is refused the same way. */
                uint32_t side = server ? SP_PROT_DTLS1_2_SERVER : SP_PROT_DTLS1_2_CLIENT;
                if ((enabled & ~SP_PROT_DTLS1_X) || !(enabled & ~disabled & side))
                        return SEC_E_ALGORITHM_MISMATCH;
                lo = hi = TLS1_2_VERSION; /* DTLS 1.2 takes TLS 1.2's suites */
        } else if (sch_protocol_range(enabled, disabled, server, &lo, &hi) < 0)
                return SEC_E_ALGORITHM_MISMATCH;

        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        pthread_mutex_init(&c->lock, NULL);
        c->use = a->use;
        c->flags = w ? w->flags : 0;
        c->lifespan_ms = w && w->has_session_lifespan_ms && w->session_lifespan_ms ? w->session_lifespan_ms
                                                                                 : SCH_DEFAULT_LIFESPAN_MS;
        c->pid = a->caller->pid;
        c->uid = a->act_as_uid;
        if (w && w->has_cert_hash) {
                /* A thumbprint: the daemon's certificates are the "MY" store. */
                if (w->cert_hash.len != 20) {
                        sch_cred_free(c);
                        return SEC_E_UNKNOWN_CREDENTIALS;
                }
                if (w->cert_store && strcasecmp(w->cert_store, "MY")) {
                        log_debug("schannel: certificate store \"%s\" does not exist here", w->cert_store);
                        sch_cred_free(c);
                        return SEC_E_NO_CREDENTIALS;
                }
                st = find_certificate(a, NULL, 0, w->cert_hash.data, c);
                if (st != SEC_E_OK) {
                        sch_cred_free(c);
                        return st;
                }
        } else if (w && w->n_certs == 1) {
                st = find_certificate(a, w->certs[0].data, w->certs[0].len, NULL, c);

                if (st != SEC_E_OK) {
                        sch_cred_free(c);
                        return st;
                }
        }
        /* A server SCHANNEL_CRED without certificate is accepted, as on
         * Windows since Vista (Wine's testAcquireSecurityContext); its
         * AcceptSecurityContext then says SEC_E_NO_CREDENTIALS. */

        c->dtls = dtls;
        c->cache_max = a->config->tls_session_cache < CLIENT_CACHE_MAX ? a->config->tls_session_cache
                                                                      : CLIENT_CACHE_MAX;
        if (c->cache_max == 0)
                c->cache_max = 1;
        c->scope = (TrustScope) { .uid = c->uid, .ttl = a->config->tls_chain_cache };
        if (dtls)
                st = ctx_setup(c, a->config, w, server, dtls, lo, hi, &c->ssl_ctx);
        else {
                /* TLS: the suites TLS_PARAMETERS and CRYPTO_SETTINGS leave
                 * are the base the cipher strengths (here and in
                 * SetCredentialsAttributes, schannel-credattr.c) choose
                 * from. */
                Sspiw__SchannelCred no_strengths;
                if (w) {
                        no_strengths = *w;
                        no_strengths.has_min_cipher_strength = no_strengths.has_max_cipher_strength = false;
                }
                st = ctx_setup(c, a->config, w ? &no_strengths : NULL, server, false, lo, hi, &c->ssl_ctx);
                if (st == SEC_E_OK) {
                        c->want_lo = lo;
                        c->want_hi = hi;
                        c->base = sk_SSL_CIPHER_dup(SSL_CTX_get_ciphers(c->ssl_ctx));
                        st = c->base ? sch_cred_configure(c, lo, hi,
                                                          w && w->has_min_cipher_strength ? w->min_cipher_strength : 0,
                                                          w && w->has_max_cipher_strength ? w->max_cipher_strength : 0,
                                                          NULL, 0)
                                     : SEC_E_INSUFFICIENT_MEMORY;
                }
        }
        if (st == SEC_E_OK)
                st = copy_rules(c, w);
        if (st != SEC_E_OK) {
                sch_cred_free(c);
                return st;
        }
        /* No protocol choice (grbitEnabledProtocols 0 or SP_PROT_ALL, and
         * SCH_CREDENTIALS, which has no such field): a datagram context
         * (*_REQ_DATAGRAM) gets DTLS 1.2, unless grbitDisabledProtocols
         * rules it out. Its SSL_CTX is made on first use (sch_dtls_ctx):
         * a second one here would cost every TLS acquisition ~250 us. */
        if (!dtls && (enabled == 0 || enabled == SP_PROT_ALL) &&
            !(disabled & (server ? SP_PROT_DTLS1_2_SERVER : SP_PROT_DTLS1_2_CLIENT))) {
                c->dtls_on_request = true;
                if (w) {
                        size_t len = sspiw__schannel_cred__get_packed_size(w);
                        uint8_t *buf = malloc(len ? len : 1);
                        if (buf) {
                                sspiw__schannel_cred__pack(w, buf);
                                c->dtls_params = sspiw__schannel_cred__unpack(NULL, len, buf);
                                free(buf);
                        }
                        if (!c->dtls_params) {
                                sch_cred_free(c);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                }
        }
        if (server)
                servers_add(c, a->config->tls_session_cache);
        *ret_cred = c;
        *ret_expiry = c->cert ? filetime_from_unix(0) : FILETIME_NEVER;
        if (c->cert) {
                struct tm tm;
                if (ASN1_TIME_to_tm(X509_get0_notAfter(c->cert), &tm) == 1)
                        *ret_expiry = filetime_from_unix(timegm(&tm));
                else
                        *ret_expiry = FILETIME_NEVER;
        }
        return SEC_E_OK;
}

/* The DTLS 1.2 SSL_CTX of a credential without a protocol choice, made on
 * first use; NULL when it cannot be (the restrictions leave DTLS no suite). */
SSL_CTX *sch_dtls_ctx(SchCred *c, const Config *config) {
        SSL_CTX *ctx;

        pthread_mutex_lock(&c->lock);
        if (!c->dtls_ctx && !c->dtls_failed) {
                bool server = c->use & SECPKG_CRED_INBOUND;
                if (ctx_setup(c, config, c->dtls_params, server, true, TLS1_2_VERSION, TLS1_2_VERSION,
                              &c->dtls_ctx) != SEC_E_OK ||
                    sch_dtls_filter(c, c->dtls_ctx) < 0) {
                        SSL_CTX_free(c->dtls_ctx);
                        c->dtls_ctx = NULL;
                        c->dtls_failed = true;
                        ERR_clear_error();
                } else
                        SSL_CTX_sess_set_cache_size(c->dtls_ctx, SSL_CTX_sess_get_cache_size(c->ssl_ctx));
        }
        /* SetCredentialsAttributes left TLS 1.2 no suite: none for DTLS. */
        ctx = c->dtls_no_suite ? NULL : c->dtls_ctx;
        pthread_mutex_unlock(&c->lock);
        return ctx;
}

SECURITY_STATUS sch_cred_name(void *p, char **ret) {
        SchCred *c = p;
        BIO *b;
        char *data, *s;
        long n;

        /* No certificate, no name (Windows-verified in Wine's schannel.c
         * testAcquireSecurityContext, test_communication). */
        if (!c->cert)
                return SEC_E_NO_CREDENTIALS;
        b = BIO_new(BIO_s_mem());
        if (!b)
                return SEC_E_INSUFFICIENT_MEMORY;
        X509_NAME_print_ex(b, X509_get_subject_name(c->cert), 0, XN_FLAG_RFC2253);
        n = BIO_get_mem_data(b, &data);
        s = strndup(data, n);
        BIO_free(b);
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret = s;
        return SEC_E_OK;
}
