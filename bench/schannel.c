/* SPDX-License-Identifier: MIT */
/*
 * Schannel benchmarks (bench/run.sh runs them), TLS 1.3 with the test
 * world's ECDSA P-256 server certificate:
 *
 *   schannel inproc [-r]   client and server with OpenSSL memory BIOs in
 *                          this process (the baseline); -r: resumed
 *   schannel daemon [-r]   both sides through libsspi and sspid; -r: resumed
 *                          (the client's session cache in the daemon)
 *   schannel mixed         our client through sspid against an OpenSSL
 *                          server with memory BIOs in this process
 *   schannel bulk          16 KiB EncryptMessage + DecryptMessage through
 *                          sspid, MB/s of plaintext
 *   schannel bulk-inproc   16 KiB SSL_write + SSL_read in-process
 *   schannel ideal [-r] [-W]
 *                          the floor of any daemon: the in-process work
 *                          done by a forked child that stands for a daemon
 *                          costing nothing but its round trips; -W: its
 *                          public-key legs on a worker thread (ideal_child)
 *   schannel rotate M,M,.. the modes above (names as their RESULT lines:
 *                          inproc, daemon-r, ideal-W, bulk, ...) in turns
 *                          of 0.1 s until each ran -t seconds (rotate())
 *
 * A handshake always includes the client's certificate validation (chain to
 * the test CA and the name "localhost") and deleting both sides; resumed
 * handshakes include taking the server's tickets on the client.
 * Options: -t SECONDS (default 2 or $SSPID_BENCH_SECONDS), -w SECONDS
 * warm-up (default 0.3). Each mode prints "RESULT <mode> key=value...".
 * Fails (exit 1) only on an unexpected status.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "schannel.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                   ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM)
#define BULK 16384

static char pki[512];
static double run_secs = 2, warm_secs = 0.3;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, long st) {
        fprintf(stderr, "schannel bench: %s: 0x%08lx\n", what, st);
        exit(1);
}

/* ---- in-process OpenSSL ---- */

static SSL_CTX *sctx, *cctx;

static void ossl_setup(void) {
        char p[600];

        sctx = SSL_CTX_new(TLS_server_method());
        cctx = SSL_CTX_new(TLS_client_method());
        snprintf(p, sizeof(p), "%s/server-ec.pem", pki);
        if (SSL_CTX_use_certificate_file(sctx, p, SSL_FILETYPE_PEM) != 1)
                die("server certificate", 0);
        snprintf(p, sizeof(p), "%s/server-ec.key", pki);
        if (SSL_CTX_use_PrivateKey_file(sctx, p, SSL_FILETYPE_PEM) != 1)
                die("server key", 0);
        snprintf(p, sizeof(p), "%s/ca.pem", pki);
        SSL_CTX_load_verify_locations(cctx, p, NULL);
        SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
        SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
        SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF); /* the bench keeps one session itself */
}

/* Moves what one side wrote to the other side's input. */
static void pump(SSL *from, SSL *to) {
        char buf[32768];
        int n;
        while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof(buf))) > 0)
                BIO_write(SSL_get_rbio(to), buf, n);
}

static SSL *ossl_new(SSL_CTX *ctx, bool server) {
        SSL *s = SSL_new(ctx);
        SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
        if (server)
                SSL_set_accept_state(s);
        else {
                SSL_set_connect_state(s);
                SSL_set_tlsext_host_name(s, "localhost");
                SSL_set1_host(s, "localhost");
        }
        return s;
}

static SSL_SESSION *saved;

/* Both sides' legs in turn until both are done. */
static void ossl_handshake(SSL *c, SSL *s) {
        for (int i = 0; i < 10; i++) {
                int rc = SSL_do_handshake(c);
                pump(c, s);
                int rs = SSL_do_handshake(s);
                pump(s, c);
                if (rc == 1 && rs == 1)
                        break;
        }
}

