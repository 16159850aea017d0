/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Helpers shared by the example programs: status and flag names, timing,
 * FILETIME printing, and the framing both peers use on their TCP socket.
 *
 * Header-only on purpose: the Makefile builds every examples/NAME.c into its
 * own program, so there is no place for a shared .c file. Everything here is
 * `static inline` so that a program which does not use a helper gets no
 * "defined but not used" warning (the build uses -Werror).
 *
 * Wire framing (see examples/README.md):
 *   frame   = u32 length (big endian) + that many bytes; at most FRAME_MAX.
 *   record  = one frame whose body is: u8 kind, then for every kind except
 *             RECORD_QUIT three parts, each a u32 length (big endian) + bytes:
 *             token (security trailer or signature), data, padding.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sspi.h"

#ifdef EXAMPLE_NAME
/* SIGALRM handler of the programs' overall time limit: only
 * async-signal-safe calls. */
static void on_alarm(int sig) {
        static const char msg[] = EXAMPLE_NAME ": timed out, giving up\n";

        (void) sig;
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
                /* nothing left to report it to */
        }
        _exit(1);
}

/* One failure line on stderr, after whatever stdout holds. */
__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs(EXAMPLE_NAME ": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
#endif

/* Larger than any Kerberos token or example message; refused before any
 * allocation so that a confused peer cannot make us allocate gigabytes. */
#define FRAME_MAX (1u << 20)

/* Record kinds of the message phase. */
#define RECORD_SEALED 'E'       /* EncryptMessage output: trailer token, data, padding */
#define RECORD_SIGNED 'S'       /* MakeSignature output: signature token, clear data, no padding */
#define RECORD_QUIT   'Q'       /* end of the conversation; no parts */

/* ---- status and flag names ---- */

typedef struct NamedValue {
        uint32_t value;
        const char *name;
} NamedValue;

#define NV(x) { (uint32_t) (x), #x }

static const NamedValue status_names[] = {
        NV(SEC_E_OK),
        NV(SEC_I_CONTINUE_NEEDED),
        NV(SEC_I_COMPLETE_NEEDED),
        NV(SEC_I_COMPLETE_AND_CONTINUE),
        NV(SEC_I_LOCAL_LOGON),
        NV(SEC_I_GENERIC_EXTENSION_RECEIVED),
        NV(SEC_I_CONTEXT_EXPIRED),
        NV(SEC_I_INCOMPLETE_CREDENTIALS),
        NV(SEC_I_RENEGOTIATE),
        NV(SEC_I_NO_LSA_CONTEXT),
        NV(SEC_I_SIGNATURE_NEEDED),
        NV(SEC_I_NO_RENEGOTIATION),
        NV(SEC_I_MESSAGE_FRAGMENT),
        NV(SEC_I_CONTINUE_NEEDED_MESSAGE_OK),
        NV(SEC_I_ASYNC_CALL_PENDING),
        NV(SEC_E_INSUFFICIENT_MEMORY),
        NV(SEC_E_INVALID_HANDLE),
        NV(SEC_E_UNSUPPORTED_FUNCTION),
        NV(SEC_E_TARGET_UNKNOWN),
        NV(SEC_E_INTERNAL_ERROR),
        NV(SEC_E_SECPKG_NOT_FOUND),
        NV(SEC_E_NOT_OWNER),
        NV(SEC_E_CANNOT_INSTALL),
        NV(SEC_E_INVALID_TOKEN),
        NV(SEC_E_CANNOT_PACK),
        NV(SEC_E_QOP_NOT_SUPPORTED),
        NV(SEC_E_NO_IMPERSONATION),
        NV(SEC_E_LOGON_DENIED),
        NV(SEC_E_UNKNOWN_CREDENTIALS),
        NV(SEC_E_NO_CREDENTIALS),
        NV(SEC_E_MESSAGE_ALTERED),
        NV(SEC_E_OUT_OF_SEQUENCE),
        NV(SEC_E_NO_AUTHENTICATING_AUTHORITY),
        NV(SEC_E_BAD_PKGID),
        NV(SEC_E_CONTEXT_EXPIRED),
        NV(SEC_E_INCOMPLETE_MESSAGE),
        NV(SEC_E_INCOMPLETE_CREDENTIALS),
        NV(SEC_E_BUFFER_TOO_SMALL),
        NV(SEC_E_WRONG_PRINCIPAL),
        NV(SEC_E_TIME_SKEW),
        NV(SEC_E_UNTRUSTED_ROOT),
        NV(SEC_E_ILLEGAL_MESSAGE),
        NV(SEC_E_CERT_UNKNOWN),
        NV(SEC_E_CERT_EXPIRED),
        NV(SEC_E_ENCRYPT_FAILURE),
        NV(SEC_E_DECRYPT_FAILURE),
        NV(SEC_E_ALGORITHM_MISMATCH),
        NV(SEC_E_SECURITY_QOS_FAILED),
        NV(SEC_E_UNFINISHED_CONTEXT_DELETED),
        NV(SEC_E_NO_TGT_REPLY),
        NV(SEC_E_NO_IP_ADDRESSES),
        NV(SEC_E_WRONG_CREDENTIAL_HANDLE),
        NV(SEC_E_CRYPTO_SYSTEM_INVALID),
        NV(SEC_E_MAX_REFERRALS_EXCEEDED),
        NV(SEC_E_MUST_BE_KDC),
        NV(SEC_E_STRONG_CRYPTO_NOT_SUPPORTED),
        NV(SEC_E_TOO_MANY_PRINCIPALS),
        NV(SEC_E_NO_PA_DATA),
        NV(SEC_E_PKINIT_NAME_MISMATCH),
        NV(SEC_E_SMARTCARD_LOGON_REQUIRED),
        NV(SEC_E_SHUTDOWN_IN_PROGRESS),
        NV(SEC_E_KDC_INVALID_REQUEST),
        NV(SEC_E_KDC_UNABLE_TO_REFER),
        NV(SEC_E_KDC_UNKNOWN_ETYPE),
        NV(SEC_E_UNSUPPORTED_PREAUTH),
        NV(SEC_E_DELEGATION_REQUIRED),
        NV(SEC_E_BAD_BINDINGS),
        NV(SEC_E_MULTIPLE_ACCOUNTS),
        NV(SEC_E_NO_KERB_KEY),
        NV(SEC_E_CERT_WRONG_USAGE),
        NV(SEC_E_DOWNGRADE_DETECTED),
        NV(SEC_E_SMARTCARD_CERT_REVOKED),
        NV(SEC_E_ISSUING_CA_UNTRUSTED),
        NV(SEC_E_REVOCATION_OFFLINE_C),
        NV(SEC_E_PKINIT_CLIENT_FAILURE),
        NV(SEC_E_SMARTCARD_CERT_EXPIRED),
        NV(SEC_E_NO_S4U_PROT_SUPPORT),
        NV(SEC_E_CROSSREALM_DELEGATION_FAILURE),
        NV(SEC_E_REVOCATION_OFFLINE_KDC),
        NV(SEC_E_ISSUING_CA_UNTRUSTED_KDC),
        NV(SEC_E_KDC_CERT_EXPIRED),
        NV(SEC_E_KDC_CERT_REVOKED),
        NV(SEC_E_INVALID_PARAMETER),
        NV(SEC_E_DELEGATION_POLICY),
        NV(SEC_E_POLICY_NLTM_ONLY),
        NV(SEC_E_NO_CONTEXT),
        NV(SEC_E_PKU2U_CERT_FAILURE),
        NV(SEC_E_MUTUAL_AUTH_FAILED),
        NV(SEC_E_ONLY_HTTPS_ALLOWED),
        NV(SEC_E_APPLICATION_PROTOCOL_MISMATCH),
        NV(SEC_E_INVALID_UPN_NAME),
        NV(SEC_E_EXT_BUFFER_TOO_SMALL),
        NV(SEC_E_INSUFFICIENT_BUFFERS),
};

/* The winerror.h name of a status, or its hex value when it has none here.
 * Unknown values are formatted into one of a few rotating static buffers so
 * that a single printf() may show several of them. */
static inline const char *status_name(SECURITY_STATUS st) {
        static __thread char unknown[4][16];
        static __thread unsigned next;
        char *buf;

        for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
                if (status_names[i].value == (uint32_t) st)
                        return status_names[i].name;
        buf = unknown[next++ % 4];
        snprintf(buf, sizeof(unknown[0]), "0x%08X", (unsigned) st);
        return buf;
}

/* ISC_RET_* and ASC_RET_* that fit the 32-bit attribute word. Several ASC
 * values differ from their ISC namesakes (INTEGRITY is 0x10000 for ISC but
 * 0x20000 for ASC), hence two tables. */
static const NamedValue isc_ret_names[] = {
        { ISC_RET_DELEGATE, "DELEGATE" },
        { ISC_RET_MUTUAL_AUTH, "MUTUAL_AUTH" },
        { ISC_RET_REPLAY_DETECT, "REPLAY_DETECT" },
        { ISC_RET_SEQUENCE_DETECT, "SEQUENCE_DETECT" },
        { ISC_RET_CONFIDENTIALITY, "CONFIDENTIALITY" },
        { ISC_RET_USE_SESSION_KEY, "USE_SESSION_KEY" },
        { ISC_RET_USED_COLLECTED_CREDS, "USED_COLLECTED_CREDS" },
        { ISC_RET_USED_SUPPLIED_CREDS, "USED_SUPPLIED_CREDS" },
        { ISC_RET_ALLOCATED_MEMORY, "ALLOCATED_MEMORY" },
        { ISC_RET_USED_DCE_STYLE, "USED_DCE_STYLE" },
        { ISC_RET_DATAGRAM, "DATAGRAM" },
        { ISC_RET_CONNECTION, "CONNECTION" },
        { ISC_RET_INTERMEDIATE_RETURN, "INTERMEDIATE_RETURN" },
        { ISC_RET_CALL_LEVEL, "CALL_LEVEL" },
        { ISC_RET_EXTENDED_ERROR, "EXTENDED_ERROR" },
        { ISC_RET_STREAM, "STREAM" },
        { ISC_RET_INTEGRITY, "INTEGRITY" },
        { ISC_RET_IDENTIFY, "IDENTIFY" },
        { ISC_RET_NULL_SESSION, "NULL_SESSION" },
        { ISC_RET_MANUAL_CRED_VALIDATION, "MANUAL_CRED_VALIDATION" },
        { ISC_RET_RESERVED1, "RESERVED1" },
        { ISC_RET_FRAGMENT_ONLY, "FRAGMENT_ONLY" },
        { ISC_RET_FORWARD_CREDENTIALS, "FORWARD_CREDENTIALS" },
        { ISC_RET_USED_HTTP_STYLE, "USED_HTTP_STYLE" },
        { ISC_RET_NO_ADDITIONAL_TOKEN, "NO_ADDITIONAL_TOKEN" },
        { ISC_RET_REAUTHENTICATION, "REAUTHENTICATION" },
        { ISC_RET_CONFIDENTIALITY_ONLY, "CONFIDENTIALITY_ONLY" },
};

static const NamedValue asc_ret_names[] = {
        { ASC_RET_DELEGATE, "DELEGATE" },
        { ASC_RET_MUTUAL_AUTH, "MUTUAL_AUTH" },
        { ASC_RET_REPLAY_DETECT, "REPLAY_DETECT" },
        { ASC_RET_SEQUENCE_DETECT, "SEQUENCE_DETECT" },
        { ASC_RET_CONFIDENTIALITY, "CONFIDENTIALITY" },
        { ASC_RET_USE_SESSION_KEY, "USE_SESSION_KEY" },
        { ASC_RET_SESSION_TICKET, "SESSION_TICKET" },
        { ASC_RET_ALLOCATED_MEMORY, "ALLOCATED_MEMORY" },
        { ASC_RET_USED_DCE_STYLE, "USED_DCE_STYLE" },
        { ASC_RET_DATAGRAM, "DATAGRAM" },
        { ASC_RET_CONNECTION, "CONNECTION" },
        { ASC_RET_CALL_LEVEL, "CALL_LEVEL" },
        { ASC_RET_THIRD_LEG_FAILED, "THIRD_LEG_FAILED" },
        { ASC_RET_EXTENDED_ERROR, "EXTENDED_ERROR" },
        { ASC_RET_STREAM, "STREAM" },
        { ASC_RET_INTEGRITY, "INTEGRITY" },
        { ASC_RET_LICENSING, "LICENSING" },
        { ASC_RET_IDENTIFY, "IDENTIFY" },
        { ASC_RET_NULL_SESSION, "NULL_SESSION" },
        { ASC_RET_ALLOW_NON_USER_LOGONS, "ALLOW_NON_USER_LOGONS" },
        { ASC_RET_ALLOW_CONTEXT_REPLAY, "ALLOW_CONTEXT_REPLAY" },
        { ASC_RET_FRAGMENT_ONLY, "FRAGMENT_ONLY" },
        { ASC_RET_NO_TOKEN, "NO_TOKEN" },
        { ASC_RET_NO_ADDITIONAL_TOKEN, "NO_ADDITIONAL_TOKEN" },
};

/* "NAME|NAME|0x..." for a flag word; bits without a name are shown in hex
 * so that nothing the package granted goes unseen. */
static inline const char *flags_string(uint32_t flags, const NamedValue *names, size_t n, char *buf, size_t size) {
        size_t used = 0;
        uint32_t rest = flags;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                if (!(flags & names[i].value))
                        continue;
                rest &= ~names[i].value;
                used += (size_t) snprintf(buf + used, used < size ? size - used : 0, "%s%s", used ? "|" : "",
                                          names[i].name);
        }
        if (rest)
                used += (size_t) snprintf(buf + used, used < size ? size - used : 0, "%s0x%x", used ? "|" : "",
                                          (unsigned) rest);
        if (used == 0)
                snprintf(buf, size, "none");
        return buf;
}

