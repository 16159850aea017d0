/* SPDX-License-Identifier: MIT */
/*
 * Schannel EncryptMessage / DecryptMessage / shutdown as Windows does them:
 * DecryptMessage's argument checks and result layouts (SECBUFFER_MISSING in
 * the DATA buffer, HEADER/DATA/TRAILER for records without application
 * data, EXTRA for the next record), a failed call that consumes nothing,
 * EncryptMessage's argument checks, and our close_notify after the peer's.
 * The async family has no message calls; the shutdown's ISC/ASC runs both
 * ways.
 */
#include <stdio.h>
#include <unistd.h>

#include "sch_peer.h"

#define WINE_COMM W_WINE("schannel.c", "test_communication")
#define DOC_DECRYPT W_MSDOCS("DecryptMessage (Schannel)")
#define DOC_ENCRYPT W_MSDOCS("EncryptMessage (Schannel)")
#define DOC_SHUTDOWN W_MSDOCS("Shutting Down an Schannel Connection")
#define CURL_RECV W_CLIENT("curl lib/vtls/schannel.c", "schannel_recv")

static CredHandle cli10, cli12, cli13, srv_rsa;

/* TLS 1.2 with AES-256-GCM (the suite Wine's test gets from
 * test.winehq.org): records carry 13 header bytes, 16 tag bytes. */
static bool connect12(SchPeer *c, SchPeer *s) {
        sch_peer_init(c, false, &cli12);
        sch_peer_init(s, true, &srv_rsa);
        if (!w_status("test setup", sch_handshake(c, s), SEC_E_OK, "TLS 1.2 handshake"))
                return false;
        sch_settle(c, s);
        return true;
}

static void disconnect(SchPeer *c, SchPeer *s) {
        sch_peer_done(c);
        sch_peer_done(s);
}

/* Wine's sequence, in order, on one received record: every malformed call
 * fails without consuming it, and the good call still decrypts it. */
static void test_decrypt_arguments(void) {
        SchPeer c, s;
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        uint8_t *rec;
        size_t size;
        SECURITY_STATUS st;

        if (!connect12(&c, &s))
                goto out;
        sch_seal(&s, &c, "HTTP/1.1 200 OK", 15);
        rec = c.in;
        size = c.in_len;

        for (int i = 0; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        b[0] = (SecBuffer) { (ULONG) size, SECBUFFER_EMPTY, rec };
        d.cBuffers = 3;
        w_status(WINE_COMM, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INVALID_TOKEN, "too few buffers");
        d.cBuffers = 4;
        w_status(WINE_COMM, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INVALID_TOKEN, "no DATA buffer");
        b[0].BufferType = SECBUFFER_DATA;
        b[1].BufferType = SECBUFFER_DATA;
        w_status(WINE_COMM, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INVALID_TOKEN, "two DATA buffers");
        b[1].BufferType = SECBUFFER_EXTRA;
        w_status(WINE_COMM, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INVALID_TOKEN,
                 "an EXTRA buffer instead of the third EMPTY one");
        b[1].BufferType = SECBUFFER_EMPTY;
        d.cBuffers = 3;
        w_status(DOC_DECRYPT, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INVALID_TOKEN,
                 "DATA and two EMPTY buffers (four are required)");
        d.cBuffers = 4;

        /* The record less its last 5 bytes (Wine gives the record length
         * without the 5-byte header). */
        b[0].cbBuffer = (ULONG) (rec[3] << 8 | rec[4]);
        st = DecryptMessage(&c.ctx, &d, 0, NULL);
        w_status(WINE_COMM, st, SEC_E_INCOMPLETE_MESSAGE, "a record 5 bytes short");
        w_eq(WINE_COMM, b[0].BufferType, SECBUFFER_MISSING, "the DATA buffer becomes SECBUFFER_MISSING");
        w_eq(WINE_COMM, b[0].cbBuffer, 5, "its cbBuffer counts the 5 missing bytes");
        w_eq(WINE_COMM, b[1].BufferType, SECBUFFER_EMPTY, "buffer 1 stays EMPTY");

        /* One byte, then four: the header itself is incomplete. */
        b[0] = (SecBuffer) { 1, SECBUFFER_DATA, rec };
        w_status(DOC_DECRYPT, DecryptMessage(&c.ctx, &d, 0, NULL), SEC_E_INCOMPLETE_MESSAGE, "1 byte of a record");
        w_ok(DOC_DECRYPT, b[0].BufferType == SECBUFFER_MISSING && b[0].cbBuffer == 4,
             "MISSING 4: the rest of the 5-byte header (type %u, %u)", (unsigned) b[0].BufferType,
             (unsigned) b[0].cbBuffer);

        /* The caller read the rest and calls again: the whole record. */
        b[0] = (SecBuffer) { (ULONG) size, SECBUFFER_DATA, rec };
        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&c.ctx, &d, 0, NULL);
        w_status(WINE_COMM, st, SEC_E_OK, "the same record, whole, after the failed calls");
        w_eq(WINE_COMM, b[0].BufferType, SECBUFFER_STREAM_HEADER, "buffer 0: STREAM_HEADER");
        w_eq(WINE_COMM, b[1].BufferType, SECBUFFER_DATA, "buffer 1: DATA");
        w_eq(WINE_COMM, b[2].BufferType, SECBUFFER_STREAM_TRAILER, "buffer 2: STREAM_TRAILER");
        w_ok(WINE_COMM, b[1].cbBuffer == 15 && !memcmp(b[1].pvBuffer, "HTTP/1.1 200 OK", 15),
             "the plaintext, in place");
        w_eq(DOC_DECRYPT, b[0].cbBuffer, 13, "TLS 1.2 GCM header: 5 + 8-byte explicit nonce");
        w_eq(DOC_DECRYPT, b[2].cbBuffer, 16, "TLS 1.2 GCM trailer: the 16-byte tag");
        w_ok(DOC_DECRYPT, b[0].pvBuffer == rec && b[1].pvBuffer == rec + 13 && b[2].pvBuffer == rec + 13 + 15,
             "HEADER, DATA and TRAILER point into the caller's buffer, in order");
        w_eq(DOC_DECRYPT, b[3].BufferType, SECBUFFER_EMPTY, "no EXTRA: nothing followed the record");
out:
        disconnect(&c, &s);
}

