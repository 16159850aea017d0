/* SPDX-License-Identifier: MIT */
/* escape_text (daemon/util/escape.c, shared with sspictl) and log_name
 * (daemon/util/log.c): what a caller-chosen name becomes
 * in a log line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "tap.h"

static void esc(const char *in, const char *want, const char *what) {
        char out[LOG_NAME_BUF];

        escape_text(out, sizeof(out), in, LOG_NAME_MAX);
        ok(!strcmp(out, want), "%s: \"%s\"", what, out);
}

int main(void) {
        char long_in[LOG_NAME_MAX + 40], want[LOG_NAME_MAX + 40], buf[LOG_NAME_BUF], small[24];

        esc("alice@CORP", "alice@CORP", "plain ASCII unchanged");
        esc("J\xc3\xbcrgen \xe6\x97\xa5\xf0\x9f\x98\x80", "J\xc3\xbcrgen \xe6\x97\xa5\xf0\x9f\x98\x80",
            "UTF-8 letters and emoji unchanged");
        esc("a\nsspid: audit: uid 0", "a\\x0asspid: audit: uid 0", "newline escaped");
        esc("\r\t\x01\x1b]0;t\x07", "\\x0d\\x09\\x01\\x1b]0;t\\x07", "C0 controls escaped");
        esc("x\x7fy", "x\\x7fy", "DEL escaped");
        esc("\xc2\x9b" "31m\xc2\x85\xc2\xa0", "\\xc2\\x9b31m\\xc2\\x85\xc2\xa0", "UTF-8 encoded C1 escaped, U+00A0 kept");
        esc("a\\x1b", "a\\x5cx1b", "backslash escaped (no forged escapes)");
        esc("\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", "\\xff\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80",
            "invalid UTF-8, overlongs, surrogates, > U+10FFFF escaped byte by byte");
        esc("\xe6\x97", "\\xe6\\x97", "a cut sequence escaped");

        memset(long_in, 'A', sizeof(long_in) - 1);
        long_in[sizeof(long_in) - 1] = 0;
        memset(want, 'A', LOG_NAME_MAX);
        strcpy(want + LOG_NAME_MAX, LOG_TRUNCATED);
        esc(long_in, want, "a long name cut at LOG_NAME_MAX with the marker");
        /* A multi-byte character that crosses the bound is not split. */
        memset(long_in, 'A', LOG_NAME_MAX - 1);
        strcpy(long_in + LOG_NAME_MAX - 1, "\xc3\xbc" "BBB");
        memset(want, 'A', LOG_NAME_MAX - 1);
        strcpy(want + LOG_NAME_MAX - 1, LOG_TRUNCATED);
        esc(long_in, want, "a character across the bound is dropped whole");
        ok(!strcmp(log_name(long_in, buf), want), "log_name bounds the same way");
        ok(log_name("short", buf) != buf && !strcmp(log_name("short", buf), "short"), "log_name: a short name as is");
        /* The output buffer bounds too: escapes never cut in half. */
        escape_text(small, sizeof(small), "\x1b\x1b\x1b\x1b\x1b", 100);
        ok(!strcmp(small, "\\x1b\\x1b" LOG_TRUNCATED), "a small buffer: whole escapes, then the marker (\"%s\")", small);

        printf("# %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
