/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_airports - airport_table_from_body over arbitrary bodies of the
 * "airports" trust document (the map under key 5), then the lookups.
 *
 * On failure: an empty table and a message.  On success: 1..AIRPORT_TABLE_MAX
 * rows, codes of upper-case letters, strictly ascending; each code looks up
 * to its own country; the rows written back as a table and encoded as a body
 * (counting pass, exact buffer) decode to the same rows; what airport_check_body
 * says agrees.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "qrdesk/airport.h"

/* Large: off the stack, and kept between inputs (contents are reset by each call). */
static struct airport_table table, again;
static char text[AIRPORT_TABLE_MAX * 7 + 1];

static bool letters(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return s[n] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_errmsg why = {{0}};
	size_t entries = 99;
	enum qd_err rc = airport_table_from_body(data, size, &table, &why);
	FUZZ_CHECK(airport_check_body(data, size, &entries, &why) == rc);
	if (rc != QD_OK) {
		FUZZ_CHECK(table.n == 0 && entries == 0 && why.text[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(table.n >= 1 && table.n <= AIRPORT_TABLE_MAX && entries == table.n);
	size_t len = 0;
	for (size_t i = 0; i < table.n; i++) {
		const struct airport *a = &table.rows[i];
		FUZZ_CHECK(letters(a->iata, 3) && letters(a->country, 2));
		FUZZ_CHECK(i == 0 || strcmp(table.rows[i - 1].iata, a->iata) < 0);
		FUZZ_CHECK(airport_country(&table, a->iata) == a->country);
		memcpy(text + len, a->iata, 3);
		text[len + 3] = ' ';
		memcpy(text + len + 4, a->country, 2);
		text[len + 6] = '\n';
		len += 7;
	}
	FUZZ_CHECK(airport_country(&table, "aaa") == NULL && airport_country(&table, "") == NULL);

	size_t need = airport_body_encode(text, len, NULL, 0);
	uint8_t *body = malloc(need);
	FUZZ_CHECK(body != NULL && airport_body_encode(text, len, body, need) == need);
	FUZZ_CHECK(airport_table_from_body(body, need, &again, &why) == QD_OK);
	FUZZ_CHECK(again.n == table.n &&
	           memcmp(again.rows, table.rows, table.n * sizeof(table.rows[0])) == 0);
	/* One byte short is refused, never read past. */
	FUZZ_CHECK(airport_table_from_body(body, need - 1, &again, &why) != QD_OK && again.n == 0);
	free(body);
	return 0;
}
