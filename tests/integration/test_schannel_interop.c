/* SPDX-License-Identifier: MIT */
/*
 * Schannel against real peers on loopback: our client against
 * `openssl s_server` (TLS 1.2 and 1.3, ECDSA and RSA, a client certificate,
 * ALPN, the chain it sends), `openssl s_client` and curl against
 * examples/https-server, our close_notify after a Python ssl server's, and
 * both sides ours in two processes over TCP.
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

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM)

static char pki[512], top[512];

static SECURITY_STATUS acquire(const char *cert, ULONG use, DWORD protocols, CredHandle *ret) {
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
        return AcquireCredentialsHandleA(NULL, UNISP_NAME_A, use, NULL, &sc, NULL, NULL, ret, &ts);
}

static int free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *) &sa, &sl) == 0)
                port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

static int tcp_connect(int port, int tries) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons((uint16_t) port) };
        for (int i = 0; i < tries; i++) {
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return fd;
                close(fd);
                usleep(20000);
        }
        return -1;
}

static int send_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;
        while (n) {
                ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return -1;
                b += w;
                n -= (size_t) w;
        }
        return 0;
}

typedef struct Conn {
        int fd;
        CtxtHandle ctx;
        bool have_ctx;
        uint8_t buf[65536];
        size_t have;
        CredHandle *cred;
        const char *target;
        ULONG attrs;
} Conn;

/* ISC until SEC_E_OK, Windows-style: read when the package needs more,
 * keep EXTRA, send every output token; pInput carries ALPN on the first leg. */
static SECURITY_STATUS client_handshake(Conn *c, const uint8_t *alpn, size_t alpn_len, CredHandle *fallback) {
        SECURITY_STATUS st = SEC_I_CONTINUE_NEEDED;
        bool first = true, need_read = false;

        while (st != SEC_E_OK) {
                SecBuffer ib[3], ob[2];
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };

                if (need_read) {
                        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
                        if (r <= 0)
                                return SEC_E_INTERNAL_ERROR;
                        c->have += (size_t) r;
                }
                ib[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_TOKEN, c->buf };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                if (first && alpn) {
                        ib[1] = (SecBuffer) { (ULONG) alpn_len, SECBUFFER_APPLICATION_PROTOCOLS, (void *) alpn };
                        ib[2] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                        id.cBuffers = 3;
                }
                ob[0] = (SecBuffer) { 0, SECBUFFER_TOKEN, NULL };
                ob[1] = (SecBuffer) { 0, SECBUFFER_ALERT, NULL };
                st = InitializeSecurityContextA(c->have_ctx ? fallback : c->cred, c->have_ctx ? &c->ctx : NULL,
                                                c->target, ISC_FLAGS, 0, 0, first && !alpn ? NULL : &id, 0, &c->ctx,
                                                &od, &c->attrs, NULL);
                first = false;
                if (st == SEC_E_INCOMPLETE_MESSAGE) {
                        need_read = true;
                        continue;
                }
                if (st < 0) {
                        /* The peer hears why, as from Windows. */
                        if (ob[1].BufferType == SECBUFFER_ALERT && ob[1].cbBuffer)
                                send_all(c->fd, ob[1].pvBuffer, ob[1].cbBuffer);
                        FreeContextBuffer(ob[0].pvBuffer);
                        FreeContextBuffer(ob[1].pvBuffer);
                        return st;
                }
                c->have_ctx = true;
                if (ob[0].cbBuffer && send_all(c->fd, ob[0].pvBuffer, ob[0].cbBuffer) < 0)
                        st = SEC_E_INTERNAL_ERROR;
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (st < 0)
                        return st;
                if (st == SEC_I_INCOMPLETE_CREDENTIALS) {
                        need_read = false; /* the same bytes again, with the new credential */
                        continue;
                }
                if (ib[id.cBuffers == 3 ? 2 : 1].BufferType == SECBUFFER_EXTRA) {
                        SecBuffer *x = &ib[id.cBuffers == 3 ? 2 : 1];
                        memmove(c->buf, c->buf + c->have - x->cbBuffer, x->cbBuffer);
                        c->have = x->cbBuffer;
                        need_read = false;
                } else {
                        c->have = 0;
                        need_read = true;
                }
        }
        return SEC_E_OK;
}

static SECURITY_STATUS conn_send(Conn *c, const void *data, size_t len) {
        SecPkgContext_StreamSizes sz;
        static uint8_t rec[17000 + 256];
        SECURITY_STATUS st = QueryContextAttributesA(&c->ctx, SECPKG_ATTR_STREAM_SIZES, &sz);
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

        if (st != SEC_E_OK)
                return st;
        memcpy(rec + sz.cbHeader, data, len);
        b[0] = (SecBuffer) { sz.cbHeader, SECBUFFER_STREAM_HEADER, rec };
        b[1] = (SecBuffer) { (ULONG) len, SECBUFFER_DATA, rec + sz.cbHeader };
        b[2] = (SecBuffer) { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz.cbHeader + len };
        b[3] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = EncryptMessage(&c->ctx, 0, &d, 0);
        if (st == SEC_E_OK && send_all(c->fd, rec, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer) < 0)
                st = SEC_E_INTERNAL_ERROR;
        return st;
}

