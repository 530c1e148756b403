/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle.c - payloads of USB update bundles and export requests: strict
 * decoding with the faulty field named, and the issuer's encoder.  Layout in
 * bundle.h and docs/usb-bundle.md.
 */
#include "qrdesk/bundle.h"

#include <stdio.h>
#include <string.h>

enum {
	B_TYPE = 1,
	B_ID = 2,
	B_CREATED = 3,
	B_EXPIRES = 4,
	B_DESK = 5,
	B_DOCS = 6,
	B_SETTINGS = 7,
	B_RECIPIENT = 8,
};

static const char *const kind_names[] = {
        [BUNDLE_UPDATE] = "bundle", [BUNDLE_EXPORT_REQUEST] = "export-request"};

const char *bundle_kind_name(enum bundle_kind kind)
{
	if (kind != BUNDLE_UPDATE && kind != BUNDLE_EXPORT_REQUEST)
		return NULL;
	return kind_names[kind];
}

bool bundle_name_ok(const char *s, size_t len, size_t max)
{
	if (len < 1 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "section.key": lower-case letters, digits and '_', one dot between two names. */
static bool setting_name_ok(const char *s, size_t len)
{
	if (len < 3 || len > BUNDLE_NAME_MAX)
		return false;
	size_t dots = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (i == 0 || i == len - 1)
				return false;
			dots++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
			return false;
		}
	}
	return dots == 1;
}

/* Printable ASCII only: the value lands in an INI file, one line. */
static bool setting_value_ok(const char *s, size_t len)
{
	if (len > BUNDLE_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == ';' ||
		    s[i] == '#')
			return false;
	return true;
}

