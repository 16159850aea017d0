/* SPDX-License-Identifier: MIT */
/*
 * The generic part of secur32 as Windows has it: the function tables of
 * InitSecurityInterfaceA/W, the packages and their SecPkgInfo (enumerated,
 * queried, and on contexts), the entry points no package here supports (a
 * bad handle is SEC_E_INVALID_HANDLE before anything else), and the
 * argument checks of Wine's secur32.c and main.c that apply to us, sync and
 * async.
 *
 * Besides Wine's checks, the exact SecPkgInfo values come from what Windows
 * itself prints: EnumerateSecurityPackages as listed by PowerShell on
 * Windows 8.1/10 (PowerShellArsenal Get-SecurityPackage, with the Kerberos
 * MaxTokenSize raised to 65535 on that machine, Negotiate following at
 * +256) and on Windows 11 (Forshaw, "Windows Security Internals", listing
 * 12-1, Get-LsaPackage: the three Schannel names).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tpkgs.h"
#include "twin.h"

#define W_LISTING(what) "Windows' own output: " what
#define PS_ENUM W_LISTING("EnumerateSecurityPackages on Windows 8.1/10 (Get-SecurityPackage)")
#define LSA_ENUM W_LISTING("EnumerateSecurityPackages on Windows 11 (Get-LsaPackage, Windows Security Internals 12-1)")
#define SDK_SSPI "Windows SDK sspi.h"
#define MK_ENUM W_LISTING("lsadump::packages on Windows 10 (mimikatz wiki, modules/lsadump/packages)")

/* ---- the packages as Windows reports them ---- */

typedef struct Pkg {
        const char *name, *comment;
        ULONG caps;
        USHORT rpcid;
        ULONG max_token;
        const char *caps_src, *token_src, *comment_src;
} Pkg;

/* In Windows' order of enumeration (both listings agree on it). */
static const Pkg pkgs[] = {
        { "Negotiate", "Microsoft Package Negotiator",
          NEGOTIATE_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS,
          RPC_C_AUTHN_GSS_NEGOTIATE, 48256, PS_ENUM " and " W_WINE("negotiate.c", "START_TEST"),
          PS_ENUM ": Kerberos' MaxTokenSize + 256; 48000 + 256 by default", PS_ENUM },
        { "Kerberos", "Microsoft Kerberos V1.0",
          KERBEROS_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS,
          RPC_C_AUTHN_GSS_KERBEROS, 48000, PS_ENUM " and " W_WINE("secur32.c", "test_kerberos"),
          W_MSDOCS("Kerberos MaxTokenSize: 48000 by default since Windows 8 / Server 2012"),
          W_WINE("secur32.c", "test_kerberos") },
        { "NTLM", "NTLM Security Package",
          NTLM_BASE_CAPS | SECPKG_FLAG_RESTRICTED_TOKENS | SECPKG_FLAG_APPCONTAINER_CHECKS, RPC_C_AUTHN_WINNT, 2888,
          PS_ENUM " and " W_WINE("ntlm.c", "testAuth"), PS_ENUM " and " W_WINE("ntlm.c", "testAuth SIZES"),
          PS_ENUM },
        { "WDigest", "Digest Authentication for Windows", WDIGEST_CAPS, RPC_C_AUTHN_DIGEST, 4096, PS_ENUM, PS_ENUM,
          PS_ENUM },
        { "Schannel", "Schannel Security Package", SCHANNEL_CAPS, UNISP_RPC_ID, 24576, PS_ENUM, PS_ENUM, LSA_ENUM },
        { "Microsoft Unified Security Protocol Provider", "Schannel Security Package", SCHANNEL_CAPS, UNISP_RPC_ID,
          24576, PS_ENUM, PS_ENUM, LSA_ENUM },
        { "Default TLS SSP", "Schannel Security Package", SCHANNEL_CAPS, UNISP_RPC_ID, 24576, LSA_ENUM, PS_ENUM,
          LSA_ENUM },
        { "CREDSSP", "Microsoft CredSSP Security Provider",
          SECPKG_FLAG_INTEGRITY | SECPKG_FLAG_PRIVACY | SECPKG_FLAG_CONNECTION | SECPKG_FLAG_MULTI_REQUIRED |
                  SECPKG_FLAG_IMPERSONATION | SECPKG_FLAG_ACCEPT_WIN32_NAME | SECPKG_FLAG_STREAM |
                  SECPKG_FLAG_MUTUAL_AUTH | SECPKG_FLAG_APPCONTAINER_CHECKS,
          SECPKG_ID_NONE, 73032, PS_ENUM " and " MK_ENUM,
          MK_ENUM ": Negotiate's + Schannel's + 200 (90567 in " PS_ENUM ", Kerberos raised to 65535)",
          PS_ENUM " and " LSA_ENUM },
};
#define N_PKGS (sizeof(pkgs) / sizeof(pkgs[0]))

/* ---- helpers ---- */

/* Compares UTF-16 with ASCII; NULL-safe. */
static bool wstr_eq(const SEC_WCHAR *w, const char *a) {
        if (!w || !a)
                return false;
        for (; *a; a++, w++)
                if (*w != (unsigned char) *a)
                        return false;
        return *w == 0;
}

static SEC_WCHAR *to_w(const char *a, SEC_WCHAR *buf, size_t n) {
        size_t i = 0;
        for (; a[i] && i + 1 < n; i++)
                buf[i] = (unsigned char) a[i];
        buf[i] = 0;
        return buf;
}

/* One SecPkgInfo against the expected entry; A and W share one layout. */
static void check_info(const char *where, const SecPkgInfoA *a, const SecPkgInfoW *w, const Pkg *e) {
        ULONG caps = a ? a->fCapabilities : w->fCapabilities;
        USHORT version = a ? a->wVersion : w->wVersion, rpcid = a ? a->wRPCID : w->wRPCID;
        ULONG max_token = a ? a->cbMaxToken : w->cbMaxToken;
        bool name = a ? a->Name && !strcmp(a->Name, e->name) : wstr_eq(w->Name, e->name);
        bool comment = a ? a->Comment && !strcmp(a->Comment, e->comment) : wstr_eq(w->Comment, e->comment);

        w_ok(e->comment_src, name, "%s: Name \"%s\"", where, e->name);
        w_ok(e->comment_src, comment, "%s: Comment \"%s\"", where, e->comment);
        w_eq(e->caps_src, caps, e->caps, "%s: fCapabilities", where);
        w_eq(W_WINE("main.c", "testQuerySecurityPackageInfo"), version, 1, "%s: wVersion", where);
        w_eq(e->caps_src, rpcid, e->rpcid, "%s: wRPCID", where);
        w_eq(e->token_src, max_token, e->max_token, "%s: cbMaxToken", where);
}

