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

#include "core/conn.h"
#include "core/job.h"
#include "sspi.h"

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


/* Entry point from the connection's read handler (loop thread). */
void dispatch_request(Conn *c, Sspiw__Envelope *req);

/* Tell the client that the daemon freed one of its objects on its own
 * (`sspictl revoke`): a DeleteCtxReq or FreeCredReq from daemon to client,
 * call_id 0, no reply. The client drops the handle from its table (its
 * DeleteSecurityContext and cached attributes answer from there). */
void dispatch_notify_freed(Conn *c, const Object *o);

/* Runs a job and every job queued behind it on the same object. Any thread. */
void dispatch_run(Job *job);

/* The package a call works for, when it can be told without blocking
 * (statistics, sspictl calls). Caller holds job->conn->lock when `locked`. */
const Provider *dispatch_job_package(Job *job, bool locked);

/* Continue a parked job (getkey.c): on a worker if it may block, else
 * inline. Loop thread. */
void dispatch_resume(Job *job);

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
SECURITY_STATUS rpc_change_password(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_set_cred_attr(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_set_ctx_attr(Job *job, Sspiw__Envelope *reply);
SECURITY_STATUS rpc_protect_identity(Job *job, Sspiw__Envelope *reply);

/* Whether an AcquireCredentialsHandle request needs the caller's
 * pGetKeyFn first (an identity without password, a get_key cookie) and
 * would get past the checks that come before it; the cookie and the name
 * to ask for. credentials.c. */
bool acquire_cred_wants_key(Job *job, uint64_t *ret_cookie, const char **ret_principal);

/*
 * get_key (getkey.c): a call that needs the client's pGetKeyFn waits for
 * the answer without a thread. All of it runs on the loop thread.
 */
/* Before a job starts: if it needs a key, send the GetKey request and
 * park it; true when parked (the answer, a timeout or the connection's
 * end resumes it). false: run it now (it needs no key, or the ask failed
 * at once: job->getkey_status says why, e.g. SEC_E_INSUFFICIENT_MEMORY over
 * max-get-key-waits or quota-get-key-waits). */
bool getkey_park(Job *job);
/* A GetKeyRep arrived for a daemon-initiated request. */
void getkey_answer(Conn *c, Sspiw__Envelope *rep);
/* The connection closes: every parked job ends now with an error. */
void getkey_cancel_all(Conn *c);