static void inproc_handshake(bool resume) {
        SSL *c = ossl_new(cctx, false), *s = ossl_new(sctx, true);
        char b[16];

        if (resume && saved)
                SSL_set_session(c, saved);
        ossl_handshake(c, s);
        /* The tickets, as the daemon client takes them. */
        SSL_read(c, b, sizeof(b));
        if (SSL_get_verify_result(c) != X509_V_OK)
                die("in-process verification", SSL_get_verify_result(c));
        if (resume && !saved)
                saved = SSL_SESSION_dup(SSL_get_session(c)); /* SSL_free would make it unresumable */
        else if (resume && !SSL_session_reused(c))
                die("in-process resumption failed", 0);
        SSL_free(c);
        SSL_free(s);
}

/* ---- through sspid ---- */

typedef struct Side {
        CtxtHandle ctx;
        bool have;
        uint8_t in[65536];
        size_t len;
} Side;

static CredHandle ccred, scred, ccred_full;

static void acquire(const char *cert, ULONG use, DWORD flags, CredHandle *h) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION, .dwFlags = flags };
        CERT_CONTEXT cc = { .dwCertEncodingType = X509_ASN_ENCODING };
        PCCERT_CONTEXT pc = &cc;
        static uint8_t der[4096];
        TimeStamp ts;
        SECURITY_STATUS st;

        if (cert) {
                char cmd[700];
                FILE *f;
                snprintf(cmd, sizeof(cmd), "openssl x509 -in %s/%s.pem -outform DER", pki, cert);
                f = popen(cmd, "r");
                cc.cbCertEncoded = (DWORD) fread(der, 1, sizeof(der), f);
                pclose(f);
                cc.pbCertEncoded = der;
                sc.cCreds = 1;
                sc.paCred = &pc;
        }
        st = AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, h, &ts);
        if (st != SEC_E_OK)
                die("AcquireCredentialsHandle", st);
}

/* One ISC or ASC call on what the side received; output appended to `to`. */
static SECURITY_STATUS step(Side *me, Side *to, bool server, CredHandle *cred) {
        SecBuffer ib[2] = { { (ULONG) me->len, SECBUFFER_TOKEN, me->in }, { 0, SECBUFFER_EMPTY, NULL } };
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st;

        if (server)
                st = AcceptSecurityContext(me->have ? NULL : cred, me->have ? &me->ctx : NULL, &id, ASC_FLAGS, 0,
                                           &me->ctx, &od, &attrs, NULL);
        else
                st = InitializeSecurityContextA(me->have ? NULL : cred, me->have ? &me->ctx : NULL, "localhost",
                                                ISC_FLAGS, 0, 0, me->have ? &id : NULL, 0, &me->ctx, &od, &attrs,
                                                NULL);
        if (st < 0)
                die(server ? "AcceptSecurityContext" : "InitializeSecurityContext", st);
        me->have = true;
        if (ob.cbBuffer) {
                memcpy(to->in + to->len, ob.pvBuffer, ob.cbBuffer);
                to->len += ob.cbBuffer;
        }
        FreeContextBuffer(ob.pvBuffer);
        if (ib[1].BufferType == SECBUFFER_EXTRA) {
                memmove(me->in, me->in + me->len - ib[1].cbBuffer, ib[1].cbBuffer);
                me->len = ib[1].cbBuffer;
        } else
                me->len = 0;
        return st;
}

/* The client takes the tickets: DecryptMessage -> SEC_I_RENEGOTIATE -> ISC. */
static void take_tickets(Side *c) {
        while (c->len) {
                SecBuffer b[4] = { { (ULONG) c->len, SECBUFFER_DATA, c->in } };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                SECURITY_STATUS st;
                size_t extra = 0;

                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&c->ctx, &d, 0, NULL);
                if (st != SEC_I_RENEGOTIATE && st != SEC_E_OK)
                        die("DecryptMessage (ticket)", st);
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_EXTRA) {
                                memmove(c->in, b[i].pvBuffer, b[i].cbBuffer);
                                extra = b[i].cbBuffer;
                        }
                c->len = extra;
                if (st == SEC_I_RENEGOTIATE) {
                        Side sink = { 0 };
                        step(c, &sink, false, NULL);
                }
        }
}

static Side cs, ss;

static void pair(CredHandle *cc) {
        SECURITY_STATUS sc, sv = SEC_I_CONTINUE_NEEDED;

        cs.have = ss.have = false;
        cs.len = ss.len = 0;
        sc = step(&cs, &ss, false, cc);
        while (sc != SEC_E_OK || sv != SEC_E_OK) {
                if (sv != SEC_E_OK && ss.len)
                        sv = step(&ss, &cs, true, &scred);
                if (sc != SEC_E_OK && cs.len)
                        sc = step(&cs, &ss, false, NULL);
        }
}

