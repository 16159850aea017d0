/* SPDX-License-Identifier: MIT */
#pragma once

#include "core/server.h"

/* Accept connections on an already bound+listening socket (API socket). */
int loop_add_listener(Server *s, int fd) __attribute__((warn_unused_result));
/* The eventfd by which workers ask the loop for EPOLLOUT. */
int loop_setup_wake(Server *s) __attribute__((warn_unused_result));
/* Close every connection (at exit). Loop thread. */
void loop_close_all(Server *s);
/* Start the once-a-second sweep (timeouts, memory back). Loop thread. */
int loop_setup_sweep(Server *s) __attribute__((warn_unused_result));
/* True when a non-root connection must be refused to keep fd-reserve
 * descriptors for root and the admin socket. */
bool loop_fds_tight(Server *s);
