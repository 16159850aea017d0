/* SPDX-License-Identifier: MIT */
/*
 * krb-client: the initiating side of a Kerberos conversation with
 * krb-server, built on the asynchronous SSPI calls (Sspi*Async).
 *
 *   krb-client [--user NAME --password-file FILE [--realm REALM]]
 *              [--event-loop] [--target SPN] [--host ADDR] [--timeout SECONDS] PORT
 *
 * Credentials come from an explicit identity (SEC_WINNT_AUTH_IDENTITY_A)
 * when --user is given, otherwise from the caller's default ccache. The
 * handshake runs on one SspiAsyncContext, reinitialised between calls; its
 * completions arrive either through a notify callback that signals a
 * condition variable (default: the library's own thread runs it) or, with
 * --event-loop, through SspiGetAsyncCompletionFd() watched by epoll and
 * SspiProcessAsyncCompletions() on this thread (no library thread at all).
 *
 * Then a few messages go through EncryptMessage (one of them with
 * SECQOP_WRAP_NO_ENCRYPT) and MakeSignature; every echo from the server is
 * checked with DecryptMessage / VerifySignature and compared byte for byte.
 *
 * Exit status: 0 only when every call returned exactly the status expected
 * of a Kerberos exchange with mutual authentication, 1 otherwise, 2 for a
 * usage error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define EXAMPLE_NAME "krb-client"
#include "common.h"

#define CLIENT_ISC_REQ                                                                                \
        (ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY | ISC_REQ_REPLAY_DETECT | \
         ISC_REQ_SEQUENCE_DETECT | ISC_REQ_ALLOCATE_MEMORY)

/* The ISC_RET_* bits that must come back for the request above (the
 * ISC_RET_* values of these flags equal their ISC_REQ_* values). */
#define CLIENT_ISC_RET_WANTED CLIENT_ISC_REQ

/* With mutual authentication Kerberos takes exactly two legs: AP-REQ out
 * (SEC_I_CONTINUE_NEEDED), then the server's AP-REP in (SEC_E_OK). */
#define EXPECTED_LEGS 2
#define MAX_LEGS 8

#define ECHO_PREFIX "echo: "
#define MAX_STEPS 64
#define MAX_PASSWORD 1024

/* How long one asynchronous call may take before we call it lost; the
 * alarm() over the whole run is the backstop. */
#define ASYNC_WAIT_SECONDS 20

typedef struct Step {
        char name[56];
        SECURITY_STATUS status;
        SECURITY_STATUS want;
        bool timed;
        uint64_t us;
        char note[96];
} Step;

typedef struct MessageResult {
        const char *protection;
        uint32_t bytes;
        SECURITY_STATUS protect, unprotect;
        uint64_t protect_us, unprotect_us, round_trip_us;
        bool verified;
} MessageResult;

/* One message of the conversation. data == NULL: a binary pattern. */
typedef struct Plan {
        uint8_t kind;
        ULONG qop;
        const char *protection;
        const char *data;
        uint32_t binary_len;
} Plan;

static const Plan plan[] = {
        { RECORD_SEALED, 0, "EncryptMessage", "Hello, Kerberos! This message is sealed with EncryptMessage.", 0 },
        { RECORD_SEALED, 0, "EncryptMessage", NULL, 4096 },
        { RECORD_SEALED, SECQOP_WRAP_NO_ENCRYPT, "EncryptMessage(WRAP_NO_ENCRYPT)",
          "Integrity only: readable on the wire, but any change is detected.", 0 },
        { RECORD_SIGNED, 0, "MakeSignature", "Signed with MakeSignature, sent in the clear.", 0 },
        { RECORD_SEALED, 0, "EncryptMessage", "Grüße from sspid, UTF-8 and all: ✓ λ 鍵", 0 },
};
#define N_MESSAGES (sizeof(plan) / sizeof(plan[0]))

typedef struct Client {
        /* options */
        const char *user, *realm, *password_file, *target, *host;
        uint16_t port;
        bool event_loop;

        /* async machinery */
        SspiAsyncContext *ac;
        unsigned calls;                 /* issued on ac so far */
        unsigned seen_pending;          /* ... that were still pending right after queueing */
        unsigned callbacks_on_main;
        unsigned callbacks_elsewhere;
        unsigned wakeups;               /* event loop: epoll_wait returns */
        unsigned threads;               /* threads in this process after the conversation */
        bool async_broken;              /* an async wait failed: clean up synchronously */
        pthread_t main_thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;                      /* completion of the current call: under lock */
        SECURITY_STATUS done_status;
        uint64_t done_us;
        bool done_on_main;
        int completion_fd, epfd;

        /* security state */
        CredHandle cred;
        bool have_cred;
        CtxtHandle ctx;
        bool have_ctx;
        TimeStamp cred_expiry;
        ULONG isc_attrs;
        unsigned legs;
        uint64_t handshake_us;
        char *package;
        unsigned short rpcid;
        ULONG max_token;
        char *user_name;
        ULONG flags;
        SecPkgContext_Lifespan lifespan;
        SecPkgContext_Sizes sizes;

        int fd;
        Step steps[MAX_STEPS];
        size_t n_steps;
        MessageResult results[N_MESSAGES];
        unsigned sent, verified;
} Client;

/* Records one step for the table; true when it got the status it must. */
__attribute__((format(printf, 7, 8))) static bool step_add(Client *c, const char *name, SECURITY_STATUS st,
                                                           SECURITY_STATUS want, bool timed, uint64_t us,
                                                           const char *note_fmt, ...) {
        Step *s;
        va_list ap;

        if (st != want)
                fail("%s returned %s, expected %s", name, status_name(st), status_name(want));
        if (c->n_steps >= MAX_STEPS)
                return st == want;
        s = &c->steps[c->n_steps++];
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->status = st;
        s->want = want;
        s->timed = timed;
        s->us = us;
        va_start(ap, note_fmt);
        vsnprintf(s->note, sizeof(s->note), note_fmt, ap);
        va_end(ap);
        return st == want;
}

