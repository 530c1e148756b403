/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trustdoc.c - payloads of the signed trust documents: strict decoding with
 * a message naming the faulty field, and the issuer's encoders.  Layout in
 * trustdoc.h and docs/trust-documents.md.
 */
#include "qrdesk/trustdoc.h"

#include <stdio.h>
#include <string.h>

#include "qrdesk/signature.h"

enum {
	DOC_KEY_TYPE = 1,
	DOC_KEY_VERSION = 2,
	DOC_KEY_ISSUED_AT = 3,
	DOC_KEY_EXPIRES_AT = 4,
	DOC_KEY_BODY = 5,
};

enum {
	KEY_KID = 1,
	KEY_ALG = 2,
	KEY_ROLE = 3,
	KEY_PUBLIC = 4,
	KEY_NOT_BEFORE = 5,
	KEY_NOT_AFTER = 6,
	KEY_STATUS = 7,
};

enum { REVOCATIONS_HASH_LEN = 1, REVOCATIONS_HASHES = 2, REVOCATIONS_RANGES = 3 };
enum { TS_TYPE = 1, TS_VERSION = 2, TS_LENGTH = 3, TS_SHA256 = 4, TS_BASE = 5 };
enum {
	DELTA_HASH_LEN = 1,
	DELTA_BASE = 2,
	DELTA_ADDED = 3,
	DELTA_REMOVED = 4,
	DELTA_RANGES_ADDED = 5,
	DELTA_RANGES_REMOVED = 6
};

static enum cbor_status read_doc_type(struct cbor_reader *r, enum trust_doc_type *type)
{
	const char *s;
	size_t n;
	enum cbor_status st = cbor_read_tstr(r, &s, &n);
	if (st == CBOR_OK && trust_doc_type_parse(s, n, type) != QD_OK)
		st = CBOR_ERR_RANGE;
	return st;
}

/* "document type (not keyset, revocations, ... or root)": every name of the list, by number. */
static enum qd_err unknown_type_error(struct qd_errmsg *why)
{
	char names[256] = "";
	size_t n = 0, len = 0;
	for (int t = 1; t < TRUST_DOC_SLOTS; t++)
		n += trust_doc_type_name((enum trust_doc_type)t) != NULL;
	for (int t = 1, i = 0; t < TRUST_DOC_SLOTS && len < sizeof(names); t++) {
		const char *name = trust_doc_type_name((enum trust_doc_type)t);
		if (name == NULL)
			continue;
		i++;
		const char *sep = i == 1 ? "" : (size_t)i == n ? " or " : ", ";
		int w = snprintf(names + len, sizeof(names) - len, "%s%s", sep, name);
		len += w > 0 ? (size_t)w : 0;
	}
	qd_errmsg_set(why, "document type (not %s): invalid value", names);
	return QD_ERR_FORMAT;
}

static enum qd_err decode_key(struct cbor_reader *r, struct trust_key *k, struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "keyset key", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	uint32_t have = 0;
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		st = cbor_read_int_key(r, &seen, &key);
		if (st != CBOR_OK)
			return cbor_field_error(why, "keyset key", st);
		const uint8_t *p;
		size_t n;
		uint64_t u;
		switch (key) {
		case KEY_KID:
			st = cbor_read_bstr(r, &p, &n);
			if (st == CBOR_OK && (n == 0 || n > TRUST_KID_MAX))
				return cbor_field_error(why, "keyset key kid", CBOR_OK);
			if (st == CBOR_OK) {
				memcpy(k->kid, p, n);
				k->kid_len = (uint8_t)n;
			}
			break;
		case KEY_ALG:
			st = cbor_read_int(r, &k->alg);
			if (st == CBOR_OK && !signature_alg_supported(k->alg))
				return cbor_field_error(why, "keyset key alg", CBOR_OK);
			break;
		case KEY_ROLE: {
			const char *s;
			st = cbor_read_tstr(r, &s, &n);
			if (st == CBOR_OK && key_role_parse(s, n, &k->role) != QD_OK)
				return cbor_field_error(why, "keyset key role", CBOR_OK);
			break;
		}
		case KEY_PUBLIC:
			st = cbor_read_bstr(r, &p, &n);
			if (st == CBOR_OK && n > SIGNATURE_PUBLIC_MAX)
				return cbor_field_error(why, "keyset key public key", CBOR_OK);
			if (st == CBOR_OK) {
				memcpy(k->public_key, p, n);
				k->public_len = (uint8_t)n;
			}
			break;
		case KEY_NOT_BEFORE:
			st = cbor_read_time(r, &k->not_before);
			break;
		case KEY_NOT_AFTER:
			st = cbor_read_time(r, &k->not_after);
			break;
		case KEY_STATUS:
			st = cbor_read_uint(r, &u);
			if (st == CBOR_OK && u > KEY_STATUS_REVOKED)
				return cbor_field_error(why, "keyset key status", CBOR_OK);
			if (st == CBOR_OK)
				k->status = (enum key_status)u;
			break;
		default:
			st = cbor_skip(r);
			break;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "keyset key", st);
		if (key >= KEY_KID && key <= KEY_STATUS)
			have |= 1u << key;
	}
	for (int key = KEY_KID; key <= KEY_STATUS; key++)
		if (!(have & (1u << key))) {
			qd_errmsg_set(why, "keyset key: field %d missing", key);
			return QD_ERR_FORMAT;
		}
	if (signature_public_check(k->alg, k->public_key, k->public_len) != QD_OK)
		return cbor_field_error(why, "keyset key public key", CBOR_OK);
	if (k->not_after < k->not_before)
		return cbor_field_error(why, "keyset key validity window", CBOR_OK);
	return QD_OK;
}

