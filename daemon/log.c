/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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

void log_msg(int priority, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        if (priority > max_level)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (use_journal)
                sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=sspid", NULL);
        else
                fprintf(stderr, "sspid: %s\n", buf);
}
