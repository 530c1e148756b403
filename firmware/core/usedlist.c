/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usedlist.c - the fleet's "already used" list (see usedlist.h).
 */
#include "qrdesk/usedlist.h"

#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"

enum { BODY_KEY_USED = 1 };
/* The smallest entry: array head, bstr of TRUST_HASH_LEN with its head, a one-byte uint,
 * a one-character tstr. */
#define ENTRY_MIN (1 + 1 + TRUST_HASH_LEN + 1 + 2)

static int by_pseudonym(const void *key, const void *elem)
{
	return memcmp(key, ((const struct used_entry *)elem)->pseudonym, TRUST_HASH_LEN);
}

const struct used_entry *usedlist_find(const struct used_list *list,
                                       const uint8_t pseudonym[TRUST_HASH_LEN])
{
	if (list == NULL || pseudonym == NULL || list->n == 0)
		return NULL;
	return bsearch(pseudonym, list->rows, list->n, sizeof(list->rows[0]), by_pseudonym);
}

void usedlist_free(struct used_list *list)
{
	if (list == NULL)
		return;
	free(list->rows);
	list->rows = NULL;
	list->n = 0;
}

/* One entry array into e. */
static enum qd_err read_entry(struct cbor_reader *r, size_t index, struct used_entry *e,
                              struct qd_errmsg *why)
{
	memset(e, 0, sizeof(*e));
	size_t count = 0;
	enum cbor_status st = cbor_read_array(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "used entry", st);
	if (count != 3) {
		qd_errmsg_set(why, "used entry %zu: %zu fields, want 3", index, count);
		return QD_ERR_FORMAT;
	}
	const uint8_t *bytes = NULL;
	const char *text = NULL;
	size_t len = 0;
	if ((st = cbor_read_bstr(r, &bytes, &len)) != CBOR_OK)
		return cbor_field_error(why, "used entry pseudonym", st);
	if (len != TRUST_HASH_LEN) {
		qd_errmsg_set(why, "used entry %zu: pseudonym of %zu bytes, want %d", index, len,
		              TRUST_HASH_LEN);
		return QD_ERR_FORMAT;
	}
	memcpy(e->pseudonym, bytes, len);
	if ((st = cbor_read_time(r, &e->first_at)) != CBOR_OK)
		return cbor_field_error(why, "used entry time", st);
	if ((st = cbor_read_tstr(r, &text, &len)) != CBOR_OK)
		return cbor_field_error(why, "used entry desk", st);
	if (!desk_id_valid(text, len)) {
		qd_errmsg_set(why, "used entry %zu: desk id not 1..%d of A-Z a-z 0-9 . _ -", index,
		              DESK_ID_MAX);
		return QD_ERR_FORMAT;
	}
	memcpy(e->desk, text, len);
	return QD_OK;
}

/* The array's head: its count, bounded by USEDLIST_MAX and by the bytes left. */
static enum qd_err read_head(struct cbor_reader *r, size_t len, size_t *count,
                             struct qd_errmsg *why)
{
	size_t n = 0;
	enum cbor_status st = cbor_read_map(r, &n);
	if (st != CBOR_OK)
		return cbor_field_error(why, "used body", st);
	if (n != 1) {
		qd_errmsg_set(why, "used body: %zu entries, want one (1: the cards)", n);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	int64_t key = 0;
	if ((st = cbor_read_int_key(r, &seen, &key)) != CBOR_OK)
		return cbor_field_error(why, "used key", st);
	if (key != BODY_KEY_USED) {
		qd_errmsg_set(why, "used body: unknown key %lld", (long long)key);
		return QD_ERR_FORMAT;
	}
	if ((st = cbor_read_array(r, count)) != CBOR_OK)
		return cbor_field_error(why, "used cards", st);
	if (*count > USEDLIST_MAX) {
		qd_errmsg_set(why, "used: %zu cards, more than %d", *count, USEDLIST_MAX);
		return QD_ERR_TOO_LARGE;
	}
	/* Never allocate for more entries than the bytes can hold. */
	if (*count > len / ENTRY_MIN) {
		qd_errmsg_set(why, "used: %zu cards cannot fit in %zu bytes", *count, len);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

enum qd_err usedlist_from_body(const uint8_t *body, size_t len, struct used_list *out,
                               struct qd_errmsg *why)
{
	out->n = 0;
	out->rows = NULL;
	struct cbor_reader r;
	cbor_reader_init(&r, body, len);
	size_t count = 0;
	enum qd_err rc = read_head(&r, len, &count, why);
	if (rc != QD_OK)
		return rc;
	struct used_entry *rows = malloc((count ? count : 1) * sizeof(*rows));
	if (rows == NULL) {
		qd_errmsg_set(why, "used: out of memory for %zu cards", count);
		return QD_ERR_NOMEM;
	}
	for (size_t i = 0; i < count && rc == QD_OK; i++) {
		rc = read_entry(&r, i, &rows[i], why);
		if (rc == QD_OK && i > 0 &&
		    memcmp(rows[i - 1].pseudonym, rows[i].pseudonym, TRUST_HASH_LEN) >= 0) {
			qd_errmsg_set(why, "used entry %zu: out of order or repeated", i);
			rc = QD_ERR_FORMAT;
		}
	}
	enum cbor_status st = rc == QD_OK ? cbor_expect_end(&r) : CBOR_OK;
	if (st != CBOR_OK)
		rc = cbor_field_error(why, "used body", st);
	if (rc != QD_OK) {
		free(rows);
		return rc;
	}
	out->rows = rows;
	out->n = count;
	return QD_OK;
}

enum qd_err usedlist_check_body(const uint8_t *body, size_t len, size_t *entries,
                                struct qd_errmsg *why)
{
	struct used_list list;
	enum qd_err rc = usedlist_from_body(body, len, &list, why);
	*entries = list.n;
	usedlist_free(&list);
	return rc;
}

size_t usedlist_encode(const struct used_list *list, uint8_t *buf, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, BODY_KEY_USED);
	cbor_put_array(&w, list->n);
	for (size_t i = 0; i < list->n; i++) {
		const struct used_entry *e = &list->rows[i];
		cbor_put_array(&w, 3);
		cbor_put_bstr(&w, e->pseudonym, TRUST_HASH_LEN);
		cbor_put_uint(&w, (uint64_t)e->first_at);
		cbor_put_cstr(&w, e->desk);
	}
	return w.len;
}
