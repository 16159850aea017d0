/* SPDX-License-Identifier: MIT */
/*
 * Schannel through the daemon, both sides ours: credentials with daemon-held
 * certificates (and one the caller has no grant for), TLS 1.3 and 1.2
 * handshakes with RSA and ECDSA, the certificate statuses, the byte-at-a-time
 * handshake with SECBUFFER_MISSING, EncryptMessage/DecryptMessage in place
 * with HEADER/DATA/TRAILER/EXTRA, truncated and corrupted records,
 * SEC_I_RENEGOTIATE for TLS 1.3 tickets, close_notify via
 * ApplyControlToken, client authentication, ALPN, the session cache rules
 * and an asynchronous handshake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                   ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM)

static char pki[512];

/* ---- certificates: DER read from the test PKI, as a Windows program
 * would get them from its certificate store ---- */

static SECURITY_STATUS acquire(const char *cert, ULONG use, DWORD protocols, DWORD flags, DWORD lifespan,
                               CredHandle *ret) {
        SCHANNEL_CRED sc = { 0 };
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;
        TimeStamp ts;

        sc.dwVersion = SCHANNEL_CRED_VERSION;
        if (cert) {
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                sc.cCreds = 1;
                sc.paCred = &pc;
        }
        sc.grbitEnabledProtocols = protocols;
        sc.dwFlags = flags;
        sc.dwSessionLifespan = lifespan;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

/* ---- a peer: inbox of received bytes, Windows-style buffer handling ---- */

typedef struct Peer {
        bool server;
        CredHandle *cred;
        CredHandle *leg_cred; /* passed on later legs (NULL: none) */
        CtxtHandle ctx;
        bool have_ctx;
        const char *target;
        ULONG flags;
        uint8_t in[65536];
        size_t in_len;
        SECURITY_STATUS st;
        ULONG attrs;
        bool done;
        const uint8_t *alpn; /* SEC_APPLICATION_PROTOCOLS on the first leg */
        size_t alpn_len;
        int missing_seen;
        uint8_t alert[64]; /* SECBUFFER_ALERT of a failed step */
        size_t alert_len;
        SspiAsyncContext *ac; /* non-NULL: use the async calls */
} Peer;

static void peer_init(Peer *p, bool server, CredHandle *cred, const char *target) {
        memset(p, 0, sizeof(*p));
        p->server = server;
        p->cred = cred;
        p->target = target;
        p->flags = server ? ASC_FLAGS : ISC_FLAGS;
}

static void peer_done(Peer *p) {
        if (p->have_ctx)
                DeleteSecurityContext(&p->ctx);
        p->have_ctx = false;
}

static void drop_consumed(Peer *p, SecBuffer *in1) {
        if (in1->BufferType == SECBUFFER_EXTRA && in1->cbBuffer) {
                memmove(p->in, p->in + p->in_len - in1->cbBuffer, in1->cbBuffer);
                p->in_len = in1->cbBuffer;
        } else
                p->in_len = 0;
}

static SECURITY_STATUS call_step(Peer *p, SecBufferDesc *id, SecBufferDesc *od) {
        CredHandle *cred = p->have_ctx ? p->leg_cred : p->cred;
        CtxtHandle *ctx = p->have_ctx ? &p->ctx : NULL;
        SECURITY_STATUS st;

        if (p->ac) {
                SspiReinitAsyncContext(p->ac);
                if (p->server)
                        st = SspiAcceptSecurityContextAsync(p->ac, cred, ctx, id, p->flags, 0, &p->ctx, od, &p->attrs,
                                                            NULL);
                else
                        st = SspiInitializeSecurityContextAsyncA(p->ac, cred, ctx, p->target, p->flags, 0, 0,
                                                                 p->have_ctx || p->alpn ? id : NULL, 0, &p->ctx, od,
                                                                 &p->attrs, NULL);
                if (st != SEC_E_OK)
                        return st;
                while ((st = SspiGetAsyncCallStatus(p->ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(200);
                return st;
        }
        if (p->server)
                return AcceptSecurityContext(cred, ctx, id, p->flags, 0, &p->ctx, od, &p->attrs, NULL);
        return InitializeSecurityContextA(cred, ctx, p->target, p->flags, 0, 0, p->have_ctx || p->alpn ? id : NULL,
                                          0, &p->ctx, od, &p->attrs, NULL);
}

/* One ISC/ASC call on what the peer has received; output goes to `to`. */
static SECURITY_STATUS peer_step(Peer *p, Peer *to) {
        SecBuffer ib[3] = { { (ULONG) p->in_len, SECBUFFER_TOKEN, p->in }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
        SECURITY_STATUS st;

        if (p->alpn && !p->have_ctx) {
                ib[2].BufferType = SECBUFFER_APPLICATION_PROTOCOLS;
                ib[2].pvBuffer = (void *) p->alpn;
                ib[2].cbBuffer = (ULONG) p->alpn_len;
                id.cBuffers = 3;
        }
        st = call_step(p, &id, &od);
        p->st = st;
        if (st == SEC_E_INCOMPLETE_MESSAGE) {
                if (ib[1].BufferType == SECBUFFER_MISSING)
                        p->missing_seen++;
                return st;
        }
        if (st >= 0)
                p->have_ctx = true;
        if (ob[0].pvBuffer && ob[0].cbBuffer && to) {
                memcpy(to->in + to->in_len, ob[0].pvBuffer, ob[0].cbBuffer);
                to->in_len += ob[0].cbBuffer;
        }
        if (ob[1].BufferType == SECBUFFER_ALERT && ob[1].pvBuffer && ob[1].cbBuffer <= sizeof(p->alert)) {
                memcpy(p->alert, ob[1].pvBuffer, ob[1].cbBuffer);
                p->alert_len = ob[1].cbBuffer;
        }
        FreeContextBuffer(ob[0].pvBuffer);
        FreeContextBuffer(ob[1].pvBuffer);
        if (st < 0)
                return st;
        if (st != SEC_I_INCOMPLETE_CREDENTIALS)
                drop_consumed(p, &ib[1]);
        if (st == SEC_E_OK)
                p->done = true;
        return st;
}

/* Both sides until both are done or one fails. */
static SECURITY_STATUS handshake(Peer *c, Peer *s) {
        SECURITY_STATUS st = peer_step(c, s);

        for (int i = 0; i < 40 && st >= 0; i++) {
                if (c->done && s->done)
                        return SEC_E_OK;
                if (!s->done && s->in_len) {
                        st = peer_step(s, c);
                        if (st < 0)
                                return st;
                }
                if (!c->done && (c->in_len || c->st == SEC_I_INCOMPLETE_CREDENTIALS)) {
                        st = peer_step(c, s);
                        if (st < 0)
                                return st;
                }
        }
        return st < 0 ? st : (c->done && s->done ? SEC_E_OK : SEC_E_INTERNAL_ERROR);
}

/* ---- records ---- */

static SECURITY_STATUS seal(Peer *p, Peer *to, const void *data, size_t len) {
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

/* One DecryptMessage on the inbox; plaintext appended to out. Handles
 * EXTRA. Returns the status of the call. */
static SECURITY_STATUS unseal_once(Peer *p, uint8_t *out, size_t *out_len) {
        SecBuffer b[4] = { { (ULONG) p->in_len, SECBUFFER_DATA, p->in } };
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        SECURITY_STATUS st;
        SecBuffer *extra = NULL;

        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&p->ctx, &d, 0, NULL);
        if (st < 0)
                return st;
        for (int i = 0; i < 4; i++) {
                if (b[i].BufferType == SECBUFFER_DATA && out) {
                        memcpy(out + *out_len, b[i].pvBuffer, b[i].cbBuffer);
                        *out_len += b[i].cbBuffer;
                }
                if (b[i].BufferType == SECBUFFER_EXTRA)
                        extra = &b[i];
        }
        if (extra) {
                memmove(p->in, extra->pvBuffer, extra->cbBuffer);
                p->in_len = extra->cbBuffer;
        } else
                p->in_len = 0;
        return st;
}

/* Decrypt everything in the inbox, re-entering ISC/ASC on SEC_I_RENEGOTIATE. */
static SECURITY_STATUS unseal_all(Peer *p, Peer *to, uint8_t *out, size_t *out_len, int *renegotiations) {
        SECURITY_STATUS st = SEC_E_OK;

        *out_len = 0;
        while (p->in_len) {
                st = unseal_once(p, out, out_len);
                if (st == SEC_I_RENEGOTIATE) {
                        (*renegotiations)++;
                        p->done = false;
                        st = peer_step(p, to);
                        if (st != SEC_E_OK)
                                return st;
                } else if (st != SEC_E_OK)
                        return st;
        }
        return st;
}

/* ---- the tests ---- */

static CredHandle srv_ec, srv_rsa, cli;

static void test_credentials(void) {
        CredHandle h;
        TimeStamp ts;
        SecPkgInfoA *info = NULL;
        SCH_CREDENTIALS sch = { 0 };
        TLS_PARAMETERS tp = { 0 };

        t_status(acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, 0, &srv_ec), SEC_E_OK, "server credential, ECDSA");
        t_status(acquire("server-rsa", SECPKG_CRED_INBOUND, 0, 0, 0, &srv_rsa), SEC_E_OK, "server credential, RSA");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, 0, SCH_CRED_NO_DEFAULT_CREDS, 0, &cli), SEC_E_OK,
                 "client credential without certificate");
        t_status(acquire("ungranted", SECPKG_CRED_INBOUND, 0, 0, 0, &h), SEC_E_NO_CREDENTIALS,
                 "certificate without a grant: SEC_E_NO_CREDENTIALS");
        t_status(acquire("ungranted", SECPKG_CRED_OUTBOUND, 0, 0, 0, &h), SEC_E_NO_CREDENTIALS,
                 "client certificate without a grant: SEC_E_NO_CREDENTIALS");
        /* Windows (since Vista) accepts a server SCHANNEL_CRED without a
         * certificate; AcceptSecurityContext then has none to serve. */
        if (t_status(acquire(NULL, SECPKG_CRED_INBOUND, 0, 0, 0, &h), SEC_E_OK,
                     "server credential without certificate: accepted")) {
                uint8_t hello[5] = { 22, 3, 1, 0, 0 };
                SecBuffer ib = { sizeof(hello), SECBUFFER_TOKEN, hello }, ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle x;
                ULONG attrs;
                t_status(AcceptSecurityContext(&h, NULL, &id, ASC_FLAGS, 0, &x, &od, &attrs, NULL),
                         SEC_E_NO_CREDENTIALS, "... and its AcceptSecurityContext: SEC_E_NO_CREDENTIALS");
                FreeCredentialsHandle(&h);
        }
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_SSL3_CLIENT, 0, 0, &h), SEC_E_ALGORITHM_MISMATCH,
                 "only SSL 3.0 enabled: SEC_E_ALGORITHM_MISMATCH");
        t_status(AcquireCredentialsHandleA(NULL, "Schannel", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &h, &ts),
                 SEC_E_OK, "\"Schannel\" without pAuthData");
        FreeCredentialsHandle(&h);
        t_status(AcquireCredentialsHandleA(NULL, "Default TLS SSP", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &h,
                                           &ts),
                 SEC_E_OK, "\"Default TLS SSP\" alias");
        FreeCredentialsHandle(&h);
        sch.dwVersion = SCH_CREDENTIALS_VERSION;
        sch.cTlsParameters = 1;
        sch.pTlsParameters = &tp;
        tp.grbitDisabledProtocols = SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sch, NULL, NULL, &h, &ts),
                 SEC_E_ALGORITHM_MISMATCH, "SCH_CREDENTIALS disabling TLS 1.2 and 1.3: SEC_E_ALGORITHM_MISMATCH");
        tp.grbitDisabledProtocols = SP_PROT_TLS1_2_CLIENT;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sch, NULL, NULL, &h, &ts),
                 SEC_E_OK, "SCH_CREDENTIALS with TLS_PARAMETERS");
        FreeCredentialsHandle(&h);
        t_status(AcquireCredentialsHandleA(NULL, "Schannel", SECPKG_CRED_OUTBOUND, NULL, &(SCHANNEL_CRED) { .dwVersion = 3 },
                                           NULL, NULL, &h, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "unknown SCHANNEL_CRED version");
        if (t_status(QuerySecurityPackageInfoA("Schannel", &info), SEC_E_OK, "QuerySecurityPackageInfo(Schannel)")) {
                t_ok(info->wRPCID == UNISP_RPC_ID && !strcmp(info->Name, "Schannel"), "rpcid 14, name Schannel");
                FreeContextBuffer(info);
        }
}

