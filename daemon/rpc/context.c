/* SPDX-License-Identifier: MIT */
/*
 * Security contexts: InitializeSecurityContext, AcceptSecurityContext,
 * CompleteAuthToken, DeleteSecurityContext, QueryContextAttributes,
 * ExportSecurityContext, ImportSecurityContext. Twin of client-lib/context.c.
 */
#include "core/dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/exports.h"
#include "core/server.h"
#include "packages/msg-keys.h"
#include "policy/quota.h"
#include "rpc/rpc.h"
#include "util/log.h"

#define EXPORT_MAGIC "SSPIDX1:"
#define EXPORT_MAGIC_LEN 8

Sspiw__PackageInfo *package_info_new(Job *job, const Provider *p);

/* The name sspictl shows for a context (the target of a client context,
 * the authenticated client of an accepted one) and the audit line of every
 * accepted context. Names only, never keys. */
static void describe_ctx(Job *job, Object *ctx, bool accept, const char *target) {
        const Caller *caller = &job->conn->caller;
        char *name = NULL;

        if (!accept)
                name = target ? strdup(target) : NULL;
        else if (ctx->complete) {
                PkgCtxAttr a = { 0 };

                if (ctx->pkg->query_ctx && ctx->pkg->query_ctx(ctx->state, SECPKG_ATTR_NAMES, &a) == SEC_E_OK)
                        name = TAKE_PTR(a.user_name);
                free(a.user_name);
                free(a.client_name);
                free(a.server_name);
                free_secret(a.session_key, a.session_key_len);
                log_fields(LOG_INFO,
                           &(LogFields) { .uid = caller->uid, .pid = caller->pid, .package = ctx->pkg->name,
                                          .call = job->rpc->name, .principal = name, .audit = true },
                           "uid %u pid %d accepted a %s context from %s", (unsigned) caller->uid, (int) caller->pid,
                           ctx->pkg->name, name ? LOG_NAME(name) : "(unnamed client)");
        }
        if (!name)
                return;
        pthread_mutex_lock(&job->conn->lock);
        if (!ctx->principal)
                ctx->principal = TAKE_PTR(name);
        pthread_mutex_unlock(&job->conn->lock);
        free(name);
}

/* Wire buffers of a request -> package buffers (no copies: the request
 * outlives the handler). */
static PkgBuffer *pkg_buffers_from_wire(Job *job, Sspiw__Buffer **w, size_t n, bool output) {
        PkgBuffer *b = calloc(n ? n : 1, sizeof(*b));

        if (!b)
                return NULL;
        job_defer_free(job, b);
        for (size_t i = 0; i < n; i++) {
                b[i].type = w[i]->type;
                if (output) {
                        b[i].cap = w[i]->has_size ? w[i]->size : 0;
                        b[i].allocate = !w[i]->has_size;
                } else if (w[i]->has_data) {
                        b[i].data = w[i]->data.data;
                        b[i].len = b[i].cap = w[i]->data.len;
                }
        }
        return b;
}

static void pkg_buffers_release(PkgBuffer *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i].owned) {
                        free(b[i].data);
                        b[i].owned = false;
                        b[i].data = NULL;
                }
}

/* Package buffers -> reply buffers. Output data is referenced, so the
 * package-owned memory is handed to the job to free after sending. */
static Sspiw__Buffer **wire_buffers_from_pkg(Job *job, PkgBuffer *b, size_t n, bool with_data) {
        Sspiw__Buffer *w = calloc(n ? n : 1, sizeof(*w));
        Sspiw__Buffer **pw = calloc(n ? n : 1, sizeof(*pw));

        if (!w || !pw) {
                free(w);
                free(pw);
                return NULL;
        }
        job_defer_free(job, w);
        job_defer_free(job, pw);
        for (size_t i = 0; i < n; i++) {
                uint32_t base = pkg_buffer_base_type(&b[i]);

                sspiw__buffer__init(&w[i]);
                w[i].type = b[i].type;
                if (base == SECBUFFER_MISSING || base == SECBUFFER_EXTRA) {
                        w[i].has_size = true;
                        w[i].size = b[i].count;
                } else if (with_data) {
                        w[i].has_data = true;
                        w[i].data.data = b[i].data;
                        w[i].data.len = b[i].len;
                }
                if (b[i].owned) {
                        job_defer_free(job, b[i].data);
                        b[i].owned = false;
                }
                pw[i] = &w[i];
        }
        return pw;
}