static const Pkg *pkg_named(const char *name) {
        for (size_t i = 0; i < N_PKGS; i++)
                if (!strcmp(pkgs[i].name, name))
                        return &pkgs[i];
        return NULL;
}

/* The final status of an async call: what the call returned if it was not
 * queued, else what SspiGetAsyncCallStatus says once it is done. */
static SECURITY_STATUS async_final(SspiAsyncContext *ac, SECURITY_STATUS queued) {
        struct timespec ts = { 0, 1000000 };
        SECURITY_STATUS st;

        if (queued != SEC_E_OK)
                return queued;
        for (int i = 0; i < 30000; i++) {
                st = SspiGetAsyncCallStatus(ac);
                if (st != SEC_I_ASYNC_CALL_PENDING)
                        return st;
                nanosleep(&ts, NULL);
        }
        return SEC_I_ASYNC_CALL_PENDING;
}

/* ---- 1. the function tables ---- */

static void test_function_tables(void) {
        const char *src = W_WINE("secur32.c", "test_InitSecurityInterface");
        PSecurityFunctionTableA a = InitSecurityInterfaceA();
        PSecurityFunctionTableW w = InitSecurityInterfaceW();
        ULONG n = 0;
        PSecPkgInfoA pa = NULL;

        if (!w_ok(src, a && w, "InitSecurityInterfaceA/W return a table"))
                return;
        w_eq(src, a->dwVersion, SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION, "A table: dwVersion");
        w_eq(src, w->dwVersion, SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION, "W table: dwVersion");
        w_ok(src, a->Reserved2 == NULL, "A table: Reserved2 is NULL");
        w_ok(src, w->Reserved2 == NULL, "W table: Reserved2 is NULL");
        w_ok(src, a->Reserved3 == (void *) a->EncryptMessage && a->EncryptMessage == EncryptMessage,
             "A table: Reserved3 is EncryptMessage");
        w_ok(src, a->Reserved4 == (void *) a->DecryptMessage && a->DecryptMessage == DecryptMessage,
             "A table: Reserved4 is DecryptMessage");
        w_ok(src, w->Reserved3 == (void *) w->EncryptMessage && w->EncryptMessage == EncryptMessage,
             "W table: Reserved3 is EncryptMessage");
        w_ok(src, w->Reserved4 == (void *) w->DecryptMessage && w->DecryptMessage == DecryptMessage,
             "W table: Reserved4 is DecryptMessage");
        w_ok(SDK_SSPI " SecurityFunctionTable", a->Reserved8 == NULL && w->Reserved8 == NULL,
             "A and W tables: Reserved8 is NULL");

        /* Every other slot is the exported function of that name. */
        src = SDK_SSPI " SecurityFunctionTableA";
        w_ok(src,
             a->EnumerateSecurityPackagesA == EnumerateSecurityPackagesA &&
                     a->QueryCredentialsAttributesA == QueryCredentialsAttributesA &&
                     a->AcquireCredentialsHandleA == AcquireCredentialsHandleA &&
                     a->FreeCredentialHandle == FreeCredentialsHandle &&
                     a->InitializeSecurityContextA == InitializeSecurityContextA &&
                     a->AcceptSecurityContext == AcceptSecurityContext &&
                     a->CompleteAuthToken == CompleteAuthToken && a->DeleteSecurityContext == DeleteSecurityContext &&
                     a->ApplyControlToken == ApplyControlToken &&
                     a->QueryContextAttributesA == QueryContextAttributesA &&
                     a->ImpersonateSecurityContext == ImpersonateSecurityContext &&
                     a->RevertSecurityContext == RevertSecurityContext && a->MakeSignature == MakeSignature &&
                     a->VerifySignature == VerifySignature && a->FreeContextBuffer == FreeContextBuffer &&
                     a->QuerySecurityPackageInfoA == QuerySecurityPackageInfoA &&
                     a->ExportSecurityContext == ExportSecurityContext &&
                     a->ImportSecurityContextA == ImportSecurityContextA && a->AddCredentialsA == AddCredentialsA &&
                     a->QuerySecurityContextToken == QuerySecurityContextToken &&
                     a->SetContextAttributesA == SetContextAttributesA &&
                     a->SetCredentialsAttributesA == SetCredentialsAttributesA &&
                     a->ChangeAccountPasswordA == ChangeAccountPasswordA &&
                     a->QueryContextAttributesExA == QueryContextAttributesExA &&
                     a->QueryCredentialsAttributesExA == QueryCredentialsAttributesExA,
             "A table: every slot is the A function of its name");
        src = SDK_SSPI " SecurityFunctionTableW";
        w_ok(src,
             w->EnumerateSecurityPackagesW == EnumerateSecurityPackagesW &&
                     w->QueryCredentialsAttributesW == QueryCredentialsAttributesW &&
                     w->AcquireCredentialsHandleW == AcquireCredentialsHandleW &&
                     w->FreeCredentialsHandle == FreeCredentialsHandle &&
                     w->InitializeSecurityContextW == InitializeSecurityContextW &&
                     w->AcceptSecurityContext == AcceptSecurityContext &&
                     w->CompleteAuthToken == CompleteAuthToken && w->DeleteSecurityContext == DeleteSecurityContext &&
                     w->ApplyControlToken == ApplyControlToken &&
                     w->QueryContextAttributesW == QueryContextAttributesW &&
                     w->ImpersonateSecurityContext == ImpersonateSecurityContext &&
                     w->RevertSecurityContext == RevertSecurityContext && w->MakeSignature == MakeSignature &&
                     w->VerifySignature == VerifySignature && w->FreeContextBuffer == FreeContextBuffer &&
                     w->QuerySecurityPackageInfoW == QuerySecurityPackageInfoW &&
                     w->ExportSecurityContext == ExportSecurityContext &&
                     w->ImportSecurityContextW == ImportSecurityContextW && w->AddCredentialsW == AddCredentialsW &&
                     w->QuerySecurityContextToken == QuerySecurityContextToken &&
                     w->SetContextAttributesW == SetContextAttributesW &&
                     w->SetCredentialsAttributesW == SetCredentialsAttributesW &&
                     w->ChangeAccountPasswordW == ChangeAccountPasswordW &&
                     w->QueryContextAttributesExW == QueryContextAttributesExW &&
                     w->QueryCredentialsAttributesExW == QueryCredentialsAttributesExW,
             "W table: every slot is the W function of its name");

        /* Called through the table, as programs that load secur32 do. */
        if (w_status(W_WINE("main.c", "testEnumerateSecurityPackages"), a->EnumerateSecurityPackagesA(&n, &pa),
                     SEC_E_OK, "EnumerateSecurityPackagesA through the A table"))
                a->FreeContextBuffer(pa);
}

