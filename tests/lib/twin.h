/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Windows-behaviour suite (tests/windows/): every check names where the
 * expected value comes from — a Microsoft documentation page, a check of
 * Wine's dlls/secur32/tests that passes on real Windows, or the code of a
 * real SSPI client that runs on Windows. The source is printed with the
 * check, so a failure says what Windows does and who says so.
 *
 * Sources are short strings; use the W_* helpers so they read alike:
 *   W_WINE("ntlm.c", "testAuth")      Windows-verified in Wine's ntlm.c testAuth
 *   W_MSDOCS("DecryptMessage (General)")
 *   W_CLIENT("curl lib/vtls/schannel.c", "schannel_recv")
 */

#include <stdbool.h>

#include "testlib.h"

#define W_WINE(file, fn) "Windows-verified in Wine's secur32 " file " " fn
#define W_MSDOCS(page) "Microsoft docs: " page
#define W_CLIENT(what, fn) "real client " what " " fn
#define W_RFC(rfc) rfc

/* Exact status; the source is printed after the description. */
bool w_status(const char *src, SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Exact unsigned value (cbBuffer, BufferType, flags, sizes). */
bool w_eq(const char *src, unsigned long long got, unsigned long long want, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Any other condition. */
bool w_ok(const char *src, bool cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
