/* SPDX-License-Identifier: MIT */
/*
 * A minimal HTTPS server on Schannel through sspid, written the way a
 * Windows Schannel server is: AcceptSecurityContext over the socket's bytes
 * (SECBUFFER_TOKEN in and out, SECBUFFER_EXTRA kept for the next call),
 * DecryptMessage in place until the request headers are complete,
 * EncryptMessage for the answer, then ApplyControlToken(SCHANNEL_SHUTDOWN)
 * and a last AcceptSecurityContext for close_notify. A handshake that fails
 * sends the peer the alert from SECBUFFER_ALERT; SEC_I_RENEGOTIATE from
 * DecryptMessage goes back into AcceptSecurityContext with the EXTRA bytes.
 *
 *   https-server --cert FILE.pem [--port N] [--count N] [--client-auth] [--late-client-auth]
 *
 * --late-client-auth asks for a client certificate after the request has
 * arrived (AcceptSecurityContext with ASC_REQ_MUTUAL_AUTH on the established
 * context: TLS 1.3 post-handshake authentication or a TLS 1.2
 * renegotiation); the answer names the certificate's subject.
 *
 * FILE.pem is only read for its certificate (DER goes into SCHANNEL_CRED):
 * the private key stays in the daemon, which grants it by [certificate]
 * sections of sspid.conf. With --port 0 the chosen port is printed as
 * "listening on PORT" on stdout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "schannel.h"

#define BODY "hello from sspid schannel\n"
#define ASC_FLAGS (ASC_REQ_SEQUENCE_DETECT | ASC_REQ_REPLAY_DETECT | ASC_REQ_CONFIDENTIALITY | \
                   ASC_REQ_ALLOCATE_MEMORY | ASC_REQ_STREAM | ASC_REQ_EXTENDED_ERROR)

static uint8_t der[16384];
static bool late_auth;

static int read_der(const char *pem, PCCERT_CONTEXT *ret, CERT_CONTEXT *cc) {
        char cmd[4200];
        FILE *f;
        size_t n;

        snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -outform DER", pem);
        f = popen(cmd, "r");
        if (!f)
                return -1;
        n = fread(der, 1, sizeof(der), f);
        if (pclose(f) != 0 || n == 0)
                return -1;
        memset(cc, 0, sizeof(*cc));
        cc->dwCertEncodingType = X509_ASN_ENCODING;
        cc->pbCertEncoded = der;
        cc->cbCertEncoded = (DWORD) n;
        *ret = cc;
        return 0;
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

/* AcceptSecurityContext on the established context until SEC_E_OK: the
 * answer to SEC_I_RENEGOTIATE, with buf[0..have) as input (the EXTRA bytes). */
static SECURITY_STATUS renegotiate(int fd, CredHandle *cred, CtxtHandle *ctx, ULONG flags, uint8_t *buf, size_t cap,
                                   size_t *have) {
        bool need_read = false;

        for (;;) {
                SecBuffer ib[2], ob[2];
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                SECURITY_STATUS st;
                ULONG attrs;

                if (need_read) {
                        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
                        if (r <= 0)
                                return SEC_E_INTERNAL_ERROR;
                        *have += (size_t) r;
                }
                ib[0] = (SecBuffer) { (ULONG) *have, SECBUFFER_TOKEN, buf };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                ob[0] = (SecBuffer) { 0, SECBUFFER_TOKEN, NULL };
                ob[1] = (SecBuffer) { 0, SECBUFFER_ALERT, NULL };
                st = AcceptSecurityContext(cred, ctx, &id, flags, 0, NULL, &od, &attrs, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE) {
                        need_read = true;
                        continue;
                }
                if (ob[0].cbBuffer)
                        (void) send_all(fd, ob[0].pvBuffer, ob[0].cbBuffer);
                if (st < 0 && ob[1].cbBuffer)
                        (void) send_all(fd, ob[1].pvBuffer, ob[1].cbBuffer);
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (st < 0)
                        return st;
                if (ib[1].BufferType == SECBUFFER_EXTRA) {
                        memmove(buf, buf + *have - ib[1].cbBuffer, ib[1].cbBuffer);
                        *have = ib[1].cbBuffer;
                } else
                        *have = 0;
                if (st == SEC_E_OK)
                        return st;
                need_read = *have == 0;
        }
}

