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