/* ---- asynchronous calls ---- */

/* The notify callback: runs once per completed call, on the library's
 * thread by default or inside SspiProcessAsyncCompletions() in event-loop
 * mode. It only records and signals; the main loop does the rest, so that
 * the callback returns at once as the library asks. */
static void on_async_complete(SspiAsyncContext *handle, void *data) {
        Client *c = data;
        SECURITY_STATUS st = SspiGetAsyncCallStatus(handle);
        uint64_t t = now_us();
        bool on_main = pthread_equal(pthread_self(), c->main_thread);

        pthread_mutex_lock(&c->lock);
        c->done_status = st;
        c->done_us = t;
        c->done_on_main = on_main;
        c->done = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

static bool async_setup(Client *c) {
        pthread_condattr_t ca;
        SECURITY_STATUS st;

        c->main_thread = pthread_self();
        pthread_mutex_init(&c->lock, NULL);
        /* Deadlines on the monotonic clock: a wall-clock step must not
         * turn a wait into a hang or a spurious timeout. */
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);

        if (c->event_loop) {
                struct epoll_event ev = { .events = EPOLLIN };

                /* Asked for before the first async call, so that the
                 * library never starts a thread of its own. */
                c->completion_fd = SspiGetAsyncCompletionFd();
                if (c->completion_fd < 0) {
                        fail("SspiGetAsyncCompletionFd: %s (is sspid running at $SSPID_SOCKET?)", strerror(errno));
                        return false;
                }
                c->epfd = epoll_create1(EPOLL_CLOEXEC);
                if (c->epfd < 0) {
                        fail("epoll_create1: %s", strerror(errno));
                        return false;
                }
                ev.data.fd = c->completion_fd;
                if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->completion_fd, &ev) < 0) {
                        fail("epoll_ctl: %s", strerror(errno));
                        return false;
                }
        }

        c->ac = SspiCreateAsyncContext();
        if (!c->ac) {
                fail("SspiCreateAsyncContext: out of memory");
                return false;
        }
        st = SspiSetAsyncNotifyCallback(c->ac, on_async_complete, c);
        if (st != SEC_E_OK) {
                fail("SspiSetAsyncNotifyCallback returned %s, expected SEC_E_OK", status_name(st));
                return false;
        }
        if (!SspiAsyncContextRequiresNotify(c->ac)) {
                fail("SspiAsyncContextRequiresNotify is FALSE although a callback is registered");
                return false;
        }
        return true;
}

/* Makes the async context ready for the next call: every call after the
 * first needs SspiReinitAsyncContext (the callback registration stays). */
static bool async_prepare(Client *c) {
        if (c->calls > 0) {
                NTSTATUS n = SspiReinitAsyncContext(c->ac);
                if (n != STATUS_SUCCESS) {
                        fail("SspiReinitAsyncContext returned NTSTATUS 0x%08x, expected STATUS_SUCCESS",
                             (unsigned) n);
                        c->async_broken = true;
                        return false;
                }
        }
        pthread_mutex_lock(&c->lock);
        c->done = false;
        pthread_mutex_unlock(&c->lock);
        return true;
}

static bool wait_callback(Client *c) {
        struct timespec deadline;
        int r = 0;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ASYNC_WAIT_SECONDS;
        pthread_mutex_lock(&c->lock);
        while (!c->done && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
        pthread_mutex_unlock(&c->lock);
        return r != ETIMEDOUT || c->done;
}

static bool wait_event_loop(Client *c) {
        uint64_t deadline = now_us() + ASYNC_WAIT_SECONDS * 1000000ull;

        for (;;) {
                struct epoll_event ev[4];
                uint64_t now;
                bool done;
                int n, r;

                /* Single-threaded in this mode, but the callback writes
                 * under the lock, so read under it too. */
                pthread_mutex_lock(&c->lock);
                done = c->done;
                pthread_mutex_unlock(&c->lock);
                if (done)
                        return true;
                now = now_us();
                if (now >= deadline)
                        return false;
                n = epoll_wait(c->epfd, ev, 4, (int) ((deadline - now) / 1000 + 1));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fail("epoll_wait: %s", strerror(errno));
                        return false;
                }
                if (n == 0)
                        continue;
                c->wakeups++;
                r = SspiProcessAsyncCompletions();
                if (r < 0) {
                        fail("SspiProcessAsyncCompletions: %s", strerror(-r));
                        return false;
                }
        }
}

/*
 * Completes one async call that was just issued: `queued` is what the
 * Sspi*Async function returned (queueing only). Waits for the callback and
 * checks the contract around it: in event-loop mode nothing may complete
 * before we process completions, the callback must run on our thread, and
 * SspiGetAsyncCallStatus afterwards must agree with what the callback saw.
 */
