/* SPDX-License-Identifier: MIT */
/*
 * InitSecurityInterfaceA/W and the handle checks the other entry points
 * use (every slot of the table has a real implementation now): a NULL,
 * never issued or deleted handle is SEC_E_INVALID_HANDLE, as sspi.h
 * documents and Windows answers.
 */
#include "internal.h"

/* The library keeps no handle table (handles are the daemon's), so a
 * handle's validity is asked of the daemon, with a query the dispatcher
 * answers for every package without work: SECPKG_ATTR_PACKAGE_INFO for a
 * context. Returns SEC_E_OK for a live handle, SEC_E_INVALID_HANDLE, or the
 * status of a failed call (SEC_E_INTERNAL_ERROR: no daemon). */
SECURITY_STATUS ctx_check(PCtxtHandle phContext) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCtxAttrReq q = SSPIW__QUERY_CTX_ATTR_REQ__INIT;
        Sspiw__Handle h;

        if (!phContext || !SecIsValidHandle(phContext))
                return SEC_E_INVALID_HANDLE;
        handle_to_wire(phContext, &h);
        q.ctx = &h;
        q.attr = SECPKG_ATTR_PACKAGE_INFO;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR;
        req.query_ctx_attr = &q;
        return call_run(NULL, &req, call_finish_status, NULL, 0);
}

/* The same for a credential, with SECPKG_CRED_ATTR_NAMES. A package may
 * refuse that attribute for a live credential (an anonymous Schannel
 * client: SEC_E_NO_CREDENTIALS, or SEC_E_UNSUPPORTED_FUNCTION): only
 * SEC_E_INVALID_HANDLE, or a call that never reached the daemon, says the
 * handle is not live. */
SECURITY_STATUS cred_check(PCredHandle phCredential) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__QueryCredAttrReq q = SSPIW__QUERY_CRED_ATTR_REQ__INIT;
        Sspiw__Handle h;
        SECURITY_STATUS st;

        if (!phCredential || !SecIsValidHandle(phCredential))
                return SEC_E_INVALID_HANDLE;
        handle_to_wire(phCredential, &h);
        q.cred = &h;
        q.attr = SECPKG_CRED_ATTR_NAMES;
        req.body_case = SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR;
        req.query_cred_attr = &q;
        st = call_run(NULL, &req, call_finish_status, NULL, 0);
        if (st == SEC_E_INVALID_HANDLE || st == SEC_E_INTERNAL_ERROR || st == SEC_E_INSUFFICIENT_MEMORY)
                return st;
        return SEC_E_OK;
}

/*
 * The tables as Windows fills them (Windows-verified in Wine's secur32.c
 * test_InitSecurityInterface): dwVersion is 1 although every later slot is
 * filled too, Reserved2 and Reserved8 are NULL, and the legacy Reserved3 and
 * Reserved4 slots hold EncryptMessage and DecryptMessage (old callers sealed
 * through them).
 */
static SecurityFunctionTableW table_w = {
        .dwVersion = SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION,
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
        .Reserved3 = (void *) EncryptMessage,
        .Reserved4 = (void *) DecryptMessage,
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
        .dwVersion = SECURITY_SUPPORT_PROVIDER_INTERFACE_VERSION,
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
        .Reserved3 = (void *) EncryptMessage,
        .Reserved4 = (void *) DecryptMessage,
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
