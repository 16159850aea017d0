/* SPDX-License-Identifier: MIT */
/*
 * ABI test for client-lib/include/sspi.h.
 *
 * Checks the x86_64 sizes and offsets of the public structures (reference/sspi-facts.md §3), the slot
 * offsets of the SSPI function tables (§2.2), the widths of the basic types (§0.1) and the values of the
 * important constants (§4), both at compile time (_Static_assert) and at run time (one TAP-style line per
 * check). It also checks that the prototypes match the function-pointer typedefs and that UNICODE picks
 * the right generic names. No function of the library is called, so it needs no library to link:
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -Iclient-lib/include tests/unit/test_abi.c -o /tmp/test_abi
 *   gcc -std=gnu11 -Wall -Wextra -Werror -DUNICODE -Iclient-lib/include tests/unit/test_abi.c -o /tmp/test_abi
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sspi.h"
#include "schannel.h"

static unsigned n_passed, n_failed;

static void check(bool ok, const char *what) {
        printf("%s - %s\n", ok ? "ok" : "not ok", what);
        if (ok)
                n_passed++;
        else
                n_failed++;
}

/* Each macro asserts at compile time and reports at run time. */
#define CHECK_TRUE(expr, what)                                                                  \
        do {                                                                                    \
                _Static_assert(expr, what);                                                     \
                check((expr), what);                                                            \
        } while (0)

#define CHECK_SIZE(type, size) CHECK_TRUE(sizeof(type) == (size), "sizeof(" #type ") == " #size)

#define CHECK_OFFSET(type, member, off) \
        CHECK_TRUE(offsetof(type, member) == (off), "offsetof(" #type ", " #member ") == " #off)

/* Compares the 32-bit pattern, so that negative SECURITY_STATUS values compare with their hex form. */
#define CHECK_U32(expr, value) \
        CHECK_TRUE((uint32_t) (expr) == (uint32_t) (value), #expr " == " #value)

#define CHECK_U64(expr, value) \
        CHECK_TRUE((uint64_t) (expr) == (uint64_t) (value), #expr " == " #value)

/* The constant has exactly the given type. */
#define CHECK_TYPE(expr, type) \
        CHECK_TRUE(_Generic((expr), type: 1, default: 0), #expr " has type " #type)

static void test_basic_types(void) {
        CHECK_SIZE(SEC_WCHAR, 2);
        CHECK_SIZE(SEC_CHAR, 1);
        CHECK_SIZE(ULONG, 4);
        CHECK_SIZE(LONG, 4);
        CHECK_SIZE(DWORD, 4);
        CHECK_SIZE(USHORT, 2);
        CHECK_SIZE(UCHAR, 1);
        CHECK_SIZE(BOOLEAN, 1);
        CHECK_SIZE(ULONG_PTR, 8);
        CHECK_SIZE(ALG_ID, 4);
        CHECK_SIZE(SECURITY_STATUS, 4);
        CHECK_SIZE(NTSTATUS, 4);
        CHECK_SIZE(TimeStamp, 8);
        CHECK_SIZE(SECURITY_INTEGER, 8);
        CHECK_SIZE(LARGE_INTEGER, 8);
        CHECK_SIZE(LUID, 8);
        CHECK_OFFSET(LUID, HighPart, 4);
        /* LARGE_INTEGER-shaped, as TimeStamp is on Windows x64 whenever winnt.h is in scope. */
        CHECK_TRUE(_Alignof(TimeStamp) == 8, "_Alignof(TimeStamp) == 8");
        CHECK_OFFSET(TimeStamp, LowPart, 0);
        CHECK_OFFSET(TimeStamp, HighPart, 4);
        CHECK_OFFSET(TimeStamp, u.HighPart, 4);
        CHECK_OFFSET(TimeStamp, QuadPart, 0);
        CHECK_TYPE((SECURITY_STATUS) 0, int32_t);
        CHECK_TYPE((SEC_WCHAR) 0, uint16_t);
        CHECK_TYPE((ULONG) 0, uint32_t);

        TimeStamp ts = { .QuadPart = INT64_C(0x0123456789ABCDEF) };
        check(ts.LowPart == UINT32_C(0x89ABCDEF) && ts.HighPart == 0x01234567 &&
              ts.u.LowPart == UINT32_C(0x89ABCDEF),
              "TimeStamp QuadPart reads back as LowPart/HighPart (little endian)");
}

static void test_handles(void) {
        CHECK_SIZE(SecHandle, 16);
        CHECK_SIZE(CredHandle, 16);
        CHECK_SIZE(CtxtHandle, 16);
        CHECK_OFFSET(SecHandle, dwLower, 0);
        CHECK_OFFSET(SecHandle, dwUpper, 8);

        CtxtHandle h = { .dwLower = 1, .dwUpper = 2 };
        check(SecIsValidHandle(&h), "SecIsValidHandle() on a filled handle");
        SecInvalidateHandle(&h);
        check(h.dwLower == UINTPTR_MAX && h.dwUpper == UINTPTR_MAX,
              "SecInvalidateHandle() sets both words to (ULONG_PTR) -1");
        check(!SecIsValidHandle(&h), "!SecIsValidHandle() after SecInvalidateHandle()");
        h.dwLower = 7;
        check(!SecIsValidHandle(&h), "!SecIsValidHandle() when dwUpper is -1");
        CHECK_TRUE(SEC_DELETED_HANDLE == (uintptr_t) -2, "SEC_DELETED_HANDLE == (ULONG_PTR) -2");
}

static void test_buffers(void) {
        CHECK_SIZE(SecBuffer, 16);
        CHECK_OFFSET(SecBuffer, cbBuffer, 0);
        CHECK_OFFSET(SecBuffer, BufferType, 4);
        CHECK_OFFSET(SecBuffer, pvBuffer, 8);

        CHECK_SIZE(SecBufferDesc, 16);
        CHECK_OFFSET(SecBufferDesc, ulVersion, 0);
        CHECK_OFFSET(SecBufferDesc, cBuffers, 4);
        CHECK_OFFSET(SecBufferDesc, pBuffers, 8);
}

static void test_pkg_info(void) {
        CHECK_SIZE(SecPkgInfoW, 32);
        CHECK_OFFSET(SecPkgInfoW, fCapabilities, 0);
        CHECK_OFFSET(SecPkgInfoW, wVersion, 4);
        CHECK_OFFSET(SecPkgInfoW, wRPCID, 6);
        CHECK_OFFSET(SecPkgInfoW, cbMaxToken, 8);
        CHECK_OFFSET(SecPkgInfoW, Name, 16);
        CHECK_OFFSET(SecPkgInfoW, Comment, 24);

        CHECK_SIZE(SecPkgInfoA, 32);
        CHECK_OFFSET(SecPkgInfoA, fCapabilities, 0);
        CHECK_OFFSET(SecPkgInfoA, wVersion, 4);
        CHECK_OFFSET(SecPkgInfoA, wRPCID, 6);
        CHECK_OFFSET(SecPkgInfoA, cbMaxToken, 8);
        CHECK_OFFSET(SecPkgInfoA, Name, 16);
        CHECK_OFFSET(SecPkgInfoA, Comment, 24);
}

static void test_identities(void) {
        CHECK_SIZE(SEC_WINNT_AUTH_IDENTITY_W, 48);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, User, 0);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, UserLength, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, Domain, 16);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, DomainLength, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, Password, 32);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, PasswordLength, 40);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_W, Flags, 44);

        CHECK_SIZE(SEC_WINNT_AUTH_IDENTITY_A, 48);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, User, 0);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, UserLength, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, Domain, 16);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, DomainLength, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, Password, 32);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, PasswordLength, 40);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_A, Flags, 44);

        CHECK_SIZE(SEC_WINNT_AUTH_IDENTITY_EXW, 72);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, Version, 0);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, Length, 4);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, User, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, UserLength, 16);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, Domain, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, DomainLength, 32);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, Password, 40);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, PasswordLength, 48);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, Flags, 52);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, PackageList, 56);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXW, PackageListLength, 64);

        CHECK_SIZE(SEC_WINNT_AUTH_IDENTITY_EXA, 72);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, Version, 0);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, Length, 4);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, User, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, UserLength, 16);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, Domain, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, DomainLength, 32);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, Password, 40);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, PasswordLength, 48);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, Flags, 52);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, PackageList, 56);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EXA, PackageListLength, 64);

        CHECK_SIZE(SEC_WINNT_AUTH_IDENTITY_EX2, 48);
        CHECK_TRUE(_Alignof(SEC_WINNT_AUTH_IDENTITY_EX2) == 4, "_Alignof(SEC_WINNT_AUTH_IDENTITY_EX2) == 4");
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, Version, 0);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, cbHeaderLength, 4);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, cbStructureLength, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, UserOffset, 12);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, UserLength, 16);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, DomainOffset, 20);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, DomainLength, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, PackedCredentialsOffset, 28);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, PackedCredentialsLength, 32);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, Flags, 36);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, PackageListOffset, 40);
        CHECK_OFFSET(SEC_WINNT_AUTH_IDENTITY_EX2, PackageListLength, 44);

        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_ANSI, 0x1);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_UNICODE, 0x2);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_VERSION, 0x200);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_VERSION_2, 0x201);
}

