/* SPDX-License-Identifier: MIT */
#include "tframe.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tattack.h"

void tbuf_free(TBuf *b) {
        free(b->p);
        *b = (TBuf) {};
}

static void tbuf_put(TBuf *b, const void *p, size_t n) {
        if (n == 0)
                return;
        if (b->len + n > b->cap) {
                size_t nc = b->cap ? b->cap : 256;
                while (nc < b->len + n)
                        nc *= 2;
                b->p = realloc(b->p, nc);
                if (!b->p)
                        abort();
                b->cap = nc;
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
}

void tbuf_varint(TBuf *b, uint64_t v) {
        uint8_t t[10];
        size_t n = 0;

        do {
                t[n] = v & 0x7f;
                v >>= 7;
                if (v)
                        t[n] |= 0x80;
                n++;
        } while (v);
        tbuf_put(b, t, n);
}

void tbuf_tag(TBuf *b, uint32_t field, unsigned wire_type) {
        tbuf_varint(b, (uint64_t) field << 3 | wire_type);
}

void tbuf_bytes(TBuf *b, uint32_t field, const void *p, size_t n) {
        tbuf_tag(b, field, 2);
        tbuf_varint(b, n);
        tbuf_put(b, p, n);
}

void tbuf_unknown_fields(TBuf *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                tbuf_tag(b, 1000, 0);
                tbuf_varint(b, 1);
        }
}

void tbuf_unknown_blob(TBuf *b, size_t n) {
        uint8_t *z = calloc(1, n ? n : 1);

        if (!z)
                abort();
        memset(z, 'x', n);
        tbuf_bytes(b, 1001, z, n);
        free(z);
}

TBuf tframe_wrap(const TBuf *env) {
        TBuf f = {};
        uint8_t h[4] = { env->len >> 24, env->len >> 16, env->len >> 8, env->len };

        tbuf_put(&f, h, 4);
        tbuf_put(&f, env->p, env->len);
        return f;
}

static TBuf envelope(uint64_t call_id, uint32_t body_field, const TBuf *body) {
        TBuf e = {}, f;

        tbuf_tag(&e, 1, 0);
        tbuf_varint(&e, call_id);
        tbuf_bytes(&e, body_field, body->p, body->len);
        f = tframe_wrap(&e);
        tbuf_free(&e);
        return f;
}

TBuf tframe_hello(uint64_t call_id, size_t unknown) {
        TBuf h = {}, f;

        tbuf_tag(&h, 1, 0);
        tbuf_varint(&h, 1);
        tbuf_tag(&h, 2, 0);
        tbuf_varint(&h, 0);
        tbuf_unknown_fields(&h, unknown);
        f = envelope(call_id, 10, &h);
        tbuf_free(&h);
        return f;
}

TBuf tframe_enum(uint64_t call_id) {
        TBuf b = {}, f;

        f = envelope(call_id, 12, &b);
        return f;
}

TBuf tframe_acquire_krb(uint64_t call_id, size_t pad) {
        TBuf a = {}, id = {}, f;

        tbuf_bytes(&id, 1, "alice", 5);
        tbuf_bytes(&id, 3, "alice-pw-1", 10);
        tbuf_tag(&id, 5, 0);
        tbuf_varint(&id, 1); /* SEC_WINNT_AUTH_IDENTITY_ANSI */
        tbuf_bytes(&a, 2, "Kerberos", 8);
        tbuf_tag(&a, 3, 0);
        tbuf_varint(&a, 2); /* SECPKG_CRED_OUTBOUND */
        tbuf_bytes(&a, 5, id.p, id.len);
        if (pad)
                tbuf_unknown_blob(&a, pad);
        f = envelope(call_id, 16, &a);
        tbuf_free(&a);
        tbuf_free(&id);
        return f;
}

int tframe_connect(const TDaemon *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(d->sock) >= sizeof(sa.sun_path))
                return -1;
        memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

bool tframe_send(int fd, const void *p, size_t n, int timeout_ms) {
        uint64_t end = t_now_ms() + (uint64_t) timeout_ms;
        size_t off = 0;

        while (off < n) {
                ssize_t k = send(fd, (const uint8_t *) p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0) {
                        off += (size_t) k;
                        continue;
                }
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
                if (t_now_ms() >= end)
                        return false;
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                (void) poll(&pfd, 1, 50);
        }
        return true;
}

