/* SPDX-License-Identifier: MIT */
#include "tpkgs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"

const char *const tp_names[TP_COUNT] = { "Kerberos", "Negotiate", "NTLM", "Digest", "Schannel" };

#define TOK_MAX 16384
#define GSS_ISC (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_SEQUENCE_DETECT | \
                 ISC_REQ_REPLAY_DETECT)
#define GSS_ASC (ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT)
#define TLS_ISC (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM)
#define TLS_ASC (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | ASC_REQ_STREAM)

static void record(TpRecord rec, void *ud, const void *d, size_t len) {
        if (rec && d && len)
                rec(d, len, ud);
}

#define FAIL(step, st) \
        do { \
                *what = (step); \
                ret = (st); \
                goto out; \
        } while (0)

/* ---- credentials ---- */

static SECURITY_STATUS password_cred(const char *pkg, const char *domain, const char *password, CredHandle *ret) {
        return t_cred_identity(pkg, TP_USER, domain, password, ret);
}

static SECURITY_STATUS schannel_cred(const char *cert, ULONG use, CredHandle *ret) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        char pki[512];
        const char *env = getenv("SSPID_TESTENV");
        TimeStamp ts;
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;

        if (cert) {
                snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                sc.cCreds = 1;
                sc.paCred = &pc;
        } else
                sc.dwFlags = SCH_CRED_NO_DEFAULT_CREDS;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

SECURITY_STATUS tp_acquire(TpCreds *c, int p, const char *password) {
        const char *pw = password ? password : TP_PASSWORD;
        TimeStamp ts;
        SECURITY_STATUS st;

        switch (p) {
        case TP_KERBEROS:
        case TP_NEGOTIATE:
                st = password_cred(tp_names[p], t_realm(), pw, &c->cli[p]);
                break;
        case TP_NTLM:
                st = password_cred("NTLM", "SSPID", pw, &c->cli[p]);
                break;
        case TP_DIGEST:
                st = password_cred(WDIGEST_SP_NAME_A, NULL, pw, &c->cli[p]);
                break;
        default:
                st = schannel_cred(NULL, SECPKG_CRED_OUTBOUND, &c->cli[p]);
                break;
        }
        if (st != SEC_E_OK)
                return st;
        c->have |= 1u << (2 * p);
        switch (p) {
        case TP_KERBEROS:
        case TP_NEGOTIATE:
                st = AcquireCredentialsHandleA(NULL, (char *) tp_names[p], SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                               &c->srv[p], &ts);
                break;
        case TP_NTLM:
                st = AcquireCredentialsHandleA(NULL, "NTLM", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &c->srv[p],
                                               &ts);
                break;
        case TP_DIGEST:
                st = AcquireCredentialsHandleA("http", "Digest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL,
                                               &c->srv[p], &ts);
                break;
        default:
                st = schannel_cred(password ? "untrusted" : "server-ec", SECPKG_CRED_INBOUND, &c->srv[p]);
                break;
        }
        if (st == SEC_E_OK)
                c->have |= 1u << (2 * p + 1);
        return st;
}

void tp_release(TpCreds *c) {
        for (int i = 0; i < 2 * TP_COUNT; i++)
                if (c->have & (1u << i))
                        FreeCredentialsHandle(i % 2 ? &c->srv[i / 2] : &c->cli[i / 2]);
        c->have = 0;
}

/* ---- Kerberos, Negotiate, NTLM ---- */

static SECURITY_STATUS session_key(CtxtHandle *h, TpRecord rec, void *ud) {
        SecPkgContext_SessionKey k = { 0 };
        SECURITY_STATUS st = QueryContextAttributesA(h, SECPKG_ATTR_SESSION_KEY, &k);

        if (st == SEC_E_OK) {
                record(rec, ud, k.SessionKey, k.SessionKeyLength);
                FreeContextBuffer(k.SessionKey);
        }
        return st;
}