static void test_handshake(CredHandle *scred, DWORD client_protocols, const char *what, DWORD want_protocol) {
        Peer c, s;
        CredHandle cc;
        SecPkgContext_StreamSizes sz;
        SecPkgContext_ConnectionInfo ci;
        PCCERT_CONTEXT rc = NULL;
        SecPkgContext_Bindings bd = { 0 };
        uint8_t out[40000], big[16384];
        size_t out_len;
        int reneg = 0;

        if (!t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, client_protocols, 0, 0, &cc), SEC_E_OK, "%s: client cred",
                      what))
                return;
        peer_init(&c, false, &cc, "localhost");
        peer_init(&s, true, scred, NULL);
        if (!t_status(handshake(&c, &s), SEC_E_OK, "%s: handshake", what))
                goto out;
        t_ok((c.attrs & (ISC_RET_CONFIDENTIALITY | ISC_RET_STREAM | ISC_RET_ALLOCATED_MEMORY)) ==
                     (ISC_RET_CONFIDENTIALITY | ISC_RET_STREAM | ISC_RET_ALLOCATED_MEMORY),
             "%s: ISC attributes 0x%x", what, (unsigned) c.attrs);
        if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                     "%s: CONNECTION_INFO", what))
                t_ok(ci.dwProtocol == want_protocol, "%s: protocol 0x%x", what, (unsigned) ci.dwProtocol);
        if (t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                     "%s: server CONNECTION_INFO", what))
                t_ok(ci.dwProtocol == want_protocol >> 1, "%s: server protocol 0x%x", what, (unsigned) ci.dwProtocol);
        if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_STREAM_SIZES, &sz), SEC_E_OK, "%s: STREAM_SIZES",
                     what))
                t_ok(sz.cbMaximumMessage == 16384 && sz.cbHeader >= 5 && sz.cBuffers == 4,
                     "%s: sizes header %u trailer %u max %u", what, (unsigned) sz.cbHeader, (unsigned) sz.cbTrailer,
                     (unsigned) sz.cbMaximumMessage);
        if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_OK,
                     "%s: REMOTE_CERT_CONTEXT", what)) {
                Cert want;
                t_load_cert(pki, scred == &srv_rsa ? "server-rsa" : "server-ec", &want);
                t_ok(rc->cbCertEncoded == want.cc.cbCertEncoded &&
                             !memcmp(rc->pbCertEncoded, want.der, want.cc.cbCertEncoded),
                     "%s: remote certificate is the server's DER (%u bytes)", what, (unsigned) rc->cbCertEncoded);
                FreeContextBuffer((void *) rc);
        }
        if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_ENDPOINT_BINDINGS, &bd), SEC_E_OK,
                     "%s: ENDPOINT_BINDINGS", what)) {
                SecPkgContext_Bindings sb = { 0 };
                QueryContextAttributesA(&s.ctx, SECPKG_ATTR_ENDPOINT_BINDINGS, &sb);
                t_ok(sb.Bindings && bd.BindingsLength == sb.BindingsLength &&
                             !memcmp(bd.Bindings, sb.Bindings, bd.BindingsLength) &&
                             !memcmp((char *) bd.Bindings + bd.Bindings->dwApplicationDataOffset,
                                     "tls-server-end-point:", 21),
                     "%s: tls-server-end-point equal on both sides", what);
                FreeContextBuffer(bd.Bindings);
                FreeContextBuffer(sb.Bindings);
        }

        {
                SecPkgContext_KeyInfoA ki;
                SecPkgContext_CipherInfo ci2;
                SecPkgContext_NamesA nm;
                SecPkgContext_Lifespan ls;
                if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_KEY_INFO, &ki), SEC_E_OK, "%s: KEY_INFO",
                             what)) {
                        t_ok(ki.KeySize >= 128 && !strcmp(ki.sSignatureAlgorithmName, scred == &srv_rsa ? "RSA" : "ECDSA"),
                             "%s: KEY_INFO %s / %s, %u bits", what, ki.sSignatureAlgorithmName, ki.sEncryptAlgorithmName,
                             (unsigned) ki.KeySize);
                        FreeContextBuffer(ki.sSignatureAlgorithmName);
                        FreeContextBuffer(ki.sEncryptAlgorithmName);
                }
                if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CIPHER_INFO, &ci2), SEC_E_OK,
                             "%s: CIPHER_INFO", what))
                        t_ok(ci2.dwVersion == 1 && ci2.dwCipherLen >= 128 && ci2.szCipherSuite[0] == 'T' &&
                                     ci2.szCipherSuite[1] == 'L' && ci2.szCipherSuite[2] == 'S' &&
                                     ci2.dwProtocol == (want_protocol == SP_PROT_TLS1_3_CLIENT ? 0x304u : 0x303u),
                             "%s: CIPHER_INFO suite 0x%04x, protocol 0x%x", what, (unsigned) ci2.dwCipherSuite,
                             (unsigned) ci2.dwProtocol);
                if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_NAMES, &nm), SEC_E_OK, "%s: NAMES", what)) {
                        t_ok(!strcmp(nm.sUserName, "CN=localhost"), "%s: NAMES is the server's subject (%s)", what,
                             nm.sUserName);
                        FreeContextBuffer(nm.sUserName);
                }
                t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_LIFESPAN, &ls), SEC_E_OK, "%s: LIFESPAN", what);
        }
        if (want_protocol == SP_PROT_TLS1_2_CLIENT) {
                SecPkgContext_Bindings cb = { 0 }, sb = { 0 };
                if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_UNIQUE_BINDINGS, &cb), SEC_E_OK,
                             "%s: UNIQUE_BINDINGS", what) &&
                    t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_UNIQUE_BINDINGS, &sb), SEC_E_OK,
                             "%s: server UNIQUE_BINDINGS", what))
                        t_ok(cb.BindingsLength == sb.BindingsLength && cb.BindingsLength == sizeof(SEC_CHANNEL_BINDINGS) + 11 + 12 &&
                                     !memcmp(cb.Bindings, sb.Bindings, cb.BindingsLength) &&
                                     !memcmp((char *) cb.Bindings + sizeof(SEC_CHANNEL_BINDINGS), "tls-unique:", 11),
                             "%s: tls-unique equal on both sides (12-byte Finished)", what);
                FreeContextBuffer(cb.Bindings);
                FreeContextBuffer(sb.Bindings);
        } else {
                SecPkgContext_Bindings cb = { 0 };
                t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_UNIQUE_BINDINGS, &cb), SEC_E_UNSUPPORTED_FUNCTION,
                         "%s: no tls-unique in TLS 1.3", what);
        }

        /* Application data both ways, then a full-size record. */
        t_status(seal(&s, &c, "hello from the server", 21), SEC_E_OK, "%s: server EncryptMessage", what);
        if (t_status(unseal_all(&c, &s, out, &out_len, &reneg), SEC_E_OK, "%s: client DecryptMessage", what))
                t_ok(out_len == 21 && !memcmp(out, "hello from the server", 21), "%s: client got 21 bytes", what);
        if (want_protocol == SP_PROT_TLS1_3_CLIENT)
                t_ok(reneg >= 1, "%s: NewSessionTicket came as SEC_I_RENEGOTIATE (%d)", what, reneg);
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t) (i * 7);
        t_status(seal(&c, &s, big, sizeof(big)), SEC_E_OK, "%s: client EncryptMessage 16 KiB", what);
        t_status(seal(&c, &s, "tail", 4), SEC_E_OK, "%s: second record", what);
        /* Two records in one buffer: the first DecryptMessage reports the
         * second as EXTRA. */
        {
                size_t got = 0;
                SECURITY_STATUS st = unseal_once(&s, out, &got);
                t_status(st, SEC_E_OK, "%s: first of two records", what);
                t_ok(got == sizeof(big) && !memcmp(out, big, sizeof(big)) && s.in_len > 0,
                     "%s: 16384 bytes, second record left as EXTRA (%zu)", what, s.in_len);
                got = 0;
                st = unseal_once(&s, out, &got);
                t_ok(st == SEC_E_OK && got == 4 && !memcmp(out, "tail", 4) && s.in_len == 0,
                     "%s: second record from EXTRA", what);
        }
out:
        peer_done(&c);
        peer_done(&s);
        FreeCredentialsHandle(&cc);
}

static void expect_failure(const char *server_cert, const char *target, DWORD flags, SECURITY_STATUS want,
                           const char *what) {
        CredHandle sc, cc;
        Peer c, s;

        if (!t_status(acquire(server_cert, SECPKG_CRED_INBOUND, 0, 0, 0, &sc), SEC_E_OK, "%s: server cred", what))
                return;
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, flags, 0, &cc);
        peer_init(&c, false, &cc, target);
        peer_init(&s, true, &sc, NULL);
        t_status(handshake(&c, &s), want, "%s", what);
        peer_done(&c);
        peer_done(&s);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* The W entry points with UNISP_NAME_W. */
static void test_wide(void) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        CredHandle cc;
        CtxtHandle ctx;
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        TimeStamp ts;
        ULONG attrs;

        if (!t_status(AcquireCredentialsHandleW(NULL, UNISP_NAME_W, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &cc,
                                                &ts),
                      SEC_E_OK, "AcquireCredentialsHandleW(UNISP_NAME_W, SCHANNEL_CRED)"))
                return;
        if (t_status(InitializeSecurityContextW(&cc, NULL, (SEC_WCHAR *) u"localhost", ISC_FLAGS, 0, 0, NULL, 0, &ctx,
                                                &od, &attrs, NULL),
                     SEC_I_CONTINUE_NEEDED, "InitializeSecurityContextW: ClientHello")) {
                /* The SNI extension carries the name (type 0, "localhost"). */
                t_ok(ob.cbBuffer > 0 && memmem(ob.pvBuffer, ob.cbBuffer, "\x00\x00\x09localhost", 12) != NULL,
                     "SNI \"localhost\" in the ClientHello");
                FreeContextBuffer(ob.pvBuffer);
                DeleteSecurityContext(&ctx);
        }
        FreeCredentialsHandle(&cc);
}