/* Two records in one buffer: the first decrypts, the second is EXTRA. */
static void test_decrypt_extra(void) {
        SchPeer c, s;
        SecBuffer b[4];
        size_t first;

        if (!connect12(&c, &s))
                goto out;
        sch_seal(&s, &c, "one", 3);
        first = c.in_len;
        sch_seal(&s, &c, "second", 6);
        w_status(DOC_DECRYPT, sch_unseal(&c, b), SEC_E_OK, "two records in one buffer: the first decrypts");
        w_ok(CURL_RECV, b[1].BufferType == SECBUFFER_DATA && c.plain_len == 3 && !memcmp(c.plain, "one", 3),
             "buffer 1 DATA \"one\"");
        w_eq(CURL_RECV, b[3].BufferType, SECBUFFER_EXTRA, "buffer 3: SECBUFFER_EXTRA");
        w_eq(CURL_RECV, b[3].cbBuffer, 13 + 6 + 16, "EXTRA counts the second record's bytes (from the end)");
        w_eq(DOC_DECRYPT, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer, first,
             "HEADER + DATA + TRAILER cover the first record");
        w_status(DOC_DECRYPT, sch_unseal(&c, b), SEC_E_OK, "the EXTRA bytes passed again: the second record");
        w_ok(DOC_DECRYPT, c.plain_len == 6 && !memcmp(c.plain, "second", 6), "buffer 1 DATA \"second\"");
out:
        disconnect(&c, &s);
}

/* A corrupted record: a bad MAC is fatal in TLS. */
static void test_decrypt_corrupt(void) {
        SchPeer c, s;
        SecBuffer b[4];

        if (!connect12(&c, &s))
                goto out;
        sch_seal(&s, &c, "corrupt me", 10);
        c.in[20] ^= 0x01;
        w_status(W_CLIENT("curl issues 9879, 15024 (Windows 11)", "schannel_recv"), sch_unseal(&c, b),
                 SEC_E_DECRYPT_FAILURE, "TLS 1.2: a record that fails authentication: SEC_E_DECRYPT_FAILURE");
        disconnect(&c, &s);
        sch_peer_init(&c, false, &cli13);
        sch_peer_init(&s, true, &srv_rsa);
        if (!w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "TLS 1.3 handshake"))
                goto out;
        sch_settle(&c, &s);
        sch_seal(&s, &c, "corrupt me", 10);
        c.in[10] ^= 0x01;
        w_status(W_CLIENT("curl issues 9879, 15024 (Windows 11)", "schannel_recv"), sch_unseal(&c, b),
                 SEC_E_DECRYPT_FAILURE, "TLS 1.3: a record that fails authentication: SEC_E_DECRYPT_FAILURE");