/* A text field of the given shape copied into out (cap includes the NUL). */
static enum qd_err read_name(struct cbor_reader *r, const char *field, char *out, size_t max,
                             struct qd_errmsg *why)
{
	const char *s;
	size_t n;
	enum cbor_status st = cbor_read_tstr(r, &s, &n);
	if (st != CBOR_OK)
		return cbor_field_error(why, field, st);
	if (!bundle_name_ok(s, n, max)) {
		qd_errmsg_set(why, "%s: expected 1 to %zu characters of A-Z a-z 0-9 . _ -", field,
		              max);
		return QD_ERR_FORMAT;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return QD_OK;
}

static enum qd_err read_docs(struct cbor_reader *r, struct bundle *b, struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_array(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "documents", st);
	if (count > BUNDLE_DOCS_MAX) {
		qd_errmsg_set(why, "documents: %zu, more than the %d allowed", count,
		              BUNDLE_DOCS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < count; i++) {
		st = cbor_read_bstr(r, &b->docs[i].bytes, &b->docs[i].len);
		if (st != CBOR_OK || b->docs[i].len == 0) {
			qd_errmsg_set(why, "documents[%zu]: %s", i,
			              st != CBOR_OK ? cbor_status_name(st) : "empty");
			return QD_ERR_FORMAT;
		}
	}
	b->n_docs = count;
	return QD_OK;
}

static enum qd_err read_settings(struct cbor_reader *r, struct bundle *b, struct qd_errmsg *why)
{
	size_t count;
	enum cbor_status st = cbor_read_map(r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "settings", st);
	if (count > BUNDLE_SETTINGS_MAX) {
		qd_errmsg_set(why, "settings: %zu, more than the %d allowed", count,
		              BUNDLE_SETTINGS_MAX);
		return QD_ERR_TOO_LARGE;
	}
	for (size_t i = 0; i < count; i++) {
		struct bundle_setting *set = &b->settings[i];
		const char *s;
		size_t n;
		st = cbor_read_tstr(r, &s, &n);
		if (st != CBOR_OK)
			return cbor_field_error(why, "settings name", st);
		if (!setting_name_ok(s, n)) {
			qd_errmsg_set(why, "settings[%zu]: a name must be section.key (a-z 0-9 _)",
			              i);
			return QD_ERR_FORMAT;
		}
		memcpy(set->name, s, n);
		set->name[n] = '\0';
		for (size_t j = 0; j < i; j++)
			if (strcmp(b->settings[j].name, set->name) == 0) {
				qd_errmsg_set(why, "settings: %s given twice", set->name);
				return QD_ERR_FORMAT;
			}
		st = cbor_read_tstr(r, &s, &n);
		if (st != CBOR_OK)
			return cbor_field_error(why, set->name, st);
		if (!setting_value_ok(s, n)) {
			qd_errmsg_set(why,
			              "settings %s: a value is at most %d printable characters, "
			              "without ; or #",
			              set->name, BUNDLE_VALUE_MAX);
			return QD_ERR_FORMAT;
		}
		memcpy(set->value, s, n);
		set->value[n] = '\0';
	}
	b->n_settings = count;
	return QD_OK;
}

enum qd_err bundle_decode(const uint8_t *payload, size_t len, struct bundle *out,
                          struct qd_errmsg *why)
{
	memset(out, 0, sizeof(*out));
	struct cbor_reader r;
	cbor_reader_init(&r, payload, len);
	size_t count;
	enum cbor_status st = cbor_read_map(&r, &count);
	if (st != CBOR_OK)
		return cbor_field_error(why, "payload", st);
	struct cbor_int_keys seen;
	cbor_int_keys_init(&seen);
	uint32_t have = 0;
	enum qd_err rc = QD_OK;
	for (size_t i = 0; i < count && rc == QD_OK; i++) {
		int64_t key;
		st = cbor_read_int_key(&r, &seen, &key);
		if (st != CBOR_OK)
			return cbor_field_error(why, "payload key", st);
		if (key < B_TYPE || key > B_RECIPIENT) {
			qd_errmsg_set(why, "unknown field %lld", (long long)key);
			return QD_ERR_FORMAT;
		}
		have |= 1u << key;
		switch (key) {
		case B_TYPE: {
			const char *s;
			size_t n;
			st = cbor_read_tstr(&r, &s, &n);
			if (st != CBOR_OK)
				return cbor_field_error(why, "type", st);
			if (n == 6 && memcmp(s, "bundle", 6) == 0)
				out->kind = BUNDLE_UPDATE;
			else if (n == 14 && memcmp(s, "export-request", 14) == 0)
				out->kind = BUNDLE_EXPORT_REQUEST;
			else {
				qd_errmsg_set(why, "type: not a bundle or an export request");
				return QD_ERR_FORMAT;
			}
			break;
		}
		case B_ID:
			rc = read_name(&r, "id", out->id, BUNDLE_ID_MAX, why);
			break;
		case B_CREATED:
			if ((st = cbor_read_time(&r, &out->created_at)) != CBOR_OK)
				return cbor_field_error(why, "created_at", st);
			break;
		case B_EXPIRES:
			if ((st = cbor_read_time(&r, &out->expires_at)) != CBOR_OK)
				return cbor_field_error(why, "expires_at", st);
			break;
		case B_DESK:
			rc = read_name(&r, "desk", out->desk, BUNDLE_DESK_MAX, why);
			break;
		case B_DOCS:
			rc = read_docs(&r, out, why);
			break;
		case B_SETTINGS:
			rc = read_settings(&r, out, why);
			break;
		case B_RECIPIENT: {
			const uint8_t *p;
			size_t n;
			st = cbor_read_bstr(&r, &p, &n);
			if (st != CBOR_OK || n != BUNDLE_RECIPIENT_LEN) {
				qd_errmsg_set(why, "recipient: expected a %d-byte public key",
				              BUNDLE_RECIPIENT_LEN);
				return QD_ERR_FORMAT;
			}
			memcpy(out->recipient, p, n);
			break;
		}
		}
	}
	if (rc != QD_OK)
		return rc;
	if ((st = cbor_expect_end(&r)) != CBOR_OK)
		return cbor_field_error(why, "payload", st);
	static const struct {
		int key;
		const char *name;
	} required[] = {{B_TYPE, "type"},
	                {B_ID, "id"},
	                {B_CREATED, "created_at"},
	                {B_EXPIRES, "expires_at"},
	                {B_DESK, "desk"}};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(have & (1u << required[i].key))) {
			qd_errmsg_set(why, "%s missing", required[i].name);
			return QD_ERR_FORMAT;
		}
	if (out->expires_at <= out->created_at) {
		qd_errmsg_set(why, "expires_at: not after created_at");
		return QD_ERR_FORMAT;
	}
	bool update = out->kind == BUNDLE_UPDATE;
	if (update && (have & (1u << B_RECIPIENT))) {
		qd_errmsg_set(why, "recipient: only in an export request");
		return QD_ERR_FORMAT;
	}
	if (!update && (have & ((1u << B_DOCS) | (1u << B_SETTINGS)))) {
		qd_errmsg_set(why, "an export request carries no documents or settings");
		return QD_ERR_FORMAT;
	}
	if (!update && !(have & (1u << B_RECIPIENT))) {
		qd_errmsg_set(why, "recipient missing");
		return QD_ERR_FORMAT;
	}
	if (update && out->n_docs == 0 && out->n_settings == 0) {
		qd_errmsg_set(why, "the bundle carries no documents and no settings");
		return QD_ERR_FORMAT;
	}
	return QD_OK;
}

void bundle_encode(struct cbor_writer *w, const struct bundle *b)
{
	bool update = b->kind == BUNDLE_UPDATE;
	size_t fields = 5 + (update ? (b->n_docs > 0) + (b->n_settings > 0) : 1);
	cbor_put_map(w, fields);
	cbor_put_uint(w, B_TYPE);
	cbor_put_cstr(w, update ? "bundle" : "export-request");
	cbor_put_uint(w, B_ID);
	cbor_put_cstr(w, b->id);
	cbor_put_uint(w, B_CREATED);
	cbor_put_uint(w, (uint64_t)b->created_at);
	cbor_put_uint(w, B_EXPIRES);
	cbor_put_uint(w, (uint64_t)b->expires_at);
	cbor_put_uint(w, B_DESK);
	cbor_put_cstr(w, b->desk);
	if (update && b->n_docs > 0) {
		cbor_put_uint(w, B_DOCS);
		cbor_put_array(w, b->n_docs);
		for (size_t i = 0; i < b->n_docs; i++)
			cbor_put_bstr(w, b->docs[i].bytes, b->docs[i].len);
	}
	if (update && b->n_settings > 0) {
		cbor_put_uint(w, B_SETTINGS);
		cbor_put_map(w, b->n_settings);
		for (size_t i = 0; i < b->n_settings; i++) {
			cbor_put_cstr(w, b->settings[i].name);
			cbor_put_cstr(w, b->settings[i].value);
		}
	}
	if (!update) {
		cbor_put_uint(w, B_RECIPIENT);
		cbor_put_bstr(w, b->recipient, BUNDLE_RECIPIENT_LEN);
	}
}

bool bundle_for_desk(const struct bundle *b, const char *desk_id)
{
	return strcmp(b->desk, "any") == 0 || strcmp(b->desk, desk_id) == 0;
}
