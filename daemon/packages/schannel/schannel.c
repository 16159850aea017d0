/* SPDX-License-Identifier: MIT */
/*
 * Schannel: TLS 1.2 / 1.3 on OpenSSL over memory BIOs. The daemon holds the
 * certificates' private keys ([certificate NAME] grants); a caller names a
 * certificate by passing its DER encoding in SCHANNEL_CRED/SCH_CREDENTIALS,
 * and the key is found by public key. Records are framed here so that the
 * SSPI buffer rules hold exactly: a handshake step consumes only complete
 * records (SECBUFFER_MISSING otherwise), and DecryptMessage works on one
 * record at a time, in place, with the rest reported as SECBUFFER_EXTRA.
 *
 * The client session cache lives in the credential: a credential handle
 * belongs to one connection, hence one process (pid + pidfd) and one logon
 * session (uid), so "same credential handle" implies the seed's process and
 * logon-session rules; target name and expiry are checked per entry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/config.h"
#include "util/log.h"
#include "packages/provider.h"
#include "packages/schannel/schannel-trust.h"
#include "sspi.pb-c.h"

#define TLS_HEADER 5u
#define TLS_MAX_PLAINTEXT 16384u
#define TLS_MAX_RECORD (TLS_MAX_PLAINTEXT + 2048u)
#define SCH_MAX_TOKEN 0xc000u
#define SCH_DEFAULT_LIFESPAN_MS 36000000u /* 10 hours */

#define REVOCATION_FLAGS (SCH_CRED_REVOCATION_CHECK_END_CERT | SCH_CRED_REVOCATION_CHECK_CHAIN | \
                          SCH_CRED_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT)
#define CRYPT_E_NO_REVOCATION_CHECK ((SECURITY_STATUS) 0x80092012)
#define CRYPT_E_REVOKED ((SECURITY_STATUS) 0x80092010)

typedef struct CacheEntry {
        char *target;
        SSL_SESSION *session;
        int64_t expires; /* CLOCK_MONOTONIC ms */
        pid_t pid;
        uid_t uid;
        struct CacheEntry *next;
} CacheEntry;

typedef struct SchCred {
        SSL_CTX *ssl_ctx;
        uint32_t use;
        uint32_t flags;
        X509 *cert; /* our certificate, NULL if none */
        EVP_PKEY *key;
        STACK_OF(X509) *chain;
        uint32_t lifespan_ms;
        unsigned cache_max; /* client: targets kept (session-cache, at most CLIENT_CACHE_MAX) */
        struct SchCred *srv_prev, *srv_next; /* server credentials, under servers_lock */
        bool listed;
        pid_t pid;
        uid_t uid;
        pthread_mutex_t lock; /* protects cache */
        CacheEntry *cache;
        TrustScope scope; /* of the verified-chain cache */
        Sspiw__SchannelCred *params; /* a copy, for the ALPN-scoped TLS_PARAMETERS */
        Sspiw__TlsParams **rules;    /* those with ALPN ids */
        size_t n_rules;
} SchCred;

typedef struct SchCtx {
        SchCred *cred;
        SSL *ssl;
        BIO *rbio, *wbio;
        bool server;
        bool done;
        bool dead;            /* fatal error or close_notify: no more records */
        bool shutdown;        /* ApplyControlToken(SCHANNEL_SHUTDOWN) seen */
        bool skip_client_cert; /* the caller chose to go on without one */
        bool mutual;
        bool started;
        bool reneg;           /* a post-handshake handshake (TLS 1.3 client
                               * authentication, TLS 1.2 renegotiation) runs
                               * through ISC/ASC after SEC_I_RENEGOTIATE */
        bool post_msg;        /* DecryptMessage returned SEC_I_RENEGOTIATE: the
                               * next step answers it, it does not initiate */
        bool asked_cred;      /* SEC_I_INCOMPLETE_CREDENTIALS given in this
                               * renegotiation */
        bool fed;             /* peer bytes reached OpenSSL */
        bool wrote_ccs;       /* our records are encrypted from now on */
        bool no_cache;        /* SCHANNEL_SESSION: SSL_SESSION_DISABLE_RECONNECTS */
        bool sess_enabled;    /* SCHANNEL_SESSION: SSL_SESSION_ENABLE_RECONNECTS */
        bool want_reneg;      /* ApplyControlToken(SCHANNEL_RENEGOTIATE), server */
        SSL_SESSION *srv_sess[4]; /* server: the sessions this connection put in the cache */
        unsigned n_srv_sess;
        bool alpn_refused;    /* the ALPN-scoped TLS_PARAMETERS ruled out every common protocol */
        bool alert_pending;   /* ApplyControlToken(SCHANNEL_ALERT) */
        uint8_t alert_level, alert_desc;
        unsigned legs;        /* steps that produced output */
        bool leg_cert;        /* a later leg's credential gave the client certificate */
        X509 *leg_x509;       /* ... this one (a reference) */
        EVP_PKEY *leg_key;
        size_t resupplied;    /* bytes taken before SEC_I_INCOMPLETE_CREDENTIALS, which
                               * the caller passes again (as Windows expects) */
        uint32_t req_flags;
        char *target;
        uint8_t *alpn;        /* server: the protocols it accepts (wire format) */
        size_t alpn_len;
        pid_t pid;
        uid_t uid;
} SchCtx;

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void ex_init(void) {
        ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_ssl_errors(const char *what) {
        unsigned long e;
        char buf[256];

        while ((e = ERR_get_error()) != 0) {
                ERR_error_string_n(e, buf, sizeof(buf));
                log_debug("schannel: %s: %s", what, buf);
        }
}

/* ---- error mapping (one table) ---- */

static SECURITY_STATUS map_verify(long v) {
        switch (v) {
        case X509_V_OK:
                return SEC_E_OK;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
                return SEC_E_CERT_EXPIRED;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
                return SEC_E_WRONG_PRINCIPAL;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return SEC_E_UNTRUSTED_ROOT;
        case X509_V_ERR_CERT_REVOKED:
                return CRYPT_E_REVOKED;
        default:
                return SEC_E_CERT_UNKNOWN;
        }
}

/* The first OpenSSL error on the queue -> SSPI status. */
static SECURITY_STATUS map_ssl_error(const char *what) {
        unsigned long e = ERR_peek_error();
        SECURITY_STATUS st = SEC_E_ILLEGAL_MESSAGE;

        if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
                switch (ERR_GET_REASON(e)) {
                case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
                case SSL_R_DECRYPTION_FAILED:
                        st = SEC_E_DECRYPT_FAILURE;
                        break;
                case SSL_R_NO_SHARED_CIPHER:
                case SSL_R_UNSUPPORTED_PROTOCOL:
                case SSL_R_NO_PROTOCOLS_AVAILABLE:
                case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
                case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
                case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
                        st = SEC_E_ALGORITHM_MISMATCH;
                        break;
                case SSL_R_NO_APPLICATION_PROTOCOL:
                case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
                        st = SEC_E_APPLICATION_PROTOCOL_MISMATCH;
                        break;
                case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
                        st = SEC_E_CERT_UNKNOWN;
                        break;
                case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
                        st = SEC_E_UNTRUSTED_ROOT;
                        break;
                case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
                        st = SEC_E_CERT_EXPIRED;
                        break;
                case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
                case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
                case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
                        st = SEC_E_CERT_UNKNOWN;
                        break;
                default:
                        break;
                }
        }
        log_ssl_errors(what);
        return st;
}

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
static int protocol_range(uint32_t enabled, uint32_t disabled, bool server, int *ret_min, int *ret_max) {
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

static int new_session_cb(SSL *ssl, SSL_SESSION *sess);
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned inlen, void *arg);
static int client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_key);

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

