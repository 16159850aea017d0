/* SPDX-License-Identifier: MIT */
/*
 * The synchronous API end to end through the daemon with a real KDC:
 * packages, credentials, handshakes with and without mutual auth, context
 * attributes, message protection, export/import, the function table.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static void test_packages(void) {
        ULONG n = 0;
        PSecPkgInfoA pa = NULL;
        PSecPkgInfoW pw = NULL;
        SECURITY_STATUS st;

        st = EnumerateSecurityPackagesA(&n, &pa);
        if (t_status(st, SEC_E_OK, "EnumerateSecurityPackagesA")) {
                bool found = false;
                for (ULONG i = 0; i < n; i++)
                        if (!strcmp(pa[i].Name, "Kerberos"))
                                found = pa[i].wRPCID == 16 && pa[i].cbMaxToken == 48000;
                t_ok(n >= 1 && found, "Kerberos enumerated with RPC id 16 and cbMaxToken 48000 (%u packages)", n);
                FreeContextBuffer(pa);
        }
        st = EnumerateSecurityPackagesW(&n, &pw);
        if (t_status(st, SEC_E_OK, "EnumerateSecurityPackagesW")) {
                /* Listed in Windows' order: Negotiate first. */
                const SEC_WCHAR *name = pw[0].Name;
                t_ok(name[0] == 'N' && name[1] == 'e' && name[8] == 'e' && name[9] == 0,
                     "first package name (Negotiate) in UTF-16");
                FreeContextBuffer(pw);
        }
        st = QuerySecurityPackageInfoA("kerberos", &pa);
        if (t_status(st, SEC_E_OK, "QuerySecurityPackageInfoA is case-insensitive")) {
                t_ok(!strcmp(pa->Name, "Kerberos") && pa->fCapabilities & SECPKG_FLAG_MUTUAL_AUTH,
                     "package info: name and MUTUAL_AUTH capability");
                FreeContextBuffer(pa);
        }
        st = QuerySecurityPackageInfoW((const SEC_WCHAR *) u"Kerberos", &pw);
        if (t_status(st, SEC_E_OK, "QuerySecurityPackageInfoW"))
                FreeContextBuffer(pw);
        t_status(QuerySecurityPackageInfoA("NoSuchPackage", &pa), SEC_E_SECPKG_NOT_FOUND, "unknown package");
}

static void test_function_table(void) {
        PSecurityFunctionTableA a = InitSecurityInterfaceA();
        PSecurityFunctionTableW w = InitSecurityInterfaceW();

        t_ok(a && a->dwVersion >= SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION, "InitSecurityInterfaceA");
        t_ok(a && a->AcquireCredentialsHandleA == AcquireCredentialsHandleA && a->EncryptMessage == EncryptMessage &&
                     a->QuerySecurityPackageInfoA == QuerySecurityPackageInfoA && a->Reserved2 == NULL,
             "A table slots point at the A functions");
        t_ok(w && w->InitializeSecurityContextW == InitializeSecurityContextW &&
                     w->DecryptMessage == DecryptMessage && w->ImportSecurityContextW == ImportSecurityContextW,
             "W table slots point at the W functions");
        t_ok(offsetof(SecurityFunctionTableW, EncryptMessage) == 200 && sizeof(SecurityFunctionTableA) == 256,
             "table layout: EncryptMessage at 200, 256 bytes");
}

