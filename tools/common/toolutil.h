/* SPDX-License-Identifier: Apache-2.0 */
/*
 * toolutil.h - small helpers shared by qrdesk-issuer and qrdeskctl: files
 * (bounded reads, atomic writes), times, exit codes.
 */
#ifndef QRDESK_TOOLUTIL_H
#define QRDESK_TOOLUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qrdesk/error.h"

/* Exit codes (sysexits.h values, named here so the tools agree). */
enum tool_exit {
	TOOL_EXIT_OK = 0,
	TOOL_EXIT_USAGE = 64,
	TOOL_EXIT_DATA = 65,        /* input refused: bad format, signature, rollback... */
	TOOL_EXIT_NOINPUT = 66,     /* a named file does not exist or cannot be read */
	TOOL_EXIT_UNAVAILABLE = 69, /* a server could not be reached or would not serve */
	TOOL_EXIT_SOFTWARE = 70,    /* internal error */
	TOOL_EXIT_CANTCREAT = 73,
	TOOL_EXIT_IO = 74,
	TOOL_EXIT_NOPERM = 77,
	TOOL_EXIT_CONFIG = 78,
};

/* Map an error to the exit code a script should see. */
int tool_exit_for(enum qd_err err);

/* Read a whole file of at most max bytes; *data is malloc'd with a NUL after it. */
enum qd_err tool_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
                           struct qd_errmsg *why);

/*
 * Write data to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync the directory.  Readers see the old file or
 * the new one, never a part.
 */
enum qd_err tool_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                   struct qd_errmsg *why);

/*
 * Parse a time: Unix seconds ("1763900000"), a date ("2026-11-23", midnight
 * UTC) or RFC 3339 UTC ("2026-11-23T10:15:00Z").
 */
enum qd_err tool_parse_time(const char *text, int64_t *out);
/* Format Unix seconds as RFC 3339 UTC into out (at least 21 bytes). */
void tool_format_time(int64_t t, char *out, size_t cap);

/* The wall clock, or the value of --now if the tool was given one. */
int64_t tool_now(void);
void tool_set_now(int64_t t);

#endif
