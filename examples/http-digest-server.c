/* SPDX-License-Identifier: MIT */
/*
 * http-digest-server: a small HTTP/1.1 server on 127.0.0.1 that protects
 * every path with HTTP Digest, verified by AcceptSecurityContext against
 * sspid (package "WDigest", HTTP mode). Works with `curl --digest`.
 *
 *   http-digest-server [--port N] [--store NAME] [--integrity] [--requests N]
 *
 * --port 0 (the default) picks a free port; the first line on stdout is
 * "listening on PORT". --store names the [digest-store] grant in the
 * daemon's config (default: the first one granted to us). --integrity
 * offers qop=auth-int too. --requests N exits after N requests (0: never).
 *
 * One connection at a time, "Connection: close" on every answer. No
 * context outlives a request: the daemon keeps the nonces, so a response
 * on a new connection verifies with a fresh AcceptSecurityContext call.
 *
 * Answers: 401 + WWW-Authenticate (a challenge; stale=true when the
 * daemon says SEC_E_CONTEXT_EXPIRED), 200 + "hello USER" and an
 * Authentication-Info header, 400 for requests it cannot read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sspi.h"

#define REQ_MAX 65536
#define ASC_REQ_STALE 0x20000000U

static CredHandle cred;
static bool integrity;

static bool send_all(int fd, const void *p, size_t n) {
        const char *c = p;
        while (n > 0) {
                ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return false;
                c += w;
                n -= (size_t) w;
        }
        return true;
}

static void respond(int fd, int code, const char *reason, const char *extra_headers, const char *body) {
        char head[20000];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                         code, reason, strlen(body), extra_headers ? extra_headers : "");
        if (n > 0 && (size_t) n < sizeof(head) && send_all(fd, head, (size_t) n))
                (void) send_all(fd, body, strlen(body));
}

/* A fresh challenge (stale=true on request) as a WWW-Authenticate header. */
static void challenge(int fd, bool stale) {
        char tok[4096], hdr[4200];
        SecBuffer in_b = { 0, SECBUFFER_TOKEN, NULL }, out_b = { sizeof(tok) - 1, SECBUFFER_TOKEN, tok };
        SecBufferDesc in = { SECBUFFER_VERSION, 1, &in_b }, out = { SECBUFFER_VERSION, 1, &out_b };
        CtxtHandle ctx;
        ULONG attrs;
        SECURITY_STATUS st;

        st = AcceptSecurityContext(&cred, NULL, &in,
                                   ASC_REQ_HTTP | (integrity ? ASC_REQ_INTEGRITY : 0) | (stale ? ASC_REQ_STALE : 0),
                                   SECURITY_NATIVE_DREP, &ctx, &out, &attrs, NULL);
        if (st != SEC_I_CONTINUE_NEEDED) {
                fprintf(stderr, "AcceptSecurityContext (challenge): 0x%08x\n", (unsigned) st);
                respond(fd, 500, "Internal Server Error", NULL, "no challenge\n");
                return;
        }
        DeleteSecurityContext(&ctx);
        tok[out_b.cbBuffer] = '\0';
        snprintf(hdr, sizeof(hdr), "WWW-Authenticate: %s\r\n", tok);
        respond(fd, 401, "Unauthorized", hdr, "authentication required\n");
}

/* Case-insensitive header lookup in the head (NUL-terminated). */
static char *header(char *head, const char *name, size_t *ret_len) {
        size_t nl = strlen(name);
        for (char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
                char *line = p + 2, *end = strstr(line, "\r\n");
                if (!end || end == line)
                        return NULL;
                if ((size_t) (end - line) > nl && !strncasecmp(line, name, nl) && line[nl] == ':') {
                        char *v = line + nl + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        *ret_len = (size_t) (end - v);
                        return v;
                }
        }
        return NULL;
}

