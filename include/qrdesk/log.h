/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - one logging sink for daemon and tools.
 *
 * The daemon logs to stderr with syslog priority prefixes ("<3>...") that
 * journald understands; the command-line tools log plainly ("qrdeskctl: ...").
 * Priorities are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG).
 */
#ifndef QRDESK_LOG_H
#define QRDESK_LOG_H

#include <syslog.h>

enum log_style {
	LOG_STYLE_PLAIN,   /* "ident: message" - for tools run by a person */
	LOG_STYLE_JOURNAL, /* "<prio>message" - for a daemon under systemd */
};

/* Set the program name, style and the least urgent priority still printed. */
void log_init(const char *ident, enum log_style style, int max_priority);

/* Print one message at the given priority (no trailing newline needed). */
void log_emit(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_emit(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, __VA_ARGS__)

#endif
