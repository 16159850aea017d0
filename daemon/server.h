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
        /* Reloads the configuration (set by main); 0 or negative errno with
         * a malloc()ed message in *ret_error. Loop thread. */
        int (*reload)(struct Server *s, char **ret_error);
} Server;

/* The current configuration, referenced; release with config_unref(). */
Config *server_config(Server *s);

/* Listen on an already bound+listening socket (API socket). */
int server_add_listener(Server *s, int fd) __attribute__((warn_unused_result));
int server_add_admin_listener(Server *s, int fd) __attribute__((warn_unused_result));

/* Exported contexts waiting to be imported (exports.c). */
unsigned server_exports_waiting(Server *s);

/* From a worker: a connection has output that needs EPOLLOUT. */
void server_want_output(Server *s, struct Conn *c);

void server_count(Server *s, uint64_t *counter);

/* Close every connection (at exit). Loop thread. */
void server_close_all(Server *s);