#define ISC_FLAGS_STRING(f, buf) flags_string((f), isc_ret_names, sizeof(isc_ret_names) / sizeof(isc_ret_names[0]), \
                                              (buf), sizeof(buf))
#define ASC_FLAGS_STRING(f, buf) flags_string((f), asc_ret_names, sizeof(asc_ret_names) / sizeof(asc_ret_names[0]), \
                                              (buf), sizeof(buf))

/* ---- time ---- */

/* Monotonic microseconds: step timings must not jump with the wall clock. */
static inline uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* A duration right-aligned in a fixed width, the unit always last, so that
 * columns line up although "µs" is two bytes but one column. */
static inline const char *duration_string(uint64_t us, char *buf, size_t size) {
        if (us < 1000)
                snprintf(buf, size, "%7llu µs", (unsigned long long) us);
        else if (us < 1000000)
                snprintf(buf, size, "%7.2f ms", (double) us / 1000.0);
        else
                snprintf(buf, size, "%7.2f s ", (double) us / 1000000.0);
        return buf;
}

/* The same without the alignment padding, for use inside a sentence. */
static inline const char *duration_text(uint64_t us, char *buf, size_t size) {
        const char *p = duration_string(us, buf, size);

        while (*p == ' ')
                p++;
        return p;
}

