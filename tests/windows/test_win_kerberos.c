/* SPDX-License-Identifier: MIT */
/*
 * Kerberos (and Negotiate over Kerberos) as Windows runs it:
 *  - without ISC_REQ_MUTUAL_AUTH: one token, no AP-REP, ISC and ASC both
 *    SEC_E_OK at their first leg, no ISC_RET_MUTUAL_AUTH, and messages
 *    both ways (the acceptor starts at the initiator's sequence number),
 *    with and without SEQUENCE_DETECT/REPLAY_DETECT;
 *  - with it: AP-REQ, AP-REP, and the same messages;
 *  - DCE style: EncryptMessage with TOKEN + DATA + PADDING, as DCE/RPC
 *    callers pass it;
 *  - SIZES on an AES context.
 * Sync and Sspi*Async.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twin.h"

static const char *const SRC_ISC = W_MSDOCS("InitializeSecurityContext (Kerberos)");
static const char *const SRC_ASC = W_MSDOCS("AcceptSecurityContext (Kerberos)");
/* curl's SASL GSSAPI: ISC with flags 0 unless mutual authentication is
 * wanted (curl_sasl.c sets mutual_auth FALSE), then DecryptMessage of the
 * server's security-layer message. */
static const char *const SRC_CURL_NOMUTUAL =
        W_CLIENT("curl lib/vauth/krb5_sspi.c", "Curl_auth_create_gssapi_user_message/_security_message");
/* RFC 4121 4.2.6 / RFC 1964 1.2.1.2: without mutual authentication there
 * is no AP-REP; the acceptor's sequence numbers start at the initiator's
 * (the authenticator's seq-number) and the keys are the initiator's. */
static const char *const SRC_RFC_SEQ = W_RFC("RFC 4121 4.2.6 (acceptor's initial sequence number without AP-REP)");
static const char *const SRC_DCE_PAD = W_RFC("RFC 4121 4.2.4 (no padding: EC fills) with DCE/RPC's TOKEN+DATA+PADDING");

#define TARGET "HTTP/localhost"
#define MAX_LEGS 8
#define MAX_TOKEN 48256

/* ---- sync or async ---- */

static SECURITY_STATUS acquire(const char *pkg, ULONG use, void *id, CredHandle *ret) {
        return w_acquire_principal(use == SECPKG_CRED_INBOUND ? TARGET : NULL, pkg, use, id, ret);
}

static SECURITY_STATUS isc(CredHandle *c, CtxtHandle *ctx, ULONG req, SecBufferDesc *in, CtxtHandle *nc,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_isc(c, ctx, TARGET, req, SECURITY_NETWORK_DREP, in, nc, out, attrs);
}

static SECURITY_STATUS asc(CredHandle *c, CtxtHandle *ctx, SecBufferDesc *in, ULONG req, CtxtHandle *nc,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_asc(c, ctx, in, req, SECURITY_NETWORK_DREP, nc, out, attrs);
}

/* ---- the handshake as a client/server pair drive it: a token goes to
 * the other side whenever one was produced ---- */

typedef struct Run {
        CtxtHandle c, s;
        bool have_c, have_s;
        int legs;
        SECURITY_STATUS st[MAX_LEGS];
        ULONG len[MAX_LEGS], attrs[MAX_LEGS];
        SECURITY_STATUS cst, sst;
} Run;

static void run_free(Run *r) {
        if (r->have_c)
                DeleteSecurityContext(&r->c);
        if (r->have_s)
                DeleteSecurityContext(&r->s);
        memset(r, 0, sizeof(*r));
}

