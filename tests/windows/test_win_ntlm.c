/* SPDX-License-Identifier: MIT */
/*
 * NTLM as Windows runs it: AcquireCredentialsHandle with partial
 * identities, the NEGOTIATE flags each ISC_REQ flag asks for, the
 * statuses, token types and sizes of each leg (against our acceptor and
 * against a fixed CHALLENGE without SIGN/SEAL, as Wine's fake server
 * sends), SIZES, PACKAGE_INFO, pfContextAttr following what was
 * negotiated, and the account name the acceptor reports. Sync and
 * Sspi*Async.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twin.h"

#define NEG_SIGN 0x10U
#define NEG_SEAL 0x20U
#define TARGET "HTTP/localhost"

static const char *const SRC_ACQ = W_WINE("ntlm.c", "testAcquireCredentialsHandle");
static const char *const SRC_FLAGS = W_WINE("ntlm.c", "testInitializeSecurityContextFlags");
static const char *const SRC_AUTH = W_WINE("ntlm.c", "testAuth");
static const char *const SRC_RUN = W_WINE("ntlm.c", "runClient");
static const char *const SRC_README = "README: Deliberate differences from Windows";

/* ---- sync or async, one call at a time ---- */

static SECURITY_STATUS isc(CredHandle *c, CtxtHandle *ctx, ULONG req, ULONG drep, SecBufferDesc *in, CtxtHandle *nc,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_isc(c, ctx, TARGET, req, drep, in, nc, out, attrs);
}

static SECURITY_STATUS asc(CredHandle *c, CtxtHandle *ctx, SecBufferDesc *in, ULONG req, ULONG drep, CtxtHandle *nc,
                           SecBufferDesc *out, ULONG *attrs) {
        return w_asc(c, ctx, in, req, drep, nc, out, attrs);
}

/* ---- the handshake as Wine's testAuth runs it ---- */

typedef struct Legs {
        CtxtHandle c, s;
        bool have_c, have_s;
        SECURITY_STATUS st[4];
        ULONG len[4], type[4], attrs[4];
        uint8_t tok[4][2888];
} Legs;

static void legs_free(Legs *l) {
        if (l->have_c)
                DeleteSecurityContext(&l->c);
        if (l->have_s)
                DeleteSecurityContext(&l->s);
        l->have_c = l->have_s = false;
}

/* ISC, ASC, ISC, ASC with cbMaxToken-sized buffers; every token kept. */
static void handshake(CredHandle *cc, CredHandle *sc, ULONG isc_req, ULONG asc_req, ULONG drep, Legs *l) {
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };

        memset(l, 0, sizeof(*l));
        for (int i = 0; i < 4; i++) {
                ob = (SecBuffer) { sizeof(l->tok[i]), SECBUFFER_TOKEN, l->tok[i] };
                if (i > 0)
                        ib = (SecBuffer) { l->len[i - 1], SECBUFFER_TOKEN, l->tok[i - 1] };
                if (i % 2 == 0)
                        l->st[i] = isc(cc, i ? &l->c : NULL, isc_req, drep, i ? &in : NULL, &l->c, &out, &l->attrs[i]);
                else
                        l->st[i] = asc(sc, i > 1 ? &l->s : NULL, &in, asc_req, drep, &l->s, &out, &l->attrs[i]);
                l->len[i] = ob.cbBuffer;
                l->type[i] = ob.BufferType;
                if (l->st[i] < 0)
                        return;
                if (i % 2 == 0)
                        l->have_c = true;
                else
                        l->have_s = true;
        }
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* ---- AcquireCredentialsHandle: partial identities (item 1) ---- */

static void isc_first(CredHandle *c, ULONG req, SECURITY_STATUS want, const char *src, const char *what) {
        uint8_t tok[2888];
        SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
        SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st = isc(c, NULL, req, SECURITY_NATIVE_DREP, NULL, &ctx, &out, &attrs);

        w_status(src, st, want, "%s: %s", w_mode(), what);
        if (st >= 0)
                DeleteSecurityContext(&ctx);
}

