/* SPDX-License-Identifier: MIT */
/*
 * The admin socket: sspictl's requests (proto/admin.proto), answered from
 * the daemon's live state. Every admin connection is non-blocking and
 * driven by the event loop: a request is read as it trickles in, the reply
 * is written as the peer drains it, and a peer that stalls is dropped after
 * ADMIN_IDLE_USEC. Nothing here reads or returns a secret: objects are
 * described by their bookkeeping fields only.
 */
#include "admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.pb-c.h"
#include "core/bounds.h"
#include "core/conn.h"
#include "core/dispatch.h"
#include "core/exports.h"
#include "util/log.h"
#include "policy/quota.h"
#include "core/server.h"
#include "core/stats.h"

#define ADMIN_MAX_REQUEST 4096u
#define ADMIN_IDLE_USEC (30ULL * 1000000ULL)
#define ADMIN_MAX_CONNS 32

static uint64_t start_usec;

/* ---- replies: everything allocated for one reply lives in an arena ---- */

typedef struct Arena {
        void **ptrs;
        size_t n, cap;
        bool failed;
} Arena;

static void *arena_keep(Arena *a, void *p) {
        if (!p) {
                a->failed = true;
                return NULL;
        }
        if (a->n == a->cap) {
                size_t nc = a->cap ? a->cap * 2 : 64;
                void **np = reallocarray(a->ptrs, nc, sizeof(void *));
                if (!np) {
                        free(p);
                        a->failed = true;
                        return NULL;
                }
                a->ptrs = np;
                a->cap = nc;
        }
        a->ptrs[a->n++] = p;
        return p;
}

static void *arena_new(Arena *a, size_t size) {
        return arena_keep(a, calloc(1, size));
}

static char *arena_str(Arena *a, const char *s) {
        return arena_keep(a, strdup(s ? s : ""));
}

static void arena_free(Arena *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->ptrs[i]);
        free(a->ptrs);
        *a = (Arena) {};
}

/* Appends one element to a protobuf repeated field of pointers. */
static void *push(Arena *a, void ***arr, size_t *n, size_t cap_hint, size_t size) {
        void *e;

        (void) cap_hint;
        if ((*n & (*n - 1)) == 0) {
                /* full at 0, 1, 2, 4, 8...: double */
                size_t nc = *n ? *n * 2 : 1;
                void **na = arena_keep(a, calloc(nc, sizeof(void *)));
                if (!na)
                        return NULL;
                if (*n)
                        memcpy(na, *arr, *n * sizeof(void *));
                *arr = na;
        }
        e = arena_new(a, size);
        if (!e)
                return NULL;
        (*arr)[(*n)++] = e;
        return e;
}

/* The open connections, referenced, so that no server lock is held while
 * each is inspected under its own lock. */
static Conn **snapshot_conns(Server *s, size_t *ret_n) {
        Conn **v;
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        v = calloc(s->n_conns + 1, sizeof(*v));
        if (v)
                for (Conn *c = s->conns; c; c = c->list_next)
                        v[n++] = conn_ref(c);
        pthread_mutex_unlock(&s->lock);
        *ret_n = n;
        return v;
}

static void release_conns(Conn **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                conn_unref(v[i]);
        free(v);
}

static int64_t unix_from_filetime(int64_t ft) {
        return (ft - FILETIME_UNIX_EPOCH) / 10000000LL;
}

static void read_comm(pid_t pid, char *buf, size_t len) {
        char path[64];
        ssize_t n;
        int fd;

        buf[0] = 0;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return;
        n = read(fd, buf, len - 1);
        close(fd);
        if (n <= 0)
                n = 0;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
}

/* The limits a uid is at now, or met within the last LIMIT_HIT_RECENT_USEC
 * (a refusal, a wait, a connection closed): what `sspictl status` shows in
 * its "at limit" column. */
