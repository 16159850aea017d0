/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers the RPC handler files share (rpc/context.c, rpc/credentials.c). */

#include <pthread.h>
#include <stdbool.h>

#include "core/conn.h"
#include "core/job.h"

/* message-protection = caller: the per-message state of the context `o`,
 * which the leg just completed, for its CtxStepRep (rpc/message.c); NULL
 * when its package hands none over (its message calls stay here). The
 * memory is the job's and is wiped with it. */
Sspiw__MsgKeys *rpc_msg_keys(Job *job, Object *o);

/* ExportCtxReq.keys, the per-message state the exporter's library sends
 * (NTLM: signing keys, RC4 streams, sequence numbers; Kerberos: sequence
 * numbers and receive window, no key), into *out (the caller wipes it).
 * SEC_E_OK, or SEC_E_INVALID_TOKEN for a state of no known shape. */
struct PkgMsgKeys;
SECURITY_STATUS rpc_msg_keys_from_wire(const Sspiw__MsgKeys *m, struct PkgMsgKeys *out);

/* message-protection = caller: the library's state as it stands (its
 * sequence numbers and RC4 streams moved on since the daemon handed them
 * over) replaces the package's: before an export, and before any call on
 * a context whose state follows (Provider.msg_keys_follow). The request's
 * key bytes are wiped. */
SECURITY_STATUS rpc_take_msg_keys(Object *o, const Sspiw__MsgKeys *k);

/* SECPKG_ATTR_ACCESS_TOKEN of the context o into rep->account (rpc/token.c):
 * SEC_E_OK, SEC_E_INVALID_HANDLE (handshake not complete),
 * SEC_E_NO_IMPERSONATION (an outbound context, or a client with no local
 * account), SEC_E_UNSUPPORTED_FUNCTION (a package that names no client),
 * SEC_E_INSUFFICIENT_MEMORY. Looks up NSS: worker only. */
SECURITY_STATUS rpc_query_ctx_token(Job *job, Object *o, Sspiw__QueryCtxAttrRep *rep);
/* SECPKG_ATTR_DCE_INFO of an accepted context (rpc/token.c). */
SECURITY_STATUS rpc_query_ctx_dce(Job *job, Object *o, Sspiw__QueryCtxAttrRep *rep);

/* Take o out of its connection's handle table if it is still there. True
 * when this call removed it: the caller then drops the table's reference
 * (after the lock, object_unref may free the package state). False when an
 * earlier call queued before this one already did. */
static inline bool rpc_object_take(Conn *c, Object *o) {
        bool removed = false;

        pthread_mutex_lock(&c->lock);
        if (o->in_table) {
                conn_object_remove(c, o);
                removed = true;
        }
        pthread_mutex_unlock(&c->lock);
        return removed;
}
