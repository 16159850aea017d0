/* SPDX-License-Identifier: MIT */
/*
 * AcquireCredentialsHandle, FreeCredentialsHandle, QueryCredentialsAttributes.
 * Twin of client-lib/credentials.c.
 */
#include "core/dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "core/server.h"
#include "rpc/rpc.h"

#define KNOWN_CRED_USE (SECPKG_CRED_BOTH | SECPKG_CRED_DEFAULT | SECPKG_CRED_AUTOLOGON_RESTRICTED | \
                        SECPKG_CRED_PROCESS_POLICY_ONLY)

/* The ccache image holds session keys: wiped on every return. */
static void ccache_image_wipe(const Sspiw__AcquireCredReq **a) {
        if (*a && (*a)->has_ccache_image)
                explicit_bzero((*a)->ccache_image.data, (*a)->ccache_image.len);
}

/* The checks that come before any work, the get_key step included: the
 * package, the use, and who may act for another logon session. SEC_E_OK
 * with the uid to act as, or the status that refuses the call. */
static SECURITY_STATUS acquire_check(Job *job, const Config *cfg, uid_t *ret_act_as) {
        const Sspiw__AcquireCredReq *a = job->req->acquire_cred;
        const Caller *caller = &job->conn->caller;

        if (!provider_find(a->package))
                return SEC_E_SECPKG_NOT_FOUND;
        if ((a->use & ~KNOWN_CRED_USE) != 0)
                return SEC_E_UNKNOWN_CREDENTIALS;
        /* Neither INBOUND nor OUTBOUND: nothing to acquire (Windows-verified
         * for Schannel in Wine's schannel.c testAcquireSecurityContext). */
        if ((a->use & SECPKG_CRED_BOTH) == 0)
                return SEC_E_NO_CREDENTIALS;
        *ret_act_as = caller->uid;
        /* pvLogonId names another logon session: the Windows SE_TCB_NAME
         * case. Here a logon session is a uid; only root and the
         * configured tcb principals may act for another one. */
        if (a->has_logon_id && a->logon_id != caller->uid) {
                if (caller->uid != 0 && !principals_match(&cfg->tcb, caller))
                        return SEC_E_NOT_OWNER;
                if (a->logon_id > UINT32_MAX - 1)
                        return SEC_E_NO_CREDENTIALS;
                *ret_act_as = (uid_t) a->logon_id;
        }
        return SEC_E_OK;
}

static bool acquire_needs_key(const Sspiw__AcquireCredReq *a) {
        return a->identity && !a->identity->has_password && a->has_get_key_cookie && a->get_key_cookie != 0;
}

bool acquire_cred_wants_key(Job *job, uint64_t *ret_cookie, const char **ret_principal) {
        const Sspiw__AcquireCredReq *a;
        Config *cfg;
        uid_t act_as;
        SECURITY_STATUS st;

        if (job->req->body_case != SSPIW__ENVELOPE__BODY_ACQUIRE_CRED || job->getkey_done)
                return false;
        a = job->req->acquire_cred;
        if (!acquire_needs_key(a))
                return false;
        /* A call refused anyway is refused without asking the client. */
        cfg = server_config(job->conn->server);
        st = acquire_check(job, cfg, &act_as);
        config_unref(cfg);
        if (st != SEC_E_OK)
                return false;
        *ret_cookie = a->get_key_cookie;
        *ret_principal = a->principal ? a->principal : a->identity->user;
        return true;
}

typedef struct Delegated {
        char *user, *domain;
        uint8_t *password;
        size_t password_len;
} Delegated;

static void delegated_done(Delegated *d) {
        free(d->user);
        free(d->domain);
        if (d->password) {
                explicit_bzero(d->password, d->password_len);
                free(d->password);
        }
}

/* The credentials delegated to a->delegated_from: a complete context
 * this connection accepted, of a package that keeps delegated
 * credentials (CredSSP), for an outbound credential of another package. */