static void usage_at_limits(Arena *a, Sspiadm__UidUsage *e, const UidUsage *u, const Config *cfg, uint64_t now) {
        unsigned bits = usage_hits(u, now);

        if (cfg->quota_connections && e->connections >= cfg->quota_connections)
                bits |= LIMIT_CONNECTIONS;
        if (cfg->quota_objects && e->objects >= cfg->quota_objects)
                bits |= LIMIT_OBJECTS;
        if (cfg->quota_calls && e->calls >= cfg->quota_calls)
                bits |= LIMIT_CALLS;
        if (cfg->quota_input_bytes && e->input_bytes >= cfg->quota_input_bytes)
                bits |= LIMIT_INPUT_BYTES;
        if (cfg->quota_queued && e->queued >= cfg->quota_queued)
                bits |= LIMIT_QUEUED;
        for (unsigned b = 1; b <= LIMIT_IDLE; b <<= 1) {
                char **p;

                if (!(bits & b))
                        continue;
                p = push(a, (void ***) &e->at_limit, &e->n_at_limit, 4, sizeof(char *));
                if (!p)
                        break;
                /* push gives room for a pointer-sized element: store the name */
                e->at_limit[e->n_at_limit - 1] = (char *) limit_name((Limit) b);
        }
}

/* Per-uid usage (quota.h), copied under the server lock: the list only
 * changes under it, the counters are atomics read as they stand. */
static void do_status_usage(Server *s, Arena *a, Sspiadm__Status *st, const Config *cfg) {
        uint64_t now = stats_now_usec();

        pthread_mutex_lock(&s->lock);
        for (UidUsage *u = s->usage; u; u = u->next) {
                Sspiadm__UidUsage *e = push(a, (void ***) &st->usage, &st->n_usage, 8, sizeof(*e));

                if (!e)
                        break;
                sspiadm__uid_usage__init(e);
                e->uid = u->uid;
                e->connections = __atomic_load_n(&u->connections, __ATOMIC_RELAXED);
                e->objects = __atomic_load_n(&u->objects, __ATOMIC_RELAXED);
                e->calls = __atomic_load_n(&u->calls, __ATOMIC_RELAXED);
                e->bytes = __atomic_load_n(&u->bytes, __ATOMIC_RELAXED);
                e->has_throttled = true;
                e->throttled = usage_flooding(u, now);
                e->has_get_key_waits = e->has_exports = true;
                e->get_key_waits = __atomic_load_n(&u->get_key_waits, __ATOMIC_RELAXED);
                e->exports = __atomic_load_n(&u->exports, __ATOMIC_RELAXED);
                e->has_input_bytes = true;
                e->input_bytes = __atomic_load_n(&u->in_bytes, __ATOMIC_RELAXED);
                e->has_queued = true;
                e->queued = __atomic_load_n(&u->queued, __ATOMIC_RELAXED);
                usage_at_limits(a, e, u, cfg, now);
        }
        pthread_mutex_unlock(&s->lock);
}