static bool async_complete(Client *c, const char *what, SECURITY_STATUS queued, uint64_t t_issue,
                           SECURITY_STATUS *ret_status, uint64_t *ret_us) {
        SECURITY_STATUS early, final;
        bool ok;

        if (queued != SEC_E_OK) {
                /* Not queued: nothing was sent, the callback will not run,
                 * and the context is still ours to reuse. */
                char hint[160];
                fail("%s could not be queued: %s%s", what, status_name(queued),
                     daemon_hint(queued, hint, sizeof(hint)));
                return false;
        }
        c->calls++;
        early = SspiGetAsyncCallStatus(c->ac);
        if (early == SEC_I_ASYNC_CALL_PENDING)
                c->seen_pending++;
        else if (c->event_loop) {
                fail("%s: SspiGetAsyncCallStatus gave %s before SspiProcessAsyncCompletions ran; "
                     "the completion-fd contract says SEC_I_ASYNC_CALL_PENDING",
                     what, status_name(early));
                c->async_broken = true;
                return false;
        }

        ok = c->event_loop ? wait_event_loop(c) : wait_callback(c);
        if (!ok) {
                fail("%s: no completion within %d s (SspiGetAsyncCallStatus: %s)", what, ASYNC_WAIT_SECONDS,
                     status_name(SspiGetAsyncCallStatus(c->ac)));
                c->async_broken = true;
                return false;
        }
        pthread_mutex_lock(&c->lock);
        if (c->done_on_main)
                c->callbacks_on_main++;
        else
                c->callbacks_elsewhere++;
        *ret_status = c->done_status;
        *ret_us = c->done_us - t_issue;
        ok = !c->event_loop || c->done_on_main;
        pthread_mutex_unlock(&c->lock);

        if (!ok) {
                fail("%s: the notify callback ran on another thread although the completion fd is in use", what);
                c->async_broken = true;
                return false;
        }
        if (*ret_status == SEC_I_ASYNC_CALL_PENDING) {
                fail("%s: the notify callback saw SEC_I_ASYNC_CALL_PENDING; it must see the final status", what);
                c->async_broken = true;
                return false;
        }
        final = SspiGetAsyncCallStatus(c->ac);
        if (final != *ret_status) {
                fail("%s: SspiGetAsyncCallStatus gives %s after the callback saw %s", what, status_name(final),
                     status_name(*ret_status));
                c->async_broken = true;
                return false;
        }
        return true;
}

/* ---- credentials ---- */

static char *read_password(const char *path) {
        char *buf;
        size_t n = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f) {
                fail("cannot open password file %s: %s", path, strerror(errno));
                return NULL;
        }
        buf = calloc(1, MAX_PASSWORD + 1);
        if (buf)
                n = fread(buf, 1, MAX_PASSWORD + 1, f);
        if (!buf || ferror(f) || n > MAX_PASSWORD) {
                fail("cannot read password file %s (unreadable or longer than %d bytes)", path, MAX_PASSWORD);
                fclose(f);
                if (buf)
                        explicit_bzero(buf, MAX_PASSWORD + 1);
                free(buf);
                return NULL;
        }
        fclose(f);
        /* One trailing newline is how editors and `echo` end the file; it is
         * not part of the password. */
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';
        if (n == 0 || memchr(buf, '\0', n)) {
                fail("password file %s is empty or contains NUL bytes", path);
                explicit_bzero(buf, MAX_PASSWORD + 1);
                free(buf);
                return NULL;
        }
        return buf;
}

static bool acquire_credentials(Client *c) {
        SEC_WINNT_AUTH_IDENTITY_A id = { 0 };
        char *password = NULL, *user = NULL;
        const char *realm = c->realm;
        SECURITY_STATUS queued, st = SEC_E_INTERNAL_ERROR;
        uint64_t t0, us = 0;
        char when[64];
        bool ok = false;

        if (c->user) {
                char *at;

                user = strdup(c->user);
                if (!user) {
                        fail("out of memory");
                        return false;
                }
                /* "alice@REALM" names the realm itself; the identity takes
                 * user and domain apart, as on Windows. */
                at = strchr(user, '@');
                if (at) {
                        *at = '\0';
                        if (!realm)
                                realm = at + 1;
                }
                password = read_password(c->password_file);
                if (!password)
                        goto out;
                id.User = (unsigned char *) user;
                id.UserLength = (ULONG) strlen(user);
                id.Domain = (unsigned char *) realm;
                id.DomainLength = realm ? (ULONG) strlen(realm) : 0;
                id.Password = (unsigned char *) password;
                id.PasswordLength = (ULONG) strlen(password);
                id.Flags = SEC_WINNT_AUTH_IDENTITY_ANSI;
        }

        if (!async_prepare(c))
                goto out;
        t0 = now_us();
        queued = SspiAcquireCredentialsHandleAsyncA(c->ac, NULL, MICROSOFT_KERBEROS_NAME_A, SECPKG_CRED_OUTBOUND, NULL,
                                                    c->user ? &id : NULL, NULL, NULL, &c->cred, &c->cred_expiry);
        if (!async_complete(c, "SspiAcquireCredentialsHandleAsyncA", queued, t0, &st, &us))
                goto out;
        if (st == SEC_E_OK)
                c->have_cred = true;
        ok = step_add(c, "SspiAcquireCredentialsHandleAsyncA(OUTBOUND)", st, SEC_E_OK, true, us, "%s, expires %s",
                      c->user ? "explicit identity" : "default ccache",
                      st == SEC_E_OK ? timestamp_string(&c->cred_expiry, when, sizeof(when)) : "-");
out:
        /* The library copied the identity when it queued the request; our
         * copy of the password goes now. */
        if (password) {
                explicit_bzero(password, MAX_PASSWORD + 1);
                free(password);
        }
        free(user);
        return ok;
}

/* ---- handshake ---- */

/* Reads the server's answer to one of our tokens: its AcceptSecurityContext
 * status and output token (possibly empty). */
