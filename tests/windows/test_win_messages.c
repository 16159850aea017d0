/* SPDX-License-Identifier: MIT */
/*
 * Message calls as Windows answers them, for every package with message
 * support (Kerberos, Negotiate choosing Kerberos, Negotiate choosing NTLM,
 * NTLM), both directions:
 *  - the GSSAPI-interop layout: DecryptMessage / VerifySignature with one
 *    SECBUFFER_STREAM (token + data) and one empty SECBUFFER_DATA, which
 *    Windows decrypts in place and points into the stream;
 *  - a tampered stream: SEC_E_MESSAGE_ALTERED, and the genuine message
 *    still reads afterwards (a failure consumes nothing);
 *  - MakeSignature/EncryptMessage with a STREAM (no TOKEN): refused;
 *  - read-only message memory (PROT_READ pages) is never written.
 * The handshakes run sync and async (Sspi*Async); the message calls have
 * no async form, on Windows as here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "twin.h"

#define S_INTEROP W_MSDOCS("SSPI/Kerberos Interoperability with GSSAPI")
#define S_DECRYPT_KRB W_MSDOCS("DecryptMessage (Kerberos)")
#define S_CURL W_CLIENT("curl lib/vauth/krb5_sspi.c", "Curl_auth_create_gssapi_security_message")
#define S_DOTNET W_CLIENT(".NET System.Net.Security NegotiateStreamPal.Windows", "Decrypt")
#define S_WINE_MSV W_CLIENT("Wine dlls/msv1_0 (native behaviour noted there)", "ntlm_SpUnsealMessage")
#define S_NTLM_QOP W_WINE("ntlm.c", "test_Encrypt (qop unchanged)")
#define S_NO_WRITE W_MSDOCS("EncryptMessage (General): buffers with SECBUFFER_READONLY are not processed")
#define S_NO_TOKEN W_MSDOCS("EncryptMessage (General) / MakeSignature: SEC_E_INVALID_TOKEN, no token buffer")
#define S_KRB_KEYINFO W_CLIENT("PADL TktBridgeAP (runs on Windows): KeyInfo.EncryptAlgorithm is the krb5 enctype", "RFC4401PRF")
#define S_KLIST W_MSDOCS("klist: Windows names the etype \"AES-256-CTS-HMAC-SHA1-96\"")
#define S_NTLM_KEYINFO W_WINE("ntlm.c", "testAuth")
#define S_RO_STREAM "README: Deliberate differences from Windows (a read-only STREAM is not decrypted into)"
#define S_ENC_NOENC W_MSDOCS("EncryptMessage (Kerberos) / EncryptMessage (NTLM): SECQOP_WRAP_NO_ENCRYPT")
#define S_DEC_NOENC W_MSDOCS("DecryptMessage (Kerberos) / DecryptMessage (NTLM): pfQOP SECQOP_WRAP_NO_ENCRYPT")
#define S_RETRY W_WINE("ntlm.c", "testSignSeal: SEC_E_MESSAGE_ALTERED, then SEC_E_OK on the same context")

#define ISC_FLAGS                                                                                   \
        (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | \
         ISC_REQ_SEQUENCE_DETECT)
#define ASC_FLAGS (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT)

typedef struct Pkg {
        const char *name;  /* for messages */
        const char *pkg;   /* package of both credentials */
        const char *target;
        bool ntlm;         /* the package doing the work is NTLM */
} Pkg;

static const Pkg pkgs[] = {
        { "Kerberos", "Kerberos", "HTTP/localhost", false },
        { "Negotiate(Kerberos)", "Negotiate", "HTTP/localhost", false },
        { "Negotiate(NTLM)", "Negotiate", "HTTP/nowhere.invalid", true },
        { "NTLM", "NTLM", "HTTP/localhost", true },
};

