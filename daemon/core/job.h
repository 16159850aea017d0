/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One request in flight: built by the dispatcher, queued on the object it
 * is ordered on or on the workers' queue, run by dispatch_run(). Its own
 * module so that core/workers.c can queue jobs without knowing the
 * dispatcher (which hands workers_new() its run function).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sspi.pb-c.h"

struct Conn;
struct Object;
struct RpcDesc;

typedef struct Job Job;

struct Job {
        struct Conn *conn;              /* referenced */
        Sspiw__Envelope *req;
        const struct RpcDesc *rpc;
        struct Object *order;           /* object the job is ordered on, referenced */
        struct Object *added;           /* object the job put in the handle table, referenced */
        struct Job *next;               /* in the object's queue or the worker queue */
        size_t req_bytes;               /* counted in the uid's quota-input-bytes */
        const void *lane;               /* worker lane (workers.h), set by workers_submit */
        bool lane_per_uid;              /* the lane keeps a worker from each uid (workers.h) */
        /* memory to release after the reply is packed */
        void *defer[40];
        unsigned n_defer;
        void *secret;
        size_t secret_len;
        /* AcquireCredentialsHandle from KCM: the socket the client passed
         * with the request (SCM_RIGHTS), -1 if none; job_free closes it. */
        int passed_fd;
        /* AcquireCredentialsHandle with pGetKeyFn and no password: the job
         * is parked (no thread) until the client answers (getkey.c); the
         * key it sent is kept in secret/secret_len. */
        struct GetKeyWait *getkey;      /* parked: the wait (loop thread only) */
        bool getkey_done;               /* asked, and getkey_status is final */
        int32_t getkey_status;          /* a SECURITY_STATUS */
        /* for sspictl: the connection's list of calls in flight (c->lock) */
        struct Job *flight_prev, *flight_next;
        uint64_t start_usec;            /* CLOCK_MONOTONIC */
        bool running;
        bool released;                  /* no longer counted in flight (dispatch.c) */
        bool oneway;                    /* a pipelined free: no reply (dispatch.c) */
};
