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
        /* Reloads the configuration (set by main); 0 or negative errno with
         * a malloc()ed message in *ret_error. Loop thread. */
        int (*reload)(struct Server *s, char **ret_error);
        /* Where a connection hands a decoded request (dispatch_request,
         * which takes ownership) and a GetKeyRep (getkey_answer); set by
         * main, so that core/conn.c stays below core/dispatch.c. */
        void (*dispatch_request)(struct Conn *c, Sspiw__Envelope *req);
        void (*getkey_answer)(struct Conn *c, Sspiw__Envelope *rep);
} Server;

/* The current configuration, referenced; release with config_unref(). */
Config *server_config(Server *s);

/* Exported contexts waiting to be imported. */
unsigned server_exports_waiting(Server *s);

void server_count(Server *s, uint64_t *counter);

/* Keep an exported context in daemon memory until imported or expired. */
int server_export_put(Server *s, const char *pkg, uid_t uid, uint8_t *blob, size_t len, uint8_t ticket[32])
        __attribute__((warn_unused_result));
/* Take an exported context out. Returns 0, -ENOENT, -EPERM (other uid). */
int server_export_take(Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       uint8_t **ret_blob, size_t *ret_len) __attribute__((warn_unused_result));
/* Free the exported contexts nobody imported (at exit). */
void server_free_exports(Server *s);
