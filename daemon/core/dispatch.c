/* SPDX-License-Identifier: MIT */
#include "core/dispatch.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "policy/quota.h"
#include "core/server.h"
#include "core/stats.h"
#include "core/workers.h"

/*
 * Every RPC, once. The body case of the request selects the row; rows for
 * reply-only body cases stay empty, and a request naming one of them loses
 * its connection.
 */
static const RpcDesc rpc_table[] = {
        [SSPIW__ENVELOPE__BODY_HELLO] = { "Hello", rpc_hello, 0 },
        [SSPIW__ENVELOPE__BODY_ENUM_PACKAGES] = { "EnumerateSecurityPackages", rpc_enum_packages, 0 },
        [SSPIW__ENVELOPE__BODY_QUERY_PACKAGE] = { "QuerySecurityPackageInfo", rpc_query_package, 0 },
        [SSPIW__ENVELOPE__BODY_ACQUIRE_CRED] = { "AcquireCredentialsHandle", rpc_acquire_cred, RPC_MAY_BLOCK },
        [SSPIW__ENVELOPE__BODY_FREE_CRED] = { "FreeCredentialsHandle", rpc_free_cred, RPC_ORDER_CRED },
        [SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR] = { "QueryCredentialsAttributes", rpc_query_cred_attr,
                                                    RPC_ORDER_CRED },
        [SSPIW__ENVELOPE__BODY_INIT_CTX] = { "InitializeSecurityContext", rpc_init_ctx,
                                             RPC_ORDER_CTX | RPC_ASK_PACKAGE },
        [SSPIW__ENVELOPE__BODY_ACCEPT_CTX] = { "AcceptSecurityContext", rpc_accept_ctx,
                                               RPC_ORDER_CTX | RPC_ASK_PACKAGE },
        [SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN] = { "CompleteAuthToken", rpc_complete_token, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_DELETE_CTX] = { "DeleteSecurityContext", rpc_delete_ctx, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR] = { "QueryContextAttributes", rpc_query_ctx_attr, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE] = { "MakeSignature", rpc_make_signature, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE] = { "VerifySignature", rpc_verify_signature, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE] = { "EncryptMessage", rpc_encrypt_message, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE] = { "DecryptMessage", rpc_decrypt_message, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_EXPORT_CTX] = { "ExportSecurityContext", rpc_export_ctx, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_IMPORT_CTX] = { "ImportSecurityContext", rpc_import_ctx, 0 },
        [SSPIW__ENVELOPE__BODY_APPLY_CONTROL] = { "ApplyControlToken", rpc_apply_control, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD] = { "ChangeAccountPassword", rpc_change_password, RPC_MAY_BLOCK },
        [SSPIW__ENVELOPE__BODY_SET_CRED_ATTR] = { "SetCredentialsAttributes", rpc_set_cred_attr, RPC_ORDER_CRED },
        [SSPIW__ENVELOPE__BODY_ADD_CRED] = { "AddCredentials", rpc_add_cred, RPC_ORDER_CRED | RPC_MAY_BLOCK },
        [SSPIW__ENVELOPE__BODY_SET_CTX_ATTR] = { "SetContextAttributes", rpc_set_ctx_attr, RPC_ORDER_CTX },
        [SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY] = { "SspiEncryptAuthIdentityEx", rpc_protect_identity, 0 },
};