static void do_status(Server *s, Arena *a, Sspiadm__Reply *rep) {
        Sspiadm__Status *st = arena_new(a, sizeof(*st));
        Sspiadm__Counters *k = arena_new(a, sizeof(*k));
        Config *cfg = server_config(s);
        size_t n_pkgs = 0, n_conns;
        Conn **conns;
        unsigned exports = 0;
        Sspiadm__Quotas *qs;

        if (!st || !k) {
                config_unref(cfg);
                return;
        }
        sspiadm__status__init(st);
        sspiadm__counters__init(k);
        st->version = arena_str(a, SSPID_VERSION);
        st->uptime_sec = (stats_now_usec() - start_usec) / 1000000u;
        st->pid = (uint32_t) getpid();
        while (providers[n_pkgs])
                n_pkgs++;
        st->packages = arena_new(a, (n_pkgs + 1) * sizeof(char *));
        if (st->packages)
                for (size_t i = 0; i < n_pkgs; i++)
                        st->packages[st->n_packages++] = (char *) providers[i]->name;
        if (cfg->path)
                st->config_path = arena_str(a, cfg->path);
        st->workers = cfg->workers;
        if ((qs = arena_new(a, sizeof(*qs)))) {
                sspiadm__quotas__init(qs);
                qs->connections = cfg->quota_connections;
                qs->objects = cfg->quota_objects;
                qs->calls = cfg->quota_calls;
                qs->bytes = cfg->quota_bytes;
                st->quotas = qs;
        }
        if (qs) {
                qs->has_input_bytes = qs->has_queued = qs->has_idle_timeout = qs->has_frame_timeout =
                        qs->has_fd_reserve = true;
                qs->input_bytes = cfg->quota_input_bytes;
                qs->queued = cfg->quota_queued;
                qs->idle_timeout = cfg->idle_timeout;
                qs->frame_timeout = cfg->frame_timeout;
                qs->fd_reserve = cfg->fd_reserve;
        }
        st->has_fd_limit = st->has_fd_refused = true;
        st->fd_limit = limits_fd_max();
        st->fd_refused = s->refused_reserve;
        do_status_usage(s, a, st, cfg);
        config_unref(cfg);

        conns = snapshot_conns(s, &n_conns);
        for (size_t i = 0; conns && i < n_conns; i++) {
                pthread_mutex_lock(&conns[i]->lock);
                k->calls_in_flight += conns[i]->calls_in_flight;
                pthread_mutex_unlock(&conns[i]->lock);
        }
        release_conns(conns, n_conns);
        pthread_mutex_lock(&s->lock);
        k->connections = s->n_conns;
        pthread_mutex_unlock(&s->lock);
        exports = server_exports_waiting(s);
        k->objects = object_count();
        k->exports_waiting = exports;
        k->connections_total = __atomic_load_n(&s->counters.connections_total, __ATOMIC_RELAXED);
        k->connections_dropped = __atomic_load_n(&s->counters.connections_dropped, __ATOMIC_RELAXED);
        k->calls_total = __atomic_load_n(&s->counters.calls_total, __ATOMIC_RELAXED);
        k->calls_inline = __atomic_load_n(&s->counters.calls_inline, __ATOMIC_RELAXED);
        k->calls_worker = __atomic_load_n(&s->counters.calls_worker, __ATOMIC_RELAXED);
        k->calls_failed = __atomic_load_n(&s->counters.calls_failed, __ATOMIC_RELAXED);
        stats_reloads(&k->reloads, &k->reloads_failed);
        st->counters = k;
        rep->status = st;
}

static void do_sessions(Server *s, Arena *a, Sspiadm__Reply *rep) {
        size_t n;
        Conn **conns = snapshot_conns(s, &n);

        for (size_t i = 0; conns && i < n; i++) {
                Conn *c = conns[i];
                Sspiadm__Session *e = push(a, (void ***) &rep->sessions, &rep->n_sessions, n, sizeof(*e));
                char comm[64];

                if (!e)
                        break;
                sspiadm__session__init(e);
                e->id = c->serial;
                e->pid = (uint32_t) c->caller.pid;
                e->uid = c->caller.uid;
                e->gid = c->caller.gid;
                e->connected_since = c->connected_since;
                read_comm(c->caller.pid, comm, sizeof(comm));
                if (comm[0])
                        e->command = arena_str(a, comm);
                pthread_mutex_lock(&c->lock);
                for (size_t b = 0; b < c->n_buckets; b++)
                        for (Object *o = c->buckets[b]; o; o = o->hash_next) {
                                if (o->kind == OBJECT_CONTEXT)
                                        e->contexts++;
                                else
                                        e->credentials++;
                        }
                e->calls_in_flight = c->calls_in_flight;
                pthread_mutex_unlock(&c->lock);
        }
        release_conns(conns, n);
}

static const char *cred_direction(uint32_t use) {
        if ((use & SECPKG_CRED_BOTH) == SECPKG_CRED_BOTH)
                return "both";
        return use & SECPKG_CRED_INBOUND ? "inbound" : "outbound";
}

