/* SPDX-License-Identifier: MIT */
/*
 * NTLM message calls as Windows answers them (Wine's ntlm.c testAuth,
 * test_Signature, test_Encrypt; Microsoft's EncryptMessage (NTLM) and
 * DecryptMessage (NTLM) pages):
 *  - a context whose server negotiated neither signing nor sealing (the
 *    fixed CHALLENGE of Wine's tests, flags 0xa0828205): the dummy
 *    signature 01 00 00 00 + 12 zero bytes, accepted alone; no sealing;
 *  - EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) readable by the peer, which
 *    reports it in *pfQOP; otherwise *pfQOP is left alone;
 *  - SECPKG_ATTR_KEY_INFO (A and W);
 *  - buffer sizes and the statuses for missing or short buffers.
 * The handshake with our own server runs sync and async (Sspi*Async).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin.h"

#define S_AUTH W_WINE("ntlm.c", "testAuth")
#define S_SIG W_WINE("ntlm.c", "test_Signature")
#define S_ENC W_WINE("ntlm.c", "test_Encrypt")
#define S_NOSEAL W_WINE("ntlm.c", "test_Encrypt (Vista+: no sealing without signing or sealing negotiated)")
#define S_ENC_DOC W_MSDOCS("EncryptMessage (NTLM): fQOP SECQOP_WRAP_NO_ENCRYPT")
#define S_DEC_DOC W_MSDOCS("DecryptMessage (NTLM): pfQOP SECQOP_WRAP_NO_ENCRYPT")
#define S_MSV W_CLIENT("Wine dlls/msv1_0 (the buffer checks of its SSPI NTLM)", "ntlm_SpMakeSignature/SealMessage")
#define S_KEYINFO W_CLIENT("Windows msv1_0 SpQueryContextAttributes (KeySize from NEGOTIATE_128/56)", "KEY_INFO")

#define ISC_FLAGS                                                                                   \
        (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | \
         ISC_REQ_SEQUENCE_DETECT)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)
#define CALG_RC4 0x6801U

static const uint8_t dummy_sig[16] = { 1 };
/* A signature Windows' NTLM made with real keys (Wine's crypt_trailer_client). */
static const uint8_t real_sig[16] = { 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0xe8, 0xc7, 0xaa, 0x26, 0x16, 0x39, 0x07, 0x4e };
static const char message[] = "Hello, world!";
static char header[] = "Header Test";

/* Wine's native_challenge: NTLMSSP CHALLENGE, flags UNICODE|REQUEST_TARGET|
 * NTLM|ALWAYS_SIGN|TARGET_TYPE_SERVER|TARGET_INFO|128|56 (0xa0828205),
 * target "CASINO01", AV pairs NetBIOS domain/computer and DNS
 * computer/domain names. */
static size_t native_challenge(uint8_t *p) {
        static const uint8_t challenge[8] = { 0xb5, 0x60, 0x8e, 0x95, 0xb5, 0x3c, 0xee, 0x03 };
        static const struct {
                uint16_t id;
                const char *s;
        } av[] = { { 2, "CASINO01" }, { 1, "CASINO01" }, { 4, "casino01" }, { 3, "casino01" } };
        size_t o = 64;

        memset(p, 0, 148);
        memcpy(p, "NTLMSSP", 8);
        p[8] = 2;
        p[12] = p[14] = 16;
        p[16] = 48;
        p[20] = 0x05, p[21] = 0x82, p[22] = 0x82, p[23] = 0xa0;
        memcpy(p + 24, challenge, 8);
        p[40] = p[42] = 84;
        p[44] = 64;
        for (int i = 0; i < 8; i++)
                p[48 + 2 * i] = (uint8_t) "CASINO01"[i];
        for (size_t k = 0; k < 4; k++) {
                p[o] = (uint8_t) av[k].id;
                p[o + 2] = 16;
                o += 4;
                for (int i = 0; i < 8; i++)
                        p[o + 2 * i] = (uint8_t) av[k].s[i];
                o += 16;
        }
        return 148; /* the MsvAvEOL pair and padding are the zeros left */
}