/* Ask the client for a certificate now, then decrypt until its answer has
 * run through AcceptSecurityContext. */
static SECURITY_STATUS late_client_auth(int fd, CredHandle *cred, CtxtHandle *ctx, ULONG flags, uint8_t *buf,
                                        size_t cap, size_t *have) {
        SecBuffer ob = { 0, SECBUFFER_TOKEN, NULL };
        SecBufferDesc od = { SECBUFFER_VERSION, 1, &ob };
        ULONG attrs;
        SECURITY_STATUS st = AcceptSecurityContext(cred, ctx, NULL, flags | ASC_REQ_MUTUAL_AUTH, 0, NULL, &od, &attrs,
                                                   NULL);

        if (st == SEC_E_OK && ob.cbBuffer && send_all(fd, ob.pvBuffer, ob.cbBuffer) < 0)
                st = SEC_E_INTERNAL_ERROR;
        FreeContextBuffer(ob.pvBuffer);
        if (st != SEC_E_OK) {
                fprintf(stderr, "https-server: asking for a client certificate: 0x%08x\n", (unsigned) st);
                return st;
        }
        for (;;) {
                SecBuffer b[4];
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                size_t extra = 0;

                if (*have == 0 || st == SEC_E_INCOMPLETE_MESSAGE) {
                        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
                        if (r <= 0)
                                return SEC_E_INTERNAL_ERROR;
                        *have += (size_t) r;
                }
                b[0] = (SecBuffer) { (ULONG) *have, SECBUFFER_DATA, buf };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(ctx, &d, 0, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE)
                        return st;
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_EXTRA) {
                                memmove(buf, b[i].pvBuffer, b[i].cbBuffer);
                                extra = b[i].cbBuffer;
                        }
                *have = extra;
                /* The client's answer (a certificate or none) is the first
                 * post-handshake message after the request. */
                if (st == SEC_I_RENEGOTIATE)
                        return renegotiate(fd, cred, ctx, flags | ASC_REQ_MUTUAL_AUTH, buf, cap, have);
        }
}