/* Read until close_notify or EOF; the plaintext goes to out. */
static SECURITY_STATUS conn_recv_all(Conn *c, char *out, size_t cap, size_t *out_len) {
        SECURITY_STATUS st = SEC_E_OK;

        *out_len = 0;
        for (;;) {
                SecBuffer b[4];
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

                if (c->have == 0 || st == SEC_E_INCOMPLETE_MESSAGE) {
                        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
                        if (r <= 0)
                                return SEC_E_OK; /* EOF */
                        c->have += (size_t) r;
                }
                b[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_DATA, c->buf };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&c->ctx, &d, 0, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st < 0)
                        return st;
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer < cap - *out_len) {
                                memcpy(out + *out_len, b[i].pvBuffer, b[i].cbBuffer);
                                *out_len += b[i].cbBuffer;
                        }
                {
                        size_t extra = 0;
                        for (int i = 0; i < 4; i++)
                                if (b[i].BufferType == SECBUFFER_EXTRA) {
                                        memmove(c->buf, b[i].pvBuffer, b[i].cbBuffer);
                                        extra = b[i].cbBuffer;
                                }
                        c->have = extra;
                }
                if (st == SEC_I_CONTEXT_EXPIRED) {
                        out[*out_len] = '\0';
                        return st;
                }
                if (st == SEC_I_RENEGOTIATE) {
                        /* Back into the handshake loop with what is left. */
                        SecBuffer ib[2] = { { (ULONG) c->have, SECBUFFER_TOKEN, c->buf }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        st = InitializeSecurityContextA(NULL, &c->ctx, c->target, ISC_FLAGS, 0, 0, &id, 0, NULL, &od,
                                                        &c->attrs, NULL);
                        if (ob.cbBuffer)
                                send_all(c->fd, ob.pvBuffer, ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                        if (st != SEC_E_OK)
                                return st;
                        if (ib[1].BufferType != SECBUFFER_EXTRA)
                                c->have = 0;
                        st = SEC_E_OK;
                }
                out[*out_len] = '\0';
        }
}

static pid_t spawn(char *const argv[], const char *log) {
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_RDONLY);
                dup2(nul, 0);
                dup2(fd, 1);
                dup2(fd, 2);
                setpgid(0, 0);
                execvp(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static void reap(pid_t pid) {
        int st;
        kill(pid, SIGTERM);
        waitpid(pid, &st, 0);
}

static size_t alpn_list(uint8_t *buf, const char *id) {
        uint32_t ext = SecApplicationProtocolNegotiationExt_ALPN, total;
        uint16_t len = (uint16_t) (1 + strlen(id));

        buf[10] = (uint8_t) strlen(id);
        memcpy(buf + 11, id, strlen(id));
        memcpy(buf + 4, &ext, 4);
        memcpy(buf + 8, &len, 2);
        total = 6u + len;
        memcpy(buf, &total, 4);
        return 4 + total;
}

/* REMOTE_CERT_CONTEXT's store holds what the server sent: its
 * certificate, then the CA certificate (-cert_chain), in that order. */
static void check_chain(Conn *c, const char *leaf, const char *what) {
        PCCERT_CONTEXT rc = NULL, it = NULL;
        Cert want[2];
        unsigned n = 0, same = 0;

        if (!t_status(QueryContextAttributesA(&c->ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &rc), SEC_E_OK,
                      "%s: REMOTE_CERT_CONTEXT", what))
                return;
        t_load_cert(pki, leaf, &want[0]);
        t_load_cert(pki, "ca", &want[1]);
        while ((it = CertEnumCertificatesInStore(rc->hCertStore, it))) {
                if (n < 2 && it->cbCertEncoded == want[n].cc.cbCertEncoded &&
                    !memcmp(it->pbCertEncoded, want[n].der, it->cbCertEncoded))
                        same++;
                n++;
        }
        t_ok(n == 2 && same == 2, "%s: the store holds the server's certificate and the CA, as sent (%u, %u match)",
             what, n, same);
        CertFreeCertificateContext(rc);
}

/* Our client against openssl s_server -www. */
static void against_s_server(const char *cert, const char *proto_opt, DWORD protocols, bool client_cert,
                             const char *alpn, const char *what) {
        char certf[600], keyf[600], caf[600], port_s[16], log[600];
        char *argv[24];
        int n = 0, port = free_port();
        pid_t pid;
        CredHandle cred, withcert;
        Conn c = { .fd = -1, .target = "localhost" };
        char resp[65536];
        size_t got = 0;
        uint8_t al[64];
        SECURITY_STATUS st;

        snprintf(certf, sizeof(certf), "%s/%s.pem", pki, cert);
        snprintf(keyf, sizeof(keyf), "%s/%s.key", pki, cert);
        snprintf(caf, sizeof(caf), "%s/ca.pem", pki);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server.log", pki);
        argv[n++] = "openssl";
        argv[n++] = "s_server";
        argv[n++] = "-accept";
        argv[n++] = port_s;
        argv[n++] = "-cert";
        argv[n++] = certf;
        argv[n++] = "-key";
        argv[n++] = keyf;
        argv[n++] = "-cert_chain"; /* sent after the leaf */
        argv[n++] = caf;
        argv[n++] = "-www";
        argv[n++] = "-naccept";
        argv[n++] = "1";
        argv[n++] = (char *) proto_opt;
        if (client_cert) {
                argv[n++] = "-Verify";
                argv[n++] = "1";
                argv[n++] = "-CAfile";
                argv[n++] = caf;
        }
        if (alpn) {
                argv[n++] = "-alpn";
                argv[n++] = (char *) alpn;
        }
        argv[n] = NULL;
        pid = spawn(argv, log);
        c.fd = tcp_connect(port, 250);
        t_ok(c.fd >= 0, "%s: s_server listens", what);
        if (c.fd < 0) {
                reap(pid);
                return;
        }
        acquire(NULL, SECPKG_CRED_OUTBOUND, protocols, &cred);
        acquire("client", SECPKG_CRED_OUTBOUND, protocols, &withcert);
        c.cred = client_cert ? &withcert : &cred;
        st = client_handshake(&c, alpn ? al : NULL, alpn ? alpn_list(al, alpn) : 0, c.cred);
        if (t_status(st, SEC_E_OK, "%s: handshake with s_server", what)) {
                SecPkgContext_ConnectionInfo ci;
                QueryContextAttributesA(&c.ctx, SECPKG_ATTR_CONNECTION_INFO, &ci);
                t_ok(ci.dwProtocol == (protocols ? protocols : SP_PROT_TLS1_3_CLIENT), "%s: protocol 0x%x", what,
                     (unsigned) ci.dwProtocol);
                if (alpn) {
                        SecPkgContext_ApplicationProtocol ap;
                        t_ok(QueryContextAttributesA(&c.ctx, SECPKG_ATTR_APPLICATION_PROTOCOL, &ap) == SEC_E_OK &&
                                     ap.ProtocolIdSize == strlen(alpn) && !memcmp(ap.ProtocolId, alpn, strlen(alpn)),
                             "%s: ALPN %s", what, alpn);
                }
                check_chain(&c, cert, what);
                t_status(conn_send(&c, "GET / HTTP/1.0\r\n\r\n", 18), SEC_E_OK, "%s: request", what);
                st = conn_recv_all(&c, resp, sizeof(resp), &got);
                t_ok(st >= 0 && got > 0 && !strncmp(resp, "HTTP/1.0 200 ok", 15),
                     "%s: s_server answered (%zu bytes, status 0x%08x)", what, got, (unsigned) st);
                if (client_cert)
                        t_ok(strstr(resp, "sspid test client") != NULL, "%s: s_server saw our client certificate",
                             what);
        }
        if (c.have_ctx)
                DeleteSecurityContext(&c.ctx);
        close(c.fd);
        FreeCredentialsHandle(&cred);
        FreeCredentialsHandle(&withcert);
        reap(pid);
}

/* Appends what the socket has to c->buf, waiting at most 10 s; false if
 * nothing came (timeout, EOF or error). */
static bool recv_more(Conn *c) {
        struct pollfd pfd = { c->fd, POLLIN, 0 };
        ssize_t r;

        if (poll(&pfd, 1, 10000) != 1)
                return false;
        r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
        if (r <= 0)
                return false;
        c->have += (size_t) r;
        return true;
}

/* One DecryptMessage on what is buffered, after reading from the socket
 * (waiting at most 10 s) when `more`: plaintext appended to out, the
 * undecrypted rest kept as the next input. SEC_E_INTERNAL_ERROR if the
 * socket failed. */
static SECURITY_STATUS decrypt_next(Conn *c, bool more, char *out, size_t *out_len) {
        SecBuffer b[4];
        SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
        size_t extra = 0;
        SECURITY_STATUS st;

        if (more && !recv_more(c))
                return SEC_E_INTERNAL_ERROR;
        b[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_DATA, c->buf };
        for (int i = 1; i < 4; i++)
                b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
        st = DecryptMessage(&c->ctx, &d, 0, NULL);
        if (st == SEC_E_INCOMPLETE_MESSAGE || st < 0)
                return st;
        for (int i = 0; i < 4; i++) {
                if (b[i].BufferType == SECBUFFER_DATA) {
                        memcpy(out + *out_len, b[i].pvBuffer, b[i].cbBuffer);
                        *out_len += b[i].cbBuffer;
                        out[*out_len] = '\0';
                }
                if (b[i].BufferType == SECBUFFER_EXTRA) {
                        memmove(c->buf, b[i].pvBuffer, b[i].cbBuffer);
                        extra = b[i].cbBuffer;
                }
        }
        c->have = extra;
        return st;
}

/* One record (or a post-handshake message) from the socket, waiting at
 * most 10 s. Returns the DecryptMessage status; plaintext appended. */
static SECURITY_STATUS read_one(Conn *c, char *out, size_t *out_len, int *reneg) {
        SECURITY_STATUS st = c->have ? SEC_E_OK : SEC_E_INCOMPLETE_MESSAGE;

        for (;;) {
                st = decrypt_next(c, st == SEC_E_INCOMPLETE_MESSAGE, out, out_len);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st < 0)
                        return st;
                if (st == SEC_I_RENEGOTIATE) {
                        SecBuffer ib[2] = { { (ULONG) c->have, SECBUFFER_TOKEN, c->buf }, { 0, SECBUFFER_EMPTY, NULL } };
                        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 1, &ob };
                        (*reneg)++;
                        st = InitializeSecurityContextA(NULL, &c->ctx, c->target, ISC_FLAGS, 0, 0, &id, 0, NULL, &od,
                                                        &c->attrs, NULL);
                        if (ob.cbBuffer)
                                send_all(c->fd, ob.pvBuffer, ob.cbBuffer); /* a KeyUpdate answer */
                        FreeContextBuffer(ob.pvBuffer);
                        if (st != SEC_E_OK)
                                return st;
                        return SEC_I_RENEGOTIATE;
                }
                return st;
        }
}

