/* SPDX-License-Identifier: MIT */
/*
 * Negotiate as Windows runs it: the package's info, the handshake as
 * Wine's negotiate.c loops it ("while both say CONTINUE_NEEDED") ending
 * with the client's SEC_E_OK at its NTLM AUTHENTICATE leg, SIZES and
 * NEGOTIATION_INFO after it, messages both ways without the acceptor's
 * last token, and the three-leg DCE style (ISC_REQ_USE_DCE_STYLE, as
 * DCE/RPC uses it) over Kerberos. Sync and Sspi*Async.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twin.h"


static const char *const SRC_MAIN = W_WINE("negotiate.c", "START_TEST");
static const char *const SRC_AUTH = W_WINE("negotiate.c", "test_authentication");
static const char *const SRC_CLIENT = W_WINE("negotiate.c", "run_client");
static const char *const SRC_DCE = "issue 13: DCE/RPC's three-leg Negotiate, statuses as Kerberos DCE style";
static const char *const SRC_MIC = W_RFC("RFC 4178 5 (the acceptor's mechListMIC, when read, must verify)");
/* Messages are exchanged on sessions that asked for them. */
#define MSG_FLAGS (ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT)

/* ---- sync or async ---- */

static SECURITY_STATUS isc(CredHandle *c, CtxtHandle *ctx, const char *target, ULONG req, SecBufferDesc *in,
                           CtxtHandle *nc, SecBufferDesc *out, ULONG *attrs) {
        return w_isc(c, ctx, target, req, SECURITY_NETWORK_DREP, in, nc, out, attrs);
}

static SECURITY_STATUS asc(CredHandle *c, CtxtHandle *ctx, SecBufferDesc *in, ULONG req, CtxtHandle *nc,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_asc(c, ctx, in, req, SECURITY_NETWORK_DREP, nc, out, attrs);
}

/* ---- Wine's loop: client, server, while both say CONTINUE_NEEDED ---- */

#define MAX_LEGS 8
#define MAX_TOKEN 48256

typedef struct Run {
        CtxtHandle c, s;
        bool have_c, have_s;
        int legs;
        SECURITY_STATUS st[MAX_LEGS];
        ULONG len[MAX_LEGS], type[MAX_LEGS], attrs[MAX_LEGS];
        uint8_t *tok; /* the last token, MAX_TOKEN bytes */
        ULONG tok_len;
} Run;

static void run_free(Run *r) {
        if (r->have_c)
                DeleteSecurityContext(&r->c);
        if (r->have_s)
                DeleteSecurityContext(&r->s);
        free(r->tok);
        memset(r, 0, sizeof(*r));
}

static void run(CredHandle *cc, CredHandle *sc, const char *target, ULONG isc_req, ULONG asc_req, Run *r) {
        uint8_t *out_tok = malloc(MAX_TOKEN);
        SECURITY_STATUS cst = SEC_I_CONTINUE_NEEDED, sst = SEC_I_CONTINUE_NEEDED;
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };

        memset(r, 0, sizeof(*r));
        r->tok = malloc(MAX_TOKEN);
        if (!r->tok || !out_tok) {
                free(out_tok);
                return;
        }
        while (cst == SEC_I_CONTINUE_NEEDED && sst == SEC_I_CONTINUE_NEEDED && r->legs + 2 <= MAX_LEGS) {
                ib = (SecBuffer) { r->tok_len, SECBUFFER_TOKEN, r->tok };
                ob = (SecBuffer) { MAX_TOKEN, SECBUFFER_TOKEN, out_tok };
                cst = isc(r->have_c ? NULL : cc, r->have_c ? &r->c : NULL, target, isc_req, r->have_c ? &in : NULL,
                          &r->c, &out, &r->attrs[r->legs]);
                r->st[r->legs] = cst;
                r->len[r->legs] = ob.cbBuffer;
                r->type[r->legs++] = ob.BufferType;
                if (cst < 0)
                        break;
                r->have_c = true;
                memcpy(r->tok, out_tok, ob.cbBuffer);
                r->tok_len = ob.cbBuffer;

                ib = (SecBuffer) { r->tok_len, SECBUFFER_TOKEN, r->tok };
                ob = (SecBuffer) { MAX_TOKEN, SECBUFFER_TOKEN, out_tok };
                sst = asc(sc, r->have_s ? &r->s : NULL, &in, asc_req, &r->s, &out, &r->attrs[r->legs]);
                r->st[r->legs] = sst;
                r->len[r->legs] = ob.cbBuffer;
                r->type[r->legs++] = ob.BufferType;
                if (sst < 0)
                        break;
                r->have_s = true;
                memcpy(r->tok, out_tok, ob.cbBuffer);
                r->tok_len = ob.cbBuffer;
        }
        free(out_tok);
}