out:
        disconnect(&c, &s);
}

/* Records without application data: HelloRequest (SEC_I_RENEGOTIATE) and
 * close_notify (SEC_I_CONTEXT_EXPIRED). */
static void test_decrypt_no_data(void) {
        SchPeer c, s;
        SecBuffer b[4];
        size_t len;
        SECURITY_STATUS st;

        if (!connect12(&c, &s))
                goto out;
        /* The server asks for a renegotiation: a TLS 1.2 HelloRequest. */
        w_status(W_MSDOCS("ApplyControlToken (SCHANNEL_RENEGOTIATE)"), sch_control(&s, SCHANNEL_RENEGOTIATE), SEC_E_OK,
                 "server ApplyControlToken(SCHANNEL_RENEGOTIATE)");
        s.done = false;
        sch_step(&s, &c, NULL);
        len = c.in_len;
        w_eq(WINE_COMM, len, 33, "the HelloRequest record: 33 bytes (5 + 8 + 4 + 16)");
        st = sch_unseal(&c, b);
        w_status(WINE_COMM, st, SEC_I_RENEGOTIATE, "DecryptMessage(HelloRequest): SEC_I_RENEGOTIATE");
        w_eq(WINE_COMM, b[0].BufferType, SECBUFFER_STREAM_HEADER, "buffer 0: STREAM_HEADER");
        w_eq(WINE_COMM, b[0].cbBuffer, 13, "STREAM_HEADER 13");
        w_eq(WINE_COMM, b[1].BufferType, SECBUFFER_DATA, "buffer 1: DATA");
        w_eq(WINE_COMM, b[1].cbBuffer, 0, "DATA 0");
        w_eq(WINE_COMM, b[2].BufferType, SECBUFFER_STREAM_TRAILER, "buffer 2: STREAM_TRAILER");
        w_eq(WINE_COMM, b[2].cbBuffer, 20, "STREAM_TRAILER 20 (the message and the tag)");
        w_eq(CURL_RECV, b[3].BufferType, SECBUFFER_EMPTY, "buffer 3 EMPTY: nothing followed");
        disconnect(&c, &s);

        /* close_notify, with application data behind it in the same buffer. */
        if (!connect12(&c, &s))
                goto out;
        w_status(DOC_SHUTDOWN, sch_control(&s, SCHANNEL_SHUTDOWN), SEC_E_OK, "server ApplyControlToken(SCHANNEL_SHUTDOWN)");
        s.done = false;
        w_status(DOC_SHUTDOWN, sch_step(&s, &c, &len), SEC_E_OK, "server ASC: its close_notify");
        w_eq(W_RFC("RFC 5246 7.2.1"), len, 31, "a TLS 1.2 GCM alert record: 5 + 8 + 2 + 16 bytes");
        memset(c.in + c.in_len, 0x17, 7); /* bytes after it stay the caller's */
        c.in_len += 7;
        st = sch_unseal(&c, b);
        w_status(DOC_DECRYPT, st, SEC_I_CONTEXT_EXPIRED, "DecryptMessage(close_notify): SEC_I_CONTEXT_EXPIRED");
        /* Windows lays it out as the HelloRequest above; curl reads DATA and
         * EXTRA on this status too. */
        w_ok(WINE_COMM, b[0].BufferType == SECBUFFER_STREAM_HEADER && b[0].cbBuffer == 13,
             "buffer 0 STREAM_HEADER 13 (type %u, %u)", (unsigned) b[0].BufferType, (unsigned) b[0].cbBuffer);
        w_ok(CURL_RECV, b[1].BufferType == SECBUFFER_DATA && b[1].cbBuffer == 0, "buffer 1 DATA 0 (type %u, %u)",
             (unsigned) b[1].BufferType, (unsigned) b[1].cbBuffer);
        w_ok(WINE_COMM, b[2].BufferType == SECBUFFER_STREAM_TRAILER && b[2].cbBuffer == 18,
             "buffer 2 STREAM_TRAILER 18 (type %u, %u)", (unsigned) b[2].BufferType, (unsigned) b[2].cbBuffer);
        w_ok(CURL_RECV, b[3].BufferType == SECBUFFER_EXTRA && b[3].cbBuffer == 7,
             "buffer 3 EXTRA 7: the bytes after the alert (type %u, %u)", (unsigned) b[3].BufferType,
             (unsigned) b[3].cbBuffer);
out:
        disconnect(&c, &s);
}