static void test_context_attributes(void) {
        /* SetCredentialsAttributes(KDC_PROXY_SETTINGS), ChangeAccountPassword's response. */
        CHECK_SIZE(SecPkgCredentials_KdcProxySettingsW, 16);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, Version, 0);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, Flags, 4);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, ProxyServerOffset, 8);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, ProxyServerLength, 10);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, ClientTlsCredOffset, 12);
        CHECK_OFFSET(SecPkgCredentials_KdcProxySettingsW, ClientTlsCredLength, 14);
        CHECK_TRUE(KDC_PROXY_SETTINGS_V1 == 1 && KDC_PROXY_SETTINGS_FLAGS_FORCEPROXY == 1, "KDC_PROXY_SETTINGS_*");
        /* Set/QueryCredentialsAttributes(Ex) on Schannel (Windows x64). */
        CHECK_SIZE(SecPkgCred_SupportedProtocols, 4);
        CHECK_SIZE(SecPkgCred_CipherStrengths, 8);
        CHECK_OFFSET(SecPkgCred_CipherStrengths, dwMaximumCipherStrength, 4);
        CHECK_SIZE(SecPkgCred_SupportedAlgs, 16);
        CHECK_OFFSET(SecPkgCred_SupportedAlgs, palgSupportedAlgs, 8);
        CHECK_U32(SECPKG_ATTR_SUPPORTED_ALGS, 86);
        CHECK_U32(SECPKG_ATTR_CIPHER_STRENGTHS, 87);
        CHECK_U32(SECPKG_ATTR_SUPPORTED_PROTOCOLS, 88);
        CHECK_SIZE(DOMAIN_PASSWORD_INFORMATION, 24);
        CHECK_OFFSET(DOMAIN_PASSWORD_INFORMATION, MinPasswordLength, 0);
        CHECK_OFFSET(DOMAIN_PASSWORD_INFORMATION, PasswordHistoryLength, 2);
        CHECK_OFFSET(DOMAIN_PASSWORD_INFORMATION, PasswordProperties, 4);
        CHECK_OFFSET(DOMAIN_PASSWORD_INFORMATION, MaxPasswordAge, 8);
        CHECK_OFFSET(DOMAIN_PASSWORD_INFORMATION, MinPasswordAge, 16);
        CHECK_TRUE(SECBUFFER_CHANGE_PASS_RESPONSE == 15, "SECBUFFER_CHANGE_PASS_RESPONSE");

        CHECK_SIZE(SecPkgContext_Sizes, 16);
        CHECK_OFFSET(SecPkgContext_Sizes, cbMaxToken, 0);
        CHECK_OFFSET(SecPkgContext_Sizes, cbMaxSignature, 4);
        CHECK_OFFSET(SecPkgContext_Sizes, cbBlockSize, 8);
        CHECK_OFFSET(SecPkgContext_Sizes, cbSecurityTrailer, 12);

        CHECK_SIZE(SecPkgContext_StreamSizes, 20);
        CHECK_SIZE(SecPkgContext_DatagramSizes, 20);
        CHECK_SIZE(SEC_DTLS_MTU, 2); /* sspi.h: unsigned short PathMTU */
        CHECK_OFFSET(SecPkgContext_StreamSizes, cbHeader, 0);
        CHECK_OFFSET(SecPkgContext_StreamSizes, cbTrailer, 4);
        CHECK_OFFSET(SecPkgContext_StreamSizes, cbMaximumMessage, 8);
        CHECK_OFFSET(SecPkgContext_StreamSizes, cBuffers, 12);
        CHECK_OFFSET(SecPkgContext_StreamSizes, cbBlockSize, 16);

        CHECK_SIZE(SecPkgContext_NamesW, 8);
        CHECK_SIZE(SecPkgContext_NamesA, 8);

        CHECK_SIZE(SecPkgContext_Lifespan, 16);
        CHECK_OFFSET(SecPkgContext_Lifespan, tsStart, 0);
        CHECK_OFFSET(SecPkgContext_Lifespan, tsExpiry, 8);

        CHECK_SIZE(SecPkgContext_SessionKey, 16);
        CHECK_OFFSET(SecPkgContext_SessionKey, SessionKeyLength, 0);
        CHECK_OFFSET(SecPkgContext_SessionKey, SessionKey, 8);

        CHECK_SIZE(SecPkgContext_PackageInfoW, 8);
        CHECK_SIZE(SecPkgContext_PackageInfoA, 8);

        CHECK_SIZE(SecPkgContext_NegotiationInfoW, 16);
        CHECK_OFFSET(SecPkgContext_NegotiationInfoW, PackageInfo, 0);
        CHECK_OFFSET(SecPkgContext_NegotiationInfoW, NegotiationState, 8);
        CHECK_SIZE(SecPkgContext_NegotiationInfoA, 16);
        CHECK_OFFSET(SecPkgContext_NegotiationInfoA, PackageInfo, 0);
        CHECK_OFFSET(SecPkgContext_NegotiationInfoA, NegotiationState, 8);

        CHECK_SIZE(SecPkgContext_Flags, 4);

        CHECK_SIZE(SecPkgContext_Bindings, 16);
        CHECK_OFFSET(SecPkgContext_Bindings, BindingsLength, 0);
        CHECK_OFFSET(SecPkgContext_Bindings, Bindings, 8);

        /* Windows SDK sspi.h: SEC_CHANNEL_BINDINGS_EX ('XEBC'), SEC_CHANNEL_BINDINGS_RESULT. */
        CHECK_SIZE(SEC_CHANNEL_BINDINGS_EX, 48);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS_EX, flags, 4);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS_EX, cbStructureLength, 12);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS_EX, dwInitiatorAddrType, 16);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS_EX, dwApplicationDataOffset, 44);
        CHECK_SIZE(SEC_CHANNEL_BINDINGS_RESULT, 4);
        CHECK_SIZE(SEC_CHANNEL_BINDINGS, 32);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, dwInitiatorAddrType, 0);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, cbInitiatorLength, 4);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, dwInitiatorOffset, 8);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, dwAcceptorAddrType, 12);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, cbAcceptorLength, 16);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, dwAcceptorOffset, 20);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, cbApplicationDataLength, 24);
        CHECK_OFFSET(SEC_CHANNEL_BINDINGS, dwApplicationDataOffset, 28);

        CHECK_SIZE(SecPkgContext_ApplicationProtocol, 264);
        CHECK_OFFSET(SecPkgContext_ApplicationProtocol, ProtoNegoStatus, 0);
        CHECK_OFFSET(SecPkgContext_ApplicationProtocol, ProtoNegoExt, 4);
        CHECK_OFFSET(SecPkgContext_ApplicationProtocol, ProtocolIdSize, 8);
        CHECK_OFFSET(SecPkgContext_ApplicationProtocol, ProtocolId, 9);

        /* Variable-length: only the header is fixed. */
        CHECK_OFFSET(SEC_APPLICATION_PROTOCOL_LIST, ProtoNegoExt, 0);
        CHECK_OFFSET(SEC_APPLICATION_PROTOCOL_LIST, ProtocolListSize, 4);
        CHECK_OFFSET(SEC_APPLICATION_PROTOCOL_LIST, ProtocolList, 6);
        CHECK_OFFSET(SEC_APPLICATION_PROTOCOLS, ProtocolListsSize, 0);
        CHECK_OFFSET(SEC_APPLICATION_PROTOCOLS, ProtocolLists, 4);

        CHECK_SIZE(SecPkgContext_ConnectionInfo, 28);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, dwProtocol, 0);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, aiCipher, 4);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, dwCipherStrength, 8);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, aiHash, 12);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, dwHashStrength, 16);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, aiExch, 20);
        CHECK_OFFSET(SecPkgContext_ConnectionInfo, dwExchStrength, 24);

        /* Issue 17 item 6 (Windows SDK schannel.h / sspi.h, x64). */
        CHECK_SIZE(SecPkgContext_ConnectionInfoEx, 404);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, dwVersion, 0);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, dwProtocol, 4);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, szCipher, 8);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, dwCipherStrength, 136);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, szHash, 140);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, dwHashStrength, 268);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, szExchange, 272);
        CHECK_OFFSET(SecPkgContext_ConnectionInfoEx, dwExchStrength, 400);
        CHECK_SIZE(SecPkgContext_SupportedSignatures, 16);
        CHECK_OFFSET(SecPkgContext_SupportedSignatures, cSignatureAndHashAlgorithms, 0);
        CHECK_OFFSET(SecPkgContext_SupportedSignatures, pSignatureAndHashAlgorithms, 8);
        CHECK_SIZE(SecPkgContext_CertificateValidationResult, 8);
        CHECK_OFFSET(SecPkgContext_CertificateValidationResult, dwChainErrorStatus, 0);
        CHECK_OFFSET(SecPkgContext_CertificateValidationResult, hrVerifyChainStatus, 4);
        CHECK_SIZE(SecPkgContext_SessionAppData, 16);
        CHECK_OFFSET(SecPkgContext_SessionAppData, dwFlags, 0);
        CHECK_OFFSET(SecPkgContext_SessionAppData, cbAppData, 4);
        CHECK_OFFSET(SecPkgContext_SessionAppData, pbAppData, 8);
        /* Microsoft's schannel.h pages: SecPkgContext_EapKeyBlock, _EapPrfInfo, _EarlyStart. */
        CHECK_SIZE(SecPkgContext_EapKeyBlock, 192);
        CHECK_OFFSET(SecPkgContext_EapKeyBlock, rgbIVs, 128);
        CHECK_SIZE(SecPkgContext_EapPrfInfo, 16);
        CHECK_OFFSET(SecPkgContext_EapPrfInfo, cbPrfData, 4);
        CHECK_OFFSET(SecPkgContext_EapPrfInfo, pbPrfData, 8);
        CHECK_SIZE(SecPkgContext_EarlyStart, 4);
        CHECK_SIZE(SecPkgContext_KeyingMaterialInfo, 40);
        CHECK_OFFSET(SecPkgContext_KeyingMaterialInfo, cbLabel, 0);
        CHECK_OFFSET(SecPkgContext_KeyingMaterialInfo, pszLabel, 8);
        CHECK_OFFSET(SecPkgContext_KeyingMaterialInfo, cbContextValue, 16);
        CHECK_OFFSET(SecPkgContext_KeyingMaterialInfo, pbContextValue, 24);
        CHECK_OFFSET(SecPkgContext_KeyingMaterialInfo, cbKeyingMaterial, 32);
        CHECK_SIZE(SecPkgContext_KeyingMaterial, 16);
        CHECK_OFFSET(SecPkgContext_KeyingMaterial, cbKeyingMaterial, 0);
        CHECK_OFFSET(SecPkgContext_KeyingMaterial, pbKeyingMaterial, 8);
        CHECK_SIZE(SecPkgContext_LastClientTokenStatus, 4);
        CHECK_U32(SecPkgAttrLastClientTokenYes, 0);
        CHECK_U32(SecPkgAttrLastClientTokenNo, 1);
        CHECK_U32(SecPkgAttrLastClientTokenMaybe, 2);
        CHECK_SIZE(SecPkgContext_NegoPackageInfo, 4);
        CHECK_SIZE(SecPkgContext_NegoStatus, 4);
        CHECK_SIZE(SecPkgContext_ClientSpecifiedTarget, 8);
        CHECK_SIZE(SecPkgContext_AuthorityW, 8);
        CHECK_U32(SECPKGCONTEXT_CONNECTION_INFO_EX_V1, 1);

        CHECK_SIZE(SecPkgContext_SessionInfo, 40);
        CHECK_OFFSET(SecPkgContext_SessionInfo, dwFlags, 0);
        CHECK_OFFSET(SecPkgContext_SessionInfo, cbSessionId, 4);
        CHECK_OFFSET(SecPkgContext_SessionInfo, rgbSessionId, 8);

        CHECK_SIZE(SEC_NEGOTIATION_INFO, 24);
        CHECK_OFFSET(SEC_NEGOTIATION_INFO, Size, 0);
        CHECK_OFFSET(SEC_NEGOTIATION_INFO, NameLength, 4);
        CHECK_OFFSET(SEC_NEGOTIATION_INFO, Name, 8);
        CHECK_OFFSET(SEC_NEGOTIATION_INFO, Reserved, 16);

        CHECK_SIZE(SEC_FLAGS, 8);

        CHECK_SIZE(SCHANNEL_ALERT_TOKEN, 12);
        CHECK_SIZE(SCHANNEL_SESSION_TOKEN, 8);

        /* SspiGetTokenInformation's structures: winnt.h on x64 (MS-DTYP 2.4.2
         * for SID; pointers 8 bytes, DWORDs 4, natural alignment). */
        CHECK_SIZE(SID_IDENTIFIER_AUTHORITY, 6);
        CHECK_SIZE(SID, 12);
        CHECK_OFFSET(SID, Revision, 0);
        CHECK_OFFSET(SID, SubAuthorityCount, 1);
        CHECK_OFFSET(SID, IdentifierAuthority, 2);
        CHECK_OFFSET(SID, SubAuthority, 8);
        CHECK_SIZE(SID_AND_ATTRIBUTES, 16);
        CHECK_OFFSET(SID_AND_ATTRIBUTES, Sid, 0);
        CHECK_OFFSET(SID_AND_ATTRIBUTES, Attributes, 8);
        CHECK_SIZE(TOKEN_USER, 16);
        CHECK_SIZE(TOKEN_GROUPS, 24);
        CHECK_OFFSET(TOKEN_GROUPS, GroupCount, 0);
        CHECK_OFFSET(TOKEN_GROUPS, Groups, 8);
        CHECK_SIZE(TOKEN_PRIMARY_GROUP, 8);
        CHECK_U32(TokenUser, 1);
        CHECK_U32(TokenGroups, 2);
        CHECK_U32(TokenPrimaryGroup, 5);
        CHECK_U32(SE_GROUP_MANDATORY, 0x1);
        CHECK_U32(SE_GROUP_ENABLED_BY_DEFAULT, 0x2);
        CHECK_U32(SE_GROUP_ENABLED, 0x4);
        CHECK_U32(SE_GROUP_RESOURCE, 0x20000000);
        CHECK_U32(SE_GROUP_LOGON_ID, 0xC0000000);
        CHECK_U32(SECURITY_MAX_SID_SIZE, 68);
        CHECK_U32(RPC_C_AUTHZ_NONE, 0);
        CHECK_U32(RPC_C_AUTHZ_NAME, 1);
        CHECK_SIZE(SecPkgContext_DceInfo, 16);
        CHECK_OFFSET(SecPkgContext_DceInfo, AuthzSvc, 0);
        CHECK_OFFSET(SecPkgContext_DceInfo, pPac, 8);

        /* The facts list only the fields of these; the values follow from natural x86_64 alignment. */
        CHECK_SIZE(SecPkgContext_NativeNamesW, 16);
        CHECK_OFFSET(SecPkgContext_NativeNamesW, sServerName, 8);
        CHECK_SIZE(SecPkgContext_NativeNamesA, 16);
        CHECK_OFFSET(SecPkgContext_NativeNamesA, sServerName, 8);
        CHECK_SIZE(SecPkgContext_KeyInfoW, 32);
        CHECK_OFFSET(SecPkgContext_KeyInfoW, KeySize, 16);
        CHECK_OFFSET(SecPkgContext_KeyInfoW, EncryptAlgorithm, 24);
        CHECK_SIZE(SecPkgContext_KeyInfoA, 32);
        CHECK_SIZE(SecPkgContext_AuthorityW, 8);
        CHECK_SIZE(SecPkgContext_AuthorityA, 8);
        CHECK_SIZE(SecPkgContext_PasswordExpiry, 8);
        CHECK_SIZE(SecPkgContext_CredentialNameW, 16);
        CHECK_OFFSET(SecPkgContext_CredentialNameW, sCredentialName, 8);
        CHECK_SIZE(SecPkgContext_CredentialNameA, 16);
        CHECK_SIZE(SecPkgCredentials_NamesW, 8);
        CHECK_SIZE(SecPkgCredentials_NamesA, 8);
}

