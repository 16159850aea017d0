/* SPDX-License-Identifier: MIT */
/*
 * The event loop's own sources: listening sockets accepting into
 * connections, the eventfd by which workers ask for EPOLLOUT (the
 * connections queue themselves on server->out_list, conn.c), and closing
 * every connection at exit. Above conn.c; main.c wires it.
 */
#include "core/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn.h"
#include "util/log.h"

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

int loop_add_listener(Server *s, int fd) {
        return sd_event_add_io(s->event, NULL, fd, EPOLLIN, on_accept, s);
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

int loop_setup_wake(Server *s) {
        s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->wake_fd < 0)
                return -errno;
        return sd_event_add_io(s->event, &s->wake_source, s->wake_fd, EPOLLIN, on_wake, s);
}

void loop_close_all(Server *s) {
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