static void test_message_protection(CtxtHandle *c, CtxtHandle *s) {
        const char *text = "attack at dawn";
        TMessage m;
        SecPkgContext_Sizes sz;
        ULONG qop = 12345;
        SECURITY_STATUS st;

        st = QueryContextAttributesA(c, SECPKG_ATTR_SIZES, &sz);
        t_status(st, SEC_E_OK, "QueryContextAttributes SIZES");
        t_ok(sz.cbMaxToken == 48000 && sz.cbMaxSignature > 0 && sz.cbMaxSignature <= sizeof(m.token) &&
                     sz.cbSecurityTrailer > 0 && sz.cbBlockSize >= 1,
             "sizes: token %u sig %u trailer %u block %u", sz.cbMaxToken, sz.cbMaxSignature, sz.cbSecurityTrailer,
             sz.cbBlockSize);

        /* Encrypt on the client, decrypt on the server. */
        t_message_init(&m, text, strlen(text), true);
        m.b[0].cbBuffer = sz.cbSecurityTrailer;
        m.b[2].cbBuffer = sz.cbBlockSize;
        st = EncryptMessage(c, 0, &m.d, 0);
        t_status(st, SEC_E_OK, "EncryptMessage");
        t_ok(memcmp(m.data, text, strlen(text)) != 0, "data encrypted in place");
        t_ok(m.b[0].cbBuffer > 0 && m.b[0].cbBuffer <= sz.cbSecurityTrailer, "token length %u", m.b[0].cbBuffer);
        st = DecryptMessage(s, &m.d, 0, &qop);
        t_status(st, SEC_E_OK, "DecryptMessage");
        t_ok(m.b[1].cbBuffer == strlen(text) && !memcmp(m.data, text, strlen(text)) && qop == 0,
             "plaintext back, qop 0");

        /* Integrity only. */
        t_message_init(&m, text, strlen(text), true);
        m.b[0].cbBuffer = sz.cbSecurityTrailer;
        m.b[2].cbBuffer = sz.cbBlockSize;
        st = EncryptMessage(s, SECQOP_WRAP_NO_ENCRYPT, &m.d, 0);
        t_status(st, SEC_E_OK, "EncryptMessage SECQOP_WRAP_NO_ENCRYPT");
        t_ok(!memcmp(m.data, text, strlen(text)), "data left readable");
        st = DecryptMessage(c, &m.d, 0, &qop);
        t_status(st, SEC_E_OK, "DecryptMessage of a NO_ENCRYPT message");
        t_ok(qop == SECQOP_WRAP_NO_ENCRYPT, "pfQOP reports SECQOP_WRAP_NO_ENCRYPT");

        t_message_init(&m, text, strlen(text), true);
        t_status(EncryptMessage(c, 0x1234, &m.d, 0), SEC_E_QOP_NOT_SUPPORTED, "unknown qop refused");

        /* Tampering. */
        t_message_init(&m, text, strlen(text), true);
        m.b[0].cbBuffer = sz.cbSecurityTrailer;
        m.b[2].cbBuffer = sz.cbBlockSize;
        t_status(EncryptMessage(c, 0, &m.d, 0), SEC_E_OK, "EncryptMessage (to tamper)");
        m.data[3] ^= 0x20;
        t_status(DecryptMessage(s, &m.d, 0, NULL), SEC_E_MESSAGE_ALTERED, "tampered ciphertext");
        /* A message that failed is not consumed: the genuine one still
         * reads (it would otherwise be a duplicate, SEC_E_OUT_OF_SEQUENCE). */
        m.data[3] ^= 0x20;
        t_status(DecryptMessage(s, &m.d, 0, NULL), SEC_E_OK, "the genuine message after the tampered copy");

        /* Signatures and replay. */
        t_message_init(&m, text, strlen(text), false);
        m.b[0].cbBuffer = sz.cbMaxSignature;
        t_status(MakeSignature(c, 0, &m.d, 0), SEC_E_OK, "MakeSignature");
        t_ok(!memcmp(m.data, text, strlen(text)) && m.b[0].cbBuffer > 0 && m.b[0].cbBuffer <= sz.cbMaxSignature,
             "data untouched, signature %u bytes", m.b[0].cbBuffer);
        TMessage copy = m;
        copy.b[0].pvBuffer = copy.token;
        copy.b[1].pvBuffer = copy.data;
        copy.d.pBuffers = copy.b;
        t_status(VerifySignature(s, &m.d, 0, &qop), SEC_E_OK, "VerifySignature");
        t_status(VerifySignature(s, &copy.d, 0, &qop), SEC_E_OUT_OF_SEQUENCE, "replayed signature");
        t_message_init(&m, text, strlen(text), false);
        m.b[0].cbBuffer = sz.cbMaxSignature;
        t_status(MakeSignature(c, 0, &m.d, 0), SEC_E_OK, "MakeSignature (to tamper)");
        m.data[0] ^= 1;
        t_status(VerifySignature(s, &m.d, 0, &qop), SEC_E_MESSAGE_ALTERED, "tampered signed data");
        m.data[0] ^= 1;
        t_status(VerifySignature(s, &m.d, 0, &qop), SEC_E_OK, "the genuine signature after the tampered copy");

        /* A signature buffer too small for the MIC. */
        t_message_init(&m, text, strlen(text), false);
        m.b[0].cbBuffer = 4;
        t_status(MakeSignature(c, 0, &m.d, 0), SEC_E_BUFFER_TOO_SMALL, "signature buffer too small");

        /* No data buffer at all. */
        SecBuffer only_tok = { sizeof(m.token), SECBUFFER_TOKEN, m.token };
        SecBufferDesc d1 = { SECBUFFER_VERSION, 1, &only_tok };
        t_status(EncryptMessage(c, 0, &d1, 0), SEC_E_INVALID_TOKEN, "EncryptMessage without SECBUFFER_DATA");
}