static bool known(const char *const *names, const char *s) {
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
                return known(cipher_names, cs->alg) ? SEC_E_OK : SEC_E_ALGORITHM_MISMATCH;
        case USAGE_DIGEST:
                if (!known(digest_names, cs->alg))
                        return SEC_E_ALGORITHM_MISMATCH;
                return cs->n_chaining_modes || lengths ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK;
        case USAGE_KEYX:
                if (!known(keyx_names, cs->alg))
                        return SEC_E_ALGORITHM_MISMATCH;
                /* After the handshake has begun only the TLS 1.2 suite can be judged. */
                if (alpn_scoped && (lengths || strcasecmp(cs->alg, "RSA")))
                        return SEC_E_UNSUPPORTED_FUNCTION;
                return cs->n_chaining_modes ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK;
        case USAGE_SIGNATURE:
                if (!known(sig_names, cs->alg))
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
static bool alpn_allowed(const SchCred *c, SSL *ssl, const SSL_CIPHER *ci, bool server, const unsigned char *proto,
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
#define SERVER_CACHE_MIN 16u
#define CLIENT_CACHE_MAX 256u

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

static void cred_free(void *p) {
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
        if (c->params)
                sspiw__schannel_cred__free_unpacked(c->params, NULL);
        free(c->rules);
        X509_free(c->cert);
        EVP_PKEY_free(c->key);
        sk_X509_pop_free(c->chain, X509_free);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

static SECURITY_STATUS sch_acquire(const PkgAcquire *a, void **ret_cred, int64_t *ret_expiry) {
        const Sspiw__SchannelCred *w = a->schannel;
        bool server = a->use & SECPKG_CRED_INBOUND;
        int lo, hi;
        SchCred *c;
        SECURITY_STATUS st;

        pthread_once(&ex_once, ex_init);
        if (a->has_identity)
                return SEC_E_UNKNOWN_CREDENTIALS; /* passwords mean nothing to TLS */
        if (w && w->n_certs > 1)
                return SEC_E_UNSUPPORTED_FUNCTION; /* one certificate per credential */
        if (protocol_range(w && w->has_enabled_protocols ? w->enabled_protocols : 0,
                           w && w->has_disabled_protocols ? w->disabled_protocols : 0, server, &lo, &hi) < 0)
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
                        cred_free(c);
                        return SEC_E_UNKNOWN_CREDENTIALS;
                }
                if (w->cert_store && strcasecmp(w->cert_store, "MY")) {
                        log_debug("schannel: certificate store \"%s\" does not exist here", w->cert_store);
                        cred_free(c);
                        return SEC_E_NO_CREDENTIALS;
                }
                st = find_certificate(a, NULL, 0, w->cert_hash.data, c);
                if (st != SEC_E_OK) {
                        cred_free(c);
                        return st;
                }
        } else if (w && w->n_certs == 1) {
                st = find_certificate(a, w->certs[0].data, w->certs[0].len, NULL, c);

                if (st != SEC_E_OK) {
                        cred_free(c);
                        return st;
                }
        }
        if (server && !c->cert) {
                cred_free(c);
                return SEC_E_NO_CREDENTIALS; /* a TLS server needs a certificate */
        }

        c->ssl_ctx = SSL_CTX_new(TLS_method());
        if (!c->ssl_ctx) {
                cred_free(c);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        /* TLS_PARAMETERS, CRYPTO_SETTINGS, cipher strengths: honoured or refused. */
        st = apply_restrictions(c->ssl_ctx, w, &lo, &hi);
        if (st == SEC_E_OK)
                st = copy_rules(c, w);
        if (st != SEC_E_OK) {
                log_ssl_errors("TLS parameters");
                cred_free(c);
                return st;
        }
        SSL_CTX_set_min_proto_version(c->ssl_ctx, lo);
        SSL_CTX_set_max_proto_version(c->ssl_ctx, hi);
        c->cache_max = a->config->tls_session_cache < CLIENT_CACHE_MAX ? a->config->tls_session_cache
                                                                      : CLIENT_CACHE_MAX;
        if (c->cache_max == 0)
                c->cache_max = 1;
        c->scope = (TrustScope) { .uid = c->uid, .ttl = a->config->tls_chain_cache };
        if (!trust_setup(c->ssl_ctx, a->config, server)) {
                cred_free(c);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        trust_use_chain_cache(c->ssl_ctx, &c->scope);
        if (c->cert) {
                if (SSL_CTX_use_certificate(c->ssl_ctx, c->cert) != 1 ||
                    SSL_CTX_use_PrivateKey(c->ssl_ctx, c->key) != 1) {
                        log_ssl_errors("certificate");
                        cred_free(c);
                        return SEC_E_NO_CREDENTIALS;
                }
                for (int i = 0; c->chain && i < sk_X509_num(c->chain); i++)
                        SSL_CTX_add1_chain_cert(c->ssl_ctx, sk_X509_value(c->chain, i));
                /* The chain we send is built once, here: the certificate
                 * file's own chain, else the issuers found among the
                 * trusted roots; the root itself only with
                 * SCH_SEND_ROOT_CERT, as on Windows. (OpenSSL would
                 * otherwise rebuild it, root included, on every handshake.) */
                if (!c->chain || sk_X509_num(c->chain) == 0)
                        (void) SSL_CTX_build_cert_chain(c->ssl_ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                                                            ((c->flags & SCH_SEND_ROOT_CERT)
                                                                                     ? 0
                                                                                     : SSL_BUILD_CHAIN_FLAG_NO_ROOT));
                SSL_CTX_set_mode(c->ssl_ctx, SSL_MODE_NO_AUTO_CHAIN);
                ERR_clear_error();
        }
        SSL_CTX_set_session_id_context(c->ssl_ctx, (const unsigned char *) "sspid", 5);
        if (server) {
                /* Sessions live in this credential's server cache (TLS 1.3
                 * tickets are stateful), so that a connection can take its
                 * sessions out (SCH_CRED_DISABLE_RECONNECTS,
                 * SSL_SESSION_DISABLE_RECONNECTS) or put them back
                 * (SSL_SESSION_ENABLE_RECONNECTS). */
                SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_TICKET);
                /* Bounded by servers_add() below (OpenSSL's default of
                 * 20,480 per credential grew the daemon by ~1 KiB a
                 * handshake under soak). */
                SSL_CTX_sess_set_new_cb(c->ssl_ctx, new_session_cb);
                SSL_CTX_set_timeout(c->ssl_ctx, c->lifespan_ms / 1000 ? c->lifespan_ms / 1000 : 1);
                SSL_CTX_set_alpn_select_cb(c->ssl_ctx, alpn_select_cb, NULL);
        } else {
                SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
                SSL_CTX_sess_set_new_cb(c->ssl_ctx, new_session_cb);
                if (!c->cert)
                        SSL_CTX_set_client_cert_cb(c->ssl_ctx, client_cert_cb);
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

static SECURITY_STATUS sch_cred_name(void *p, char **ret) {
        SchCred *c = p;
        char *s;

        if (!c->cert) {
                s = strdup("");
        } else {
                BIO *b = BIO_new(BIO_s_mem());
                char *data;
                long n;
                if (!b)
                        return SEC_E_INSUFFICIENT_MEMORY;
                X509_NAME_print_ex(b, X509_get_subject_name(c->cert), 0, XN_FLAG_RFC2253);
                n = BIO_get_mem_data(b, &data);
                s = strndup(data, n);
                BIO_free(b);
        }
        if (!s)
                return SEC_E_INSUFFICIENT_MEMORY;
        *ret = s;
        return SEC_E_OK;
}

/* ---- session cache ---- */

static void cache_put(SchCred *c, const char *target, SSL_SESSION *sess, pid_t pid, uid_t uid) {
        CacheEntry *e, **pp;
        int64_t now = now_ms();
        unsigned kept = 0;

        pthread_mutex_lock(&c->lock);
        /* One entry per target: the newest session replaces older ones;
         * expired entries go on the way, and so do the oldest beyond
         * [schannel] session-cache (the list is newest first). */
        for (pp = &c->cache; (e = *pp);) {
                if (!strcmp(e->target, target) || e->expires <= now || ++kept >= c->cache_max) {
                        *pp = e->next;
                        SSL_SESSION_free(e->session);
                        free(e->target);
                        free(e);
                } else
                        pp = &e->next;
        }
        e = calloc(1, sizeof(*e));
        if (e && (e->target = strdup(target))) {
                e->session = sess;
                e->expires = now + c->lifespan_ms;
                e->pid = pid;
                e->uid = uid;
                e->next = c->cache;
                c->cache = e;
                sess = NULL;
        } else
                free(e);
        pthread_mutex_unlock(&c->lock);
        SSL_SESSION_free(sess);
}

static void cache_remove(SchCred *c, const char *target) {
        pthread_mutex_lock(&c->lock);
        for (CacheEntry *e, **pp = &c->cache; (e = *pp);) {
                if (!strcmp(e->target, target)) {
                        *pp = e->next;
                        SSL_SESSION_free(e->session);
                        free(e->target);
                        free(e);
                } else
                        pp = &e->next;
        }
        pthread_mutex_unlock(&c->lock);
}

static SSL_SESSION *cache_get(SchCred *c, const char *target, pid_t pid, uid_t uid) {
        SSL_SESSION *s = NULL;
        int64_t now = now_ms();

        pthread_mutex_lock(&c->lock);
        for (CacheEntry *e = c->cache; e; e = e->next)
                if (!strcmp(e->target, target) && e->expires > now && e->pid == pid && e->uid == uid &&
                    SSL_SESSION_is_resumable(e->session)) {
                        SSL_SESSION_up_ref(e->session);
                        s = e->session;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
        return s;
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
        SchCtx *x = SSL_get_ex_data(ssl, ex_index);

        if (x && x->server) {
                /* Remember it (the last few), and take it out of the cache
                 * when this connection is not to be resumed. */
                if (x->n_srv_sess == sizeof(x->srv_sess) / sizeof(x->srv_sess[0])) {
                        SSL_SESSION_free(x->srv_sess[0]);
                        memmove(x->srv_sess, x->srv_sess + 1, sizeof(x->srv_sess) - sizeof(x->srv_sess[0]));
                        x->n_srv_sess--;
                }
                SSL_SESSION_up_ref(sess);
                x->srv_sess[x->n_srv_sess++] = sess;
                if (x->no_cache || ((x->cred->flags & SCH_CRED_DISABLE_RECONNECTS) && !x->sess_enabled))
                        SSL_CTX_remove_session(x->cred->ssl_ctx, sess);
                return 0;
        }
        if (!x || !x->target || x->no_cache || ((x->cred->flags & SCH_CRED_DISABLE_RECONNECTS) && !x->sess_enabled))
                return 0;
        /* A copy: OpenSSL marks the connection's own session unresumable
         * when the connection ends without close_notify. */
        sess = SSL_SESSION_dup(sess);
        if (sess)
                cache_put(x->cred, x->target, sess, x->pid, x->uid);
        return 0;
}

/* ---- handshake ---- */

static int client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_key) {
        SchCtx *x = SSL_get_ex_data(ssl, ex_index);

        if (!x || x->skip_client_cert)
                return 0;
        if (x->leg_x509) {
                X509_up_ref(x->leg_x509);
                EVP_PKEY_up_ref(x->leg_key);
                *ret_x509 = x->leg_x509;
                *ret_key = x->leg_key;
                return 1;
        }
        return -1; /* SSL_ERROR_WANT_X509_LOOKUP: SEC_I_INCOMPLETE_CREDENTIALS */
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned inlen, void *arg) {
        SchCtx *x = SSL_get_ex_data(ssl, ex_index);
        unsigned char *sel = NULL;

        if (!x || !x->alpn)
                return SSL_TLSEXT_ERR_NOACK;
        if (x->cred->n_rules) {
                /* The server's order; a protocol whose TLS_PARAMETERS rule out
                 * this version or suite is passed over. */
                for (size_t i = 0; i < x->alpn_len; i += 1 + x->alpn[i])
                        for (unsigned j = 0; j < inlen; j += 1u + in[j])
                                if (in[j] == x->alpn[i] && j + 1u + in[j] <= inlen &&
                                    !memcmp(in + j + 1, x->alpn + i + 1, in[j])) {
                                        if (!alpn_allowed(x->cred, ssl, SSL_get_pending_cipher(ssl), true, in + j + 1,
                                                          in[j])) {
                                                x->alpn_refused = true;
                                                continue;
                                        }
                                        x->alpn_refused = false;
                                        *out = in + j + 1;
                                        *outlen = in[j];
                                        return SSL_TLSEXT_ERR_OK;
                                }
                return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        if (SSL_select_next_proto(&sel, outlen, x->alpn, (unsigned) x->alpn_len, in, inlen) !=
            OPENSSL_NPN_NEGOTIATED)
                return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
}

static int verify_accept_all(int ok, X509_STORE_CTX *store) {
        return 1; /* the result is judged after the handshake (SSL_get_verify_result) */
}

/* Client certificates: OpenSSL's own judgement (and alert) unless the server
 * validates them itself. */
static SSL_verify_cb verify_cb(const SchCred *c, uint32_t req_flags) {
        return (c->flags & SCH_CRED_MANUAL_CRED_VALIDATION) ? verify_accept_all : NULL;
}


/* SEC_APPLICATION_PROTOCOLS -> the ALPN wire list (length-prefixed ids). */
static SECURITY_STATUS parse_alpn(const PkgBuffer *b, uint8_t **ret, size_t *ret_len) {
        const uint8_t *p = b->data, *end;
        uint32_t total;

        if (b->len < 4)
                return SEC_E_INVALID_TOKEN;
        memcpy(&total, p, 4);
        if (total > b->len - 4)
                return SEC_E_INVALID_TOKEN;
        p += 4;
        end = p + total;
        while (end - p >= 6) {
                uint32_t ext;
                uint16_t n;
                memcpy(&ext, p, 4);
                memcpy(&n, p + 4, 2);
                if (n > end - p - 6)
                        return SEC_E_INVALID_TOKEN;
                if (ext == SecApplicationProtocolNegotiationExt_ALPN && n > 0) {
                        /* Every id must be non-empty and inside the list. */
                        for (size_t i = 0; i < n; i += 1 + p[6 + i])
                                if (p[6 + i] == 0 || i + 1 + p[6 + i] > n)
                                        return SEC_E_INVALID_TOKEN;
                        *ret = malloc(n);
                        if (!*ret)
                                return SEC_E_INSUFFICIENT_MEMORY;
                        memcpy(*ret, p + 6, n);
                        *ret_len = n;
                        return SEC_E_OK;
                }
                p += 6 + n;
        }
        return SEC_E_OK;
}

static bool is_ip(const char *s) {
        unsigned char buf[16];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void ctx_free(void *p) {
        SchCtx *x = p;

        if (!x)
                return;
        for (unsigned i = 0; i < x->n_srv_sess; i++)
                SSL_SESSION_free(x->srv_sess[i]);
        /* A connection deleted without close_notify keeps its session in
         * the server cache (OpenSSL would drop it; fatal alerts already
         * did). */
        if (x->ssl && x->done)
                SSL_set_shutdown(x->ssl, SSL_get_shutdown(x->ssl) | SSL_SENT_SHUTDOWN);
        SSL_free(x->ssl); /* frees both BIOs */

        X509_free(x->leg_x509);
        EVP_PKEY_free(x->leg_key);
        free(x->target);
        free(x->alpn);
        free(x);
}

static SECURITY_STATUS ctx_new(PkgStep *s, bool server, SchCtx **ret) {
        SchCred *c = s->cred;
        SchCtx *x = calloc(1, sizeof(*x));

        if (!x)
                return SEC_E_INSUFFICIENT_MEMORY;
        x->cred = c;
        x->server = server;
        x->req_flags = s->req_flags;
        x->pid = s->caller->pid;
        x->uid = s->caller->uid;
        x->ssl = SSL_new(c->ssl_ctx);
        x->rbio = BIO_new(BIO_s_mem());
        x->wbio = BIO_new(BIO_s_mem());
        if (!x->ssl || !x->rbio || !x->wbio || !trust_apply(x->ssl, s->config)) {
                BIO_free(x->rbio);
                BIO_free(x->wbio);
                ctx_free(x);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        BIO_set_mem_eof_return(x->rbio, -1);
        SSL_set_bio(x->ssl, x->rbio, x->wbio);
        SSL_set_ex_data(x->ssl, ex_index, x);
        if (server) {
                SSL_set_accept_state(x->ssl);
                x->mutual = s->req_flags & ASC_REQ_MUTUAL_AUTH;
                if (x->mutual)
                        SSL_set_verify(x->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_cb(c, s->req_flags));
        } else {
                SSL_set_connect_state(x->ssl);
                /* The chain and the name are judged during the handshake, so
                 * that a rejected server hears why (unknown_ca,
                 * certificate_expired, bad_certificate), as from Windows. */
                if ((c->flags & SCH_CRED_MANUAL_CRED_VALIDATION) || (s->req_flags & ISC_REQ_MANUAL_CRED_VALIDATION))
                        SSL_set_verify(x->ssl, SSL_VERIFY_NONE, NULL);
                else
                        SSL_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
                /* A TLS 1.3 server may ask for a certificate after the
                 * handshake: the caller answers through ISC. */
                SSL_set_post_handshake_auth(x->ssl, 1);

                if (s->target && *s->target) {
                        x->target = strdup(s->target);
                        if (!x->target) {
                                ctx_free(x);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                        if (!is_ip(s->target))
                                SSL_set_tlsext_host_name(x->ssl, s->target);
                        if (!(c->flags & SCH_CRED_NO_SERVERNAME_CHECK)) {
                                if (is_ip(s->target))
                                        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(x->ssl), s->target);
                                else
                                        SSL_set1_host(x->ssl, s->target);
                        }
                        if (!(c->flags & SCH_CRED_DISABLE_RECONNECTS)) {
                                SSL_SESSION *sess = cache_get(c, s->target, x->pid, x->uid);
                                if (sess) {
                                        SSL_set_session(x->ssl, sess);
                                        SSL_SESSION_free(sess);
                                }
                        }
                }
        }
        ERR_clear_error();
        *ret = x;
        return SEC_E_OK;
}

static PkgBuffer *find_buffer(PkgBuffer *b, size_t n, uint32_t type) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == type)
                        return &b[i];
        return NULL;
}

/* Bytes of whole TLS records at the start of p[0..len); *need is how many
 * more bytes the first incomplete record wants. */
static size_t whole_records(const uint8_t *p, size_t len, size_t *need) {
        size_t off = 0;

        *need = 0;
        while (off < len) {
                size_t rec;
                if (len - off < TLS_HEADER) {
                        *need = TLS_HEADER - (len - off);
                        break;
                }
                rec = TLS_HEADER + ((size_t) p[off + 3] << 8 | p[off + 4]);
                if (len - off < rec) {
                        *need = rec - (len - off);
                        break;
                }
                off += rec;
        }
        return off;
}

static uint32_t ret_flags(const SchCtx *x);

/* Everything OpenSSL wrote goes to the caller's SECBUFFER_TOKEN slot. */
static SECURITY_STATUS flush_output(SchCtx *x, PkgStep *s) {
        size_t n = BIO_ctrl_pending(x->wbio);
        PkgBuffer *out;

        if (n == 0)
                return SEC_E_OK;
        out = find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);
        if (!out)
                return SEC_E_INVALID_TOKEN;
        out->data = malloc(n);
        if (!out->data)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->owned = true;
        out->len = (size_t) BIO_read(x->wbio, out->data, (int) n);
        /* After our ChangeCipherSpec every record is under the keys. */
        for (size_t off = 0; off + TLS_HEADER <= out->len;
             off += TLS_HEADER + ((size_t) out->data[off + 3] << 8 | out->data[off + 4]))
                if (out->data[off] == 20)
                        x->wrote_ccs = true;
        return SEC_E_OK;
}

/* Whether an alert may still go out as a plaintext record: nothing of ours
 * is encrypted yet, and the peer does not yet read under handshake keys (a
 * TLS 1.3 client that has seen the ServerHello). OpenSSL has no call that
 * sends an arbitrary alert under its record keys. */
static bool alert_in_clear(SchCtx *x) {
        return !x->done && !x->wrote_ccs && (x->server || !x->fed || SSL_version(x->ssl) < TLS1_3_VERSION);
}

/* ApplyControlToken(SCHANNEL_ALERT) then ISC/ASC: the alert record in
 * SECBUFFER_TOKEN. A fatal alert ends the context. */
static SECURITY_STATUS send_alert(SchCtx *x, PkgStep *s) {
        PkgBuffer *out = find_buffer(s->out, s->n_out, SECBUFFER_TOKEN);

        x->alert_pending = false;
        if (!out)
                return SEC_E_INVALID_TOKEN;
        out->data = malloc(7);
        if (!out->data)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->owned = true;
        out->len = 7;
        memcpy(out->data, (const uint8_t[]) { 21, 3, 3, 0, 2, x->alert_level, x->alert_desc }, 7);
        if (x->alert_level == TLS1_ALERT_FATAL || x->alert_desc == 0)
                x->dead = true;
        s->ret_flags = ret_flags(x);
        return SEC_E_OK;
}

/* ASC with ASC_REQ_MUTUAL_AUTH on an established context without a client
 * certificate: TLS 1.3 CertificateRequest (the client offered
 * post_handshake_auth) or a TLS 1.2 HelloRequest (secure renegotiation,
 * RFC 5746, only). The output goes out with this step; the client's answer
 * arrives through DecryptMessage (SEC_I_RENEGOTIATE) and ASC. */
static SECURITY_STATUS request_client_cert(SchCtx *x) {
        int r;

        ERR_clear_error();
        SSL_set_verify(x->ssl, SSL_VERIFY_PEER, verify_cb(x->cred, 0));
        if (SSL_version(x->ssl) >= TLS1_3_VERSION) {
                if (SSL_verify_client_post_handshake(x->ssl) != 1) {
                        log_ssl_errors("post-handshake authentication");
                        return SEC_E_UNSUPPORTED_FUNCTION; /* no post_handshake_auth from the client */
                }
        } else if (!SSL_get_secure_renegotiation_support(x->ssl) ||
                   !(SSL_set_options(x->ssl, SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION), 1) ||
                   SSL_renegotiate(x->ssl) != 1) {
                log_ssl_errors("renegotiation");
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        x->mutual = true;
        r = SSL_do_handshake(x->ssl);
        if (r <= 0 && SSL_get_error(x->ssl, r) != SSL_ERROR_WANT_READ) {
                x->dead = true;
                return map_ssl_error("request certificate");
        }
        ERR_clear_error();
        return SEC_E_OK;
}


/* A failed step: the alert OpenSSL wrote goes to the SECBUFFER_ALERT slot. */
static void flush_alert(SchCtx *x, PkgStep *s) {
        size_t n = BIO_ctrl_pending(x->wbio);
        PkgBuffer *out = find_buffer(s->out, s->n_out, SECBUFFER_ALERT);

        if (n == 0 || !out || out->data)
                return;
        out->data = malloc(n);
        if (!out->data)
                return;
        out->owned = true;
        out->len = (size_t) BIO_read(x->wbio, out->data, (int) n);
}

/* The unconsumed tail of the input: SECBUFFER_EXTRA in the second slot. */
static void report_extra(PkgStep *s, size_t count) {
        PkgBuffer *slot = find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);

        if (count && slot) {
                slot->type = SECBUFFER_EXTRA;
                slot->count = (uint32_t) count;
        }
}

static uint32_t ret_flags(const SchCtx *x) {
        if (x->server)
                return ASC_RET_CONFIDENTIALITY | ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT | ASC_RET_STREAM |
                       (x->mutual && SSL_get0_peer_certificate(x->ssl) ? ASC_RET_MUTUAL_AUTH : 0);
        return ISC_RET_CONFIDENTIALITY | ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_STREAM |
               ((x->cred->flags & SCH_CRED_MANUAL_CRED_VALIDATION) ? ISC_RET_MANUAL_CRED_VALIDATION : 0);
}

/* The peer's certificate, judged as Windows would once the handshake ended. */
static SECURITY_STATUS check_peer(SchCtx *x) {
        X509 *peer = SSL_get0_peer_certificate(x->ssl);
        SECURITY_STATUS st;

        if (x->server) {
                /* Client certificates are validated against the roots too,
                 * unless the server asked to do it itself. */
                if (!peer || (x->cred->flags & SCH_CRED_MANUAL_CRED_VALIDATION))
                        return SEC_E_OK;
                return map_verify(SSL_get_verify_result(x->ssl));
        }
        if ((x->cred->flags & SCH_CRED_MANUAL_CRED_VALIDATION) || (x->req_flags & ISC_REQ_MANUAL_CRED_VALIDATION))
                return SEC_E_OK;
        if (!peer)
                return SEC_E_CERT_UNKNOWN;
        st = map_verify(SSL_get_verify_result(x->ssl));
        if (st == SEC_E_OK && (x->cred->flags & REVOCATION_FLAGS) &&
            !(x->cred->flags & SCH_CRED_IGNORE_NO_REVOCATION_CHECK))
                st = CRYPT_E_NO_REVOCATION_CHECK; /* no CRL or OCSP fetching here */
        return st;
}

static int64_t peer_expiry(SchCtx *x) {
        X509 *peer = SSL_get0_peer_certificate(x->ssl);
        struct tm tm;

        if (peer && ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm) == 1)
                return filetime_from_unix(timegm(&tm));
        return FILETIME_NEVER;
}

static SECURITY_STATUS step(PkgStep *s, bool server) {
        SchCtx *x = s->ctx;
        PkgBuffer *in = find_buffer(s->in, s->n_in, SECBUFFER_TOKEN);
        PkgBuffer *ap = find_buffer(s->in, s->n_in, SECBUFFER_APPLICATION_PROTOCOLS);
        size_t len = in ? in->len : 0, whole = 0, need = 0, skip = 0;
        const uint8_t *bytes = in ? in->data : NULL;
        SECURITY_STATUS st;
        int r;

        if (!server && (s->req_flags & (ISC_REQ_DELEGATE | ISC_REQ_PROMPT_FOR_CREDS)))
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!x) {
                if (server && !in)
                        return SEC_E_INVALID_TOKEN;
                st = ctx_new(s, server, &x);
                if (st != SEC_E_OK)
                        return st;
                s->ctx = x;
                if (ap) {
                        uint8_t *list = NULL;
                        size_t list_len = 0;
                        st = parse_alpn(ap, &list, &list_len);
                        if (st != SEC_E_OK)
                                return st;
                        if (list && server) {
                                x->alpn = list;
                                x->alpn_len = list_len;
                        } else if (list) {
                                r = SSL_set_alpn_protos(x->ssl, list, (unsigned) list_len);
                                free(list);
                                if (r != 0)
                                        return SEC_E_INSUFFICIENT_MEMORY;
                        }
                }
        }
        s->expiry = FILETIME_NEVER;

        if (x->alert_pending)
                return send_alert(x, s);
        if (x->dead && !x->done)
                return SEC_E_CONTEXT_EXPIRED; /* the handshake failed or was ended by an alert */


        /* After the handshake: shutdown, the caller's answer to
         * SEC_I_RENEGOTIATE (OpenSSL already took the post-handshake
         * message in DecryptMessage; whatever it wrote in reply goes out
         * now, and the input goes back untouched as EXTRA), or a server
         * asking for a client certificate. A renegotiation that needs the
         * caller (a certificate, more records) runs as a handshake below. */
        if (x->done && !x->reneg) {
                bool answer = x->post_msg;
                x->post_msg = false;
                if (server && !answer && !len && !x->shutdown && !x->dead &&
                    ((s->req_flags & ASC_REQ_MUTUAL_AUTH) || x->want_reneg) && !SSL_get0_peer_certificate(x->ssl)) {
                        x->want_reneg = false;
                        st = request_client_cert(x);
                        if (st != SEC_E_OK)
                                return st;
                }
                if (x->shutdown) {
                        x->shutdown = false;
                        ERR_clear_error();
                        if (!x->dead)
                                (void) SSL_shutdown(x->ssl);
                        ERR_clear_error();
                        x->dead = true;
                }
                /* A KeyUpdate the peer asked for waits for our next write in
                 * OpenSSL: send it now, with this step's output. */
                if (!x->dead && SSL_version(x->ssl) >= TLS1_3_VERSION &&
                    SSL_get_key_update_type(x->ssl) != SSL_KEY_UPDATE_NONE) {
                        ERR_clear_error();
                        if (SSL_key_update(x->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 || SSL_do_handshake(x->ssl) != 1) {
                                x->dead = true;
                                return map_ssl_error("key update");
                        }
                }
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, len);
                s->ret_flags = ret_flags(x);
                s->expiry = peer_expiry(x);
                return SEC_E_OK;
        }

        bool fresh = !x->started;
        x->started = true;
        /* After SEC_I_INCOMPLETE_CREDENTIALS the caller gives the same
         * bytes again: OpenSSL has them already. */
        if (x->resupplied && len >= x->resupplied) {
                skip = x->resupplied;
                bytes += skip;
                len -= skip;
        }
        x->resupplied = 0;

        /* A credential with a certificate on a later leg (the answer to
         * SEC_I_INCOMPLETE_CREDENTIALS) supplies the client certificate;
         * calling again without one carries on without. A certificate
         * request after the handshake is first answered with
         * SEC_I_INCOMPLETE_CREDENTIALS (the input stays the caller's). */
        if (!server && s->leg_cred && ((SchCred *) s->leg_cred)->cert && !x->leg_cert) {
                SchCred *nc = s->leg_cred;
                X509_up_ref(nc->cert);
                EVP_PKEY_up_ref(nc->key);
                x->leg_x509 = nc->cert;
                x->leg_key = nc->key;
                x->leg_cert = true;
        } else if (!server && SSL_want_x509_lookup(x->ssl)) {
                if (x->reneg && !x->asked_cred) {
                        x->asked_cred = true;
                        st = flush_output(x, s);
                        if (st != SEC_E_OK)
                                return st;
                        s->ret_flags = ret_flags(x);
                        return SEC_I_INCOMPLETE_CREDENTIALS;
                }
                x->skip_client_cert = true;
        }

        if (in && len) {
                whole = whole_records(bytes, len, &need);
                if (whole == 0) {
                        PkgBuffer *slot = find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);
                        if (slot) {
                                slot->type = SECBUFFER_MISSING;
                                slot->count = (uint32_t) need;
                        }
                        return SEC_E_INCOMPLETE_MESSAGE;
                }
                if (BIO_write(x->rbio, bytes, (int) whole) != (int) whole)
                        return SEC_E_INSUFFICIENT_MEMORY;
                x->fed = true;
        } else if (!x->reneg && (server || (!fresh && !SSL_want_x509_lookup(x->ssl)))) {
                /* A later leg without bytes: more are needed. */
                PkgBuffer *slot = find_buffer(s->in, s->n_in, SECBUFFER_EMPTY);
                if (slot) {
                        slot->type = SECBUFFER_MISSING;
                        slot->count = TLS_HEADER;
                }
                return SEC_E_INCOMPLETE_MESSAGE;
        }

        ERR_clear_error();
        r = SSL_do_handshake(x->ssl);
        if (r == 1) {
                size_t left = BIO_ctrl_pending(x->rbio);
                /* Idle established contexts keep no 34 KiB record buffers;
                 * during the handshake they stay (freeing and taking them
                 * back on every leg cost more than the legs' hashing). */
                SSL_set_mode(x->ssl, SSL_MODE_RELEASE_BUFFERS);
                x->done = true;
                x->reneg = false;
                x->asked_cred = false;
                st = check_peer(x);
                if (st != SEC_E_OK)
                        return st;
                if (!server && x->cred->n_rules) {
                        /* The client's ALPN-scoped TLS_PARAMETERS, now that the
                         * protocol is known. */
                        const unsigned char *sel = NULL;
                        unsigned n = 0;
                        SSL_get0_alpn_selected(x->ssl, &sel, &n);
                        if (n && !alpn_allowed(x->cred, x->ssl, SSL_get_current_cipher(x->ssl), false, sel, n)) {
                                x->dead = true;
                                return SEC_E_ALGORITHM_MISMATCH;
                        }
                }
                /* Bytes after the last handshake record are the caller's
                 * (application data): they go back as EXTRA. */
                if (left)
                        (void) BIO_reset(x->rbio);
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, left + (len - whole));
                s->ret_flags = ret_flags(x);
                s->expiry = peer_expiry(x);
                return SEC_E_OK;
        }
        switch (SSL_get_error(x->ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                if (BIO_ctrl_pending(x->wbio))
                        x->legs++;
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                report_extra(s, len - whole);
                s->ret_flags = ret_flags(x);
                return SEC_I_CONTINUE_NEEDED;
        case SSL_ERROR_WANT_X509_LOOKUP:
                st = flush_output(x, s);
                if (st != SEC_E_OK)
                        return st;
                x->resupplied = skip + whole;
                x->asked_cred = true;

                s->ret_flags = ret_flags(x);
                return SEC_I_INCOMPLETE_CREDENTIALS;
        default:
                x->dead = true;
                if ((SSL_get_verify_mode(x->ssl) & SSL_VERIFY_PEER) && SSL_get_verify_result(x->ssl) != X509_V_OK) {

                        /* OpenSSL sent the alert; the status says why. */
                        st = map_verify(SSL_get_verify_result(x->ssl));
                        log_ssl_errors(server ? "accept" : "connect");
                } else
                        st = map_ssl_error(server ? "accept" : "connect");
                if (x->alpn_refused)
                        st = SEC_E_ALGORITHM_MISMATCH; /* ALPN-scoped TLS_PARAMETERS */
                flush_alert(x, s);
                return st;
        }
}


static SECURITY_STATUS sch_init(PkgStep *s) {
        return step(s, false);
}

static SECURITY_STATUS sch_accept(PkgStep *s) {
        return step(s, true);
}

static bool sch_step_may_block(void *cred, void *ctx, const char *target, uint32_t req_flags, bool accept) {
        SchCtx *x = ctx;
        /* Handshake legs sign, verify and agree keys; after it, a step only
         * flushes what OpenSSL already wrote. The last leg of a TLS 1.3
         * server without client authentication only checks the client's
         * Finished and issues tickets: symmetric work, run inline. */
        if (x && x->server && x->legs >= 1 && !x->mutual && SSL_version(x->ssl) == TLS1_3_VERSION &&
            !SSL_in_before(x->ssl))
                return false;
        return !x || !x->done || x->reneg;

}

/* ---- records ---- */

/* Bytes before and after the plaintext in one record of this connection. */
static void record_overhead(SchCtx *x, uint32_t *ret_header, uint32_t *ret_trailer, uint32_t *ret_block) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        int version = SSL_version(x->ssl);

        *ret_header = TLS_HEADER;
        *ret_trailer = 16;
        *ret_block = 1;
        if (!ci)
                return;
        if (version >= TLS1_3_VERSION) {
                *ret_trailer = 17; /* inner content type + AEAD tag */
                return;
        }
        if (SSL_CIPHER_is_aead(ci)) {
                int nid = SSL_CIPHER_get_cipher_nid(ci);
                if (nid != NID_chacha20_poly1305)
                        *ret_header += 8; /* explicit nonce */
                *ret_trailer = 16;
                return;
        }
        /* CBC: explicit IV in front, MAC and up to a block of padding after. */
        *ret_header += 16;
        *ret_block = 16;
        *ret_trailer = (uint32_t) EVP_MD_get_size(SSL_CIPHER_get_handshake_digest(ci)) + 16;
}