static bool read_answer(Client *c, unsigned leg, SECURITY_STATUS *ret_status, uint8_t **ret_token,
                        uint32_t *ret_len) {
        uint8_t *frame = NULL;
        uint32_t len = 0;
        int r;

        r = frame_recv(c->fd, &frame, &len);
        if (r < 0) {
                fail("reading the server's answer to leg %u: %s", leg,
                     r == -ENODATA ? "server closed the connection" : strerror(-r));
                return false;
        }
        if (len < 4) {
                free(frame);
                fail("the server's answer to leg %u is malformed (%u bytes)", leg, len);
                return false;
        }
        *ret_status = (SECURITY_STATUS) get_be32(frame);
        *ret_len = len - 4;
        memmove(frame, frame + 4, len - 4);
        *ret_token = frame;
        return true;
}

static bool handshake(Client *c) {
        uint8_t *server_token = NULL;
        uint32_t server_token_len = 0;
        bool server_done = false, ok = false;
        uint64_t t_start = now_us();

        for (unsigned leg = 1;; leg++) {
                SecBuffer in_buf = { server_token_len, SECBUFFER_TOKEN, server_token };
                SecBufferDesc in_desc = { SECBUFFER_VERSION, 1, &in_buf };
                SecBuffer out_buf = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc out_desc = { SECBUFFER_VERSION, 1, &out_buf };
                ULONG attrs = 0;
                TimeStamp expiry = { 0 };
                SECURITY_STATUS queued, st = SEC_E_INTERNAL_ERROR, fst, server_st = SEC_E_INTERNAL_ERROR;
                uint32_t sent = 0;
                uint64_t t0, t_sent, us = 0;
                bool step_ok;
                char name[56];
                int r = 0;

                if (leg > MAX_LEGS) {
                        fail("handshake did not finish after %d legs", MAX_LEGS);
                        goto out;
                }
                snprintf(name, sizeof(name), "SspiInitializeSecurityContextAsyncA #%u", leg);
                if (!async_prepare(c))
                        goto out;
                t0 = now_us();
                /* The descriptors, attrs and expiry are written on
                 * completion: they live in this frame until
                 * async_complete() has seen the call finish. */
                queued = SspiInitializeSecurityContextAsyncA(c->ac, &c->cred, c->have_ctx ? &c->ctx : NULL, c->target,
                                                             CLIENT_ISC_REQ, 0, SECURITY_NATIVE_DREP,
                                                             c->have_ctx ? &in_desc : NULL, 0, &c->ctx, &out_desc,
                                                             &attrs, &expiry);
                if (!async_complete(c, name, queued, t0, &st, &us))
                        goto out;
                c->legs = leg;
                if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED) {
                        /* From here on the context must be deleted,
                         * whatever happens next. */
                        c->have_ctx = true;
                        c->isc_attrs = attrs;
                }
                step_ok = step_add(c, name, st, leg < EXPECTED_LEGS ? SEC_I_CONTINUE_NEEDED : SEC_E_OK, true, us,
                                   "in %u, out %u bytes", (unsigned) server_token_len, (unsigned) out_buf.cbBuffer);
                free(server_token);
                server_token = NULL;
                server_token_len = 0;

                /* The server's round trip starts with our send: were the
                 * clock started after it, a preemption in between would
                 * make the server look instantaneous. */
                t_sent = now_us();
                if (step_ok && out_buf.cbBuffer > 0) {
                        r = frame_send(c->fd, out_buf.pvBuffer, out_buf.cbBuffer);
                        sent = out_buf.cbBuffer;
                }
                if (out_buf.pvBuffer) {
                        fst = FreeContextBuffer(out_buf.pvBuffer);
                        if (fst != SEC_E_OK) {
                                fail("FreeContextBuffer returned %s, expected SEC_E_OK", status_name(fst));
                                goto out;
                        }
                }
                if (!step_ok)
                        goto out;
                if (r < 0) {
                        fail("sending the token of leg %u: %s", leg, strerror(-r));
                        goto out;
                }
                if (sent == 0) {
                        if (st == SEC_I_CONTINUE_NEEDED) {
                                fail("%s asked to continue but produced no token to send", name);
                                goto out;
                        }
                        /* Done on our side with nothing left to say: the
                         * server must have finished already. */
                        if (!server_done) {
                                fail("the client finished but the server still expects a token");
                                goto out;
                        }
                        break;
                }

                if (!read_answer(c, leg, &server_st, &server_token, &server_token_len))
                        goto out;
                snprintf(name, sizeof(name), "AcceptSecurityContext #%u (server)", leg);
                /* Kerberos with mutual authentication: the server answers
                 * our AP-REQ with an AP-REP and is done (SEC_E_OK). */
                if (!step_add(c, name, server_st, SEC_E_OK, true, now_us() - t_sent, "round trip; in %u, out %u bytes",
                              (unsigned) sent, (unsigned) server_token_len))
                        goto out;
                server_done = true;
                if (st == SEC_E_OK) {
                        if (server_token_len) {
                                fail("the server sent a %u-byte token after the client finished",
                                     (unsigned) server_token_len);
                                goto out;
                        }
                        break;
                }
                if (server_token_len == 0) {
                        fail("the server finished without the token the client needs to complete");
                        goto out;
                }
        }
        c->handshake_us = now_us() - t_start;
        if (c->legs != EXPECTED_LEGS) {
                fail("the handshake took %u legs; Kerberos with mutual authentication takes %d", c->legs,
                     EXPECTED_LEGS);
                goto out;
        }
        if ((c->isc_attrs & CLIENT_ISC_RET_WANTED) != CLIENT_ISC_RET_WANTED) {
                char buf[256];
                fail("the context lacks requested flags: %s",
                     ISC_FLAGS_STRING(CLIENT_ISC_RET_WANTED & ~c->isc_attrs, buf));
                goto out;
        }
        ok = true;
out:
        free(server_token);
        return ok;
}

/* ---- context attributes ---- */

