/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The admin socket (sspictl): length-prefixed protobuf messages from
 * proto/admin.proto, handled on the event loop without ever blocking it.
 * Only root and the configured admin group are answered (SO_PEERCRED).
 * Also keeps the call statistics that `sspictl stats` shows.
 */

#include <stdbool.h>
#include <stdint.h>

#include "sspi.h"

struct Server;
struct Job;

#define SSPID_VERSION "0.1.0"

/* Take connections on a listening admin socket. Loop thread. */
int admin_add_listener(struct Server *s, int fd) __attribute__((warn_unused_result));
/* Close every admin connection and the listener (at exit). Loop thread. */
void admin_shutdown(void);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t admin_now_usec(void);
/* One finished call: counted per function and package, with its latency
 * and, when it failed, its status. Any thread. */
void admin_record_call(struct Job *job, SECURITY_STATUS st, uint64_t usec);
/* A configuration reload happened (ok) or was refused. */
void admin_note_reload(bool ok);
