/* SPDX-License-Identifier: MIT */
#include "core/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/bounds.h"
#include "util/log.h"
#include "util/random.h"
#include "policy/quota.h"
#include "core/server.h"
#include "util/util.h"

#define CONN_MAX_OUT_BYTES (32u << 20)
#define TAG_KIND_SHIFT 0
#define TAG_PKG_SHIFT 8
#define TAG_EPOCH_SHIFT 16

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* The read buffer's size is what the uid's quota-input-bytes counts for
 * this connection (with the requests it has in flight, dispatch.c). */
static void conn_charge_reader(Conn *c) {
        if (c->reader.cap == c->in_charged)
                return;
        if (c->reader.cap > c->in_charged)
                __atomic_add_fetch(&c->usage->in_bytes, c->reader.cap - c->in_charged, __ATOMIC_RELAXED);
        else
                __atomic_sub_fetch(&c->usage->in_bytes, c->in_charged - c->reader.cap, __ATOMIC_RELAXED);
        c->in_charged = c->reader.cap;
}

/* Closes c for a limit. Logged a few times per window and kind of limit
 * (limit_log_ok): a uid that reconnects and offends again in a loop must
 * not grow the log. */
static void conn_close_limit(Conn *c, Limit l, const char *why) {
        unsigned suppressed;

        usage_hit(c->usage, l);
        if (limit_log_ok(l, &suppressed))
                log_notice("conn %llu (uid %u pid %d): closed: %s%s", (unsigned long long) c->serial,
                           (unsigned) c->caller.uid, (int) c->caller.pid, why,
                           suppressed ? " (and more such closes, not logged)" : "");
        conn_shutdown(c, NULL);
}

static int read_peer(Conn *c) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        gid_t groups[256];
        socklen_t glen = sizeof(groups);

        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        c->caller.uid = cred.uid;
        c->caller.gid = cred.gid;
        c->caller.pid = cred.pid;
        /* Supplementary groups as they were at connect(), like SO_PEERCRED. */
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0 && glen > 0) {
                c->caller.n_groups = glen / sizeof(gid_t);
                c->caller.groups = malloc(glen);
                if (!c->caller.groups)
                        return -ENOMEM;
                memcpy(c->caller.groups, groups, glen);
        }
        /* No pidfd: nothing asked the pid again after connect, and it
         * cost each connection a second descriptor. */
        return 0;
}

Conn *conn_new(Server *s, int fd) {
        Conn *c = calloc(1, sizeof(*c));
        Config *cfg;
        uint64_t rnd = 0;
        int r;

        if (!c)
                return NULL;
        c->refcount = 1;
        c->server = s;
        c->fd = fd;
        pthread_mutex_init(&c->lock, NULL);
        c->n_buckets = 64;
        c->buckets = calloc(c->n_buckets, sizeof(Object *));
        cfg = server_config(s);
        wire_reader_init(&c->reader, cfg->max_frame);
        if (!c->buckets || read_peer(c) < 0 || random_bytes(&rnd, sizeof(rnd)) < 0 ||
            !(c->usage = uid_usage_get(&s->lock, &s->usage, c->caller.uid))) {
                config_unref(cfg);
                c->fd = -1;
                conn_unref(c);
                return NULL;
        }
        if (!usage_take(&c->usage->connections, cfg->quota_connections)) {
                /* A few lines per window, not one per accept: a uid
                 * hammering the socket must not fill the log. */
                unsigned suppressed;

                if (limit_log_ok(LIMIT_CONNECTIONS, &suppressed))
                        log_notice("uid %u: quota-connections (%u) reached; connection refused%s",
                                   (unsigned) c->caller.uid, cfg->quota_connections,
                                   suppressed ? " (more refusals not logged)" : "");
                usage_hit(c->usage, LIMIT_CONNECTIONS);
                config_unref(cfg);
                uid_usage_put(TAKE_PTR(c->usage));
                c->fd = -1;
                conn_unref(c);
                return NULL;
        }
        config_unref(cfg);
        c->epoch = (rnd ^ s->boot_nonce) & 0xffffffffffffULL;
        c->connected_since = time(NULL);
        c->last_active_usec = now_usec();
        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_on_io, c);
        if (r < 0) {
                c->fd = -1;
                conn_unref(c);
                return NULL;
        }
        pthread_mutex_lock(&s->lock);
        c->serial = ++s->next_serial;
        c->list_next = s->conns;
        if (s->conns)
                s->conns->list_prev = c;
        s->conns = c;
        s->n_conns++;
        s->counters.connections_total++;
        pthread_mutex_unlock(&s->lock);
        log_debug("conn %llu: uid=%u gid=%u pid=%d", (unsigned long long) c->serial, (unsigned) c->caller.uid,
                  (unsigned) c->caller.gid, (int) c->caller.pid);
        return c;
}

