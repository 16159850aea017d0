/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes, ordered on the credential. The client parsed
 * the caller's structure (client-lib/credattr.c); the package judges it.
 */
#include "core/dispatch.h"

#include <stdlib.h>

#include "util/log.h"

SECURITY_STATUS rpc_set_cred_attr(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__SetCredAttrReq *q = job->req->set_cred_attr;
        Object *o = job->order;
        PkgSetCredAttr a = {
                .attr = q->attr,
                .version = q->has_version ? q->version : 0,
                .flags = q->has_flags ? q->flags : 0,
                .proxy_server = q->proxy_server,
                .client_tls_cred = q->has_client_tls_cred ? q->client_tls_cred.data : NULL,
                .client_tls_cred_len = q->has_client_tls_cred ? q->client_tls_cred.len : 0,
                .words = q->words,
                .n_words = q->n_words,
        };
        Sspiw__SetCredAttrRep *rep;
        SECURITY_STATUS st;

        if (!o->in_table)
                return SEC_E_INVALID_HANDLE;
        if (q->n_words > SET_CRED_ATTR_MAX_ALGS)
                return SEC_E_INVALID_PARAMETER;
        if (!o->pkg->set_cred_attr)
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = o->pkg->set_cred_attr(o->state, &a);
        if (st != SEC_E_OK)
                return st;
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__set_cred_attr_rep__init(rep);
        reply->body_case = SSPIW__ENVELOPE__BODY_SET_CRED_ATTR_REP;
        reply->set_cred_attr_rep = rep;
        return SEC_E_OK;
}
