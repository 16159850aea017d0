/* SPDX-License-Identifier: MIT */
/*
 * Schannel DTLS 1.2 (daemon/packages/schannel/schannel-dtls.c) and
 * SetContextAttributes, sync and async:
 *  - credentials and the first leg as Windows answers them (Wine's
 *    dlls/secur32/tests/schannel.c test_dtls, Windows-verified);
 *  - our client against `openssl s_server -dtls1_2` and `openssl s_client
 *    -dtls1_2` against our server, over UDP on 127.0.0.1, data both ways
 *    through Encrypt/DecryptMessage;
 *  - an MTU smaller than the certificate flight: SEC_I_MESSAGE_FRAGMENT,
 *    one datagram a call, and the caller calls again without input
 *    (Microsoft's RDP-UDP client/server in WindowsProtocolTestSuites,
 *    ProtoSDK/MS-RDPEMT/SecureChannel/RdpeudpDTLSChannel.cs);
 *  - a dropped flight, retransmitted when the caller calls without input
 *    (Wine's test_dtls: same bytes, next sequence number);
 *  - garbage, truncated, replayed, tampered and reordered datagrams.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "schannel.h"
#include "testcert.h"
#include "testlib.h"
#include "tpkgs.h"

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | ISC_REQ_DATAGRAM | \
                   ISC_REQ_EXTENDED_ERROR)
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | ASC_REQ_DATAGRAM | \
                   ASC_REQ_EXTENDED_ERROR)

static char pki[512];
static bool use_async;
static SspiAsyncContext *ac;
static ULONG out_cap = 65536; /* the caller's output TOKEN capacity */
/* The credentials' grbitEnabledProtocols: DTLS 1.2, or 0 (no choice: the
 * *_REQ_DATAGRAM flag makes the context DTLS). */
static DWORD client_prot = SP_PROT_DTLS1_2_CLIENT, server_prot = SP_PROT_DTLS1_2_SERVER;

static SECURITY_STATUS acquire(const char *cert, ULONG use, DWORD protocols, DWORD flags, CredHandle *ret) {
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        Cert c;
        PCCERT_CONTEXT pc = &c.cc;
        TimeStamp ts;

        if (cert) {
                if (!t_load_cert(pki, cert, &c))
                        return SEC_E_INTERNAL_ERROR;
                sc.cCreds = 1;
                sc.paCred = &pc;
        }
        sc.grbitEnabledProtocols = protocols;
        sc.dwFlags = flags;
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

typedef struct Peer {
        CredHandle cred;
        CtxtHandle ctx;
        bool have_ctx, server;
        const char *target;
        ULONG flags, attrs;
        /* per handshake */
        unsigned datagrams, fragments, retransmits, received;
        int first_in_type; /* handshake type of the first datagram received */
        uint8_t alert[64];   /* the SECBUFFER_ALERT of a failed step */
        size_t alert_len;
        size_t largest;
        uint8_t first[2048]; /* the first datagram, and its length */
        size_t first_len;
} Peer;

static SECURITY_STATUS async_wait(void) {
        SECURITY_STATUS st = SEC_I_ASYNC_CALL_PENDING;
        for (int i = 0; i < 40000 && (st = SspiGetAsyncCallStatus(ac)) == SEC_I_ASYNC_CALL_PENDING; i++)
                usleep(250);
        SspiReinitAsyncContext(ac);
        return st;
}

/* One ISC/ASC call. `in` NULL: no datagram (the client passes pInput
 * NULL, as Wine's test does; the server an empty TOKEN, as the RDP-UDP
 * server does). `mtu` non-zero: a SECBUFFER_DTLS_MTU goes along. The
 * datagram out lands in out/out_len. */
static SECURITY_STATUS leg(Peer *p, const uint8_t *in, size_t in_len, uint16_t mtu, uint8_t *out, size_t *out_len) {
        SecBuffer ib[3], ob[2];
        SecBufferDesc id = { SECBUFFER_VERSION, 0, ib }, od = { SECBUFFER_VERSION, 2, ob };
        static uint8_t alert[1024];
        uint16_t m = mtu;
        PSecBufferDesc pin = &id;
        SECURITY_STATUS st;

        if (in || p->server) {
                ib[id.cBuffers++] = (SecBuffer) { (ULONG) in_len, SECBUFFER_TOKEN, (void *) in };
                ib[id.cBuffers++] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        }
        if (mtu)
                ib[id.cBuffers++] = (SecBuffer) { sizeof(m), SECBUFFER_DTLS_MTU, &m };
        if (id.cBuffers == 0)
                pin = NULL;
        ob[0] = (SecBuffer) { out_cap, SECBUFFER_TOKEN, out };
        ob[1] = (SecBuffer) { sizeof(alert), SECBUFFER_ALERT, alert };
        if (p->server) {
                if (use_async) {
                        st = SspiAcceptSecurityContextAsync(ac, &p->cred, p->have_ctx ? &p->ctx : NULL, pin, p->flags,
                                                            0, &p->ctx, &od, &p->attrs, NULL);
                        if (st == SEC_E_OK)
                                st = async_wait();
                } else
                        st = AcceptSecurityContext(&p->cred, p->have_ctx ? &p->ctx : NULL, pin, p->flags, 0, &p->ctx,
                                                   &od, &p->attrs, NULL);
        } else {
                if (use_async) {
                        st = SspiInitializeSecurityContextAsyncA(ac, &p->cred, p->have_ctx ? &p->ctx : NULL, p->target,
                                                                 p->flags, 0, 0, pin, 0, &p->ctx, &od, &p->attrs,
                                                                 NULL);
                        if (st == SEC_E_OK)
                                st = async_wait();
                } else
                        st = InitializeSecurityContextA(&p->cred, p->have_ctx ? &p->ctx : NULL, (SEC_CHAR *) p->target,
                                                        p->flags, 0, 0, pin, 0, &p->ctx, &od, &p->attrs, NULL);
        }
        if (st >= 0)
                p->have_ctx = true;
        p->alert_len = 0;
        if (st < 0 && ob[1].BufferType == SECBUFFER_ALERT && ob[1].cbBuffer <= sizeof(p->alert)) {
                memcpy(p->alert, alert, ob[1].cbBuffer);
                p->alert_len = ob[1].cbBuffer;
        }
        *out_len = st >= 0 && ob[0].BufferType == SECBUFFER_TOKEN ? ob[0].cbBuffer : 0;
        return st;
}

typedef void (*SendFn)(void *arg, const uint8_t *p, size_t n);

/* One step: the call with its input, then the rest of the flight
 * (SEC_I_MESSAGE_FRAGMENT: call again without input), each datagram sent
 * unless `drop`. */
static SECURITY_STATUS flight(Peer *p, const uint8_t *in, size_t in_len, uint16_t mtu, bool drop, SendFn send_fn,
                              void *arg) {
        static uint8_t out[65536];
        size_t n;
        SECURITY_STATUS st = leg(p, in, in_len, mtu, out, &n);

        for (;;) {
                if (n) {
                        if (p->datagrams == 0 && n <= sizeof(p->first)) {
                                memcpy(p->first, out, n);
                                p->first_len = n;
                        }
                        p->datagrams++;
                        if (n > p->largest)
                                p->largest = n;
                        if (!drop)
                                send_fn(arg, out, n);
                }
                if (st < 0 && p->alert_len && !drop)
                        send_fn(arg, p->alert, p->alert_len); /* the peer hears why */
                if (st != SEC_I_MESSAGE_FRAGMENT)
                        return st;
                p->fragments++;
                st = leg(p, NULL, 0, 0, out, &n);
        }
}

/* ---- UDP ---- */

static int udp_socket(int *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &sl) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

static void udp_send(void *arg, const uint8_t *p, size_t n) {
        (void) send(*(int *) arg, p, n, 0);
}

static ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, int ms) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, ms) <= 0)
                return -1;
        return recv(fd, buf, cap, 0);
}

