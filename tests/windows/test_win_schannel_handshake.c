/* SPDX-License-Identifier: MIT */
/*
 * Windows' Schannel handshake and credentials, as Wine's
 * dlls/secur32/tests/schannel.c finds them on real Windows: the output
 * descriptor's checks, malformed records from the peer, the flags of a
 * finished handshake, AcquireCredentialsHandle's argument order and
 * QueryCredentialsAttributes. Every step runs through the sync calls and
 * again through the Sspi*Async ones.
 *
 * Wine's client talks TLS 1.0 or 1.2 to test.winehq.org; here the peer is
 * our own AcceptSecurityContext with the test PKI's server-rsa, and the
 * client speaks TLS 1.2 (the checks are about buffers and statuses, not
 * the protocol version).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "tdaemon.h"
#include "testcert.h"
#include "twin.h"

#define SCH_C(fn) W_WINE("schannel.c", fn)
#define DIFF "README: Deliberate differences from Windows"
#define BUF_SIZE 8192u

static char pki[512];

/* ---- the calls, sync or async ---- */

static SECURITY_STATUS isc(CredHandle *cred, CtxtHandle *ctx, ULONG flags, SecBufferDesc *in, CtxtHandle *newctx,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_isc(cred, ctx, "localhost", flags, 0, in, newctx, out, attrs);
}

static SECURITY_STATUS asc(CredHandle *cred, CtxtHandle *ctx, SecBufferDesc *in, ULONG flags, CtxtHandle *newctx,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_asc(cred, ctx, in, flags, 0, newctx, out, attrs);
}

static SECURITY_STATUS ach(const char *pkg, ULONG use, void *auth, CredHandle *ret) {
        return w_acquire(pkg, use, auth, ret);
}

static void cred_init(SCHANNEL_CRED *c, DWORD protocols, DWORD flags) {
        memset(c, 0, sizeof(*c));
        c->dwVersion = SCHANNEL_CRED_VERSION;
        c->grbitEnabledProtocols = protocols;
        c->dwFlags = flags;
}

/* Wine's client credential: no default certificate, the server's
 * certificate judged by the caller. */
static SECURITY_STATUS client_cred(CredHandle *ret) {
        SCHANNEL_CRED c;

        cred_init(&c, SP_PROT_TLS1_2_CLIENT, SCH_CRED_NO_DEFAULT_CREDS | SCH_CRED_MANUAL_CRED_VALIDATION);
        return ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, ret);
}

static SECURITY_STATUS server_cred(const char *name, CredHandle *ret) {
        SCHANNEL_CRED c;
        Cert cert;
        PCCERT_CONTEXT pc = &cert.cc;

        if (!t_load_cert(pki, name, &cert))
                return SEC_E_INTERNAL_ERROR;
        cred_init(&c, 0, 0);
        c.cCreds = 1;
        c.paCred = &pc;
        return ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, ret);
}

/* Wine's init_buffers(): `count` zeroed SecBuffers (type 0 is
 * SECBUFFER_EMPTY), the first with `size` bytes of memory. */
typedef struct Desc {
        SecBufferDesc d;
        SecBuffer b[4];
        uint8_t *mem;
} Desc;

static void desc_init(Desc *x, unsigned count, unsigned size) {
        memset(x, 0, sizeof(*x));
        x->d.ulVersion = SECBUFFER_VERSION;
        x->d.cBuffers = count;
        x->d.pBuffers = x->b;
        x->mem = malloc(size);
        x->b[0].cbBuffer = size;
        x->b[0].pvBuffer = x->mem;
}

static void desc_free(Desc *x) {
        free(x->mem);
}

/* ---- output descriptor ---- */

/* Wine's test_context_output_buffer_size: a zero-size TOKEN or ALERT slot is
 * SEC_E_INSUFFICIENT_MEMORY unless the package is to allocate; with
 * ISC_REQ_ALLOCATE_MEMORY every slot is allocated (pvBuffer replaced); an
 * ALERT slot that carried nothing comes back with cbBuffer 0. */