static void test_acquire(void) {
        CredHandle c;
        SEC_WINNT_AUTH_IDENTITY_A id;
        SECURITY_STATUS st;

        id = w_ident("alice", "SSPID", "alice-pw-1");
        if (w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c), SEC_E_OK, "%s: full identity", w_mode()))
                FreeCredentialsHandle(&c);
        id.DomainLength = 0;
        if (w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c), SEC_E_OK, "%s: DomainLength 0", w_mode()))
                FreeCredentialsHandle(&c);
        id.Domain = NULL;
        if (w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c), SEC_E_OK, "%s: Domain NULL", w_mode()))
                FreeCredentialsHandle(&c);

        /* No user: the logon session's user name, the given password. */
        id = w_ident(NULL, "SSPID", "alice-pw-1");
        st = w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c);
        if (w_status(SRC_ACQ, st, SEC_E_OK, "%s: User NULL", w_mode())) {
                isc_first(&c, 0, SEC_I_CONTINUE_NEEDED, W_WINE("ntlm.c", "test_null_auth_data"),
                          "User NULL: the logon session's user name, first leg CONTINUE_NEEDED");
                FreeCredentialsHandle(&c);
        }

        /* No password: accepted here, refused at the first ISC (Windows
         * would take the logon session's secret, which does not exist
         * here). */
        id = w_ident("alice", "SSPID", NULL);
        st = w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c);
        if (w_status(SRC_ACQ, st, SEC_E_OK, "%s: Password NULL", w_mode())) {
                isc_first(&c, 0, SEC_E_NO_CREDENTIALS, SRC_README,
                          "Password NULL: InitializeSecurityContext says SEC_E_NO_CREDENTIALS");
                FreeCredentialsHandle(&c);
        }
        id = w_ident(NULL, "SSPID", NULL);
        if (w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &c), SEC_E_OK,
                     "%s: neither user nor password", w_mode())) {
                isc_first(&c, 0, SEC_E_NO_CREDENTIALS, SRC_README, "no password: SEC_E_NO_CREDENTIALS at ISC");
                FreeCredentialsHandle(&c);
        }

        /* No auth data at all: Windows takes the logon session's
         * credentials (Wine's test_null_auth_data); NTLM here has no
         * logon session secret, and says so at once. */
        st = w_acquire("NTLM", SECPKG_CRED_OUTBOUND, NULL, &c);
        w_status(SRC_README, st, SEC_E_NO_CREDENTIALS, "%s: no auth data: SEC_E_NO_CREDENTIALS", w_mode());
        if (st == SEC_E_OK)
                FreeCredentialsHandle(&c);

        /* Kerberos likewise: a user name without password and no ticket
         * for it is a credential; the first ISC has nothing to send. */
        id = w_ident("alice", t_realm(), NULL);
        st = w_acquire("Kerberos", SECPKG_CRED_OUTBOUND, &id, &c);
        if (w_status(SRC_ACQ, st, SEC_E_OK, "%s: Kerberos, user without password and no ticket", w_mode())) {
                isc_first(&c, ISC_REQ_MUTUAL_AUTH, SEC_E_NO_CREDENTIALS,
                          W_MSDOCS("InitializeSecurityContext (Kerberos): SEC_E_NO_CREDENTIALS"),
                          "Kerberos without ticket or password: SEC_E_NO_CREDENTIALS at ISC");
                FreeCredentialsHandle(&c);
        }
}

/* ---- the NEGOTIATE flags per ISC_REQ flag (item 2) ---- */

