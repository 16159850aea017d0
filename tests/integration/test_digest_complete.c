/* SPDX-License-Identifier: MIT */
/*
 * SEC_I_COMPLETE_NEEDED / SEC_I_COMPLETE_AND_CONTINUE and CompleteAuthToken
 * (Digest, HTTP mode), sync and async. An auth-int step whose entity body
 * the caller does not have yet (no H(entity-body) PKG_PARAMS, no
 * SECBUFFER_DATA) is finished by CompleteAuthToken with the body.
 *
 * Sources: Microsoft docs "InitializeSecurityContext (Digest)" (return
 * values: SEC_I_COMPLETE_NEEDED "the client must finish building the
 * message and then call CompleteAuthToken", SEC_I_COMPLETE_AND_CONTINUE
 * "call CompleteAuthToken and then pass the output to the server ... waits
 * for a returned token"), "AcceptSecurityContext (Digest)" (SEC_I_COMPLETE_
 * NEEDED: "the server must finish building the message from the client and
 * then call CompleteAuthToken"), "CompleteAuthToken function" (pToken: the
 * buffer descriptor for the entire message; SEC_E_OUT_OF_SEQUENCE "the
 * message number is incorrect", SEC_E_MESSAGE_ALTERED "the client's message
 * has been tampered with", both "used with the Digest SSP"), and the seeds'
 * SspiInitializeSecurityContextAsync return list (reported through
 * SspiGetAsyncCallStatus). Real clients call CompleteAuthToken on exactly
 * these two codes with the token they got (antiduh/nsspi pull request 26,
 * "Calling CompleteAuthToken when needed"; JNA issue 381). The completed
 * response is checked against RFC 7616's formula computed here with
 * libcrypto from the token's own fields (not by the daemon's code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testlib.h"

#define TOK_MAX 4096
#define ZEROS64 "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct Tok {
        char s[TOK_MAX + 1];
        ULONG len;
} Tok;

static bool g_async;

static SECURITY_STATUS run_isc(CredHandle *cc, CtxtHandle *ctx, bool have_ctx, ULONG flags, SecBufferDesc *in,
                               SecBufferDesc *od, ULONG *attrs) {
        SspiAsyncContext *ac;
        SECURITY_STATUS st;

        if (!g_async)
                return InitializeSecurityContextA(cc, have_ctx ? ctx : NULL, "/pay", ISC_REQ_HTTP | flags, 0, 0, in, 0,
                                                  ctx, od, attrs, NULL);
        ac = SspiCreateAsyncContext();
        st = SspiInitializeSecurityContextAsyncA(ac, cc, have_ctx ? ctx : NULL, "/pay", ISC_REQ_HTTP | flags, 0, 0, in,
                                                 0, ctx, od, attrs, NULL);
        if (st == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(50);
        SspiFreeAsyncContext(ac);
        return st;
}

static SECURITY_STATUS run_asc(CredHandle *sc, CtxtHandle *ctx, ULONG flags, SecBufferDesc *in, SecBufferDesc *od,
                               ULONG *attrs) {
        SspiAsyncContext *ac;
        SECURITY_STATUS st;

        if (!g_async)
                return AcceptSecurityContext(sc, NULL, in, ASC_REQ_HTTP | flags, 0, ctx, od, attrs, NULL);
        ac = SspiCreateAsyncContext();
        st = SspiAcceptSecurityContextAsync(ac, sc, NULL, in, ASC_REQ_HTTP | flags, 0, ctx, od, attrs, NULL);
        if (st == SEC_E_OK)
                while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING)
                        usleep(50);
        SspiFreeAsyncContext(ac);
        return st;
}

/* A challenge offering auth-int. */
static SECURITY_STATUS challenge(CredHandle *sc, Tok *out) {
        SecBuffer ib = { 0, SECBUFFER_TOKEN, NULL }, ob = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st = AcceptSecurityContext(sc, NULL, &in, ASC_REQ_HTTP | ASC_REQ_INTEGRITY, 0, &ctx, &od,
                                                   &attrs, NULL);
        out->len = st >= 0 ? ob.cbBuffer : 0;
        out->s[out->len] = '\0';
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        return st;
}

/* ISC answering `chal` (NULL: next request, same nonce) with the method
 * only: no body yet. */
static SECURITY_STATUS respond_nobody(CredHandle *cc, CtxtHandle *ctx, bool have_ctx, ULONG flags, const Tok *chal,
                                      Tok *out, ULONG *attrs) {
        SecBuffer ib[2] = { { chal ? chal->len : 0, SECBUFFER_TOKEN, chal ? (void *) chal->s : NULL },
                            { 4, SECBUFFER_PKG_PARAMS, "POST" } };
        SecBuffer ob = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
        SECURITY_STATUS st = run_isc(cc, ctx, have_ctx, ISC_REQ_INTEGRITY | flags, &in, &od, attrs);
        out->len = st >= 0 ? ob.cbBuffer : 0;
        out->s[out->len] = '\0';
        return st;
}

