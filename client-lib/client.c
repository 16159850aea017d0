/* SPDX-License-Identifier: MIT */
/*
 * The connection to sspid and the call engine: call ids, the reader role,
 * asynchronous completion, the completion fd and the notify thread.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"
#include "msgctx.h"

#define CALL_BUCKETS 256

typedef struct GetKeyEntry {
        uint64_t cookie;
        SEC_GET_KEY_FN fn;
        void *arg;
} GetKeyEntry;

/* The credentials the daemon took from the kernel when we connected
 * (SO_PEERCRED, SO_PEERGROUPS): euid, egid and the supplementary groups. */
typedef struct Identity {
        uid_t euid;
        gid_t egid;
        int n_groups;                   /* -1: could not be read */
        uint64_t groups_hash;
        /* No groups saved by ImpersonateSecurityContext on this thread:
         * a thread created by an impersonating one may have the client's
         * groups, not the process's, which then say nothing of a change
         * (token_thread_inherited(), asked only when the groups differ). */
        bool may_borrow;
} Identity;

typedef struct Client {
        pthread_mutex_t lock;           /* everything below, and all async contexts */
        pthread_cond_t cond;            /* a reply was dispatched / reader role freed */
        pthread_mutex_t send_lock;      /* frames are written whole */
        pid_t pid;                      /* process that owns fd */
        Identity ident;                 /* credentials fd was connected with */
        int fd;
        bool broken;                    /* the daemon went away: reconnect on next call */
        uint32_t max_frame;
        WireReader reader;
        bool reading;
        pthread_t reader_thread;        /* valid while reading */
        uint64_t next_id;
        Call *calls[CALL_BUCKETS];
        unsigned async_pending;

        /* event-loop integration */
        int epfd, evfd;
        bool fd_claimed;
        SspiAsyncContext *cb_head, *cb_tail;   /* callbacks waiting for the app's loop */

        bool thread_running;
        pthread_t thread;

        GetKeyEntry *getkeys;
        size_t n_getkeys;
        uint64_t next_cookie;
} Client;

static Client client = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
        .send_lock = PTHREAD_MUTEX_INITIALIZER,
        .fd = -1,
        .epfd = -1,
        .evfd = -1,
};
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* This process's pid, taken again in a forked child: the library asks on
 * every call whether it runs in the process that made its connection and
 * keys, and getpid() is a system call. A child made without the fork
 * handlers (_Fork, a raw clone) may only call async-signal-safe functions,
 * which SSPI's are not. */
static pid_t own_pid;

static void atfork_prepare(void) {
        pthread_mutex_lock(&client.send_lock);
        pthread_mutex_lock(&client.lock);
        handles_atfork_prepare();
}

static void atfork_parent(void) {
        handles_atfork_parent();
        pthread_mutex_unlock(&client.lock);
        pthread_mutex_unlock(&client.send_lock);
}

/* The child has one thread and the parent's socket: forget both. Calls in
 * flight belong to the parent's threads; their memory is the parent's too. */
static void atfork_child(void) {
        __atomic_store_n(&own_pid, 0, __ATOMIC_RELAXED);
        pthread_mutex_init(&client.lock, NULL);
        pthread_mutex_init(&client.send_lock, NULL);
        pthread_cond_init(&client.cond, NULL);
        if (client.fd >= 0)
                close(client.fd);
        client.fd = -1;
        client.reading = false;
        client.thread_running = false;
        client.async_pending = 0;
        memset(client.calls, 0, sizeof(client.calls));
        wire_reader_done(&client.reader);
        if (client.epfd >= 0)
                close(client.epfd);
        if (client.evfd >= 0)
                close(client.evfd);
        client.epfd = client.evfd = -1;
        client.fd_claimed = false;
        client.cb_head = client.cb_tail = NULL;
        handles_atfork_child();
}