static void test_statuses(void) {
        Peer c;
        SECURITY_STATUS st;

        expect_failure("wrongname", "localhost", 0, SEC_E_WRONG_PRINCIPAL, "certificate for another name: SEC_E_WRONG_PRINCIPAL");
        expect_failure("server-ec", "other.example", 0, SEC_E_WRONG_PRINCIPAL, "target name not in the certificate: SEC_E_WRONG_PRINCIPAL");
        expect_failure("wrongname", "localhost", SCH_CRED_NO_SERVERNAME_CHECK, SEC_E_OK, "SCH_CRED_NO_SERVERNAME_CHECK accepts it");
        expect_failure("expired", "localhost", 0, SEC_E_CERT_EXPIRED, "expired certificate: SEC_E_CERT_EXPIRED");
        expect_failure("untrusted", "localhost", 0, SEC_E_UNTRUSTED_ROOT, "unknown CA: SEC_E_UNTRUSTED_ROOT");
        expect_failure("clientonly", "localhost", 0, SEC_E_CERT_UNKNOWN,
                       "server certificate for client authentication only: SEC_E_CERT_UNKNOWN");
        expect_failure("untrusted", "localhost", SCH_CRED_MANUAL_CRED_VALIDATION, SEC_E_OK,
                       "SCH_CRED_MANUAL_CRED_VALIDATION: the caller judges");
        expect_failure("server-ec", "127.0.0.1", 0, SEC_E_OK, "IP address target matched against the SAN");
        expect_failure("server-ec", "localhost", SCH_CRED_REVOCATION_CHECK_CHAIN, (SECURITY_STATUS) 0x80092012,
                       "revocation check without CRLs: CRYPT_E_NO_REVOCATION_CHECK");

        peer_init(&c, false, &cli, "localhost");
        c.flags |= ISC_REQ_DELEGATE;
        st = peer_step(&c, NULL);
        t_status(st, SEC_E_UNSUPPORTED_FUNCTION, "ISC_REQ_DELEGATE: SEC_E_UNSUPPORTED_FUNCTION");
        peer_init(&c, false, &cli, "localhost");
        c.flags |= ISC_REQ_PROMPT_FOR_CREDS;
        t_status(peer_step(&c, NULL), SEC_E_UNSUPPORTED_FUNCTION, "ISC_REQ_PROMPT_FOR_CREDS: SEC_E_UNSUPPORTED_FUNCTION");
}

/* The handshake with every byte delivered on its own. */
static void test_byte_at_a_time(void) {
        Peer c, s;
        uint8_t wire_cs[65536], wire_sc[65536];
        size_t n_cs = 0, n_sc = 0, off_cs = 0, off_sc = 0;
        SECURITY_STATUS st;
        int calls = 0;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        /* Outputs go to wires; inboxes are filled one byte per call. */
        {
                static Peer wc, ws; /* scratch receivers for the wires */
                ws.in_len = wc.in_len = 0;
                st = peer_step(&c, &ws);
                memcpy(wire_cs, ws.in, ws.in_len);
                n_cs = ws.in_len;
                while (st >= 0 && !(c.done && s.done) && calls < 20000) {
                        if (!s.done && off_cs < n_cs) {
                                s.in[s.in_len++] = wire_cs[off_cs++];
                                ws.in_len = 0;
                                calls++;
                                st = peer_step(&s, &ws);
                                if (st == SEC_E_INCOMPLETE_MESSAGE)
                                        st = SEC_I_CONTINUE_NEEDED;
                                memcpy(wire_sc + n_sc, ws.in, ws.in_len);
                                n_sc += ws.in_len;
                        } else if (!c.done && off_sc < n_sc) {
                                c.in[c.in_len++] = wire_sc[off_sc++];
                                wc.in_len = 0;
                                calls++;
                                st = peer_step(&c, &wc);
                                if (st == SEC_E_INCOMPLETE_MESSAGE)
                                        st = SEC_I_CONTINUE_NEEDED;
                                memcpy(wire_cs + n_cs, wc.in, wc.in_len);
                                n_cs += wc.in_len;
                        } else
                                break;
                }
        }
        t_ok(c.done && s.done, "byte-at-a-time handshake completes (%d calls)", calls);
        t_ok(c.missing_seen > 10 && s.missing_seen > 10, "SECBUFFER_MISSING on partial records (%d client, %d server)",
             c.missing_seen, s.missing_seen);
        peer_done(&c);
        peer_done(&s);
}

/* Caller-supplied output buffers instead of ISC_REQ_ALLOCATE_MEMORY. */
static void test_caller_buffers(void) {
        static uint8_t tok[16384];
        SecBuffer ob = { 10, SECBUFFER_TOKEN, tok };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        ULONG flags = ISC_FLAGS & ~(ULONG) ISC_REQ_ALLOCATE_MEMORY;

        t_status(InitializeSecurityContextA(&cli, NULL, "localhost", flags, 0, 0, NULL, 0, &ctx, &od, &attrs, NULL),
                 SEC_E_BUFFER_TOO_SMALL, "ClientHello into a 10-byte caller buffer: SEC_E_BUFFER_TOO_SMALL");
        ob.cbBuffer = sizeof(tok);
        if (t_status(InitializeSecurityContextA(&cli, NULL, "localhost", flags, 0, 0, NULL, 0, &ctx, &od, &attrs,
                                                NULL),
                     SEC_I_CONTINUE_NEEDED, "ClientHello into a caller buffer")) {
                t_ok(ob.pvBuffer == tok && ob.cbBuffer > 100 && tok[0] == 22 && !(attrs & ISC_RET_ALLOCATED_MEMORY),
                     "written in place (%u bytes, handshake record), no ISC_RET_ALLOCATED_MEMORY",
                     (unsigned) ob.cbBuffer);
                DeleteSecurityContext(&ctx);
        }
}

/* A first ISC output cut short: MISSING says exactly how many bytes. */
static void test_missing_count(void) {
        Peer c, s, sink;
        SecBuffer ib[2], ob[1] = { { 0, SECBUFFER_TOKEN, NULL } };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, ob };
        size_t full;
        SECURITY_STATUS st;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        memset(&sink, 0, sizeof(sink));
        peer_step(&c, &sink);
        full = sink.in_len;
        ib[0] = (SecBuffer) { 3, SECBUFFER_TOKEN, sink.in };
        ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = AcceptSecurityContext(&srv_ec, NULL, &id, ASC_FLAGS, 0, &s.ctx, &od, &s.attrs, NULL);
        t_status(st, SEC_E_INCOMPLETE_MESSAGE, "3 bytes of a ClientHello: SEC_E_INCOMPLETE_MESSAGE");
        t_ok(ib[1].BufferType == SECBUFFER_MISSING && ib[1].cbBuffer == 2, "MISSING 2 (header) got type %u count %u",
             (unsigned) ib[1].BufferType, (unsigned) ib[1].cbBuffer);
        ib[0].cbBuffer = (ULONG) full - 10;
        ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = AcceptSecurityContext(&srv_ec, NULL, &id, ASC_FLAGS, 0, &s.ctx, &od, &s.attrs, NULL);
        t_status(st, SEC_E_INCOMPLETE_MESSAGE, "ClientHello less 10 bytes: SEC_E_INCOMPLETE_MESSAGE");
        t_ok(ib[1].BufferType == SECBUFFER_MISSING && ib[1].cbBuffer == 10, "MISSING 10, got %u",
             (unsigned) ib[1].cbBuffer);
        peer_done(&c);
}

static void test_records(void) {
        Peer c, s;
        uint8_t out[40000];
        size_t out_len = 0;
        int reneg = 0;
        SECURITY_STATUS st;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        if (!t_status(handshake(&c, &s), SEC_E_OK, "records: handshake"))
                goto out;
        /* Tickets first. */
        seal(&s, &c, "x", 1);
        unseal_all(&c, &s, out, &out_len, &reneg);

        /* Truncated: MISSING counts the rest of the record. */
        seal(&c, &s, "truncate me", 11);
        {
                size_t full = s.in_len;
                SecBuffer b[4] = { { (ULONG) full - 7, SECBUFFER_DATA, s.in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&s.ctx, &d, 0, NULL);
                t_status(st, SEC_E_INCOMPLETE_MESSAGE, "short record: SEC_E_INCOMPLETE_MESSAGE");
                /* As on Windows, the DATA buffer itself becomes MISSING. */
                t_ok(b[0].BufferType == SECBUFFER_MISSING && b[0].cbBuffer == 7 && b[1].BufferType == SECBUFFER_EMPTY,
                     "buffer 0 MISSING 7 (got type %u, %u)", (unsigned) b[0].BufferType, (unsigned) b[0].cbBuffer);
                out_len = 0;
                st = unseal_once(&s, out, &out_len);
                t_ok(st == SEC_E_OK && out_len == 11 && !memcmp(out, "truncate me", 11),
                     "the whole record decrypts afterwards");
        }
        /* The Windows layout: HEADER, DATA, TRAILER pointing into the input. */
        seal(&c, &s, "layout", 6);
        {
                SecBuffer b[4] = { { (ULONG) s.in_len, SECBUFFER_DATA, s.in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&s.ctx, &d, 0, NULL);
                t_status(st, SEC_E_OK, "DecryptMessage in place");
                t_ok(b[0].BufferType == SECBUFFER_STREAM_HEADER && b[0].pvBuffer == s.in &&
                             b[1].BufferType == SECBUFFER_DATA && b[1].pvBuffer == s.in + b[0].cbBuffer &&
                             b[1].cbBuffer == 6 && !memcmp(b[1].pvBuffer, "layout", 6) &&
                             b[2].BufferType == SECBUFFER_STREAM_TRAILER &&
                             (uint8_t *) b[2].pvBuffer == s.in + b[0].cbBuffer + 6 &&
                             b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer == s.in_len &&
                             b[3].BufferType == SECBUFFER_EMPTY,
                     "HEADER/DATA/TRAILER point into the caller's buffer");
                s.in_len = 0;
        }
        /* Corrupted: one bit in the ciphertext. */
        seal(&c, &s, "corrupt me", 10);
        s.in[8] ^= 0x20;
        out_len = 0;
        t_status(unseal_once(&s, out, &out_len), SEC_E_DECRYPT_FAILURE, "corrupted record: SEC_E_DECRYPT_FAILURE");
        t_status(unseal_once(&s, out, &out_len), SEC_E_CONTEXT_EXPIRED, "the context is dead afterwards");
out:
        peer_done(&c);
        peer_done(&s);
}

static void test_shutdown(void) {
        Peer c, s;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0;
        DWORD token = SCHANNEL_SHUTDOWN;
        SecBuffer tb = { sizeof(token), SECBUFFER_TOKEN, &token };
        SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb };

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        if (!t_status(handshake(&c, &s), SEC_E_OK, "shutdown: handshake"))
                goto out;
        seal(&s, &c, "x", 1);
        unseal_all(&c, &s, out, &out_len, &reneg);
        t_status(ApplyControlToken(&c.ctx, &td), SEC_E_OK, "ApplyControlToken(SCHANNEL_SHUTDOWN)");
        c.done = false;
        c.in_len = 0;
        t_status(peer_step(&c, &s), SEC_E_OK, "ISC after the shutdown token produces close_notify");
        t_ok(s.in_len > 0, "close_notify record (%zu bytes)", s.in_len);
        out_len = 0;
        t_status(unseal_once(&s, out, &out_len), SEC_I_CONTEXT_EXPIRED, "server DecryptMessage: SEC_I_CONTEXT_EXPIRED");
        t_status(seal(&c, &s, "late", 4), SEC_E_CONTEXT_EXPIRED, "EncryptMessage after shutdown: SEC_E_CONTEXT_EXPIRED");
        t_status(ApplyControlToken(&s.ctx, &(SecBufferDesc) { SECBUFFER_VERSION, 1,
                                                              &(SecBuffer) { 4, SECBUFFER_TOKEN, &(DWORD) { 99 } } }),
                 SEC_E_UNSUPPORTED_FUNCTION, "unknown control token: SEC_E_UNSUPPORTED_FUNCTION");
out:
        peer_done(&c);
        peer_done(&s);
}

/* The store behind REMOTE_CERT_CONTEXT: references, handles, and pointers
 * the library never handed out. */
static void test_cert_store(void) {
        Peer c, s;
        PCCERT_CONTEXT rc = NULL, dup, e;
        HCERTSTORE store;
        Cert own;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_rsa, NULL);
        if (!t_status(handshake(&c, &s), SEC_E_OK, "cert store: handshake") ||
            !t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_OK,
                      "cert store: REMOTE_CERT_CONTEXT"))
                goto out;
        store = rc->hCertStore;
        dup = CertDuplicateCertificateContext(rc);
        t_ok(dup == rc, "CertDuplicateCertificateContext returns the same context");
        t_ok(CertDuplicateStore(store) == store, "CertDuplicateStore returns the store");
        t_ok(CertFreeCertificateContext(rc), "CertFreeCertificateContext (one of two references)");
        t_ok(FreeContextBuffer((void *) dup) == SEC_E_OK, "FreeContextBuffer on a context (older programs)");
        e = CertEnumCertificatesInStore(store, NULL);
        t_ok(e && e->cbCertEncoded > 0, "the store lives on while a handle holds it");
        t_ok(CertEnumCertificatesInStore(store, e) == NULL, "one certificate: the enumeration ends");
        t_ok(CertCloseStore(store, 0), "CertCloseStore of the duplicated handle");
        t_ok(CertEnumCertificatesInStore(store, NULL) == NULL, "a released store enumerates nothing");
        t_ok(!CertCloseStore(store, 0), "CertCloseStore of a released store: FALSE");
        t_ok(CertCloseStore(NULL, 0), "CertCloseStore(NULL): TRUE");
        t_load_cert(pki, "client", &own);
        t_ok(CertDuplicateCertificateContext(&own.cc) == &own.cc && CertFreeCertificateContext(&own.cc) &&
                     CertFreeCertificateContext(NULL),
             "contexts of the caller's own making are left alone");
        t_ok(CertEnumCertificatesInStore(&own, NULL) == NULL, "a pointer that is no store enumerates nothing");