static void test_function_tables(void) {
        CHECK_SIZE(SecurityFunctionTableW, 256);
        CHECK_OFFSET(SecurityFunctionTableW, dwVersion, 0);
        CHECK_OFFSET(SecurityFunctionTableW, EnumerateSecurityPackagesW, 8 * 1);
        CHECK_OFFSET(SecurityFunctionTableW, QueryCredentialsAttributesW, 8 * 2);
        CHECK_OFFSET(SecurityFunctionTableW, AcquireCredentialsHandleW, 8 * 3);
        CHECK_OFFSET(SecurityFunctionTableW, FreeCredentialsHandle, 8 * 4);
        CHECK_OFFSET(SecurityFunctionTableW, Reserved2, 8 * 5);
        CHECK_OFFSET(SecurityFunctionTableW, InitializeSecurityContextW, 8 * 6);
        CHECK_OFFSET(SecurityFunctionTableW, AcceptSecurityContext, 8 * 7);
        CHECK_OFFSET(SecurityFunctionTableW, CompleteAuthToken, 8 * 8);
        CHECK_OFFSET(SecurityFunctionTableW, DeleteSecurityContext, 8 * 9);
        CHECK_OFFSET(SecurityFunctionTableW, ApplyControlToken, 8 * 10);
        CHECK_OFFSET(SecurityFunctionTableW, QueryContextAttributesW, 8 * 11);
        CHECK_OFFSET(SecurityFunctionTableW, ImpersonateSecurityContext, 8 * 12);
        CHECK_OFFSET(SecurityFunctionTableW, RevertSecurityContext, 8 * 13);
        CHECK_OFFSET(SecurityFunctionTableW, MakeSignature, 8 * 14);
        CHECK_OFFSET(SecurityFunctionTableW, VerifySignature, 8 * 15);
        CHECK_OFFSET(SecurityFunctionTableW, FreeContextBuffer, 8 * 16);
        CHECK_OFFSET(SecurityFunctionTableW, QuerySecurityPackageInfoW, 8 * 17);
        CHECK_OFFSET(SecurityFunctionTableW, Reserved3, 8 * 18);
        CHECK_OFFSET(SecurityFunctionTableW, Reserved4, 8 * 19);
        CHECK_OFFSET(SecurityFunctionTableW, ExportSecurityContext, 8 * 20);
        CHECK_OFFSET(SecurityFunctionTableW, ImportSecurityContextW, 8 * 21);
        CHECK_OFFSET(SecurityFunctionTableW, AddCredentialsW, 8 * 22);
        CHECK_OFFSET(SecurityFunctionTableW, Reserved8, 8 * 23);
        CHECK_OFFSET(SecurityFunctionTableW, QuerySecurityContextToken, 8 * 24);
        CHECK_OFFSET(SecurityFunctionTableW, EncryptMessage, 8 * 25);
        CHECK_OFFSET(SecurityFunctionTableW, DecryptMessage, 8 * 26);
        CHECK_OFFSET(SecurityFunctionTableW, SetContextAttributesW, 8 * 27);
        CHECK_OFFSET(SecurityFunctionTableW, SetCredentialsAttributesW, 8 * 28);
        CHECK_OFFSET(SecurityFunctionTableW, ChangeAccountPasswordW, 8 * 29);
        CHECK_OFFSET(SecurityFunctionTableW, QueryContextAttributesExW, 8 * 30);
        CHECK_OFFSET(SecurityFunctionTableW, QueryCredentialsAttributesExW, 8 * 31);

        CHECK_SIZE(SecurityFunctionTableA, 256);
        CHECK_OFFSET(SecurityFunctionTableA, dwVersion, 0);
        CHECK_OFFSET(SecurityFunctionTableA, EnumerateSecurityPackagesA, 8 * 1);
        CHECK_OFFSET(SecurityFunctionTableA, QueryCredentialsAttributesA, 8 * 2);
        CHECK_OFFSET(SecurityFunctionTableA, AcquireCredentialsHandleA, 8 * 3);
        CHECK_OFFSET(SecurityFunctionTableA, FreeCredentialHandle, 8 * 4);
        CHECK_OFFSET(SecurityFunctionTableA, FreeCredentialsHandle, 8 * 4);
        CHECK_OFFSET(SecurityFunctionTableA, Reserved2, 8 * 5);
        CHECK_OFFSET(SecurityFunctionTableA, InitializeSecurityContextA, 8 * 6);
        CHECK_OFFSET(SecurityFunctionTableA, AcceptSecurityContext, 8 * 7);
        CHECK_OFFSET(SecurityFunctionTableA, CompleteAuthToken, 8 * 8);
        CHECK_OFFSET(SecurityFunctionTableA, DeleteSecurityContext, 8 * 9);
        CHECK_OFFSET(SecurityFunctionTableA, ApplyControlToken, 8 * 10);
        CHECK_OFFSET(SecurityFunctionTableA, QueryContextAttributesA, 8 * 11);
        CHECK_OFFSET(SecurityFunctionTableA, ImpersonateSecurityContext, 8 * 12);
        CHECK_OFFSET(SecurityFunctionTableA, RevertSecurityContext, 8 * 13);
        CHECK_OFFSET(SecurityFunctionTableA, MakeSignature, 8 * 14);
        CHECK_OFFSET(SecurityFunctionTableA, VerifySignature, 8 * 15);
        CHECK_OFFSET(SecurityFunctionTableA, FreeContextBuffer, 8 * 16);
        CHECK_OFFSET(SecurityFunctionTableA, QuerySecurityPackageInfoA, 8 * 17);
        CHECK_OFFSET(SecurityFunctionTableA, Reserved3, 8 * 18);
        CHECK_OFFSET(SecurityFunctionTableA, Reserved4, 8 * 19);
        CHECK_OFFSET(SecurityFunctionTableA, ExportSecurityContext, 8 * 20);
        CHECK_OFFSET(SecurityFunctionTableA, ImportSecurityContextA, 8 * 21);
        CHECK_OFFSET(SecurityFunctionTableA, AddCredentialsA, 8 * 22);
        CHECK_OFFSET(SecurityFunctionTableA, Reserved8, 8 * 23);
        CHECK_OFFSET(SecurityFunctionTableA, QuerySecurityContextToken, 8 * 24);
        CHECK_OFFSET(SecurityFunctionTableA, EncryptMessage, 8 * 25);
        CHECK_OFFSET(SecurityFunctionTableA, DecryptMessage, 8 * 26);
        CHECK_OFFSET(SecurityFunctionTableA, SetContextAttributesA, 8 * 27);
        CHECK_OFFSET(SecurityFunctionTableA, SetCredentialsAttributesA, 8 * 28);
        CHECK_OFFSET(SecurityFunctionTableA, ChangeAccountPasswordA, 8 * 29);
        CHECK_OFFSET(SecurityFunctionTableA, QueryContextAttributesExA, 8 * 30);
        CHECK_OFFSET(SecurityFunctionTableA, QueryCredentialsAttributesExA, 8 * 31);

        CHECK_U32(SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION, 1);
        CHECK_U32(SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_5, 5);
}