static SECURITY_STATUS sch_seal(void *p, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        SchCtx *x = p;
        PkgBuffer *hdr = find_buffer(b, n, SECBUFFER_STREAM_HEADER), *data = find_buffer(b, n, SECBUFFER_DATA);
        PkgBuffer *trl = find_buffer(b, n, SECBUFFER_STREAM_TRAILER);
        uint32_t h, t, blk;
        size_t got;
        int r;

        if (!hdr && !trl) {
                /* The TOKEN / DATA / TOKEN form. */
                for (size_t i = 0; i < n; i++)
                        if (pkg_buffer_base_type(&b[i]) == SECBUFFER_TOKEN) {
                                if (!hdr)
                                        hdr = &b[i];
                                else if (!trl)
                                        trl = &b[i];
                        }
        }
        if (x->dead || !x->done || x->reneg)
                return SEC_E_CONTEXT_EXPIRED;
        if (!hdr || !data || !trl)
                return SEC_E_INVALID_TOKEN;
        if (data->len > TLS_MAX_PLAINTEXT)
                return SEC_E_INVALID_PARAMETER;
        record_overhead(x, &h, &t, &blk);
        if (hdr->cap < h || trl->cap < t)
                return SEC_E_BUFFER_TOO_SMALL;
        if (data->len == 0) {
                hdr->len = trl->len = 0;
                return SEC_E_OK;
        }
        ERR_clear_error();
        r = SSL_write(x->ssl, data->data, (int) data->len);
        if (r <= 0) {
                x->dead = true;
                return map_ssl_error("encrypt");
        }
        got = BIO_ctrl_pending(x->wbio);
        if (got < h + data->len || got - h - data->len > trl->cap) {
                (void) BIO_reset(x->wbio);
                x->dead = true;
                return SEC_E_INTERNAL_ERROR;
        }
        /* The record straight into the caller's three buffers. */
        if (BIO_read(x->wbio, hdr->data, (int) h) != (int) h ||
            BIO_read(x->wbio, data->data, (int) data->len) != (int) data->len ||
            BIO_read(x->wbio, trl->data, (int) (got - h - data->len)) != (int) (got - h - data->len))
                return SEC_E_INTERNAL_ERROR;
        hdr->len = h;
        trl->len = got - h - data->len;
        return SEC_E_OK;
}