out:
        peer_done(&c);
        peer_done(&s);
}

static void test_client_auth(void) {
        Peer c, s;
        CredHandle withcert, nocert;
        PCCERT_CONTEXT rc = NULL;
        SECURITY_STATUS st;

        /* Asked, none given: SEC_I_INCOMPLETE_CREDENTIALS, then a credential with one. */
        /* Fresh credentials: a resumed session asks for no certificate. */
        acquire("client", SECPKG_CRED_OUTBOUND, 0, 0, 0, &withcert);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, SCH_CRED_NO_DEFAULT_CREDS, 0, &nocert);
        peer_init(&c, false, &nocert, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        s.flags |= ASC_REQ_MUTUAL_AUTH;
        st = peer_step(&c, &s);
        st = peer_step(&s, &c);
        st = peer_step(&c, &s);
        t_status(st, SEC_I_INCOMPLETE_CREDENTIALS, "certificate requested, none in the credential: SEC_I_INCOMPLETE_CREDENTIALS");
        {
                SecPkgContext_IssuerListInfoEx il = { 0 };
                if (t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_ISSUER_LIST_EX, &il), SEC_E_OK,
                             "ISSUER_LIST_EX after SEC_I_INCOMPLETE_CREDENTIALS"))
                        t_ok(il.cIssuers == 1 && il.aIssuers[0].cbData > 10 &&
                                     memmem(il.aIssuers[0].pbData, il.aIssuers[0].cbData, "sspid test ca", 13) != NULL,
                             "the server accepts one issuer: the test CA (%u)", (unsigned) il.cIssuers);
                FreeContextBuffer(il.aIssuers);
        }
        c.leg_cred = &withcert;
        t_status(handshake(&c, &s), SEC_E_OK, "a credential with a certificate on the next ISC");
        t_ok(s.attrs & ASC_RET_MUTUAL_AUTH, "ASC_RET_MUTUAL_AUTH");
        if (t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_OK,
                     "server sees the client certificate")) {
                Cert want;
                t_load_cert(pki, "client", &want);
                t_ok(rc->cbCertEncoded == want.cc.cbCertEncoded && !memcmp(rc->pbCertEncoded, want.der, want.cc.cbCertEncoded),
                     "it is the client's DER");
                FreeContextBuffer((void *) rc);
        }
        peer_done(&c);
        peer_done(&s);

        /* Asked, carry on without. */
        FreeCredentialsHandle(&nocert);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, SCH_CRED_NO_DEFAULT_CREDS, 0, &nocert);
        peer_init(&c, false, &nocert, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        s.flags |= ASC_REQ_MUTUAL_AUTH;
        peer_step(&c, &s);
        peer_step(&s, &c);
        t_status(peer_step(&c, &s), SEC_I_INCOMPLETE_CREDENTIALS, "again SEC_I_INCOMPLETE_CREDENTIALS");
        t_status(handshake(&c, &s), SEC_E_OK, "calling ISC again goes on without a certificate");
        t_ok(!(s.attrs & ASC_RET_MUTUAL_AUTH), "no ASC_RET_MUTUAL_AUTH then");
        t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_NO_CREDENTIALS,
                 "no client certificate: SEC_E_NO_CREDENTIALS");
        peer_done(&c);
        peer_done(&s);

        /* Client credential with its certificate from the start. */
        peer_init(&c, false, &withcert, "localhost");
        peer_init(&s, true, &srv_rsa, NULL);
        s.flags |= ASC_REQ_MUTUAL_AUTH;
        t_status(handshake(&c, &s), SEC_E_OK, "client certificate in the first credential");
        t_ok(s.attrs & ASC_RET_MUTUAL_AUTH, "ASC_RET_MUTUAL_AUTH");
        peer_done(&c);
        peer_done(&s);
        FreeCredentialsHandle(&withcert);
        FreeCredentialsHandle(&nocert);
}

static size_t alpn_list(uint8_t *buf, const char *const *ids) {
        size_t n = 0;
        uint32_t total;
        uint32_t ext = SecApplicationProtocolNegotiationExt_ALPN;
        uint16_t len = 0;

        for (const char *const *p = ids; *p; p++) {
                buf[10 + len] = (uint8_t) strlen(*p);
                memcpy(buf + 11 + len, *p, strlen(*p));
                len += 1 + strlen(*p);
        }
        memcpy(buf + 4, &ext, 4);
        memcpy(buf + 8, &len, 2);
        total = 6 + len;
        memcpy(buf, &total, 4);
        n = 4 + total;
        return n;
}

static void test_alpn(void) {
        Peer c, s;
        uint8_t cl[64], sl[64];
        SecPkgContext_ApplicationProtocol ap;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        c.alpn = cl;
        c.alpn_len = alpn_list(cl, (const char *const[]) { "h2", "http/1.1", NULL });
        s.alpn = sl;
        s.alpn_len = alpn_list(sl, (const char *const[]) { "http/1.1", NULL });
        if (t_status(handshake(&c, &s), SEC_E_OK, "ALPN handshake") &&
            t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_APPLICATION_PROTOCOL, &ap), SEC_E_OK,
                     "APPLICATION_PROTOCOL"))
                t_ok(ap.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success &&
                             ap.ProtoNegoExt == SecApplicationProtocolNegotiationExt_ALPN && ap.ProtocolIdSize == 8 &&
                             !memcmp(ap.ProtocolId, "http/1.1", 8),
                     "http/1.1 selected");
        peer_done(&c);
        peer_done(&s);
        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        c.alpn = cl;
        c.alpn_len = alpn_list(cl, (const char *const[]) { "h2", NULL });
        s.alpn = sl;
        s.alpn_len = alpn_list(sl, (const char *const[]) { "http/1.1", NULL });
        t_status(handshake(&c, &s), SEC_E_APPLICATION_PROTOCOL_MISMATCH, "no common protocol: SEC_E_APPLICATION_PROTOCOL_MISMATCH");
        t_ok(s.alert_len == 7 && s.alert[0] == 21 && s.alert[5] == 2 && s.alert[6] == 120,
             "the server's fatal no_application_protocol alert in SECBUFFER_ALERT (%zu bytes)", s.alert_len);
        peer_done(&c);
        peer_done(&s);
}

/* One connection: handshake, pick up the tickets, close. Returns whether
 * the session was resumed (SECPKG_ATTR_SESSION_INFO). */
static int connect_once(CredHandle *cc, CredHandle *sc, const char *target) {
        Peer c, s;
        SecPkgContext_SessionInfo si;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0, resumed = -1;

        peer_init(&c, false, cc, target);
        peer_init(&s, true, sc, NULL);
        if (handshake(&c, &s) == SEC_E_OK && QueryContextAttributesA(&c.ctx, SECPKG_ATTR_SESSION_INFO, &si) == SEC_E_OK) {
                resumed = (si.dwFlags & SSL_SESSION_RECONNECT) != 0;
                seal(&s, &c, "t", 1);
                unseal_all(&c, &s, out, &out_len, &reneg);
        }
        peer_done(&c);
        peer_done(&s);
        return resumed;
}

static void test_session_cache(void) {
        CredHandle cc, cc2, short_cc;
        int r;

        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, 0, &cc);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, 0, &cc2);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, 1, &short_cc);
        t_ok(connect_once(&cc, &srv_ec, "localhost") == 0, "first connection: full handshake");
        t_ok(connect_once(&cc, &srv_ec, "localhost") == 1, "same target, process, uid and credential: resumed");
        t_ok(connect_once(&cc, &srv_ec, "127.0.0.1") == 0, "other target name: not resumed");
        t_ok(connect_once(&cc2, &srv_ec, "localhost") == 0, "other credential handle: not resumed");
        connect_once(&short_cc, &srv_ec, "localhost");
        usleep(20000);
        t_ok(connect_once(&short_cc, &srv_ec, "localhost") == 0, "entry past dwSessionLifespan (1 ms): not resumed");

        /* Another process (and, as root, another logon session) has its own
         * connection: the handles above are not even valid there, and its
         * own credential starts with an empty cache. */
        fflush(stdout);
        for (int uid_change = 0; uid_change < 2; uid_change++) {
                pid_t pid = fork();
                if (pid == 0) {
                        CredHandle mine;
                        int code;
                        if (uid_change && getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
                                _exit(3);
                        if (uid_change && getuid() != 65534)
                                _exit(4); /* not root: cannot test */
                        code = connect_once(&cc, &srv_ec, "localhost") == -1 ? 0 : 1;
                        if (!uid_change && acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, 0, &mine) == SEC_E_OK &&
                            connect_once(&mine, &srv_ec, "localhost") != -1)
                                code |= 2;
                        _exit(code);
                }
                waitpid(pid, &r, 0);
                if (uid_change)
                        t_ok(WIFEXITED(r) && (WEXITSTATUS(r) == 0 || WEXITSTATUS(r) == 4),
                             "other logon session (uid 65534): the parent's credential is not usable, no resumption");
                else
                        t_ok(WIFEXITED(r) && WEXITSTATUS(r) == 0,
                             "other process: the parent's credential is not usable, no resumption (exit %d)",
                             WEXITSTATUS(r));
        }
        t_ok(connect_once(&cc, &srv_ec, "localhost") == 1, "back in the first process: still resumed");
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&cc2);
        FreeCredentialsHandle(&short_cc);
}