static void do_objects(Server *s, Arena *a, Sspiadm__Reply *rep, ObjectKind kind) {
        size_t n;
        Conn **conns = snapshot_conns(s, &n);

        for (size_t i = 0; conns && i < n; i++) {
                Conn *c = conns[i];

                pthread_mutex_lock(&c->lock);
                for (size_t b = 0; b < c->n_buckets; b++)
                        for (Object *o = c->buckets[b]; o; o = o->hash_next) {
                                Sspiadm__Object *e;

                                if (o->kind != kind)
                                        continue;
                                e = push(a, (void ***) &rep->objects, &rep->n_objects, 16, sizeof(*e));
                                if (!e)
                                        goto out;
                                sspiadm__object__init(e);
                                e->id = o->id;
                                e->context = kind == OBJECT_CONTEXT;
                                e->session = c->serial;
                                e->pid = (uint32_t) c->caller.pid;
                                e->uid = c->caller.uid;
                                e->package = (char *) o->pkg->name;
                                if (o->principal)
                                        e->principal = arena_str(a, o->principal);
                                if (kind == OBJECT_CONTEXT) {
                                        e->direction = o->inbound ? "inbound" : "outbound";
                                        e->state = o->complete ? "complete" : "in-progress";
                                        e->flags = o->attrs;
                                } else {
                                        e->direction = (char *) cred_direction(o->use);
                                        e->state = "ready";
                                        e->flags = o->use;
                                }
                                if (o->expiry != FILETIME_NEVER && o->expiry != 0) {
                                        e->has_expiry = true;
                                        e->expiry = unix_from_filetime(o->expiry);
                                }
                                e->created = o->created;
                        }
out:
                pthread_mutex_unlock(&c->lock);
        }
        release_conns(conns, n);
}

static void do_calls(Server *s, Arena *a, Sspiadm__Reply *rep) {
        uint64_t now = stats_now_usec();
        size_t n;
        Conn **conns = snapshot_conns(s, &n);

        for (size_t i = 0; conns && i < n; i++) {
                Conn *c = conns[i];

                pthread_mutex_lock(&c->lock);
                for (Job *j = c->flight; j; j = j->flight_next) {
                        Sspiadm__Call *e = push(a, (void ***) &rep->calls, &rep->n_calls, 16, sizeof(*e));
                        const Provider *p;

                        if (!e)
                                break;
                        sspiadm__call__init(e);
                        e->session = c->serial;
                        e->pid = (uint32_t) c->caller.pid;
                        e->uid = c->caller.uid;
                        e->function = (char *) j->rpc->name;
                        p = dispatch_job_package(j, true);
                        if (p)
                                e->package = (char *) p->name;
                        e->age_usec = now > j->start_usec ? now - j->start_usec : 0;
                        e->running = __atomic_load_n(&j->running, __ATOMIC_RELAXED);
                }
                pthread_mutex_unlock(&c->lock);
        }
        release_conns(conns, n);
}

static void do_stats(Arena *a, Sspiadm__Reply *rep) {
        Sspiadm__Stats *st = arena_new(a, sizeof(*st));
        StatusCount status_counts[STATS_MAX_STATUSES];
        unsigned n_status;

        if (!st)
                return;
        sspiadm__stats__init(st);
        for (unsigned f = 0; f < STATS_FUNCS; f++)
                for (unsigned p = 0; p < STATS_PKGS; p++) {
                        const FuncStat *fs = stats_function(f, p);
                        uint64_t hist[STATS_HIST_BUCKETS], calls = __atomic_load_n(&fs->calls, __ATOMIC_RELAXED);
                        const char *name = __atomic_load_n(&fs->name, __ATOMIC_RELAXED);
                        Sspiadm__FunctionStat *e;

                        if (calls == 0 || !name)
                                continue;
                        e = push(a, (void ***) &st->functions, &st->n_functions, 16, sizeof(*e));
                        if (!e)
                                break;
                        sspiadm__function_stat__init(e);
                        e->function = (char *) name;
                        if (p > 0)
                                e->package = (char *) providers[p - 1]->name;
                        e->calls = calls;
                        e->errors = __atomic_load_n(&fs->errors, __ATOMIC_RELAXED);
                        e->max_usec = __atomic_load_n(&fs->max, __ATOMIC_RELAXED);
                        calls = 0;
                        for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++)
                                calls += hist[i] = __atomic_load_n(&fs->hist[i], __ATOMIC_RELAXED);
                        e->p50_usec = stats_percentile(hist, calls, 50, e->max_usec);
                        e->p90_usec = stats_percentile(hist, calls, 90, e->max_usec);
                        e->p99_usec = stats_percentile(hist, calls, 99, e->max_usec);
                }
        n_status = stats_status_counts(status_counts, STATS_MAX_STATUSES);
        for (unsigned i = 0; i < n_status; i++) {
                Sspiadm__StatusCount *e = push(a, (void ***) &st->errors, &st->n_errors, 16, sizeof(*e));
                if (!e)
                        break;
                sspiadm__status_count__init(e);
                e->status = status_counts[i].status;
                e->count = status_counts[i].count;
        }
        rep->stats = st;
}

