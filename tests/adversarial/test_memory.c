/* SPDX-License-Identifier: MIT */
/*
 * Finding 4: unbounded memory per uid, three routes, each from uid 65534
 * against a fresh default daemon while root's victim round is measured:
 *   A. 300 connections each hold a partial 1 MiB frame (all but its last
 *      byte sent): bounded by quota-input-bytes (128 MiB); the rest wait
 *      unread in their sockets.
 *   B. 20 connections pipeline EnumerateSecurityPackages and never read the
 *      replies: bounded by quota-bytes (64 MiB), the connections dropped.
 *   C. one connection sends 300 Kerberos AcquireCredentialsHandle requests
 *      of 1 MiB each (an unknown field pads them): the worker queue holds
 *      at most quota-queued (64) of the uid's jobs, the rest wait in its
 *      socket, and root's call is taken before them (fair queue).
 * After each route the attacker leaves and the daemon's RSS must fall back
 * (malloc_trim when idle). Control: route A against a daemon with
 * quota-input-bytes = 0 grows by the whole 300 MiB.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tattack.h"
#include "tpkgs.h"
#include "testlib.h"
#include "tframe.h"

#define MIB (1024L * 1024L)

typedef struct Shared {
        volatile int stop;
        volatile int ready;
        long sent_mib;
        int conns;
        int dropped;                    /* connections the daemon closed */
} Shared;

typedef struct Attack {
        const TDaemon *d;
        Shared *sh;
        char route;
} Attack;

/* A frame of `size` bytes: an AcquireCredReq whose principal fills it. */
static TBuf big_frame(size_t size) {
        TBuf a = {}, e = {}, f;
        size_t n = size - 64;
        char *p = malloc(n);

        memset(p, 'a', n);
        tbuf_bytes(&a, 1, p, n);
        free(p);
        tbuf_tag(&e, 1, 0);
        tbuf_varint(&e, 7);
        tbuf_bytes(&e, 16, a.p, a.len);
        f = tframe_wrap(&e);
        tbuf_free(&a);
        tbuf_free(&e);
        return f;
}

/* Sends as much of p as goes within ms; the bytes sent. */
static size_t send_some(int fd, const uint8_t *p, size_t n, int ms) {
        uint64_t end = t_now_ms() + (uint64_t) ms;
        size_t off = 0;

        while (off < n && t_now_ms() < end) {
                ssize_t k = send(fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0) {
                        off += (size_t) k;
                        continue;
                }
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        break;
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                (void) poll(&pfd, 1, 20);
        }
        return off;
}


/* Reads one frame's body into buf (at most cap bytes); its length or -1. */
static long read_frame(int fd, uint8_t *buf, size_t cap, int ms) {
        uint8_t h[4];
        size_t got = 0, n;
        uint64_t end = t_now_ms() + (uint64_t) ms;

        while (got < 4) {
                ssize_t k = recv(fd, h + got, 4 - got, MSG_DONTWAIT);
                if (k > 0) {
                        got += (size_t) k;
                        continue;
                }
                if (k == 0 || (k < 0 && errno != EAGAIN) || t_now_ms() >= end)
                        return -1;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                (void) poll(&pfd, 1, 50);
        }
        n = (size_t) h[0] << 24 | (size_t) h[1] << 16 | (size_t) h[2] << 8 | h[3];
        if (n > cap)
                return -1;
        got = 0;
        while (got < n) {
                ssize_t k = recv(fd, buf + got, n - got, MSG_DONTWAIT);
                if (k > 0) {
                        got += (size_t) k;
                        continue;
                }
                if (k == 0 || (k < 0 && errno != EAGAIN) || t_now_ms() >= end)
                        return -1;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                (void) poll(&pfd, 1, 50);
        }
        return (long) n;
}

static uint64_t get_varint(const uint8_t *p, size_t n, size_t *off) {
        uint64_t v = 0;

        for (unsigned sh = 0; *off < n && sh < 64; sh += 7) {
                uint8_t b = p[(*off)++];
                v |= (uint64_t) (b & 0x7f) << sh;
                if (!(b & 0x80))
                        break;
        }
        return v;
}

/* Finds field `num` of a message: its bytes (length-delimited) or, for
 * fixed64, its 8 bytes. NULL when absent. */
