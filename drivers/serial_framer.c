/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial_framer.c - a serial scanner's bytes cut into code texts (see
 * serial_framer.h for the rules; this file only follows them).
 */
#include "serial_framer.h"

#include <stdlib.h>
#include <string.h>

enum qd_err serial_framer_init(struct serial_framer *f, size_t max_line,
                               const struct serial_framer_ops *ops, void *arg)
{
	if (f == NULL || ops == NULL || ops->on_line == NULL || ops->on_drop == NULL)
		return QD_ERR_ARG;
	memset(f, 0, sizeof(*f));
	if (max_line < SERIAL_LINE_MIN || max_line > SERIAL_LINE_MAX)
		return QD_ERR_ARG;
	f->buf = malloc(max_line + 1);
	if (f->buf == NULL)
		return QD_ERR_NOMEM;
	f->max_line = max_line;
	f->ops = *ops;
	f->arg = arg;
	return QD_OK;
}

void serial_framer_free(struct serial_framer *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	f->buf = NULL;
}

static void line_end(struct serial_framer *f)
{
	size_t len = f->len;
	bool skipped = f->skipping;
	f->len = 0;
	f->skipping = false;
	if (skipped || len == 0)
		return; /* overlong: reported when it overflowed; empty: ignored */
	f->buf[len] = '\0';
	f->lines++;
	f->ops.on_line(f->arg, f->buf, len);
}

void serial_framer_feed(struct serial_framer *f, const uint8_t *data, size_t n)
{
	f->stopped = false;
	for (size_t i = 0; i < n && !f->stopped; i++) {
		uint8_t c = data[i];
		bool after_cr = f->after_cr;
		f->after_cr = c == '\r';
		if (c == '\n' && after_cr)
			continue; /* CR LF: the CR ended the line already */
		if (c == '\r' || c == '\n') {
			line_end(f);
		} else if (f->skipping) {
			continue;
		} else if (f->len == f->max_line) {
			f->len = 0;
			f->skipping = true;
			f->overlong++;
			f->ops.on_drop(f->arg, SERIAL_DROP_OVERLONG, f->max_line + 1);
		} else {
			f->buf[f->len++] = (char)c;
		}
	}
}

void serial_framer_stop(struct serial_framer *f)
{
	f->stopped = true;
}

void serial_framer_reset(struct serial_framer *f)
{
	size_t len = f->len;
	f->len = 0;
	f->skipping = false; /* an overlong line was reported when it overflowed */
	f->after_cr = false;
	if (len > 0) {
		f->partial++;
		f->ops.on_drop(f->arg, SERIAL_DROP_PARTIAL, len);
	}
}