/* The handle a request is ordered on, if any. */
static const Sspiw__Handle *order_handle(const Sspiw__Envelope *e, ObjectKind *ret_kind) {
        *ret_kind = OBJECT_CONTEXT;
        switch (e->body_case) {
        case SSPIW__ENVELOPE__BODY_INIT_CTX:
                return e->init_ctx->ctx;
        case SSPIW__ENVELOPE__BODY_ACCEPT_CTX:
                return e->accept_ctx->ctx;
        case SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN:
                return e->complete_token->ctx;
        case SSPIW__ENVELOPE__BODY_DELETE_CTX:
                return e->delete_ctx->ctx;
        case SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR:
                return e->query_ctx_attr->ctx;
        case SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE:
                return e->make_signature->ctx;
        case SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE:
                return e->verify_signature->ctx;
        case SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE:
                return e->encrypt_message->ctx;
        case SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE:
                return e->decrypt_message->ctx;
        case SSPIW__ENVELOPE__BODY_EXPORT_CTX:
                return e->export_ctx->ctx;
        case SSPIW__ENVELOPE__BODY_APPLY_CONTROL:
                return e->apply_control->ctx;
        case SSPIW__ENVELOPE__BODY_SET_CTX_ATTR:
                return e->set_ctx_attr->ctx;
        case SSPIW__ENVELOPE__BODY_FREE_CRED:
                *ret_kind = OBJECT_CREDENTIAL;
                return e->free_cred->cred;
        case SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR:
                *ret_kind = OBJECT_CREDENTIAL;
                return e->query_cred_attr->cred;
        case SSPIW__ENVELOPE__BODY_SET_CRED_ATTR:
                *ret_kind = OBJECT_CREDENTIAL;
                return e->set_cred_attr->cred;
        case SSPIW__ENVELOPE__BODY_ADD_CRED:
                *ret_kind = OBJECT_CREDENTIAL;
                return e->add_cred->cred;
        default:
                return NULL;
        }
}

static void reply_status(Conn *c, uint64_t call_id, SECURITY_STATUS st) {
        Sspiw__Envelope rep = SSPIW__ENVELOPE__INIT;

        rep.call_id = call_id;
        rep.has_status = true;
        rep.status = st;
        (void) conn_send(c, &rep);
}

void job_defer_free(Job *job, void *p) {
        if (job->n_defer < sizeof(job->defer) / sizeof(job->defer[0]))
                job->defer[job->n_defer++] = p;
        else
                abort(); /* handlers defer a fixed, small number of blocks */
}

Object *job_lookup(Job *job, const Sspiw__Handle *h, ObjectKind kind) {
        Object *o;

        pthread_mutex_lock(&job->conn->lock);
        o = conn_object_lookup(job->conn, h, kind);
        if (o)
                object_ref(o);
        pthread_mutex_unlock(&job->conn->lock);
        return o;
}

int job_add_object(Job *job, Object *o) {
        int r;

        pthread_mutex_lock(&job->conn->lock);
        r = conn_object_add(job->conn, o);
        if (r >= 0) {
                object_unref(job->added);
                job->added = object_ref(o);
        }
        pthread_mutex_unlock(&job->conn->lock);
        return r;
}

/* The call no longer counts as in flight (max-calls, quota-calls). Done
 * before its reply is sent: a client that issues its next call as soon as
 * it has the reply must not find this one still counted. */
static void job_release(Job *job) {
        if (job->released)
                return;
        job->released = true;
        usage_give(&job->conn->usage->calls);
        pthread_mutex_lock(&job->conn->lock);
        job->conn->calls_in_flight--;
        pthread_mutex_unlock(&job->conn->lock);
}

static void job_free(Job *job) {
        /* Out of the in-flight list first: `sspictl calls` walks it on the
         * loop thread under c->lock and reads the request and the ordering
         * object of every job it finds there. */
        pthread_mutex_lock(&job->conn->lock);
        if (job->flight_prev)
                job->flight_prev->flight_next = job->flight_next;
        else if (job->conn->flight == job)
                job->conn->flight = job->flight_next;
        if (job->flight_next)
                job->flight_next->flight_prev = job->flight_prev;
        job->flight_prev = job->flight_next = NULL;
        pthread_mutex_unlock(&job->conn->lock);
        if (job->passed_fd >= 0)
                close(job->passed_fd);
        /* Reply blocks (plaintext of DecryptMessage, tokens) are wiped
         * like the frames that carried them. */
        for (unsigned i = 0; i < job->n_defer; i++) {
                if (job->defer[i])
                        explicit_bzero(job->defer[i], malloc_usable_size(job->defer[i]));
                free(job->defer[i]);
        }
        if (job->secret)
                free_secret(job->secret, job->secret_len);
        wire_free(job->req);
        __atomic_sub_fetch(&job->conn->usage->in_bytes, job->req_bytes, __ATOMIC_RELAXED);
        object_unref(job->order);
        object_unref(job->added);
        job_release(job);
        conn_unref(job->conn);
        free(job);
}

