/* SPDX-License-Identifier: MIT */
/*
 * Query- and SetCredentialsAttributes on a Schannel credential: the
 * protocols, the cipher strengths and the CryptoAPI algorithm ids this
 * credential would negotiate, read back from its OpenSSL context
 * (Windows-verified in Wine's schannel.c test_cread_attrs:
 * SUPPORTED_PROTOCOLS is the credential's own grbitEnabledProtocols, not
 * the system's), and set on it.
 */
#include "packages/schannel/schannel-private.h"

/* wincrypt.h ALG_IDs (class | type | sid). */
#define CALG_3DES 0x00006603U
#define CALG_AES_128 0x0000660eU
#define CALG_AES_256 0x00006610U
#define CALG_SHA1 0x00008004U
#define CALG_SHA_256 0x0000800cU
#define CALG_SHA_384 0x0000800dU
#define CALG_RSA_SIGN 0x00002400U
#define CALG_ECDSA 0x00002203U
#define CALG_RSA_KEYX 0x0000a400U
#define CALG_DH_EPHEM 0x0000aa02U
#define CALG_ECDH_EPHEM 0x0000ae06U

/* SP_PROT_*_CLIENT bit of each version; the server bit is one lower. */
static uint32_t protocols(const SchCred *c) {
        static const struct {
                int version;
                uint32_t bit;
        } map[] = {
                { TLS1_VERSION, SP_PROT_TLS1_0_CLIENT },
                { TLS1_1_VERSION, SP_PROT_TLS1_1_CLIENT },
                { TLS1_2_VERSION, SP_PROT_TLS1_2_CLIENT },
                { TLS1_3_VERSION, SP_PROT_TLS1_3_CLIENT },
        };
        long lo = SSL_CTX_get_min_proto_version(c->ssl_ctx), hi = SSL_CTX_get_max_proto_version(c->ssl_ctx);
        uint32_t r = 0;

        if (c->dtls)
                return ((c->use & SECPKG_CRED_OUTBOUND) ? SP_PROT_DTLS1_2_CLIENT : 0) |
                       ((c->use & SECPKG_CRED_INBOUND) ? SP_PROT_DTLS1_2_SERVER : 0);

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if ((!lo || map[i].version >= lo) && (!hi || map[i].version <= hi)) {
                        if (c->use & SECPKG_CRED_OUTBOUND)
                                r |= map[i].bit;
                        if (c->use & SECPKG_CRED_INBOUND)
                                r |= map[i].bit >> 1;
                }
        return r;
}

static void add(uint32_t *words, size_t *n, uint32_t alg) {
        if (!alg)
                return;
        for (size_t i = 0; i < *n; i++)
                if (words[i] == alg)
                        return;
        if (*n < PKG_CRED_ATTR_WORDS)
                words[(*n)++] = alg;
}

/* The ALG_IDs of a suite's parts (cipher, hash, key exchange,
 * signature) into ids[0..4); a part without one is 0. TLS 1.3 suites
 * (any exchange, any signature) give their ECDHE and both signatures in
 * ids[4..6). */
