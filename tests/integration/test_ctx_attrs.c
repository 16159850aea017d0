/* SPDX-License-Identifier: MIT */
/*
 * The context attributes of issue 17 item 6, against the real daemon:
 *
 * - Schannel with OpenSSL itself as the peer, in this process over memory
 *   BIOs: KEYING_MATERIAL equal to what the OpenSSL peer exports for the
 *   same label and context (RFC 5705; TLS 1.2 with and without a context,
 *   TLS 1.3; both our client and our server), the KEYING_MATERIAL_INFO that
 *   SetContextAttributes takes (Microsoft's SetContextAttributes and
 *   SecPkgContext_KeyingMaterialInfo pages), LOCAL_CERT_CONTEXT equal to the
 *   credential's certificate and to what the peer received,
 *   SUPPORTED_SIGNATURES equal to the schemes the peer offered,
 *   CERT_CHECK_RESULT(_INPROC) for a trusted, an expired, a misnamed and an
 *   untrusted server under SCH_CRED_MANUAL_CRED_VALIDATION,
 *   CONNECTION_INFO_EX against CONNECTION_INFO, APP_DATA.
 * - Kerberos, NTLM and Negotiate through the daemon on both sides:
 *   AUTHORITY, CLIENT_SPECIFIED_TARGET (the SPN .NET's NegotiateStream
 *   server reads), LAST_CLIENT_TOKEN_STATUS during and after the handshake,
 *   NEGO_PKG_INFO and NEGO_STATUS (Kerberos, and an SPN the KDC does not
 *   know: Negotiate falls back to NTLM and keeps Kerberos' error).
 * - SetContextAttributes' Schannel attributes (Microsoft's
 *   SetContextAttributesA page): EAP_PRF_INFO and the EAP_KEY_BLOCK it
 *   selects, checked against the OpenSSL peer (RFC 5705's exporter for PPP
 *   EAP-TLS's "client EAP encryption", and the TLS PRF computed here with
 *   libcrypto from the peer's own master secret and randoms for the labels
 *   of the SecPkgContext_EapPrfInfo page; the IVs as RFC 2716 3.5 defines
 *   them); APP_DATA carried by the session into a resumed connection of an
 *   OpenSSL client; EARLY_START taken by a client and refused by a server.
 * - QueryContextAttributesEx: the caller's size honoured.
 * - The README's attribute table: every SECPKG_ATTR_* queried on a client
 *   and a server context of every package; each row of the table in
 *   README.md must say what the daemon answered (run with --print-table to
 *   print the rows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"
#include "tpkgs.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                   ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM)
#define GSS_ISC (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_SEQUENCE_DETECT | \
                 ISC_REQ_REPLAY_DETECT)
#define GSS_ASC (ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_SEQUENCE_DETECT | \
                 ASC_REQ_REPLAY_DETECT)

#define CERT_TRUST_IS_NOT_TIME_VALID 0x00000001U
#define CERT_TRUST_IS_PARTIAL_CHAIN 0x00010000U
#define CERT_E_EXPIRED ((LONG) 0x800B0101)
#define CERT_E_CHAINING ((LONG) 0x800B010A)
#define CERT_E_CN_NO_MATCH ((LONG) 0x800B010F)

static char pki[512], top[512];

static SECURITY_STATUS acquire(const char *cert, ULONG use, DWORD flags, DWORD protocols, CredHandle *h) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .dwFlags = flags,
                             .grbitEnabledProtocols = protocols };
        PCCERT_CONTEXT pc;
        Cert c;

        if (cert) {
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                pc = &c.cc;
                sc.cCreds = 1;
                sc.paCred = &pc;
        } else
                sc.dwFlags |= SCH_CRED_NO_DEFAULT_CREDS;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, h, NULL);
}

static SSL *mem_ssl(SSL_CTX *ctx) {
        SSL *s = SSL_new(ctx);
        SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
        return s;
}

static SSL_CTX *server_ctx(const char *name, int version) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        char p[600];

        snprintf(p, sizeof(p), "%s/%s.pem", pki, name);
        SSL_CTX_use_certificate_file(ctx, p, SSL_FILETYPE_PEM);
        snprintf(p, sizeof(p), "%s/%s.key", pki, name);
        SSL_CTX_use_PrivateKey_file(ctx, p, SSL_FILETYPE_PEM);
        SSL_CTX_set_min_proto_version(ctx, version);
        SSL_CTX_set_max_proto_version(ctx, version);
        return ctx;
}

static size_t drain(SSL *s, uint8_t *buf, size_t len, size_t cap) {
        int n;
        while (len < cap && (n = BIO_read(SSL_get_wbio(s), buf + len, (int) (cap - len))) > 0)
                len += (size_t) n;
        return len;
}

/* Our client (ISC through sspid) against the OpenSSL server `s` until both
 * are done. */
static SECURITY_STATUS our_client(SSL *s, CredHandle *cred, const char *target, CtxtHandle *ctx, bool *have) {
        static uint8_t in[65536];
        size_t len = 0;
        SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;

        *have = false;
        SSL_set_accept_state(s);
        for (int legs = 0; legs < 10; legs++) {
                SecBuffer ib[2] = { { (ULONG) len, SECBUFFER_TOKEN, in }, { 0, SECBUFFER_EMPTY, NULL } };
                SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                ULONG attrs;

                st = InitializeSecurityContextA(*have ? NULL : cred, *have ? ctx : NULL, (SEC_CHAR *) target,
                                                ISC_FLAGS, 0, 0, *have ? &id : NULL, 0, ctx, &od, &attrs, NULL);
                *have = *have || st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK;
                if (ob[0].cbBuffer)
                        BIO_write(SSL_get_rbio(s), ob[0].pvBuffer, (int) ob[0].cbBuffer);
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                (void) SSL_do_handshake(s);
                if (st != SEC_I_CONTINUE_NEEDED)
                        break;
                len = ib[1].BufferType == SECBUFFER_EXTRA ? ib[1].cbBuffer : 0;
                memmove(in, in + (ib[0].cbBuffer - len), len);
                len = drain(s, in, len, sizeof(in));
        }
        ERR_clear_error();
        return st == SEC_E_OK && SSL_is_init_finished(s) ? SEC_E_OK : st == SEC_E_OK ? SEC_E_INTERNAL_ERROR : st;
}

/* The OpenSSL client `c` against our server (ASC through sspid). */
static SECURITY_STATUS our_server(SSL *c, CredHandle *cred, CtxtHandle *ctx, bool *have) {
        static uint8_t in[65536];
        SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;

        *have = false;
        SSL_set_connect_state(c);
        for (int legs = 0; legs < 10; legs++) {
                int r = SSL_do_handshake(c);
                size_t len = drain(c, in, 0, sizeof(in));
                SecBuffer ib[2] = { { (ULONG) len, SECBUFFER_TOKEN, in }, { 0, SECBUFFER_EMPTY, NULL } };
                SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;

                if (r == 1 && len == 0)
                        break;
                if (len == 0)
                        return SEC_E_INTERNAL_ERROR;
                st = AcceptSecurityContext(*have ? NULL : cred, *have ? ctx : NULL, &id, ASC_FLAGS, 0, ctx, &od,
                                           &attrs, NULL);
                *have = *have || st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK;
                if (ob.cbBuffer)
                        BIO_write(SSL_get_rbio(c), ob.pvBuffer, (int) ob.cbBuffer);
                FreeContextBuffer(ob.pvBuffer);
                if (st != SEC_I_CONTINUE_NEEDED && st != SEC_E_OK)
                        return st;
        }
        ERR_clear_error();
        return SSL_is_init_finished(c) && st == SEC_E_OK ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
}

static SECURITY_STATUS set_km(CtxtHandle *ctx, const char *label, const void *context, WORD context_len,
                              DWORD len) {
        SecPkgContext_KeyingMaterialInfo ki = { .cbLabel = (WORD) (strlen(label) + 1),
                                                .pszLabel = (LPSTR) label,
                                                .cbContextValue = context_len,
                                                .pbContextValue = (PBYTE) context,
                                                .cbKeyingMaterial = len };
        return SetContextAttributesA(ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki));
}

/* KEYING_MATERIAL of `ctx` against OpenSSL's export on `s`. */
static void check_km(CtxtHandle *ctx, SSL *s, const char *label, const void *context, size_t context_len,
                     size_t len, const char *what) {
        SecPkgContext_KeyingMaterial km = { 0 };
        uint8_t want[256];
        SECURITY_STATUS st;

        t_status(set_km(ctx, label, context, (WORD) context_len, (DWORD) len), SEC_E_OK,
                 "%s: SetContextAttributes(KEYING_MATERIAL_INFO)", what);
        st = QueryContextAttributesA(ctx, SECPKG_ATTR_KEYING_MATERIAL, &km);
        t_status(st, SEC_E_OK, "%s: QueryContextAttributes(KEYING_MATERIAL)", what);
        t_ok(SSL_export_keying_material(s, want, len, label, strlen(label), context, context_len, context != NULL) ==
                     1,
             "%s: the OpenSSL peer exports", what);
        t_ok(st == SEC_E_OK && km.cbKeyingMaterial == len && km.pbKeyingMaterial &&
                     memcmp(km.pbKeyingMaterial, want, len) == 0,
             "%s: %zu bytes equal to the peer's SSL_export_keying_material", what, len);
        FreeContextBuffer(km.pbKeyingMaterial);
}