/* Replies carry session keys, exported contexts and decrypted plaintext:
 * wiped before their memory goes back. */
static void out_free(OutChunk *o) {
        explicit_bzero(o->data, o->len);
        free(o);
}

Conn *conn_ref(Conn *c) {
        __atomic_add_fetch(&c->refcount, 1, __ATOMIC_RELAXED);
        return c;
}

void conn_unref(Conn *c) {
        if (!c || __atomic_sub_fetch(&c->refcount, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        while (c->out_head) {
                OutChunk *n = c->out_head->next;
                out_free(c->out_head);
                c->out_head = n;
        }
        if (c->usage) {
                __atomic_sub_fetch(&c->usage->bytes, c->out_bytes, __ATOMIC_RELAXED);
                __atomic_sub_fetch(&c->usage->in_bytes, c->in_charged, __ATOMIC_RELAXED);
                usage_give(&c->usage->connections);
                uid_usage_put(c->usage);
        }
        wire_reader_done(&c->reader);
        free(c->buckets);
        free(c->caller.groups);
        if (c->fd >= 0)
                close(c->fd);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* Detach every object from the table; each is freed when its last job ends. */
static void conn_drop_objects(Conn *c) {
        Object *list = NULL;

        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n_buckets; i++) {
                Object *o = c->buckets[i];
                while (o) {
                        Object *n = o->hash_next;
                        o->in_table = false;
                        o->hash_next = list;
                        list = o;
                        o = n;
                }
                c->buckets[i] = NULL;
        }
        c->n_objects = 0;
        pthread_mutex_unlock(&c->lock);
        while (list) {
                Object *n = list->hash_next;
                list->hash_next = NULL;
                object_unref(list);
                list = n;
        }
}

void conn_shutdown(Conn *c, const char *why) {
        Server *s = c->server;
        bool was_dead;

        pthread_mutex_lock(&c->lock);
        was_dead = c->dead;
        c->dead = true;
        pthread_mutex_unlock(&c->lock);
        if (was_dead)
                return;
        s->closed_serial++;
        if (why)
                log_notice("conn %llu (uid %u pid %d): closed: %s", (unsigned long long) c->serial,
                           (unsigned) c->caller.uid, (int) c->caller.pid, why);
        c->io = sd_event_source_disable_unref(c->io);
        c->more = sd_event_source_disable_unref(c->more);
        c->throttle = sd_event_source_disable_unref(c->throttle);
        /* No more input: make later writes fail fast instead of queueing. */
        shutdown(c->fd, SHUT_RDWR);
        /* Calls waiting for the client's pGetKeyFn end now, with an error. */
        if (s->getkey_cancel_all)
                s->getkey_cancel_all(c);
        conn_drop_objects(c);
        pthread_mutex_lock(&s->lock);
        if (c->list_prev)
                c->list_prev->list_next = c->list_next;
        else
                s->conns = c->list_next;
        if (c->list_next)
                c->list_next->list_prev = c->list_prev;
        c->list_prev = c->list_next = NULL;
        s->n_conns--;
        pthread_mutex_unlock(&s->lock);
        conn_unref(c);
}

/* Try to write queued output. Caller holds c->lock. 0, -EAGAIN, or error. */
/* Sends what is queued. Called with c->lock held, returns with it held.
 * One thread writes at a time (c->writing), and it lets go of the lock
 * around send(): on a shared CPU the client woken by send() runs first, and
 * a writer preempted there must not hold up the loop, which needs the lock
 * for the client's next request. Others queue and leave; the writer sends
 * their replies too. Only the writer removes chunks (and conn_unref). */
static int conn_write_queued(Conn *c) {
        int r = 0;

        if (c->writing)
                return 0;
        c->writing = true;
        while (c->out_head) {
                OutChunk *o = c->out_head;
                size_t off = o->off;
                ssize_t n;
                int err;

                pthread_mutex_unlock(&c->lock);
                n = send(c->fd, o->data + off, o->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                err = errno;
                pthread_mutex_lock(&c->lock);
                if (n < 0) {
                        if (err == EINTR)
                                continue;
                        r = err == EAGAIN ? -EAGAIN : -err;
                        break;
                }
                o->off += (size_t) n;
                c->out_bytes -= (size_t) n;
                __atomic_sub_fetch(&c->usage->bytes, (uint64_t) n, __ATOMIC_RELAXED);
                if (o->off < o->len)
                        continue;
                c->out_head = o->next;
                if (!c->out_head)
                        c->out_tail = NULL;
                out_free(o);
        }
        c->writing = false;
        return r;
}

/* From a worker: the connection has output that needs EPOLLOUT; the loop
 * drains server->out_list when the wake eventfd fires (loop.c). */
static void conn_want_output(Server *s, Conn *c) {
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

int conn_send(Conn *c, const Sspiw__Envelope *e) {
        size_t n = sspiw__envelope__get_packed_size(e);
        uint64_t quota_bytes;
        Config *cfg;
        OutChunk *o;
        bool on_loop, need_wake = false;
        int r;

        cfg = server_config(c->server);
        quota_bytes = cfg->quota_bytes;
        config_unref(cfg);
        o = malloc(sizeof(*o) + WIRE_HEADER_SIZE + n);
        if (!o)
                return -ENOMEM;
        o->next = NULL;
        o->off = 0;
        o->len = WIRE_HEADER_SIZE + n;
        o->data[0] = n >> 24;
        o->data[1] = n >> 16;
        o->data[2] = n >> 8;
        o->data[3] = n;
        sspiw__envelope__pack(e, o->data + WIRE_HEADER_SIZE);

        pthread_mutex_lock(&c->lock);
        if (c->dead) {
                pthread_mutex_unlock(&c->lock);
                out_free(o);
                return -ECONNRESET;
        }
        if (c->out_bytes + o->len > CONN_MAX_OUT_BYTES ||
            (quota_bytes && __atomic_load_n(&c->usage->bytes, __ATOMIC_RELAXED) + o->len > quota_bytes)) {
                /* The client does not read its replies: it loses the
                 * connection, nobody else is affected. A reply cannot be
                 * dropped alone (its caller would wait for it forever):
                 * shutting the socket down makes the loop see EOF and
                 * close the connection, from whichever thread we are on. */
                bool first = !c->overflowed;
                const char *what = c->out_bytes + o->len > CONN_MAX_OUT_BYTES ? "output limit" : "quota-bytes";

                usage_hit(c->usage, LIMIT_BYTES);
                c->overflowed = true;
                pthread_mutex_unlock(&c->lock);
                out_free(o);
                if (first) {
                        unsigned suppressed;

                        if (limit_log_ok(LIMIT_BYTES, &suppressed))
                                log_notice("conn %llu (uid %u pid %d): %s reached; connection dropped%s",
                                           (unsigned long long) c->serial, (unsigned) c->caller.uid,
                                           (int) c->caller.pid, what, suppressed ? " (more not logged)" : "");
                        shutdown(c->fd, SHUT_RDWR);
                }
                return -ENOBUFS;
        }
        if (c->out_tail)
                c->out_tail->next = o;
        else
                c->out_head = o;
        c->out_tail = o;
        c->out_bytes += o->len;
        __atomic_add_fetch(&c->usage->bytes, (uint64_t) o->len, __ATOMIC_RELAXED);
        r = conn_write_queued(c);
        if (r == -EAGAIN && !c->want_out) {
                c->want_out = true;
                need_wake = true;
        }
        pthread_mutex_unlock(&c->lock);
        if (r < 0 && r != -EAGAIN)
                return r;
        if (need_wake) {
                on_loop = gettid() == c->server->loop_tid;
                if (on_loop)
                        conn_flush_from_loop(c);
                else
                        conn_want_output(c->server, c);
        }
        return 0;
}

void conn_flush_from_loop(Conn *c) {
        bool pending;

        pthread_mutex_lock(&c->lock);
        pending = c->out_head != NULL && !c->dead;
        pthread_mutex_unlock(&c->lock);
        if (c->io)
                (void) sd_event_source_set_io_events(c->io,
                                                     (c->throttled ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0));
}

/* Taking turns: a connection dispatches at most FRAMES_PER_TURN requests
 * before the other ready connections get theirs (sd-event dispatches one
 * source per iteration, oldest pending first), and continues from a defer
 * source. A uid that is flooding (refused for a quota lately) is served at
 * idle priority, one request per turn and at most one request per
 * FLOOD_GAP_USEC over all its connections: its connections stop reading
 * (no EPOLLIN) until its next slot. */
#define FRAMES_PER_TURN 16u
#define FLOOD_GAP_USEC 1000u

static void conn_on_readable(Conn *c, bool hangup);

static int conn_on_unthrottle(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *c = userdata;

        (void) s;
        (void) usec;
        conn_ref(c);
        c->throttled = false;
        if (!c->dead) {
                conn_flush_from_loop(c);
                conn_on_readable(c, false);
        }
        conn_unref(c);
        return 0;
}

/* Reads nothing more from c until `until` (CLOCK_MONOTONIC usec). */
static void conn_throttle(Conn *c, uint64_t until) {
        int r;

        if (c->throttle)
                r = sd_event_source_set_time(c->throttle, until) < 0
                            ? -1
                            : sd_event_source_set_enabled(c->throttle, SD_EVENT_ONESHOT);
        else
                /* Accuracy 0 would be sd-event's default of 250 ms, and
                 * the wake-up would land anywhere in that window: a
                 * flooding uid would get one request per tens of ms, not
                 * the one per FLOOD_GAP_USEC sspid.conf(5) promises. */
                r = sd_event_add_time(c->server->event, &c->throttle, CLOCK_MONOTONIC, until, FLOOD_GAP_USEC / 10,
                                      conn_on_unthrottle, c);
        if (r < 0)
                return; /* no timer: no throttling either */
        c->throttled = true;
        conn_flush_from_loop(c);
}

static int conn_on_more(sd_event_source *s, void *userdata) {
        Conn *c = userdata;

        (void) s;
        conn_ref(c);
        if (!c->dead && !c->throttled)
                conn_on_readable(c, false);
        conn_unref(c);
        return 0;
}

/* The connection's next turn, behind every source already waiting at its
 * priority. A defer source is a new one each turn: sd-event keeps a defer
 * source pending from its creation on and orders equal priorities by the
 * iteration in which a source became pending, so one defer source
 * re-enabled turn after turn stays the oldest pending source for good and
 * is dispatched before every listener, admin socket and other connection of
 * its priority: one busy connection that never crossed a quota would own
 * the loop. */
static void conn_next_turn(Conn *c) {
        c->more = sd_event_source_disable_unref(c->more);
        if (sd_event_add_defer(c->server->event, &c->more, conn_on_more, c) >= 0)
                (void) sd_event_source_set_priority(c->more, c->priority);
}

/* Returns how many requests this turn may dispatch; *flooding tells
 * whether the uid's slots apply. */
static unsigned conn_turn(Conn *c, uint64_t now, bool *ret_flooding) {
        bool flooding;
        int64_t prio;

        flooding = *ret_flooding = usage_flooding(c->usage, now);
        prio = flooding ? SD_EVENT_PRIORITY_IDLE : SD_EVENT_PRIORITY_NORMAL;
        if (prio != c->priority) {
                c->priority = prio;
                (void) sd_event_source_set_priority(c->io, prio);
                if (c->more)
                        (void) sd_event_source_set_priority(c->more, prio);
        }
        return flooding ? 1 : FRAMES_PER_TURN;
}

/* hangup: the peer is gone or the socket failed; read to the end whatever
 * the throttle says. */
/* A uid over quota-input-bytes (read buffers + requests in flight) or with
 * quota-queued jobs waiting for a worker is not read from until that falls:
 * its further requests wait in its own socket, not decoded in our memory
 * (finding 4). Polled every CONN_WAIT_USEC while it lasts. */
#define CONN_WAIT_USEC 100000u

typedef struct ReadLimits {
        uint64_t input_bytes;
        unsigned queued;
        uint32_t max_frame;
        unsigned max_unknown, max_fields;
} ReadLimits;

static uint32_t frame_len(const WireReader *r) {
        const uint8_t *p = r->buf + r->off;

        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static bool conn_must_wait(Conn *c, const ReadLimits *l) {
        UidUsage *u = c->usage;
        uint64_t grow = 0;

        if (l->queued && __atomic_load_n(&u->queued, __ATOMIC_RELAXED) >= l->queued) {
                usage_hit(u, LIMIT_QUEUED);
                return true;
        }
        if (!l->input_bytes)
                return false;
        if (c->reader.len - c->reader.off >= WIRE_HEADER_SIZE) {
                uint32_t n = frame_len(&c->reader);
                if (n <= l->max_frame && WIRE_HEADER_SIZE + (uint64_t) n > c->reader.cap)
                        grow = WIRE_HEADER_SIZE + (uint64_t) n - c->reader.cap;
        }
        if (__atomic_load_n(&u->in_bytes, __ATOMIC_RELAXED) + grow > l->input_bytes) {
                usage_hit(u, LIMIT_INPUT_BYTES);
                return true;
        }
        return false;
}

/* Checks the next complete frame before protobuf-c decodes it (finding 9).
 * 0, or negative with the connection shut down. */
static int conn_precheck(Conn *c, const ReadLimits *lim) {
        const char *why = NULL;
        uint32_t n;
        int r;

        if (!wire_reader_has_frame(&c->reader))
                return 0;
        n = frame_len(&c->reader);
        if (n > c->reader.max_frame)
                return 0; /* wire_reader_next refuses it */
        c->frame_bytes = WIRE_HEADER_SIZE + n;
        r = limits_precheck_frame(c->reader.buf + c->reader.off + WIRE_HEADER_SIZE, n, lim->max_unknown, lim->max_fields,
                                  &why);
        if (r < 0) {
                char msg[128];

                server_count(c->server, &c->server->counters.connections_dropped);
                snprintf(msg, sizeof(msg), "frame refused before decoding (%u bytes): %s", n, why);
                conn_close_limit(c, LIMIT_FRAME, msg);
        }
        return r;
}

static void conn_read_some(Conn *c, bool hangup, const ReadLimits *lim) {
        uint64_t now = 0;
        bool flooding, drained = false;
        unsigned budget;

        (void) sd_event_now(c->server->event, CLOCK_MONOTONIC, &now);
        budget = conn_turn(c, now, &flooding);
        if (hangup)
                flooding = false;
        for (;;) {
                Sspiw__Envelope *e = NULL;
                int r;

                if (flooding && now < c->usage->flood_next_usec) {
                        conn_throttle(c, c->usage->flood_next_usec);
                        return;
                }
                c->held = !hangup && conn_must_wait(c, lim);
                if (c->held) {
                        conn_throttle(c, now + CONN_WAIT_USEC);
                        return;
                }
                if (budget-- == 0) {
                        /* The rest (buffered here or in the socket) on a
                         * later turn. */
                        conn_next_turn(c);
                        return;
                }
                /* The first frame must be a Hello, a few bytes: a bigger one
                 * is refused from its header, before a byte of it is read
                 * into memory or decoded. */
                if (!c->hello_done && c->reader.len - c->reader.off >= WIRE_HEADER_SIZE &&
                    frame_len(&c->reader) > LIMITS_MAX_HELLO) {
                        server_count(c->server, &c->server->counters.connections_dropped);
                        conn_close_limit(c, LIMIT_FRAME, "first frame larger than a Hello");
                        return;
                }
                if (conn_precheck(c, lim) < 0)
                        return;
                r = wire_reader_next(&c->reader, &e);

                if (r == 0) {
                        /* A frame that needs a bigger buffer: its start is
                         * checked first, once (finding 9). */
                        if (c->reader.len - c->reader.off > WIRE_HEADER_SIZE &&
                            frame_len(&c->reader) <= c->reader.max_frame &&
                            WIRE_HEADER_SIZE + (size_t) frame_len(&c->reader) > c->reader.cap) {
                                const char *why = NULL;

                                if (limits_precheck_prefix(c->reader.buf + c->reader.off + WIRE_HEADER_SIZE,
                                                           c->reader.len - c->reader.off - WIRE_HEADER_SIZE,
                                                           lim->max_unknown, lim->max_fields, &why) < 0) {
                                        char msg[128];

                                        server_count(c->server, &c->server->counters.connections_dropped);
                                        snprintf(msg, sizeof(msg), "frame refused from its first bytes: %s", why);
                                        conn_close_limit(c, LIMIT_FRAME, msg);
                                        return;
                                }
                        }
                        /* The last read in this turn left room in the
                         * buffer (a read is offered all of it, so the socket
                         * held no more then): the loop's poll (level-
                         * triggered) brings us back when more comes, and an
                         * empty read more per call is a system call saved. */
                        if (drained && !hangup)
                                return;
                        r = wire_reader_fill(&c->reader, c->fd);
                        conn_charge_reader(c);
                        if (r > 0) {
                                c->last_active_usec = now;
                                drained = c->reader.len < c->reader.cap;
                        }
                        if (r == -EAGAIN)
                                return;
                        if (r == 0) {
                                conn_shutdown(c, NULL);
                                return;
                        }
                        if (r < 0) {
                                conn_shutdown(c, "read error");
                                return;
                        }
                        continue;
                }
                if (r == -EMSGSIZE) {
                        server_count(c->server, &c->server->counters.connections_dropped);
                        conn_shutdown(c, "frame larger than max-frame");
                        return;
                }
                if (r < 0) {
                        server_count(c->server, &c->server->counters.connections_dropped);
                        conn_shutdown(c, "undecodable frame");
                        return;
                }
                if (e->body_case == SSPIW__ENVELOPE__BODY_GET_KEY_REP) {
                        c->server->getkey_answer(c, e);
                        wire_free(e);
                } else
                        c->server->dispatch_request(c, e); /* takes ownership */
                if (flooding)
                        c->usage->flood_next_usec = now + FLOOD_GAP_USEC;
                if (c->dead)
                        return;
        }
}

static void conn_on_readable(Conn *c, bool hangup) {
        Config *cfg = server_config(c->server);
        ReadLimits lim = {
                .input_bytes = cfg->quota_input_bytes,
                .queued = cfg->quota_queued,
                .max_frame = cfg->max_frame,
                .max_unknown = cfg->max_unknown_fields,
                .max_fields = cfg->max_fields,
        };
        bool partial;

        config_unref(cfg);
        conn_read_some(c, hangup, &lim);
        if (c->dead)
                return;
        /* A frame is "started" from its first byte until it is complete;
         * the sweep closes a connection whose frame takes too long. While
         * the daemon itself holds the connection unread (its uid's queue
         * or input bytes are full), the clock does not run: the frame
         * cannot complete, and a slow daemon must not drop a client that
         * merely has many calls in flight. Memory stays bounded by
         * quota-input-bytes meanwhile. */
        partial = c->reader.len > c->reader.off && !wire_reader_has_frame(&c->reader);
        if (!partial || c->held)
                c->frame_start_usec = 0;
        else if (c->frame_start_usec == 0)
                c->frame_start_usec = now_usec();
}

/* now - then, 0 when then is later (clocks read at different moments). */
static uint64_t usec_since(uint64_t now, uint64_t then) {
        return now > then ? now - then : 0;
}

bool conn_sweep(Conn *c, uint64_t now, const Config *cfg) {
        bool idle;

        if (c->dead)
                return false;
        if (cfg->frame_timeout && c->frame_start_usec &&
            usec_since(now, c->frame_start_usec) >= (uint64_t) cfg->frame_timeout * 1000000u) {
                conn_close_limit(c, LIMIT_FRAME, "frame not completed within frame-timeout");
                return true;
        }
        pthread_mutex_lock(&c->lock);
        idle = c->n_objects == 0 && c->calls_in_flight == 0 && !c->out_head && !c->getkey_waits;
        pthread_mutex_unlock(&c->lock);
        if (idle && cfg->idle_timeout && c->reader.len == c->reader.off &&
            usec_since(now, c->last_active_usec) >= (uint64_t) cfg->idle_timeout * 1000000u) {
                conn_close_limit(c, LIMIT_IDLE, "idle-timeout");
                return true;
        }
        /* Nothing buffered for a second: the buffer goes back (an idle
         * connection holds none; the next read allocates again). */
        if (c->reader.buf && c->reader.len == c->reader.off &&
            usec_since(now, c->last_active_usec) >= 1000000u) {
                uint32_t max_frame = c->reader.max_frame;

                wire_reader_done(&c->reader);
                wire_reader_init(&c->reader, max_frame);
                conn_charge_reader(c);
        }
        return false;
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;
        int r;

        (void) s;
        (void) fd;
        conn_ref(c);
        if (revents & EPOLLOUT) {
                pthread_mutex_lock(&c->lock);
                r = conn_write_queued(c);
                c->want_out = false;
                pthread_mutex_unlock(&c->lock);
                if (r < 0 && r != -EAGAIN)
                        conn_shutdown(c, "write error");
                else
                        conn_flush_from_loop(c);
        }
        if (!c->dead && (revents & (EPOLLHUP | EPOLLERR)))
                conn_on_readable(c, true);
        else if (!c->dead && !c->throttled && (revents & EPOLLIN))
                conn_on_readable(c, false);
        conn_unref(c);
        return 0;
}

/* ---- handle table ---- */

static size_t bucket_of(const Conn *c, uint64_t id) {
        return (size_t) ((id * 0x9e3779b97f4a7c15ULL) >> 32) & (c->n_buckets - 1);
}

static int conn_grow(Conn *c) {
        size_t n = c->n_buckets * 2;
        Object **nb = calloc(n, sizeof(Object *));

        if (!nb)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_buckets; i++) {
                Object *o = c->buckets[i];
                while (o) {
                        Object *next = o->hash_next;
                        size_t b = (size_t) ((o->id * 0x9e3779b97f4a7c15ULL) >> 32) & (n - 1);
                        o->hash_next = nb[b];
                        nb[b] = o;
                        o = next;
                }
        }
        free(c->buckets);
        c->buckets = nb;
        c->n_buckets = n;
        return 0;
}

int conn_object_add(Conn *c, Object *o) {
        size_t b;

        if (c->dead)
                return -ECONNRESET;
        if (c->n_objects >= 2 * c->n_buckets && conn_grow(c) < 0)
                return -ENOMEM;
        do {
                int r = random_bytes(&o->id, sizeof(o->id));

                if (r < 0)
                        return r;
        } while (o->id == 0 || o->id == UINT64_MAX || o->id == UINT64_MAX - 1);
        o->tag = (uint64_t) o->kind << TAG_KIND_SHIFT | (uint64_t) (o->pkg ? o->pkg->rpcid & 0xff : 0) << TAG_PKG_SHIFT |
                 c->epoch << TAG_EPOCH_SHIFT;
        if (!o->usage) {
                o->usage = c->usage;
                __atomic_add_fetch(&o->usage->objects, 1, __ATOMIC_RELAXED);
                pthread_mutex_lock(&c->server->lock);
                o->usage->refs++;
                pthread_mutex_unlock(&c->server->lock);
        }
        b = bucket_of(c, o->id);
        o->hash_next = c->buckets[b];
        c->buckets[b] = o;
        o->in_table = true;
        c->n_objects++;
        return 0;
}

Object *conn_object_lookup(Conn *c, const Sspiw__Handle *h, ObjectKind kind) {
        if (!h)
                return NULL;
        for (Object *o = c->buckets[bucket_of(c, h->upper)]; o; o = o->hash_next)
                if (o->id == h->upper)
                        return o->tag == h->lower && o->kind == kind ? o : NULL;
        return NULL;
}

void conn_object_remove(Conn *c, Object *o) {
        Object **p = &c->buckets[bucket_of(c, o->id)];

        for (; *p; p = &(*p)->hash_next)
                if (*p == o) {
                        *p = o->hash_next;
                        o->hash_next = NULL;
                        o->in_table = false;
                        c->n_objects--;
                        return;
                }
}

/* Live objects in the whole daemon, for sspictl and the leak tests. */
static uint64_t objects_live;

uint64_t object_count(void) {
        return __atomic_load_n(&objects_live, __ATOMIC_RELAXED);
}

bool conn_may_add_object(Conn *c, const Config *cfg) {
        if (!usage_below(&c->usage->objects, cfg->quota_objects)) {
                usage_refused(c->usage);
                usage_hit(c->usage, LIMIT_OBJECTS);
                return false;
        }
        return c->n_objects < cfg->max_objects;
}

Object *object_new(ObjectKind kind, const Provider *pkg) {
        Object *o = calloc(1, sizeof(*o));

        if (!o)
                return NULL;
        __atomic_add_fetch(&objects_live, 1, __ATOMIC_RELAXED);
        o->kind = kind;
        o->pkg = pkg;
        o->refcount = 1;
        o->created = time(NULL);
        return o;
}

Object *object_ref(Object *o) {
        __atomic_add_fetch(&o->refcount, 1, __ATOMIC_RELAXED);
        return o;
}

void object_unref(Object *o) {
        if (!o || __atomic_sub_fetch(&o->refcount, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        if (o->state) {
                if (o->kind == OBJECT_CONTEXT)
                        o->pkg->ctx_free(o->state);
                else
                        o->pkg->cred_free(o->state);
        }
        object_unref(o->cred);
        if (o->usage) {
                usage_give(&o->usage->objects);
                uid_usage_put(o->usage);
        }
        free(o->principal);
        free(o);
        __atomic_sub_fetch(&objects_live, 1, __ATOMIC_RELAXED);
}

void object_to_handle(const Object *o, Sspiw__Handle *h) {
        h->lower = o->tag;
        h->upper = o->id;
}
