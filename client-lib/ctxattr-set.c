/* SPDX-License-Identifier: MIT */
/*
 * SetContextAttributes{A,W}. Schannel's KEYING_MATERIAL_INFO is kept by the
 * library (ctxattr.c, keying_info_set); any other attribute goes to the
 * daemon with the caller's cbBuffer bytes as given (at most
 * WIRE_MAX_SET_CTX_ATTR), and the package there parses them by the
 * attribute's documented layout and decides whether it takes the
 * attribute (daemon/rpc/ctxattr-set.c).
 *
 * Returns SEC_E_OK; SEC_E_INVALID_HANDLE for a handle that is not a live
 * context; SEC_E_INVALID_PARAMETER for a NULL buffer with a size, or one
 * larger than the wire takes; SEC_E_UNSUPPORTED_FUNCTION for an attribute
 * the context's package does not let be set; the package's own status for
 * a value it refuses.
 */
#include "internal.h"

#include "wire.h"

static SECURITY_STATUS set_finish(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        (void) state;
        if (st == SEC_E_OK && (!rep || rep->body_case != SSPIW__ENVELOPE__BODY_SET_CTX_ATTR_REP))
                return SEC_E_INTERNAL_ERROR;
        return st;
}

static SECURITY_STATUS set_ctx_attr(PCtxtHandle h, ULONG attr, void *buf, ULONG cb) {
        Sspiw__Envelope req = SSPIW__ENVELOPE__INIT;
        Sspiw__SetCtxAttrReq q = SSPIW__SET_CTX_ATTR_REQ__INIT;
        Sspiw__Handle wh;

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
        req.body_case = SSPIW__ENVELOPE__BODY_SET_CTX_ATTR;
        req.set_ctx_attr = &q;
        return call_run(NULL, &req, set_finish, NULL, 0);
}

_public_ SECURITY_STATUS SetContextAttributesA(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        return set_ctx_attr(phContext, ulAttribute, pBuffer, cbBuffer);
}

_public_ SECURITY_STATUS SetContextAttributesW(PCtxtHandle phContext, ULONG ulAttribute, void *pBuffer, ULONG cbBuffer) {
        return set_ctx_attr(phContext, ulAttribute, pBuffer, cbBuffer);
}