static void daemon_handshake(bool resume, bool tickets) {
        pair(resume ? &ccred : &ccred_full);
        if (tickets)
                take_tickets(&cs);
        DeleteSecurityContext(&cs.ctx);
        DeleteSecurityContext(&ss.ctx);
}

/* Our client through sspid, the server in-process. */
static void mixed_handshake(void) {
        SSL *s = ossl_new(sctx, true);
        SECURITY_STATUS sc;
        Side sink = { 0 };
        char buf[32768];
        int n;

        cs.have = false;
        cs.len = 0;
        sc = step(&cs, &sink, false, &ccred_full);
        while (sc != SEC_E_OK) {
                BIO_write(SSL_get_rbio(s), sink.in, (int) sink.len);
                sink.len = 0;
                SSL_do_handshake(s);
                while ((n = BIO_read(SSL_get_wbio(s), buf, sizeof(buf))) > 0) {
                        memcpy(cs.in + cs.len, buf, (size_t) n);
                        cs.len += (size_t) n;
                }
                if (cs.len == 0)
                        die("in-process server produced nothing", 0);
                sc = step(&cs, &sink, false, NULL);
        }
        BIO_write(SSL_get_rbio(s), sink.in, (int) sink.len);
        if (SSL_do_handshake(s) != 1)
                die("in-process server did not finish", 0);
        DeleteSecurityContext(&cs.ctx);
        SSL_free(s);
}

/* ---- bulk ---- */

static uint8_t rec[BULK + 512], plain[BULK];
static CtxtHandle bulk_c, bulk_s; /* the connection bulk_daemon_once uses */

static void bulk_daemon_once(SecPkgContext_StreamSizes *sz) {
        SecBuffer b[4] = {
                { sz->cbHeader, SECBUFFER_STREAM_HEADER, rec },
                { BULK, SECBUFFER_DATA, rec + sz->cbHeader },
                { sz->cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz->cbHeader + BULK },
                { 0, SECBUFFER_EMPTY, NULL },
        };
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        SECURITY_STATUS st;

        memcpy(rec + sz->cbHeader, plain, BULK);
        st = EncryptMessage(&bulk_c, 0, &d, 0);
        if (st != SEC_E_OK)
                die("EncryptMessage", st);
        b[0] = (SecBuffer) { b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer, SECBUFFER_DATA, rec };
        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&bulk_s, &d, 0, NULL);
        if (st != SEC_E_OK || b[1].cbBuffer != BULK)
                die("DecryptMessage", st);
}

static SSL *bc, *bs;

static void bulk_inproc_once(void) {
        static uint8_t out[BULK];
        int got = 0;

        if (SSL_write(bc, plain, BULK) != BULK)
                die("SSL_write", 0);
        pump(bc, bs);
        while (got < BULK) {
                int n = SSL_read(bs, out + got, BULK - got);
                if (n <= 0)
                        die("SSL_read", n);
                got += n;
        }
}

/* ---- an ideal daemon: the floor of a handshake out of process ---- */

/*
 * What no daemon design with SSPI's calls can beat: the in-process OpenSSL
 * work of `inproc`, done in a forked child that stands for a daemon whose
 * only costs are its round trips (one byte each way on a socketpair, no
 * marshalling, no identity check, every leg inline, both SSL objects
 * kept). The parent makes one synchronous call per SSPI call that sspid's
 * handshake makes: full, 4 (ISC, ASC, ISC, ASC; the bench's full client
 * takes no tickets, and the deletes are one-way, free here); resumed, 6
 * (then DecryptMessage of the tickets and the ISC that SEC_I_RENEGOTIATE
 * asks for). The child formats the TLS 1.3 secrets for a keylog callback,
 * as message-protection = caller needs with OpenSSL 3.0 (its only way to
 * give traffic secrets). The parent waits as libsspi does (client.c): with
 * more than one CPU it polls for up to 100 us, yielding, then sleeps.
 */