/* EncryptMessage's checks. */
static void test_encrypt_arguments(void) {
        SchPeer c, s;
        SecPkgContext_StreamSizes sz;
        uint8_t rec[256];
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

        if (!connect12(&c, &s))
                goto out;
        if (!w_status(WINE_COMM, QueryContextAttributesA(&c.ctx, SECPKG_ATTR_STREAM_SIZES, &sz), SEC_E_OK,
                      "STREAM_SIZES"))
                goto out;
#define LAYOUT(h, t)                                                                      \
        do {                                                                              \
                memcpy(rec + 13, "data", 4);                                              \
                b[0] = (SecBuffer) { (h), SECBUFFER_STREAM_HEADER, rec };                 \
                b[1] = (SecBuffer) { 4, SECBUFFER_DATA, rec + 13 };                       \
                b[2] = (SecBuffer) { (t), SECBUFFER_STREAM_TRAILER, rec + 13 + 4 };       \
                b[3] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };                          \
        } while (0)
        LAYOUT(sz.cbHeader - 1, sz.cbTrailer);
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_BUFFER_TOO_SMALL, "STREAM_HEADER 1 byte short");
        LAYOUT(sz.cbHeader, sz.cbTrailer - 1);
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_BUFFER_TOO_SMALL, "STREAM_TRAILER 1 byte short");
        LAYOUT(sz.cbHeader, sz.cbTrailer);
        b[1].BufferType = SECBUFFER_EMPTY;
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_INVALID_TOKEN, "no DATA buffer");
        LAYOUT(sz.cbHeader, sz.cbTrailer);
        b[0].BufferType = SECBUFFER_EMPTY;
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_INVALID_TOKEN, "no STREAM_HEADER buffer");
        LAYOUT(sz.cbHeader, sz.cbTrailer);
        b[2].BufferType = SECBUFFER_EMPTY;
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_INVALID_TOKEN, "no STREAM_TRAILER buffer");
        /* None of these used a sequence number: the next record decrypts. */
        LAYOUT(sz.cbHeader, sz.cbTrailer);
        w_status(DOC_ENCRYPT, EncryptMessage(&c.ctx, 0, &d, 0), SEC_E_OK, "the well-formed call");
        w_ok(DOC_ENCRYPT, b[0].cbBuffer == 13 && b[1].cbBuffer == 4 && b[2].cbBuffer == 16,
             "HEADER 13, DATA 4, TRAILER 16 (%u, %u, %u)", (unsigned) b[0].cbBuffer, (unsigned) b[1].cbBuffer,
             (unsigned) b[2].cbBuffer);
        memcpy(s.in, rec, 13 + 4 + 16);
        s.in_len = 13 + 4 + 16;
        {
                SecBuffer o[4];
                w_status(DOC_DECRYPT, sch_unseal(&s, o), SEC_E_OK, "the peer decrypts it");
                w_ok(DOC_DECRYPT, s.plain_len == 4 && !memcmp(s.plain, "data", 4), "\"data\"");
        }
#undef LAYOUT
out:
        disconnect(&c, &s);
}

/* The peer's close_notify, then ours: ApplyControlToken(SCHANNEL_SHUTDOWN)
 * and ISC/ASC produce it (it is not lost because the context no longer
 * reads), and the peer's DecryptMessage sees it. */