static void test_attributes(CtxtHandle *c, CtxtHandle *s, ULONG client_attrs) {
        SecPkgContext_NamesA names;
        SecPkgContext_NamesW namesw;
        SecPkgContext_NativeNamesA native;
        SecPkgContext_Lifespan life;
        SecPkgContext_PackageInfoA pkg;
        SecPkgContext_NegotiationInfoA nego;
        SecPkgContext_Flags flags;
        SecPkgContext_SessionKey key_c, key_s;
        char want[128];

        snprintf(want, sizeof(want), "alice@%s", t_realm());
        if (t_status(QueryContextAttributesA(s, SECPKG_ATTR_NAMES, &names), SEC_E_OK, "server NAMES")) {
                t_ok(!strcmp(names.sUserName, want), "server sees the client '%s'", names.sUserName);
                FreeContextBuffer(names.sUserName);
        }
        if (t_status(QueryContextAttributesW(c, SECPKG_ATTR_NAMES, &namesw), SEC_E_OK, "client NAMES (W)")) {
                t_ok(namesw.sUserName[0] == 'a' && namesw.sUserName[5] == '@', "UTF-16 name");
                FreeContextBuffer(namesw.sUserName);
        }
        if (t_status(QueryContextAttributesA(c, SECPKG_ATTR_NATIVE_NAMES, &native), SEC_E_OK, "NATIVE_NAMES")) {
                t_ok(!strcmp(native.sClientName, want) && strstr(native.sServerName, "HTTP/localhost"),
                     "native names %s -> %s", native.sClientName, native.sServerName);
                FreeContextBuffer(native.sClientName);
                FreeContextBuffer(native.sServerName);
        }
        if (t_status(QueryContextAttributesA(c, SECPKG_ATTR_LIFESPAN, &life), SEC_E_OK, "LIFESPAN")) {
                int64_t start = (int64_t) life.tsStart.QuadPart, end = (int64_t) life.tsExpiry.QuadPart;
                t_ok(end > start && start > 130000000000000000LL, "lifespan ordered and after 2012");
        }
        if (t_status(QueryContextAttributesA(c, SECPKG_ATTR_PACKAGE_INFO, &pkg), SEC_E_OK, "PACKAGE_INFO")) {
                t_ok(!strcmp(pkg.PackageInfo->Name, "Kerberos"), "package is Kerberos");
                FreeContextBuffer(pkg.PackageInfo);
        }
        if (t_status(QueryContextAttributesA(s, SECPKG_ATTR_NEGOTIATION_INFO, &nego), SEC_E_OK, "NEGOTIATION_INFO")) {
                t_ok(!strcmp(nego.PackageInfo->Name, "Kerberos") && nego.NegotiationState == SECPKG_NEGOTIATION_COMPLETE,
                     "negotiated Kerberos, state complete");
                FreeContextBuffer(nego.PackageInfo);
        }
        if (t_status(QueryContextAttributesA(c, SECPKG_ATTR_FLAGS, &flags), SEC_E_OK, "FLAGS"))
                t_ok((flags.Flags & ~ISC_RET_ALLOCATED_MEMORY) == (client_attrs & ~ISC_RET_ALLOCATED_MEMORY),
                     "FLAGS 0x%x match the ISC result 0x%x", flags.Flags, client_attrs);
        /* testenv grants session-key export to the test's uid. */
        if (t_status(QueryContextAttributesA(c, SECPKG_ATTR_SESSION_KEY, &key_c), SEC_E_OK, "client SESSION_KEY") &&
            t_status(QueryContextAttributesA(s, SECPKG_ATTR_SESSION_KEY, &key_s), SEC_E_OK, "server SESSION_KEY")) {
                t_ok(key_c.SessionKeyLength >= 16 && key_c.SessionKeyLength == key_s.SessionKeyLength &&
                             !memcmp(key_c.SessionKey, key_s.SessionKey, key_c.SessionKeyLength),
                     "both sides hold the same %u-byte session key", key_c.SessionKeyLength);
                FreeContextBuffer(key_c.SessionKey);
                FreeContextBuffer(key_s.SessionKey);
        }
        t_status(QueryContextAttributesA(c, 0x7777, &flags), SEC_E_UNSUPPORTED_FUNCTION, "unknown attribute");
}