static SECURITY_STATUS sch_unseal(void *p, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        SchCtx *x = p;
        PkgBuffer *data = NULL, *slots[3] = { NULL };
        size_t n_slots = 0, rec, need;
        uint32_t h, t, blk;
        int r;

        for (size_t i = 0; i < n; i++) {
                uint32_t type = pkg_buffer_base_type(&b[i]);
                if (type == SECBUFFER_DATA && !data)
                        data = &b[i];
                else if (type == SECBUFFER_EMPTY && n_slots < 3)
                        slots[n_slots++] = &b[i];
        }
        if (!data || n_slots < 3)
                return SEC_E_INVALID_TOKEN;
        if (!x->done || x->reneg)
                return SEC_E_CONTEXT_EXPIRED; /* a renegotiation waits for ISC/ASC */
        if (x->dead)
                return SEC_E_CONTEXT_EXPIRED;
        if (whole_records(data->data, data->len, &need) == 0) {
                slots[0]->type = SECBUFFER_MISSING;
                slots[0]->count = (uint32_t) need;
                return SEC_E_INCOMPLETE_MESSAGE;
        }
        rec = TLS_HEADER + ((size_t) data->data[3] << 8 | data->data[4]);
        if (rec > TLS_MAX_RECORD) {
                x->dead = true;
                return SEC_E_ILLEGAL_MESSAGE;
        }
        if (BIO_write(x->rbio, data->data, (int) rec) != (int) rec)
                return SEC_E_INSUFFICIENT_MEMORY;
        record_overhead(x, &h, &t, &blk);
        if (h > rec)
                h = TLS_HEADER;
        ERR_clear_error();
        /* Decrypt in place: the plaintext lands right after the header. */
        r = SSL_read(x->ssl, data->data + h, (int) (rec - h));
        if (r > 0) {
                size_t m = (size_t) r, total = data->len;
                x->post_msg = false; /* a SEC_I_RENEGOTIATE left unanswered */

                /* HEADER, DATA, TRAILER, then EXTRA: Windows' layout. */
                data->type = SECBUFFER_STREAM_HEADER;
                data->has_offset = true;
                data->offset = 0;
                data->len = h;
                slots[0]->type = SECBUFFER_DATA;
                slots[0]->has_offset = true;
                slots[0]->offset = h;
                slots[0]->data = data->data + h;
                slots[0]->len = m;
                slots[1]->type = SECBUFFER_STREAM_TRAILER;
                slots[1]->has_offset = true;
                slots[1]->offset = (uint32_t) (h + m);
                slots[1]->len = rec - h - m;
                if (total > rec) {
                        slots[2]->type = SECBUFFER_EXTRA;
                        slots[2]->has_offset = true;
                        slots[2]->offset = (uint32_t) rec;
                        slots[2]->count = (uint32_t) (total - rec);
                }
                data->data = NULL;
                return SEC_E_OK;
        }
        switch (SSL_get_error(x->ssl, r)) {
        case SSL_ERROR_ZERO_RETURN:
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
        case SSL_ERROR_WANT_X509_LOOKUP: {
                int err = SSL_get_error(x->ssl, r);
                SECURITY_STATUS st = err == SSL_ERROR_ZERO_RETURN ? SEC_I_CONTEXT_EXPIRED : SEC_I_RENEGOTIATE;
                /* A post-handshake message (NewSessionTicket, KeyUpdate, a
                 * certificate request, HelloRequest, a renegotiating
                 * ClientHello) or close_notify: no plaintext. Those that
                 * start a handshake, or whose answer waits in OpenSSL, make
                 * the caller run ISC/ASC before any more records. */
                size_t total = data->len;
                if (st == SEC_I_CONTEXT_EXPIRED)
                        x->dead = true;
                else {
                        x->post_msg = true;
                        if (SSL_in_init(x->ssl) || BIO_ctrl_pending(x->wbio) || err == SSL_ERROR_WANT_X509_LOOKUP) {
                                x->reneg = true;
                                x->asked_cred = false;
                                x->skip_client_cert = false;
                        }
                }
                data->type = SECBUFFER_STREAM_HEADER;
                data->has_offset = true;
                data->offset = 0;
                data->len = rec;
                data->data = NULL;
                if (total > rec) {
                        slots[2]->type = SECBUFFER_EXTRA;
                        slots[2]->has_offset = true;
                        slots[2]->offset = (uint32_t) rec;
                        slots[2]->count = (uint32_t) (total - rec);
                }
                return st;
        }
        default:
                x->dead = true;
                return map_ssl_error("decrypt");
        }
}