static void test_output_buffer_size(void) {
        const char *src = SCH_C("test_context_output_buffer_size");
        const ULONG req = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM;
        SecBuffer inb = { 0, SECBUFFER_EMPTY, NULL };
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &inb };
        CredHandle cred;
        CtxtHandle ctx;
        Desc out;
        uint8_t *buf, *buf2 = malloc(BUF_SIZE);
        ULONG attrs;
        SECURITY_STATUS st;

        if (!w_status(src, client_cred(&cred), SEC_E_OK, "%s: client credential", w_mode())) {
                free(buf2);
                return;
        }
        desc_init(&out, 4, BUF_SIZE);
        buf = out.mem;
        out.b[0].BufferType = SECBUFFER_TOKEN;
        out.b[1].pvBuffer = buf2;
        for (int i = 0; i < 2; i++) {
                SecBuffer *slot = i ? &out.b[1] : &out.b[0];
                const char *what = i ? "ALERT" : "TOKEN";

                out.b[0].cbBuffer = BUF_SIZE;
                out.b[0].pvBuffer = buf;
                if (i)
                        out.b[1].BufferType = SECBUFFER_ALERT;
                slot->cbBuffer = 0;
                w_status(src, isc(&cred, NULL, req, &in, &ctx, &out.d, &attrs), SEC_E_INSUFFICIENT_MEMORY,
                         "%s: zero-size %s slot without ISC_REQ_ALLOCATE_MEMORY", w_mode(), what);

                if (i) {
                        out.b[0].cbBuffer = BUF_SIZE;
                        out.b[0].pvBuffer = (void *) (uintptr_t) 0xdeadbeef;
                }
                slot->cbBuffer = 0;
                slot->pvBuffer = NULL;
                st = isc(&cred, NULL, req | ISC_REQ_ALLOCATE_MEMORY, &in, &ctx, &out.d, &attrs);
                w_status(src, st, SEC_I_CONTINUE_NEEDED, "%s: zero-size %s slot with ISC_REQ_ALLOCATE_MEMORY", w_mode(),
                         what);
                w_ok(src, out.b[0].pvBuffer != (void *) (uintptr_t) 0xdeadbeef && out.b[0].pvBuffer != NULL,
                     "%s: ISC_REQ_ALLOCATE_MEMORY: the token is in memory the package allocated (%s case)", w_mode(),
                     what);
                if (st == SEC_I_CONTINUE_NEEDED) {
                        if (i)
                                FreeContextBuffer(out.b[1].pvBuffer);
                        FreeContextBuffer(out.b[0].pvBuffer);
                        DeleteSecurityContext(&ctx);
                }

                out.b[0].cbBuffer = BUF_SIZE;
                out.b[0].pvBuffer = buf;
                slot->cbBuffer = BUF_SIZE;
                slot->pvBuffer = i ? buf2 : buf;
                st = isc(&cred, NULL, req, &in, &ctx, &out.d, &attrs);
                w_status(src, st, SEC_I_CONTINUE_NEEDED, "%s: %s slot with room", w_mode(), what);
                if (i)
                        w_eq(src, out.b[1].cbBuffer, 0, "%s: the unused ALERT slot comes back empty", w_mode());
                if (st >= 0)
                        DeleteSecurityContext(&ctx);
        }
        desc_free(&out);
        free(buf2);
        FreeCredentialsHandle(&cred);
}

/* Wine's test_InitializeSecurityContext (ISC_REQ_ALLOCATE_MEMORY, a TOKEN
 * slot {1000, NULL}) and test_connection_shutdown (the same slot without
 * the flag): both are allocated; the caller frees them with
 * FreeContextBuffer. */
static void test_token_without_memory(void) {
        CredHandle cred;
        CtxtHandle ctx;
        ULONG attrs;

        if (client_cred(&cred) != SEC_E_OK)
                return;
        for (int i = 0; i < 2; i++) {
                const char *src = i ? SCH_C("test_connection_shutdown") : SCH_C("test_InitializeSecurityContext");
                ULONG req = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM | (i ? 0 : ISC_REQ_ALLOCATE_MEMORY);
                SecBuffer ob = { 1000, SECBUFFER_TOKEN, NULL };
                SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
                SecBuffer ib = { 0, SECBUFFER_EMPTY, NULL };
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib };
                SECURITY_STATUS st = isc(&cred, NULL, req, &in, &ctx, &out, &attrs);

                w_status(src, st, SEC_I_CONTINUE_NEEDED, "%s: TOKEN {1000, NULL}%s", w_mode(),
                         i ? " without ISC_REQ_ALLOCATE_MEMORY" : " with ISC_REQ_ALLOCATE_MEMORY");
                w_ok(src, ob.pvBuffer != NULL, "%s: the first-leg token is allocated (%s)", w_mode(),
                     i ? "without the flag" : "with the flag");
                if (ob.pvBuffer) {
                        w_ok(W_RFC("RFC 5246 6.2.1"), ob.cbBuffer > 5 && ((uint8_t *) ob.pvBuffer)[0] == 22,
                             "%s: it holds a handshake record (%u bytes)", w_mode(), (unsigned) ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                }
                if (st >= 0)
                        DeleteSecurityContext(&ctx);
        }
        FreeCredentialsHandle(&cred);
}

/* ---- the handshake against our server ---- */

typedef struct Server {
        CredHandle cred;
        CtxtHandle ctx;
        bool have_ctx;
        SECURITY_STATUS st;
} Server;

