/* SPDX-License-Identifier: MIT */
/*
 * ApplyControlToken (shutdown, renegotiation controls) and
 * QueryContextAttributes for Schannel contexts.
 */
#include "packages/schannel/schannel-private.h"
#include "wire.h"

static SECURITY_STATUS session_reconnects(SchCtx *x, bool enable) {
        x->no_cache = !enable;
        x->sess_enabled = enable;
        if (x->server) {
                SSL_SESSION *cur = SSL_get_session(x->ssl);
                for (unsigned i = 0; i < x->n_srv_sess; i++)
                        if (enable)
                                SSL_CTX_add_session(SSL_get_SSL_CTX(x->ssl), x->srv_sess[i]);
                        else
                                SSL_CTX_remove_session(SSL_get_SSL_CTX(x->ssl), x->srv_sess[i]);
                if (cur && !enable)
                        SSL_CTX_remove_session(SSL_get_SSL_CTX(x->ssl), cur);
                ERR_clear_error();
                return SEC_E_OK;
        }
        if (!x->target)
                return SEC_E_OK;
        if (!enable)
                sch_cache_remove(x->cred, x->target);
        else if (x->done) {
                SSL_SESSION *sess = SSL_get_session(x->ssl);
                if (sess && SSL_SESSION_is_resumable(sess) && (sess = SSL_SESSION_dup(sess)))
                        sch_cache_put(x->cred, x->target, sess, x->pid, x->uid);
        }
        return SEC_E_OK;
}

