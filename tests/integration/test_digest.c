/* SPDX-License-Identifier: MIT */
/*
 * The Digest package (WDigest, HTTP mode) through the daemon: both sides
 * in this process, every algorithm and qop, the failure cases, the async
 * calls; then real peers on loopback: curl --digest against the example
 * server, our client against the example server in another process, our
 * client against Apache httpd with mod_auth_digest, and a second daemon
 * whose policy turns MD5 off.
 *
 * The test world (tests/tools/testenv.sh) holds an HA1 store for
 * alice/alice-pw-1, bob/bob-pw-2 and zoë/zoe-pw-3 in realm
 * $SSPID_DIGEST_REALM, one [digest-store] per algorithm, and a nonce
 * lifetime of 4 seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define ASC_REQ_STALE 0x20000000U
#define TOK_MAX 4096

/* t_ok that also yields the condition. */
#define T_OK(cond, ...) ({ bool _c = (cond); t_ok(_c, __VA_ARGS__); _c; })

static const char *realm;

typedef struct Tok {
        char s[TOK_MAX + 1];
        ULONG len;
} Tok;

static SECURITY_STATUS client_cred(const char *user, const char *password, const char *domain, CredHandle *ret) {
        return t_cred_identity(WDIGEST_SP_NAME_A, user, domain, password, ret);
}

static SECURITY_STATUS server_cred(const char *store, CredHandle *ret) {
        TimeStamp ts;
        return AcquireCredentialsHandleA((char *) store, "Digest", SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, ret,
                                         &ts);
}

/* ASC with no token: a challenge. The context is kept when ret_ctx. */
static SECURITY_STATUS challenge(CredHandle *sc, ULONG flags, CtxtHandle *ret_ctx, Tok *out) {
        SecBuffer in_b = { 0, SECBUFFER_TOKEN, NULL }, out_b = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle ctx;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, NULL, &in, ASC_REQ_HTTP | flags, SECURITY_NATIVE_DREP, &ctx, &od, &attrs,
                                   NULL);
        out->len = st >= 0 ? out_b.cbBuffer : 0;
        out->s[out->len] = '\0';
        if (st >= 0) {
                if (ret_ctx)
                        *ret_ctx = ctx;
                else
                        DeleteSecurityContext(&ctx);
        }
        return st;
}

/* ISC: answer `chal` (NULL: the next request on the same nonce). body is
 * the raw entity body (SECBUFFER_DATA), body_hex a hex H(body) buffer. */