static void run(CredHandle *cc, CredHandle *sc, ULONG isc_req, ULONG asc_req, Run *r) {
        uint8_t *tok = malloc(MAX_TOKEN), *out_tok = malloc(MAX_TOKEN);
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        ULONG tok_len = 0;
        bool client_turn = true;

        memset(r, 0, sizeof(*r));
        r->cst = r->sst = SEC_I_CONTINUE_NEEDED;
        while (tok && out_tok && r->legs < MAX_LEGS) {
                SECURITY_STATUS st;

                ob = (SecBuffer) { MAX_TOKEN, SECBUFFER_TOKEN, out_tok };
                ib = (SecBuffer) { tok_len, SECBUFFER_TOKEN, tok };
                if (client_turn) {
                        st = r->cst = isc(r->have_c ? NULL : cc, r->have_c ? &r->c : NULL, isc_req,
                                          r->have_c ? &in : NULL, &r->c, &out, &r->attrs[r->legs]);
                        if (st >= 0)
                                r->have_c = true;
                } else {
                        st = r->sst = asc(sc, r->have_s ? &r->s : NULL, &in, asc_req, &r->s, &out,
                                          &r->attrs[r->legs]);
                        if (st >= 0)
                                r->have_s = true;
                }
                r->st[r->legs] = st;
                r->len[r->legs++] = ob.cbBuffer;
                if (st < 0 || ob.cbBuffer == 0)
                        break;
                memcpy(tok, out_tok, ob.cbBuffer);
                tok_len = ob.cbBuffer;
                client_turn = !client_turn;
        }
        free(tok);
        free(out_tok);
}

/* ---- messages both ways, twice each, and a replay when detected ---- */

static void messages(Run *r, ULONG req, const char *src, const char *what) {
        uint8_t tok[128], data[32], saved_tok[128], saved_data[32];
        SecPkgContext_Sizes sz = { 0 };
        SecBuffer b[2];
        SecBufferDesc d = { SECBUFFER_VERSION, 2, b };
        ULONG qop = 0, saved_len = 0;

        if (!w_status(src, QueryContextAttributesA(&r->c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: %s: SIZES", w_mode(),
                      what) ||
            sz.cbSecurityTrailer > sizeof(tok) || sz.cbMaxSignature > sizeof(tok))
                return;
        for (int round = 0; round < 2; round++)
                for (int dir = 0; dir < 2; dir++) {
                        CtxtHandle *from = dir ? &r->s : &r->c, *to = dir ? &r->c : &r->s;
                        const char *way = dir ? "acceptor to initiator" : "initiator to acceptor";

                        if (req & ISC_REQ_CONFIDENTIALITY) {
                                memcpy(data, "sealed under Kerberos, 32 bytes", 32);
                                b[0] = (SecBuffer) { sz.cbSecurityTrailer, SECBUFFER_TOKEN, tok };
                                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, data };
                                w_status(W_MSDOCS("EncryptMessage (Kerberos)"), EncryptMessage(from, 0, &d, 0),
                                         SEC_E_OK, "%s: %s: EncryptMessage %s #%d", w_mode(), what, way, round + 1);
                                w_status(src, DecryptMessage(to, &d, 0, &qop), SEC_E_OK,
                                         "%s: %s: DecryptMessage %s #%d", w_mode(), what, way, round + 1);
                                w_ok(src, !memcmp(data, "sealed under Kerberos, 32 bytes", 32),
                                     "%s: %s: plaintext %s #%d", w_mode(), what, way, round + 1);
                        }
                        memcpy(data, "signed under Kerberos, 32 bytes", 32);
                        b[0] = (SecBuffer) { sz.cbMaxSignature, SECBUFFER_TOKEN, tok };
                        b[1] = (SecBuffer) { 32, SECBUFFER_DATA, data };
                        w_status(W_MSDOCS("MakeSignature"), MakeSignature(from, 0, &d, 0), SEC_E_OK,
                                 "%s: %s: MakeSignature %s #%d", w_mode(), what, way, round + 1);
                        if (dir == 1 && round == 1 && b[0].cbBuffer <= sizeof(saved_tok)) {
                                memcpy(saved_tok, tok, b[0].cbBuffer);
                                memcpy(saved_data, data, 32);
                                saved_len = b[0].cbBuffer;
                        }
                        w_status(src, VerifySignature(to, &d, 0, &qop), SEC_E_OK, "%s: %s: VerifySignature %s #%d",
                                 w_mode(), what, way, round + 1);
                }
        /* The acceptor's last signature again: a replay the initiator
         * refuses when it asked to detect replays or order. */
        if (saved_len && (req & (ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT))) {
                b[0] = (SecBuffer) { saved_len, SECBUFFER_TOKEN, saved_tok };
                b[1] = (SecBuffer) { 32, SECBUFFER_DATA, saved_data };
                w_status(W_MSDOCS("VerifySignature: SEC_E_OUT_OF_SEQUENCE"), VerifySignature(&r->c, &d, 0, &qop),
                         SEC_E_OUT_OF_SEQUENCE, "%s: %s: the acceptor's last signature replayed", w_mode(), what);
        }
}

