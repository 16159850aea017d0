/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "util/escape.h"
#include "util/util.h"

/*
 * Logging: structured journald fields when stderr is connected to the
 * journal (JOURNAL_STREAM), plain lines on stderr otherwise. Never pass a
 * password, key or token to these functions.
 */
void log_setup(void);

/*
 * Names a client chose reach log lines and journal fields. Every line and
 * field is passed through escape_text (util/escape.h, shared with sspictl);
 * lines are cut at LOG_LINE_MAX bytes and names (log_name) at LOG_NAME_MAX,
 * with LOG_TRUNCATED appended.
 */
#define LOG_LINE_MAX 1024
#define LOG_NAME_MAX 256
#define LOG_NAME_BUF (4 * LOG_NAME_MAX + sizeof(LOG_TRUNCATED))
#define LOG_TRUNCATED ESCAPE_TRUNCATED
/* A caller-chosen name for a log format: s itself, or its first
 * LOG_NAME_MAX bytes (whole characters) and LOG_TRUNCATED copied into buf.
 * Escaping is the line's (log_msg, log_fields), done once. */
const char *log_name(const char *s, char buf[LOG_NAME_BUF]);
#define LOG_NAME(s) log_name((s), (char[LOG_NAME_BUF]) {})
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
