/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 65536u

/*
 * A decoded Envelope copies its strings and bytes (passwords, plaintext,
 * session keys) into blocks of its own. Every block comes from this
 * allocator, which remembers its size and wipes it on free: whatever path
 * frees an envelope (a refused call, an invalid request, an unknown
 * package, the normal end of a call), on either side of the socket, its
 * secrets are gone with it.
 */
typedef struct WipeHeader {
        alignas(max_align_t) size_t size;
} WipeHeader;

static void *wipe_alloc(void *data, size_t size) {
        WipeHeader *h;

        if (size > SIZE_MAX - sizeof(*h))
                return NULL;
        h = malloc(sizeof(*h) + size);
        if (!h)
                return NULL;
        h->size = size;
        return h + 1;
}

static void wipe_free(void *data, void *p) {
        WipeHeader *h;

        if (!p)
                return;
        h = (WipeHeader *) p - 1;
        explicit_bzero(p, h->size);
        free(h);
}

static ProtobufCAllocator wipe_allocator = { .alloc = wipe_alloc, .free = wipe_free };

void wire_reader_init(WireReader *r, uint32_t max_frame) {
        *r = (WireReader) { .max_frame = max_frame, .passed_fd = -1 };
}

int wire_reader_take_fd(WireReader *r) {
        int fd = r->fd_pending ? r->passed_fd : -1;

        r->fd_pending = false;
        r->passed_fd = -1;
        return fd;
}

/* Frames carry passwords, session keys and plaintext: every byte of the
 * buffer that is consumed, moved away from or given back is wiped. */
void wire_reader_done(WireReader *r) {
        if (r->buf)
                explicit_bzero(r->buf, r->cap);
        free(r->buf);
        if (r->fd_pending)
                close(r->passed_fd);
        *r = (WireReader) { .passed_fd = -1 };
}

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* How many bytes the buffer should be able to hold right now: enough for the
 * frame being assembled (its length is known once the header is in), never
 * more than one maximal frame. */
static size_t wanted_cap(const WireReader *r) {
        size_t avail = r->len - r->off;
        size_t want = READ_CHUNK;

        if (avail >= WIRE_HEADER_SIZE) {
                uint32_t n = get_be32(r->buf + r->off);
                if (n <= r->max_frame && WIRE_HEADER_SIZE + (size_t) n > want)
                        want = WIRE_HEADER_SIZE + (size_t) n;
        }
        return want;
}

int wire_reader_fill(WireReader *r, int fd) {
        return wire_reader_fill_flags(r, fd, MSG_DONTWAIT);
}

int wire_reader_fill_wait(WireReader *r, int fd) {
        int k;

        do
                k = wire_reader_fill_flags(r, fd, 0);
        while (k == -EAGAIN);
        return k;
}

int wire_reader_fill_poll(WireReader *r, int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k;

        do {
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return -errno;
                k = wire_reader_fill(r, fd);
        } while (k == -EAGAIN);
        return k;
}

/* Keeps one passed descriptor; closes every other one. Without a control
 * buffer the kernel would drop them unseen, but then a request could not
 * bring one (AcquireCredReq.kcm_name). */
static int reader_take_rights(WireReader *r, struct msghdr *msg) {
        int bad = (msg->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int pfd;

                        memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n == 1 && !r->fd_pending) {
                                r->passed_fd = pfd;
                                r->fd_pending = true;
                        } else {
                                close(pfd);
                                bad = -EPROTO;
                        }
                }
        }
        return bad;
}

int wire_reader_fill_flags(WireReader *r, int fd, int flags) {
        union {
                struct cmsghdr h;
                uint8_t b[CMSG_SPACE(2 * sizeof(int))];
        } control;
        struct iovec iov;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        size_t want;
        ssize_t n;

        /* Compact before growing: consumed frames are dropped. */
        if (r->off > 0) {
                memmove(r->buf, r->buf + r->off, r->len - r->off);
                explicit_bzero(r->buf + r->len - r->off, r->off);
                r->len -= r->off;
                r->off = 0;
        }
        want = wanted_cap(r);
        if (r->cap < want) {
                uint8_t *nb = malloc(want); /* not realloc: the old block is wiped first */
                if (!nb)
                        return -ENOMEM;
                if (r->buf) {
                        memcpy(nb, r->buf, r->len);
                        explicit_bzero(r->buf, r->cap);
                        free(r->buf);
                }
                r->buf = nb;
                r->cap = want;
        }
        if (r->len == r->cap)
                return -ENOBUFS; /* a full frame is buffered; caller must consume it */
        iov = (struct iovec) { r->buf + r->len, r->cap - r->len };
        n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR ? -EAGAIN : -errno;
        r->len += (size_t) n;
        if (reader_take_rights(r, &msg) < 0)
                return -EPROTO;
        return (int) n;
}

