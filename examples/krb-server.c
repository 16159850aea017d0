/* SPDX-License-Identifier: MIT */
/*
 * krb-server: the accepting side of a Kerberos conversation over TCP, using
 * the synchronous SSPI calls the way a Windows service would.
 *
 *   krb-server [--principal SPN | --default-principal] [--expect-client NAME]
 *              [--timeout SECONDS] [PORT]
 *
 * Listens on 127.0.0.1:PORT (0, the default, picks a free port), prints
 * "PORT <n>" as the first line of stdout once it is ready, serves exactly one
 * client and exits: 0 when the handshake and every message succeeded with
 * the expected status, 1 otherwise, 2 for a usage error.
 *
 * The framing is described in examples/README.md and examples/common.h.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#define EXAMPLE_NAME "krb-server"
#include "common.h"

/* What we ask of the context; the client asks for the same protections. */
#define SERVER_ASC_REQ                                                                                \
        (ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_INTEGRITY | ASC_REQ_REPLAY_DETECT | \
         ASC_REQ_SEQUENCE_DETECT | ASC_REQ_ALLOCATE_MEMORY)

/* A handshake that needs more legs than this is not Kerberos going well. */
#define MAX_LEGS 8

/* Prefix of every echo, so that the client can tell that the server really
 * decrypted its message instead of bouncing the ciphertext back. */
#define ECHO_PREFIX "echo: "

typedef struct Server {
        const char *principal;
        const char *expect_client;
        CredHandle cred;
        bool have_cred;
        CtxtHandle ctx;
        bool have_ctx;
        SecPkgContext_Sizes sizes;
        int fd;
        unsigned messages;
} Server;

/* Checks one SSPI status against the one this program must get; prints the
 * step either way so that the log shows how far things went. */
static bool expect(const char *what, SECURITY_STATUS got, SECURITY_STATUS want, uint64_t us) {
        char d[32];

        if (got != want) {
                fail("%s returned %s, expected %s", what, status_name(got), status_name(want));
                return false;
        }
        printf("  %-34s %-24s %s\n", what, status_name(got), duration_string(us, d, sizeof(d)));
        return true;
}