/* Every prototype has the type of its table slot (the operand of _Generic is not evaluated, so nothing
 * here needs the library at link time). */
static void test_prototypes(void) {
        CHECK_TYPE(&EnumerateSecurityPackagesW, ENUMERATE_SECURITY_PACKAGES_FN_W);
        CHECK_TYPE(&EnumerateSecurityPackagesA, ENUMERATE_SECURITY_PACKAGES_FN_A);
        CHECK_TYPE(&QueryCredentialsAttributesW, QUERY_CREDENTIALS_ATTRIBUTES_FN_W);
        CHECK_TYPE(&QueryCredentialsAttributesA, QUERY_CREDENTIALS_ATTRIBUTES_FN_A);
        CHECK_TYPE(&AcquireCredentialsHandleW, ACQUIRE_CREDENTIALS_HANDLE_FN_W);
        CHECK_TYPE(&AcquireCredentialsHandleA, ACQUIRE_CREDENTIALS_HANDLE_FN_A);
        CHECK_TYPE(&FreeCredentialsHandle, FREE_CREDENTIALS_HANDLE_FN);
        CHECK_TYPE(&InitializeSecurityContextW, INITIALIZE_SECURITY_CONTEXT_FN_W);
        CHECK_TYPE(&InitializeSecurityContextA, INITIALIZE_SECURITY_CONTEXT_FN_A);
        CHECK_TYPE(&AcceptSecurityContext, ACCEPT_SECURITY_CONTEXT_FN);
        CHECK_TYPE(&CompleteAuthToken, COMPLETE_AUTH_TOKEN_FN);
        CHECK_TYPE(&DeleteSecurityContext, DELETE_SECURITY_CONTEXT_FN);
        CHECK_TYPE(&ApplyControlToken, APPLY_CONTROL_TOKEN_FN);
        CHECK_TYPE(&QueryContextAttributesW, QUERY_CONTEXT_ATTRIBUTES_FN_W);
        CHECK_TYPE(&QueryContextAttributesA, QUERY_CONTEXT_ATTRIBUTES_FN_A);
        CHECK_TYPE(&ImpersonateSecurityContext, IMPERSONATE_SECURITY_CONTEXT_FN);
        CHECK_TYPE(&RevertSecurityContext, REVERT_SECURITY_CONTEXT_FN);
        CHECK_TYPE(&MakeSignature, MAKE_SIGNATURE_FN);
        CHECK_TYPE(&VerifySignature, VERIFY_SIGNATURE_FN);
        CHECK_TYPE(&FreeContextBuffer, FREE_CONTEXT_BUFFER_FN);
        CHECK_TYPE(&QuerySecurityPackageInfoW, QUERY_SECURITY_PACKAGE_INFO_FN_W);
        CHECK_TYPE(&QuerySecurityPackageInfoA, QUERY_SECURITY_PACKAGE_INFO_FN_A);
        CHECK_TYPE(&ExportSecurityContext, EXPORT_SECURITY_CONTEXT_FN);
        CHECK_TYPE(&ImportSecurityContextW, IMPORT_SECURITY_CONTEXT_FN_W);
        CHECK_TYPE(&ImportSecurityContextA, IMPORT_SECURITY_CONTEXT_FN_A);
        CHECK_TYPE(&AddCredentialsW, ADD_CREDENTIALS_FN_W);
        CHECK_TYPE(&AddCredentialsA, ADD_CREDENTIALS_FN_A);
        CHECK_TYPE(&QuerySecurityContextToken, QUERY_SECURITY_CONTEXT_TOKEN_FN);
        CHECK_TYPE(&EncryptMessage, ENCRYPT_MESSAGE_FN);
        CHECK_TYPE(&DecryptMessage, DECRYPT_MESSAGE_FN);
        CHECK_TYPE(&SetContextAttributesW, SET_CONTEXT_ATTRIBUTES_FN_W);
        CHECK_TYPE(&SetContextAttributesA, SET_CONTEXT_ATTRIBUTES_FN_A);
        CHECK_TYPE(&SetCredentialsAttributesW, SET_CREDENTIALS_ATTRIBUTES_FN_W);
        CHECK_TYPE(&SetCredentialsAttributesA, SET_CREDENTIALS_ATTRIBUTES_FN_A);
        CHECK_TYPE(&ChangeAccountPasswordW, CHANGE_PASSWORD_FN_W);
        CHECK_TYPE(&ChangeAccountPasswordA, CHANGE_PASSWORD_FN_A);
        CHECK_TYPE(&QueryContextAttributesExW, QUERY_CONTEXT_ATTRIBUTES_EX_FN_W);
        CHECK_TYPE(&QueryContextAttributesExA, QUERY_CONTEXT_ATTRIBUTES_EX_FN_A);
        CHECK_TYPE(&QueryCredentialsAttributesExW, QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_W);
        CHECK_TYPE(&QueryCredentialsAttributesExA, QUERY_CREDENTIALS_ATTRIBUTES_EX_FN_A);
        CHECK_TYPE(&InitSecurityInterfaceW, INIT_SECURITY_INTERFACE_W);
        CHECK_TYPE(&InitSecurityInterfaceA, INIT_SECURITY_INTERFACE_A);

        typedef NTSTATUS (*reinit_fn)(SspiAsyncContext *);
        typedef BOOLEAN (*requires_notify_fn)(SspiAsyncContext *);
        typedef int (*completion_fd_fn)(void);
        CHECK_TYPE(&SspiReinitAsyncContext, reinit_fn);
        CHECK_TYPE(&SspiAsyncContextRequiresNotify, requires_notify_fn);
        CHECK_TYPE(&SspiGetAsyncCompletionFd, completion_fd_fn);
        CHECK_TYPE(&SspiProcessAsyncCompletions, completion_fd_fn);
}

