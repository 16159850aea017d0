/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A client connection and the objects (credentials, contexts) it owns.
 *
 * Locking: conn->lock guards the handle table, every Object's busy/queue
 * fields, the output queue and the counters. It is held only for short,
 * non-blocking sections; package code never runs under it.
 *
 * Lifetime: the connection is reference counted. The event loop holds one
 * reference while the socket is open; each job in flight holds one. The fd
 * is closed only when the last reference goes, so a worker finishing late
 * never writes to a reused descriptor.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "packages/provider.h"
#include "wire.h"

struct Server;
struct Job;

typedef enum ObjectKind {
        OBJECT_CREDENTIAL = 1,
        OBJECT_CONTEXT = 2,
} ObjectKind;

typedef struct Object {
        uint64_t id;                    /* dwUpper: random, never reused */
        uint64_t tag;                   /* dwLower: kind | package | epoch */
        ObjectKind kind;
        const Provider *pkg;
        void *state;                    /* package credential or context */
        struct Object *cred;            /* a context's credential (referenced) */
        unsigned refcount;              /* table + jobs + contexts using a credential */
        bool in_table;
        bool busy;                      /* a job on this object is running */
        struct Job *queue_head, *queue_tail;
        struct Object *hash_next;
        struct UidUsage *usage;         /* counted here from conn_object_add() to the free */
        /* bookkeeping the dispatcher answers from */
        uint32_t use;                   /* credentials: SECPKG_CRED_* */
        uint32_t attrs;                 /* contexts: last ISC/ASC_RET_* */
        bool complete;                  /* contexts: handshake finished */
        bool complete_needed;           /* contexts: SEC_I_COMPLETE_NEEDED, CompleteAuthToken finishes */
        bool free_queued;               /* a oneway free waits in the queue (dispatch.c) */
        bool inbound;                   /* contexts: created by ASC */
        int64_t expiry;
        /* for sspictl (never a secret) */
        char *principal;                /* credential name, ISC target or ASC client; malloc()ed */
        int64_t created;                /* Unix seconds */
} Object;

typedef struct OutChunk {
        struct OutChunk *next;
        size_t len, off;
        uint8_t data[];
} OutChunk;

typedef struct Conn {
        unsigned refcount;
        struct Server *server;
        int fd;
        sd_event_source *io;
        sd_event_source *more;          /* continues input after a turn (loop thread only) */
        int64_t priority;               /* of io and more: idle while the uid floods */
        sd_event_source *throttle;      /* ends a flooding uid's wait for its next slot */
        bool throttled;                 /* not reading until then (loop thread only) */
        Caller caller;
        uint64_t epoch;                 /* 48 bits, stamped into handle tags */
        uint64_t serial;                /* for logs and sspictl */
        int64_t connected_since;        /* Unix seconds */
        WireReader reader;
        size_t in_charged;              /* reader.cap counted in usage->in_bytes (loop thread) */
        uint32_t frame_bytes;           /* size of the frame being dispatched (dispatch.c) */
        uint64_t last_active_usec;      /* last input (CLOCK_MONOTONIC; loop thread) */
        uint64_t frame_start_usec;      /* a partial frame is buffered since; 0: none */
        bool held;                      /* not read for the uid's quota-queued/-input-bytes (loop) */
        bool waiting;                   /* over quota-input-bytes or quota-queued: not reading */
        bool hello_done;

        pthread_mutex_t lock;
        bool dead;
        Object **buckets;
        size_t n_buckets;
        size_t n_objects;
        unsigned calls_in_flight;
        struct Job *flight;             /* calls in flight (for sspictl), under lock */
        OutChunk *out_head, *out_tail;
        size_t out_bytes;
        bool want_out;                  /* EPOLLOUT requested from a worker */
        bool writing;                   /* a thread is in conn_write_queued() */
        bool overflowed;                /* output over its cap: being dropped */
        struct Conn *out_next;          /* on server->out_list */
        struct UidUsage *usage;         /* this uid's quota accounting (referenced) */
        struct Conn *list_prev, *list_next; /* server->conns, under server->lock */

        /* daemon -> client requests (GetKey) waiting for an answer (getkey.c, loop thread only) */
        struct GetKeyWait *getkey_waits;
        uint64_t next_server_call;
} Conn;

Conn *conn_new(struct Server *s, int fd) __attribute__((warn_unused_result));
Conn *conn_ref(Conn *c);
void conn_unref(Conn *c);

/* Close the socket side: no more input, objects freed once idle. Loop thread. */
void conn_shutdown(Conn *c, const char *why);

/* Queue or write one frame. Any thread. Returns 0 or negative errno (the
 * connection is then being shut down). */
int conn_send(Conn *c, const Sspiw__Envelope *e);

/* The sweep (server.c, once a second): closes a connection idle or stuck
 * in a partial frame past the configured timeouts, and gives back the read
 * buffer of a connection with nothing buffered. Returns true when it
 * closed c. Loop thread. */
bool conn_sweep(Conn *c, uint64_t now_usec, const struct Config *cfg);

/* Arm EPOLLOUT for pending output. Loop thread. */
void conn_flush_from_loop(Conn *c);

/* Handle table. Callers hold c->lock. */
int conn_object_add(Conn *c, Object *o) __attribute__((warn_unused_result));
Object *conn_object_lookup(Conn *c, const Sspiw__Handle *h, ObjectKind kind);
void conn_object_remove(Conn *c, Object *o);

/* Room for one more object: the connection's max-objects and the uid's
 * quota-objects. Callers hold c->lock. */
bool conn_may_add_object(Conn *c, const struct Config *cfg);

Object *object_new(ObjectKind kind, const Provider *pkg);
/* Drops a reference; the last one frees package state. Call without c->lock. */
void object_unref(Object *o);
Object *object_ref(Object *o);
uint64_t object_count(void);

void object_to_handle(const Object *o, Sspiw__Handle *h);