/* Until SEC_E_OK: a datagram in, a flight out; no datagram within `ms`:
 * the caller's retransmission timer, a call without input. */
static SECURITY_STATUS drive(Peer *p, int fd, SECURITY_STATUS st, int ms) {
        static uint8_t buf[65536];

        while (st == SEC_I_CONTINUE_NEEDED) {
                ssize_t n = udp_recv(fd, buf, sizeof(buf), ms);
                if (n < 0) {
                        if (++p->retransmits > 6)
                                return SEC_E_INTERNAL_ERROR;
                        /* After the one loss a test stages, a loaded
                         * machine's slow peer is no reason to retransmit. */
                        ms = 1500;
                        st = flight(p, NULL, 0, 0, false, udp_send, &fd);
                        continue;
                }
                if (p->received++ == 0)
                        p->first_in_type = n > 13 && buf[0] == 22 ? buf[13] : -1;
                st = flight(p, buf, (size_t) n, 0, false, udp_send, &fd);
        }
        return st;
}

static pid_t spawn_piped(char *const argv[], const char *log, int *ret_stdin) {
        int pfd[2];
        pid_t pid;

        if (pipe(pfd) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(pfd[0], 0);
                dup2(fd, 1);
                dup2(fd, 2);
                close(pfd[1]);
                setpgid(0, 0);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(pfd[0]);
        *ret_stdin = pfd[1];
        return pid;
}

static void reap(pid_t pid, int in) {
        int st;
        if (in >= 0)
                close(in);
        for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++)
                usleep(20000);
        if (waitpid(pid, &st, WNOHANG) == 0) {
                kill(pid, SIGTERM);
                waitpid(pid, &st, 0);
        }
}

static bool log_has(const char *log, const char *s, int ms) {
        for (int i = 0; i < ms / 20; i++) {
                char buf[65536];
                FILE *f = fopen(log, "r");
                size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
                if (f)
                        fclose(f);
                buf[n] = 0;
                if (strstr(buf, s))
                        return true;
                usleep(20000);
        }
        return false;
}

/* ---- messages ---- */