/* UNICODE selects the W forms, otherwise the A forms; the SDK's non-UNICODE
 * SspiInitializeSecurityContextAsync mapping bug is not reproduced. */
static void test_generic_names(void) {
        typedef SECURITY_STATUS (*isc_async_w_fn)(SspiAsyncContext *, PCredHandle, PCtxtHandle, const SEC_WCHAR *,
                                                  ULONG, ULONG, ULONG, PSecBufferDesc, ULONG, PCtxtHandle,
                                                  PSecBufferDesc, ULONG *, PTimeStamp);
        typedef SECURITY_STATUS (*isc_async_a_fn)(SspiAsyncContext *, PCredHandle, PCtxtHandle, const SEC_CHAR *,
                                                  ULONG, ULONG, ULONG, PSecBufferDesc, ULONG, PCtxtHandle,
                                                  PSecBufferDesc, ULONG *, PTimeStamp);
        typedef SECURITY_STATUS (*ach_async_w_fn)(SspiAsyncContext *, const SEC_WCHAR *, const SEC_WCHAR *, ULONG,
                                                  void *, void *, SEC_GET_KEY_FN, void *, PCredHandle, PTimeStamp);
        typedef SECURITY_STATUS (*ach_async_a_fn)(SspiAsyncContext *, const SEC_CHAR *, const SEC_CHAR *, ULONG,
                                                  void *, void *, SEC_GET_KEY_FN, void *, PCredHandle, PTimeStamp);

        CHECK_TYPE(&SspiInitializeSecurityContextAsyncW, isc_async_w_fn);
        CHECK_TYPE(&SspiInitializeSecurityContextAsyncA, isc_async_a_fn);
        CHECK_TYPE(&SspiAcquireCredentialsHandleAsyncW, ach_async_w_fn);
        CHECK_TYPE(&SspiAcquireCredentialsHandleAsyncA, ach_async_a_fn);

#ifdef UNICODE
        CHECK_TYPE((SecPkgInfo *) NULL, SecPkgInfoW *);
        CHECK_TYPE((SEC_WINNT_AUTH_IDENTITY *) NULL, SEC_WINNT_AUTH_IDENTITY_W *);
        CHECK_TYPE((SecPkgContext_Names *) NULL, SecPkgContext_NamesW *);
        CHECK_TYPE((SecPkgContext_NegotiationInfo *) NULL, SecPkgContext_NegotiationInfoW *);
        CHECK_TYPE((SecurityFunctionTable *) NULL, SecurityFunctionTableW *);
        CHECK_TYPE(&AcquireCredentialsHandle, ACQUIRE_CREDENTIALS_HANDLE_FN_W);
        CHECK_TYPE(&InitializeSecurityContext, INITIALIZE_SECURITY_CONTEXT_FN_W);
        CHECK_TYPE(&SspiInitializeSecurityContextAsync, isc_async_w_fn);
        CHECK_TYPE(&SspiAcquireCredentialsHandleAsync, ach_async_w_fn);
        CHECK_TYPE(NEGOSSP_NAME, const SEC_WCHAR *);
#else
        CHECK_TYPE((SecPkgInfo *) NULL, SecPkgInfoA *);
        CHECK_TYPE((SEC_WINNT_AUTH_IDENTITY *) NULL, SEC_WINNT_AUTH_IDENTITY_A *);
        CHECK_TYPE((SecPkgContext_Names *) NULL, SecPkgContext_NamesA *);
        CHECK_TYPE((SecPkgContext_NegotiationInfo *) NULL, SecPkgContext_NegotiationInfoA *);
        CHECK_TYPE((SecurityFunctionTable *) NULL, SecurityFunctionTableA *);
        CHECK_TYPE(&AcquireCredentialsHandle, ACQUIRE_CREDENTIALS_HANDLE_FN_A);
        CHECK_TYPE(&InitializeSecurityContext, INITIALIZE_SECURITY_CONTEXT_FN_A);
        CHECK_TYPE(&SspiInitializeSecurityContextAsync, isc_async_a_fn);
        CHECK_TYPE(&SspiAcquireCredentialsHandleAsync, ach_async_a_fn);
        CHECK_TYPE(NEGOSSP_NAME, char *);
#endif
}

static bool u16_equals_ascii(const SEC_WCHAR *w, const char *a) {
        for (;; w++, a++) {
                if (*w != (SEC_WCHAR) (unsigned char) *a)
                        return false;
                if (*a == '\0')
                        return true;
        }
}

static void test_package_names(void) {
        check(u16_equals_ascii(NEGOSSP_NAME_W, NEGOSSP_NAME_A), "NEGOSSP_NAME_W is u\"Negotiate\"");
        check(u16_equals_ascii(MICROSOFT_KERBEROS_NAME_W, "Kerberos"), "MICROSOFT_KERBEROS_NAME_W is u\"Kerberos\"");
        check(u16_equals_ascii(NTLMSP_NAME_W, "NTLM"), "NTLMSP_NAME_W is u\"NTLM\"");
        check(u16_equals_ascii(WDIGEST_SP_NAME_W, "WDigest"), "WDIGEST_SP_NAME_W is u\"WDigest\"");
        check(u16_equals_ascii(UNISP_NAME_W, "Microsoft Unified Security Protocol Provider"),
              "UNISP_NAME_W is u\"Microsoft Unified Security Protocol Provider\"");
        check(u16_equals_ascii(SCHANNEL_NAME_W, "Schannel"), "SCHANNEL_NAME_W is u\"Schannel\"");
        CHECK_TRUE(sizeof(NEGOSSP_NAME_A) == 10, "sizeof(NEGOSSP_NAME_A) == 10");
}

static void test_status_codes(void) {
        CHECK_TYPE(SEC_E_OK, int32_t);
        CHECK_TYPE(SEC_E_INVALID_HANDLE, int32_t);
        CHECK_TYPE(SEC_I_ASYNC_CALL_PENDING, int32_t);
        CHECK_TYPE(STATUS_INVALID_PARAMETER, int32_t);

        CHECK_U32(SEC_E_OK, 0x00000000);
        CHECK_U32(SEC_I_CONTINUE_NEEDED, 0x00090312);
        CHECK_U32(SEC_I_COMPLETE_NEEDED, 0x00090313);
        CHECK_U32(SEC_I_COMPLETE_AND_CONTINUE, 0x00090314);
        CHECK_U32(SEC_I_CONTEXT_EXPIRED, 0x00090317);
        CHECK_U32(SEC_I_INCOMPLETE_CREDENTIALS, 0x00090320);
        CHECK_U32(SEC_I_RENEGOTIATE, 0x00090321);
        CHECK_U32(SEC_I_NO_RENEGOTIATION, 0x00090360);
        CHECK_U32(SEC_I_ASYNC_CALL_PENDING, 0x00090368);
        CHECK_U32(SEC_E_INSUFFICIENT_MEMORY, 0x80090300);
        CHECK_U32(SEC_E_INVALID_HANDLE, 0x80090301);
        CHECK_U32(SEC_E_UNSUPPORTED_FUNCTION, 0x80090302);
        CHECK_U32(SEC_E_NOT_SUPPORTED, 0x80090302);
        CHECK_U32(SEC_E_TARGET_UNKNOWN, 0x80090303);
        CHECK_U32(SEC_E_INTERNAL_ERROR, 0x80090304);
        CHECK_U32(SEC_E_NO_SPM, 0x80090304);
        CHECK_U32(SEC_E_SECPKG_NOT_FOUND, 0x80090305);
        CHECK_U32(SEC_E_NOT_OWNER, 0x80090306);
        CHECK_U32(SEC_E_INVALID_TOKEN, 0x80090308);
        CHECK_U32(SEC_E_QOP_NOT_SUPPORTED, 0x8009030A);
        CHECK_U32(SEC_E_NO_IMPERSONATION, 0x8009030B);
        CHECK_U32(SEC_E_LOGON_DENIED, 0x8009030C);
        CHECK_U32(SEC_E_UNKNOWN_CREDENTIALS, 0x8009030D);
        CHECK_U32(SEC_E_NO_CREDENTIALS, 0x8009030E);
        CHECK_U32(SEC_E_MESSAGE_ALTERED, 0x8009030F);
        CHECK_U32(SEC_E_OUT_OF_SEQUENCE, 0x80090310);
        CHECK_U32(SEC_E_NO_AUTHENTICATING_AUTHORITY, 0x80090311);
        CHECK_U32(SEC_E_CONTEXT_EXPIRED, 0x80090317);
        CHECK_U32(SEC_E_INCOMPLETE_MESSAGE, 0x80090318);
        CHECK_U32(SEC_E_INCOMPLETE_CREDENTIALS, 0x80090320);
        CHECK_U32(SEC_E_BUFFER_TOO_SMALL, 0x80090321);
        CHECK_U32(SEC_E_WRONG_PRINCIPAL, 0x80090322);
        CHECK_U32(SEC_E_TIME_SKEW, 0x80090324);
        CHECK_U32(SEC_E_UNTRUSTED_ROOT, 0x80090325);
        CHECK_U32(SEC_E_CERT_EXPIRED, 0x80090328);
        CHECK_U32(SEC_E_SECURITY_QOS_FAILED, 0x80090332);
        CHECK_U32(SEC_E_BAD_BINDINGS, 0x80090346);
        CHECK_U32(SEC_E_KDC_CERT_REVOKED, 0x8009035B);
        CHECK_U32(SEC_E_INVALID_PARAMETER, 0x8009035D);
        CHECK_U32(SEC_E_POLICY_NLTM_ONLY, 0x8009035F);
        CHECK_U32(SEC_E_MUTUAL_AUTH_FAILED, 0x80090363);
        CHECK_U32(SEC_E_APPLICATION_PROTOCOL_MISMATCH, 0x80090367);
        CHECK_U32(SEC_E_INSUFFICIENT_BUFFERS, 0x8009036B);

        CHECK_TRUE(SEC_E_INVALID_HANDLE < 0, "SEC_E_INVALID_HANDLE < 0");
        CHECK_TRUE(SEC_SUCCESS(SEC_E_OK), "SEC_SUCCESS(SEC_E_OK)");
        CHECK_TRUE(SEC_SUCCESS(SEC_I_CONTINUE_NEEDED), "SEC_SUCCESS(SEC_I_CONTINUE_NEEDED)");
        CHECK_TRUE(SEC_SUCCESS(SEC_I_ASYNC_CALL_PENDING), "SEC_SUCCESS(SEC_I_ASYNC_CALL_PENDING)");
        CHECK_TRUE(!SEC_SUCCESS(SEC_E_INVALID_HANDLE), "!SEC_SUCCESS(SEC_E_INVALID_HANDLE)");

        CHECK_U32(STATUS_SUCCESS, 0x00000000);
        CHECK_U32(STATUS_PENDING, 0x00000103);
        CHECK_U32(STATUS_DEVICE_BUSY, 0x80000011);
        CHECK_U32(STATUS_INVALID_HANDLE, 0xC0000008);
        CHECK_U32(STATUS_INVALID_PARAMETER, 0xC000000D);
}

