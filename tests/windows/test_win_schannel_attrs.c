/* SPDX-License-Identifier: MIT */
/*
 * Schannel QueryContextAttributes as Windows answers it, on the connection
 * Wine's schannel.c test gets from test.winehq.org (TLS 1.2,
 * TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384): REMOTE_CERT_CONTEXT and its store
 * of the peer's chain, CONNECTION_INFO, CIPHER_INFO, KEY_INFO, STREAM_SIZES,
 * the channel bindings, APPLICATION_PROTOCOL, NEGOTIATION_INFO, and the
 * handle after DeleteSecurityContext. The attribute calls have no async
 * twin; one handshake runs through the Sspi*Async calls and is queried the
 * same way.
 */
#include <stdio.h>

#include "sch_peer.h"

#define WINE_COMM W_WINE("schannel.c", "test_communication")
#define WINE_CERT W_WINE("schannel.c", "test_remote_cert")
#define WINE_ALPN W_WINE("schannel.c", "test_application_protocol_negotiation")
#define CURL_CERTINFO W_CLIENT("curl lib/vtls/schannel.c", "traverse_cert_store")
#define DOC_CONN W_MSDOCS("SecPkgContext_ConnectionInfo structure")

#define CALG_RSA_SIGN 0x00002400u
#define CALG_AES_256 0x00006610u
#define CALG_ECDH_EPHEM 0x0000ae06u

static CredHandle cli12, cli13, srv_rsa;

static bool wstr_is(const SEC_WCHAR *w, const char *s) {
        size_t i = 0;
        for (; s[i]; i++)
                if (w[i] != (unsigned char) s[i])
                        return false;
        return w[i] == 0;
}

/* SHA-256 of the test PKI's certificate `name` (DER), through the openssl CLI. */
static bool cert_sha256(const char *name, uint8_t out[32]) {
        char cmd[1200];
        FILE *f;
        size_t n;

        snprintf(cmd, sizeof(cmd), "openssl x509 -in %s/%s.pem -outform DER | openssl dgst -sha256 -binary", sch_pki,
                 name);
        f = popen(cmd, "r");
        if (!f)
                return false;
        n = fread(out, 1, 32, f);
        pclose(f);
        return n == 32;
}

/* The store behind REMOTE_CERT_CONTEXT. */
static void check_remote_cert(CtxtHandle *ctx, const char *leaf_name, size_t want_count, const char *what) {
        PCCERT_CONTEXT cert = NULL, iter = NULL, again = NULL;
        Cert want;
        unsigned count = 0;
        bool incl_remote = false, first_is_leaf = false;

        if (!w_status(WINE_COMM, QueryContextAttributesA(ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, (void *) &cert), SEC_E_OK,
                      "%s: REMOTE_CERT_CONTEXT", what))
                return;
        t_load_cert(sch_pki, leaf_name, &want);
        w_ok(WINE_COMM, cert->cbCertEncoded == want.cc.cbCertEncoded &&
                                !memcmp(cert->pbCertEncoded, want.der, want.cc.cbCertEncoded),
             "%s: the context is the peer's certificate (%u bytes)", what, (unsigned) cert->cbCertEncoded);
        w_eq(WINE_COMM, cert->dwCertEncodingType & X509_ASN_ENCODING, X509_ASN_ENCODING, "%s: X509_ASN_ENCODING", what);
        w_ok(WINE_CERT, cert->hCertStore != NULL, "%s: hCertStore is not NULL", what);
        while ((iter = CertEnumCertificatesInStore(cert->hCertStore, iter))) {
                if (iter == cert)
                        incl_remote = true;
                if (count == 0)
                        first_is_leaf = iter->pbCertEncoded == cert->pbCertEncoded;
                count++;
        }
        w_eq(WINE_CERT, count, want_count, "%s: the store holds the chain the peer sent", what);
        w_ok(WINE_CERT, incl_remote, "%s: the store holds the context itself", what);
        w_ok(CURL_CERTINFO, first_is_leaf, "%s: enumerated leaf first (Windows 11 22H2 and later)", what);
        /* A second reference, freed independently. */
        if (w_status(WINE_COMM, QueryContextAttributesA(ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, (void *) &again),
                     SEC_E_OK, "%s: REMOTE_CERT_CONTEXT again", what)) {
                w_ok(WINE_COMM, CertFreeCertificateContext(again), "%s: CertFreeCertificateContext of the second",
                     what);
                w_ok(WINE_CERT, cert->cbCertEncoded == want.cc.cbCertEncoded &&
                                        !memcmp(cert->pbCertEncoded, want.der, want.cc.cbCertEncoded),
                     "%s: the first reference is still intact", what);
        }
        w_ok(WINE_COMM, CertFreeCertificateContext(cert), "%s: CertFreeCertificateContext", what);
}