static SECURITY_STATUS creds(const Pkg *p, CredHandle *cc, CredHandle *sc) {
        TimeStamp ts;
        SECURITY_STATUS st;

        if (!strcmp(p->pkg, "Kerberos"))
                st = t_cred_password("alice", "alice-pw-1", cc);
        else
                st = t_cred_identity(p->pkg, "alice", !strcmp(p->pkg, "NTLM") ? "SSPID" : t_realm(), "alice-pw-1",
                                     cc);
        if (st != SEC_E_OK)
                return st;
        if (!strcmp(p->pkg, "Kerberos"))
                st = t_cred_service("HTTP/localhost", sc);
        else
                st = AcquireCredentialsHandleA(NULL, (char *) p->pkg, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                               sc, &ts);
        if (st != SEC_E_OK)
                FreeCredentialsHandle(cc);
        return st;
}

static const char msg[] = "interop: token, data and padding back to back";

/* EncryptMessage (or MakeSignature) in the TOKEN + DATA [+ PADDING]
 * layout, and the wire form real clients send: the buffers back to back. */
static bool wrap_qop(CtxtHandle *from, bool seal, ULONG qop, const char *what, uint8_t *out, size_t *out_len) {
        SecPkgContext_Sizes sz;
        uint8_t tok[512], data[sizeof(msg)], pad[64];
        SecBuffer b[3];
        SecBufferDesc d = { SECBUFFER_VERSION, 3, b };
        SECURITY_STATUS st;

        if (QueryContextAttributesA(from, SECPKG_ATTR_SIZES, &sz) != SEC_E_OK)
                return false;
        memcpy(data, msg, sizeof(msg) - 1);
        b[0] = (SecBuffer) { seal ? sz.cbSecurityTrailer : sz.cbMaxSignature, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(msg) - 1, SECBUFFER_DATA, data };
        b[2] = (SecBuffer) { sz.cbBlockSize, SECBUFFER_PADDING, pad };
        if (!seal)
                d.cBuffers = 2;
        st = seal ? EncryptMessage(from, qop, &d, 0) : MakeSignature(from, 0, &d, 0);
        if (!t_status(st, SEC_E_OK, "%s: %s", what, seal ? "EncryptMessage" : "MakeSignature"))
                return false;
        *out_len = 0;
        for (ULONG i = 0; i < d.cBuffers; i++) {
                memcpy(out + *out_len, b[i].pvBuffer, b[i].cbBuffer);
                *out_len += b[i].cbBuffer;
        }
        return true;
}

static bool wrap(CtxtHandle *from, bool seal, const char *what, uint8_t *out, size_t *out_len) {
        return wrap_qop(from, seal, 0, what, out, out_len);
}

/* DecryptMessage / VerifySignature of `wire` through STREAM + DATA. */
static SECURITY_STATUS unwrap_stream(CtxtHandle *to, bool seal, uint8_t *stream, size_t len, SecBuffer b[2],
                                     ULONG *qop) {
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

        b[0] = (SecBuffer) { (ULONG) len, SECBUFFER_STREAM, stream };
        b[1] = (SecBuffer) { 0, SECBUFFER_DATA, NULL };
        return seal ? DecryptMessage(to, &d, 0, qop) : VerifySignature(to, &d, 0, qop);
}