static bool query_context(Client *c) {
        SecPkgContext_PackageInfoA pi = { 0 };
        SecPkgContext_NamesA names = { 0 };
        SecPkgContext_Flags flags = { 0 };
        SECURITY_STATUS st;
        uint64_t t0, us;
        char buf[256], a[64], b[64];

        t0 = now_us();
        st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_PACKAGE_INFO, &pi);
        us = now_us() - t0;
        if (st == SEC_E_OK && (!pi.PackageInfo || !pi.PackageInfo->Name)) {
                fail("QueryContextAttributes(PACKAGE_INFO) returned no package");
                return false;
        }
        if (!step_add(c, "QueryContextAttributes(PACKAGE_INFO)", st, SEC_E_OK, true, us, "%s",
                      st == SEC_E_OK ? pi.PackageInfo->Name : "-"))
                return false;
        c->package = strdup(pi.PackageInfo->Name);
        c->rpcid = pi.PackageInfo->wRPCID;
        c->max_token = pi.PackageInfo->cbMaxToken;
        st = FreeContextBuffer(pi.PackageInfo);
        if (!c->package || st != SEC_E_OK) {
                fail("saving the package info failed (FreeContextBuffer: %s)", status_name(st));
                return false;
        }
        if (strcmp(c->package, MICROSOFT_KERBEROS_NAME_A) != 0) {
                fail("the context runs package %s, but we asked for Kerberos", c->package);
                return false;
        }

        t0 = now_us();
        st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_NAMES, &names);
        us = now_us() - t0;
        if (st == SEC_E_OK && !names.sUserName) {
                fail("QueryContextAttributes(NAMES) returned no name");
                return false;
        }
        if (!step_add(c, "QueryContextAttributes(NAMES)", st, SEC_E_OK, true, us, "%s",
                      st == SEC_E_OK ? names.sUserName : "-"))
                return false;
        c->user_name = strdup(names.sUserName);
        st = FreeContextBuffer(names.sUserName);
        if (!c->user_name || st != SEC_E_OK) {
                fail("saving the user name failed (FreeContextBuffer: %s)", status_name(st));
                return false;
        }

        t0 = now_us();
        st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_FLAGS, &flags);
        us = now_us() - t0;
        if (!step_add(c, "QueryContextAttributes(FLAGS)", st, SEC_E_OK, true, us, "0x%08x", (unsigned) flags.Flags))
                return false;
        c->flags = flags.Flags;
        /* ALLOCATED_MEMORY describes the ISC output buffers, not the
         * context; every other requested protection must be in effect. */
        if ((c->flags & (CLIENT_ISC_RET_WANTED & ~ISC_RET_ALLOCATED_MEMORY)) !=
            (CLIENT_ISC_RET_WANTED & ~ISC_RET_ALLOCATED_MEMORY)) {
                fail("the context flags lack requested protections: %s",
                     ISC_FLAGS_STRING((CLIENT_ISC_RET_WANTED & ~ISC_RET_ALLOCATED_MEMORY) & ~c->flags, buf));
                return false;
        }

        t0 = now_us();
        st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_LIFESPAN, &c->lifespan);
        us = now_us() - t0;
        if (!step_add(c, "QueryContextAttributes(LIFESPAN)", st, SEC_E_OK, true, us, "%s .. %s",
                      timestamp_string(&c->lifespan.tsStart, a, sizeof(a)),
                      timestamp_string(&c->lifespan.tsExpiry, b, sizeof(b))))
                return false;
        if (!timestamp_is_never(&c->lifespan.tsExpiry) && c->lifespan.tsExpiry.QuadPart <= c->lifespan.tsStart.QuadPart) {
                fail("the session ends (%s) before it starts (%s)", b, a);
                return false;
        }

        t0 = now_us();
        st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_SIZES, &c->sizes);
        us = now_us() - t0;
        if (!step_add(c, "QueryContextAttributes(SIZES)", st, SEC_E_OK, true, us,
                      "signature %u, trailer %u, block %u", (unsigned) c->sizes.cbMaxSignature,
                      (unsigned) c->sizes.cbSecurityTrailer, (unsigned) c->sizes.cbBlockSize))
                return false;
        if (c->sizes.cbMaxSignature == 0 || c->sizes.cbSecurityTrailer == 0) {
                fail("the context reports no room for signatures or trailers");
                return false;
        }
        return true;
}

/* ---- messages ---- */

static uint8_t *plan_data(const Plan *p, uint32_t *ret_len) {
        uint8_t *d;

        if (p->data) {
                *ret_len = (uint32_t) strlen(p->data);
                d = malloc(*ret_len + 1);
                if (d)
                        memcpy(d, p->data, *ret_len);
                return d;
        }
        /* Every byte value, in an order that is not a plain counter. */
        *ret_len = p->binary_len;
        d = malloc(p->binary_len);
        if (d)
                for (uint32_t i = 0; i < p->binary_len; i++)
                        d[i] = (uint8_t) (i * 167u + 13u);
        return d;
}

/* Is `got` exactly ECHO_PREFIX followed by `sent`? */
static bool is_echo(const void *got, uint32_t got_len, const void *sent, uint32_t sent_len) {
        size_t plen = strlen(ECHO_PREFIX);

        return got_len == plen + sent_len && memcmp(got, ECHO_PREFIX, plen) == 0 &&
               memcmp((const uint8_t *) got + plen, sent, sent_len) == 0;
}