/* EncryptMessage into one datagram: HEADER | DATA | TRAILER. */
static size_t seal(Peer *p, const char *msg, uint8_t *dgram, const char *what) {
        SecPkgContext_StreamSizes sz;
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        size_t len = strlen(msg);
        SECURITY_STATUS st;

        if (!t_status(QueryContextAttributesA(&p->ctx, SECPKG_ATTR_STREAM_SIZES, &sz), SEC_E_OK,
                      "%s: DATAGRAM_SIZES", what))
                return 0;
        memcpy(dgram + sz.cbHeader, msg, len);
        b[0] = (SecBuffer) { sz.cbHeader, SECBUFFER_STREAM_HEADER, dgram };
        b[1] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, dgram + sz.cbHeader };
        b[2] = (SecBuffer) { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, dgram + sz.cbHeader + len };
        b[3] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = EncryptMessage(&p->ctx, 0, &d, 0);
        if (!t_status(st, SEC_E_OK, "%s: EncryptMessage", what))
                return 0;
        return b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer;
}

/* DecryptMessage of one datagram (in place); the plaintext, NUL-ended, in
 * *ret (inside dgram). */
static SECURITY_STATUS unseal(Peer *p, uint8_t *dgram, size_t n, char **ret) {
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        SECURITY_STATUS st;

        b[0] = (SecBuffer) { (ULONG) n, SECBUFFER_DATA, dgram };
        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&p->ctx, &d, 0, NULL);
        *ret = NULL;
        for (int i = 0; i < 4 && st == SEC_E_OK; i++)
                if (b[i].BufferType == SECBUFFER_DATA) {
                        char *s = b[i].pvBuffer;
                        s[b[i].cbBuffer] = 0; /* the trailer follows: room for the NUL */
                        *ret = s;
                }
        return st;
}

static void peer_free(Peer *p) {
        if (p->have_ctx)
                DeleteSecurityContext(&p->ctx);
        FreeCredentialsHandle(&p->cred);
}

/* ---- Windows' answers (Wine's schannel.c test_dtls) ---- */

