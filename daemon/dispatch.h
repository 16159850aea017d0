/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The dispatcher: one table describes every RPC (rpc_table in dispatch.c).
 * For each request it validates, resolves the object the call is ordered
 * on, and runs the handler inline on the event loop (cheap calls) or on a
 * worker (calls that may wait for a KDC or do public-key work).
 */

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "sspi.h"

typedef struct Job Job;

typedef SECURITY_STATUS (*RpcHandler)(Job *job, Sspiw__Envelope *reply);

typedef enum RpcFlags {
        RPC_ORDER_CTX = 1 << 0,         /* ordered on the context handle of the request */
        RPC_ORDER_CRED = 1 << 1,        /* ordered on the credential handle */
        RPC_MAY_BLOCK = 1 << 2,         /* always on a worker */
        RPC_ASK_PACKAGE = 1 << 3,       /* provider->step_may_block decides */
} RpcFlags;

typedef struct RpcDesc {
        const char *name;
        RpcHandler handler;
        unsigned flags;
} RpcDesc;

struct Job {
        Conn *conn;                     /* referenced */
        Sspiw__Envelope *req;
        const RpcDesc *rpc;
        Object *order;                  /* object the job is ordered on, referenced */
        Object *added;                  /* object the job put in the handle table, referenced */
        struct Job *next;               /* in the object's queue or the worker queue */
        size_t req_bytes;               /* counted in the uid's quota-input-bytes */
        const void *lane;               /* worker lane (workers.h), set by workers_submit */
        /* memory to release after the reply is packed */
        void *defer[40];
        unsigned n_defer;
        void *secret;
        size_t secret_len;
        /* for sspictl: the connection's list of calls in flight (c->lock) */
        struct Job *flight_prev, *flight_next;
        uint64_t start_usec;            /* CLOCK_MONOTONIC */
        bool running;
        bool released;                  /* no longer counted in flight (dispatch.c) */
};

/* Entry point from the connection's read handler (loop thread). */
void dispatch_request(Conn *c, Sspiw__Envelope *req);

/* Runs a job and every job queued behind it on the same object. Any thread. */
void dispatch_run(Job *job);

/* Keep `p` alive until the reply is sent, then free() it. */
void job_defer_free(Job *job, void *p);

/* Resolve a handle of the caller's connection; referenced object or NULL. */
Object *job_lookup(Job *job, const Sspiw__Handle *h, ObjectKind kind);

/* Puts a new object in the caller's handle table. The table takes the
 * caller's reference and the job keeps one of its own until it ends: once
 * the lock is released, a disconnect on the loop thread may empty the table
 * while the job still reads the object (its handle, its name). -errno if
 * the connection is gone or out of memory; the caller's reference is then
 * still the caller's. */
int job_add_object(Job *job, Object *o);

/* Handlers, one file per family, mirroring client-lib/ file names. */
SECURITY_STATUS rpc_hello(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_enum_packages(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_query_package(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_acquire_cred(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_free_cred(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_query_cred_attr(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_init_ctx(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_accept_ctx(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_complete_token(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_delete_ctx(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_query_ctx_attr(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_export_ctx(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_import_ctx(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_apply_control(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_make_signature(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_verify_signature(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_encrypt_message(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_decrypt_message(Job *job, Sspiw__Envelope *reply);

/* A GetKeyRep arrived for a daemon-initiated request (loop thread). */
void getkey_answer(Conn *c, Sspiw__Envelope *rep);
/* Ask the client to run its pGetKeyFn; blocks (worker only). */
SECURITY_STATUS getkey_ask(Job *job, uint64_t cookie, const char *principal, uint8_t **ret_key, size_t *ret_len);
