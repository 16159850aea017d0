/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "conn.h"
#include "log.h"
#include "util.h"

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

void server_close_all(Server *s) {
        admin_shutdown();
        for (;;) {
                Conn *c;

                pthread_mutex_lock(&s->lock);
                c = s->conns;
                if (c)
                        conn_ref(c);
                pthread_mutex_unlock(&s->lock);
                if (!c)
                        return;
                conn_shutdown(c, NULL);
                conn_unref(c);
        }
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;

        (void) es;
        (void) revents;
        for (int i = 0; i < 64; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                Conn *c;

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                log_warning("accept: %s", strerror(errno));
                        break;
                }
                c = conn_new(s, cfd);
                if (!c) {
                        log_warning("cannot set up a connection");
                        close(cfd);
                }
                /* The event source now holds the connection's first reference. */
        }
        return 0;
}

int server_add_listener(Server *s, int fd) {
        return sd_event_add_io(s->event, NULL, fd, EPOLLIN, on_accept, s);
}

/* ---- admin socket: see admin.c ---- */

int server_add_admin_listener(Server *s, int fd) {
        return admin_add_listener(s, fd);
}

/* ---- output requests from workers ---- */

void server_want_output(Server *s, Conn *c) {
        uint64_t one = 1;

        conn_ref(c);
        pthread_mutex_lock(&s->lock);
        c->out_next = s->out_list;
        s->out_list = c;
        pthread_mutex_unlock(&s->lock);
        if (write(s->wake_fd, &one, sizeof(one)) < 0) {
                /* the counter is already non-zero: the loop will wake */
        }
}

static int on_wake(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        uint64_t v;
        Conn *list;

        (void) es;
        (void) revents;
        if (read(fd, &v, sizeof(v)) < 0) {
                /* spurious wake-up: nothing to drain */
        }
        pthread_mutex_lock(&s->lock);
        list = s->out_list;
        s->out_list = NULL;
        pthread_mutex_unlock(&s->lock);
        while (list) {
                Conn *n = list->out_next;
                conn_flush_from_loop(list);
                conn_unref(list);
                list = n;
        }
        return 0;
}

int server_setup_wake(Server *s);
int server_setup_wake(Server *s) {
        s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->wake_fd < 0)
                return -errno;
        return sd_event_add_io(s->event, &s->wake_source, s->wake_fd, EPOLLIN, on_wake, s);
}