/* An array of at most max key maps (a key set's or a root's). */
static enum qd_err decode_keys(struct cbor_reader *r, const char *what, struct trust_key *keys,
                               size_t max, size_t *out_count, struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_array(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, what, st);
	if (count > max) {
		qd_errmsg_set(why, "%s: %zu keys, at most %zu", what, count, max);
		return QD_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < count; i++) {
		enum qd_err rc = decode_key(r, &keys[i], why);
		if (rc != QD_OK)
			return rc;
	}
	*out_count = count;
	return QD_OK;
}

static enum qd_err decode_keyset(struct cbor_reader *r, struct trustdoc_keyset *ks,
                                 struct qd_errmsg *why)
{
	return decode_keys(r, "keyset", ks->keys, TRUST_KEYS_MAX, &ks->count, why);
}

/* A root lists only root keys, at least one. */
static enum qd_err decode_root(struct cbor_reader *r, struct trustdoc_root *root,
                               struct qd_errmsg *why)
{
	enum qd_err rc =
	        decode_keys(r, "root", root->keys, TRUSTDOC_ROOT_KEYS_MAX, &root->count, why);
	if (rc != QD_OK)
		return rc;
	if (root->count == 0) {
		qd_errmsg_set(why, "root: no keys");
		return QD_ERR_FORMAT;
	}
	for (size_t i = 0; i < root->count; i++)
		if (root->keys[i].role != KEY_ROLE_ROOT) {
			qd_errmsg_set(why, "root: key %zu is not a root key", i);
			return QD_ERR_FORMAT;
		}
	return QD_OK;
}

/*
 * A bstr of hashes: whole hashes, at most TRUSTDOC_REVOCATIONS_MAX, strictly
 * ascending (unique; cheap to check, and lets the store bulk-load).
 */
