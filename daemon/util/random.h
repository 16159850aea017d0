/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/*
 * Random bytes from the kernel (getrandom), for everything the daemon makes
 * per request: handle ids, export tickets and, through Heimdal's RAND
 * method (packages/kerberos/kerberos-random.c), subkeys, confounders and
 * sequence numbers. Small requests are served from a page of getrandom()
 * output so that they cost no system call (random.c says why and what the
 * page is).
 *
 * Returns 0, or -errno when the kernel gave nothing (the buffer is then
 * zeroed, never left half-filled with something guessable).
 */
int random_bytes(void *buf, size_t n) _wur_;

/* Makes the page OpenSSL's RAND method (RAND_bytes, RAND_priv_bytes and
 * everything libssl and the providers draw). Call before any thread uses
 * OpenSSL. Returns 0 or -EINVAL. is_page: whether it is installed. */
int random_setup_openssl(void) _wur_;
bool random_openssl_is_page(void);

/* Bytes the page holds that were not handed out yet (tests). */
size_t random_page_left(void);

/* Wipes the page and what it still held (at the daemon's exit; tests). */
void random_forget(void);