bool tframe_closed(int fd, int ms) {
        uint64_t end = t_now_ms() + (uint64_t) ms;
        uint8_t buf[4096];

        for (;;) {
                ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                        return true;
                if (k > 0)
                        continue;
                if (t_now_ms() >= end)
                        return false;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                (void) poll(&pfd, 1, (int) (end - t_now_ms()));
        }
}

void tframe_raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

void *tframe_shared(size_t size) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

/* ---- KCM (issue 15 item 7) ---- */

bool tframe_send_kcm_acquire(int sock, uint64_t call_id, const int *fds, int n) {
        TBuf a = {}, f;
        union {
                struct cmsghdr h;
                uint8_t b[CMSG_SPACE(4 * sizeof(int))];
        } control = {};
        struct iovec iov;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        bool ok;

        if (n < 0 || n > 4)
                return false;
        tbuf_bytes(&a, 2, "Kerberos", 8);
        tbuf_tag(&a, 3, 0);
        tbuf_varint(&a, 2); /* SECPKG_CRED_OUTBOUND */
        tbuf_bytes(&a, 10, "", 0); /* kcm_name: KCM's default cache */
        f = envelope(call_id, 16, &a);
        iov = (struct iovec) { f.p, f.len };
        if (n > 0) {
                struct cmsghdr *c;

                msg.msg_control = &control;
                msg.msg_controllen = CMSG_SPACE((size_t) n * sizeof(int));
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN((size_t) n * sizeof(int));
                memcpy(CMSG_DATA(c), fds, (size_t) n * sizeof(int));
        }
        ok = sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t) f.len;
        tbuf_free(&a);
        tbuf_free(&f);
        return ok;
}

bool tframe_send_fd(int sock, const TBuf *frame, int fd) {
        union {
                struct cmsghdr h;
                uint8_t b[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { frame->p, frame->len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                              .msg_controllen = sizeof(control) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t) frame->len;
}

static bool read_full(int fd, uint8_t *p, size_t n, int timeout_ms) {
        uint64_t end = t_now_ms() + (uint64_t) timeout_ms;

        while (n > 0) {
                struct pollfd pf = { .fd = fd, .events = POLLIN };
                uint64_t now = t_now_ms();
                ssize_t k;

                if (now >= end || poll(&pf, 1, (int) (end - now)) <= 0)
                        return false;
                k = recv(fd, p, n, MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static bool varint(const uint8_t *b, size_t n, size_t *i, uint64_t *ret) {
        uint64_t v = 0;

        for (int shift = 0; *i < n && shift < 64; shift += 7) {
                uint8_t c = b[(*i)++];
                v |= (uint64_t) (c & 0x7f) << shift;
                if (!(c & 0x80)) {
                        *ret = v;
                        return true;
                }
        }
        return false;
}

int64_t tframe_reply_status(int sock, int timeout_ms) {
        uint8_t head[4], body[8192];
        uint32_t n;
        size_t i = 0;

        if (!read_full(sock, head, 4, timeout_ms))
                return TFRAME_NO_REPLY;
        n = (uint32_t) head[0] << 24 | (uint32_t) head[1] << 16 | (uint32_t) head[2] << 8 | head[3];
        if (n > sizeof(body) || !read_full(sock, body, n, timeout_ms))
                return TFRAME_NO_REPLY;
        while (i < n) {
                uint64_t key, v;

                if (!varint(body, n, &i, &key))
                        return TFRAME_NO_REPLY;
                if ((key & 7) == 0) {
                        if (!varint(body, n, &i, &v))
                                return TFRAME_NO_REPLY;
                        if (key >> 3 == 2)
                                return (int32_t) v;
                } else if ((key & 7) == 2) {
                        if (!varint(body, n, &i, &v) || v > n - i)
                                return TFRAME_NO_REPLY;
                        i += v;
                } else
                        return TFRAME_NO_REPLY;
        }
        return 0; /* no status: SEC_E_OK */
}
