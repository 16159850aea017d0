/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Names a client chose (principals, targets, user names, the command a
 * process gave itself: any UTF-8 but NUL) reach daemon log lines, journal
 * fields and sspictl tables. escape_text makes them inert: C0 and C1
 * controls (raw or UTF-8 encoded), DEL, backslash and bytes that are not
 * UTF-8 become \xNN, so a name can neither start a forged line nor drive a
 * terminal.
 *
 * Shared by the daemon (util/log.c) and sspictl (cli/sspictl.c), which
 * compiles this file alone: it includes nothing from daemon/.
 */
#define ESCAPE_TRUNCATED "...[truncated]"

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if
 * there is none (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
size_t escape_utf8_len(const unsigned char *s, size_t n);

/* Escapes at most `max` bytes of `in` into out (NUL-ended, cut with
 * ESCAPE_TRUNCATED if it does not fit; escapes are never cut in half);
 * returns the length written. */
size_t escape_text(char *out, size_t size, const char *in, size_t max);