/* ---- 2. the packages ---- */

static void test_enumerate(void) {
        const char *src = W_WINE("main.c", "testEnumerateSecurityPackages");
        ULONG n = 0xdeadbeef;
        PSecPkgInfoA pa = NULL;
        PSecPkgInfoW pw = NULL;
        char where[96];

        if (w_status(src, EnumerateSecurityPackagesA(&n, &pa), SEC_E_OK, "EnumerateSecurityPackagesA")) {
                w_ok(src, pa != NULL, "EnumerateSecurityPackagesA: an array");
                w_eq(PS_ENUM " / " LSA_ENUM, n, N_PKGS, "EnumerateSecurityPackagesA: the packages sspid serves");
                for (ULONG i = 0; i < n && i < N_PKGS; i++) {
                        snprintf(where, sizeof(where), "EnumerateSecurityPackagesA[%u]", (unsigned) i);
                        check_info(where, &pa[i], NULL, &pkgs[i]);
                }
                w_status(src, FreeContextBuffer(pa), SEC_E_OK, "FreeContextBuffer of the A array");
        }
        if (w_status(src, EnumerateSecurityPackagesW(&n, &pw), SEC_E_OK, "EnumerateSecurityPackagesW")) {
                w_eq(PS_ENUM " / " LSA_ENUM, n, N_PKGS, "EnumerateSecurityPackagesW: the packages sspid serves");
                for (ULONG i = 0; i < n && i < N_PKGS; i++) {
                        snprintf(where, sizeof(where), "EnumerateSecurityPackagesW[%u]", (unsigned) i);
                        check_info(where, NULL, &pw[i], &pkgs[i]);
                }
                w_status(src, FreeContextBuffer(pw), SEC_E_OK, "FreeContextBuffer of the W array");
        }
}

static void test_query(void) {
        const char *src = W_WINE("main.c", "testQuerySecurityPackageInfo");
        char where[128], lower[64];
        SEC_WCHAR wname[64];

        for (size_t i = 0; i < N_PKGS; i++) {
                PSecPkgInfoA pa = (void *) 0xdeadbeef;
                PSecPkgInfoW pw = (void *) 0xdeadbeef;

                snprintf(where, sizeof(where), "QuerySecurityPackageInfoA(\"%s\")", pkgs[i].name);
                if (w_status(src, QuerySecurityPackageInfoA(pkgs[i].name, &pa), SEC_E_OK, "%s", where)) {
                        check_info(where, pa, NULL, &pkgs[i]);
                        w_status(src, FreeContextBuffer(pa), SEC_E_OK, "%s: FreeContextBuffer", where);
                }
                snprintf(where, sizeof(where), "QuerySecurityPackageInfoW(\"%s\")", pkgs[i].name);
                if (w_status(src, QuerySecurityPackageInfoW(to_w(pkgs[i].name, wname, 64), &pw), SEC_E_OK, "%s",
                             where)) {
                        check_info(where, NULL, pw, &pkgs[i]);
                        FreeContextBuffer(pw);
                }
        }
        /* Names are matched without regard to case; the answer spells the
         * package's own name (Windows' package lookup is case-blind). */
        for (size_t i = 0; i < N_PKGS; i++) {
                PSecPkgInfoA pa = NULL;
                size_t k = 0;
                for (; pkgs[i].name[k] && k + 1 < sizeof(lower); k++)
                        lower[k] = (char) (pkgs[i].name[k] | ((pkgs[i].name[k] >= 'A' && pkgs[i].name[k] <= 'Z') ? 0x20 : 0));
                lower[k] = 0;
                snprintf(where, sizeof(where), "QuerySecurityPackageInfoA(\"%s\")", lower);
                if (w_status(W_MSDOCS("QuerySecurityPackageInfoA: package names are not case-sensitive"),
                             QuerySecurityPackageInfoA(lower, &pa), SEC_E_OK, "%s", where)) {
                        w_ok(src, !strcmp(pa->Name, pkgs[i].name), "%s: Name \"%s\"", where, pkgs[i].name);
                        FreeContextBuffer(pa);
                }
        }

        /* Unknown and missing names. */
        PSecPkgInfoA pa = (void *) 0xdeadbeef;
        PSecPkgInfoW pw = (void *) 0xdeadbeef;
        w_status(src, QuerySecurityPackageInfoA("Winetest", &pa), SEC_E_SECPKG_NOT_FOUND,
                 "QuerySecurityPackageInfoA(\"Winetest\")");
        w_ok(src, pa == (void *) 0xdeadbeef, "QuerySecurityPackageInfoA(\"Winetest\") leaves the output alone");
        w_status(src, QuerySecurityPackageInfoW(to_w("Winetest", wname, 64), &pw), SEC_E_SECPKG_NOT_FOUND,
                 "QuerySecurityPackageInfoW(\"Winetest\")");
        w_ok(src, pw == (void *) 0xdeadbeef, "QuerySecurityPackageInfoW(\"Winetest\") leaves the output alone");
        /* No name: no package (what AcquireCredentialsHandle says of it). */
        w_status(W_WINE("schannel.c", "testAcquireSecurityContext: NULL package"),
                 QuerySecurityPackageInfoA(NULL, &pa), SEC_E_SECPKG_NOT_FOUND,
                 "QuerySecurityPackageInfoA(NULL): no package, as for AcquireCredentialsHandle");
        w_status(W_WINE("schannel.c", "testAcquireSecurityContext: NULL package"),
                 QuerySecurityPackageInfoW(NULL, &pw), SEC_E_SECPKG_NOT_FOUND, "QuerySecurityPackageInfoW(NULL)");
        w_ok(src, pa == (void *) 0xdeadbeef && pw == (void *) 0xdeadbeef, "... outputs left alone");

        w_status(W_MSDOCS("FreeContextBuffer") " (NULL frees nothing, like LocalFree)", FreeContextBuffer(NULL),
                 SEC_E_OK, "FreeContextBuffer(NULL)");
}

