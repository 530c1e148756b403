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
#include <stdint.h>

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

/*
 * The signed refresh: the body of an "airports" trust document
 * (docs/trust-documents.md) is a CBOR map with one entry, 1: the table's text
 * (tstr, the format above).  A desk uses it instead of the built-in table when
 * it is present, parses and has not expired (docs/binding.md).
 */

/* Decode a body and parse its table into out (left empty on failure, why says what). */
enum qd_err airport_table_from_body(const uint8_t *body, size_t len, struct airport_table *out,
                                    struct qd_errmsg *why);
/* The same, judging only (the trust-document list's check_body): *entries airports. */
enum qd_err airport_check_body(const uint8_t *body, size_t len, size_t *entries,
                               struct qd_errmsg *why);
/* Encode text as a body into buf[0..cap); returns the size it needs (more than cap: nothing
 * usable was written). */
size_t airport_body_encode(const char *text, size_t text_len, uint8_t *buf, size_t cap);

#endif