static void credentials_and_first_leg(void) {
        CredHandle h;
        Peer c = { .target = "winetest" };
        uint8_t out[65536], first[2048];
        size_t n, n1;

        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_DTLS_CLIENT | SP_PROT_DTLS1_2_CLIENT,
                         SCH_CRED_NO_DEFAULT_CREDS, &c.cred),
                 SEC_E_OK, "DTLS 1.0|1.2 client credential");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_DTLS_CLIENT | SP_PROT_DTLS1_2_CLIENT | SP_PROT_TLS1_CLIENT,
                         SCH_CRED_NO_DEFAULT_CREDS, &h),
                 SEC_E_ALGORITHM_MISMATCH, "DTLS with TLS 1.0: SEC_E_ALGORITHM_MISMATCH");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_DTLS1_X_CLIENT | SP_PROT_TLS1_SERVER,
                         SCH_CRED_NO_DEFAULT_CREDS, &h),
                 SEC_E_ALGORITHM_MISMATCH, "DTLS client with a TLS server bit: SEC_E_ALGORITHM_MISMATCH");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_DTLS1_X_CLIENT | SP_PROT_SSL3_SERVER,
                         SCH_CRED_NO_DEFAULT_CREDS, &h),
                 SEC_E_ALGORITHM_MISMATCH, "DTLS client with an SSL 3 server bit: SEC_E_ALGORITHM_MISMATCH");
        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_DTLS1_0_CLIENT, 0, &h), SEC_E_ALGORITHM_MISMATCH,
                 "DTLS 1.0 alone is not offered: SEC_E_ALGORITHM_MISMATCH");

        {
                Peer bad = { .target = "winetest", .flags = ISC_FLAGS, .cred = c.cred };
                t_status(leg(&bad, NULL, 0, 100, out, &n), SEC_E_INVALID_PARAMETER,
                         "first ISC with SECBUFFER_DTLS_MTU 100 (below 200): SEC_E_INVALID_PARAMETER");
                t_ok(!bad.have_ctx && n == 0, "no context, no output");
        }
        c.flags = ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_EXTENDED_ERROR | ISC_REQ_DATAGRAM |
                  ISC_REQ_USE_SUPPLIED_CREDS | ISC_REQ_CONFIDENTIALITY | ISC_REQ_SEQUENCE_DETECT |
                  ISC_REQ_REPLAY_DETECT;
        t_status(leg(&c, NULL, 0, 1024, out, &n), SEC_I_CONTINUE_NEEDED, "first ISC with SECBUFFER_DTLS_MTU 1024");
        t_ok(c.attrs == (ISC_RET_MANUAL_CRED_VALIDATION | ISC_RET_STREAM | ISC_RET_EXTENDED_ERROR | ISC_RET_DATAGRAM |
                         ISC_RET_USED_SUPPLIED_CREDS | ISC_RET_CONFIDENTIALITY | ISC_RET_SEQUENCE_DETECT |
                         ISC_RET_REPLAY_DETECT),
             "ISC attributes as Windows' (0x%08x)", (unsigned) c.attrs);
        t_ok(n > 13 && n <= 1024 && out[0] == 22 && out[1] == 0xfe && out[10] == 0,
             "a ClientHello datagram, record sequence number 0 (%zu bytes)", n);
        memcpy(first, out, n < sizeof(first) ? n : sizeof(first));
        n1 = n;
        t_status(leg(&c, NULL, 0, 0, out, &n), SEC_I_CONTINUE_NEEDED, "ISC again without input: retransmission");
        t_ok(n == n1 && out[10] == 1 && !memcmp(out, first, 10) && !memcmp(out + 11, first + 11, n - 11),
             "the same ClientHello, sequence number 1 (%zu bytes)", n);
        {
                SEC_DTLS_MTU m = { 0 };
                t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m), SEC_E_OK, "query DTLS_MTU");
                t_ok(m.PathMTU == 1024, "DTLS_MTU is the SECBUFFER_DTLS_MTU given (%u)", m.PathMTU);
                m.PathMTU = 300;
                t_status(SetContextAttributesA(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)), SEC_E_OK,
                         "SetContextAttributes(DTLS_MTU, 300)");
                m.PathMTU = 0;
                t_status(QueryContextAttributesW(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m), SEC_E_OK, "query DTLS_MTU again");
                t_ok(m.PathMTU == 300, "DTLS_MTU now 300 (%u)", m.PathMTU);
                m.PathMTU = 199;
                t_status(SetContextAttributesW(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)), SEC_E_INVALID_PARAMETER,
                         "DTLS_MTU 199 (below 200): SEC_E_INVALID_PARAMETER");
                t_status(SetContextAttributesA(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m, 1), SEC_E_INVALID_PARAMETER,
                         "DTLS_MTU with cbBuffer 1: SEC_E_INVALID_PARAMETER");
                t_status(SetContextAttributesA(&c.ctx, SECPKG_ATTR_DTLS_MTU, NULL, 2), SEC_E_INVALID_PARAMETER,
                         "DTLS_MTU with a NULL buffer: SEC_E_INVALID_PARAMETER");
                t_status(SetContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &m, sizeof(m)),
                         SEC_E_UNSUPPORTED_FUNCTION, "an attribute Schannel does not let be set");
                t_status(SetContextAttributesA(NULL, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)), SEC_E_INVALID_HANDLE,
                         "SetContextAttributes(NULL): SEC_E_INVALID_HANDLE");
                CtxtHandle bogus = { 0x1234, 0x5678 };
                t_status(SetContextAttributesA(&bogus, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)), SEC_E_INVALID_HANDLE,
                         "SetContextAttributes on a made-up handle: SEC_E_INVALID_HANDLE");
        }
        t_status(leg(&c, NULL, 0, 0, out, &n), SEC_I_CONTINUE_NEEDED, "third ISC: retransmission at MTU 300");
        t_ok(n > 0 && n <= 300 && out[10] == 2, "retransmitted ClientHello within 300 bytes, sequence number 2 (%zu)",
             n);
        {
                /* The output descriptor as Windows judges it: an ALERT slot
                 * without room is SEC_E_INSUFFICIENT_MEMORY (Wine). */
                SecBuffer ob[2] = { { 1420, SECBUFFER_TOKEN, out }, { 0, SECBUFFER_ALERT, NULL } };
                SecBufferDesc od = { SECBUFFER_VERSION, 2, ob };
                CtxtHandle c2;
                ULONG a;
                t_status(InitializeSecurityContextA(&c.cred, &c.ctx, (SEC_CHAR *) "winetest", c.flags, 0, 16, NULL, 0,
                                                    &c2, &od, &a, NULL),
                         SEC_E_INSUFFICIENT_MEMORY, "an ALERT slot without room: SEC_E_INSUFFICIENT_MEMORY");
        }
        peer_free(&c);

        /* DTLS_MTU on a TLS context: not supported (SetContextAttributes docs). */
        {
                Peer t = { .target = "localhost", .flags = ISC_REQ_CONFIDENTIALITY | ISC_REQ_STREAM };
                SEC_DTLS_MTU m = { 500 };
                uint8_t o[65536];
                acquire(NULL, SECPKG_CRED_OUTBOUND, SP_PROT_TLS1_2_CLIENT, 0, &t.cred);
                t_status(leg(&t, NULL, 0, 0, o, &n), SEC_I_CONTINUE_NEEDED, "a TLS 1.2 context");
                t_status(SetContextAttributesA(&t.ctx, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)),
                         SEC_E_UNSUPPORTED_FUNCTION, "DTLS_MTU on a TLS context: SEC_E_UNSUPPORTED_FUNCTION");
                t_status(QueryContextAttributesA(&t.ctx, SECPKG_ATTR_DTLS_MTU, &m), SEC_E_UNSUPPORTED_FUNCTION,
                         "query DTLS_MTU on a TLS context: SEC_E_UNSUPPORTED_FUNCTION");
                peer_free(&t);
        }
}

/* SetContextAttributes on packages without the operation (NTLM,
 * Kerberos, Negotiate): SEC_E_UNSUPPORTED_FUNCTION, as Windows (its docs:
 * "supported only by the Schannel security package"). */
static void other_packages(void) {
        static const int pkgs[] = { TP_NTLM, TP_KERBEROS, TP_NEGOTIATE };
        TpCreds c = { 0 };

        for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++) {
                int p = pkgs[i];
                THandshake h = { 0 };
                SEC_DTLS_MTU m = { 500 };
                if (!t_status(tp_acquire(&c, p, NULL), SEC_E_OK, "%s credentials", tp_names[p]))
                        continue;
                t_handshake(&c.cli[p], &c.srv[p], "HTTP/localhost", ISC_REQ_CONFIDENTIALITY, ASC_REQ_CONFIDENTIALITY,
                            &h);
                t_ok(h.have_client && h.have_server, "%s: a context each side", tp_names[p]);
                if (h.have_client)
                        t_status(SetContextAttributesA(&h.client, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)),
                                 SEC_E_UNSUPPORTED_FUNCTION, "%s client: SetContextAttributes: SEC_E_UNSUPPORTED_FUNCTION",
                                 tp_names[p]);
                if (h.have_server)
                        t_status(SetContextAttributesW(&h.server, SECPKG_ATTR_APP_DATA, &m, sizeof(m)),
                                 SEC_E_UNSUPPORTED_FUNCTION, "%s server: SetContextAttributes: SEC_E_UNSUPPORTED_FUNCTION",
                                 tp_names[p]);
                t_handshake_done(&h);
        }
        tp_release(&c);
}