static SECURITY_STATUS gss_round(TpCreds *c, int p, TpRecord rec, void *ud, const char **what) {
        static const char text[] = "message protection through the daemon, 48 bytes";
        uint8_t tok[TOK_MAX], in[TOK_MAX], sig[1024], pad[64], data[sizeof(text)];
        size_t in_len = 0;
        CtxtHandle cc, sc;
        bool have_c = false, have_s = false;
        SECURITY_STATUS cs = SEC_I_CONTINUE_NEEDED, ss = SEC_I_CONTINUE_NEEDED, ret = SEC_E_OK, st;
        SecPkgContext_Sizes sz;
        ULONG attrs, qop;
        const char *target = "HTTP/localhost";

        for (int leg = 0; leg < 8 && (cs != SEC_E_OK || ss != SEC_E_OK); leg++) {
                SecBuffer ib = { (ULONG) in_len, SECBUFFER_TOKEN, in }, ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };

                if (leg % 2 == 0) {
                        if (cs == SEC_E_OK)
                                break;
                        cs = InitializeSecurityContextA(&c->cli[p], have_c ? &cc : NULL, (char *) target, GSS_ISC, 0,
                                                        SECURITY_NATIVE_DREP, have_c ? &id : NULL, 0, &cc, &od,
                                                        &attrs, NULL);
                        if (cs < 0)
                                FAIL("InitializeSecurityContext", cs);
                        have_c = true;
                } else {
                        if (ss == SEC_E_OK)
                                break;
                        ss = AcceptSecurityContext(&c->srv[p], have_s ? &sc : NULL, &id, GSS_ASC,
                                                   SECURITY_NATIVE_DREP, &sc, &od, &attrs, NULL);
                        if (ss < 0)
                                FAIL("AcceptSecurityContext", ss);
                        have_s = true;
                }
                record(rec, ud, tok, ob.cbBuffer);
                memcpy(in, tok, ob.cbBuffer);
                in_len = ob.cbBuffer;
                if (in_len == 0)
                        break;
        }
        if (cs != SEC_E_OK || ss != SEC_E_OK)
                FAIL("handshake did not finish", SEC_E_INTERNAL_ERROR);
        if ((st = session_key(&cc, rec, ud)) != SEC_E_OK || (st = session_key(&sc, rec, ud)) != SEC_E_OK)
                FAIL("QueryContextAttributes(SESSION_KEY)", st);
        if ((st = QueryContextAttributesA(&cc, SECPKG_ATTR_SIZES, &sz)) != SEC_E_OK)
                FAIL("QueryContextAttributes(SIZES)", st);
        if (sz.cbSecurityTrailer > sizeof(sig) || sz.cbMaxSignature > sizeof(sig) || sz.cbBlockSize > sizeof(pad))
                FAIL("SIZES too large", SEC_E_INTERNAL_ERROR);

        /* Sealed: client to server. */
        {
                SecBuffer b[3] = { { sz.cbSecurityTrailer, SECBUFFER_TOKEN, sig },
                                   { sizeof(data), SECBUFFER_DATA, data },
                                   { sz.cbBlockSize, SECBUFFER_PADDING, pad } };
                SecBufferDesc d = { SECBUFFER_VERSION, 3, b };

                memcpy(data, text, sizeof(data));
                if ((st = EncryptMessage(&cc, 0, &d, 0)) != SEC_E_OK)
                        FAIL("EncryptMessage", st);
                for (int i = 0; i < 3; i++)
                        record(rec, ud, b[i].pvBuffer, b[i].cbBuffer);
                if ((st = DecryptMessage(&sc, &d, 0, &qop)) != SEC_E_OK)
                        FAIL("DecryptMessage", st);
                if (b[1].cbBuffer != sizeof(data) || memcmp(data, text, sizeof(data)))
                        FAIL("DecryptMessage: plaintext differs", SEC_E_INTERNAL_ERROR);
        }
        /* Signed: server to client. */
        {
                SecBuffer b[2] = { { sizeof(data), SECBUFFER_DATA, data }, { sz.cbMaxSignature, SECBUFFER_TOKEN, sig } };
                SecBufferDesc d = { SECBUFFER_VERSION, 2, b };

                if ((st = MakeSignature(&sc, 0, &d, 0)) != SEC_E_OK)
                        FAIL("MakeSignature", st);
                record(rec, ud, sig, b[1].cbBuffer);
                if ((st = VerifySignature(&cc, &d, 0, &qop)) != SEC_E_OK)
                        FAIL("VerifySignature", st);
        }