/* Protects message i, sends it, unprotects the server's echo and compares. */
static bool exchange(Client *c, unsigned i) {
        const Plan *p = &plan[i];
        MessageResult *m = &c->results[i];
        uint8_t *plain = NULL, *data = NULL, *token = NULL, *padding = NULL;
        uint32_t len = 0, token_cap;
        SecBuffer out[3], in[3];
        SecBufferDesc out_desc = { SECBUFFER_VERSION, p->kind == RECORD_SEALED ? 3 : 2, out };
        SecBufferDesc in_desc = { SECBUFFER_VERSION, 2, in };
        Record rec = { 0 };
        SECURITY_STATUS st;
        ULONG qop = 0;
        uint64_t t0, t_rt;
        bool ok = false;
        int r;

        m->protection = p->protection;
        m->protect = m->unprotect = SEC_E_INTERNAL_ERROR;
        plain = plan_data(p, &len);
        data = malloc(len ? len : 1);
        token_cap = p->kind == RECORD_SEALED ? c->sizes.cbSecurityTrailer : c->sizes.cbMaxSignature;
        token = calloc(1, token_cap);
        padding = calloc(1, c->sizes.cbBlockSize ? c->sizes.cbBlockSize : 1);
        if (!plain || !data || !token || !padding) {
                fail("out of memory");
                goto out;
        }
        memcpy(data, plain, len);
        m->bytes = len;
        out[0] = (SecBuffer) { token_cap, SECBUFFER_TOKEN, token };
        out[1] = (SecBuffer) { len, SECBUFFER_DATA, data };
        out[2] = (SecBuffer) { c->sizes.cbBlockSize, SECBUFFER_PADDING, padding };

        t_rt = t0 = now_us();
        st = p->kind == RECORD_SEALED ? EncryptMessage(&c->ctx, p->qop, &out_desc, 0)
                                      : MakeSignature(&c->ctx, 0, &out_desc, 0);
        m->protect_us = now_us() - t0;
        m->protect = st;
        if (st != SEC_E_OK) {
                fail("%s of message %u returned %s, expected SEC_E_OK", p->protection, i + 1, status_name(st));
                goto out;
        }
        /* The protection must be what was asked for: ciphertext for a real
         * seal (16 bytes make a coincidence impossible in practice), the
         * very plaintext for an integrity-only wrap or a signature. */
        if (p->kind == RECORD_SEALED && p->qop == 0 && len >= 16 && out[1].cbBuffer == len &&
            memcmp(out[1].pvBuffer, plain, len) == 0) {
                fail("EncryptMessage left message %u in the clear", i + 1);
                goto out;
        }
        if ((p->kind == RECORD_SIGNED || p->qop == SECQOP_WRAP_NO_ENCRYPT) &&
            (out[1].cbBuffer != len || memcmp(out[1].pvBuffer, plain, len) != 0)) {
                fail("%s changed the data of message %u although it must stay readable", p->protection, i + 1);
                goto out;
        }

        r = record_send(c->fd, p->kind, out[0].pvBuffer, out[0].cbBuffer, out[1].pvBuffer, out[1].cbBuffer,
                        p->kind == RECORD_SEALED ? out[2].pvBuffer : NULL,
                        p->kind == RECORD_SEALED ? out[2].cbBuffer : 0);
        if (r < 0) {
                fail("sending message %u: %s", i + 1, strerror(-r));
                goto out;
        }
        c->sent++;

        r = record_recv(c->fd, &rec);
        if (r < 0) {
                fail("reading the echo of message %u: %s", i + 1,
                     r == -ENODATA ? "server closed the connection (see its log)"
                     : r == -EBADMSG ? "malformed record"
                                     : strerror(-r));
                goto out;
        }
        if (rec.kind != p->kind) {
                fail("the echo of message %u came back as record '%c', expected '%c'", i + 1, rec.kind, p->kind);
                goto out;
        }
        if (p->kind == RECORD_SIGNED && rec.padding.len) {
                fail("the signed echo of message %u carries padding", i + 1);
                goto out;
        }
        in[0] = (SecBuffer) { rec.token.len, SECBUFFER_TOKEN, rec.token.data };
        in[1] = (SecBuffer) { rec.data.len, SECBUFFER_DATA, rec.data.data };
        in[2] = (SecBuffer) { rec.padding.len, SECBUFFER_PADDING, rec.padding.data };
        /* Padding travels only when the sender produced some. */
        in_desc.cBuffers = rec.padding.len ? 3 : 2;

        t0 = now_us();
        st = p->kind == RECORD_SEALED ? DecryptMessage(&c->ctx, &in_desc, 0, &qop)
                                      : VerifySignature(&c->ctx, &in_desc, 0, &qop);
        m->unprotect_us = now_us() - t0;
        m->round_trip_us = now_us() - t_rt;
        m->unprotect = st;
        if (st != SEC_E_OK) {
                fail("%s of the echo of message %u returned %s, expected SEC_E_OK",
                     p->kind == RECORD_SEALED ? "DecryptMessage" : "VerifySignature", i + 1, status_name(st));
                goto out;
        }
        if (p->kind == RECORD_SEALED && qop != p->qop) {
                fail("the echo of message %u was protected with qop 0x%08x, expected 0x%08x", i + 1, (unsigned) qop,
                     (unsigned) p->qop);
                goto out;
        }
        if (!is_echo(in[1].pvBuffer, in[1].cbBuffer, plain, len)) {
                fail("the echo of message %u does not match what was sent", i + 1);
                goto out;
        }
        m->verified = true;
        c->verified++;
        ok = true;
out:
        record_done(&rec);
        free(plain);
        free(data);
        free(token);
        free(padding);
        return ok;
}

static bool conversation(Client *c) {
        Record rec = { 0 };
        int r;

        for (unsigned i = 0; i < N_MESSAGES; i++)
                if (!exchange(c, i))
                        return false;
        r = record_send(c->fd, RECORD_QUIT, NULL, 0, NULL, 0, NULL, 0);
        if (r < 0) {
                fail("sending goodbye: %s", strerror(-r));
                return false;
        }
        r = record_recv(c->fd, &rec);
        if (r < 0 || rec.kind != RECORD_QUIT) {
                fail("the server did not acknowledge the goodbye: %s",
                     r < 0 ? (r == -ENODATA ? "connection closed" : strerror(-r)) : "unexpected record");
                record_done(&rec);
                return false;
        }
        record_done(&rec);
        return true;
}