/* ---- both sides ours, in memory: fragments, loss, bad datagrams ---- */

typedef struct Wire {
        uint8_t d[64][4096];
        size_t n[64];
        unsigned count;
} Wire;

static void wire_send(void *arg, const uint8_t *p, size_t n) {
        Wire *w = arg;
        if (w->count < 64 && n <= sizeof(w->d[0])) {
                memcpy(w->d[w->count], p, n);
                w->n[w->count++] = n;
        }
}

/* Deliver every datagram of `w` to `to`, in order; its flights land in `back`. */
static SECURITY_STATUS deliver(Peer *to, Wire *w, Wire *back, SECURITY_STATUS st) {
        Wire cur = *w;
        w->count = 0;
        for (unsigned i = 0; i < cur.count; i++)
                st = flight(to, cur.d[i], cur.n[i], 0, false, wire_send, back);
        return st;
}

static void in_memory(const char *what) {
        Peer c = { .target = "localhost", .flags = ISC_FLAGS }, s = { .server = true, .flags = ASC_FLAGS };
        Wire *c2s = calloc(1, sizeof(Wire)), *s2c = calloc(1, sizeof(Wire));
        SECURITY_STATUS cs, ss = SEC_I_CONTINUE_NEEDED;
        uint8_t garbage[300], out[65536], msgs[3][2048];
        size_t n, mlen[3];
        char *text;
        int rounds = 0;

        t_status(acquire(NULL, SECPKG_CRED_OUTBOUND, client_prot, 0, &c.cred), SEC_E_OK,
                 "%s: client credential", what);
        t_status(acquire("server-rsa", SECPKG_CRED_INBOUND, server_prot, 0, &s.cred), SEC_E_OK,
                 "%s: server credential (server-rsa)", what);

        cs = flight(&c, NULL, 0, 0, false, wire_send, c2s);
        t_status(cs, SEC_I_CONTINUE_NEEDED, "%s: ClientHello", what);
        /* The server's first flight (certificate chain) at MTU 256, and lost. */
        ss = flight(&s, c2s->d[0], c2s->n[0], 256, true, wire_send, s2c);
        c2s->count = 0;
        t_status(ss, SEC_I_CONTINUE_NEEDED, "%s: server flight at MTU 256", what);
        t_ok(s.fragments >= 3 && s.largest <= 256,
             "%s: %u datagrams (%u SEC_I_MESSAGE_FRAGMENT), none over 256 bytes (largest %zu)", what, s.datagrams,
             s.fragments, s.largest);
        t_ok(s2c->count == 0, "%s: the whole flight was dropped", what);
        /* Garbage into the server mid-handshake: refused, state kept. */
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = (uint8_t) (i * 37 + 11);
        t_status(leg(&s, garbage, sizeof(garbage), 0, out, &n), SEC_E_INVALID_TOKEN,
                 "%s: a garbage datagram during the handshake: SEC_E_INVALID_TOKEN", what);
        {
                unsigned before = s.datagrams;
                size_t largest = s.largest;
                s.largest = 0;
                /* First with a TOKEN buffer too small for a datagram. */
                out_cap = 100;
                t_status(leg(&s, NULL, 0, 0, out, &n), SEC_E_BUFFER_TOO_SMALL,
                         "%s: a 100-byte TOKEN buffer for the retransmission: SEC_E_BUFFER_TOO_SMALL", what);
                out_cap = 65536;
                ss = flight(&s, NULL, 0, 0, false, wire_send, s2c);
                t_status(ss, SEC_I_CONTINUE_NEEDED, "%s: the server's timer: a call without input", what);
                t_ok(s2c->count == s.datagrams - before && s2c->count >= 3 && s.largest <= 256,
                     "%s: the flight again, %u datagrams within the MTU", what, s2c->count);
                if (largest > s.largest)
                        s.largest = largest;
        }
        /* Truncated datagram into the client: refused. */
        t_status(leg(&c, s2c->d[0], 20, 0, out, &n), SEC_E_INVALID_TOKEN,
                 "%s: a truncated datagram: SEC_E_INVALID_TOKEN", what);
        while ((cs != SEC_E_OK || ss != SEC_E_OK) && rounds++ < 10) {
                cs = deliver(&c, s2c, c2s, cs);
                ss = deliver(&s, c2s, s2c, ss);
        }
        t_status(cs, SEC_E_OK, "%s: client done", what);
        t_status(ss, SEC_E_OK, "%s: server done", what);
        t_ok((c.attrs & ISC_RET_DATAGRAM) && (s.attrs & ASC_RET_DATAGRAM), "%s: DATAGRAM in both sides' flags", what);
        if (cs != SEC_E_OK || ss != SEC_E_OK)
                goto out;
        {
                SecPkgContext_DatagramSizes z;
                t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_DATAGRAM_SIZES, &z), SEC_E_OK,
                         "%s: DATAGRAM_SIZES", what);
                t_ok(z.cbHeader >= 13 && z.cbTrailer > 0 && z.cbMaximumMessage > 0 && z.cbMaximumMessage < 256 &&
                             z.cBuffers == 4,
                     "%s: header %u, trailer %u, largest message %u (MTU 256)", what, (unsigned) z.cbHeader,
                     (unsigned) z.cbTrailer, (unsigned) z.cbMaximumMessage);
        }
        {
                SecPkgContext_ConnectionInfo ci = { 0 }, si = { 0 };
                SecPkgCred_SupportedProtocols sp = { 0 };
                t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                         "%s: client CONNECTION_INFO", what);
                t_status(QueryContextAttributesA(&s.ctx, SECPKG_ATTR_CONNECTION_INFO, &si), SEC_E_OK,
                         "%s: server CONNECTION_INFO", what);
                t_ok(ci.dwProtocol == SP_PROT_DTLS1_2_CLIENT && si.dwProtocol == SP_PROT_DTLS1_2_SERVER,
                     "%s: dwProtocol DTLS 1.2 client / server (0x%x / 0x%x)", what, (unsigned) ci.dwProtocol,
                     (unsigned) si.dwProtocol);
                t_status(QueryCredentialsAttributesA(&c.cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &sp), SEC_E_OK,
                         "%s: SUPPORTED_PROTOCOLS", what);
                if (client_prot)
                        t_ok(sp.grbitProtocol == SP_PROT_DTLS1_2_CLIENT,
                             "%s: the client credential supports DTLS 1.2 (0x%x)", what, (unsigned) sp.grbitProtocol);
        }
        /* Three records, delivered 3, 1, 2; then 1 again. */
        for (int i = 0; i < 3; i++) {
                char m[32];
                snprintf(m, sizeof(m), "datagram %d", i);
                mlen[i] = seal(&c, m, msgs[i], what);
        }
        {
                uint8_t copy[2048];
                const int order[3] = { 2, 0, 1 };
                bool ok = true;
                for (int k = 0; k < 3; k++) {
                        int i = order[k];
                        char want[32];
                        memcpy(copy, msgs[i], mlen[i]);
                        snprintf(want, sizeof(want), "datagram %d", i);
                        ok &= unseal(&s, copy, mlen[i], &text) == SEC_E_OK && text && !strcmp(text, want);
                }
                t_ok(ok, "%s: datagrams out of order (3, 1, 2) all decrypt", what);
                memcpy(copy, msgs[0], mlen[0]);
                t_status(unseal(&s, copy, mlen[0], &text), SEC_E_OUT_OF_SEQUENCE,
                         "%s: a replayed datagram: SEC_E_OUT_OF_SEQUENCE", what);
                t_status(unseal(&s, garbage, sizeof(garbage), &text), SEC_E_INVALID_TOKEN,
                         "%s: a garbage datagram: SEC_E_INVALID_TOKEN", what);
                n = seal(&s, "to the client", copy, what);
                memcpy(out, copy, n);
                out[n - 1] ^= 1;
                t_status(unseal(&c, out, n, &text), SEC_E_DECRYPT_FAILURE,
                         "%s: a tampered datagram: SEC_E_DECRYPT_FAILURE", what);
                t_status(unseal(&c, copy, 20, &text), SEC_E_INVALID_TOKEN, "%s: a truncated record: SEC_E_INVALID_TOKEN",
                         what);
                t_ok(unseal(&c, copy, n, &text) == SEC_E_OK && text && !strcmp(text, "to the client"),
                     "%s: the genuine datagram still decrypts after the bad ones", what);
        }
        {
                /* close_notify: ApplyControlToken(SCHANNEL_SHUTDOWN) + ASC. */
                DWORD tok = SCHANNEL_SHUTDOWN;
                SecBuffer tb = { sizeof(tok), SECBUFFER_TOKEN, &tok };
                SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb };
                char *t2;
                t_status(ApplyControlToken(&s.ctx, &td), SEC_E_OK, "%s: ApplyControlToken(SCHANNEL_SHUTDOWN)", what);
                s2c->count = 0;
                t_status(flight(&s, NULL, 0, 0, false, wire_send, s2c), SEC_E_OK, "%s: ASC gives the close_notify",
                         what);
                t_ok(s2c->count == 1 && s2c->d[0][0] == 21, "%s: one alert datagram", what);
                if (s2c->count == 1)
                        t_status(unseal(&c, s2c->d[0], s2c->n[0], &t2), SEC_I_CONTEXT_EXPIRED,
                                 "%s: the client's DecryptMessage: SEC_I_CONTEXT_EXPIRED", what);
        }
