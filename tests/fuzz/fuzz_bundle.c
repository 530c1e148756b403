/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_bundle - bundle_decode over arbitrary payload bytes (the payload of a
 * USB update bundle or export request read from a technician's stick).
 *
 * On success: the fields are within bundle.h's bounds (NUL-terminated
 * names of the allowed characters, documents non-empty and inside the
 * input, settings named section.key), and the bundle encodes (counting
 * pass, exact buffer) into no more bytes than the input, which decode to the
 * same bundle and encode to the same bytes again.  On failure: a reason.
 */
#include <string.h>

#include "fuzz.h"
#include "qrdesk/bundle.h"

static uint8_t *encode_exact(const struct bundle *b, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	bundle_encode(&w, b);
	uint8_t *buf = fuzz_alloc(w.len);
	*len = w.len;
	cbor_writer_init(&w, buf, *len);
	bundle_encode(&w, b);
	FUZZ_CHECK(cbor_writer_status(&w) == CBOR_OK && w.len == *len);
	return buf;
}

static void check_same(const struct bundle *a, const struct bundle *b)
{
	FUZZ_CHECK(a->kind == b->kind && strcmp(a->id, b->id) == 0 &&
	           strcmp(a->desk, b->desk) == 0);
	FUZZ_CHECK(a->created_at == b->created_at && a->expires_at == b->expires_at);
	FUZZ_CHECK(a->n_docs == b->n_docs && a->n_settings == b->n_settings);
	for (size_t i = 0; i < a->n_docs; i++)
		FUZZ_CHECK(a->docs[i].len == b->docs[i].len &&
		           memcmp(a->docs[i].bytes, b->docs[i].bytes, a->docs[i].len) == 0);
	for (size_t i = 0; i < a->n_settings; i++)
		FUZZ_CHECK(strcmp(a->settings[i].name, b->settings[i].name) == 0 &&
		           strcmp(a->settings[i].value, b->settings[i].value) == 0);
	FUZZ_CHECK(memcmp(a->recipient, b->recipient, sizeof(a->recipient)) == 0);
}

static void check_bundle(const struct bundle *b, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(bundle_kind_name(b->kind) != NULL);
	FUZZ_CHECK(bundle_name_ok(b->id, strnlen(b->id, sizeof(b->id)), BUNDLE_ID_MAX));
	FUZZ_CHECK(bundle_name_ok(b->desk, strnlen(b->desk, sizeof(b->desk)), BUNDLE_DESK_MAX));
	FUZZ_CHECK(b->created_at >= 0 && b->expires_at > b->created_at);
	FUZZ_CHECK(b->n_docs <= BUNDLE_DOCS_MAX && b->n_settings <= BUNDLE_SETTINGS_MAX);
	if (b->kind == BUNDLE_UPDATE)
		FUZZ_CHECK(b->n_docs + b->n_settings > 0);
	else
		FUZZ_CHECK(b->n_docs == 0 && b->n_settings == 0);
	for (size_t i = 0; i < b->n_docs; i++) {
		FUZZ_CHECK(b->docs[i].len > 0);
		FUZZ_CHECK(fuzz_inside(b->docs[i].bytes, b->docs[i].len, data, size));
		(void)fuzz_touch(b->docs[i].bytes, b->docs[i].len);
	}
	for (size_t i = 0; i < b->n_settings; i++) {
		const struct bundle_setting *s = &b->settings[i];
		FUZZ_CHECK(memchr(s->name, '\0', sizeof(s->name)) != NULL);
		FUZZ_CHECK(memchr(s->value, '\0', sizeof(s->value)) != NULL);
		const char *dot = strchr(s->name, '.');
		FUZZ_CHECK(dot != NULL && dot != s->name && dot[1] != '\0' &&
		           !strchr(dot + 1, '.'));
		for (const char *c = s->value; *c; c++)
			FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e && *c != ';' && *c != '#');
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(b->settings[j].name, s->name) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bundle b, back, again; /* 5 KiB each: off the stack */
	struct qd_errmsg why = {{0}};
	enum qd_err rc = bundle_decode(data, size, &b, &why);
	FUZZ_CHECK(memchr(why.text, '\0', sizeof(why.text)) != NULL);
	if (rc != QD_OK) {
		FUZZ_CHECK(rc == QD_ERR_FORMAT || rc == QD_ERR_TOO_LARGE);
		FUZZ_CHECK(why.text[0] != '\0');
		return 0;
	}
	check_bundle(&b, data, size);
	size_t len = 0;
	uint8_t *enc = encode_exact(&b, &len);
	FUZZ_CHECK(len <= size);
	FUZZ_CHECK(bundle_decode(enc, len, &back, &why) == QD_OK);
	check_same(&b, &back);
	size_t len2 = 0;
	uint8_t *enc2 = encode_exact(&back, &len2);
	FUZZ_CHECK(len2 == len && memcmp(enc, enc2, len) == 0);
	FUZZ_CHECK(bundle_decode(enc2, len2, &again, &why) == QD_OK);
	check_same(&b, &again);
	free(enc2);
	free(enc);
	return 0;
}