bool wire_reader_has_frame(const WireReader *r) {
        size_t avail = r->len - r->off;

        if (avail < WIRE_HEADER_SIZE)
                return false;
        return avail - WIRE_HEADER_SIZE >= get_be32(r->buf + r->off);
}

int wire_reader_next(WireReader *r, Sspiw__Envelope **ret) {
        size_t avail = r->len - r->off;
        uint32_t n;
        Sspiw__Envelope *e;

        if (avail < WIRE_HEADER_SIZE)
                return 0;
        n = get_be32(r->buf + r->off);
        if (n > r->max_frame)
                return -EMSGSIZE;
        if (avail - WIRE_HEADER_SIZE < n)
                return 0;
        e = sspiw__envelope__unpack(&wipe_allocator, n, r->buf + r->off + WIRE_HEADER_SIZE);
        explicit_bzero(r->buf + r->off, WIRE_HEADER_SIZE + n);
        r->off += WIRE_HEADER_SIZE + n;
        if (r->off == r->len)
                r->off = r->len = 0;
        if (!e)
                return -EBADMSG;
        /* Only canonical encodings: re-encoding must give the same length.
         * protobuf-c cuts strings at an embedded NUL without telling, and
         * this is where that shows. */
        if (sspiw__envelope__get_packed_size(e) != n) {
                sspiw__envelope__free_unpacked(e, &wipe_allocator);
                return -EBADMSG;
        }
        *ret = e;
        return 1;
}

int wire_pack(const Sspiw__Envelope *e, uint8_t **ret, size_t *ret_len) {
        size_t n = sspiw__envelope__get_packed_size(e);
        uint8_t *b;

        if (n > UINT32_MAX)
                return -EMSGSIZE;
        b = malloc(WIRE_HEADER_SIZE + n);
        if (!b)
                return -ENOMEM;
        b[0] = n >> 24;
        b[1] = n >> 16;
        b[2] = n >> 8;
        b[3] = n;
        sspiw__envelope__pack(e, b + WIRE_HEADER_SIZE);
        *ret = b;
        *ret_len = WIRE_HEADER_SIZE + n;
        return 0;
}

int wire_write_all(int fd, const uint8_t *buf, size_t len, size_t *written) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (written)
                                *written = done;
                        return -errno;
                }
                done += (size_t) n;
        }
        if (written)
                *written = done;
        return 0;
}