static void test_tls12_rsa(bool async) {
        SchPeer c, s;
        SecPkgContext_ConnectionInfo ci;
        SecPkgContext_CipherInfo cipher;
        SecPkgContext_KeyInfoA ki;
        SecPkgContext_StreamSizes sz;
        SecPkgContext_NegotiationInfoA ni;
        SecPkgContext_Bindings bd = { 0xdeadbeef, (void *) 0xdeadbeef };
        PCCERT_CONTEXT cert = NULL;
        uint8_t hash[32];
        const char *what = async ? "TLS 1.2, async handshake" : "TLS 1.2";

        sch_peer_init(&c, false, &cli12);
        sch_peer_init(&s, true, &srv_rsa);
        if (async) {
                c.ac = SspiCreateAsyncContext();
                s.ac = SspiCreateAsyncContext();
        }
        if (!w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "%s: handshake", what))
                goto out;
        check_remote_cert(&c.ctx, "server-rsa", 1, what);
        if (async)
                goto out;

        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                     "CONNECTION_INFO")) {
                w_ok(WINE_COMM, ci.dwCipherStrength >= 128, "dwCipherStrength >= 128 (%u)", (unsigned) ci.dwCipherStrength);
                w_eq(WINE_COMM, ci.dwHashStrength, 0, "dwHashStrength 0 (an AEAD suite has no MAC)");
                w_eq(DOC_CONN, ci.dwProtocol, SP_PROT_TLS1_2_CLIENT, "dwProtocol SP_PROT_TLS1_2_CLIENT");
                w_eq(DOC_CONN, ci.aiCipher, CALG_AES_256, "aiCipher CALG_AES_256");
                w_eq(DOC_CONN, ci.dwCipherStrength, 256, "dwCipherStrength 256");
                w_eq(DOC_CONN, ci.aiExch, CALG_ECDH_EPHEM, "aiExch CALG_ECDH_EPHEM");
        }
        memset(&cipher, 0, sizeof(cipher));
        cipher.dwVersion = SECPKGCONTEXT_CIPHERINFO_V1;
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CIPHER_INFO, &cipher), SEC_E_OK,
                     "CIPHER_INFO")) {
                w_eq(WINE_COMM, cipher.dwProtocol, 0x303, "dwProtocol 0x303");
                w_eq(WINE_COMM, cipher.dwCipherSuite, 0xc030, "dwCipherSuite 0xc030");
                w_eq(WINE_COMM, cipher.dwBaseCipherSuite, 0xc030, "dwBaseCipherSuite 0xc030");
                w_ok(WINE_COMM, wstr_is(cipher.szCipherSuite, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
                     "szCipherSuite TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
                w_ok(WINE_COMM, wstr_is(cipher.szCipher, "AES"), "szCipher AES");
                w_eq(WINE_COMM, cipher.dwCipherLen, 256, "dwCipherLen 256");
                w_eq(WINE_COMM, cipher.dwCipherBlockLen, 16, "dwCipherBlockLen 16");
                w_ok(WINE_COMM, cipher.szHash[0] == 0, "szHash empty");
                w_eq(WINE_COMM, cipher.dwHashLen, 0, "dwHashLen 0");
                w_ok(WINE_COMM, wstr_is(cipher.szExchange, "ECDH"), "szExchange ECDH");
                w_eq(WINE_COMM, cipher.dwMinExchangeLen, 0, "dwMinExchangeLen 0");
                w_eq(WINE_COMM, cipher.dwMaxExchangeLen, 65536, "dwMaxExchangeLen 65536");
                w_ok(WINE_COMM, wstr_is(cipher.szCertificate, "RSA"), "szCertificate RSA");
                w_eq(WINE_COMM, cipher.dwKeyType, 0x1d, "dwKeyType 0x1d: the x25519 key exchange");
        }
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_KEY_INFO, &ki), SEC_E_OK, "KEY_INFO")) {
                w_eq(WINE_COMM, ki.SignatureAlgorithm, CALG_RSA_SIGN, "SignatureAlgorithm CALG_RSA_SIGN");
                w_ok(WINE_COMM, !strcmp(ki.sSignatureAlgorithmName, "RSA"), "sSignatureAlgorithmName RSA (%s)",
                     ki.sSignatureAlgorithmName);
                w_ok(WINE_COMM, ki.KeySize >= 128, "KeySize >= 128 (%u)", (unsigned) ki.KeySize);
                FreeContextBuffer(ki.sSignatureAlgorithmName);
                FreeContextBuffer(ki.sEncryptAlgorithmName);
        }
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_STREAM_SIZES, &sz), SEC_E_OK,
                     "STREAM_SIZES")) {
                w_eq(W_RFC("RFC 5288 3"), sz.cbHeader, 13, "cbHeader 13: record header and explicit nonce");
                w_eq(W_RFC("RFC 5288 3"), sz.cbTrailer, 16, "cbTrailer 16: the GCM tag");
                w_eq(W_MSDOCS("SecPkgContext_StreamSizes structure"), sz.cbMaximumMessage, 16384,
                     "cbMaximumMessage 16384");
                w_eq(W_MSDOCS("DecryptMessage (Schannel)"), sz.cBuffers, 4, "cBuffers 4");
        }
        w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni),
                 SEC_E_UNSUPPORTED_FUNCTION, "NEGOTIATION_INFO: SEC_E_UNSUPPORTED_FUNCTION");

        /* The channel bindings. */
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_ENDPOINT_BINDINGS, &bd), SEC_E_OK,
                     "ENDPOINT_BINDINGS")) {
                SEC_CHANNEL_BINDINGS *b = bd.Bindings;
                static const char prefix[] = "tls-server-end-point:";
                w_eq(WINE_COMM, bd.BindingsLength, sizeof(*b) + sizeof(prefix) - 1 + 32,
                     "BindingsLength: the structure, the prefix, a SHA-256 hash");
                w_ok(WINE_COMM, !b->dwInitiatorAddrType && !b->cbInitiatorLength && !b->dwInitiatorOffset &&
                                        !b->dwAcceptorAddrType && !b->cbAcceptorLength && !b->dwAcceptorOffset,
                     "no initiator or acceptor address");
                w_eq(WINE_COMM, b->cbApplicationDataLength + sizeof(*b), bd.BindingsLength, "cbApplicationDataLength");
                w_eq(WINE_COMM, b->dwApplicationDataOffset, sizeof(*b), "dwApplicationDataOffset");
                w_ok(WINE_COMM, !memcmp(b + 1, prefix, sizeof(prefix) - 1), "\"tls-server-end-point:\" prefix");
                w_ok(WINE_COMM, cert_sha256("server-rsa", hash) && !memcmp((char *) (b + 1) + sizeof(prefix) - 1, hash, 32),
                     "then the SHA-256 of the server certificate");
                FreeContextBuffer(bd.Bindings);
        }
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_UNIQUE_BINDINGS, &bd), SEC_E_OK,
                     "UNIQUE_BINDINGS")) {
                SEC_CHANNEL_BINDINGS *b = bd.Bindings;
                w_ok(WINE_COMM, bd.BindingsLength > sizeof(*b) + 11, "BindingsLength %u", (unsigned) bd.BindingsLength);
                w_ok(WINE_COMM, !b->dwInitiatorAddrType && !b->cbInitiatorLength && !b->dwInitiatorOffset &&
                                        !b->dwAcceptorAddrType && !b->cbAcceptorLength && !b->dwAcceptorOffset,
                     "no initiator or acceptor address");
                w_eq(WINE_COMM, b->cbApplicationDataLength + sizeof(*b), bd.BindingsLength, "cbApplicationDataLength");
                w_eq(WINE_COMM, b->dwApplicationDataOffset, sizeof(*b), "dwApplicationDataOffset");
                w_ok(WINE_COMM, !memcmp(b + 1, "tls-unique:", 11), "\"tls-unique:\" prefix");
                FreeContextBuffer(bd.Bindings);
        }

        /* The certificate context outlives the security context. */
        QueryContextAttributesA(&c.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, (void *) &cert);
        DeleteSecurityContext(&c.ctx);
        c.have_ctx = false;
        w_status(WINE_COMM, QueryContextAttributesW(&c.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, (void *) &cert),
                 SEC_E_INVALID_HANDLE, "after DeleteSecurityContext: SEC_E_INVALID_HANDLE");
        if (cert) {
                Cert want;
                t_load_cert(sch_pki, "server-rsa", &want);
                w_ok(WINE_COMM, cert->cbCertEncoded == want.cc.cbCertEncoded &&
                                        !memcmp(cert->pbCertEncoded, want.der, want.cc.cbCertEncoded) &&
                                        CertEnumCertificatesInStore(cert->hCertStore, NULL) == cert,
                     "a certificate context taken before stays usable after it");
                CertFreeCertificateContext(cert); /* the enumerated reference */
                CertFreeCertificateContext(cert);
        }
