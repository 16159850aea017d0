/* SPDX-License-Identifier: MIT */
/*
 * ChangeAccountPassword. Twin of client-lib/chpass.c.
 *
 * Anybody who knows an account's password may change it (that is what the
 * password server checks), so the daemon adds no grant. What it does add is
 * a budget per uid (policy/attempts.h): without one, any local user could
 * ask it to test passwords against the KDC as fast as workers run. Every
 * attempt is logged with the caller and the account, never a password.
 */
#include "core/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "core/server.h"
#include "policy/attempts.h"
#include "rpc/rpc.h"

/* A NUL-terminated copy of a password the caller gave, wiped and freed with
 * the job. NULL when it holds a NUL (no Windows string does) or memory is
 * short; *ret_bad tells which. */
static char *password_copy(Job *job, const ProtobufCBinaryData *b, bool *ret_bad) {
        char *s;

        if (memchr(b->data, 0, b->len)) {
                *ret_bad = true;
                return NULL;
        }
        s = malloc(b->len + 1);
        if (!s)
                return NULL;
        memcpy(s, b->data, b->len);
        s[b->len] = 0;
        job_defer_free(job, s); /* job_free wipes deferred memory */
        return s;
}

static void wipe_request(const Sspiw__ChangePasswordReq *q) {
        if (q->has_old_password)
                explicit_bzero(q->old_password.data, q->old_password.len);
        if (q->has_new_password)
                explicit_bzero(q->new_password.data, q->new_password.len);
}

static SECURITY_STATUS change(Job *job, const Sspiw__ChangePasswordReq *q, PkgChangePassword *c) {
        const Caller *caller = &job->conn->caller;
        const Provider *p = provider_find(q->package);
        static const ProtobufCBinaryData empty = { 0, NULL };
        bool bad = false;
        Config *cfg;
        SECURITY_STATUS st;

        if (!p)
                return SEC_E_SECPKG_NOT_FOUND;
        if (!p->change_password)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!q->account || !*q->account)
                return SEC_E_INVALID_PARAMETER;
        c->old_password = password_copy(job, q->has_old_password ? &q->old_password : &empty, &bad);
        c->new_password = password_copy(job, q->has_new_password ? &q->new_password : &empty, &bad);
        if (!c->old_password || !c->new_password)
                return bad ? SEC_E_INVALID_PARAMETER : SEC_E_INSUFFICIENT_MEMORY;
        if (!attempts_take(caller->uid)) {
                log_fields(LOG_WARNING,
                           &(LogFields) { .uid = caller->uid, .pid = caller->pid, .package = p->name,
                                          .call = "ChangeAccountPassword", .principal = q->account,
                                          .has_status = true, .status = SEC_E_LOGON_DENIED, .audit = true },
                           "ChangeAccountPassword of %s by uid %lu refused: too many failed attempts (at most %u, "
                           "one more every %u s); the KDC was not asked",
                           LOG_NAME(q->account), (unsigned long) caller->uid, ATTEMPTS_BURST, ATTEMPTS_REFILL_SEC);
                return SEC_E_LOGON_DENIED;
        }
        cfg = server_config(job->conn->server);
        c->caller = caller;
        c->config = cfg;
        c->domain = q->domain;
        c->account = q->account;
        c->impersonating = q->impersonating;
        st = p->change_password(c);
        config_unref(cfg);
        if (!c->guessed)
                attempts_refund(caller->uid);
        log_fields(st == SEC_E_OK ? LOG_NOTICE : LOG_WARNING,
                   &(LogFields) { .uid = caller->uid, .pid = caller->pid, .package = p->name,
                                  .call = "ChangeAccountPassword", .principal = q->account, .has_status = true,
                                  .status = st, .audit = true },
                   "ChangeAccountPassword of %s%s%s by uid %lu pid %ld (%s): %s, 0x%08x",
                   q->domain && *q->domain ? LOG_NAME(q->domain) : "", q->domain && *q->domain ? "\\" : "",
                   LOG_NAME(q->account), (unsigned long) caller->uid, (long) caller->pid, p->name,
                   st == SEC_E_OK ? "changed" : "failed", (unsigned) st);
        return st;
}

SECURITY_STATUS rpc_change_password(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__ChangePasswordReq *q = job->req->change_password;
        PkgChangePassword c = {};
        Sspiw__ChangePasswordRep *rep;
        SECURITY_STATUS st;

        st = change(job, q, &c);
        wipe_request(q);
        /* The policy travels with a refusal too (Windows fills the
         * response when the server explained itself). */
        if (st != SEC_E_OK && !c.has_response)
                return st;
        rep = malloc(sizeof(*rep) + sizeof(c.response));
        if (!rep)
                return st != SEC_E_OK ? st : SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__change_password_rep__init(rep);
        if (c.has_response && q->want_response) {
                memcpy(rep + 1, c.response, sizeof(c.response));
                rep->has_response = true;
                rep->response.data = (uint8_t *) (rep + 1);
                rep->response.len = sizeof(c.response);
        }
        reply->body_case = SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD_REP;
        reply->change_password_rep = rep;
        return st;
}