/* One connection. Returns 0 when the request was answered. */
static int serve(int fd, CredHandle *cred, ULONG flags) {
        static uint8_t buf[65536];
        size_t have = 0;
        CtxtHandle ctx;
        bool have_ctx = false, done = false;
        SECURITY_STATUS st = SEC_E_INTERNAL_ERROR;
        SecPkgContext_StreamSizes sz;
        char req[8192];
        size_t req_len = 0;
        ULONG attrs;

        /* Handshake. */
        while (!done) {
                SecBuffer ib[2], ob[2];
                SecBufferDesc id = { SECBUFFER_VERSION, 2, ib }, od = { SECBUFFER_VERSION, 2, ob };
                ssize_t r;

                if (have == 0 || st == SEC_E_INCOMPLETE_MESSAGE) {
                        r = recv(fd, buf + have, sizeof(buf) - have, 0);
                        if (r <= 0)
                                goto fail;
                        have += (size_t) r;
                }
                ib[0] = (SecBuffer) { (ULONG) have, SECBUFFER_TOKEN, buf };
                ib[1] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                ob[0] = (SecBuffer) { 0, SECBUFFER_TOKEN, NULL };
                ob[1] = (SecBuffer) { 0, SECBUFFER_ALERT, NULL };
                st = AcceptSecurityContext(cred, have_ctx ? &ctx : NULL, &id, flags, 0, &ctx, &od, &attrs, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st < 0) {
                        /* The peer hears why (unknown_ca, bad_certificate...). */
                        if (ob[1].BufferType == SECBUFFER_ALERT && ob[1].cbBuffer)
                                (void) send_all(fd, ob[1].pvBuffer, ob[1].cbBuffer);
                        FreeContextBuffer(ob[0].pvBuffer);
                        FreeContextBuffer(ob[1].pvBuffer);
                        fprintf(stderr, "https-server: AcceptSecurityContext: 0x%08x\n", (unsigned) st);
                        goto fail;
                }
                have_ctx = true;
                if (ob[0].cbBuffer && send_all(fd, ob[0].pvBuffer, ob[0].cbBuffer) < 0) {
                        FreeContextBuffer(ob[0].pvBuffer);
                        goto fail;
                }
                FreeContextBuffer(ob[0].pvBuffer);
                FreeContextBuffer(ob[1].pvBuffer);
                if (ib[1].BufferType == SECBUFFER_EXTRA) {
                        memmove(buf, buf + have - ib[1].cbBuffer, ib[1].cbBuffer);
                        have = ib[1].cbBuffer;
                } else
                        have = 0;
                done = st == SEC_E_OK;
        }
        st = QueryContextAttributesA(&ctx, SECPKG_ATTR_STREAM_SIZES, &sz);
        if (st != SEC_E_OK) {
                fprintf(stderr, "https-server: QueryContextAttributes(STREAM_SIZES): 0x%08x\n", (unsigned) st);
                goto fail;
        }

        /* The request: records until an empty line. */
        while (!memmem(req, req_len, "\r\n\r\n", 4)) {
                SecBuffer b[4];
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };

                if (have == 0 || st == SEC_E_INCOMPLETE_MESSAGE) {
                        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
                        if (r <= 0)
                                goto fail;
                        have += (size_t) r;
                }
                b[0] = (SecBuffer) { (ULONG) have, SECBUFFER_DATA, buf };
                for (int i = 1; i < 4; i++)
                        b[i] = (SecBuffer) { 0, SECBUFFER_EMPTY, NULL };
                st = DecryptMessage(&ctx, &d, 0, NULL);
                if (st == SEC_E_INCOMPLETE_MESSAGE)
                        continue;
                if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE) {
                        fprintf(stderr, "https-server: DecryptMessage: 0x%08x\n", (unsigned) st);
                        goto fail;
                }
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer <= sizeof(req) - req_len) {
                                memcpy(req + req_len, b[i].pvBuffer, b[i].cbBuffer);
                                req_len += b[i].cbBuffer;
                        }
                have = 0;
                for (int i = 0; i < 4; i++)
                        if (b[i].BufferType == SECBUFFER_EXTRA) {
                                memmove(buf, b[i].pvBuffer, b[i].cbBuffer);
                                have = b[i].cbBuffer;
                        }
                if (st == SEC_I_RENEGOTIATE) {
                        st = renegotiate(fd, cred, &ctx, flags, buf, sizeof(buf), &have);
                        if (st != SEC_E_OK) {
                                fprintf(stderr, "https-server: renegotiation: 0x%08x\n", (unsigned) st);
                                goto fail;
                        }
                }
        }
        if (late_auth) {
                st = late_client_auth(fd, cred, &ctx, flags, buf, sizeof(buf), &have);
                if (st != SEC_E_OK) {
                        fprintf(stderr, "https-server: late client authentication: 0x%08x\n", (unsigned) st);
                        goto fail;
                }
        }

        /* The answer: one record. */
        {
                static uint8_t rec[17000 + 256];
                char msg[1024], body[600];
                SecPkgContext_NamesA names = { NULL };
                int n;
                /* The client certificate's subject, when there is one. */
                if (QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK && names.sUserName)
                        snprintf(body, sizeof(body), "%sclient: %s\n", BODY, names.sUserName);
                else
                        snprintf(body, sizeof(body), "%s", BODY);
                FreeContextBuffer(names.sUserName);
                n = snprintf(msg, sizeof(msg),
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s",
                             strlen(body), body);
                SecBuffer b[4] = {
                        { sz.cbHeader, SECBUFFER_STREAM_HEADER, rec },
                        { (ULONG) n, SECBUFFER_DATA, rec + sz.cbHeader },
                        { sz.cbTrailer, SECBUFFER_STREAM_TRAILER, rec + sz.cbHeader + n },
                        { 0, SECBUFFER_EMPTY, NULL },
                };
                SecBufferDesc d = { SECBUFFER_VERSION, 4, b };
                memcpy(rec + sz.cbHeader, msg, (size_t) n);
                st = EncryptMessage(&ctx, 0, &d, 0);
                if (st != SEC_E_OK)
                        fprintf(stderr, "https-server: EncryptMessage: 0x%08x\n", (unsigned) st);
                if (st != SEC_E_OK || send_all(fd, rec, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer) < 0)
                        goto fail;
        }

        /* close_notify. */
        {
                DWORD token = SCHANNEL_SHUTDOWN;
                SecBuffer tb = { sizeof(token), SECBUFFER_TOKEN, &token }, ob = { 0, SECBUFFER_TOKEN, NULL };
                SecBufferDesc td = { SECBUFFER_VERSION, 1, &tb }, od = { SECBUFFER_VERSION, 1, &ob };
                if (ApplyControlToken(&ctx, &td) == SEC_E_OK &&
                    AcceptSecurityContext(cred, &ctx, NULL, flags, 0, NULL, &od, &attrs, NULL) >= 0 && ob.cbBuffer)
                        (void) send_all(fd, ob.pvBuffer, ob.cbBuffer);
                FreeContextBuffer(ob.pvBuffer);
        }
        DeleteSecurityContext(&ctx);
        return 0;