/* Whether the job goes to a worker. */
static bool job_may_block(Job *job) {
        const RpcDesc *rpc = job->rpc;
        const Sspiw__Envelope *e = job->req;
        Object *cred = NULL, *ctx = job->order;
        bool accept = e->body_case == SSPIW__ENVELOPE__BODY_ACCEPT_CTX;
        const Sspiw__Handle *ch;
        const Provider *pkg;
        bool r;

        /* A failed get_key step fails the call at once (credentials.c). */
        if (job->getkey_done && job->getkey_status != SEC_E_OK)
                return false;
        if (rpc->flags & RPC_MAY_BLOCK)
                return true;
        /* The client's local account comes from NSS, which may wait for a
         * directory (SSSD, winbind, LDAP): rpc/token.c. */
        if (e->body_case == SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR &&
            e->query_ctx_attr->attr == SECPKG_ATTR_ACCESS_TOKEN)
                return true;
        if (!(rpc->flags & RPC_ASK_PACKAGE))
                return false;
        ch = accept ? e->accept_ctx->cred : e->init_ctx->cred;
        if (ch)
                cred = job_lookup(job, ch, OBJECT_CREDENTIAL);
        pkg = ctx ? ctx->pkg : cred ? cred->pkg : NULL;
        if (!pkg || !pkg->step_may_block) {
                object_unref(cred);
                return false; /* invalid handle (the handler answers), or a package that never blocks */
        }
        r = pkg->step_may_block(cred ? cred->state : ctx && ctx->cred ? ctx->cred->state : NULL,
                                ctx ? ctx->state : NULL, accept ? NULL : e->init_ctx->target,
                                accept ? e->accept_ctx->req_flags : e->init_ctx->req_flags, accept);
        object_unref(cred);
        return r;
}

/* The worker lane of a job (workers.h): the package it works for.
 * Negotiate shares Kerberos' lane: both wait on the same KDC. */
static const Provider *job_lane(Job *job) {
        const Sspiw__Envelope *e = job->req;
        const Sspiw__Handle *ch = NULL;
        const Provider *p = NULL;

        if (job->order)
                p = job->order->pkg;
        else if (e->body_case == SSPIW__ENVELOPE__BODY_ACQUIRE_CRED)
                p = provider_find(e->acquire_cred->package);
        else if (e->body_case == SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD)
                p = provider_find(e->change_password->package);
        else if (e->body_case == SSPIW__ENVELOPE__BODY_INIT_CTX)
                ch = e->init_ctx->cred;
        else if (e->body_case == SSPIW__ENVELOPE__BODY_ACCEPT_CTX)
                ch = e->accept_ctx->cred;
        if (ch) {
                Object *cred = job_lookup(job, ch, OBJECT_CREDENTIAL);

                p = cred ? cred->pkg : NULL;
                object_unref(cred);
        }
        if (p && !strcmp(p->name, "Negotiate") && provider_find("Kerberos"))
                p = provider_find("Kerberos");
        return p;
}

static void job_submit(Server *s, Job *job) {
        const Provider *lane = job_lane(job);

        workers_submit(s->workers, job, lane, lane && lane->waits_outside);
}

/* The package a call works for, when it can be told without blocking.
 * Caller holds job->conn->lock when `locked`. */
const Provider *dispatch_job_package(Job *job, bool locked) {
        const Sspiw__Envelope *e = job->req;
        const Sspiw__Handle *ch = NULL;
        const Provider *p = NULL;
        Object *o;

        if (job->order)
                return job->order->pkg;
        switch (e->body_case) {
        case SSPIW__ENVELOPE__BODY_ACQUIRE_CRED:
                return provider_find(e->acquire_cred->package);
        case SSPIW__ENVELOPE__BODY_QUERY_PACKAGE:
                return provider_find(e->query_package->name);
        case SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD:
                return provider_find(e->change_password->package);
        case SSPIW__ENVELOPE__BODY_INIT_CTX:
                ch = e->init_ctx->cred;
                break;
        case SSPIW__ENVELOPE__BODY_ACCEPT_CTX:
                ch = e->accept_ctx->cred;
                break;
        default:
                return NULL;
        }
        if (!ch)
                return NULL;
        if (!locked)
                pthread_mutex_lock(&job->conn->lock);
        o = conn_object_lookup(job->conn, ch, OBJECT_CREDENTIAL);
        if (o)
                p = o->pkg;
        if (!locked)
                pthread_mutex_unlock(&job->conn->lock);
        return p;
}

