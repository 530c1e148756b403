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

/* The body map's head: n keys, the first of which is read into *key. */
static enum qd_err read_map_head(struct cbor_reader *r, const char *what, size_t want,
                                 struct cbor_int_keys *seen, struct qd_errmsg *why)
{
	size_t n = 0;
	enum cbor_status st = cbor_read_map(r, &n);
	if (st != CBOR_OK)
		return cbor_field_error(why, what, st);
	if (n != want) {
		qd_errmsg_set(why, "%s: %zu entries, want %zu", what, n, want);
		return QD_ERR_FORMAT;
	}
	cbor_int_keys_init(seen);
	return QD_OK;
}

/* The next key of a body map, which must be want. */
static enum qd_err read_key(struct cbor_reader *r, struct cbor_int_keys *seen, int64_t want,
                            const char *what, struct qd_errmsg *why)
{
	int64_t key = 0;
	enum cbor_status st = cbor_read_int_key(r, seen, &key);
	if (st != CBOR_OK)
		return cbor_field_error(why, what, st);
	if (key != want) {
		qd_errmsg_set(why, "%s: key %lld where %lld belongs", what, (long long)key,
		              (long long)want);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

/* An array's head: its count, bounded by USEDLIST_MAX and by the bytes left (min each). */
static enum qd_err read_count(struct cbor_reader *r, size_t len, size_t min, const char *what,
                              size_t *count, struct qd_errmsg *why)
{
	enum cbor_status st = cbor_read_array(r, count);
	if (st != CBOR_OK)
		return cbor_field_error(why, what, st);
	if (*count > USEDLIST_MAX) {
		qd_errmsg_set(why, "%s: %zu cards, more than %d", what, *count, USEDLIST_MAX);
		return QD_ERR_TOO_LARGE;
	}
	/* Never allocate for more entries than the bytes can hold. */
	if (*count > len / min) {
		qd_errmsg_set(why, "%s: %zu cards cannot fit in %zu bytes", what, *count, len);
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

/* An array of entries, strictly ascending, into out (malloc'd; empty on failure). */
static enum qd_err read_entries(struct cbor_reader *r, size_t len, const char *what,
                                struct used_list *out, struct qd_errmsg *why)
{
	out->n = 0;
	out->rows = NULL;
	size_t count = 0;
	enum qd_err rc = read_count(r, len, ENTRY_MIN, what, &count, why);
	if (rc != QD_OK)
		return rc;
	struct used_entry *rows = malloc((count ? count : 1) * sizeof(*rows));
	if (rows == NULL) {
		qd_errmsg_set(why, "%s: out of memory for %zu cards", what, count);
		return QD_ERR_NOMEM;
	}
	for (size_t i = 0; i < count && rc == QD_OK; i++) {
		rc = read_entry(r, i, &rows[i], why);
		if (rc == QD_OK && i > 0 &&
		    memcmp(rows[i - 1].pseudonym, rows[i].pseudonym, TRUST_HASH_LEN) >= 0) {
			qd_errmsg_set(why, "%s entry %zu: out of order or repeated", what, i);
			rc = QD_ERR_FORMAT;
		}
	}
	if (rc != QD_OK) {
		free(rows);
		return rc;
	}
	out->rows = rows;
	out->n = count;
	return QD_OK;
}

enum qd_err usedlist_from_body(const uint8_t *body, size_t len, struct used_list *out,
                               struct qd_errmsg *why)
{
	out->n = 0;
	out->rows = NULL;
	struct cbor_reader r;
	cbor_reader_init(&r, body, len);
	struct cbor_int_keys seen;
	enum qd_err rc = read_map_head(&r, "used body", 1, &seen, why);
	if (rc == QD_OK)
		rc = read_key(&r, &seen, BODY_KEY_USED, "used body", why);
	if (rc == QD_OK)
		rc = read_entries(&r, len, "used", out, why);
	enum cbor_status st = rc == QD_OK ? cbor_expect_end(&r) : CBOR_OK;
	if (st != CBOR_OK) {
		rc = cbor_field_error(why, "used body", st);
		usedlist_free(out);
	}
	return rc;
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

/* The entries array of a list or of a delta's added cards. */
static void put_entries(struct cbor_writer *w, const struct used_list *list)
{
	cbor_put_array(w, list->n);
	for (size_t i = 0; i < list->n; i++) {
		const struct used_entry *e = &list->rows[i];
		cbor_put_array(w, 3);
		cbor_put_bstr(w, e->pseudonym, TRUST_HASH_LEN);
		cbor_put_uint(w, (uint64_t)e->first_at);
		cbor_put_cstr(w, e->desk);
	}
}

size_t usedlist_encode(const struct used_list *list, uint8_t *buf, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 1);
	cbor_put_uint(&w, BODY_KEY_USED);
	put_entries(&w, list);
	return w.len;
}

/* ---- deltas ------------------------------------------------------------- */

enum { DELTA_KEY_ADDED = 1, DELTA_KEY_REMOVED = 2 };
/* The smallest removed card: a bstr of TRUST_HASH_LEN with its head. */
#define REMOVED_MIN (1 + TRUST_HASH_LEN)

void usedlist_delta_free(struct used_delta *delta)
{
	if (delta == NULL)
		return;
	usedlist_free(&delta->added);
	free(delta->removed);
	delta->removed = NULL;
	delta->n_removed = 0;
}

static enum qd_err read_removed(struct cbor_reader *r, size_t len, struct used_delta *d,
                                struct qd_errmsg *why)
{
	size_t count = 0;
	enum qd_err rc = read_count(r, len, REMOVED_MIN, "used-delta removed", &count, why);
	if (rc != QD_OK)
		return rc;
	d->removed = malloc((count ? count : 1) * TRUST_HASH_LEN);
	if (d->removed == NULL) {
		qd_errmsg_set(why, "used-delta removed: out of memory for %zu cards", count);
		return QD_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const uint8_t *bytes = NULL;
		size_t n = 0;
		enum cbor_status st = cbor_read_bstr(r, &bytes, &n);
		if (st != CBOR_OK)
			return cbor_field_error(why, "used-delta removed pseudonym", st);
		if (n != TRUST_HASH_LEN) {
			qd_errmsg_set(why,
			              "used-delta removed %zu: pseudonym of %zu bytes, want %d", i,
			              n, TRUST_HASH_LEN);
			return QD_ERR_FORMAT;
		}
		memcpy(d->removed[i], bytes, n);
		if (i > 0 && memcmp(d->removed[i - 1], d->removed[i], TRUST_HASH_LEN) >= 0) {
			qd_errmsg_set(why, "used-delta removed %zu: out of order or repeated", i);
			return QD_ERR_FORMAT;
		}
		d->n_removed = i + 1;
	}
	return QD_OK;
}

enum qd_err usedlist_delta_from_body(const uint8_t *body, size_t len, struct used_delta *out,
                                     struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	struct cbor_reader r;
	cbor_reader_init(&r, body, len);
	struct cbor_int_keys seen;
	enum qd_err rc = read_map_head(&r, "used-delta", 2, &seen, why);
	if (rc == QD_OK)
		rc = read_key(&r, &seen, DELTA_KEY_ADDED, "used-delta", why);
	if (rc == QD_OK)
		rc = read_entries(&r, len, "used-delta added", &out->added, why);
	if (rc == QD_OK)
		rc = read_key(&r, &seen, DELTA_KEY_REMOVED, "used-delta", why);
	if (rc == QD_OK)
		rc = read_removed(&r, len, out, why);
	enum cbor_status st = rc == QD_OK ? cbor_expect_end(&r) : CBOR_OK;
	if (st != CBOR_OK)
		rc = cbor_field_error(why, "used-delta", st);
	if (rc != QD_OK)
		usedlist_delta_free(out);
	return rc;
}

enum qd_err usedlist_delta_check_body(const uint8_t *body, size_t len, size_t *entries,
                                      struct qd_errmsg *why)
{
	struct used_delta d;
	enum qd_err rc = usedlist_delta_from_body(body, len, &d, why);
	*entries = d.added.n + d.n_removed;
	usedlist_delta_free(&d);
	return rc;
}

size_t usedlist_delta_encode(const struct used_delta *delta, uint8_t *buf, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, buf, cap);
	cbor_put_map(&w, 2);
	cbor_put_uint(&w, DELTA_KEY_ADDED);
	put_entries(&w, &delta->added);
	cbor_put_uint(&w, DELTA_KEY_REMOVED);
	cbor_put_array(&w, delta->n_removed);
	for (size_t i = 0; i < delta->n_removed; i++)
		cbor_put_bstr(&w, delta->removed[i], TRUST_HASH_LEN);
	return w.len;
}

static bool same_entry(const struct used_entry *a, const struct used_entry *b)
{
	return a->first_at == b->first_at && strcmp(a->desk, b->desk) == 0;
}

enum qd_err usedlist_delta_make(const struct used_list *from, const struct used_list *to,
                                struct used_delta *out, struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	out->added.rows = malloc((to->n ? to->n : 1) * sizeof(*out->added.rows));
	out->removed = malloc((from->n ? from->n : 1) * TRUST_HASH_LEN);
	if (out->added.rows == NULL || out->removed == NULL) {
		usedlist_delta_free(out);
		qd_errmsg_set(why, "used-delta: out of memory");
		return QD_ERR_NOMEM;
	}
	/* One merge walk: a card only in from is removed, only in to added, in both but
	 * changed removed and added. */
	size_t i = 0, j = 0;
	while (i < from->n || j < to->n) {
		int c = i == from->n ? 1
		        : j == to->n ? -1
		                     : memcmp(from->rows[i].pseudonym, to->rows[j].pseudonym,
		                              TRUST_HASH_LEN);
		if (c < 0 || (c == 0 && !same_entry(&from->rows[i], &to->rows[j])))
			memcpy(out->removed[out->n_removed++], from->rows[i].pseudonym,
			       TRUST_HASH_LEN);
		if (c > 0 || (c == 0 && !same_entry(&from->rows[i], &to->rows[j])))
			out->added.rows[out->added.n++] = to->rows[j];
		i += c <= 0;
		j += c >= 0;
	}
	return QD_OK;
}

static enum qd_err not_base(struct qd_errmsg *why, const char *what, size_t index)
{
	qd_errmsg_set(why,
	              "used-delta: %s card %zu %s the installed list: it is not the delta's base",
	              what, index, what[0] == 'r' ? "is not in" : "is already in");
	return QD_ERR_BASE;
}

enum qd_err usedlist_delta_apply(const struct used_list *base, const struct used_delta *delta,
                                 struct used_list *out, struct qd_errmsg *why)
{
	out->n = 0;
	out->rows = NULL;
	size_t cap = base->n + delta->added.n;
	struct used_entry *rows = malloc((cap ? cap : 1) * sizeof(*rows));
	if (rows == NULL) {
		qd_errmsg_set(why, "used-delta: out of memory for %zu cards", cap);
		return QD_ERR_NOMEM;
	}
	/* Three sorted lists in one walk: base less removed, merged with added. */
	size_t i = 0, r = 0, a = 0, n = 0;
	enum qd_err rc = QD_OK;
	while (rc == QD_OK && (i < base->n || a < delta->added.n)) {
		const uint8_t *bp = i < base->n ? base->rows[i].pseudonym : NULL;
		if (bp != NULL && r < delta->n_removed) {
			int c = memcmp(delta->removed[r], bp, TRUST_HASH_LEN);
			if (c < 0) {
				rc = not_base(why, "removed", r);
				break;
			}
			if (c == 0) {
				i++, r++;
				continue;
			}
		}
		const struct used_entry *ap = a < delta->added.n ? &delta->added.rows[a] : NULL;
		int c = bp == NULL   ? 1
		        : ap == NULL ? -1
		                     : memcmp(bp, ap->pseudonym, TRUST_HASH_LEN);
		if (c == 0)
			rc = not_base(why, "added", a);
		else if (c < 0)
			rows[n++] = base->rows[i++];
		else
			rows[n++] = delta->added.rows[a++];
	}
	if (rc == QD_OK && r < delta->n_removed)
		rc = not_base(why, "removed", r);
	if (rc == QD_OK && n > USEDLIST_MAX) {
		qd_errmsg_set(why, "used-delta: the list would hold more than %d cards",
		              USEDLIST_MAX);
		rc = QD_ERR_TOO_LARGE;
	}
	if (rc != QD_OK) {
		free(rows);
		return rc;
	}
	out->rows = rows;
	out->n = n;
	return QD_OK;
}

enum qd_err usedlist_apply_delta_body(const uint8_t *base, size_t base_len, const uint8_t *changes,
                                      size_t changes_len, uint8_t **out, size_t *out_len,
                                      struct qd_errmsg *why)
{
	*out = NULL;
	*out_len = 0;
	struct used_list list, next;
	struct used_delta delta;
	struct qd_errmsg bad = {{0}};
	enum qd_err rc = usedlist_from_body(base, base_len, &list, &bad);
	if (rc != QD_OK) {
		qd_errmsg_set(why, "the installed used list: %s", bad.text);
		return rc == QD_ERR_NOMEM ? rc : QD_ERR_BASE;
	}
	rc = usedlist_delta_from_body(changes, changes_len, &delta, why);
	if (rc == QD_OK)
		rc = usedlist_delta_apply(&list, &delta, &next, why);
	usedlist_free(&list);
	usedlist_delta_free(&delta);
	if (rc != QD_OK)
		return rc;
	size_t need = usedlist_encode(&next, NULL, 0);
	*out = malloc(need);
	if (*out == NULL) {
		usedlist_free(&next);
		qd_errmsg_set(why, "used-delta: out of memory for %zu bytes", need);
		return QD_ERR_NOMEM;
	}
	*out_len = usedlist_encode(&next, *out, need);
	usedlist_free(&next);
	return QD_OK;
}