/* TLS 1.3 KeyUpdate from s_server ("K" on its stdin: update requested,
 * we answer with ours; "k": not requested). */
static void key_update(char which) {
        char certf[600], keyf[600], port_s[40], log[600], out[8192];
        int port = free_port(), in[2], reneg = 0;
        size_t got = 0;
        pid_t pid;
        CredHandle cred;
        Conn c = { .target = "localhost" };
        SECURITY_STATUS st;

        snprintf(certf, sizeof(certf), "%s/server-ec.pem", pki);
        snprintf(keyf, sizeof(keyf), "%s/server-ec.key", pki);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server-ku.log", pki);
        if (pipe(in) < 0)
                return;
        pid = fork();
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(in[0], 0);
                dup2(fd, 1);
                dup2(fd, 2);
                close(in[1]);
                execlp("openssl", "openssl", "s_server", "-accept", port_s, "-cert", certf, "-key", keyf, "-tls1_3",
                       "-naccept", "1", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        c.fd = tcp_connect(port, 250);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &cred);
        c.cred = &cred;
        st = c.fd < 0 ? SEC_E_INTERNAL_ERROR : client_handshake(&c, NULL, 0, &cred);
        if (t_status(st, SEC_E_OK, "KeyUpdate '%c': handshake with s_server", which)) {
                /* The tickets first, then ask for the KeyUpdate. */
                while (reneg < 2 && (st = read_one(&c, out, &got, &reneg)) == SEC_I_RENEGOTIATE)
                        ;
                char cmd[2] = { which, '\n' };
                if (write(in[1], cmd, 2) != 2)
                        st = SEC_E_INTERNAL_ERROR;
                st = read_one(&c, out, &got, &reneg);
                t_status(st, SEC_I_RENEGOTIATE, "KeyUpdate '%c': DecryptMessage returns SEC_I_RENEGOTIATE (%d so far)",
                         which, reneg);
                if (write(in[1], "after the update\n", 17) != 17)
                        st = SEC_E_INTERNAL_ERROR;
                got = 0;
                while ((st = read_one(&c, out, &got, &reneg)) == SEC_I_RENEGOTIATE || (st == SEC_E_OK && got < 17))
                        ;
                t_ok(st == SEC_E_OK && !strcmp(out, "after the update\n"),
                     "KeyUpdate '%c': data under the server's new keys decrypts (status 0x%08x)", which, (unsigned) st);
                t_status(conn_send(&c, "pong after update\n", 18), SEC_E_OK, "KeyUpdate '%c': data from us afterwards%s",
                         which, which == 'K' ? ", under our new keys" : "");
                {
                        DWORD token = SCHANNEL_SHUTDOWN;
                        SecBuffer tb = { sizeof(token), SECBUFFER_TOKEN, &token }, ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb }, od = { SECBUFFER_VERSION, 1, &ob };
                        ULONG attrs;
                        ApplyControlToken(&c.ctx, &td);
                        if (InitializeSecurityContextA(NULL, &c.ctx, "localhost", ISC_FLAGS, 0, 0, NULL, 0, NULL, &od,
                                                       &attrs, NULL) == SEC_E_OK && ob.cbBuffer)
                                send_all(c.fd, ob.pvBuffer, ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                }
                /* Read until s_server closes: a close() with bytes of its
                 * still unread here (a ticket, its KeyUpdate answer) sends
                 * a RST, and the RST can drop our last record from
                 * s_server's receive queue before it reads it (the check
                 * below then failed about 1 run in 3 on a loaded machine). */
                {
                        struct timeval tv = { .tv_sec = 5 };
                        char sink[4096];
                        (void) shutdown(c.fd, SHUT_WR);
                        (void) setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                        while (read(c.fd, sink, sizeof(sink)) > 0)
                                ;
                }
        }
        if (c.have_ctx)
                DeleteSecurityContext(&c.ctx);
        if (c.fd >= 0)
                close(c.fd);
        close(in[1]);
        {
                int r;
                char cmd[700], line[256];
                bool seen = false;
                FILE *f;
                waitpid(pid, &r, 0);
                snprintf(cmd, sizeof(cmd), "cat %s", log);
                f = popen(cmd, "r");
                while (f && fgets(line, sizeof(line), f))
                        seen |= !strcmp(line, "pong after update\n");
                if (f)
                        pclose(f);
                t_ok(seen, "KeyUpdate '%c': s_server decrypted our record after it", which);
        }
        FreeCredentialsHandle(&cred);
}