out:
        sch_peer_done(&c);
        sch_peer_done(&s);
}

/* TLS 1.3: the same AEAD rules; the client's certificate on the server. */
static void test_tls13(void) {
        SchPeer c, s;
        SecPkgContext_ConnectionInfo ci;
        SecPkgContext_CipherInfo cipher;
        CredHandle withcert;

        sch_acquire("client", SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_3_CLIENT, &withcert);
        sch_peer_init(&c, false, &withcert);
        sch_peer_init(&s, true, &srv_rsa);
        s.flags |= ASC_REQ_MUTUAL_AUTH;
        if (!w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "TLS 1.3 handshake with a client certificate"))
                goto out;
        if (w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                     "TLS 1.3 CONNECTION_INFO")) {
                w_eq(WINE_COMM, ci.dwHashStrength, 0, "TLS 1.3: dwHashStrength 0 (AEAD)");
                w_eq(DOC_CONN, ci.dwProtocol, SP_PROT_TLS1_3_CLIENT, "TLS 1.3: dwProtocol SP_PROT_TLS1_3_CLIENT");
        }
        memset(&cipher, 0, sizeof(cipher));
        cipher.dwVersion = SECPKGCONTEXT_CIPHERINFO_V1;
        if (w_status(WINE_COMM, QueryContextAttributesA(&s.ctx, SECPKG_ATTR_CIPHER_INFO, &cipher), SEC_E_OK,
                     "TLS 1.3 server CIPHER_INFO")) {
                w_eq(WINE_COMM, cipher.dwProtocol, 0x304, "TLS 1.3: dwProtocol 0x304");
                w_eq(WINE_COMM, cipher.dwHashLen, 0, "TLS 1.3: dwHashLen 0");
                w_eq(WINE_COMM, cipher.dwKeyType, 0x1d, "TLS 1.3: dwKeyType 0x1d (x25519)");
        }
        check_remote_cert(&s.ctx, "client", 1, "TLS 1.3 server, the client's certificate");