/* Threads of this process, from /proc: in event-loop mode the library
 * promises to start none of its own, and this is how we hold it to that. */
static unsigned count_threads(void) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        d = opendir("/proc/self/task");
        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* ---- cleanup ---- */

/* Context and credential go through the async API as well, unless the async
 * machinery itself failed; then the synchronous calls are the safer way to
 * release what the daemon holds for us. */
static bool cleanup(Client *c) {
        SECURITY_STATUS queued, st = SEC_E_INTERNAL_ERROR;
        uint64_t t0, us = 0;
        bool ok = true, done;

        if (c->have_ctx) {
                done = false;
                if (!c->async_broken && async_prepare(c)) {
                        t0 = now_us();
                        queued = SspiDeleteSecurityContextAsync(c->ac, &c->ctx);
                        done = async_complete(c, "SspiDeleteSecurityContextAsync", queued, t0, &st, &us);
                        if (done)
                                ok = step_add(c, "SspiDeleteSecurityContextAsync", st, SEC_E_OK, true, us, "%s", "") &&
                                     ok;
                }
                if (!done) {
                        ok = false;
                        t0 = now_us();
                        st = DeleteSecurityContext(&c->ctx);
                        (void) step_add(c, "DeleteSecurityContext", st, SEC_E_OK, true, now_us() - t0, "%s",
                                        "after the async path failed");
                }
                c->have_ctx = false;
        }
        if (c->have_cred) {
                done = false;
                if (!c->async_broken && async_prepare(c)) {
                        t0 = now_us();
                        queued = SspiFreeCredentialsHandleAsync(c->ac, &c->cred);
                        done = async_complete(c, "SspiFreeCredentialsHandleAsync", queued, t0, &st, &us);
                        if (done)
                                ok = step_add(c, "SspiFreeCredentialsHandleAsync", st, SEC_E_OK, true, us, "%s", "") &&
                                     ok;
                }
                if (!done) {
                        ok = false;
                        t0 = now_us();
                        st = FreeCredentialsHandle(&c->cred);
                        (void) step_add(c, "FreeCredentialsHandle", st, SEC_E_OK, true, now_us() - t0, "%s",
                                        "after the async path failed");
                }
                c->have_cred = false;
        }
        /* Freeing an async context with a call still pending is not ours
         * to do; after a lost call we leave it to process exit. */
        if (c->ac && !c->async_broken)
                SspiFreeAsyncContext(c->ac);
        c->ac = NULL;
        return ok;
}

/* ---- report ---- */

static void report(Client *c, bool ok) {
        char d1[32], d2[32], d3[32], a[64], b[64], buf[256];
        const char *mode = c->event_loop ? "event-loop" : "callback";

        printf("\n %-46s %-24s %-24s %10s  %s\n", "step", "status", "expected", "time", "note");
        for (size_t i = 0; i < c->n_steps; i++) {
                const Step *s = &c->steps[i];
                printf(" %-46s %-24s %-24s %s  %s%s\n", s->name, status_name(s->status), status_name(s->want),
                       s->timed ? duration_string(s->us, d1, sizeof(d1)) : "         -", s->note,
                       s->status == s->want ? "" : "   <-- UNEXPECTED");
        }

        printf("\n %-4s %-32s %6s  %-9s %10s  %-9s %10s  %10s\n", "msg", "protection", "bytes", "protect", "time",
               "reply", "time", "round trip");
        for (unsigned i = 0; i < N_MESSAGES; i++) {
                const MessageResult *m = &c->results[i];
                if (!m->protection)
                        break;
                printf(" %-4u %-32s %6u  %-9s %s  %-9s %s  %s%s\n", i + 1, m->protection, (unsigned) m->bytes,
                       m->protect == SEC_E_OK ? "SEC_E_OK" : status_name(m->protect),
                       duration_string(m->protect_us, d1, sizeof(d1)),
                       m->unprotect == SEC_E_OK ? "SEC_E_OK" : status_name(m->unprotect),
                       duration_string(m->unprotect_us, d2, sizeof(d2)),
                       duration_string(m->round_trip_us, d3, sizeof(d3)), m->verified ? "  verified" : "  FAILED");
        }

        printf("\n");
        printf("package:   %s", c->package ? c->package : "(unknown)");
        if (c->package)
                printf(" (RPC id %u, max token %u bytes)", (unsigned) c->rpcid, (unsigned) c->max_token);
        printf("\nlegs:      %u (SspiInitializeSecurityContextAsyncA calls)\n", c->legs);
        if (c->user_name)
                printf("user:      %s\n", c->user_name);
        printf("flags:     0x%08x %s\n", (unsigned) c->isc_attrs, ISC_FLAGS_STRING(c->isc_attrs, buf));
        if (c->lifespan.tsExpiry.QuadPart) {
                printf("lifetime:  %s .. %s", timestamp_string(&c->lifespan.tsStart, a, sizeof(a)),
                       timestamp_string(&c->lifespan.tsExpiry, b, sizeof(b)));
                if (!timestamp_is_never(&c->lifespan.tsExpiry)) {
                        long long left = (long long) (timestamp_to_unix(&c->lifespan.tsExpiry) - time(NULL));
                        if (left > 0)
                                printf(" (%lld h %02lld min left)", left / 3600, left % 3600 / 60);
                }
                printf("\n");
        }
        printf("async:     %s; %u calls, %u still pending right after queueing, callbacks: %u on this thread, "
               "%u on a library thread",
               c->event_loop ? "SspiGetAsyncCompletionFd + epoll + SspiProcessAsyncCompletions"
                             : "notify callback + condition variable",
               c->calls, c->seen_pending, c->callbacks_on_main, c->callbacks_elsewhere);
        if (c->event_loop)
                printf(", %u epoll wakeups", c->wakeups);
        if (c->threads)
                printf("; %u thread%s in this process", c->threads, c->threads == 1 ? "" : "s");
        printf("\n");
        if (c->verified == N_MESSAGES)
                printf("messages:  all %u messages verified\n", c->verified);
        else
                printf("messages:  %u of %u messages verified\n", c->verified, (unsigned) N_MESSAGES);
        if (c->handshake_us)
                printf("handshake: %s\n", duration_text(c->handshake_us, d1, sizeof(d1)));
        printf("result:    %s\n", ok ? "OK" : "FAILED");

        /* One line for scripts (tests/tools/demo.sh). */
        printf("summary: mode=%s package=%s legs=%u isc=", mode, c->package ? c->package : "-", c->legs);
        for (size_t i = 0, n = 0; i < c->n_steps; i++)
                if (strncmp(c->steps[i].name, "SspiInitializeSecurityContextAsyncA", 35) == 0)
                        printf("%s%s", n++ ? "," : "", status_name(c->steps[i].status));
        printf(" handshake_us=%llu messages=%u/%u result=%s\n", (unsigned long long) c->handshake_us, c->verified,
               (unsigned) N_MESSAGES, ok ? "OK" : "FAILED");
}