static int listen_on(uint16_t port, uint16_t *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        socklen_t len = sizeof(sa);
        int fd, one = 1;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A rerun right after a previous demo must not hit TIME_WAIT. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

/* Sends one handshake answer: the AcceptSecurityContext status (so that the
 * client learns why we stopped, not just that we did) and the output token. */
static int send_answer(int fd, SECURITY_STATUS st, const void *token, uint32_t len) {
        uint8_t *buf;
        int r;

        if (len > FRAME_MAX - 4)
                return -EMSGSIZE;
        buf = malloc((size_t) len + 4);
        if (!buf)
                return -ENOMEM;
        put_be32(buf, (uint32_t) st);
        if (len)
                memcpy(buf + 4, token, len);
        r = frame_send(fd, buf, len + 4);
        free(buf);
        return r;
}

static bool handshake(Server *s) {
        uint64_t t_start = now_us();

        for (unsigned leg = 1;; leg++) {
                SecBuffer in_buf, out_buf = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc in_desc = { SECBUFFER_VERSION, 1, &in_buf };
                SecBufferDesc out_desc = { SECBUFFER_VERSION, 1, &out_buf };
                ULONG attrs = 0;
                TimeStamp expiry = { 0 };
                SECURITY_STATUS st;
                uint8_t *token = NULL;
                uint32_t token_len = 0;
                uint64_t t0;
                char what[64], d[32];
                int r;

                if (leg > MAX_LEGS) {
                        fail("handshake did not finish after %d legs", MAX_LEGS);
                        return false;
                }
                r = frame_recv(s->fd, &token, &token_len);
                if (r < 0) {
                        fail("reading the client's token (leg %u): %s", leg,
                             r == -ENODATA ? "client closed the connection" : strerror(-r));
                        return false;
                }
                if (token_len == 0) {
                        free(token);
                        fail("client sent an empty token (leg %u)", leg);
                        return false;
                }
                in_buf = (SecBuffer) { token_len, SECBUFFER_TOKEN, token };

                t0 = now_us();
                st = AcceptSecurityContext(&s->cred, s->have_ctx ? &s->ctx : NULL, &in_desc, SERVER_ASC_REQ,
                                           SECURITY_NATIVE_DREP, &s->ctx, &out_desc, &attrs, &expiry);
                t0 = now_us() - t0;
                free(token);
                /* From the first successful step on we own a context that
                 * must be deleted, however the rest goes. */
                if (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED)
                        s->have_ctx = true;

                snprintf(what, sizeof(what), "AcceptSecurityContext #%u", leg);
                printf("  %-34s %-24s %s  (in %u bytes, out %u bytes)\n", what, status_name(st),
                       duration_string(t0, d, sizeof(d)), token_len, out_buf.cbBuffer);

                /* Answer even on failure: the client then reports our
                 * status instead of a bare "connection closed". */
                r = send_answer(s->fd, st, out_buf.pvBuffer, st >= 0 ? out_buf.cbBuffer : 0);
                if (out_buf.pvBuffer) {
                        SECURITY_STATUS fst = FreeContextBuffer(out_buf.pvBuffer);
                        if (fst != SEC_E_OK) {
                                fail("FreeContextBuffer returned %s", status_name(fst));
                                return false;
                        }
                }
                if (r < 0) {
                        fail("sending the answer of leg %u: %s", leg, strerror(-r));
                        return false;
                }
                if (st == SEC_E_OK) {
                        printf("  handshake complete after %u leg(s) in %s\n", leg,
                               duration_text(now_us() - t_start, d, sizeof(d)));
                        return true;
                }
                if (st != SEC_I_CONTINUE_NEEDED) {
                        fail("AcceptSecurityContext (leg %u) failed: %s", leg, status_name(st));
                        return false;
                }
        }
}

/* Who the client is and what the context grants: what a server that makes
 * access decisions needs to know. SIZES is needed to lay out our replies. */
static bool describe_context(Server *s) {
        SecPkgContext_NamesA names = { 0 };
        SecPkgContext_Flags flags = { 0 };
        SECURITY_STATUS st;
        uint64_t t0;
        char buf[512];
        bool ok;

        t0 = now_us();
        st = QueryContextAttributesA(&s->ctx, SECPKG_ATTR_NAMES, &names);
        if (!expect("QueryContextAttributes(NAMES)", st, SEC_E_OK, now_us() - t0))
                return false;
        if (!names.sUserName) {
                fail("QueryContextAttributes(NAMES) gave no name");
                return false;
        }
        printf("client: %s\n", names.sUserName);
        ok = !s->expect_client || strcmp(names.sUserName, s->expect_client) == 0;
        if (!ok)
                fail("client is %s, expected %s", names.sUserName, s->expect_client);
        st = FreeContextBuffer(names.sUserName);
        if (st != SEC_E_OK) {
                fail("FreeContextBuffer returned %s", status_name(st));
                return false;
        }
        if (!ok)
                return false;

        t0 = now_us();
        st = QueryContextAttributesA(&s->ctx, SECPKG_ATTR_FLAGS, &flags);
        if (!expect("QueryContextAttributes(FLAGS)", st, SEC_E_OK, now_us() - t0))
                return false;
        printf("flags: 0x%08x %s\n", (unsigned) flags.Flags, ASC_FLAGS_STRING(flags.Flags, buf));

        t0 = now_us();
        st = QueryContextAttributesA(&s->ctx, SECPKG_ATTR_SIZES, &s->sizes);
        if (!expect("QueryContextAttributes(SIZES)", st, SEC_E_OK, now_us() - t0))
                return false;
        printf("sizes: max token %u, max signature %u, block %u, security trailer %u\n",
               (unsigned) s->sizes.cbMaxToken, (unsigned) s->sizes.cbMaxSignature, (unsigned) s->sizes.cbBlockSize,
               (unsigned) s->sizes.cbSecurityTrailer);
        if (s->sizes.cbMaxSignature == 0 || s->sizes.cbSecurityTrailer == 0) {
                fail("the context reports no room for signatures or trailers");
                return false;
        }
        return true;
}

/* The echo of `data`: ECHO_PREFIX + data in a new buffer. */
static uint8_t *make_echo(const void *data, uint32_t len, uint32_t *ret_len) {
        size_t plen = strlen(ECHO_PREFIX);
        uint8_t *e = malloc(plen + len + 1);

        if (!e)
                return NULL;
        memcpy(e, ECHO_PREFIX, plen);
        if (len)
                memcpy(e + plen, data, len);
        *ret_len = (uint32_t) (plen + len);
        return e;
}

/* One sealed message: unseal it, seal the echo with the same quality of
 * protection the client chose (an integrity-only wrap is answered in kind). */
static bool serve_sealed(Server *s, Record *rec) {
        SecBuffer in[3] = {
                { rec->token.len, SECBUFFER_TOKEN, rec->token.data },
                { rec->data.len, SECBUFFER_DATA, rec->data.data },
                { rec->padding.len, SECBUFFER_PADDING, rec->padding.data },
        };
        /* Padding travels only when the sender produced some. */
        SecBufferDesc in_desc = { SECBUFFER_VERSION, rec->padding.len ? 3 : 2, in };
        uint8_t *trailer = NULL, *echo = NULL, *padding = NULL;
        SecBuffer out[3];
        SecBufferDesc out_desc = { SECBUFFER_VERSION, 3, out };
        uint32_t echo_len = 0;
        ULONG qop = 0;
        SECURITY_STATUS st;
        uint64_t t0, t_unseal, t_seal;
        char what[64], pv[80], d1[32], d2[32];
        bool ok = false;
        int r;

        t0 = now_us();
        st = DecryptMessage(&s->ctx, &in_desc, 0, &qop);
        t_unseal = now_us() - t0;
        snprintf(what, sizeof(what), "DecryptMessage #%u", s->messages);
        if (st != SEC_E_OK) {
                fail("%s returned %s, expected SEC_E_OK", what, status_name(st));
                return false;
        }

        echo = make_echo(in[1].pvBuffer, in[1].cbBuffer, &echo_len);
        trailer = calloc(1, s->sizes.cbSecurityTrailer);
        padding = calloc(1, s->sizes.cbBlockSize ? s->sizes.cbBlockSize : 1);
        if (!echo || !trailer || !padding) {
                fail("out of memory");
                goto out;
        }
        out[0] = (SecBuffer) { s->sizes.cbSecurityTrailer, SECBUFFER_TOKEN, trailer };
        out[1] = (SecBuffer) { echo_len, SECBUFFER_DATA, echo };
        out[2] = (SecBuffer) { s->sizes.cbBlockSize, SECBUFFER_PADDING, padding };

        t0 = now_us();
        st = EncryptMessage(&s->ctx, qop, &out_desc, 0);
        t_seal = now_us() - t0;
        if (st != SEC_E_OK) {
                fail("EncryptMessage #%u (qop 0x%08x) returned %s, expected SEC_E_OK", s->messages, (unsigned) qop,
                     status_name(st));
                goto out;
        }
        printf("  message %u: sealed, qop 0x%08x, %u bytes %s: DecryptMessage SEC_E_OK %s, echo EncryptMessage "
               "SEC_E_OK %s\n",
               s->messages, (unsigned) qop, (unsigned) in[1].cbBuffer,
               preview(in[1].pvBuffer, in[1].cbBuffer, pv, sizeof(pv)), duration_string(t_unseal, d1, sizeof(d1)),
               duration_string(t_seal, d2, sizeof(d2)));
        r = record_send(s->fd, RECORD_SEALED, out[0].pvBuffer, out[0].cbBuffer, out[1].pvBuffer, out[1].cbBuffer,
                        out[2].pvBuffer, out[2].cbBuffer);
        if (r < 0) {
                fail("sending the echo of message %u: %s", s->messages, strerror(-r));
                goto out;
        }
        ok = true;
out:
        free(trailer);
        free(echo);
        free(padding);
        return ok;
}

/* One signed message: verify the signature, sign the echo. */
static bool serve_signed(Server *s, Record *rec) {
        SecBuffer in[2] = {
                { rec->token.len, SECBUFFER_TOKEN, rec->token.data },
                { rec->data.len, SECBUFFER_DATA, rec->data.data },
        };
        SecBufferDesc in_desc = { SECBUFFER_VERSION, 2, in };
        uint8_t *sig = NULL, *echo = NULL;
        SecBuffer out[2];
        SecBufferDesc out_desc = { SECBUFFER_VERSION, 2, out };
        uint32_t echo_len = 0;
        ULONG qop = 0;
        SECURITY_STATUS st;
        uint64_t t0, t_verify, t_sign;
        char pv[80], d1[32], d2[32];
        bool ok = false;
        int r;

        if (rec->padding.len) {
                fail("signed message %u carries padding", s->messages);
                return false;
        }
        t0 = now_us();
        st = VerifySignature(&s->ctx, &in_desc, 0, &qop);
        t_verify = now_us() - t0;
        if (st != SEC_E_OK) {
                fail("VerifySignature #%u returned %s, expected SEC_E_OK", s->messages, status_name(st));
                return false;
        }

        echo = make_echo(rec->data.data, rec->data.len, &echo_len);
        sig = calloc(1, s->sizes.cbMaxSignature);
        if (!echo || !sig) {
                fail("out of memory");
                goto out;
        }
        out[0] = (SecBuffer) { s->sizes.cbMaxSignature, SECBUFFER_TOKEN, sig };
        out[1] = (SecBuffer) { echo_len, SECBUFFER_DATA, echo };

        t0 = now_us();
        st = MakeSignature(&s->ctx, 0, &out_desc, 0);
        t_sign = now_us() - t0;
        if (st != SEC_E_OK) {
                fail("MakeSignature #%u returned %s, expected SEC_E_OK", s->messages, status_name(st));
                goto out;
        }
        printf("  message %u: signed, %u bytes %s: VerifySignature SEC_E_OK %s, echo MakeSignature SEC_E_OK %s\n",
               s->messages, (unsigned) rec->data.len, preview(rec->data.data, rec->data.len, pv, sizeof(pv)),
               duration_string(t_verify, d1, sizeof(d1)), duration_string(t_sign, d2, sizeof(d2)));
        r = record_send(s->fd, RECORD_SIGNED, out[0].pvBuffer, out[0].cbBuffer, out[1].pvBuffer, out[1].cbBuffer, NULL,
                        0);
        if (r < 0) {
                fail("sending the echo of message %u: %s", s->messages, strerror(-r));
                goto out;
        }
        ok = true;
out:
        free(sig);
        free(echo);
        return ok;
}

static bool serve_messages(Server *s) {
        for (;;) {
                Record rec = { 0 };
                bool ok;
                int r;

                r = record_recv(s->fd, &rec);
                if (r < 0) {
                        /* The client always says goodbye: a close without
                         * it means it failed (it reports why). */
                        fail("reading message %u: %s", s->messages + 1,
                             r == -ENODATA ? "client closed the connection without saying goodbye"
                             : r == -EBADMSG ? "malformed record"
                                             : strerror(-r));
                        return false;
                }
                if (rec.kind == RECORD_QUIT) {
                        record_done(&rec);
                        r = record_send(s->fd, RECORD_QUIT, NULL, 0, NULL, 0, NULL, 0);
                        if (r < 0) {
                                fail("sending goodbye: %s", strerror(-r));
                                return false;
                        }
                        return true;
                }
                s->messages++;
                ok = rec.kind == RECORD_SEALED ? serve_sealed(s, &rec) : serve_signed(s, &rec);
                record_done(&rec);
                if (!ok)
                        return false;
        }
}

static void usage(FILE *f) {
        fputs("usage: krb-server [--principal SPN | --default-principal] [--expect-client NAME]\n"
              "                  [--timeout SECONDS] [PORT]\n"
              "Accepts one Kerberos client on 127.0.0.1:PORT (0 or none: any free port, printed as\n"
              "\"PORT <n>\" on the first line of stdout) and echoes its protected messages.\n"
              "  --principal SPN        acceptor principal (default HTTP/localhost)\n"
              "  --default-principal    pass NULL and let sspid pick the acceptor credential\n"
              "  --expect-client NAME   fail unless the client authenticates as NAME\n"
              "  --timeout SECONDS      give up after this long (default 30)\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "principal", required_argument, NULL, 'p' },
                { "default-principal", no_argument, NULL, 'P' },
                { "expect-client", required_argument, NULL, 'e' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        Server s = { .principal = "HTTP/localhost", .fd = -1 };
        unsigned long port = 0, timeout = 30;
        TimeStamp cred_expiry = { 0 };
        SECURITY_STATUS st;
        uint16_t bound = 0;
        uint64_t t0, t_cred;
        char *end, d[32], ts[64];
        int c, lfd, r;
        bool ok = false;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        s.principal = optarg;
                        break;
                case 'P':
                        s.principal = NULL;
                        break;
                case 'e':
                        s.expect_client = optarg;
                        break;
                case 't':
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
        if (optind < argc) {
                errno = 0;
                port = strtoul(argv[optind], &end, 10);
                if (errno || *end || port > 65535 || optind + 1 < argc) {
                        usage(stderr);
                        return 2;
                }
        }

        /* Whoever drives us reads stdout through a pipe: line buffering
         * makes "PORT n" and progress visible at once. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGALRM, on_alarm);
        alarm((unsigned) timeout);

        /* The credential first: "PORT" then promises a server that can
         * actually accept, so a driver never connects to a doomed one. */
        t0 = now_us();
        st = AcquireCredentialsHandleA(s.principal, MICROSOFT_KERBEROS_NAME_A, SECPKG_CRED_INBOUND, NULL, NULL, NULL,
                                       NULL, &s.cred, &cred_expiry);
        t_cred = now_us() - t0;
        if (st != SEC_E_OK) {
                char hint[160];
                fail("AcquireCredentialsHandleA(%s, Kerberos, INBOUND) returned %s, expected SEC_E_OK%s",
                     s.principal ? s.principal : "NULL", status_name(st), daemon_hint(st, hint, sizeof(hint)));
                return 1;
        }
        s.have_cred = true;

        lfd = listen_on((uint16_t) port, &bound);
        if (lfd < 0) {
                fail("cannot listen on 127.0.0.1:%lu: %s", port, strerror(-lfd));
                goto out;
        }
        printf("PORT %u\n", (unsigned) bound);
        fflush(stdout);

        printf("krb-server: listening on 127.0.0.1:%u as %s\n", (unsigned) bound,
               s.principal ? s.principal : "(default acceptor)");
        printf("  %-34s %-24s %s  (expires %s)\n", "AcquireCredentialsHandleA(INBOUND)", status_name(st),
               duration_string(t_cred, d, sizeof(d)), timestamp_string(&cred_expiry, ts, sizeof(ts)));

        s.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        r = -errno;
        close(lfd);
        if (s.fd < 0) {
                fail("accept: %s", strerror(-r));
                goto out;
        }
        printf("krb-server: client connected\n");

        if (!handshake(&s) || !describe_context(&s) || !serve_messages(&s))
                goto out;
        ok = true;
out:
        if (s.fd >= 0)
                close(s.fd);
        if (s.have_ctx) {
                t0 = now_us();
                st = DeleteSecurityContext(&s.ctx);
                ok = expect("DeleteSecurityContext", st, SEC_E_OK, now_us() - t0) && ok;
        }
        if (s.have_cred) {
                t0 = now_us();
                st = FreeCredentialsHandle(&s.cred);
                ok = expect("FreeCredentialsHandle", st, SEC_E_OK, now_us() - t0) && ok;
        }
        if (ok)
                printf("krb-server: OK, served %u message(s)\n", s.messages);
        else
                printf("krb-server: FAILED after %u message(s)\n", s.messages);
        return ok ? 0 : 1;
}