out:
        if (have_c)
                DeleteSecurityContext(&cc);
        if (have_s)
                DeleteSecurityContext(&sc);
        return ret;
}

/* ---- Digest (HTTP mode) ---- */

/* ISC on a challenge (or, chal_len 0 on an existing context, the next
 * request on the same nonce), then ASC verifying the response: on the
 * context that issued the challenge, or (sc NULL) on a new one. */
static SECURITY_STATUS digest_request(TpCreds *c, CtxtHandle *cc, bool have_c, CtxtHandle *sc, const uint8_t *chal,
                                      size_t chal_len, TpRecord rec, void *ud, const char **what) {
        static const char uri[] = "/protected/index.html", method[] = "GET";
        uint8_t resp[TOK_MAX], info[TOK_MAX];
        SecBuffer ib[2] = { { (ULONG) chal_len, SECBUFFER_TOKEN, (void *) chal },
                            { sizeof(method) - 1, SECBUFFER_PKG_PARAMS, (void *) method } };
        SecBuffer ob = { sizeof(resp), SECBUFFER_TOKEN, resp };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        CtxtHandle n;
        SECURITY_STATUS st;

        st = InitializeSecurityContextA(&c->cli[TP_DIGEST], have_c ? cc : NULL, (char *) uri, ISC_REQ_HTTP, 0, 0, &id,
                                        0, cc, &od, &attrs, NULL);
        if (st != SEC_E_OK) {
                *what = "Digest InitializeSecurityContext";
                return st < 0 ? st : SEC_E_INTERNAL_ERROR;
        }
        record(rec, ud, resp, ob.cbBuffer);
        {
                SecBuffer vb[4] = { { ob.cbBuffer, SECBUFFER_TOKEN, resp },
                                    { sizeof(method) - 1, SECBUFFER_PKG_PARAMS, (void *) method },
                                    { sizeof(uri) - 1, SECBUFFER_PKG_PARAMS, (void *) uri },
                                    { 0, SECBUFFER_PKG_PARAMS, NULL } };
                SecBuffer vo = { sizeof(info), SECBUFFER_TOKEN, info };
                SecBufferDesc vd = { SECBUFFER_VERSION, 4, vb }, vod = { SECBUFFER_VERSION, 1, &vo };

                st = AcceptSecurityContext(&c->srv[TP_DIGEST], sc, &vd, ASC_REQ_HTTP, 0, &n, &vod, &attrs, NULL);
                if (st == SEC_E_OK && !sc)
                        DeleteSecurityContext(&n);
                if (st != SEC_E_OK) {
                        *what = "Digest AcceptSecurityContext (verify)";
                        return st < 0 ? st : SEC_E_INTERNAL_ERROR;
                }
                record(rec, ud, info, vo.cbBuffer);
        }
        return SEC_E_OK;
}

static SECURITY_STATUS digest_round(TpCreds *c, TpRecord rec, void *ud, const char **what) {
        uint8_t chal[TOK_MAX];
        SecBuffer ib = { 0, SECBUFFER_TOKEN, NULL }, ob = { sizeof(chal), SECBUFFER_TOKEN, chal };
        SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle cc, sc;
        bool have_c = false;
        ULONG attrs;
        SECURITY_STATUS st, ret = SEC_E_OK;

        st = AcceptSecurityContext(&c->srv[TP_DIGEST], NULL, &id, ASC_REQ_HTTP, 0, &sc, &od, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED) {
                *what = "Digest AcceptSecurityContext (challenge)";
                return st < 0 ? st : SEC_E_INTERNAL_ERROR;
        }
        record(rec, ud, chal, ob.cbBuffer);
        if ((st = digest_request(c, &cc, false, &sc, chal, ob.cbBuffer, rec, ud, what)) != SEC_E_OK)
                FAIL(*what, st);
        have_c = true;
        /* The next request on the same nonce (nc=00000002). */
        if ((st = digest_request(c, &cc, true, NULL, NULL, 0, rec, ud, what)) != SEC_E_OK)
                FAIL(*what, st);
out:
        if (have_c)
                DeleteSecurityContext(&cc);
        DeleteSecurityContext(&sc);
        return ret;
}