enum { IDEAL_NEW_ISC = 'C', IDEAL_ISC = 'c', IDEAL_ASC = 's', IDEAL_TICKETS = 't', IDEAL_NOP = 'x' };

typedef struct Ideal {
        int fd;
        pid_t pid;
        bool resume;
} Ideal;

static Ideal ideals[3]; /* plain, -W, -r */

/* The child's own settings (set before fork). */
static bool ideal_resume, ideal_workers;

static void keylog_ignore(const SSL *ssl, const char *line) {
        (void) ssl;
        (void) line;
}

/* The previous pair is checked when the next one starts: verified, and
 * resumed when it should be. */
static bool ideal_pair_ok(SSL *c, SSL *s) {
        return SSL_is_init_finished(c) && SSL_is_init_finished(s) && SSL_get_verify_result(c) == X509_V_OK &&
               (!ideal_resume || !saved || SSL_session_reused(c));
}

/* One command on the ideal daemon's pair; the reply byte. */
static SSL *ideal_c, *ideal_s;

static unsigned char ideal_run(unsigned char cmd) {
        SSL *c = ideal_c, *s = ideal_s;
        unsigned char r = 1;
        char b[16];

        switch (cmd) {
        case IDEAL_NEW_ISC:
                if (c) {
                        if (!ideal_pair_ok(c, s))
                                _exit(1);
                        if (ideal_resume && !saved)
                                saved = SSL_SESSION_dup(SSL_get_session(c));
                        SSL_free(c);
                        SSL_free(s);
                }
                c = ossl_new(cctx, false);
                s = ossl_new(sctx, true);
                if (ideal_resume && saved)
                        SSL_set_session(c, saved);
                /* fall through */
        case IDEAL_ISC:
                r = SSL_do_handshake(c) == 1;
                pump(c, s);
                break;
        case IDEAL_ASC:
                r = SSL_do_handshake(s) == 1;
                pump(s, c);
                break;
        case IDEAL_TICKETS:
                SSL_read(c, b, sizeof(b));
                break;
        default:
                break;
        }
        ideal_c = c;
        ideal_s = s;
        return r;
}

/* With -W the legs sspid gives a worker (sch_step_may_block: the first
 * three legs, and an ISC after SEC_I_RENEGOTIATE) go to one worker thread,
 * which sleeps on a condition variable and answers itself, as sspid's
 * workers do; the rest runs on the reading thread. */
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static int wfd = -1;
static unsigned char wcmd;

static void *ideal_worker(void *arg) {
        (void) arg;
        pthread_mutex_lock(&wlock);
        for (;;) {
                unsigned char cmd, r;

                while (!wcmd)
                        pthread_cond_wait(&wcond, &wlock);
                cmd = wcmd;
                wcmd = 0;
                pthread_mutex_unlock(&wlock);
                r = ideal_run(cmd);
                if (write(wfd, &r, 1) != 1)
                        _exit(1);
                pthread_mutex_lock(&wlock);
        }
        return NULL;
}

static void ideal_child(int fd) {
        unsigned char cmd, r, prev = 0;
        pthread_t t;

        SSL_CTX_set_keylog_callback(sctx, keylog_ignore);
        SSL_CTX_set_keylog_callback(cctx, keylog_ignore);
        wfd = fd;
        if (ideal_workers && pthread_create(&t, NULL, ideal_worker, NULL) != 0)
                _exit(1);
        while (read(fd, &cmd, 1) == 1) {
                /* A worker leg: the first ISC and ASC, the client's second
                 * leg, and an ISC after the tickets. The caller waits for
                 * the reply, so the worker is idle by now. */
                bool to_worker = ideal_workers && (cmd == IDEAL_NEW_ISC || cmd == IDEAL_ISC ||
                                                   (cmd == IDEAL_ASC && prev == IDEAL_NEW_ISC) || cmd == IDEAL_NOP);
                prev = cmd;
                if (to_worker) {
                        pthread_mutex_lock(&wlock);
                        wcmd = cmd;
                        pthread_cond_signal(&wcond);
                        pthread_mutex_unlock(&wlock);
                        continue;
                }
                r = ideal_run(cmd);
                if (write(fd, &r, 1) != 1)
                        _exit(1);
        }
        _exit(ideal_c && !ideal_pair_ok(ideal_c, ideal_s) ? 1 : 0);
}