static void setup_atfork(void) {
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

pid_t client_pid(void) {
        pid_t p = __atomic_load_n(&own_pid, __ATOMIC_RELAXED);

        if (p == 0) {
                pthread_once(&atfork_once, setup_atfork);
                p = getpid();
                __atomic_store_n(&own_pid, p, __ATOMIC_RELAXED);
        }
        return p;
}

static Call **bucket(uint64_t id) {
        return &client.calls[id % CALL_BUCKETS];
}

static void calls_add(Call *c) {
        Call **b = bucket(c->id);
        c->next = *b;
        *b = c;
}

static Call *calls_take(uint64_t id) {
        for (Call **p = bucket(id); *p; p = &(*p)->next)
                if ((*p)->id == id) {
                        Call *c = *p;
                        *p = c->next;
                        c->next = NULL;
                        return c;
                }
        return NULL;
}

/* Another thread holds the reader role. A notify callback runs on the
 * reading thread; when it makes a synchronous call, that same thread must
 * read on (nested), or it would wait for itself. */
static bool reading_by_other(void) {
        return client.reading && !pthread_equal(client.reader_thread, pthread_self());
}

static int send_envelope(int fd, const Sspiw__Envelope *e, int pass_fd) {
        uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        r = wire_pack(e, &buf, &len);
        if (r < 0)
                return r;
        pthread_mutex_lock(&client.send_lock);
        r = wire_write_all_fd(fd, buf, len, pass_fd);
        pthread_mutex_unlock(&client.send_lock);
        explicit_bzero(buf, len); /* requests may carry passwords */
        free(buf);
        return r;
}

/* Blocking read of exactly one reply frame during the handshake. */
static int read_one(int fd, WireReader *r, Sspiw__Envelope **ret) {
        for (;;) {
                int k = wire_reader_next(r, ret);
                if (k != 0)
                        return k < 0 ? k : 0;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        return -ETIMEDOUT;
                k = wire_reader_fill(r, fd);
                if (k == 0)
                        return -ECONNRESET;
                if (k < 0 && k != -EAGAIN)
                        return k;
        }
}

/* Cheap enough for every call (three system calls, no allocation unless
 * the process has more than 64 groups): the kernel keeps groups sorted, so
 * the same set always gives the same hash. Whether the groups are a
 * thread's borrowed ones costs two more and is asked only when they
 * differ from the connection's (identity_equal). */
static void identity_now(Identity *ret) {
        gid_t small[64], *g = small;
        _cleanup_free_ gid_t *big = NULL;
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
        int n;

        ret->euid = geteuid();
        ret->egid = getegid();
        /* A thread impersonating a client (token.c) has the client's
         * groups for a while: the process's identity has not changed, and
         * its connection and handles stay. */
        n = token_thread_own_groups((const uint32_t **) &g);
        ret->may_borrow = n < 0;
        if (n < 0)
                g = small, n = getgroups(64, small);
        if (n < 0 && errno == EINVAL) {
                int m = getgroups(0, NULL);
                if (m > 0 && (big = calloc((size_t) m, sizeof(gid_t))))
                        n = getgroups(m, big);
                g = big;
        }
        for (int i = 0; i < n; i++)
                for (size_t k = 0; k < sizeof(gid_t); k++) {
                        h ^= (uint8_t) (g[i] >> (8 * k));
                        h *= 0x100000001b3ULL;
                }
        ret->n_groups = n;
        ret->groups_hash = h;
}

/* `b` is the identity now: its groups count when they are the thread's
 * own (not inherited from an impersonating thread). */
static bool identity_equal(const Identity *a, const Identity *b) {
        if (a->euid != b->euid || a->egid != b->egid)
                return false;
        if (a->n_groups == b->n_groups && a->groups_hash == b->groups_hash)
                return true;
        return b->may_borrow && token_thread_inherited();
}

/* The daemon runs as root (tests, by hand) or as its own user (the unit's
 * User=). Looked up only when the peer is not root, and never cached: a
 * setuid program must not trust a stale answer. */
static bool daemon_uid_trusted(uid_t uid) {
        struct passwd pw, *res = NULL;
        size_t len = 1024;
        bool ok = false;

        if (uid == 0)
                return true;
        for (;;) {
                _cleanup_free_ char *buf = malloc(len);
                int r;

                if (!buf)
                        return false;
                r = getpwnam_r(SSPID_DAEMON_USER, &pw, buf, len, &res);
                if (r == ERANGE && len < 65536) {
                        len *= 4;
                        continue;
                }
                ok = r == 0 && res && res->pw_uid == uid;
                break;
        }
        return ok;
}

/* The library never prints (STYLE.md): a refused daemon is an
 * authentication event for the administrator, so it goes to syslog's auth
 * facility (the journal under systemd), one line per refused connect. The
 * path may come from the environment of an unprivileged caller: control
 * characters are escaped so the line cannot forge another. */
static void log_refused_daemon(const char *path, long peer_uid) {
        char safe[4 * sizeof(((struct sockaddr_un *) 0)->sun_path) + 1];
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *) path; *p && o + 5 < sizeof(safe); p++)
                if (*p < 0x20 || *p == 0x7f || *p == '\\')
                        o += (size_t) snprintf(safe + o, sizeof(safe) - o, "\\x%02x", *p);
                else
                        safe[o++] = (char) *p;
        safe[o] = 0;
        syslog(LOG_AUTH | LOG_WARNING,
               "libsspi[%d]: refusing the daemon at %s: its peer is uid %ld, neither root nor the user '%s'; "
               "nothing was sent (SEC_E_INTERNAL_ERROR)",
               (int) getpid(), safe, peer_uid, SSPID_DAEMON_USER);
}

/* Before anything is sent (the Hello, then passwords): is the process on
 * the other end of the socket the daemon? Its kernel-reported uid must be
 * root or the daemon's user; a socket path that someone else's process
 * listens on is refused. */
static int check_daemon_peer(int fd, const char *path) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
                log_refused_daemon(path, -1);
                return -EPERM;
        }
        if (!daemon_uid_trusted(cred.uid)) {
                log_refused_daemon(path, (long) cred.uid);
                return -EPERM;
        }
        return 0;
}

