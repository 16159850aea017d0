/* SPDX-License-Identifier: MIT */
/*
 * SetContextAttributes{A,W}. Schannel's KEYING_MATERIAL_INFO is kept by the
 * library (ctxattr.c, keying_info_set); any other attribute goes to the
 * daemon with the caller's cbBuffer bytes as given (at most
 * WIRE_MAX_SET_CTX_ATTR), and the package there parses them by the
 * attribute's documented layout and decides whether it takes the
 * attribute (daemon/rpc/ctxattr-set.c). The two structures that point
 * at their data (APP_DATA's SecPkgContext_SessionAppData, EAP_PRF_INFO's
 * SecPkgContext_EapPrfInfo) travel flattened: their first DWORD
 * (dwFlags, dwVersion), little-endian, then the bytes pointed at.
 *
 * Returns SEC_E_OK; SEC_E_INVALID_HANDLE for a handle that is not a live
 * context; SEC_E_INVALID_PARAMETER for a NULL buffer with a size, or one
 * larger than the wire takes; SEC_E_UNSUPPORTED_FUNCTION for an attribute
 * the context's package does not let be set; the package's own status for
 * a value it refuses.
 */
#include <string.h>

#include "internal.h"
#include "schannel.h"
#include "wire.h"

static SECURITY_STATUS set_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        (void) state;
        if (st == SEC_E_OK && (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_SET_CTX_ATTR_REP))
                return SEC_E_INTERNAL_ERROR;
        return st;
}

/* A structure with a DWORD, a length and a pointer (both APP_DATA's and
 * EAP_PRF_INFO's lay out so on x64) into `flat`: the DWORD, then the
 * data. A cbBuffer too short for the structure sends nothing, which the
 * package refuses as it sees fit (Schannel: SEC_E_INVALID_PARAMETER;
 * the others: SEC_E_UNSUPPORTED_FUNCTION). */
static SECURITY_STATUS flatten(const void *buf, ULONG cb, uint8_t *flat, size_t *ret_len) {
        const SecPkgContext_SessionAppData *d = buf; /* the same layout as SecPkgContext_EapPrfInfo */

        _Static_assert(sizeof(SecPkgContext_SessionAppData) == sizeof(SecPkgContext_EapPrfInfo), "layouts");
        *ret_len = 0;
        if (!buf || cb < sizeof(*d))
                return SEC_E_OK;
        if ((d->cbAppData && !d->pbAppData) || d->cbAppData > WIRE_MAX_SET_CTX_ATTR - 4)
                return SEC_E_INVALID_PARAMETER;
        for (int i = 0; i < 4; i++)
                flat[i] = (uint8_t) (d->dwFlags >> (8 * i));
        if (d->cbAppData)
                memcpy(flat + 4, d->pbAppData, d->cbAppData);
        *ret_len = 4 + d->cbAppData;
        return SEC_E_OK;
}

static SECURITY_STATUS set_ctx_attr(PCtxtHandle h, ULONG attr, void *buf, ULONG cb) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__SetCtxAttrReq q = SSPIW__SET_CTX_ATTR_REQ__INIT;
        Sspiw__Handle wh;
        uint8_t flat[WIRE_MAX_SET_CTX_ATTR];
        SECURITY_STATUS st;

        if (attr == SECPKG_ATTR_KEYING_MATERIAL_INFO)
                return keying_info_set(h, buf, cb);
        if (!h || !SecIsValidHandle(h))
                return SEC_E_INVALID_HANDLE;
        if ((!buf && cb) || cb > WIRE_MAX_SET_CTX_ATTR)
                return SEC_E_INVALID_PARAMETER;
        handle_to_wire(h, &wh);
        q.ctx = &wh;
        q.attr = attr;
        q.data.data = buf;
        q.data.len = cb;
        if (attr == SECPKG_ATTR_APP_DATA || attr == SECPKG_ATTR_EAP_PRF_INFO) {
                st = flatten(buf, cb, flat, &q.data.len);
                if (st != SEC_E_OK)
                        return st;
                q.data.data = flat;
        }
        req.body_case = SSPIW__ENVELOPE__BODY_SET_CTX_ATTR;
        req.set_ctx_attr = &q;
        /* What the library kept of the context's answers may change (a
         * DTLS MTU changes STREAM_SIZES). */
        handles_attr_forget(h);
        return call_run(NULL, &req, set_finish, NULL, 0);
}

_public_ SECURITY_STATUS SetContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        return set_ctx_attr(phContext, ulAttribute, pBuffer, cbBuffer);
}

_public_ SECURITY_STATUS SetContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        return set_ctx_attr(phContext, ulAttribute, pBuffer, cbBuffer);
}