/* Sealed and signed messages both ways: the sequence numbers agree
 * whether or not the client read the acceptor's last token. */
static void messages(Run *r, const char *src, const char *what) {
        uint8_t tok[128], data[32];
        SecPkgContext_Sizes sz = { 0 };
        SecBuffer b[2];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0;

        if (!w_status(src, QueryContextAttributesA(&r->c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: %s: SIZES", w_mode(),
                      what) ||
            sz.cbSecurityTrailer > sizeof(tok) || sz.cbMaxSignature > sizeof(tok))
                return;
        for (int dir = 0; dir < 2; dir++) {
                CtxtHandle *from = dir ? &r->s : &r->c, *to = dir ? &r->c : &r->s;
                const char *way = dir ? "acceptor to initiator" : "initiator to acceptor";

                memcpy(data, "sealed under Negotiate, 32 byte", 32);
                b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, data };
                w_status(W_MSDOCS("EncryptMessage (Negotiate)"), EncryptMessage(from, 0, &d, 0), SEC_E_OK,
                         "%s: %s: EncryptMessage %s", w_mode(), what, way);
                w_status(W_MSDOCS("DecryptMessage (Negotiate)"), DecryptMessage(to, &d, 0, &qop), SEC_E_OK,
                         "%s: %s: DecryptMessage %s", w_mode(), what, way);
                w_ok(src, !memcmp(data, "sealed under Negotiate, 32 byte", 32), "%s: %s: plaintext %s", w_mode(), what,
                     way);
                b[0] = (SecBuffer) { sz.cbMaxSignature, SECBUFFER_TOKEN, tok };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, data };
                w_status(W_MSDOCS("MakeSignature"), MakeSignature(from, 0, &d, 0), SEC_E_OK, "%s: %s: MakeSignature %s",
                         w_mode(), what, way);
                w_status(W_MSDOCS("VerifySignature"), VerifySignature(to, &d, 0, &qop), SEC_E_OK,
                         "%s: %s: VerifySignature %s", w_mode(), what, way);
        }
}

/* ---- QuerySecurityPackageInfo("Negotiate") ---- */

static void test_package(void) {
        SecPkgInfoA *pi = NULL;

        if (!w_status(SRC_MAIN, QuerySecurityPackageInfoA("Negotiate", &pi), SEC_E_OK, "QuerySecurityPackageInfo"))
                return;
        w_ok(SRC_MAIN,
             pi->fCapabilities == NEGOTIATE_BASE_CAPS ||
                     pi->fCapabilities == (NEGOTIATE_BASE_CAPS | SECPKG_FLAG_READONLY_WITH_CHECKSUM) ||
                     pi->fCapabilities == (NEGOTIATE_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS) ||
                     pi->fCapabilities ==
                             (NEGOTIATE_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS),
             "Negotiate capabilities 0x%08x", (unsigned) pi->fCapabilities);
        w_eq(SRC_MAIN, pi->wVersion, 1, "Negotiate wVersion");
        w_eq(SRC_MAIN, pi->wRPCID, 9, "Negotiate wRPCID RPC_C_AUTHN_GSS_NEGOTIATE");
        w_ok(SRC_MAIN, !strcmp((char *) pi->Name, "Negotiate"), "Name Negotiate (%s)", (char *) pi->Name);
        FreeContextBuffer(pi);
}