static enum qd_err check_hash_list(const char *what, const uint8_t *hashes, size_t bytes,
                                   size_t *count, struct qd_errmsg *why)
{
	if (bytes % TRUST_HASH_LEN != 0) {
		qd_errmsg_set(why, "%s: hashes length %zu is not a whole number of hashes", what,
		              bytes);
		return QD_ERR_FORMAT;
	}
	size_t n = bytes / TRUST_HASH_LEN;
	if (n > TRUSTDOC_REVOCATIONS_MAX) {
		qd_errmsg_set(why, "%s: %zu entries, at most %u", what, n,
		              TRUSTDOC_REVOCATIONS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	for (size_t i = 1; i < n; i++)
		if (memcmp(hashes + (i - 1) * TRUST_HASH_LEN, hashes + i * TRUST_HASH_LEN,
		           TRUST_HASH_LEN) >= 0) {
			qd_errmsg_set(why, "%s: entry %zu not in ascending order", what, i);
			return QD_ERR_FORMAT;
		}
	*count = n;
	return QD_OK;
}

int trustdoc_range_cmp(const struct trust_range *a, const struct trust_range *b)
{
	size_t n = a->kid_len < b->kid_len ? a->kid_len : b->kid_len;
	int c = memcmp(a->kid, b->kid, n);
	if (c != 0)
		return c;
	if (a->kid_len != b->kid_len)
		return a->kid_len < b->kid_len ? -1 : 1;
	return a->from < b->from ? -1 : a->from > b->from ? 1 : 0;
}

/* One entry [kid, from, to]. */
static enum cbor_status read_range(struct cbor_reader *r, struct trust_range *e, bool *bad)
{
	size_t n;
	const uint8_t *kid;
	size_t kid_len;
	uint64_t from, to;
	enum cbor_status st = cbor_read_array(r, &n);
	if (st == CBOR_OK && n != 3)
		*bad = true;
	if (st == CBOR_OK && !*bad)
		st = cbor_read_bstr(r, &kid, &kid_len);
	if (st == CBOR_OK && !*bad)
		st = cbor_read_uint(r, &from);
	if (st == CBOR_OK && !*bad)
		st = cbor_read_uint(r, &to);
	if (st != CBOR_OK || *bad)
		return st;
	if (kid_len == 0 || kid_len > TRUST_KID_MAX || from >= to || to > (uint64_t)INT64_MAX) {
		*bad = true;
		return CBOR_OK;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->kid, kid, kid_len);
	e->kid_len = (uint8_t)kid_len;
	e->from = (int64_t)from;
	e->to = (int64_t)to;
	return CBOR_OK;
}

/* A list of windows: each well formed, in order, a kid's windows disjoint. */
static enum qd_err decode_ranges(struct cbor_reader *r, const char *what,
                                 struct trustdoc_ranges *out, struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_array(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, what, st);
	if (count > TRUSTDOC_RANGES_MAX) {
		qd_errmsg_set(why, "%s: %zu windows, more than %u", what, count,
		              TRUSTDOC_RANGES_MAX);
		return QD_ERR_TOO_LARGE;
	}
	size_t start = r->pos;
	struct trust_range prev = {{0}, 0, 0, 0}, e;
	for (size_t i = 0; i < count; i++) {
		bool bad = false;
		st = read_range(r, &e, &bad);
		if (st != CBOR_OK)
			return cbor_field_error(why, what, st);
		if (bad) {
			qd_errmsg_set(why,
			              "%s: window %zu is not [kid (1..16 bytes), from, to > from]",
			              what, i);
			return QD_ERR_FORMAT;
		}
		if (i > 0 && (trustdoc_range_cmp(&prev, &e) >= 0 ||
		              (prev.kid_len == e.kid_len &&
		               memcmp(prev.kid, e.kid, e.kid_len) == 0 && prev.to > e.from))) {
			qd_errmsg_set(why,
			              "%s: window %zu out of order or overlapping the one before",
			              what, i);
			return QD_ERR_FORMAT;
		}
		prev = e;
	}
	out->bytes = count > 0 ? r->buf + start : NULL;
	out->len = r->pos - start;
	out->count = count;
	return QD_OK;
}

void trustdoc_ranges_read(const struct trustdoc_ranges *ranges, struct trust_range *out)
{
	struct cbor_reader r;
	cbor_reader_init(&r, ranges->bytes, ranges->len);
	for (size_t i = 0; i < ranges->count; i++) {
		bool bad = false;
		(void)read_range(&r, &out[i], &bad); /* checked when decoded */
	}
}

static void encode_ranges(struct cbor_writer *w, const struct trust_range *ranges, size_t n)
{
	cbor_put_array(w, n);
	for (size_t i = 0; i < n; i++) {
		cbor_put_array(w, 3);
		cbor_put_bstr(w, ranges[i].kid, ranges[i].kid_len);
		cbor_put_uint(w, (uint64_t)ranges[i].from);
		cbor_put_uint(w, (uint64_t)ranges[i].to);
	}
}

static enum qd_err decode_revocations(struct cbor_reader *r, struct trustdoc_revocations *rv,
                                      struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "revocations", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	memset(rv, 0, sizeof(*rv));
	bool have_len = false, have_hashes = false;
	const uint8_t *hashes = NULL;
	size_t bytes = 0;
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		uint64_t u;
		st = cbor_read_int_key(r, &seen, &key);
		if (st != CBOR_OK)
			return cbor_field_error(why, "revocations", st);
		switch (key) {
		case REVOCATIONS_HASH_LEN:
			st = cbor_read_uint(r, &u);
			if (st == CBOR_OK && u != TRUST_HASH_LEN)
				return cbor_field_error(why, "revocations hash length", CBOR_OK);
			have_len = true;
			break;
		case REVOCATIONS_HASHES:
			st = cbor_read_bstr(r, &hashes, &bytes);
			have_hashes = true;
			break;
		case REVOCATIONS_RANGES: {
			enum qd_err rc = decode_ranges(r, "revocations windows", &rv->ranges, why);
			if (rc != QD_OK)
				return rc;
			break;
		}
		default:
			st = cbor_skip(r);
			break;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "revocations", st);
	}
	if (!have_len || !have_hashes) {
		qd_errmsg_set(why, "revocations: hash length or hashes missing");
		return QD_ERR_FORMAT;
	}
	size_t n = 0;
	enum qd_err rc = check_hash_list("revocations", hashes, bytes, &n, why);
	if (rc != QD_OK)
		return rc;
	rv->hashes = hashes;
	rv->count = n;
	return QD_OK;
}

/* Both lists sorted: one merge pass finds a hash in both. */
static bool lists_disjoint(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	size_t i = 0, j = 0;
	while (i < na && j < nb) {
		int c = memcmp(a + i * TRUST_HASH_LEN, b + j * TRUST_HASH_LEN, TRUST_HASH_LEN);
		if (c == 0)
			return false;
		if (c < 0)
			i++;
		else
			j++;
	}
	return true;
}

static enum qd_err decode_delta(struct cbor_reader *r, struct trustdoc_revocations_delta *dv,
                                struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "revocations-delta", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	uint32_t have = 0;
	const uint8_t *added = NULL, *removed = NULL;
	size_t added_bytes = 0, removed_bytes = 0;
	memset(dv, 0, sizeof(*dv));
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		uint64_t u;
		st = cbor_read_int_key(r, &seen, &key);
		if (st != CBOR_OK)
			return cbor_field_error(why, "revocations-delta", st);
		switch (key) {
		case DELTA_HASH_LEN:
			st = cbor_read_uint(r, &u);
			if (st == CBOR_OK && u != TRUST_HASH_LEN)
				return cbor_field_error(why, "revocations-delta hash length",
				                        CBOR_OK);
			break;
		case DELTA_BASE:
			st = cbor_read_uint(r, &dv->base_version);
			if (st == CBOR_OK &&
			    (dv->base_version == 0 || dv->base_version > (uint64_t)INT64_MAX))
				return cbor_field_error(why, "revocations-delta base version",
				                        CBOR_OK);
			break;
		case DELTA_ADDED:
			st = cbor_read_bstr(r, &added, &added_bytes);
			break;
		case DELTA_REMOVED:
			st = cbor_read_bstr(r, &removed, &removed_bytes);
			break;
		case DELTA_RANGES_ADDED:
		case DELTA_RANGES_REMOVED: {
			enum qd_err rc = decode_ranges(
			        r,
			        key == DELTA_RANGES_ADDED ? "revocations-delta windows added"
			                                  : "revocations-delta windows removed",
			        key == DELTA_RANGES_ADDED ? &dv->ranges_added : &dv->ranges_removed,
			        why);
			if (rc != QD_OK)
				return rc;
			break;
		}
		default:
			st = cbor_skip(r);
			break;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, "revocations-delta", st);
		if (key >= DELTA_HASH_LEN && key <= DELTA_REMOVED)
			have |= 1u << key;
	}
	if (have != 0x1e) {
		qd_errmsg_set(why,
		              "revocations-delta: hash length, base, added or removed missing");
		return QD_ERR_FORMAT;
	}
	enum qd_err rc =
	        check_hash_list("revocations-delta added", added, added_bytes, &dv->n_added, why);
	if (rc == QD_OK)
		rc = check_hash_list("revocations-delta removed", removed, removed_bytes,
		                     &dv->n_removed, why);
	if (rc != QD_OK)
		return rc;
	if (!lists_disjoint(added, dv->n_added, removed, dv->n_removed)) {
		qd_errmsg_set(why, "revocations-delta: a hash is both added and removed");
		return QD_ERR_FORMAT;
	}
	dv->added = added;
	dv->removed = removed;
	return QD_OK;
}