/* After SEC_I_RENEGOTIATE: ISC on the established context with the EXTRA
 * bytes until SEC_E_OK, reading when it needs more; on
 * SEC_I_INCOMPLETE_CREDENTIALS the next call passes `leg` (NULL: go on
 * without a certificate). */
static SECURITY_STATUS client_renegotiate(Conn *c, CredHandle *leg, int *incomplete, size_t *sent) {
        CredHandle *cred = NULL;
        bool need_read = false;

        for (;;) {
                SecBuffer ib[2], ob[2];
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                SECURITY_STATUS st;

                if (need_read && !recv_more(c))
                        return SEC_E_INTERNAL_ERROR;
                ib[0] = (SecBuffer) { (ULONG) c->have, SECBUFFER_TOKEN, c->buf };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                ob[0] = (SecBuffer) { 0, SECBUFFER_TOKEN, NULL };
                ob[1] = (SecBuffer) { 0, SECBUFFER_ALERT, NULL };
                st = InitializeSecurityContextA(cred, &c->ctx, c->target, ISC_FLAGS, 0, 0, &id, 0, NULL, &od, &c->attrs,
                                                NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE) {
                        need_read = true;
                        continue;
                }
                if (ob[0].cbBuffer) {
                        send_all(c->fd, ob[0].pvBuffer, ob[0].cbBuffer);
                        *sent += ob[0].cbBuffer;
                }
                if (st < 0 && ob[1].cbBuffer)
                        send_all(c->fd, ob[1].pvBuffer, ob[1].cbBuffer);
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (st < 0)
                        return st;
                if (st == SEC_I_INCOMPLETE_CREDENTIALS) {
                        (*incomplete)++;
                        cred = leg;
                        need_read = false;
                        continue;
                }
                if (ib[1].BufferType == SECBUFFER_EXTRA) {
                        memmove(c->buf, c->buf + c->have - ib[1].cbBuffer, ib[1].cbBuffer);
                        c->have = ib[1].cbBuffer;
                } else
                        c->have = 0;
                if (st == SEC_E_OK)
                        return st;
                need_read = c->have == 0;
        }
}

/* DecryptMessage until SEC_I_RENEGOTIATE (plaintext collected); does not
 * call ISC. */
static SECURITY_STATUS until_renegotiate(Conn *c, char *out, size_t *out_len) {
        SECURITY_STATUS st = c->have ? SEC_E_OK : SEC_E_INCOMPLETE_MESSAGE;

        for (;;) {
                st = decrypt_next(c, st == SEC_E_INCOMPLETE_MESSAGE, out, out_len);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st != SEC_E_OK)
                        return st;
                st = c->have ? SEC_E_OK : SEC_E_INCOMPLETE_MESSAGE;
        }
}

static bool log_has(const char *log, const char *what) {
        char line[1024];
        bool seen = false;
        FILE *f = fopen(log, "r");

        while (f && fgets(line, sizeof(line), f))
                seen |= strstr(line, what) != NULL;
        if (f)
                fclose(f);
        return seen;
}

/* s_server asks for a client certificate after the handshake: 'c' (TLS 1.3
 * post-handshake authentication) or 'R' (TLS 1.2 renegotiation with a
 * certificate request; 'r' without). `answer`: 1 a new credential after
 * SEC_I_INCOMPLETE_CREDENTIALS, 2 none. `cafile` is what s_server trusts. */
