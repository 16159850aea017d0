/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Raw frames for the adversarial tests: what a hostile client writes on the
 * daemon socket without libsspi (hand-encoded protobuf; the tests do not
 * link protobuf-c). A frame is a 4-byte big-endian length and an Envelope.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdaemon.h"

typedef struct TBuf {
        uint8_t *p;
        size_t len, cap;
} TBuf;

void tbuf_free(TBuf *b);
/* protobuf pieces */
void tbuf_varint(TBuf *b, uint64_t v);
void tbuf_tag(TBuf *b, uint32_t field, unsigned wire_type);
void tbuf_bytes(TBuf *b, uint32_t field, const void *p, size_t n);
/* `n` unknown varint fields (number 1000, 3 bytes each). */
void tbuf_unknown_fields(TBuf *b, size_t n);
/* One unknown length-delimited field (number 1001) of n bytes. */
void tbuf_unknown_blob(TBuf *b, size_t n);

/* Frames: body is an encoded Envelope; returns a frame (length + body). */
TBuf tframe_wrap(const TBuf *envelope);
/* Hello 1.0, padded with `unknown` unknown fields inside the HelloReq. */
TBuf tframe_hello(uint64_t call_id, size_t unknown);
/* EnumPackagesReq. */
TBuf tframe_enum(uint64_t call_id);
/* AcquireCredReq for Kerberos with a password identity (alice), carrying
 * one unknown field of `pad` bytes: decoded, the job keeps it. */
TBuf tframe_acquire_krb(uint64_t call_id, size_t pad);

/* Non-blocking connect to the daemon socket: fd, or -1 (backlog full,
 * refused). */
int tframe_connect(const TDaemon *d);
/* Writes all of p (blocking with poll, at most timeout_ms). */
bool tframe_send(int fd, const void *p, size_t n, int timeout_ms);
/* Whether the daemon closed fd: waits up to ms for EOF/ECONNRESET. Data
 * arriving is read and ignored. */
bool tframe_closed(int fd, int ms);
/* Raise this process's soft RLIMIT_NOFILE to its hard limit. */
void tframe_raise_nofile(void);
/* Shared memory for counters between a test and its forked attackers. */
void *tframe_shared(size_t size);

/* KCM (issue 15 item 7). An AcquireCredReq{Kerberos, OUTBOUND, kcm_name ""}
 * with `n` (0..4) descriptors as SCM_RIGHTS on its bytes, on a blocking
 * socket. */
bool tframe_send_kcm_acquire(int sock, uint64_t call_id, const int *fds, int n);
/* Any frame with one descriptor as SCM_RIGHTS. */
bool tframe_send_fd(int sock, const TBuf *frame, int fd);
/* The status (Envelope field 2) of the next reply on sock, 0 when it has
 * none; TFRAME_NO_REPLY when nothing (whole) came within timeout_ms or the
 * connection was closed. */
#define TFRAME_NO_REPLY ((int64_t) 1 << 40)
int64_t tframe_reply_status(int sock, int timeout_ms);