/* Contexts report the same SecPkgInfo as their package
 * (SECPKG_ATTR_PACKAGE_INFO), A and W; one context per package from a
 * first leg: the client side, Digest's server (Digest starts there). */
static void package_info_on(CtxtHandle *ctx, const char *name) {
        const char *src = W_WINE("ntlm.c", "testAuth (NEGOTIATION_INFO PackageInfo)");
        SecPkgContext_PackageInfoA ia = { NULL };
        SecPkgContext_PackageInfoW iw = { NULL };
        char where[96];

        snprintf(where, sizeof(where), "%s context: PACKAGE_INFO (A)", name);
        if (w_status(src, QueryContextAttributesA(ctx, SECPKG_ATTR_PACKAGE_INFO, &ia), SEC_E_OK, "%s", where) &&
            ia.PackageInfo) {
                check_info(where, ia.PackageInfo, NULL, pkg_named(name));
                FreeContextBuffer(ia.PackageInfo);
        }
        snprintf(where, sizeof(where), "%s context: PACKAGE_INFO (W)", name);
        if (w_status(src, QueryContextAttributesW(ctx, SECPKG_ATTR_PACKAGE_INFO, &iw), SEC_E_OK, "%s", where) &&
            iw.PackageInfo) {
                check_info(where, NULL, iw.PackageInfo, pkg_named(name));
                FreeContextBuffer(iw.PackageInfo);
        }
}

static void test_context_package_info(void) {
        static const struct {
                int tp;
                const char *name, *target;
                ULONG flags;
        } legs[] = {
                { TP_KERBEROS, "Kerberos", "HTTP/localhost", ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY },
                { TP_NTLM, "NTLM", "HTTP/localhost", ISC_REQ_CONFIDENTIALITY },
                { TP_SCHANNEL, "Schannel", "localhost", ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM },
        };
        TpCreds c = { 0 };

        for (size_t i = 0; i < sizeof(legs) / sizeof(legs[0]); i++) {
                SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle ctx;
                ULONG attrs;
                SECURITY_STATUS st;

                if (!w_status("test setup", tp_acquire(&c, legs[i].tp, NULL), SEC_E_OK, "%s credentials",
                              legs[i].name))
                        continue;
                st = InitializeSecurityContextA(&c.cli[legs[i].tp], NULL, (char *) legs[i].target,
                                                legs[i].flags | ISC_REQ_ALLOCATE_MEMORY, 0, SECURITY_NATIVE_DREP,
                                                NULL, 0, &ctx, &od, &attrs, NULL);
                if (w_status("test setup", st, SEC_I_CONTINUE_NEEDED, "%s first leg", legs[i].name)) {
                        package_info_on(&ctx, legs[i].name);
                        DeleteSecurityContext(&ctx);
                }
                FreeContextBuffer(ob.pvBuffer);
        }
        if (w_status("test setup", tp_acquire(&c, TP_DIGEST, NULL), SEC_E_OK, "WDigest credentials")) {
                static uint8_t chal[4096];
                SecBuffer ib = { 0, SECBUFFER_TOKEN, NULL }, ob = { sizeof(chal), SECBUFFER_TOKEN, chal };
                SecBufferDesc id = { SECBUFFER_VERSION, 1, &ib }, od = { SECBUFFER_VERSION, 1, &ob };
                CtxtHandle sc;
                ULONG attrs;

                if (w_status("test setup",
                             AcceptSecurityContext(&c.srv[TP_DIGEST], NULL, &id, ASC_REQ_HTTP, 0, &sc, &od, &attrs,
                                                   NULL),
                             SEC_I_CONTINUE_NEEDED, "WDigest challenge")) {
                        package_info_on(&sc, "WDigest");
                        DeleteSecurityContext(&sc);
                }
        }
        /* A completed Negotiate context names the package it negotiated,
         * with that package's own SecPkgInfo (Kerberos in this realm). */
        if (w_status("test setup", tp_acquire(&c, TP_NEGOTIATE, NULL), SEC_E_OK, "Negotiate credentials")) {
                const char *src = W_WINE("negotiate.c", "test_authentication (NEGOTIATION_INFO)");
                THandshake h;
                SecPkgContext_NegotiationInfoA ni = { NULL, 0 };

                if (w_status("test setup",
                             t_handshake(&c.cli[TP_NEGOTIATE], &c.srv[TP_NEGOTIATE], "HTTP/localhost",
                                         ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY, 0, &h),
                             SEC_E_OK, "Negotiate handshake") &&
                    w_status(src, QueryContextAttributesA(&h.client, SECPKG_ATTR_NEGOTIATION_INFO, &ni), SEC_E_OK,
                             "Negotiate client context: NEGOTIATION_INFO")) {
                        w_eq(src, ni.NegotiationState, SECPKG_NEGOTIATION_COMPLETE, "NegotiationState");
                        if (w_ok(src, ni.PackageInfo != NULL, "NEGOTIATION_INFO: PackageInfo"))
                                check_info("Negotiate context: NEGOTIATION_INFO", ni.PackageInfo, NULL,
                                           pkg_named("Kerberos"));
                        FreeContextBuffer(ni.PackageInfo);
                }
                t_handshake_done(&h);
        }
        tp_release(&c);
}

/* ---- 3. every entry point no package supports: the handle first ---- */

typedef enum Bad { BAD_NULL, BAD_NEVER, BAD_INVALIDATED, BAD_DELETED, BAD_OTHER_KIND, BAD_COUNT } Bad;
static const char *const bad_names[BAD_COUNT] = { "NULL", "never issued", "SecInvalidateHandle'd", "deleted",
                                                  "of the other kind" };

