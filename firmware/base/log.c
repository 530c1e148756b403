/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - stderr logging for the daemon (journald priority prefixes) and the
 * tools (plain "ident: message").  One write per message so lines from
 * different threads never interleave.
 */
#include "qrdesk/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The settings are atomics: a reload (log_init on the loop thread) rewrites them while the
 * sync worker, the kiosk's connections, the camera and the USB worker log.  Each is one
 * word read once per line and no line depends on two of them agreeing (a line printed
 * during the change has the old level or the new), so relaxed loads and stores suffice; a
 * lock would make every line of every thread wait for nothing.  The ident is a string that
 * lives as long as the program (a literal).
 */
static _Atomic(const char *) log_ident = "qrdesk";
static atomic_int log_style_current = LOG_STYLE_PLAIN;
static atomic_int log_max_priority = LOG_INFO;

void log_init(const char *ident, enum log_style style, int max_priority)
{
	atomic_store_explicit(&log_ident, ident, memory_order_relaxed);
	atomic_store_explicit(&log_style_current, (int)style, memory_order_relaxed);
	atomic_store_explicit(&log_max_priority, max_priority, memory_order_relaxed);
}

void log_emit(int priority, const char *fmt, ...)
{
	if (priority > atomic_load_explicit(&log_max_priority, memory_order_relaxed))
		return;
	char line[1024];
	int n;
	if (atomic_load_explicit(&log_style_current, memory_order_relaxed) == LOG_STYLE_JOURNAL)
		n = snprintf(line, sizeof(line), "<%d>", priority);
	else
		n = snprintf(line, sizeof(line),
		             "%s: ", atomic_load_explicit(&log_ident, memory_order_relaxed));
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	/* Control characters from hostile input must not forge log lines. */
	char out[sizeof(line) + 8];
	memcpy(out, line, (size_t)n);
	log_escape(line + n, out + n, sizeof(line) - (size_t)n);
	size_t len = strlen(out);
	out[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, out, len);
	(void)w;
}

char *log_escape(const char *text, char *out, size_t cap)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return out;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		unsigned c = *p;
		bool c1 = c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f; /* U+0080..U+009F */
		if (c1)
			c = *++p;
		char esc[5];
		size_t n = 0;
		if (c < 0x20 || c == 0x7f || c1) {
			esc[n++] = '\\';
			esc[n++] = 'x';
			esc[n++] = hexd[c >> 4];
			esc[n++] = hexd[c & 15];
		} else if (c == '\\') {
			esc[n++] = '\\';
			esc[n++] = '\\';
		} else {
			esc[n++] = (char)c;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

bool log_limit_pass(struct log_limit *l, unsigned long *skipped)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec + 1; /* never 0, which means "none yet" */
	bool pass = false;
	pthread_mutex_lock(&limit_lock);
	if (l->last_s == 0 || now - l->last_s >= (long long)l->interval_s) {
		pass = true;
		*skipped = l->skipped;
		l->skipped = 0;
		l->last_s = now;
	} else {
		l->skipped++;
	}
	pthread_mutex_unlock(&limit_lock);
	return pass;
}