static void test_flags(void) {
        CHECK_TYPE(ISC_REQ_CONNECTION, unsigned int);
        CHECK_TYPE(ASC_REQ_CONNECTION, unsigned int);
        CHECK_TYPE(ISC_REQ_MESSAGES, unsigned long long);

        CHECK_U64(ISC_REQ_DELEGATE, 0x00000001);
        CHECK_U64(ISC_REQ_MUTUAL_AUTH, 0x00000002);
        CHECK_U64(ISC_REQ_REPLAY_DETECT, 0x00000004);
        CHECK_U64(ISC_REQ_SEQUENCE_DETECT, 0x00000008);
        CHECK_U64(ISC_REQ_CONFIDENTIALITY, 0x00000010);
        CHECK_U64(ISC_REQ_USE_SUPPLIED_CREDS, 0x00000080);
        CHECK_U64(ISC_REQ_ALLOCATE_MEMORY, 0x00000100);
        CHECK_U64(ISC_REQ_CONNECTION, 0x00000800);
        CHECK_U64(ISC_REQ_EXTENDED_ERROR, 0x00004000);
        CHECK_U64(ISC_REQ_STREAM, 0x00008000);
        CHECK_U64(ISC_REQ_INTEGRITY, 0x00010000);
        CHECK_U64(ISC_REQ_MANUAL_CRED_VALIDATION, 0x00080000);
        CHECK_U64(ISC_REQ_NO_INTEGRITY, 0x00800000);
        CHECK_U64(ISC_REQ_USE_HTTP_STYLE, 0x01000000);
        CHECK_U64(ISC_REQ_CONFIDENTIALITY_ONLY, 0x40000000);
        CHECK_U64(ISC_REQ_MESSAGES, 0x0000000100000000ULL);
        CHECK_U64(ISC_REQ_DEFERRED_CRED_VALIDATION, 0x0000000200000000ULL);
        CHECK_U64(ISC_REQ_EXPLICIT_SESSION, 0x0000001000000000ULL);
        CHECK_U64(ISC_RET_USED_COLLECTED_CREDS, 0x00000040);
        CHECK_U64(ISC_RET_ALLOCATED_MEMORY, 0x00000100);
        CHECK_U64(ISC_RET_INTERMEDIATE_RETURN, 0x00001000);
        CHECK_U64(ISC_RET_CALL_LEVEL, 0x00002000);
        CHECK_U64(ISC_RET_FRAGMENT_ONLY, 0x00200000);
        CHECK_U64(ISC_RET_REUSE_SESSION_TICKETS, 0x0000000800000000ULL);

        CHECK_U64(ASC_REQ_MUTUAL_AUTH, 0x00000002);
        CHECK_U64(ASC_REQ_SESSION_TICKET, 0x00000040);
        CHECK_U64(ASC_REQ_ALLOCATE_MEMORY, 0x00000100);
        CHECK_U64(ASC_REQ_CONNECTION, 0x00000800);
        CHECK_U64(ASC_REQ_EXTENDED_ERROR, 0x00008000);
        CHECK_U64(ASC_REQ_STREAM, 0x00010000);
        CHECK_U64(ASC_REQ_INTEGRITY, 0x00020000);
        CHECK_U64(ASC_REQ_ALLOW_NULL_SESSION, 0x00100000);
        CHECK_U64(ASC_REQ_PROXY_BINDINGS, 0x04000000);
        CHECK_U64(ASC_REQ_ALLOW_MISSING_BINDINGS, 0x10000000);
        CHECK_U64(ASC_REQ_MESSAGES, 0x0000000100000000ULL);
        CHECK_U64(ASC_RET_CALL_LEVEL, 0x00002000);
        CHECK_U64(ASC_RET_THIRD_LEG_FAILED, 0x00004000);
        CHECK_U64(ASC_RET_NULL_SESSION, 0x00100000);
        CHECK_U64(ASC_RET_FRAGMENT_ONLY, 0x00800000);

        CHECK_U64(SECPKG_CRED_INBOUND, 1);
        CHECK_U64(SECPKG_CRED_OUTBOUND, 2);
        CHECK_U64(SECPKG_CRED_BOTH, 3);
        CHECK_U64(SECURITY_NATIVE_DREP, 0x10);
        CHECK_U64(SECURITY_NETWORK_DREP, 0);
        CHECK_U64(SECQOP_WRAP_NO_ENCRYPT, 0x80000001);
        CHECK_U64(SECQOP_WRAP_OOB_DATA, 0x40000000);
        CHECK_U64(SECPKG_CONTEXT_EXPORT_RESET_NEW, 1);
        CHECK_U64(SECPKG_CONTEXT_EXPORT_DELETE_OLD, 2);

        CHECK_U64(SECPKG_FLAG_INTEGRITY, 0x00000001);
        CHECK_U64(SECPKG_FLAG_NEGOTIABLE, 0x00000800);
        CHECK_U64(SECPKG_FLAG_MUTUAL_AUTH, 0x00010000);
        CHECK_U64(SECPKG_FLAG_APPLY_LOOPBACK, 0x02000000);
        CHECK_U64(SECPKG_ID_NONE, 0xFFFF);
        CHECK_U64(SECPKG_NEGOTIATION_COMPLETE, 0);
        CHECK_U64(SECPKG_NEGOTIATION_TRY_MULTICRED, 4);
}

static void test_buffer_types(void) {
        CHECK_U32(SECBUFFER_VERSION, 0);
        CHECK_U32(SECBUFFER_EMPTY, 0);
        CHECK_U32(SECBUFFER_DATA, 1);
        CHECK_U32(SECBUFFER_TOKEN, 2);
        CHECK_U32(SECBUFFER_PKG_PARAMS, 3);
        CHECK_U32(SECBUFFER_MISSING, 4);
        CHECK_U32(SECBUFFER_EXTRA, 5);
        CHECK_U32(SECBUFFER_STREAM_TRAILER, 6);
        CHECK_U32(SECBUFFER_STREAM_HEADER, 7);
        CHECK_U32(SECBUFFER_NEGOTIATION_INFO, 8);
        CHECK_U32(SECBUFFER_PADDING, 9);
        CHECK_U32(SECBUFFER_STREAM, 10);
        CHECK_U32(SECBUFFER_CHANNEL_BINDINGS, 14);
        CHECK_U32(SECBUFFER_TARGET_HOST, 16);
        CHECK_U32(SECBUFFER_ALERT, 17);
        CHECK_U32(SECBUFFER_APPLICATION_PROTOCOLS, 18);
        CHECK_U32(SECBUFFER_FLAGS, 27);
        CHECK_U32(SECBUFFER_SESSION_TICKET, 32);
        CHECK_U32(SECBUFFER_ATTRMASK, 0xF0000000);
        CHECK_U32(SECBUFFER_READONLY, 0x80000000);
        CHECK_U32(SECBUFFER_READONLY_WITH_CHECKSUM, 0x10000000);
        CHECK_U32(SECBUFFER_RESERVED, 0x60000000);
}

