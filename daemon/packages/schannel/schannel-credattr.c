/* SPDX-License-Identifier: MIT */
/*
 * QueryCredentialsAttributes on a Schannel credential: the protocols, the
 * cipher strengths and the CryptoAPI algorithm ids this credential would
 * negotiate, read back from its OpenSSL context (Windows-verified in Wine's
 * schannel.c test_cread_attrs: SUPPORTED_PROTOCOLS is the credential's own
 * grbitEnabledProtocols, not the system's).
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

/* The suites this credential offers (its version range, its key), as the
 * ALG_IDs of their ciphers, hashes, exchanges and signatures; with the
 * smallest and largest cipher key in bits. */
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
                int bits = 0, cipher = SSL_CIPHER_get_cipher_nid(ci), kx = SSL_CIPHER_get_kx_nid(ci),
                    auth = SSL_CIPHER_get_auth_nid(ci), md = SSL_CIPHER_get_digest_nid(ci);
                const EVP_MD *hs = SSL_CIPHER_get_handshake_digest(ci);

                SSL_CIPHER_get_bits(ci, &bits);
                if (bits > 0) {
                        lo = lo && lo < bits ? lo : bits;
                        hi = hi > bits ? hi : bits;
                }
                /* ChaCha20-Poly1305 has no ALG_ID. */
                add(words, &n, cipher == NID_des_ede3_cbc ? CALG_3DES
                               : bits == 128 && cipher != NID_chacha20_poly1305 ? CALG_AES_128
                               : bits == 256 && cipher != NID_chacha20_poly1305 ? CALG_AES_256
                                                                                 : 0);
                if (md == NID_undef && hs)
                        md = EVP_MD_get_type(hs); /* AEAD suites: the PRF's hash */
                add(words, &n, md == NID_sha1 ? CALG_SHA1 : md == NID_sha256 ? CALG_SHA_256
                                                         : md == NID_sha384 ? CALG_SHA_384 : 0);
                if (kx == NID_kx_ecdhe || kx == NID_kx_any)
                        add(words, &n, CALG_ECDH_EPHEM);
                if (kx == NID_kx_dhe)
                        add(words, &n, CALG_DH_EPHEM);
                if (kx == NID_kx_rsa)
                        add(words, &n, CALG_RSA_KEYX);
                if (auth == NID_auth_rsa || auth == NID_auth_any)
                        add(words, &n, CALG_RSA_SIGN);
                if (auth == NID_auth_ecdsa || auth == NID_auth_any)
                        add(words, &n, CALG_ECDSA);
        }
        sk_SSL_CIPHER_free(list);
        SSL_free(ssl);
        *ret_n = n;
        *ret_min = lo;
        *ret_max = hi;
        return SEC_E_OK;
}

SECURITY_STATUS sch_cred_attr(void *p, uint32_t attr, uint32_t *words, size_t *ret_n) {
        SchCred *c = p;
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