static void late_auth_s_server(bool tls12, char cmd, int answer, const char *cafile, SECURITY_STATUS want,
                               const char *what) {
        char certf[600], keyf[600], caf[600], port_s[40], log[600], out[8192], msg[64];
        int port = free_port(), in[2], reneg = 0, incomplete = 0;
        size_t got = 0, sent = 0;
        pid_t pid;
        CredHandle cred, withcert;
        Conn c = { .target = "localhost" };
        SECURITY_STATUS st;

        snprintf(certf, sizeof(certf), "%s/server-ec.pem", pki);
        snprintf(keyf, sizeof(keyf), "%s/server-ec.key", pki);
        snprintf(caf, sizeof(caf), "%s/%s", pki, cafile);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server-late.log", pki);
        if (pipe(in) < 0)
                return;
        pid = fork();
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(in[0], 0);
                dup2(fd, 1);
                dup2(fd, 2);
                close(in[1]);
                /* -verify_return_error: s_server's verify callback fails an
                 * unverified client certificate; -no_resumption_on_reneg:
                 * a renegotiation that asks for one is a full handshake. */
                execlp("openssl", "openssl", "s_server", "-accept", port_s, "-cert", certf, "-key", keyf,
                       tls12 ? "-tls1_2" : "-tls1_3", "-CAfile", caf, "-verify_return_error",
                       "-no_resumption_on_reneg", "-naccept", "1", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        c.fd = tcp_connect(port, 250);
        acquire(NULL, SECPKG_CRED_OUTBOUND, tls12 ? SP_PROT_TLS1_2_CLIENT : 0, &cred);
        acquire("client", SECPKG_CRED_OUTBOUND, tls12 ? SP_PROT_TLS1_2_CLIENT : 0, &withcert);
        c.cred = &cred;
        st = c.fd < 0 ? SEC_E_INTERNAL_ERROR : client_handshake(&c, NULL, 0, &cred);
        if (!t_status(st, SEC_E_OK, "%s: handshake with s_server, no client certificate", what))
                goto out;
        if (!tls12) /* the two tickets first */
                while (reneg < 2 && read_one(&c, out, &got, &reneg) == SEC_I_RENEGOTIATE)
                        ;
        snprintf(msg, sizeof(msg), "%c\n", cmd);
        if (write(in[1], msg, 2) != 2)
                goto out;
        got = 0;
        st = until_renegotiate(&c, out, &got);
        if (!t_status(st, SEC_I_RENEGOTIATE, "%s: DecryptMessage: SEC_I_RENEGOTIATE", what))
                goto out;
        st = client_renegotiate(&c, answer == 1 ? &withcert : NULL, &incomplete, &sent);
        t_status(st, SEC_E_OK, "%s: the ISC loop completes", what);
        t_ok(incomplete == (cmd == 'r' ? 0 : 1), "%s: SEC_I_INCOMPLETE_CREDENTIALS %d time(s)", what, incomplete);
        if (answer == 1 && cmd != 'r')
                t_ok(sent > 500, "%s: our certificate went out (%zu bytes)", what, sent);
        conn_send(&c, "after the request\n", 18);
        got = 0;
        if (want == SEC_E_OK) {
                if (write(in[1], "reply\n", 6) != 6)
                        goto out;
                while ((st = read_one(&c, out, &got, &reneg)) == SEC_I_RENEGOTIATE || (st == SEC_E_OK && got < 6))
                        ;
        } else
                /* s_server is not asked to write: data it wrote before it
                 * read our certificate (its loop takes stdin and the
                 * socket in either order) would come before the alert. */
                while ((st = read_one(&c, out, &got, &reneg)) == SEC_I_RENEGOTIATE || st == SEC_E_OK)
                        ;
        t_status(st, want, "%s: afterwards: %s", what, want == SEC_E_OK ? "s_server's data decrypts" : "s_server's alert");
        if (want == SEC_E_OK)
                t_ok(!strcmp(out, "reply\n"), "%s: s_server's reply", what);
out:
        if (c.have_ctx)
                DeleteSecurityContext(&c.ctx);
        if (c.fd >= 0)
                close(c.fd);
        close(in[1]); /* stdin at EOF: s_server ends the connection and exits */
        {
                int r;
                for (int i = 0; i < 250 && waitpid(pid, &r, WNOHANG) == 0; i++)
                        usleep(20000);
                if (kill(pid, SIGTERM) == 0)
                        waitpid(pid, &r, 0);
        }
        if (want == SEC_E_OK)
                t_ok(log_has(log, "after the request"), "%s: s_server got our data after it", what);
        FreeCredentialsHandle(&cred);
        FreeCredentialsHandle(&withcert);
}

/* Our client rejects s_server's certificate: s_server hears the alert. */
static void alert_to_s_server(const char *cert, const char *proto_opt, SECURITY_STATUS want, const char *alert,
                              const char *what) {
        char certf[600], keyf[600], port_s[16], log[600];
        int port = free_port();
        pid_t pid;
        CredHandle cred;
        Conn c = { .fd = -1, .target = "localhost" };

        snprintf(certf, sizeof(certf), "%s/%s.pem", pki, cert);
        snprintf(keyf, sizeof(keyf), "%s/%s.key", pki, cert);
        snprintf(port_s, sizeof(port_s), "127.0.0.1:%d", port);
        snprintf(log, sizeof(log), "%s/s_server-alert.log", pki);
        {
                char *argv[] = { "openssl", "s_server", "-accept", port_s, "-cert", certf, "-key", keyf, "-naccept", "1",
                                 "-www", (char *) proto_opt, NULL };
                pid = spawn(argv, log);
        }
        c.fd = tcp_connect(port, 250);
        acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &cred);
        c.cred = &cred;
        t_status(c.fd < 0 ? SEC_E_INTERNAL_ERROR : client_handshake(&c, NULL, 0, &cred), want, "%s: our status", what);
        if (c.fd >= 0)
                close(c.fd);
        {
                int r;
                waitpid(pid, &r, 0); /* -naccept 1: it ends after this connection */
        }
        t_ok(log_has(log, alert), "%s: s_server saw \"%s\"", what, alert);
        FreeCredentialsHandle(&cred);
}

