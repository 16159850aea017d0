/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP server that authenticates with AcceptSecurityContext:
 * "WWW-Authenticate: Negotiate" and "WWW-Authenticate: NTLM" (RFC 4559),
 * one connection at a time, keep-alive, the security context living as
 * long as the connection (NTLM needs that).
 *
 *   http-negotiate-server [--port N] [--package Negotiate|NTLM] [--requests N]
 *
 * Binds 127.0.0.1 (port 0: any free port) and prints "listening on PORT"
 * on stdout. A request with a complete handshake gets 200 and the body
 * "hello DOMAIN\user via PACKAGE\n"; --requests N exits after N such
 * answers (default: serve until killed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sspi.h"

#define REQ_MAX 32768
#define TOKEN_MAX 65536

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n) {
        char *out = malloc(4 * ((n + 2) / 3) + 1), *w = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                             (i + 2 < n ? p[i + 2] : 0);
                *w++ = b64[v >> 18];
                *w++ = b64[(v >> 12) & 63];
                *w++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                *w++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *w = '\0';
        return out;
}

/* Decode up to `cap` bytes; -1 on bad input. */
static long b64_decode(const char *s, size_t len, uint8_t *out, size_t cap) {
        uint32_t v = 0;
        int bits = 0;
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                const char *c;
                if (s[i] == '=')
                        break;
                c = strchr(b64, s[i]);
                if (!c || !s[i])
                        return -1;
                v = v << 6 | (uint32_t) (c - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= cap)
                                return -1;
                        out[n++] = (uint8_t) (v >> bits);
                }
        }
        return (long) n;
}

static int send_all(int fd, const char *p, size_t n) {
        while (n) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

static int reply(int fd, int code, const char *scheme, const char *token, bool offer_both, const char *body) {
        char head[1024], *auth = NULL;
        int r;

        if (scheme && token) {
                if (asprintf(&auth, "WWW-Authenticate: %s %s\r\n", scheme, token) < 0)
                        return -1;
        } else if (offer_both) {
                auth = strdup("WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n");
        }
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Connection: keep-alive\r\n",
                 code, code == 200 ? "OK" : code == 401 ? "Unauthorized" : "Bad Request", strlen(body));
        r = send_all(fd, head, strlen(head));
        if (r == 0 && auth)
                r = send_all(fd, auth, strlen(auth));
        if (r == 0)
                r = send_all(fd, "\r\n", 2);
        if (r == 0)
                r = send_all(fd, body, strlen(body));
        free(auth);
        return r;
}

/* Read one request's head (we accept no bodies). 1: got one, 0: EOF. */
static int read_head(int fd, char *buf, size_t cap, size_t *have) {
        for (;;) {
                char *end = memmem(buf, *have, "\r\n\r\n", 4);
                ssize_t r;

                if (end) {
                        *end = '\0';
                        return 1;
                }
                if (*have + 1 >= cap)
                        return -1;
                r = recv(fd, buf + *have, cap - 1 - *have, 0);
                if (r <= 0)
                        return r == 0 ? 0 : -1;
                *have += (size_t) r;
        }
}

static const char *header(char *head, const char *name) {
        size_t n = strlen(name);
        for (char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
                if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
                        const char *v = l + 3 + n;
                        while (*v == ' ')
                                v++;
                        return v;
                }
        return NULL;
}

