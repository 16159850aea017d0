/* SPDX-License-Identifier: MIT */
/*
 * The context attributes added to QueryContextAttributes after its first
 * set (context.c lays those out): Schannel's CONNECTION_INFO_EX,
 * LOCAL_CERT_CONTEXT, SUPPORTED_SIGNATURES, CERT_CHECK_RESULT(_INPROC),
 * APP_DATA, EAP_KEY_BLOCK and KEYING_MATERIAL with the KEYING_MATERIAL_INFO that
 * SetContextAttributes sets for it; Kerberos/NTLM/Negotiate's AUTHORITY,
 * CLIENT_SPECIFIED_TARGET, LAST_CLIENT_TOKEN_STATUS, NEGO_PKG_INFO and
 * NEGO_STATUS; and QueryContextAttributesEx on top of all of them.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "schannel.h"
#include "wire.h"

/* A string for the caller, freed with FreeContextBuffer. */
static void *dup_string(const char *s, bool wide) {
        if (!s)
                return NULL;
        if (wide) {
                SEC_WCHAR *w = NULL;
                return utf8_to_utf16(s, &w) < 0 ? NULL : w;
        }
        return strdup(s);
}

/* NUL-terminated ASCII names from the blob into fixed UTF-16 arrays. */
static bool widen_names(const Sspiw__QueryCtxAttrRep *q, SEC_WCHAR *const *dst, size_t n) {
        const char *p = (const char *) q->blob.data, *end = p + q->blob.len;

        if (!q->has_blob || q->blob.len == 0 || end[-1] != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                size_t len;
                if (p >= end)
                        return false;
                len = strlen(p);
                for (size_t j = 0; j < len && j < SZ_ALG_MAX_SIZE - 1; j++)
                        dst[i][j] = (unsigned char) p[j];
                p += len + 1;
        }
        return true;
}

static SECURITY_STATUS copy_blob(const Sspiw__QueryCtxAttrRep *q, uint8_t **ret) {
        *ret = NULL;
        if (!q->has_blob || q->blob.len == 0)
                return SEC_E_OK;
        *ret = malloc(q->blob.len);
        if (!*ret)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(*ret, q->blob.data, q->blob.len);
        return SEC_E_OK;
}