static const uint8_t *find_field(const uint8_t *p, size_t n, uint32_t num, size_t *ret_len) {
        size_t off = 0;

        while (off < n) {
                uint64_t tag = get_varint(p, n, &off), len = 0;
                const uint8_t *v;

                switch (tag & 7) {
                case 0:
                        (void) get_varint(p, n, &off);
                        v = NULL;
                        break;
                case 1:
                        v = p + off;
                        len = 8;
                        off += 8;
                        break;
                case 2:
                        len = get_varint(p, n, &off);
                        v = p + off;
                        off += len;
                        break;
                case 5:
                        off += 4;
                        v = NULL;
                        break;
                default:
                        return NULL;
                }
                if (off > n)
                        return NULL;
                if ((tag >> 3) == num && v) {
                        *ret_len = (size_t) len;
                        return v;
                }
        }
        return NULL;
}

/* InitializeSecurityContext (Kerberos) on credential `handle` (the
 * encoded Handle message), padded with an unknown field of `pad` bytes. */
static TBuf isc_frame(uint64_t call_id, const uint8_t *handle, size_t handle_len, const char *target, size_t pad) {
        TBuf r = {}, b = {}, e = {}, f;

        tbuf_bytes(&r, 1, handle, handle_len);
        tbuf_bytes(&r, 3, target, strlen(target));
        tbuf_tag(&r, 4, 0);
        tbuf_varint(&r, 0);
        tbuf_tag(&r, 5, 0);
        tbuf_varint(&r, 0x10); /* SECURITY_NATIVE_DREP */
        tbuf_tag(&b, 1, 0);
        tbuf_varint(&b, 2); /* SECBUFFER_TOKEN */
        tbuf_tag(&b, 3, 0);
        tbuf_varint(&b, 12000);
        tbuf_bytes(&r, 7, b.p, b.len);
        tbuf_unknown_blob(&r, pad);
        tbuf_tag(&e, 1, 0);
        tbuf_varint(&e, call_id);
        tbuf_bytes(&e, 22, r.p, r.len);
        f = tframe_wrap(&e);
        tbuf_free(&r);
        tbuf_free(&b);
        tbuf_free(&e);
        return f;
}

/* Connects, waiting for the daemon to make room in its short backlog. */
static int connect_retry(const TDaemon *d) {
        int fd = -1;

        for (int k = 0; k < 1000 && fd < 0; k++)
                if ((fd = tframe_connect(d)) < 0)
                        usleep(2000);
        return fd;
}