out:
        peer_free(&c);
        peer_free(&s);
        free(c2s);
        free(s2c);
}

/* ---- real peers over UDP ---- */

/* SetCredentialsAttributes(CIPHER_STRENGTHS) on the client credential
 * before the handshake (0: none), after a first datagram context made its
 * DTLS SSL_CTX (`strength_late`) or before any. */
static DWORD set_strength;
static bool strength_late;

static void apply_strength(CredHandle *cred, const char *what) {
        SecPkgCred_CipherStrengths cs = { set_strength, set_strength };

        if (strength_late) {
                Peer t = { .target = "localhost", .flags = ISC_FLAGS, .cred = *cred };
                uint8_t o[4096];
                size_t n;
                t_status(leg(&t, NULL, 0, 0, o, &n), SEC_I_CONTINUE_NEEDED, "%s: a first DTLS context", what);
                if (t.have_ctx)
                        DeleteSecurityContext(&t.ctx);
        }
        t_status(SetCredentialsAttributesA(cred, SECPKG_ATTR_CIPHER_STRENGTHS, &cs, sizeof(cs)), SEC_E_OK,
                 "%s: SetCredentialsAttributes(CIPHER_STRENGTHS %u)", what, set_strength);
}

static void against_s_server(const char *cert, SECURITY_STATUS want, const char *alert, const char *what) {
        char certf[600], keyf[600], port_s[32], log[600];
        int port, fd = udp_socket(&port), in = -1;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        Peer c = { .target = "localhost", .flags = ISC_FLAGS };
        uint8_t dgram[4096];
        SECURITY_STATUS st;
        char *text;
        pid_t pid;

        /* s_server's port: another free UDP port. */
        {
                int p2, fd2 = udp_socket(&p2);
                close(fd2);
                port = p2;
        }
        snprintf(certf, sizeof(certf), "%s/%s.pem", pki, cert);
        snprintf(keyf, sizeof(keyf), "%s/%s.key", pki, cert);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server-dtls.log", pki);
        char *argv[] = { "openssl", "s_server", "-dtls1_2", "-accept", port_s, "-cert", certf, "-key", keyf,
                         "-naccept", "1", NULL };
        pid = spawn_piped(argv, log, &in);
        t_ok(log_has(log, "ACCEPT", 5000), "%s: s_server listens", what);
        sa.sin_port = htons((uint16_t) port);
        connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        acquire(NULL, SECPKG_CRED_OUTBOUND, client_prot, 0, &c.cred);
        if (set_strength)
                apply_strength(&c.cred, what);

        /* Our ClientHello is lost; the caller's timer brings it again. */
        st = flight(&c, NULL, 0, 0, true, udp_send, &fd);
        st = drive(&c, fd, st, 300);
        if (want != SEC_E_OK) {
                t_status(st, want, "%s: our client refuses s_server's certificate", what);
                t_ok(c.alert_len >= 15 && c.alert[0] == 21 && c.alert[1] == 0xfe,
                     "%s: a DTLS alert record in SECBUFFER_ALERT (%zu bytes)", what, c.alert_len);
                t_ok(log_has(log, alert, 5000), "%s: s_server saw \"%s\"", what, alert);
                goto out;
        }
        t_status(st, SEC_E_OK, "%s: handshake with s_server", what);
        t_ok(c.first_in_type == 3, "%s: through s_server's cookie exchange (its first datagram a HelloVerifyRequest)",
             what);
        t_ok(c.retransmits >= 1, "%s: the dropped ClientHello went out again on a call without input (%u)", what,
             c.retransmits);
        t_ok(c.attrs & ISC_RET_DATAGRAM, "%s: ISC_RET_DATAGRAM", what);
        if (st == SEC_E_OK && set_strength) {
                /* The credential's setting reached the datagram context:
                 * the suite s_server chose has that strength. */
                SecPkgContext_ConnectionInfo ci = { 0 };
                t_status(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci), SEC_E_OK,
                         "%s: CONNECTION_INFO", what);
                t_ok(ci.dwCipherStrength == set_strength && ci.dwProtocol == SP_PROT_DTLS1_2_CLIENT,
                     "%s: DTLS 1.2 with a %u-bit cipher (%u)", what, set_strength, ci.dwCipherStrength);
                t_ok(log_has(log, set_strength == 256 ? "AES256" : "AES128", 5000),
                     "%s: s_server names an AES-%u suite", what, set_strength);
        }
        if (st == SEC_E_OK) {
                SEC_DTLS_MTU m = { 512 };
                size_t n = seal(&c, "hello from sspid dtls client\n", dgram, what);
                send(fd, dgram, n, 0);
                t_ok(log_has(log, "hello from sspid dtls client", 5000), "%s: s_server decrypted our datagram", what);
                t_status(SetContextAttributesA(&c.ctx, SECPKG_ATTR_DTLS_MTU, &m, sizeof(m)), SEC_E_OK,
                         "%s: DTLS_MTU 512 after the handshake", what);
                (void) !write(in, "hello from s_server\n", 20);
                ssize_t r = udp_recv(fd, dgram, sizeof(dgram), 5000);
                t_ok(r > 0 && unseal(&c, dgram, (size_t) r, &text) == SEC_E_OK && text &&
                             !strcmp(text, "hello from s_server\n"),
                     "%s: s_server's datagram decrypted", what);
        }