static void stream_checks(const Pkg *p, CtxtHandle *from, CtxtHandle *to, const char *dir) {
        uint8_t wire[1024], copy[1024];
        size_t len;
        char what[128];

        for (int seal = 1; seal >= 0; seal--) {
                const char *call = seal ? "DecryptMessage" : "VerifySignature";
                SecBuffer b[2];
                ULONG qop = 0xdeadbeef;
                SECURITY_STATUS st;

                snprintf(what, sizeof(what), "%s %s %s", p->name, dir, call);
                if (!wrap(from, seal, what, wire, &len))
                        continue;
                memcpy(copy, wire, len);
                st = unwrap_stream(to, seal, wire, len, b, &qop);
                if (!w_status(S_INTEROP, st, SEC_E_OK, "%s: STREAM + empty DATA", what))
                        continue;
                w_eq(S_INTEROP, b[0].BufferType, SECBUFFER_STREAM, "%s: buffer 0 stays SECBUFFER_STREAM", what);
                w_eq(S_INTEROP, b[1].BufferType, SECBUFFER_DATA, "%s: buffer 1 stays SECBUFFER_DATA", what);
                w_eq(S_CURL, b[1].cbBuffer, sizeof(msg) - 1, "%s: DATA cbBuffer is the message length", what);
                w_ok(S_DOTNET,
                     (uint8_t *) b[1].pvBuffer >= wire && (uint8_t *) b[1].pvBuffer + b[1].cbBuffer <= wire + len,
                     "%s: DATA pvBuffer lies inside the caller's stream buffer", what);
                w_ok(S_DECRYPT_KRB, b[1].pvBuffer && !memcmp(b[1].pvBuffer, msg, sizeof(msg) - 1),
                     "%s: DATA holds the plaintext", what);
                if (p->ntlm) {
                        w_ok(S_WINE_MSV, (uint8_t *) b[1].pvBuffer == wire + 16,
                             "%s: NTLM: DATA is the stream after the 16-byte signature", what);
                        w_eq(S_NTLM_QOP, qop, 0xdeadbeef, "%s: NTLM leaves *pfQOP alone", what);
                } else
                        w_eq(S_DECRYPT_KRB, qop, 0, "%s: *pfQOP 0 (the message was encrypted or signed)", what);

                /* A tampered stream, then the genuine message: Windows'
                 * message order is kept for a message that failed. */
                snprintf(what, sizeof(what), "%s %s %s", p->name, dir, call);
                if (!wrap(from, seal, what, wire, &len))
                        continue;
                memcpy(copy, wire, len);
                wire[len - 2] ^= 0x01;
                w_status(S_INTEROP, unwrap_stream(to, seal, wire, len, b, &qop), SEC_E_MESSAGE_ALTERED,
                         "%s: tampered stream", what);
                w_eq(S_INTEROP, b[1].cbBuffer, 0, "%s: tampered: DATA untouched (cbBuffer 0)", what);
                w_ok(S_INTEROP, b[1].pvBuffer == NULL, "%s: tampered: DATA untouched (pvBuffer NULL)", what);
                memcpy(wire, copy, len);
                w_status(S_RETRY, unwrap_stream(to, seal, wire, len, b, &qop), SEC_E_OK,
                         "%s: the genuine message after a tampered copy (not SEC_E_OUT_OF_SEQUENCE)", what);

                /* A stream cut short fails, and consumes nothing either. */
                if (!wrap(from, seal, what, wire, &len))
                        continue;
                memcpy(copy, wire, len);
                st = unwrap_stream(to, seal, wire, 10, b, &qop);
                w_ok(S_INTEROP, st < 0, "%s: a 10-byte stream fails (%s)", what, status_name(st));
                memcpy(wire, copy, len);
                w_status(S_RETRY, unwrap_stream(to, seal, wire, len, b, &qop), SEC_E_OK,
                         "%s: the genuine message after a short one", what);
        }
}

/* MakeSignature / EncryptMessage have no STREAM form: without a TOKEN
 * buffer they refuse, and nothing is spent (the next message reads). */