static void shutdown_after_peer(CredHandle *cc, bool server_closes_first, bool async, size_t want_len,
                                const char *what) {
        SchPeer c, s, *first, *second;
        SecBuffer b[4];
        size_t len = 0;
        SECURITY_STATUS st;

        sch_peer_init(&c, false, cc);
        sch_peer_init(&s, true, &srv_rsa);
        if (!w_status("test setup", sch_handshake(&c, &s), SEC_E_OK, "%s: handshake", what))
                goto out;
        sch_settle(&c, &s);
        first = server_closes_first ? &s : &c;
        second = server_closes_first ? &c : &s;
        w_status(DOC_SHUTDOWN, sch_control(first, SCHANNEL_SHUTDOWN), SEC_E_OK, "%s: the first side's shutdown token",
                 what);
        first->done = false;
        w_status(DOC_SHUTDOWN, sch_step(first, second, &len), SEC_E_OK, "%s: its close_notify", what);
        w_status(DOC_DECRYPT, sch_unseal(second, b), SEC_I_CONTEXT_EXPIRED,
                 "%s: the other side's DecryptMessage: SEC_I_CONTEXT_EXPIRED", what);
        w_status(DOC_SHUTDOWN, sch_control(second, SCHANNEL_SHUTDOWN), SEC_E_OK,
                 "%s: ApplyControlToken(SCHANNEL_SHUTDOWN) after it", what);
        if (async)
                second->ac = SspiCreateAsyncContext();
        second->done = false;
        st = sch_step(second, first, &len);
        w_status(DOC_SHUTDOWN, st, SEC_E_OK, "%s: %s%s: SEC_E_OK", what, second->server ? "ASC" : "ISC",
                 async ? " (async)" : "");
        w_eq(W_RFC("RFC 5246 7.2.1 / RFC 8446 6.1"), len, want_len,
             "%s: the token is our close_notify record (not 0 bytes)", what);
        w_status(DOC_DECRYPT, sch_unseal(first, b), SEC_I_CONTEXT_EXPIRED,
                 "%s: the first side's DecryptMessage reads it: SEC_I_CONTEXT_EXPIRED", what);
out:
        disconnect(&c, &s);
}

/* curl's schannel_shutdown: ApplyControlToken, then ISC with no input and
 * one SECBUFFER_EMPTY output buffer (ISC_REQ_ALLOCATE_MEMORY), the token
 * sent; then DecryptMessage until the server's close_notify. */
static void test_curl_shutdown(void) {
        SchPeer c, s;
        SecBuffer ob = { 0, SECBUFFER_EMPTY, NULL }, b[4];
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;
        const char *src = W_CLIENT("curl lib/vtls/schannel.c", "schannel_shutdown");

        if (!connect12(&c, &s))
                goto out;
        w_status(src, sch_control(&c, SCHANNEL_SHUTDOWN), SEC_E_OK, "client ApplyControlToken(SCHANNEL_SHUTDOWN)");
        st = InitializeSecurityContextA(&cli12, &c.ctx, "localhost", SCH_ISC_FLAGS, 0, 0, NULL, 0, &c.ctx, &od, &attrs,
                                        NULL);
        w_ok(src, st == SEC_E_OK || st == SEC_I_CONTEXT_EXPIRED, "ISC with an EMPTY output buffer: 0x%08x",
             (unsigned) st);
        w_ok(src, ob.pvBuffer != NULL && ob.cbBuffer == 31, "the close_notify in it, allocated (%u bytes)",
             (unsigned) ob.cbBuffer);
        if (ob.pvBuffer && ob.cbBuffer <= sizeof(s.in)) {
                memcpy(s.in, ob.pvBuffer, ob.cbBuffer);
                s.in_len = ob.cbBuffer;
        }
        FreeContextBuffer(ob.pvBuffer);
        w_status(DOC_DECRYPT, sch_unseal(&s, b), SEC_I_CONTEXT_EXPIRED, "the server reads it: SEC_I_CONTEXT_EXPIRED");
        sch_control(&s, SCHANNEL_SHUTDOWN);
        s.done = false;
        sch_step(&s, &c, NULL);
        w_status(src, sch_unseal(&c, b), SEC_I_CONTEXT_EXPIRED,
                 "after its own close_notify the client still reads the server's: SEC_I_CONTEXT_EXPIRED");
out:
        disconnect(&c, &s);
}