static void suite_algs(const SSL_CIPHER *ci, uint32_t ids[7]) {
        int bits = 0, cipher = SSL_CIPHER_get_cipher_nid(ci), kx = SSL_CIPHER_get_kx_nid(ci),
            auth = SSL_CIPHER_get_auth_nid(ci), md = SSL_CIPHER_get_digest_nid(ci);
        const EVP_MD *hs = SSL_CIPHER_get_handshake_digest(ci);

        memset(ids, 0, 7 * sizeof(*ids));
        SSL_CIPHER_get_bits(ci, &bits);
        /* ChaCha20-Poly1305 has no ALG_ID. */
        ids[0] = cipher == NID_des_ede3_cbc                                ? CALG_3DES
                 : bits == 128 && cipher != NID_chacha20_poly1305 ? CALG_AES_128
                 : bits == 256 && cipher != NID_chacha20_poly1305 ? CALG_AES_256
                                                                   : 0;
        if (md == NID_undef && hs)
                md = EVP_MD_get_type(hs); /* AEAD suites: the PRF's hash */
        ids[1] = md == NID_sha1 ? CALG_SHA1 : md == NID_sha256 ? CALG_SHA_256 : md == NID_sha384 ? CALG_SHA_384 : 0;
        ids[2] = kx == NID_kx_ecdhe ? CALG_ECDH_EPHEM : kx == NID_kx_dhe ? CALG_DH_EPHEM
                                                       : kx == NID_kx_rsa ? CALG_RSA_KEYX : 0;
        ids[3] = auth == NID_auth_rsa ? CALG_RSA_SIGN : auth == NID_auth_ecdsa ? CALG_ECDSA : 0;
        if (kx == NID_kx_any)
                ids[4] = CALG_ECDH_EPHEM;
        if (auth == NID_auth_any) {
                ids[5] = CALG_RSA_SIGN;
                ids[6] = CALG_ECDSA;
        }
}

/* The suites this credential offers (its version range, its key), as the
 * ALG_IDs of their ciphers, hashes, exchanges and signatures; with the
 * smallest and largest cipher key in bits. Called under c->lock. */
static SECURITY_STATUS algorithms(const SchCred *c, uint32_t *words, size_t *ret_n, int *ret_min, int *ret_max) {
        SSL *ssl = SSL_new(c->ssl_ctx);
        STACK_OF(SSL_CIPHER) *list;
        size_t n = 0;
        int lo = 0, hi = 0;

        if (!ssl)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (!(c->use & SECPKG_CRED_OUTBOUND))
                SSL_set_accept_state(ssl);
        list = SSL_get1_supported_ciphers(ssl);
        for (int i = 0; list && i < sk_SSL_CIPHER_num(list); i++) {
                const SSL_CIPHER *ci = sk_SSL_CIPHER_value(list, i);
                uint32_t ids[7];
                int bits = 0;

                SSL_CIPHER_get_bits(ci, &bits);
                if (bits > 0) {
                        lo = lo && lo < bits ? lo : bits;
                        hi = hi > bits ? hi : bits;
                }
                suite_algs(ci, ids);
                for (size_t k = 0; k < 7; k++)
                        add(words, &n, ids[k]);
        }
        sk_SSL_CIPHER_free(list);
        SSL_free(ssl);
        *ret_n = n;
        *ret_min = lo;
        *ret_max = hi;
        return SEC_E_OK;
}

static bool listed(const uint32_t *algs, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (algs[i] == id)
                        return true;
        return false;
}

/* Whether the caller's ALG_ID list admits a suite: every part that has an
 * ALG_ID is listed (TLS 1.3: the cipher and the hash; its exchange and
 * signature are not the suite's), and the cipher has one. */
static bool algs_admit(const SSL_CIPHER *ci, const uint32_t *algs, size_t n) {
        uint32_t ids[7];
        bool v13 = !strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3");

        if (n == 0)
                return true;
        suite_algs(ci, ids);
        if (!ids[0] || !listed(algs, n, ids[0]) || (ids[1] && !listed(algs, n, ids[1])))
                return false;
        if (v13)
                return true;
        return (!ids[2] || listed(algs, n, ids[2])) && (!ids[3] || listed(algs, n, ids[3]));
}

static bool join(char *buf, size_t cap, const char *s) {
        size_t n = strlen(buf);
        if (n + 1 + strlen(s) + 1 > cap)
                return false;
        if (n)
                buf[n++] = ':';
        strcpy(buf + n, s);
        return true;
}

/*
 * The credential's suites and versions from its base: the base suites
 * within [min_bits, max_bits] (0: no limit) and admitted by `algs` (none:
 * all), the versions [lo, hi] narrowed to those with a suite left. Nothing
 * changes unless the whole succeeds: SEC_E_ALGORITHM_MISMATCH when no
 * suite or version is left (as an acquisition with those settings). The
 * caller holds c->lock, or owns c alone.
 */