/* examples/https-server --late-client-auth (ASC with ASC_REQ_MUTUAL_AUTH on
 * the established context) against s_client, and our server's alerts. */
static void server_side_late_auth_and_alerts(void) {
        char exe[700], certf[600], caf[600], log[600], cmd[2048], line[512], cl[600], ck[600], ul[600], uk[600];
        char port_s[16];
        int port = free_port();
        pid_t pid;
        FILE *f;
        bool body, named, alert;

        snprintf(exe, sizeof(exe), "%s/build/examples/https-server", top);
        snprintf(certf, sizeof(certf), "%s/server-rsa.pem", pki);
        snprintf(caf, sizeof(caf), "%s/ca.pem", pki);
        snprintf(cl, sizeof(cl), "%s/client.pem", pki);
        snprintf(ck, sizeof(ck), "%s/client.key", pki);
        snprintf(ul, sizeof(ul), "%s/untrusted.pem", pki);
        snprintf(uk, sizeof(uk), "%s/untrusted.key", pki);
        snprintf(log, sizeof(log), "%s/https-server-late.log", pki);
        snprintf(port_s, sizeof(port_s), "%d", port);
        {
                char *argv[] = { exe, "--cert", certf, "--port", port_s, "--count", "0", "--late-client-auth", NULL };
                pid = spawn(argv, log);
        }
        {
                int fd = tcp_connect(port, 250);
                t_ok(fd >= 0, "https-server --late-client-auth listens");
                if (fd < 0) {
                        reap(pid);
                        return;
                }
                close(fd);
        }
        for (int v = 0; v < 3; v++) {
                const char *opt = v == 0 ? "-enable_pha" : v == 1 ? "-tls1_2" : "-tls1_3";
                snprintf(cmd, sizeof(cmd),
                         "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:%d "
                         "-servername localhost -CAfile %s -cert %s -key %s %s -ign_eof 2>&1",
                         port, caf, cl, ck, opt);
                body = named = false;
                f = popen(cmd, "r");
                while (f && fgets(line, sizeof(line), f)) {
                        body |= strstr(line, "hello from sspid schannel") != NULL;
                        named |= strstr(line, "client: CN=sspid test client") != NULL;
                }
                if (f)
                        pclose(f);
                if (v == 0)
                        t_ok(body && named, "s_client -enable_pha (TLS 1.3): our server asked after the handshake and "
                                            "saw the client certificate");
                else if (v == 1)
                        t_ok(body && named, "s_client -tls1_2: our server renegotiated and saw the client certificate");
                else
                        t_ok(!body && log_has(log, "asking for a client certificate: 0x80090302"),
                             "s_client without post_handshake_auth: ASC says SEC_E_UNSUPPORTED_FUNCTION");
        }
        reap(pid);

        /* --client-auth, an untrusted client certificate: s_client hears unknown_ca. */
        port = free_port();
        snprintf(port_s, sizeof(port_s), "%d", port);
        {
                char *argv[] = { exe, "--cert", certf, "--port", port_s, "--count", "0", "--client-auth", NULL };
                pid = spawn(argv, log);
        }
        {
                int fd = tcp_connect(port, 250);
                if (fd >= 0)
                        close(fd);
        }
        for (int v = 0; v < 2; v++) {
                snprintf(cmd, sizeof(cmd),
                         "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:%d "
                         "-servername localhost -CAfile %s -cert %s -key %s %s -ign_eof 2>&1",
                         port, caf, ul, uk, v ? "-tls1_2" : "-tls1_3");
                body = alert = false;
                f = popen(cmd, "r");
                while (f && fgets(line, sizeof(line), f)) {
                        body |= strstr(line, "hello from sspid schannel") != NULL;
                        alert |= strstr(line, "alert unknown ca") != NULL;
                }
                if (f)
                        pclose(f);
                t_ok(!body && alert, "untrusted client certificate (%s): s_client hears \"unknown ca\" from our server",
                     v ? "TLS 1.2" : "TLS 1.3");
        }
        reap(pid);
}