static bool wide_eq(const SEC_WCHAR *w, const char *s) {
        for (; *s; s++, w++)
                if (*w != (unsigned char) *s)
                        return false;
        return *w == 0;
}

/* ---- Schannel: our client against an OpenSSL server ---- */

static void client_side(int version, const char *vname) {
        SSL_CTX *sctx = server_ctx("server-ec", version);
        SSL *s = mem_ssl(sctx);
        CredHandle cred;
        CtxtHandle ctx;
        bool have;
        char what[64];

        snprintf(what, sizeof(what), "client %s", vname);
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cred), SEC_E_OK, "%s: credential", what);
        if (!t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_OK, "%s: handshake with OpenSSL",
                      what)) {
                if (have)
                        DeleteSecurityContext(&ctx);
                goto out;
        }
        {
                SecPkgContext_KeyingMaterial km = { 0 };
                /* Nothing set: nothing to export. */
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL, &km), SEC_E_UNSUPPORTED_FUNCTION,
                         "%s: KEYING_MATERIAL before KEYING_MATERIAL_INFO was set", what);
        }
        check_km(&ctx, s, "EXPERIMENTAL-sspid", "context value", 13, 32, what);
        check_km(&ctx, s, "EXPORTER-sspid-test", NULL, 0, 64, what);
        check_km(&ctx, s, "EXPERIMENTAL-x", "\0\1\2", 3, 1, what);
        if (version == TLS1_2_VERSION) {
                /* RFC 5705: no context and an empty one differ in TLS 1.2. */
                SecPkgContext_KeyingMaterial a = { 0 };
                uint8_t with_empty[32];
                SSL_export_keying_material(s, with_empty, 32, "EXPERIMENTAL-e", 14, (const uint8_t *) "", 0, 1);
                set_km(&ctx, "EXPERIMENTAL-e", NULL, 0, 32);
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL, &a), SEC_E_OK,
                         "%s: no context value", what);
                t_ok(a.pbKeyingMaterial && memcmp(a.pbKeyingMaterial, with_empty, 32) != 0,
                     "%s: no context (cbContextValue 0) is not an empty context", what);
                FreeContextBuffer(a.pbKeyingMaterial);
        }
        {
                /* Structures Microsoft's page rules out. */
                SecPkgContext_KeyingMaterialInfo ki = { 6, (LPSTR) "label", 0, NULL, 16 };
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki) - 1),
                         SEC_E_INVALID_PARAMETER, "%s: KEYING_MATERIAL_INFO: short cbBuffer", what);
                ki.cbKeyingMaterial = 0;
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki)),
                         SEC_E_INVALID_PARAMETER, "%s: KEYING_MATERIAL_INFO: cbKeyingMaterial 0", what);
                ki.cbKeyingMaterial = 16;
                ki.cbLabel = 5; /* without the NUL */
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki)),
                         SEC_E_INVALID_PARAMETER, "%s: KEYING_MATERIAL_INFO: label not NUL-terminated", what);
                ki.cbLabel = 6;
                ki.cbContextValue = 4;
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki)),
                         SEC_E_INVALID_PARAMETER, "%s: KEYING_MATERIAL_INFO: cbContextValue without a pointer",
                         what);
                ki.cbContextValue = 0;
                ki.cbKeyingMaterial = 1u << 20;
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki)),
                         SEC_E_INVALID_PARAMETER, "%s: KEYING_MATERIAL_INFO: 1 MiB asked", what);
                t_status(SetContextAttributesW(NULL, SECPKG_ATTR_KEYING_MATERIAL_INFO, &ki, sizeof(ki)),
                         SEC_E_INVALID_HANDLE, "%s: KEYING_MATERIAL_INFO: NULL handle", what);
        }
        {
                SecPkgContext_ConnectionInfo ci = { 0 };
                SecPkgContext_ConnectionInfoEx cx;
                memset(&cx, 0xa5, sizeof(cx));
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                         "%s: CONNECTION_INFO", what);
                t_status(QueryContextAttributesW(&ctx, SECPKG_ATTR_CONNECTION_INFO_EX, &cx), SEC_E_OK,
                         "%s: CONNECTION_INFO_EX", what);
                t_ok(cx.dwVersion == SECPKGCONTEXT_CONNECTION_INFO_EX_V1 && cx.dwProtocol == ci.dwProtocol &&
                             cx.dwProtocol == (version == TLS1_3_VERSION ? SP_PROT_TLS1_3_CLIENT
                                                                         : SP_PROT_TLS1_2_CLIENT),
                     "%s: CONNECTION_INFO_EX: version 1, dwProtocol 0x%x", what, cx.dwProtocol);
                t_ok(cx.dwCipherStrength == ci.dwCipherStrength && cx.dwHashStrength == ci.dwHashStrength &&
                             cx.dwExchStrength == ci.dwExchStrength,
                     "%s: CONNECTION_INFO_EX strengths %u/%u/%u are CONNECTION_INFO's", what, cx.dwCipherStrength,
                     cx.dwHashStrength, cx.dwExchStrength);
                t_ok(wide_eq(cx.szCipher, "AES") && wide_eq(cx.szExchange, "ECDH") &&
                             (wide_eq(cx.szHash, "SHA256") || wide_eq(cx.szHash, "SHA384")),
                     "%s: CONNECTION_INFO_EX names the CNG algorithms (AES, SHA256/384, ECDH)", what);
        }
        {
                SecPkgContext_CertificateValidationResult r;
                PCCERT_CONTEXT local = NULL;
                SecPkgContext_SessionAppData ad;
                memset(&r, 0xa5, sizeof(r));
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_CERT_CHECK_RESULT, &r), SEC_E_OK,
                         "%s: CERT_CHECK_RESULT", what);
                t_ok(r.dwChainErrorStatus == 0 && r.hrVerifyChainStatus == 0,
                     "%s: a trusted server: no chain error, S_OK", what);
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_LOCAL_CERT_CONTEXT, &local),
                         SEC_E_NO_CREDENTIALS, "%s: LOCAL_CERT_CONTEXT of a client that sent no certificate", what);
                memset(&ad, 0xa5, sizeof(ad));
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_APP_DATA, &ad), SEC_E_OK, "%s: APP_DATA", what);
                t_ok(ad.dwFlags == 0 && ad.cbAppData == 0 && ad.pbAppData == NULL,
                     "%s: APP_DATA: none set", what);
        }
        {
                SecPkgContext_AuthorityA au = { 0 };
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_AUTHORITY, &au), SEC_E_OK, "%s: AUTHORITY", what);
                t_ok(au.sAuthorityName && !strcmp(au.sAuthorityName, "CN=sspid test ca"),
                     "%s: AUTHORITY is the server certificate's issuer (%s)", what,
                     au.sAuthorityName ? au.sAuthorityName : "(null)");
                FreeContextBuffer(au.sAuthorityName);
        }
        DeleteSecurityContext(&ctx);
out:
        FreeCredentialsHandle(&cred);
        SSL_free(s);
        SSL_CTX_free(sctx);
}

/* CERT_CHECK_RESULT of servers our client does not trust, the handshake
 * left to the caller (SCH_CRED_MANUAL_CRED_VALIDATION) or validated with
 * the verdict deferred to the caller (SCH_CRED_DEFERRED_CRED_VALIDATION:
 * "schannel will not terminate the handshake with an error if the chain
 * has any issues", schannel.h). */
static void cert_check(const char *server, DWORD flag, DWORD want_chain, LONG want_hr) {
        SSL_CTX *sctx = server_ctx(server, TLS1_3_VERSION);
        SSL *s = mem_ssl(sctx);
        CredHandle cred;
        CtxtHandle ctx;
        bool have;
        SecPkgContext_CertificateValidationResult r = { 0 }, r2 = { 0 };

        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, flag, 0, &cred), SEC_E_OK, "%s: credential (flag 0x%x)", server,
                 flag);
        if (t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_OK, "%s: handshake", server)) {
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_CERT_CHECK_RESULT, &r), SEC_E_OK,
                         "%s: CERT_CHECK_RESULT", server);
                t_ok(r.dwChainErrorStatus == want_chain && r.hrVerifyChainStatus == want_hr,
                     "%s: dwChainErrorStatus 0x%x (want 0x%x), hrVerifyChainStatus 0x%x (want 0x%x)", server,
                     r.dwChainErrorStatus, want_chain, (unsigned) r.hrVerifyChainStatus, (unsigned) want_hr);
                t_status(QueryContextAttributesW(&ctx, SECPKG_ATTR_CERT_CHECK_RESULT_INPROC, &r2), SEC_E_OK,
                         "%s: CERT_CHECK_RESULT_INPROC", server);
                t_ok(!memcmp(&r, &r2, sizeof(r)), "%s: _INPROC says the same", server);
        }
        if (have)
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
        SSL_free(s);
        SSL_CTX_free(sctx);
}

/* ---- Schannel: an OpenSSL client against our server ---- */

