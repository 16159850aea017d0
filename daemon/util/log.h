/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "util/util.h"

/*
 * Logging: structured journald fields when stderr is connected to the
 * journal (JOURNAL_STREAM), plain lines on stderr otherwise. Never pass a
 * password, key or token to these functions.
 */
void log_setup(void);
void log_set_level(int level);
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);

/* Who and what a line is about: sent as journal fields SSPID_UID, SSPID_PID,
 * SSPID_PACKAGE, SSPID_CALL, SSPID_STATUS, SSPID_PRINCIPAL (and SSPID_AUDIT=1
 * for audit lines); on stderr only the message is printed. */
typedef struct LogFields {
        long uid, pid;                  /* -1: none */
        const char *package;
        const char *call;
        const char *principal;          /* a name, never a secret */
        bool has_status;
        int32_t status;
        bool audit;
} LogFields;
void log_fields(int priority, const LogFields *f, const char *fmt, ...) _printf_(3, 4);
bool log_enabled(int priority);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