static void test_negotiate_flags(CredHandle *cc) {
        static const struct {
                ULONG req;
                const char *name;
                uint32_t want;
        } cases[] = {
                { 0, "no flags", 0 },
                { ISC_REQ_CONNECTION, "ISC_REQ_CONNECTION", 0 },
                { ISC_REQ_EXTENDED_ERROR, "ISC_REQ_EXTENDED_ERROR", 0 },
                { ISC_REQ_MUTUAL_AUTH, "ISC_REQ_MUTUAL_AUTH", 0 },
                { ISC_REQ_USE_DCE_STYLE, "ISC_REQ_USE_DCE_STYLE", 0 },
                { ISC_REQ_DELEGATE, "ISC_REQ_DELEGATE", 0 },
                { ISC_REQ_INTEGRITY, "ISC_REQ_INTEGRITY", NEG_SIGN },
                { ISC_REQ_REPLAY_DETECT, "ISC_REQ_REPLAY_DETECT", NEG_SIGN },
                { ISC_REQ_SEQUENCE_DETECT, "ISC_REQ_SEQUENCE_DETECT", NEG_SIGN },
                { ISC_REQ_CONFIDENTIALITY, "ISC_REQ_CONFIDENTIALITY", NEG_SEAL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t tok[2888];
                SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok };
                SecBufferDesc out = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle ctx;
                ULONG attrs;
                SECURITY_STATUS st = isc(cc, NULL, cases[i].req, SECURITY_NETWORK_DREP, NULL, &ctx, &out, &attrs);
                uint32_t f;

                if (!w_status(SRC_FLAGS, st, SEC_I_CONTINUE_NEEDED, "%s: %s: first leg", w_mode(), cases[i].name))
                        continue;
                f = ob.cbBuffer >= 16 ? le32(tok + 12) : 0xffffffffU;
                if (cases[i].want)
                        w_ok(SRC_FLAGS, (f & cases[i].want) == cases[i].want, "%s: %s: NEGOTIATE flags 0x%08x carry 0x%02x",
                             w_mode(), cases[i].name, f, cases[i].want);
                if (cases[i].want != NEG_SEAL)
                        w_ok(cases[i].want ? W_RFC("MS-NLMP 3.1.5.1.1 (SEAL only for confidentiality)") : SRC_FLAGS,
                             !(f & NEG_SEAL) && (cases[i].want || !(f & NEG_SIGN)),
                             "%s: %s: NEGOTIATE flags 0x%08x without %s", w_mode(), cases[i].name, f,
                             cases[i].want ? "SEAL" : "SIGN or SEAL");
                DeleteSecurityContext(&ctx);
        }
}

/* ---- testAuth against our acceptor (items 2, 3) ---- */

static void check_sizes(CtxtHandle *h, const char *side) {
        SecPkgContext_Sizes sz = { 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef };

        if (!w_status(SRC_AUTH, QueryContextAttributesA(h, SECPKG_ATTR_SIZES, &sz), SEC_E_OK, "%s: %s SIZES", w_mode(),
                      side))
                return;
        w_ok(SRC_AUTH, sz.cbMaxToken == 1904 || sz.cbMaxToken == 2888, "%s: %s cbMaxToken 1904 or 2888 (%u)", w_mode(),
             side, (unsigned) sz.cbMaxToken);
        w_eq(SRC_AUTH, sz.cbMaxSignature, 16, "%s: %s cbMaxSignature", w_mode(), side);
        w_eq(SRC_AUTH, sz.cbSecurityTrailer, 16, "%s: %s cbSecurityTrailer", w_mode(), side);
        w_eq(SRC_AUTH, sz.cbBlockSize, 0, "%s: %s cbBlockSize", w_mode(), side);
}