static void test_export_import(CtxtHandle *c, CtxtHandle *s) {
        SecBuffer packed = { 0 };
        CtxtHandle imported;
        const char *text = "moved between processes";
        SecPkgContext_Sizes sz;
        TMessage m;
        pid_t pid;
        int status;

        QueryContextAttributesA(c, SECPKG_ATTR_SIZES, &sz);
        if (!t_status(ExportSecurityContext(s, SECPKG_CONTEXT_EXPORT_DELETE_OLD, &packed, NULL), SEC_E_OK,
                      "ExportSecurityContext(DELETE_OLD)"))
                return;
        t_ok(packed.cbBuffer > 0 && packed.cbBuffer <= 64, "the packed context is a %u-byte ticket, not key material",
             packed.cbBuffer);
        t_message_init(&m, text, strlen(text), true);
        t_status(EncryptMessage(s, 0, &m.d, 0), SEC_E_INVALID_HANDLE, "exported-and-deleted context is gone");

        /* Another process of the same uid imports it and decrypts. */
        t_message_init(&m, text, strlen(text), true);
        m.b[0].cbBuffer = sz.cbSecurityTrailer;
        m.b[2].cbBuffer = sz.cbBlockSize;
        t_status(EncryptMessage(c, 0, &m.d, 0), SEC_E_OK, "client encrypts for the importer");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                int bad = 0;
                SECURITY_STATUS cst;
                if ((cst = ImportSecurityContextA("Kerberos", &packed, NULL, &imported)) != SEC_E_OK)
                        bad |= 1;
                else if ((cst = DecryptMessage(&imported, &m.d, 0, NULL)) != SEC_E_OK ||
                         memcmp(m.data, text, strlen(text)))
                        bad |= 2;
                if (bad)
                        printf("# child: %s (0x%08x)\n", status_name(cst), (unsigned) cst), fflush(stdout);
                else if (ImportSecurityContextA("Kerberos", &packed, NULL, &imported) != SEC_E_INVALID_TOKEN)
                        bad |= 4; /* single use */
                _exit(bad);
        }
        waitpid(pid, &status, 0);
        t_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child imported, decrypted, and could not import twice (%d)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        t_status(ImportSecurityContextA("Kerberos", &packed, NULL, &imported), SEC_E_INVALID_TOKEN,
                 "ticket already used");
        FreeContextBuffer(packed.pvBuffer);
        SecBuffer junk = { 5, SECBUFFER_EMPTY, "junk" };
        t_status(ImportSecurityContextA("Kerberos", &junk, NULL, &imported), SEC_E_INVALID_TOKEN, "garbage ticket");
}