static int do_revoke(Server *s, const Sspiadm__Request *q, uid_t by) {
        ObjectKind kind = q->revoke_kind == SSPIADM__REVOKE_KIND__REVOKE_CONTEXT ? OBJECT_CONTEXT : OBJECT_CREDENTIAL;
        Conn *victim = NULL;
        Object *found = NULL;
        size_t n;
        Conn **conns;

        if (!q->has_revoke_kind || !q->has_revoke_id)
                return -EINVAL;
        conns = snapshot_conns(s, &n);
        if (!conns)
                return -ENOMEM;
        for (size_t i = 0; i < n && !found && !victim; i++) {
                Conn *c = conns[i];

                if (q->revoke_kind == SSPIADM__REVOKE_KIND__REVOKE_SESSION) {
                        if (c->serial == q->revoke_id)
                                victim = conn_ref(c);
                        continue;
                }
                pthread_mutex_lock(&c->lock);
                for (size_t b = 0; b < c->n_buckets && !found; b++)
                        for (Object *o = c->buckets[b]; o; o = o->hash_next)
                                if (o->id == q->revoke_id && o->kind == kind) {
                                        conn_object_remove(c, o);
                                        found = o;
                                        break;
                                }
                pthread_mutex_unlock(&c->lock);
                if (found)
                        dispatch_notify_freed(c, found); /* the client forgets the handle too */
                if (found)
                        log_notice("admin (uid %u): revoked %s %016llx of conn %llu (uid %u pid %d)", (unsigned) by,
                                   kind == OBJECT_CONTEXT ? "context" : "credential",
                                   (unsigned long long) found->id, (unsigned long long) c->serial,
                                   (unsigned) c->caller.uid, (int) c->caller.pid);
        }
        release_conns(conns, n);
        if (found) {
                object_unref(found); /* the table's reference */
                return 0;
        }
        if (victim) {
                log_notice("admin (uid %u): revoking session %llu", (unsigned) by, (unsigned long long) victim->serial);
                conn_shutdown(victim, "revoked by an administrator");
                conn_unref(victim);
                return 0;
        }
        return -ENOENT;
}

/* ---- connections ---- */

typedef struct AdminConn {
        struct AdminConn *prev, *next;
        Server *server;
        int fd;
        uid_t uid;
        sd_event_source *io, *timer;
        uint8_t in[4 + ADMIN_MAX_REQUEST];
        size_t in_len;
        uint8_t *out;
        size_t out_len, out_off;
} AdminConn;

static AdminConn *admin_conns;
static unsigned n_admin_conns;
static sd_event_source *listener;

static void admin_conn_free(AdminConn *a) {
        if (a->prev)
                a->prev->next = a->next;
        else
                admin_conns = a->next;
        if (a->next)
                a->next->prev = a->prev;
        n_admin_conns--;
        sd_event_source_disable_unref(a->io);
        sd_event_source_disable_unref(a->timer);
        close(a->fd);
        free(a->out);
        free(a);
}

static int pack_reply(const Sspiadm__Reply *rep, uint8_t **ret, size_t *ret_len) {
        size_t n = sspiadm__reply__get_packed_size(rep);
        uint8_t *b = malloc(n + 4);

        if (!b)
                return -ENOMEM;
        b[0] = (uint8_t) (n >> 24);
        b[1] = (uint8_t) (n >> 16);
        b[2] = (uint8_t) (n >> 8);
        b[3] = (uint8_t) n;
        sspiadm__reply__pack(rep, b + 4);
        *ret = b;
        *ret_len = n + 4;
        return 0;
}

static const char *command_name(Sspiadm__Command c) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&sspiadm__command__descriptor, c);
        return v ? v->name : "?";
}