/* ---- item 1: with and without mutual authentication ---- */

static void handshake(const char *pkg, CredHandle *cc, CredHandle *sc, ULONG req) {
        bool kerberos = !strcmp(pkg, "Kerberos"), mutual = req & ISC_REQ_MUTUAL_AUTH;
        char what[160];
        Run r;

        snprintf(what, sizeof(what), "%s %s mutual, req 0x%x", pkg, mutual ? "with" : "without", (unsigned) req);
        run(cc, sc, req, ASC_REQ_CONNECTION, &r);
        w_status(mutual ? SRC_ISC : SRC_CURL_NOMUTUAL, r.cst, SEC_E_OK, "%s: %s: the client completes", w_mode(), what);
        w_status(SRC_ASC, r.sst, SEC_E_OK, "%s: %s: the server completes", w_mode(), what);
        if (kerberos && !mutual) {
                /* One AP-REQ; the server has nothing to answer. */
                w_eq(SRC_CURL_NOMUTUAL, r.legs, 2, "%s: %s: ISC then ASC, nothing more", w_mode(), what);
                w_status(SRC_CURL_NOMUTUAL, r.st[0], SEC_E_OK, "%s: %s: ISC leg 1 is SEC_E_OK", w_mode(), what);
                w_ok(SRC_CURL_NOMUTUAL, r.len[0] > 0, "%s: %s: ISC leg 1 sends the AP-REQ (%u bytes)", w_mode(), what,
                     (unsigned) r.len[0]);
                w_eq(SRC_RFC_SEQ, r.len[1], 0, "%s: %s: ASC leg 1 sends no AP-REP", w_mode(), what);
        } else if (kerberos) {
                w_eq(SRC_ISC, r.legs, 3, "%s: %s: ISC, ASC (AP-REP), ISC", w_mode(), what);
                w_status(SRC_ISC, r.st[0], SEC_I_CONTINUE_NEEDED, "%s: %s: ISC leg 1 CONTINUE_NEEDED", w_mode(), what);
                w_status(SRC_ASC, r.st[1], SEC_E_OK, "%s: %s: ASC leg 1 SEC_E_OK", w_mode(), what);
                w_ok(SRC_ASC, r.len[1] > 0, "%s: %s: ASC leg 1 sends the AP-REP", w_mode(), what);
        }
        if (r.cst == SEC_E_OK) {
                ULONG a = 0;

                /* pfContextAttr of the client's last leg. */
                for (int i = r.legs - 1; i >= 0; i--)
                        if (i % 2 == 0) {
                                a = r.attrs[i];
                                break;
                        }
                w_eq(SRC_ISC, !!(a & ISC_RET_MUTUAL_AUTH), mutual,
                     "%s: %s: client pfContextAttr 0x%x: ISC_RET_MUTUAL_AUTH %s", w_mode(), what, (unsigned) a,
                     mutual ? "set" : "absent");
                w_eq(SRC_ISC, !!(a & ISC_RET_SEQUENCE_DETECT), !!(req & ISC_REQ_SEQUENCE_DETECT),
                     "%s: %s: ISC_RET_SEQUENCE_DETECT as asked", w_mode(), what);
                w_eq(SRC_ISC, !!(a & ISC_RET_REPLAY_DETECT), !!(req & ISC_REQ_REPLAY_DETECT),
                     "%s: %s: ISC_RET_REPLAY_DETECT as asked", w_mode(), what);
        }
        if (r.sst == SEC_E_OK) {
                /* pfContextAttr of the server's last leg. */
                ULONG a = 0;

                for (int i = r.legs - 1; i >= 0; i--)
                        if (i % 2 == 1) {
                                a = r.attrs[i];
                                break;
                        }
                w_eq(SRC_ASC, !!(a & ASC_RET_MUTUAL_AUTH), mutual,
                     "%s: %s: server pfContextAttr 0x%x: ASC_RET_MUTUAL_AUTH %s", w_mode(), what, (unsigned) a,
                     mutual ? "set" : "absent");
        }
        if (r.cst == SEC_E_OK && r.sst == SEC_E_OK)
                messages(&r, req, mutual ? SRC_ISC : SRC_RFC_SEQ, what);
        run_free(&r);
}

