/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_serial.h - the serial scanner's constructor and settings
 * (the interface they implement: source.h).
 */
#ifndef QRDESK_SOURCE_SERIAL_H
#define QRDESK_SOURCE_SERIAL_H

#include "qrdesk/error.h"
#include "qrdesk/scanner.h"
#include "qrdesk/source.h"

#define SERIAL_LINE_MIN 16   /* max_line: at least this (a code is never shorter) */
#define SERIAL_LINE_MAX 4296 /* ... and at most SOURCE_TEXT_MAX - 1 */

/*
 * The serial scanner (drivers/source_serial.c): a USB CDC-ACM or UART
 * scanner through termios, raw, at the configured baud and framing; lines
 * cut by drivers/serial_framer.h (CR, LF or CRLF; longer than max_line: dropped).
 * The device may be absent at start or vanish later: the source is then
 * SOURCE_ABSENT and tries to open it again every retry_ms.
 */
struct source_serial_config {
	char device[256];  /* e.g. /dev/ttyACM0 or /dev/serial/by-id/... */
	unsigned baud;     /* 1200 .. 921600, a standard rate */
	char framing[4];   /* data bits 5-8, parity N/E/O, stop bits 1-2: "8N1" */
	unsigned max_line; /* SERIAL_LINE_MIN .. SERIAL_LINE_MAX */
	unsigned retry_ms; /* while absent: how often to look again (0: 1000) */
};

/* [serial]: its keys and defaults, as data for the registry (drivers/scanners.c). */
#define SOURCE_SERIAL_KEYS(T)                                                                      \
	SCANNER_KEY("device", PATH, T, device, 0, 0), SCANNER_KEY("baud", BAUD, T, baud, 0, 0),    \
	        SCANNER_KEY("framing", FRAMING, T, framing, 0, 0),                                 \
	        SCANNER_KEY("max_line", BYTES, T, max_line, SERIAL_LINE_MIN, SERIAL_LINE_MAX),     \
	        SCANNER_KEY("retry_ms", MS, T, retry_ms, 100, 600000)
/* retry_ms: a safety net, hot-plug says at once. */
#define SOURCE_SERIAL_DEFAULTS() .baud = 9600, .framing = "8N1", .max_line = 4296, .retry_ms = 5000

/* The [serial] settings in a configuration's scanner settings. */
static inline struct source_serial_config *source_serial_settings(const struct scanner_settings *s)
{
	return scanner_settings_of(s, "serial");
}

enum qd_err source_serial(const char *name, const struct source_serial_config *cfg,
                          source_code_cb cb, void *arg, struct source **out);

#endif
