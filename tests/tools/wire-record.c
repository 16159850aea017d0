/* SPDX-License-Identifier: MIT */
/*
 * wire-record: a recording relay for seed corpora (tests/fuzz/make-corpus.sh).
 *
 *   wire-record LISTEN_SOCKET DAEMON_SOCKET OUTDIR
 *
 * Listens on the Unix socket LISTEN_SOCKET; for each client it connects to
 * the real daemon at DAEMON_SOCKET and copies bytes both ways unchanged.
 * Every complete client->daemon frame (length prefix included, exactly as
 * fuzz_wire reads a socket) is written to OUTDIR/TYPE-HASH, TYPE being the
 * request's field name in Envelope.body (acquire_cred, init_ctx, ...) and
 * HASH a hash of the bytes, so identical frames are kept once. Requests
 * that carry a password are named TYPE+password-HASH so that the corpus
 * script can leave them out. Test tool only: never installed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sspi.pb-c.h"

static const char *outdir;

static int unix_socket(const char *path, bool listen_on) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
                return -1;
        strcpy(a.sun_path, path);
        if (listen_on) {
                unlink(path);
                if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
                        close(fd);
                        return -1;
                }
        } else if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static const char *body_name(const Sspiw__Envelope *e) {
        const ProtobufCMessageDescriptor *d = &sspiw__envelope__descriptor;

        for (unsigned i = 0; i < d->n_fields; i++)
                if (d->fields[i].id == (uint32_t) e->body_case)
                        return d->fields[i].name;
        return "none";
}

static bool has_password(const Sspiw__Envelope *e) {
        return e->body_case == SSPIW__ENVELOPE__BODY_ACQUIRE_CRED && e->acquire_cred->identity &&
               e->acquire_cred->identity->has_password && e->acquire_cred->identity->password.len > 0;
}

static void record(const uint8_t *frame, size_t len) {
        Sspiw__Envelope *e = sspiw__envelope__unpack(NULL, len - 4, frame + 4);
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        char path[4096];
        FILE *f;

        for (size_t i = 0; i < len; i++)
                h = (h ^ frame[i]) * 1099511628211ULL;
        snprintf(path, sizeof(path), "%s/%s%s-%016llx", outdir, e ? body_name(e) : "undecodable",
                 e && has_password(e) ? "+password" : "", (unsigned long long) h);
        if (e)
                sspiw__envelope__free_unpacked(e, NULL);
        if (access(path, F_OK) == 0)
                return;
        f = fopen(path, "wbx");
        if (!f)
                return;
        if (fwrite(frame, 1, len, f) != len)
                unlink(path);
        fclose(f);
}

/* Bytes the client sent, split into frames as they complete. */
typedef struct Stream {
        uint8_t *buf;
        size_t len, cap;
} Stream;

static void stream_add(Stream *s, const uint8_t *p, size_t n) {
        if (s->cap - s->len < n) {
                size_t cap = (s->len + n) * 2;
                uint8_t *b = realloc(s->buf, cap);
                if (!b)
                        exit(1);
                s->buf = b;
                s->cap = cap;
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        for (;;) {
                uint32_t l;
                if (s->len < 4)
                        return;
                l = (uint32_t) s->buf[0] << 24 | (uint32_t) s->buf[1] << 16 | (uint32_t) s->buf[2] << 8 | s->buf[3];
                if (l > (64u << 20)) {
                        s->len = 0; /* not our protocol: stop recording this stream */
                        return;
                }
                if (s->len - 4 < l)
                        return;
                record(s->buf, 4 + (size_t) l);
                memmove(s->buf, s->buf + 4 + l, s->len - 4 - l);
                s->len -= 4 + l;
        }
}

static bool write_all(int fd, const uint8_t *p, size_t n) {
        while (n) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static void relay(int client, const char *daemon_path) {
        int daemon = unix_socket(daemon_path, false);
        struct pollfd p[2] = { { .fd = client, .events = POLLIN }, { .fd = daemon, .events = POLLIN } };
        uint8_t buf[65536];
        Stream s = {};

        if (daemon < 0)
                _exit(1);
        while (p[0].fd >= 0 || p[1].fd >= 0) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        ssize_t k;
                        int to = i ? client : daemon;

                        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = read(p[i].fd, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k > 0) {
                                if (!write_all(to, buf, (size_t) k)) {
                                        p[0].fd = p[1].fd = -1; /* the other side is gone */
                                        break;
                                }
                                if (i == 0)
                                        stream_add(&s, buf, (size_t) k);
                                continue;
                        }
                        /* EOF or error on one side: pass the half-close on. */
                        shutdown(to, SHUT_WR);
                        p[i].fd = -1;
                }
        }
        _exit(0);
}

int main(int argc, char **argv) {
        int l;

        if (argc != 4) {
                fprintf(stderr, "usage: %s LISTEN_SOCKET DAEMON_SOCKET OUTDIR\n", argv[0]);
                return 2;
        }
        outdir = argv[3];
        signal(SIGCHLD, SIG_IGN); /* no zombies */
        signal(SIGPIPE, SIG_IGN);
        l = unix_socket(argv[1], true);
        if (l < 0) {
                perror("wire-record: listen");
                return 1;
        }
        for (;;) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                pid_t pid;

                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("wire-record: accept");
                        return 1;
                }
                pid = fork();
                if (pid == 0) {
                        close(l);
                        relay(c, argv[2]);
                }
                close(c);
        }
}