/* ---- an oracle that is not our code: RFC 7616 3.4.1-3.4.3 ---- */

/* The value of `name` in a Digest header (quoted or not), or "". */
static void param(const char *tok, const char *name, char *out, size_t cap) {
        size_t nl = strlen(name), i = 0;
        const char *p = tok;

        out[0] = '\0';
        while ((p = strstr(p, name))) {
                bool start = p == tok || p[-1] == ' ' || p[-1] == ',';
                p += nl;
                if (start && *p == '=')
                        break;
        }
        if (!p)
                return;
        p++;
        if (*p == '"') {
                for (p++; *p && *p != '"' && i + 1 < cap; p++)
                        out[i++] = *p;
        } else
                for (; *p && *p != ',' && *p != ' ' && i + 1 < cap; p++)
                        out[i++] = *p;
        out[i] = '\0';
}

/* SHA-256 of the concatenation of `parts` joined by ':', as lower-case hex. */
static void h256(char hex[65], const char *const *parts, size_t n) {
        unsigned char md[32];
        unsigned len = 0;
        EVP_MD_CTX *c = EVP_MD_CTX_new();

        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        EVP_DigestUpdate(c, ":", 1);
                EVP_DigestUpdate(c, parts[i], strlen(parts[i]));
        }
        EVP_DigestFinal_ex(c, md, &len);
        EVP_MD_CTX_free(c);
        for (unsigned i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
}

/* The response RFC 7616 gives for qop=auth-int with SHA-256:
 * H(H(user:realm:pw):nonce:nc:cnonce:qop:H(method:uri:H(body))). */
static bool response_is_rfc7616(const char *tok, const char *method, const char *body, const char *pw) {
        char user[128], realm[128], nonce[256], uri[256], nc[16], cnonce[128], qop[16], alg[32], resp[80];
        char ha1[65], ha2[65], hbody[65], want[65];

        param(tok, "username", user, sizeof(user));
        param(tok, "realm", realm, sizeof(realm));
        param(tok, "nonce", nonce, sizeof(nonce));
        param(tok, "uri", uri, sizeof(uri));
        param(tok, "nc", nc, sizeof(nc));
        param(tok, "cnonce", cnonce, sizeof(cnonce));
        param(tok, "qop", qop, sizeof(qop));
        param(tok, "algorithm", alg, sizeof(alg));
        param(tok, "response", resp, sizeof(resp));
        if (strcmp(alg, "SHA-256") || strcmp(qop, "auth-int") || !nonce[0] || !cnonce[0] || !nc[0])
                return false;
        h256(ha1, (const char *[]) { user, realm, pw }, 3);
        h256(hbody, (const char *[]) { body }, 1);
        h256(ha2, (const char *[]) { method, uri, hbody }, 3);
        h256(want, (const char *[]) { ha1, nonce, nc, cnonce, qop, ha2 }, 6);
        return !strcmp(resp, want);
}

/* CompleteAuthToken with the token and the body. */
static SECURITY_STATUS complete(CtxtHandle *ctx, Tok *tok, const char *body) {
        SecBuffer b[2] = { { tok ? tok->len : 0, SECBUFFER_TOKEN, tok ? tok->s : NULL },
                           { body ? (ULONG) strlen(body) : 0, SECBUFFER_DATA, (void *) body } };
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        SECURITY_STATUS st;

        if (!tok) {
                d.cBuffers = 1;
                d.pBuffers = &b[1];
        } else if (!body)
                d.cBuffers = 1;
        st = CompleteAuthToken(ctx, &d);
        if (tok && st == SEC_E_OK) {
                tok->len = b[0].cbBuffer;
                tok->s[tok->len] = '\0';
        }
        return st;
}

