/* SPDX-License-Identifier: MIT */
#include "twin.h"

#include <stdarg.h>
#include <stdio.h>

static bool report(const char *src, bool cond, const char *extra, const char *fmt, va_list ap) {
        char what[512];

        vsnprintf(what, sizeof(what), fmt, ap);
        if (cond || !extra)
                t_ok(cond, "%s [%s]", what, src);
        else
                t_ok(cond, "%s [%s]: %s", what, src, extra);
        return cond;
}

bool w_status(const char *src, SECURITY_STATUS got, SECURITY_STATUS want, const char *fmt, ...) {
        char extra[160];
        va_list ap;
        bool r;

        snprintf(extra, sizeof(extra), "got %s (0x%08x), want %s (0x%08x)", status_name(got), (unsigned) got,
                 status_name(want), (unsigned) want);
        va_start(ap, fmt);
        r = report(src, got == want, extra, fmt, ap);
        va_end(ap);
        return r;
}

bool w_eq(const char *src, unsigned long long got, unsigned long long want, const char *fmt, ...) {
        char extra[96];
        va_list ap;
        bool r;

        snprintf(extra, sizeof(extra), "got %llu (0x%llx), want %llu (0x%llx)", got, got, want, want);
        va_start(ap, fmt);
        r = report(src, got == want, extra, fmt, ap);
        va_end(ap);
        return r;
}

bool w_ok(const char *src, bool cond, const char *fmt, ...) {
        va_list ap;
        bool r;

        va_start(ap, fmt);
        r = report(src, cond, NULL, fmt, ap);
        va_end(ap);
        return r;
}