static unsigned char ideal_call(Ideal *d, unsigned char cmd) {
        static int may_spin = -1;
        static unsigned misses, skip;
        unsigned char r;
        ssize_t n = -1;

        if (may_spin < 0) {
                cpu_set_t cpus;
                may_spin = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1 &&
                           !getenv("SSPID_NO_SPIN");
        }
        if (write(d->fd, &cmd, 1) != 1)
                die("ideal daemon: write", errno);
        if (may_spin && skip > 0)
                skip--;
        else if (may_spin) {
                double t0 = now();
                while ((n = recv(d->fd, &r, 1, MSG_DONTWAIT)) < 0 && errno == EAGAIN && now() - t0 < 100e-6)
                        sched_yield();
                if (n == 1)
                        misses = 0;
                else if (++misses >= 8) {
                        misses = 0;
                        skip = 64;
                }
        }
        if (n != 1 && read(d->fd, &r, 1) != 1)
                die("ideal daemon: the child failed a check", 0);
        return r;
}

static void ideal_handshake(Ideal *d) {
        ideal_call(d, IDEAL_NEW_ISC);
        ideal_call(d, IDEAL_ASC);
        ideal_call(d, IDEAL_ISC);
        if (ideal_call(d, IDEAL_ASC) != 1)
                die("ideal daemon: the handshake did not finish in 4 legs", 0);
        if (d->resume) {
                ideal_call(d, IDEAL_TICKETS);
                ideal_call(d, IDEAL_NOP);
        }
}

static void ideal_start(Ideal *d, bool resume, bool workers) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno);
        d->resume = ideal_resume = resume;
        ideal_workers = workers;
        fflush(stdout);
        d->pid = fork();
        if (d->pid < 0)
                die("fork", errno);
        if (d->pid == 0) {
                close(sv[0]);
                /* Another child's end here would keep that child from
                 * seeing its EOF. */
                for (size_t k = 0; k < sizeof(ideals) / sizeof(ideals[0]); k++)
                        if (&ideals[k] != d && ideals[k].pid > 0)
                                close(ideals[k].fd);
                ideal_child(sv[1]);
        }
        close(sv[1]);
        d->fd = sv[0];
}