static enum qd_err decode_timestamp(struct cbor_reader *r, struct trustdoc_timestamp *ts,
                                    struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_array(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "timestamp", st);
	if (count > TRUSTDOC_TIMESTAMP_ENTRIES_MAX)
		return cbor_field_error(why, "timestamp entries", CBOR_ERR_TOO_MANY);
	for (size_t i = 0; i < count; i++) {
		struct trustdoc_timestamp_entry *e = &ts->entries[i];
		e->base_version = 0;
		size_t fields;
		st = cbor_read_map(r, &fields);
		if (st != CBOR_OK)
			return cbor_field_error(why, "timestamp entry", st);
		struct cbor_int_keys seen;
		cbor_int_keys_init(&seen);
		uint32_t have = 0;
		for (size_t f = 0; f < fields; f++) {
			int64_t key;
			const uint8_t *p;
			size_t n;
			st = cbor_read_int_key(r, &seen, &key);
			if (st != CBOR_OK)
				return cbor_field_error(why, "timestamp entry", st);
			switch (key) {
			case TS_TYPE:
				st = read_doc_type(r, &e->type);
				break;
			case TS_VERSION:
				st = cbor_read_uint(r, &e->version);
				break;
			case TS_LENGTH:
				st = cbor_read_uint(r, &e->length);
				break;
			case TS_SHA256:
				st = cbor_read_bstr(r, &p, &n);
				if (st == CBOR_OK && n != sizeof(e->sha256))
					return cbor_field_error(why, "timestamp entry sha256",
					                        CBOR_OK);
				if (st == CBOR_OK)
					memcpy(e->sha256, p, n);
				break;
			case TS_BASE:
				st = cbor_read_uint(r, &e->base_version);
				if (st == CBOR_OK && e->base_version == 0)
					return cbor_field_error(why, "timestamp entry base version",
					                        CBOR_OK);
				break;
			default:
				st = cbor_skip(r);
				break;
			}
			if (st != CBOR_OK)
				return cbor_field_error(why, "timestamp entry", st);
			if (key >= TS_TYPE && key <= TS_SHA256)
				have |= 1u << key;
		}
		if ((have & 0x1e) != 0x1e) {
			qd_errmsg_set(why, "timestamp entry %zu: a field is missing", i);
			return QD_ERR_FORMAT;
		}
		/* A delta names its base; nothing else has one. */
		if ((trust_doc_installs(e->type) != e->type) != (e->base_version != 0)) {
			qd_errmsg_set(why, "timestamp entry %zu: base version %s", i,
			              e->base_version != 0 ? "on a file that is not a delta"
			                                   : "missing on a delta");
			return QD_ERR_FORMAT;
		}
		if (e->base_version != 0 && e->base_version >= e->version) {
			qd_errmsg_set(why, "timestamp entry %zu: delta base not below its version",
			              i);
			return QD_ERR_FORMAT;
		}
		for (size_t j = 0; j < i; j++)
			if (ts->entries[j].type == e->type) {
				qd_errmsg_set(why, "timestamp: %s listed twice",
				              trust_doc_type_name(e->type));
				return QD_ERR_FORMAT;
			}
	}
	ts->count = count;
	return QD_OK;
}

