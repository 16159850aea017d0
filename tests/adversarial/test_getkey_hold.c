/* SPDX-License-Identifier: MIT */
/*
 * Finding 2: calls waiting for a pGetKeyFn answer that never comes.
 *
 * uid 65534 speaks the wire protocol itself (no library: it must never
 * answer) and starts Kerberos acquisitions with an identity without a
 * password and a get_key cookie on five connections: 16 + 1 on the first,
 * 16 on three more, 1 on the fifth. The daemon parks 64 of them (a GetKey
 * request arrives for each) and refuses the 17th of the first connection
 * (max-get-key-waits) and the one of the fifth (quota-get-key-waits) with
 * SEC_E_INSUFFICIENT_MEMORY. Meanwhile root's round (t_victim_round) and an
 * acquisition of its own through pGetKeyFn, sync and async, are served;
 * once the attacker is gone `sspictl status` shows its waits released and
 * root is served again. A root connection that never answers gets
 * SEC_E_NO_CREDENTIALS after the 30 s timeout.
 *
 * Before the fix each wait held a worker for 30 s: root's round took ~45 s.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tattack.h"
#include "testlib.h"

#define PER_CONN 16             /* max-get-key-waits default */
#define PER_UID 64              /* quota-get-key-waits default */
#define N_CONN (PER_UID / PER_CONN)
#define BODY_ACQUIRE_CRED 16
#define BODY_GET_KEY 40
#define BODY_GET_KEY_REP 41
#define VICTIM_BOUND_MS 10000   /* functional: an idle round takes well under a second */
/* RSS growth allowed: 64 parked jobs with their requests. Under ASan
 * freed memory stays resident in its quarantine (256 MiB by default). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND_KIB ((256 + 32) * 1024)
#else
#define RSS_BOUND_KIB (8 * 1024)
#endif

/* ---- a minimal protobuf writer/reader for the few messages we need ---- */

typedef struct Buf {
        uint8_t d[1024];
        size_t n;
} Buf;

static void put_varint(Buf *b, uint64_t v) {
        while (v >= 0x80 && b->n < sizeof(b->d)) {
                b->d[b->n++] = (uint8_t) (v | 0x80);
                v >>= 7;
        }
        if (b->n < sizeof(b->d))
                b->d[b->n++] = (uint8_t) v;
}

static void put_uint(Buf *b, unsigned field, uint64_t v) {
        put_varint(b, (uint64_t) field << 3);
        put_varint(b, v);
}

static void put_bytes(Buf *b, unsigned field, const void *p, size_t len) {
        put_varint(b, (uint64_t) field << 3 | 2);
        put_varint(b, len);
        if (b->n + len <= sizeof(b->d)) {
                memcpy(b->d + b->n, p, len);
                b->n += len;
        }
}

static void put_str(Buf *b, unsigned field, const char *s) {
        put_bytes(b, field, s, strlen(s));
}

static int send_envelope(int fd, uint64_t call_id, unsigned body, const Buf *msg) {
        Buf e = { .n = 0 };
        uint8_t frame[1100];

        put_uint(&e, 1, call_id);
        put_bytes(&e, body, msg->d, msg->n);
        frame[0] = (uint8_t) (e.n >> 24);
        frame[1] = (uint8_t) (e.n >> 16);
        frame[2] = (uint8_t) (e.n >> 8);
        frame[3] = (uint8_t) e.n;
        memcpy(frame + 4, e.d, e.n);
        return write(fd, frame, e.n + 4) == (ssize_t) (e.n + 4) ? 0 : -1;
}

static int send_hello(int fd) {
        Buf h = { .n = 0 };

        put_uint(&h, 1, 1);
        put_uint(&h, 2, 0);
        return send_envelope(fd, 1, 10, &h);
}

/* AcquireCredentialsHandle(Kerberos, outbound) for alice, no password,
 * pGetKeyFn cookie 1. */
static int send_acquire(int fd, uint64_t call_id) {
        Buf id = { .n = 0 }, a = { .n = 0 };

        put_str(&id, 1, "alice");
        put_str(&id, 2, t_realm());
        put_uint(&id, 5, SEC_WINNT_AUTH_IDENTITY_ANSI);
        put_str(&a, 2, "Kerberos");
        put_uint(&a, 3, SECPKG_CRED_OUTBOUND);
        put_bytes(&a, 5, id.d, id.n);
        put_uint(&a, 6, 1);
        return send_envelope(fd, call_id, BODY_ACQUIRE_CRED, &a);
}