static void ideal_stop(Ideal *d) {
        int st;

        close(d->fd);
        if (waitpid(d->pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                die("ideal daemon: the last handshake failed its check", 0);
}

/* ---- driver ---- */

static double measure(void (*fn)(int), int arg, long *ret_n) {
        double t0 = now(), t1;
        long n = 0;

        while (now() - t0 < warm_secs)
                fn(arg);
        t0 = now();
        do {
                fn(arg);
                n++;
                t1 = now();
        } while (t1 - t0 < run_secs);
        *ret_n = n;
        return n / (t1 - t0);
}

static void op_inproc(int resume) {
        inproc_handshake(resume);
}
static void op_daemon(int resume) {
        daemon_handshake(resume, resume);
}
static void op_mixed(int unused) {
        mixed_handshake();
}
static SecPkgContext_StreamSizes bulk_sz;
static void op_bulk(int unused) {
        bulk_daemon_once(&bulk_sz);
}
static void op_bulk_inproc(int unused) {
        bulk_inproc_once();
}
static void op_ideal(int which) {
        ideal_handshake(&ideals[which]);
}

/* ---- every mode in turn ---- */

/*
 * rotate MODE,MODE,...: the modes take turns in 0.1 s slices until each
 * has run -t seconds, so that a figure and its baseline see the same
 * machine. On a virtual machine the speed of public-key work moved by up
 * to 40 % from one minute to the next (and within one `make bench` run),
 * which made ratios of figures measured one after the other say more
 * about the host than about sspid.
 */
typedef struct Rot {
        const char *name;
        void (*fn)(int);
        int arg;
        bool bulk; /* a rate of 16 KiB records: MB/s */
        long n;
        double secs;
} Rot;

/* The clients' credentials (resuming, and not) and the server's. */
static void acquire_all(void) {
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &ccred);
        acquire(NULL, SECPKG_CRED_OUTBOUND, SCH_CRED_DISABLE_RECONNECTS, &ccred_full);
        acquire("server-ec", SECPKG_CRED_INBOUND, 0, &scred);
}

static void bulk_pair(void) {
        pair(&ccred_full);
        take_tickets(&cs);
        bulk_c = cs.ctx;
        bulk_s = ss.ctx;
        if (QueryContextAttributesA(&bulk_c, SECPKG_ATTR_STREAM_SIZES, &bulk_sz) != SEC_E_OK)
                die("STREAM_SIZES", 0);
}

static void bulk_inproc_pair(void) {
        bc = ossl_new(cctx, false);
        bs = ossl_new(sctx, true);
        ossl_handshake(bc, bs);
}

static int rotate(const char *list) {
        static const Rot known[] = {
                { .name = "inproc", .fn = op_inproc },
                { .name = "inproc-r", .fn = op_inproc, .arg = 1 },
                { .name = "daemon", .fn = op_daemon },
                { .name = "daemon-r", .fn = op_daemon, .arg = 1 },
                { .name = "mixed", .fn = op_mixed },
                { .name = "ideal", .fn = op_ideal },
                { .name = "ideal-W", .fn = op_ideal, .arg = 1 },
                { .name = "ideal-r", .fn = op_ideal, .arg = 2 },
                { .name = "bulk-inproc", .fn = op_bulk_inproc, .bulk = true },
                { .name = "bulk", .fn = op_bulk, .bulk = true },
        };
        Rot rot[16];
        size_t n = 0;
        char buf[256], *save = NULL;
        bool creds = false;

        snprintf(buf, sizeof(buf), "%s", list);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t k = 0;

                while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k].name, t))
                        k++;
                if (k == sizeof(known) / sizeof(known[0])) {
                        fprintf(stderr, "schannel rotate: unknown mode %s\n", t);
                        return 2;
                }
                if (n == sizeof(rot) / sizeof(rot[0])) {
                        fprintf(stderr, "schannel rotate: more than %zu modes\n", n);
                        return 2;
                }
                rot[n++] = known[k];
        }
        for (size_t i = 0; i < n; i++) {
                if (rot[i].fn == op_daemon || rot[i].fn == op_mixed || rot[i].fn == op_bulk) {
                        if (!creds)
                                acquire_all();
                        creds = true;
                }
                if (rot[i].fn == op_bulk)
                        bulk_pair();
                if (rot[i].fn == op_bulk_inproc)
                        bulk_inproc_pair();
                if (rot[i].fn == op_ideal)
                        ideal_start(&ideals[rot[i].arg], rot[i].arg == 2, rot[i].arg == 1);
        }
        /* Warm-up: each mode for its share of -w. */
        for (size_t i = 0; i < n; i++)
                for (double t0 = now(); now() - t0 < warm_secs / (double) n;)
                        rot[i].fn(rot[i].arg);
        for (bool more = true; more;) {
                more = false;
                for (size_t i = 0; i < n; i++) {
                        double t0 = now(), t1;

                        if (rot[i].secs >= run_secs)
                                continue;
                        do {
                                rot[i].fn(rot[i].arg);
                                rot[i].n++;
                                t1 = now();
                        } while (t1 - t0 < 0.1);
                        rot[i].secs += t1 - t0;
                        more |= rot[i].secs < run_secs;
                }
        }
        for (size_t i = 0; i < n; i++) {
                if (rot[i].fn == op_ideal)
                        ideal_stop(&ideals[rot[i].arg]);
                if (rot[i].bulk)
                        printf("RESULT %s n=%ld mb_per_s=%.1f\n", rot[i].name, rot[i].n,
                               rot[i].n * (double) BULK / rot[i].secs / 1e6);
                else
                        printf("RESULT %s n=%ld handshakes_per_s=%.1f\n", rot[i].name, rot[i].n,
                               rot[i].n / rot[i].secs);
        }
        return 0;
}

