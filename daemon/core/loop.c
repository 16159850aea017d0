/* SPDX-License-Identifier: MIT */
/*
 * The event loop's own sources: listening sockets accepting into
 * connections, the eventfd by which workers ask for EPOLLOUT (the
 * connections queue themselves on server->out_list, conn.c), and closing
 * every connection at exit; pausing the listener on EMFILE/ENFILE, the
 * descriptor reserve for root, and the once-a-second sweep (idle and frame
 * timeouts, read buffers and memory given back). Above conn.c; main.c
 * wires it.
 */
#include "core/loop.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/conn.h"
#include "core/exports.h"
#include "core/workers.h"
#include "util/log.h"

/* ---- accepting ---- */

/* How long the listener rests after EMFILE/ENFILE: the socket stays
 * readable while we cannot accept, and a level-triggered loop would spin on
 * it (finding 3: 100 % CPU and gigabytes of log). Connections closing give
 * descriptors back meanwhile; the clients wait in the backlog. */
#define ACCEPT_PAUSE_USEC 100000u

static int on_accept_resume(sd_event_source *es, uint64_t usec, void *userdata) {
        Server *s = userdata;

        (void) es;
        (void) usec;
        (void) sd_event_source_set_enabled(s->listener, SD_EVENT_ON);
        return 0;
}

static void accept_pause(Server *s, int err) {
        int r;

        if (!s->accept_episode)
                log_warning("accept: %s; not accepting for a while (logged once until accepting works again)",
                            strerror(err));
        s->accept_episode = true;
        if (s->accept_resume)
                r = sd_event_source_set_time_relative(s->accept_resume, ACCEPT_PAUSE_USEC) < 0
                            ? -1
                            : sd_event_source_set_enabled(s->accept_resume, SD_EVENT_ONESHOT);
        else
                r = sd_event_add_time_relative(s->event, &s->accept_resume, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC, 0,
                                               on_accept_resume, s);
        /* Without a timer, keep the listener on: spinning beats going deaf. */
        if (r >= 0)
                (void) sd_event_source_set_enabled(s->listener, SD_EVENT_OFF);
}

bool loop_fds_tight(Server *s) {
        Config *cfg = server_config(s);
        unsigned long need;
        unsigned n;

        pthread_mutex_lock(&s->lock);
        n = s->n_conns;
        pthread_mutex_unlock(&s->lock);
        need = (unsigned long) s->fd_base + n + 1 + cfg->fd_reserve;
        /* 0: no reserve at all (accept until EMFILE) */
        if (cfg->fd_reserve == 0)
                need = 0;
        config_unref(cfg);
        return need > limits_fd_max();
}

static uid_t peer_uid(int fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return (uid_t) -1;
        return cred.uid;
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;

        (void) es;
        (void) revents;
        for (int i = 0; i < 64; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                Conn *c;

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                accept_pause(s, errno);
                        else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning("accept: %s", strerror(errno));
                        break;
                }
                if (s->accept_episode) {
                        log_info("accepting connections again");
                        s->accept_episode = false;
                }
                /* The last fd-reserve descriptors are root's (and the admin
                 * socket's): other uids are refused, logged once a spell. */
                if (loop_fds_tight(s) && peer_uid(cfd) != 0) {
                        if (!s->reserve_episode)
                                log_warning("descriptors within fd-reserve of the limit (%lu): refusing connections "
                                            "of uids other than root (logged once until below again)",
                                            limits_fd_max());
                        s->reserve_episode = true;
                        s->refused_reserve++;
                        close(cfd);
                        continue;
                }
                if (s->reserve_episode && !loop_fds_tight(s)) {
                        log_info("descriptors below fd-reserve again: accepting every uid");
                        s->reserve_episode = false;
                }
                cfd = limits_move_fd(cfd);
                c = conn_new(s, cfd);
                if (!c)
                        close(cfd); /* logged by conn_new where it is worth it */
                /* The event source now holds the connection's first reference. */
        }
        return 0;
}

static unsigned count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        if (!d)
                return 32;
        while (readdir(d))
                n++;
        closedir(d);
        return n > 3 ? n - 3 : n; /* ".", ".." and the directory's own */
}

int loop_add_listener(Server *s, int fd) {
        /* What is open now (log, listeners, eventfds, the epoll fd) stays
         * open; connections come on top of it. */
        s->fd_base = count_fds() + 8;
        return sd_event_add_io(s->event, &s->listener, fd, EPOLLIN, on_accept, s);
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

/* ---- the sweep: timeouts and memory back ---- */

#define SWEEP_USEC 1000000u
/* malloc_trim when the daemon has gone idle after connections closed, at
 * most this often: after a burst, glibc keeps freed memory in its arenas
 * (finding 4: 657 MB stayed resident); trimming costs a walk of the heap. */
#define TRIM_GAP_USEC 5000000u

static int on_sweep(sd_event_source *es, uint64_t usec, void *userdata) {
        Server *s = userdata;
        Config *cfg = server_config(s);
        Conn **v = NULL;
        size_t n = 0, cap = 0;
        uint64_t now;
        bool busy = false;

        /* The clock now, not the timer's due time (`usec`, maybe earlier
         * than a connection's last activity). */
        struct timespec ts;

        (void) usec;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        pthread_mutex_lock(&s->lock);
        for (Conn *c = s->conns; c; c = c->list_next) {
                if (n == cap) {
                        size_t nc = cap ? cap * 2 : 64;
                        Conn **nv = realloc(v, nc * sizeof(*v));
                        if (!nv)
                                break;
                        v = nv;
                        cap = nc;
                }
                v[n++] = conn_ref(c);
        }
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < n; i++) {
                if (!conn_sweep(v[i], now, cfg) && __atomic_load_n(&v[i]->calls_in_flight, __ATOMIC_RELAXED) > 0)
                        busy = true;
                conn_unref(v[i]);
        }
        free(v);
        config_unref(cfg);
        /* Exports nobody imported in time, a live TLS connection among
         * them, go now rather than at the next export or import. */
        server_exports_expire(s);
        if (!busy && workers_queued(s->workers) == 0 && s->closed_serial != s->trim_serial &&
            now - s->last_trim_usec >= TRIM_GAP_USEC) {
                malloc_trim(0);
                s->last_trim_usec = now;
                s->trim_serial = s->closed_serial;
        }
        (void) sd_event_source_set_time(es, now + SWEEP_USEC);
        (void) sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

int loop_setup_sweep(Server *s) {
        return sd_event_add_time_relative(s->event, &s->sweep, CLOCK_MONOTONIC, SWEEP_USEC, 100000u, on_sweep, s);
}