static SECURITY_STATUS sch_sign(void *ctx, uint32_t qop, PkgBuffer *b, size_t n, uint32_t seq_no) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

static SECURITY_STATUS sch_verify(void *ctx, PkgBuffer *b, size_t n, uint32_t seq_no, uint32_t *ret_qop) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

static SECURITY_STATUS sch_import(const uint8_t *blob, size_t len, void **ret_ctx) {
        return SEC_E_UNSUPPORTED_FUNCTION;
}

/* SCHANNEL_SESSION: whether this connection's session may be resumed. A
 * client drops (or keeps again) its cache entry for the target; a server
 * takes the connection's sessions out of its cache (or puts them back). */
static SECURITY_STATUS session_reconnects(SchCtx *x, bool enable) {
        x->no_cache = !enable;
        x->sess_enabled = enable;
        if (x->server) {
                SSL_SESSION *cur = SSL_get_session(x->ssl);
                for (unsigned i = 0; i < x->n_srv_sess; i++)
                        if (enable)
                                SSL_CTX_add_session(x->cred->ssl_ctx, x->srv_sess[i]);
                        else
                                SSL_CTX_remove_session(x->cred->ssl_ctx, x->srv_sess[i]);
                if (cur && !enable)
                        SSL_CTX_remove_session(x->cred->ssl_ctx, cur);
                ERR_clear_error();
                return SEC_E_OK;
        }
        if (!x->target)
                return SEC_E_OK;
        if (!enable)
                cache_remove(x->cred, x->target);
        else if (x->done) {
                SSL_SESSION *sess = SSL_get_session(x->ssl);
                if (sess && SSL_SESSION_is_resumable(sess) && (sess = SSL_SESSION_dup(sess)))
                        cache_put(x->cred, x->target, sess, x->pid, x->uid);
        }
        return SEC_E_OK;
}

