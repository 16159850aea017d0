/* SPDX-License-Identifier: MIT */
/*
 * The caller's KCM cache (sssd-kcm, MIT's KCM protocol), read through the
 * socket the client library connected to KCM and passed with its request
 * (proto/PROTOCOL.md "Credentials from KCM"). KCM answers for whoever
 * connected (SO_PEERCRED), which is the caller: the daemon never connects
 * to KCM itself and never names another uid's cache.
 *
 * The socket came from a client, so nothing on it is trusted: it must be a
 * connected AF_UNIX stream socket whose peer runs as root or as sssd's own
 * user (what a KCM service runs as), every reply is bounded in size, the
 * number of credentials is bounded, and the whole exchange has one
 * deadline, so a peer that stalls or floods costs a worker KCM_TIMEOUT_MS
 * at most. The bytes become a FILE (version 4) image, which the ccache
 * path checks and parses as it does the FILE images clients send.
 *
 * Protocol facts (MIT krb5 src/include/kcm.h, src/lib/krb5/ccache/cc_kcm.c):
 * request = be32 length, then major 2, minor 0, be16 opcode, the cache
 * name NUL-terminated, arguments; reply = be32 length, be32 code, then
 * `length` bytes: be32 status and the result. Principals and credentials
 * are in the FILE version 4 encoding; UUIDs are 16 bytes, a UUID list
 * fills the rest of the reply.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "packages/kerberos/kerberos.h"
#include "wire.h"

#define KCM_OP_GET_PRINCIPAL      8
#define KCM_OP_GET_CRED_UUID_LIST 9
#define KCM_OP_GET_CRED_BY_UUID   10
#define KCM_OP_GET_DEFAULT_CACHE  20
#define KCM_UUID_LEN              16

#define KCM_TIMEOUT_MS  3000
#define KCM_MAX_REPLY   (128u << 10)    /* one credential: a ticket with a large PAC */
#define KCM_MAX_CREDS   64u

typedef struct Kcm {
        int fd;
        struct timespec deadline;
        uint8_t *reply;         /* the last reply, status stripped */
        size_t reply_len;
} Kcm;

static int remaining_ms(const Kcm *k) {
        struct timespec now;
        int64_t ms;

        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (int64_t) (k->deadline.tv_sec - now.tv_sec) * 1000 + (k->deadline.tv_nsec - now.tv_nsec) / 1000000;
        return ms <= 0 ? 0 : (int) ms;
}

/* Waits for `events` until the deadline. The descriptor's file status
 * flags are shared with the client, so it is never switched to
 * non-blocking: every call here is MSG_DONTWAIT after a poll. */
static int wait_for(Kcm *k, short events) {
        for (;;) {
                struct pollfd p = { .fd = k->fd, .events = events };
                int ms = remaining_ms(k), n;

                if (ms == 0)
                        return -ETIMEDOUT;
                n = poll(&p, 1, ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n > 0)
                        return 0;
        }
}

static int send_all(Kcm *k, const uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = send(k->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        r = wait_for(k, POLLOUT);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int recv_all(Kcm *k, uint8_t *p, size_t len) {
        while (len > 0) {
                ssize_t n = recv(k->fd, p, len, MSG_DONTWAIT);
                int r;

                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        r = wait_for(k, POLLIN);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = v >> 24;
        p[1] = v >> 16;
        p[2] = v >> 8;
        p[3] = v;
}

static void reply_drop(Kcm *k) {
        if (k->reply) {
                explicit_bzero(k->reply, k->reply_len);
                free(k->reply);
        }
        k->reply = NULL;
        k->reply_len = 0;
}

/* One request; on success k->reply holds the result (status stripped).
 * -ENOENT when KCM answers with an error status (no such cache, no
 * principal), -EBADMSG for a reply out of shape or too large. */
static int kcm_call(Kcm *k, uint16_t op, const char *name, const uint8_t *arg, size_t arg_len) {
        size_t name_len = name ? strlen(name) + 1 : 0;
        uint8_t req[4 + 4 + WIRE_MAX_KCM_NAME + 1 + KCM_UUID_LEN], head[8];
        size_t len = 4 + name_len + arg_len;
        uint32_t n;
        int r;

        reply_drop(k);
        if (name_len > WIRE_MAX_KCM_NAME + 1 || arg_len > KCM_UUID_LEN)
                return -EINVAL;
        put_be32(req, (uint32_t) len);
        req[4] = 2; /* KCM_PROTOCOL_VERSION_MAJOR */
        req[5] = 0;
        req[6] = op >> 8;
        req[7] = op & 0xff;
        if (name_len)
                memcpy(req + 8, name, name_len);
        if (arg_len)
                memcpy(req + 8 + name_len, arg, arg_len);
        r = send_all(k, req, 4 + len);
        if (r < 0)
                return r;
        r = recv_all(k, head, sizeof(head));
        if (r < 0)
                return r;
        n = be32(head);
        if (be32(head + 4) != 0)
                return -ENOENT;
        if (n < 4 || n > KCM_MAX_REPLY)
                return -EBADMSG;
        k->reply = malloc(n);
        if (!k->reply)
                return -ENOMEM;
        k->reply_len = n;
        r = recv_all(k, k->reply, n);
        if (r < 0)
                return r;
        if (be32(k->reply) != 0)
                return -ENOENT;
        memmove(k->reply, k->reply + 4, n - 4);
        k->reply_len = n - 4;
        return 0;
}

/* The uid a KCM service runs as: root (Heimdal's kcm, sssd-kcm on Debian
 * and RHEL), or sssd's own user where SSSD runs unprivileged. */
static bool kcm_service_uid(uid_t uid) {
        struct passwd pw, *res = NULL;
        char buf[1024];

        if (uid == 0)
                return true;
        return getpwnam_r("sssd", &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_uid == uid;
}

/* A connected AF_UNIX stream socket whose peer is a KCM service: a caller
 * cannot hand in a socketpair, a pipe or a file of its own and have its
 * bytes read as KCM's. */
static int kcm_check_fd(int fd) {
        struct ucred peer = {};
        socklen_t len = sizeof(peer);
        int v = 0;
        socklen_t vlen = sizeof(v);
        struct stat st;

        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vlen) < 0 || v != AF_UNIX)
                return -EAFNOSUPPORT;
        vlen = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vlen) < 0 || v != SOCK_STREAM)
                return -EPROTOTYPE;
        vlen = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) < 0 || v != 0)
                return -EINVAL;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || peer.pid <= 0)
                return -ENOTCONN;
        if (!kcm_service_uid(peer.uid))
                return -EPERM;
        return 0;
}

