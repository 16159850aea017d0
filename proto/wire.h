/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The wire codec shared by libsspi and sspid: framing (a 32-bit big-endian
 * length followed by one Envelope), a bounded frame reader, and the
 * validation that runs after protobuf decoding (PROTOCOL.md "Validation").
 * No crypto, no Kerberos, nothing package-specific lives here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sspi.pb-c.h"

#define WIRE_VERSION_MAJOR 1
#define WIRE_VERSION_MINOR 0

#define WIRE_HEADER_SIZE        4u
#define WIRE_MAX_FRAME_DEFAULT  (1u << 20)
#define WIRE_MAX_BUFFERS        16u     /* SecBuffers in one descriptor */
#define WIRE_MAX_STRING         1024u   /* principal, target, package names (bytes) */
#define WIRE_MAX_IDENTITY_FIELD 1024u   /* user, domain, password (bytes of UTF-8) */
#define WIRE_MAX_SET_CTX_ATTR 4096u /* SetContextAttributes: the caller's cbBuffer */
#define WIRE_MAX_PROTECT_IDENTITY 0x20000u /* SspiEncryptAuthIdentityEx(SAME_LOGON): bytes to seal or open */
#define WIRE_MAX_PACKAGES       32u
#define WIRE_MAX_PEER_CHAIN     64u     /* certificates of REMOTE_CERT_CONTEXT's store */
#define WIRE_MAX_OUTPUT_CAP     (16u << 20) /* capacity a caller may announce */
/* A FILE ccache image: a TGT and service tickets of a few KiB each (more
 * with a large PAC); fits a default frame with room to spare. */
#define WIRE_MAX_CCACHE         (512u << 10)
#define WIRE_MAX_KCM_NAME       256u    /* AcquireCredReq.kcm_name (bytes) */
/* SECPKG_ATTR_KEYING_MATERIAL input (QueryCtxAttrReq.km_*): the query's
 * frame is at most 16 KiB (daemon/core/bounds.c). */
#define WIRE_MAX_KM_LABEL       1024u
#define WIRE_MAX_KM_CONTEXT     8192u
#define WIRE_MAX_KM_LENGTH      8192u

/*
 * A bounded buffer for bytes that came off a socket: frames are taken out
 * whole, a length above max_frame is refused before anything is allocated
 * for it, and the buffer never grows beyond max_frame + header.
 */
typedef struct WireReader {
        uint8_t *buf;
        size_t len;
        size_t cap;
        size_t off;           /* start of unconsumed data */
        uint32_t max_frame;
        /* A descriptor that came as SCM_RIGHTS with the bytes read (one at
         * most), valid while fd_pending: the request that claims it takes
         * it with wire_reader_take_fd(); wire_reader_done() closes an
         * unclaimed one. A flag, not -1, marks "none": a reader that is
         * all zeroes must never own descriptor 0. */
        int passed_fd;
        bool fd_pending;
} WireReader;

void wire_reader_init(WireReader *r, uint32_t max_frame);
void wire_reader_done(WireReader *r);

/* Reads what the socket has. Returns bytes read (> 0), 0 on EOF, -EAGAIN
 * when nothing is available, other negative errno on error. */
int wire_reader_fill(WireReader *r, int fd) __attribute__((warn_unused_result));

/* The same, waiting until at least one byte arrives (blocking read). */
int wire_reader_fill_wait(WireReader *r, int fd) __attribute__((warn_unused_result));
/* The same, waiting in poll(POLLIN) first: on an AF_UNIX stream socket a
 * reader asleep in recvmsg() is also woken each time the peer reads what
 * this end sent (unix_write_space's wake-up is not filtered by event for a
 * stream reader); poll()'s are, so only data wakes it, for one system call
 * more. */
int wire_reader_fill_poll(WireReader *r, int fd) __attribute__((warn_unused_result));
int wire_reader_fill_flags(WireReader *r, int fd, int recv_flags) __attribute__((warn_unused_result));

/* The descriptor passed with the bytes read so far, or -1; the caller owns
 * it from now on. A second descriptor while one is unclaimed, more than one
 * in a message or a truncated control message make wire_reader_fill*()
 * return -EPROTO (the extra descriptors are closed). */
int wire_reader_take_fd(WireReader *r);

/* Takes the next complete frame out of the buffer and decodes it.
 * Returns 1 with *ret set, 0 when more bytes are needed, -EMSGSIZE for an
 * oversized length, -EBADMSG for bytes that are not an Envelope. */
int wire_reader_next(WireReader *r, Sspiw__Envelope **ret) __attribute__((warn_unused_result));

/* True when a complete frame is buffered. */
bool wire_reader_has_frame(const WireReader *r);

/* Encodes one Envelope with its length prefix into a malloc()ed buffer. */
int wire_pack(const Sspiw__Envelope *e, uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* Writes all of buf to a blocking or non-blocking fd; for non-blocking fds
 * *written tells how far it got when -EAGAIN is returned. */
int wire_write_all(int fd, const uint8_t *buf, size_t len, size_t *written) __attribute__((warn_unused_result));

/* wire_write_all on a blocking fd, with `pass_fd` (>= 0) sent as SCM_RIGHTS
 * with the first byte of buf. */
int wire_write_all_fd(int fd, const uint8_t *buf, size_t len, int pass_fd) __attribute__((warn_unused_result));

void wire_free(Sspiw__Envelope *e);

/* Validation after decoding. 0 when the message is acceptable, -EBADMSG
 * otherwise; *ret_why names the rule that failed (a static string). */
int wire_validate_request(const Sspiw__Envelope *e, uint32_t max_frame, const char **ret_why)
        __attribute__((warn_unused_result));
int wire_validate_reply(const Sspiw__Envelope *e, uint32_t max_frame, const char **ret_why)
        __attribute__((warn_unused_result));

/* UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
bool wire_utf8_valid(const char *s, size_t len);