/* ---- after the handshake: a server asks for a client certificate ---- */

static SECURITY_STATUS control(Peer *p, const void *token, size_t len) {
        SecBuffer tb = { (ULONG) len, SECBUFFER_TOKEN, (void *) token };
        SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb };
        return ApplyControlToken(&p->ctx, &td);
}

/* Client certificate requested after the handshake: TLS 1.3 post-handshake
 * authentication, or a TLS 1.2 renegotiation (HelloRequest). `answer`:
 * 0 the client's credential has the certificate already, 1 supplied after
 * SEC_I_INCOMPLETE_CREDENTIALS, 2 carries on without. */
static void test_late_client_cert(bool tls12, int answer, bool async, const char *what) {
        CredHandle nocert, withcert;
        Peer c, s;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0;
        DWORD prot = tls12 ? SP_PROT_TLS1_2_CLIENT : 0;
        SECURITY_STATUS st;
        SecPkgContext_StreamSizes sz;

        acquire(NULL, SECPKG_CRED_OUTBOUND, prot, SCH_CRED_NO_DEFAULT_CREDS, 0, &nocert);
        acquire("client", SECPKG_CRED_OUTBOUND, prot, 0, 0, &withcert);
        peer_init(&c, false, answer == 0 ? &withcert : &nocert, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        if (async) {
                c.ac = SspiCreateAsyncContext();
                s.ac = SspiCreateAsyncContext();
        }
        if (!t_status(handshake(&c, &s), SEC_E_OK, "%s: handshake without client authentication", what))
                goto out;
        t_ok(!(s.attrs & ASC_RET_MUTUAL_AUTH), "%s: no ASC_RET_MUTUAL_AUTH yet", what);
        seal(&s, &c, "x", 1);
        unseal_all(&c, &s, out, &out_len, &reneg); /* the tickets */

        /* The server: ASC with ASC_REQ_MUTUAL_AUTH on the established context. */
        s.flags |= ASC_REQ_MUTUAL_AUTH;
        t_status(peer_step(&s, &c), SEC_E_OK, "%s: ASC(ASC_REQ_MUTUAL_AUTH) on the established context", what);
        t_ok(c.in_len > 0, "%s: %s to the client (%zu bytes)", what, tls12 ? "HelloRequest" : "CertificateRequest",
             c.in_len);
        t_status(unseal_once(&c, out, &out_len), SEC_I_RENEGOTIATE, "%s: client DecryptMessage: SEC_I_RENEGOTIATE",
                 what);
        t_status(seal(&c, &s, "no", 2), SEC_E_CONTEXT_EXPIRED,
                 "%s: EncryptMessage before ISC answered: SEC_E_CONTEXT_EXPIRED", what);
        c.done = false;
        if (tls12) {
                t_status(peer_step(&c, &s), SEC_I_CONTINUE_NEEDED, "%s: ISC: ClientHello", what);
                t_status(unseal_once(&s, out, &out_len), SEC_I_RENEGOTIATE, "%s: server DecryptMessage: SEC_I_RENEGOTIATE", what);
                s.done = false;
                t_status(peer_step(&s, &c), SEC_I_CONTINUE_NEEDED, "%s: ASC: the server's flight", what);
        }
        if (answer == 0) {
                st = peer_step(&c, &s);
                t_status(st, tls12 ? SEC_I_CONTINUE_NEEDED : SEC_E_OK, "%s: ISC answers with the credential's certificate", what);
        } else {
                t_status(peer_step(&c, &s), SEC_I_INCOMPLETE_CREDENTIALS,
                         "%s: ISC: SEC_I_INCOMPLETE_CREDENTIALS (no certificate in the credential)", what);
                c.leg_cred = answer == 1 ? &withcert : NULL;
                st = peer_step(&c, &s);
                t_status(st, tls12 ? SEC_I_CONTINUE_NEEDED : SEC_E_OK, "%s: ISC %s", what,
                         answer == 1 ? "with a new credential: Certificate, CertificateVerify, Finished"
                                     : "again without a credential: empty Certificate");
        }
        if (tls12) {
                t_status(peer_step(&s, &c), SEC_E_OK, "%s: ASC completes the renegotiation", what);
                t_status(peer_step(&c, &s), SEC_E_OK, "%s: ISC completes the renegotiation", what);
        } else {
                st = unseal_once(&s, out, &out_len);
                t_status(st, SEC_I_RENEGOTIATE, "%s: server DecryptMessage: SEC_I_RENEGOTIATE", what);
                s.done = false;
                t_status(peer_step(&s, &c), SEC_E_OK, "%s: ASC with the rest: SEC_E_OK", what);
        }
        if (answer == 2) {
                t_ok(!(s.attrs & ASC_RET_MUTUAL_AUTH), "%s: still no ASC_RET_MUTUAL_AUTH", what);
        } else {
                PCCERT_CONTEXT rc = NULL;
                Cert want;
                t_ok(s.attrs & ASC_RET_MUTUAL_AUTH, "%s: ASC_RET_MUTUAL_AUTH", what);
                t_load_cert(pki, "client", &want);
                if (t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_OK,
                             "%s: server REMOTE_CERT_CONTEXT", what))
                        t_ok(rc->cbCertEncoded == want.cc.cbCertEncoded &&
                                     !memcmp(rc->pbCertEncoded, want.cc.pbCertEncoded, rc->cbCertEncoded),
                             "%s: it is the client certificate (%u bytes)", what, (unsigned) rc->cbCertEncoded);
                FreeContextBuffer((void *) rc);
        }
        t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_STREAM_SIZES, &sz), SEC_E_OK, "%s: client STREAM_SIZES", what);
        t_status(seal(&c, &s, "after", 5), SEC_E_OK, "%s: client EncryptMessage afterwards", what);
        st = unseal_all(&s, &c, out, &out_len, &reneg);
        t_ok(st == SEC_E_OK && out_len == 5 && !memcmp(out, "after", 5), "%s: server decrypts it", what);
        t_status(seal(&s, &c, "back", 4), SEC_E_OK, "%s: server EncryptMessage afterwards", what);
        st = unseal_all(&c, &s, out, &out_len, &reneg);
        t_ok(st == SEC_E_OK && out_len == 4 && !memcmp(out, "back", 4), "%s: client decrypts it", what);
out:
        peer_done(&c);
        peer_done(&s);
        SspiFreeAsyncContext(c.ac);
        SspiFreeAsyncContext(s.ac);
        FreeCredentialsHandle(&nocert);
        FreeCredentialsHandle(&withcert);
}

/* A client certificate request via ApplyControlToken(SCHANNEL_RENEGOTIATE),
 * and the statuses around it. */
static void test_renegotiate_token(void) {
        CredHandle withcert;
        Peer c, s;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0;
        DWORD token = SCHANNEL_RENEGOTIATE;

        acquire("client", SECPKG_CRED_OUTBOUND, 0, 0, 0, &withcert);
        peer_init(&c, false, &withcert, "localhost");
        peer_init(&s, true, &srv_rsa, NULL);
        handshake(&c, &s);
        seal(&s, &c, "x", 1);
        unseal_all(&c, &s, out, &out_len, &reneg);
        t_status(control(&c, &token, 4), SEC_E_UNSUPPORTED_FUNCTION, "client ApplyControlToken(SCHANNEL_RENEGOTIATE): SEC_E_UNSUPPORTED_FUNCTION");
        t_status(control(&s, &token, 4), SEC_E_OK, "server ApplyControlToken(SCHANNEL_RENEGOTIATE)");
        t_status(peer_step(&s, &c), SEC_E_OK, "ASC then sends a CertificateRequest");
        t_status(unseal_once(&c, out, &out_len), SEC_I_RENEGOTIATE, "client: SEC_I_RENEGOTIATE");
        t_status(peer_step(&c, &s), SEC_E_OK, "client answers with its certificate");
        t_status(unseal_once(&s, out, &out_len), SEC_I_RENEGOTIATE, "server: SEC_I_RENEGOTIATE");
        t_status(peer_step(&s, &c), SEC_E_OK, "server: SEC_E_OK");
        t_ok(s.attrs & ASC_RET_MUTUAL_AUTH, "ASC_RET_MUTUAL_AUTH");
        peer_done(&c);
        peer_done(&s);
        FreeCredentialsHandle(&withcert);
}

/* ---- alerts ---- */

/* A server certificate our client rejects: the alert in SECBUFFER_ALERT,
 * and the server's status once it reads it says which alert it was. */
static void alert_for(const char *server_cert, DWORD prot, SECURITY_STATUS want_client, uint8_t want_alert,
                      SECURITY_STATUS want_server, bool async, const char *what) {
        CredHandle sc, cc;
        Peer c, s;

        acquire(server_cert, SECPKG_CRED_INBOUND, 0, 0, 0, &sc);
        acquire(NULL, SECPKG_CRED_OUTBOUND, prot, 0, 0, &cc);
        peer_init(&c, false, &cc, "localhost");
        peer_init(&s, true, &sc, NULL);
        if (async) {
                c.ac = SspiCreateAsyncContext();
                s.ac = SspiCreateAsyncContext();
        }
        t_status(handshake(&c, &s), want_client, "%s: client status", what);
        t_ok(c.alert_len > 0, "%s: SECBUFFER_ALERT holds the alert (%zu bytes)", what, c.alert_len);
        if (prot == SP_PROT_TLS1_2_CLIENT)
                t_ok(c.alert_len == 7 && c.alert[0] == 21 && c.alert[5] == 2 && c.alert[6] == want_alert,
                     "%s: fatal alert %u in the clear", what, want_alert);
        memcpy(s.in, c.alert, c.alert_len);
        s.in_len = c.alert_len;
        t_status(peer_step(&s, &c), want_server, "%s: the server reads the alert", what);
        peer_done(&c);
        peer_done(&s);
        SspiFreeAsyncContext(c.ac);
        SspiFreeAsyncContext(s.ac);
        FreeCredentialsHandle(&sc);
        FreeCredentialsHandle(&cc);
}