out:
        sch_peer_done(&c);
        sch_peer_done(&s);
        FreeCredentialsHandle(&withcert);
}

/* dwKeyType follows the curve: P-256 when x25519 is disabled. */
static void test_key_type_p256(void) {
        SchPeer c, s;
        SecPkgContext_CipherInfo cipher;
        SEC_WCHAR name[] = { 'c', 'u', 'r', 'v', 'e', '2', '5', '5', '1', '9', 0 };
        CRYPTO_SETTINGS cs = { TlsParametersCngAlgUsageKeyExchange, { 20, 22, name }, 0, NULL, 0, 0 };
        TLS_PARAMETERS tp = { 0, NULL, SP_PROT_TLS1_3_CLIENT, 1, &cs, 0 };
        SCH_CREDENTIALS sc = { .dwVersion = SCH_CREDENTIALS_VERSION, .cTlsParameters = 1, .pTlsParameters = &tp };
        CredHandle h;
        TimeStamp ts;

        if (!w_status("test setup",
                      AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                      SEC_E_OK, "a client credential without curve25519"))
                return;
        sch_peer_init(&c, false, &h);
        sch_peer_init(&s, true, &srv_rsa);
        memset(&cipher, 0, sizeof(cipher));
        cipher.dwVersion = SECPKGCONTEXT_CIPHERINFO_V1;
        if (w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "TLS 1.2 handshake over P-256") &&
            w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CIPHER_INFO, &cipher), SEC_E_OK,
                     "CIPHER_INFO"))
                w_eq(WINE_COMM, cipher.dwKeyType, 0x17, "dwKeyType 0x17: the P-256 key exchange");
        sch_peer_done(&c);
        sch_peer_done(&s);
        FreeCredentialsHandle(&h);
}

