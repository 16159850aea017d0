/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"

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

typedef struct ExportedCtx ExportedCtx;

typedef struct Server {
        sd_event *event;
        sd_event_source *wake_source;
        pid_t loop_tid;                 /* the event loop thread */
        int wake_fd;                    /* eventfd: workers ask the loop for EPOLLOUT */
        struct Workers *workers;

        pthread_mutex_t lock;           /* guards config, out_list, exports, counters */
        Config *config;
        struct Conn *out_list;
        struct Conn *conns;             /* open connections */
        struct UidUsage *usage;         /* per-uid quota accounting */
        ExportedCtx *exports;
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
} Server;

/* The current configuration, referenced; release with config_unref(). */
Config *server_config(Server *s);

/* Listen on an already bound+listening socket (API socket). */
int server_add_listener(Server *s, int fd) __attribute__((warn_unused_result));
int server_add_admin_listener(Server *s, int fd) __attribute__((warn_unused_result));

/* Exported contexts waiting to be imported. */
unsigned server_exports_waiting(Server *s);

/* From a worker: a connection has output that needs EPOLLOUT. */
void server_want_output(Server *s, struct Conn *c);

void server_count(Server *s, uint64_t *counter);

/* Start the once-a-second sweep (timeouts, memory back). Loop thread. */
int server_setup_sweep(Server *s) __attribute__((warn_unused_result));
/* True when a non-root connection must be refused to keep fd-reserve
 * descriptors for root and the admin socket. */
bool server_fds_tight(Server *s);

/* Close every connection (at exit). Loop thread. */
void server_close_all(Server *s);

/* Keep an exported context in daemon memory until imported or expired. */
int server_export_put(Server *s, const char *pkg, uid_t uid, uint8_t *blob, size_t len, uint8_t ticket[32])
        __attribute__((warn_unused_result));
/* Take an exported context out. Returns 0, -ENOENT, -EPERM (other uid). */
int server_export_take(Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       uint8_t **ret_blob, size_t *ret_len) __attribute__((warn_unused_result));