static void test_alerts(void) {
        Peer c, s;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0;
        CredHandle cc12, sc12;
        SCHANNEL_ALERT_TOKEN at = { SCHANNEL_ALERT, TLS1_ALERT_FATAL, TLS1_ALERT_HANDSHAKE_FAILURE };

        alert_for("untrusted", 0, SEC_E_UNTRUSTED_ROOT, 48, SEC_E_UNTRUSTED_ROOT, false, "untrusted root, TLS 1.3");
        alert_for("untrusted", SP_PROT_TLS1_2_CLIENT, SEC_E_UNTRUSTED_ROOT, 48, SEC_E_UNTRUSTED_ROOT, false,
                  "untrusted root, TLS 1.2");
        alert_for("untrusted", SP_PROT_TLS1_2_CLIENT, SEC_E_UNTRUSTED_ROOT, 48, SEC_E_UNTRUSTED_ROOT, true,
                  "untrusted root, TLS 1.2, async");
        alert_for("expired", SP_PROT_TLS1_2_CLIENT, SEC_E_CERT_EXPIRED, 45, SEC_E_CERT_EXPIRED, false, "expired, TLS 1.2");
        alert_for("wrongname", 0, SEC_E_WRONG_PRINCIPAL, 42, SEC_E_CERT_UNKNOWN, false, "wrong name, TLS 1.3");

        /* ApplyControlToken(SCHANNEL_ALERT) before the peer reads under keys:
         * the next ISC/ASC emits it. */
        acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_2_CLIENT, SCH_CRED_NO_DEFAULT_CREDS, 0, &cc12);
        acquire("server-rsa", SECPKG_CRED_INBOUND, 0, 0, 0, &sc12);
        peer_init(&c, false, &cc12, "localhost");
        peer_init(&s, true, &sc12, NULL);
        peer_step(&c, &s);
        peer_step(&s, &c);
        c.in_len = 0; /* the client does not read the server's flight */
        t_status(control(&c, &at, 8), SEC_E_INVALID_TOKEN, "SCHANNEL_ALERT_TOKEN cut short: SEC_E_INVALID_TOKEN");
        at.dwAlertType = 3;
        t_status(control(&c, &at, sizeof(at)), SEC_E_INVALID_TOKEN, "alert type 3: SEC_E_INVALID_TOKEN");
        at.dwAlertType = TLS1_ALERT_FATAL;
        t_status(control(&c, &at, sizeof(at)), SEC_E_OK, "client ApplyControlToken(SCHANNEL_ALERT, handshake_failure)");
        s.in_len = 0;
        t_status(peer_step(&c, &s), SEC_E_OK, "ISC emits it");
        t_ok(s.in_len == 7 && !memcmp(s.in, "\x15\x03\x03\x00\x02\x02\x28", 7), "fatal handshake_failure record (%zu bytes)",
             s.in_len);
        t_status(peer_step(&s, &c), SEC_E_ALGORITHM_MISMATCH, "the server reads it: SEC_E_ALGORITHM_MISMATCH");
        t_status(peer_step(&c, &s), SEC_E_CONTEXT_EXPIRED, "ISC on the client afterwards: SEC_E_CONTEXT_EXPIRED");
        peer_done(&c);
        peer_done(&s);

        /* The server, TLS 1.2, after its first flight (no ChangeCipherSpec yet). */
        peer_init(&c, false, &cc12, "localhost");
        peer_init(&s, true, &sc12, NULL);
        peer_step(&c, &s);
        peer_step(&s, &c);
        at.dwAlertNumber = TLS1_ALERT_ACCESS_DENIED;
        t_status(control(&s, &at, sizeof(at)), SEC_E_OK, "server ApplyControlToken(SCHANNEL_ALERT, access_denied)");
        c.in_len = 0;
        s.ac = SspiCreateAsyncContext();
        t_status(peer_step(&s, &c), SEC_E_OK, "SspiAcceptSecurityContextAsync emits it");
        SspiFreeAsyncContext(s.ac);
        s.ac = NULL;
        t_ok(c.in_len == 7 && !memcmp(c.in, "\x15\x03\x03\x00\x02\x02\x31", 7), "fatal access_denied record");
        t_ok(peer_step(&c, &s) < 0, "the client fails on it (0x%08x)", (unsigned) c.st);
        peer_done(&c);
        peer_done(&s);
        FreeCredentialsHandle(&cc12);
        FreeCredentialsHandle(&sc12);

        /* After the handshake only close_notify can go out (OpenSSL sends no
         * other alert under the keys). */
        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_ec, NULL);
        handshake(&c, &s);
        seal(&s, &c, "x", 1);
        unseal_all(&c, &s, out, &out_len, &reneg);
        at.dwAlertNumber = TLS1_ALERT_BAD_CERTIFICATE;
        t_status(control(&c, &at, sizeof(at)), SEC_E_UNSUPPORTED_FUNCTION,
                 "SCHANNEL_ALERT bad_certificate after the handshake: SEC_E_UNSUPPORTED_FUNCTION");
        at = (SCHANNEL_ALERT_TOKEN) { SCHANNEL_ALERT, TLS1_ALERT_WARNING, TLS1_ALERT_CLOSE_NOTIFY };
        t_status(control(&c, &at, sizeof(at)), SEC_E_OK, "SCHANNEL_ALERT close_notify after the handshake");
        t_status(peer_step(&c, &s), SEC_E_OK, "ISC emits it");
        t_status(unseal_once(&s, out, &out_len), SEC_I_CONTEXT_EXPIRED, "the server: SEC_I_CONTEXT_EXPIRED");
        peer_done(&c);
        peer_done(&s);
}

/* ---- SCHANNEL_SESSION ---- */

static int connect_ctl(CredHandle *cc, CredHandle *sc, DWORD client_session, DWORD server_session) {
        Peer c, s;
        SecPkgContext_SessionInfo si;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0, resumed = -1;

        peer_init(&c, false, cc, "localhost");
        peer_init(&s, true, sc, NULL);
        if (handshake(&c, &s) == SEC_E_OK && QueryContextAttributesA(&c.ctx, SECPKG_ATTR_SESSION_INFO, &si) == SEC_E_OK) {
                resumed = (si.dwFlags & SSL_SESSION_RECONNECT) != 0;
                seal(&s, &c, "t", 1);
                unseal_all(&c, &s, out, &out_len, &reneg);
                if (client_session) {
                        SCHANNEL_SESSION_TOKEN t = { SCHANNEL_SESSION, client_session };
                        if (control(&c, &t, sizeof(t)) != SEC_E_OK)
                                resumed = -2;
                }
                if (server_session) {
                        SCHANNEL_SESSION_TOKEN t = { SCHANNEL_SESSION, server_session };
                        if (control(&s, &t, sizeof(t)) != SEC_E_OK)
                                resumed = -2;
                }
        }
        peer_done(&c);
        peer_done(&s);
        return resumed;
}

static void test_session_token(void) {
        CredHandle cc, sc, sc_off;
        SCHANNEL_SESSION_TOKEN bad = { SCHANNEL_SESSION, 3 };
        Peer c, s;

        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, 0, 0, &cc);
        acquire("server-ec", SECPKG_CRED_INBOUND, 0, 0, 0, &sc);
        acquire("server-ec", SECPKG_CRED_INBOUND, 0, SCH_CRED_DISABLE_RECONNECTS, 0, &sc_off);
        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &sc, NULL);
        handshake(&c, &s);
        t_status(control(&c, &bad, sizeof(bad)), SEC_E_INVALID_TOKEN, "SCHANNEL_SESSION with flags 3: SEC_E_INVALID_TOKEN");
        t_status(control(&c, &bad, 4), SEC_E_INVALID_TOKEN, "SCHANNEL_SESSION cut short: SEC_E_INVALID_TOKEN");
        peer_done(&c);
        peer_done(&s);

        t_ok(connect_ctl(&cc, &sc, 0, 0) == 0, "session token: first connection full");
        t_ok(connect_ctl(&cc, &sc, SSL_SESSION_DISABLE_RECONNECTS, 0) == 1,
             "resumed connection, then client SSL_SESSION_DISABLE_RECONNECTS");
        t_ok(connect_ctl(&cc, &sc, SSL_SESSION_ENABLE_RECONNECTS, 0) == 0, "client disabled it: full handshake; then ENABLE");
        t_ok(connect_ctl(&cc, &sc, 0, SSL_SESSION_DISABLE_RECONNECTS) == 1, "client enabled it again: resumed; then server DISABLE");
        t_ok(connect_ctl(&cc, &sc, 0, 0) == 0, "server disabled it: full handshake");
        t_ok(connect_ctl(&cc, &sc, 0, 0) == 1, "and the next one resumes");
        t_ok(connect_ctl(&cc, &sc_off, 0, 0) == 0, "server SCH_CRED_DISABLE_RECONNECTS: full");
        t_ok(connect_ctl(&cc, &sc_off, 0, SSL_SESSION_ENABLE_RECONNECTS) == 0, "again full; then server ENABLE");
        t_ok(connect_ctl(&cc, &sc_off, 0, 0) == 1, "the enabled session resumes");
        t_ok(connect_ctl(&cc, &sc_off, 0, 0) == 0, "its own session was not enabled: full");
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        FreeCredentialsHandle(&sc_off);
}

/* ---- certificates by thumbprint (SCH_CRED_FORMAT_CERT_HASH) ---- */

static bool thumbprint(const char *name, uint8_t out[20]) {
        char cmd[1200], line[256];
        FILE *f;
        size_t n = 0;

        snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha1 -in %s/%s.pem", pki, name);
        f = popen(cmd, "r");
        if (!f)
                return false;
        if (fgets(line, sizeof(line), f)) {
                const char *p = strchr(line, '=');
                for (p = p ? p + 1 : line; *p && n < 20; p++) {
                        unsigned v;
                        if (sscanf(p, "%2x", &v) == 1) {
                                out[n++] = (uint8_t) v;
                                p += 2;
                                if (*p != ':')
                                        break;
                        }
                }
        }
        pclose(f);
        return n == 20;
}