/* The server's step on `data`; its reply lands in `reply` (reply_len bytes). */
static SECURITY_STATUS server_step(Server *s, const uint8_t *data, size_t len, uint8_t *reply, size_t *reply_len) {
        SecBuffer ib[2] = { { (ULONG) len, SECBUFFER_TOKEN, (void *) data }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob[1] = { { 0, SECBUFFER_TOKEN, NULL } };
        SecBufferDesc in = { SECBUFFER_VERSION, 2, ib }, out = { SECBUFFER_VERSION, 1, ob };
        ULONG attrs;

        s->st = asc(&s->cred, s->have_ctx ? &s->ctx : NULL, &in,
                    ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY, &s->ctx, &out, &attrs);
        if (s->st >= 0)
                s->have_ctx = true;
        *reply_len = 0;
        if (ob[0].pvBuffer && ob[0].cbBuffer <= 65536) {
                memcpy(reply, ob[0].pvBuffer, ob[0].cbBuffer);
                *reply_len = ob[0].cbBuffer;
        }
        FreeContextBuffer(ob[0].pvBuffer);
        return s->st;
}

/* Wine's test_communication, its handshake part, against our server. */
static void test_communication(void) {
        const char *src = SCH_C("test_communication");
        const ULONG req = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM;
        CredHandle cred;
        CtxtHandle ctx, ctx2, bad;
        Server srv = { 0 };
        Desc out, in;
        static uint8_t reply[65536];
        size_t reply_len = 0;
        ULONG attrs = 0;
        SECURITY_STATUS st;
        SecPkgCredentials_NamesA names;

        if (!w_status(src, client_cred(&cred), SEC_E_OK, "%s: client credential", w_mode()))
                return;
        if (!w_status(src, server_cred("server-rsa", &srv.cred), SEC_E_OK, "%s: server credential", w_mode())) {
                FreeCredentialsHandle(&cred);
                return;
        }
        desc_init(&out, 4, BUF_SIZE);
        desc_init(&in, 4, BUF_SIZE);
        out.b[0].BufferType = SECBUFFER_TOKEN;

        st = isc(&cred, NULL, req, NULL, &bad, &out.d, &attrs);
        w_status(src, st, SEC_I_CONTINUE_NEEDED, "%s: first leg", w_mode());

        /* Bytes that cannot be TLS: SEC_E_INVALID_TOKEN at once, output
         * cbBuffer 0. */
        in.d.cBuffers = 1;
        in.b[0].BufferType = SECBUFFER_TOKEN;
        for (int fill = 0; fill < 2; fill++) {
                out.b[0].cbBuffer = 1;
                memset(in.mem, fill ? 0 : 0xfa, BUF_SIZE);
                w_status(src, isc(&cred, &bad, req, &in.d, NULL, &out.d, &attrs), SEC_E_INVALID_TOKEN,
                         "%s: 8 KiB of %s from the server", w_mode(), fill ? "zeros" : "0xfa");
                w_eq(src, out.b[0].cbBuffer, 0, "%s: output cbBuffer set to 0 (%s)", w_mode(), fill ? "zeros" : "0xfa");
        }
        out.b[0].cbBuffer = 0;
        st = isc(&cred, &bad, req, &in.d, NULL, &out.d, &attrs);
        w_ok(src, st == SEC_E_INSUFFICIENT_MEMORY || st == SEC_E_INVALID_TOKEN,
             "%s: zeros into a zero-size output: SEC_E_INSUFFICIENT_MEMORY or SEC_E_INVALID_TOKEN (got 0x%08x)", w_mode(),
             (unsigned) st);
        w_eq(src, out.b[0].cbBuffer, 0, "%s: output cbBuffer still 0", w_mode());
        w_status(W_MSDOCS("DeleteSecurityContext function"), DeleteSecurityContext(&bad), SEC_E_OK,
                 "%s: the context that saw the malformed records is still the caller's to delete", w_mode());

        w_status(src, isc(&cred, NULL, req, NULL, &ctx, NULL, &attrs), SEC_E_INVALID_TOKEN,
                 "%s: first leg with pOutput NULL", w_mode());

        out.b[0].cbBuffer = BUF_SIZE;
        st = isc(&cred, NULL, req, NULL, &ctx, &out.d, &attrs);
        if (!w_status(src, st, SEC_I_CONTINUE_NEEDED, "%s: first leg again", w_mode()))
                goto done;
        server_step(&srv, out.mem, out.b[0].cbBuffer, reply, &reply_len);
        out.b[0].cbBuffer = BUF_SIZE;

        /* No input yet: SEC_E_INCOMPLETE_MESSAGE, nothing written. */
        ctx2.dwLower = ctx2.dwUpper = 0xdeadbeef;
        w_status(src, isc(&cred, &ctx, req, NULL, &ctx2, &out.d, &attrs), SEC_E_INCOMPLETE_MESSAGE,
                 "%s: later leg with pInput NULL", w_mode());
        w_eq(src, out.b[0].cbBuffer, BUF_SIZE, "%s: output size unchanged", w_mode());
        w_eq(src, out.b[0].BufferType, SECBUFFER_TOKEN, "%s: output type unchanged", w_mode());
        w_ok(src, ctx2.dwLower == 0xdeadbeef && ctx2.dwUpper == 0xdeadbeef, "%s: phNewContext not written", w_mode());

        memcpy(in.mem, reply, reply_len);
        in.d.cBuffers = 2;
        const struct {
                ULONG have, want_missing;
                const char *what;
        } parts[] = { { 0, 5, "0 bytes" }, { 4, 1, "4 bytes" }, { 5, 0, "5 bytes (the header)" } };
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                in.b[0].cbBuffer = parts[i].have;
                in.b[1].BufferType = SECBUFFER_EMPTY;
                in.b[1].cbBuffer = 0;
                ctx2.dwLower = ctx2.dwUpper = 0xdeadbeef;
                w_status(src, isc(&cred, &ctx, req, &in.d, &ctx2, &out.d, &attrs), SEC_E_INCOMPLETE_MESSAGE,
                         "%s: %s of the server's flight", w_mode(), parts[i].what);
                w_eq(src, out.b[0].cbBuffer, BUF_SIZE, "%s: output size unchanged (%s)", w_mode(), parts[i].what);
                w_eq(src, in.b[1].BufferType, SECBUFFER_MISSING, "%s: SECBUFFER_MISSING (%s)", w_mode(), parts[i].what);
                if (parts[i].want_missing)
                        w_eq(src, in.b[1].cbBuffer, parts[i].want_missing, "%s: bytes missing (%s)", w_mode(),
                             parts[i].what);
                else
                        w_ok(src, in.b[1].cbBuffer > 5, "%s: bytes missing > 5 (%s): %u", w_mode(), parts[i].what,
                             (unsigned) in.b[1].cbBuffer);
                w_ok(src, ctx2.dwLower == 0xdeadbeef && ctx2.dwUpper == 0xdeadbeef,
                     "%s: phNewContext not written (%s)", w_mode(), parts[i].what);
        }

        /* The rest of the handshake; every leg is first tried with a second
         * input buffer {SECBUFFER_EMPTY, 0xdeadbeef, NULL}. */
        in.d.cBuffers = 1;
        in.b[0].cbBuffer = (ULONG) reply_len;
        ctx2.dwLower = ctx2.dwUpper = 0xdeadbeef;
        st = isc(&cred, &ctx, req | ISC_REQ_USE_SUPPLIED_CREDS, &in.d, &ctx2, &out.d, &attrs);
        for (int legs = 0; st == SEC_I_CONTINUE_NEEDED && legs < 8; legs++) {
                w_ok(src, ctx2.dwLower == ctx.dwLower && ctx2.dwUpper == ctx.dwUpper,
                     "%s: phNewContext is the same context", w_mode());
                server_step(&srv, out.mem, out.b[0].cbBuffer, reply, &reply_len);
                out.b[0].cbBuffer = BUF_SIZE;
                memcpy(in.mem, reply, reply_len);
                in.b[0].cbBuffer = (ULONG) reply_len;
                in.b[0].BufferType = SECBUFFER_TOKEN;
                in.d.cBuffers = 2;
                in.b[1].BufferType = SECBUFFER_EMPTY;
                in.b[1].cbBuffer = 0xdeadbeef;
                in.b[1].pvBuffer = NULL;
                w_status(src, isc(&cred, &ctx, ISC_REQ_USE_SUPPLIED_CREDS, &in.d, NULL, &out.d, &attrs),
                         SEC_E_INVALID_TOKEN, "%s: second input buffer {SECBUFFER_EMPTY, 0xdeadbeef}", w_mode());
                in.d.cBuffers = 1;
                ctx2.dwLower = ctx2.dwUpper = 0xdeadbeef;
                st = isc(&cred, &ctx, ISC_REQ_USE_SUPPLIED_CREDS, &in.d, &ctx2, &out.d, &attrs);
        }
        w_status(src, st, SEC_E_OK, "%s: handshake done (the legs after the refused call go on)", w_mode());
        w_eq(src, out.b[0].cbBuffer, 0, "%s: output size set to 0 on the last TLS 1.2 client leg", w_mode());
        w_eq(src, attrs,
             ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT | ISC_RET_CONFIDENTIALITY | ISC_RET_STREAM |
                     ISC_RET_USED_SUPPLIED_CREDS,
             "%s: pfContextAttr 0x809c (no MANUAL_CRED_VALIDATION: the credential's flag is not echoed)", w_mode());
        w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_CRED_ATTR_NAMES, &names), SEC_E_NO_CREDENTIALS,
                 "%s: SECPKG_CRED_ATTR_NAMES of a client credential without certificate", w_mode());
        DeleteSecurityContext(&ctx);
