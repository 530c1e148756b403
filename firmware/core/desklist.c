/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desklist.c - the fleet's desk list (see desklist.h).
 */
#include "qrdesk/desklist.h"

#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"

enum { BODY_KEY_DESKS = 1 };
enum {
	DESK_KEY_ID = 1,
	DESK_KEY_ALG = 2,
	DESK_KEY_PUBLIC = 3,
	DESK_KEY_ADDED = 4,
	DESK_KEY_RETIRED = 5
};

bool desk_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > DESK_ID_MAX || (len <= 2 && strncmp(id, "..", len) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int by_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct desk_entry *)elem)->id);
}

const struct desk_entry *desklist_find(const struct desk_list *list, const char *id)
{
	if (list == NULL || id == NULL)
		return NULL;
	return bsearch(id, list->rows, list->n, sizeof(list->rows[0]), by_id);
}

static enum qd_err entry_check(const struct desk_entry *e, struct qd_errmsg *why)
{
	if (!desk_id_valid(e->id, strnlen(e->id, sizeof(e->id)))) {
		qd_errmsg_set(why, "desk id \"%.*s\": want 1..%d of A-Z a-z 0-9 . _ -",
		              (int)sizeof(e->id), e->id, DESK_ID_MAX);
		return QD_ERR_FORMAT;
	}
	if (e->alg != SIGNATURE_ALG_EDDSA ||
	    signature_public_check(e->alg, e->public_key, sizeof(e->public_key)) != QD_OK) {
		qd_errmsg_set(why, "desk %s: not an Ed25519 public key", e->id);
		return QD_ERR_FORMAT;
	}
	if (e->retired_at != 0 && e->retired_at < e->added_at) {
		qd_errmsg_set(why, "desk %s: retired before it was added", e->id);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

enum qd_err desklist_add(struct desk_list *list, const struct desk_entry *e, struct qd_errmsg *why)
{
	enum qd_err rc = entry_check(e, why);
	if (rc != QD_OK)
		return rc;
	size_t at = 0;
	for (size_t i = 0; i < list->n; i++) {
		int c = strcmp(list->rows[i].id, e->id);
		if (c == 0) {
			qd_errmsg_set(why, "desk %s is listed already", e->id);
			return QD_ERR_EXISTS;
		}
		if (memcmp(list->rows[i].public_key, e->public_key, sizeof(e->public_key)) == 0) {
			qd_errmsg_set(why, "that key is desk %s's already", list->rows[i].id);
			return QD_ERR_EXISTS;
		}
		if (c < 0)
			at = i + 1;
	}
	if (list->n == DESKLIST_MAX) {
		qd_errmsg_set(why, "desk list: more than %d desks", DESKLIST_MAX);
		return QD_ERR_TOO_LARGE;
	}
	memmove(&list->rows[at + 1], &list->rows[at], (list->n - at) * sizeof(list->rows[0]));
	list->rows[at] = *e;
	list->n++;
	return QD_OK;
}

/* One desk map into e. */
static enum qd_err read_entry(struct cbor_reader *r, size_t index, struct desk_entry *e,
                              struct qd_errmsg *why)
{
	memset(e, 0, sizeof(*e));
	size_t count = 0;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "desk", st);
	if (count < 4 || count > 5) {
		qd_errmsg_set(why, "desk %zu: %zu fields, want 4 or 5", index, count);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	bool have_id = false, have_alg = false, have_key = false, have_added = false;
	for (size_t i = 0; i < count; i++) {
		int64_t key = 0;
		if ((st = cbor_read_int_key(r, &seen, &key)) != CBOR_OK)
			return cbor_field_error(why, "desk key", st);
		const char *text = NULL;
		const uint8_t *bytes = NULL;
		size_t len = 0;
		switch (key) {
		case DESK_KEY_ID:
			st = cbor_read_tstr(r, &text, &len);
			if (st == CBOR_OK && !desk_id_valid(text, len)) {
				qd_errmsg_set(why, "desk %zu: id not 1..%d of A-Z a-z 0-9 . _ -",
				              index, DESK_ID_MAX);
				return QD_ERR_FORMAT;
			}
			if (st == CBOR_OK)
				memcpy(e->id, text, len);
			have_id = true;
			break;
		case DESK_KEY_ALG:
			st = cbor_read_int(r, &e->alg);
			have_alg = true;
			break;
		case DESK_KEY_PUBLIC:
			st = cbor_read_bstr(r, &bytes, &len);
			if (st == CBOR_OK && len != sizeof(e->public_key)) {
				qd_errmsg_set(why, "desk %zu: public key of %zu bytes, want %zu",
				              index, len, sizeof(e->public_key));
				return QD_ERR_FORMAT;
			}
			if (st == CBOR_OK)
				memcpy(e->public_key, bytes, len);
			have_key = true;
			break;
		case DESK_KEY_ADDED:
			st = cbor_read_time(r, &e->added_at);
			have_added = true;
			break;
		case DESK_KEY_RETIRED:
			st = cbor_read_time(r, &e->retired_at);
			if (st == CBOR_OK && e->retired_at == 0) {
				qd_errmsg_set(why, "desk %zu: retired at 0", index);
				return QD_ERR_FORMAT;
			}
			break;
		default:
			qd_errmsg_set(why, "desk %zu: unknown key %lld", index, (long long)key);
			return QD_ERR_FORMAT;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "desk field", st);
	}
	if (!have_id || !have_alg || !have_key || !have_added) {
		qd_errmsg_set(why, "desk %zu: id, alg, public key and added-at are required",
		              index);
		return QD_ERR_FORMAT;
	}
	return entry_check(e, why);
}

static enum qd_err decode(const uint8_t *body, size_t len, struct desk_list *out,
                          struct qd_errmsg *why)
{
	struct cbor_reader r;
	cbor_reader_init(&r, body, len);
	size_t count = 0;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "desks body", st);
	if (count != 1) {
		qd_errmsg_set(why, "desks body: %zu entries, want one (1: the desks)", count);
		return QD_ERR_FORMAT;
	}
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	int64_t key = 0;
	if ((st = cbor_read_int_key(&r, &seen, &key)) != CBOR_OK)
		return cbor_field_error(why, "desks key", st);
	if (key != BODY_KEY_DESKS) {
		qd_errmsg_set(why, "desks body: unknown key %lld", (long long)key);
		return QD_ERR_FORMAT;
	}
	if ((st = cbor_read_array(&r, &count)) != CBOR_OK)
		return cbor_field_error(why, "desks", st);
	if (count > DESKLIST_MAX) {
		qd_errmsg_set(why, "desks: %zu, more than %d", count, DESKLIST_MAX);
		return QD_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < count; i++) {
		struct desk_entry *e = &out->rows[i];
		enum qd_err rc = read_entry(&r, i, e, why);
		if (rc != QD_OK)
			return rc;
		if (i > 0 && strcmp(out->rows[i - 1].id, e->id) >= 0) {
			qd_errmsg_set(why, "desk %zu: %s out of order or repeated", i, e->id);
			return QD_ERR_FORMAT;
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(out->rows[j].public_key, e->public_key, sizeof(e->public_key)) ==
			    0) {
				qd_errmsg_set(why, "desk %s: the key of desk %s", e->id,
				              out->rows[j].id);
				return QD_ERR_FORMAT;
			}
	}
	if ((st = cbor_expect_end(&r)) != CBOR_OK)
		return cbor_field_error(why, "desks body", st);
	out->n = count;
	return QD_OK;
}

enum qd_err desklist_from_body(const uint8_t *body, size_t len, struct desk_list *out,
                               struct qd_errmsg *why)
{
	out->n = 0;
	enum qd_err rc = decode(body, len, out, why);
	if (rc != QD_OK)
		out->n = 0;
	return rc;
}

enum qd_err desklist_check_body(const uint8_t *body, size_t len, size_t *entries,
                                struct qd_errmsg *why)
{
	*entries = 0;
	/* About 340 KiB: not on a sync or USB worker's stack. */
	struct desk_list *list = malloc(sizeof(*list));
	if (list == NULL)
		return QD_ERR_NOMEM;
	enum qd_err rc = desklist_from_body(body, len, list, why);
	*entries = list->n;
	free(list);
	return rc;
}

size_t desklist_encode(const struct desk_list *list, uint8_t *buf, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, BODY_KEY_DESKS);
	cbor_put_array(&w, list->n);
	for (size_t i = 0; i < list->n; i++) {
		const struct desk_entry *e = &list->rows[i];
		cbor_put_map(&w, e->retired_at != 0 ? 5 : 4);
		cbor_put_uint(&w, DESK_KEY_ID);
		cbor_put_cstr(&w, e->id);
		cbor_put_uint(&w, DESK_KEY_ALG);
		cbor_put_int(&w, e->alg);
		cbor_put_uint(&w, DESK_KEY_PUBLIC);
		cbor_put_bstr(&w, e->public_key, sizeof(e->public_key));
		cbor_put_uint(&w, DESK_KEY_ADDED);
		cbor_put_uint(&w, (uint64_t)e->added_at);
		if (e->retired_at != 0) {
			cbor_put_uint(&w, DESK_KEY_RETIRED);
			cbor_put_uint(&w, (uint64_t)e->retired_at);
		}
	}
	return w.len;
}