/* A body the list keeps whole (policy and the like): one map, judged by its row's check_body. */
static enum qd_err decode_blob(struct cbor_reader *r, const char *name, struct trustdoc_policy *pol,
                               struct qd_errmsg *why)
{
	enum cbor_type type;
	enum cbor_status st = cbor_peek_type(r, &type);
	if (st == CBOR_OK && type != CBOR_TYPE_MAP)
		st = CBOR_ERR_TYPE;
	size_t start = r->pos;
	if (st == CBOR_OK)
		st = cbor_skip(r);
	if (st != CBOR_OK)
		return cbor_field_error(why, name, st);
	pol->body = r->buf + start;
	pol->body_len = r->pos - start;
	return QD_OK;
}

enum { BODY_DELTA_BASE = 1, BODY_DELTA_CHANGES = 2 };

/* {1: base version, 2: changes}: the base here, the changes kept as their bytes. */
static enum qd_err decode_body_delta(struct cbor_reader *r, const char *name,
                                     struct trustdoc_body_delta *bd, struct qd_errmsg *why)
{
	memset(bd, 0, sizeof(*bd));
	size_t n = 0;
	enum cbor_status st = cbor_read_map(r, &n);
	if (st == CBOR_OK && n != 2)
		st = CBOR_ERR_TYPE;
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	for (size_t i = 0; i < n && st == CBOR_OK; i++) {
		int64_t key = 0;
		st = cbor_read_int_key(r, &seen, &key);
		if (st == CBOR_OK && key == BODY_DELTA_BASE) {
			st = cbor_read_uint(r, &bd->base_version);
			if (st == CBOR_OK &&
			    (bd->base_version == 0 || bd->base_version > (uint64_t)INT64_MAX))
				st = CBOR_ERR_RANGE;
		} else if (st == CBOR_OK && key == BODY_DELTA_CHANGES) {
			size_t start = r->pos;
			st = cbor_skip(r);
			bd->changes = r->buf + start;
			bd->changes_len = r->pos - start;
		} else if (st == CBOR_OK) {
			st = CBOR_ERR_TYPE;
		}
	}
	if (st == CBOR_OK)
		st = cbor_expect_end(r);
	if (st != CBOR_OK || bd->base_version == 0 || bd->changes == NULL) {
		char field[64];
		snprintf(field, sizeof(field), "%s (1: base version, 2: changes)", name);
		enum qd_err rc = cbor_field_error(why, field, st);
		memset(bd, 0, sizeof(*bd));
		return rc;
	}
	return QD_OK;
}