static void test_attributes(void) {
        CHECK_U32(SECPKG_ATTR_SIZES, 0);
        CHECK_U32(SECPKG_ATTR_NAMES, 1);
        CHECK_U32(SECPKG_ATTR_LIFESPAN, 2);
        CHECK_U32(SECPKG_ATTR_STREAM_SIZES, 4);
        CHECK_U32(SECPKG_ATTR_DATAGRAM_SIZES, 4);
        CHECK_U32(SECPKG_ATTR_KEY_INFO, 5);
        CHECK_U32(SECPKG_ATTR_AUTHORITY, 6);
        CHECK_U32(SECPKG_ATTR_PASSWORD_EXPIRY, 8);
        CHECK_U32(SECPKG_ATTR_SESSION_KEY, 9);
        CHECK_U32(SECPKG_ATTR_PACKAGE_INFO, 10);
        CHECK_U32(SECPKG_ATTR_NEGOTIATION_INFO, 12);
        CHECK_U32(SECPKG_ATTR_NATIVE_NAMES, 13);
        CHECK_U32(SECPKG_ATTR_FLAGS, 14);
        CHECK_U32(SECPKG_ATTR_CREDENTIAL_NAME, 16);
        CHECK_U32(SECPKG_ATTR_ACCESS_TOKEN, 18);
        CHECK_U32(SECPKG_ATTR_UNIQUE_BINDINGS, 25);
        CHECK_U32(SECPKG_ATTR_ENDPOINT_BINDINGS, 26);
        CHECK_U32(SECPKG_ATTR_NEGO_STATUS, 32);
        CHECK_U32(SECPKG_ATTR_APPLICATION_PROTOCOL, 35);
        CHECK_U32(SECPKG_ATTR_IS_LOOPBACK, 37);
        CHECK_U32(SECPKG_ATTR_SUBJECT_SECURITY_ATTRIBUTES, 128);
        CHECK_U32(SECPKG_ATTR_REMOTE_CERT_CONTEXT, 0x53);
        CHECK_U32(SECPKG_ATTR_ISSUER_LIST_EX, 0x59);
        CHECK_U32(SECPKG_ATTR_CONNECTION_INFO, 0x5a);
        CHECK_U32(SECPKG_ATTR_SESSION_INFO, 0x5d);
        CHECK_U32(SECPKG_ATTR_CIPHER_INFO, 0x64);
        CHECK_U32(SECPKG_ATTR_KEYING_MATERIAL, 0x6b);
        CHECK_U32(SECPKG_ATTR_CERT_CHECK_RESULT, 0x71);
        CHECK_U32(SECPKG_ATTR_SERIALIZED_REMOTE_CERT_CONTEXT, 0x75);
        CHECK_U32(SECPKG_ATTR_CREDS_2, 0x80000086);
        CHECK_U32(SECPKG_CRED_ATTR_NAMES, 1);
        CHECK_U32(SECPKG_CRED_ATTR_CERT, 4);
}

static void test_schannel(void) {
        CHECK_U32(UNISP_RPC_ID, 14);
        CHECK_U32(SP_PROT_TLS1_2_CLIENT, 0x00000800);
        CHECK_U32(SP_PROT_TLS1_3_SERVER, 0x00001000);
        CHECK_U32(SP_PROT_SSL3TLS1_CLIENTS, 0x000000A0);
        CHECK_U32(SP_PROT_SSL3TLS1_SERVERS, 0x00000050);
        CHECK_U32(SP_PROT_SSL3TLS1, 0x000000F0);
        CHECK_U32(SP_PROT_CLIENTS, 0x800000AA);
        CHECK_U32(SP_PROT_SERVERS, 0x40000055);
        CHECK_U32(SP_PROT_TLS1_1PLUS_SERVER, 0x00001500);
        CHECK_U32(SP_PROT_TLS1_1PLUS_CLIENT, 0x00002A00);
        CHECK_U32(SP_PROT_TLS1_X_SERVER, 0x00001540);
        CHECK_U32(SP_PROT_TLS1_X_CLIENT, 0x00002A80);
        CHECK_U32(SP_PROT_DTLS1_X_SERVER, 0x00050000);
        CHECK_U32(SP_PROT_DTLS1_X_CLIENT, 0x000A0000);
        CHECK_U32(SP_PROT_UNI, 0xC0000000);
        CHECK_U32(SCH_CRED_NO_SERVERNAME_CHECK, 0x00000004);
        CHECK_U32(SCH_CRED_MANUAL_CRED_VALIDATION, 0x00000008);
        CHECK_U32(SCH_CRED_DISABLE_RECONNECTS, 0x00000080);
        CHECK_U32(SCH_USE_STRONG_CRYPTO, 0x00400000);
        CHECK_U32(SCH_CRED_DEFERRED_CRED_VALIDATION, 0x04000000);
        CHECK_U32(SCHANNEL_CRED_VERSION, 4);
        CHECK_U32(SCH_CREDENTIALS_VERSION, 5);
        CHECK_U32(SCHANNEL_SHUTDOWN, 1);
        CHECK_U32(MAX_PROTOCOL_ID_SIZE, 0xff);
        CHECK_U32(RPC_C_AUTHN_GSS_NEGOTIATE, 9);
        CHECK_U32(RPC_C_AUTHN_WINNT, 10);
        CHECK_U32(RPC_C_AUTHN_GSS_SCHANNEL, 14);
        CHECK_U32(RPC_C_AUTHN_GSS_KERBEROS, 16);
        CHECK_U32(RPC_C_AUTHN_DIGEST, 21);
}

/* schannel.h: the credential and token structures (sspi-facts §3.5). */
static void test_schannel_structs(void) {
        CHECK_SIZE(SCHANNEL_CRED, 80);
        CHECK_OFFSET(SCHANNEL_CRED, paCred, 8);
        CHECK_OFFSET(SCHANNEL_CRED, grbitEnabledProtocols, 56);
        CHECK_OFFSET(SCHANNEL_CRED, dwMinimumCipherStrength, 60);
        CHECK_OFFSET(SCHANNEL_CRED, dwMaximumCipherStrength, 64);
        CHECK_OFFSET(SCHANNEL_CRED, dwCredFormat, 76);
        CHECK_SIZE(SCH_CREDENTIALS, 72);
        CHECK_OFFSET(SCH_CREDENTIALS, dwCredFormat, 4);
        CHECK_OFFSET(SCH_CREDENTIALS, paCred, 16);
        CHECK_OFFSET(SCH_CREDENTIALS, cTlsParameters, 56);
        CHECK_OFFSET(SCH_CREDENTIALS, pTlsParameters, 64);
        CHECK_SIZE(TLS_PARAMETERS, 40);
        CHECK_OFFSET(TLS_PARAMETERS, rgstrAlpnIds, 8);
        CHECK_OFFSET(TLS_PARAMETERS, grbitDisabledProtocols, 16);
        CHECK_OFFSET(TLS_PARAMETERS, cDisabledCrypto, 20);
        CHECK_OFFSET(TLS_PARAMETERS, pDisabledCrypto, 24);
        CHECK_OFFSET(TLS_PARAMETERS, dwFlags, 32);
        CHECK_SIZE(CRYPTO_SETTINGS, 48);
        CHECK_OFFSET(CRYPTO_SETTINGS, strCngAlgId, 8);
        CHECK_OFFSET(CRYPTO_SETTINGS, cChainingModes, 24);
        CHECK_OFFSET(CRYPTO_SETTINGS, rgstrChainingModes, 32);
        CHECK_OFFSET(CRYPTO_SETTINGS, dwMinBitLength, 40);
        CHECK_OFFSET(CRYPTO_SETTINGS, dwMaxBitLength, 44);
        CHECK_SIZE(UNICODE_STRING, 16);
        CHECK_SIZE(SCHANNEL_CERT_HASH, 40);
        CHECK_OFFSET(SCHANNEL_CERT_HASH, dwFlags, 4);
        CHECK_OFFSET(SCHANNEL_CERT_HASH, hProv, 8);
        CHECK_OFFSET(SCHANNEL_CERT_HASH, ShaHash, 16);
        CHECK_SIZE(SCHANNEL_CERT_HASH_STORE, 296);
        CHECK_OFFSET(SCHANNEL_CERT_HASH_STORE, ShaHash, 16);
        CHECK_OFFSET(SCHANNEL_CERT_HASH_STORE, pwszStoreName, 36);
        CHECK_SIZE(SCHANNEL_ALERT_TOKEN, 12);
        CHECK_OFFSET(SCHANNEL_ALERT_TOKEN, dwAlertType, 4);
        CHECK_OFFSET(SCHANNEL_ALERT_TOKEN, dwAlertNumber, 8);
        CHECK_SIZE(SCHANNEL_SESSION_TOKEN, 8);
        CHECK_OFFSET(SCHANNEL_SESSION_TOKEN, dwFlags, 4);
        CHECK_U32(SCH_CRED_FORMAT_CERT_HASH, 1);
        CHECK_U32(SCH_CRED_FORMAT_CERT_HASH_STORE, 2);
        CHECK_U32(SCH_MACHINE_CERT_HASH, 1);
        CHECK_U32(SCH_CRED_MAX_STORE_NAME_SIZE, 128);
        CHECK_U32(TLS_PARAMS_OPTIONAL, 1);
        CHECK_U32(SCHANNEL_RENEGOTIATE, 0);
        CHECK_U32(SCHANNEL_ALERT, 2);
        CHECK_U32(SCHANNEL_SESSION, 3);
        CHECK_U32(TLS1_ALERT_WARNING, 1);
        CHECK_U32(TLS1_ALERT_FATAL, 2);
        CHECK_U32(SSL_SESSION_ENABLE_RECONNECTS, 1);
        CHECK_U32(SSL_SESSION_DISABLE_RECONNECTS, 2);
        CHECK_U32(TLS1_ALERT_CLOSE_NOTIFY, 0);
        CHECK_U32(TLS1_ALERT_HANDSHAKE_FAILURE, 40);
        CHECK_U32(TLS1_ALERT_BAD_CERTIFICATE, 42);
        CHECK_U32(TLS1_ALERT_CERTIFICATE_EXPIRED, 45);
        CHECK_U32(TLS1_ALERT_UNKNOWN_CA, 48);
        CHECK_U32(TLS1_ALERT_ACCESS_DENIED, 49);
        CHECK_U32(TLS1_ALERT_INSUFFIENT_SECURITY, 71);
        CHECK_U32(TLS1_ALERT_NO_RENEGOTIATION, 100);
        CHECK_U32(TLS1_ALERT_NO_APP_PROTOCOL, 120);
        CHECK_U32(TlsParametersCngAlgUsageCertSig, 4);
}

