/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The admin socket (sspictl): length-prefixed protobuf messages from
 * proto/admin.proto, handled on the event loop without ever blocking it.
 * Only root and the configured admin group are answered (SO_PEERCRED).
 * The call statistics it shows are kept in core/stats.c.
 */

struct Server;

#define SSPID_VERSION "0.1.0"

/* Take connections on a listening admin socket. Loop thread. */
int admin_add_listener(struct Server *s, int fd) __attribute__((warn_unused_result));
/* Close every admin connection and the listener (at exit). Loop thread. */
void admin_shutdown(void);