uint64_t trustdoc_delta_base(const struct trustdoc *doc)
{
	const struct trust_doc_info *info = trust_doc_info(doc->header.type);
	if (info != NULL && info->kind == TRUST_DOC_KIND_DELTA)
		return doc->body.delta.base_version;
	if (info != NULL && info->kind == TRUST_DOC_KIND_BODY_DELTA)
		return doc->body.body_delta.base_version;
	return 0;
}

enum qd_err trustdoc_decode(const uint8_t *payload, size_t len, struct trustdoc *out,
                            struct qd_errmsg *why)
{
	memset(&out->header, 0, sizeof(out->header));
	struct cbor_reader r;
	cbor_reader_init(&r, payload, len);
	size_t count;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "document", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	uint32_t have = 0;
	size_t body_start = 0, body_end = 0;
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		uint64_t version;
		st = cbor_read_int_key(&r, &seen, &key);
		if (st != CBOR_OK)
			return cbor_field_error(why, "document", st);
		const char *field = "document";
		switch (key) {
		case DOC_KEY_TYPE:
			field = "document type";
			st = read_doc_type(&r, &out->header.type);
			if (st == CBOR_ERR_RANGE)
				return unknown_type_error(why);
			break;
		case DOC_KEY_VERSION:
			field = "document version";
			st = cbor_read_uint(&r, &version);
			if (st == CBOR_OK && (version == 0 || version > (uint64_t)INT64_MAX))
				return cbor_field_error(why, field, CBOR_OK);
			if (st == CBOR_OK)
				out->header.version = version;
			break;
		case DOC_KEY_ISSUED_AT:
			field = "document issued_at";
			st = cbor_read_time(&r, &out->header.issued_at);
			break;
		case DOC_KEY_EXPIRES_AT:
			field = "document expires_at";
			st = cbor_read_time(&r, &out->header.expires_at);
			break;
		case DOC_KEY_BODY:
			/* Decoded below, once the type is known whatever the key order. */
			field = "document body";
			body_start = r.pos;
			st = cbor_skip(&r);
			body_end = r.pos;
			break;
		default:
			st = cbor_skip(&r);
			break;
		}
		if (st != CBOR_OK)
			return cbor_field_error(why, field, st);
		if (key >= DOC_KEY_TYPE && key <= DOC_KEY_BODY)
			have |= 1u << key;
	}
	st = cbor_expect_end(&r);
	if (st != CBOR_OK)
		return cbor_field_error(why, "document", st);
	if (have != 0x3e) {
		qd_errmsg_set(why,
		              "document: type, version, issued_at, expires_at or body missing");
		return QD_ERR_FORMAT;
	}
	if (out->header.expires_at <= out->header.issued_at)
		return cbor_field_error(why, "document expires_at", CBOR_OK);

	struct cbor_reader br;
	cbor_reader_init(&br, payload + body_start, body_end - body_start);
	enum qd_err rc = QD_ERR_FORMAT;
	const struct trust_doc_info *info = trust_doc_info(out->header.type);
	if (info == NULL) /* read_doc_type admits only the list's names */
		return unknown_type_error(why);
	switch (info->kind) {
	case TRUST_DOC_KIND_KEYS:
		rc = decode_keyset(&br, &out->body.keyset, why);
		break;
	case TRUST_DOC_KIND_REVOCATIONS:
		rc = decode_revocations(&br, &out->body.revocations, why);
		break;
	case TRUST_DOC_KIND_BODY:
		rc = decode_blob(&br, info->name, &out->body.blob, why);
		break;
	case TRUST_DOC_KIND_TIMESTAMP:
		rc = decode_timestamp(&br, &out->body.timestamp, why);
		break;
	case TRUST_DOC_KIND_DELTA:
		rc = decode_delta(&br, &out->body.delta, why);
		if (rc == QD_OK && out->body.delta.base_version >= out->header.version) {
			qd_errmsg_set(why,
			              "revocations-delta: base version %llu not below version %llu",
			              (unsigned long long)out->body.delta.base_version,
			              (unsigned long long)out->header.version);
			rc = QD_ERR_FORMAT;
		}
		break;
	case TRUST_DOC_KIND_BODY_DELTA:
		rc = decode_body_delta(&br, info->name, &out->body.body_delta, why);
		if (rc == QD_OK && out->body.body_delta.base_version >= out->header.version) {
			qd_errmsg_set(why, "%s: base version %llu not below version %llu",
			              info->name,
			              (unsigned long long)out->body.body_delta.base_version,
			              (unsigned long long)out->header.version);
			rc = QD_ERR_FORMAT;
		}
		break;
	case TRUST_DOC_KIND_ROOT:
		rc = decode_root(&br, &out->body.root, why);
		break;
	}
	return rc;
}