/* Connect and say Hello. Caller holds client.lock and is the only one
 * touching the socket (no reader, no calls in flight). */
static int client_connect(const Identity *ident) {
        /* secure_getenv: a setuid or setgid program linking libsspi must not
         * be pointed at another daemon by its unprivileged caller. */
        const char *path = secure_getenv("SSPID_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Sspiw__Envelope hello = SSPIW__ENVELOPE__INIT, *rep = NULL;
        Sspiw__HelloReq h = SSPIW__HELLO_REQ__INIT;
        const char *why;
        int fd, r;

        if (!path || !*path)
                path = DEFAULT_SOCKET_PATH;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = check_daemon_peer(fd, path);
        if (r < 0) {
                close(fd);
                return r;
        }
        wire_reader_done(&client.reader);
        wire_reader_init(&client.reader, WIRE_MAX_FRAME_DEFAULT);
        h.major = WIRE_VERSION_MAJOR;
        h.minor = WIRE_VERSION_MINOR;
        hello.call_id = 0;
        hello.body_case = SSPIW__ENVELOPE__BODY_HELLO;
        hello.hello = &h;
        r = send_envelope(fd, &hello, -1);
        if (r >= 0)
                r = read_one(fd, &client.reader, &rep);
        if (r >= 0 && (wire_validate_reply(rep, WIRE_MAX_FRAME_DEFAULT, &why) < 0 ||
                       rep->body_case != SSPIW__ENVELOPE__BODY_HELLO_REP || rep->hello_rep->major != WIRE_VERSION_MAJOR))
                r = -EPROTO;
        if (r < 0) {
                wire_free(rep);
                close(fd);
                return r;
        }
        client.max_frame = rep->hello_rep->max_frame;
        client.reader.max_frame = client.max_frame > WIRE_MAX_FRAME_DEFAULT ? client.max_frame : WIRE_MAX_FRAME_DEFAULT;
        wire_free(rep);
        if (client.epfd >= 0) {
                struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
                if (client.fd >= 0)
                        (void) epoll_ctl(client.epfd, EPOLL_CTL_DEL, client.fd, NULL);
                (void) epoll_ctl(client.epfd, EPOLL_CTL_ADD, fd, &ev);
        }
        if (client.fd >= 0)
                close(client.fd);
        /* The old connection's objects died with it. */
        handles_clear();
        client.fd = fd;
        client.pid = client_pid();
        client.ident = *ident;
        msgctx_connection_changed(); /* the old connection's handles are dead, their keys too */
        client.broken = false;
        return 0;
}

static void fail_all_calls(void);

/* A connection this process made and has not seen break (its identity
 * aside). Caller holds client.lock. No system call. */
static bool connection_ours(void) {
        return client.fd >= 0 && !client.broken && client.pid == client_pid();
}

/* Make sure there is a live connection, made by this process with its
 * current credentials. Caller holds client.lock. */
static int client_ensure(void) {
        Identity now;

        pthread_once(&atfork_once, setup_atfork);
        for (;;) {
                identity_now(&now);
                if (connection_ours() && identity_equal(&client.ident, &now))
                        return 0;
                if (connection_ours()) {
                        /* The process changed its euid, egid or groups (a
                         * server dropping root after its first call): the
                         * daemon took the old ones at connect and would go on
                         * acting for them. Drop the connection as after a
                         * fork: its handles become invalid, its calls in
                         * flight fail. shutdown() wakes a reader blocked on
                         * the socket; it fails the calls it was reading for. */
                        (void) shutdown(client.fd, SHUT_RDWR);
                        client.broken = true;
                }
                /* Reconnect only when nothing is in flight on the old socket. */
                if (reading_by_other()) {
                        pthread_cond_wait(&client.cond, &client.lock);
                        continue;
                }
                if (client.broken && client.pid == client_pid()) {
                        /* Calls nobody is reading for (async ones waiting for
                         * the notify thread) end here; a no-op after EOF. */
                        fail_all_calls();
                        pthread_cond_broadcast(&client.cond);
                        if (reading_by_other())
                                continue;
                }
                return client_connect(&now);
        }
}

/* ---- completion ---- */

static void async_complete(SspiAsyncContext *ac, SECURITY_STATUS st, bool *ret_run_cb) {
        ac->status = st;
        ac->state = ASYNC_DONE;
        client.async_pending--;
        *ret_run_cb = false;
        if (ac->freed) {
                free(ac);
                return;
        }
        if (!ac->callback)
                return;
        if (client.fd_claimed) {
                uint64_t one = 1;
                ac->queue_next = NULL;
                if (client.cb_tail)
                        client.cb_tail->queue_next = ac;
                else
                        client.cb_head = ac;
                client.cb_tail = ac;
                ac->callback_queued = true;
                if (write(client.evfd, &one, sizeof(one)) < 0) {
                        /* counter saturated: the fd is readable anyway */
                }
        } else
                *ret_run_cb = true;
}

/* Complete an async call with its reply e (NULL: none, the daemon is gone)
 * and status st. The outputs are copied first, then the status published,
 * then the callback run: SspiGetAsyncCallStatus never shows a final status
 * whose outputs are not written yet. Caller holds client.lock; it is
 * released while user code runs (finish writes caller memory, callbacks).
 * Frees c and e. */
static void async_finish(Call *c, Sspiw__Envelope *e, SECURITY_STATUS st) {
        SspiAsyncContext *ac = c->async;
        SspiAsyncNotifyCallback cb;
        bool run_cb = false;
        void *data;

        pthread_mutex_unlock(&client.lock);
        st = c->finish(c->state, e && (st >= 0 || e->body_case != SSPIW__ENVELOPE__BODY__NOT_SET) ? e : NULL, st);
        free(c->state);
        wire_free(e);
        pthread_mutex_lock(&client.lock);
        cb = ac->callback;
        data = ac->callback_data;
        free(c);
        async_complete(ac, st, &run_cb);
        if (run_cb) {
                pthread_mutex_unlock(&client.lock);
                cb(ac, data);
                pthread_mutex_lock(&client.lock);
        }
}

static void run_getkey(int fd, Sspiw__Envelope *req);

/* Handle one frame read by the reader. Caller holds client.lock; it is
 * released while user code (finish functions write caller memory, callbacks)
 * runs, so the reader must not rely on state across this call. */
static void dispatch_frame(Sspiw__Envelope *e) {
        const char *why;
        Call *c;
        SECURITY_STATUS st;

        if (e->body_case == SSPIW__ENVELOPE__BODY_GET_KEY) {
                int fd = client.fd;
                pthread_mutex_unlock(&client.lock);
                run_getkey(fd, e);
                wire_free(e);
                pthread_mutex_lock(&client.lock);
                return;
        }
        if (e->body_case == SSPIW__ENVELOPE__BODY_DELETE_CTX || e->body_case == SSPIW__ENVELOPE__BODY_FREE_CRED) {
                /* The daemon freed an object of ours on its own (revoked by
                 * an administrator): the handle is gone here too. */
                SecHandle h;
                bool ctx = e->body_case == SSPIW__ENVELOPE__BODY_DELETE_CTX;
                handle_from_wire(ctx ? e->delete_ctx->ctx : e->free_cred->cred, &h);
                handles_take(&h, ctx ? HANDLE_CONTEXT : HANDLE_CREDENTIAL);
                wire_free(e);
                return;
        }
        c = calls_take(e->call_id);
        if (!c) {
                wire_free(e);
                return; /* a reply nobody waits for: the daemon is confused, ignore */
        }
        if (wire_validate_reply(e, client.reader.max_frame, &why) < 0)
                st = SEC_E_INTERNAL_ERROR;
        else
                st = e->has_status ? e->status : SEC_E_INTERNAL_ERROR;
        if (!c->async) {
                c->reply = e;
                c->status = st;
                c->done = true;
                return;
        }
        async_finish(c, e, st);
}

/* The daemon is gone: every call in flight fails. Caller holds the lock. */
static void fail_all_calls(void) {
        for (size_t i = 0; i < CALL_BUCKETS; i++)
                while (client.calls[i]) {
                        Call *c = client.calls[i];
                        client.calls[i] = c->next;
                        c->next = NULL;
                        if (!c->async) {
                                c->status = SEC_E_INTERNAL_ERROR;
                                c->done = true;
                                continue;
                        }
                        async_finish(c, NULL, SEC_E_INTERNAL_ERROR);
                }
}

/*
 * Before sleeping for a reply, poll for up to 100 us: the daemon answers
 * cheap calls in a few microseconds and a Kerberos accept in about 40, and
 * a sleeping thread costs a cross-CPU wake-up (25 us to over a millisecond
 * on virtual machines: `perf sched timehist` showed a woken thread wait
 * 1.4 ms for an idle vCPU) to get back. Each empty poll yields the CPU, so
 * a daemon thread woken on this CPU, or any other runnable thread, runs
 * first. Only with more than one CPU (on one, polling would starve the
 * daemon), and it backs off while replies keep arriving later than the
 * window (KDC traffic, TLS public-key legs). Called in the reader role,
 * without the lock.
 */
#define SPIN_NSEC 100000

static int spin_for_reply(int fd) {
        static int may_spin = -1;
        static unsigned misses, skip;
        struct timespec start, now;
        int r;

        if (may_spin < 0) {
                cpu_set_t cpus;
                may_spin = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1 &&
                           !secure_getenv("SSPID_NO_SPIN");
        }
        if (!may_spin)
                return -EAGAIN;
        if (skip > 0) {
                skip--;
                return -EAGAIN;
        }
        clock_gettime(CLOCK_MONOTONIC, &start);
        do {
                r = wire_reader_fill(&client.reader, fd);
                if (r != -EAGAIN) {
                        misses = 0;
                        return r;
                }
                (void) sched_yield();
                clock_gettime(CLOCK_MONOTONIC, &now);
        } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < SPIN_NSEC);
        if (++misses >= 8) {
                misses = 0;
                skip = 64;
        }
        return -EAGAIN;
}