static void test_auth(CredHandle *cc, CredHandle *sc, ULONG drep) {
        const char *dn = drep == SECURITY_NATIVE_DREP ? "native" : "network";
        Legs l;

        handshake(cc, sc, 0, 0, drep, &l);
        w_status(SRC_AUTH, l.st[0], SEC_I_CONTINUE_NEEDED, "%s %s: client leg 1 (NEGOTIATE)", w_mode(), dn);
        w_eq(SRC_RUN, l.type[0], SECBUFFER_TOKEN, "%s %s: leg 1 output stays SECBUFFER_TOKEN", w_mode(), dn);
        w_ok(SRC_RUN, l.len[0] > 0 && l.len[0] < 2888, "%s %s: leg 1 cbBuffer below cbMaxToken (%u)", w_mode(), dn,
             (unsigned) l.len[0]);
        w_status(SRC_AUTH, l.st[1], SEC_I_CONTINUE_NEEDED, "%s %s: server leg 1 (CHALLENGE)", w_mode(), dn);
        w_status(SRC_AUTH, l.st[2], SEC_E_OK, "%s %s: client leg 2 (AUTHENTICATE) is SEC_E_OK", w_mode(), dn);
        w_eq(SRC_RUN, l.type[2], SECBUFFER_TOKEN, "%s %s: leg 2 output stays SECBUFFER_TOKEN", w_mode(), dn);
        w_ok(SRC_RUN, l.len[2] > 0 && l.len[2] < 2888, "%s %s: leg 2 cbBuffer below cbMaxToken (%u)", w_mode(), dn,
             (unsigned) l.len[2]);
        w_status(SRC_AUTH, l.st[3], SEC_E_OK, "%s %s: server leg 2", w_mode(), dn);
        w_eq(W_MSDOCS("AcceptSecurityContext (NTLM)"), l.len[3], 0, "%s %s: nothing more to send after the last leg",
             w_mode(), dn);
        if (l.st[2] == SEC_E_OK)
                check_sizes(&l.c, "client");
        if (l.st[3] == SEC_E_OK)
                check_sizes(&l.s, "server");
        legs_free(&l);
}

/* The session follows the request: SIGN and SEAL asked for, echoed by
 * the acceptor, reported in pfContextAttr on both sides. */
static void test_session_flags(CredHandle *cc, CredHandle *sc) {
        static const struct {
                ULONG isc_req;
                const char *name;
                uint32_t neg;
        } cases[] = {
                { 0, "no flags", 0 },
                { ISC_REQ_INTEGRITY, "integrity", NEG_SIGN },
                { ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | ISC_REQ_SEQUENCE_DETECT, "integrity+replay+sequence",
                  NEG_SIGN },
                { ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, "confidentiality+integrity", NEG_SIGN | NEG_SEAL },
        };
        const char *src_attr = W_MSDOCS("InitializeSecurityContext (NTLM): pfContextAttr, attributes of the "
                                        "established context");
        const char *src_aattr = W_MSDOCS("AcceptSecurityContext (NTLM): pfContextAttr, attributes of the "
                                         "established context");
        const char *src_echo = W_RFC("MS-NLMP 3.2.5.1.1 (the server answers with the client's SIGN/SEAL)");

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ULONG req = cases[i].isc_req, areq = ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY |
                                                      ASC_REQ_REPLAY_DETECT | ASC_REQ_SEQUENCE_DETECT;
                ULONG want_c = ISC_RET_CONNECTION, want_s = ASC_RET_CONNECTION;
                SecPkgContext_Flags fl = { 0 };
                Legs l;

                handshake(cc, sc, req, areq, SECURITY_NATIVE_DREP, &l);
                if (!w_status(SRC_AUTH, l.st[3], SEC_E_OK, "%s: %s: handshake", w_mode(), cases[i].name)) {
                        legs_free(&l);
                        continue;
                }
                w_eq(SRC_FLAGS, le32(l.tok[0] + 12) & (NEG_SIGN | NEG_SEAL), cases[i].neg,
                     "%s: %s: NEGOTIATE SIGN/SEAL", w_mode(), cases[i].name);
                w_eq(src_echo, le32(l.tok[1] + 20) & (NEG_SIGN | NEG_SEAL), cases[i].neg,
                     "%s: %s: CHALLENGE SIGN/SEAL", w_mode(), cases[i].name);
                w_eq(src_echo, le32(l.tok[2] + 60) & (NEG_SIGN | NEG_SEAL), cases[i].neg,
                     "%s: %s: AUTHENTICATE SIGN/SEAL", w_mode(), cases[i].name);
                if (cases[i].neg & NEG_SIGN) {
                        want_c |= req & (ISC_RET_INTEGRITY | ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT);
                        want_s |= ASC_RET_INTEGRITY | ASC_RET_REPLAY_DETECT | ASC_RET_SEQUENCE_DETECT;
                }
                if (cases[i].neg & NEG_SEAL) {
                        want_c |= ISC_RET_CONFIDENTIALITY;
                        want_s |= ASC_RET_CONFIDENTIALITY;
                }
                w_eq(src_attr, l.attrs[2], want_c, "%s: %s: client pfContextAttr", w_mode(), cases[i].name);
                w_eq(src_aattr, l.attrs[3], want_s, "%s: %s: server pfContextAttr", w_mode(), cases[i].name);
                if (w_status(W_MSDOCS("SecPkgContext_Flags"), QueryContextAttributesA(&l.c, SECPKG_ATTR_FLAGS, &fl),
                             SEC_E_OK, "%s: %s: client FLAGS", w_mode(), cases[i].name))
                        w_eq(W_MSDOCS("SecPkgContext_Flags"), fl.Flags, l.attrs[2],
                             "%s: %s: SECPKG_ATTR_FLAGS = pfContextAttr", w_mode(), cases[i].name);
                legs_free(&l);
        }
}

