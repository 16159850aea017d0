/* SPDX-License-Identifier: MIT */
/* The unit tests' one check: a TAP line ("ok - ..." / "not ok - ...") and
 * the counts each test prints last ("N passed, N failed"). One test per
 * program, so the counters live here. */
#pragma once

#include <stdarg.h>
#include <stdio.h>

static int passed, failed;

static void ok(int cond, const char *fmt, ...) {
        va_list ap;
        printf("%s - ", cond ? "ok" : "not ok");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        cond ? passed++ : failed++;
}