SECURITY_STATUS sch_cred_configure(SchCred *c, int lo, int hi, uint32_t min_bits, uint32_t max_bits,
                                   const uint32_t *algs, size_t n_algs) {
        char tls13[512] = "", tls12[8192] = "";
        uint32_t *copy = NULL;

        if (min_bits == 0xffffffffu)
                return SEC_E_ALGORITHM_MISMATCH; /* NULL-cipher suites only: none here */
        if (min_bits && max_bits && min_bits > max_bits)
                return SEC_E_ALGORITHM_MISMATCH;
        for (int i = 0; i < sk_SSL_CIPHER_num(c->base); i++) {
                const SSL_CIPHER *ci = sk_SSL_CIPHER_value(c->base, i);
                bool v13 = !strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3");
                int bits = 0;

                SSL_CIPHER_get_bits(ci, &bits);
                if ((min_bits && (uint32_t) bits < min_bits) || (max_bits && (uint32_t) bits > max_bits) ||
                    !algs_admit(ci, algs, n_algs))
                        continue;
                if (!join(v13 ? tls13 : tls12, v13 ? sizeof(tls13) : sizeof(tls12), SSL_CIPHER_get_name(ci)))
                        return SEC_E_INTERNAL_ERROR;
        }
        if (!*tls13 && hi >= TLS1_3_VERSION)
                hi = TLS1_2_VERSION;
        if (!*tls12 && lo <= TLS1_2_VERSION)
                lo = TLS1_3_VERSION;
        if (!lo || lo > hi)
                return SEC_E_ALGORITHM_MISMATCH;
        if (n_algs) {
                copy = malloc(n_algs * sizeof(*copy));
                if (!copy)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(copy, algs, n_algs * sizeof(*copy));
        }
        /* An empty TLS 1.2 list is never set (OpenSSL refuses it): the
         * range then starts at TLS 1.3 and the old list is unused. */
        if (SSL_CTX_set_ciphersuites(c->ssl_ctx, tls13) != 1 ||
            (*tls12 && SSL_CTX_set_cipher_list(c->ssl_ctx, tls12) != 1)) {
                free(copy);
                return SEC_E_INTERNAL_ERROR;
        }
        SSL_CTX_set_min_proto_version(c->ssl_ctx, lo);
        SSL_CTX_set_max_proto_version(c->ssl_ctx, hi);
        /* The DTLS 1.2 contexts of a credential with no protocol choice
         * take TLS 1.2's suites: the same filters, now and when their
         * SSL_CTX is made later (sch_dtls_filter). */
        c->dtls_no_suite = !*tls12;
        if (c->dtls_ctx && *tls12 && SSL_CTX_set_cipher_list(c->dtls_ctx, tls12) != 1) {
                free(copy);
                return SEC_E_INTERNAL_ERROR;
        }
        c->min_bits = min_bits;
        c->max_bits = max_bits;
        if (copy != c->algs) {
                free(c->algs);
                c->algs = copy;
        }
        c->n_algs = n_algs;
        return SEC_E_OK;
}

/* A DTLS SSL_CTX made after SetCredentialsAttributes: the credential's
 * cipher strengths and algorithms on its TLS 1.2 suites. Under c->lock. */
int sch_dtls_filter(SchCred *c, SSL_CTX *dtls_ctx) {
        char tls12[8192] = "";

        if (!c->min_bits && !c->max_bits && !c->n_algs)
                return 0;
        for (int i = 0; c->base && i < sk_SSL_CIPHER_num(c->base); i++) {
                const SSL_CIPHER *ci = sk_SSL_CIPHER_value(c->base, i);
                int bits = 0;

                SSL_CIPHER_get_bits(ci, &bits);
                if (!strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3") || (c->min_bits && (uint32_t) bits < c->min_bits) ||
                    (c->max_bits && (uint32_t) bits > c->max_bits) || !algs_admit(ci, c->algs, c->n_algs))
                        continue;
                if (!join(tls12, sizeof(tls12), SSL_CIPHER_get_name(ci)))
                        return -ENOBUFS;
        }
        if (!*tls12 || SSL_CTX_set_cipher_list(dtls_ctx, tls12) != 1)
                return -ENOENT;
        return 0;
}