/* ---- test_authentication: NTLM under Negotiate (item 4) ---- */

static void test_authentication(CredHandle *sc) {
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident("alice", "SSPID", "alice-pw-1"); /* no KDC for SSPID: NTLM */
        SecPkgContext_Sizes sz = { 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef };
        SecPkgContext_NegotiationInfoA ni = { 0 };
        CredHandle cc;
        Run r;

        if (!w_status(SRC_AUTH, w_acquire("Negotiate", SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK, "%s: setup_client",
                      w_mode()))
                return;
        run(&cc, sc, NULL, 0, 0, &r);
        w_eq(SRC_AUTH, r.legs, 4, "%s: the loop ends after two rounds", w_mode());
        w_status(SRC_AUTH, r.st[0], SEC_I_CONTINUE_NEEDED, "%s: client leg 1", w_mode());
        w_status(SRC_AUTH, r.st[1], SEC_I_CONTINUE_NEEDED, "%s: server leg 1", w_mode());
        w_status(SRC_AUTH, r.st[2], SEC_E_OK, "%s: client leg 2 (NTLM AUTHENTICATE) is SEC_E_OK", w_mode());
        w_status(SRC_AUTH, r.st[3], SEC_E_OK, "%s: server leg 2", w_mode());
        for (int i = 0; i < 3; i += 2) {
                w_eq(SRC_CLIENT, r.type[i], SECBUFFER_TOKEN, "%s: client leg %d output stays SECBUFFER_TOKEN", w_mode(),
                     i / 2 + 1);
                w_ok(SRC_CLIENT, r.len[i] > 0 && r.len[i] < MAX_TOKEN, "%s: client leg %d cbBuffer %u below cbMaxToken",
                     w_mode(), i / 2 + 1, (unsigned) r.len[i]);
        }
        if (r.st[2] != SEC_E_OK || r.st[3] != SEC_E_OK) {
                run_free(&r);
                FreeCredentialsHandle(&cc);
                return;
        }

        if (w_status(SRC_AUTH, QueryContextAttributesA(&r.c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES", w_mode())) {
                w_ok(SRC_AUTH, sz.cbMaxToken == 2888 || sz.cbMaxToken == 1904, "%s: cbMaxToken 2888 or 1904 (%u)",
                     w_mode(), (unsigned) sz.cbMaxToken);
                w_eq(SRC_AUTH, sz.cbMaxSignature, 16, "%s: cbMaxSignature", w_mode());
                w_eq(SRC_AUTH, sz.cbSecurityTrailer, 16, "%s: cbSecurityTrailer", w_mode());
                w_eq(SRC_AUTH, sz.cbBlockSize, 0, "%s: cbBlockSize", w_mode());
        }
        if (w_status(SRC_AUTH, QueryContextAttributesA(&r.c, SECPKG_ATTR_NEGOTIATION_INFO, &ni), SEC_E_OK,
                     "%s: NEGOTIATION_INFO", w_mode())) {
                w_eq(SRC_AUTH, ni.NegotiationState, SECPKG_NEGOTIATION_COMPLETE, "%s: NegotiationState COMPLETE",
                     w_mode());
                if (w_ok(SRC_AUTH, ni.PackageInfo != NULL, "%s: PackageInfo", w_mode())) {
                        ULONG caps = ni.PackageInfo->fCapabilities;
                        w_ok(SRC_AUTH,
                             caps == NTLM_BASE_CAPS || caps == (NTLM_BASE_CAPS | SECPKG_FLAG_READONLY_WITH_CHECKSUM) ||
                                     caps == (NTLM_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS) ||
                                     caps == (NTLM_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS |
                                              SECPKG_FLAG_APPCONTAINER_CHECKS),
                             "%s: NTLM capabilities 0x%08x", w_mode(), (unsigned) caps);
                        w_eq(SRC_AUTH, ni.PackageInfo->wVersion, 1, "%s: NTLM wVersion", w_mode());
                        w_eq(SRC_AUTH, ni.PackageInfo->wRPCID, 10, "%s: wRPCID RPC_C_AUTHN_WINNT", w_mode());
                        w_ok(SRC_AUTH, !strcmp((char *) ni.PackageInfo->Name, "NTLM"), "%s: Name NTLM (%s)", w_mode(),
                             (char *) ni.PackageInfo->Name);
                        FreeContextBuffer(ni.PackageInfo);
                }
        }
        run_free(&r);

        /* The same loop asking for confidentiality: messages both ways
         * although the client never read the acceptor's last token. */
        run(&cc, sc, NULL, MSG_FLAGS, 0, &r);
        if (w_status(SRC_AUTH, r.st[2], SEC_E_OK, "%s: with confidentiality: client leg 2 SEC_E_OK", w_mode()) &&
            w_status(SRC_AUTH, r.st[3], SEC_E_OK, "%s: with confidentiality: server leg 2", w_mode()))
                messages(&r, SRC_AUTH, "NTLM, acceptor's last token unread");
        run_free(&r);

        /* A caller that hands the acceptor's last token over anyway (as a
         * GSSAPI loop does): checked, nothing to send, still complete. */
        run(&cc, sc, NULL, MSG_FLAGS, 0, &r);
        if (r.st[3] == SEC_E_OK && w_ok(SRC_MIC, r.tok_len > 0, "%s: the acceptor's last token (%u bytes)", w_mode(),
                                        (unsigned) r.tok_len)) {
                uint8_t out_tok[256];
                SecBuffer ib = { r.tok_len, SECBUFFER_TOKEN, r.tok }, ob = { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
                ULONG attrs;

                w_status(SRC_MIC, isc(NULL, &r.c, NULL, MSG_FLAGS, &in, &r.c, &out, &attrs), SEC_E_OK,
                         "%s: the client reads it: SEC_E_OK", w_mode());
                w_eq(SRC_MIC, ob.cbBuffer, 0, "%s: and has nothing to send", w_mode());
                messages(&r, SRC_MIC, "NTLM, acceptor's last token read");

                /* Its MIC altered: refused. */
                run_free(&r);
                run(&cc, sc, NULL, MSG_FLAGS, 0, &r);
                if (r.st[3] == SEC_E_OK && r.tok_len > 16) {
                        ib = (SecBuffer) { r.tok_len, SECBUFFER_TOKEN, r.tok };
                        ob = (SecBuffer) { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                        r.tok[r.tok_len - 11] ^= 0x01; /* the MIC's checksum */
                        w_status(SRC_MIC, isc(NULL, &r.c, NULL, MSG_FLAGS, &in, &r.c, &out, &attrs),
                                 SEC_E_MESSAGE_ALTERED,
                                 "%s: an altered acceptor mechListMIC: SEC_E_MESSAGE_ALTERED", w_mode());
                }
        }
        run_free(&r);
        FreeCredentialsHandle(&cc);
}

/* ---- DCE style (item 5) ---- */

static void dce(const char *pkg, CredHandle *sc) {
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident("alice", t_realm(), "alice-pw-1");
        ULONG req = ISC_REQ_USE_DCE_STYLE | ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY |
                    ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT | ISC_REQ_CONNECTION;
        CredHandle cc;
        Run r;

        if (!w_status(SRC_DCE, w_acquire(pkg, SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK, "%s: %s client credential",
                      w_mode(), pkg))
                return;
        run(&cc, sc, "HTTP/localhost", req, ASC_REQ_USE_DCE_STYLE, &r);
        w_eq(SRC_DCE, r.legs, 4, "%s: %s DCE style: ISC, ASC, ISC, ASC", w_mode(), pkg);
        w_status(SRC_DCE, r.st[0], SEC_I_CONTINUE_NEEDED, "%s: %s DCE: client leg 1 (AP-REQ)", w_mode(), pkg);
        w_status(SRC_DCE, r.st[1], SEC_I_CONTINUE_NEEDED, "%s: %s DCE: server leg 1 (AP-REP)", w_mode(), pkg);
        w_ok(SRC_DCE, r.len[1] > 0, "%s: %s DCE: server leg 1 sends a token (%u bytes)", w_mode(), pkg,
             (unsigned) r.len[1]);
        w_status(SRC_DCE, r.st[2], SEC_E_OK, "%s: %s DCE: client leg 2 (its AP-REP) is SEC_E_OK", w_mode(), pkg);
        w_ok(SRC_DCE, r.len[2] > 0, "%s: %s DCE: client leg 2 sends a token (%u bytes)", w_mode(), pkg,
             (unsigned) r.len[2]);
        w_status(SRC_DCE, r.st[3], SEC_E_OK, "%s: %s DCE: server leg 2", w_mode(), pkg);
        if (r.st[2] == SEC_E_OK)
                w_ok(W_MSDOCS("InitializeSecurityContext (Negotiate): ISC_RET_USED_DCE_STYLE"),
                     r.attrs[2] & ISC_RET_USED_DCE_STYLE, "%s: %s DCE: client pfContextAttr 0x%x has USED_DCE_STYLE",
                     w_mode(), pkg, (unsigned) r.attrs[2]);
        if (r.st[3] == SEC_E_OK) {
                SecPkgContext_NegotiationInfoA ni = { 0 };
                if (!strcmp(pkg, "Negotiate") &&
                    w_status(SRC_DCE, QueryContextAttributesA(&r.c, SECPKG_ATTR_NEGOTIATION_INFO, &ni), SEC_E_OK,
                             "%s: DCE: NEGOTIATION_INFO", w_mode()) &&
                    ni.PackageInfo) {
                        w_ok(SRC_DCE, !strcmp((char *) ni.PackageInfo->Name, "Kerberos"), "%s: DCE: Kerberos (%s)",
                             w_mode(), (char *) ni.PackageInfo->Name);
                        FreeContextBuffer(ni.PackageInfo);
                }
                messages(&r, SRC_DCE, pkg);
        }
        run_free(&r);
        FreeCredentialsHandle(&cc);
}

/* ---- a user name without password (item 1) ---- */

static void test_no_password(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident("alice", t_realm(), NULL);
        const char *src = W_WINE("ntlm.c", "testAcquireCredentialsHandle");
        uint8_t tok[4096];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
        CredHandle cc;
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st;

        if (!w_status(src, w_acquire("Negotiate", SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK,
                      "%s: Negotiate, user without password and no ticket", w_mode()))
                return;
        st = isc(&cc, NULL, "HTTP/localhost", 0, NULL, &ctx, &out, &attrs);
        w_status(W_MSDOCS("InitializeSecurityContext (Negotiate): SEC_E_NO_CREDENTIALS"), st, SEC_E_NO_CREDENTIALS,
                 "%s: first ISC: SEC_E_NO_CREDENTIALS", w_mode());
        if (st >= 0)
                DeleteSecurityContext(&ctx);
        FreeCredentialsHandle(&cc);
}

int main(void) {
        test_package();
        for (int a = 0; a < 2; a++) {
                CredHandle sc;

                w_async = a;
                if (!w_status(W_WINE("negotiate.c", "setup_server"), w_acquire("Negotiate", SECPKG_CRED_INBOUND, NULL, &sc),
                              SEC_E_OK, "%s: server credential", w_mode()))
                        continue;
                test_authentication(&sc);
                dce("Negotiate", &sc);
                test_no_password();
                FreeCredentialsHandle(&sc);
                if (w_status(SRC_DCE, w_acquire("Kerberos", SECPKG_CRED_INBOUND, NULL, &sc), SEC_E_OK,
                             "%s: Kerberos server credential", w_mode())) {
                        dce("Kerberos", &sc);
                        FreeCredentialsHandle(&sc);
                }
        }
        return t_done();
}