/* ASC with the method and the URI, and the body if given (else deferred). */
static SECURITY_STATUS verify(CredHandle *sc, const Tok *resp, const char *body, CtxtHandle *ctx, Tok *info,
                              ULONG *attrs) {
        SecBuffer ib[5] = {
                { resp->len, SECBUFFER_TOKEN, (void *) resp->s },
                { 4, SECBUFFER_PKG_PARAMS, "POST" },
                { 4, SECBUFFER_PKG_PARAMS, "/pay" },
                { 0, SECBUFFER_PKG_PARAMS, NULL },
                { body ? (ULONG) strlen(body) : 0, SECBUFFER_DATA, (void *) body },
        };
        SecBuffer ob = { TOK_MAX, SECBUFFER_TOKEN, info->s };
        /* No body: the entity-body buffers (#3 and the DATA) are left out. */
        SecBufferDesc in = { SECBUFFER_VERSION, body ? 5 : 3, ib }, od = { SECBUFFER_VERSION, 1, &ob };
        SECURITY_STATUS st = run_asc(sc, ctx, 0, &in, &od, attrs);
        info->len = st >= 0 ? ob.cbBuffer : 0;
        info->s[info->len] = '\0';
        return st;
}

static bool named_alice(CtxtHandle *ctx) {
        SecPkgContext_NamesA n = { 0 };
        bool ok = QueryContextAttributesA(ctx, SECPKG_ATTR_NAMES, &n) == SEC_E_OK && n.sUserName &&
                  !strcmp(n.sUserName, "alice");
        if (n.sUserName)
                FreeContextBuffer(n.sUserName);
        return ok;
}