static void server_side(int version, const char *vname) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        SSL *c;
        CredHandle cred;
        CtxtHandle ctx;
        Cert want;
        bool have;
        char what[64], p[600];

        snprintf(what, sizeof(what), "server %s", vname);
        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        SSL_CTX_load_verify_locations(cctx, p, NULL);
        SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(cctx, version);
        SSL_CTX_set_max_proto_version(cctx, version);
        /* The schemes this peer offers: what our server shares with it. */
        SSL_CTX_set1_sigalgs_list(cctx, "ECDSA+SHA384:ECDSA+SHA256");
        c = mem_ssl(cctx);
        t_ok(t_load_cert(pki, "server-ec", &want), "%s: the credential's certificate", what);
        t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &cred), SEC_E_OK, "%s: credential", what);
        if (!t_status(our_server(c, &cred, &ctx, &have), SEC_E_OK, "%s: handshake with OpenSSL", what)) {
                if (have)
                        DeleteSecurityContext(&ctx);
                goto out;
        }
        check_km(&ctx, c, "EXPERIMENTAL-server", "ctx", 3, 48, what);
        {
                PCCERT_CONTEXT local = NULL;
                X509 *peer = SSL_get0_peer_certificate(c);
                uint8_t *der = NULL;
                int n = peer ? i2d_X509(peer, &der) : -1;
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_LOCAL_CERT_CONTEXT, &local), SEC_E_OK,
                         "%s: LOCAL_CERT_CONTEXT", what);
                t_ok(local && local->cbCertEncoded == want.cc.cbCertEncoded &&
                             !memcmp(local->pbCertEncoded, want.cc.pbCertEncoded, want.cc.cbCertEncoded),
                     "%s: LOCAL_CERT_CONTEXT is the credential's certificate", what);
                t_ok(local && n > 0 && (DWORD) n == local->cbCertEncoded &&
                             !memcmp(local->pbCertEncoded, der, (size_t) n),
                     "%s: ... and the one the OpenSSL client received", what);
                OPENSSL_free(der);
                CertFreeCertificateContext(local);
        }
        {
                SecPkgContext_SupportedSignatures sg = { 0 };
                bool p256 = false, p384 = false;
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_SUPPORTED_SIGNATURES, &sg), SEC_E_OK,
                         "%s: SUPPORTED_SIGNATURES", what);
                for (WORD i = 0; i < sg.cSignatureAndHashAlgorithms; i++) {
                        /* ECDSA (3) in the upper byte, SHA-256 (4) / SHA-384 (5) in the lower. */
                        p256 |= sg.pSignatureAndHashAlgorithms[i] == 0x0304;
                        p384 |= sg.pSignatureAndHashAlgorithms[i] == 0x0305;
                }
                t_ok(sg.cSignatureAndHashAlgorithms == 2 && p256 && p384,
                     "%s: SUPPORTED_SIGNATURES: the peer's ECDSA+SHA384 and ECDSA+SHA256 (%u entries)", what,
                     sg.cSignatureAndHashAlgorithms);
                FreeContextBuffer(sg.pSignatureAndHashAlgorithms);
        }
        {
                SecPkgContext_CertificateValidationResult r;
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_CERT_CHECK_RESULT, &r), SEC_E_NO_CREDENTIALS,
                         "%s: CERT_CHECK_RESULT without a client certificate", what);
        }
        DeleteSecurityContext(&ctx);
out:
        FreeCredentialsHandle(&cred);
        SSL_free(c);
        SSL_CTX_free(cctx);
}

/* ---- SetContextAttributes: EAP_PRF_INFO / EAP_KEY_BLOCK, APP_DATA, EARLY_START ---- */

/* The TLS 1.2 PRF (RFC 5246 5) with the peer's suite hash, computed here. */
static bool prf12(SSL *s, const uint8_t *secret, size_t secret_len, const char *label, bool client_first, uint8_t *out,
                  size_t n) {
        uint8_t seed[64];
        const EVP_MD *md = SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(s));
        EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
        EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
        OSSL_PARAM ps[5];
        bool ok;

        EVP_KDF_free(kdf);
        SSL_get_client_random(s, client_first ? seed : seed + 32, 32);
        SSL_get_server_random(s, client_first ? seed + 32 : seed, 32);
        ps[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) EVP_MD_get0_name(md), 0);
        ps[1] = OSSL_PARAM_construct_octet_string("secret", (void *) secret, secret_len);
        ps[2] = OSSL_PARAM_construct_octet_string("seed", (void *) label, strlen(label));
        ps[3] = OSSL_PARAM_construct_octet_string("seed", seed, sizeof(seed));
        ps[4] = OSSL_PARAM_construct_end();
        ok = k && EVP_KDF_derive(k, out, n, ps) == 1;
        EVP_KDF_CTX_free(k);
        return ok;
}

static SECURITY_STATUS set_prf(CtxtHandle *ctx, DWORD version, DWORD prf, DWORD cb) {
        SecPkgContext_EapPrfInfo pi = { version, cb, (PBYTE) &prf };
        return SetContextAttributesA(ctx, SECPKG_ATTR_EAP_PRF_INFO, &pi, sizeof(pi));
}

/* EAP_KEY_BLOCK of `ctx` for each PRF against the peer `s` (TLS 1.2). */
static void eap_key_block(CtxtHandle *ctx, SSL *s, const char *what) {
        static const struct {
                DWORD prf;
                const char *label;
                bool client_first;
        } prfs[] = { { EAP_PRF_TTLS_KEYING_MATERIAL, "ttls keying material", false },
                     { EAP_PRF_TTLS_CHALLENGE, "ttls challenge", false },
                     { EAP_PRF_FAST_KEYING_MATERIAL, "key expansion", false },
                     { EAP_PRF_PPP_EAP_TLS, "client EAP encryption", true } };
        SecPkgContext_EapKeyBlock kb;
        uint8_t want[128], ivs[64], master[48];
        size_t mlen = SSL_SESSION_get_master_key(SSL_get_session(s), master, sizeof(master));

        /* Nothing set: PPP EAP-TLS, which is RFC 5705's exporter with no context. */
        memset(&kb, 0xa5, sizeof(kb));
        t_status(QueryContextAttributesA(ctx, SECPKG_ATTR_EAP_KEY_BLOCK, &kb), SEC_E_OK, "%s: EAP_KEY_BLOCK", what);
        t_ok(SSL_export_keying_material(s, want, 128, "client EAP encryption", 21, NULL, 0, 0) == 1 &&
                     !memcmp(kb.rgbKeys, want, 128),
             "%s: EAP_KEY_BLOCK keys: the peer's export of \"client EAP encryption\"", what);
        t_ok(prf12(s, (const uint8_t *) "", 0, "client EAP encryption", true, ivs, 64) && !memcmp(kb.rgbIVs, ivs, 64),
             "%s: EAP_KEY_BLOCK IVs: PRF(\"\", \"client EAP encryption\", randoms) (RFC 2716 3.5)", what);
        for (size_t i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++) {
                t_status(set_prf(ctx, 0, prfs[i].prf, sizeof(DWORD)), SEC_E_OK, "%s: EAP_PRF_INFO %u", what,
                         prfs[i].prf);
                memset(&kb, 0, sizeof(kb));
                t_status(QueryContextAttributesW(ctx, SECPKG_ATTR_EAP_KEY_BLOCK, &kb), SEC_E_OK,
                         "%s: EAP_KEY_BLOCK after EAP_PRF_INFO %u", what, prfs[i].prf);
                t_ok(mlen && prf12(s, master, mlen, prfs[i].label, prfs[i].client_first, want, 128) &&
                             !memcmp(kb.rgbKeys, want, 128),
                     "%s: PRF %u: PRF(the peer's master secret, \"%s\", %s) (SecPkgContext_EapPrfInfo)", what,
                     prfs[i].prf, prfs[i].label, prfs[i].client_first ? "client+server" : "server+client");
        }
        t_status(set_prf(ctx, 1, 0, sizeof(DWORD)), SEC_E_INVALID_PARAMETER,
                 "%s: EAP_PRF_INFO dwVersion 1 (\"must be zero\"): SEC_E_INVALID_PARAMETER", what);
        t_status(set_prf(ctx, 0, 4, sizeof(DWORD)), SEC_E_INVALID_PARAMETER,
                 "%s: EAP_PRF_INFO PRF 4 (not one of the four): SEC_E_INVALID_PARAMETER", what);
        t_status(set_prf(ctx, 0, 0, 2), SEC_E_INVALID_PARAMETER, "%s: EAP_PRF_INFO cbPrfData 2: SEC_E_INVALID_PARAMETER",
                 what);
        {
                SecPkgContext_EapPrfInfo pi = { 0, 4, NULL };
                t_status(SetContextAttributesA(ctx, SECPKG_ATTR_EAP_PRF_INFO, &pi, sizeof(pi)),
                         SEC_E_INVALID_PARAMETER, "%s: EAP_PRF_INFO cbPrfData 4, no pointer", what);
                t_status(SetContextAttributesA(ctx, SECPKG_ATTR_EAP_PRF_INFO, &pi, 8), SEC_E_INVALID_PARAMETER,
                         "%s: EAP_PRF_INFO short cbBuffer", what);
        }
        OPENSSL_cleanse(master, sizeof(master));
}

/* Our client and our server (TLS 1.2) against OpenSSL: EAP_KEY_BLOCK;
 * TLS 1.3: none (RFC 9190 derives EAP-TLS 1.3 keys with the exporter). */