static void encode_header(struct cbor_writer *w, const struct trustdoc_header *h)
{
	const char *name = trust_doc_type_name(h->type);
	cbor_put_map(w, 5);
	cbor_put_uint(w, DOC_KEY_TYPE);
	cbor_put_cstr(w, name != NULL ? name : "");
	cbor_put_uint(w, DOC_KEY_VERSION);
	cbor_put_uint(w, h->version);
	cbor_put_uint(w, DOC_KEY_ISSUED_AT);
	cbor_put_int(w, h->issued_at);
	cbor_put_uint(w, DOC_KEY_EXPIRES_AT);
	cbor_put_int(w, h->expires_at);
	cbor_put_uint(w, DOC_KEY_BODY);
}

static void encode_keys(struct cbor_writer *w, const struct trust_key *keys, size_t count)
{
	cbor_put_array(w, count);
	for (size_t i = 0; i < count; i++) {
		const struct trust_key *k = &keys[i];
		cbor_put_map(w, 7);
		cbor_put_uint(w, KEY_KID);
		cbor_put_bstr(w, k->kid, k->kid_len);
		cbor_put_uint(w, KEY_ALG);
		cbor_put_int(w, k->alg);
		cbor_put_uint(w, KEY_ROLE);
		cbor_put_cstr(w, key_role_name(k->role));
		cbor_put_uint(w, KEY_PUBLIC);
		cbor_put_bstr(w, k->public_key, k->public_len);
		cbor_put_uint(w, KEY_NOT_BEFORE);
		cbor_put_int(w, k->not_before);
		cbor_put_uint(w, KEY_NOT_AFTER);
		cbor_put_int(w, k->not_after);
		cbor_put_uint(w, KEY_STATUS);
		cbor_put_uint(w, k->status);
	}
}

void trustdoc_encode_keyset(struct cbor_writer *w, const struct trustdoc_header *h,
                            const struct trust_key *keys, size_t count)
{
	encode_header(w, h);
	encode_keys(w, keys, count);
}

void trustdoc_encode_root(struct cbor_writer *w, const struct trustdoc_header *h,
                          const struct trust_key *keys, size_t count)
{
	encode_header(w, h);
	encode_keys(w, keys, count);
}