/* Packed credentials, CredSSP credentials and the identity helpers (Windows' sspi.h and credssp.h, x64). */
static void test_packed_and_credssp(void) {
        CHECK_SIZE(GUID, 16);
        CHECK_OFFSET(GUID, Data2, 4);
        CHECK_OFFSET(GUID, Data3, 6);
        CHECK_OFFSET(GUID, Data4, 8);
        CHECK_SIZE(SEC_WINNT_AUTH_BYTE_VECTOR, 8);
        CHECK_OFFSET(SEC_WINNT_AUTH_BYTE_VECTOR, ByteArrayLength, 4);
        CHECK_SIZE(SEC_WINNT_AUTH_DATA, 24);
        CHECK_OFFSET(SEC_WINNT_AUTH_DATA, CredData, 16);
        /* 0x1C: the smallest packed credential sspicli accepts (its
         * SspiEncodeStringsAsAuthIdentity checks cbHeaderLength >= 0x1C). */
        CHECK_SIZE(SEC_WINNT_AUTH_PACKED_CREDENTIALS, 28);
        CHECK_OFFSET(SEC_WINNT_AUTH_PACKED_CREDENTIALS, cbStructureLength, 2);
        CHECK_OFFSET(SEC_WINNT_AUTH_PACKED_CREDENTIALS, AuthData, 4);
        CHECK_OFFSET(SEC_WINNT_AUTH_PACKED_CREDENTIALS, AuthData.CredData.ByteArrayOffset, 20);
        CHECK_OFFSET(SEC_WINNT_AUTH_PACKED_CREDENTIALS, AuthData.CredData.ByteArrayLength, 24);
        CHECK_SIZE(SEC_WINNT_AUTH_DATA_PASSWORD, 8);
        CHECK_SIZE(SEC_WINNT_AUTH_CERTIFICATE_DATA, 12);
        CHECK_OFFSET(SEC_WINNT_AUTH_CERTIFICATE_DATA, Certificate, 4);
        /* Not constant expressions: run-time checks only. */
        check(SEC_WINNT_AUTH_DATA_TYPE_PASSWORD.Data1 == 0x28bfc32f && SEC_WINNT_AUTH_DATA_TYPE_PASSWORD.Data2 == 0x10f6 &&
                      SEC_WINNT_AUTH_DATA_TYPE_PASSWORD.Data3 == 0x4738 && SEC_WINNT_AUTH_DATA_TYPE_PASSWORD.Data4[0] == 0x98 &&
                      SEC_WINNT_AUTH_DATA_TYPE_PASSWORD.Data4[7] == 0x6a,
              "SEC_WINNT_AUTH_DATA_TYPE_PASSWORD == {28bfc32f-10f6-4738-98d1-1ac061df716a}");
        check(SEC_WINNT_AUTH_DATA_TYPE_CERT.Data1 == 0x235f69ad && SEC_WINNT_AUTH_DATA_TYPE_CERT.Data4[7] == 0x9b,
              "SEC_WINNT_AUTH_DATA_TYPE_CERT == {235f69ad-73fb-4dbc-8203-0629e739339b}");

        CHECK_SIZE(CREDSPP_SUBMIT_TYPE, 4);
        CHECK_U32(CredsspPasswordCreds, 2);
        CHECK_U32(CredsspSchannelCreds, 4);
        CHECK_U32(CredsspCertificateCreds, 13);
        CHECK_U32(CredsspSubmitBufferBoth, 50);
        CHECK_U32(CredsspSubmitBufferBothOld, 51);
        CHECK_U32(CredsspCredEx, 100);
        CHECK_SIZE(CREDSSP_CRED, 24);
        CHECK_OFFSET(CREDSSP_CRED, Type, 0);
        CHECK_OFFSET(CREDSSP_CRED, pSchannelCred, 8);
        CHECK_OFFSET(CREDSSP_CRED, pSpnegoCred, 16);
        CHECK_SIZE(CREDSSP_CRED_EX, 40);
        CHECK_OFFSET(CREDSSP_CRED_EX, Version, 4);
        CHECK_OFFSET(CREDSSP_CRED_EX, Flags, 8);
        CHECK_OFFSET(CREDSSP_CRED_EX, Reserved, 12);
        /* credssp.h asserts this one itself ("may break WoW64"). */
        CHECK_OFFSET(CREDSSP_CRED_EX, Cred, 16);
        CHECK_U32(CREDSSP_CRED_EX_VERSION, 0);
        /* sspid's SEC_DELEGATED_CONTEXT_CRED: DWORD, DWORD, pointer. */
        CHECK_SIZE(SEC_DELEGATED_CONTEXT_CRED, 16);
        CHECK_OFFSET(SEC_DELEGATED_CONTEXT_CRED, Flags, 4);
        CHECK_OFFSET(SEC_DELEGATED_CONTEXT_CRED, phContext, 8);
        CHECK_U32(CREDSSP_FLAG_REDIRECT, 1);

        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_MARSHALLED, 0x4);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_ONLY, 0x8);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_PROCESS_ENCRYPTED, 0x10);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_PROTECTED, 0x20);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_USER_PROTECTED, 0x40);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_SYSTEM_ENCRYPTED, 0x80);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_USER, 0x20000);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_FLAGS_NULL_DOMAIN, 0x40000);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_LOGON, 1);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_SAME_PROCESS, 2);
        CHECK_U32(SEC_WINNT_AUTH_IDENTITY_ENCRYPT_FOR_SYSTEM, 4);
        CHECK_U32(CRED_TYPE_DOMAIN_PASSWORD, 2);

        CHECK_TYPE(&SspiEncodeStringsAsAuthIdentity,
                   SECURITY_STATUS (*)(LPCWSTR, LPCWSTR, LPCWSTR, PSEC_WINNT_AUTH_IDENTITY_OPAQUE *));
        CHECK_TYPE(&SspiEncodeAuthIdentityAsStrings,
                   SECURITY_STATUS (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE, LPCWSTR *, LPCWSTR *, LPCWSTR *));
        CHECK_TYPE(&SspiCompareAuthIdentities, SECURITY_STATUS (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE,
                                                                   PSEC_WINNT_AUTH_IDENTITY_OPAQUE, PBOOLEAN, PBOOLEAN));
        CHECK_TYPE(&SspiMarshalAuthIdentity, SECURITY_STATUS (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE, ULONG *, char **));
        CHECK_TYPE(&SspiUnmarshalAuthIdentity, SECURITY_STATUS (*)(ULONG, char *, PSEC_WINNT_AUTH_IDENTITY_OPAQUE *));
        CHECK_TYPE(&SspiIsAuthIdentityEncrypted, BOOLEAN (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE));
        CHECK_TYPE(&SspiEncryptAuthIdentityEx, SECURITY_STATUS (*)(ULONG, PSEC_WINNT_AUTH_IDENTITY_OPAQUE));
        CHECK_TYPE(&SspiFreeAuthIdentity, void (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE));
        CHECK_TYPE(&SspiLocalFree, void (*)(void *));
        CHECK_TYPE(&SspiGetTargetHostName, SECURITY_STATUS (*)(LPCWSTR, LPWSTR *));
        CHECK_TYPE(&SspiPrepareForCredWrite,
                   SECURITY_STATUS (*)(PSEC_WINNT_AUTH_IDENTITY_OPAQUE, LPCWSTR, PULONG, LPCWSTR *, LPCWSTR *,
                                       PUCHAR *, PULONG));
}

int main(void) {
        test_basic_types();
        test_handles();
        test_buffers();
        test_pkg_info();
        test_identities();
        test_packed_and_credssp();
        test_context_attributes();
        test_function_tables();
        test_prototypes();
        test_generic_names();
        test_package_names();
        test_status_codes();
        test_flags();
        test_buffer_types();
        test_attributes();
        test_schannel_structs();
        test_schannel();

        printf("# %u passed, %u failed\n", n_passed, n_failed);
        return n_failed > 0 ? 1 : 0;
}