done:
        if (srv.have_ctx)
                DeleteSecurityContext(&srv.ctx);
        desc_free(&out);
        desc_free(&in);
        FreeCredentialsHandle(&cred);
        FreeCredentialsHandle(&srv.cred);
}

/* The flags echo what this call asked (Wine's test_dtls: ISC_RET_
 * MANUAL_CRED_VALIDATION, EXTENDED_ERROR and USED_SUPPLIED_CREDS for the
 * matching requests, on the first leg already). */
static void test_request_flags(void) {
        const char *src = SCH_C("test_dtls");
        const ULONG req = ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_EXTENDED_ERROR | ISC_REQ_USE_SUPPLIED_CREDS |
                          ISC_REQ_CONFIDENTIALITY | ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT;
        SecBuffer ob = { BUF_SIZE, SECBUFFER_TOKEN, NULL };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
        CredHandle cred;
        CtxtHandle ctx;
        SCHANNEL_CRED c;
        ULONG attrs = 0;
        uint8_t *mem = malloc(BUF_SIZE);

        cred_init(&c, SP_PROT_TLS1_2_CLIENT, SCH_CRED_NO_DEFAULT_CREDS);
        if (!mem || ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred) != SEC_E_OK) {
                free(mem);
                return;
        }
        ob.pvBuffer = mem;
        if (w_status(src, isc(&cred, NULL, req, NULL, &ctx, &out, &attrs), SEC_I_CONTINUE_NEEDED,
                     "%s: first leg", w_mode())) {
                w_eq(src, attrs,
                     ISC_RET_MANUAL_CRED_VALIDATION | ISC_RET_STREAM | ISC_RET_EXTENDED_ERROR |
                             ISC_RET_USED_SUPPLIED_CREDS | ISC_RET_CONFIDENTIALITY | ISC_RET_SEQUENCE_DETECT |
                             ISC_RET_REPLAY_DETECT,
                     "%s: the requested MANUAL_CRED_VALIDATION, EXTENDED_ERROR, USED_SUPPLIED_CREDS echoed", w_mode());
                DeleteSecurityContext(&ctx);
        }
        free(mem);
        FreeCredentialsHandle(&cred);
}