static void test_alpn(void) {
        SchPeer c, s;
        uint8_t cl[64], sl[64];
        SecPkgContext_ApplicationProtocol ap;

        sch_peer_init(&c, false, &cli12);
        sch_peer_init(&s, true, &srv_rsa);
        c.alpn = cl;
        c.alpn_len = sch_alpn_list(cl, (const char *const[]) { "http/1.1", "h2", NULL });
        s.alpn = sl;
        s.alpn_len = sch_alpn_list(sl, (const char *const[]) { "http/1.1", "h2", NULL });
        memset(&ap, 0, sizeof(ap));
        if (w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "ALPN handshake") &&
            w_status(WINE_ALPN, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_APPLICATION_PROTOCOL, &ap), SEC_E_OK,
                     "APPLICATION_PROTOCOL")) {
                w_eq(WINE_ALPN, ap.ProtoNegoStatus, SecApplicationProtocolNegotiationStatus_Success,
                     "ProtoNegoStatus Success");
                w_eq(WINE_ALPN, ap.ProtoNegoExt, SecApplicationProtocolNegotiationExt_ALPN, "ProtoNegoExt ALPN");
                w_eq(WINE_ALPN, ap.ProtocolIdSize, 8, "ProtocolIdSize 8");
                w_ok(WINE_ALPN, !memcmp(ap.ProtocolId, "http/1.1", 8), "ProtocolId http/1.1");
        }
        sch_peer_done(&c);
        sch_peer_done(&s);
}

int main(void) {
        sch_pki_init();
        sch_acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_2_CLIENT, &cli12);
        sch_acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_3_CLIENT, &cli13);
        sch_acquire("server-rsa", SECPKG_CRED_INBOUND, 0, &srv_rsa);
        test_tls12_rsa(false);
        test_tls12_rsa(true);
        test_tls13();
        test_key_type_p256();
        test_alpn();
        FreeCredentialsHandle(&cli12);
        FreeCredentialsHandle(&cli13);
        FreeCredentialsHandle(&srv_rsa);
        return t_done();
}
