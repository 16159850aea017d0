/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Limits that keep one local user from exhausting the daemon (issue 11,
 * findings 3, 4, 9 and 14): descriptors, decode work, connection hygiene.
 *
 * Descriptors. At start the soft RLIMIT_NOFILE is raised to the hard one.
 * Client sockets are then moved to numbers >= LIMITS_FD_FLOOR, so that the
 * low range stays for the libraries: Heimdal's KDC traffic waits with
 * select() (lib/krb5/send_to_kdc.c), which cannot watch a descriptor >=
 * FD_SETSIZE (1024); with client sockets down there, root's Kerberos
 * requests failed as soon as a thousand connections were open. A reserve of
 * descriptors below the limit is kept for root and the admin socket.
 *
 * Decode work. Every frame is pre-scanned before protobuf-c decodes it:
 * size limits per message type (a Hello is tiny), a bound on unknown fields
 * and on fields in all; the scan walks the bytes with the message
 * descriptors and allocates nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIMITS_FD_FLOOR 1024
/* Defaults of max-unknown-fields and max-fields: unknown fields accepted
 * in one frame (a newer minor version may add a few); fields in all
 * (SecBuffers, certificates and ALPN ids are at most tens). Frames beyond
 * either are refused before decoding. */
#define LIMITS_MAX_UNKNOWN 16u
#define LIMITS_MAX_FIELDS 4096u
#define LIMITS_MAX_DEPTH 16u
/* A Hello frame: two small numbers and an envelope. */
#define LIMITS_MAX_HELLO 4096u

/* Raise the soft descriptor limit to the hard one; returns the new soft
 * limit. Decides whether client sockets go above LIMITS_FD_FLOOR. */
unsigned long limits_setup_fds(void);
/* The current soft limit (re-read: an administrator may prlimit(1) us). */
unsigned long limits_fd_max(void);
/* Move a freshly accepted socket above the floor (when the limit has room
 * for that); returns the descriptor to use, the same one when it stays. */
int limits_move_fd(int fd);

/* Checks a frame's body (the bytes after the length) before decoding.
 * 0 when it may be decoded; -EMSGSIZE (too big for its message type) or
 * -EBADMSG with *ret_why naming the rule (a static string). */
int limits_precheck_frame(const uint8_t *p, size_t n, unsigned max_unknown, unsigned max_fields, const char **ret_why)
        __attribute__((warn_unused_result));
/* The same on the start of a frame whose rest has not arrived: refuses it
 * early when the limits are already passed (0 otherwise), before memory
 * for the whole frame is taken and its bytes copied. */
int limits_precheck_prefix(const uint8_t *p, size_t n, unsigned max_unknown, unsigned max_fields,
                           const char **ret_why) __attribute__((warn_unused_result));