/* ---- main ---- */

static int connect_to(const char *host, uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        int fd, one = 1;

        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        /* Every message is one write answered by one write: without
         * NODELAY the timings would measure delayed ACKs, not SSPI. */
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

static void usage(FILE *f) {
        fputs("usage: krb-client [--user NAME --password-file FILE [--realm REALM]] [--event-loop]\n"
              "                  [--target SPN] [--host ADDR] [--timeout SECONDS] PORT\n"
              "Authenticates to krb-server with Kerberos through the Sspi*Async calls and exchanges\n"
              "protected messages.\n"
              "  --user NAME            explicit identity (NAME or NAME@REALM); default: your ccache\n"
              "  --password-file FILE   the password for --user (first line)\n"
              "  --realm REALM          realm for --user (default: $SSPID_REALM)\n"
              "  --event-loop           completions through SspiGetAsyncCompletionFd + epoll\n"
              "  --target SPN           service principal (default HTTP/localhost)\n"
              "  --host ADDR            server IPv4 address (default 127.0.0.1)\n"
              "  --timeout SECONDS      give up after this long (default 30)\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "user", required_argument, NULL, 'u' },
                { "password-file", required_argument, NULL, 'p' },
                { "realm", required_argument, NULL, 'r' },
                { "event-loop", no_argument, NULL, 'e' },
                { "target", required_argument, NULL, 't' },
                { "host", required_argument, NULL, 'H' },
                { "timeout", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static Client client;
        Client *c = &client;
        unsigned long port, timeout = 30;
        char *end;
        bool ok;
        int opt;

        c->target = "HTTP/localhost";
        c->host = "127.0.0.1";
        c->fd = c->completion_fd = c->epfd = -1;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'u':
                        c->user = optarg;
                        break;
                case 'p':
                        c->password_file = optarg;
                        break;
                case 'r':
                        c->realm = optarg;
                        break;
                case 'e':
                        c->event_loop = true;
                        break;
                case 't':
                        c->target = optarg;
                        break;
                case 'H':
                        c->host = optarg;
                        break;
                case 'T':
                        timeout = strtoul(optarg, &end, 10);
                        if (*end || timeout == 0 || timeout > 3600) {
                                usage(stderr);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind + 1 != argc || !!c->user != !!c->password_file) {
                usage(stderr);
                return 2;
        }
        errno = 0;
        port = strtoul(argv[optind], &end, 10);
        if (errno || *end || port == 0 || port > 65535) {
                usage(stderr);
                return 2;
        }
        c->port = (uint16_t) port;
        if (c->user && !c->realm && !strchr(c->user, '@')) {
                c->realm = getenv("SSPID_REALM");
                if (c->realm && !*c->realm)
                        c->realm = NULL;
        }

        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGALRM, on_alarm);
        alarm((unsigned) timeout);

        printf("krb-client: Kerberos to %s at %s:%u as %s%s%s, completions via %s\n", c->target, c->host,
               (unsigned) c->port, c->user ? c->user : "the default ccache",
               c->user && c->realm && !strchr(c->user, '@') ? "@" : "",
               c->user && c->realm && !strchr(c->user, '@') ? c->realm : "",
               c->event_loop ? "SspiGetAsyncCompletionFd + epoll" : "notify callback + condition variable");

        c->fd = connect_to(c->host, c->port);
        if (c->fd < 0) {
                fail("cannot connect to %s:%u: %s", c->host, (unsigned) c->port, strerror(-c->fd));
                return 1;
        }
        ok = async_setup(c) && acquire_credentials(c) && handshake(c) && query_context(c) && conversation(c);
        c->threads = count_threads();
        if (ok && c->event_loop && c->threads != 1) {
                fail("%u threads are running, but with the completion fd the library must start none", c->threads);
                ok = false;
        }
        close(c->fd);
        c->fd = -1;
        if (c->ac)
                ok = cleanup(c) && ok;
        report(c, ok);
        free(c->package);
        free(c->user_name);
        if (c->epfd >= 0)
                close(c->epfd);
        return ok ? 0 : 1;
}