SECURITY_STATUS sch_control(void *p, PkgBuffer *b, size_t n) {
        SchCtx *x = p;
        PkgBuffer *t = sch_find_buffer(b, n, SECBUFFER_TOKEN);
        uint32_t type;

        /* One TOKEN buffer; shorter than a token type it is no known
         * token (Wine's schannel.c test_connection_shutdown). */
        if (n != 1 || !t)
                return SEC_E_INVALID_TOKEN;
        if (t->len < 4)
                return SEC_E_UNSUPPORTED_FUNCTION;
        memcpy(&type, t->data, 4);
        switch (type) {
        case SCHANNEL_SHUTDOWN:
                if (!x->done) {
                        /* During the handshake: a close_notify alert in the
                         * clear with the next ISC/ASC (Wine's schannel.c
                         * test_connection_shutdown), while no record of ours
                         * is under the keys yet. */
                        if (x->dead || !sch_alert_in_clear(x))
                                return SEC_E_CONTEXT_EXPIRED;
                        x->alert_pending = true;
                        x->alert_level = TLS1_ALERT_WARNING;
                        x->alert_desc = 0;
                        return SEC_E_OK;
                }
                /* After the peer's close_notify our own still goes out with
                 * the next ISC/ASC (RFC 5246 7.2.1; Microsoft's "Shutting
                 * Down an Schannel Connection"): the context no longer
                 * reads, but it writes this one record. */
                if (x->peer_closed && !(SSL_get_shutdown(x->ssl) & SSL_SENT_SHUTDOWN)) {
                        ERR_clear_error();
                        (void) SSL_shutdown(x->ssl);
                        ERR_clear_error();
                }
                if (!x->dead)
                        x->closing = true;
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
                if (!sch_alert_in_clear(x))
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
                if (!x->server || x->dtls) /* no DTLS renegotiation here */
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
        case DTLS1_2_VERSION:
                v = SP_PROT_DTLS1_2_CLIENT;
                break;
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
                if (!x->dtls && SSL_version(x->ssl) >= TLS1_3_VERSION)
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

/* The TLS NamedGroup id (RFC 8446 4.2.7, RFC 7919) of the key exchange,
 * 0 for RSA key transport or a group without an id. */
static uint32_t group_id(SSL *ssl) {
        static const struct {
                int nid;
                uint16_t id;
        } groups[] = {
                { NID_X9_62_prime256v1, 0x17 }, { NID_secp384r1, 0x18 },      { NID_secp521r1, 0x19 },
                { NID_X25519, 0x1d },           { NID_X448, 0x1e },           { NID_brainpoolP256r1, 0x1a },
                { NID_brainpoolP384r1, 0x1b },  { NID_brainpoolP512r1, 0x1c }, { NID_ffdhe2048, 0x100 },
                { NID_ffdhe3072, 0x101 },       { NID_ffdhe4096, 0x102 },     { NID_ffdhe6144, 0x103 },
                { NID_ffdhe8192, 0x104 },
        };
        int nid = SSL_get_negotiated_group(ssl);

        if (nid & TLSEXT_nid_unknown)
                return (uint32_t) (nid & 0xffff); /* OpenSSL gives the id itself */
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                if (groups[i].nid == nid)
                        return groups[i].id;
        return 0;
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
         * dwKeyType the key exchange group's TLS NamedGroup id (0x1d
         * x25519, 0x17 P-256: Wine's schannel.c test_communication). */
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
        out->words[9] = group_id(x->ssl);
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

/* REMOTE_CERT_CONTEXT: the peer's certificates as it sent them, leaf
 * first, each DER certificate after the other in the blob (a DER SEQUENCE
 * carries its own length); the library puts them in the context's
 * hCertStore (Wine's schannel.c test_remote_cert: the store holds the
 * chain and the context itself). */
static SECURITY_STATUS peer_chain(SchCtx *x, X509 *leaf, PkgCtxAttr *out) {
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(x->ssl); /* the client's includes the leaf */
        /* A longer chain than the library keeps is cut, not refused. */
        int n = chain ? sk_X509_num(chain) : 0, len;
        size_t total = 0;
        uint8_t *p;

        if (n > (int) WIRE_MAX_PEER_CHAIN - 1)
                n = (int) WIRE_MAX_PEER_CHAIN - 1;
        for (int i = -1; i < n; i++) {
                X509 *c = i < 0 ? leaf : sk_X509_value(chain, i);
                if (i >= 0 && !X509_cmp(c, leaf))
                        continue;
                len = i2d_X509(c, NULL);
                if (len <= 0)
                        return SEC_E_INTERNAL_ERROR;
                total += (size_t) len;
        }
        out->blob = malloc(total);
        if (!out->blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->has_blob = true;
        out->blob_len = total;
        p = out->blob;
        for (int i = -1; i < n; i++) {
                X509 *c = i < 0 ? leaf : sk_X509_value(chain, i);
                if (i >= 0 && !X509_cmp(c, leaf))
                        continue;
                (void) i2d_X509(c, &p); /* advances p */
        }
        return SEC_E_OK;
}

/* The subject (or issuer) of a certificate, RFC 2253. */
static char *subject(X509 *cert, bool issuer) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data, *s;
        long n;

        if (!b)
                return NULL;
        X509_NAME_print_ex(b, issuer ? X509_get_issuer_name(cert) : X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        n = BIO_get_mem_data(b, &data);
        s = strndup(data, n);
        BIO_free(b);
        return s;
}

/* CONNECTION_INFO's words: dwProtocol, aiCipher, dwCipherStrength, aiHash,
 * dwHashStrength, aiExch, dwExchStrength. */
static void connection_info(SchCtx *x, uint32_t w[7]) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        int bits = 0, nid = ci ? SSL_CIPHER_get_cipher_nid(ci) : NID_undef;
        const EVP_MD *md = ci ? SSL_CIPHER_get_handshake_digest(ci) : NULL;
        EVP_PKEY *tmp = NULL;

        memset(w, 0, 7 * sizeof(*w));
        if (ci)
                SSL_CIPHER_get_bits(ci, &bits);
        w[0] = protocol_bits(x);
        w[1] = nid == NID_aes_128_gcm || nid == NID_aes_128_cbc || nid == NID_aes_128_ccm   ? CALG_AES_128
               : nid == NID_aes_256_gcm || nid == NID_aes_256_cbc || nid == NID_aes_256_ccm ? CALG_AES_256
                                                                                            : 0;
        w[2] = (uint32_t) bits;
        /* An AEAD suite has no MAC: dwHashStrength 0 (Wine's schannel.c
         * test_communication, TLS 1.2 GCM); aiHash still names the suite's
         * hash. */
        w[3] = md && EVP_MD_get_type(md) == NID_sha384 ? CALG_SHA_384 : CALG_SHA_256;
        w[4] = md && !SSL_CIPHER_is_aead(ci) ? (uint32_t) EVP_MD_get_size(md) * 8 : 0;
        if (SSL_get_peer_tmp_key(x->ssl, &tmp) == 1 || SSL_get_tmp_key(x->ssl, &tmp) == 1) {
                w[5] = EVP_PKEY_get_base_id(tmp) == EVP_PKEY_DH ? CALG_DH_EPHEM : CALG_ECDH_EPHEM;
                w[6] = (uint32_t) EVP_PKEY_get_bits(tmp);
                EVP_PKEY_free(tmp);
        } else
                w[5] = CALG_RSA_KEYX;
        ERR_clear_error();
}

/* CONNECTION_INFO_EX (SecPkgContext_ConnectionInfoEx): CONNECTION_INFO with
 * CNG algorithm names instead of CAPI ALG_IDs. Words dwVersion
 * (SECPKGCONTEXT_CONNECTION_INFO_EX_V1), dwProtocol, dwCipherStrength,
 * dwHashStrength, dwExchStrength; blob "cipher\0hash\0exchange\0", which the
 * client widens into the fixed szCipher/szHash/szExchange arrays. */
static SECURITY_STATUS connection_info_ex(SchCtx *x, PkgCtxAttr *out) {
        const SSL_CIPHER *ci = SSL_get_current_cipher(x->ssl);
        int nid = ci ? SSL_CIPHER_get_cipher_nid(ci) : NID_undef;
        uint32_t w[7];
        char names[64];
        int n;

        if (!ci)
                return SEC_E_INVALID_HANDLE;
        connection_info(x, w);
        out->words[0] = 1;
        out->words[1] = w[0];
        out->words[2] = w[2];
        out->words[3] = w[4];
        out->words[4] = w[6];
        out->n_words = 5;
        n = snprintf(names, sizeof(names), "%s%c%s%c%s",
                     nid == NID_chacha20_poly1305 ? "CHACHA20_POLY1305" : "AES", 0,
                     w[3] == CALG_SHA_384 ? "SHA384" : "SHA256", 0,
                     w[5] == CALG_DH_EPHEM ? "DH" : w[5] == CALG_RSA_KEYX ? "RSA" : "ECDH");
        return set_blob(out, names, (size_t) n + 1);
}

/* LOCAL_CERT_CONTEXT: the certificate this side sent (a server's, or the
 * client certificate the handshake used), then the chain of its credential,
 * DER back to back as REMOTE_CERT_CONTEXT's blob; SEC_E_NO_CREDENTIALS when
 * this side sent none. */
static SECURITY_STATUS local_chain(SchCtx *x, PkgCtxAttr *out) {
        X509 *leaf = SSL_get_certificate(x->ssl);
        STACK_OF(X509) *chain = NULL;
        size_t total = 0;
        uint8_t *p;
        int n, len;

        if (!leaf)
                return SEC_E_NO_CREDENTIALS;
        if (SSL_get0_chain_certs(x->ssl, &chain) != 1 || !chain)
                chain = x->cred->cert && !X509_cmp(x->cred->cert, leaf) ? x->cred->chain : NULL;
        n = chain ? sk_X509_num(chain) : 0;
        if (n > (int) WIRE_MAX_PEER_CHAIN - 1)
                n = (int) WIRE_MAX_PEER_CHAIN - 1;
        for (int i = -1; i < n; i++) {
                len = i2d_X509(i < 0 ? leaf : sk_X509_value(chain, i), NULL);
                if (len <= 0)
                        return SEC_E_INTERNAL_ERROR;
                total += (size_t) len;
        }
        out->blob = malloc(total);
        if (!out->blob)
                return SEC_E_INSUFFICIENT_MEMORY;
        out->has_blob = true;
        out->blob_len = total;
        p = out->blob;
        for (int i = -1; i < n; i++)
                (void) i2d_X509(i < 0 ? leaf : sk_X509_value(chain, i), &p);
        return SEC_E_OK;
}

/* SUPPORTED_SIGNATURES: the signature schemes both sides accept (OpenSSL's
 * shared list; before the peer sent a list of its own, none), each as
 * SecPkgContext_SupportedSignatures words it: the signature byte of the
 * TLS SignatureAndHashAlgorithm in the upper byte, the hash byte in the
 * lower. Blob: the 16-bit values, host order. */
static SECURITY_STATUS supported_signatures(SchCtx *x, PkgCtxAttr *out) {
        int n = SSL_get_shared_sigalgs(x->ssl, 0, NULL, NULL, NULL, NULL, NULL);
        uint16_t *v;

        if (n < 0)
                n = 0;
        if (n > 256)
                n = 256;
        v = malloc(n ? (size_t) n * sizeof(*v) : 1);
        if (!v)
                return SEC_E_INSUFFICIENT_MEMORY;
        for (int i = 0; i < n; i++) {
                unsigned char sig = 0, hash = 0;
                (void) SSL_get_shared_sigalgs(x->ssl, i, NULL, NULL, NULL, &sig, &hash);
                v[i] = (uint16_t) (sig << 8 | hash);
        }
        out->blob = (uint8_t *) v;
        out->blob_len = (size_t) n * sizeof(*v);
        out->has_blob = true;
        return SEC_E_OK;
}

#define CERT_TRUST_IS_NOT_TIME_VALID 0x00000001U
#define CERT_TRUST_IS_REVOKED 0x00000004U
#define CERT_TRUST_IS_NOT_SIGNATURE_VALID 0x00000008U
#define CERT_TRUST_IS_NOT_VALID_FOR_USAGE 0x00000010U
#define CERT_TRUST_IS_UNTRUSTED_ROOT 0x00000020U
#define CERT_TRUST_REVOCATION_STATUS_UNKNOWN 0x00000040U
#define CERT_TRUST_IS_PARTIAL_CHAIN 0x00010000U
#define CERT_E_EXPIRED 0x800B0101U
#define CERT_E_UNTRUSTEDROOT 0x800B0109U
#define CERT_E_CHAINING 0x800B010AU
#define CERT_E_CN_NO_MATCH 0x800B010FU
#define CERT_E_WRONG_USAGE 0x800B0110U
#define TRUST_E_CERT_SIGNATURE 0x80096004U

/* CERT_CHECK_RESULT(_INPROC): SecPkgContext_CertificateValidationResult,
 * what the chain engine found for the peer's chain, whether or not the
 * handshake acted on it (SCH_CRED_MANUAL_CRED_VALIDATION and
 * SCH_CRED_DEFERRED_CRED_VALIDATION callers read it here): words
 * dwChainErrorStatus (CERT_TRUST_* error bits, as CertGetCertificateChain
 * sets them) and hrVerifyChainStatus (the CERT_CHAIN_POLICY_SSL error of
 * CertVerifyCertificateChainPolicy). SEC_E_NO_CREDENTIALS: no peer
 * certificate. One table from OpenSSL's verify result. */
static SECURITY_STATUS cert_check_result(SchCtx *x, X509 *peer, PkgCtxAttr *out) {
        static const struct {
                long v;
                uint32_t trust, hr;
        } map[] = {
                { X509_V_ERR_CERT_HAS_EXPIRED, CERT_TRUST_IS_NOT_TIME_VALID, CERT_E_EXPIRED },
                { X509_V_ERR_CERT_NOT_YET_VALID, CERT_TRUST_IS_NOT_TIME_VALID, CERT_E_EXPIRED },
                { X509_V_ERR_HOSTNAME_MISMATCH, 0, CERT_E_CN_NO_MATCH },
                { X509_V_ERR_IP_ADDRESS_MISMATCH, 0, CERT_E_CN_NO_MATCH },
                { X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, CERT_TRUST_IS_UNTRUSTED_ROOT, CERT_E_UNTRUSTEDROOT },
                { X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, CERT_TRUST_IS_UNTRUSTED_ROOT, CERT_E_UNTRUSTEDROOT },
                { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, CERT_TRUST_IS_PARTIAL_CHAIN, CERT_E_CHAINING },
                { X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, CERT_TRUST_IS_PARTIAL_CHAIN, CERT_E_CHAINING },
                { X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_TRUST_IS_PARTIAL_CHAIN, CERT_E_CHAINING },
                { X509_V_ERR_CERT_SIGNATURE_FAILURE, CERT_TRUST_IS_NOT_SIGNATURE_VALID, TRUST_E_CERT_SIGNATURE },
                { X509_V_ERR_CERT_REVOKED, CERT_TRUST_IS_REVOKED, (uint32_t) CRYPT_E_REVOKED },
                { X509_V_ERR_INVALID_PURPOSE, CERT_TRUST_IS_NOT_VALID_FOR_USAGE, CERT_E_WRONG_USAGE },
        };
        long v;

        if (!peer)
                return SEC_E_NO_CREDENTIALS;
        v = SSL_get_verify_result(x->ssl);
        out->words[0] = 0;
        out->words[1] = 0;
        out->n_words = 2;
        if (v == X509_V_OK) {
                /* No CRL or OCSP fetching here (schannel-context.c check_peer). */
                if ((x->cred->flags & REVOCATION_FLAGS) && !(x->cred->flags & SCH_CRED_IGNORE_NO_REVOCATION_CHECK)) {
                        out->words[0] = CERT_TRUST_REVOCATION_STATUS_UNKNOWN;
                        out->words[1] = (uint32_t) CRYPT_E_NO_REVOCATION_CHECK;
                }
                return SEC_E_OK;
        }
        out->words[1] = CERT_E_CHAINING;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (map[i].v == v) {
                        out->words[0] = map[i].trust;
                        out->words[1] = map[i].hr;
                        break;
                }
        return SEC_E_OK;
}

/*
 * RFC 5705 keying material of an established connection: `len` bytes for
 * `label` (without a NUL) and, when `context` is not NULL, that context
 * value; in TLS 1.3 no context and an empty one are the same (RFC 8446
 * 7.5). The input of SecPkgContext_KeyingMaterialInfo, for the query of
 * SECPKG_ATTR_KEYING_MATERIAL and for a SetContextAttributes path that
 * keeps it in the daemon. Returns SEC_E_OK with a malloc()ed *ret (the
 * caller wipes it), SEC_E_INVALID_HANDLE before the handshake ends,
 * SEC_E_INVALID_PARAMETER for an empty label or length,
 * SEC_E_INTERNAL_ERROR when OpenSSL refuses.
 */
SECURITY_STATUS sch_keying_material(SchCtx *x, const uint8_t *label, size_t label_len, const uint8_t *context,
                                    size_t context_len, uint32_t len, uint8_t **ret) {
        uint8_t *km;
        char *l;
        int r;

        if (!x->done || x->dead)
                return SEC_E_INVALID_HANDLE;
        if (!label || !label_len || !len || memchr(label, 0, label_len))
                return SEC_E_INVALID_PARAMETER;
        l = strndup((const char *) label, label_len);
        km = malloc(len);
        if (!l || !km) {
                free(l);
                free(km);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        r = SSL_export_keying_material(x->ssl, km, len, l, label_len, context, context_len, context != NULL);
        free(l);
        if (r != 1) {
                sch_log_ssl_errors("SSL_export_keying_material");
                ERR_clear_error();
                free_secret(km, len);
                return SEC_E_INTERNAL_ERROR;
        }
        *ret = km;
        return SEC_E_OK;
}

SECURITY_STATUS sch_query(void *p, uint32_t attr, PkgCtxAttr *out) {
        SchCtx *x = p;
        uint32_t h, t, blk;
        X509 *peer = SSL_get0_peer_certificate(x->ssl);

        if (attr == SECPKG_ATTR_DTLS_MTU) {
                /* Not supported where DTLS is not enabled (SetContextAttributes docs). */
                if (!x->dtls)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                out->words[0] = x->mtu;
                out->n_words = 1;
                return SEC_E_OK;
        }
        /* The chain's verdict is there as soon as the peer's certificate
         * is: CERT_CHECK_RESULT "during and after" the handshake loop,
         * _INPROC "only after" (schannel.h). */
        if (!x->done && attr != SECPKG_ATTR_SIZES && attr != SECPKG_ATTR_STREAM_SIZES &&
            attr != SECPKG_ATTR_ISSUER_LIST_EX && !(peer && attr == SECPKG_ATTR_CERT_CHECK_RESULT))
                return SEC_E_INVALID_HANDLE;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                sch_record_overhead(x, &h, &t, &blk);
                out->has_sizes = true;
                out->sizes.cbMaxToken = SCH_MAX_TOKEN;
                out->sizes.cbMaxSignature = 0;
                out->sizes.cbBlockSize = blk;
                out->sizes.cbSecurityTrailer = h + t;
                return SEC_E_OK;
        case SECPKG_ATTR_STREAM_SIZES:
                if (!x->done)
                        return SEC_E_INVALID_HANDLE;
                sch_record_overhead(x, &h, &t, &blk);
                out->words[0] = h;
                out->words[1] = t;
                /* DATAGRAM_SIZES (the same attribute): the plaintext one
                 * datagram of the MTU carries. */
                out->words[2] = x->dtls ? (uint32_t) DTLS_get_data_mtu(x->ssl) : TLS_MAX_PLAINTEXT;
                out->words[3] = 4;
                out->words[4] = blk;
                out->n_words = 5;
                return SEC_E_OK;
        case SECPKG_ATTR_CONNECTION_INFO:
                connection_info(x, out->words);
                out->n_words = 7;
                return SEC_E_OK;
        case SECPKG_ATTR_CONNECTION_INFO_EX:
                return connection_info_ex(x, out);
        case SECPKG_ATTR_LOCAL_CERT_CONTEXT:
                return local_chain(x, out);
        case SECPKG_ATTR_SUPPORTED_SIGNATURES:
                return supported_signatures(x, out);
        case SECPKG_ATTR_CERT_CHECK_RESULT:
        case SECPKG_ATTR_CERT_CHECK_RESULT_INPROC:
                return cert_check_result(x, peer, out);
        case SECPKG_ATTR_KEYING_MATERIAL: {
                uint8_t *km = NULL;
                SECURITY_STATUS st;
                /* Nothing asked for: Windows exports only what a
                 * SetContextAttributes(KEYING_MATERIAL_INFO) named. */
                if (!out->km_length)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                st = sch_keying_material(x, out->km_label, out->km_label_len, out->km_context, out->km_context_len,
                                         out->km_length, &km);
                if (st != SEC_E_OK)
                        return st;
                out->blob = km;
                out->blob_len = out->km_length;
                out->has_blob = true;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_APP_DATA: {
                /* The application data of the session (a TLS 1.3 ticket's,
                 * RFC 8446 4.6.1; none before SetContextAttributes sets it). */
                SSL_SESSION *sess = SSL_get_session(x->ssl);
                void *data = NULL;
                size_t len = 0;
                if (sess && SSL_SESSION_get0_ticket_appdata(sess, &data, &len) != 1)
                        len = 0;
                out->words[0] = 0;
                out->n_words = 1;
                return set_blob(out, len ? data : NULL, len);
        }
        case SECPKG_ATTR_EAP_KEY_BLOCK: {
                uint8_t kb[192];
                SECURITY_STATUS st = sch_eap_key_block(x, kb);
                if (st != SEC_E_OK)
                        return st;
                st = set_blob(out, kb, sizeof(kb));
                OPENSSL_cleanse(kb, sizeof(kb));
                return st;
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
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                return peer_chain(x, peer, out);
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
                out->user_name = subject(peer, false);
                return out->user_name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_AUTHORITY:
                /* The authority that vouched for the peer: its certificate's
                 * issuer, named as NAMES names the peer. */
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                out->name = subject(peer, true);
                return out->name ? SEC_E_OK : SEC_E_INSUFFICIENT_MEMORY;
        case SECPKG_ATTR_LIFESPAN: {
                struct tm tm;
                if (!peer)
                        return SEC_E_NO_CREDENTIALS;
                out->has_lifespan = true;
                out->start = ASN1_TIME_to_tm(X509_get0_notBefore(peer), &tm) == 1 ? filetime_from_unix(timegm(&tm))
                                                                                  : 0;
                out->expiry = sch_peer_expiry(x);
                return SEC_E_OK;
        }
        default:
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}