/* ISC on an existing client context, sync or through the async family. */
static SECURITY_STATUS isc_again(CredHandle *cred, bool async, CtxtHandle *ctx, SecBufferDesc *in, CtxtHandle *nc, SecBufferDesc *out,
                                 ULONG *attrs) {
        SspiAsyncContext *ac;
        SECURITY_STATUS st;

        if (!async)
                return InitializeSecurityContextA(cred, ctx, NULL, 0, 0, 0, in, 0, nc, out, attrs, NULL);
        if (!(ac = SspiCreateAsyncContext()))
                return SEC_E_INSUFFICIENT_MEMORY;
        st = SspiInitializeSecurityContextAsyncA(ac, cred, ctx, NULL, 0, 0, 0, in, 0, nc, out, attrs, NULL);
        if (st == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(50);
        SspiFreeAsyncContext(ac);
        return st;
}

/* ApplyControlToken's checks, and a shutdown during the handshake: the
 * close_notify alert in the clear with the next ISC; the handshake still
 * waits for the server (SEC_E_INCOMPLETE_MESSAGE), a second shutdown sends
 * the alert again, and a fatal alert after it goes out too. The alert's
 * record version is the highest the client offers: 03 01 in Wine's TLS
 * 1.0-only test, 03 03 for TLS 1.2, the version the server picks and an
 * OpenSSL server requires of every record after its ServerHello. */
static void test_control_during_handshake(CredHandle *cred, bool async) {
        const char *src = W_WINE("schannel.c", "test_connection_shutdown");
        SCHANNEL_ALERT_TOKEN alert = { SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_BAD_CERTIFICATE };
        CtxtHandle c2;
        const char *vsrc = cred == &cli10 ? src : W_RFC("RFC 5246 6.2.1 / RFC 8446 5.1 (record version)");
        uint8_t ver[2] = { 3, cred == &cli10 ? 1 : 3 };
        SchPeer c, sink;
        DWORD tok[2] = { SCHANNEL_SHUTDOWN, 0 };
        uint8_t out[1000];
        SecBuffer tb[2] = { { sizeof(DWORD), SECBUFFER_TOKEN, tok }, { sizeof(DWORD), SECBUFFER_TOKEN, tok } };
        SecBufferDesc td = { SECBUFFER_VERSION, 2, tb };
        SecBuffer ob = { sizeof(out), SECBUFFER_TOKEN, out };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;

        sch_peer_init(&c, false, cred);
        memset(&sink, 0, sizeof(sink));
        if (!w_status("test setup", sch_step(&c, &sink, NULL), SEC_I_CONTINUE_NEEDED, "client ISC: ClientHello"))
                goto out;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_INVALID_TOKEN, "two TOKEN buffers");
        tb[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_INVALID_TOKEN, "a TOKEN and an EMPTY buffer");
        td.cBuffers = 1;
        tok[0] = SCHANNEL_RENEGOTIATE;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_UNSUPPORTED_FUNCTION, "a client's SCHANNEL_RENEGOTIATE");
        w_status(src, ApplyControlToken(NULL, &td), SEC_E_INVALID_HANDLE, "no context handle");
        w_status(src, ApplyControlToken(&c.ctx, NULL), SEC_E_INTERNAL_ERROR, "no buffer descriptor");
        tok[0] = SCHANNEL_SHUTDOWN;
        tb[0].BufferType = SECBUFFER_ALERT;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_INVALID_TOKEN, "the token in an ALERT buffer");
        tb[0].BufferType = SECBUFFER_DATA;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_INVALID_TOKEN, "the token in a DATA buffer");
        tb[0].BufferType = SECBUFFER_TOKEN;
        tb[0].cbBuffer = 2;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_UNSUPPORTED_FUNCTION, "a 2-byte token");
        tb[0].cbBuffer = sizeof(DWORD) + 1;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_OK, "SCHANNEL_SHUTDOWN in 5 bytes");
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_OK, "SCHANNEL_SHUTDOWN again");
        st = isc_again(cred, async, &c.ctx, NULL, NULL, &od, &attrs);
        w_status(src, st, SEC_E_OK, "%s ISC: SEC_E_OK", async ? "async" : "sync");
        w_eq(src, ob.cbBuffer, 7, "a 7-byte record");
        w_ok(src, out[0] == 0x15 && out[1] == 3 && out[3] == 0 && out[4] == 2 && out[5] == 1 && out[6] == 0,
             "an alert record: warning close_notify (%02x %02x .. %02x %02x %02x %02x)", out[0], out[1], out[3],
             out[4], out[5], out[6]);
        w_ok(vsrc, out[1] == ver[0] && out[2] == ver[1], "its record version %02x %02x (want %02x %02x)", out[1],
             out[2], ver[0], ver[1]);

        /* The handshake still waits for the server: no input, nothing
         * written, phNewContext untouched. */
        c2.dwLower = c2.dwUpper = 0xdeadbeef;
        ob = (SecBuffer) { sizeof(out), SECBUFFER_TOKEN, out };
        st = isc_again(cred, async, &c.ctx, NULL, &c2, &od, &attrs);
        w_status(src, st, SEC_E_INCOMPLETE_MESSAGE, "%s ISC after it, no input: SEC_E_INCOMPLETE_MESSAGE",
                 async ? "async" : "sync");
        w_ok(src, c2.dwLower == 0xdeadbeef && c2.dwUpper == 0xdeadbeef, "phNewContext untouched");

        /* Shut down again: the same alert again. */
        td.cBuffers = 1;
        tb[0] = (SecBuffer) { sizeof(DWORD), SECBUFFER_TOKEN, tok };
        tok[0] = SCHANNEL_SHUTDOWN;
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_OK, "SCHANNEL_SHUTDOWN a second time");
        ob = (SecBuffer) { sizeof(out), SECBUFFER_TOKEN, out };
        memset(out, 0, sizeof(out));
        st = isc_again(cred, async, &c.ctx, NULL, NULL, &od, &attrs);
        w_status(src, st, SEC_E_OK, "%s ISC: SEC_E_OK", async ? "async" : "sync");
        w_ok(src, ob.cbBuffer == 7 && out[0] == 0x15 && out[1] == ver[0] && out[2] == ver[1] && out[3] == 0 &&
                          out[4] == 2 && out[5] == 1 && out[6] == 0,
             "the close_notify record again (%u bytes)", (unsigned) ob.cbBuffer);

        /* A fatal alert after it: bad_certificate, in the clear. */
        tb[0] = (SecBuffer) { sizeof(alert), SECBUFFER_TOKEN, &alert };
        w_status(src, ApplyControlToken(&c.ctx, &td), SEC_E_OK, "SCHANNEL_ALERT fatal bad_certificate");
        ob = (SecBuffer) { sizeof(out), SECBUFFER_TOKEN, out };
        memset(out, 0, sizeof(out));
        st = isc_again(cred, async, &c.ctx, NULL, NULL, &od, &attrs);
        w_status(src, st, SEC_E_OK, "%s ISC: SEC_E_OK", async ? "async" : "sync");
        w_ok(src, ob.cbBuffer == 7 && out[0] == 0x15 && out[1] == ver[0] && out[2] == ver[1] && out[3] == 0 &&
                          out[4] == 2 && out[5] == 2 && out[6] == 0x2a,
             "the fatal bad_certificate record (%u bytes: %02x %02x %02x .. %02x %02x)", (unsigned) ob.cbBuffer,
             out[0], out[1], out[2], out[5], out[6]);