static SECURITY_STATUS respond(CredHandle *cc, CtxtHandle *ctx, bool have_ctx, const char *uri, ULONG flags,
                               const Tok *chal, const char *method, const char *body, const char *body_hex,
                               Tok *out, ULONG *ret_attrs) {
        SecBuffer in_b[4], out_b = { TOK_MAX, SECBUFFER_TOKEN, out->s };
        SecBufferDesc in = { SECBUFFER_VERSION, 0, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        ULONG attrs = 0;
        SECURITY_STATUS st;

        in_b[in.cBuffers++] = (SecBuffer) { chal ? chal->len : 0, SECBUFFER_TOKEN, chal ? (void *) chal->s : NULL };
        if (method)
                in_b[in.cBuffers++] = (SecBuffer) { (ULONG) strlen(method), SECBUFFER_PKG_PARAMS, (void *) method };
        if (body_hex)
                in_b[in.cBuffers++] = (SecBuffer) { (ULONG) strlen(body_hex), SECBUFFER_PKG_PARAMS,
                                                    (void *) body_hex };
        if (body)
                in_b[in.cBuffers++] = (SecBuffer) { (ULONG) strlen(body), SECBUFFER_DATA, (void *) body };
        st = InitializeSecurityContextA(cc, have_ctx ? ctx : NULL, (SEC_CHAR *) uri, ISC_REQ_HTTP | flags, 0, 0,
                                        &in, 0, ctx, &od, &attrs, NULL);
        out->len = st >= 0 ? out_b.cbBuffer : 0;
        out->s[out->len] = '\0';
        if (ret_attrs)
                *ret_attrs = attrs;
        return st;
}

/* ASC with a response: method, request-URI, raw body. */
static SECURITY_STATUS verify(CredHandle *sc, CtxtHandle *ctx, bool have_ctx, const Tok *resp, const char *method,
                              const char *uri, const char *body, ULONG flags, CtxtHandle *ret_ctx, ULONG *ret_attrs) {
        char info[TOK_MAX];
        SecBuffer in_b[5] = {
                { resp->len, SECBUFFER_TOKEN, (void *) resp->s },
                { method ? (ULONG) strlen(method) : 0, SECBUFFER_PKG_PARAMS, (void *) method },
                { uri ? (ULONG) strlen(uri) : 0, SECBUFFER_PKG_PARAMS, (void *) uri },
                { 0, SECBUFFER_PKG_PARAMS, NULL },
                { body ? (ULONG) strlen(body) : 0, SECBUFFER_DATA, (void *) body },
        };
        SecBuffer out_b = { sizeof(info), SECBUFFER_TOKEN, info };
        SecBufferDesc in = { SECBUFFER_VERSION, body ? 5 : 4, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle n;
        ULONG attrs = 0;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(sc, have_ctx ? ctx : NULL, &in, ASC_REQ_HTTP | flags, SECURITY_NATIVE_DREP, &n,
                                   &od, &attrs, NULL);
        if (ret_attrs)
                *ret_attrs = attrs;
        if (st == SEC_E_OK && !have_ctx) {
                if (ret_ctx)
                        *ret_ctx = n;
                else
                        DeleteSecurityContext(&n);
        }
        return st;
}

static char *server_name(CtxtHandle *ctx) {
        SecPkgContext_NamesA names = { 0 };
        static char buf[300];
        if (QueryContextAttributesA(ctx, SECPKG_ATTR_NAMES, &names) != SEC_E_OK)
                return NULL;
        snprintf(buf, sizeof(buf), "%s", names.sUserName);
        FreeContextBuffer(names.sUserName);
        return buf;
}

/* ---- in one process ----------------------------------------------------- */

static void test_package_info(void) {
        PSecPkgInfoA info = NULL;

        t_status(QuerySecurityPackageInfoA(WDIGEST_SP_NAME_A, &info), SEC_E_OK, "QuerySecurityPackageInfo(WDigest)");
        if (info) {
                t_ok(!strcmp(info->Name, "WDigest") && info->wRPCID == 21 && info->cbMaxToken == 4096,
                     "WDigest: name %s, rpcid %u, max token %u", info->Name, info->wRPCID, info->cbMaxToken);
                FreeContextBuffer(info);
        }
        info = NULL;
        t_status(QuerySecurityPackageInfoA("Digest", &info), SEC_E_OK, "the alias Digest finds the package");
        if (info) {
                t_ok(!strcmp(info->Name, "WDigest"), "alias resolves to WDigest");
                FreeContextBuffer(info);
        }
}

static void test_credentials(void) {
        CredHandle c;
        TimeStamp ts;

        t_status(AcquireCredentialsHandleA(NULL, WDIGEST_SP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &c,
                                           &ts),
                 SEC_E_NO_CREDENTIALS, "client credential needs an explicit identity");
        t_status(server_cred("no-such-store", &c), SEC_E_NO_CREDENTIALS, "unknown digest store");
        if (t_status(server_cred(NULL, &c), SEC_E_OK, "server credential, first granted store"))
                FreeCredentialsHandle(&c);
}

static const struct {
        const char *store, *alg;
} stores[] = {
        { "md5", "MD5" },
        { "md5-sess", "MD5-sess" },
        { "sha256", "SHA-256" },
        { "sha256-sess", "SHA-256-sess" },
        { "sha512-256", "SHA-512-256" },
        { "sha512-256-sess", "SHA-512-256-sess" },
};

static void test_algorithms(void) {
        CredHandle cc;

        if (!t_status(client_cred("alice", "alice-pw-1", NULL, &cc), SEC_E_OK, "alice's client credential"))
                return;
        for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
                for (int qi = 0; qi < 2; qi++) {
                        bool integ = qi == 1;
                        CredHandle sc;
                        CtxtHandle cctx, sctx;
                        Tok chal, resp;
                        ULONG ca = 0, sa = 0;
                        char want[64];
                        const char *qop = integ ? "auth-int" : "auth";

                        if (!t_status(server_cred(stores[i].store, &sc), SEC_E_OK, "server credential %s",
                                      stores[i].store))
                                continue;
                        t_status(challenge(&sc, integ ? ASC_REQ_INTEGRITY : 0, NULL, &chal), SEC_I_CONTINUE_NEEDED,
                                 "%s/%s: challenge", stores[i].alg, qop);
                        snprintf(want, sizeof(want), "algorithm=%s,", stores[i].alg);
                        t_ok(strstr(chal.s, want) && strstr(chal.s, integ ? "qop=\"auth,auth-int\"" : "qop=\"auth\""),
                             "%s/%s: challenge names the algorithm and qop", stores[i].alg, qop);
                        t_status(respond(&cc, &cctx, false, "/docs/index.html?x=1", integ ? ISC_REQ_INTEGRITY : 0,
                                         &chal, "POST", integ ? "the body" : NULL, NULL, &resp, &ca),
                                 SEC_E_OK, "%s/%s: ISC answers", stores[i].alg, qop);
                        snprintf(want, sizeof(want), "qop=%s,", qop);
                        t_ok(strstr(resp.s, want) && strstr(resp.s, "nc=00000001") &&
                                     (!integ || (ca & ISC_RET_INTEGRITY)),
                             "%s/%s: response uses qop %s, nc 1, ISC_RET_INTEGRITY %s", stores[i].alg, qop, qop,
                             integ ? "set" : "unset");
                        t_status(verify(&sc, NULL, false, &resp, "POST", "/docs/index.html?x=1",
                                        integ ? "the body" : NULL, 0, &sctx, &sa),
                                 SEC_E_OK, "%s/%s: ASC accepts", stores[i].alg, qop);
                        {
                                char *n = server_name(&sctx);
                                t_ok(n && !strcmp(n, "alice") && (!integ || (sa & ASC_RET_INTEGRITY)),
                                     "%s/%s: server sees alice (%s)", stores[i].alg, qop, n ? n : "-");
                        }
                        DeleteSecurityContext(&sctx);
                        DeleteSecurityContext(&cctx);
                        FreeCredentialsHandle(&sc);
                }
        FreeCredentialsHandle(&cc);
}

/* alice, SHA-256 store, qop=auth: one handshake, contexts kept. */
typedef struct Hs {
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        Tok chal, resp;
} Hs;

static bool hs_start(Hs *h, const char *user, const char *pw, const char *store, const char *uri, ULONG flags) {
        SECURITY_STATUS st;
        if (client_cred(user, pw, NULL, &h->cc) != SEC_E_OK)
                return false;
        if (server_cred(store, &h->sc) != SEC_E_OK) {
                FreeCredentialsHandle(&h->cc);
                return false;
        }
        st = challenge(&h->sc, flags, &h->sctx, &h->chal);
        if (st == SEC_I_CONTINUE_NEEDED)
                st = respond(&h->cc, &h->cctx, false, uri, 0, &h->chal, "GET", NULL, NULL, &h->resp, NULL);
        if (st != SEC_E_OK) {
                FreeCredentialsHandle(&h->cc);
                FreeCredentialsHandle(&h->sc);
                return false;
        }
        return true;
}

static void hs_done(Hs *h) {
        DeleteSecurityContext(&h->cctx);
        DeleteSecurityContext(&h->sctx);
        FreeCredentialsHandle(&h->cc);
        FreeCredentialsHandle(&h->sc);
}

static void test_after_success(void) {
        Hs h;
        SecPkgContext_Lifespan life = { 0 };
        SecPkgContext_PackageInfoA pi = { 0 };
        uint8_t sig[64], data[8] = "message";
        SecBuffer mb[2] = { { sizeof(data), SECBUFFER_DATA, data }, { sizeof(sig), SECBUFFER_TOKEN, sig } };
        SecBufferDesc md = { SECBUFFER_VERSION, 2, mb };
        SecBuffer cb = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc cd = { SECBUFFER_VERSION, 1, &cb };
        char *n;

        if (!T_OK(hs_start(&h, "alice", "alice-pw-1", "sha256", "/a", 0), "handshake for the attribute checks"))
                return;
        t_status(verify(&h.sc, &h.sctx, true, &h.resp, "GET", "/a", NULL, 0, NULL, NULL), SEC_E_OK,
                 "ASC on the context that issued the challenge");
        n = server_name(&h.sctx);
        t_ok(n && !strcmp(n, "alice"), "server NAMES: %s", n ? n : "-");
        n = server_name(&h.cctx);
        t_ok(n && !strcmp(n, "alice"), "client NAMES: %s", n ? n : "-");
        t_status(QueryContextAttributesA(&h.sctx, SECPKG_ATTR_LIFESPAN, &life), SEC_E_OK, "LIFESPAN");
        t_ok(life.tsStart.QuadPart > 0 && life.tsExpiry.QuadPart == INT64_MAX, "LIFESPAN: start set, no expiry");
        if (t_status(QueryContextAttributesA(&h.cctx, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK, "PACKAGE_INFO")) {
                t_ok(pi.PackageInfo && !strcmp(pi.PackageInfo->Name, "WDigest") && pi.PackageInfo->wRPCID == 21,
                     "PACKAGE_INFO names WDigest, rpcid 21");
                FreeContextBuffer(pi.PackageInfo);
        }
        t_status(MakeSignature(&h.cctx, 0, &md, 0), SEC_E_UNSUPPORTED_FUNCTION, "MakeSignature in HTTP mode");
        t_status(VerifySignature(&h.sctx, &md, 0, NULL), SEC_E_UNSUPPORTED_FUNCTION, "VerifySignature in HTTP mode");
        t_status(CompleteAuthToken(&h.cctx, &cd), SEC_E_OK, "CompleteAuthToken is a no-op in HTTP mode");
        t_status(verify(&h.sc, &h.sctx, true, &h.resp, "GET", "/a", NULL, 0, NULL, NULL),
                 (SECURITY_STATUS) STATUS_LOGON_FAILURE, "ASC again on an established context");
        hs_done(&h);
}

static void test_failures(void) {
        CredHandle cc, sc;
        CtxtHandle cctx;
        Tok chal, resp;

        if (!t_status(server_cred("sha256", &sc), SEC_E_OK, "server credential"))
                return;
        /* Wrong password, unknown user: the same answer. */
        if (t_status(client_cred("alice", "not-her-password", NULL, &cc), SEC_E_OK, "alice, wrong password")) {
                challenge(&sc, 0, NULL, &chal);
                respond(&cc, &cctx, false, "/x", 0, &chal, "GET", NULL, NULL, &resp, NULL);
                t_status(verify(&sc, NULL, false, &resp, "GET", "/x", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "wrong password: SEC_E_LOGON_DENIED");
                DeleteSecurityContext(&cctx);
                FreeCredentialsHandle(&cc);
        }
        if (t_status(client_cred("mallory", "whatever", NULL, &cc), SEC_E_OK, "mallory (not in the store)")) {
                challenge(&sc, 0, NULL, &chal);
                respond(&cc, &cctx, false, "/x", 0, &chal, "GET", NULL, NULL, &resp, NULL);
                t_status(verify(&sc, NULL, false, &resp, "GET", "/x", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "unknown user: SEC_E_LOGON_DENIED");
                DeleteSecurityContext(&cctx);
                FreeCredentialsHandle(&cc);
        }

        if (!t_status(client_cred("alice", "alice-pw-1", NULL, &cc), SEC_E_OK, "alice"))
                goto out;
        /* Target names that are not URIs: refused before any work. */
        {
                const char *bad[] = { "/a b", "/caf\xc3\xa9", "/q\"x", "/%zz", "/%4", "/tab\there", "" };
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        t_status(respond(&cc, &cctx, false, bad[i], 0, NULL, "GET", NULL, NULL, &resp, NULL),
                                 SEC_E_INVALID_PARAMETER, "target URI #%zu with forbidden characters", i);
                }
                t_status(InitializeSecurityContextA(&cc, NULL, NULL, ISC_REQ_HTTP, 0, 0, NULL, 0, &cctx, NULL, NULL,
                                                    NULL),
                         SEC_E_INVALID_PARAMETER, "no target URI");
        }
        challenge(&sc, 0, NULL, &chal);
        t_status(respond(&cc, &cctx, false, "/caf%C3%A9?q=1&r=[x]", 0, &chal, "GET", NULL, NULL, &resp, NULL),
                 SEC_E_OK, "percent-encoded target URI is fine");
        t_status(verify(&sc, NULL, false, &resp, "GET", "/caf%C3%A9?q=1&r=[x]", NULL, 0, NULL, NULL), SEC_E_OK,
                 "and verifies");
        DeleteSecurityContext(&cctx);

        /* Tampering: response digest, uri, nonce. */
        challenge(&sc, 0, NULL, &chal);
        respond(&cc, &cctx, false, "/t", 0, &chal, "GET", NULL, NULL, &resp, NULL);
        {
                Tok t = resp;
                char *r = strstr(t.s, "response=\"");
                if (r) {
                        r += 10;
                        *r = *r == '0' ? '1' : '0';
                }
                t_status(verify(&sc, NULL, false, &t, "GET", "/t", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "tampered response digest: SEC_E_LOGON_DENIED");
                t_status(verify(&sc, NULL, false, &resp, "GET", "/other", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "response for another URI than the request's: SEC_E_LOGON_DENIED");
                t_status(verify(&sc, NULL, false, &resp, "PUT", "/t", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "another method: SEC_E_LOGON_DENIED");
                t = resp;
                r = strstr(t.s, "nonce=\"");
                if (r) {
                        r += 30;
                        *r = *r == '0' ? '1' : '0';
                }
                t_status(verify(&sc, NULL, false, &t, "GET", "/t", NULL, 0, NULL, NULL), SEC_E_LOGON_DENIED,
                         "forged nonce: SEC_E_LOGON_DENIED");
                t = resp;
                memcpy(t.s, "Digest username=\"alice\", ,,,=", 30);
                t_status(verify(&sc, NULL, false, &t, "GET", "/t", NULL, 0, NULL, NULL), SEC_E_INVALID_TOKEN,
                         "malformed response: SEC_E_INVALID_TOKEN");
        }
        /* Replay: the same nonce count twice; the next count is fine. */
        t_status(verify(&sc, NULL, false, &resp, "GET", "/t", NULL, 0, NULL, NULL), SEC_E_OK, "first use of nc 1");
        t_status(verify(&sc, NULL, false, &resp, "GET", "/t", NULL, 0, NULL, NULL), SEC_E_OUT_OF_SEQUENCE,
                 "replayed nonce count: SEC_E_OUT_OF_SEQUENCE");
        t_status(respond(&cc, &cctx, true, "/t2", 0, NULL, "GET", NULL, NULL, &resp, NULL), SEC_E_OK,
                 "next request on the same nonce, no new challenge");
        t_ok(strstr(resp.s, "nc=00000002") != NULL, "nonce count 2");
        t_status(verify(&sc, NULL, false, &resp, "GET", "/t2", NULL, 0, NULL, NULL), SEC_E_OK, "nc 2 accepted");
        DeleteSecurityContext(&cctx);

        /* auth-int with a body changed in transit. */
        challenge(&sc, ASC_REQ_INTEGRITY, NULL, &chal);
        respond(&cc, &cctx, false, "/up", ISC_REQ_INTEGRITY, &chal, "POST", "amount=10", NULL, &resp, NULL);
        t_status(verify(&sc, NULL, false, &resp, "POST", "/up", "amount=99", 0, NULL, NULL), SEC_E_LOGON_DENIED,
                 "auth-int, body changed in transit: SEC_E_LOGON_DENIED");
        DeleteSecurityContext(&cctx);
        /* auth-int with H(body) as WDigest's hex parameter (SHA-256 of "abc"). */
        challenge(&sc, ASC_REQ_INTEGRITY, NULL, &chal);
        t_status(respond(&cc, &cctx, false, "/up", ISC_REQ_INTEGRITY, &chal, "POST", NULL,
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &resp, NULL),
                 SEC_E_OK, "auth-int with hex H(entity-body)");
        t_status(verify(&sc, NULL, false, &resp, "POST", "/up", "abc", 0, NULL, NULL), SEC_E_OK,
                 "verifies against the raw body");
        DeleteSecurityContext(&cctx);
        t_status(respond(&cc, &cctx, false, "/up", ISC_REQ_INTEGRITY, &chal, "POST", NULL, "xyz", &resp, NULL),
                 SEC_E_INVALID_PARAMETER, "H(entity-body) that is not hex of the right length");

        /* Mode and flags. */
        t_status(InitializeSecurityContextA(&cc, NULL, "/x", 0, 0, 0, NULL, 0, &cctx, NULL, NULL, NULL),
                 SEC_I_CONTINUE_NEEDED, "ISC without ISC_REQ_HTTP: SASL mode, no challenge yet (test_digest_sasl)");
        DeleteSecurityContext(&cctx);
        t_status(challenge(&sc, ASC_REQ_CONFIDENTIALITY, NULL, &chal), SEC_E_SECURITY_QOS_FAILED,
                 "ASC_REQ_CONFIDENTIALITY in HTTP mode");
        challenge(&sc, 0, NULL, &chal);
        t_status(respond(&cc, &cctx, false, "/x", 0, &chal, NULL, NULL, NULL, &resp, NULL), SEC_E_INVALID_PARAMETER,
                 "ISC without the method buffer");
        {
                Tok bad = { .s = "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\", algorithm=SHA-1", .len = 0 };
                bad.len = (ULONG) strlen(bad.s);
                t_status(respond(&cc, &cctx, false, "/x", 0, &bad, "GET", NULL, NULL, &resp, NULL),
                         SEC_E_ALGORITHM_MISMATCH, "challenge with an unknown algorithm");
                snprintf(bad.s, sizeof(bad.s), "Digest realm=\"r\", nonce=\"abc\"");
                bad.len = (ULONG) strlen(bad.s);
                t_status(respond(&cc, &cctx, false, "/x", 0, &bad, "GET", NULL, NULL, &resp, NULL),
                         SEC_E_QOP_NOT_SUPPORTED, "RFC 2069 challenge (no qop) refused");
                snprintf(bad.s, sizeof(bad.s), "Digest realm=\"r, nonce=\"abc\"");
                bad.len = (ULONG) strlen(bad.s);
                t_status(respond(&cc, &cctx, false, "/x", 0, &bad, "GET", NULL, NULL, &resp, NULL),
                         SEC_E_INVALID_TOKEN, "unterminated quoted string");
        }
        FreeCredentialsHandle(&cc);
out:
        FreeCredentialsHandle(&sc);
}

static void test_userhash_and_utf8(void) {
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        Tok chal, resp;
        char *n;

        if (!t_status(server_cred("userhash", &sc), SEC_E_OK, "userhash store"))
                return;
        if (t_status(client_cred("bob", "bob-pw-2", realm, &cc), SEC_E_OK, "bob, realm given: HA1 at acquire")) {
                challenge(&sc, 0, NULL, &chal);
                t_ok(strstr(chal.s, "userhash=true") && strstr(chal.s, "charset=UTF-8"),
                     "challenge offers userhash and charset=UTF-8");
                t_status(respond(&cc, &cctx, false, "/u", 0, &chal, "GET", NULL, NULL, &resp, NULL), SEC_E_OK,
                         "ISC with userhash");
                t_ok(strstr(resp.s, "userhash=true") && !strstr(resp.s, "\"bob\""),
                     "the user name does not travel in clear");
                if (t_status(verify(&sc, NULL, false, &resp, "GET", "/u", NULL, 0, &sctx, NULL), SEC_E_OK,
                             "ASC resolves the hashed user name")) {
                        n = server_name(&sctx);
                        t_ok(n && !strcmp(n, "bob"), "server NAMES: %s", n ? n : "-");
                        DeleteSecurityContext(&sctx);
                }
                DeleteSecurityContext(&cctx);
                FreeCredentialsHandle(&cc);
        }
        FreeCredentialsHandle(&sc);

        if (!t_status(server_cred("sha512-256", &sc), SEC_E_OK, "SHA-512-256 store"))
                return;
        if (t_status(client_cred("zo\xc3\xab", "zoe-pw-3", NULL, &cc), SEC_E_OK, "a UTF-8 user name")) {
                challenge(&sc, 0, NULL, &chal);
                t_status(respond(&cc, &cctx, false, "/z", 0, &chal, "GET", NULL, NULL, &resp, NULL), SEC_E_OK,
                         "ISC for zoë");
                t_ok(strstr(resp.s, "username*=UTF-8''zo%C3%AB") != NULL, "username* ext-value (RFC 8187)");
                if (t_status(verify(&sc, NULL, false, &resp, "GET", "/z", NULL, 0, &sctx, NULL), SEC_E_OK,
                             "ASC decodes username*")) {
                        n = server_name(&sctx);
                        t_ok(n && !strcmp(n, "zo\xc3\xab"), "server NAMES: zoë");
                        DeleteSecurityContext(&sctx);
                }
                DeleteSecurityContext(&cctx);
                FreeCredentialsHandle(&cc);
        }
        /* A credential whose realm is not the challenge's. */
        if (t_status(client_cred("alice", "alice-pw-1", "other-realm", &cc), SEC_E_OK, "alice in another realm")) {
                challenge(&sc, 0, NULL, &chal);
                t_status(respond(&cc, &cctx, false, "/z", 0, &chal, "GET", NULL, NULL, &resp, NULL),
                         SEC_E_NO_CREDENTIALS, "challenge for a realm the credential is not for");
                FreeCredentialsHandle(&cc);
        }
        FreeCredentialsHandle(&sc);
}

static void test_stale(void) {
        Hs h;
        Tok chal2;

        if (!T_OK(hs_start(&h, "alice", "alice-pw-1", "sha256", "/s", 0), "handshake for the stale check"))
                return;
        /* The test world's nonces live 4 seconds. */
        sleep(5);
        t_status(verify(&h.sc, NULL, false, &h.resp, "GET", "/s", NULL, 0, NULL, NULL), SEC_E_CONTEXT_EXPIRED,
                 "right answer on an expired nonce: SEC_E_CONTEXT_EXPIRED");
        t_status(challenge(&h.sc, ASC_REQ_STALE, NULL, &chal2), SEC_I_CONTINUE_NEEDED, "ASC_REQ_STALE challenge");
        t_ok(strstr(chal2.s, "stale=true") != NULL, "challenge says stale=true");
        t_status(respond(&h.cc, &h.cctx, true, "/s", 0, &chal2, "GET", NULL, NULL, &h.resp, NULL), SEC_E_OK,
                 "client answers the new nonce without the password");
        t_status(verify(&h.sc, NULL, false, &h.resp, "GET", "/s", NULL, 0, NULL, NULL), SEC_E_OK,
                 "accepted with the fresh nonce");
        hs_done(&h);
}

/* Authentication-Info: the client checks rspauth (mutual authentication). */
static void test_mutual(void) {
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        Tok chal, resp, info;
        ULONG attrs = 0;

        if (client_cred("alice", "alice-pw-1", NULL, &cc) != SEC_E_OK)
                return;
        if (server_cred("sha256-sess", &sc) != SEC_E_OK) {
                FreeCredentialsHandle(&cc);
                return;
        }
        for (int integ = 0; integ < 2; integ++) {
                SecBuffer in_b[5] = {
                        { 0, SECBUFFER_TOKEN, resp.s },
                        { 4, SECBUFFER_PKG_PARAMS, "POST" },
                        { 3, SECBUFFER_PKG_PARAMS, "/mu" },
                        { 0, SECBUFFER_PKG_PARAMS, NULL },
                        { 4, SECBUFFER_DATA, "body" },
                };
                SecBuffer out_b = { TOK_MAX, SECBUFFER_TOKEN, info.s };
                SecBufferDesc in = { SECBUFFER_VERSION, 5, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
                const char *q = integ ? "auth-int" : "auth";

                challenge(&sc, integ ? ASC_REQ_INTEGRITY : 0, NULL, &chal);
                respond(&cc, &cctx, false, "/mu", integ ? ISC_REQ_INTEGRITY : 0, &chal, "POST", "body", NULL, &resp,
                        NULL);
                in_b[0].cbBuffer = resp.len;
                if (!t_status(AcceptSecurityContext(&sc, NULL, &in, ASC_REQ_HTTP, 0, &sctx, &od, &attrs, NULL),
                              SEC_E_OK, "%s: ASC with an output slot", q))
                        continue;
                info.len = out_b.cbBuffer;
                info.s[info.len] = '\0';
                t_ok(strstr(info.s, "rspauth=\"") != NULL, "%s: Authentication-Info with rspauth", q);
                t_status(respond(&cc, &cctx, true, "/mu", 0, &info, NULL, NULL, NULL, &resp, &attrs), SEC_E_OK,
                         "%s: client verifies rspauth", q);
                t_ok(attrs & ISC_RET_MUTUAL_AUTH, "%s: ISC_RET_MUTUAL_AUTH", q);
                {
                        char *r = strstr(info.s, "rspauth=\"");
                        if (r)
                                r[9] = r[9] == '0' ? '1' : '0';
                }
                t_status(respond(&cc, &cctx, true, "/mu", 0, &info, NULL, NULL, NULL, &resp, NULL),
                         SEC_E_MUTUAL_AUTH_FAILED, "%s: forged rspauth: SEC_E_MUTUAL_AUTH_FAILED", q);
                DeleteSecurityContext(&sctx);
                DeleteSecurityContext(&cctx);
        }
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* The W entry points: UTF-16 identity, target and realm parameter. */
static void test_wide(void) {
        static const SEC_WCHAR user[] = u"alice", pw[] = u"alice-pw-1", uri[] = u"/wide?x=%41";
        static const SEC_WCHAR bad_uri[] = u"/wide \u00e9";
        SEC_WINNT_AUTH_IDENTITY_W id = {
                .User = (SEC_WCHAR *) user, .UserLength = 5,
                .Password = (SEC_WCHAR *) pw, .PasswordLength = 10,
                .Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE,
        };
        SEC_WCHAR wrealm[64];
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        TimeStamp ts;
        Tok chal, resp;
        ULONG attrs;
        size_t rl = strlen(realm);

        if (!t_status(AcquireCredentialsHandleW(NULL, (SEC_WCHAR *) WDIGEST_SP_NAME_W, SECPKG_CRED_OUTBOUND, NULL,
                                                &id, NULL, NULL, &cc, &ts),
                      SEC_E_OK, "AcquireCredentialsHandleW(WDigest)"))
                return;
        if (server_cred("sha256", &sc) != SEC_E_OK) {
                FreeCredentialsHandle(&cc);
                return;
        }
        for (size_t i = 0; i < rl && i < 63; i++)
                wrealm[i] = (SEC_WCHAR) realm[i];
        challenge(&sc, 0, NULL, &chal);
        {
                SecBuffer in_b[2] = { { chal.len, SECBUFFER_TOKEN, chal.s }, { 3, SECBUFFER_PKG_PARAMS, "GET" } };
                SecBuffer out_b = { TOK_MAX, SECBUFFER_TOKEN, resp.s };
                SecBufferDesc in = { SECBUFFER_VERSION, 2, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
                t_status(InitializeSecurityContextW(&cc, NULL, (SEC_WCHAR *) bad_uri, ISC_REQ_HTTP, 0, 0, &in, 0,
                                                    &cctx, &od, &attrs, NULL),
                         SEC_E_INVALID_PARAMETER, "InitializeSecurityContextW: non-ASCII target refused");
                out_b.cbBuffer = TOK_MAX;
                t_status(InitializeSecurityContextW(&cc, NULL, (SEC_WCHAR *) uri, ISC_REQ_HTTP, 0, 0, &in, 0, &cctx,
                                                    &od, &attrs, NULL),
                         SEC_E_OK, "InitializeSecurityContextW");
                resp.len = out_b.cbBuffer;
                resp.s[resp.len] = '\0';
        }
        {
                SecBuffer in_b[5] = {
                        { resp.len, SECBUFFER_TOKEN, resp.s },
                        { 3, SECBUFFER_PKG_PARAMS, "GET" },
                        { 11, SECBUFFER_PKG_PARAMS, "/wide?x=%41" },
                        { 0, SECBUFFER_PKG_PARAMS, NULL },
                        { (ULONG) (2 * rl), SECBUFFER_PKG_PARAMS, wrealm },
                };
                SecBufferDesc in = { SECBUFFER_VERSION, 5, in_b };
                SecPkgContext_NamesW names = { 0 };
                if (t_status(AcceptSecurityContext(&sc, NULL, &in, ASC_REQ_HTTP, 0, &sctx, NULL, &attrs, NULL),
                             SEC_E_OK, "ASC with the realm as a UTF-16 parameter")) {
                        t_status(QueryContextAttributesW(&sctx, SECPKG_ATTR_NAMES, &names), SEC_E_OK,
                                 "QueryContextAttributesW(NAMES)");
                        t_ok(names.sUserName && names.sUserName[0] == 'a' && names.sUserName[5] == 0,
                             "NAMES (W): alice");
                        if (names.sUserName)
                                FreeContextBuffer(names.sUserName);
                        DeleteSecurityContext(&sctx);
                }
                wrealm[0] = 'X';
                t_status(AcceptSecurityContext(&sc, NULL, &in, ASC_REQ_HTTP, 0, &sctx, NULL, &attrs, NULL),
                         SEC_E_LOGON_DENIED, "realm parameter that is not the store's");
        }
        DeleteSecurityContext(&cctx);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
}

/* ---- async ---------------------------------------------------------------- */

static pthread_mutex_t a_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t a_cond = PTHREAD_COND_INITIALIZER;
static int a_done;

static void a_notify(SspiAsyncContext *ac, void *data) {
        (void) ac;
        (void) data;
        pthread_mutex_lock(&a_lock);
        a_done++;
        pthread_cond_broadcast(&a_cond);
        pthread_mutex_unlock(&a_lock);
}

static SECURITY_STATUS a_wait(SspiAsyncContext *ac, int want) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        pthread_mutex_lock(&a_lock);
        while (a_done < want && pthread_cond_timedwait(&a_cond, &a_lock, &ts) == 0)
                ;
        pthread_mutex_unlock(&a_lock);
        return SspiGetAsyncCallStatus(ac);
}

static void test_async(void) {
        SspiAsyncContext *ac = SspiCreateAsyncContext();
        SEC_WINNT_AUTH_IDENTITY_A id = {
                .User = (unsigned char *) "alice", .UserLength = 5,
                .Password = (unsigned char *) "alice-pw-1", .PasswordLength = 10,
                .Flags = SEC_WINNT_AUTH_IDENTITY_ANSI,
        };
        CredHandle cc, sc;
        CtxtHandle cctx, sctx;
        TimeStamp ts;
        Tok chal, resp;
        ULONG attrs;
        int n = 0;

        if (!T_OK(ac != NULL, "async context"))
                return;
        SspiSetAsyncNotifyCallback(ac, a_notify, NULL);
        t_status(SspiAcquireCredentialsHandleAsyncA(ac, NULL, WDIGEST_SP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &id,
                                                    NULL, NULL, &cc, &ts),
                 SEC_E_OK, "async ACH queued");
        t_status(a_wait(ac, ++n), SEC_E_OK, "async ACH (client)");
        SspiReinitAsyncContext(ac);
        SspiSetAsyncNotifyCallback(ac, a_notify, NULL);
        t_status(SspiAcquireCredentialsHandleAsyncA(ac, "sha256", "Digest", SECPKG_CRED_INBOUND, NULL, NULL, NULL,
                                                    NULL, &sc, &ts),
                 SEC_E_OK, "async ACH queued");
        t_status(a_wait(ac, ++n), SEC_E_OK, "async ACH (server)");
        {
                SecBuffer in_b = { 0, SECBUFFER_TOKEN, NULL }, out_b = { TOK_MAX, SECBUFFER_TOKEN, chal.s };
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
                SspiReinitAsyncContext(ac);
                SspiSetAsyncNotifyCallback(ac, a_notify, NULL);
                SspiAcceptSecurityContextAsync(ac, &sc, NULL, &in, ASC_REQ_HTTP, 0, &sctx, &od, &attrs, &ts);
                t_status(a_wait(ac, ++n), SEC_I_CONTINUE_NEEDED, "async ASC: challenge");
                chal.len = out_b.cbBuffer;
                chal.s[chal.len] = '\0';
        }
        {
                SecBuffer in_b[2] = { { chal.len, SECBUFFER_TOKEN, chal.s }, { 3, SECBUFFER_PKG_PARAMS, "GET" } };
                SecBuffer out_b = { TOK_MAX, SECBUFFER_TOKEN, resp.s };
                SecBufferDesc in = { SECBUFFER_VERSION, 2, in_b }, od = { SECBUFFER_VERSION, 1, &out_b };
                SspiReinitAsyncContext(ac);
                SspiSetAsyncNotifyCallback(ac, a_notify, NULL);
                SspiInitializeSecurityContextAsyncA(ac, &cc, NULL, "/async", ISC_REQ_HTTP, 0, 0, &in, 0, &cctx, &od,
                                                    &attrs, &ts);
                t_status(a_wait(ac, ++n), SEC_E_OK, "async ISC: response");
                resp.len = out_b.cbBuffer;
                resp.s[resp.len] = '\0';
        }
        {
                SecBuffer in_b[2] = { { resp.len, SECBUFFER_TOKEN, resp.s }, { 3, SECBUFFER_PKG_PARAMS, "GET" } };
                SecBufferDesc in = { SECBUFFER_VERSION, 2, in_b };
                SspiReinitAsyncContext(ac);
                SspiSetAsyncNotifyCallback(ac, a_notify, NULL);
                SspiAcceptSecurityContextAsync(ac, &sc, &sctx, &in, ASC_REQ_HTTP, 0, &sctx, NULL, &attrs, &ts);
                t_status(a_wait(ac, ++n), SEC_E_OK, "async ASC: verified");
        }
        DeleteSecurityContext(&cctx);
        DeleteSecurityContext(&sctx);
        FreeCredentialsHandle(&cc);
        FreeCredentialsHandle(&sc);
        SspiFreeAsyncContext(ac);
}

/* ---- real peers ------------------------------------------------------------ */

static char tmpdir[64];

/* Start a program with stdout to a pipe; the first line is returned. */
static pid_t spawn(char *const argv[], char *line, size_t cap) {
        int p[2];
        pid_t pid;
        FILE *f;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                setpgid(0, 0);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        f = fdopen(p[0], "r");
        if (!f || !fgets(line, (int) cap, f))
                line[0] = '\0';
        if (f)
                fclose(f);
        return pid;
}

static void stop(pid_t pid) {
        if (pid > 0) {
                kill(-pid, SIGTERM);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
}

static int tcp_connect(unsigned port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* The Authentication-Info value of the last http() answer. */
static Tok last_info;

/* One HTTP/1.1 exchange; returns the status code, the WWW-Authenticate
 * value (if any) in `chal` and the body in `body`. */
static int http(unsigned port, const char *method, const char *uri, const char *auth, const char *content, Tok *chal,
                char *body, size_t body_cap) {
        static char buf[65536];
        char req[8192];
        size_t have = 0;
        int fd = tcp_connect(port), n, code = -1;
        char *h, *e;

        if (fd < 0)
                return -1;
        n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     method, uri, port, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "",
                     content ? strlen(content) : 0, content ? content : "");
        if (n <= 0 || (size_t) n >= sizeof(req) || send(fd, req, (size_t) n, MSG_NOSIGNAL) != n) {
                close(fd);
                return -1;
        }
        for (;;) {
                ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
                if (r <= 0)
                        break;
                have += (size_t) r;
        }
        close(fd);
        buf[have] = '\0';
        if (sscanf(buf, "HTTP/1.%*c %d", &code) != 1)
                return -1;
        last_info.len = 0;
        last_info.s[0] = '\0';
        h = strcasestr(buf, "\r\nAuthentication-Info: ");
        if (h && (e = strstr(h + 2, "\r\n")) && (size_t) (e - h - 23) < TOK_MAX) {
                last_info.len = (ULONG) (e - h - 23);
                memcpy(last_info.s, h + 23, last_info.len);
                last_info.s[last_info.len] = '\0';
        }
        if (chal) {
                chal->len = 0;
                chal->s[0] = '\0';
                h = strcasestr(buf, "\r\nWWW-Authenticate: ");
                if (h && (e = strstr(h + 2, "\r\n")) && (size_t) (e - h - 20) < TOK_MAX) {
                        chal->len = (ULONG) (e - h - 20);
                        memcpy(chal->s, h + 20, chal->len);
                        chal->s[chal->len] = '\0';
                }
        }
        if (body) {
                h = strstr(buf, "\r\n\r\n");
                snprintf(body, body_cap, "%s", h ? h + 4 : "");
        }
        return code;
}

static void test_curl(void) {
        char exe[600], line[128], cmd[1024], out[256];
        unsigned port = 0;
        pid_t pid;
        FILE *p;

        if (access("/usr/bin/curl", X_OK) != 0) {
                t_ok(false, "curl is installed (tests/tools/install-deps)");
                return;
        }
        snprintf(exe, sizeof(exe), "%s/build/examples/http-digest-server", getenv("SSPID_TOP") ? getenv("SSPID_TOP") : ".");
        pid = spawn((char *[]) { exe, "--store", "http", NULL }, line, sizeof(line));
        if (!T_OK(sscanf(line, "listening on %u", &port) == 1, "example server is listening (%u)", port)) {
                stop(pid);
                return;
        }
        snprintf(cmd, sizeof(cmd),
                 "curl -sS --max-time 20 --digest -u alice:alice-pw-1 -w ' %%{http_code}' http://127.0.0.1:%u/private/doc 2>&1",
                 port);
        p = popen(cmd, "r");
        out[0] = '\0';
        if (p) {
                size_t n = fread(out, 1, sizeof(out) - 1, p);
                out[n] = '\0';
                pclose(p);
        }
        t_ok(!strcmp(out, "hello alice\n 200"), "curl --digest (SHA-256) as alice: 200, hello alice");
        snprintf(cmd, sizeof(cmd),
                 "curl -sS --max-time 20 --digest -u alice:wrong -o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/p 2>&1",
                 port);
        p = popen(cmd, "r");
        out[0] = '\0';
        if (p) {
                size_t n = fread(out, 1, sizeof(out) - 1, p);
                out[n] = '\0';
                pclose(p);
        }
        t_ok(!strcmp(out, "401"), "curl --digest with a wrong password: 401 (%s)", out);

        /* Our client in this process, the server in another. */
        {
                CredHandle cc;
                CtxtHandle cctx;
                Tok chal, resp;
                char body[256];
                int code;

                code = http(port, "GET", "/two/processes", NULL, NULL, &chal, NULL, 0);
                t_ok(code == 401 && chal.len > 0, "first request: 401 with a challenge");
                if (client_cred("alice", "alice-pw-1", NULL, &cc) == SEC_E_OK) {
                        t_status(respond(&cc, &cctx, false, "/two/processes", 0, &chal, "GET", NULL, NULL, &resp,
                                         NULL),
                                 SEC_E_OK, "ISC on the server's challenge");
                        code = http(port, "GET", "/two/processes", resp.s, NULL, NULL, body, sizeof(body));
                        t_ok(code == 200 && !strcmp(body, "hello alice\n"), "across processes: 200, hello alice");
                        t_status(respond(&cc, &cctx, true, "/two/processes", 0, &last_info, NULL, NULL, NULL, &resp,
                                         NULL),
                                 SEC_E_OK, "client verifies the example server's rspauth");
                        code = http(port, "GET", "/two/processes", resp.s, NULL, NULL, NULL, 0);
                        t_ok(code == 401, "the same Authorization again (replay): 401");
                        t_status(respond(&cc, &cctx, true, "/next", 0, NULL, "GET", NULL, NULL, &resp, NULL),
                                 SEC_E_OK, "ISC for the next request on the nonce");
                        code = http(port, "GET", "/next", resp.s, NULL, NULL, body, sizeof(body));
                        t_ok(code == 200, "next request, nc 2: 200");
                        DeleteSecurityContext(&cctx);
                        FreeCredentialsHandle(&cc);
                }
        }
        stop(pid);

        /* auth-int across processes, and a body changed in transit. */
        pid = spawn((char *[]) { exe, "--store", "sha512-256", "--integrity", NULL }, line, sizeof(line));
        if (sscanf(line, "listening on %u", &port) == 1) {
                CredHandle cc;
                CtxtHandle cctx;
                Tok chal, resp;
                int code;

                http(port, "POST", "/pay", NULL, "to=bob&amount=10", &chal, NULL, 0);
                if (client_cred("alice", "alice-pw-1", NULL, &cc) == SEC_E_OK) {
                        respond(&cc, &cctx, false, "/pay", ISC_REQ_INTEGRITY, &chal, "POST", "to=bob&amount=10", NULL,
                                &resp, NULL);
                        t_ok(strstr(resp.s, "qop=auth-int") != NULL, "auth-int chosen");
                        code = http(port, "POST", "/pay", resp.s, "to=bob&amount=10", NULL, NULL, 0);
                        t_ok(code == 200, "auth-int over HTTP: 200");
                        respond(&cc, &cctx, true, "/pay", ISC_REQ_INTEGRITY, NULL, "POST", "to=bob&amount=10", NULL,
                                &resp, NULL);
                        code = http(port, "POST", "/pay", resp.s, "to=eve&amount=10", NULL, NULL, 0);
                        t_ok(code == 401, "auth-int, body changed in transit: 401");
                        DeleteSecurityContext(&cctx);
                        FreeCredentialsHandle(&cc);
                }
        } else
                t_ok(false, "auth-int example server is listening");
        stop(pid);
}

static unsigned free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        unsigned port = 0;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &sl) == 0)
                port = ntohs(sa.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

static int run_sh(const char *cmd) {
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void test_apache(void) {
        char dir[128], conf[4096], path[256], cmd[1024], body[256];
        unsigned port = free_port();
        const char *mods = "/usr/lib/apache2/modules";
        pid_t pid;
        FILE *f;
        int code = -1;

        if (access("/usr/sbin/apache2", X_OK) != 0) {
                t_ok(false, "apache2 is installed (tests/tools/install-deps)");
                return;
        }
        snprintf(dir, sizeof(dir), "%s/apache", tmpdir);
        snprintf(cmd, sizeof(cmd), "mkdir -p %s/htdocs/private && echo 'apache says hi' >%s/htdocs/private/index.html"
                                   " && chmod -R a+rX %s",
                 dir, dir, dir);
        if (run_sh(cmd) != 0) {
                t_ok(false, "apache directory");
                return;
        }
        /* The htdigest file, as htdigest writes it: user:realm:MD5(user:realm:password). */
        snprintf(cmd, sizeof(cmd),
                 "printf 'carol:apache-realm:%%s\\n' $(printf 'carol:apache-realm:carol-pw' | md5sum | cut -d' ' -f1) >%s/htdigest"
                 " && chmod a+r %s/htdigest",
                 dir, dir);
        run_sh(cmd);
        snprintf(conf, sizeof(conf),
                 "ServerRoot %s\nServerName 127.0.0.1\nListen 127.0.0.1:%u\nPidFile %s/httpd.pid\n"
                 "ErrorLog %s/error.log\nLogLevel warn\nDefaultRuntimeDir %s\nMutex file:%s default\n"
                 "LoadModule mpm_event_module %s/mod_mpm_event.so\n"
                 "LoadModule authz_core_module %s/mod_authz_core.so\n"
                 "LoadModule authz_user_module %s/mod_authz_user.so\nLoadModule authn_core_module %s/mod_authn_core.so\n"
                 "LoadModule authn_file_module %s/mod_authn_file.so\nLoadModule auth_digest_module %s/mod_auth_digest.so\n"
                 "LoadModule dir_module %s/mod_dir.so\n"
                 "%s"
                 "DocumentRoot %s/htdocs\nDirectoryIndex index.html\n"
                 "<Location /private>\n AuthType Digest\n AuthName \"apache-realm\"\n AuthDigestDomain /private/\n"
                 " AuthDigestProvider file\n AuthUserFile %s/htdigest\n Require valid-user\n</Location>\n",
                 dir, port, dir, dir, dir, dir, mods, mods, mods, mods, mods, mods, mods,
                 geteuid() == 0 ? "User nobody\nGroup nogroup\n" : "", dir, dir);
        snprintf(path, sizeof(path), "%s/httpd.conf", dir);
        f = fopen(path, "w");
        if (!f || fputs(conf, f) < 0) {
                if (f)
                        fclose(f);
                t_ok(false, "apache config");
                return;
        }
        fclose(f);
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 0);
                dup2(null, 1);
                setpgid(0, 0);
                execl("/usr/sbin/apache2", "apache2", "-f", path, "-DFOREGROUND", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && code < 0; i++) {
                usleep(100000);
                code = http(port, "GET", "/private/", NULL, NULL, NULL, NULL, 0);
        }
        if (T_OK(code == 401, "Apache httpd with mod_auth_digest is up and asks (%d)", code)) {
                CredHandle cc;
                CtxtHandle cctx;
                Tok chal, resp;

                http(port, "GET", "/private/", NULL, NULL, &chal, NULL, 0);
                t_ok(strstr(chal.s, "algorithm=MD5") != NULL, "Apache offers MD5");
                if (t_status(client_cred("carol", "carol-pw", NULL, &cc), SEC_E_OK, "carol")) {
                        t_status(respond(&cc, &cctx, false, "/private/", 0, &chal, "GET", NULL, NULL, &resp, NULL),
                                 SEC_E_OK, "ISC answers Apache's challenge");
                        code = http(port, "GET", "/private/", resp.s, NULL, NULL, body, sizeof(body));
                        t_ok(code == 200 && !strcmp(body, "apache says hi\n"), "Apache accepts our response (%d)",
                             code);
                        if (T_OK(last_info.len > 0, "Apache sends Authentication-Info"))
                                t_status(respond(&cc, &cctx, true, "/private/", 0, &last_info, NULL, NULL, NULL,
                                                 &resp, NULL),
                                         SEC_E_OK, "our client verifies Apache's rspauth");
                        t_status(respond(&cc, &cctx, true, "/private/index.html", 0, NULL, "GET", NULL, NULL, &resp,
                                         NULL),
                                 SEC_E_OK, "next request on Apache's nonce");
                        code = http(port, "GET", "/private/index.html", resp.s, NULL, NULL, NULL, 0);
                        t_ok(code == 200, "Apache accepts nc 2 (%d)", code);
                        DeleteSecurityContext(&cctx);
                        FreeCredentialsHandle(&cc);
                }
                if (t_status(client_cred("carol", "bad-pw", NULL, &cc), SEC_E_OK, "carol, wrong password")) {
                        respond(&cc, &cctx, false, "/private/", 0, &chal, "GET", NULL, NULL, &resp, NULL);
                        code = http(port, "GET", "/private/", resp.s, NULL, NULL, NULL, 0);
                        t_ok(code == 401, "Apache refuses the wrong password (%d)", code);
                        DeleteSecurityContext(&cctx);
                        FreeCredentialsHandle(&cc);
                }
        } else {
                snprintf(cmd, sizeof(cmd), "tail -5 %s/error.log >&2", dir);
                run_sh(cmd);
        }
        stop(pid);
}

/*
 * Policy: a second daemon whose config turns MD5 off. A child process
 * talks to it (SSPID_SOCKET) and must refuse an MD5 challenge.
 */
static void test_md5_policy(void) {
        char bin[600] = "", sock[200], admin[200], conf[200], line[600], cmd[1400];
        const char *env_dir = getenv("SSPID_TESTENV");
        pid_t d, c;
        FILE *f;
        int status = -1;

        if (!env_dir)
                return;
        snprintf(line, sizeof(line), "%s/sspid.bin", env_dir);
        f = fopen(line, "r");
        if (f) {
                if (fgets(bin, sizeof(bin), f))
                        bin[strcspn(bin, "\n")] = '\0';
                fclose(f);
        }
        if (!bin[0]) {
                t_ok(false, "daemon binary of the test world");
                return;
        }
        snprintf(sock, sizeof(sock), "%s/nomd5.sock", tmpdir);
        snprintf(conf, sizeof(conf), "%s/nomd5.conf", tmpdir);
        snprintf(admin, sizeof(admin), "%s/nomd5-admin.sock", tmpdir);
        f = fopen(conf, "w");
        if (!f)
                return;
        fprintf(f, "[digest]\nmd5 = no\n");
        fclose(f);
        d = fork();
        if (d == 0) {
                snprintf(cmd, sizeof(cmd), "%s/nomd5.log", tmpdir);
                int fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                dup2(fd, 1);
                dup2(fd, 2);
                setpgid(0, 0);
                execl(bin, bin, "--socket", sock, "--admin-socket", admin, "--config", conf, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
                usleep(50000);
        c = fork();
        if (c == 0) {
                CredHandle cc;
                CtxtHandle cctx;
                Tok chal, resp;
                int rc = 10;
                setenv("SSPID_SOCKET", sock, 1);
                snprintf(chal.s, sizeof(chal.s),
                         "Digest realm=\"r\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5");
                chal.len = (ULONG) strlen(chal.s);
                if (client_cred("alice", "alice-pw-1", NULL, &cc) == SEC_E_OK) {
                        SECURITY_STATUS st = respond(&cc, &cctx, false, "/", 0, &chal, "GET", NULL, NULL, &resp, NULL);
                        rc = st == SEC_E_ALGORITHM_MISMATCH ? 0 : 1;
                        snprintf(chal.s, sizeof(chal.s),
                                 "Digest realm=\"r\", nonce=\"n0nce\", qop=\"auth\", algorithm=SHA-256");
                        chal.len = (ULONG) strlen(chal.s);
                        st = respond(&cc, &cctx, false, "/", 0, &chal, "GET", NULL, NULL, &resp, NULL);
                        if (st != SEC_E_OK)
                                rc = 2;
                        DeleteSecurityContext(&cctx);
                        /* SASL DIGEST-MD5 is MD5 too (test_digest_sasl). */
                        {
                                static const char sasl[] = "realm=\"r\",nonce=\"n0nce\",qop=\"auth\",algorithm=md5-sess";
                                SecBuffer ib = { sizeof(sasl) - 1, SECBUFFER_TOKEN, (void *) sasl };
                                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib };
                                ULONG attrs;
                                if (InitializeSecurityContextA(&cc, NULL, "ldap/x", 0, 0, 0, &in, 0, &cctx, NULL,
                                                               &attrs, NULL) != SEC_E_ALGORITHM_MISMATCH)
                                        rc = 3;
                        }
                        FreeCredentialsHandle(&cc);
                }
                _exit(rc);
        }
        waitpid(c, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "md5 = no: an MD5 challenge (HTTP, SASL) is refused (SEC_E_ALGORITHM_MISMATCH), SHA-256 answered (child %d)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        kill(d, SIGTERM);
        waitpid(d, NULL, 0);
        snprintf(cmd, sizeof(cmd), "grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' %s/nomd5.log",
                 tmpdir);
        t_ok(run_sh(cmd) != 0, "second daemon: no sanitizer report");
}

int main(void) {
        realm = getenv("SSPID_DIGEST_REALM") ? getenv("SSPID_DIGEST_REALM") : "sspid-digest@test";
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sspid-digest.XXXXXX");
        if (!mkdtemp(tmpdir))
                return 1;
        chmod(tmpdir, 0755);
        signal(SIGPIPE, SIG_IGN);

        test_package_info();
        test_credentials();
        test_algorithms();
        test_after_success();
        test_failures();
        test_userhash_and_utf8();
        test_mutual();
        test_wide();
        test_async();
        test_curl();
        test_apache();
        test_md5_policy();
        test_stale();

        {
                char cmd[200];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
                run_sh(cmd);
        }
        return t_done();
}