int wire_write_all_fd(int fd, const uint8_t *buf, size_t len, int pass_fd) {
        union {
                struct cmsghdr h;
                uint8_t b[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { (void *) buf, len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        ssize_t n;

        if (pass_fd < 0 || len == 0)
                return wire_write_all(fd, buf, len, NULL);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        do
                n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        /* The descriptor went with the first byte; the rest as usual. */
        return wire_write_all(fd, buf + n, len - (size_t) n, NULL);
}

void wire_free(Sspiw__Envelope *e) {
        if (e)
                sspiw__envelope__free_unpacked(e, &wipe_allocator);
}

bool wire_utf8_valid(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        size_t i = 0;

        while (i < len) {
                unsigned c = s[i];
                unsigned need;
                uint32_t cp;

                if (c < 0x80) {
                        if (c == 0)
                                return false;
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        need = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        need = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        need = 3;
                        cp = c & 0x07;
                } else
                        return false;
                if (len - i <= need)
                        return false;
                for (unsigned k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += need + 1;
        }
        return true;
}

/* protobuf-c hands strings out NUL-terminated; an embedded NUL would make
 * the C string shorter than the wire string, so length is checked here too. */
static bool string_ok(const char *s, size_t max) {
        size_t n;

        if (!s)
                return true;
        n = strnlen(s, max + 1);
        return n <= max && wire_utf8_valid(s, n);
}

#define CHECK(cond, why)                  \
        do {                              \
                if (!(cond)) {            \
                        *ret_why = (why); \
                        return -EBADMSG;  \
                }                         \
        } while (0)

static int check_buffers(Sspiw__Buffer **b, size_t n, bool output_slots, uint32_t max_frame, const char **ret_why) {
        CHECK(n <= WIRE_MAX_BUFFERS, "too many buffers");
        for (size_t i = 0; i < n; i++) {
                CHECK(b[i], "null buffer");
                CHECK((b[i]->type & 0x0fffffffu) <= 64, "unknown buffer type");
                CHECK(!b[i]->has_data || b[i]->data.len <= max_frame, "buffer too large");
                if (output_slots)
                        CHECK(!b[i]->has_data && (!b[i]->has_size || b[i]->size <= WIRE_MAX_OUTPUT_CAP),
                              "bad output slot");
                else
                        CHECK(!b[i]->has_size || b[i]->size <= max_frame, "bad buffer size");
        }
        return 0;
}

static int check_identity(const Sspiw__Identity *id, const char **ret_why) {
        if (!id)
                return 0;
        CHECK(string_ok(id->user, WIRE_MAX_IDENTITY_FIELD), "bad user");
        CHECK(string_ok(id->domain, WIRE_MAX_IDENTITY_FIELD), "bad domain");
        CHECK(string_ok(id->package_list, WIRE_MAX_STRING), "bad package list");
        CHECK(!id->has_password || id->password.len <= WIRE_MAX_IDENTITY_FIELD, "password too long");
        return 0;
}

/* Per-message state (MsgKeys): at most the sizes a package hands over
 * (NTLM's RC4 state is 258 bytes, Kerberos' four AES-256 keys 128). */
static int check_msg_keys(const Sspiw__MsgKeys *k, const char **ret_why) {
        if (!k)
                return 0;
        CHECK(k->send_sign.len <= 258 && k->recv_sign.len <= 258 && k->send_rc4.len <= 258 && k->recv_rc4.len <= 258,
              "message keys too large");
        CHECK(k->n_window <= 20 && (!k->has_window_len || k->window_len <= 20), "receive window too large");
        return 0;
}

static int check_message(const Sspiw__MessageReq *m, uint32_t max_frame, const char **ret_why) {
        CHECK(m->ctx, "missing context");
        CHECK(m->n_buffers >= 1, "no buffers");
        if (check_msg_keys(m->keys, ret_why) < 0)
                return -1;
        return check_buffers(m->buffers, m->n_buffers, false, max_frame, ret_why);
}

int wire_validate_request(const Sspiw__Envelope *e, uint32_t max_frame, const char **ret_why) {
        int r;

        /* Only a free may go without its reply: every other call has
         * outputs or a status the caller needs. */
        CHECK(!e->has_oneway || !e->oneway || e->body_case == SSPIW__ENVELOPE__BODY_DELETE_CTX ||
                      e->body_case == SSPIW__ENVELOPE__BODY_FREE_CRED,
              "oneway on a call that is not a free");
        switch (e->body_case) {
        case SSPIW__ENVELOPE__BODY_HELLO:
        case SSPIW__ENVELOPE__BODY_ENUM_PACKAGES:
                return 0;
        case SSPIW__ENVELOPE__BODY_QUERY_PACKAGE:
                CHECK(string_ok(e->query_package->name, WIRE_MAX_STRING), "bad package name");
                return 0;
        case SSPIW__ENVELOPE__BODY_ACQUIRE_CRED: {
                const Sspiw__AcquireCredReq *a = e->acquire_cred;
                CHECK(string_ok(a->principal, WIRE_MAX_STRING), "bad principal");
                CHECK(string_ok(a->package, WIRE_MAX_STRING), "bad package name");
                CHECK(!a->has_ccache_image || (a->ccache_image.len > 0 && a->ccache_image.len <= WIRE_MAX_CCACHE),
                      "bad ccache image size");
                CHECK(string_ok(a->kcm_name, WIRE_MAX_KCM_NAME), "bad KCM cache name");
                CHECK(!a->kcm_name || !a->has_ccache_image, "both a ccache image and KCM");
                CHECK(!a->schannel || a->schannel->n_certs <= 16, "too many certificates");
                for (size_t i = 0; a->schannel && i < a->schannel->n_certs; i++)
                        CHECK(a->schannel->certs[i].len <= 65536, "certificate too large");
                return check_identity(a->identity, ret_why);
        }
        case SSPIW__ENVELOPE__BODY_FREE_CRED:
        case SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR:
        case SSPIW__ENVELOPE__BODY_DELETE_CTX:
                return 0; /* required handle fields are enforced by the decoder */
        case SSPIW__ENVELOPE__BODY_EXPORT_CTX:
                return check_msg_keys(e->export_ctx->keys, ret_why);
        case SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR: {
                const Sspiw__QueryCtxAttrReq *q = e->query_ctx_attr;
                /* RFC 5705 input: bounded well inside the request frame. */
                CHECK(!q->has_km_label || q->km_label.len <= WIRE_MAX_KM_LABEL, "keying label too long");
                CHECK(!q->has_km_context || q->km_context.len <= WIRE_MAX_KM_CONTEXT, "keying context too long");
                CHECK(!q->has_km_length || q->km_length <= WIRE_MAX_KM_LENGTH, "keying material too long");
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_INIT_CTX: {
                const Sspiw__InitCtxReq *i = e->init_ctx;
                CHECK(i->cred || i->ctx, "neither credential nor context");
                CHECK(string_ok(i->target, WIRE_MAX_STRING), "bad target name");
                r = check_msg_keys(i->keys, ret_why);
                if (r == 0)
                        r = check_buffers(i->input, i->n_input, false, max_frame, ret_why);
                if (r < 0)
                        return r;
                return check_buffers(i->output, i->n_output, true, max_frame, ret_why);
        }
        case SSPIW__ENVELOPE__BODY_ACCEPT_CTX: {
                const Sspiw__AcceptCtxReq *a = e->accept_ctx;
                CHECK(a->cred || a->ctx, "neither credential nor context");
                r = check_msg_keys(a->keys, ret_why);
                if (r == 0)
                        r = check_buffers(a->input, a->n_input, false, max_frame, ret_why);
                if (r < 0)
                        return r;
                return check_buffers(a->output, a->n_output, true, max_frame, ret_why);
        }
        case SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN:
                return check_buffers(e->complete_token->token, e->complete_token->n_token, false, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_MAKE_SIGNATURE:
                return check_message(e->make_signature, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_VERIFY_SIGNATURE:
                return check_message(e->verify_signature, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_ENCRYPT_MESSAGE:
                return check_message(e->encrypt_message, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_DECRYPT_MESSAGE:
                return check_message(e->decrypt_message, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_APPLY_CONTROL:
                return check_buffers(e->apply_control->input, e->apply_control->n_input, false, max_frame, ret_why);
        case SSPIW__ENVELOPE__BODY_IMPORT_CTX:
                CHECK(string_ok(e->import_ctx->package, WIRE_MAX_STRING), "bad package name");
                CHECK(e->import_ctx->packed.len <= 4096, "packed context too large");
                return 0;
        case SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD: {
                const Sspiw__ChangePasswordReq *c = e->change_password;
                CHECK(string_ok(c->package, WIRE_MAX_STRING), "bad package name");
                CHECK(string_ok(c->domain, WIRE_MAX_IDENTITY_FIELD), "bad domain");
                CHECK(string_ok(c->account, WIRE_MAX_IDENTITY_FIELD), "bad account");
                CHECK(!c->has_old_password || c->old_password.len <= WIRE_MAX_IDENTITY_FIELD, "password too long");
                CHECK(!c->has_new_password || c->new_password.len <= WIRE_MAX_IDENTITY_FIELD, "password too long");
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_SET_CRED_ATTR: {
                const Sspiw__SetCredAttrReq *a = e->set_cred_attr;
                CHECK(string_ok(a->proxy_server, WIRE_MAX_STRING), "bad proxy server");
                CHECK(!a->has_client_tls_cred || a->client_tls_cred.len <= 65535, "client TLS credential too long");
                CHECK(a->n_words <= 256, "too many words"); /* SUPPORTED_ALGS: SET_CRED_ATTR_MAX_ALGS */
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_ADD_CRED:
                return 0; /* two handles */
        case SSPIW__ENVELOPE__BODY_SET_CTX_ATTR:
                CHECK(e->set_ctx_attr->data.len <= WIRE_MAX_SET_CTX_ATTR, "context attribute too long");
                return 0;
        case SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY:
                CHECK(e->protect_identity->data.len <= WIRE_MAX_PROTECT_IDENTITY, "identity data too large");
                CHECK(e->protect_identity->seal || e->protect_identity->data.len >= 28, "sealed data too short");
                return 0;
        case SSPIW__ENVELOPE__BODY_GET_KEY_REP:
                CHECK(!e->get_key_rep->has_key || e->get_key_rep->key.len <= WIRE_MAX_IDENTITY_FIELD,
                      "key too long");
                return 0;
        default:
                *ret_why = "not a request";
                return -EBADMSG;
        }
}

int wire_validate_reply(const Sspiw__Envelope *e, uint32_t max_frame, const char **ret_why) {
        switch (e->body_case) {
        case SSPIW__ENVELOPE__BODY__NOT_SET:
                CHECK(e->has_status && e->status < 0, "empty reply without failure status");
                return 0;
        case SSPIW__ENVELOPE__BODY_HELLO_REP:
        case SSPIW__ENVELOPE__BODY_ACQUIRE_CRED_REP:
        case SSPIW__ENVELOPE__BODY_FREE_CRED_REP:
        case SSPIW__ENVELOPE__BODY_COMPLETE_TOKEN_REP:
        case SSPIW__ENVELOPE__BODY_DELETE_CTX_REP:
        case SSPIW__ENVELOPE__BODY_APPLY_CONTROL_REP:
        case SSPIW__ENVELOPE__BODY_SET_CRED_ATTR_REP:
        case SSPIW__ENVELOPE__BODY_ADD_CRED_REP:
        case SSPIW__ENVELOPE__BODY_SET_CTX_ATTR_REP:
                return 0;
        case SSPIW__ENVELOPE__BODY_ENUM_PACKAGES_REP: {
                const Sspiw__EnumPackagesRep *p = e->enum_packages_rep;
                CHECK(p->n_packages <= WIRE_MAX_PACKAGES, "too many packages");
                for (size_t i = 0; i < p->n_packages; i++)
                        CHECK(string_ok(p->packages[i]->name, WIRE_MAX_STRING) &&
                                      string_ok(p->packages[i]->comment, WIRE_MAX_STRING),
                              "bad package info");
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_QUERY_PACKAGE_REP:
                CHECK(string_ok(e->query_package_rep->info->name, WIRE_MAX_STRING) &&
                              string_ok(e->query_package_rep->info->comment, WIRE_MAX_STRING),
                      "bad package info");
                return 0;
        case SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR_REP:
                CHECK(string_ok(e->query_cred_attr_rep->user_name, WIRE_MAX_STRING), "bad name");
                return 0;
        case SSPIW__ENVELOPE__BODY_CTX_STEP_REP: {
                const Sspiw__CtxStepRep *s = e->ctx_step_rep;
                CHECK(s->n_output <= WIRE_MAX_BUFFERS && s->n_input <= WIRE_MAX_BUFFERS, "too many buffers");
                for (size_t i = 0; i < s->n_output; i++)
                        CHECK(!s->output[i]->has_data || s->output[i]->data.len <= max_frame, "buffer too large");
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR_REP: {
                const Sspiw__QueryCtxAttrRep *q = e->query_ctx_attr_rep;
                CHECK(string_ok(q->user_name, WIRE_MAX_STRING) && string_ok(q->client_name, WIRE_MAX_STRING) &&
                              string_ok(q->server_name, WIRE_MAX_STRING) && string_ok(q->name, WIRE_MAX_STRING),
                      "bad name");
                CHECK(!q->package || (string_ok(q->package->name, WIRE_MAX_STRING) &&
                                      string_ok(q->package->comment, WIRE_MAX_STRING)),
                      "bad package info");
                return 0;
        }
        case SSPIW__ENVELOPE__BODY_PROTECT_IDENTITY_REP:
                CHECK(e->protect_identity_rep->data.len <= WIRE_MAX_PROTECT_IDENTITY + 28, "identity data too large");
                return 0;
        case SSPIW__ENVELOPE__BODY_MESSAGE_REP:
                CHECK(e->message_rep->n_buffers <= WIRE_MAX_BUFFERS, "too many buffers");
                return 0;
        case SSPIW__ENVELOPE__BODY_EXPORT_CTX_REP:
                CHECK(e->export_ctx_rep->packed.len <= 4096, "packed context too large");
                return 0;
        case SSPIW__ENVELOPE__BODY_IMPORT_CTX_REP:
                return check_msg_keys(e->import_ctx_rep->keys, ret_why);
        case SSPIW__ENVELOPE__BODY_CHANGE_PASSWORD_REP:
                CHECK(!e->change_password_rep->has_response || e->change_password_rep->response.len == 24,
                      "bad password change response");
                return 0;
        case SSPIW__ENVELOPE__BODY_GET_KEY:
                CHECK(string_ok(e->get_key->principal, WIRE_MAX_STRING), "bad principal");
                return 0;
        default:
                *ret_why = "not a reply";
                return -EBADMSG;
        }
}