static SECURITY_STATUS sch_control(void *p, PkgBuffer *b, size_t n) {

        SchCtx *x = p;
        PkgBuffer *t = find_buffer(b, n, SECBUFFER_TOKEN);
        uint32_t type;

        if (!t || t->len < 4)
                return SEC_E_INVALID_TOKEN;
        memcpy(&type, t->data, 4);
        switch (type) {
        case SCHANNEL_SHUTDOWN:
                if (!x->done)
                        return SEC_E_CONTEXT_EXPIRED;
                x->shutdown = true;
                return SEC_E_OK;
        case SCHANNEL_ALERT: {
                uint32_t level, number;
                if (t->len < 12)
                        return SEC_E_INVALID_TOKEN;
                memcpy(&level, t->data + 4, 4);
                memcpy(&number, t->data + 8, 4);
                if ((level != TLS1_ALERT_WARNING && level != TLS1_ALERT_FATAL) || number > 255)
                        return SEC_E_INVALID_TOKEN;
                if (x->dead)
                        return SEC_E_CONTEXT_EXPIRED;
                if (number == 0 && x->done && !x->reneg) {
                        x->shutdown = true; /* close_notify under the keys */
                        return SEC_E_OK;
                }
                if (!alert_in_clear(x))
                        return SEC_E_UNSUPPORTED_FUNCTION;
                x->alert_pending = true;
                x->alert_level = (uint8_t) level;
                x->alert_desc = (uint8_t) number;
                return SEC_E_OK;
        }
        case SCHANNEL_SESSION: {
                uint32_t flags;
                if (t->len < 8)
                        return SEC_E_INVALID_TOKEN;
                memcpy(&flags, t->data + 4, 4);
                if (flags != SSL_SESSION_ENABLE_RECONNECTS && flags != SSL_SESSION_DISABLE_RECONNECTS)
                        return SEC_E_INVALID_TOKEN;
                return session_reconnects(x, flags == SSL_SESSION_ENABLE_RECONNECTS);
        }
        case SCHANNEL_RENEGOTIATE:
                /* A server asks the client for a certificate (or, in TLS 1.2,
                 * renegotiates) on its next ASC; clients do not renegotiate. */
                if (!x->server)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                if (!x->done || x->dead)
                        return SEC_E_CONTEXT_EXPIRED;
                x->want_reneg = true;
                return SEC_E_OK;
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

/* ---- QueryContextAttributes ---- */

static uint32_t protocol_bits(SchCtx *x) {
        uint32_t v;

        switch (SSL_version(x->ssl)) {
        case TLS1_3_VERSION:
                v = SP_PROT_TLS1_3_CLIENT;
                break;
        case TLS1_2_VERSION:
                v = SP_PROT_TLS1_2_CLIENT;
                break;
        case TLS1_1_VERSION:
                v = SP_PROT_TLS1_1_CLIENT;
                break;
        default:
                v = SP_PROT_TLS1_0_CLIENT;
        }
        return x->server ? v >> 1 : v;
}

#define CALG_AES_128 0x0000660eU
#define CALG_AES_256 0x00006610U
#define CALG_SHA_256 0x0000800cU
#define CALG_SHA_384 0x0000800dU
#define CALG_ECDH_EPHEM 0x0000ae06U
#define CALG_DH_EPHEM 0x0000aa02U
#define CALG_RSA_KEYX 0x0000a400U

static SECURITY_STATUS set_blob(PkgCtxAttr *out, const void *p, size_t n) {
        out->blob = malloc(n ? n : 1);
        if (!out->blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        if (n)
                memcpy(out->blob, p, n);
        out->blob_len = n;
        out->has_blob = true;
        return SEC_E_OK;
}

static SECURITY_STATUS bindings(SchCtx *x, uint32_t attr, PkgCtxAttr *out) {
        static const char unique[] = "tls-unique:", endpoint[] = "tls-server-end-point:";
        uint8_t buf[sizeof(endpoint) + EVP_MAX_MD_SIZE];

        if (attr == SECPKG_ATTR_UNIQUE_BINDINGS) {
                size_t n;
                bool ours;
                if (SSL_version(x->ssl) >= TLS1_3_VERSION)
                        return SEC_E_UNSUPPORTED_FUNCTION; /* RFC 9266: no tls-unique in TLS 1.3 */
                /* The first Finished of the connection. */
                ours = x->server == (bool) SSL_session_reused(x->ssl);
                memcpy(buf, unique, sizeof(unique) - 1);
                n = ours ? SSL_get_finished(x->ssl, buf + sizeof(unique) - 1, EVP_MAX_MD_SIZE)
                         : SSL_get_peer_finished(x->ssl, buf + sizeof(unique) - 1, EVP_MAX_MD_SIZE);
                return set_blob(out, buf, sizeof(unique) - 1 + n);
        } else {
                X509 *cert = x->server ? SSL_get_certificate(x->ssl) : SSL_get0_peer_certificate(x->ssl);
                const EVP_MD *md = NULL;
                unsigned n = 0;
                int md_nid, pk_nid;
                if (!cert)
                        return SEC_E_NO_CREDENTIALS;
                /* RFC 5929 §4.1: the certificate's signature hash, SHA-256 for MD5/SHA-1. */
                if (X509_get_signature_info(cert, &md_nid, &pk_nid, NULL, NULL) == 1 && md_nid != NID_undef &&
                    md_nid != NID_md5 && md_nid != NID_sha1)
                        md = EVP_get_digestbynid(md_nid);
                if (!md)
                        md = EVP_sha256();
                memcpy(buf, endpoint, sizeof(endpoint) - 1);
                if (X509_digest(cert, md, buf + sizeof(endpoint) - 1, &n) != 1)
                        return SEC_E_INTERNAL_ERROR;
                return set_blob(out, buf, sizeof(endpoint) - 1 + n);
        }
}

/* KEY_INFO: words KeySize, SignatureAlgorithm, EncryptAlgorithm; blob
 * "signature\0cipher\0". CIPHER_INFO: words dwVersion, dwProtocol,
 * dwCipherSuite, dwBaseCipherSuite, dwCipherLen, dwCipherBlockLen,
 * dwHashLen, dwMinExchangeLen, dwMaxExchangeLen, dwKeyType; blob the five
 * names szCipherSuite, szCipher, szHash, szExchange, szCertificate, each
 * NUL-terminated. */
static SECURITY_STATUS cipher_info(SchCtx *x, uint32_t attr, PkgCtxAttr *out) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        X509 *cert = x->server ? SSL_get_certificate(x->ssl) : SSL_get0_peer_certificate(x->ssl);
        EVP_PKEY *pk = cert ? X509_get0_pubkey(cert) : NULL, *tmp = NULL;
        const char *cert_alg = !pk ? "" : EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? "ECDSA" : "RSA";
        int nid, bits = 0;
        bool ffdhe = false;
        const char *cipher, *hash, *exch;
        const EVP_MD *md;
        char names[256];
        int n;

        if (!ci)
                return SEC_E_INVALID_HANDLE;
        nid = SSL_CIPHER_get_cipher_nid(ci);
        SSL_CIPHER_get_bits(ci, &bits);
        cipher = nid == NID_chacha20_poly1305 ? "CHACHA20_POLY1305" : "AES";
        md = SSL_CIPHER_get_handshake_digest(ci);
        hash = md && EVP_MD_get_type(md) == NID_sha384 ? "SHA384" : "SHA256";
        if (SSL_get_peer_tmp_key(x->ssl, &tmp) == 1 || SSL_get_tmp_key(x->ssl, &tmp) == 1) {
                ffdhe = EVP_PKEY_get_base_id(tmp) == EVP_PKEY_DH;

                EVP_PKEY_free(tmp);
        }
        ERR_clear_error();
        if (attr == SECPKG_ATTR_KEY_INFO) {
                out->words[0] = (uint32_t) bits;
                out->words[1] = !pk ? 0 : EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? 0x00002203U /* CALG_ECDSA */
                                                                                  : 0x00002400U /* CALG_RSA_SIGN */;
                out->words[2] = bits == 128 ? CALG_AES_128 : bits == 256 && nid != NID_chacha20_poly1305 ? CALG_AES_256 : 0;
                out->n_words = 3;
                n = snprintf(names, sizeof(names), "%s%c%s_%d", cert_alg, 0, cipher, bits);
                return set_blob(out, names, (size_t) n + 1);
        }
        /* The values of the suite's NCRYPT_SSL_CIPHER_SUITE, as
         * Get-TlsCipherSuite shows them on Windows 10 and later: dwProtocol
         * the CNG protocol identifier (TLS1_2_PROTOCOL_VERSION 0x0303,
         * TLS1_3 0x0304); no hash for AEAD suites (their MAC is the AEAD);
         * exchange "ECDH" (0..65536 bits), "DH" or "RSA" (512..16384);
         * dwKeyType 0 (the ECC curve key types 23-25 only named the
         * pre-Windows 10 "_P256" suite variants). */
        switch (SSL_CIPHER_get_kx_nid(ci)) {
        case NID_kx_rsa:
                exch = "RSA";
                break;
        case NID_kx_dhe:
                exch = "DH";
                break;
        case NID_kx_ecdhe:
                exch = "ECDH";
                break;
        default: /* TLS 1.3: the group decides */
                exch = ffdhe ? "DH" : "ECDH";
        }
        if (SSL_CIPHER_is_aead(ci)) {
                hash = "";
                out->words[6] = 0;
        } else {
                int dn = SSL_CIPHER_get_digest_nid(ci);
                hash = dn == NID_sha1 ? "SHA1" : dn == NID_sha384 ? "SHA384" : "SHA256";
                out->words[6] = dn == NID_sha1 ? 160 : dn == NID_sha384 ? 384 : 256;
        }
        out->words[0] = 1; /* SECPKGCONTEXT_CIPHERINFO_V1 */
        out->words[1] = (uint32_t) SSL_version(x->ssl);
        out->words[2] = SSL_CIPHER_get_protocol_id(ci);
        out->words[3] = SSL_CIPHER_get_protocol_id(ci);
        out->words[4] = (uint32_t) bits;
        out->words[5] = nid == NID_chacha20_poly1305 ? 1 : 16;
        out->words[7] = strcmp(exch, "ECDH") ? 512 : 0;
        out->words[8] = strcmp(exch, "ECDH") ? 16384 : 65536;
        out->words[9] = 0;
        out->n_words = 10;
        n = snprintf(names, sizeof(names), "%s%c%s%c%s%c%s%c%s", SSL_CIPHER_standard_name(ci), 0, cipher, 0, hash, 0,
                     exch, 0, cert_alg);
        return set_blob(out, names, (size_t) n + 1);

}

/* The CA names of the server's CertificateRequest (client) or of our own
 * list (server): words[0] the count; blob each DER name after a 4-byte
 * length (host order). */
static SECURITY_STATUS issuer_list(SchCtx *x, PkgCtxAttr *out) {
        const STACK_OF(X509_NAME) *names = x->server ? SSL_get_client_CA_list(x->ssl) : SSL_get0_peer_CA_list(x->ssl);
        size_t total = 0;
        uint8_t *p;
        int n = names ? sk_X509_NAME_num(names) : 0;

        for (int i = 0; i < n; i++) {
                int len = i2d_X509_NAME(sk_X509_NAME_value(names, i), NULL);
                if (len <= 0)
                        return SEC_E_INTERNAL_ERROR;
                total += 4 + (size_t) len;
        }
        out->words[0] = (uint32_t) n;
        out->n_words = 1;
        out->blob = malloc(total ? total : 1);
        if (!out->blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->has_blob = true;
        out->blob_len = total;
        p = out->blob;
        for (int i = 0; i < n; i++) {
                uint8_t *q = p + 4;
                uint32_t len = (uint32_t) i2d_X509_NAME(sk_X509_NAME_value(names, i), &q);
                memcpy(p, &len, 4);
                p += 4 + len;
        }
        return SEC_E_OK;
}

static char *subject(X509 *cert) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data, *s;
        long n;

        if (!b)
                return NULL;
        X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        n = BIO_get_mem_data(b, &data);
        s = strndup(data, n);
        BIO_free(b);
        return s;
}

static SECURITY_STATUS sch_query(void *p, uint32_t attr, PkgCtxAttr *out) {
        SchCtx *x = p;
        uint32_t h, t, blk;
        X509 *peer = SSL_get0_peer_certificate(x->ssl);

        if (!x->done && attr != SECPKG_ATTR_SIZES && attr != SECPKG_ATTR_STREAM_SIZES &&
            attr != SECPKG_ATTR_ISSUER_LIST_EX)
                return SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                record_overhead(x, &h, &t, &blk);
                out->has_sizes = true;
                out->sizes.cbMaxToken = SCH_MAX_TOKEN;
                out->sizes.cbMaxSignature = 0;
                out->sizes.cbBlockSize = blk;
                out->sizes.cbSecurityTrailer = h + t;
                return SEC_E_OK;
        case SECPKG_ATTR_STREAM_SIZES:
                if (!x->done)
                        return SEC_E_INVALID_HANDLE;
                record_overhead(x, &h, &t, &blk);
                out->words[0] = h;
                out->words[1] = t;
                out->words[2] = TLS_MAX_PLAINTEXT;
                out->words[3] = 4;
                out->words[4] = blk;
                out->n_words = 5;
                return SEC_E_OK;
        case SECPKG_ATTR_CONNECTION_INFO: {
                const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
                int bits = 0, nid = ci ? SSL_CIPHER_get_cipher_nid(ci) : NID_undef;
                const EVP_MD *md = ci ? SSL_CIPHER_get_handshake_digest(ci) : NULL;
                EVP_PKEY *tmp = NULL;
                if (ci)
                        SSL_CIPHER_get_bits(ci, &bits);
                out->words[0] = protocol_bits(x);
                out->words[1] = nid == NID_aes_128_gcm || nid == NID_aes_128_cbc || nid == NID_aes_128_ccm
                                        ? CALG_AES_128
                                : nid == NID_aes_256_gcm || nid == NID_aes_256_cbc || nid == NID_aes_256_ccm
                                        ? CALG_AES_256
                                        : 0;
                out->words[2] = (uint32_t) bits;
                out->words[3] = md && EVP_MD_get_type(md) == NID_sha384 ? CALG_SHA_384 : CALG_SHA_256;
                out->words[4] = md ? (uint32_t) EVP_MD_get_size(md) * 8 : 0;
                if (SSL_get_peer_tmp_key(x->ssl, &tmp) == 1 || SSL_get_tmp_key(x->ssl, &tmp) == 1) {
                        out->words[5] = EVP_PKEY_get_base_id(tmp) == EVP_PKEY_DH ? CALG_DH_EPHEM : CALG_ECDH_EPHEM;
                        out->words[6] = (uint32_t) EVP_PKEY_get_bits(tmp);
                        EVP_PKEY_free(tmp);
                } else
                        out->words[5] = CALG_RSA_KEYX;
                ERR_clear_error();
                out->n_words = 7;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_SESSION_INFO: {
                SSL_SESSION *sess = SSL_get_session(x->ssl);
                const unsigned char *id = NULL;
                unsigned id_len = 0;
                if (sess)
                        id = SSL_SESSION_get_id(sess, &id_len);
                out->words[0] = SSL_session_reused(x->ssl) ? SSL_SESSION_RECONNECT : 0;
                out->n_words = 1;
                return set_blob(out, id, id_len > 32 ? 32 : id_len);
        }
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT: {
                unsigned char *der = NULL;
                int n;
                SECURITY_STATUS st;
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                n = i2d_X509(peer, &der);
                if (n <= 0)
                        return SEC_E_INTERNAL_ERROR;
                st = set_blob(out, der, (size_t) n);
                OPENSSL_free(der);
                return st;
        }
        case SECPKG_ATTR_APPLICATION_PROTOCOL: {
                const unsigned char *sel = NULL;
                unsigned n = 0;
                SSL_get0_alpn_selected(x->ssl, &sel, &n);
                out->words[0] = n ? SecApplicationProtocolNegotiationStatus_Success
                                  : SecApplicationProtocolNegotiationStatus_None;
                out->words[1] = n ? SecApplicationProtocolNegotiationExt_ALPN : SecApplicationProtocolNegotiationExt_None;
                out->n_words = 2;
                return n ? set_blob(out, sel, n) : SEC_E_OK;
        }
        case SECPKG_ATTR_UNIQUE_BINDINGS:
        case SECPKG_ATTR_ENDPOINT_BINDINGS:
                return bindings(x, attr, out);
        case SECPKG_ATTR_KEY_INFO:
        case SECPKG_ATTR_CIPHER_INFO:
                return cipher_info(x, attr, out);
        case SECPKG_ATTR_ISSUER_LIST_EX:
                return issuer_list(x, out);
        case SECPKG_ATTR_NAMES:
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                out->user_name = subject(peer);
                return out->user_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_LIFESPAN: {
                struct tm tm;
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                out->has_lifespan = true;
                out->start = ASN1_TIME_to_tm(X509_get0_notBefore(peer), &tm) == 1 ? filetime_from_unix(timegm(&tm))
                                                                                  : 0;
                out->expiry = peer_expiry(x);
                return SEC_E_OK;
        }
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

static int sch_setup(const Config *config) {
        pthread_once(&ex_once, ex_init);
        return ex_index >= 0 ? 0 : -ENOMEM;
}

static const char *const sch_aliases[] = {
        UNISP_NAME_A, "Default TLS SSP", "Microsoft TLS 1.0", "Microsoft SSL 3.0", NULL,
};

const Provider provider_schannel = {
        .name = "Schannel",
        .comment = "Schannel Security Package",
        .aliases = sch_aliases,
        .capabilities = SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION |
                        SECPKG_FLAG_MULTI_REQUIRED | SECPKG_FLAG_EXTENDED_ERROR | SECPKG_FLAG_IMPERSONATION |
                        SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_STREAM | SECPKG_FLAG_MUTUAL_AUTH,
        .version = 1,
        .rpcid = UNISP_RPC_ID,
        .max_token = SCH_MAX_TOKEN,
        .setup = sch_setup,
        .acquire = sch_acquire,
        .cred_free = cred_free,
        .cred_name = sch_cred_name,
        .step_may_block = sch_step_may_block,
        .init_ctx = sch_init,
        .accept_ctx = sch_accept,
        .query_ctx = sch_query,
        .sign = sch_sign,
        .verify = sch_verify,
        .seal = sch_seal,
        .unseal = sch_unseal,
        .import_ctx = sch_import,
        .ctx_free = ctx_free,
        .control = sch_control,
};