static void eap_checks(void) {
        SSL_CTX *sctx = server_ctx("server-ec", TLS1_2_VERSION), *cctx = SSL_CTX_new(TLS_client_method());
        SSL *s = mem_ssl(sctx), *c;
        CredHandle cred, scred;
        CtxtHandle ctx;
        bool have;
        char p[600];

        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cred), SEC_E_OK, "eap: client credential");
        if (t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_OK, "eap: client TLS 1.2 handshake"))
                eap_key_block(&ctx, s, "eap client TLS 1.2");
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_free(s);
        SSL_CTX_free(sctx);

        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        SSL_CTX_load_verify_locations(cctx, p, NULL);
        SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
        c = mem_ssl(cctx);
        t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &scred), SEC_E_OK, "eap: server credential");
        if (t_status(our_server(c, &scred, &ctx, &have), SEC_E_OK, "eap: server TLS 1.2 handshake"))
                eap_key_block(&ctx, c, "eap server TLS 1.2");
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_free(c);

        sctx = server_ctx("server-ec", TLS1_3_VERSION);
        s = mem_ssl(sctx);
        if (t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_OK, "eap: client TLS 1.3 handshake")) {
                SecPkgContext_EapKeyBlock kb;
                t_status(QueryContextAttributesA(&ctx, SECPKG_ATTR_EAP_KEY_BLOCK, &kb), SEC_E_UNSUPPORTED_FUNCTION,
                         "eap: TLS 1.3: no EAP_KEY_BLOCK (RFC 9190 uses the exporter: KEYING_MATERIAL)");
        }
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_free(s);
        SSL_CTX_free(sctx);
        SSL_CTX_free(cctx);
        FreeCredentialsHandle(&cred);
        FreeCredentialsHandle(&scred);
}

static SECURITY_STATUS set_app_data(CtxtHandle *ctx, const char *data) {
        SecPkgContext_SessionAppData ad = { 0, (DWORD) strlen(data), (PBYTE) data };
        return SetContextAttributesA(ctx, SECPKG_ATTR_APP_DATA, &ad, sizeof(ad));
}

static bool app_data_is(CtxtHandle *ctx, const char *want) {
        SecPkgContext_SessionAppData ad = { 0 };
        bool ok = QueryContextAttributesA(ctx, SECPKG_ATTR_APP_DATA, &ad) == SEC_E_OK &&
                  ad.cbAppData == strlen(want) && (!ad.cbAppData || !memcmp(ad.pbAppData, want, ad.cbAppData));
        FreeContextBuffer(ad.pbAppData);
        return ok;
}

/* APP_DATA on our server: set after the handshake, it is the session's, and
 * the OpenSSL client's resumption brings it back on a new context. */
static void app_data_checks(int version, const char *vname) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        SSL *c;
        SSL_SESSION *sess = NULL;
        CredHandle cred;
        CtxtHandle ctx, ctx2;
        bool have, have2;
        char p[600];
        uint8_t buf[256];

        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        SSL_CTX_load_verify_locations(cctx, p, NULL);
        SSL_CTX_set_min_proto_version(cctx, version);
        SSL_CTX_set_max_proto_version(cctx, version);
        c = mem_ssl(cctx);
        t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &cred), SEC_E_OK, "app data %s: credential", vname);
        if (!t_status(our_server(c, &cred, &ctx, &have), SEC_E_OK, "app data %s: first handshake", vname))
                goto out;
        t_ok(app_data_is(&ctx, ""), "app data %s: none before it is set", vname);
        t_status(set_app_data(&ctx, "tenant=42;role=reader"), SEC_E_OK, "app data %s: SetContextAttributes(APP_DATA)",
                 vname);
        t_ok(app_data_is(&ctx, "tenant=42;role=reader"), "app data %s: QueryContextAttributes returns it", vname);
        {
                SecPkgContext_SessionAppData ad = { 0, 8, NULL };
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_APP_DATA, &ad, sizeof(ad)), SEC_E_INVALID_PARAMETER,
                         "app data %s: cbAppData without a pointer: SEC_E_INVALID_PARAMETER", vname);
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_APP_DATA, &ad, 8), SEC_E_INVALID_PARAMETER,
                         "app data %s: short cbBuffer: SEC_E_INVALID_PARAMETER", vname);
                ad.cbAppData = 5000;
                ad.pbAppData = calloc(1, 5000);
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_APP_DATA, &ad, sizeof(ad)), SEC_E_INVALID_PARAMETER,
                         "app data %s: 5000 bytes: SEC_E_INVALID_PARAMETER", vname);
                free(ad.pbAppData);
                t_ok(app_data_is(&ctx, "tenant=42;role=reader"), "app data %s: refused values changed nothing", vname);
        }
        (void) SSL_read(c, buf, sizeof(buf)); /* TLS 1.3: the tickets our server sent */
        ERR_clear_error();
        sess = SSL_get1_session(c);
        /* Ended cleanly: OpenSSL makes the session of a connection freed
         * without close_notify unresumable. */
        SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c);
        c = mem_ssl(cctx);
        SSL_set_session(c, sess);
        if (t_status(our_server(c, &cred, &ctx2, &have2), SEC_E_OK, "app data %s: second handshake", vname)) {
                SecPkgContext_SessionInfo si = { 0 };
                t_status(QueryContextAttributesA(&ctx2, SECPKG_ATTR_SESSION_INFO, &si), SEC_E_OK,
                         "app data %s: SESSION_INFO", vname);
                t_ok(SSL_session_reused(c) && (si.dwFlags & SSL_SESSION_RECONNECT),
                     "app data %s: the OpenSSL client resumed", vname);
                t_ok(app_data_is(&ctx2, "tenant=42;role=reader"),
                     "app data %s: the resumed connection's APP_DATA is what the first one set", vname);
        }
        if (have2)
                DeleteSecurityContext(&ctx2);
out:
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_SESSION_free(sess);
        SSL_free(c);
        SSL_CTX_free(cctx);
        FreeCredentialsHandle(&cred);
}

/* EARLY_START: a client's request is taken (the handshake then runs to its
 * end: OpenSSL does not false-start); a server's, and unknown flags, not. */
static void early_start_checks(void) {
        SSL_CTX *sctx = server_ctx("server-ec", TLS1_2_VERSION);
        SSL *s = mem_ssl(sctx);
        CredHandle cred;
        CtxtHandle ctx;
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        SecPkgContext_EarlyStart es = { ENABLE_TLS_CLIENT_EARLY_START };
        ULONG attrs;
        SECURITY_STATUS st;

        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cred), SEC_E_OK, "early start: credential");
        st = InitializeSecurityContextA(&cred, NULL, (SEC_CHAR *) "localhost", ISC_FLAGS, 0, 0, NULL, 0, &ctx, &od,
                                        &attrs, NULL);
        FreeContextBuffer(ob.pvBuffer);
        if (t_status(st, SEC_I_CONTINUE_NEEDED, "early start: first ISC")) {
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_EARLY_START, &es, sizeof(es)), SEC_E_OK,
                         "early start: ENABLE_TLS_CLIENT_EARLY_START on a client: taken");
                es.dwEarlyStartFlags = 2;
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_EARLY_START, &es, sizeof(es)), SEC_E_INVALID_PARAMETER,
                         "early start: an unknown flag: SEC_E_INVALID_PARAMETER");
                t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_EARLY_START, &es, 2), SEC_E_INVALID_PARAMETER,
                         "early start: cbBuffer 2: SEC_E_INVALID_PARAMETER");
                DeleteSecurityContext(&ctx);
        }
        {
                /* The full handshake after the flag: it completes as before. */
                bool have;
                t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_OK,
                         "early start: a client handshake completes");
                if (have)
                        DeleteSecurityContext(&ctx);
        }
        {
                SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
                SSL *c = mem_ssl(cctx);
                CredHandle scred;
                bool have;
                char p[600];
                snprintf(p, sizeof(p), "%s/ca.pem", pki);
                SSL_CTX_load_verify_locations(cctx, p, NULL);
                t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &scred), SEC_E_OK,
                         "early start: server credential");
                if (t_status(our_server(c, &scred, &ctx, &have), SEC_E_OK, "early start: server handshake")) {
                        es.dwEarlyStartFlags = ENABLE_TLS_CLIENT_EARLY_START;
                        t_status(SetContextAttributesA(&ctx, SECPKG_ATTR_EARLY_START, &es, sizeof(es)),
                                 SEC_E_UNSUPPORTED_FUNCTION, "early start: on a server: SEC_E_UNSUPPORTED_FUNCTION");
                }
                if (have)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&scred);
                SSL_free(c);
                SSL_CTX_free(cctx);
        }
        FreeCredentialsHandle(&cred);
        SSL_free(s);
        SSL_CTX_free(sctx);
}

/* ---- AddCredentials on Schannel ---- */

/* An OpenSSL TLS 1.2 client offering only `suites` against our server on
 * `cred`: the handshake's status, and the key type of the certificate it
 * got. */
static SECURITY_STATUS client_with_suites(CredHandle *cred, const char *suites, int *ret_type) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        SSL *c;
        CtxtHandle ctx;
        bool have;
        char p[600];
        SECURITY_STATUS st;

        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        SSL_CTX_load_verify_locations(cctx, p, NULL);
        SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(cctx, suites);
        c = mem_ssl(cctx);
        st = our_server(c, cred, &ctx, &have);
        *ret_type = 0;
        if (st == SEC_E_OK && SSL_get0_peer_certificate(c))
                *ret_type = EVP_PKEY_get_base_id(X509_get0_pubkey(SSL_get0_peer_certificate(c)));
        if (have)
                DeleteSecurityContext(&ctx);
        SSL_free(c);
        SSL_CTX_free(cctx);
        ERR_clear_error();
        return st;
}

