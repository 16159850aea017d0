/* SPDX-License-Identifier: MIT */
#pragma once

#include <netdb.h>
#include <stdint.h>

#include "util/util.h"

/* getaddrinfo(host, port, hints) that gives up at `deadline` (CLOCK_MONOTONIC,
 * milliseconds): a name server that never answers holds the caller no
 * longer than that. Returns 0 with *ret (freeaddrinfo() it), -ETIME at the
 * deadline, -EHOSTUNREACH when the name does not resolve, -ENOMEM. */
int resolve_until(const char *host, const char *port, const struct addrinfo *hints, uint64_t deadline,
                  struct addrinfo **ret) _wur_;