/*
 * Take the reader role once: read what is available (waiting up to
 * timeout_ms for the first byte), dispatch every complete frame. Caller
 * holds client.lock and has checked !client.reading.
 */
static void read_round(int timeout_ms, bool polled) {
        int fd = client.fd, r;
        bool eof = false, nested = client.reading;

        client.reading = true;
        client.reader_thread = pthread_self();
        pthread_mutex_unlock(&client.lock);
        if (!wire_reader_has_frame(&client.reader)) {
                if (timeout_ms < 0) {
                        r = spin_for_reply(fd);
                        if (r == -EAGAIN)
                                r = polled ? wire_reader_fill_poll(&client.reader, fd)
                                           : wire_reader_fill_wait(&client.reader, fd);
                        if (r <= 0)
                                eof = true;
                } else {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        r = poll(&p, 1, timeout_ms);
                        if (r > 0) {
                                r = wire_reader_fill(&client.reader, fd);
                                if (r == 0 || (r < 0 && r != -EAGAIN))
                                        eof = true;
                        }
                }
        }
        pthread_mutex_lock(&client.lock);
        for (;;) {
                Sspiw__Envelope *e = NULL;
                r = wire_reader_next(&client.reader, &e);
                if (r <= 0) {
                        if (r < 0)
                                eof = true;
                        break;
                }
                dispatch_frame(e);
        }
        if (eof) {
                client.broken = true;
                fail_all_calls();
        }
        /* A nested round (from a callback) leaves the role to its caller. */
        if (!nested) {
                client.reading = false;
                pthread_cond_broadcast(&client.cond);
        }
}