/* The server side reads records alike (by analogy with the client's
 * checks in Wine's test_communication; Wine has no server-side case). */
static void test_server_garbage(void) {
        const char *src = SCH_C("test_communication (client side; the server reads records alike)");
        Server srv = { 0 };
        static uint8_t junk[BUF_SIZE], reply[64];
        SecBuffer ib[2] = { { BUF_SIZE, SECBUFFER_TOKEN, junk }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob[1] = { { sizeof(reply), SECBUFFER_TOKEN, reply } };
        SecBufferDesc in = { SECBUFFER_VERSION, 2, ib }, out = { SECBUFFER_VERSION, 1, ob };
        CtxtHandle ctx;
        ULONG attrs;

        if (server_cred("server-rsa", &srv.cred) != SEC_E_OK)
                return;
        for (int fill = 0; fill < 2; fill++) {
                memset(junk, fill ? 0 : 0xfa, sizeof(junk));
                ob[0].cbBuffer = sizeof(reply);
                w_status(src, asc(&srv.cred, NULL, &in, ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM, &ctx, &out, &attrs),
                         SEC_E_INVALID_TOKEN, "%s: ASC on 8 KiB of %s", w_mode(), fill ? "zeros" : "0xfa");
                w_eq(src, ob[0].cbBuffer, 0, "%s: ASC output cbBuffer set to 0 (%s)", w_mode(), fill ? "zeros" : "0xfa");
        }
        FreeCredentialsHandle(&srv.cred);
}


/* ---- AcquireCredentialsHandle ---- */

/* A certificate context from raw DER (a malformed one, of our own). */
typedef struct RawCert {
        CERT_CONTEXT cc;
} RawCert;

/* Wine's testAcquireSecurityContext: with phCredential NULL Windows still
 * judges the package, the use and the SCHANNEL_CRED first; the order of
 * the statuses follows. */
static void test_acquire(void) {
        const char *src = SCH_C("testAcquireSecurityContext");
        static const uint8_t junk_der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 }; /* not a certificate */
        SCHANNEL_CRED c;
        SCH_CREDENTIALS sc;
        CredHandle cred;
        Cert good, nokey;
        RawCert junk = { { .dwCertEncodingType = 1, .pbCertEncoded = (BYTE *) junk_der,
                           .cbCertEncoded = sizeof(junk_der) } };
        PCCERT_CONTEXT certs[2];
        SecPkgCred_CipherStrengths strength;
        SecPkgCredentials_NamesA names;
        SECURITY_STATUS st;

        w_status(src, ach(NULL, 0, NULL, NULL), SEC_E_SECPKG_NOT_FOUND, "%s: NULL package, NULL phCredential", w_mode());
        if (!w_async)
                w_status(src, AcquireCredentialsHandleW(NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL),
                         SEC_E_SECPKG_NOT_FOUND, "sync: AcquireCredentialsHandleW, NULL package");
        w_status(src, ach(UNISP_NAME_A, 0, NULL, NULL), SEC_E_NO_CREDENTIALS, "%s: no credential use", w_mode());
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_BOTH, NULL, NULL), SEC_E_NO_CREDENTIALS,
                 "%s: SECPKG_CRED_BOTH without SCHANNEL_CRED", w_mode());
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, NULL), SEC_E_NO_CREDENTIALS,
                 "%s: INBOUND without SCHANNEL_CRED, NULL phCredential", w_mode());
        w_status(DIFF, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, NULL), SEC_E_INVALID_PARAMETER,
                 "%s: an acceptable request with phCredential NULL (Windows crashes)", w_mode());
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &cred), SEC_E_OK,
                     "%s: OUTBOUND without SCHANNEL_CRED", w_mode())) {
                w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_CRED_ATTR_NAMES, &names), SEC_E_NO_CREDENTIALS,
                         "%s: SECPKG_CRED_ATTR_NAMES without certificate", w_mode());
                FreeCredentialsHandle(&cred);
        }
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &cred), SEC_E_NO_CREDENTIALS,
                 "%s: INBOUND without SCHANNEL_CRED", w_mode());

        /* Protocols of the other side only. */
        cred_init(&c, SP_PROT_TLS1_X_SERVER, 0);
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_ALGORITHM_MISMATCH,
                 "%s: OUTBOUND with server protocols only", w_mode());
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred), SEC_E_OK,
                     "%s: INBOUND with server protocols, no certificate", w_mode()))
                FreeCredentialsHandle(&cred);
        c.grbitEnabledProtocols = SP_PROT_TLS1_X_CLIENT;
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_OK,
                     "%s: OUTBOUND with client protocols", w_mode()))
                FreeCredentialsHandle(&cred);
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred), SEC_E_ALGORITHM_MISMATCH,
                 "%s: INBOUND with client protocols only", w_mode());

        /* Bad version, then no certificate. */
        memset(&c, 0, sizeof(c));
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, NULL), SEC_E_UNKNOWN_CREDENTIALS,
                 "%s: SCHANNEL_CRED version 0, OUTBOUND, NULL phCredential", w_mode());
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, NULL), SEC_E_UNKNOWN_CREDENTIALS,
                 "%s: SCHANNEL_CRED version 0, INBOUND, NULL phCredential", w_mode());
        c.dwVersion = SCHANNEL_CRED_VERSION;
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_OK,
                     "%s: no certificate, OUTBOUND", w_mode()))
                FreeCredentialsHandle(&cred);
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred), SEC_E_OK,
                     "%s: no certificate, INBOUND (Windows since Vista)", w_mode())) {
                uint8_t hello[5] = { 22, 3, 1, 0, 0 };
                SecBuffer ib = { sizeof(hello), SECBUFFER_TOKEN, hello }, ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle ctx;
                ULONG attrs;
                /* Not settled from the sources: the status such a server
                 * gets from AcceptSecurityContext. */
                w_status(W_MSDOCS("AcceptSecurityContext (Schannel): SEC_E_NO_CREDENTIALS"),
                         asc(&cred, NULL, &in, ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM | ASC_REQ_ALLOCATE_MEMORY,
                             &ctx, &out, &attrs),
                         SEC_E_NO_CREDENTIALS, "%s: ... its AcceptSecurityContext has no certificate to serve", w_mode());
                FreeCredentialsHandle(&cred);
        }

        /* A malformed certificate; one without a private key here. */
        certs[0] = &junk.cc;
        c.cCreds = 1;
        c.paCred = certs;
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, NULL), SEC_E_UNKNOWN_CREDENTIALS,
                 "%s: bogus certificate, OUTBOUND, NULL phCredential", w_mode());
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, NULL), SEC_E_UNKNOWN_CREDENTIALS,
                 "%s: bogus certificate, INBOUND, NULL phCredential", w_mode());
        if (!t_load_cert(pki, "ca", &nokey) || !t_load_cert(pki, "server-rsa", &good))
                return;
        certs[0] = &nokey.cc;
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_NO_CREDENTIALS,
                 "%s: certificate without private key, OUTBOUND", w_mode());
        w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, NULL), SEC_E_NO_CREDENTIALS,
                 "%s: certificate without private key, INBOUND", w_mode());

        /* A good certificate under the old structure versions. */
        certs[0] = &good.cc;
        for (DWORD v = SCH_CRED_V1; v <= SCH_CRED_V2; v++) {
                c.dwVersion = v;
                w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: SCH_CRED_V%u, OUTBOUND", w_mode(), (unsigned) v);
                w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: SCH_CRED_V%u, INBOUND", w_mode(), (unsigned) v);
        }
        c.dwVersion = SCHANNEL_CRED_VERSION;
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_OK,
                     "%s: certificate with key, OUTBOUND", w_mode()))
                FreeCredentialsHandle(&cred);
        st = ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred);
        if (w_status(src, st, SEC_E_OK, "%s: certificate with key, INBOUND", w_mode())) {
                memset(&strength, 0, sizeof(strength));
                w_status(SCH_C("test_strength"), QueryCredentialsAttributesA(&cred, SECPKG_ATTR_CIPHER_STRENGTHS,
                                                                              &strength),
                         SEC_E_OK, "%s: SECPKG_ATTR_CIPHER_STRENGTHS", w_mode());
                w_ok(SCH_C("test_strength"), strength.dwMinimumCipherStrength && strength.dwMaximumCipherStrength &&
                                                     strength.dwMinimumCipherStrength <= strength.dwMaximumCipherStrength,
                     "%s: cipher strengths set (%u..%u)", w_mode(), (unsigned) strength.dwMinimumCipherStrength,
                     (unsigned) strength.dwMaximumCipherStrength);
                FreeCredentialsHandle(&cred);
        }

        /* Two certificates, either order. */
        c.cCreds = 2;
        certs[1] = &nokey.cc;
        for (int i = 0; i < 2; i++) {
                w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: two certificates, OUTBOUND (order %d)", w_mode(), i);
                w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred), SEC_E_UNKNOWN_CREDENTIALS,
                         "%s: two certificates, INBOUND (order %d)", w_mode(), i);
                certs[0] = &nokey.cc;
                certs[1] = &good.cc;
        }

        memset(&sc, 0, sizeof(sc));
        sc.dwVersion = SCH_CREDENTIALS_VERSION;
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &sc, &cred), SEC_E_OK,
                     "%s: SCH_CREDENTIALS, all zero", w_mode()))
                FreeCredentialsHandle(&cred);
}

