/* SPDX-License-Identifier: Apache-2.0 */
/*
 * airport.c - the airport-to-country table (see airport.h).
 */
#include "qrdesk/airport.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"

#define BODY_KEY_TABLE 1

static bool upper(char ch)
{
	return ch >= 'A' && ch <= 'Z';
}

/* One data line line[0..n): "AAA CC" [" " description]. */
static bool parse_row(const char *line, size_t n, struct airport *row)
{
	if (n < 6 || !upper(line[0]) || !upper(line[1]) || !upper(line[2]) || line[3] != ' ' ||
	    !upper(line[4]) || !upper(line[5]))
		return false;
	if (n > 6 && line[6] != ' ')
		return false;
	for (size_t i = 7; i < n; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return false;
	memcpy(row->iata, line, 3);
	row->iata[3] = '\0';
	memcpy(row->country, line + 4, 2);
	row->country[2] = '\0';
	return true;
}

enum qd_err airport_table_parse(const char *text, size_t len, struct airport_table *out,
                                struct qd_errmsg *why)
{
	out->n = 0;
	if (len > AIRPORT_TEXT_MAX) {
		qd_errmsg_set(why, "airport table: %zu bytes, more than %d", len, AIRPORT_TEXT_MAX);
		return QD_ERR_TOO_LARGE;
	}
	size_t at = 0, n = 0;
	unsigned line_no = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		const char *line = text + at;
		size_t line_len = end - at;
		line_no++;
		at = end + 1;
		if (line_len == 0 || line[0] == '#')
			continue;
		struct airport row;
		if (!parse_row(line, line_len, &row)) {
			qd_errmsg_set(why, "airport table line %u: not \"AAA CC [description]\"",
			              line_no);
			return QD_ERR_FORMAT;
		}
		if (n > 0 && strcmp(out->rows[n - 1].iata, row.iata) >= 0) {
			out->n = 0;
			qd_errmsg_set(why, "airport table line %u: %s out of order or repeated",
			              line_no, row.iata);
			return QD_ERR_FORMAT;
		}
		if (n == AIRPORT_TABLE_MAX) {
			qd_errmsg_set(why, "airport table: more than %d airports",
			              AIRPORT_TABLE_MAX);
			return QD_ERR_TOO_LARGE;
		}
		out->rows[n++] = row;
	}
	if (n == 0) {
		qd_errmsg_set(why, "airport table: no airports");
		return QD_ERR_FORMAT;
	}
	out->n = n;
	return QD_OK;
}

static int by_iata(const void *key, const void *elem)
{
	return strcmp(key, ((const struct airport *)elem)->iata);
}

const char *airport_country(const struct airport_table *table, const char *iata)
{
	if (table == NULL || iata == NULL || strlen(iata) != 3)
		return NULL;
	const struct airport *row =
	        bsearch(iata, table->rows, table->n, sizeof(table->rows[0]), by_iata);
	return row != NULL ? row->country : NULL;
}

enum qd_err airport_table_from_body(const uint8_t *body, size_t len, struct airport_table *out,
                                    struct qd_errmsg *why)
{
	out->n = 0;
	struct cbor_reader r;
	cbor_reader_init(&r, body, len);
	size_t count = 0;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "airports body", st);
	if (count != 1) {
		qd_errmsg_set(why, "airports body: %zu entries, want one (1: the table)", count);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	int64_t key = 0;
	st = cbor_read_int_key(&r, &seen, &key);
	if (st != CBOR_OK)
		return cbor_field_error(why, "airports key", st);
	if (key != BODY_KEY_TABLE) {
		qd_errmsg_set(why, "airports body: unknown key %lld", (long long)key);
		return QD_ERR_FORMAT;
	}
	const char *text = NULL;
	size_t text_len = 0;
	st = cbor_read_tstr(&r, &text, &text_len);
	if (st == CBOR_OK)
		st = cbor_expect_end(&r);
	if (st != CBOR_OK)
		return cbor_field_error(why, "airports table", st);
	return airport_table_parse(text, text_len, out, why);
}

enum qd_err airport_check_body(const uint8_t *body, size_t len, size_t *entries,
                               struct qd_errmsg *why)
{
	*entries = 0;
	/* About 28 KiB: not on a sync or USB worker's stack. */
	struct airport_table *table = malloc(sizeof(*table));
	if (table == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = airport_table_from_body(body, len, table, why);
	*entries = table->n;
	free(table);
	return rc;
}

size_t airport_body_encode(const char *text, size_t text_len, uint8_t *buf, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, BODY_KEY_TABLE);
	cbor_put_tstr(&w, text, text_len);
	return w.len;
}