static SECURITY_STATUS cred_attr_locked(SchCred *c, uint32_t attr, uint32_t *words, size_t *ret_n) {
        size_t n = 0;
        int lo, hi;
        SECURITY_STATUS st;

        switch (attr) {
        case SECPKG_ATTR_SUPPORTED_PROTOCOLS:
                words[0] = protocols(c);
                *ret_n = 1;
                return SEC_E_OK;
        case SECPKG_ATTR_SUPPORTED_ALGS:
                st = algorithms(c, words, &n, &lo, &hi);
                if (st == SEC_E_OK)
                        *ret_n = n;
                return st;
        case SECPKG_ATTR_CIPHER_STRENGTHS: {
                uint32_t scratch[PKG_CRED_ATTR_WORDS];
                st = algorithms(c, scratch, &n, &lo, &hi);
                if (st != SEC_E_OK)
                        return st;
                words[0] = (uint32_t) lo;
                words[1] = (uint32_t) hi;
                *ret_n = 2;
                return SEC_E_OK;
        }
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

SECURITY_STATUS sch_cred_attr(void *p, uint32_t attr, uint32_t *words, size_t *ret_n) {
        SchCred *c = p;
        SECURITY_STATUS st;

        pthread_mutex_lock(&c->lock);
        st = cred_attr_locked(c, attr, words, ret_n);
        pthread_mutex_unlock(&c->lock);
        return st;
}

/*
 * SetCredentialsAttributes on a Schannel credential (the three attributes
 * Microsoft's SetCredentialsAttributes page lists as Schannel's): each
 * replaces its own setting and keeps the others; the contexts made before
 * keep what they started with. TLS only: a DTLS credential refuses them,
 * and the DTLS contexts of a credential without a protocol choice keep the
 * acquisition's settings. SUPPORTED_PROTOCOLS: grbitProtocol as
 * SCHANNEL_CRED's grbitEnabledProtocols (0: the system default; the other
 * direction's bits are ignored). CIPHER_STRENGTHS: as dwMinimum/
 * dwMaximumCipherStrength. SUPPORTED_ALGS: the ALG_IDs a suite's parts
 * must be among (none: no limit). SEC_E_ALGORITHM_MISMATCH, and no change,
 * when nothing would be left to negotiate.
 */
SECURITY_STATUS sch_set_cred_attr(void *cred, const PkgSetCredAttr *a) {
        SchCred *c = cred;
        int lo, hi;
        SECURITY_STATUS st;

        /* A DTLS credential's suites and version are DTLS 1.2's. */
        if (c->dtls)
                return SEC_E_UNSUPPORTED_FUNCTION;
        pthread_mutex_lock(&c->lock);
        switch (a->attr) {
        case SECPKG_ATTR_SUPPORTED_PROTOCOLS:
                if (a->n_words != 1)
                        st = SEC_E_INVALID_PARAMETER;
                else if (sch_protocol_range(a->words[0], 0, c->use & SECPKG_CRED_INBOUND, &lo, &hi) < 0)
                        st = SEC_E_ALGORITHM_MISMATCH;
                else {
                        st = sch_cred_configure(c, lo, hi, c->min_bits, c->max_bits, c->algs, c->n_algs);
                        if (st == SEC_E_OK) {
                                c->want_lo = lo;
                                c->want_hi = hi;
                        }
                }
                break;
        case SECPKG_ATTR_CIPHER_STRENGTHS:
                st = a->n_words != 2 ? SEC_E_INVALID_PARAMETER
                                     : sch_cred_configure(c, c->want_lo, c->want_hi, a->words[0], a->words[1],
                                                          c->algs, c->n_algs);
                break;
        case SECPKG_ATTR_SUPPORTED_ALGS:
                st = a->n_words > SET_CRED_ATTR_MAX_ALGS
                             ? SEC_E_INVALID_PARAMETER
                             : sch_cred_configure(c, c->want_lo, c->want_hi, c->min_bits, c->max_bits, a->words,
                                                  a->n_words);
                break;
        default:
                /* SECPKG_CRED_ATTR_NAMES among them: a certificate's name is
                 * its own (see README, deliberate differences). */
                st = SEC_E_UNSUPPORTED_FUNCTION;
                break;
        }
        pthread_mutex_unlock(&c->lock);
        return st;
}

/*
 * AddCredentials (schannel.c's add_cred): a server credential takes the
 * certificate of `added`, an inbound credential the caller acquired with
 * one ([certificate] grants checked then), when its key is of another type
 * than the credential's certificates (SCHANNEL_CRED's paCred: "one
 * structure for each key exchange method"; OpenSSL keeps one certificate
 * per key type and picks the one the client's signature algorithms allow).
 * A second certificate of a type already there: SEC_E_UNKNOWN_CREDENTIALS,
 * as two certificates at AcquireCredentialsHandle. TLS contexts use it (a
 * credential without a protocol choice still serves datagram contexts
 * with its first certificate). A client credential, a DTLS one or a
 * server credential without a certificate of its own:
 * SEC_E_UNSUPPORTED_FUNCTION; `added` without a certificate:
 * SEC_E_NO_CREDENTIALS. Nothing changes unless all of it succeeds.
 */
SECURITY_STATUS sch_add_cred(void *p, void *q) {
        SchCred *c = p, *a = q;
        int type;
        SECURITY_STATUS st = SEC_E_OK;

        if (!(c->use & SECPKG_CRED_INBOUND) || c->dtls || !c->cert || !c->key)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!(a->use & SECPKG_CRED_INBOUND) || !a->cert || !a->key)
                return SEC_E_NO_CREDENTIALS;
        type = EVP_PKEY_get_base_id(a->key);
        pthread_mutex_lock(&c->lock);
        if (type == EVP_PKEY_get_base_id(c->key))
                st = SEC_E_UNKNOWN_CREDENTIALS;
        for (size_t i = 0; st == SEC_E_OK && i < c->n_added; i++)
                if (c->added_types[i] == type)
                        st = SEC_E_UNKNOWN_CREDENTIALS;
        if (st == SEC_E_OK && c->n_added == sizeof(c->added_types) / sizeof(c->added_types[0]))
                st = SEC_E_UNKNOWN_CREDENTIALS;
        if (st == SEC_E_OK) {
                ERR_clear_error();
                /* The certificate, its key, and its chain as acquisition
                 * sends one: the file's own, else built from the roots. */
                if (SSL_CTX_use_certificate(c->ssl_ctx, a->cert) != 1 || SSL_CTX_use_PrivateKey(c->ssl_ctx, a->key) != 1 ||
                    (a->chain && sk_X509_num(a->chain) > 0 && SSL_CTX_set1_chain(c->ssl_ctx, a->chain) != 1)) {
                        sch_log_ssl_errors("AddCredentials");
                        st = SEC_E_INTERNAL_ERROR;
                } else {
                        if (!a->chain || sk_X509_num(a->chain) == 0)
                                (void) SSL_CTX_build_cert_chain(c->ssl_ctx,
                                                                SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                                                        ((c->flags & SCH_SEND_ROOT_CERT)
                                                                                 ? 0
                                                                                 : SSL_BUILD_CHAIN_FLAG_NO_ROOT));
                        c->added_types[c->n_added++] = type;
                }
                ERR_clear_error();
        }
        pthread_mutex_unlock(&c->lock);
        return st;
}