static SECURITY_STATUS delegated_identity(Job *job, const Sspiw__AcquireCredReq *a, Delegated *ret) {
        Object *ctx;
        SECURITY_STATUS st;

        if (a->identity || a->schannel || a->use != SECPKG_CRED_OUTBOUND)
                return SEC_E_UNKNOWN_CREDENTIALS;
        ctx = job_lookup(job, a->delegated_from, OBJECT_CONTEXT);
        if (!ctx)
                return SEC_E_INVALID_HANDLE;
        if (!ctx->pkg->delegated || !ctx->inbound || !ctx->complete)
                st = SEC_E_UNKNOWN_CREDENTIALS;
        else
                st = ctx->pkg->delegated(ctx->state, &ret->user, &ret->domain, &ret->password, &ret->password_len);
        object_unref(ctx);
        return st;
}

SECURITY_STATUS rpc_acquire_cred(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__AcquireCredReq *a _cleanup_(ccache_image_wipe) = job->req->acquire_cred;
        const Caller *caller = &job->conn->caller;
        const Provider *pkg = provider_find(a->package);
        Sspiw__AcquireCredRep *rep;
        Sspiw__Handle *h;
        PkgAcquire acq = { 0 };
        Delegated del _cleanup_(delegated_done) = { 0 };
        Object *o = NULL;
        void *state = NULL;
        int64_t expiry = FILETIME_NEVER;
        Config *cfg;
        SECURITY_STATUS st;
        int r;

        cfg = server_config(job->conn->server);
        st = acquire_check(job, cfg, &acq.act_as_uid);
        if (st != SEC_E_OK) {
                config_unref(cfg);
                return st;
        }
        acq.caller = caller;
        acq.config = cfg;
        acq.principal = a->principal;
        acq.use = a->use & SECPKG_CRED_BOTH;
        if (a->has_ccache_image) {
                acq.ccache_image = a->ccache_image.data;
                acq.ccache_image_len = a->ccache_image.len;
        }
        acq.kcm_name = a->kcm_name;
        acq.kcm_fd = job->passed_fd;
        acq.schannel = a->schannel;
        if (a->delegated_from) {
                /* SEC_DELEGATED_CONTEXT_CRED: the identity a CredSSP
                 * client delegated to one of this caller's accepted
                 * contexts; it never leaves the daemon. */
                st = delegated_identity(job, a, &del);
                if (st != SEC_E_OK) {
                        config_unref(cfg);
                        return st;
                }
                acq.has_identity = true;
                acq.user = del.user;
                acq.domain = del.domain;
                acq.password = del.password;
                acq.password_len = del.password_len;
        } else if (a->identity) {
                acq.has_identity = true;
                acq.user = a->identity->user;
                acq.domain = a->identity->domain;
                acq.package_list = a->identity->package_list;
                if (a->identity->has_password) {
                        acq.password = a->identity->password.data;
                        acq.password_len = a->identity->password.len;
                } else if (acquire_needs_key(a)) {
                        /* No password: the caller's pGetKeyFn supplied it
                         * before the job started (getkey.c); job_free wipes
                         * it. */
                        st = job->getkey_done ? job->getkey_status : SEC_E_INTERNAL_ERROR;
                        if (st == SEC_E_OK && !job->secret)
                                st = SEC_E_NO_CREDENTIALS;
                        if (st != SEC_E_OK) {
                                config_unref(cfg);
                                return st;
                        }
                        acq.password = job->secret;
                        acq.password_len = job->secret_len;
                }
        }

        pthread_mutex_lock(&job->conn->lock);
        r = conn_may_add_object(job->conn, cfg) ? 0 : -ENOSPC;
        pthread_mutex_unlock(&job->conn->lock);
        st = r < 0 ? SEC_E_INSUFFICIENT_MEMORY : pkg->acquire(&acq, &state, &expiry);

        /* The password travelled in the request; nothing keeps it but the
         * package's own copy. */
        if (a->identity && a->identity->has_password)
                explicit_bzero(a->identity->password.data, a->identity->password.len);
        config_unref(cfg);
        if (st != SEC_E_OK)
                return st;

        o = object_new(OBJECT_CREDENTIAL, pkg);
        rep = malloc(sizeof(*rep));
        h = malloc(sizeof(*h));
        if (!o || !rep || !h) {
                free(rep);
                free(h);
                pkg->cred_free(state);
                free(o);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, rep);
        job_defer_free(job, h);
        o->state = state;
        o->use = acq.use;
        o->expiry = expiry;
        /* The name sspictl shows and the audit line records. */
        if (pkg->cred_name && pkg->cred_name(state, &o->principal) != SEC_E_OK)
                o->principal = NULL;
        if (!o->principal && a->principal)
                o->principal = strdup(a->principal);
        r = job_add_object(job, o);
        if (r < 0) {
                object_unref(o);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        log_fields(LOG_INFO,
                   &(LogFields) { .uid = caller->uid, .pid = caller->pid, .package = pkg->name,
                                  .call = job->rpc->name, .principal = o->principal, .audit = true },
                   "uid %u pid %d acquired a credential (%s, %s) for %s%s", (unsigned) caller->uid, (int) caller->pid,
                   acq.use == SECPKG_CRED_BOTH ? "two-way" : acq.use & SECPKG_CRED_INBOUND ? "inbound" : "outbound",
                   pkg->name, o->principal ? LOG_NAME(o->principal) : "(default identity)",
                   acq.act_as_uid != caller->uid ? " (acting for another uid)" : "");
        sspiw__acquire_cred_rep__init(rep);
        sspiw__handle__init(h);
        object_to_handle(o, h);
        rep->cred = h;
        rep->expiry = expiry;
        reply->body_case = SSPIW__ENVELOPE__BODY_ACQUIRE_CRED_REP;
        reply->acquire_cred_rep = rep;
        return SEC_E_OK;
}

SECURITY_STATUS rpc_free_cred(Job *job, Sspiw__Envelope *reply) {
        static Sspiw__FreeCredRep rep = SSPIW__FREE_CRED_REP__INIT;
        Object *o = job->order;

        if (!rpc_object_take(job->conn, o))
                return SEC_E_INVALID_HANDLE; /* freed by an earlier call queued before us */
        object_unref(o); /* the table's reference; contexts may still hold theirs */
        reply->body_case = SSPIW__ENVELOPE__BODY_FREE_CRED_REP;
        reply->free_cred_rep = &rep;
        return SEC_E_OK;
}

/* A credential attribute made of DWORDs (Schannel's SUPPORTED_PROTOCOLS,
 * CIPHER_STRENGTHS, SUPPORTED_ALGS). */
static SECURITY_STATUS query_cred_words(Job *job, Object *o, uint32_t attr, Sspiw__Envelope *reply) {
        Sspiw__QueryCredAttrRep *rep;
        uint32_t *words;
        size_t n = 0;
        SECURITY_STATUS st;

        if (!o->pkg->cred_attr)
                return SEC_E_UNSUPPORTED_FUNCTION;
        words = calloc(PKG_CRED_ATTR_WORDS, sizeof(*words));
        rep = malloc(sizeof(*rep));
        if (!words || !rep) {
                free(words);
                free(rep);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, words);
        job_defer_free(job, rep);
        st = o->pkg->cred_attr(o->state, attr, words, &n);
        if (st != SEC_E_OK)
                return st;
        sspiw__query_cred_attr_rep__init(rep);
        rep->n_words = n < PKG_CRED_ATTR_WORDS ? n : PKG_CRED_ATTR_WORDS;
        rep->words = words;
        reply->body_case = SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR_REP;
        reply->query_cred_attr_rep = rep;
        return SEC_E_OK;
}

SECURITY_STATUS rpc_query_cred_attr(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__QueryCredAttrReq *q = job->req->query_cred_attr;
        Object *o = job->order;
        Sspiw__QueryCredAttrRep *rep;
        char *name = NULL;
        SECURITY_STATUS st;

        if (!o->in_table)
                return SEC_E_INVALID_HANDLE;
        if (q->attr != SECPKG_CRED_ATTR_NAMES)
                return query_cred_words(job, o, q->attr, reply);
        if (!o->pkg->cred_name)
                return SEC_E_UNSUPPORTED_FUNCTION;
        st = o->pkg->cred_name(o->state, &name);
        if (st != SEC_E_OK)
                return st;
        job_defer_free(job, name);
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__query_cred_attr_rep__init(rep);
        rep->user_name = name;
        reply->body_case = SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR_REP;
        reply->query_cred_attr_rep = rep;
        return SEC_E_OK;
}