/* The stubs, called with a context or a credential handle. */
static SECURITY_STATUS call_ctx_stub(int which, PCtxtHandle h, const char **name) {
        static uint8_t buf[256];
        void *token = (void *) 0xdeadbeef;
        SECURITY_STATUS st;

        switch (which) {
        case 0:
                *name = "ImpersonateSecurityContext";
                return ImpersonateSecurityContext(h);
        case 1:
                *name = "RevertSecurityContext";
                return RevertSecurityContext(h);
        case 2:
                *name = "QuerySecurityContextToken";
                st = QuerySecurityContextToken(h, &token);
                /* A failed call leaves its output alone (as main.c sees of
                 * QuerySecurityPackageInfo). */
                return token == (void *) 0xdeadbeef ? st : (SECURITY_STATUS) 0x7eadbeef;
        case 3:
                *name = "SetContextAttributesA";
                return SetContextAttributesA(h, SECPKG_ATTR_APPLICATION_PROTOCOL, buf, sizeof(buf));
        case 4:
                *name = "SetContextAttributesW";
                return SetContextAttributesW(h, SECPKG_ATTR_APPLICATION_PROTOCOL, buf, sizeof(buf));
        case 5:
                *name = "QueryContextAttributesExA";
                return QueryContextAttributesExA(h, SECPKG_ATTR_SIZES, buf, sizeof(buf));
        default:
                *name = "QueryContextAttributesExW";
                return QueryContextAttributesExW(h, SECPKG_ATTR_SIZES, buf, sizeof(buf));
        }
}
#define N_CTX_STUBS 7

static uint8_t cred_stub_buf[256] __attribute__((aligned(8)));

static SECURITY_STATUS call_cred_stub(int which, PCredHandle h, const char **name) {
        uint8_t *buf = cred_stub_buf;

        switch (which) {
        case 0:
                *name = "AddCredentialsA";
                return AddCredentialsA(h, NULL, "NTLM", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL);
        case 1:
                *name = "AddCredentialsW";
                return AddCredentialsW(h, NULL, NTLMSP_NAME_W, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL);
        case 2:
                *name = "SetCredentialsAttributesA";
                return SetCredentialsAttributesA(h, SECPKG_CRED_ATTR_NAMES, buf, sizeof(cred_stub_buf));
        case 3:
                *name = "SetCredentialsAttributesW";
                return SetCredentialsAttributesW(h, SECPKG_CRED_ATTR_NAMES, buf, sizeof(cred_stub_buf));
        case 4:
                *name = "QueryCredentialsAttributesExA";
                return QueryCredentialsAttributesExA(h, SECPKG_CRED_ATTR_NAMES, buf, sizeof(cred_stub_buf));
        default:
                *name = "QueryCredentialsAttributesExW";
                return QueryCredentialsAttributesExW(h, SECPKG_CRED_ATTR_NAMES, buf, sizeof(cred_stub_buf));
        }
}
#define N_CRED_STUBS 6

static const char *stub_src(const char *name) {
        if (!strcmp(name, "ImpersonateSecurityContext"))
                return W_MSDOCS("ImpersonateSecurityContext: SEC_E_INVALID_HANDLE");
        if (!strcmp(name, "RevertSecurityContext"))
                return W_MSDOCS("RevertSecurityContext: SEC_E_INVALID_HANDLE");
        if (!strcmp(name, "QuerySecurityContextToken"))
                return W_MSDOCS("QuerySecurityContextToken: SEC_E_INVALID_HANDLE");
        return W_MSDOCS("SSPI functions: a handle not issued to the caller is SEC_E_INVALID_HANDLE");
}

/* Handles of each kind: bad ones built from a live ctx/cred pair. */
static void bad_handle(Bad b, const SecHandle *live, const SecHandle *deleted, const SecHandle *other,
                       SecHandle *out, SecHandle **ptr) {
        *ptr = out;
        switch (b) {
        case BAD_NULL:
                *ptr = NULL;
                break;
        case BAD_NEVER:
                out->dwLower = 0x5eed1234;
                out->dwUpper = live->dwUpper ^ 0x77;
                break;
        case BAD_INVALIDATED:
                SecInvalidateHandle(out);
                break;
        case BAD_DELETED:
                *out = *deleted;
                break;
        default:
                *out = *other;
                break;
        }
}