/* ---- QueryCredentialsAttributes ---- */

static bool known_alg_class(ALG_ID a) {
        unsigned cls = a & (7u << 13);
        return cls == (1u << 13) || cls == (3u << 13) || cls == (4u << 13) || cls == (5u << 13);
}

/* Wine's test_cread_attrs (and test_supported_protocols/_algs). */
static void test_cred_attrs(void) {
        const char *src = SCH_C("test_cread_attrs");
        const char *algs_src = W_MSDOCS("SecPkgCred_SupportedAlgs structure; ALG_ID");
        SecPkgCred_SupportedProtocols prot;
        SecPkgCred_SupportedAlgs algs;
        SCHANNEL_CRED c;
        CredHandle cred;
        bool aes128 = false, aes256 = false, classes = true;

        if (!w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &cred), SEC_E_OK, "%s: default client", w_mode()))
                return;
        w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &prot), SEC_E_OK,
                 "%s: SECPKG_ATTR_SUPPORTED_PROTOCOLS", w_mode());
        w_eq(W_MSDOCS("SecPkgCred_SupportedProtocols structure"), prot.grbitProtocol,
             SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT,
             "%s: the system's default client protocols (TLS 1.2 and 1.3 here)", w_mode());
        if (w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_ALGS, &algs), SEC_E_OK,
                     "%s: SECPKG_ATTR_SUPPORTED_ALGS", w_mode())) {
                for (DWORD i = 0; i < algs.cSupportedAlgs; i++) {
                        aes128 |= algs.palgSupportedAlgs[i] == 0x660e;
                        aes256 |= algs.palgSupportedAlgs[i] == 0x6610;
                        classes &= known_alg_class(algs.palgSupportedAlgs[i]);
                }
                w_ok(algs_src, algs.cSupportedAlgs >= 4 && algs.cSupportedAlgs <= 64, "%s: %u algorithms", w_mode(),
                     (unsigned) algs.cSupportedAlgs);
                w_ok(algs_src, aes128 && aes256, "%s: CALG_AES_128 and CALG_AES_256 among them", w_mode());
                w_ok(algs_src, classes, "%s: every one a signature, cipher, hash or key-exchange ALG_ID", w_mode());
                FreeContextBuffer(algs.palgSupportedAlgs);
        }
        w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, NULL), SEC_E_INTERNAL_ERROR,
                 "%s: SUPPORTED_PROTOCOLS into pBuffer NULL", w_mode());
        w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_ALGS, NULL), SEC_E_INTERNAL_ERROR,
                 "%s: SUPPORTED_ALGS into pBuffer NULL", w_mode());
        FreeCredentialsHandle(&cred);

        cred_init(&c, SP_PROT_TLS1_CLIENT, 0);
        if (w_status(src, ach(UNISP_NAME_A, SECPKG_CRED_OUTBOUND, &c, &cred), SEC_E_OK, "%s: TLS 1.0 client", w_mode())) {
                w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &prot), SEC_E_OK,
                         "%s: SUPPORTED_PROTOCOLS of the TLS 1.0 client", w_mode());
                w_eq(src, prot.grbitProtocol, SP_PROT_TLS1_CLIENT, "%s: the credential's own protocols", w_mode());
                if (QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_ALGS, &algs) == SEC_E_OK)
                        FreeContextBuffer(algs.palgSupportedAlgs);
                FreeCredentialsHandle(&cred);
        }
        cred_init(&c, SP_PROT_TLS1_2_SERVER, 0);
        if (ach(UNISP_NAME_A, SECPKG_CRED_INBOUND, &c, &cred) == SEC_E_OK) {
                w_status(src, QueryCredentialsAttributesA(&cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &prot), SEC_E_OK,
                         "%s: SUPPORTED_PROTOCOLS of a TLS 1.2 server", w_mode());
                w_eq(src, prot.grbitProtocol, SP_PROT_TLS1_2_SERVER, "%s: server bits for a server", w_mode());
                FreeCredentialsHandle(&cred);
        }
}

