/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial_framer.h - bytes from a serial scanner in, complete code texts out.
 *
 * Pure (no I/O, no clock): the serial driver (drivers/source_serial.c) feeds
 * it what read() returns, the unit tests and the fuzz target feed it tables
 * and random bytes, and all see the same lines.
 *
 * Framing.  A line ends at CR, at LF, or at CR LF (one terminator: the LF
 * right after a CR is swallowed, even when it comes in the next feed).  So
 * scanners set to any of the three suffixes give one text per scan.  Empty
 * lines (LF CR, CR CR, a bare terminator) are ignored: a scanner never sends
 * an empty code, and counting them would only make noise.  Every other byte,
 * NUL included, is part of the text (cards are binary-safe).
 *
 * Overlong.  A line longer than max_line bytes is dropped whole, never
 * delivered cut: on_drop is called once, as soon as byte max_line + 1
 * arrives, and the rest up to the next terminator is skipped.  A partial
 * line thrown away by serial_framer_reset() (the device went away) is
 * reported through on_drop too.
 */
#ifndef QRDESK_SERIAL_FRAMER_H
#define QRDESK_SERIAL_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qrdesk/error.h"
#include "qrdesk/source_serial.h" /* SERIAL_LINE_MIN, SERIAL_LINE_MAX */

enum serial_drop {
	SERIAL_DROP_OVERLONG, /* more than max_line bytes before a terminator */
	SERIAL_DROP_PARTIAL,  /* unterminated bytes discarded by serial_framer_reset */
};

struct serial_framer_ops {
	/* A complete line: text[len] is '\0' (text may hold NULs as well). */
	void (*on_line)(void *arg, const char *text, size_t len);
	/* A line dropped; len: the bytes seen of it so far (max_line + 1 when overlong). */
	void (*on_drop)(void *arg, enum serial_drop why, size_t len);
};

struct serial_framer {
	size_t max_line;
	char *buf; /* max_line + 1 bytes */
	size_t len;
	bool skipping; /* inside an overlong line, up to its terminator */
	bool after_cr; /* the last byte was CR: an LF now is part of the same terminator */
	bool stopped;  /* serial_framer_stop() during the feed in progress */
	struct serial_framer_ops ops;
	void *arg;
	/* Counters since init. */
	uint64_t lines, overlong, partial;
};

/* QD_ERR_ARG if max_line is outside SERIAL_LINE_MIN..SERIAL_LINE_MAX or a callback is NULL. */
enum qd_err serial_framer_init(struct serial_framer *f, size_t max_line,
                               const struct serial_framer_ops *ops, void *arg);
void serial_framer_free(struct serial_framer *f);

/*
 * Feed n bytes.  Callbacks run from inside; one may call serial_framer_stop()
 * to have the rest of this feed ignored (the source was stopped).
 */
void serial_framer_feed(struct serial_framer *f, const uint8_t *data, size_t n);

/* Forget any partial line (reported as SERIAL_DROP_PARTIAL if it had bytes). */
void serial_framer_reset(struct serial_framer *f);

/* Stop the feed in progress: the remaining bytes of it are not looked at. */
void serial_framer_stop(struct serial_framer *f);

#endif
