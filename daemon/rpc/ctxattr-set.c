/* SPDX-License-Identifier: MIT */
/*
 * SetContextAttributes, ordered on the context. The client sends the
 * caller's bytes as given (client-lib/ctxattr.c); the package parses them
 * by the attribute's documented layout and judges them.
 */
#include "core/dispatch.h"

#include <stdlib.h>

SECURITY_STATUS rpc_set_ctx_attr(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__SetCtxAttrReq *q = job->req->set_ctx_attr;
        Object *o = job->order;
        Sspiw__SetCtxAttrRep *rep;
        SECURITY_STATUS st;

        if (!o->in_table || !o->state)
                return SEC_E_INVALID_HANDLE;
        /* Windows: an attribute the package does not let be set. */
        if (!o->pkg->set_ctx_attr)
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = o->pkg->set_ctx_attr(o->state, q->attr, q->data.data, q->data.len);
        if (st != SEC_E_OK)
                return st;
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__set_ctx_attr_rep__init(rep);
        reply->body_case = SSPIW__ENVELOPE__BODY_SET_CTX_ATTR_REP;
        reply->set_ctx_attr_rep = rep;
        return SEC_E_OK;
}
