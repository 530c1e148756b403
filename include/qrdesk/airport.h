/* SPDX-License-Identifier: Apache-2.0 */
/*
 * airport.h - IATA airport codes to ISO 3166-1 alpha-2 countries: where a
 * boarding pass's last leg lands, compared with the card's destination.
 *
 * The table is data: firmware/core/airports.txt, compiled in as text and parsed
 * at start-up by the same strict parser that reads a refreshed table from a
 * signed trust document (docs/binding.md).  One line per airport:
 *
 *     DXB AE Dubai International
 *
 * three letters, one space, two letters, then optionally a space and a
 * description (printable ASCII, ignored).  Lines starting with '#' and
 * empty lines are comments.  Codes strictly ascending (so a lookup can
 * bisect and a duplicate is an error), LF line ends.  Pure, no allocation.
 */
#ifndef QRDESK_AIRPORT_H
#define QRDESK_AIRPORT_H

#include <stddef.h>

#include "qrdesk/error.h"

#define AIRPORT_TABLE_MAX 4096
#define AIRPORT_TEXT_MAX  (256 * 1024)

struct airport {
	char iata[4];
	char country[3];
};

struct airport_table {
	size_t n;
	struct airport rows[AIRPORT_TABLE_MAX];
};

/*
 * Parse a table; on failure out is left empty and why names the line.
 * QD_ERR_FORMAT for a bad line or order, QD_ERR_TOO_LARGE above the caps.
 */
enum qd_err airport_table_parse(const char *text, size_t len, struct airport_table *out,
                                struct qd_errmsg *why);

/* The country of an upper-case IATA code, or NULL if the table lacks it. */
const char *airport_country(const struct airport_table *table, const char *iata);

/* The table shipped with the firmware (firmware/core/airports.txt), as text. */
const char *airport_builtin_text(size_t *len);

#endif