void trustdoc_encode_revocations_delta(struct cbor_writer *w, const struct trustdoc_header *h,
                                       const struct trustdoc_revocations_delta *delta)
{
	encode_header(w, h);
	cbor_put_map(w, 4 + (delta->n_put_ranges_added > 0) + (delta->n_put_ranges_removed > 0));
	cbor_put_uint(w, DELTA_HASH_LEN);
	cbor_put_uint(w, TRUST_HASH_LEN);
	cbor_put_uint(w, DELTA_BASE);
	cbor_put_uint(w, delta->base_version);
	cbor_put_uint(w, DELTA_ADDED);
	cbor_put_bstr(w, delta->added, delta->n_added * TRUST_HASH_LEN);
	cbor_put_uint(w, DELTA_REMOVED);
	cbor_put_bstr(w, delta->removed, delta->n_removed * TRUST_HASH_LEN);
	if (delta->n_put_ranges_added > 0) {
		cbor_put_uint(w, DELTA_RANGES_ADDED);
		encode_ranges(w, delta->put_ranges_added, delta->n_put_ranges_added);
	}
	if (delta->n_put_ranges_removed > 0) {
		cbor_put_uint(w, DELTA_RANGES_REMOVED);
		encode_ranges(w, delta->put_ranges_removed, delta->n_put_ranges_removed);
	}
}

void trustdoc_encode_revocations(struct cbor_writer *w, const struct trustdoc_header *h,
                                 const uint8_t *hashes, size_t count)
{
	trustdoc_encode_revocations_ranges(w, h, hashes, count, NULL, 0);
}

void trustdoc_encode_revocations_ranges(struct cbor_writer *w, const struct trustdoc_header *h,
                                        const uint8_t *hashes, size_t count,
                                        const struct trust_range *ranges, size_t n_ranges)
{
	encode_header(w, h);
	cbor_put_map(w, n_ranges > 0 ? 3 : 2);
	cbor_put_uint(w, REVOCATIONS_HASH_LEN);
	cbor_put_uint(w, TRUST_HASH_LEN);
	cbor_put_uint(w, REVOCATIONS_HASHES);
	cbor_put_bstr(w, hashes, count * TRUST_HASH_LEN);
	if (n_ranges > 0) {
		cbor_put_uint(w, REVOCATIONS_RANGES);
		encode_ranges(w, ranges, n_ranges);
	}
}

void trustdoc_encode_timestamp(struct cbor_writer *w, const struct trustdoc_header *h,
                               const struct trustdoc_timestamp *ts)
{
	encode_header(w, h);
	cbor_put_array(w, ts->count);
	for (size_t i = 0; i < ts->count; i++) {
		const struct trustdoc_timestamp_entry *e = &ts->entries[i];
		cbor_put_map(w, e->base_version != 0 ? 5 : 4);
		cbor_put_uint(w, TS_TYPE);
		cbor_put_cstr(w, trust_doc_type_name(e->type));
		cbor_put_uint(w, TS_VERSION);
		cbor_put_uint(w, e->version);
		cbor_put_uint(w, TS_LENGTH);
		cbor_put_uint(w, e->length);
		cbor_put_uint(w, TS_SHA256);
		cbor_put_bstr(w, e->sha256, sizeof(e->sha256));
		if (e->base_version != 0) {
			cbor_put_uint(w, TS_BASE);
			cbor_put_uint(w, e->base_version);
		}
	}
}

void trustdoc_encode_body_delta(struct cbor_writer *w, const struct trustdoc_header *h,
                                const struct trustdoc_body_delta *delta)
{
	encode_header(w, h);
	cbor_put_map(w, 2);
	cbor_put_uint(w, BODY_DELTA_BASE);
	cbor_put_uint(w, delta->base_version);
	cbor_put_uint(w, BODY_DELTA_CHANGES);
	cbor_put_raw(w, delta->changes, delta->changes_len);
}

void trustdoc_encode_body(struct cbor_writer *w, const struct trustdoc_header *h,
                          const uint8_t *body, size_t body_len)
{
	encode_header(w, h);
	cbor_put_raw(w, body, body_len);
}

void trustdoc_encode_policy(struct cbor_writer *w, const struct trustdoc_header *h,
                            const uint8_t *body, size_t body_len)
{
	trustdoc_encode_body(w, h, body, body_len);
}