/* Builds the reply to one request into a->out. */
static int handle_request(AdminConn *ac, const uint8_t *data, size_t len) {
        Sspiadm__Request *q = sspiadm__request__unpack(NULL, len, data);
        Sspiadm__Reply rep = SSPIADM__REPLY__INIT;
        Server *s = ac->server;
        Arena a = {};
        char *err = NULL;
        int r = 0;

        if (!q)
                return -EBADMSG;
        log_debug("admin (uid %u): %s", (unsigned) ac->uid, command_name(q->command));
        switch (q->command) {
        case SSPIADM__COMMAND__STATUS:
                do_status(s, &a, &rep);
                break;
        case SSPIADM__COMMAND__SESSIONS:
                do_sessions(s, &a, &rep);
                break;
        case SSPIADM__COMMAND__CREDENTIALS:
                do_objects(s, &a, &rep, OBJECT_CREDENTIAL);
                break;
        case SSPIADM__COMMAND__CONTEXTS:
                do_objects(s, &a, &rep, OBJECT_CONTEXT);
                break;
        case SSPIADM__COMMAND__CALLS:
                do_calls(s, &a, &rep);
                break;
        case SSPIADM__COMMAND__STATS:
                do_stats(&a, &rep);
                break;
        case SSPIADM__COMMAND__REVOKE:
                r = do_revoke(s, q, ac->uid);
                if (r == -ENOENT)
                        rep.message = "no such object or session";
                else if (r == -EINVAL)
                        rep.message = "revoke needs a kind and an id";
                break;
        case SSPIADM__COMMAND__RELOAD:
                log_notice("admin (uid %u): reload requested", (unsigned) ac->uid);
                r = s->reload ? s->reload(s, &err) : -EOPNOTSUPP;
                if (r < 0)
                        rep.message = err ? err : (char *) strerror(-r);
                break;
        default:
                r = -EOPNOTSUPP;
                rep.message = "unknown command";
        }
        if (a.failed && r == 0) {
                r = -ENOMEM;
                rep.message = "out of memory";
        }
        rep.error = r;
        r = pack_reply(&rep, &ac->out, &ac->out_len);
        ac->out_off = 0;
        free(err);
        arena_free(&a);
        sspiadm__request__free_unpacked(q, NULL);
        return r;
}

static int admin_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata);

/* Processes buffered input or writes pending output; returns < 0 to close. */
static int admin_step(AdminConn *a) {
        for (;;) {
                if (a->out) {
                        while (a->out_off < a->out_len) {
                                ssize_t n = send(a->fd, a->out + a->out_off, a->out_len - a->out_off,
                                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                                if (n < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        if (errno == EAGAIN)
                                                return sd_event_source_set_io_events(a->io, EPOLLOUT);
                                        return -errno;
                                }
                                a->out_off += (size_t) n;
                        }
                        free(a->out);
                        a->out = NULL;
                }
                if (a->in_len >= 4) {
                        size_t need = ((size_t) a->in[0] << 24) | ((size_t) a->in[1] << 16) |
                                      ((size_t) a->in[2] << 8) | a->in[3];
                        int r;

                        if (need > ADMIN_MAX_REQUEST)
                                return -EMSGSIZE;
                        if (a->in_len >= need + 4) {
                                r = handle_request(a, a->in + 4, need);
                                if (r < 0)
                                        return r;
                                memmove(a->in, a->in + 4 + need, a->in_len - 4 - need);
                                a->in_len -= 4 + need;
                                (void) sd_event_source_set_time_relative(a->timer, ADMIN_IDLE_USEC);
                                continue;
                        }
                }
                return sd_event_source_set_io_events(a->io, EPOLLIN);
        }
}

static int admin_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        AdminConn *a = userdata;
        int r = 0;

        (void) es;
        if ((revents & EPOLLIN) && !a->out) {
                ssize_t n = recv(fd, a->in + a->in_len, sizeof(a->in) - a->in_len, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        r = -ECONNRESET;
                else if (n > 0)
                        a->in_len += (size_t) n;
        } else if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLOUT))
                r = -ECONNRESET;
        if (r == 0)
                r = admin_step(a);
        if (r < 0)
                admin_conn_free(a);
        return 0;
}

static int admin_on_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        AdminConn *a = userdata;

        (void) es;
        (void) usec;
        log_notice("admin (uid %u): idle connection dropped", (unsigned) a->uid);
        admin_conn_free(a);
        return 0;
}

