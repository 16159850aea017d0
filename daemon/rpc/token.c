/* SPDX-License-Identifier: MIT */
/*
 * SECPKG_ATTR_ACCESS_TOKEN: the local account the client of an accepted
 * context maps to, which the client library makes into the token handle
 * of QuerySecurityContextToken and ImpersonateSecurityContext. Twin of
 * client-lib/token.c. The daemon only names the account; it never changes
 * anyone's identity (the caller's process does, with its own privileges).
 */
#include "core/dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/localuser.h"
#include "core/server.h"
#include "policy/config.h"
#include "rpc/rpc.h"
#include "util/log.h"

static void attr_free(PkgCtxAttr *a) {
        free(a->user_name);
        free(a->client_name);
        free(a->server_name);
        free_secret(a->session_key, a->session_key_len);
        free(a->blob);
}

SECURITY_STATUS rpc_query_ctx_token(Job *job, Object *o, Sspiw__QueryCtxAttrRep *rep) {
        PkgCtxAttr a = { 0 };
        LocalUser u = { 0 };
        Sspiw__LocalAccount *acc;
        const Provider *shown;
        unsigned forms = LOCALUSER_DOMAIN_USER;
        SECURITY_STATUS st;
        Config *cfg;
        int r;

        /* A partial context answers as it does for NAMES; a client
         * context has no client to stand for (Windows builds tokens on
         * the accepting side only). */
        if (!o->complete)
                return SEC_E_INVALID_HANDLE;
        if (!o->inbound)
                return SEC_E_NO_IMPERSONATION;
        /* Schannel's client is a certificate subject: no certificate
         * mapping here (Windows maps through AD or IIS rules). */
        if (o->pkg->capabilities & SECPKG_FLAG_STREAM)
                return SEC_E_UNSUPPORTED_FUNCTION;
        /* The package that authenticated the client decides the forms its
         * name may take (Negotiate: the one it chose). */
        shown = o->pkg->negotiated ? o->pkg->negotiated(o->state) : NULL;
        if (!shown)
                shown = o->pkg;
        if (!strcmp(shown->name, "Kerberos"))
                forms |= LOCALUSER_PRINCIPAL; /* and DOMAIN\user from a PAC */
        st = o->pkg->query_ctx(o->state, SECPKG_ATTR_NAMES, &a);
        if (st != SEC_E_OK) {
                attr_free(&a);
                return st;
        }
        cfg = server_config(job->conn->server);
        r = localuser_lookup(a.user_name, forms, cfg, &u);
        config_unref(cfg);
        if (r < 0) {
                log_info("conn %llu: %s client %s has no local account (%s)", (unsigned long long) job->conn->serial,
                         o->pkg->name, LOG_NAME(a.user_name ? a.user_name : ""),
                         r == -ENOENT ? "not known here" : r == -EINVAL ? "not a user name" : strerror(-r));
                attr_free(&a);
                if (r == -ENOMEM)
                        return SEC_E_INSUFFICIENT_MEMORY;
                /* Windows' status for a client that cannot be impersonated
                 * (ImpersonateSecurityContext); a directory that does not
                 * answer is that too, for now. */
                return SEC_E_NO_IMPERSONATION;
        }
        attr_free(&a);

        acc = malloc(sizeof(*acc));
        if (!acc) {
                local_user_done(&u);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, acc);
        sspiw__local_account__init(acc);
        acc->name = TAKE_PTR(u.name);
        job_defer_free(job, acc->name);
        acc->uid = (uint32_t) u.uid;
        acc->gid = (uint32_t) u.gid;
        if (u.n_groups) {
                uint32_t *g = calloc(u.n_groups, sizeof(uint32_t));
                if (!g) {
                        local_user_done(&u);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                job_defer_free(job, g);
                for (size_t i = 0; i < u.n_groups; i++)
                        g[i] = (uint32_t) u.groups[i];
                acc->groups = g;
                acc->n_groups = u.n_groups;
        }
        local_user_done(&u);
        rep->account = acc;
        return SEC_E_OK;
}