static SECURITY_STATUS sch_cred_with(const char *cert, SCHANNEL_CRED *sc, PCCERT_CONTEXT *pc, Cert *c) {
        *sc = (SCHANNEL_CRED) { .dwVersion = SCHANNEL_CRED_VERSION, .cCreds = 1, .paCred = pc };
        if (!t_load_cert(pki, cert, c))
                return SEC_E_INTERNAL_ERROR;
        *pc = &c->cc;
        return SEC_E_OK;
}

/* Microsoft's SCHANNEL_CRED page: paCred holds "one structure for each
 * key exchange method supported by the application". AddCredentials
 * gives an ECDSA server credential its RSA certificate; an OpenSSL client
 * offering only ECDHE-RSA suites then gets it, one offering only
 * ECDHE-ECDSA still the other. */
static void add_certificate(void) {
        CredHandle srv, cli;
        SCHANNEL_CRED sc;
        PCCERT_CONTEXT pc;
        Cert rsa, ec2;
        TimeStamp ts;
        int type;

        memset(&ts, 0, sizeof(ts));

        if (!t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &srv), SEC_E_OK, "add: ECDSA server credential"))
                return;
        t_status(client_with_suites(&srv, "ECDHE-RSA-AES128-GCM-SHA256", &type),
                 SEC_E_ALGORITHM_MISMATCH, "add: an ECDHE-RSA-only client: no certificate for it yet");
        if (sch_cred_with("server-rsa", &sc, &pc, &rsa) == SEC_E_OK)
                t_status(AddCredentialsA(&srv, NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, &sc, NULL, NULL, &ts), SEC_E_OK,
                         "add: AddCredentials(the RSA certificate)");
        t_ok(ts.HighPart || ts.LowPart, "add: ptsExpiry set");
        t_status(client_with_suites(&srv, "ECDHE-RSA-AES128-GCM-SHA256", &type), SEC_E_OK,
                 "add: the ECDHE-RSA-only client now completes");
        t_ok(type == EVP_PKEY_RSA, "add: ... with the RSA certificate (key type %d)", type);
        t_status(client_with_suites(&srv, "ECDHE-ECDSA-AES128-GCM-SHA256", &type), SEC_E_OK, "add: an ECDHE-ECDSA-only client completes");
        t_ok(type == EVP_PKEY_EC, "add: ... with the ECDSA certificate (key type %d)", type);
        if (sch_cred_with("wrongname", &sc, &pc, &ec2) == SEC_E_OK)
                t_status(AddCredentialsA(&srv, NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, &sc, NULL, NULL, NULL),
                         SEC_E_UNKNOWN_CREDENTIALS, "add: a second certificate of a key type already there");
        t_status(AddCredentialsA(&srv, NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &sc, NULL, NULL, NULL),
                 SEC_E_UNSUPPORTED_FUNCTION, "add: SECPKG_CRED_OUTBOUND on Schannel");
        {
                SCHANNEL_CRED none = { .dwVersion = SCHANNEL_CRED_VERSION };
                t_status(AddCredentialsA(&srv, NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, &none, NULL, NULL, NULL),
                         SEC_E_NO_CREDENTIALS, "add: an SCHANNEL_CRED without a certificate");
        }
        if (t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cli), SEC_E_OK, "add: client credential")) {
                if (sch_cred_with("server-rsa", &sc, &pc, &rsa) == SEC_E_OK)
                        t_status(AddCredentialsA(&cli, NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, &sc, NULL, NULL, NULL),
                                 SEC_E_UNSUPPORTED_FUNCTION, "add: to a client credential");
                FreeCredentialsHandle(&cli);
        }
        FreeCredentialsHandle(&srv);
}

/* ---- Kerberos, NTLM, Negotiate ---- */

static void gss_attrs(TpCreds *tc, int p, const char *target, const char *want_authority, const char *want_target) {
        const char *pkg = tp_names[p];
        THandshake h;
        SecPkgContext_AuthorityA au = { 0 };
        SecPkgContext_ClientSpecifiedTarget ct = { 0 };
        SecPkgContext_LastClientTokenStatus lc;
        char *spn = NULL;

        if (!t_status(t_handshake(&tc->cli[p], &tc->srv[p], target, GSS_ISC, GSS_ASC, &h), SEC_E_OK,
                      "%s: handshake", pkg)) {
                t_handshake_done(&h);
                return;
        }
        t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_AUTHORITY, &au), SEC_E_OK, "%s: AUTHORITY",
                 pkg);
        t_ok(au.sAuthorityName && !strcmp(au.sAuthorityName, want_authority), "%s: AUTHORITY \"%s\" (want \"%s\")",
             pkg, au.sAuthorityName ? au.sAuthorityName : "(null)", want_authority);
        FreeContextBuffer(au.sAuthorityName);
        t_status(QueryContextAttributesW(&h.server, SECPKG_ATTR_CLIENT_SPECIFIED_TARGET, &ct), SEC_E_OK,
                 "%s: the server's CLIENT_SPECIFIED_TARGET", pkg);
        if (ct.sTargetName) {
                size_t n = 0;
                while (ct.sTargetName[n])
                        n++;
                spn = calloc(1, n + 1);
                for (size_t i = 0; spn && i < n; i++)
                        spn[i] = (char) ct.sTargetName[i];
        }
        t_ok(spn && !strcmp(spn, want_target), "%s: CLIENT_SPECIFIED_TARGET \"%s\" (the client's SPN \"%s\")", pkg,
             spn ? spn : "(null)", want_target);
        free(spn);
        FreeContextBuffer(ct.sTargetName);
        lc.LastClientTokenStatus = SecPkgAttrLastClientTokenMaybe;
        t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS, &lc), SEC_E_OK,
                 "%s: LAST_CLIENT_TOKEN_STATUS", pkg);
        t_ok(lc.LastClientTokenStatus == SecPkgAttrLastClientTokenYes, "%s: complete: the last client token sent",
             pkg);
        /* "supported only by the Schannel security package" (Microsoft's
         * SetContextAttributes page). */
        t_status(set_km(&h.client, "EXPERIMENTAL-x", NULL, 0, 16), SEC_E_UNSUPPORTED_FUNCTION,
                 "%s: SetContextAttributes(KEYING_MATERIAL_INFO) is Schannel's", pkg);
        if (p != TP_NEGOTIATE) {
                SecPkgContext_NegoStatus ns;
                SecPkgContext_NegoPackageInfo np;
                t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGO_STATUS, &ns), SEC_E_UNSUPPORTED_FUNCTION,
                         "%s: NEGO_STATUS is Negotiate's", pkg);
                t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_NEGO_PKG_INFO, &np),
                         SEC_E_UNSUPPORTED_FUNCTION, "%s: NEGO_PKG_INFO is Negotiate's", pkg);
        } else {
                SecPkgContext_NegoStatus ns = { 0xffffffffU };
                SecPkgContext_NegoPackageInfo np = { 0xffffffffU };
                t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGO_STATUS, &ns), SEC_E_OK,
                         "Negotiate: NEGO_STATUS");
                t_ok(ns.LastStatus == 0, "Negotiate: Kerberos worked: LastStatus 0 (got 0x%x)", ns.LastStatus);
                t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGO_PKG_INFO, &np), SEC_E_OK,
                         "Negotiate: NEGO_PKG_INFO");
                t_ok(np.PackageMask == 0, "Negotiate: Kerberos with NTLM offered: PackageMask 0 (got 0x%x)",
                     np.PackageMask);
        }
        t_handshake_done(&h);
}

/* LAST_CLIENT_TOKEN_STATUS in the middle of NTLM: after NEGOTIATE the
 * client has more to say; after AUTHENTICATE, nothing. */
static void ntlm_mid(TpCreds *tc) {
        uint8_t t1[4096], t2[4096];
        SecBuffer o1 = { sizeof(t1), SECBUFFER_TOKEN, t1 }, i2, o2 = { sizeof(t2), SECBUFFER_TOKEN, t2 };
        SecBufferDesc od1 = { SECBUFFER_VERSION, 1, &o1 }, id2 = { SECBUFFER_VERSION, 1, &i2 },
                      od2 = { SECBUFFER_VERSION, 1, &o2 };
        CtxtHandle c, s;
        ULONG a;
        SecPkgContext_LastClientTokenStatus lc = { SecPkgAttrLastClientTokenMaybe };
        SECURITY_STATUS st;

        st = InitializeSecurityContextA(&tc->cli[TP_NTLM], NULL, "HTTP/localhost", GSS_ISC, 0, 0, NULL, 0, &c, &od1,
                                        &a, NULL);
        if (!t_status(st, SEC_I_CONTINUE_NEEDED, "NTLM: NEGOTIATE"))
                return;
        t_status(QueryContextAttributesA(&c, SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS, &lc), SEC_E_OK,
                 "NTLM: LAST_CLIENT_TOKEN_STATUS after NEGOTIATE");
        t_ok(lc.LastClientTokenStatus == SecPkgAttrLastClientTokenNo, "NTLM: NEGOTIATE is not the last token");
        i2 = (SecBuffer) { o1.cbBuffer, SECBUFFER_TOKEN, t1 };
        st = AcceptSecurityContext(&tc->srv[TP_NTLM], NULL, &id2, GSS_ASC, 0, &s, &od2, &a, NULL);
        t_status(st, SEC_I_CONTINUE_NEEDED, "NTLM: CHALLENGE");
        if (st == SEC_I_CONTINUE_NEEDED) {
                SecPkgContext_AuthorityA au;
                t_status(QueryContextAttributesA(&s, SECPKG_ATTR_AUTHORITY, &au), SEC_E_INVALID_HANDLE,
                         "NTLM: AUTHORITY of a partial context");
                DeleteSecurityContext(&s);
        }
        DeleteSecurityContext(&c);
}

