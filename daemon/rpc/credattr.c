/* SPDX-License-Identifier: MIT */
/*
 * SetCredentialsAttributes and AddCredentials, ordered on the credential.
 * The client parsed the caller's structure (client-lib/credattr.c); the
 * package judges it.
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

/*
 * AddCredentials. `added` is a credential this connection acquired a
 * moment ago (the library's, for the identity the caller named), of the
 * same package: it is looked up in this connection's table only, so a
 * handle of another connection (another uid) is SEC_E_INVALID_HANDLE like
 * any other. The package moves what `added` holds into the credential
 * (it may talk to the KDC: this runs on a worker).
 */
SECURITY_STATUS rpc_add_cred(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__AddCredReq *q = job->req->add_cred;
        const Caller *caller = &job->conn->caller;
        Object *o = job->order, *added;
        Sspiw__AddCredRep *rep;
        SECURITY_STATUS st;

        if (!o->in_table)
                return SEC_E_INVALID_HANDLE;
        if (!q->added) {
                if (!o->pkg->add_cred)
                        return SEC_E_UNSUPPORTED_FUNCTION;
                rep = malloc(sizeof(*rep));
                if (!rep)
                        return SEC_E_INSUFFICIENT_MEMORY;
                job_defer_free(job, rep);
                sspiw__add_cred_rep__init(rep);
                reply->body_case = SSPIW__ENVELOPE__BODY_ADD_CRED_REP;
                reply->add_cred_rep = rep;
                return SEC_E_OK;
        }
        added = job_lookup(job, q->added, OBJECT_CREDENTIAL);
        if (!added || added == o) {
                object_unref(added);
                return SEC_E_INVALID_HANDLE;
        }
        if (added->pkg != o->pkg)
                st = SEC_E_SECPKG_NOT_FOUND;
        else if (!o->pkg->add_cred)
                st = SEC_E_UNSUPPORTED_FUNCTION;
        else
                st = o->pkg->add_cred(o->state, added->state);
        /* The credential's identity is now the added one: so is its expiry. */
        if (st == SEC_E_OK)
                o->expiry = added->expiry;
        if (st == SEC_E_OK)
                log_fields(LOG_INFO,
                           &(LogFields) { .uid = caller->uid, .pid = caller->pid, .package = o->pkg->name,
                                          .call = job->rpc->name, .principal = added->principal, .audit = true },
                           "uid %u pid %d added the identity %s to a %s credential", (unsigned) caller->uid,
                           (int) caller->pid, added->principal ? LOG_NAME(added->principal) : "(default identity)",
                           o->pkg->name);
        object_unref(added);
        if (st != SEC_E_OK)
                return st;
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__add_cred_rep__init(rep);
        rep->expiry = o->expiry;
        reply->body_case = SSPIW__ENVELOPE__BODY_ADD_CRED_REP;
        reply->add_cred_rep = rep;
        return SEC_E_OK;
}
