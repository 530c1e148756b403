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

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_style {
	LOG_STYLE_PLAIN,   /* "ident: message" - for tools run by a person */
	LOG_STYLE_JOURNAL, /* "<prio>message" - for a daemon under systemd */
};

/*
 * Set the program name (a string that lives as long as the program), style and the least
 * urgent priority still printed.  Safe while other threads log (a reload changes the level).
 */
void log_init(const char *ident, enum log_style style, int max_priority);

/* Print one message at the given priority (no trailing newline needed). */
void log_emit(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A rate limit for warnings any unauthenticated peer can cause (a refused
 * connection, a half-sent request): at most one line per interval, and that
 * line says how many were left out since the last one.  Thread-safe; zero-
 * initialise it with the interval set, e.g. {.interval_s = 10}.
 */
struct log_limit {
	unsigned interval_s;
	long long last_s;      /* monotonic second of the last line printed; 0: none yet */
	unsigned long skipped; /* events since then that printed nothing */
};

/*
 * Count one event.  True if this one may be logged now; *skipped then holds
 * the events left out since the previous line (to print with it).
 */
bool log_limit_pass(struct log_limit *l, unsigned long *skipped);

/*
 * Copy text to out (cap bytes, always NUL-terminated) with every control
 * character (C0, DEL, and UTF-8-encoded C1) written as \xNN and a backslash
 * as \\, so a file name or a server's reason cannot forge a line or move
 * the terminal's cursor.  Returns out.
 */
char *log_escape(const char *text, char *out, size_t cap);

#define log_err(...)   log_emit(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, __VA_ARGS__)

#endif