out:
        peer_free(&c);
        close(fd);
        reap(pid, in);
}

static void against_s_client(uint16_t mtu, bool drop, const char *what) {
        char caf[600], port_s[32], log[600];
        int port, fd = udp_socket(&port), in = -1;
        Peer s = { .server = true, .flags = ASC_FLAGS };
        uint8_t dgram[65536];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        SECURITY_STATUS st;
        char *text;
        pid_t pid;
        ssize_t r;

        snprintf(caf, sizeof(caf), "%s/ca.pem", pki);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_client-dtls.log", pki);
        char *argv[] = { "openssl", "s_client", "-dtls1_2", "-connect", port_s, "-servername", "localhost",
                         "-CAfile", caf, "-verify_return_error", NULL };
        acquire("server-rsa", SECPKG_CRED_INBOUND, server_prot, 0, &s.cred);
        pid = spawn_piped(argv, log, &in);
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        r = poll(&pf, 1, 5000) > 0 ? recvfrom(fd, dgram, sizeof(dgram), 0, (struct sockaddr *) &from, &fl) : -1;
        t_ok(r > 0, "%s: s_client's ClientHello", what);
        if (r <= 0)
                goto out;
        connect(fd, (struct sockaddr *) &from, fl);
        st = flight(&s, dgram, (size_t) r, mtu, drop, udp_send, &fd);
        st = drive(&s, fd, st, drop ? 300 : 1500);
        t_status(st, SEC_E_OK, "%s: handshake with s_client", what);
        if (mtu)
                t_ok(s.fragments >= 2 && s.largest <= mtu, "%s: %u datagrams, %u fragments, largest %zu (MTU %u)",
                     what, s.datagrams, s.fragments, s.largest, mtu);
        if (drop)
                t_ok(s.retransmits >= 1, "%s: the dropped server flight went out again (%u)", what, s.retransmits);
        if (st != SEC_E_OK)
                goto out;
        t_ok(log_has(log, "Verify return code: 0 (ok)", 5000), "%s: s_client verified our certificate", what);
        (void) !write(in, "hello from s_client\n", 20);
        r = udp_recv(fd, dgram, sizeof(dgram), 5000);
        t_ok(r > 0 && unseal(&s, dgram, (size_t) r, &text) == SEC_E_OK && text &&
                     !strcmp(text, "hello from s_client\n"),
             "%s: s_client's datagram decrypted", what);
        r = (ssize_t) seal(&s, "hello from sspid dtls server\n", dgram, what);
        send(fd, dgram, (size_t) r, 0);
        t_ok(log_has(log, "hello from sspid dtls server", 5000), "%s: s_client decrypted our datagram", what);
        /* s_client's stdin ends: its close_notify. */
        close(in);
        in = -1;
        r = udp_recv(fd, dgram, sizeof(dgram), 5000);
        t_status(r > 0 ? unseal(&s, dgram, (size_t) r, &text) : SEC_E_INTERNAL_ERROR, SEC_I_CONTEXT_EXPIRED,
                 "%s: s_client's close_notify: SEC_I_CONTEXT_EXPIRED", what);
out:
        peer_free(&s);
        close(fd);
        reap(pid, in);
}