/* examples/https-server against openssl s_client and curl. */
static void against_clients(void) {
        char exe[700], certf[600], caf[600], log[600], cmd[2048], line[256];
        char *argv[8];
        int port = free_port();
        char port_s[16];
        pid_t pid;
        FILE *f;
        bool body = false, verified = false, tls13 = false;

        snprintf(exe, sizeof(exe), "%s/build/examples/https-server", top);
        snprintf(certf, sizeof(certf), "%s/server-rsa.pem", pki);
        snprintf(caf, sizeof(caf), "%s/ca.pem", pki);
        snprintf(log, sizeof(log), "%s/https-server.log", pki);
        snprintf(port_s, sizeof(port_s), "%d", port);
        argv[0] = exe;
        argv[1] = "--cert";
        argv[2] = certf;
        argv[3] = "--port";
        argv[4] = port_s;
        argv[5] = "--count";
        argv[6] = "0";
        argv[7] = NULL;
        pid = spawn(argv, log);
        {
                int fd = tcp_connect(port, 250);
                t_ok(fd >= 0, "https-server listens");
                if (fd < 0) {
                        reap(pid);
                        return;
                }
                close(fd); /* a connection that says nothing: the server goes on */
        }
        snprintf(cmd, sizeof(cmd),
                 "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:%d "
                 "-servername localhost -CAfile %s -verify_return_error -ign_eof 2>&1",
                 port, caf);
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f)) {
                body |= strstr(line, "hello from sspid schannel") != NULL;
                verified |= strstr(line, "Verify return code: 0 (ok)") != NULL;
                tls13 |= strstr(line, "TLSv1.3") != NULL;
        }
        if (f)
                pclose(f);
        t_ok(body && verified && tls13, "openssl s_client (TLS 1.3) against https-server: verified, body received");
        snprintf(cmd, sizeof(cmd),
                 "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:%d "
                 "-servername localhost -CAfile %s -verify_return_error -ign_eof -tls1_2 2>&1",
                 port, caf);
        body = verified = false;
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f)) {
                body |= strstr(line, "hello from sspid schannel") != NULL;
                verified |= strstr(line, "Verify return code: 0 (ok)") != NULL;
        }
        if (f)
                pclose(f);
        t_ok(body && verified, "openssl s_client -tls1_2 against https-server");
        snprintf(cmd, sizeof(cmd), "timeout 20 curl -sS --cacert %s https://localhost:%d/ 2>&1", caf, port);
        body = false;
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                body |= !strcmp(line, "hello from sspid schannel\n");
        if (f)
                pclose(f);
        t_ok(body, "curl --cacert ca.pem https://localhost:%d/ gets the body", port);
        snprintf(cmd, sizeof(cmd), "timeout 20 curl -sS --http1.1 --tlsv1.2 --tls-max 1.2 --cacert %s https://127.0.0.1:%d/ 2>&1",
                 caf, port);
        body = false;
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                body |= !strcmp(line, "hello from sspid schannel\n");
        if (f)
                pclose(f);
        t_ok(body, "curl over TLS 1.2 to 127.0.0.1 (IP SAN)");
        reap(pid);

        /* Client certificates: s_client presents one, the server asks. */
        port = free_port();
        snprintf(port_s, sizeof(port_s), "%d", port);
        {
                char *argv2[] = { exe, "--cert", certf, "--port", port_s, "--count", "0", "--client-auth", NULL };
                char cl[600], ck[600];
                pid = spawn(argv2, log);
                snprintf(cl, sizeof(cl), "%s/client.pem", pki);
                snprintf(ck, sizeof(ck), "%s/client.key", pki);
                {
                        int fd = tcp_connect(port, 250);
                        t_ok(fd >= 0, "https-server --client-auth listens");
                        if (fd < 0) {
                                reap(pid);
                                return;
                        }
                        close(fd);
                }
                snprintf(cmd, sizeof(cmd),
                         "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:%d "
                         "-servername localhost -CAfile %s -cert %s -key %s -ign_eof 2>&1",
                         port, caf, cl, ck);
                body = false;
                f = popen(cmd, "r");
                while (f && fgets(line, sizeof(line), f))
                        body |= strstr(line, "hello from sspid schannel") != NULL;
                if (f)
                        pclose(f);
                t_ok(body, "openssl s_client with a client certificate against https-server --client-auth");
                reap(pid);
        }
}

/* The peer's close_notify, then ours: a Python ssl server (OpenSSL)
 * answers, then unwrap()s: it sends its close_notify and returns only once
 * ours came in (RFC 5246 7.2.1 / RFC 8446 6.1; Microsoft's "Shutting Down
 * an Schannel Connection"). */
static const char close_py[] =
        "import socket, ssl, sys\n"
        "port, cert, key, ver = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]\n"
        "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "ctx.load_cert_chain(cert, key)\n"
        "ctx.options &= ~getattr(ssl, 'OP_IGNORE_UNEXPECTED_EOF', 0)  # EOF is no close_notify\n"
        "v = ssl.TLSVersion.TLSv1_2 if ver == '1.2' else ssl.TLSVersion.TLSv1_3\n"
        "ctx.minimum_version = ctx.maximum_version = v\n"
        "ls = socket.socket()\n"
        "ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "ls.bind(('127.0.0.1', port))\n"
        "ls.listen(1)\n"
        "c, _ = ls.accept()\n"
        "c.settimeout(20)\n"
        "s = ctx.wrap_socket(c, server_side=True)\n"
        "s.sendall(b'bye:' + s.recv(100))\n"
        "try:\n"
        "    s.unwrap()\n"
        "    print('unwrap: the client close_notify arrived', flush=True)\n"
        "except Exception as e:\n"
        "    print('unwrap failed:', e, flush=True)\n";

static void close_notify_to_python(bool tls12, bool answer, const char *what) {
        char certf[600], keyf[600], port_s[16], log[600], out[512];
        int port = free_port(), r;
        pid_t pid;
        CredHandle cred;
        Conn c = { .target = "localhost" };
        size_t got = 0;
        DWORD token = SCHANNEL_SHUTDOWN;
        SECURITY_STATUS st;

        snprintf(certf, sizeof(certf), "%s/server-rsa.pem", pki);
        snprintf(keyf, sizeof(keyf), "%s/server-rsa.key", pki);
        snprintf(port_s, sizeof(port_s), "%d", port);
        snprintf(log, sizeof(log), "%s/python-close.log", pki);
        {
                char *argv[] = { "/usr/bin/python3", "-c", (char *) close_py, port_s, certf, keyf,
                                 tls12 ? "1.2" : "1.3", NULL };
                pid = spawn(argv, log);
        }
        c.fd = tcp_connect(port, 250);
        t_ok(c.fd >= 0, "%s: the Python peer listens", what);
        if (c.fd < 0) {
                reap(pid);
                return;
        }
        acquire(NULL, SECPKG_CRED_OUTBOUND, tls12 ? SP_PROT_TLS1_2_CLIENT : SP_PROT_TLS1_3_CLIENT, &cred);
        c.cred = &cred;
        st = client_handshake(&c, NULL, 0, &cred);
        if (t_status(st, SEC_E_OK, "%s: handshake", what)) {
                conn_send(&c, "hello", 5);
                st = conn_recv_all(&c, out, sizeof(out), &got);
                t_status(st, SEC_I_CONTEXT_EXPIRED, "%s: its answer, then its close_notify: SEC_I_CONTEXT_EXPIRED", what);
                t_ok(got == 9 && !memcmp(out, "bye:hello", 9), "%s: the answer", what);
                if (answer) {
                        SecBuffer tb = { sizeof(token), SECBUFFER_TOKEN, &token }, ob = { 0, SECBUFFER_TOKEN, NULL };
                        SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb }, od = { SECBUFFER_VERSION, 1, &ob };
                        t_status(ApplyControlToken(&c.ctx, &td), SEC_E_OK, "%s: ApplyControlToken(SCHANNEL_SHUTDOWN)",
                                 what);
                        st = InitializeSecurityContextA(&cred, &c.ctx, "localhost", ISC_FLAGS, 0, 0, NULL, 0, NULL,
                                                        &od, &c.attrs, NULL);
                        t_ok(st == SEC_E_OK && ob.cbBuffer > 0 && ((uint8_t *) ob.pvBuffer)[0] == (tls12 ? 21 : 23),
                             "%s: ISC: our close_notify record (%u bytes)", what, (unsigned) ob.cbBuffer);
                        if (ob.cbBuffer)
                                send_all(c.fd, ob.pvBuffer, ob.cbBuffer);
                        FreeContextBuffer(ob.pvBuffer);
                }
                DeleteSecurityContext(&c.ctx);
        }
        shutdown(c.fd, SHUT_WR);
        waitpid(pid, &r, 0);
        close(c.fd);
        FreeCredentialsHandle(&cred);
        if (answer)
                t_ok(log_has(log, "the client close_notify arrived"), "%s: the Python peer saw our close_notify", what);
        else
                t_ok(log_has(log, "unwrap failed"), "%s: without it the Python peer sees none (the check can fail)",
                     what);
}