/* FILETIME: 100 ns units since 1601-01-01 UTC. */
#define EXAMPLE_FILETIME_UNIX_EPOCH 116444736000000000LL

static inline bool timestamp_is_never(const TimeStamp *t) {
        /* Packages say "does not expire" with the largest positive value. */
        return t->QuadPart == INT64_MAX;
}

static inline time_t timestamp_to_unix(const TimeStamp *t) {
        return (time_t) ((t->QuadPart - EXAMPLE_FILETIME_UNIX_EPOCH) / 10000000LL);
}

static inline const char *timestamp_string(const TimeStamp *t, char *buf, size_t size) {
        struct tm tm;
        time_t u;

        if (timestamp_is_never(t)) {
                snprintf(buf, size, "never");
                return buf;
        }
        u = timestamp_to_unix(t);
        if (!gmtime_r(&u, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "(FILETIME %lld)", (long long) t->QuadPart);
        return buf;
}

/* ---- socket I/O ---- */

/* MSG_NOSIGNAL: a peer that went away is an error to report, not a SIGPIPE
 * that kills us before we can say what happened. */
static inline int io_write_all(int fd, const void *p, size_t n) {
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

/* 0 when all n bytes were read; -ENODATA on end of stream before the first
 * byte (a clean close); -EPROTO when the stream ends in the middle. */
static inline int io_read_all(int fd, void *p, size_t n) {
        uint8_t *b = p;
        size_t got = 0;

        while (got < n) {
                ssize_t k = read(fd, b + got, n - got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return got == 0 ? -ENODATA : -EPROTO;
                got += (size_t) k;
        }
        return 0;
}

static inline void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static inline uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* One frame: header and body in a single write, so that the peer never sees
 * a header whose body is delayed by Nagle. */
static inline int frame_send(int fd, const void *body, uint32_t len) {
        uint8_t *buf;
        int r;

        if (len > FRAME_MAX)
                return -EMSGSIZE;
        buf = malloc((size_t) len + 4);
        if (!buf)
                return -ENOMEM;
        put_be32(buf, len);
        if (len)
                memcpy(buf + 4, body, len);
        r = io_write_all(fd, buf, (size_t) len + 4);
        free(buf);
        return r;
}

/* Reads one frame into a malloc()ed buffer (never NULL on success, even for
 * an empty frame). Returns 0, -ENODATA on a clean close before the frame,
 * -EMSGSIZE for a frame above FRAME_MAX, or another negative errno. */
static inline int frame_recv(int fd, uint8_t **ret, uint32_t *ret_len) {
        uint8_t hdr[4], *buf;
        uint32_t len;
        int r;

        r = io_read_all(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        len = get_be32(hdr);
        if (len > FRAME_MAX)
                return -EMSGSIZE;
        buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        r = io_read_all(fd, buf, len);
        if (r < 0) {
                free(buf);
                return r == -ENODATA ? -EPROTO : r;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* ---- records of the message phase ---- */

typedef struct RecordPart {
        uint8_t *data;          /* points into the record's frame buffer */
        uint32_t len;
} RecordPart;

typedef struct Record {
        uint8_t kind;
        RecordPart token, data, padding;
        uint8_t *frame;         /* owns the memory the parts point into */
} Record;

static inline void record_done(Record *r) {
        free(r->frame);
        *r = (Record) { 0 };
}

/* Sends kind + token + data + padding as one frame. */
static inline int record_send(int fd, uint8_t kind, const void *token, uint32_t token_len, const void *data,
                              uint32_t data_len, const void *padding, uint32_t padding_len) {
        const void *parts[3] = { token, data, padding };
        uint32_t lens[3] = { token_len, data_len, padding_len };
        uint64_t total = 1;
        uint8_t *buf, *p;
        int r;

        if (kind != RECORD_QUIT)
                total += 12ull + token_len + data_len + padding_len;
        if (total > FRAME_MAX)
                return -EMSGSIZE;
        buf = malloc((size_t) total);
        if (!buf)
                return -ENOMEM;
        p = buf;
        *p++ = kind;
        if (kind != RECORD_QUIT)
                for (size_t i = 0; i < 3; i++) {
                        put_be32(p, lens[i]);
                        p += 4;
                        if (lens[i])
                                memcpy(p, parts[i], lens[i]);
                        p += lens[i];
                }
        r = frame_send(fd, buf, (uint32_t) total);
        free(buf);
        return r;
}

/* Reads and splits one record. Every length is checked against what is
 * left of the frame, and the parts must use the frame exactly: a record
 * with trailing bytes is as malformed as a truncated one. Returns 0,
 * -ENODATA on a clean close, -EBADMSG for a malformed record, or another
 * negative errno. */
static inline int record_recv(int fd, Record *ret) {
        RecordPart *parts[3];
        Record rec = { 0 };
        uint32_t len, off = 1;
        int r;

        r = frame_recv(fd, &rec.frame, &len);
        if (r < 0)
                return r;
        if (len < 1)
                goto bad;
        rec.kind = rec.frame[0];
        if (rec.kind == RECORD_QUIT) {
                if (len != 1)
                        goto bad;
                *ret = rec;
                return 0;
        }
        if (rec.kind != RECORD_SEALED && rec.kind != RECORD_SIGNED)
                goto bad;
        parts[0] = &rec.token;
        parts[1] = &rec.data;
        parts[2] = &rec.padding;
        for (size_t i = 0; i < 3; i++) {
                uint32_t n;

                if (len - off < 4)
                        goto bad;
                n = get_be32(rec.frame + off);
                off += 4;
                if (n > len - off)
                        goto bad;
                parts[i]->data = rec.frame + off;
                parts[i]->len = n;
                off += n;
        }
        if (off != len)
                goto bad;
        *ret = rec;
        return 0;
bad:
        free(rec.frame);
        return -EBADMSG;
}

/* ---- misc ---- */

/* The library reports an unreachable daemon as SEC_E_INTERNAL_ERROR (alias
 * SEC_E_NO_SPM); say where it looked, since that is the usual cause. */
static inline const char *daemon_hint(SECURITY_STATUS st, char *buf, size_t size) {
        const char *path = getenv("SSPID_SOCKET");

        if (st != SEC_E_INTERNAL_ERROR) {
                buf[0] = '\0';
                return buf;
        }
        snprintf(buf, size, " (SEC_E_NO_SPM: is sspid running at %s?)",
                 path && *path ? path : "/run/sspid/sspid.sock (set SSPID_SOCKET)");
        return buf;
}

/* A short, safe preview of message data for the log: text as text, anything
 * else as a byte count. */
static inline const char *preview(const void *p, size_t n, char *buf, size_t size) {
        const uint8_t *b = p;
        bool text = true;

        for (size_t i = 0; i < n; i++)
                if (b[i] < 0x20 || b[i] == 0x7f) {
                        text = false;
                        break;
                }
        if (!text) {
                snprintf(buf, size, "<%zu bytes of binary data>", n);
                return buf;
        }
        if (n + 3 > size)
                snprintf(buf, size, "\"%.*s...\"", (int) (size > 8 ? size - 8 : 0), (const char *) p);
        else
                snprintf(buf, size, "\"%.*s\"", (int) n, (const char *) p);
        return buf;
}