/* The acceptor names the account as the store spells it. */
static void test_names(CredHandle *sc) {
        const char *src = "issue 13: measured on Windows, the acceptor reports the account's canonical name";
        SEC_WINNT_AUTH_IDENTITY_A id = w_ident("ALICE", "sspid", "alice-pw-1");
        SecPkgContext_NamesA n = { 0 };
        SecPkgContext_NativeNamesA nn = { 0 };
        CredHandle cc;
        Legs l;

        if (!w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK, "%s: sspid\\ALICE",
                      w_mode()))
                return;
        handshake(&cc, sc, 0, 0, SECURITY_NATIVE_DREP, &l);
        if (w_status(SRC_AUTH, l.st[3], SEC_E_OK, "%s: sspid\\ALICE authenticates (names are case-insensitive)",
                     w_mode())) {
                if (w_status(src, QueryContextAttributesA(&l.s, SECPKG_ATTR_NAMES, &n), SEC_E_OK, "%s: server NAMES",
                             w_mode())) {
                        w_ok(src, n.sUserName && !strcmp((char *) n.sUserName, "SSPID\\alice"),
                             "%s: server NAMES is SSPID\\alice, not the client's spelling (%s)", w_mode(),
                             n.sUserName ? (char *) n.sUserName : "(null)");
                        FreeContextBuffer(n.sUserName);
                }
                if (w_status(src, QueryContextAttributesA(&l.s, SECPKG_ATTR_NATIVE_NAMES, &nn), SEC_E_OK,
                             "%s: server NATIVE_NAMES", w_mode())) {
                        w_ok(src, nn.sClientName && !strcmp((char *) nn.sClientName, "SSPID\\alice"),
                             "%s: NATIVE_NAMES client SSPID\\alice (%s)", w_mode(),
                             nn.sClientName ? (char *) nn.sClientName : "(null)");
                        FreeContextBuffer(nn.sClientName);
                        FreeContextBuffer(nn.sServerName);
                }
        }
        legs_free(&l);
        FreeCredentialsHandle(&cc);
}

/* ---- testAuth against a fixed CHALLENGE (0xa0828205: no SIGN, SEAL) ---- */

static size_t put_av(uint8_t *p, uint16_t id, const char *ascii) {
        size_t n = strlen(ascii);

        p[0] = (uint8_t) id;
        p[1] = (uint8_t) (id >> 8);
        p[2] = (uint8_t) (2 * n);
        p[3] = (uint8_t) ((2 * n) >> 8);
        for (size_t i = 0; i < n; i++) {
                p[4 + 2 * i] = (uint8_t) ascii[i];
                p[5 + 2 * i] = 0;
        }
        return 4 + 2 * n;
}

