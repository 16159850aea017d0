/* SPDX-License-Identifier: MIT */
#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

static bool use_journal;
static int max_level = LOG_INFO;

/* JOURNAL_STREAM is "dev:ino" of the stream systemd connected stderr to;
 * only when it matches our stderr is the journal really listening. */
void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                use_journal = true;
        if (getenv("SSPID_DEBUG"))
                max_level = LOG_DEBUG;
}

void log_set_level(int level) {
        max_level = level;
}

/* A line as it is sent: formatted, then escaped and cut at LOG_LINE_MAX. */
_printf_(2, 0) static void format_line(char out[LOG_LINE_MAX + 1], const char *fmt, va_list ap) {
        char raw[2 * LOG_LINE_MAX];

        vsnprintf(raw, sizeof(raw), fmt, ap);
        escape_text(out, LOG_LINE_MAX + 1, raw, LOG_LINE_MAX);
}

void log_msg(int priority, const char *fmt, ...) {
        char buf[LOG_LINE_MAX + 1];
        va_list ap;

        if (priority > max_level)
                return;
        va_start(ap, fmt);
        format_line(buf, fmt, ap);
        va_end(ap);
        if (use_journal)
                sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=sspid", NULL);
        else
                fprintf(stderr, "sspid: %s\n", buf);
}

bool log_enabled(int priority) {
        return priority <= max_level;
}

const char *log_name(const char *s, char buf[LOG_NAME_BUF]) {
        size_t n = strlen(s), i = 0;

        if (n <= LOG_NAME_MAX)
                return s;
        /* Cut before the character that crosses the bound; bytes that are
         * not UTF-8 count as one each (the line escapes them). */
        while (i < n) {
                size_t k = escape_utf8_len((const unsigned char *) s + i, n - i);

                if (k == 0)
                        k = 1;
                if (i + k > LOG_NAME_MAX)
                        break;
                i += k;
        }
        memcpy(buf, s, i);
        memcpy(buf + i, LOG_TRUNCATED, sizeof(LOG_TRUNCATED));
        return buf;
}

/* A journal field carries one name: escaped and bounded like a line. */
static const char *field_escape(const char *s, char buf[LOG_NAME_BUF]) {
        escape_text(buf, LOG_NAME_BUF, s, LOG_NAME_MAX);
        return buf;
}

void log_fields(int priority, const LogFields *f, const char *fmt, ...) {
        char msg[LOG_LINE_MAX + 1], fields[7][LOG_NAME_BUF + 32];
        struct iovec iov[10];
        unsigned n = 0;
        va_list ap;

        if (priority > max_level)
                return;
        va_start(ap, fmt);
        format_line(msg, fmt, ap);
        va_end(ap);
        if (!use_journal) {
                fprintf(stderr, "sspid: %s%s\n", f->audit ? "audit: " : "", msg);
                return;
        }
#define FIELD(...)                                                                      \
        do {                                                                            \
                int l_ = snprintf(fields[n], sizeof(fields[n]), __VA_ARGS__);          \
                iov[n] = (struct iovec) { fields[n], (size_t) l_ < sizeof(fields[n]) ? (size_t) l_ : sizeof(fields[n]) - 1 }; \
                n++;                                                                    \
        } while (0)
        if (f->uid >= 0)
                FIELD("SSPID_UID=%ld", f->uid);
        if (f->pid >= 0)
                FIELD("SSPID_PID=%ld", f->pid);
        if (f->package)
                FIELD("SSPID_PACKAGE=%s", field_escape(f->package, (char[LOG_NAME_BUF]) {}));
        if (f->call)
                FIELD("SSPID_CALL=%s", f->call);
        if (f->has_status)
                FIELD("SSPID_STATUS=0x%08x", (unsigned) f->status);
        if (f->principal)
                FIELD("SSPID_PRINCIPAL=%s", field_escape(f->principal, (char[LOG_NAME_BUF]) {}));
        if (f->audit)
                FIELD("SSPID_AUDIT=1");
#undef FIELD
        {
                char m[LOG_LINE_MAX + 32], p[16];
                int lm = snprintf(m, sizeof(m), "MESSAGE=%s%s", f->audit ? "audit: " : "", msg);
                int lp = snprintf(p, sizeof(p), "PRIORITY=%d", priority);

                iov[n++] = (struct iovec) { m, (size_t) lm < sizeof(m) ? (size_t) lm : sizeof(m) - 1 };
                iov[n++] = (struct iovec) { p, (size_t) lp };
                iov[n++] = (struct iovec) { (char *) "SYSLOG_IDENTIFIER=sspid", strlen("SYSLOG_IDENTIFIER=sspid") };
                (void) sd_journal_sendv(iov, (int) n);
        }
}
