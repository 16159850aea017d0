/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "policy/config.h"
#include "sspi.pb-c.h"

struct Conn;
struct Workers;

typedef struct Counters {
        uint64_t connections_total;
        uint64_t connections_dropped;   /* protocol violations */
        uint64_t calls_total;
        uint64_t calls_inline;
        uint64_t calls_worker;
        uint64_t calls_failed;
} Counters;

typedef struct ExportStore ExportStore;

typedef struct Server {
        sd_event *event;
        sd_event_source *wake_source;
        pid_t loop_tid;                 /* the event loop thread */
        int wake_fd;                    /* eventfd: workers ask the loop for EPOLLOUT */
        struct Workers *workers;

        pthread_mutex_t lock;           /* guards config, out_list, counters */
        Config *config;
        struct Conn *out_list;
        struct Conn *conns;             /* open connections */
        struct UidUsage *usage;         /* per-uid quota accounting */
        ExportStore *exports;           /* exports.c, under a lock of its own */
        Counters counters;
        unsigned n_conns;
        uint64_t next_serial;
        uint64_t boot_nonce;
        /* descriptors and accepting (server.c, loop thread) */
        sd_event_source *listener;
        sd_event_source *accept_resume; /* re-enables the listener after EMFILE */
        sd_event_source *sweep;         /* timeouts, buffers back, malloc_trim */
        unsigned fd_base;               /* descriptors open besides connections */
        bool accept_episode;            /* EMFILE logged, not yet over */
        bool reserve_episode;           /* fd-reserve refusals logged, not yet over */
        uint64_t refused_reserve;       /* connections refused for fd-reserve */
        uint64_t last_trim_usec;
        uint64_t trim_serial;           /* connections closed at the last malloc_trim */
        uint64_t closed_serial;         /* connections closed so far */
        /* Reloads the configuration (set by main); 0 or negative errno with
         * a malloc()ed message in *ret_error. Loop thread. */
        int (*reload)(struct Server *s, char **ret_error);
        /* Where a connection hands a decoded request (dispatch_request,
         * which takes ownership) and a GetKeyRep (getkey_answer); set by
         * main, so that core/conn.c stays below core/dispatch.c. */
        void (*dispatch_request)(struct Conn *c, Sspiw__Envelope *req);
        void (*getkey_answer)(struct Conn *c, Sspiw__Envelope *rep);
        /* A connection closes: its calls parked for pGetKeyFn end now
         * (getkey_cancel_all). */
        void (*getkey_cancel_all)(struct Conn *c);
} Server;

/* The current configuration, referenced; release with config_unref(). */
Config *server_config(Server *s);

void server_count(Server *s, uint64_t *counter);


