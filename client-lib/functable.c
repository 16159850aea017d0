/* SPDX-License-Identifier: MIT */
/*
 * InitSecurityInterfaceA/W, and the entry points of the table that no
 * package served by sspid supports yet: they refuse with
 * SEC_E_UNSUPPORTED_FUNCTION and touch nothing.
 */
#include "internal.h"

/* Impersonation needs a Windows access token: there is none on Linux. */
_public_ SECURITY_STATUS ImpersonateSecurityContext(PCtxtHandle phContext) {
        (void) phContext;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS RevertSecurityContext(PCtxtHandle phContext) {
        (void) phContext;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS QuerySecurityContextToken(PCtxtHandle phContext, void **Token) {
        (void) phContext;
        if (Token)
                *Token = NULL;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS AddCredentialsA(PCredHandle hCredentials, const SEC_CHAR *pszPrincipal,
                                         const SEC_CHAR *pszPackage, ULONG fCredentialUse, void *pAuthData,
                                         SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PTimeStamp ptsExpiry) {
        (void) hCredentials, (void) pszPrincipal, (void) pszPackage, (void) fCredentialUse, (void) pAuthData;
        (void) pGetKeyFn, (void) pvGetKeyArgument, (void) ptsExpiry;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS AddCredentialsW(PCredHandle hCredentials, const SEC_WCHAR *pszPrincipal,
                                         const SEC_WCHAR *pszPackage, ULONG fCredentialUse, void *pAuthData,
                                         SEC_GET_KEY_FN pGetKeyFn, void *pvGetKeyArgument, PTimeStamp ptsExpiry) {
        (void) hCredentials, (void) pszPrincipal, (void) pszPackage, (void) fCredentialUse, (void) pAuthData;
        (void) pGetKeyFn, (void) pvGetKeyArgument, (void) ptsExpiry;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS SetContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        (void) phContext, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS SetContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        (void) phContext, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS SetCredentialsAttributesA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        (void) phCredential, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS SetCredentialsAttributesW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        (void) phCredential, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS QueryContextAttributesExA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        (void) phContext, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS QueryContextAttributesExW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        (void) phContext, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS QueryCredentialsAttributesExA(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                       ULONG cbBuffer) {
        (void) phCredential, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS QueryCredentialsAttributesExW(PCredHandle phCredential, ULONG ulAttribute, void *pBuffer,
                                                       ULONG cbBuffer) {
        (void) phCredential, (void) ulAttribute, (void) pBuffer, (void) cbBuffer;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS ChangeAccountPasswordA(const SEC_CHAR *pszPackageName, const SEC_CHAR *pszDomainName,
                                                const SEC_CHAR *pszAccountName, const SEC_CHAR *pszOldPassword,
                                                const SEC_CHAR *pszNewPassword, BOOLEAN bImpersonating,
                                                ULONG dwReserved, PSecBufferDesc pOutput) {
        (void) pszPackageName, (void) pszDomainName, (void) pszAccountName, (void) pszOldPassword;
        (void) pszNewPassword, (void) bImpersonating, (void) dwReserved, (void) pOutput;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

_public_ SECURITY_STATUS ChangeAccountPasswordW(const SEC_WCHAR *pszPackageName, const SEC_WCHAR *pszDomainName,
                                                const SEC_WCHAR *pszAccountName, const SEC_WCHAR *pszOldPassword,
                                                const SEC_WCHAR *pszNewPassword, BOOLEAN bImpersonating,
                                                ULONG dwReserved, PSecBufferDesc pOutput) {
        (void) pszPackageName, (void) pszDomainName, (void) pszAccountName, (void) pszOldPassword;
        (void) pszNewPassword, (void) bImpersonating, (void) dwReserved, (void) pOutput;
        return SEC_E_UNSUPPORTED_FUNCTION;
}

static SecurityFunctionTableW table_w = {
        .dwVersion = SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_5,
        .EnumerateSecurityPackagesW = EnumerateSecurityPackagesW,
        .QueryCredentialsAttributesW = QueryCredentialsAttributesW,
        .AcquireCredentialsHandleW = AcquireCredentialsHandleW,
        .FreeCredentialsHandle = FreeCredentialsHandle,
        .InitializeSecurityContextW = InitializeSecurityContextW,
        .AcceptSecurityContext = AcceptSecurityContext,
        .CompleteAuthToken = CompleteAuthToken,
        .DeleteSecurityContext = DeleteSecurityContext,
        .ApplyControlToken = ApplyControlToken,
        .QueryContextAttributesW = QueryContextAttributesW,
        .ImpersonateSecurityContext = ImpersonateSecurityContext,
        .RevertSecurityContext = RevertSecurityContext,
        .MakeSignature = MakeSignature,
        .VerifySignature = VerifySignature,
        .FreeContextBuffer = FreeContextBuffer,
        .QuerySecurityPackageInfoW = QuerySecurityPackageInfoW,
        .ExportSecurityContext = ExportSecurityContext,
        .ImportSecurityContextW = ImportSecurityContextW,
        .AddCredentialsW = AddCredentialsW,
        .QuerySecurityContextToken = QuerySecurityContextToken,
        .EncryptMessage = EncryptMessage,
        .DecryptMessage = DecryptMessage,
        .SetContextAttributesW = SetContextAttributesW,
        .SetCredentialsAttributesW = SetCredentialsAttributesW,
        .ChangeAccountPasswordW = ChangeAccountPasswordW,
        .QueryContextAttributesExW = QueryContextAttributesExW,
        .QueryCredentialsAttributesExW = QueryCredentialsAttributesExW,
};

static SecurityFunctionTableA table_a = {
        .dwVersion = SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION_5,
        .EnumerateSecurityPackagesA = EnumerateSecurityPackagesA,
        .QueryCredentialsAttributesA = QueryCredentialsAttributesA,
        .AcquireCredentialsHandleA = AcquireCredentialsHandleA,
        .FreeCredentialHandle = FreeCredentialsHandle,
        .InitializeSecurityContextA = InitializeSecurityContextA,
        .AcceptSecurityContext = AcceptSecurityContext,
        .CompleteAuthToken = CompleteAuthToken,
        .DeleteSecurityContext = DeleteSecurityContext,
        .ApplyControlToken = ApplyControlToken,
        .QueryContextAttributesA = QueryContextAttributesA,
        .ImpersonateSecurityContext = ImpersonateSecurityContext,
        .RevertSecurityContext = RevertSecurityContext,
        .MakeSignature = MakeSignature,
        .VerifySignature = VerifySignature,
        .FreeContextBuffer = FreeContextBuffer,
        .QuerySecurityPackageInfoA = QuerySecurityPackageInfoA,
        .ExportSecurityContext = ExportSecurityContext,
        .ImportSecurityContextA = ImportSecurityContextA,
        .AddCredentialsA = AddCredentialsA,
        .QuerySecurityContextToken = QuerySecurityContextToken,
        .EncryptMessage = EncryptMessage,
        .DecryptMessage = DecryptMessage,
        .SetContextAttributesA = SetContextAttributesA,
        .SetCredentialsAttributesA = SetCredentialsAttributesA,
        .ChangeAccountPasswordA = ChangeAccountPasswordA,
        .QueryContextAttributesExA = QueryContextAttributesExA,
        .QueryCredentialsAttributesExA = QueryCredentialsAttributesExA,
};

_public_ PSecurityFunctionTableW InitSecurityInterfaceW(void) {
        return &table_w;
}

_public_ PSecurityFunctionTableA InitSecurityInterfaceA(void) {
        return &table_a;
}