/* Counted per function and package (core/stats.h). */
static void record_call(Job *job, SECURITY_STATUS st, uint64_t usec) {
        unsigned f = (unsigned) job->req->body_case;

        if (f >= STATS_FUNCS)
                return;
        stats_record_call(f, job->rpc->name, dispatch_job_package(job, false), st, usec);
}

static void job_execute(Job *job) {
        Sspiw__Envelope rep = SSPIW__ENVELOPE__INIT;
        SECURITY_STATUS st;
        uint64_t t0 = stats_now_usec();

        __atomic_store_n(&job->running, true, __ATOMIC_RELAXED);
        st = job->rpc->handler(job, &rep);
        record_call(job, st, stats_now_usec() - t0);
        rep.call_id = job->req->call_id;
        rep.has_status = true;
        rep.status = st;
        /* Handlers leave the body unset on failure, except where the status
         * comes with outputs (SEC_E_INCOMPLETE_MESSAGE and its MISSING slot). */
        if (st < 0) {
                server_count(job->conn->server, &job->conn->server->counters.calls_failed);
                log_fields(LOG_DEBUG,
                           &(LogFields) { .uid = job->conn->caller.uid, .pid = job->conn->caller.pid,
                                          .package = job->order ? job->order->pkg->name : NULL,
                                          .call = job->rpc->name, .has_status = true, .status = st },
                           "conn %llu: %s: 0x%08x", (unsigned long long) job->conn->serial, job->rpc->name,
                           (unsigned) st);
        }
        job_release(job);
        if (!job->oneway)
                (void) conn_send(job->conn, &rep);
}

void dispatch_run(Job *job) {
        while (job) {
                Object *o = job->order;
                Job *next = NULL;

                job_execute(job);
                if (o) {
                        pthread_mutex_lock(&job->conn->lock);
                        next = o->queue_head;
                        if (next) {
                                o->queue_head = next->next;
                                if (!o->queue_head)
                                        o->queue_tail = NULL;
                                next->next = NULL;
                        } else
                                o->busy = false;
                        pthread_mutex_unlock(&job->conn->lock);
                }
                job_free(job);
                job = next;
                /* A queued job that may block must not run on the loop thread. */
                if (job && job_may_block(job) && gettid() == job->conn->server->loop_tid) {
                        server_count(job->conn->server, &job->conn->server->counters.calls_worker);
                        job_submit(job->conn->server, job);
                        return;
                }
        }
}

static void job_schedule(Job *job) {
        Server *s = job->conn->server;

        if (job_may_block(job)) {
                server_count(s, &s->counters.calls_worker);
                job_submit(s, job);
        } else {
                server_count(s, &s->counters.calls_inline);
                dispatch_run(job);
        }
}

void dispatch_resume(Job *job) {
        job_schedule(job);
}

static void job_start(Job *job) {
        /* A call that needs the client's pGetKeyFn first waits for its
         * answer parked, holding no thread (getkey.c). */
        if (getkey_park(job))
                return;
        job_schedule(job);
}

/* A oneway free: no reply whatever happens, not counted in flight. A free
 * of a handle the connection does not hold is dropped. */