static void test_cert_hash(void) {
        SCHANNEL_CERT_HASH ch = { sizeof(ch), SCH_MACHINE_CERT_HASH, 0, { 0 } };
        SCHANNEL_CERT_HASH_STORE hs = { sizeof(hs), SCH_MACHINE_CERT_HASH, 0, { 0 }, { 'M', 'Y', 0 } };
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .cCreds = 1, .dwCredFormat = SCH_CRED_FORMAT_CERT_HASH };
        SCH_CREDENTIALS sch = { .dwVersion = SCH_CREDENTIALS_VERSION, .cCreds = 1,
                                .dwCredFormat = SCH_CRED_FORMAT_CERT_HASH_STORE };
        uint8_t raw[20];
        CredHandle h;
        TimeStamp ts;
        Peer c, s;
        SecPkgCredentials_NamesA names = { NULL };

        bool have = thumbprint("server-ec", ch.ShaHash);
        t_ok(have, "SHA-1 thumbprint of server-ec");
        if (!have)
                return;
        sc.paCred = (PCCERT_CONTEXT *) &ch;
        if (t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                     SEC_E_OK, "SCH_CRED_FORMAT_CERT_HASH (SCHANNEL_CERT_HASH): server credential")) {
                if (t_status(QueryCredentialsAttributesA(&h, SECPKG_CRED_ATTR_NAMES, &names), SEC_E_OK,
                             "its NAMES"))
                        t_ok(names.sUserName && !strcmp(names.sUserName, "CN=localhost"), "CN=localhost (%s)",
                             names.sUserName ? names.sUserName : "(null)");
                FreeContextBuffer(names.sUserName);
                peer_init(&c, false, &cli, "localhost");
                peer_init(&s, true, &h, NULL);
                t_status(handshake(&c, &s), SEC_E_OK, "a handshake with it");
                peer_done(&c);
                peer_done(&s);
                FreeCredentialsHandle(&h);
        }
        {
                SspiAsyncContext *ac = SspiCreateAsyncContext();
                SECURITY_STATUS st = SspiAcquireCredentialsHandleAsyncA(ac, NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL,
                                                                        &sc, NULL, NULL, &h, &ts);
                if (st == SEC_E_OK || st == SEC_I_ASYNC_CALL_PENDING)
                        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                                usleep(200);
                if (t_status(st, SEC_E_OK, "SspiAcquireCredentialsHandleAsyncA with SCH_CRED_FORMAT_CERT_HASH"))
                        FreeCredentialsHandle(&h);
                SspiFreeAsyncContext(ac);
        }
        memcpy(raw, ch.ShaHash, 20);
        sc.paCred = (PCCERT_CONTEXT *) raw;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_OK, "SCH_CRED_FORMAT_CERT_HASH with paCred at the 20-byte thumbprint");
        FreeCredentialsHandle(&h);
        thumbprint("client", ch.ShaHash);
        sc.paCred = (PCCERT_CONTEXT *) &ch;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_OK, "client certificate by thumbprint");
        FreeCredentialsHandle(&h);
        thumbprint("ungranted", ch.ShaHash);
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_NO_CREDENTIALS, "thumbprint of a certificate without a grant: SEC_E_NO_CREDENTIALS");
        memset(ch.ShaHash, 0x5a, 20);
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_NO_CREDENTIALS, "unknown thumbprint: SEC_E_NO_CREDENTIALS");
        sc.cCreds = 2;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_UNKNOWN_CREDENTIALS, "two thumbprints: SEC_E_UNKNOWN_CREDENTIALS");

        thumbprint("server-rsa", hs.ShaHash);
        sch.paCred = (PCCERT_CONTEXT *) &hs;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sch, NULL, NULL, &h, &ts),
                 SEC_E_OK, "SCH_CRED_FORMAT_CERT_HASH_STORE, store \"MY\"");
        FreeCredentialsHandle(&h);
        memcpy(hs.pwszStoreName, (const SEC_WCHAR[]) { 'R', 'o', 'o', 't', 0 }, 10);
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sch, NULL, NULL, &h, &ts),
                 SEC_E_NO_CREDENTIALS, "store \"Root\": SEC_E_NO_CREDENTIALS");
}

/* ---- TLS_PARAMETERS, CRYPTO_SETTINGS, cipher strengths ---- */

static UNICODE_STRING ustr(SEC_WCHAR *buf, const char *s) {
        size_t n = strlen(s);
        for (size_t i = 0; i < n; i++)
                buf[i] = (SEC_WCHAR) (unsigned char) s[i];
        return (UNICODE_STRING) { (USHORT) (2 * n), (USHORT) (2 * n), buf };
}

static SECURITY_STATUS acquire_sch(const char *cert, ULONG use, TLS_PARAMETERS *tp, DWORD n, CredHandle *ret) {
        SCH_CREDENTIALS sch = { .dwVersion = SCH_CREDENTIALS_VERSION, .cTlsParameters = n, .pTlsParameters = tp };
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;
        TimeStamp ts;

        if (cert) {
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                sch.cCreds = 1;
                sch.paCred = &pc;
        }
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sch, NULL, NULL, ret, &ts);
}

/* A handshake of client credential `cc` with `sc`; the client's
 * CONNECTION_INFO and CIPHER_INFO. */
static SECURITY_STATUS try_handshake(CredHandle *cc, CredHandle *sc, SecPkgContext_ConnectionInfo *ci,
                                     SecPkgContext_CipherInfo *cinfo) {
        Peer c, s;
        SECURITY_STATUS st;

        peer_init(&c, false, cc, "localhost");
        peer_init(&s, true, sc, NULL);
        st = handshake(&c, &s);
        if (st == SEC_E_OK) {
                QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, ci);
                QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CIPHER_INFO, cinfo);
        }
        peer_done(&c);
        peer_done(&s);
        return st;
}

