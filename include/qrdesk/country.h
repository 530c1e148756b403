/* SPDX-License-Identifier: Apache-2.0 */
/*
 * country.h - destination countries by ISO 3166-1 alpha-2 code, with their
 * names in English and Bengali, for the kiosk and the officer.
 *
 * The table covers the countries BMET clears workers for (the Gulf states,
 * Malaysia, Singapore, Jordan, Lebanon, Brunei, Maldives, Mauritius, Europe,
 * Japan, South Korea...).  A code not in it is still a valid card field: the
 * kiosk then shows the code itself.
 */
#ifndef QRDESK_COUNTRY_H
#define QRDESK_COUNTRY_H

#include <stddef.h>

struct country {
	char code[3];   /* "KW" */
	const char *en; /* "Kuwait" */
	const char *bn; /* "কুয়েত" (UTF-8) */
};

/* The entry for an upper-case alpha-2 code, or NULL if the table lacks it. */
const struct country *country_find(const char *code);

/* The whole table, sorted by code (for tests and documentation). */
const struct country *country_table(size_t *count);

#endif