static void test_stubs(void) {
        CredHandle cred, cred_gone;
        CtxtHandle ctx, ctx_gone;
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;
        const char *name;

        if (!w_status("test setup", t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &cred), SEC_E_OK,
                      "NTLM credential") ||
            !w_status("test setup", t_cred_identity("NTLM", "carol", "CONFDOM", "pw-1", &cred_gone), SEC_E_OK,
                      "second NTLM credential"))
                return;
        st = InitializeSecurityContextA(&cred, NULL, "HTTP/localhost", ISC_REQ_ALLOCATE_MEMORY, 0,
                                        SECURITY_NATIVE_DREP, NULL, 0, &ctx, &od, &attrs, NULL);
        FreeContextBuffer(ob.pvBuffer);
        ob.pvBuffer = NULL;
        ob.cbBuffer = 0;
        if (!w_status("test setup", st, SEC_I_CONTINUE_NEEDED, "NTLM first leg"))
                return;
        st = InitializeSecurityContextA(&cred, NULL, "HTTP/localhost", ISC_REQ_ALLOCATE_MEMORY, 0,
                                        SECURITY_NATIVE_DREP, NULL, 0, &ctx_gone, &od, &attrs, NULL);
        FreeContextBuffer(ob.pvBuffer);
        w_status("test setup", st, SEC_I_CONTINUE_NEEDED, "second NTLM first leg");
        w_status(W_MSDOCS("DeleteSecurityContext"), DeleteSecurityContext(&ctx_gone), SEC_E_OK,
                 "DeleteSecurityContext of the second context");
        w_status(W_MSDOCS("FreeCredentialsHandle"), FreeCredentialsHandle(&cred_gone), SEC_E_OK,
                 "FreeCredentialsHandle of the second credential");

        for (int s = 0; s < N_CTX_STUBS; s++) {
                for (Bad b = 0; b < BAD_COUNT; b++) {
                        SecHandle h, *hp;
                        bad_handle(b, &ctx, &ctx_gone, &cred, &h, &hp);
                        st = call_ctx_stub(s, hp, &name);
                        w_status(stub_src(name), st, SEC_E_INVALID_HANDLE, "%s, a %s context handle", name,
                                 bad_names[b]);
                }
                st = call_ctx_stub(s, &ctx, &name);
                /* Impersonation and tokens exist now (test_impersonate.c); a
                 * context still in its handshake has no client yet and
                 * answers as NAMES does, a revert with nothing to revert
                 * succeeds. */
                if (s < 3)
                        w_status(stub_src(name), st, s == 1 ? SEC_E_OK : SEC_E_INVALID_HANDLE,
                                 "%s, a live context still in its handshake", name);
                else if (s >= 5)
                        /* QueryContextAttributesEx exists now (test_ctx_attrs):
                         * SIZES answers during the handshake, as
                         * QueryContextAttributes does. */
                        w_status(W_MSDOCS("QueryContextAttributesExW: as QueryContextAttributes, cbBuffer bytes"),
                                 st, SEC_E_OK, "%s, a live context: SIZES", name);
                else
                        w_status(W_MSDOCS("SSPI: a package without the function"), st, SEC_E_UNSUPPORTED_FUNCTION,
                                 "%s, a live context: not supported", name);
        }
        for (int s = 0; s < N_CRED_STUBS; s++) {
                for (Bad b = 0; b < BAD_COUNT; b++) {
                        SecHandle h, *hp;
                        bad_handle(b, &cred, &cred_gone, &ctx, &h, &hp);
                        st = call_cred_stub(s, hp, &name);
                        w_status(stub_src(name), st, SEC_E_INVALID_HANDLE, "%s, a %s credential handle", name,
                                 bad_names[b]);
                }
                st = call_cred_stub(s, &cred, &name);
                if (s >= 4) {
                        /* QueryCredentialsAttributesEx exists now
                         * (test_cred_attrs): NAMES answers as
                         * QueryCredentialsAttributes does. */
                        SecPkgCredentials_NamesA *n = (SecPkgCredentials_NamesA *) cred_stub_buf;
                        w_status(W_MSDOCS("QueryCredentialsAttributesExW: as QueryCredentialsAttributes, cbBuffer "
                                          "bytes"),
                                 st, SEC_E_OK, "%s, a live credential: NAMES", name);
                        if (st == SEC_E_OK)
                                FreeContextBuffer(n->sUserName);
                } else
                        w_status(W_MSDOCS("SSPI: a package without the function"), st, SEC_E_UNSUPPORTED_FUNCTION,
                                 "%s, a live credential: not supported", name);
        }
        /* The implemented entry points check the handle first too, before
         * they look at their other arguments or at what the package has. */
        for (Bad b = BAD_NEVER; b < BAD_COUNT; b++) {
                static uint8_t tok[64], data[16];
                SecBuffer mb[2] = { { sizeof(tok), SECBUFFER_TOKEN, tok }, { sizeof(data), SECBUFFER_DATA, data } };
                SecBufferDesc md = { SECBUFFER_VERSION, 2, mb };
                DWORD shutdown = SCHANNEL_SHUTDOWN;
                SecBuffer cb = { sizeof(shutdown), SECBUFFER_TOKEN, &shutdown };
                SecBufferDesc cd = { SECBUFFER_VERSION, 1, &cb };
                SecBuffer packed = { 0, SECBUFFER_EMPTY, NULL };
                SecPkgContext_Sizes sz;
                SecPkgCredentials_NamesA cn;
                ULONG qop;
                SecHandle h, *hp;
                const char *src = W_MSDOCS("SSPI functions: a handle not issued to the caller is SEC_E_INVALID_HANDLE");

                bad_handle(b, &ctx, &ctx_gone, &cred, &h, &hp);
                w_status(src, QueryContextAttributesA(hp, SECPKG_ATTR_SIZES, &sz), SEC_E_INVALID_HANDLE,
                         "QueryContextAttributesA, a %s context handle", bad_names[b]);
                w_status(src, CompleteAuthToken(hp, &md), SEC_E_INVALID_HANDLE,
                         "CompleteAuthToken, a %s context handle", bad_names[b]);
                w_status(src, ApplyControlToken(hp, &cd), SEC_E_INVALID_HANDLE,
                         "ApplyControlToken, a %s context handle", bad_names[b]);
                w_status(src, ExportSecurityContext(hp, 0, &packed, NULL), SEC_E_INVALID_HANDLE,
                         "ExportSecurityContext, a %s context handle", bad_names[b]);
                w_status(src, MakeSignature(hp, 0, &md, 0), SEC_E_INVALID_HANDLE,
                         "MakeSignature, a %s context handle", bad_names[b]);
                w_status(src, VerifySignature(hp, &md, 0, &qop), SEC_E_INVALID_HANDLE,
                         "VerifySignature, a %s context handle", bad_names[b]);
                w_status(src, EncryptMessage(hp, 0, &md, 0), SEC_E_INVALID_HANDLE,
                         "EncryptMessage, a %s context handle", bad_names[b]);
                w_status(src, DecryptMessage(hp, &md, 0, &qop), SEC_E_INVALID_HANDLE,
                         "DecryptMessage, a %s context handle", bad_names[b]);
                w_status(src, DeleteSecurityContext(hp), SEC_E_INVALID_HANDLE,
                         "DeleteSecurityContext, a %s context handle", bad_names[b]);
                bad_handle(b, &cred, &cred_gone, &ctx, &h, &hp);
                w_status(src, QueryCredentialsAttributesA(hp, SECPKG_CRED_ATTR_NAMES, &cn), SEC_E_INVALID_HANDLE,
                         "QueryCredentialsAttributesA, a %s credential handle", bad_names[b]);
                w_status(src, FreeCredentialsHandle(hp), SEC_E_INVALID_HANDLE,
                         "FreeCredentialsHandle, a %s credential handle", bad_names[b]);
        }

        /* The stubs left the live handles alone. */
        w_status(W_MSDOCS("DeleteSecurityContext"), DeleteSecurityContext(&ctx), SEC_E_OK,
                 "the live context is still deleted normally");
        w_status(W_MSDOCS("FreeCredentialsHandle"), FreeCredentialsHandle(&cred), SEC_E_OK,
                 "the live credential is still freed normally");

        /* ChangeAccountPassword has no handle: the package comes first. */
        w_status(W_MSDOCS("ChangeAccountPasswordA: SEC_E_SECPKG_NOT_FOUND"),
                 ChangeAccountPasswordA("Winetest", "D", "u", "a", "b", 0, 0, NULL), SEC_E_SECPKG_NOT_FOUND,
                 "ChangeAccountPasswordA, unknown package");
        w_status(W_MSDOCS("ChangeAccountPasswordW: SEC_E_SECPKG_NOT_FOUND"),
                 ChangeAccountPasswordW(NULL, NULL, NULL, NULL, NULL, 0, 0, NULL), SEC_E_SECPKG_NOT_FOUND,
                 "ChangeAccountPasswordW, NULL package");
        /* Kerberos and Negotiate change passwords (tests/integration/test_chpass.c). */
        w_status(W_MSDOCS("SSPI: a package without the function"),
                 ChangeAccountPasswordA("WDigest", "D", "u", "a", "b", 0, 0, NULL), SEC_E_UNSUPPORTED_FUNCTION,
                 "ChangeAccountPasswordA(WDigest): not supported");
}