int main(int argc, char **argv) {
        const char *env = getenv("SSPID_TESTENV"), *mode = argc > 1 ? argv[1] : "";
        bool resume = false, workers = false;
        long n;
        double rate;

        if (getenv("SSPID_BENCH_SECONDS"))
                run_secs = atof(getenv("SSPID_BENCH_SECONDS"));
        for (int i = 2; i < argc; i++) {
                if (!strcmp(argv[i], "-r"))
                        resume = true;
                else if (!strcmp(argv[i], "-W"))
                        workers = true;
                else if (!strcmp(argv[i], "-t") && i + 1 < argc)
                        run_secs = atof(argv[++i]);
                else if (!strcmp(argv[i], "-w") && i + 1 < argc)
                        warm_secs = atof(argv[++i]);
        }
        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        for (size_t i = 0; i < BULK; i++)
                plain[i] = (uint8_t) i;
        ossl_setup();

        if (!strcmp(mode, "inproc")) {
                rate = measure(op_inproc, resume, &n);
                printf("in-process OpenSSL, TLS 1.3 ECDSA P-256, %s: %.0f handshakes/s\n", resume ? "resumed" : "full",
                       rate);
                printf("RESULT inproc%s n=%ld handshakes_per_s=%.1f\n", resume ? "-r" : "", n, rate);
        } else if (!strcmp(mode, "daemon") || !strcmp(mode, "mixed")) {
                acquire_all();
                if (!strcmp(mode, "mixed"))
                        rate = measure(op_mixed, 0, &n);
                else
                        rate = measure(op_daemon, resume, &n);
                if (resume) {
                        /* Check that the figure is what it says. */
                        SecPkgContext_SessionInfo si;
                        pair(&ccred);
                        QueryContextAttributesA(&cs.ctx, SECPKG_ATTR_SESSION_INFO, &si);
                        if (!(si.dwFlags & SSL_SESSION_RECONNECT))
                                die("resumed mode did not resume", 0);
                        DeleteSecurityContext(&cs.ctx);
                        DeleteSecurityContext(&ss.ctx);
                }
                printf("%s, TLS 1.3 ECDSA P-256, %s: %.0f handshakes/s\n",
                       !strcmp(mode, "mixed") ? "our client via sspid, OpenSSL server in-process"
                                              : "both sides through sspid",
                       resume ? "resumed" : "full", rate);
                printf("RESULT %s%s n=%ld handshakes_per_s=%.1f\n", mode, resume ? "-r" : "", n, rate);
        } else if (!strcmp(mode, "rotate") && argc > 2) {
                return rotate(argv[2]);
        } else if (!strcmp(mode, "ideal")) {
                int which = resume ? 2 : workers ? 1 : 0;

                ideal_start(&ideals[which], resume, workers);
                rate = measure(op_ideal, which, &n);
                ideal_stop(&ideals[which]);
                printf("an ideal daemon (in-process work, %d round trips, keylog), TLS 1.3 ECDSA P-256, %s: "
                       "%.0f handshakes/s\n",
                       resume ? 6 : 4, resume ? "resumed" : "full", rate);
                printf("RESULT ideal%s n=%ld handshakes_per_s=%.1f\n", resume ? "-r" : workers ? "-W" : "", n, rate);
        } else if (!strcmp(mode, "bulk")) {
                acquire(NULL, SECPKG_CRED_OUTBOUND, SCH_CRED_DISABLE_RECONNECTS, &ccred_full);
                acquire("server-ec", SECPKG_CRED_INBOUND, 0, &scred);
                bulk_pair();
                rate = measure(op_bulk, 0, &n);
                printf("EncryptMessage + DecryptMessage of 16 KiB through sspid: %.1f MB/s\n", rate * BULK / 1e6);
                printf("RESULT bulk n=%ld mb_per_s=%.1f\n", n, rate * BULK / 1e6);
        } else if (!strcmp(mode, "bulk-inproc")) {
                bulk_inproc_pair();
                rate = measure(op_bulk_inproc, 0, &n);
                printf("SSL_write + SSL_read of 16 KiB in-process (%s): %.1f MB/s\n", SSL_get_cipher(bc),
                       rate * BULK / 1e6);
                printf("RESULT bulk-inproc n=%ld mb_per_s=%.1f\n", n, rate * BULK / 1e6);
        } else {
                fprintf(stderr, "usage: %s inproc|daemon|mixed|bulk|bulk-inproc|ideal [-r] [-W] [-t S] [-w S]\n"
                                "       %s rotate MODE,MODE,... [-t S] [-w S]\n",
                        argv[0], argv[0]);
                return 2;
        }
        return 0;
}