static void test_wide_and_alloc(CredHandle *sc) {
        SEC_WINNT_AUTH_IDENTITY_W id;
        CredHandle cw;
        CtxtHandle cctx, sctx;
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL }, ib, sob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, idd = { SECBUFFER_VERSION, 1, &ib },
                      sod = { SECBUFFER_VERSION, 1, &sob };
        ULONG attrs = 0, sattrs = 0;
        SEC_WCHAR user[] = u"bob", pass[] = u"bob-pw-2", dom[32];
        SecPkgCredentials_NamesW cn;
        const char *realm = t_realm();
        size_t i;

        for (i = 0; realm[i] && i < 31; i++)
                dom[i] = (SEC_WCHAR) realm[i];
        dom[i] = 0;
        id = (SEC_WINNT_AUTH_IDENTITY_W) { user, 3, dom, (ULONG) i, pass, 8, SEC_WINNT_AUTH_IDENTITY_UNICODE };
        if (!t_status(AcquireCredentialsHandleW(NULL, (const SEC_WCHAR *) u"Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id,
                                                NULL, NULL, &cw, NULL),
                      SEC_E_OK, "AcquireCredentialsHandleW with a UTF-16 identity"))
                return;
        if (t_status(QueryCredentialsAttributesW(&cw, SECPKG_CRED_ATTR_NAMES, &cn), SEC_E_OK,
                     "QueryCredentialsAttributesW NAMES")) {
                t_ok(cn.sUserName[0] == 'b' && cn.sUserName[1] == 'o' && cn.sUserName[2] == 'b', "credential name bob");
                FreeContextBuffer(cn.sUserName);
        }
        t_status(InitializeSecurityContextW(&cw, NULL, (const SEC_WCHAR *) u"HTTP/localhost",
                                            ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_CONNECTION, 0, SECURITY_NATIVE_DREP,
                                            NULL, 0, &cctx, &od, &attrs, NULL),
                 SEC_E_OK, "InitializeSecurityContextW without mutual auth completes in one leg");
        t_ok(ob.pvBuffer && ob.cbBuffer > 100 && (attrs & ISC_RET_ALLOCATED_MEMORY) && (attrs & ISC_RET_CONNECTION) &&
                     !(attrs & ISC_RET_MUTUAL_AUTH),
             "allocated %u-byte token, attrs 0x%x", ob.cbBuffer, attrs);
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, ob.pvBuffer };
        t_status(AcceptSecurityContext(sc, NULL, &idd, ASC_REQ_ALLOCATE_MEMORY, SECURITY_NATIVE_DREP, &sctx, &sod,
                                       &sattrs, NULL),
                 SEC_E_OK, "AcceptSecurityContext of a one-leg token");
        t_ok(sob.cbBuffer == 0 && !(sattrs & ASC_RET_MUTUAL_AUTH), "no AP-REP without mutual auth");
        FreeContextBuffer(ob.pvBuffer);
        FreeContextBuffer(sob.pvBuffer);
        DeleteSecurityContext(&cctx);
        DeleteSecurityContext(&sctx);
        t_status(FreeCredentialsHandle(&cw), SEC_E_OK, "FreeCredentialsHandle");
        t_status(FreeCredentialsHandle(&cw), SEC_E_INVALID_HANDLE, "FreeCredentialsHandle twice");
}

/* pGetKeyFn: the daemon asks the client for the password (a GetKey
 * request on the same connection) while it acquires the credential. */
static int getkey_calls;
static char getkey_principal[128];

static void SEC_ENTRY get_key(void *arg, void *principal, ULONG key_ver, void **key, SECURITY_STATUS *status) {
        getkey_calls++;
        snprintf(getkey_principal, sizeof(getkey_principal), "%s", principal ? (const char *) principal : "");
        (void) key_ver;
        if (!arg) {
                *status = SEC_E_NO_CREDENTIALS;
                return;
        }
        *key = arg;
        *status = SEC_E_OK;
}

static void test_get_key_fn(CredHandle *sc) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) t_realm(),
                                         (ULONG) strlen(t_realm()), NULL, 0, SEC_WINNT_AUTH_IDENTITY_ANSI };
        CredHandle c;
        THandshake h;

        if (t_status(AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id, get_key,
                                               "alice-pw-1", &c, NULL),
                     SEC_E_OK, "ACH with pGetKeyFn and no password")) {
                t_ok(getkey_calls == 1 && !strcmp(getkey_principal, "alice"),
                     "the daemon called pGetKeyFn once, for '%s'", getkey_principal);
                t_status(t_handshake(&c, sc, "HTTP/localhost", ISC_REQ_MUTUAL_AUTH, 0, &h), SEC_E_OK,
                         "handshake with the password pGetKeyFn supplied");
                t_handshake_done(&h);
                FreeCredentialsHandle(&c);
        }
        t_status(AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id, get_key, NULL, &c, NULL),
                 SEC_E_NO_CREDENTIALS, "pGetKeyFn that fails: its status comes back");
}