static bool has_alert(const PkgBuffer *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (pkg_buffer_base_type(&b[i]) == SECBUFFER_ALERT && b[i].len > 0)
                        return true;
        return false;
}

static bool input_changed(const PkgBuffer *b, Sspiw__Buffer **w, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i].type != w[i]->type)
                        return true;
        return false;
}

/* One ISC or ASC step. */
static SECURITY_STATUS ctx_step(Job *job, Sspiw__Envelope *reply, bool accept) {
        const Sspiw__InitCtxReq *ir = accept ? NULL : job->req->init_ctx;
        const Sspiw__AcceptCtxReq *ar = accept ? job->req->accept_ctx : NULL;
        const Sspiw__Handle *cred_h = accept ? ar->cred : ir->cred;
        Sspiw__Buffer **in_w = accept ? ar->input : ir->input;
        Sspiw__Buffer **out_w = accept ? ar->output : ir->output;
        size_t n_in = accept ? ar->n_input : ir->n_input;
        size_t n_out = accept ? ar->n_output : ir->n_output;
        Object *ctx = job->order, *cred = NULL, *created = NULL;
        const Provider *pkg;
        PkgStep step = { 0 };
        Sspiw__CtxStepRep *rep;
        Sspiw__Handle *h;
        Config *cfg;
        bool msg_caller = false;
        SECURITY_STATUS st;
        int r;

        if (ctx && (!ctx->in_table || !ctx->state))
                return SEC_E_INVALID_HANDLE; /* deleted by a call queued before us, or dead */
        if (ctx && ctx->inbound != accept)
                return SEC_E_INVALID_HANDLE; /* a client context passed to ASC or back */
        if (cred_h) {
                cred = job_lookup(job, cred_h, OBJECT_CREDENTIAL);
                if (!cred)
                        return SEC_E_INVALID_HANDLE;
        }
        if (!ctx && !cred)
                return SEC_E_INVALID_HANDLE;
        if (ctx && cred && cred->pkg != ctx->pkg) {
                object_unref(cred);
                return SEC_E_WRONG_CREDENTIAL_HANDLE;
        }
        if (!ctx && !(cred->use & (accept ? SECPKG_CRED_INBOUND : SECPKG_CRED_OUTBOUND))) {
                object_unref(cred);
                return SEC_E_NO_CREDENTIALS;
        }
        pkg = ctx ? ctx->pkg : cred->pkg;

        cfg = server_config(job->conn->server);
        step.caller = &job->conn->caller;
        step.config = cfg;
        step.cred = ctx ? (ctx->cred ? ctx->cred->state : NULL) : cred->state;
        step.ctx = ctx ? ctx->state : NULL;
        step.leg_cred = ctx && cred ? cred->state : NULL;
        step.target = accept ? NULL : ir->target;
        step.req_flags = accept ? ar->req_flags : ir->req_flags;
        step.data_rep = accept ? ar->data_rep : ir->data_rep;
        step.in = pkg_buffers_from_wire(job, in_w, n_in, false);
        step.n_in = n_in;
        step.out = pkg_buffers_from_wire(job, out_w, n_out, true);
        step.n_out = n_out;
        if (!step.in || !step.out) {
                config_unref(cfg);
                object_unref(cred);
                return SEC_E_INSUFFICIENT_MEMORY;
        }

        if (!ctx) {
                pthread_mutex_lock(&job->conn->lock);
                r = conn_may_add_object(job->conn, cfg) ? 0 : -ENOSPC;
                pthread_mutex_unlock(&job->conn->lock);
                if (r < 0) {
                        config_unref(cfg);
                        object_unref(cred);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
        }

        /* A later leg of a context whose records the library protects:
         * the library's numbers first. */
        const Sspiw__MsgKeys *lib_keys = accept ? ar->keys : ir->keys;
        bool follow = ctx && ctx->complete && pkg->msg_keys_follow;
        st = SEC_E_OK;
        if (lib_keys && (!follow || (st = rpc_take_msg_keys(ctx, lib_keys)) != SEC_E_OK)) {
                if (st == SEC_E_OK)
                        st = SEC_E_INVALID_TOKEN;
        } else if (accept ? !pkg->accept_ctx : !pkg->init_ctx)
                st = SEC_E_UNSUPPORTED_FUNCTION; /* a client-only or server-only package */
        else
                st = accept ? pkg->accept_ctx(&step) : pkg->init_ctx(&step);
        msg_caller = !cfg->message_in_daemon;
        config_unref(cfg);

        /* A slot with a size is caller memory; one without asked for
         * *_REQ_ALLOCATE_MEMORY. */
        for (size_t i = 0; st >= 0 && i < n_out; i++)
                if (out_w[i]->has_size && step.out[i].len > out_w[i]->size)
                        st = SEC_E_BUFFER_TOO_SMALL;

        if (ctx) {
                /* A later leg: the state may have been replaced. */
                ctx->state = step.ctx;
        } else if (step.ctx) {
                created = object_new(OBJECT_CONTEXT, pkg);
                if (!created) {
                        pkg->ctx_free(step.ctx);
                        st = SEC_E_INSUFFICIENT_MEMORY;
                } else {
                        created->state = step.ctx;
                        created->cred = object_ref(cred);
                        created->inbound = accept;
                        if (st < 0) {
                                /* A failed first leg leaves no context behind. */
                                object_unref(created);
                                created = NULL;
                        } else {
                                r = job_add_object(job, created);
                                if (r < 0) {
                                        object_unref(created);
                                        created = NULL;
                                        st = SEC_E_INSUFFICIENT_MEMORY;
                                }
                        }
                }
                ctx = created;
        }
        object_unref(cred);

        if (st < 0 && (has_alert(step.out, n_out) || step.clear_output)) {
                /* Schannel: a failed step returns the TLS alert it sent in
                 * the SECBUFFER_ALERT slot, and nothing else (the other
                 * slots go back empty). */
                rep = malloc(sizeof(*rep));
                if (!rep) {
                        pkg_buffers_release(step.out, n_out);
                        return st;
                }
                job_defer_free(job, rep);
                sspiw__ctx_step_rep__init(rep);
                for (size_t i = 0; i < n_out; i++)
                        if (pkg_buffer_base_type(&step.out[i]) != SECBUFFER_ALERT && step.out[i].owned) {
                                free(step.out[i].data);
                                step.out[i].data = NULL;
                                step.out[i].owned = false;
                                step.out[i].len = 0;
                        }
                rep->output = wire_buffers_from_pkg(job, step.out, n_out, true);
                if (!rep->output) {
                        pkg_buffers_release(step.out, n_out);
                        return st;
                }
                rep->n_output = n_out;
                reply->body_case = SSPIW__ENVELOPE__BODY_CTX_STEP_REP;
                reply->ctx_step_rep = rep;
                return st;
        }
        if (st < 0) {
                pkg_buffers_release(step.out, n_out);
                /* SEC_E_INCOMPLETE_MESSAGE: the SECBUFFER_MISSING count
                 * goes back in the input descriptor, without a context. */
                if (st == SEC_E_INCOMPLETE_MESSAGE && input_changed(step.in, in_w, n_in)) {
                        rep = malloc(sizeof(*rep));
                        if (!rep)
                                return st;
                        job_defer_free(job, rep);
                        sspiw__ctx_step_rep__init(rep);
                        rep->input = wire_buffers_from_pkg(job, step.in, n_in, false);
                        if (!rep->input)
                                return st;
                        rep->n_input = n_in;
                        reply->body_case = SSPIW__ENVELOPE__BODY_CTX_STEP_REP;
                        reply->ctx_step_rep = rep;
                }
                return st;
        }
        if (!ctx) {
                /* The package finished without keeping state: it owes a context. */
                pkg_buffers_release(step.out, n_out);
                return SEC_E_INTERNAL_ERROR;
        }
        /* Under the lock: `sspictl contexts` reads these on the loop thread. */
        pthread_mutex_lock(&job->conn->lock);
        ctx->attrs = step.ret_flags;
        ctx->expiry = step.expiry;
        /* Keys go to the library once, when the context completes: a
         * later leg (SPNEGO's final mechListMIC) must not rewind it. */
        msg_caller = msg_caller && ((st == SEC_E_OK && !ctx->complete) || follow);
        ctx->complete = st == SEC_E_OK;
        ctx->complete_needed = st == SEC_I_COMPLETE_NEEDED;
        pthread_mutex_unlock(&job->conn->lock);
        if (!ctx->principal)
                describe_ctx(job, ctx, accept, accept ? NULL : ir->target);

        rep = malloc(sizeof(*rep));
        h = malloc(sizeof(*h));
        if (!rep || !h) {
                free(rep);
                free(h);
                pkg_buffers_release(step.out, n_out);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, rep);
        job_defer_free(job, h);
        sspiw__ctx_step_rep__init(rep);
        sspiw__handle__init(h);
        object_to_handle(ctx, h);
        rep->ctx = h;
        rep->attrs = step.ret_flags;
        rep->has_expiry = true;
        rep->expiry = step.expiry;
        rep->output = wire_buffers_from_pkg(job, step.out, n_out, true);
        if (!rep->output) {
                pkg_buffers_release(step.out, n_out);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        rep->n_output = n_out;
        if (msg_caller)
                rep->msg_keys = rpc_msg_keys(job, ctx);
        if (input_changed(step.in, in_w, n_in)) {
                rep->input = wire_buffers_from_pkg(job, step.in, n_in, false);
                if (!rep->input)
                        return SEC_E_INSUFFICIENT_MEMORY;
                rep->n_input = n_in;
        }
        reply->body_case = SSPIW__ENVELOPE__BODY_CTX_STEP_REP;
        reply->ctx_step_rep = rep;
        return st;
}

SECURITY_STATUS rpc_init_ctx(Job *job, Sspiw__Envelope *reply) {
        return ctx_step(job, reply, false);
}

SECURITY_STATUS rpc_accept_ctx(Job *job, Sspiw__Envelope *reply) {
        return ctx_step(job, reply, true);
}

SECURITY_STATUS rpc_complete_token(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__CompleteTokenReq *q = job->req->complete_token;
        Object *o = job->order;
        Sspiw__CompleteTokenRep *rep;
        PkgBuffer *b;
        bool changed = false;
        SECURITY_STATUS st;

        if (!o->in_table)
                return SEC_E_INVALID_HANDLE;
        if (!o->pkg->complete)
                return SEC_E_UNSUPPORTED_FUNCTION;
        b = pkg_buffers_from_wire(job, q->token, q->n_token, false);
        rep = malloc(sizeof(*rep));
        if (!b || !rep) {
                free(rep);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, rep);
        sspiw__complete_token_rep__init(rep);
        st = o->pkg->complete(o->state, b, q->n_token);
        for (size_t i = 0; i < q->n_token; i++)
                changed = changed || b[i].owned;
        if (st >= 0 && changed) {
                /* Only what the package wrote travels back, by position. */
                rep->token = wire_buffers_from_pkg(job, b, q->n_token, true);
                if (!rep->token) {
                        pkg_buffers_release(b, q->n_token);
                        return SEC_E_INSUFFICIENT_MEMORY;
                }
                rep->n_token = q->n_token;
                for (size_t i = 0; i < q->n_token; i++)
                        if (b[i].data == q->token[i]->data.data) /* untouched: no data back */
                                rep->token[i]->has_data = false;
        } else
                pkg_buffers_release(b, q->n_token);
        if (st < 0)
                return st;
        /* The step that asked for it is finished now (Digest). */
        pthread_mutex_lock(&job->conn->lock);
        if (st == SEC_E_OK && o->complete_needed) {
                o->complete = true;
                o->complete_needed = false;
        }
        pthread_mutex_unlock(&job->conn->lock);
        reply->body_case = SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN_REP;
        reply->complete_token_rep = rep;
        return st;
}

SECURITY_STATUS rpc_delete_ctx(Job *job, Sspiw__Envelope *reply) {
        static Sspiw__DeleteCtxRep rep = SSPIW__DELETE_CTX_REP__INIT;
        Object *o = job->order;

        if (!rpc_object_take(job->conn, o))
                return SEC_E_INVALID_HANDLE;
        object_unref(o);
        reply->body_case = SSPIW__ENVELOPE__BODY_DELETE_CTX_REP;
        reply->delete_ctx_rep = &rep;
        return SEC_E_OK;
}

static char *defer_str(Job *job, char *s) {
        if (s)
                job_defer_free(job, s);
        return s;
}

/*
 * Whether the client may keep this answer until the context's next leg
 * (ISC/ASC, ApplyControlToken: it invalidates its copy then). Only once the
 * handshake is complete, and for a stream package only STREAM_SIZES:
 * Schannel's names and keys change with a renegotiation or a TLS 1.3
 * KeyUpdate that DecryptMessage meets. Kerberos, NTLM, Negotiate and Digest fix these at
 * completion: the sizes follow from the enctype or the negotiated flags, the
 * names from the ticket or the AUTHENTICATE message, the lifespan from the
 * ticket (Kerberos) or the start time (NTLM, Digest: never expire).
 * FLAGS is left out (cheap, and ISC_RET_* may be rewritten by
 * CompleteAuthToken); SESSION_KEY never leaves policy's hands.
 */
static bool attr_fixed(const Object *o, uint32_t attr) {
        if (!o->complete)
                return false;
        /* A record's sizes follow from the suite, which only a
         * renegotiation (ISC/ASC legs) or SetContextAttributes (a DTLS MTU)
         * changes: both drop the client's copy. A KeyUpdate does not. */
        if (attr == SECPKG_ATTR_STREAM_SIZES)
                return true;
        if (o->pkg->capabilities & SECPKG_FLAG_STREAM)
                return false;
        switch (attr) {
        case SECPKG_ATTR_SIZES:
        case SECPKG_ATTR_NAMES:
        case SECPKG_ATTR_NATIVE_NAMES:
        case SECPKG_ATTR_LIFESPAN:
        case SECPKG_ATTR_PACKAGE_INFO:
        case SECPKG_ATTR_NEGOTIATION_INFO:
                return true;
        default:
                return false;
        }
}

SECURITY_STATUS rpc_query_ctx_attr(Job *job, Sspiw__Envelope *reply) {
        uint32_t attr = job->req->query_ctx_attr->attr;
        Object *o = job->order;
        Sspiw__QueryCtxAttrRep *rep;
        PkgCtxAttr a = { 0 };
        SECURITY_STATUS st = SEC_E_OK;

        /* A context whose package dropped its state after a failed leg
         * answers nothing but SEC_E_INVALID_HANDLE. */
        if (!o->in_table || !o->state)
                return SEC_E_INVALID_HANDLE;
        rep = malloc(sizeof(*rep));
        if (!rep)
                return SEC_E_INSUFFICIENT_MEMORY;
        job_defer_free(job, rep);
        sspiw__query_ctx_attr_rep__init(rep);

        switch (attr) {
        case SECPKG_ATTR_PACKAGE_INFO:
        case SECPKG_ATTR_NEGOTIATION_INFO: {
                /* Schannel (the stream package) has none on Windows (Wine's
                 * schannel.c test_communication). */
                if (attr == SECPKG_ATTR_NEGOTIATION_INFO && (o->pkg->capabilities & SECPKG_FLAG_STREAM))
                        return SEC_E_UNSUPPORTED_FUNCTION;
                const Provider *shown = o->pkg->negotiated ? o->pkg->negotiated(o->state) : NULL;

                rep->package = package_info_new(job, shown ? shown : o->pkg);
                if (!rep->package)
                        return SEC_E_INSUFFICIENT_MEMORY;
                if (attr == SECPKG_ATTR_NEGOTIATION_INFO) {
                        rep->has_nego_state = true;
                        rep->nego_state = o->complete ? SECPKG_NEGOTIATION_COMPLETE : SECPKG_NEGOTIATION_IN_PROGRESS;
                }
                break;
        }
        case SECPKG_ATTR_FLAGS:
                rep->has_flags = true;
                rep->flags = o->attrs;
                break;
        case SECPKG_ATTR_ACCESS_TOKEN:
                st = rpc_query_ctx_token(job, o, rep);
                if (st != SEC_E_OK)
                        return st;
                break;
        case SECPKG_ATTR_DCE_INFO:
                st = rpc_query_ctx_dce(job, o, rep);
                if (st != SEC_E_OK)
                        return st;
                break;
        case PKG_ATTR_TOKEN_SIDS:
                return SEC_E_UNSUPPORTED_FUNCTION; /* the daemon's own, never a caller's */
        case SECPKG_ATTR_SESSION_KEY: {
                Config *cfg = server_config(job->conn->server);
                bool allowed = principals_match(&cfg->session_key, &job->conn->caller);
                config_unref(cfg);
                /* Keys leave the daemon only where the config says so. */
                if (!allowed)
                        return SEC_E_NOT_OWNER;
        }
                /* fall through */
        default: {
                const Sspiw__QueryCtxAttrReq *q = job->req->query_ctx_attr;
                if (q->has_km_label && q->has_km_length) {
                        a.km_label = q->km_label.data;
                        a.km_label_len = q->km_label.len;
                        a.km_context = q->has_km_context ? q->km_context.data : NULL;
                        a.km_context_len = q->has_km_context ? q->km_context.len : 0;
                        a.km_length = q->km_length;
                }
        }
                st = o->pkg->query_ctx(o->state, attr, &a);
                if (st != SEC_E_OK) {
                        free(a.name);
                        free(a.user_name);
                        free(a.client_name);
                        free(a.server_name);
                        free_secret(a.session_key, a.session_key_len);
                        free(a.blob);
                        return st;
                }
                rep->name = defer_str(job, a.name);
                if (a.n_words) {
                        uint32_t *wd = malloc(sizeof(a.words));
                        if (!wd) {
                                free(a.blob);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                        job_defer_free(job, wd);
                        memcpy(wd, a.words, sizeof(a.words));
                        rep->n_words = a.n_words < 16 ? a.n_words : 16;
                        rep->words = wd;
                }
                if (a.has_blob && attr == SECPKG_ATTR_KEYING_MATERIAL && !job->secret) {
                        /* Exported keys: wiped with the reply, as a session key. */
                        job->secret = a.blob;
                        job->secret_len = a.blob_len;
                        rep->has_blob = true;
                        rep->blob.data = a.blob;
                        rep->blob.len = a.blob_len;
                } else if (a.has_blob) {
                        if (a.blob)
                                job_defer_free(job, a.blob);
                        rep->has_blob = true;
                        rep->blob.data = a.blob;
                        rep->blob.len = a.blob_len;
                }
                if (a.has_sizes) {
                        Sspiw__Sizes *sz = malloc(sizeof(*sz));
                        if (!sz)
                                return SEC_E_INSUFFICIENT_MEMORY;
                        job_defer_free(job, sz);
                        sspiw__sizes__init(sz);
                        sz->max_token = a.sizes.cbMaxToken;
                        sz->max_signature = a.sizes.cbMaxSignature;
                        sz->block_size = a.sizes.cbBlockSize;
                        sz->security_trailer = a.sizes.cbSecurityTrailer;
                        rep->sizes = sz;
                }
                rep->user_name = defer_str(job, a.user_name);
                rep->client_name = defer_str(job, a.client_name);
                rep->server_name = defer_str(job, a.server_name);
                if (a.has_lifespan) {
                        rep->has_start = rep->has_expiry = true;
                        rep->start = a.start;
                        rep->expiry = a.expiry;
                }
                if (a.has_flags) {
                        rep->has_flags = true;
                        rep->flags = a.flags;
                }
                if (a.session_key) {
                        rep->has_session_key = true;
                        rep->session_key.data = a.session_key;
                        rep->session_key.len = a.session_key_len;
                        job->secret = a.session_key;
                        job->secret_len = a.session_key_len;
                }
        }
        if (st == SEC_E_OK && attr_fixed(o, attr)) {
                rep->has_fixed = true;
                rep->fixed = true;
        }
        reply->body_case = SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP;
        reply->query_ctx_attr_rep = rep;
        return st;
}

/*
 * ExportSecurityContext never hands key material to the client: the
 * package serialises the context into daemon memory and the caller gets a
 * random ticket that only this daemon can redeem, once, within export-ttl
 * seconds, from a process of the same uid. A context has one export
 * waiting at most (a new one replaces it) and a uid quota-exports
 * (exports.c).
 *
 * A package whose state cannot be serialised (export_live: Schannel's
 * live TLS connection) hands the state itself, or a copy, to the store:
 * LiveExport keeps it with the credential it was made with.
 */
typedef struct LiveExport {
        const Provider *pkg;
        void *ctx;
        Object *cred; /* referenced: the state may use it (session cache) */
} LiveExport;

static void live_export_free(void *p) {
        LiveExport *l = p;

        l->pkg->ctx_free(l->ctx);
        object_unref(l->cred);
        free(l);
}

SECURITY_STATUS rpc_export_ctx(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__ExportCtxReq *q = job->req->export_ctx;
        Object *o = job->order;
        Sspiw__ExportCtxRep *rep;
        ExportState es = { 0 };
        LiveExport *live = NULL;
        uint8_t *packed;
        bool consumed = false, keep_old = !(q->flags & SECPKG_CONTEXT_EXPORT_DELETE_OLD);
        unsigned quota;
        Config *cfg;
        SECURITY_STATUS st;
        int r;

        if (!o->in_table || !o->state)
                return SEC_E_INVALID_HANDLE;
        if (q->flags & ~(uint32_t) (SECPKG_CONTEXT_EXPORT_RESET_NEW | SECPKG_CONTEXT_EXPORT_DELETE_OLD))
                return SEC_E_UNSUPPORTED_FUNCTION; /* TO_KERNEL has no meaning here */
        cfg = server_config(job->conn->server);
        r = cfg->export_policy == EXPORT_NEVER ? -EPERM : 0;
        quota = cfg->quota_exports;
        config_unref(cfg);
        if (r < 0)
                return SEC_E_NOT_OWNER;
        if (!o->pkg->export_ctx && !o->pkg->export_live)
                return SEC_E_UNSUPPORTED_FUNCTION;
        if (!o->complete)
                return o->pkg->export_partial ? o->pkg->export_partial : SEC_E_INVALID_HANDLE;
        if (q->keys && (st = rpc_take_msg_keys(o, q->keys)) != SEC_E_OK)
                return st;
        packed = malloc(EXPORT_MAGIC_LEN + EXPORT_TICKET_LEN);
        rep = malloc(sizeof(*rep));
        if (o->pkg->export_live)
                live = malloc(sizeof(*live));
        if (!packed || !rep || (o->pkg->export_live && !live)) {
                free(packed);
                free(rep);
                free(live);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, packed);
        job_defer_free(job, rep);

        /* Room first: the package may consume the context's state. */
        if (server_export_reserve(job->conn->server, job->conn->usage, o->id, quota) < 0) {
                free(live);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (live) {
                void *state = NULL;

                st = o->pkg->export_live(o->state, keep_old, &state, &consumed);
                if (st == SEC_E_OK) {
                        *live = (LiveExport) { o->pkg, state, o->cred ? object_ref(o->cred) : NULL };
                        es = (ExportState) { .live = live, .live_free = live_export_free };
                }
        } else
                st = o->pkg->export_ctx(o->state, keep_old, &es.blob, &es.len, &consumed);
        if (st != SEC_E_OK) {
                free(live);
                server_export_unreserve(job->conn->usage);
                if (consumed)
                        o->state = NULL; /* gone with the failure (Negotiate's inner context) */
                return st;
        }
        es.inbound = o->inbound;
        es.attrs = o->attrs;
        es.expiry = o->expiry;
        es.reset = q->flags & SECPKG_CONTEXT_EXPORT_RESET_NEW;
        memcpy(packed, EXPORT_MAGIC, EXPORT_MAGIC_LEN);
        r = server_export_put(job->conn->server, job->conn->usage, o->id, o->pkg->name, &es,
                              packed + EXPORT_MAGIC_LEN);
        if (r < 0) {
                server_export_unreserve(job->conn->usage);
                if (live && consumed) {
                        object_unref(live->cred); /* the state stays the exporter's */
                        free(live);
                } else {
                        export_state_release(&es);
                        if (consumed)
                                o->state = NULL; /* the package freed it */
                }
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        if (consumed)
                o->state = NULL;
        bool deleted = (!keep_old || consumed) && rpc_object_take(job->conn, o);
        if (deleted)
                object_unref(o);
        sspiw__export_ctx_rep__init(rep);
        rep->has_old_deleted = deleted; /* the client drops the handle too */
        rep->old_deleted = deleted;
        rep->packed.data = packed;
        rep->packed.len = EXPORT_MAGIC_LEN + EXPORT_TICKET_LEN;
        reply->body_case = SSPIW__ENVELOPE__BODY_EXPORT_CTX_REP;
        reply->export_ctx_rep = rep;
        return SEC_E_OK;
}

/* The state an export left: a blob the package reads back, or a live
 * state that becomes the new context as it is. */
static SECURITY_STATUS import_state(Job *job, const Provider *pkg, ExportState *es, void **ret_state,
                                    Object **ret_cred) {
        LiveExport *l = es->live;
        SECURITY_STATUS st;

        if (l) {
                *ret_state = l->ctx;
                *ret_cred = l->cred;
                free(l);
                *es = (ExportState) { 0 };
                if (pkg->import_moved)
                        pkg->import_moved(*ret_state, &job->conn->caller);
                return SEC_E_OK;
        }
        st = pkg->import_ctx ? pkg->import_ctx(es->blob, es->len, ret_state) : SEC_E_UNSUPPORTED_FUNCTION;
        export_state_release(es);
        return st;
}

SECURITY_STATUS rpc_import_ctx(Job *job, Sspiw__Envelope *reply) {
        const Sspiw__ImportCtxReq *q = job->req->import_ctx;
        const Provider *pkg = provider_find(q->package);
        Sspiw__ImportCtxRep *rep;
        Sspiw__Handle *h;
        ExportState es = { 0 };
        void *state = NULL;
        Object *o, *cred = NULL;
        Config *cfg;
        SECURITY_STATUS st;
        bool room, msg_caller, inbound, reset;
        uint32_t attrs;
        int64_t expiry;
        int r;

        if (!pkg)
                return SEC_E_SECPKG_NOT_FOUND;
        if (q->packed.len != EXPORT_MAGIC_LEN + EXPORT_TICKET_LEN ||
            memcmp(q->packed.data, EXPORT_MAGIC, EXPORT_MAGIC_LEN) != 0)
                return SEC_E_INVALID_TOKEN;
        /* An imported context is an object like any other: max-objects
         * and quota-objects, checked before the ticket is spent so that
         * the caller may free something and try again. */
        cfg = server_config(job->conn->server);
        pthread_mutex_lock(&job->conn->lock);
        room = conn_may_add_object(job->conn, cfg);
        pthread_mutex_unlock(&job->conn->lock);
        msg_caller = !cfg->message_in_daemon;
        config_unref(cfg);
        if (!room)
                return SEC_E_INSUFFICIENT_MEMORY;
        r = server_export_take(job->conn->server, pkg->name, job->conn->caller.uid, q->packed.data + EXPORT_MAGIC_LEN,
                               EXPORT_TICKET_LEN, &es);
        if (r == -EPERM)
                return SEC_E_NOT_OWNER;
        if (r < 0)
                return SEC_E_INVALID_TOKEN;
        inbound = es.inbound;
        attrs = es.attrs;
        expiry = es.expiry;
        reset = es.reset;
        st = import_state(job, pkg, &es, &state, &cred);
        if (st != SEC_E_OK)
                return st;
        if (reset && pkg->import_reset)
                pkg->import_reset(state);
        o = object_new(OBJECT_CONTEXT, pkg);
        rep = malloc(sizeof(*rep));
        h = malloc(sizeof(*h));
        if (!o || !rep || !h) {
                free(rep);
                free(h);
                free(o);
                pkg->ctx_free(state);
                object_unref(cred);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        job_defer_free(job, rep);
        job_defer_free(job, h);
        o->state = state;
        o->cred = cred;
        o->complete = true;
        o->inbound = inbound;
        o->attrs = attrs;
        o->expiry = expiry;
        r = job_add_object(job, o);
        if (r < 0) {
                object_unref(o);
                return SEC_E_INSUFFICIENT_MEMORY;
        }
        sspiw__import_ctx_rep__init(rep);
        sspiw__handle__init(h);
        object_to_handle(o, h);
        rep->ctx = h;
        /* The importing library takes the message keys, as the leg that
         * completed a context hands them over. */
        if (msg_caller)
                rep->keys = rpc_msg_keys(job, o);
        reply->body_case = SSPIW__ENVELOPE__BODY_IMPORT_CTX_REP;
        reply->import_ctx_rep = rep;
        return SEC_E_OK;
}

SECURITY_STATUS rpc_apply_control(Job *job, Sspiw__Envelope *reply) {
        static Sspiw__ApplyControlRep rep = SSPIW__APPLY_CONTROL_REP__INIT;
        const Sspiw__ApplyControlReq *q = job->req->apply_control;
        Object *o = job->order;
        PkgBuffer *b;
        SECURITY_STATUS st;

        if (!o->in_table || !o->state)
                return SEC_E_INVALID_HANDLE;
        if (!o->pkg->control)
                return SEC_E_UNSUPPORTED_FUNCTION;
        b = pkg_buffers_from_wire(job, q->input, q->n_input, false);
        if (!b)
                return SEC_E_INSUFFICIENT_MEMORY;
        st = o->pkg->control(o->state, b, q->n_input);
        if (st < 0)
                return st;
        reply->body_case = SSPIW__ENVELOPE__BODY_APPLY_CONTROL_REP;
        reply->apply_control_rep = &rep;
        return st;
}