static void run_all(const char *mode) {
        char w[64];

        snprintf(w, sizeof(w), "%s in memory", mode);
        in_memory(w);
        snprintf(w, sizeof(w), "%s s_server", mode);
        against_s_server("server-ec", SEC_E_OK, NULL, w);
        snprintf(w, sizeof(w), "%s s_server untrusted", mode);
        against_s_server("untrusted", SEC_E_UNTRUSTED_ROOT, "alert unknown ca", w);
        snprintf(w, sizeof(w), "%s s_client", mode);
        against_s_client(0, false, w);
        snprintf(w, sizeof(w), "%s s_client MTU 300, server flight dropped", mode);
        against_s_client(300, true, w);
}

/* Credentials without a protocol choice: ISC_REQ_DATAGRAM / ASC_REQ_DATAGRAM
 * make DTLS 1.2 contexts (a Stack Overflow report of Windows 10: grbit 0
 * with ISC_REQ_DATAGRAM started a datagram handshake). */
static void default_credentials(void) {
        client_prot = 0;
        server_prot = 0;
        in_memory("grbit 0 in memory");
        against_s_server("server-ec", SEC_E_OK, NULL, "grbit 0 s_server");
        against_s_client(0, false, "grbit 0 s_client");
        /* Schannel's credential attributes apply to the datagram contexts
         * of such a credential too (issue 16): set before its DTLS
         * SSL_CTX exists and after. */
        set_strength = 128; /* s_server's own choice is AES-256 */
        against_s_server("server-ec", SEC_E_OK, NULL, "grbit 0 s_server, CIPHER_STRENGTHS 128");
        strength_late = true;
        against_s_server("server-ec", SEC_E_OK, NULL, "grbit 0 s_server, CIPHER_STRENGTHS 128 after a first context");
        set_strength = 0;
        strength_late = false;
        client_prot = SP_PROT_DTLS1_2_CLIENT;
        server_prot = SP_PROT_DTLS1_2_SERVER;
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV");

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        signal(SIGPIPE, SIG_IGN);
        credentials_and_first_leg();
        other_packages();
        run_all("sync");
        default_credentials();
        use_async = true;
        ac = SspiCreateAsyncContext();
        t_ok(ac != NULL, "async context");
        run_all("async");
        SspiFreeAsyncContext(ac);
        return t_done();
}