/* An SPN the KDC does not know: Negotiate's Kerberos fails, NTLM carries
 * the handshake, NEGO_STATUS keeps Kerberos' error. */
static void nego_fallback(TpCreds *tc) {
        THandshake h;
        SecPkgContext_NegoStatus ns = { 0 };
        SecPkgContext_NegoPackageInfo np = { 0 };
        SecPkgContext_PackageInfoA pi = { 0 };

        if (!t_status(t_handshake(&tc->cli[TP_NEGOTIATE], &tc->srv[TP_NEGOTIATE], "HTTP/no-such-host.invalid",
                                  GSS_ISC, GSS_ASC, &h),
                      SEC_E_OK, "Negotiate to an unknown SPN: handshake (NTLM)")) {
                t_handshake_done(&h);
                return;
        }
        t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK,
                 "Negotiate fallback: PACKAGE_INFO");
        t_ok(pi.PackageInfo && !strcmp(pi.PackageInfo->Name, "NTLM"), "Negotiate fallback: NTLM was chosen");
        FreeContextBuffer(pi.PackageInfo);
        t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGO_STATUS, &ns), SEC_E_OK,
                 "Negotiate fallback: NEGO_STATUS");
        t_ok((LONG) ns.LastStatus < 0, "Negotiate fallback: LastStatus is Kerberos' error (0x%x %s)", ns.LastStatus,
             status_name((SECURITY_STATUS) ns.LastStatus));
        t_status(QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGO_PKG_INFO, &np), SEC_E_OK,
                 "Negotiate fallback: NEGO_PKG_INFO");
        t_ok(np.PackageMask == SECPKG_ATTR_NEGO_INFO_FLAG_NO_KERBEROS,
             "Negotiate fallback: PackageMask NO_KERBEROS (got 0x%x)", np.PackageMask);
        {
                SecPkgContext_ClientSpecifiedTarget ct = { 0 };
                t_status(QueryContextAttributesA(&h.server, SECPKG_ATTR_CLIENT_SPECIFIED_TARGET, &ct), SEC_E_OK,
                         "Negotiate fallback: the server's CLIENT_SPECIFIED_TARGET");
                t_ok(ct.sTargetName && wide_eq(ct.sTargetName, "HTTP/no-such-host.invalid"),
                     "Negotiate fallback: the SPN the client named, through NTLM's MsvAvTargetName");
                FreeContextBuffer(ct.sTargetName);
        }
        t_handshake_done(&h);
}

/* ---- QueryContextAttributesEx ---- */

static void query_ex(CtxtHandle *ctx) {
        SecPkgContext_ConnectionInfo a = { 0 };
        union {
                SecPkgContext_ConnectionInfo ci;
                uint8_t raw[sizeof(SecPkgContext_ConnectionInfo) + 8];
        } b;
        SecPkgContext_NamesW n = { 0 };
        bool untouched = true;

        t_status(QueryContextAttributesA(ctx, SECPKG_ATTR_CONNECTION_INFO, &a), SEC_E_OK, "Ex: reference query");
        memset(&b, 0x5a, sizeof(b));
        t_status(QueryContextAttributesExA(ctx, SECPKG_ATTR_CONNECTION_INFO, &b, sizeof(b.ci) - 1),
                 SEC_E_BUFFER_TOO_SMALL, "QueryContextAttributesExA: cbBuffer one byte short");
        for (size_t i = 0; i < sizeof(b); i++)
                untouched &= b.raw[i] == 0x5a;
        t_ok(untouched, "QueryContextAttributesExA: nothing written when too small");
        t_status(QueryContextAttributesExA(ctx, SECPKG_ATTR_CONNECTION_INFO, &b, sizeof(b.ci)), SEC_E_OK,
                 "QueryContextAttributesExA: exact size");
        t_ok(!memcmp(&a, &b.ci, sizeof(a)) && b.raw[sizeof(b.ci)] == 0x5a,
             "QueryContextAttributesExA: the same structure, nothing past it");
        t_status(QueryContextAttributesExW(ctx, SECPKG_ATTR_NAMES, &n, 4096), SEC_E_OK,
                 "QueryContextAttributesExW: NAMES with a larger cbBuffer");
        t_ok(n.sUserName && n.sUserName[0] != 0, "QueryContextAttributesExW: a wide name");
        FreeContextBuffer(n.sUserName);
        t_status(QueryContextAttributesExW(ctx, SECPKG_ATTR_NAMES, NULL, 8), SEC_E_INVALID_PARAMETER,
                 "QueryContextAttributesExW: NULL pBuffer");
        t_status(QueryContextAttributesExW(NULL, SECPKG_ATTR_NAMES, &n, 8), SEC_E_INVALID_HANDLE,
                 "QueryContextAttributesExW: NULL handle");
        t_status(QueryContextAttributesExW(ctx, 0x1234, &b, sizeof(b)), SEC_E_UNSUPPORTED_FUNCTION,
                 "QueryContextAttributesExW: an attribute no package has");
}

/* ---- every attribute, every package: the README table ---- */

static const struct {
        uint32_t v;
        const char *name;
} all_attrs[] = {
        { 0, "SIZES" }, { 1, "NAMES" }, { 2, "LIFESPAN" }, { 3, "DCE_INFO" }, { 4, "STREAM_SIZES" },
        { 5, "KEY_INFO" }, { 6, "AUTHORITY" }, { 7, "PROTO_INFO" }, { 8, "PASSWORD_EXPIRY" },
        { 9, "SESSION_KEY" }, { 10, "PACKAGE_INFO" }, { 11, "USER_FLAGS" }, { 12, "NEGOTIATION_INFO" },
        { 13, "NATIVE_NAMES" }, { 14, "FLAGS" }, { 15, "USE_VALIDATED" }, { 16, "CREDENTIAL_NAME" },
        { 17, "TARGET_INFORMATION" }, { 18, "ACCESS_TOKEN" }, { 19, "TARGET" }, { 20, "AUTHENTICATION_ID" },
        { 21, "LOGOFF_TIME" }, { 22, "NEGO_KEYS" }, { 24, "PROMPTING_NEEDED" }, { 25, "UNIQUE_BINDINGS" },
        { 26, "ENDPOINT_BINDINGS" }, { 27, "CLIENT_SPECIFIED_TARGET" }, { 30, "LAST_CLIENT_TOKEN_STATUS" },
        { 31, "NEGO_PKG_INFO" }, { 32, "NEGO_STATUS" }, { 33, "CONTEXT_DELETED" }, { 34, "DTLS_MTU" },
        { 35, "APPLICATION_PROTOCOL" }, { 36, "NEGOTIATED_TLS_EXTENSIONS" }, { 37, "IS_LOOPBACK" },
        { 128, "SUBJECT_SECURITY_ATTRIBUTES" }, { 0x50, "ISSUER_LIST" }, { 0x51, "REMOTE_CRED" },
        { 0x52, "LOCAL_CRED" }, { 0x53, "REMOTE_CERT_CONTEXT" }, { 0x54, "LOCAL_CERT_CONTEXT" },
        { 0x55, "ROOT_STORE" }, { 0x56, "SUPPORTED_ALGS" }, { 0x57, "CIPHER_STRENGTHS" },
        { 0x58, "SUPPORTED_PROTOCOLS" }, { 0x59, "ISSUER_LIST_EX" }, { 0x5a, "CONNECTION_INFO" },
        { 0x5b, "EAP_KEY_BLOCK" }, { 0x5c, "MAPPED_CRED_ATTR" }, { 0x5d, "SESSION_INFO" }, { 0x5e, "APP_DATA" },
        { 0x5f, "REMOTE_CERTIFICATES" }, { 0x60, "CLIENT_CERT_POLICY" }, { 0x61, "CC_POLICY_RESULT" },
        { 0x62, "USE_NCRYPT" }, { 0x63, "LOCAL_CERT_INFO" }, { 0x64, "CIPHER_INFO" }, { 0x65, "EAP_PRF_INFO" },
        { 0x66, "SUPPORTED_SIGNATURES" }, { 0x67, "REMOTE_CERT_CHAIN" }, { 0x68, "UI_INFO" },
        { 0x69, "EARLY_START" }, { 0x6a, "KEYING_MATERIAL_INFO" }, { 0x6b, "KEYING_MATERIAL" },
        { 0x6c, "SRTP_PARAMETERS" }, { 0x6d, "TOKEN_BINDING" }, { 0x6e, "CONNECTION_INFO_EX" },
        { 0x6f, "KEYING_MATERIAL_TOKEN_BINDING" }, { 0x70, "KEYING_MATERIAL_INPROC" },
        { 0x71, "CERT_CHECK_RESULT" }, { 0x72, "CERT_CHECK_RESULT_INPROC" }, { 0x73, "SESSION_TICKET_KEYS" },
        { 0x74, "SERIALIZED_REMOTE_CERT_CONTEXT_INPROC" }, { 0x75, "SERIALIZED_REMOTE_CERT_CONTEXT" },
};
#define N_ATTRS (sizeof(all_attrs) / sizeof(all_attrs[0]))