SECURITY_STATUS attr_layout_more(uint32_t attr, bool wide, void *pBuffer, const Sspiw__QueryCtxAttrRep *q) {
        SECURITY_STATUS st;

        switch (attr) {
        case SECPKG_ATTR_AUTHORITY: {
                void *n = dup_string(q->name, wide);
                if (!n)
                        return q->name ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
                ((SecPkgContext_AuthorityA *) pBuffer)->sAuthorityName = n;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_CLIENT_SPECIFIED_TARGET: {
                /* sTargetName is wide in both the A and W calls (the
                 * structure has no A form). */
                void *n = dup_string(q->name, true);
                if (!n)
                        return q->name ? SEC_E_INSUFFICIENT_MEMORY : SEC_E_INTERNAL_ERROR;
                ((SecPkgContext_ClientSpecifiedTarget *) pBuffer)->sTargetName = n;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS:
        case SECPKG_ATTR_NEGO_PKG_INFO:
        case SECPKG_ATTR_NEGO_STATUS:
                /* One 4-byte member each. */
                if (q->n_words < 1)
                        return SEC_E_INTERNAL_ERROR;
                memcpy(pBuffer, &q->words[0], 4);
                return SEC_E_OK;
        case SECPKG_ATTR_CONNECTION_INFO_EX: {
                SecPkgContext_ConnectionInfoEx *c = pBuffer, tmp;
                SEC_WCHAR *dst[3] = { tmp.szCipher, tmp.szHash, tmp.szExchange };
                memset(&tmp, 0, sizeof(tmp));
                if (q->n_words < 5 || !widen_names(q, dst, 3))
                        return SEC_E_INTERNAL_ERROR;
                tmp.dwVersion = q->words[0];
                tmp.dwProtocol = q->words[1];
                tmp.dwCipherStrength = q->words[2];
                tmp.dwHashStrength = q->words[3];
                tmp.dwExchStrength = q->words[4];
                *c = tmp;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_LOCAL_CERT_CONTEXT:
                /* Our leaf, in a store of the chain we sent. */
                if (!q->has_blob)
                        return SEC_E_INTERNAL_ERROR;
                return cert_store_from_chain(q->blob.data, q->blob.len, (PCCERT_CONTEXT *) pBuffer);
        case SECPKG_ATTR_SUPPORTED_SIGNATURES: {
                SecPkgContext_SupportedSignatures *sg = pBuffer;
                uint8_t *v;
                if (!q->has_blob || q->blob.len % 2 || q->blob.len / 2 > 0xffff)
                        return SEC_E_INTERNAL_ERROR;
                st = copy_blob(q, &v);
                if (st != SEC_E_OK)
                        return st;
                sg->cSignatureAndHashAlgorithms = (WORD) (q->blob.len / 2);
                sg->pSignatureAndHashAlgorithms = (WORD *) v;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_CERT_CHECK_RESULT:
        case SECPKG_ATTR_CERT_CHECK_RESULT_INPROC: {
                SecPkgContext_CertificateValidationResult *r = pBuffer;
                if (q->n_words < 2)
                        return SEC_E_INTERNAL_ERROR;
                r->dwChainErrorStatus = q->words[0];
                r->hrVerifyChainStatus = (LONG) q->words[1];
                return SEC_E_OK;
        }
        case SECPKG_ATTR_APP_DATA: {
                SecPkgContext_SessionAppData *ad = pBuffer;
                uint8_t *v;
                if (q->n_words < 1)
                        return SEC_E_INTERNAL_ERROR;
                st = copy_blob(q, &v);
                if (st != SEC_E_OK)
                        return st;
                ad->dwFlags = q->words[0];
                ad->cbAppData = v ? (DWORD) q->blob.len : 0;
                ad->pbAppData = v;
                return SEC_E_OK;
        }
        case SECPKG_ATTR_EAP_KEY_BLOCK: {
                /* Fixed arrays: keys, then IVs, as the daemon sends them. */
                SecPkgContext_EapKeyBlock *kb = pBuffer;
                if (!q->has_blob || q->blob.len != sizeof(*kb)) {
                        if (q->has_blob)
                                explicit_bzero(q->blob.data, q->blob.len);
                        return SEC_E_INTERNAL_ERROR;
                }
                memcpy(kb->rgbKeys, q->blob.data, sizeof(kb->rgbKeys));
                memcpy(kb->rgbIVs, q->blob.data + sizeof(kb->rgbKeys), sizeof(kb->rgbIVs));
                explicit_bzero(q->blob.data, q->blob.len);
                return SEC_E_OK;
        }
        case SECPKG_ATTR_KEYING_MATERIAL: {
                SecPkgContext_KeyingMaterial *km = pBuffer;
                uint8_t *v;
                if (!q->has_blob || q->blob.len == 0)
                        return SEC_E_INTERNAL_ERROR;
                st = copy_blob(q, &v);
                explicit_bzero(q->blob.data, q->blob.len);
                if (st != SEC_E_OK)
                        return st;
                km->cbKeyingMaterial = (DWORD) q->blob.len;
                km->pbKeyingMaterial = v;
                return SEC_E_OK;
        }
        default:
                /* The daemon answered an attribute this library cannot lay out. */
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
}

/* ---- KEYING_MATERIAL_INFO ---- */

/* What the library keeps per context: the label (without NUL), the
 * context value and the length, behind this header. */
typedef struct KeyingInfo {
        uint32_t label_len, context_len, has_context, length;
} KeyingInfo;

/*
 * Windows' Schannel takes the RFC 5705 exporter input through
 * SetContextAttributes(SECPKG_ATTR_KEYING_MATERIAL_INFO) and answers
 * QueryContextAttributes(SECPKG_ATTR_KEYING_MATERIAL) with it (Microsoft's
 * SetContextAttributes and SecPkgContext_KeyingMaterialInfo pages). The
 * library keeps it with the handle and sends it with each such query; the
 * daemon derives the bytes (schannel-attributes.c sch_keying_material).
 * Returns SEC_E_OK; SEC_E_INVALID_HANDLE; SEC_E_INVALID_PARAMETER for a
 * structure Microsoft's page rules out (no NUL-terminated label, a context
 * pointer that disagrees with its length, no length) or one beyond the
 * wire's bounds; SEC_E_UNSUPPORTED_FUNCTION for a context of any package
 * but Schannel ("supported only by the Schannel security package").
 */
SECURITY_STATUS keying_info_set(PCtxtHandle phContext, const void *pBuffer, ULONG cbBuffer) {
        const SecPkgContext_KeyingMaterialInfo *in = pBuffer;
        SecPkgContext_PackageInfoA pi = { 0 };
        _cleanup_free_ uint8_t *mem = NULL;
        KeyingInfo k;
        SECURITY_STATUS st;
        bool stream;

        if (!phContext || !SecIsValidHandle(phContext))
                return SEC_E_INVALID_HANDLE;
        st = ctx_query_attr(phContext, SECPKG_ATTR_PACKAGE_INFO, &pi, false);
        if (st != SEC_E_OK)
                return st;
        stream = pi.PackageInfo && (pi.PackageInfo->fCapabilities & SECPKG_FLAG_STREAM);
        FreeContextBuffer(pi.PackageInfo);
        if (!stream)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!in || cbBuffer < sizeof(*in))
                return SEC_E_INVALID_PARAMETER;
        if (in->cbLabel < 2 || !in->pszLabel || in->pszLabel[in->cbLabel - 1] != 0 ||
            strlen(in->pszLabel) != (size_t) in->cbLabel - 1 || (size_t) in->cbLabel - 1 > WIRE_MAX_KM_LABEL)
                return SEC_E_INVALID_PARAMETER;
        if ((in->cbContextValue == 0) != (in->pbContextValue == NULL) || in->cbContextValue > WIRE_MAX_KM_CONTEXT)
                return SEC_E_INVALID_PARAMETER;
        if (in->cbKeyingMaterial == 0 || in->cbKeyingMaterial > WIRE_MAX_KM_LENGTH)
                return SEC_E_INVALID_PARAMETER;
        k = (KeyingInfo) { in->cbLabel - 1u, in->cbContextValue, in->cbContextValue != 0, in->cbKeyingMaterial };
        mem = malloc(sizeof(k) + k.label_len + k.context_len);
        if (!mem)
                return SEC_E_INSUFFICIENT_MEMORY;
        memcpy(mem, &k, sizeof(k));
        memcpy(mem + sizeof(k), in->pszLabel, k.label_len);
        if (k.context_len)
                memcpy(mem + sizeof(k) + k.label_len, in->pbContextValue, k.context_len);
        switch (handles_setting_put(phContext, mem, sizeof(k) + k.label_len + k.context_len)) {
        case 0:
                return SEC_E_OK;
        case -ENOMEM:
                return SEC_E_INSUFFICIENT_MEMORY;
        default:
                return SEC_E_INVALID_HANDLE;
        }
}

SECURITY_STATUS keying_info_to_wire(PCtxtHandle phContext, Sspiw__QueryCtxAttrReq *q, uint8_t **ret_mem) {
        uint8_t *mem = NULL;
        size_t len = 0;
        KeyingInfo k;

        *ret_mem = NULL;
        switch (handles_setting_get(phContext, &mem, &len)) {
        case 0:
                break;
        case -ENOMEM:
                return SEC_E_INSUFFICIENT_MEMORY;
        default:
                /* Nothing set: the daemon answers (no input, or no such
                 * attribute for the package) with the handle checked. */
                return SEC_E_OK;
        }
        memcpy(&k, mem, sizeof(k));
        if (len != sizeof(k) + k.label_len + k.context_len) {
                free(mem);
                return SEC_E_INTERNAL_ERROR;
        }
        q->has_km_label = true;
        q->km_label.data = mem + sizeof(k);
        q->km_label.len = k.label_len;
        q->has_km_context = k.has_context != 0;
        q->km_context.data = mem + sizeof(k) + k.label_len;
        q->km_context.len = k.context_len;
        q->has_km_length = true;
        q->km_length = k.length;
        *ret_mem = mem;
        return SEC_E_OK;
}

/* ---- QueryContextAttributesEx ---- */

/* The size of each attribute's structure on Windows x64 (the A and W forms
 * are the same size: their strings are pointers). 0: not one this library
 * lays out. */
static size_t attr_size(uint32_t attr) {
        switch (attr) {
        case SECPKG_ATTR_SIZES:
                return sizeof(SecPkgContext_Sizes);
        case SECPKG_ATTR_NAMES:
                return sizeof(SecPkgContext_NamesW);
        case SECPKG_ATTR_LIFESPAN:
                return sizeof(SecPkgContext_Lifespan);
        case SECPKG_ATTR_STREAM_SIZES:
                return sizeof(SecPkgContext_StreamSizes);
        case SECPKG_ATTR_KEY_INFO:
                return sizeof(SecPkgContext_KeyInfoW);
        case SECPKG_ATTR_AUTHORITY:
                return sizeof(SecPkgContext_AuthorityW);
        case SECPKG_ATTR_SESSION_KEY:
                return sizeof(SecPkgContext_SessionKey);
        case SECPKG_ATTR_PACKAGE_INFO:
                return sizeof(SecPkgContext_PackageInfoW);
        case SECPKG_ATTR_NEGOTIATION_INFO:
                return sizeof(SecPkgContext_NegotiationInfoW);
        case SECPKG_ATTR_NATIVE_NAMES:
                return sizeof(SecPkgContext_NativeNamesW);
        case SECPKG_ATTR_FLAGS:
                return sizeof(SecPkgContext_Flags);
        case SECPKG_ATTR_ACCESS_TOKEN:
                return sizeof(SecPkgContext_AccessToken);
        case SECPKG_ATTR_UNIQUE_BINDINGS:
        case SECPKG_ATTR_ENDPOINT_BINDINGS:
                return sizeof(SecPkgContext_Bindings);
        case SECPKG_ATTR_CLIENT_SPECIFIED_TARGET:
                return sizeof(SecPkgContext_ClientSpecifiedTarget);
        case SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS:
                return sizeof(SecPkgContext_LastClientTokenStatus);
        case SECPKG_ATTR_NEGO_PKG_INFO:
                return sizeof(SecPkgContext_NegoPackageInfo);
        case SECPKG_ATTR_NEGO_STATUS:
                return sizeof(SecPkgContext_NegoStatus);
        case SECPKG_ATTR_APPLICATION_PROTOCOL:
                return sizeof(SecPkgContext_ApplicationProtocol);
        case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
        case SECPKG_ATTR_LOCAL_CERT_CONTEXT:
                return sizeof(PCCERT_CONTEXT);
        case SECPKG_ATTR_ISSUER_LIST_EX:
                return sizeof(SecPkgContext_IssuerListInfoEx);
        case SECPKG_ATTR_CONNECTION_INFO:
                return sizeof(SecPkgContext_ConnectionInfo);
        case SECPKG_ATTR_SESSION_INFO:
                return sizeof(SecPkgContext_SessionInfo);
        case SECPKG_ATTR_CIPHER_INFO:
                return sizeof(SecPkgContext_CipherInfo);
        case SECPKG_ATTR_CONNECTION_INFO_EX:
                return sizeof(SecPkgContext_ConnectionInfoEx);
        case SECPKG_ATTR_SUPPORTED_SIGNATURES:
                return sizeof(SecPkgContext_SupportedSignatures);
        case SECPKG_ATTR_CERT_CHECK_RESULT:
        case SECPKG_ATTR_CERT_CHECK_RESULT_INPROC:
                return sizeof(SecPkgContext_CertificateValidationResult);
        case SECPKG_ATTR_APP_DATA:
                return sizeof(SecPkgContext_SessionAppData);
        case SECPKG_ATTR_KEYING_MATERIAL:
                return sizeof(SecPkgContext_KeyingMaterial);
        case SECPKG_ATTR_EAP_KEY_BLOCK:
                return sizeof(SecPkgContext_EapKeyBlock);
        default:
                return 0;
        }
}

/*
 * QueryContextAttributes with the size of the caller's structure: the
 * answer is laid out in the library's own memory and copied only when it
 * fits, so no attribute writes past cbBuffer. A larger cbBuffer is fine
 * (only the structure is written). Returns what QueryContextAttributes
 * returns, and SEC_E_INVALID_PARAMETER for a NULL pBuffer,
 * SEC_E_BUFFER_TOO_SMALL for a cbBuffer below the structure's size (the
 * NTSTATUS STATUS_BUFFER_TOO_SMALL as SSPI maps it; nothing is written),
 * SEC_E_UNSUPPORTED_FUNCTION for an attribute this library lays out for no
 * package.
 */
SECURITY_STATUS query_attr_into(SecHandle *h, uint32_t attr, size_t need, void *pBuffer, ULONG cbBuffer, bool wide,
                                SECURITY_STATUS (*query)(SecHandle *, uint32_t, void *, bool),
                                SECURITY_STATUS (*check)(SecHandle *)) {
        union {
                uint8_t bytes[1024];
                void *align_p;
                uint64_t align_u;
        } tmp;
        SECURITY_STATUS st;

        _Static_assert(sizeof(SecPkgContext_CipherInfo) <= sizeof(tmp), "attribute buffer too small");
        if (!h || !SecIsValidHandle(h))
                return SEC_E_INVALID_HANDLE;
        if (!pBuffer)
                return SEC_E_INVALID_PARAMETER;
        if (!need) {
                st = check(h);
                return st == SEC_E_OK ? SEC_E_UNSUPPORTED_FUNCTION : st;
        }
        if (need > sizeof(tmp))
                return SEC_E_INTERNAL_ERROR;
        if (cbBuffer < need)
                return SEC_E_BUFFER_TOO_SMALL;
        memset(&tmp, 0, sizeof(tmp));
        st = query(h, attr, tmp.bytes, wide);
        if (st == SEC_E_OK)
                memcpy(pBuffer, tmp.bytes, need);
        return st;
}

static SECURITY_STATUS query_attr_ex(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer,
                                     bool wide) {
        return query_attr_into(phContext, ulAttribute, attr_size(ulAttribute), pBuffer, cbBuffer, wide, ctx_query_attr,
                               ctx_check);
}

_public_ SECURITY_STATUS QueryContextAttributesExA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        return query_attr_ex(phContext, ulAttribute, pBuffer, cbBuffer, false);
}

_public_ SECURITY_STATUS QueryContextAttributesExW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer,
                                                   ULONG cbBuffer) {
        return query_attr_ex(phContext, ulAttribute, pBuffer, cbBuffer, true);
}
