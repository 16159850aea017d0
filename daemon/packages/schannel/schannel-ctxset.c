/* SPDX-License-Identifier: MIT */
/*
 * SetContextAttributes on a Schannel context (Microsoft's
 * SetContextAttributesA page lists what Schannel lets be set) and the one
 * attribute that depends on it, EAP_KEY_BLOCK:
 *
 *  - DTLS_MTU: schannel-dtls.c.
 *  - APP_DATA (SecPkgContext_SessionAppData): application data kept with
 *    the session (OpenSSL's ticket_appdata), on the session of the
 *    connection, on those it put in the server cache and on those it makes
 *    later; a resumed connection's QueryContextAttributes(APP_DATA)
 *    returns it (schannel-attributes.c).
 *  - EAP_PRF_INFO (SecPkgContext_EapPrfInfo, one DWORD in pbPrfData): which
 *    PRF EAP_KEY_BLOCK answers with — 0 PPP EAP-TLS (RFC 2716, the
 *    default), 1 EAP-TTLSv0 keying material, 2 EAP-TTLSv0 challenge,
 *    3 EAP-FAST keying material (the labels and random orders of
 *    Microsoft's SecPkgContext_EapPrfInfo page).
 *  - EARLY_START (SecPkgContext_EarlyStart): a client asks for TLS False
 *    Start. OpenSSL never false-starts, so the flag is taken and the
 *    handshake runs to its end as Windows runs one whose False Start
 *    conditions are not met (README, deliberate differences).
 *
 * Every structure arrives as the library flattened it (ctxattr-set.c):
 * APP_DATA and EAP_PRF_INFO as their first DWORD then the bytes pointed
 * at; EARLY_START and DTLS_MTU as the caller's bytes.
 */
#include "packages/schannel/schannel-private.h"

#include "schannel.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#define APP_DATA_MAX 4092u /* WIRE_MAX_SET_CTX_ATTR less the flags */

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The connection's application data onto `sess` (none set: nothing). */
void sch_app_data_apply(SchCtx *x, SSL_SESSION *sess) {
        if (x && x->has_app_data && sess)
                (void) SSL_SESSION_set1_ticket_appdata(sess, x->app_data, x->app_data_len);
}

static SECURITY_STATUS set_app_data(SchCtx *x, const uint8_t *data, size_t len) {
        uint8_t *copy = NULL;

        if (len < 4 || len - 4 > APP_DATA_MAX)
                return SEC_E_INVALID_PARAMETER;
        if (len > 4) {
                copy = malloc(len - 4);
                if (!copy)
                        return SEC_E_INSUFFICIENT_MEMORY;
                memcpy(copy, data + 4, len - 4);
        }
        free(x->app_data);
        x->app_data = copy;
        x->app_data_len = len - 4;
        x->has_app_data = true;
        sch_app_data_apply(x, SSL_get_session(x->ssl));
        for (unsigned i = 0; i < x->n_srv_sess; i++)
                sch_app_data_apply(x, x->srv_sess[i]);
        return SEC_E_OK;
}

static SECURITY_STATUS set_eap_prf(SchCtx *x, const uint8_t *data, size_t len) {
        uint32_t prf;

        /* dwVersion 0, then exactly one DWORD. */
        if (len != 8 || le32(data) != 0)
                return SEC_E_INVALID_PARAMETER;
        prf = le32(data + 4);
        if (prf > EAP_PRF_FAST_KEYING_MATERIAL)
                return SEC_E_INVALID_PARAMETER;
        x->eap_prf = prf;
        return SEC_E_OK;
}

static SECURITY_STATUS set_early_start(SchCtx *x, const uint8_t *data, size_t len) {
        uint32_t f;

        if (!data || len < sizeof(uint32_t))
                return SEC_E_INVALID_PARAMETER;
        f = le32(data);
        if (f & ~(uint32_t) ENABLE_TLS_CLIENT_EARLY_START)
                return SEC_E_INVALID_PARAMETER;
        if (x->server)
                return SEC_E_UNSUPPORTED_FUNCTION; /* False Start is the client's */
        x->early_start = f & ENABLE_TLS_CLIENT_EARLY_START;
        return SEC_E_OK;
}