static void oneway_dispatch(Conn *c, Sspiw__Envelope *req) {
        ObjectKind kind;
        const Sspiw__Handle *h = order_handle(req, &kind);
        Job *job;
        Object *o;
        bool queued = false;

        job = calloc(1, sizeof(*job));
        if (!job) {
                /* The object stays until the connection ends: counted in
                 * the uid's quota-objects till then, as a leak would be. */
                wire_free(req);
                return;
        }
        job->conn = conn_ref(c);
        job->req = req;
        job->rpc = &rpc_table[req->body_case];
        job->oneway = true;
        job->passed_fd = -1; /* calloc()ed: 0 would be closed by job_free() */
        job->released = true; /* never counted in flight */
        job->req_bytes = c->frame_bytes;
        __atomic_add_fetch(&c->usage->in_bytes, job->req_bytes, __ATOMIC_RELAXED);
        job->start_usec = stats_now_usec();
        pthread_mutex_lock(&c->lock);
        job->flight_next = c->flight;
        if (c->flight)
                c->flight->flight_prev = job;
        c->flight = job;
        o = h ? conn_object_lookup(c, h, kind) : NULL;
        if (o && o->free_queued)
                o = NULL; /* a second free of it would fail: drop it */
        if (o) {
                job->order = object_ref(o);
                if (o->busy) {
                        o->free_queued = true;
                        if (o->queue_tail)
                                o->queue_tail->next = job;
                        else
                                o->queue_head = job;
                        o->queue_tail = job;
                        queued = true;
                } else
                        o->busy = true;
        }
        pthread_mutex_unlock(&c->lock);
        if (!o) {
                job_free(job);
                return;
        }
        if (!queued)
                dispatch_run(job);
}

void dispatch_request(Conn *c, Sspiw__Envelope *req) {
        Server *s = c->server;
        const RpcDesc *rpc = NULL;
        const Sspiw__Handle *h;
        const char *why = "unknown";
        ObjectKind kind;
        Config *cfg;
        Job *job;
        bool oneway;
        int passed_fd = -1, r;

        if ((size_t) req->body_case < sizeof(rpc_table) / sizeof(rpc_table[0]))
                rpc = &rpc_table[req->body_case];
        if (!rpc || !rpc->handler) {
                wire_free(req);
                server_count(s, &s->counters.connections_dropped);
                conn_shutdown(c, "unknown call");
                return;
        }
        cfg = server_config(s);
        r = wire_validate_request(req, cfg->max_frame, &why);
        if (r < 0) {
                config_unref(cfg);
                log_notice("conn %llu: invalid %s request: %s", (unsigned long long) c->serial, rpc->name, why);
                wire_free(req);
                server_count(s, &s->counters.connections_dropped);
                conn_shutdown(c, "invalid request");
                return;
        }
        if (!c->hello_done && req->body_case != SSPIW__ENVELOPE__BODY_HELLO) {
                config_unref(cfg);
                wire_free(req);
                server_count(s, &s->counters.connections_dropped);
                conn_shutdown(c, "request before Hello");
                return;
        }
        server_count(s, &s->counters.calls_total);
        /* Frames are dispatched in the order they were read, and a passed
         * descriptor comes with the first byte of its frame: it is this
         * request's (or, a client's own mistake, a later one's). Taken
         * before any refusal, so that a refused call does not leave it to
         * the next. */
        if (req->body_case == SSPIW__ENVELOPE__BODY_ACQUIRE_CRED && req->acquire_cred->kcm_name)
                passed_fd = wire_reader_take_fd(&c->reader);
        oneway = req->has_oneway && req->oneway;
        if (oneway) {
                /* A pipelined free (DeleteSecurityContext,
                 * FreeCredentialsHandle that did not wait): the client
                 * already told its caller SEC_E_OK, so it is never refused
                 * for max-calls or quota-calls; it only gives resources
                 * back. What bounds it: it runs at once, or waits behind
                 * the calls on its object, one per object (free_queued). */
                if (passed_fd >= 0)
                        close(passed_fd); /* a free carries no descriptor */
                config_unref(cfg);
                oneway_dispatch(c, req);
                return;
        }

        pthread_mutex_lock(&c->lock);
        if (c->calls_in_flight >= cfg->max_calls || !usage_take(&c->usage->calls, cfg->quota_calls)) {
                pthread_mutex_unlock(&c->lock);
                if (passed_fd >= 0)
                        close(passed_fd);
                usage_refused(c->usage);
                usage_hit(c->usage, LIMIT_CALLS);
                config_unref(cfg);
                reply_status(c, req->call_id, SEC_E_INSUFFICIENT_MEMORY);
                wire_free(req);
                return;
        }
        c->calls_in_flight++;
        pthread_mutex_unlock(&c->lock);
        config_unref(cfg);

        job = calloc(1, sizeof(*job));
        if (!job) {
                if (passed_fd >= 0)
                        close(passed_fd);
                usage_give(&c->usage->calls);
                pthread_mutex_lock(&c->lock);
                c->calls_in_flight--;
                pthread_mutex_unlock(&c->lock);
                reply_status(c, req->call_id, SEC_E_INSUFFICIENT_MEMORY);
                wire_free(req);
                return;
        }
        job->conn = conn_ref(c);
        job->req = req;
        job->passed_fd = passed_fd;
        /* The decoded request counts in quota-input-bytes until freed. */
        job->req_bytes = c->frame_bytes;
        __atomic_add_fetch(&c->usage->in_bytes, job->req_bytes, __ATOMIC_RELAXED);
        job->rpc = rpc;
        job->start_usec = stats_now_usec();
        pthread_mutex_lock(&c->lock);
        job->flight_next = c->flight;
        if (c->flight)
                c->flight->flight_prev = job;
        c->flight = job;
        pthread_mutex_unlock(&c->lock);

        h = order_handle(req, &kind);
        if (h) {
                Object *o;
                bool queued = false;

                pthread_mutex_lock(&c->lock);
                o = conn_object_lookup(c, h, kind);
                if (o) {
                        job->order = object_ref(o);
                        if (o->busy) {
                                /* Calls on one object run in the order issued. */
                                if (o->queue_tail)
                                        o->queue_tail->next = job;
                                else
                                        o->queue_head = job;
                                o->queue_tail = job;
                                queued = true;
                        } else
                                o->busy = true;
                }
                pthread_mutex_unlock(&c->lock);
                if (queued)
                        return;
                if (!o) {
                        reply_status(c, req->call_id, SEC_E_INVALID_HANDLE);
                        job_free(job);
                        return;
                }
        }
        job_start(job);
}