/* ---- the notify thread, for programs that do not use the completion fd ---- */

static void *notify_thread(void *arg) {
        (void) arg;
        pthread_mutex_lock(&client.lock);
        for (;;) {
                if (client.fd_claimed || client.pid != client_pid())
                        break;
                if (client.async_pending == 0 || client.broken)
                        pthread_cond_wait(&client.cond, &client.lock);
                else if (reading_by_other())
                        pthread_cond_wait(&client.cond, &client.lock);
                else
                        read_round(-1, true);
        }
        client.thread_running = false;
        pthread_mutex_unlock(&client.lock);
        return NULL;
}

static void ensure_notify_thread(void) {
        pthread_attr_t a;
        sigset_t all, old;

        if (client.thread_running || client.fd_claimed)
                return;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        /* The application's signals are not ours to receive. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        if (pthread_create(&client.thread, &a, notify_thread, NULL) == 0)
                client.thread_running = true;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&a);
}

/* ---- call_run ---- */

SECURITY_STATUS async_check(SspiAsyncContext *ac) {
        if (!ac)
                return SEC_E_INVALID_PARAMETER;
        pthread_mutex_lock(&client.lock);
        AsyncState s = ac->state;
        pthread_mutex_unlock(&client.lock);
        /* One call per context; a finished one must be reinitialised first. */
        return s == ASYNC_IDLE ? SEC_E_OK : SEC_E_INVALID_PARAMETER;
}

SECURITY_STATUS call_finish_status(void *state, const Sspiw__Envelope *rep, SECURITY_STATUS st) {
        (void) state;
        (void) rep;
        return st;
}

/*
 * Calls that run a package's step or reach a credential's source, and
 * Schannel records handed back to the daemon: their reply is waited for in
 * poll() (wire_reader_fill_poll). The daemon works on them long enough for
 * this process to be asleep when the daemon reads the request, and a
 * recvmsg() sleeper would then be woken for nothing. The cheapest calls
 * read at once: the daemon runs before the caller sleeps. Measured pinned
 * to one CPU (bench/krb_handshake daemon): 5.4 context switches of the
 * client per Kerberos handshake before, 3.0 after, +7-9% handshakes/s; the
 * cheapest call would be 1.2 us slower if it polled too.
 */
static bool waits_long(const Sspiw__Envelope *req) {
        switch (req->body_case) {
        case SSPIW__ENVELOPE__BODY_INIT_CTX:
        case SSPIW__ENVELOPE__BODY_ACCEPT_CTX:
        case SSPIW__ENVELOPE__BODY_ACQUIRE_CRED:
        case SSPIW__ENVELOPE__BODY_ADD_CRED:
        case SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD:
                return true;
        case SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE:
                /* A record the library hands to the daemon's OpenSSL (caller
                 * mode: a NewSessionTicket, a KeyUpdate, an alert). */
                return req->decrypt_message->keys != NULL;
        default:
                return false;
        }
}

SECURITY_STATUS call_run(SspiAsyncContext *ac, Sspiw__Envelope *req, FinishFn finish, void *state, size_t state_size) {
        return call_run_fd(ac, req, -1, finish, state, state_size);
}

SECURITY_STATUS call_run_fd(SspiAsyncContext *ac, Sspiw__Envelope *req, int pass_fd, FinishFn finish, void *state,
                            size_t state_size) {
        Call *c;
        SECURITY_STATUS st;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return SEC_E_INSUFFICIENT_MEMORY;
        c->finish = finish;
        if (ac) {
                c->async = ac;
                if (state_size > 0) {
                        c->state = malloc(state_size);
                        if (!c->state) {
                                free(c);
                                return SEC_E_INSUFFICIENT_MEMORY;
                        }
                        memcpy(c->state, state, state_size);
                }
        }

        for (int attempt = 0;; attempt++) {
                pthread_mutex_lock(&client.lock);
                if (ac && ac->state != ASYNC_IDLE) {
                        pthread_mutex_unlock(&client.lock);
                        free(c->state);
                        free(c);
                        return SEC_E_INVALID_PARAMETER;
                }
                r = client_ensure();
                if (r < 0) {
                        pthread_mutex_unlock(&client.lock);
                        free(c->state);
                        free(c);
                        return SEC_E_INTERNAL_ERROR; /* = SEC_E_NO_SPM: no daemon */
                }
                c->id = ++client.next_id;
                req->call_id = c->id;
                calls_add(c);
                if (ac) {
                        ac->state = ASYNC_PENDING;
                        ac->status = SEC_I_ASYNC_CALL_PENDING;
                        client.async_pending++;
                }
                int fd = client.fd;
                pthread_mutex_unlock(&client.lock);

                r = send_envelope(fd, req, pass_fd);

                pthread_mutex_lock(&client.lock);
                if (r >= 0)
                        break;
                /* Not sent: nothing ran in the daemon. */
                Call *taken = calls_take(c->id);
                client.broken = true;
                if (!taken) {
                        /* The reader already failed it: it is completed, not ours. */
                        pthread_mutex_unlock(&client.lock);
                        return ac ? SEC_E_OK : SEC_E_INTERNAL_ERROR;
                }
                if (ac) {
                        ac->state = ASYNC_IDLE;
                        client.async_pending--;
                }
                /* A daemon that restarted while we were idle shows up as a
                 * failed send (EPIPE on AF_UNIX): reconnect once and retry. */
                if (attempt == 0 && (r == -EPIPE || r == -ECONNRESET)) {
                        pthread_mutex_unlock(&client.lock);
                        continue;
                }
                pthread_mutex_unlock(&client.lock);
                free(c->state);
                free(c);
                return SEC_E_INTERNAL_ERROR;
        }
        if (ac) {
                ensure_notify_thread();
                pthread_cond_broadcast(&client.cond);
                pthread_mutex_unlock(&client.lock);
                return SEC_E_OK;
        }
        while (!c->done) {
                if (reading_by_other())
                        pthread_cond_wait(&client.cond, &client.lock);
                else
                        read_round(-1, waits_long(req));
        }
        pthread_mutex_unlock(&client.lock);

        st = c->status;
        st = finish(state, c->reply && (st >= 0 || c->reply->body_case != SSPIW__ENVELOPE__BODY__NOT_SET) ? c->reply : NULL,
                    st);
        wire_free(c->reply);
        free(c);
        return st;
}

/* ---- answers without waiting ---- */

/* Caller holds client.lock. Frames waiting on the socket (a revoked
 * handle's notice, replies to other calls) are dispatched first, unless
 * another thread is reading them or async calls are pending (their
 * callbacks belong on the notify thread, which reads soon). */
static bool live_locked(const Identity *now) {
        struct pollfd p = { .fd = client.fd, .events = POLLIN | POLLRDHUP };

        if (!connection_ours() || !identity_equal(&client.ident, now))
                return false;
        if (poll(&p, 1, 0) <= 0)
                return true;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
                return false; /* the daemon closed its end (restart, revoked session) */
        if ((p.revents & POLLIN) && !client.reading && !client.fd_claimed && client.async_pending == 0) {
                read_round(0, false);
                return client.fd >= 0 && !client.broken;
        }
        return true;
}

bool client_live(void) {
        Identity now;
        bool r;

        pthread_once(&atfork_once, setup_atfork);
        identity_now(&now);
        pthread_mutex_lock(&client.lock);
        r = live_locked(&now);
        pthread_mutex_unlock(&client.lock);
        return r;
}

/*
 * A free asks nothing of the daemon, so it costs one send and no system
 * call more: no identity check and no poll for waiting frames (five system
 * calls, half a free's cost on a virtual machine). A free after the
 * process changed its identity, on the connection that still stands, frees
 * the object it names, which that process created: nothing is done for the
 * new identity. The next call that asks something reconnects as before. A
 * handle the daemon revoked and this library has not heard of yet is
 * ignored by the daemon (a free gets no reply whatever happens).
 */
SECURITY_STATUS call_free(Sspiw__Envelope *req, const SecHandle *h, HandleKind kind) {
        HandleTake t;
        int fd, r;

        pthread_once(&atfork_once, setup_atfork);
        pthread_mutex_lock(&client.lock);
        if (!connection_ours()) {
                /* The handles of this table are not the daemon's any more
                 * (or there is no connection yet): the call reconnects and
                 * the daemon answers, as it always did. */
                pthread_mutex_unlock(&client.lock);
                return call_run(NULL, req, call_finish_status, NULL, 0);
        }
        t = handles_take(h, kind);
        if (t != HANDLE_TAKEN) {
                pthread_mutex_unlock(&client.lock);
                if (t == HANDLE_UNKNOWN)
                        return SEC_E_INVALID_HANDLE;
                return call_run(NULL, req, call_finish_status, NULL, 0);
        }
        req->call_id = ++client.next_id;
        req->has_oneway = true;
        req->oneway = true;
        fd = client.fd;
        pthread_mutex_unlock(&client.lock);

        /* Written whole before we return: whatever the caller does next on
         * this connection reaches the daemon after the free, and the
         * daemon runs calls on one object in order. */
        r = send_envelope(fd, req, -1);
        if (r < 0) {
                /* The daemon is gone, and the object with it. Asked as a
                 * call, as before: a daemon restarted meanwhile answers
                 * SEC_E_INVALID_HANDLE, none at all SEC_E_INTERNAL_ERROR. */
                pthread_mutex_lock(&client.lock);
                if (client.fd == fd)
                        client.broken = true;
                pthread_mutex_unlock(&client.lock);
                req->has_oneway = false;
                req->oneway = false;
                return call_run(NULL, req, call_finish_status, NULL, 0);
        }
        return SEC_E_OK;
}

/* ---- pGetKeyFn ---- */

uint64_t getkey_register(SEC_GET_KEY_FN fn, void *arg) {
        uint64_t cookie = 0;
        GetKeyEntry *n;

        pthread_mutex_lock(&client.lock);
        n = realloc(client.getkeys, (client.n_getkeys + 1) * sizeof(*n));
        if (n) {
                client.getkeys = n;
                cookie = ++client.next_cookie;
                n[client.n_getkeys++] = (GetKeyEntry) { cookie, fn, arg };
        }
        pthread_mutex_unlock(&client.lock);
        return cookie;
}

void getkey_unregister(uint64_t cookie) {
        pthread_mutex_lock(&client.lock);
        for (size_t i = 0; i < client.n_getkeys; i++)
                if (client.getkeys[i].cookie == cookie) {
                        client.getkeys[i] = client.getkeys[--client.n_getkeys];
                        break;
                }
        pthread_mutex_unlock(&client.lock);
}

/* The daemon asks for a key: run the caller's pGetKeyFn (on the reading
 * thread) and answer. The key is treated as a NUL-terminated password. */
static void run_getkey(int fd, Sspiw__Envelope *req) {
        Sspiw__Envelope rep = SSPIW__ENVELOPE__INIT;
        Sspiw__GetKeyRep gk = SSPIW__GET_KEY_REP__INIT;
        SEC_GET_KEY_FN fn = NULL;
        void *arg = NULL, *key = NULL;
        SECURITY_STATUS st = SEC_E_NO_CREDENTIALS;
        const char *why;

        if (wire_validate_reply(req, WIRE_MAX_FRAME_DEFAULT, &why) < 0)
                return;
        pthread_mutex_lock(&client.lock);
        for (size_t i = 0; i < client.n_getkeys; i++)
                if (client.getkeys[i].cookie == req->get_key->cookie) {
                        fn = client.getkeys[i].fn;
                        arg = client.getkeys[i].arg;
                }
        pthread_mutex_unlock(&client.lock);
        if (fn) {
                st = SEC_E_OK;
                fn(arg, req->get_key->principal, req->get_key->key_ver, &key, &st);
        }
        gk.status = st;
        if (st == SEC_E_OK && key) {
                gk.has_key = true;
                gk.key.data = key;
                gk.key.len = strnlen(key, WIRE_MAX_IDENTITY_FIELD);
        } else if (st == SEC_E_OK)
                gk.status = SEC_E_NO_CREDENTIALS;
        rep.call_id = req->call_id;
        rep.body_case = SSPIW__ENVELOPE__BODY_GET_KEY_REP;
        rep.get_key_rep = &gk;
        (void) send_envelope(fd, &rep, -1);
}

/* ---- asynchronous context API ---- */

_public_ SspiAsyncContext *SspiCreateAsyncContext(void) {
        return calloc(1, sizeof(SspiAsyncContext));
}

_public_ void SspiFreeAsyncContext(SspiAsyncContext *ac) {
        if (!ac)
                return;
        pthread_mutex_lock(&client.lock);
        if (ac->state == ASYNC_PENDING) {
                /* Still in use: freed when the call completes, never before. */
                ac->freed = true;
                pthread_mutex_unlock(&client.lock);
                return;
        }
        if (ac->callback_queued)
                for (SspiAsyncContext **p = &client.cb_head; *p; p = &(*p)->queue_next)
                        if (*p == ac) {
                                *p = ac->queue_next;
                                if (client.cb_tail == ac) {
                                        client.cb_tail = NULL;
                                        for (SspiAsyncContext *q = client.cb_head; q; q = q->queue_next)
                                                client.cb_tail = q;
                                }
                                break;
                        }
        pthread_mutex_unlock(&client.lock);
        free(ac);
}

_public_ NTSTATUS SspiReinitAsyncContext(SspiAsyncContext *ac) {
        NTSTATUS r = STATUS_SUCCESS;

        if (!ac)
                return STATUS_INVALID_PARAMETER;
        pthread_mutex_lock(&client.lock);
        if (ac->state == ASYNC_PENDING || ac->callback_queued)
                r = STATUS_DEVICE_BUSY; /* still in use: the call or its callback has not finished */
        else {
                ac->state = ASYNC_IDLE;
                ac->status = SEC_E_OK;
        }
        pthread_mutex_unlock(&client.lock);
        return r;
}

_public_ SECURITY_STATUS SspiSetAsyncNotifyCallback(SspiAsyncContext *ac, SspiAsyncNotifyCallback cb, void *data) {
        if (!ac)
                return SEC_E_INVALID_PARAMETER;
        pthread_mutex_lock(&client.lock);
        if (ac->state == ASYNC_PENDING) {
                pthread_mutex_unlock(&client.lock);
                return SEC_E_INVALID_PARAMETER;
        }
        ac->callback = cb;
        ac->callback_data = data;
        pthread_mutex_unlock(&client.lock);
        return SEC_E_OK;
}

_public_ BOOLEAN SspiAsyncContextRequiresNotify(SspiAsyncContext *ac) {
        BOOLEAN r;

        if (!ac)
                return 0;
        pthread_mutex_lock(&client.lock);
        r = ac->callback != NULL;
        pthread_mutex_unlock(&client.lock);
        return r;
}

_public_ SECURITY_STATUS SspiGetAsyncCallStatus(SspiAsyncContext *ac) {
        SECURITY_STATUS st;

        if (!ac)
                return SEC_E_INVALID_PARAMETER;
        pthread_mutex_lock(&client.lock);
        /* Make progress without blocking, so polling alone completes calls. */
        if (ac->state == ASYNC_PENDING && !reading_by_other() && client.fd >= 0 && client.pid == client_pid() &&
            !client.fd_claimed)
                read_round(0, false);
        if (ac->state == ASYNC_IDLE)
                st = SEC_E_INVALID_PARAMETER; /* no call was issued on it */
        else
                st = ac->status;
        pthread_mutex_unlock(&client.lock);
        return st;
}

/* ---- event-loop integration (Linux extension) ---- */

_public_ int SspiGetAsyncCompletionFd(void) {
        int r;

        pthread_mutex_lock(&client.lock);
        if (client.epfd >= 0 && client.pid == client_pid()) {
                r = client.epfd;
                pthread_mutex_unlock(&client.lock);
                return r;
        }
        r = client_ensure();
        if (r < 0) {
                pthread_mutex_unlock(&client.lock);
                errno = -r;
                return -1;
        }
        client.epfd = epoll_create1(EPOLL_CLOEXEC);
        client.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (client.epfd < 0 || client.evfd < 0) {
                r = errno;
                if (client.epfd >= 0)
                        close(client.epfd);
                if (client.evfd >= 0)
                        close(client.evfd);
                client.epfd = client.evfd = -1;
                pthread_mutex_unlock(&client.lock);
                errno = r;
                return -1;
        }
        struct epoll_event a = { .events = EPOLLIN, .data.fd = client.fd };
        struct epoll_event b = { .events = EPOLLIN, .data.fd = client.evfd };
        (void) epoll_ctl(client.epfd, EPOLL_CTL_ADD, client.fd, &a);
        (void) epoll_ctl(client.epfd, EPOLL_CTL_ADD, client.evfd, &b);
        client.fd_claimed = true;
        /* The notify thread, if any, sees fd_claimed and exits. */
        pthread_cond_broadcast(&client.cond);
        r = client.epfd;
        pthread_mutex_unlock(&client.lock);
        return r;
}

_public_ int SspiProcessAsyncCompletions(void) {
        uint64_t v;
        int n = 0;

        pthread_mutex_lock(&client.lock);
        if (!client.fd_claimed) {
                pthread_mutex_unlock(&client.lock);
                return -EINVAL;
        }
        if (!reading_by_other() && client.fd >= 0 && !client.broken)
                read_round(0, false);
        if (read(client.evfd, &v, sizeof(v)) < 0) {
                /* nothing signalled: fine */
        }
        while (client.cb_head) {
                SspiAsyncContext *ac = client.cb_head;
                client.cb_head = ac->queue_next;
                if (!client.cb_head)
                        client.cb_tail = NULL;
                ac->callback_queued = false;
                SspiAsyncNotifyCallback cb = ac->callback;
                void *data = ac->callback_data;
                pthread_mutex_unlock(&client.lock);
                if (cb)
                        cb(ac, data);
                n++;
                pthread_mutex_lock(&client.lock);
        }
        pthread_mutex_unlock(&client.lock);
        return n;
}