typedef struct Frame {
        uint64_t call_id;
        bool has_status;
        int32_t status;
        unsigned body;
} Frame;

static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms) {
        uint64_t end = t_now_ms() + (uint64_t) timeout_ms;

        while (n > 0) {
                struct pollfd pfd = { fd, POLLIN, 0 };
                int left = (int) (end > t_now_ms() ? end - t_now_ms() : 0);
                ssize_t k;

                if (poll(&pfd, 1, left) <= 0)
                        return -ETIMEDOUT;
                k = read(fd, p, n);
                if (k <= 0)
                        return -EPIPE;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
        *v = 0;
        for (unsigned s = 0; *p < end && s < 64; s += 7) {
                uint8_t c = *(*p)++;
                *v |= (uint64_t) (c & 0x7f) << s;
                if (!(c & 0x80))
                        return true;
        }
        return false;
}

/* One frame's envelope: call id, status, body case. 0, or -errno. */
static int read_frame(int fd, Frame *f, int timeout_ms) {
        uint8_t hdr[4], buf[65536];
        const uint8_t *p = buf, *end;
        size_t len;
        int r;

        memset(f, 0, sizeof(*f));
        r = read_full(fd, hdr, 4, timeout_ms);
        if (r < 0)
                return r;
        len = (size_t) hdr[0] << 24 | (size_t) hdr[1] << 16 | (size_t) hdr[2] << 8 | hdr[3];
        if (len > sizeof(buf))
                return -EMSGSIZE;
        r = read_full(fd, buf, len, timeout_ms);
        if (r < 0)
                return r;
        end = buf + len;
        while (p < end) {
                uint64_t key, v;

                if (!get_varint(&p, end, &key))
                        return -EBADMSG;
                if ((key & 7) == 0) {
                        if (!get_varint(&p, end, &v))
                                return -EBADMSG;
                        if (key >> 3 == 1)
                                f->call_id = v;
                        else if (key >> 3 == 2) {
                                f->has_status = true;
                                f->status = (int32_t) (uint32_t) v;
                        }
                } else if ((key & 7) == 2) {
                        if (!get_varint(&p, end, &v) || v > (uint64_t) (end - p))
                                return -EBADMSG;
                        f->body = (unsigned) (key >> 3);
                        p += v;
                } else
                        return -EBADMSG;
        }
        return 0;
}

static int connect_hello(const TDaemon *d) {
        Frame f;
        int fd = t_raw_connect(d);

        if (fd < 0)
                return -1;
        if (send_hello(fd) < 0 || read_frame(fd, &f, 5000) < 0 || f.status != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* ---- the attacker ---- */

typedef struct Report {
        int get_keys;           /* GetKey requests received: waits parked */
        int refused_conn;       /* the 17th call on connection 0: SEC_E_INSUFFICIENT_MEMORY */
        int refused_uid;        /* the call on the 5th connection: SEC_E_INSUFFICIENT_MEMORY */
        int other;              /* any other reply (nothing should complete) */
} Report;

typedef struct Attack {
        const TDaemon *d;
        int report_fd;          /* write end: the Report */
        int hold_fd;            /* read end: EOF tells us to leave */
        int hold_wfd;           /* its write end, the parent's: closed here */
} Attack;

static int attacker(void *arg) {
        Attack *a = arg;
        Report rep = { 0 };
        int fds[N_CONN + 1];
        uint64_t end;
        char c;

        close(a->hold_wfd);
        for (int i = 0; i <= N_CONN; i++)
                if ((fds[i] = connect_hello(a->d)) < 0)
                        return 2;
        for (int i = 0; i < N_CONN; i++)
                for (int k = 0; k < PER_CONN + (i == 0); k++)
                        if (send_acquire(fds[i], 100 + (uint64_t) k) < 0)
                                return 3;
        /* Collect what the daemon says to the first four connections:
         * GetKey requests, and the one refusal. */
        end = t_now_ms() + 15000;
        while (rep.get_keys < PER_UID || rep.refused_conn < 1) {
                struct pollfd p[N_CONN];
                int n;

                for (int i = 0; i < N_CONN; i++)
                        p[i] = (struct pollfd) { fds[i], POLLIN, 0 };
                n = t_now_ms() < end ? poll(p, N_CONN, (int) (end - t_now_ms())) : 0;
                if (n <= 0)
                        break;
                for (int i = 0; i < N_CONN; i++) {
                        Frame f;

                        if (!(p[i].revents & POLLIN) || read_frame(fds[i], &f, 2000) < 0)
                                continue;
                        if (f.body == BODY_GET_KEY)
                                rep.get_keys++;
                        else if (i == 0 && f.status == (int32_t) SEC_E_INSUFFICIENT_MEMORY)
                                rep.refused_conn++;
                        else
                                rep.other++;
                }
        }
        /* The uid is at its bound now: the fifth connection is refused. */
        if (send_acquire(fds[N_CONN], 200) == 0) {
                Frame f;

                if (read_frame(fds[N_CONN], &f, 5000) == 0) {
                        if (f.body != BODY_GET_KEY && f.status == (int32_t) SEC_E_INSUFFICIENT_MEMORY)
                                rep.refused_uid++;
                        else
                                rep.other++;
                }
        }
        if (write(a->report_fd, &rep, sizeof(rep)) != sizeof(rep))
                return 4;
        /* Hold every wait, never answering, until told to go. */
        (void) !read(a->hold_fd, &c, 1);
        return 0;
}

/* ---- root's own get_key acquisitions ---- */

static int getkey_calls;

static void SEC_ENTRY give_key(void *arg, void *principal, ULONG key_ver, void **key, SECURITY_STATUS *status) {
        (void) principal;
        (void) key_ver;
        getkey_calls++;
        *key = arg;
        *status = SEC_E_OK;
}

static int root_getkey_fn(void *arg) {
        SEC_WINNT_AUTH_IDENTITY_A id = { (unsigned char *) "alice", 5, (unsigned char *) t_realm(),
                                         (ULONG) strlen(t_realm()), NULL, 0, SEC_WINNT_AUTH_IDENTITY_ANSI };
        SspiAsyncContext *ac;
        CredHandle c = { 0 }, c2 = { 0 };
        SECURITY_STATUS st;
        uint64_t end;

        (void) arg;
        if (AcquireCredentialsHandleA(NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id, give_key, "alice-pw-1", &c,
                                      NULL) != SEC_E_OK)
                return 1;
        FreeCredentialsHandle(&c);
        ac = SspiCreateAsyncContext();
        if (!ac)
                return 2;
        if (SspiAcquireCredentialsHandleAsyncA(ac, NULL, "Kerberos", SECPKG_CRED_OUTBOUND, NULL, &id, give_key,
                                               "alice-pw-1", &c2, NULL) != SEC_E_OK)
                return 3;
        end = t_now_ms() + 10000;
        while ((st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING && t_now_ms() < end)
                usleep(2000);
        SspiFreeAsyncContext(ac);
        if (st != SEC_E_OK)
                return 4;
        FreeCredentialsHandle(&c2);
        return getkey_calls == 2 ? 0 : 5;
}

static long root_getkey_ms(void) {
        uint64_t t0 = t_now_ms();
        int rc = t_wait_child(t_spawn_as(T_VICTIM, root_getkey_fn, NULL), 30000);

        if (rc != 0) {
                printf("# root's pGetKeyFn acquisitions: code %d\n", rc);
                return -1;
        }
        return (long) (t_now_ms() - t0);
}

static uint64_t attacker_waits(const TDaemon *d) {
        return t_daemon_status(d, "get_key_waits", "\"uid\":65534");
}

int main(void) {
        TDaemon d;
        Attack a;
        Report rep = { 0 };
        int rp[2], hp[2], tfd;
        long idle_ms, ms, gk_ms, rss0, rss1, cpu0, cpu1, log0, log1;
        uint64_t waits, t0;
        pid_t att;
        Frame f;

        if (!t_daemon_start(&d, NULL, NULL)) {
                t_ok(false, "private daemon with the default configuration starts");
                return t_done();
        }
        idle_ms = t_victim_ms(T_VICTIM, 20000);
        t_ok(idle_ms >= 0, "victim served by the idle daemon (%ld ms)", idle_ms);
        rss0 = t_proc_rss_kib(d.pid);
        cpu0 = t_proc_cpu_ms(d.pid);
        log0 = t_file_size(d.log);

        /* A wait nobody answers ends with its timeout: root parks one on a
         * raw connection now and looks for the answer at the end. */
        tfd = connect_hello(&d);
        t0 = t_now_ms();
        t_ok(tfd >= 0 && send_acquire(tfd, 7) == 0 && read_frame(tfd, &f, 5000) == 0 && f.body == BODY_GET_KEY,
             "root's unanswered acquisition: the daemon sends GetKey");

        if (pipe(rp) < 0 || pipe(hp) < 0)
                return 1;
        a = (Attack) { &d, rp[1], hp[0], hp[1] };
        att = t_spawn_as(T_ATTACKER, attacker, &a);
        close(rp[1]);
        close(hp[0]);
        t_ok(read(rp[0], &rep, sizeof(rep)) == sizeof(rep), "attacker (uid 65534) reports");
        printf("# attacker: %d GetKey requests (parked waits), refused: %d per connection, %d per uid, %d other\n",
               rep.get_keys, rep.refused_conn, rep.refused_uid, rep.other);
        t_ok(rep.get_keys == PER_UID, "the attack bites: %d of its calls are parked waiting for a key (%d)",
             PER_UID, rep.get_keys);
        t_ok(rep.refused_conn == 1, "the %dth wait on one connection: SEC_E_INSUFFICIENT_MEMORY at once",
             PER_CONN + 1);
        t_ok(rep.refused_uid == 1, "the %dth wait of the uid: SEC_E_INSUFFICIENT_MEMORY at once", PER_UID + 1);
        t_ok(rep.other == 0, "no other reply to the attacker (%d)", rep.other);
        waits = attacker_waits(&d);
        t_ok(waits == PER_UID, "sspictl status: uid 65534 has %d get_key waits (%llu)", PER_UID,
             (unsigned long long) waits);

        ms = t_victim_ms(T_VICTIM, 60000);
        printf("# victim round with %d parked get_key waits: %ld ms (idle %ld ms)\n", rep.get_keys, ms, idle_ms);
        t_ok(ms >= 0 && ms < VICTIM_BOUND_MS, "victim served while the waits are parked (%ld ms < %d)", ms,
             VICTIM_BOUND_MS);
        gk_ms = root_getkey_ms();
        printf("# root's own pGetKeyFn acquisitions (sync + async): %ld ms\n", gk_ms);
        t_ok(gk_ms >= 0 && gk_ms < VICTIM_BOUND_MS, "root's pGetKeyFn acquisitions, sync and async, served (%ld ms)",
             gk_ms);

        /* The attacker leaves: its waits end at once. */
        close(hp[1]);
        t_ok(t_wait_child(att, 10000) == 0, "attacker exits cleanly");
        close(rp[0]);
        for (int i = 0; i < 200 && (waits = attacker_waits(&d)) != 0 && waits != UINT64_MAX; i++)
                usleep(10000);
        t_ok(waits == 0 || waits == UINT64_MAX, "after the disconnect uid 65534 has no get_key waits left (%llu)",
             (unsigned long long) (waits == UINT64_MAX ? 0 : waits));
        t_ok(t_daemon_status(&d, "calls_in_flight", NULL) <= 1, "no attacker call left in flight (%llu)",
             (unsigned long long) t_daemon_status(&d, "calls_in_flight", NULL));
        ms = t_victim_ms(T_VICTIM, 60000);
        printf("# victim round right after the attacker left: %ld ms\n", ms);
        t_ok(ms >= 0 && ms < VICTIM_BOUND_MS, "victim served after the attacker left (%ld ms)", ms);

        /* Root's unanswered wait: SEC_E_NO_CREDENTIALS after 30 s. */
        {
                int r = read_frame(tfd, &f, 45000 - (int) (t_now_ms() - t0));
                long waited = (long) (t_now_ms() - t0);

                t_ok(r == 0 && f.call_id == 7 && f.status == (int32_t) SEC_E_NO_CREDENTIALS && waited >= 29000,
                     "an unanswered wait ends with SEC_E_NO_CREDENTIALS after its timeout (%ld ms)", waited);
                close(tfd);
        }

        rss1 = t_proc_rss_kib(d.pid);
        cpu1 = t_proc_cpu_ms(d.pid);
        log1 = t_file_size(d.log);
        printf("# daemon: RSS %ld -> %ld KiB, CPU %ld ms, log +%ld bytes\n", rss0, rss1, cpu1 - cpu0, log1 - log0);
        t_ok(rss1 - rss0 < RSS_BOUND_KIB, "daemon RSS growth bounded (%ld KiB)", rss1 - rss0);
        t_ok(cpu1 - cpu0 < 20000, "daemon CPU bounded (%ld ms)", cpu1 - cpu0);
        t_ok(log1 - log0 < 256 * 1024, "daemon log growth bounded (%ld bytes)", log1 - log0);
        t_daemon_stop(&d);
        return t_done();
}
