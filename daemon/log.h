/* SPDX-License-Identifier: MIT */
#pragma once

#include <syslog.h>

#include "util.h"

/*
 * Logging: structured journald fields when stderr is connected to the
 * journal (JOURNAL_STREAM), plain lines on stderr otherwise. Never pass a
 * password, key or token to these functions.
 */
void log_setup(void);
void log_set_level(int level);
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