static void no_stream_out(const Pkg *p, CtxtHandle *from, CtxtHandle *to) {
        uint8_t buf[256], data[16] = "abcdefghijklmnop";
        SecBuffer b[2] = { { sizeof(buf), SECBUFFER_STREAM, buf }, { sizeof(data), SECBUFFER_DATA, data } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        uint8_t wire[1024];
        size_t len;
        SecBuffer r[2];
        ULONG qop;

        w_status(S_NO_TOKEN, MakeSignature(from, 0, &d, 0), SEC_E_INVALID_TOKEN, "%s: MakeSignature(STREAM + DATA)",
                 p->name);
        w_status(S_NO_TOKEN, EncryptMessage(from, 0, &d, 0), SEC_E_INVALID_TOKEN,
                 "%s: EncryptMessage(STREAM + DATA)", p->name);
        if (wrap(from, true, p->name, wire, &len))
                w_status(S_RETRY, unwrap_stream(to, true, wire, len, r, &qop), SEC_E_OK,
                         "%s: the refused calls spent no sequence number", p->name);
}

/* ---- read-only memory -------------------------------------------------- */

static void *ro_page(const void *content, size_t len) {
        long ps = sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, (size_t) ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return NULL;
        memcpy(p, content, len);
        if (mprotect(p, (size_t) ps, PROT_READ) != 0) {
                munmap(p, (size_t) ps);
                return NULL;
        }
        return p;
}

static void ro_free(void *p) {
        if (p)
                munmap(p, (size_t) sysconf(_SC_PAGESIZE));
}

/* Every call with its message in PROT_READ pages where the call must not
 * write: a write would kill this process (the check then never prints). */
static void readonly_checks(const Pkg *p, CtxtHandle *from, CtxtHandle *to) {
        static const char hdr[] = "read-only header", body[] = "read-only body";
        SecPkgContext_Sizes sz;
        uint8_t tok[512], data[64], stream[1024];
        void *ro_data = ro_page(body, sizeof(body) - 1), *ro_hdr = ro_page(hdr, sizeof(hdr) - 1), *ro_tok = NULL,
             *ro_stream = NULL;
        SecBuffer b[3];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop;
        size_t len;

        t_ok(ro_data && ro_hdr, "%s: PROT_READ pages", p->name);
        if (!ro_data || !ro_hdr || QueryContextAttributesA(from, SECPKG_ATTR_SIZES, &sz) != SEC_E_OK)
                goto out;

        /* MakeSignature: the DATA is only read. */
        b[0] = (SecBuffer) { sz.cbMaxSignature, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(body) - 1, SECBUFFER_DATA, ro_data };
        if (w_status(S_NO_WRITE, MakeSignature(from, 0, &d, 0), SEC_E_OK,
                     "%s: MakeSignature with its DATA in a PROT_READ page", p->name)) {
                /* VerifySignature: token and data both read-only. */
                ro_tok = ro_page(tok, b[0].cbBuffer);
                b[0].pvBuffer = ro_tok;
                w_status(S_NO_WRITE, VerifySignature(to, &d, 0, &qop), SEC_E_OK,
                         "%s: VerifySignature with TOKEN and DATA in PROT_READ pages", p->name);
        }

        /* EncryptMessage / DecryptMessage: a SECBUFFER_READONLY_WITH_CHECKSUM
         * header in read-only memory is signed, never written. */
        memcpy(data, body, sizeof(body) - 1);
        b[0] = (SecBuffer) { sizeof(hdr) - 1, SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, ro_hdr };
        b[1] = (SecBuffer) { sizeof(body) - 1, SECBUFFER_DATA, data };
        b[2] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
        d.cBuffers = 3;
        if (w_status(S_NO_WRITE, EncryptMessage(from, 0, &d, 0), SEC_E_OK,
                     "%s: EncryptMessage with a READONLY_WITH_CHECKSUM header in a PROT_READ page", p->name)) {
                w_status(S_NO_WRITE, DecryptMessage(to, &d, 0, &qop), SEC_E_OK,
                         "%s: DecryptMessage with that header still in its PROT_READ page", p->name);
                w_ok(S_NO_WRITE, !memcmp(data, body, sizeof(body) - 1), "%s: the body decrypts", p->name);
        }

        /* EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) signs and leaves the data
         * clear: a plain DATA buffer in read-only memory is not written,
         * by the sender nor by the receiver's DecryptMessage. */
        b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
        b[1] = (SecBuffer) { sizeof(body) - 1, SECBUFFER_DATA, ro_data };
        b[2] = (SecBuffer) { 0, SECBUFFER_PADDING, NULL };
        d.cBuffers = 3;
        qop = 0xdeadbeef;
        if (w_status(S_ENC_NOENC, EncryptMessage(from, SECQOP_WRAP_NO_ENCRYPT, &d, 0), SEC_E_OK,
                     "%s: EncryptMessage(SECQOP_WRAP_NO_ENCRYPT) of a DATA buffer in a PROT_READ page", p->name)) {
                w_status(S_DEC_NOENC, DecryptMessage(to, &d, 0, &qop), SEC_E_OK,
                         "%s: DecryptMessage of it, still in its PROT_READ page", p->name);
                w_eq(S_DEC_NOENC, qop, SECQOP_WRAP_NO_ENCRYPT, "%s: *pfQOP SECQOP_WRAP_NO_ENCRYPT", p->name);
        }

        /* VerifySignature through a STREAM in read-only memory: only the
         * DATA SecBuffer (the caller's descriptor) changes. */
        if (wrap(from, false, p->name, stream, &len)) {
                SecBuffer r[2];
                ro_stream = ro_page(stream, len);
                if (ro_stream &&
                    w_status(S_NO_WRITE, unwrap_stream(to, false, ro_stream, len, r, &qop), SEC_E_OK,
                             "%s: VerifySignature with the STREAM in a PROT_READ page", p->name))
                        w_ok(S_DOTNET, (uint8_t *) r[1].pvBuffer >= (uint8_t *) ro_stream &&
                                               (uint8_t *) r[1].pvBuffer + r[1].cbBuffer <= (uint8_t *) ro_stream + len,
                             "%s: read-only STREAM: DATA points into it", p->name);
        }
out:
        ro_free(ro_data);
        ro_free(ro_hdr);
        ro_free(ro_tok);
        ro_free(ro_stream);
}

/* SECPKG_ATTR_KEY_INFO; Negotiate answers for the package it chose. */
static void key_info(const Pkg *p, CtxtHandle *ctx, const char *who) {
        SecPkgContext_KeyInfoA k;

        if (!w_status(p->ntlm ? S_NTLM_KEYINFO : S_KRB_KEYINFO, QueryContextAttributesA(ctx, SECPKG_ATTR_KEY_INFO, &k),
                      SEC_E_OK, "%s %s: KEY_INFO", p->name, who))
                return;
        if (p->ntlm) {
                w_ok(S_NTLM_KEYINFO, !strcmp((char *) k.sSignatureAlgorithmName, "HMAC-MD5"),
                     "%s %s: KEY_INFO signature \"HMAC-MD5\"", p->name, who);
                w_ok(S_NTLM_KEYINFO, !strcmp((char *) k.sEncryptAlgorithmName, "RSADSI RC4"),
                     "%s %s: KEY_INFO encryption \"RSADSI RC4\"", p->name, who);
                w_eq(S_NTLM_KEYINFO, k.KeySize, 128, "%s %s: KEY_INFO KeySize", p->name, who);
                w_eq(S_NTLM_KEYINFO, k.SignatureAlgorithm, 0xffffff76, "%s %s: KEY_INFO SignatureAlgorithm", p->name, who);
                w_eq(S_NTLM_KEYINFO, k.EncryptAlgorithm, 0x6801, "%s %s: KEY_INFO EncryptAlgorithm CALG_RC4", p->name,
                     who);
        } else {
                /* The test realm's keys are aes256-cts-hmac-sha1-96. */
                w_eq(S_KRB_KEYINFO, k.EncryptAlgorithm, 18, "%s %s: KEY_INFO EncryptAlgorithm (etype 18)", p->name, who);
                w_eq(S_KRB_KEYINFO, k.KeySize, 256, "%s %s: KEY_INFO KeySize", p->name, who);
                w_ok(S_KLIST, !strcmp((char *) k.sEncryptAlgorithmName, "AES-256-CTS-HMAC-SHA1-96"),
                     "%s %s: KEY_INFO encryption \"AES-256-CTS-HMAC-SHA1-96\"", p->name, who);
                w_ok(S_KRB_KEYINFO, k.sSignatureAlgorithmName && *(char *) k.sSignatureAlgorithmName,
                     "%s %s: KEY_INFO names a signature algorithm", p->name, who);
        }
        w_status(S_NTLM_KEYINFO, FreeContextBuffer(k.sSignatureAlgorithmName), SEC_E_OK,
                 "%s %s: FreeContextBuffer(sSignatureAlgorithmName)", p->name, who);
        w_status(S_NTLM_KEYINFO, FreeContextBuffer(k.sEncryptAlgorithmName), SEC_E_OK,
                 "%s %s: FreeContextBuffer(sEncryptAlgorithmName)", p->name, who);
}

/* A DATA buffer with memory of its own is still pointed into the stream;
 * a read-only STREAM is not decrypted into (and nothing is spent). */
static void stream_variants(const Pkg *p, CtxtHandle *from, CtxtHandle *to) {
        uint8_t wire[1024], own[256];
        size_t len;
        SecBuffer b[2];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop;

        /* A sign-only wrap (SECQOP_WRAP_NO_ENCRYPT) read through the stream. */
        if (wrap_qop(from, true, SECQOP_WRAP_NO_ENCRYPT, p->name, wire, &len)) {
                qop = 0xdeadbeef;
                if (w_status(S_DEC_NOENC, unwrap_stream(to, true, wire, len, b, &qop), SEC_E_OK,
                             "%s: STREAM DecryptMessage of a SECQOP_WRAP_NO_ENCRYPT message", p->name)) {
                        w_eq(S_DEC_NOENC, qop, SECQOP_WRAP_NO_ENCRYPT, "%s: sign-only stream: *pfQOP", p->name);
                        w_eq(S_CURL, b[1].cbBuffer, sizeof(msg) - 1, "%s: sign-only stream: DATA cbBuffer", p->name);
                        w_ok(S_DOTNET,
                             (uint8_t *) b[1].pvBuffer >= wire && (uint8_t *) b[1].pvBuffer + b[1].cbBuffer <= wire + len &&
                                     !memcmp(b[1].pvBuffer, msg, sizeof(msg) - 1),
                             "%s: sign-only stream: DATA is the message, inside the stream", p->name);
                }
        }
        if (!wrap(from, true, p->name, wire, &len))
                return;
        b[0] = (SecBuffer) { (ULONG) len, SECBUFFER_STREAM | SECBUFFER_READONLY, wire };
        b[1] = (SecBuffer) { 0, SECBUFFER_DATA, NULL };
        w_status(S_RO_STREAM, DecryptMessage(to, &d, 0, &qop), SEC_E_INVALID_TOKEN,
                 "%s: DecryptMessage into a SECBUFFER_READONLY stream", p->name);
        memset(own, 0x5a, sizeof(own));
        b[0] = (SecBuffer) { (ULONG) len, SECBUFFER_STREAM, wire };
        b[1] = (SecBuffer) { sizeof(own), SECBUFFER_DATA, own };
        if (w_status(S_WINE_MSV, DecryptMessage(to, &d, 0, &qop), SEC_E_OK,
                     "%s: STREAM + a DATA buffer with memory of its own (after the refused read-only one)", p->name)) {
                w_ok(S_WINE_MSV, (uint8_t *) b[1].pvBuffer >= wire && (uint8_t *) b[1].pvBuffer < wire + len,
                     "%s: DATA still points into the stream", p->name);
                w_eq(S_WINE_MSV, b[1].cbBuffer, sizeof(msg) - 1, "%s: DATA cbBuffer is the message length", p->name);
                w_ok(S_WINE_MSV, own[0] == 0x5a && own[sizeof(own) - 1] == 0x5a, "%s: the DATA memory is not written",
                     p->name);
        }
}

static void run_pkg(const Pkg *p, bool async) {
        CredHandle cc = { 0 }, sc = { 0 };
        THandshake h;
        SECURITY_STATUS st;
        char what[96];

        snprintf(what, sizeof(what), "%s%s", p->name, async ? " (Sspi*Async handshake)" : "");
        if (!t_status(creds(p, &cc, &sc), SEC_E_OK, "%s: credentials", what))
                return;
        if (async)
                st = t_handshake_async(NULL, NULL, &cc, &sc, p->target, ISC_FLAGS, ASC_FLAGS, &h);
        else
                st = t_handshake(&cc, &sc, p->target, ISC_FLAGS, ASC_FLAGS, &h);
        if (t_status(st, SEC_E_OK, "%s: handshake", what)) {
                Pkg q = *p;
                q.name = what;
                stream_checks(&q, &h.client, &h.server, "client->server");
                stream_checks(&q, &h.server, &h.client, "server->client");
                key_info(&q, &h.client, "client");
                key_info(&q, &h.server, "server");
                stream_variants(&q, &h.client, &h.server);
                if (!async) {
                        no_stream_out(&q, &h.client, &h.server);
                        readonly_checks(&q, &h.client, &h.server);
                        readonly_checks(&q, &h.server, &h.client);
                }
        }
        t_handshake_done(&h);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

int main(void) {
        for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++) {
                run_pkg(&pkgs[i], false);
                run_pkg(&pkgs[i], true);
        }
        return t_done();
}