static void put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* A CHALLENGE as a Windows server without signing sends it: target name,
 * target info with the four names, no timestamp (so no MIC). */
static size_t fake_challenge(uint8_t *m) {
        uint8_t av[256];
        size_t avl = 0, off = 48;

        avl += put_av(av + avl, 2, "FAKEDOM");
        avl += put_av(av + avl, 1, "FAKEDOM");
        avl += put_av(av + avl, 4, "fakedom");
        avl += put_av(av + avl, 3, "fakedom");
        memset(av + avl, 0, 4);
        avl += 4;
        memset(m, 0, 48);
        memcpy(m, "NTLMSSP", 8);
        put32(m + 8, 2);
        m[12] = m[14] = 14; /* target name "FAKEDOM" in UTF-16 */
        put32(m + 16, (uint32_t) off);
        for (size_t i = 0; i < 7; i++) {
                m[off + 2 * i] = (uint8_t) "FAKEDOM"[i];
                m[off + 2 * i + 1] = 0;
        }
        put32(m + 20, 0xa0828205U);
        memcpy(m + 24, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
        off += 14;
        m[40] = m[42] = (uint8_t) avl;
        put32(m + 44, (uint32_t) off);
        memcpy(m + off, av, avl);
        return off + avl;
}

static void test_fake_server(CredHandle *cc) {
        uint8_t t0[2888], chal[512], t2[2888];
        SecBuffer ib, ob;
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st;
        size_t cl = fake_challenge(chal);

        ob = (SecBuffer) { sizeof(t0), SECBUFFER_TOKEN, t0 };
        st = isc(cc, NULL, 0, SECURITY_NETWORK_DREP, NULL, &ctx, &out, &attrs);
        if (!w_status(SRC_AUTH, st, SEC_I_CONTINUE_NEEDED, "%s: fake server: client leg 1", w_mode()))
                return;
        ib = (SecBuffer) { (ULONG) cl, SECBUFFER_TOKEN, chal };
        ob = (SecBuffer) { sizeof(t2), SECBUFFER_TOKEN, t2 };
        st = isc(NULL, &ctx, 0, SECURITY_NETWORK_DREP, &in, &ctx, &out, &attrs);
        w_status(SRC_AUTH, st, SEC_E_OK, "%s: fake server (CHALLENGE 0xa0828205): client leg 2 SEC_E_OK", w_mode());
        if (st == SEC_E_OK) {
                w_eq(SRC_RUN, ob.BufferType, SECBUFFER_TOKEN, "%s: fake server: output stays SECBUFFER_TOKEN", w_mode());
                w_ok(SRC_RUN, ob.cbBuffer > 64 && ob.cbBuffer < 2888, "%s: fake server: AUTHENTICATE of %u bytes",
                     w_mode(), (unsigned) ob.cbBuffer);
                w_eq(W_RFC("MS-NLMP 3.1.5.1.2 (flags the server granted)"), le32(t2 + 60) & (NEG_SIGN | NEG_SEAL), 0,
                     "%s: fake server: AUTHENTICATE asks neither SIGN nor SEAL", w_mode());
                w_eq(W_MSDOCS("InitializeSecurityContext (NTLM): pfContextAttr"),
                     attrs & (ISC_RET_INTEGRITY | ISC_RET_CONFIDENTIALITY), 0,
                     "%s: fake server: neither integrity nor confidentiality reported", w_mode());
                check_sizes(&ctx, "fake-server client");
        }
        if (st >= 0)
                DeleteSecurityContext(&ctx);
}

/* ---- one credential, two contexts; PACKAGE_INFO ---- */

static void test_cred_multiple_use(CredHandle *cc) {
        const char *src = W_WINE("ntlm.c", "test_cred_multiple_use");
        uint8_t t1[2888], t2[2888];
        SecBuffer b1 = { sizeof(t1), SECBUFFER_TOKEN, t1 }, b2 = { sizeof(t2), SECBUFFER_TOKEN, t2 };
        SecBufferDesc o1 = { SECBUFFER_VERSION, 1, &b1 }, o2 = { SECBUFFER_VERSION, 1, &b2 };
        CtxtHandle c1, c2;
        ULONG a;
        SECURITY_STATUS s1 = isc(cc, NULL, ISC_REQ_CONNECTION, SECURITY_NETWORK_DREP, NULL, &c1, &o1, &a);
        SECURITY_STATUS s2 = isc(cc, NULL, ISC_REQ_CONNECTION, SECURITY_NETWORK_DREP, NULL, &c2, &o2, &a);

        w_status(src, s1, SEC_I_CONTINUE_NEEDED, "%s: first context on the credential", w_mode());
        w_status(src, s2, SEC_I_CONTINUE_NEEDED, "%s: second context on the same credential", w_mode());
        if (s1 >= 0)
                w_status(src, DeleteSecurityContext(&c1), SEC_E_OK, "%s: delete the first", w_mode());
        if (s2 >= 0)
                w_status(src, DeleteSecurityContext(&c2), SEC_E_OK, "%s: delete the second", w_mode());
}

static void test_package_info(CredHandle *cc, CredHandle *sc) {
        const char *src = W_WINE("negotiate.c", "test_authentication");
        SecPkgContext_PackageInfoA pi = { 0 };
        Legs l;

        handshake(cc, sc, 0, 0, SECURITY_NATIVE_DREP, &l);
        if (l.st[3] == SEC_E_OK &&
            w_status(src, QueryContextAttributesA(&l.c, SECPKG_ATTR_PACKAGE_INFO, &pi), SEC_E_OK, "%s: PACKAGE_INFO",
                     w_mode()) &&
            pi.PackageInfo) {
                ULONG caps = pi.PackageInfo->fCapabilities;
                w_ok(src,
                     caps == NTLM_BASE_CAPS || caps == (NTLM_BASE_CAPS | SECPKG_FLAG_READONLY_WITH_CHECKSUM) ||
                             caps == (NTLM_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS) ||
                             caps == (NTLM_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS),
                     "%s: NTLM capabilities 0x%08x", w_mode(), (unsigned) caps);
                w_eq(src, pi.PackageInfo->wVersion, 1, "%s: wVersion", w_mode());
                w_eq(src, pi.PackageInfo->wRPCID, 10, "%s: wRPCID RPC_C_AUTHN_WINNT", w_mode());
                w_ok(src, !strcmp((char *) pi.PackageInfo->Name, "NTLM"), "%s: Name NTLM (%s)", w_mode(),
                     (char *) pi.PackageInfo->Name);
                FreeContextBuffer(pi.PackageInfo);
        }
        legs_free(&l);
}

int main(void) {
        for (int a = 0; a < 2; a++) {
                SEC_WINNT_AUTH_IDENTITY_A id = w_ident("alice", "SSPID", "alice-pw-1");
                CredHandle cc, sc;

                w_async = a;
                test_acquire();
                if (!w_status(SRC_ACQ, w_acquire("NTLM", SECPKG_CRED_OUTBOUND, &id, &cc), SEC_E_OK,
                              "%s: client credential", w_mode()))
                        continue;
                if (!w_status(W_WINE("ntlm.c", "setupServer"), w_acquire("NTLM", SECPKG_CRED_INBOUND, NULL, &sc),
                              SEC_E_OK, "%s: server credential (no auth data)", w_mode())) {
                        FreeCredentialsHandle(&cc);
                        continue;
                }
                test_negotiate_flags(&cc);
                test_auth(&cc, &sc, SECURITY_NATIVE_DREP);
                test_auth(&cc, &sc, SECURITY_NETWORK_DREP);
                test_fake_server(&cc);
                test_session_flags(&cc, &sc);
                test_names(&sc);
                test_cred_multiple_use(&cc);
                test_package_info(&cc, &sc);
                FreeCredentialsHandle(&cc);
                FreeCredentialsHandle(&sc);
        }
        return t_done();
}