/* The memory an answer hands out, released as its structure says. */
static void release(uint32_t attr, uint8_t *buf) {
        void *p0, *p8;

        memcpy(&p0, buf, sizeof(p0));
        memcpy(&p8, buf + 8, sizeof(p8));
        switch (attr) {
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
        case SECPKG_ATTR_LOCAL_CERT_CONTEXT:
                CertFreeCertificateContext(p0);
                break;
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_KEY_INFO:
                FreeContextBuffer(p0);
                FreeContextBuffer(p8);
                break;
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_AUTHORITY:
        case SECPKG_ATTR_PACKAGE_INFO:
        case SECPKG_ATTR_NEGOTIATION_INFO:
        case SECPKG_ATTR_CLIENT_SPECIFIED_TARGET:
        case SECPKG_ATTR_ISSUER_LIST_EX:
                FreeContextBuffer(p0);
                break;
        case SECPKG_ATTR_SESSION_KEY:
        case SECPKG_ATTR_UNIQUE_BINDINGS:
        case SECPKG_ATTR_ENDPOINT_BINDINGS:
        case SECPKG_ATTR_SUPPORTED_SIGNATURES:
        case SECPKG_ATTR_APP_DATA:
        case SECPKG_ATTR_KEYING_MATERIAL:
                FreeContextBuffer(p8);
                break;
        default:
                break;
        }
}

static const char *cell_word(SECURITY_STATUS st, char *buf, size_t n) {
        const char *name;

        if (st == SEC_E_OK)
                return "yes";
        if (st == SEC_E_UNSUPPORTED_FUNCTION)
                return "no";
        name = status_name(st);
        if (!strcmp(name, "?")) {
                snprintf(buf, n, "0x%08x", (unsigned) st);
                return buf;
        }
        if (!strncmp(name, "SEC_E_", 6))
                name += 6;
        snprintf(buf, n, "%s", name);
        return buf;
}

/* "yes" / "no" when both sides agree, else "client/server". */
static void cell(CtxtHandle *c, CtxtHandle *s, uint32_t attr, char *out, size_t n) {
        SECURITY_STATUS st[2];
        char w[2][64];
        const char *a, *b;

        for (int i = 0; i < 2; i++) {
                union {
                        uint8_t raw[2048];
                        void *align;
                } buf;
                memset(&buf, 0, sizeof(buf));
                st[i] = QueryContextAttributesA(i ? s : c, attr, buf.raw);
                if (st[i] == SEC_E_OK)
                        release(attr, buf.raw);
        }
        a = cell_word(st[0], w[0], sizeof(w[0]));
        b = cell_word(st[1], w[1], sizeof(w[1]));
        if (!strcmp(a, b))
                snprintf(out, n, "%s", a);
        else
                snprintf(out, n, "%s/%s", a, b);
}

enum { COL_KERBEROS, COL_NEGOTIATE, COL_NTLM, COL_SCHANNEL, COL_DIGEST, COL_CREDSSP, N_COLS };
static const char *const col_names[N_COLS] = { "Kerberos", "Negotiate", "NTLM", "Schannel", "Digest", "CredSSP" };

/* Both sides of a Schannel connection, ours. */
static bool tls_pair(CredHandle *cc, CredHandle *sc, CtxtHandle *c, CtxtHandle *s) {
        static uint8_t to_s[65536], to_c[65536];
        size_t ls = 0, lc = 0;
        bool hc = false, hs = false, dc = false, ds = false;

        for (int legs = 0; legs < 12 && !(dc && ds); legs++) {
                if (!dc) {
                        SecBuffer ib[2] = { { (ULONG) lc, SECBUFFER_TOKEN, to_c }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                        ULONG a;
                        SECURITY_STATUS st = InitializeSecurityContextA(hc ? NULL : cc, hc ? c : NULL, "localhost",
                                                                        ISC_FLAGS, 0, 0, hc ? &id : NULL, 0, c, &od,
                                                                        &a, NULL);
                        if (st < 0)
                                return false;
                        /* Set during the handshake, as Windows callers do:
                         * kept across the legs. */
                        if (!hc && set_km(c, "EXPERIMENTAL-table", NULL, 0, 16) != SEC_E_OK)
                                return false;
                        hc = true;
                        dc = st == SEC_E_OK;
                        memcpy(to_s + ls, ob[0].pvBuffer, ob[0].cbBuffer);
                        ls += ob[0].cbBuffer;
                        lc = 0;
                        FreeContextBuffer(ob[0].pvBuffer);
                        FreeContextBuffer(ob[1].pvBuffer);
                }
                if (!ds && ls) {
                        SecBuffer ib[2] = { { (ULONG) ls, SECBUFFER_TOKEN, to_s }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        ULONG a;
                        SECURITY_STATUS st = AcceptSecurityContext(hs ? NULL : sc, hs ? s : NULL, &id, ASC_FLAGS, 0,
                                                                   s, &od, &a, NULL);
                        if (st < 0)
                                return false;
                        hs = true;
                        ds = st == SEC_E_OK;
                        ls = 0;
                        memcpy(to_c + lc, ob.pvBuffer, ob.cbBuffer);
                        lc += ob.cbBuffer;
                        FreeContextBuffer(ob.pvBuffer);
                }
        }
        return dc && ds;
}

/* A Digest (HTTP mode) pair, as tests/lib/tpkgs.c drives one. */
static bool digest_pair(TpCreds *tc, CtxtHandle *c, CtxtHandle *s) {
        static const char uri[] = "/protected/index.html", method[] = "GET";
        uint8_t chal[4096], resp[4096], info[4096];
        SecBuffer ib = { 0, SECBUFFER_TOKEN, NULL }, ob = { sizeof(chal), SECBUFFER_TOKEN, chal };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        ULONG a;

        if (AcceptSecurityContext(&tc->srv[TP_DIGEST], NULL, &id, ASC_REQ_HTTP, 0, s, &od, &a, NULL) !=
            SEC_I_CONTINUE_NEEDED)
                return false;
        {
                SecBuffer cb[2] = { { ob.cbBuffer, SECBUFFER_TOKEN, chal },
                                    { sizeof(method) - 1, SECBUFFER_PKG_PARAMS, (void *) method } };
                SecBuffer co = { sizeof(resp), SECBUFFER_TOKEN, resp };
                SecBufferDesc cd = { SECBUFFER_VERSION, 2, cb }, cod = { SECBUFFER_VERSION, 1, &co };
                if (InitializeSecurityContextA(&tc->cli[TP_DIGEST], NULL, (char *) uri, ISC_REQ_HTTP, 0, 0, &cd, 0, c,
                                               &cod, &a, NULL) != SEC_E_OK) {
                        DeleteSecurityContext(s);
                        return false;
                }
                SecBuffer vb[4] = { { co.cbBuffer, SECBUFFER_TOKEN, resp },
                                    { sizeof(method) - 1, SECBUFFER_PKG_PARAMS, (void *) method },
                                    { sizeof(uri) - 1, SECBUFFER_PKG_PARAMS, (void *) uri },
                                    { 0, SECBUFFER_PKG_PARAMS, NULL } };
                SecBuffer vo = { sizeof(info), SECBUFFER_TOKEN, info };
                SecBufferDesc vd = { SECBUFFER_VERSION, 4, vb }, vod = { SECBUFFER_VERSION, 1, &vo };
                if (AcceptSecurityContext(&tc->srv[TP_DIGEST], s, &vd, ASC_REQ_HTTP, 0, s, &vod, &a, NULL) !=
                    SEC_E_OK) {
                        DeleteSecurityContext(c);
                        DeleteSecurityContext(s);
                        return false;
                }
        }
        return true;
}

static char table[N_ATTRS][N_COLS][160];

static void fill_column(int col, CtxtHandle *c, CtxtHandle *s) {
        for (size_t i = 0; i < N_ATTRS; i++)
                /* ACCESS_TOKEN depends on the host's accounts (the client's
                 * local account, test_impersonate): not a fixed cell. */
                if (all_attrs[i].v == SECPKG_ATTR_ACCESS_TOKEN)
                        snprintf(table[i][col], sizeof(table[i][col]), "account");
                else
                        cell(c, s, all_attrs[i].v, table[i][col], sizeof(table[i][col]));
}

/* The table rows in README.md between the markers: "| NAME | 0x.. | k | n
 * | ntlm | schannel | digest | why |". */
static void check_readme(void) {
        char path[700], line[2048];
        bool in = false, seen[N_ATTRS] = { false };
        int rows = 0, bad = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/README.md", top);
        f = fopen(path, "r");
        t_ok(f != NULL, "README.md readable at %s", path);
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *cells[10], *p = line, *bar;
                int n = 0;

                if (strstr(line, "<!-- attr-table begin -->")) {
                        in = true;
                        continue;
                }
                if (strstr(line, "<!-- attr-table end -->"))
                        break;
                if (!in || line[0] != '|' || strstr(line, "---"))
                        continue;
                p++;
                while (n < 10 && (bar = strchr(p, '|'))) {
                        *bar = 0;
                        while (*p == ' ')
                                p++;
                        for (char *e = bar - 1; e >= p && *e == ' '; e--)
                                *e = 0;
                        cells[n++] = p;
                        p = bar + 1;
                }
                if (n < 2 + N_COLS || cells[0][0] != '`')
                        continue; /* the header */
                for (size_t i = 0; i < N_ATTRS; i++) {
                        char want[96];
                        snprintf(want, sizeof(want), "`%s`", all_attrs[i].name);
                        if (strcmp(cells[0], want))
                                continue;
                        seen[i] = true;
                        rows++;
                        for (int k = 0; k < N_COLS; k++)
                                if (strcmp(cells[2 + k], table[i][k])) {
                                        t_ok(false, "README row %s, %s: README says \"%s\", the daemon \"%s\"",
                                             all_attrs[i].name, col_names[k], cells[2 + k], table[i][k]);
                                        bad++;
                                }
                }
        }
        fclose(f);
        for (size_t i = 0; i < N_ATTRS; i++)
                if (!seen[i])
                        t_ok(false, "README table has a row for SECPKG_ATTR_%s", all_attrs[i].name);
        t_ok(rows == (int) N_ATTRS && bad == 0, "README attribute table: %d rows, every cell what the daemon answers",
             rows);
}

/* CredSSP, both sides ours: alice (NTLM inside SPNEGO) to a server whose
 * certificate is CREDSSP_CRED.pSchannelCred's, as test_credssp. */
static bool credssp_column(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) "SSPID", 5,
                                         (unsigned char *) "alice-pw-1", 10, SEC_WINNT_AUTH_IDENTITY_ANSI };
        CREDSSP_CRED cli = { .Type = CredsspPasswordCreds, .pSpnegoCred = &id }, srv = { .Type = CredsspSchannelCreds };
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .cCreds = 1 };
        PCCERT_CONTEXT pc;
        CredHandle cc, scr;
        THandshake h;
        Cert cert;
        bool ok;

        ok = t_load_cert(pki, "server-ec", &cert);
        t_ok(ok, "table: CredSSP server certificate");
        if (!ok)
                return false;
        pc = &cert.cc;
        sc.paCred = &pc;
        srv.pSchannelCred = &sc;
        t_status(AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_OUTBOUND, NULL, &cli, NULL, NULL, &cc, NULL),
                 SEC_E_OK, "table: CredSSP client credential");
        t_status(AcquireCredentialsHandleA(NULL, "CREDSSP", SECPKG_CRED_INBOUND, NULL, &srv, NULL, NULL, &scr, NULL),
                 SEC_E_OK, "table: CredSSP server credential");
        ok = t_status(t_handshake(&cc, &scr, "TERMSRV/localhost", 0, 0, &h), SEC_E_OK, "table: CredSSP handshake");
        if (ok)
                fill_column(COL_CREDSSP, &h.client, &h.server);
        t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&scr);
        return ok;
}

