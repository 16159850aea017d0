/* SPDX-License-Identifier: MIT */
#include "core/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

struct ExportedCtx {
        ExportedCtx *next;
        uint8_t ticket[32];
        char pkg[64];
        uid_t uid;
        uint64_t deadline;              /* CLOCK_MONOTONIC seconds */
        uint8_t *blob;
        size_t len;
};

Config *server_config(Server *s) {
        Config *c;

        pthread_mutex_lock(&s->lock);
        c = config_ref(s->config);
        pthread_mutex_unlock(&s->lock);
        return c;
}

void server_count(Server *s, uint64_t *counter) {
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
        (void) s;
}

unsigned server_exports_waiting(Server *s) {
        unsigned n = 0;

        pthread_mutex_lock(&s->lock);
        for (ExportedCtx *e = s->exports; e; e = e->next)
                n++;
        pthread_mutex_unlock(&s->lock);
        return n;
}

/* ---- exported contexts ---- */

static uint64_t now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

static void export_free(ExportedCtx *e) {
        free_secret(e->blob, e->len);
        explicit_bzero(e->ticket, sizeof(e->ticket));
        free(e);
}

/* Caller holds s->lock. */
static void exports_expire(Server *s) {
        uint64_t now = now_sec();

        for (ExportedCtx **p = &s->exports; *p;) {
                if ((*p)->deadline <= now) {
                        ExportedCtx *e = *p;
                        *p = e->next;
                        export_free(e);
                } else
                        p = &(*p)->next;
        }
}

int server_export_put(Server *s, const char *pkg, uid_t uid, uint8_t *blob, size_t len, uint8_t ticket[32]) {
        ExportedCtx *e = calloc(1, sizeof(*e));
        Config *cfg;

        if (!e)
                return -ENOMEM;
        if (getrandom(e->ticket, sizeof(e->ticket), 0) != sizeof(e->ticket)) {
                free(e);
                return -EIO;
        }
        snprintf(e->pkg, sizeof(e->pkg), "%s", pkg);
        e->uid = uid;
        e->blob = blob;
        e->len = len;
        cfg = server_config(s);
        e->deadline = now_sec() + cfg->export_ttl;
        config_unref(cfg);
        memcpy(ticket, e->ticket, sizeof(e->ticket));
        pthread_mutex_lock(&s->lock);
        exports_expire(s);
        e->next = s->exports;
        s->exports = e;
        pthread_mutex_unlock(&s->lock);
        return 0;
}

int server_export_take(Server *s, const char *pkg, uid_t uid, const uint8_t *ticket, size_t ticket_len,
                       uint8_t **ret_blob, size_t *ret_len) {
        int r = -ENOENT;

        if (ticket_len != 32)
                return -ENOENT;
        pthread_mutex_lock(&s->lock);
        exports_expire(s);
        for (ExportedCtx **p = &s->exports; *p; p = &(*p)->next) {
                ExportedCtx *e = *p;
                if (memcmp_const(e->ticket, ticket, 32) != 0 || strcmp(e->pkg, pkg) != 0)
                        continue;
                if (e->uid != uid) {
                        r = -EPERM;
                        break;
                }
                *p = e->next;
                *ret_blob = TAKE_PTR(e->blob);
                *ret_len = e->len;
                e->len = 0;
                export_free(e);
                r = 0;
                break;
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

void server_free_exports(Server *s) {
        while (s->exports) {
                ExportedCtx *e = s->exports;
                s->exports = e->next;
                export_free(e);
        }
}