static void run(void) {
        const char *mode = g_async ? "async" : "sync";
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        TimeStamp ts;
        Tok chal, resp, info, saved;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        if (t_cred_identity(WDIGEST_SP_NAME_A, "alice", NULL, "alice-pw-1", &cc) != SEC_E_OK ||
            AcquireCredentialsHandleA("sha256", "WDigest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &sc, &ts) !=
                    SEC_E_OK) {
                t_ok(false, "%s: credentials", mode);
                return;
        }

        /* Client: no body yet. */
        challenge(&sc, &chal);
        st = respond_nobody(&cc, &cctx, false, 0, &chal, &resp, &attrs);
        t_status(st, SEC_I_COMPLETE_NEEDED, "%s: ISC auth-int without the body: SEC_I_COMPLETE_NEEDED", mode);
        t_ok(strstr(resp.s, "qop=auth-int") && strstr(resp.s, "response=\"" ZEROS64 "\""),
             "%s: the token is there, its response not yet", mode);
        t_status(QueryContextAttributesA(&cctx, SECPKG_ATTR_NAMES, &(SecPkgContext_NamesA) { 0 }),
                 SEC_E_INVALID_HANDLE, "%s: the context is not complete before CompleteAuthToken", mode);
        saved = resp;
        saved.s[40] ^= 1;
        t_status(complete(&cctx, &saved, "amount=10"), SEC_E_INVALID_TOKEN,
                 "%s: CompleteAuthToken with a token ISC did not give: SEC_E_INVALID_TOKEN", mode);
        t_status(complete(&cctx, &resp, NULL), SEC_E_INVALID_TOKEN,
                 "%s: CompleteAuthToken without the body: SEC_E_INVALID_TOKEN", mode);
        saved = resp;
        t_status(complete(&cctx, &resp, "amount=10"), SEC_E_OK, "%s: CompleteAuthToken with the body", mode);
        t_ok(resp.len == saved.len && !strstr(resp.s, ZEROS64) && !strncmp(resp.s, saved.s, 30),
             "%s: the token now has its response, same length (%lu/%lu)", mode, (unsigned long) resp.len,
             (unsigned long) saved.len);
        t_ok(response_is_rfc7616(resp.s, "POST", "amount=10", "alice-pw-1"),
             "%s: the response is RFC 7616's for the body (computed here from the token's fields)", mode);
        t_ok(!response_is_rfc7616(resp.s, "POST", "amount=11", "alice-pw-1"),
             "%s: ... and not the one for another body", mode);
        t_status(complete(&cctx, &resp, "amount=10"), SEC_E_OK, "%s: CompleteAuthToken again: a no-op", mode);
        saved = resp; /* the finished token, for the server tests below */

        /* A server that has the body at once accepts the finished token. */
        st = verify(&sc, &resp, "amount=10", &sctx, &info, &attrs);
        t_status(st, SEC_E_OK, "%s: the finished token verifies against the body", mode);
        if (st == SEC_E_OK)
                DeleteSecurityContext(&sctx);

        /* Server: the header first, the body afterwards. */
        st = respond_nobody(&cc, &cctx, true, 0, NULL, &resp, &attrs);
        if (st == SEC_I_COMPLETE_NEEDED)
                st = complete(&cctx, &resp, "amount=10");
        t_status(st, SEC_E_OK, "%s: next request (nc 2), completed", mode);
        st = verify(&sc, &resp, NULL, &sctx, &info, &attrs);
        t_status(st, SEC_I_COMPLETE_NEEDED, "%s: ASC without the body: SEC_I_COMPLETE_NEEDED", mode);
        if (st == SEC_I_COMPLETE_NEEDED) {
                t_ok(!named_alice(&sctx), "%s: no client name before CompleteAuthToken", mode);
                t_status(complete(&sctx, NULL, "amount=10"), SEC_E_OK, "%s: server CompleteAuthToken with the body",
                         mode);
                t_ok(named_alice(&sctx), "%s: the server context is complete: alice", mode);
                DeleteSecurityContext(&sctx);
        }
        /* The same request again: the nonce count was used. */
        st = verify(&sc, &resp, NULL, &sctx, &info, &attrs);
        if (st == SEC_I_COMPLETE_NEEDED) {
                t_status(complete(&sctx, NULL, "amount=10"), SEC_E_OUT_OF_SEQUENCE,
                         "%s: replayed request: CompleteAuthToken SEC_E_OUT_OF_SEQUENCE", mode);
                DeleteSecurityContext(&sctx);
        } else
                t_status(st, SEC_I_COMPLETE_NEEDED, "%s: replayed request deferred", mode);
        /* A body changed in transit. */
        st = respond_nobody(&cc, &cctx, true, 0, NULL, &resp, &attrs);
        if (st == SEC_I_COMPLETE_NEEDED)
                st = complete(&cctx, &resp, "amount=10");
        st = st == SEC_E_OK ? verify(&sc, &resp, NULL, &sctx, &info, &attrs) : st;
        if (st == SEC_I_COMPLETE_NEEDED) {
                t_status(complete(&sctx, NULL, "amount=99"), SEC_E_MESSAGE_ALTERED,
                         "%s: body changed in transit: CompleteAuthToken SEC_E_MESSAGE_ALTERED", mode);
                t_status(complete(&sctx, NULL, "amount=10"), SEC_E_OUT_OF_SEQUENCE,
                         "%s: ... and the response is used up", mode);
                DeleteSecurityContext(&sctx);
        } else
                t_status(st, SEC_I_COMPLETE_NEEDED, "%s: tamper case deferred", mode);
        /* The wrong password looks the same once the body is in. */
        DeleteSecurityContext(&cctx);

        /* Mutual: SEC_I_COMPLETE_AND_CONTINUE, then Authentication-Info. */
        challenge(&sc, &chal);
        st = respond_nobody(&cc, &cctx, false, ISC_REQ_MUTUAL_AUTH, &chal, &resp, &attrs);
        t_status(st, SEC_I_COMPLETE_AND_CONTINUE,
                 "%s: ISC_REQ_MUTUAL_AUTH, no body: SEC_I_COMPLETE_AND_CONTINUE", mode);
        if (st == SEC_I_COMPLETE_AND_CONTINUE) {
                t_status(complete(&cctx, &resp, "{\"x\":1}"), SEC_E_OK, "%s: CompleteAuthToken", mode);
                        st = verify(&sc, &resp, "{\"x\":1}", &sctx, &info, &attrs);
                t_status(st, SEC_E_OK, "%s: the server accepts", mode);
                if (st == SEC_E_OK) {
                        SecBuffer ib = { info.len, SECBUFFER_TOKEN, info.s };
                        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib };
                        st = run_isc(&cc, &cctx, true, ISC_REQ_INTEGRITY | ISC_REQ_MUTUAL_AUTH, &in, NULL, &attrs);
                        t_status(st, SEC_E_OK, "%s: Authentication-Info checked", mode);
                        t_ok(attrs & ISC_RET_MUTUAL_AUTH, "%s: ISC_RET_MUTUAL_AUTH", mode);
                        DeleteSecurityContext(&sctx);
                }
        }
        DeleteSecurityContext(&cctx);

        /* A body given up front: no completion needed. */
        {
                SecBuffer ib[3] = { { chal.len, SECBUFFER_TOKEN, chal.s }, { 4, SECBUFFER_PKG_PARAMS, "POST" },
                                    { 1, SECBUFFER_DATA, "x" } };
                SecBuffer ob = { TOK_MAX, SECBUFFER_TOKEN, resp.s };
                SecBufferDesc in = { SECBUFFER_VERSION, 3, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                challenge(&sc, &chal);
                ib[0].cbBuffer = chal.len;
                t_status(run_isc(&cc, &cctx, false, ISC_REQ_INTEGRITY, &in, &od, &attrs), SEC_E_OK,
                         "%s: auth-int with the body: SEC_E_OK at once", mode);
                t_status(complete(&cctx, NULL, "x"), SEC_E_OK, "%s: CompleteAuthToken then is a no-op", mode);
                DeleteSecurityContext(&cctx);
        }
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

int main(void) {
        g_async = false;
        run();
        g_async = true;
        run();
        return t_done();
}