static void serve(int fd) {
        static char buf[REQ_MAX + 1];
        size_t have = 0, head_len, body_len = 0, auth_len = 0, cl_len = 0;
        char *eoh = NULL, *sp1, *sp2, *auth, *cl, method[33], uri[8193];
        SECURITY_STATUS st;

        while (!eoh) {
                ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
                if (r <= 0)
                        return;
                have += (size_t) r;
                buf[have] = '\0';
                eoh = strstr(buf, "\r\n\r\n");
                if (!eoh && have == REQ_MAX) {
                        respond(fd, 400, "Bad Request", NULL, "too large\n");
                        return;
                }
        }
        head_len = (size_t) (eoh - buf) + 4;
        cl = header(buf, "Content-Length", &cl_len);
        if (cl) {
                char num[24];
                if (cl_len == 0 || cl_len >= sizeof(num)) {
                        respond(fd, 400, "Bad Request", NULL, "bad length\n");
                        return;
                }
                memcpy(num, cl, cl_len);
                num[cl_len] = '\0';
                body_len = strtoul(num, NULL, 10);
                if (body_len > REQ_MAX - head_len) {
                        respond(fd, 400, "Bad Request", NULL, "too large\n");
                        return;
                }
        }
        while (have < head_len + body_len) {
                ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
                if (r <= 0)
                        return;
                have += (size_t) r;
        }
        sp1 = memchr(buf, ' ', head_len);
        sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t) (sp1 + 1 - buf)) : NULL;
        if (!sp1 || !sp2 || sp1 - buf >= (long) sizeof(method) || sp2 - sp1 - 1 >= (long) sizeof(uri)) {
                respond(fd, 400, "Bad Request", NULL, "bad request line\n");
                return;
        }
        memcpy(method, buf, (size_t) (sp1 - buf));
        method[sp1 - buf] = '\0';
        memcpy(uri, sp1 + 1, (size_t) (sp2 - sp1 - 1));
        uri[sp2 - sp1 - 1] = '\0';

        {
                char save = buf[head_len - 2];
                buf[head_len - 2] = '\0'; /* header() stops at the blank line */
                auth = header(buf, "Authorization", &auth_len);
                buf[head_len - 2] = save;
        }
        if (!auth) {
                challenge(fd, false);
                return;
        }
        {
                char tok[2048], hdr[2200], body[600];
                SecBuffer in_b[5] = {
                        { (ULONG) auth_len, SECBUFFER_TOKEN, auth },
                        { (ULONG) strlen(method), SECBUFFER_PKG_PARAMS, method },
                        { (ULONG) strlen(uri), SECBUFFER_PKG_PARAMS, uri },
                        { 0, SECBUFFER_PKG_PARAMS, NULL },
                        { (ULONG) body_len, SECBUFFER_DATA, buf + head_len },
                };
                SecBuffer out_b = { sizeof(tok) - 1, SECBUFFER_TOKEN, tok };
                SecBufferDesc in = { SECBUFFER_VERSION, body_len ? 5 : 4, in_b };
                SecBufferDesc out = { SECBUFFER_VERSION, 1, &out_b };
                SecPkgContext_NamesA names = { 0 };
                CtxtHandle ctx;
                ULONG attrs;

                st = AcceptSecurityContext(&cred, NULL, &in, ASC_REQ_HTTP | (integrity ? ASC_REQ_INTEGRITY : 0),
                                           SECURITY_NATIVE_DREP, &ctx, &out, &attrs, NULL);
                if (st == SEC_E_CONTEXT_EXPIRED) {
                        challenge(fd, true);
                        return;
                }
                if (st != SEC_E_OK) {
                        fprintf(stderr, "AcceptSecurityContext: 0x%08x\n", (unsigned) st);
                        challenge(fd, false);
                        return;
                }
                tok[out_b.cbBuffer] = '\0';
                if (QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK) {
                        snprintf(body, sizeof(body), "hello %s\n", names.sUserName);
                        FreeContextBuffer(names.sUserName);
                } else
                        snprintf(body, sizeof(body), "hello\n");
                DeleteSecurityContext(&ctx);
                snprintf(hdr, sizeof(hdr), "Authentication-Info: %s\r\n", tok);
                respond(fd, 200, "OK", hdr, body);
        }
}

int main(int argc, char **argv) {
        const char *store = NULL;
        unsigned port = 0;
        long requests = 0;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        TimeStamp ts;
        SECURITY_STATUS st;
        int lfd, one = 1;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--port") && i + 1 < argc)
                        port = (unsigned) strtoul(argv[++i], NULL, 10);
                else if (!strcmp(argv[i], "--store") && i + 1 < argc)
                        store = argv[++i];
                else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
                        requests = strtol(argv[++i], NULL, 10);
                else if (!strcmp(argv[i], "--integrity"))
                        integrity = true;
                else {
                        fprintf(stderr, "usage: %s [--port N] [--store NAME] [--integrity] [--requests N]\n",
                                argv[0]);
                        return 2;
                }
        }
        signal(SIGPIPE, SIG_IGN);
        st = AcquireCredentialsHandleA((char *) store, WDIGEST_SP_NAME_A, SECPKG_CRED_INBOUND, NULL, NULL, NULL,
                                       NULL, &cred, &ts);
        if (st != SEC_E_OK) {
                fprintf(stderr, "AcquireCredentialsHandle(WDigest, %s): 0x%08x\n", store ? store : "(first)",
                        (unsigned) st);
                return 1;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t) port);
        if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
            getsockname(lfd, (struct sockaddr *) &sa, &sl) < 0) {
                perror("listen");
                return 1;
        }
        printf("listening on %u\n", ntohs(sa.sin_port));
        fflush(stdout);
        for (long n = 0; requests == 0 || n < requests; n++) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("accept");
                        break;
                }
                serve(fd);
                close(fd);
        }
        close(lfd);
        FreeCredentialsHandle(&cred);
        return 0;
}