/* ---- 5. generic argument checks, sync and async ---- */

static void test_handles(void) {
        const char *sdk = SDK_SSPI " SecInvalidateHandle / SecIsValidHandle";
        SecHandle h = { 1, 2 }, never = { 0x5eed, 0x1234 };
        CredHandle cred;
        SspiAsyncContext *ac;

        SecInvalidateHandle(&h);
        w_ok(sdk, h.dwLower == (ULONG_PTR) -1 && h.dwUpper == (ULONG_PTR) -1,
             "SecInvalidateHandle sets both halves to -1");
        w_ok(sdk, !SecIsValidHandle(&h), "SecIsValidHandle is false for an invalidated handle");
        if (w_status(W_WINE("schannel.c", "testAcquireSecurityContext"),
                     AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                               &cred, NULL),
                     SEC_E_OK, "AcquireCredentialsHandleA(UNISP_NAME, OUTBOUND)")) {
                w_ok(sdk, SecIsValidHandle(&cred), "SecIsValidHandle is true for an issued handle");
                FreeCredentialsHandle(&cred);
                w_status(W_MSDOCS("FreeCredentialsHandle: SEC_E_INVALID_HANDLE"), FreeCredentialsHandle(&cred),
                         SEC_E_INVALID_HANDLE, "FreeCredentialsHandle twice");
        }
        w_status(W_MSDOCS("FreeCredentialsHandle: SEC_E_INVALID_HANDLE"), FreeCredentialsHandle(NULL),
                 SEC_E_INVALID_HANDLE, "FreeCredentialsHandle(NULL)");
        w_status(W_MSDOCS("FreeCredentialsHandle: SEC_E_INVALID_HANDLE"), FreeCredentialsHandle(&h),
                 SEC_E_INVALID_HANDLE, "FreeCredentialsHandle of an invalidated handle");
        w_status(W_MSDOCS("DeleteSecurityContext: SEC_E_INVALID_HANDLE"), DeleteSecurityContext(NULL),
                 SEC_E_INVALID_HANDLE, "DeleteSecurityContext(NULL)");
        w_status(W_MSDOCS("DeleteSecurityContext: SEC_E_INVALID_HANDLE"), DeleteSecurityContext(&never),
                 SEC_E_INVALID_HANDLE, "DeleteSecurityContext of a never issued handle");

        ac = SspiCreateAsyncContext();
        if (!w_ok(W_MSDOCS("SspiCreateAsyncContext"), ac != NULL, "SspiCreateAsyncContext"))
                return;
        w_status(W_MSDOCS("SspiFreeCredentialsHandleAsync"),
                 async_final(ac, SspiFreeCredentialsHandleAsync(ac, &never)), SEC_E_INVALID_HANDLE,
                 "async FreeCredentialsHandle of a never issued handle");
        SspiReinitAsyncContext(ac);
        w_status(W_MSDOCS("SspiDeleteSecurityContextAsync: SEC_E_INVALID_HANDLE"),
                 async_final(ac, SspiDeleteSecurityContextAsync(ac, &never)), SEC_E_INVALID_HANDLE,
                 "async DeleteSecurityContext of a never issued handle");
        SspiReinitAsyncContext(ac);

        /* A credential that was never issued, in the steps. */
        {
                const char *isc = W_MSDOCS("InitializeSecurityContext: SEC_E_INVALID_HANDLE");
                const char *asc = W_MSDOCS("AcceptSecurityContext: SEC_E_INVALID_HANDLE");
                static uint8_t tok[256];
                SecBuffer ob = { sizeof(tok), SECBUFFER_TOKEN, tok }, ib = { 8, SECBUFFER_TOKEN, tok };
                SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob }, id = { SECBUFFER_VERSION, 1, &ib };
                CtxtHandle ctx;
                ULONG attrs;

                w_status(isc,
                         InitializeSecurityContextA(&never, NULL, "HTTP/localhost", 0, 0, SECURITY_NATIVE_DREP, NULL,
                                                    0, &ctx, &od, &attrs, NULL),
                         SEC_E_INVALID_HANDLE, "InitializeSecurityContextA, a never issued credential");
                w_status(asc, AcceptSecurityContext(&never, NULL, &id, 0, SECURITY_NATIVE_DREP, &ctx, &od, &attrs, NULL),
                         SEC_E_INVALID_HANDLE, "AcceptSecurityContext, a never issued credential");
                w_status(W_MSDOCS("SspiInitializeSecurityContextAsyncA: SEC_E_INVALID_HANDLE"),
                         async_final(ac, SspiInitializeSecurityContextAsyncA(ac, &never, NULL, "HTTP/localhost", 0, 0,
                                                                             SECURITY_NATIVE_DREP, NULL, 0, &ctx, &od,
                                                                             &attrs, NULL)),
                         SEC_E_INVALID_HANDLE, "async InitializeSecurityContextA, a never issued credential");
                SspiReinitAsyncContext(ac);
                w_status(W_MSDOCS("SspiAcceptSecurityContextAsync: SEC_E_INVALID_HANDLE"),
                         async_final(ac, SspiAcceptSecurityContextAsync(ac, &never, NULL, &id, 0, SECURITY_NATIVE_DREP,
                                                                        &ctx, &od, &attrs, NULL)),
                         SEC_E_INVALID_HANDLE, "async AcceptSecurityContext, a never issued credential");
        }
        SspiFreeAsyncContext(ac);
}