static bool may_administer(const Server *s, int fd, struct ucred *cred) {
        socklen_t len = sizeof(*cred);
        gid_t groups[256];
        socklen_t glen = sizeof(groups);
        Config *cfg;
        bool ok = false;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
                return false;
        if (cred->uid == 0)
                return true;
        cfg = server_config((Server *) s);
        if (cfg->has_admin_group) {
                ok = cred->gid == cfg->admin_group;
                if (!ok && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
                        for (size_t i = 0; i < glen / sizeof(gid_t) && !ok; i++)
                                ok = groups[i] == cfg->admin_group;
        }
        config_unref(cfg);
        return ok;
}

static void refuse(int fd, const char *why) {
        Sspiadm__Reply rep = SSPIADM__REPLY__INIT;
        uint8_t *b;
        size_t n;

        rep.error = -EACCES;
        rep.message = (char *) why;
        if (pack_reply(&rep, &b, &n) == 0) {
                /* A fresh socket has room for this: never blocks. */
                (void) !send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                free(b);
        }
}

static sd_event_source *accept_resume;

static int admin_on_accept_resume(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) es;
        (void) usec;
        (void) userdata;
        (void) sd_event_source_set_enabled(listener, SD_EVENT_ON);
        return 0;
}

static void admin_accept_pause(Server *s) {
        int r;

        if (accept_resume) {
                r = sd_event_source_set_time_relative(accept_resume, 100000u);
                if (r >= 0)
                        r = sd_event_source_set_enabled(accept_resume, SD_EVENT_ONESHOT);
        } else {
                log_warning("admin socket: out of descriptors; accepting again in 100 ms");
                r = sd_event_add_time_relative(s->event, &accept_resume, CLOCK_MONOTONIC, 100000u, 0,
                                               admin_on_accept_resume, NULL);
        }
        if (r >= 0)
                (void) sd_event_source_set_enabled(listener, SD_EVENT_OFF);
}

static int admin_on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;

        (void) es;
        (void) revents;
        for (int i = 0; i < 16; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct ucred cred = {};
                AdminConn *a;

                if (cfd < 0) {
                        /* Out of descriptors: rest instead of spinning on a
                         * listener that stays readable (logged once). */
                        if (errno == EMFILE || errno == ENFILE)
                                admin_accept_pause(s);
                        break;
                }
                if (!may_administer(s, cfd, &cred)) {
                        log_notice("admin socket: uid %u pid %d refused (not root or in the admin group)",
                                   (unsigned) cred.uid, (int) cred.pid);
                        refuse(cfd, "permission denied: only root and the admin group may use the admin socket");
                        close(cfd);
                        continue;
                }
                if (n_admin_conns >= ADMIN_MAX_CONNS) {
                        log_warning("admin socket: too many admin connections; refused");
                        close(cfd);
                        continue;
                }
                a = calloc(1, sizeof(*a));
                if (!a) {
                        close(cfd);
                        continue;
                }
                a->server = s;
                a->fd = cfd;
                a->uid = cred.uid;
                if (sd_event_add_io(s->event, &a->io, cfd, EPOLLIN, admin_on_io, a) < 0 ||
                    sd_event_add_time_relative(s->event, &a->timer, CLOCK_MONOTONIC, ADMIN_IDLE_USEC, 0,
                                               admin_on_timeout, a) < 0) {
                        sd_event_source_disable_unref(a->io);
                        close(cfd);
                        free(a);
                        continue;
                }
                a->next = admin_conns;
                if (admin_conns)
                        admin_conns->prev = a;
                admin_conns = a;
                n_admin_conns++;
        }
        return 0;
}

int admin_add_listener(Server *s, int fd) {
        if (!start_usec)
                start_usec = stats_now_usec();
        return sd_event_add_io(s->event, &listener, fd, EPOLLIN, admin_on_accept, s);
}

void admin_shutdown(void) {
        while (admin_conns)
                admin_conn_free(admin_conns);
        if (listener) {
                int fd = sd_event_source_get_io_fd(listener);
                listener = sd_event_source_disable_unref(listener);
                (void) fd; /* the fd belongs to main (or systemd) */
        }
        accept_resume = sd_event_source_disable_unref(accept_resume);
}