/* Wine's testAuth/test_Signature with the fake server: our client, flags 0. */
static bool fake_server_context(CredHandle *cred, CtxtHandle *ctx) {
        uint8_t out_tok[4096], in_tok[256];
        SecBuffer ob = { sizeof(out_tok), SECBUFFER_TOKEN, out_tok }, ib = { 0, SECBUFFER_TOKEN, in_tok };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob }, in = { SECBUFFER_VERSION, 1, &ib };
        ULONG attr;
        TimeStamp ts;
        SECURITY_STATUS st;

        if (!t_status(t_cred_identity("NTLM", "testuser", "WORKGROUP", "testpass", cred), SEC_E_OK,
                      "fake server: client credential testuser"))
                return false;
        st = InitializeSecurityContextA(cred, NULL, NULL, 0, 0, SECURITY_NETWORK_DREP, NULL, 0, ctx, &out, &attr, &ts);
        if (!t_status(st, SEC_I_CONTINUE_NEEDED, "fake server: NEGOTIATE"))
                return false;
        ib.cbBuffer = (ULONG) native_challenge(in_tok);
        ob.cbBuffer = sizeof(out_tok);
        st = InitializeSecurityContextA(NULL, ctx, NULL, 0, 0, SECURITY_NETWORK_DREP, &in, 0, ctx, &out, &attr, &ts);
        return w_status(S_SIG, st, SEC_E_OK, "fake server: AUTHENTICATE for the 0xa0828205 CHALLENGE");
}

static void no_signing(void) {
        CredHandle cred;
        CtxtHandle ctx;
        SecPkgContext_Sizes sz;
        SecPkgContext_KeyInfoA ki;
        uint8_t tok[16], data[sizeof(message) - 1], tok4[16];
        SecBuffer fake[2] = { { 16, SECBUFFER_DATA, tok }, { sizeof(data), SECBUFFER_DATA, data } };
        SecBuffer b[2] = { { sizeof(tok), SECBUFFER_TOKEN, tok }, { sizeof(data), SECBUFFER_DATA, data } };
        SecBuffer cx[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, fake };
        ULONG qop = 0xdeadbeef;

        if (!fake_server_context(&cred, &ctx))
                return;
        if (w_status(S_AUTH, QueryContextAttributesA(&ctx, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "no signing: SIZES")) {
                w_eq(S_AUTH, sz.cbMaxSignature, 16, "no signing: cbMaxSignature");
                w_eq(S_AUTH, sz.cbSecurityTrailer, 16, "no signing: cbSecurityTrailer");
                w_eq(S_AUTH, sz.cbBlockSize, 0, "no signing: cbBlockSize");
        }
        memcpy(data, message, sizeof(data));
        w_status(S_SIG, MakeSignature(&ctx, 0, &d, 0), SEC_E_INVALID_TOKEN, "no signing: MakeSignature without TOKEN");

        d.pBuffers = b;
        memset(tok, 0xcc, sizeof(tok));
        if (w_status(S_SIG, MakeSignature(&ctx, 0, &d, 0), SEC_E_OK, "no signing: MakeSignature")) {
                w_eq(S_SIG, b[0].cbBuffer, 16, "no signing: signature cbBuffer");
                w_ok(S_SIG, !memcmp(tok, dummy_sig, 16), "no signing: the dummy signature 01 00 00 00 + 12 zeros");
        }
        memcpy(tok, real_sig, 16);
        w_status(S_SIG, VerifySignature(&ctx, &d, 0, &qop), SEC_E_MESSAGE_ALTERED,
                 "no signing: VerifySignature of a keyed signature");
        w_eq(S_SIG, qop, 0xdeadbeef, "no signing: *pfQOP unchanged after the failure");
        memcpy(tok, dummy_sig, 16);
        w_status(S_SIG, VerifySignature(&ctx, &d, 0, &qop), SEC_E_OK, "no signing: VerifySignature of the dummy");
        w_eq(S_SIG, qop, 0xdeadbeef, "no signing: *pfQOP unchanged");

        /* Two READONLY_WITH_CHECKSUM headers around the data. */
        cx[0] = (SecBuffer) { sizeof(header), SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, header };
        cx[1] = (SecBuffer) { sizeof(data), SECBUFFER_DATA, data };
        cx[2] = (SecBuffer) { sizeof(header), SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, header };
        cx[3] = (SecBuffer) { sizeof(tok4), SECBUFFER_TOKEN, tok4 };
        d = (SecBufferDesc) { SECBUFFER_VERSION, 4, cx };
        if (w_status(S_SIG, MakeSignature(&ctx, 0, &d, 0), SEC_E_OK, "no signing, four buffers: MakeSignature"))
                w_ok(S_SIG, !memcmp(tok4, dummy_sig, 16), "no signing, four buffers: the dummy signature again");
        w_status(S_SIG, VerifySignature(&ctx, &d, 0, &qop), SEC_E_OK,
                 "no signing, four buffers: the dummy verifies as if the server sent it");
        w_eq(S_SIG, qop, 0xdeadbeef, "no signing, four buffers: *pfQOP unchanged");

        d = (SecBufferDesc) { SECBUFFER_VERSION, 2, b };
        b[0].cbBuffer = sizeof(tok);
        w_status(S_NOSEAL, EncryptMessage(&ctx, 0, &d, 0), SEC_E_UNSUPPORTED_FUNCTION, "no signing: EncryptMessage");

        if (w_status(S_AUTH, QueryContextAttributesA(&ctx, SECPKG_ATTR_KEY_INFO, &ki), SEC_E_OK,
                     "no signing: KEY_INFO")) {
                w_ok(S_AUTH, !strcmp((char *) ki.sSignatureAlgorithmName, "RSADSI RC4-CRC32"),
                     "no signing: sSignatureAlgorithmName \"RSADSI RC4-CRC32\" [%s]", (char *) ki.sSignatureAlgorithmName);
                w_ok(S_AUTH, !strcmp((char *) ki.sEncryptAlgorithmName, "RSADSI RC4"),
                     "no signing: sEncryptAlgorithmName \"RSADSI RC4\"");
                w_eq(S_AUTH, ki.SignatureAlgorithm, 0xffffff7c, "no signing: SignatureAlgorithm");
                w_eq(S_AUTH, ki.KeySize, 128, "no signing: KeySize");
                w_eq(S_AUTH, ki.EncryptAlgorithm, CALG_RC4, "no signing: EncryptAlgorithm CALG_RC4");
                FreeContextBuffer(ki.sSignatureAlgorithmName);
                FreeContextBuffer(ki.sEncryptAlgorithmName);
        }
        DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cred);
}