fail:
        if (have_ctx)
                DeleteSecurityContext(&ctx);
        return -1;
}

int main(int argc, char **argv) {
        const char *cert = NULL;
        int port = 0, count = 1, one = 1, lfd, failures = 0;
        ULONG flags = ASC_FLAGS;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        SCHANNEL_CRED sc = { .dwVersion = SCHANNEL_CRED_VERSION };
        CERT_CONTEXT cc;
        PCCERT_CONTEXT pc;
        CredHandle cred;
        TimeStamp ts;
        SECURITY_STATUS st;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--cert") && i + 1 < argc)
                        cert = argv[++i];
                else if (!strcmp(argv[i], "--port") && i + 1 < argc)
                        port = atoi(argv[++i]);
                else if (!strcmp(argv[i], "--count") && i + 1 < argc)
                        count = atoi(argv[++i]);
                else if (!strcmp(argv[i], "--client-auth"))
                        flags |= ASC_REQ_MUTUAL_AUTH;
                else if (!strcmp(argv[i], "--late-client-auth"))
                        late_auth = true;
                else {
                        fprintf(stderr,
                                "usage: %s --cert FILE.pem [--port N] [--count N] [--client-auth] [--late-client-auth]\n",
                                argv[0]);
                        return 2;
                }
        }
        if (!cert || read_der(cert, &pc, &cc) < 0) {
                fprintf(stderr, "https-server: cannot read a certificate (--cert)\n");
                return 2;
        }
        sc.cCreds = 1;
        sc.paCred = &pc;
        st = AcquireCredentialsHandleA(NULL, UNISP_NAME_A, SECPKG_CRED_INBOUND, NULL, &sc, NULL, NULL, &cred, &ts);
        if (st != SEC_E_OK) {
                fprintf(stderr, "https-server: AcquireCredentialsHandle: 0x%08x\n", (unsigned) st);
                return 1;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t) port);
        if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
            getsockname(lfd, (struct sockaddr *) &sa, &sl) < 0) {
                perror("https-server: listen");
                return 1;
        }
        printf("listening on %d\n", ntohs(sa.sin_port));
        fflush(stdout);
        for (int i = 0; count <= 0 || i < count; i++) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                if (serve(fd, &cred, flags) < 0)
                        failures++;
                close(fd);
        }
        close(lfd);
        FreeCredentialsHandle(&cred);
        return failures ? 1 : 0;
}