/* Both sides ours, two processes, TCP. */
static void two_processes(void) {
        int port = free_port(), r;
        char exe[700], certf[600], log[600], port_s[16];
        pid_t pid;

        snprintf(exe, sizeof(exe), "%s/build/examples/https-server", top);
        snprintf(certf, sizeof(certf), "%s/server-ec.pem", pki);
        snprintf(log, sizeof(log), "%s/https-server2.log", pki);
        snprintf(port_s, sizeof(port_s), "%d", port);
        {
                char *argv[] = { exe, "--cert", certf, "--port", port_s, "--count", "1", NULL };
                pid = spawn(argv, log);
        }
        {
                CredHandle cred;
                Conn c = { .target = "localhost" };
                char resp[8192];
                size_t got = 0;
                SECURITY_STATUS st;
                c.fd = tcp_connect(port, 250);
                acquire(NULL, SECPKG_CRED_OUTBOUND, 0, &cred);
                c.cred = &cred;
                st = client_handshake(&c, NULL, 0, &cred);
                t_status(st, SEC_E_OK, "two processes: our client, our server: handshake");
                if (st == SEC_E_OK) {
                        conn_send(&c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 35);
                        st = conn_recv_all(&c, resp, sizeof(resp), &got);
                        t_status(st, SEC_I_CONTEXT_EXPIRED, "two processes: the server's close_notify ends the stream");
                        t_ok(strstr(resp, "\r\n\r\nhello from sspid schannel\n") != NULL, "two processes: body");
                        DeleteSecurityContext(&c.ctx);
                }
                close(c.fd);
                FreeCredentialsHandle(&cred);
        }
        waitpid(pid, &r, 0);
        t_ok(WIFEXITED(r) && WEXITSTATUS(r) == 0, "https-server served one connection and exited 0");
}

int main(void) {
        const char *env = getenv("SSPID_TESTENV"), *t = getenv("SSPID_TOP");

        snprintf(pki, sizeof(pki), "%s/pki", env ? env : ".");
        snprintf(top, sizeof(top), "%s", t ? t : ".");
        signal(SIGPIPE, SIG_IGN);
        against_s_server("server-ec", "-tls1_3", SP_PROT_TLS1_3_CLIENT, false, NULL, "s_server TLS 1.3 ECDSA");
        against_s_server("server-rsa", "-tls1_3", SP_PROT_TLS1_3_CLIENT, false, NULL, "s_server TLS 1.3 RSA");
        against_s_server("server-ec", "-tls1_2", SP_PROT_TLS1_2_CLIENT, false, NULL, "s_server TLS 1.2 ECDSA");
        against_s_server("server-rsa", "-tls1_2", SP_PROT_TLS1_2_CLIENT, false, NULL, "s_server TLS 1.2 RSA");
        against_s_server("server-ec", "-tls1_3", SP_PROT_TLS1_3_CLIENT, true, NULL, "s_server TLS 1.3 client cert");
        against_s_server("server-rsa", "-tls1_2", SP_PROT_TLS1_2_CLIENT, true, NULL, "s_server TLS 1.2 client cert");
        against_s_server("server-ec", "-tls1_3", SP_PROT_TLS1_3_CLIENT, false, "http/1.1", "s_server ALPN");
        against_clients();
        two_processes();
        key_update('K');
        key_update('k');
        late_auth_s_server(false, 'c', 1, "ca.pem", SEC_E_OK, "s_server 'c' (TLS 1.3 post-handshake auth)");
        late_auth_s_server(false, 'c', 2, "ca.pem", SEC_E_OK, "s_server 'c', answered without a certificate");
        late_auth_s_server(false, 'c', 1, "otherca.pem", SEC_E_UNTRUSTED_ROOT,
                           "s_server 'c', trusting another CA");
        late_auth_s_server(true, 'R', 1, "ca.pem", SEC_E_OK, "s_server 'R' (TLS 1.2 renegotiation, certificate)");
        late_auth_s_server(true, 'r', 1, "ca.pem", SEC_E_OK, "s_server 'r' (TLS 1.2 renegotiation)");
        alert_to_s_server("untrusted", "-tls1_3", SEC_E_UNTRUSTED_ROOT, "alert unknown ca", "untrusted server, TLS 1.3");
        alert_to_s_server("untrusted", "-tls1_2", SEC_E_UNTRUSTED_ROOT, "alert unknown ca", "untrusted server, TLS 1.2");
        alert_to_s_server("expired", "-tls1_3", SEC_E_CERT_EXPIRED, "alert certificate expired", "expired server");
        alert_to_s_server("wrongname", "-tls1_2", SEC_E_WRONG_PRINCIPAL, "alert bad certificate", "wrong name");
        server_side_late_auth_and_alerts();
        close_notify_to_python(true, true, "close_notify to Python, TLS 1.2");
        close_notify_to_python(false, true, "close_notify to Python, TLS 1.3");
        close_notify_to_python(false, false, "no close_notify to Python, TLS 1.3");
        return t_done();
}