static int image_add(uint8_t **img, size_t *len, const uint8_t *p, size_t n) {
        uint8_t *b;

        if (n > WIRE_MAX_CCACHE - *len)
                return -EFBIG;
        b = malloc(*len + n);
        if (!b)
                return -ENOMEM;
        /* not realloc: the old block holds session keys and is wiped */
        if (*len)
                memcpy(b, *img, *len);
        memcpy(b + *len, p, n);
        if (*img) {
                explicit_bzero(*img, *len);
                free(*img);
        }
        *img = b;
        *len += n;
        return 0;
}

int krb_kcm_image(int fd, const char *name, uint8_t **ret, size_t *ret_len) {
        int r = kcm_check_fd(fd);

        if (r < 0) {
                krb_log("KCM: the socket passed is not a connection to a KCM service (%s)", strerror(-r));
                return r;
        }
        return krb_kcm_read(fd, name, ret, ret_len);
}

int krb_kcm_read(int fd, const char *name, uint8_t **ret, size_t *ret_len) {
        static const uint8_t header[] = { 5, 4, 0, 0 }; /* FILE v4, no header tags */
        Kcm k = { .fd = fd };
        char cache[WIRE_MAX_KCM_NAME + 1];
        uint8_t *uuids = NULL, *img = NULL;
        size_t n_uuids = 0, len = 0;
        int r;

        if (strlen(name) > WIRE_MAX_KCM_NAME)
                return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &k.deadline);
        k.deadline.tv_sec += KCM_TIMEOUT_MS / 1000;

        if (!*name) {
                const uint8_t *nul;

                r = kcm_call(&k, KCM_OP_GET_DEFAULT_CACHE, NULL, NULL, 0);
                if (r < 0)
                        goto out;
                nul = memchr(k.reply, 0, k.reply_len);
                if (!nul || nul == k.reply || (size_t) (nul - k.reply) > WIRE_MAX_KCM_NAME) {
                        r = -EBADMSG;
                        goto out;
                }
                memcpy(cache, k.reply, (size_t) (nul - k.reply) + 1);
                name = cache;
        }
        r = kcm_call(&k, KCM_OP_GET_PRINCIPAL, name, NULL, 0);
        if (r < 0)
                goto out;
        r = image_add(&img, &len, header, sizeof(header));
        if (r >= 0)
                r = image_add(&img, &len, k.reply, k.reply_len);
        if (r < 0)
                goto out;
        r = kcm_call(&k, KCM_OP_GET_CRED_UUID_LIST, name, NULL, 0);
        if (r < 0)
                goto out;
        if (k.reply_len % KCM_UUID_LEN != 0 || k.reply_len / KCM_UUID_LEN > KCM_MAX_CREDS) {
                r = -EBADMSG;
                goto out;
        }
        uuids = k.reply;
        n_uuids = k.reply_len / KCM_UUID_LEN;
        k.reply = NULL;
        k.reply_len = 0;
        for (size_t i = 0; i < n_uuids; i++) {
                r = kcm_call(&k, KCM_OP_GET_CRED_BY_UUID, name, uuids + i * KCM_UUID_LEN, KCM_UUID_LEN);
                if (r == -ENOENT)
                        continue; /* removed meanwhile (kinit renewing) */
                if (r < 0)
                        goto out;
                r = image_add(&img, &len, k.reply, k.reply_len);
                if (r < 0)
                        goto out;
        }
        *ret = img;
        *ret_len = len;
        img = NULL;
        r = 0;
out:
        if (r < 0)
                krb_log("KCM: reading the caller's cache failed (%s)", strerror(-r));
        reply_drop(&k);
        free(uuids);
        if (img) {
                explicit_bzero(img, len);
                free(img);
        }
        return r;
}