static void test_delegation_and_expiry(CredHandle *cc, CredHandle *sc) {
        uint8_t t1[12000], t2[12000];
        SecBuffer ob = { sizeof(t1), SECBUFFER_TOKEN, t1 }, ib, sob = { sizeof(t2), SECBUFFER_TOKEN, t2 };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, idd = { SECBUFFER_VERSION, 1, &ib },
                      sod = { SECBUFFER_VERSION, 1, &sob };
        CtxtHandle c, s;
        ULONG ca = 0, sa = 0;
        TimeStamp ce = { 0 }, se = { 0 };

        /* testenv allows delegation ([kerberos] delegation = yes). */
        t_status(InitializeSecurityContextA(cc, NULL, "HTTP/localhost", ISC_REQ_DELEGATE | ISC_REQ_MUTUAL_AUTH, 0,
                                            SECURITY_NATIVE_DREP, NULL, 0, &c, &od, &ca, &ce),
                 SEC_I_CONTINUE_NEEDED, "ISC with ISC_REQ_DELEGATE");
        t_ok(ce.QuadPart > 130000000000000000LL, "ISC fills ptsExpiry");
        ib = (SecBuffer) { ob.cbBuffer, SECBUFFER_TOKEN, t1 };
        t_status(AcceptSecurityContext(sc, NULL, &idd, ASC_REQ_DELEGATE | ASC_REQ_MUTUAL_AUTH, SECURITY_NATIVE_DREP,
                                       &s, &sod, &sa, &se),
                 SEC_E_OK, "ASC of a delegating AP-REQ");
        t_ok(sa & ASC_RET_DELEGATE, "ASC_RET_DELEGATE: a delegated credential arrived (attrs 0x%x)", sa);
        t_ok(se.QuadPart > 130000000000000000LL, "ASC fills ptsExpiry");
        ib = (SecBuffer) { sob.cbBuffer, SECBUFFER_TOKEN, t2 };
        ob = (SecBuffer) { sizeof(t1), SECBUFFER_TOKEN, t1 };
        t_status(InitializeSecurityContextA(cc, &c, "HTTP/localhost", ISC_REQ_DELEGATE | ISC_REQ_MUTUAL_AUTH, 0,
                                            SECURITY_NATIVE_DREP, &idd, 0, &c, &od, &ca, NULL),
                 SEC_E_OK, "ISC leg 2");
        t_ok(ca & ISC_RET_DELEGATE, "ISC_RET_DELEGATE (attrs 0x%x)", ca);
        DeleteSecurityContext(&c);
        DeleteSecurityContext(&s);
}

int main(void) {
        CredHandle cc, sc;
        THandshake h;
        SECURITY_STATUS st;

        test_packages();
        test_function_table();

        if (!t_status(t_cred_password("alice", "alice-pw-1", &cc), SEC_E_OK, "outbound credential for alice") ||
            !t_status(t_cred_service("HTTP/localhost", &sc), SEC_E_OK, "inbound credential for HTTP/localhost"))
                return t_done();

        st = t_handshake(&cc, &sc, "HTTP/localhost",
                         ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT |
                                 ISC_REQ_SEQUENCE_DETECT | ISC_REQ_CONNECTION,
                         ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT |
                                 ASC_REQ_SEQUENCE_DETECT | ASC_REQ_CONNECTION,
                         &h);
        t_status(st, SEC_E_OK, "mutual handshake (sync)");
        t_ok(h.legs == 3, "three legs: ISC, ASC, ISC (got %d)", h.legs);
        t_ok((h.client_attrs & (ISC_RET_MUTUAL_AUTH | ISC_RET_CONFIDENTIALITY | ISC_RET_INTEGRITY |
                                ISC_RET_REPLAY_DETECT | ISC_RET_SEQUENCE_DETECT)) ==
                     (ISC_RET_MUTUAL_AUTH | ISC_RET_CONFIDENTIALITY | ISC_RET_INTEGRITY | ISC_RET_REPLAY_DETECT |
                      ISC_RET_SEQUENCE_DETECT),
             "client attrs 0x%x", h.client_attrs);
        t_ok((h.server_attrs & (ASC_RET_MUTUAL_AUTH | ASC_RET_CONFIDENTIALITY)) ==
                     (ASC_RET_MUTUAL_AUTH | ASC_RET_CONFIDENTIALITY),
             "server attrs 0x%x", h.server_attrs);
        if (st == SEC_E_OK) {
                test_attributes(&h.client, &h.server, h.client_attrs);
                test_message_protection(&h.client, &h.server);
                test_export_import(&h.client, &h.server);
        }
        t_handshake_done(&h);

        st = t_handshake(&cc, &sc, "HTTP@localhost", ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY, 0, &h);
        t_status(st, SEC_E_OK, "handshake without mutual auth, service@host target");
        t_ok(h.legs == 2 && !(h.client_attrs & ISC_RET_MUTUAL_AUTH), "two legs, no mutual auth (legs %d)", h.legs);
        t_handshake_done(&h);

        test_wide_and_alloc(&sc);
        test_get_key_fn(&sc);
        test_delegation_and_expiry(&cc, &sc);

        t_status(FreeCredentialsHandle(&cc), SEC_E_OK, "free client credential");
        t_status(FreeCredentialsHandle(&sc), SEC_E_OK, "free server credential");
        return t_done();
}