/* ---- weak keys: a deliberate difference ---- */

/*
 * Windows takes a 512-bit RSA key with a SHA-1 self-signature as a server
 * certificate, and its client completes the handshake with it (Wine's
 * schannel.c test_server_protocol_negotiation uses such a certificate).
 * sspid refuses: OpenSSL's security level 1 (at least 80-bit security,
 * RSA >= 1024 bits). The private daemon needs the certificate among its
 * [certificate]s; it runs in a child, before this process talks to any
 * daemon, and the child's checks count as one here.
 */
static int weak_key_child(const char *dir) {
        char keys[1024], cmd[1024];
        TDaemon d;
        SCHANNEL_CRED c;
        Cert cert;
        PCCERT_CONTEXT pc = &cert.cc;
        CredHandle cred;
        SECURITY_STATUS st;

        snprintf(cmd, sizeof(cmd),
                 "openssl genrsa -out %s/weak.key 512 2>/dev/null && openssl req -x509 -new -key %s/weak.key -sha1 "
                 "-subj /CN=localhost -days 30 -out %s/weak.pem 2>/dev/null",
                 dir, dir, dir);
        if (system(cmd) != 0 || !t_load_cert(dir, "weak", &cert))
                return 1;
        snprintf(keys, sizeof(keys), "[certificate weak]\nfile = %s/weak.pem\nkey = %s/weak.key\nallow = %u\n[daemon]",
                 dir, dir, (unsigned) getuid());
        if (!t_daemon_start(&d, keys, NULL)) {
                w_ok(DIFF, false, "private daemon with a 512-bit certificate starts");
                return 1;
        }
        cred_init(&c, 0, 0);
        c.cCreds = 1;
        c.paCred = &pc;
        st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *) UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &c, NULL, NULL,
                                       &cred, NULL);
        w_status(DIFF, st, SEC_E_NO_CREDENTIALS,
                 "server credential with a 512-bit RSA, SHA-1 self-signed certificate: refused (Windows: SEC_E_OK)");
        if (st == SEC_E_OK)
                FreeCredentialsHandle(&cred);
        st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *) UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &c, NULL, NULL,
                                       &cred, NULL);
        w_status(DIFF, st, SEC_E_NO_CREDENTIALS, "client credential with the same certificate: refused");
        if (st == SEC_E_OK)
                FreeCredentialsHandle(&cred);
        t_daemon_stop(&d);
        return t_failed ? 1 : 0;
}

static void test_weak_key(void) {
        char dir[] = "/tmp/sspid-weak.XXXXXX", cmd[64];
        int status = -1;
        pid_t pid;

        if (!mkdtemp(dir)) {
                w_ok(DIFF, false, "temporary directory for the weak certificate");
                return;
        }
        fflush(stdout);
        pid = fork();
        if (pid == 0)
                _exit(weak_key_child(dir));
        if (pid > 0)
                waitpid(pid, &status, 0);
        w_ok(DIFF, pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "weak keys refused (the child's checks above)");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0) {
                /* a leftover temp dir is harmless */
        }
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        test_weak_key(); /* first: its child must not inherit a connection */
        for (int a = 0; a < 2; a++) {
                w_async = a;
                test_output_buffer_size();
                test_token_without_memory();
                test_communication();
                test_request_flags();
                test_server_garbage();
                test_acquire();
                test_cred_attrs();
        }
        return t_done();
}