/* ---- item 2: DCE style, TOKEN + DATA + PADDING ---- */

static void dce_padding(const char *pkg, CredHandle *cc, CredHandle *sc) {
        ULONG req = ISC_REQ_USE_DCE_STYLE | ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY |
                    ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT | ISC_REQ_CONNECTION;
        SecPkgContext_Sizes sz = { 0 };
        Run r;

        run(cc, sc, req, ASC_REQ_USE_DCE_STYLE, &r);
        if (!w_status(SRC_DCE_PAD, r.cst, SEC_E_OK, "%s: %s DCE style: the client completes", w_mode(), pkg) ||
            !w_status(SRC_DCE_PAD, r.sst, SEC_E_OK, "%s: %s DCE style: the server completes", w_mode(), pkg) ||
            !w_status(SRC_DCE_PAD, QueryContextAttributesA(&r.c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK,
                      "%s: %s DCE: SIZES", w_mode(), pkg)) {
                run_free(&r);
                return;
        }
        for (int dir = 0; dir < 2; dir++) {
                CtxtHandle *from = dir ? &r.s : &r.c, *to = dir ? &r.c : &r.s;
                const char *way = dir ? "acceptor to initiator" : "initiator to acceptor";

                for (int round = 0; round < 2; round++) {
                        TMessage m;
                        ULONG qop = 0;

                        t_message_init(&m, "DCE/RPC stub data, 32 bytes long", 32, true);
                        m.b[0].cbBuffer = sz.cbSecurityTrailer;
                        m.b[2].cbBuffer = sz.cbBlockSize;
                        w_status(SRC_DCE_PAD, EncryptMessage(from, 0, &m.d, 0), SEC_E_OK,
                                 "%s: %s DCE: EncryptMessage TOKEN+DATA+PADDING %s #%d", w_mode(), pkg, way, round + 1);
                        w_eq(SRC_DCE_PAD, m.b[2].cbBuffer, 0, "%s: %s DCE: PADDING cbBuffer 0 %s #%d", w_mode(), pkg,
                             way, round + 1);
                        w_eq(SRC_DCE_PAD, m.b[2].BufferType, SECBUFFER_PADDING, "%s: %s DCE: PADDING keeps its type",
                             w_mode(), pkg);
                        w_status(SRC_DCE_PAD, DecryptMessage(to, &m.d, 0, &qop), SEC_E_OK,
                                 "%s: %s DCE: DecryptMessage TOKEN+DATA+PADDING %s #%d", w_mode(), pkg, way, round + 1);
                        w_ok(SRC_DCE_PAD, !memcmp(m.data, "DCE/RPC stub data, 32 bytes long", 32),
                             "%s: %s DCE: plaintext %s #%d", w_mode(), pkg, way, round + 1);
                }
        }
        run_free(&r);
}

/* ---- SIZES of an AES context ---- */

static void sizes(CredHandle *cc, CredHandle *sc) {
        const char *rfc = W_RFC("RFC 4121 4.2.6 token layout for aes256-cts-hmac-sha1-96 (not Windows-verified)");
        SecPkgContext_Sizes sz = { 0 };
        Run r;

        run(cc, sc, ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, 0, &r);
        if (r.cst == SEC_E_OK &&
            w_status(SRC_ISC, QueryContextAttributesA(&r.c, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: SIZES", w_mode())) {
                /* The Kerberos MaxTokenSize default since Windows 8 /
                 * Server 2012; FreeRDP's Kerberos SSP reports the same. */
                w_eq(W_MSDOCS("policy Set maximum Kerberos SSPI context token buffer size (default 48000)"),
                     sz.cbMaxToken, 48000, "%s: cbMaxToken", w_mode());
                /* MIC: 16-byte header + 12-byte HMAC-SHA1-96. */
                w_eq(rfc, sz.cbMaxSignature, 28, "%s: cbMaxSignature", w_mode());
                /* Wrap: header, confounder, encrypted header, HMAC. */
                w_eq(W_CLIENT("FreeRDP winpr/libwinpr/sspi/Kerberos/kerberos.c", "QueryContextAttributes SIZES"),
                     sz.cbSecurityTrailer, 60, "%s: cbSecurityTrailer", w_mode());
                w_eq(rfc, sz.cbBlockSize, 1, "%s: cbBlockSize (CTS: no padding)", w_mode());
        }
        run_free(&r);
}

/* ISC_REQ_USE_SESSION_KEY (user-to-user): not implemented, so refused at
 * the first leg, with no context and no token, instead of the ordinary AP
 * exchange it used to run while claiming SEC_E_OK (issue 17 item 4). On
 * Windows the client first fetches the server's TGT (KERB_TGT_REQUEST /
 * KERB_TGT_REPLY) and passes it in; sspid has no such exchange. */
static void user_to_user(const char *pkg, CredHandle *cc) {
        const char *dev = "README: Deliberate differences from Windows (no Kerberos user-to-user)";
        uint8_t tok[256];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx = { 0x5a5a, 0x5a5a };
        ULONG attrs = 0x1234;

        w_status(dev, isc(cc, NULL, ISC_REQ_USE_SESSION_KEY | ISC_REQ_MUTUAL_AUTH, NULL, &ctx, &out, &attrs),
                 SEC_E_UNSUPPORTED_FUNCTION, "%s: %s: ISC_REQ_USE_SESSION_KEY refused", w_mode(), pkg);
        w_eq(dev, ob.cbBuffer, sizeof(tok), "%s: %s: user-to-user: no token written", w_mode(), pkg);
        w_eq(dev, ctx.dwLower == 0x5a5a && ctx.dwUpper == 0x5a5a, 1, "%s: %s: user-to-user: no context", w_mode(),
             pkg);
        w_status(SRC_ISC, DeleteSecurityContext(&ctx), SEC_E_INVALID_HANDLE, "%s: %s: user-to-user: nothing to delete",
                 w_mode(), pkg);
}

int main(void) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) t_realm(),
                                         (ULONG) strlen(t_realm()), (unsigned char *) "alice-pw-1", 10,
                                         SEC_WINNT_AUTH_IDENTITY_ANSI };
        const ULONG base[] = { ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, ISC_REQ_INTEGRITY };
        const ULONG order[] = { 0, ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT, ISC_REQ_REPLAY_DETECT,
                                ISC_REQ_SEQUENCE_DETECT };
        const char *pkgs[] = { "Kerberos", "Negotiate" };

        for (int a = 0; a < 2; a++) {
                w_async = a;
                for (size_t p = 0; p < 2; p++) {
                        CredHandle cc, sc;

                        if (!w_status(SRC_ISC, acquire(pkgs[p], SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK,
                                      "%s: %s client credential", w_mode(), pkgs[p]))
                                continue;
                        if (!w_status(SRC_ASC, acquire(pkgs[p], SECPKG_CRED_INBOUND, NULL, &sc), SEC_E_OK,
                                      "%s: %s server credential", w_mode(), pkgs[p])) {
                                FreeCredentialsHandle(&cc);
                                continue;
                        }
                        for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
                                for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++)
                                        for (int m = 0; m < 2; m++)
                                                handshake(pkgs[p], &cc, &sc,
                                                          base[i] | order[j] | (m ? ISC_REQ_MUTUAL_AUTH : 0));
                        dce_padding(pkgs[p], &cc, &sc);
                        user_to_user(pkgs[p], &cc);
                        if (p == 0)
                                sizes(&cc, &sc);
                        FreeCredentialsHandle(&sc);
                        FreeCredentialsHandle(&cc);
                }
        }
        return t_done();
}