SECURITY_STATUS sch_set_ctx_attr(void *p, uint32_t attr, const uint8_t *data, size_t len) {
        SchCtx *x = p;

        switch (attr) {
        case SECPKG_ATTR_DTLS_MTU:
                return sch_dtls_set_mtu_attr(x, data, len);
        case SECPKG_ATTR_APP_DATA:
                return set_app_data(x, data, len);
        case SECPKG_ATTR_EAP_PRF_INFO:
                return set_eap_prf(x, data, len);
        case SECPKG_ATTR_EARLY_START:
                return set_early_start(x, data, len);
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

/* The TLS PRF of this connection's version (RFC 2246 5: MD5 and SHA-1 for
 * TLS 1.0 and 1.1; RFC 5246 5: the suite's hash for TLS 1.2). */
int sch_tls_prf(SchCtx *x, const uint8_t *secret, size_t secret_len, const char *label, const uint8_t *seed,
                   size_t seed_len, uint8_t *out, size_t out_len) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        const char *md = "MD5-SHA1";
        EVP_KDF *kdf;
        EVP_KDF_CTX *k;
        OSSL_PARAM params[5];
        int r;

        if (SSL_version(x->ssl) == TLS1_2_VERSION || SSL_version(x->ssl) == DTLS1_2_VERSION) {
                const EVP_MD *h = ci ? SSL_CIPHER_get_handshake_digest(ci) : NULL;
                if (!h)
                        return -EINVAL;
                md = EVP_MD_get0_name(h);
        }
        kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
        k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
        EVP_KDF_free(kdf);
        if (!k)
                return -ENOMEM;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) md, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *) secret, secret_len);
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *) label, strlen(label));
        params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *) seed, seed_len);
        params[4] = OSSL_PARAM_construct_end();
        r = EVP_KDF_derive(k, out, out_len, params) == 1 ? 0 : -EIO;
        EVP_KDF_CTX_free(k);
        return r;
}

/*
 * EAP_KEY_BLOCK: rgbKeys = PRF(master secret, label, randoms) for 128
 * bytes, rgbIVs = PRF("", label, randoms) for 64 (RFC 2716 3.5, whose
 * IV derivation is applied to every EAP_PRF_INFO choice; Microsoft names
 * only the keys' PRF). TLS 1.3 has no such PRF (RFC 9190 derives EAP-TLS
 * keys with the exporter: KEYING_MATERIAL): SEC_E_UNSUPPORTED_FUNCTION.
 * `out` gets the 192 bytes, which the caller wipes.
 */
SECURITY_STATUS sch_eap_key_block(SchCtx *x, uint8_t out[192]) {
        static const char *const labels[] = { "client EAP encryption", "ttls keying material", "ttls challenge",
                                              "key expansion" };
        SSL_SESSION *sess = SSL_get_session(x->ssl);
        uint8_t master[SSL_MAX_MASTER_KEY_LENGTH], seed[2 * SSL3_RANDOM_SIZE];
        size_t master_len;
        bool client_first = x->eap_prf == EAP_PRF_PPP_EAP_TLS;
        int r;

        if (!x->done || !sess)
                return SEC_E_INVALID_HANDLE;
        if (SSL_version(x->ssl) == TLS1_3_VERSION)
                return SEC_E_UNSUPPORTED_FUNCTION;
        master_len = SSL_SESSION_get_master_key(sess, master, sizeof(master));
        if (SSL_get_client_random(x->ssl, client_first ? seed : seed + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE) !=
                    SSL3_RANDOM_SIZE ||
            SSL_get_server_random(x->ssl, client_first ? seed + SSL3_RANDOM_SIZE : seed, SSL3_RANDOM_SIZE) !=
                    SSL3_RANDOM_SIZE ||
            master_len == 0) {
                OPENSSL_cleanse(master, sizeof(master));
                return SEC_E_INTERNAL_ERROR;
        }
        r = sch_tls_prf(x, master, master_len, labels[x->eap_prf], seed, sizeof(seed), out, 128);
        if (r == 0)
                r = sch_tls_prf(x, (const uint8_t *) "", 0, labels[x->eap_prf], seed, sizeof(seed), out + 128, 64);
        OPENSSL_cleanse(master, sizeof(master));
        if (r < 0) {
                OPENSSL_cleanse(out, 192);
                sch_log_ssl_errors("EAP key block");
                ERR_clear_error();
                return r == -ENOMEM ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
        }
        return SEC_E_OK;
}