static void test_acquire_generic(void) {
        const char *src = W_WINE("schannel.c", "testAcquireSecurityContext");
        CredHandle cred;
        TimeStamp ts;
        SEC_WCHAR wname[64];
        SspiAsyncContext *ac;

        /* The package is checked before anything else, phCredential
         * included. */
        w_status(src, AcquireCredentialsHandleA(NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleA(NULL package, NULL phCredential)");
        w_status(src, AcquireCredentialsHandleA(NULL, NULL, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &cred, &ts),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleA(NULL package)");
        w_status(src, AcquireCredentialsHandleW(NULL, NULL, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &cred, &ts),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleW(NULL package)");
        w_status(W_MSDOCS("AcquireCredentialsHandle: SEC_E_SECPKG_NOT_FOUND"),
                 AcquireCredentialsHandleA(NULL, "Winetest", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, &cred, &ts),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleA(\"Winetest\")");
        w_status(W_MSDOCS("AcquireCredentialsHandle: SEC_E_SECPKG_NOT_FOUND"),
                 AcquireCredentialsHandleW(NULL, to_w("Winetest", wname, 64), SECPKG_CRED_OUTBOUND, NULL, NULL, NULL,
                                           NULL, &cred, &ts),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleW(\"Winetest\")");
        w_status(src,
                 AcquireCredentialsHandleA(NULL, "Winetest", SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL, NULL, NULL),
                 SEC_E_SECPKG_NOT_FOUND, "AcquireCredentialsHandleA(\"Winetest\", NULL phCredential)");

        /* Every enumerated name acquires (the three Schannel names). */
        for (size_t i = 0; i < N_PKGS; i++) {
                bool tls = pkgs[i].rpcid == UNISP_RPC_ID;
                SECURITY_STATUS st;

                if (!tls)
                        continue;
                st = AcquireCredentialsHandleA(NULL, (char *) pkgs[i].name, SECPKG_CRED_OUTBOUND, NULL, NULL, NULL,
                                               NULL, &cred, &ts);
                if (w_status(src, st, SEC_E_OK, "AcquireCredentialsHandleA(\"%s\", OUTBOUND)", pkgs[i].name))
                        FreeCredentialsHandle(&cred);
                st = AcquireCredentialsHandleW(NULL, to_w(pkgs[i].name, wname, 64), SECPKG_CRED_OUTBOUND, NULL, NULL,
                                               NULL, NULL, &cred, &ts);
                if (w_status(src, st, SEC_E_OK, "AcquireCredentialsHandleW(\"%s\", OUTBOUND)", pkgs[i].name))
                        FreeCredentialsHandle(&cred);
        }

        /* The async twins: the same final statuses. */
        ac = SspiCreateAsyncContext();
        if (!w_ok(W_MSDOCS("SspiCreateAsyncContext"), ac != NULL, "SspiCreateAsyncContext"))
                return;
        w_status(src,
                 async_final(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, NULL, SECPKG_CRED_OUTBOUND, NULL, NULL,
                                                                    NULL, NULL, &cred, &ts)),
                 SEC_E_SECPKG_NOT_FOUND, "SspiAcquireCredentialsHandleAsyncA(NULL package)");
        SspiReinitAsyncContext(ac);
        w_status(src,
                 async_final(ac, SspiAcquireCredentialsHandleAsyncW(ac, NULL, NULL, SECPKG_CRED_OUTBOUND, NULL, NULL,
                                                                    NULL, NULL, &cred, &ts)),
                 SEC_E_SECPKG_NOT_FOUND, "SspiAcquireCredentialsHandleAsyncW(NULL package)");
        SspiReinitAsyncContext(ac);
        w_status(W_MSDOCS("SspiAcquireCredentialsHandleAsyncA: SEC_E_SECPKG_NOT_FOUND"),
                 async_final(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, "Winetest", SECPKG_CRED_OUTBOUND, NULL,
                                                                    NULL, NULL, NULL, &cred, &ts)),
                 SEC_E_SECPKG_NOT_FOUND, "SspiAcquireCredentialsHandleAsyncA(\"Winetest\")");
        SspiReinitAsyncContext(ac);
        w_status(W_MSDOCS("SspiAcquireCredentialsHandleAsyncW: SEC_E_SECPKG_NOT_FOUND"),
                 async_final(ac, SspiAcquireCredentialsHandleAsyncW(ac, NULL, to_w("Winetest", wname, 64),
                                                                    SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                                                    &cred, &ts)),
                 SEC_E_SECPKG_NOT_FOUND, "SspiAcquireCredentialsHandleAsyncW(\"Winetest\")");
        SspiReinitAsyncContext(ac);
        w_status(src,
                 async_final(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, "Winetest", SECPKG_CRED_OUTBOUND, NULL,
                                                                    NULL, NULL, NULL, NULL, NULL)),
                 SEC_E_SECPKG_NOT_FOUND, "SspiAcquireCredentialsHandleAsyncA(\"Winetest\", NULL phCredential)");
        SspiReinitAsyncContext(ac);
        if (w_status(src,
                     async_final(ac, SspiAcquireCredentialsHandleAsyncA(ac, NULL, DEFAULT_TLS_SSP_NAME_A,
                                                                        SECPKG_CRED_OUTBOUND, NULL, NULL, NULL, NULL,
                                                                        &cred, &ts)),
                     SEC_E_OK, "SspiAcquireCredentialsHandleAsyncA(\"Default TLS SSP\", OUTBOUND)"))
                FreeCredentialsHandle(&cred);
        SspiFreeAsyncContext(ac);
}

int main(void) {
        test_function_tables();
        test_enumerate();
        test_query();
        test_context_package_info();
        test_stubs();
        test_handles();
        test_acquire_generic();
        return t_done();
}
