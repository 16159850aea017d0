/* SPDX-License-Identifier: MIT */
#include "core/bounds.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/log.h"
#include "sspi.pb-c.h"

static bool fd_floor;

unsigned long limits_fd_max(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return 1024;
        return (unsigned long) rl.rlim_cur;
}

unsigned long limits_setup_fds(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning("cannot raise the descriptor limit: %m");
        }
        /* Only worth it when the range above the floor is at least as big
         * as the one below: otherwise keep sockets where they land. */
        fd_floor = limits_fd_max() >= 2 * LIMITS_FD_FLOOR;
        if (!fd_floor)
                log_notice("descriptor limit %lu: client sockets share the range below %d with the Kerberos "
                           "library (raise LimitNOFILE= to keep them apart)",
                           limits_fd_max(), LIMITS_FD_FLOOR);
        return limits_fd_max();
}

int limits_move_fd(int fd) {
        int nfd;

        if (!fd_floor || fd >= LIMITS_FD_FLOOR)
                return fd;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, LIMITS_FD_FLOOR);
        if (nfd < 0)
                return fd; /* the high range is full: a low number is better than none */
        close(fd);
        return nfd;
}

/* ---- pre-scan of a frame ---- */

typedef struct Scan {
        unsigned fields, max_fields;
        unsigned unknown, max_unknown;
        bool prefix;                    /* only the start of the frame is here */
        const char *why;
} Scan;

static int get_varint(const uint8_t *p, size_t n, size_t *off, uint64_t *ret) {
        uint64_t v = 0;

        for (unsigned shift = 0; shift < 64; shift += 7) {
                uint8_t b;

                if (*off >= n)
                        return -EBADMSG;
                b = p[(*off)++];
                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* The bytes end inside a field: malformed for a whole frame; for the start
 * of one, the scan simply ends there (1). */
static int truncated(Scan *st, const char *why) {
        if (st->prefix)
                return 1;
        st->why = why;
        return -EBADMSG;
}

/* Walks one message's fields; calls itself for known sub-messages. For the
 * envelope (depth 0) reports the number of the oneof body field. Returns
 * 0, 1 (prefix scanned to its end) or -EBADMSG. */
static int scan_message(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, unsigned depth, Scan *st,
                        uint32_t *ret_body) {
        size_t off = 0;

        if (depth > LIMITS_MAX_DEPTH) {
                st->why = "messages nested too deep";
                return -EBADMSG;
        }
        while (off < n) {
                const ProtobufCFieldDescriptor *f;
                uint64_t tag, len;
                uint32_t number;
                int r;

                if (get_varint(p, n, &off, &tag) < 0)
                        return truncated(st, "malformed field tag");
                if ((tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) {
                        st->why = "malformed field tag";
                        return -EBADMSG;
                }
                number = (uint32_t) (tag >> 3);
                if (++st->fields > st->max_fields) {
                        st->why = "too many fields";
                        return -EBADMSG;
                }
                f = protobuf_c_message_descriptor_get_field(d, number);
                if (!f && ++st->unknown > st->max_unknown) {
                        st->why = "too many unknown fields";
                        return -EBADMSG;
                }
                switch (tag & 7) {
                case 0:
                        if (get_varint(p, n, &off, &len) < 0)
                                return truncated(st, "malformed varint");
                        break;
                case 1:
                case 5:
                        if (n - off < ((tag & 7) == 1 ? 8u : 4u))
                                return truncated(st, "truncated field");
                        off += (tag & 7) == 1 ? 8 : 4;
                        break;
                case 2:
                        if (get_varint(p, n, &off, &len) < 0)
                                return truncated(st, "truncated field");
                        if (len > n - off) {
                                if (!st->prefix) {
                                        st->why = "truncated field";
                                        return -EBADMSG;
                                }
                                /* the rest of this prefix lies inside the field */
                                if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                                        r = scan_message(f->descriptor, p + off, n - off, depth + 1, st, NULL);
                                        if (r < 0)
                                                return r;
                                }
                                return 1;
                        }
                        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                                r = scan_message(f->descriptor, p + off, (size_t) len, depth + 1, st, NULL);
                                if (r != 0)
                                        return r;
                                if (ret_body && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                                        *ret_body = number; /* a member of the oneof */
                        }
                        off += (size_t) len;
                        break;
                default:
                        /* groups (3, 4) and reserved wire types: no sspid message has them */
                        st->why = "unsupported wire type";
                        return -EBADMSG;
                }
        }
        return 0;
}

/* Frame size by message type, for requests that carry nothing big: their
 * whole frame fits easily in these figures. Others are bounded by
 * max-frame alone. */
static size_t type_limit(uint32_t body) {
        switch (body) {
        case SSPIW__ENVELOPE__BODY_HELLO:
                return LIMITS_MAX_HELLO;
        case SSPIW__ENVELOPE__BODY_ENUM_PACKAGES:
        case SSPIW__ENVELOPE__BODY_FREE_CRED:
        case SSPIW__ENVELOPE__BODY_DELETE_CTX:
                return 4096;
        case SSPIW__ENVELOPE__BODY_QUERY_PACKAGE:
        case SSPIW__ENVELOPE__BODY_QUERY_CRED_ATTR:
        case SSPIW__ENVELOPE__BODY_QUERY_CTX_ATTR:
                return 16384;
        default:
                return SIZE_MAX;
        }
}

int limits_precheck_frame(const uint8_t *p, size_t n, unsigned max_unknown, unsigned max_fields, const char **ret_why) {
        Scan st = { .max_unknown = max_unknown, .max_fields = max_fields };
        uint32_t body = 0;
        int r;

        /* The size for the type first: the body field's tag is usually
         * among the first bytes, but a padded frame may put it last, so
         * the scan below (bounded by the field counts) finds it anyway. */
        r = scan_message(&sspiw__envelope__descriptor, p, n, 0, &st, &body);
        if (r < 0) {
                *ret_why = st.why;
                return r;
        }
        if (r > 0) {
                *ret_why = "truncated frame";
                return -EBADMSG;
        }
        if (n > type_limit(body)) {
                *ret_why = "frame too big for its message type";
                return -EMSGSIZE;
        }
        return 0;
}

int limits_precheck_prefix(const uint8_t *p, size_t n, unsigned max_unknown, unsigned max_fields,
                           const char **ret_why) {
        Scan st = { .max_unknown = max_unknown, .max_fields = max_fields, .prefix = true };
        int r;

        r = scan_message(&sspiw__envelope__descriptor, p, n, 0, &st, NULL);
        if (r < 0) {
                *ret_why = st.why;
                return r;
        }
        return 0;
}