out:
        sch_peer_done(&c);
}

int main(void) {
        sch_pki_init();
        sch_acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_0_CLIENT, &cli10);
        sch_acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_2_CLIENT, &cli12);
        sch_acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_3_CLIENT, &cli13);
        sch_acquire("server-rsa", SECPKG_CRED_INBOUND, 0, &srv_rsa);
        test_decrypt_arguments();
        test_decrypt_extra();
        test_decrypt_corrupt();
        test_decrypt_no_data();
        test_encrypt_arguments();
        test_curl_shutdown();
        test_control_during_handshake(&cli12, false);
        test_control_during_handshake(&cli12, true);
        test_control_during_handshake(&cli10, false);
        test_control_during_handshake(&cli10, true);
        shutdown_after_peer(&cli12, true, false, 31, "TLS 1.2, server closes first");
        shutdown_after_peer(&cli12, false, false, 31, "TLS 1.2, client closes first");
        shutdown_after_peer(&cli13, true, false, 24, "TLS 1.3, server closes first");
        shutdown_after_peer(&cli13, true, true, 24, "TLS 1.3, server closes first, async ISC");
        shutdown_after_peer(&cli13, false, true, 24, "TLS 1.3, client closes first, async ASC");
        FreeCredentialsHandle(&cli10);
        FreeCredentialsHandle(&cli12);
        FreeCredentialsHandle(&cli13);
        FreeCredentialsHandle(&srv_rsa);
        return t_done();
}