void dispatch_notify_freed(Conn *c, const Object *o) {
        Sspiw__Envelope e = SSPIW__ENVELOPE__INIT;
        Sspiw__DeleteCtxReq d = SSPIW__DELETE_CTX_REQ__INIT;
        Sspiw__FreeCredReq f = SSPIW__FREE_CRED_REQ__INIT;
        Sspiw__Handle h = SSPIW__HANDLE__INIT;

        object_to_handle(o, &h);
        e.call_id = 0; /* no call of the client's: Hello's id, long answered */
        if (o->kind == OBJECT_CONTEXT) {
                d.ctx = &h;
                e.body_case = SSPIW__ENVELOPE__BODY_DELETE_CTX;
                e.delete_ctx = &d;
        } else {
                f.cred = &h;
                e.body_case = SSPIW__ENVELOPE__BODY_FREE_CRED;
                e.free_cred = &f;
        }
        (void) conn_send(c, &e); /* a connection going away forgets all anyway */
}

SECURITY_STATUS rpc_hello(Job *job, Sspiw__Envelope *reply) {
        static Sspiw__HelloRep rep = SSPIW__HELLO_REP__INIT;
        const Sspiw__HelloReq *h = job->req->hello;
        Config *cfg;

        if (h->major != WIRE_VERSION_MAJOR) {
                log_notice("conn %llu: protocol version %u.%u refused (we speak %u.x)",
                           (unsigned long long) job->conn->serial, h->major, h->minor, WIRE_VERSION_MAJOR);
                return SEC_E_UNSUPPORTED_FUNCTION;
        }
        job->conn->hello_done = true;
        cfg = server_config(job->conn->server);
        rep.major = WIRE_VERSION_MAJOR;
        rep.minor = WIRE_VERSION_MINOR;
        rep.max_frame = cfg->max_frame;
        config_unref(cfg);
        reply->body_case = SSPIW__ENVELOPE__BODY_HELLO_REP;
        reply->hello_rep = &rep;
        return SEC_E_OK;
}