static int attack_fn(void *arg) {
        Attack *a = arg;
        Shared *sh = a->sh;
        TBuf hello = tframe_hello(1, 0);
        int fds[300];
        int n = 0;

        tframe_raise_nofile();
        if (a->route == 'A') {
                TBuf f = big_frame(1 << 20);
                uint64_t end = t_now_ms() + 8000;

                for (int i = 0; i < 300; i++) {
                        int fd = connect_retry(a->d);
                        if (fd < 0 || !tframe_send(fd, hello.p, hello.len, 1000))
                                continue;
                        fds[n++] = fd;
                }
                sh->conns = n;
                /* Round-robin: every connection gets the frame but its last
                 * byte, as far as the daemon reads. */
                size_t *off = calloc((size_t) n, sizeof(size_t));
                bool more = true;
                while (more && t_now_ms() < end && !sh->stop) {
                        more = false;
                        for (int i = 0; i < n; i++) {
                                if (off[i] >= f.len - 1)
                                        continue;
                                off[i] += send_some(fds[i], f.p + off[i], f.len - 1 - off[i], 5);
                                if (off[i] < f.len - 1)
                                        more = true;
                        }
                }
                long total = 0;
                for (int i = 0; i < n; i++)
                        total += (long) off[i];
                sh->sent_mib = total / MIB;
                free(off);
                tbuf_free(&f);
        } else if (a->route == 'B') {
                TBuf e = tframe_enum(2);
                TBuf many = {};
                uint64_t end = t_now_ms() + 5000;

                for (int i = 0; i < 256; i++) {
                        TBuf one = tframe_enum((uint64_t) i + 2);
                        size_t old = many.len;
                        if (many.cap < many.len + one.len) {
                                many.cap = (many.len + one.len) * 2;
                                many.p = realloc(many.p, many.cap);
                        }
                        memcpy(many.p + old, one.p, one.len);
                        many.len += one.len;
                        tbuf_free(&one);
                }
                for (int i = 0; i < 20; i++) {
                        int fd = connect_retry(a->d);
                        if (fd < 0 || !tframe_send(fd, hello.p, hello.len, 1000))
                                continue;
                        fds[n++] = fd;
                }
                sh->conns = n;
                long total = 0;
                while (t_now_ms() < end && !sh->stop) {
                        bool any = false;
                        for (int i = 0; i < n; i++) {
                                if (fds[i] < 0)
                                        continue;
                                ssize_t k = send(fds[i], many.p, many.len, MSG_NOSIGNAL | MSG_DONTWAIT);
                                if (k > 0) {
                                        total += k;
                                        any = true;
                                } else if (k < 0 && errno != EAGAIN) {
                                        close(fds[i]);
                                        fds[i] = -1;
                                        sh->dropped++;
                                }
                        }
                        if (!any)
                                usleep(5000);
                }
                sh->sent_mib = total / MIB;
                tbuf_free(&e);
                tbuf_free(&many);
        } else {
                uint64_t end = t_now_ms() + 8000;
                int fd = connect_retry(a->d);
                TBuf acq = tframe_acquire_krb(2, 0);
                uint8_t *buf = malloc(65536);
                const uint8_t *rep, *h;
                size_t rep_len, h_len;
                long total = 0, k = -1;

                if (fd >= 0 && tframe_send(fd, hello.p, hello.len, 1000) && read_frame(fd, buf, 65536, 5000) > 0 &&
                    tframe_send(fd, acq.p, acq.len, 1000))
                        k = read_frame(fd, buf, 65536, 10000);
                if (k > 0 && (rep = find_field(buf, (size_t) k, 17, &rep_len)) &&
                    (h = find_field(rep, rep_len, 1, &h_len))) {
                        char target[256];

                        snprintf(target, sizeof(target), "HTTP/localhost@%s", t_realm());
                        fds[n++] = fd;
                        for (int i = 0; i < 300 && t_now_ms() < end && !sh->stop; i++) {
                                TBuf f = isc_frame((uint64_t) i + 3, h, h_len, target, (size_t) MIB - 300);
                                size_t sent = send_some(fd, f.p, f.len, (int) (end - t_now_ms()));
                                total += (long) sent;
                                tbuf_free(&f);
                                if (sent < f.len)
                                        break;
                        }
                } else
                        printf("# route C: no credential handle (reply %ld bytes)\n", k);
                tbuf_free(&acq);
                free(buf);
                sh->conns = n;
                sh->sent_mib = total / MIB;
        }
        sh->ready = 1;
        while (!sh->stop)
                usleep(20000);
        for (int i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        tbuf_free(&hello);
        return 0;
}

typedef struct Figures {
        long base_kib, peak_kib, after_kib, victim_ms;
        long sent_mib;
        int conns, dropped;
} Figures;

static void run_route(const TDaemon *d, Shared *sh, char route, Figures *f) {
        long victim_timeout = 20000;
        Attack a = { .d = d, .sh = sh, .route = route };
        uint64_t end;
        pid_t pid;

        *sh = (Shared) {};
        *f = (Figures) {};
        f->base_kib = t_proc_rss_kib(d->pid);
        f->peak_kib = f->base_kib;
        pid = t_spawn_as(T_ATTACKER, attack_fn, &a);
        end = t_now_ms() + 12000;
        while (!sh->ready && t_now_ms() < end) {
                long r = t_proc_rss_kib(d->pid);
                if (r > f->peak_kib)
                        f->peak_kib = r;
                usleep(50000);
        }
        /* the daemon works through what it took */
        for (int i = 0; i < 10; i++) {
                long r = t_proc_rss_kib(d->pid);
                if (r > f->peak_kib)
                        f->peak_kib = r;
                usleep(50000);
        }
        f->victim_ms = t_victim_ms(T_VICTIM, (int) victim_timeout);
        {
                long r = t_proc_rss_kib(d->pid);
                if (r > f->peak_kib)
                        f->peak_kib = r;
        }
        f->sent_mib = sh->sent_mib;
        f->conns = sh->conns;
        f->dropped = sh->dropped;
        sh->stop = 1;
        (void) t_wait_child(pid, 15000);
        /* memory back: the sweep trims once the daemon is idle */
        end = t_now_ms() + 12000;
        do {
                usleep(250000);
                f->after_kib = t_proc_rss_kib(d->pid);
        } while (t_now_ms() < end && f->after_kib > f->base_kib + 32 * 1024);
}

int main(void) {
        Shared *sh = tframe_shared(sizeof(Shared));
        static const struct {
                char route;
                const char *what;
                long bound_mib;
        } routes[] = {
                { 'A', "300 partial 1 MiB frames", 128 + 48 },
                { 'B', "replies never read on 20 connections", 64 + 48 },
                { 'C', "300 queued 1 MiB Kerberos InitializeSecurityContext calls on one connection, slow KDC",
          128 + 48 },
        };
        TDaemon d;
        Figures f;
        bool continue_rss = true;

        /* Route C needs calls that wait: a KDC that does not answer comes
         * first in the realm's list (host_timeout 1 s), the real one second.
         * Only [kerberos] differs; the limits are the defaults. */
        int kdcs[2] = { t_dead_kdc(), 0 };
        char krb5[64];

        snprintf(krb5, sizeof(krb5), "/tmp/test_memory.%d.krb5.conf", (int) getpid());
        t_ok(kdcs[0] > 0 && t_krb5_conf(krb5, kdcs, 2, 10, 1), "krb5.conf with a dead KDC first, the real one second");
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
                if (!sh || !t_daemon_start(&d, NULL, routes[i].route == 'C' ? krb5 : NULL)) {
                        t_ok(false, "private daemon with the default configuration starts");
                        return t_done();
                }
                run_route(&d, sh, routes[i].route, &f);
                printf("# route %c (%s): %d connections, %ld MiB sent; RSS %ld -> peak %ld -> after %ld KiB; victim "
                       "%ld ms\n",
                       routes[i].route, routes[i].what, f.conns, f.sent_mib, f.base_kib, f.peak_kib, f.after_kib,
                       f.victim_ms);
                t_ok(f.victim_ms >= 0, "route %c: root's victim round served (%ld ms)", routes[i].route, f.victim_ms);
#ifdef __SANITIZE_ADDRESS__
                /* ASan's quarantine keeps freed memory resident and its
                 * shadow doubles the rest: RSS says nothing here. The
                 * bounds are checked on the normal tree. */
                printf("# ASan build: RSS bounds and give-back not checked\n");
                continue_rss = false;
#endif
                if (continue_rss) {
                t_ok(f.peak_kib - f.base_kib < routes[i].bound_mib * 1024,
                     "route %c: RSS growth %ld MiB stays under %ld MiB", routes[i].route,
                     (f.peak_kib - f.base_kib) / 1024, routes[i].bound_mib);
                t_ok(f.after_kib - f.base_kib < 32 * 1024, "route %c: memory given back after the attack (%+ld MiB)",
                     routes[i].route, (f.after_kib - f.base_kib) / 1024);
                }
                if (getenv("T_LOG")) {
                        char cmd[256];
                        snprintf(cmd, sizeof(cmd), "sed 's/[0-9]\\+/N/g' %s | sort | uniq -c | sort -rn | head -8", d.log);
                        (void) !system(cmd);
                }
                /* each route shows it bit up to its limit */
                if (routes[i].route == 'A')
                        t_ok(f.sent_mib >= 100, "route A bit: the attacker got %ld MiB of frames read", f.sent_mib);
                if (routes[i].route == 'B')
                        t_ok(f.dropped > 0 && f.peak_kib - f.base_kib > 32 * 1024,
                             "route B bit: %ld MiB buffered, then %d connections dropped at the limit",
                             (f.peak_kib - f.base_kib) / 1024, f.dropped);
                if (routes[i].route == 'C')
                        t_ok(f.peak_kib - f.base_kib > 32 * 1024,
                             "route C bit: the queued calls held %ld MiB before the uid was made to wait",
                             (f.peak_kib - f.base_kib) / 1024);
                t_daemon_stop(&d);
        }

        unlink(krb5);
        /* Control: route A without quota-input-bytes. */
        if (t_daemon_start(&d, "quota-input-bytes = 0\nframe-timeout = 0\n", NULL)) {
                run_route(&d, sh, 'A', &f);
                printf("# control (quota-input-bytes = 0): RSS %ld -> peak %ld KiB, %ld MiB sent\n", f.base_kib,
                       f.peak_kib, f.sent_mib);
                t_ok(f.peak_kib - f.base_kib > 200 * 1024,
                     "control: without quota-input-bytes the partial frames pin %ld MiB",
                     (f.peak_kib - f.base_kib) / 1024);
                t_daemon_stop(&d);
        } else
                t_ok(false, "control daemon starts");
        return t_done();
}