static void key_info(CtxtHandle *ctx, const char *who) {
        SecPkgContext_KeyInfoA a;
        SecPkgContext_KeyInfoW w;
        static const SEC_WCHAR hmac[] = { 'H', 'M', 'A', 'C', '-', 'M', 'D', '5', 0 };
        static const SEC_WCHAR rc4[] = { 'R', 'S', 'A', 'D', 'S', 'I', ' ', 'R', 'C', '4', 0 };

        if (w_status(S_AUTH, QueryContextAttributesA(ctx, SECPKG_ATTR_KEY_INFO, &a), SEC_E_OK, "%s: KEY_INFO (A)", who)) {
                w_ok(S_AUTH, !strcmp((char *) a.sSignatureAlgorithmName, "HMAC-MD5"),
                     "%s: sSignatureAlgorithmName \"HMAC-MD5\"", who);
                w_ok(S_AUTH, !strcmp((char *) a.sEncryptAlgorithmName, "RSADSI RC4"),
                     "%s: sEncryptAlgorithmName \"RSADSI RC4\"", who);
                w_eq(S_AUTH, a.SignatureAlgorithm, 0xffffff76, "%s: SignatureAlgorithm", who);
                w_eq(S_AUTH, a.KeySize, 128, "%s: KeySize", who);
                w_eq(S_AUTH, a.EncryptAlgorithm, CALG_RC4, "%s: EncryptAlgorithm CALG_RC4", who);
                w_status(S_AUTH, FreeContextBuffer(a.sSignatureAlgorithmName), SEC_E_OK,
                         "%s: FreeContextBuffer(sSignatureAlgorithmName)", who);
                w_status(S_AUTH, FreeContextBuffer(a.sEncryptAlgorithmName), SEC_E_OK,
                         "%s: FreeContextBuffer(sEncryptAlgorithmName)", who);
        }
        if (w_status(S_KEYINFO, QueryContextAttributesW(ctx, SECPKG_ATTR_KEY_INFO, &w), SEC_E_OK, "%s: KEY_INFO (W)",
                     who)) {
                w_ok(S_KEYINFO, !memcmp(w.sSignatureAlgorithmName, hmac, sizeof(hmac)),
                     "%s: W: sSignatureAlgorithmName L\"HMAC-MD5\"", who);
                w_ok(S_KEYINFO, !memcmp(w.sEncryptAlgorithmName, rc4, sizeof(rc4)),
                     "%s: W: sEncryptAlgorithmName L\"RSADSI RC4\"", who);
                w_eq(S_KEYINFO, w.KeySize, 128, "%s: W: KeySize", who);
                FreeContextBuffer(w.sSignatureAlgorithmName);
                FreeContextBuffer(w.sEncryptAlgorithmName);
        }
}

