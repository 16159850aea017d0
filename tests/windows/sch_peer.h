/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Two Schannel peers through the daemon for the Windows-behaviour suite:
 * a client and a server whose tokens and records pass through each other's
 * inbox, handled the way Windows programs handle them (EXTRA kept, every
 * output token sent). Header-only: each test of the suite is one file.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schannel.h"
#include "testcert.h"
#include "twin.h"

#define SCH_ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                       ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define SCH_ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                       ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM)

static char sch_pki[512];

static inline void sch_pki_init(void) {
        const char *env = getenv("SSPID_TESTENV");
        snprintf(sch_pki, sizeof(sch_pki), "%s/pki", env ? env : ".");
}

/* A credential with the test PKI's certificate `cert` (NULL: none). */
static inline SECURITY_STATUS sch_acquire(const char *cert, ULONG use, DWORD protocols, CredHandle *ret) {
        SCHANNEL_CRED sc = { 0 };
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;
        TimeStamp ts;

        sc.dwVersion = SCHANNEL_CRED_VERSION;
        if (cert) {
                if (!t_load_cert(sch_pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                sc.cCreds = 1;
                sc.paCred = &pc;
        }
        sc.grbitEnabledProtocols = protocols;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

typedef struct SchPeer {
        bool server;
        CredHandle *cred;
        CtxtHandle ctx;
        bool have_ctx;
        bool done;
        ULONG flags, attrs;
        SspiAsyncContext *ac; /* non-NULL: ISC/ASC through the Sspi*Async calls */
        const uint8_t *alpn;  /* SEC_APPLICATION_PROTOCOLS on the first leg */
        size_t alpn_len;
        uint8_t in[65536];
        size_t in_len;
        uint8_t plain[17000]; /* the last DecryptMessage's DATA */
        size_t plain_len;
} SchPeer;

static inline void sch_peer_init(SchPeer *p, bool server, CredHandle *cred) {
        memset(p, 0, sizeof(*p));
        p->server = server;
        p->cred = cred;
        p->flags = server ? SCH_ASC_FLAGS : SCH_ISC_FLAGS;
}

static inline void sch_peer_done(SchPeer *p) {
        if (p->have_ctx)
                DeleteSecurityContext(&p->ctx);
        p->have_ctx = false;
        SspiFreeAsyncContext(p->ac);
        p->ac = NULL;
}

static inline SECURITY_STATUS sch_call(SchPeer *p, SecBufferDesc *id, SecBufferDesc *od) {
        CredHandle *cred = p->have_ctx ? NULL : p->cred;
        CtxtHandle *ctx = p->have_ctx ? &p->ctx : NULL;
        SecBufferDesc *in = p->have_ctx || p->server || p->alpn ? id : NULL;
        SECURITY_STATUS st;

        if (!p->ac) {
                if (p->server)
                        return AcceptSecurityContext(cred, ctx, in, p->flags, 0, &p->ctx, od, &p->attrs, NULL);
                return InitializeSecurityContextA(cred, ctx, "localhost", p->flags, 0, 0, in, 0, &p->ctx, od,
                                                  &p->attrs, NULL);
        }
        SspiReinitAsyncContext(p->ac);
        if (p->server)
                st = SspiAcceptSecurityContextAsync(p->ac, cred, ctx, in, p->flags, 0, &p->ctx, od, &p->attrs, NULL);
        else
                st = SspiInitializeSecurityContextAsyncA(p->ac, cred, ctx, "localhost", p->flags, 0, 0, in, 0,
                                                         &p->ctx, od, &p->attrs, NULL);
        if (st != SEC_E_OK)
                return st;
        while ((st = SspiGetAsyncCallStatus(p->ac)) == SEC_I_ASYNC_CALL_PENDING)
                usleep(200);
        return st;
}

/* One ISC/ASC on the inbox; the output token goes to `to` (and its size
 * to *ret_out when given). */
static inline SECURITY_STATUS sch_step(SchPeer *p, SchPeer *to, size_t *ret_out) {
        SecBuffer ib[3] = { { (ULONG) p->in_len, SECBUFFER_TOKEN, p->in }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
        SECURITY_STATUS st;

        if (p->alpn && !p->have_ctx) {
                ib[2] = (SecBuffer) { (ULONG) p->alpn_len, SECBUFFER_APPLICATION_PROTOCOLS, (void *) p->alpn };
                id.cBuffers = 3;
        }
        st = sch_call(p, &id, &od);

        if (ret_out)
                *ret_out = ob[0].pvBuffer ? ob[0].cbBuffer : 0;
        if (st == SEC_E_INCOMPLETE_MESSAGE)
                return st;
        if (st >= 0)
                p->have_ctx = true;
        if (ob[0].pvBuffer && ob[0].cbBuffer && to) {
                memcpy(to->in + to->in_len, ob[0].pvBuffer, ob[0].cbBuffer);
                to->in_len += ob[0].cbBuffer;
        }
        FreeContextBuffer(ob[0].pvBuffer);
        FreeContextBuffer(ob[1].pvBuffer);
        if (st < 0)
                return st;
        if (ib[1].BufferType == SECBUFFER_EXTRA && ib[1].cbBuffer) {
                memmove(p->in, p->in + p->in_len - ib[1].cbBuffer, ib[1].cbBuffer);
                p->in_len = ib[1].cbBuffer;
        } else
                p->in_len = 0;
        if (st == SEC_E_OK)
                p->done = true;
        return st;
}

static inline SECURITY_STATUS sch_handshake(SchPeer *c, SchPeer *s) {
        SECURITY_STATUS st = sch_step(c, s, NULL);

        for (int i = 0; i < 40 && st >= 0; i++) {
                if (c->done && s->done)
                        return SEC_E_OK;
                if (!s->done && s->in_len && (st = sch_step(s, c, NULL)) < 0)
                        return st;
                if (!c->done && c->in_len && (st = sch_step(c, s, NULL)) < 0)
                        return st;
        }
        return st < 0 ? st : (c->done && s->done ? SEC_E_OK : SEC_E_INTERNAL_ERROR);
}

/* EncryptMessage of data into to's inbox (HEADER, DATA, TRAILER, EMPTY). */
static inline SECURITY_STATUS sch_seal(SchPeer *p, SchPeer *to, const void *data, size_t len) {
        SecPkgContext_StreamSizes sz;
        uint8_t rec[17000 + 100];
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        SECURITY_STATUS st = QueryContextAttributesA(&p->ctx, SECPKG_ATTR_STREAM_SIZES, &sz);

        if (st != SEC_E_OK)
                return st;
        memcpy(rec + sz.cbHeader, data, len);
        b[0] = (SecBuffer) { sz.cbHeader, SECBUFFER_STREAM_HEADER, rec };
        b[1] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, rec + sz.cbHeader };
        b[2] = (SecBuffer) { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz.cbHeader + len };
        b[3] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = EncryptMessage(&p->ctx, 0, &d, 0);
        if (st != SEC_E_OK)
                return st;
        memcpy(to->in + to->in_len, rec, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer);
        to->in_len += b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
        return SEC_E_OK;
}

/* DecryptMessage on the whole inbox with DATA + three EMPTY; b gets the
 * buffers as the call left them, p->plain the plaintext (the inbox keeps
 * the EXTRA bytes, which may overwrite it there). */
static inline SECURITY_STATUS sch_unseal(SchPeer *p, SecBuffer b[4]) {
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        SECURITY_STATUS st;

        b[0] = (SecBuffer) { (ULONG) p->in_len, SECBUFFER_DATA, p->in };
        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&p->ctx, &d, 0, NULL);
        if (st < 0)
                return st;
        p->plain_len = 0;
        if (b[1].BufferType == SECBUFFER_DATA && b[1].cbBuffer <= sizeof(p->plain)) {
                memcpy(p->plain, b[1].pvBuffer, b[1].cbBuffer);
                p->plain_len = b[1].cbBuffer;
        }
        if (b[3].BufferType == SECBUFFER_EXTRA) {
                memmove(p->in, p->in + p->in_len - b[3].cbBuffer, b[3].cbBuffer);
                p->in_len = b[3].cbBuffer;
        } else
                p->in_len = 0;
        return st;
}

/* SEC_APPLICATION_PROTOCOLS for the ALPN ids (NULL-terminated) into buf. */
static inline size_t sch_alpn_list(uint8_t *buf, const char *const *ids) {
        uint32_t ext = SecApplicationProtocolNegotiationExt_ALPN, total;
        uint16_t len = 0;

        for (const char *const *p = ids; *p; p++) {
                buf[10 + len] = (uint8_t) strlen(*p);
                memcpy(buf + 11 + len, *p, strlen(*p));
                len += (uint16_t) (1 + strlen(*p));
        }
        memcpy(buf + 4, &ext, 4);
        memcpy(buf + 8, &len, 2);
        total = 6u + len;
        memcpy(buf, &total, 4);
        return 4 + total;
}

static inline SECURITY_STATUS sch_control(SchPeer *p, DWORD token) {
        SecBuffer tb = { sizeof(token), SECBUFFER_TOKEN, &token };
        SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb };
        return ApplyControlToken(&p->ctx, &td);
}

/* TLS 1.3 tickets and the like out of the way: one record server to
 * client, decrypted until its data arrived (SEC_I_RENEGOTIATE answered). */
static inline void sch_settle(SchPeer *c, SchPeer *s) {
        SecBuffer b[4];
        SECURITY_STATUS st;

        sch_seal(s, c, "x", 1);
        for (int i = 0; i < 8 && c->in_len; i++) {
                st = sch_unseal(c, b);
                if (st == SEC_I_RENEGOTIATE) {
                        c->done = false;
                        sch_step(c, s, NULL);
                } else if (st != SEC_E_OK)
                        return;
        }
}
