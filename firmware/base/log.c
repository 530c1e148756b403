/*
 * log.c - stderr logging for the daemon (journald priority prefixes) and the
 * tools (plain "ident: message").  One write per message so lines from
 * different threads never interleave.
 */
#include "qrdesk/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_ident = "qrdesk";
static enum log_style log_style_current = LOG_STYLE_PLAIN;
static int log_max_priority = LOG_INFO;

void log_init(const char *ident, enum log_style style, int max_priority)
{
	log_ident = ident;
	log_style_current = style;
	log_max_priority = max_priority;
}

void log_emit(int priority, const char *fmt, ...)
{
	if (priority > log_max_priority)
		return;
	char line[1024];
	int n;
	if (log_style_current == LOG_STYLE_JOURNAL)
		n = snprintf(line, sizeof(line), "<%d>", priority);
	else
		n = snprintf(line, sizeof(line), "%s: ", log_ident);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = strnlen(line, sizeof(line) - 2);
	/* Control characters from hostile input must not forge log lines. */
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