static void with_server(bool async) {
        CredHandle cc, sc;
        TimeStamp ts;
        THandshake h;
        SecPkgContext_Sizes sz;
        uint8_t tok[32], data[sizeof(message) - 1], tok4[32];
        SecBuffer b[2], cx[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0xdeadbeef;
        SECURITY_STATUS st;
        const char *mode = async ? "(async handshake)" : "(sync handshake)";

        if (!t_status(t_cred_identity("NTLM", "alice", "SSPID", "alice-pw-1", &cc), SEC_E_OK, "alice") ||
            !t_status(AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts),
                      SEC_E_OK, "NTLM inbound credential"))
                return;
        st = async ? t_handshake_async(NULL, NULL, &cc, &sc, "HTTP/localhost", ISC_FLAGS, ASC_FLAGS, &h)
                   : t_handshake(&cc, &sc, "HTTP/localhost", ISC_FLAGS, ASC_FLAGS, &h);
        if (!t_status(st, SEC_E_OK, "NTLM handshake %s", mode))
                goto out;
        key_info(&h.client, async ? "client (async)" : "client");
        key_info(&h.server, async ? "server (async)" : "server");
        if (w_status(S_AUTH, QueryContextAttributesA(&h.client, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "SIZES %s", mode)) {
                w_ok(S_AUTH, sz.cbMaxToken == 1904 || sz.cbMaxToken == 2888, "cbMaxToken 1904 or 2888 %s", mode);
                w_eq(S_AUTH, sz.cbMaxSignature, 16, "cbMaxSignature %s", mode);
                w_eq(S_AUTH, sz.cbSecurityTrailer, 16, "cbSecurityTrailer %s", mode);
        }
        if (async)
                goto out;

        /* test_Encrypt: the version, and *pfQOP left alone. */
        memcpy(data, message, sizeof(data));
        b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(data), SECBUFFER_DATA, data };
        if (w_status(S_ENC, EncryptMessage(&h.client, 0, &d, 0), SEC_E_OK, "EncryptMessage")) {
                w_ok(S_ENC, !memcmp(tok, "\x01\x00\x00\x00", 4), "trailer starts 01 00 00 00");
                w_status(S_ENC, DecryptMessage(&h.server, &d, 0, &qop), SEC_E_OK, "DecryptMessage");
                w_eq(S_ENC, qop, 0xdeadbeef, "DecryptMessage leaves *pfQOP alone");
                w_ok(S_ENC, !memcmp(data, message, sizeof(data)), "DecryptMessage: the plaintext");
        }
        cx[0] = (SecBuffer) { sizeof(header), SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, header };
        cx[1] = (SecBuffer) { sizeof(data), SECBUFFER_DATA, data };
        cx[2] = (SecBuffer) { sizeof(header), SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, header };
        cx[3] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok4 };
        d = (SecBufferDesc) { SECBUFFER_VERSION, 4, cx };
        if (w_status(S_ENC, EncryptMessage(&h.client, 0, &d, 0), SEC_E_OK, "EncryptMessage, four buffers")) {
                w_ok(S_ENC, !memcmp(tok4, "\x01\x00\x00\x00", 4), "four buffers: trailer starts 01 00 00 00");
                w_status(S_ENC, DecryptMessage(&h.server, &d, 0, &qop), SEC_E_OK, "DecryptMessage, four buffers");
                w_eq(S_ENC, qop, 0xdeadbeef, "four buffers: *pfQOP unchanged");
        }

        /* SECQOP_WRAP_NO_ENCRYPT: clear data, and the peer reads it. */
        for (int dir = 0; dir < 2; dir++) {
                CtxtHandle *from = dir ? &h.server : &h.client, *to = dir ? &h.client : &h.server;
                const char *w = dir ? "server->client" : "client->server";

                memcpy(data, message, sizeof(data));
                b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
                b[1] = (SecBuffer) { sizeof(data), SECBUFFER_DATA, data };
                d = (SecBufferDesc) { SECBUFFER_VERSION, 2, b };
                if (!w_status(S_ENC_DOC, EncryptMessage(from, SECQOP_WRAP_NO_ENCRYPT, &d, 0), SEC_E_OK,
                              "%s: EncryptMessage(SECQOP_WRAP_NO_ENCRYPT)", w))
                        continue;
                w_ok(S_ENC_DOC, !memcmp(data, message, sizeof(data)), "%s: WRAP_NO_ENCRYPT leaves the data clear", w);
                w_eq(S_ENC_DOC, b[0].cbBuffer, 16, "%s: WRAP_NO_ENCRYPT: a 16-byte signature", w);
                qop = 0xdeadbeef;
                w_status(S_DEC_DOC, DecryptMessage(to, &d, 0, &qop), SEC_E_OK, "%s: the peer's DecryptMessage", w);
                w_eq(S_DEC_DOC, qop, SECQOP_WRAP_NO_ENCRYPT, "%s: *pfQOP SECQOP_WRAP_NO_ENCRYPT", w);
                w_ok(S_DEC_DOC, !memcmp(data, message, sizeof(data)), "%s: the data as sent", w);
                /* A sealed message right after still reads (no state lost). */
                b[0].cbBuffer = 16;
                if (w_status(S_ENC, EncryptMessage(from, 0, &d, 0), SEC_E_OK, "%s: EncryptMessage after", w)) {
                        qop = 0xdeadbeef;
                        w_status(S_ENC, DecryptMessage(to, &d, 0, &qop), SEC_E_OK, "%s: DecryptMessage after", w);
                        w_eq(S_ENC, qop, 0xdeadbeef, "%s: sealed: *pfQOP unchanged", w);
                }
        }
        w_status(S_ENC_DOC, EncryptMessage(&h.client, 0x12345678, &d, 0), SEC_E_QOP_NOT_SUPPORTED,
                 "EncryptMessage with an unknown fQOP");

        /* Missing and short buffers. */
        b[0] = (SecBuffer) { 15, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(data), SECBUFFER_DATA, data };
        d = (SecBufferDesc) { SECBUFFER_VERSION, 2, b };
        w_status(S_MSV, MakeSignature(&h.client, 0, &d, 0), SEC_E_BUFFER_TOO_SMALL, "MakeSignature, 15-byte TOKEN");
        w_status(S_MSV, EncryptMessage(&h.client, 0, &d, 0), SEC_E_BUFFER_TOO_SMALL, "EncryptMessage, 15-byte TOKEN");
        w_status(S_MSV, VerifySignature(&h.server, &d, 0, &qop), SEC_E_BUFFER_TOO_SMALL,
                 "VerifySignature, 15-byte TOKEN");
        w_status(S_MSV, DecryptMessage(&h.server, &d, 0, &qop), SEC_E_BUFFER_TOO_SMALL, "DecryptMessage, 15-byte TOKEN");
        b[0].BufferType = SECBUFFER_DATA;
        w_status(S_SIG, MakeSignature(&h.client, 0, &d, 0), SEC_E_INVALID_TOKEN, "MakeSignature without TOKEN");
        w_status(S_MSV, EncryptMessage(&h.client, 0, &d, 0), SEC_E_INVALID_TOKEN, "EncryptMessage without TOKEN");
        w_status(S_MSV, DecryptMessage(&h.server, &d, 0, &qop), SEC_E_INVALID_TOKEN, "DecryptMessage without TOKEN");
        b[0] = (SecBuffer) { 16, SECBUFFER_TOKEN, tok };
        d.cBuffers = 1;
        w_status(S_MSV, EncryptMessage(&h.client, 0, &d, 0), SEC_E_INVALID_TOKEN, "EncryptMessage without DATA");
        /* None of these spent a sequence number. */
        d.cBuffers = 2;
        memcpy(data, message, sizeof(data));
        if (w_status(S_ENC, EncryptMessage(&h.client, 0, &d, 0), SEC_E_OK, "EncryptMessage after the refusals"))
                w_status(S_ENC, DecryptMessage(&h.server, &d, 0, &qop), SEC_E_OK, "DecryptMessage after the refusals");
out:
        t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

int main(void) {
        no_signing();
        with_server(false);
        with_server(true);
        return t_done();
}