/* ---- Schannel ---- */

SECURITY_STATUS tp_tls_step(CredHandle *cred, TpTls *p, TpTls *to, TpRecord rec, void *ud) {
        SecBuffer ib[2] = { { (ULONG) p->in_len, SECBUFFER_TOKEN, p->in }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob[2] = { { 0, SECBUFFER_TOKEN, NULL }, { 0, SECBUFFER_ALERT, NULL } };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
        ULONG attrs;
        SECURITY_STATUS st;

        if (p->server)
                st = AcceptSecurityContext(cred, p->have ? &p->ctx : NULL, &id, TLS_ASC | ASC_REQ_ALLOCATE_MEMORY, 0,
                                           &p->ctx, &od, &attrs, NULL);
        else
                st = InitializeSecurityContextA(cred, p->have ? &p->ctx : NULL, "localhost",
                                                TLS_ISC | ISC_REQ_ALLOCATE_MEMORY, 0, 0, p->have ? &id : NULL, 0,
                                                &p->ctx, &od, &attrs, NULL);
        if (st == SEC_E_INCOMPLETE_MESSAGE)
                return st;
        if (st >= 0)
                p->have = true;
        if (ob[0].pvBuffer && ob[0].cbBuffer) {
                record(rec, ud, ob[0].pvBuffer, ob[0].cbBuffer);
                if (to && to->in_len + ob[0].cbBuffer <= sizeof(to->in)) {
                        memcpy(to->in + to->in_len, ob[0].pvBuffer, ob[0].cbBuffer);
                        to->in_len += ob[0].cbBuffer;
                }
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

SECURITY_STATUS tp_tls_connect(CredHandle *cc, CredHandle *sc, TpTls *cl, TpTls *sv, TpRecord rec, void *ud) {
        SECURITY_STATUS st;

        memset(cl, 0, sizeof(*cl));
        memset(sv, 0, sizeof(*sv));
        sv->server = true;
        st = tp_tls_step(cc, cl, sv, rec, ud);
        for (int i = 0; i < 20 && st >= 0 && !(cl->done && sv->done); i++) {
                if (!sv->done && sv->in_len && (st = tp_tls_step(sc, sv, cl, rec, ud)) < 0)
                        break;
                if (!cl->done && cl->in_len && (st = tp_tls_step(cc, cl, sv, rec, ud)) < 0)
                        break;
        }
        if (st >= 0 && (!cl->done || !sv->done))
                st = SEC_E_INTERNAL_ERROR;
        return st < 0 ? st : SEC_E_OK;
}

/* tpkgs' own sides use the TP_SCHANNEL credentials. */
typedef TpTls Side;

static SECURITY_STATUS tls_step(TpCreds *c, Side *p, Side *to, TpRecord rec, void *ud) {
        return tp_tls_step(p->server ? &c->srv[TP_SCHANNEL] : &c->cli[TP_SCHANNEL], p, to, rec, ud);
}

/* One record from p to `to`, decrypted there; TLS 1.3 tickets and other
 * post-handshake records ahead of it are consumed first. */
static SECURITY_STATUS tls_record(TpCreds *c, Side *p, Side *to, const char *text, TpRecord rec, void *ud,
                                  const char **what) {
        SecPkgContext_StreamSizes sz;
        uint8_t msg[1024];
        size_t len = strlen(text), got = 0;
        SECURITY_STATUS st = QueryContextAttributesA(&p->ctx, SECPKG_ATTR_STREAM_SIZES, &sz);

        if (st != SEC_E_OK) {
                *what = "QueryContextAttributes(STREAM_SIZES)";
                return st;
        }
        {
                uint8_t *r = to->in + to->in_len;
                SecBuffer b[4] = { { sz.cbHeader, SECBUFFER_STREAM_HEADER, r },
                                   { (ULONG) len, SECBUFFER_DATA, r + sz.cbHeader },
                                   { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, r + sz.cbHeader + len },
                                   { 0, SECBUFFER_EMPTY, NULL } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

                memcpy(r + sz.cbHeader, text, len);
                if ((st = EncryptMessage(&p->ctx, 0, &d, 0)) != SEC_E_OK) {
                        *what = "EncryptMessage (TLS)";
                        return st;
                }
                record(rec, ud, r, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer);
                to->in_len += b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
        }
        while (to->in_len) {
                SecBuffer b[4] = { { (ULONG) to->in_len, SECBUFFER_DATA, to->in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                SecBuffer *extra = NULL;

                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&to->ctx, &d, 0, NULL);
                if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE) {
                        *what = "DecryptMessage (TLS)";
                        return st;
                }
                for (int i = 0; i < 4; i++) {
                        if (b[i].BufferType == SECBUFFER_DATA && got + b[i].cbBuffer <= sizeof(msg)) {
                                memcpy(msg + got, b[i].pvBuffer, b[i].cbBuffer);
                                got += b[i].cbBuffer;
                        }
                        if (b[i].BufferType == SECBUFFER_EXTRA)
                                extra = &b[i];
                }
                if (extra) {
                        memmove(to->in, extra->pvBuffer, extra->cbBuffer);
                        to->in_len = extra->cbBuffer;
                } else
                        to->in_len = 0;
                if (st == SEC_I_RENEGOTIATE) {
                        /* A TLS 1.3 post-handshake message: back to ISC/ASC
                         * with what is left; anything it answers goes back to p. */
                        to->done = false;
                        if ((st = tls_step(c, to, p, rec, ud)) != SEC_E_OK) {
                                *what = "SEC_I_RENEGOTIATE step";
                                return st;
                        }
                }
        }
        if (got != len || memcmp(msg, text, len)) {
                *what = "TLS record: plaintext differs";
                return SEC_E_INTERNAL_ERROR;
        }
        return SEC_E_OK;
}

static SECURITY_STATUS schannel_round(TpCreds *c, TpRecord rec, void *ud, const char **what) {
        Side *cl = calloc(1, sizeof(Side)), *sv = calloc(1, sizeof(Side));
        SECURITY_STATUS st, ret = SEC_E_OK;

        if (!cl || !sv)
                FAIL("out of memory", SEC_E_INSUFFICIENT_MEMORY);
        if ((st = tp_tls_connect(&c->cli[TP_SCHANNEL], &c->srv[TP_SCHANNEL], cl, sv, rec, ud)) != SEC_E_OK)
                FAIL(st == SEC_E_INTERNAL_ERROR ? "Schannel handshake did not finish" : "Schannel handshake", st);
        if ((st = tls_record(c, cl, sv, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", rec, ud, what)) != SEC_E_OK)
                FAIL(*what, st);
        if ((st = tls_record(c, sv, cl, "HTTP/1.1 204 No Content\r\n\r\n", rec, ud, what)) != SEC_E_OK)
                FAIL(*what, st);
out:
        if (cl && cl->have)
                DeleteSecurityContext(&cl->ctx);
        if (sv && sv->have)
                DeleteSecurityContext(&sv->ctx);
        free(cl);
        free(sv);
        return ret;
}

SECURITY_STATUS tp_tls_handshake(TpCreds *c, CtxtHandle *cli, CtxtHandle *srv) {
        Side *cl = calloc(1, sizeof(Side)), *sv = calloc(1, sizeof(Side));
        SECURITY_STATUS st = SEC_E_INSUFFICIENT_MEMORY;

        if (cl && sv)
                st = tp_tls_connect(&c->cli[TP_SCHANNEL], &c->srv[TP_SCHANNEL], cl, sv, NULL, NULL);
        if (st == SEC_E_OK) {
                *cli = cl->ctx;
                *srv = sv->ctx;
        } else {
                if (cl && cl->have)
                        DeleteSecurityContext(&cl->ctx);
                if (sv && sv->have)
                        DeleteSecurityContext(&sv->ctx);
        }
        free(cl);
        free(sv);
        return st;
}

SECURITY_STATUS tp_round(TpCreds *c, int p, TpRecord rec, void *userdata, const char **what) {
        const char *dummy;

        if (!what)
                what = &dummy;
        *what = "";
        if (p == TP_DIGEST)
                return digest_round(c, rec, userdata, what);
        if (p == TP_SCHANNEL)
                return schannel_round(c, rec, userdata, what);
        return gss_round(c, p, rec, userdata, what);
}