static void attr_table(TpCreds *tc, bool print) {
        CtxtHandle c, s;
        THandshake h;
        CredHandle cc, sc;
        bool ok;
        static const int gss[3][2] = { { TP_KERBEROS, COL_KERBEROS },
                                       { TP_NEGOTIATE, COL_NEGOTIATE },
                                       { TP_NTLM, COL_NTLM } };

        for (int i = 0; i < 3; i++) {
                if (!t_status(t_handshake(&tc->cli[gss[i][0]], &tc->srv[gss[i][0]], "HTTP/localhost", GSS_ISC,
                                          GSS_ASC, &h),
                              SEC_E_OK, "table: %s handshake", col_names[gss[i][1]])) {
                        t_handshake_done(&h);
                        return;
                }
                fill_column(gss[i][1], &h.client, &h.server);
                t_handshake_done(&h);
        }
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cc), SEC_E_OK, "table: Schannel client credential");
        t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, &sc), SEC_E_OK, "table: Schannel server credential");
        ok = tls_pair(&cc, &sc, &c, &s);
        t_ok(ok, "table: Schannel handshake, both sides ours");
        if (!ok)
                return;
        /* KEYING_MATERIAL answers what KEYING_MATERIAL_INFO named (the
         * client's was set after its first leg). Both ends of one
         * connection export the same bytes (RFC 5705). */
        set_km(&s, "EXPERIMENTAL-table", NULL, 0, 16);
        {
                SecPkgContext_KeyingMaterial a = { 0 }, b = { 0 };
                t_status(QueryContextAttributesA(&c, SECPKG_ATTR_KEYING_MATERIAL, &a), SEC_E_OK,
                         "KEYING_MATERIAL_INFO set during the handshake: the client exports");
                t_status(QueryContextAttributesW(&s, SECPKG_ATTR_KEYING_MATERIAL, &b), SEC_E_OK,
                         "KEYING_MATERIAL: the server exports");
                t_ok(a.cbKeyingMaterial == 16 && b.cbKeyingMaterial == 16 && a.pbKeyingMaterial &&
                             b.pbKeyingMaterial && !memcmp(a.pbKeyingMaterial, b.pbKeyingMaterial, 16),
                     "KEYING_MATERIAL: our client and our server export the same 16 bytes");
                FreeContextBuffer(a.pbKeyingMaterial);
                FreeContextBuffer(b.pbKeyingMaterial);
        }
        fill_column(COL_SCHANNEL, &c, &s);
        if (!print)
                query_ex(&c);
        DeleteSecurityContext(&c);
        DeleteSecurityContext(&s);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        ok = digest_pair(tc, &c, &s);
        t_ok(ok, "table: Digest exchange");
        if (!ok)
                return;
        fill_column(COL_DIGEST, &c, &s);
        DeleteSecurityContext(&c);
        DeleteSecurityContext(&s);
        if (!credssp_column())
                return;
        if (print) {
                for (size_t i = 0; i < N_ATTRS; i++) {
                        printf("| `%s` | %u |", all_attrs[i].name, all_attrs[i].v);
                        for (int k = 0; k < N_COLS; k++)
                                printf(" %s |", table[i][k]);
                        printf("\n");
                }
                return;
        }
        check_readme();
}

int main(int argc, char **argv) {
        const char *env = getenv("SSPID_TESTENV"), *t = getenv("SSPID_TOP");
        bool print = argc > 1 && !strcmp(argv[1], "--print-table");
        TpCreds tc = { 0 };

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        snprintf(top, sizeof(top), "%s", t ? t : ".");
        for (int p = 0; p < TP_COUNT; p++)
                if (p != TP_SCHANNEL)
                        t_status(tp_acquire(&tc, p, NULL), SEC_E_OK, "%s credentials", tp_names[p]);
        if (print) {
                attr_table(&tc, true);
                tp_release(&tc);
                return 0;
        }

        client_side(TLS1_3_VERSION, "TLS 1.3");
        client_side(TLS1_2_VERSION, "TLS 1.2");
        server_side(TLS1_3_VERSION, "TLS 1.3");
        server_side(TLS1_2_VERSION, "TLS 1.2");
        for (int i = 0; i < 2; i++) {
                DWORD f = i ? SCH_CRED_DEFERRED_CRED_VALIDATION : SCH_CRED_MANUAL_CRED_VALIDATION;
                cert_check("server-ec", f, 0, 0);
                cert_check("expired", f, CERT_TRUST_IS_NOT_TIME_VALID, CERT_E_EXPIRED);
                cert_check("wrongname", f, 0, CERT_E_CN_NO_MATCH);
                cert_check("untrusted", f, CERT_TRUST_IS_PARTIAL_CHAIN, CERT_E_CHAINING);
        }
        {
                /* Without either flag the same server is refused. */
                SSL_CTX *sctx = server_ctx("untrusted", TLS1_3_VERSION);
                SSL *s = mem_ssl(sctx);
                CredHandle cred;
                CtxtHandle ctx;
                bool have;
                t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, &cred), SEC_E_OK, "untrusted: credential");
                t_status(our_client(s, &cred, "localhost", &ctx, &have), SEC_E_UNTRUSTED_ROOT,
                         "untrusted: no deferral: the handshake fails");
                if (have)
                        DeleteSecurityContext(&ctx);
                FreeCredentialsHandle(&cred);
                SSL_free(s);
                SSL_CTX_free(sctx);
        }

        eap_checks();
        app_data_checks(TLS1_3_VERSION, "TLS 1.3");
        app_data_checks(TLS1_2_VERSION, "TLS 1.2");
        early_start_checks();
        add_certificate();

        gss_attrs(&tc, TP_KERBEROS, "HTTP/localhost", t_realm(), "HTTP/localhost");
        gss_attrs(&tc, TP_NTLM, "HTTP/localhost", "SSPID", "HTTP/localhost");
        gss_attrs(&tc, TP_NEGOTIATE, "HTTP/localhost", t_realm(), "HTTP/localhost");
        ntlm_mid(&tc);
        nego_fallback(&tc);

        attr_table(&tc, false);
        tp_release(&tc);
        return t_done();
}