static void crypto_case(const char *server, DWORD prot_disabled, CRYPTO_SETTINGS *cs, DWORD n, SECURITY_STATUS want_ach,
                        DWORD want_suite, ALG_ID want_exch, const char *what) {
        TLS_PARAMETERS tp = { 0 };
        CredHandle cc, sc;
        SecPkgContext_ConnectionInfo ci = { 0 };
        SecPkgContext_CipherInfo cinfo = { 0 };
        SECURITY_STATUS st;

        tp.grbitDisabledProtocols = prot_disabled;
        tp.cDisabledCrypto = n;
        tp.pDisabledCrypto = cs;
        st = acquire_sch(NULL, SECPKG_CRED_OUTBOUND, &tp, 1, &cc);
        if (!t_status(st, want_ach, "%s: AcquireCredentialsHandle", what) || st != SEC_E_OK)
                return;
        acquire(server, SECPKG_CRED_INBOUND, 0, 0, 0, &sc);
        st = try_handshake(&cc, &sc, &ci, &cinfo);
        if (want_suite == 0)
                t_status(st, SEC_E_ALGORITHM_MISMATCH, "%s: handshake fails", what);
        else if (t_status(st, SEC_E_OK, "%s: handshake", what)) {
                t_ok(cinfo.dwCipherSuite == want_suite, "%s: suite 0x%04x (got 0x%04x)", what, (unsigned) want_suite,
                     (unsigned) cinfo.dwCipherSuite);
                if (want_exch)
                        t_ok(ci.aiExch == want_exch, "%s: aiExch 0x%x (got 0x%x, %u bits)", what, (unsigned) want_exch,
                             (unsigned) ci.aiExch, (unsigned) ci.dwExchStrength);
        }
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

static void test_tls_parameters(void) {
        SEC_WCHAR b[8][32];
        CRYPTO_SETTINGS cs[2] = { 0 };
        TLS_PARAMETERS tp[2] = { 0 };
        UNICODE_STRING ids[1];
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        CredHandle h, srv;
        TimeStamp ts;
        SecPkgContext_ConnectionInfo ci = { 0 };
        SecPkgContext_CipherInfo cinfo = { 0 };
        Peer c, s;
        uint8_t cl[64], sl[64];

        /* dwMaximumCipherStrength / dwMinimumCipherStrength */
        sc.dwMaximumCipherStrength = 128;
        if (t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                     SEC_E_OK, "dwMaximumCipherStrength 128")) {
                t_status(try_handshake(&h, &srv_ec, &ci, &cinfo), SEC_E_OK, "handshake");
                t_ok(ci.dwCipherStrength == 128 && ci.aiCipher == 0x660e && cinfo.dwCipherSuite == 0x1301,
                     "AES-128 (strength %u, suite 0x%04x)", (unsigned) ci.dwCipherStrength, (unsigned) cinfo.dwCipherSuite);
                FreeCredentialsHandle(&h);
        }
        sc.dwMaximumCipherStrength = 0;
        sc.dwMinimumCipherStrength = 512;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_ALGORITHM_MISMATCH, "dwMinimumCipherStrength 512: SEC_E_ALGORITHM_MISMATCH");
        sc.dwMinimumCipherStrength = 0xffffffff;
        t_status(AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &h, &ts),
                 SEC_E_ALGORITHM_MISMATCH, "dwMinimumCipherStrength -1 (NULL ciphers only): SEC_E_ALGORITHM_MISMATCH");

        /* CRYPTO_SETTINGS */
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[0], "AES"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_OK, 0x1303, 0, "Cipher AES disabled: ChaCha20-Poly1305");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[0], "CHACHA20_POLY1305"), 0, NULL, 0, 0 };
        cs[1] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[1], "AES"), 0, NULL, 128, 128 };
        crypto_case("server-ec", 0, cs, 2, SEC_E_OK, 0x1301, 0, "ChaCha20 disabled, AES only 128 bits: AES-128-GCM");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[0], "AES"), 1, ids, 0, 0 };
        ids[0] = ustr(b[2], "ChainingModeGCM");
        crypto_case("server-rsa", SP_PROT_TLS1_3_CLIENT, cs, 1, SEC_E_OK, 0xcca8, 0,
                    "TLS 1.2, AES-GCM disabled: ECDHE-RSA-CHACHA20-POLY1305");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[0], "AES"), 0, NULL, 0, 0 };
        cs[1] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[1], "CHACHA20_POLY1305"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 2, SEC_E_ALGORITHM_MISMATCH, 0, 0, "every cipher disabled");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageDigest, ustr(b[0], "SHA384"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_OK, 0x1303, 0, "Digest SHA384 disabled");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageKeyExchange, ustr(b[0], "ECDH"), 0, NULL, 0, 0 };
        crypto_case("server-rsa", SP_PROT_TLS1_3_CLIENT, cs, 1, SEC_E_OK, 0x009d, 0xa400,
                    "TLS 1.2, KeyExchange ECDH disabled: RSA key exchange");
        crypto_case("server-ec", 0, cs, 1, SEC_E_OK, 0x1302, 0xaa02, "TLS 1.3, KeyExchange ECDH disabled: FFDHE");
        /* CIPHER_INFO.dwKeyType: the key exchange group's TLS id. */
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageKeyExchange, ustr(b[0], "curve25519"), 0, NULL, 0, 0 };
        tp[0] = (TLS_PARAMETERS) { 0, NULL, 0, 1, cs, 0 };
        if (t_status(acquire_sch(NULL, SECPKG_CRED_OUTBOUND, tp, 1, &h), SEC_E_OK, "KeyExchange curve25519 disabled")) {
                t_status(try_handshake(&h, &srv_ec, &ci, &cinfo), SEC_E_OK, "handshake over P-256");
                t_ok(cinfo.dwKeyType == 0x17 && ci.aiExch == 0xae06 && ci.dwExchStrength == 256,
                     "P-256: CONNECTION_INFO ECDH 256 bits, CIPHER_INFO dwKeyType 0x17 (got 0x%x)",
                     (unsigned) cinfo.dwKeyType);
                FreeCredentialsHandle(&h);
        }
        t_status(try_handshake(&cli, &srv_ec, &ci, &cinfo), SEC_E_OK, "default handshake (X25519)");
        t_ok(cinfo.dwKeyType == 0x1d && cinfo.dwProtocol == 0x304,
             "dwKeyType 0x1d (x25519), dwProtocol 0x0304 (TLS1_3_PROTOCOL_VERSION)");
        {
                /* As Get-TlsCipherSuite shows TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384. */
                CredHandle c12;
                SCHANNEL_CRED c12c = { .dwVersion = SCHANNEL_CRED_VERSION, .grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT };
                SecPkgContext_CipherInfo w;
                AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &c12c, NULL, NULL, &c12, &ts);
                if (t_status(try_handshake(&c12, &srv_rsa, &ci, &w), SEC_E_OK, "TLS 1.2 RSA handshake")) {
                        char ex[8] = { 0 }, cert[8] = { 0 }, cip[8] = { 0 };
                        for (int i = 0; i < 7; i++) {
                                ex[i] = (char) w.szExchange[i];
                                cert[i] = (char) w.szCertificate[i];
                                cip[i] = (char) w.szCipher[i];
                        }
                        t_ok(w.dwProtocol == 0x303 && w.dwCipherSuite == 0xc030 && w.dwBaseCipherSuite == 0xc030 &&
                                     !strcmp(cip, "AES") && w.dwCipherLen == 256 && w.dwCipherBlockLen == 16 &&
                                     w.szHash[0] == 0 && w.dwHashLen == 0 && !strcmp(ex, "ECDH") &&
                                     w.dwMinExchangeLen == 0 && w.dwMaxExchangeLen == 65536 && !strcmp(cert, "RSA") &&
                                     w.dwKeyType == 0x1d,
                             "CIPHER_INFO of TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: protocol 771, ECDH 0..65536, no hash, "
                             "key type 0x1d (suite 0x%04x, %s, %s)", (unsigned) w.dwCipherSuite, ex, cert);
                }
                FreeCredentialsHandle(&c12);
        }
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageSignature, ustr(b[0], "ECDSA"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_OK, 0, 0, "Signature ECDSA disabled, ECDSA server");
        crypto_case("server-rsa", 0, cs, 1, SEC_E_OK, 0x1302, 0, "Signature ECDSA disabled, RSA server");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCertSig, ustr(b[0], "RSA"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_UNSUPPORTED_FUNCTION, 0, 0, "CertSig: SEC_E_UNSUPPORTED_FUNCTION");
        for (int v = 0; v < 2; v++) {
                /* The same through SspiAcquireCredentialsHandleAsyncA. */
                SCH_CREDENTIALS sch = { .dwVersion = SCH_CREDENTIALS_VERSION, .cTlsParameters = 1, .pTlsParameters = tp };
                SspiAsyncContext *ac = SspiCreateAsyncContext();
                SECURITY_STATUS st;
                cs[0] = (CRYPTO_SETTINGS) { v ? TlsParametersCngAlgUsageCertSig : TlsParametersCngAlgUsageCipher,
                                            ustr(b[0], v ? "RSA" : "AES"), 0, NULL, 0, 0 };
                tp[0] = (TLS_PARAMETERS) { 0, NULL, 0, 1, cs, 0 };
                st = SspiAcquireCredentialsHandleAsyncA(ac, NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sch, NULL,
                                                        NULL, &h, &ts);
                if (st == SEC_E_OK || st == SEC_I_ASYNC_CALL_PENDING)
                        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                                usleep(200);
                t_status(st, v ? SEC_E_UNSUPPORTED_FUNCTION : SEC_E_OK, "async AcquireCredentialsHandle with %s",
                         v ? "CertSig: SEC_E_UNSUPPORTED_FUNCTION" : "Cipher AES disabled");
                if (st == SEC_E_OK) {
                        t_status(try_handshake(&h, &srv_ec, &ci, &cinfo), SEC_E_OK, "its handshake");
                        t_ok(cinfo.dwCipherSuite == 0x1303, "ChaCha20-Poly1305 (0x%04x)", (unsigned) cinfo.dwCipherSuite);
                        FreeCredentialsHandle(&h);
                }
                SspiFreeAsyncContext(ac);
        }
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageCipher, ustr(b[0], "SERPENT"), 0, NULL, 0, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_ALGORITHM_MISMATCH, 0, 0, "unknown algorithm: SEC_E_ALGORITHM_MISMATCH");
        cs[0] = (CRYPTO_SETTINGS) { TlsParametersCngAlgUsageDigest, ustr(b[0], "SHA256"), 0, NULL, 256, 0 };
        crypto_case("server-ec", 0, cs, 1, SEC_E_UNSUPPORTED_FUNCTION, 0, 0,
                    "Digest with bit lengths: SEC_E_UNSUPPORTED_FUNCTION");
        tp[0] = (TLS_PARAMETERS) { 0 };
        tp[1] = (TLS_PARAMETERS) { 0 };
        t_status(acquire_sch(NULL, SECPKG_CRED_OUTBOUND, tp, 2, &h), SEC_E_INVALID_PARAMETER,
                 "two TLS_PARAMETERS without ALPN ids: SEC_E_INVALID_PARAMETER");
        tp[0].dwFlags = TLS_PARAMS_OPTIONAL;
        t_status(acquire_sch("server-ec", SECPKG_CRED_INBOUND, tp, 1, &h), SEC_E_UNSUPPORTED_FUNCTION,
                 "TLS_PARAMS_OPTIONAL: SEC_E_UNSUPPORTED_FUNCTION");

        /* ALPN-scoped: the server passes over h2 on TLS 1.2. */
        ids[0] = ustr(b[3], "h2");
        tp[0] = (TLS_PARAMETERS) { 1, ids, SP_PROT_TLS1_2_SERVER, 0, NULL, 0 };
        if (!t_status(acquire_sch("server-ec", SECPKG_CRED_INBOUND, tp, 1, &srv), SEC_E_OK,
                      "server TLS_PARAMETERS for ALPN id h2: no TLS 1.2"))
                return;
        for (int v = 0; v < 3; v++) {
                SecPkgContext_ApplicationProtocol ap = { 0 };
                CredHandle cc;
                const char *want = v == 0 ? "http/1.1" : "h2";
                SECURITY_STATUS st;
                acquire(NULL, SECPKG_CRED_OUTBOUND, v == 2 ? 0 : SP_PROT_TLS1_2_CLIENT, 0, 0, &cc);
                peer_init(&c, false, &cc, "localhost");
                peer_init(&s, true, &srv, NULL);
                c.alpn = cl;
                c.alpn_len = v == 1 ? alpn_list(cl, (const char *const[]) { "h2", NULL })
                                    : alpn_list(cl, (const char *const[]) { "h2", "http/1.1", NULL });
                s.alpn = sl;
                s.alpn_len = alpn_list(sl, (const char *const[]) { "h2", "http/1.1", NULL });
                st = handshake(&c, &s);
                if (v == 1) {
                        t_status(s.st, SEC_E_ALGORITHM_MISMATCH, "TLS 1.2 client offering only h2: server SEC_E_ALGORITHM_MISMATCH");
                        t_status(st, SEC_E_ALGORITHM_MISMATCH, "the handshake status");
                } else if (t_status(st, SEC_E_OK, "%s client offering h2, http/1.1", v ? "TLS 1.3" : "TLS 1.2")) {
                        QueryContextAttributesA(&c.ctx, SECPKG_ATTR_APPLICATION_PROTOCOL, &ap);
                        t_ok(ap.ProtocolIdSize == strlen(want) && !memcmp(ap.ProtocolId, want, strlen(want)),
                             "%s negotiated", want);
                }
                peer_done(&c);
                peer_done(&s);
                FreeCredentialsHandle(&cc);
        }
        FreeCredentialsHandle(&srv);

        /* ALPN-scoped on the client: judged once h2 is negotiated. */
        tp[0] = (TLS_PARAMETERS) { 1, ids, SP_PROT_TLS1_2_CLIENT, 0, NULL, 0 };
        if (t_status(acquire_sch(NULL, SECPKG_CRED_OUTBOUND, tp, 1, &h), SEC_E_OK, "client TLS_PARAMETERS for h2: no TLS 1.2")) {
                CredHandle s12;
                acquire("server-ec", SECPKG_CRED_INBOUND, SP_PROT_TLS1_2_SERVER, 0, 0, &s12);
                peer_init(&c, false, &h, "localhost");
                peer_init(&s, true, &s12, NULL);
                c.alpn = cl;
                c.alpn_len = alpn_list(cl, (const char *const[]) { "h2", NULL });
                s.alpn = sl;
                s.alpn_len = alpn_list(sl, (const char *const[]) { "h2", NULL });
                t_status(handshake(&c, &s), SEC_E_ALGORITHM_MISMATCH, "TLS 1.2 server picks h2: client SEC_E_ALGORITHM_MISMATCH");
                peer_done(&c);
                peer_done(&s);
                FreeCredentialsHandle(&s12);
                FreeCredentialsHandle(&h);
        }
}

static void test_async(void) {
        Peer c, s;
        uint8_t out[4096];
        size_t out_len;
        int reneg = 0;

        peer_init(&c, false, &cli, "localhost");
        peer_init(&s, true, &srv_rsa, NULL);
        c.ac = SspiCreateAsyncContext();
        s.ac = SspiCreateAsyncContext();
        if (t_status(handshake(&c, &s), SEC_E_OK, "handshake through SspiInitializeSecurityContextAsyncA / "
                                                   "SspiAcceptSecurityContextAsync")) {
                SspiAsyncContext *keep = c.ac;
                seal(&s, &c, "async", 5);
                c.ac = NULL; /* the renegotiation step synchronously */
                t_status(unseal_all(&c, &s, out, &out_len, &reneg), SEC_E_OK, "data after the async handshake");
                t_ok(out_len == 5 && !memcmp(out, "async", 5), "5 bytes");
                c.ac = keep;
        }
        SspiFreeAsyncContext(c.ac);
        peer_done(&c);
        peer_done(&s);
        SspiFreeAsyncContext(s.ac);
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        test_credentials();
        test_handshake(&srv_ec, 0, "TLS 1.3 ECDSA", SP_PROT_TLS1_3_CLIENT);
        test_handshake(&srv_rsa, 0, "TLS 1.3 RSA", SP_PROT_TLS1_3_CLIENT);
        test_handshake(&srv_ec, SP_PROT_TLS1_2_CLIENT, "TLS 1.2 ECDSA", SP_PROT_TLS1_2_CLIENT);
        test_handshake(&srv_rsa, SP_PROT_TLS1_2_CLIENT, "TLS 1.2 RSA", SP_PROT_TLS1_2_CLIENT);
        test_statuses();
        test_wide();
        test_byte_at_a_time();
        test_missing_count();
        test_caller_buffers();
        test_records();
        test_shutdown();
        test_cert_store();
        test_client_auth();
        test_alpn();
        test_session_cache();
        test_async();
        test_late_client_cert(false, 1, false, "TLS 1.3 post-handshake auth, certificate supplied");
        test_late_client_cert(false, 0, false, "TLS 1.3 post-handshake auth, certificate in the credential");
        test_late_client_cert(false, 2, false, "TLS 1.3 post-handshake auth, none");
        test_late_client_cert(false, 1, true, "TLS 1.3 post-handshake auth, async");
        test_late_client_cert(true, 1, false, "TLS 1.2 renegotiation, certificate supplied");
        test_late_client_cert(true, 0, false, "TLS 1.2 renegotiation, certificate in the credential");
        test_late_client_cert(true, 2, false, "TLS 1.2 renegotiation, none");
        test_late_client_cert(true, 1, true, "TLS 1.2 renegotiation, async");
        test_renegotiate_token();
        test_alerts();
        test_session_token();
        test_cert_hash();
        test_tls_parameters();
        FreeCredentialsHandle(&srv_ec);
        FreeCredentialsHandle(&srv_rsa);
        FreeCredentialsHandle(&cli);
        return t_done();
}