static int serve(int fd, CredHandle *cred, long *served) {
        char buf[REQ_MAX];
        size_t have = 0;
        CtxtHandle ctx;
        bool have_ctx = false;
        static uint8_t in_tok[TOKEN_MAX], out_tok[TOKEN_MAX];

        for (;;) {
                int r = read_head(fd, buf, sizeof(buf), &have);
                const char *auth;
                size_t head_len;

                if (r <= 0)
                        break;
                head_len = strlen(buf) + 4;
                auth = header(buf, "Authorization");
                if (!auth) {
                        if (reply(fd, 401, NULL, NULL, true, "authenticate\n") < 0)
                                break;
                } else {
                        const char *sp = strchr(auth, ' ');
                        size_t scheme_len = sp ? (size_t) (sp - auth) : 0;
                        char scheme[16] = "";
                        long n;
                        SecBuffer ib, ob;
                        SecBufferDesc in = { SECBUFFER_VERSION, 1, &ib }, out = { SECBUFFER_VERSION, 1, &ob };
                        ULONG attrs;
                        SECURITY_STATUS st;
                        char *enc = NULL;
                        size_t tl;

                        if (!sp || scheme_len >= sizeof(scheme)) {
                                (void) reply(fd, 400, NULL, NULL, false, "bad Authorization\n");
                                break;
                        }
                        memcpy(scheme, auth, scheme_len);
                        tl = strcspn(sp + 1, "\r\n ");
                        n = b64_decode(sp + 1, tl, in_tok, sizeof(in_tok));
                        if (n <= 0 || (strcasecmp(scheme, "Negotiate") && strcasecmp(scheme, "NTLM"))) {
                                (void) reply(fd, 400, NULL, NULL, false, "bad Authorization\n");
                                break;
                        }
                        /* A new NEGOTIATE message restarts NTLM on this connection. */
                        if (have_ctx && n >= 12 && !memcmp(in_tok, "NTLMSSP\0\1\0\0\0", 12)) {
                                DeleteSecurityContext(&ctx);
                                have_ctx = false;
                        }
                        ib = (SecBuffer) { (ULONG) n, SECBUFFER_TOKEN, in_tok };
                        ob = (SecBuffer) { sizeof(out_tok), SECBUFFER_TOKEN, out_tok };
                        st = AcceptSecurityContext(cred, have_ctx ? &ctx : NULL, &in, ASC_REQ_CONNECTION,
                                                   SECURITY_NATIVE_DREP, &ctx, &out, &attrs, NULL);
                        if (st == SEC_I_CONTINUE_NEEDED) {
                                have_ctx = true;
                                enc = b64_encode(out_tok, ob.cbBuffer);
                                r = reply(fd, 401, scheme, enc, false, "continue\n");
                        } else if (st == SEC_E_OK) {
                                SecPkgContext_NamesA names = { 0 };
                                SecPkgContext_NegotiationInfoA ni = { 0 };
                                char body[512];

                                have_ctx = true;
                                (void) QueryContextAttributesA(&ctx, SECPKG_ATTR_NAMES, &names);
                                (void) QueryContextAttributesA(&ctx, SECPKG_ATTR_NEGOTIATION_INFO, &ni);
                                snprintf(body, sizeof(body), "hello %s via %s\n",
                                         names.sUserName ? (char *) names.sUserName : "?",
                                         ni.PackageInfo ? (char *) ni.PackageInfo->Name : "?");
                                if (names.sUserName)
                                        FreeContextBuffer(names.sUserName);
                                if (ni.PackageInfo)
                                        FreeContextBuffer(ni.PackageInfo);
                                enc = ob.cbBuffer ? b64_encode(out_tok, ob.cbBuffer) : NULL;
                                r = reply(fd, 200, enc ? scheme : NULL, enc, false, body);
                                DeleteSecurityContext(&ctx);
                                have_ctx = false;
                                (*served)++;
                        } else {
                                char body[64];
                                if (have_ctx)
                                        DeleteSecurityContext(&ctx);
                                have_ctx = false;
                                snprintf(body, sizeof(body), "denied 0x%08x\n", (unsigned) st);
                                fprintf(stderr, "http-negotiate-server: AcceptSecurityContext: 0x%08x\n", (unsigned) st);
                                r = reply(fd, 401, NULL, NULL, true, body);
                        }
                        free(enc);
                        if (r < 0)
                                break;
                }
                memmove(buf, buf + head_len, have - head_len);
                have -= head_len;
        }
        if (have_ctx)
                DeleteSecurityContext(&ctx);
        return 0;
}

int main(int argc, char **argv) {
        const char *package = "Negotiate";
        int port = 0, lfd, one = 1;
        long max_requests = -1, served = 0;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t sl = sizeof(sa);
        CredHandle cred;
        TimeStamp ts;
        SECURITY_STATUS st;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--port") && i + 1 < argc)
                        port = atoi(argv[++i]);
                else if (!strcmp(argv[i], "--package") && i + 1 < argc)
                        package = argv[++i];
                else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
                        max_requests = atol(argv[++i]);
                else {
                        fprintf(stderr, "usage: %s [--port N] [--package Negotiate|NTLM] [--requests N]\n", argv[0]);
                        return 2;
                }
        }
        signal(SIGPIPE, SIG_IGN);
        st = AcquireCredentialsHandleA(NULL, (char *) package, SECPKG_CRED_INBOUND, NULL, NULL, NULL, NULL, &cred, &ts);
        if (st != SEC_E_OK) {
                fprintf(stderr, "http-negotiate-server: AcquireCredentialsHandle(%s): 0x%08x\n", package, (unsigned) st);
                return 1;
        }
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t) port);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
            getsockname(lfd, (struct sockaddr *) &sa, &sl) < 0) {
                perror("http-negotiate-server: listen");
                return 1;
        }
        printf("listening on %u\n", ntohs(sa.sin_port));
        fflush(stdout);
        while (max_requests < 0 || served < max_requests) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                serve(fd, &cred, &served);
                close(fd);
        }
        close(lfd);
        FreeCredentialsHandle(&cred);
        return 0;
}
