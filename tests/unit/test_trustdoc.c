/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_trustdoc.c - payloads of the signed trust documents: encode -> decode
 * round trips for the four types, and strict rejections whose message names
 * the field at fault.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrdesk/cbor.h"
#include "qrdesk/credential.h"
#include "qrdesk/digest.h"
#include "qrdesk/signature.h"
#include "qrdesk/trust.h"
#include "qrdesk/trustdoc.h"

#define T0  1795000000
#define DAY 86400

static int group_setup(void **state)
{
	(void)state;
	return signature_init() == QD_OK ? 0 : -1;
}

static struct trustdoc_header header(enum trust_doc_type type, uint64_t version)
{
	struct trustdoc_header h = {
	        .type = type,
	        .version = version,
	        .issued_at = T0,
	        .expires_at = T0 + 30 * DAY,
	};
	return h;
}

/* ---- encoding into exact-size buffers ---------------------------------- */

struct doc_input {
	struct trustdoc_header h;
	const struct trust_key *keys;
	size_t n_keys;
	const uint8_t *hashes;
	size_t n_hashes;
	const struct trustdoc_timestamp *ts;
	const uint8_t *body;
	size_t body_len;
	const struct trustdoc_revocations_delta *delta;
	const struct trustdoc_body_delta *body_delta;
};

static void encode_into(struct cbor_writer *w, const struct doc_input *in)
{
	switch (in->h.type) {
	case TRUST_DOC_KEYSET:
		trustdoc_encode_keyset(w, &in->h, in->keys, in->n_keys);
		break;
	case TRUST_DOC_REVOCATIONS:
		trustdoc_encode_revocations(w, &in->h, in->hashes, in->n_hashes);
		break;
	case TRUST_DOC_TIMESTAMP:
		trustdoc_encode_timestamp(w, &in->h, in->ts);
		break;
	case TRUST_DOC_POLICY:
		trustdoc_encode_policy(w, &in->h, in->body, in->body_len);
		break;
	case TRUST_DOC_AIRPORTS:
	case TRUST_DOC_DESKS:
	case TRUST_DOC_USED:
		trustdoc_encode_body(w, &in->h, in->body, in->body_len);
		break;
	case TRUST_DOC_REVOCATIONS_DELTA:
		trustdoc_encode_revocations_delta(w, &in->h, in->delta);
		break;
	case TRUST_DOC_USED_DELTA:
		trustdoc_encode_body_delta(w, &in->h, in->body_delta);
		break;
	case TRUST_DOC_ROOT:
		trustdoc_encode_root(w, &in->h, in->keys, in->n_keys);
		break;
	}
}

/* Encode with a counting pass first; extra bytes of room are left for the caller. */
static uint8_t *encode_doc(const struct doc_input *in, size_t *len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, NULL, 0);
	encode_into(&w, in);
	size_t need = w.len;
	assert_true(need > 0);
	uint8_t *buf = malloc(need + 16);
	assert_non_null(buf);
	cbor_writer_init(&w, buf, need);
	encode_into(&w, in);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	assert_int_equal(w.len, need);
	*len = need;
	return buf;
}

static struct trustdoc *decode_ok(const uint8_t *buf, size_t len)
{
	struct trustdoc *doc = malloc(sizeof(*doc));
	assert_non_null(doc);
	struct qd_errmsg why = {{0}};
	enum qd_err rc = trustdoc_decode(buf, len, doc, &why);
	if (rc != QD_OK) {
		free(doc);
		fail_msg("trustdoc_decode: %s: %s", qd_err_name(rc), why.text);
	}
	return doc;
}

static void expect_reject(const char *label, const uint8_t *buf, size_t len, enum qd_err want,
                          const char *needle)
{
	struct trustdoc *doc = malloc(sizeof(*doc));
	assert_non_null(doc);
	struct qd_errmsg why = {{0}};
	enum qd_err rc = trustdoc_decode(buf, len, doc, &why);
	free(doc);
	if (rc != want)
		fail_msg("%s: %s (\"%s\"), want %s", label, qd_err_name(rc), why.text,
		         qd_err_name(want));
	if (strstr(why.text, needle) == NULL)
		fail_msg("%s: message \"%s\" does not name \"%s\"", label, why.text, needle);
}

static void expect_reject_doc(const char *label, const struct doc_input *in, enum qd_err want,
                              const char *needle)
{
	size_t len = 0;
	uint8_t *buf = encode_doc(in, &len);
	expect_reject(label, buf, len, want, needle);
	free(buf);
}

static void assert_header_equal(const struct trustdoc_header *want,
                                const struct trustdoc_header *got)
{
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->version, want->version);
	assert_int_equal(got->issued_at, want->issued_at);
	assert_int_equal(got->expires_at, want->expires_at);
}

/* ---- keys -------------------------------------------------------------- */

static struct trust_key make_key(int64_t alg, enum key_role role, enum key_status status,
                                 int64_t not_before, int64_t not_after)
{
	struct signature_keypair kp;
	assert_int_equal(signature_keypair_generate(alg, &kp), QD_OK);
	struct trust_key k;
	memset(&k, 0, sizeof(k));
	k.alg = alg;
	k.role = role;
	k.status = status;
	memcpy(k.public_key, kp.pub, kp.pub_len);
	k.public_len = (uint8_t)kp.pub_len;
	trust_kid_derive(kp.pub, kp.pub_len, k.kid);
	k.kid_len = TRUST_KID_DEFAULT_LEN;
	k.not_before = not_before;
	k.not_after = not_after;
	signature_keypair_wipe(&kp);
	return k;
}

static void assert_key_equal(const struct trust_key *want, const struct trust_key *got)
{
	assert_int_equal(got->kid_len, want->kid_len);
	assert_memory_equal(got->kid, want->kid, want->kid_len);
	assert_int_equal(got->alg, want->alg);
	assert_int_equal(got->role, want->role);
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->public_len, want->public_len);
	assert_memory_equal(got->public_key, want->public_key, want->public_len);
	assert_int_equal(got->not_before, want->not_before);
	assert_int_equal(got->not_after, want->not_after);
}

/* ---- round trips ------------------------------------------------------- */

static void test_keyset_round_trip(void **state)
{
	(void)state;
	struct trust_key keys[3];
	keys[0] = make_key(SIGNATURE_ALG_EDDSA, KEY_ROLE_ISSUER, KEY_STATUS_ACTIVE, T0 - DAY,
	                   T0 + 365 * DAY);
	keys[1] =
	        make_key(SIGNATURE_ALG_ES256, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE, 0, INT64_MAX);
	keys[2] = make_key(SIGNATURE_ALG_EDDSA, KEY_ROLE_UPDATE, KEY_STATUS_REVOKED, T0, T0);
	/* kids of the extreme lengths */
	keys[1].kid_len = TRUST_KID_MAX;
	memset(keys[1].kid, 0xab, TRUST_KID_MAX);
	keys[2].kid_len = 1;

	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, 7), .keys = keys, .n_keys = 3};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_header_equal(&in.h, &doc->header);
	assert_int_equal(doc->body.keyset.count, 3);
	for (size_t i = 0; i < 3; i++)
		assert_key_equal(&keys[i], &doc->body.keyset.keys[i]);
	free(doc);
	free(buf);

	/* An empty key set. */
	in.n_keys = 0;
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.keyset.count, 0);
	free(doc);
	free(buf);
}

static void test_keyset_64_keys(void **state)
{
	(void)state;
	struct trust_key *keys = calloc(TRUST_KEYS_MAX + 1, sizeof(*keys));
	assert_non_null(keys);
	struct trust_key base =
	        make_key(SIGNATURE_ALG_EDDSA, KEY_ROLE_ISSUER, KEY_STATUS_ACTIVE, T0, T0 + DAY);
	for (size_t i = 0; i <= TRUST_KEYS_MAX; i++) {
		keys[i] = base;
		keys[i].kid[0] = (uint8_t)i;
		keys[i].not_after = T0 + DAY + (int64_t)i;
	}
	struct doc_input in = {
	        .h = header(TRUST_DOC_KEYSET, 1), .keys = keys, .n_keys = TRUST_KEYS_MAX};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_int_equal(doc->body.keyset.count, TRUST_KEYS_MAX);
	for (size_t i = 0; i < TRUST_KEYS_MAX; i++)
		assert_key_equal(&keys[i], &doc->body.keyset.keys[i]);
	free(doc);
	free(buf);

	in.n_keys = TRUST_KEYS_MAX + 1;
	expect_reject_doc("65 keys", &in, QD_ERR_TOO_LARGE, "keyset");
	free(keys);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, TRUST_HASH_LEN);
}

/* n distinct clearance hashes, sorted ascending. */
static uint8_t *sorted_hashes(size_t n)
{
	uint8_t *h = malloc(n > 0 ? n * TRUST_HASH_LEN : 1);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++) {
		char no[32];
		snprintf(no, sizeof(no), "BMET-2026/%06zu", i);
		credential_clearance_hash(no, h + i * TRUST_HASH_LEN);
	}
	qsort(h, n, TRUST_HASH_LEN, cmp_hash);
	for (size_t i = 1; i < n; i++)
		assert_true(memcmp(h + (i - 1) * TRUST_HASH_LEN, h + i * TRUST_HASH_LEN,
		                   TRUST_HASH_LEN) < 0);
	return h;
}

static void test_revocations_round_trip(void **state)
{
	(void)state;
	static const size_t counts[] = {0, 1, 1000};
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		uint8_t *hashes = sorted_hashes(counts[c]);
		struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 100 + c),
		                       .hashes = hashes,
		                       .n_hashes = counts[c]};
		size_t len = 0;
		uint8_t *buf = encode_doc(&in, &len);
		struct trustdoc *doc = decode_ok(buf, len);
		assert_header_equal(&in.h, &doc->header);
		assert_int_equal(doc->body.revocations.count, counts[c]);
		if (counts[c] > 0) {
			/* Points into the payload, not a copy. */
			assert_true(doc->body.revocations.hashes >= buf &&
			            doc->body.revocations.hashes < buf + len);
			assert_memory_equal(doc->body.revocations.hashes, hashes,
			                    counts[c] * TRUST_HASH_LEN);
		}
		free(doc);
		free(buf);
		free(hashes);
	}
}

static struct trustdoc_timestamp sample_timestamp(void)
{
	struct trustdoc_timestamp ts;
	memset(&ts, 0, sizeof(ts));
	static const enum trust_doc_type types[] = {TRUST_DOC_KEYSET, TRUST_DOC_REVOCATIONS,
	                                            TRUST_DOC_POLICY};
	for (size_t i = 0; i < 3; i++) {
		ts.entries[i].type = types[i];
		ts.entries[i].version = 10 * (i + 1);
		ts.entries[i].length = 1000 * (i + 1) + 7;
		char text[16];
		snprintf(text, sizeof(text), "doc %zu", i);
		digest_sha256(text, strlen(text), ts.entries[i].sha256);
	}
	ts.count = 3;
	return ts;
}

static void test_timestamp_round_trip(void **state)
{
	(void)state;
	struct trustdoc_timestamp ts = sample_timestamp();
	ts.entries[2].length = UINT64_MAX;
	ts.entries[2].version = UINT64_MAX;
	struct doc_input in = {.h = header(TRUST_DOC_TIMESTAMP, 3), .ts = &ts};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_header_equal(&in.h, &doc->header);
	assert_int_equal(doc->body.timestamp.count, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct trustdoc_timestamp_entry *w = &ts.entries[i];
		const struct trustdoc_timestamp_entry *g = &doc->body.timestamp.entries[i];
		assert_int_equal(g->type, w->type);
		assert_int_equal(g->version, w->version);
		assert_int_equal(g->length, w->length);
		assert_memory_equal(g->sha256, w->sha256, sizeof(w->sha256));
	}
	free(doc);
	free(buf);

	/* All four types, and none. */
	ts.entries[3] = ts.entries[0];
	ts.entries[3].type = TRUST_DOC_TIMESTAMP;
	ts.count = 4;
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.timestamp.count, 4);
	free(doc);
	free(buf);
	ts.count = 0;
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.timestamp.count, 0);
	free(doc);
	free(buf);
}

/* {1: "strict", 2: 5, "note": [true, null]} */
static size_t policy_body(uint8_t *out, size_t cap)
{
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_map(&w, 3);
	cbor_put_uint(&w, 1);
	cbor_put_cstr(&w, "strict");
	cbor_put_uint(&w, 2);
	cbor_put_uint(&w, 5);
	cbor_put_cstr(&w, "note");
	cbor_put_array(&w, 2);
	cbor_put_bool(&w, true);
	cbor_put_null(&w);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

static void test_policy_round_trip(void **state)
{
	(void)state;
	uint8_t body[64];
	size_t body_len = policy_body(body, sizeof(body));
	struct doc_input in = {
	        .h = header(TRUST_DOC_POLICY, 2), .body = body, .body_len = body_len};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_header_equal(&in.h, &doc->header);
	assert_int_equal(doc->body.policy.body_len, body_len);
	assert_memory_equal(doc->body.policy.body, body, body_len);
	assert_true(doc->body.policy.body >= buf && doc->body.policy.body < buf + len);
	free(doc);
	free(buf);

	/* An empty map is a policy too. */
	static const uint8_t empty[] = {0xa0};
	in.body = empty;
	in.body_len = sizeof(empty);
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.policy.body_len, 1);
	free(doc);
	free(buf);
}

/* ---- hand-built documents ---------------------------------------------- */

struct hdr_spec {
	const char *type; /* NULL: no type key */
	uint64_t version;
	int64_t issued_at, expires_at;
	bool omit_version, omit_body;
	bool body_first;  /* the body entry before the type */
	bool dup_version; /* the version key twice */
	bool extra_key;   /* an unknown key 9 */
};

static struct hdr_spec spec(const char *type)
{
	struct hdr_spec s = {.type = type, .version = 1, .issued_at = T0, .expires_at = T0 + DAY};
	return s;
}

/* Write a document map by hand into out; returns its length. */
static size_t write_doc(uint8_t *out, size_t cap, const struct hdr_spec *s, const uint8_t *body,
                        size_t body_len)
{
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	size_t n = 2 + (s->type != NULL) + !s->omit_version + !s->omit_body + s->dup_version +
	           s->extra_key;
	cbor_put_map(&w, n);
	if (s->body_first && !s->omit_body) {
		cbor_put_uint(&w, 5);
		cbor_put_raw(&w, body, body_len);
	}
	if (s->type != NULL) {
		cbor_put_uint(&w, 1);
		cbor_put_cstr(&w, s->type);
	}
	if (!s->omit_version) {
		cbor_put_uint(&w, 2);
		cbor_put_uint(&w, s->version);
	}
	cbor_put_uint(&w, 3);
	cbor_put_int(&w, s->issued_at);
	cbor_put_uint(&w, 4);
	cbor_put_int(&w, s->expires_at);
	if (s->extra_key) {
		cbor_put_uint(&w, 9);
		cbor_put_cstr(&w, "from a newer format");
	}
	if (!s->body_first && !s->omit_body) {
		cbor_put_uint(&w, 5);
		cbor_put_raw(&w, body, body_len);
	}
	if (s->dup_version) {
		cbor_put_uint(&w, 2);
		cbor_put_uint(&w, s->version + 1);
	}
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

/* A revocations body {1: hash_len, 2: bytes}. */
static size_t revocations_body(uint8_t *out, size_t cap, uint64_t hash_len, const uint8_t *bytes,
                               size_t n)
{
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_map(&w, 2);
	cbor_put_uint(&w, 1);
	cbor_put_uint(&w, hash_len);
	cbor_put_uint(&w, 2);
	cbor_put_bstr(&w, bytes, n);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

static void test_body_before_type(void **state)
{
	(void)state;
	uint8_t hashes[2 * TRUST_HASH_LEN];
	memset(hashes, 0x11, TRUST_HASH_LEN);
	memset(hashes + TRUST_HASH_LEN, 0x22, TRUST_HASH_LEN);
	uint8_t body[64];
	size_t body_len =
	        revocations_body(body, sizeof(body), TRUST_HASH_LEN, hashes, sizeof(hashes));
	struct hdr_spec s = spec("revocations");
	s.body_first = true;
	s.version = 42;
	uint8_t buf[256];
	size_t len = write_doc(buf, sizeof(buf), &s, body, body_len);
	assert_int_equal(buf[1], 0x05); /* the body really is the first key */
	struct trustdoc *doc = decode_ok(buf, len);
	assert_int_equal(doc->header.type, TRUST_DOC_REVOCATIONS);
	assert_int_equal(doc->header.version, 42);
	assert_int_equal(doc->header.issued_at, T0);
	assert_int_equal(doc->header.expires_at, T0 + DAY);
	assert_int_equal(doc->body.revocations.count, 2);
	assert_memory_equal(doc->body.revocations.hashes, hashes, sizeof(hashes));
	free(doc);

	/* A key set body first, too. */
	struct trust_key k =
	        make_key(SIGNATURE_ALG_ES256, KEY_ROLE_ISSUER, KEY_STATUS_ACTIVE, T0, T0 + DAY);
	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, 3), .keys = &k, .n_keys = 1};
	size_t enc_len = 0;
	uint8_t *enc = encode_doc(&in, &enc_len);
	/* Cut the encoder's body out of its document, and put it first in a new one. */
	struct cbor_reader r;
	cbor_reader_init(&r, enc, enc_len);
	size_t count = 0;
	assert_int_equal(cbor_read_map(&r, &count), CBOR_OK);
	size_t body_start = 0;
	for (size_t i = 0; i < count; i++) {
		int64_t key;
		assert_int_equal(cbor_read_int(&r, &key), CBOR_OK);
		if (key == 5)
			body_start = r.pos;
		assert_int_equal(cbor_skip(&r), CBOR_OK);
	}
	assert_true(body_start > 0);
	struct hdr_spec ks = spec("keyset");
	ks.body_first = true;
	ks.version = 3;
	ks.expires_at = T0 + 30 * DAY;
	uint8_t buf2[512];
	len = write_doc(buf2, sizeof(buf2), &ks, enc + body_start, enc_len - body_start);
	doc = decode_ok(buf2, len);
	assert_int_equal(doc->header.type, TRUST_DOC_KEYSET);
	assert_int_equal(doc->body.keyset.count, 1);
	assert_key_equal(&k, &doc->body.keyset.keys[0]);
	free(doc);
	free(enc);

	/* An unknown header key is passed over. */
	s.body_first = false;
	s.extra_key = true;
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.revocations.count, 2);
	free(doc);
}

/* ---- header rejections ------------------------------------------------- */

static void test_header_rejections(void **state)
{
	(void)state;
	uint8_t body[64];
	size_t body_len = revocations_body(body, sizeof(body), TRUST_HASH_LEN, NULL, 0);
	uint8_t buf[256];
	size_t len;

	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS, 0)};
	expect_reject_doc("version 0", &in, QD_ERR_FORMAT, "version");
	in.h = header(TRUST_DOC_REVOCATIONS, 1);
	in.h.expires_at = in.h.issued_at;
	expect_reject_doc("expires_at == issued_at", &in, QD_ERR_FORMAT, "expires_at");
	in.h.expires_at = in.h.issued_at - 1;
	expect_reject_doc("expires_at < issued_at", &in, QD_ERR_FORMAT, "expires_at");
	in.h = header(TRUST_DOC_REVOCATIONS, (uint64_t)INT64_MAX + 1);
	expect_reject_doc("version beyond int64", &in, QD_ERR_FORMAT, "version");
	in.h = header(TRUST_DOC_REVOCATIONS, 1);
	in.h.issued_at = -1;
	expect_reject_doc("negative issued_at", &in, QD_ERR_FORMAT, "document");

	struct hdr_spec s = spec(NULL);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("no type", buf, len, QD_ERR_FORMAT, "type");
	s = spec("revocations");
	s.omit_body = true;
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("no body", buf, len, QD_ERR_FORMAT, "body");
	s = spec("revocations");
	s.omit_version = true;
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("no version", buf, len, QD_ERR_FORMAT, "version");
	s = spec("revocations");
	s.dup_version = true;
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("duplicate version key", buf, len, QD_ERR_FORMAT, "duplicate");

	/* A valid document plus one byte. */
	s = spec("revocations");
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	struct trustdoc *doc = decode_ok(buf, len);
	free(doc);
	buf[len] = 0x00;
	expect_reject("trailing byte", buf, len + 1, QD_ERR_FORMAT, "trailing");

	/* Not a map at all, and empty input. */
	static const uint8_t array[] = {0x80};
	expect_reject("array", array, sizeof(array), QD_ERR_FORMAT, "document");
	expect_reject("empty", array, 0, QD_ERR_FORMAT, "document");

	/* The body must match the type. */
	s = spec("keyset");
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("keyset with a revocations body", buf, len, QD_ERR_FORMAT, "keyset");
	s = spec("timestamp");
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("timestamp with a map body", buf, len, QD_ERR_FORMAT, "timestamp");
}

/* An unknown type is refused, and the message says it is the type that is wrong. */
static void test_unknown_type(void **state)
{
	(void)state;
	uint8_t body[64];
	size_t body_len = revocations_body(body, sizeof(body), TRUST_HASH_LEN, NULL, 0);
	uint8_t buf[256];
	static const char *const names[] = {"revocation", "KEYSET", "", "root"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct hdr_spec s = spec(names[i]);
		size_t len = write_doc(buf, sizeof(buf), &s, body, body_len);
		char label[48];
		snprintf(label, sizeof(label), "type \"%s\"", names[i]);
		expect_reject(label, buf, len, QD_ERR_FORMAT, "type");
	}
}

/*
 * The one list of document types (trust.h): every reader relies on these properties, so a
 * row added wrongly fails here rather than in sync or the store.
 */
static void test_type_list(void **state)
{
	(void)state;
	bool seen[TRUST_DOC_SLOTS] = {false};
	assert_true(trust_doc_types_count >= 6);
	for (size_t i = 0; i < trust_doc_types_count; i++) {
		const struct trust_doc_info *d = &trust_doc_types[i];
		assert_true(d->type > 0 && (size_t)d->type < TRUST_DOC_SLOTS);
		assert_false(seen[d->type]); /* a number once */
		seen[d->type] = true;
		assert_ptr_equal(trust_doc_info(d->type), d);
		assert_non_null(d->name);
		assert_non_null(d->label);
		enum trust_doc_type back = 0;
		assert_int_equal(trust_doc_type_parse(d->name, strlen(d->name), &back), QD_OK);
		assert_int_equal(back, d->type); /* a name once */
		assert_string_equal(trust_doc_type_name(d->type), d->name);
		assert_int_equal(trust_doc_signer_role(d->type), d->signer);
		assert_true(d->publish_days >= 1 && d->publish_days <= 3650);
		/* Flags that only make sense together. */
		assert_true(!d->required || d->synced);
		assert_true(!d->needed || d->shown);
		assert_true(d->check_body == NULL || d->kind == TRUST_DOC_KIND_BODY ||
		            d->kind == TRUST_DOC_KIND_BODY_DELTA);
		/* A delta to a body is judged and applied by its row. */
		assert_true((d->apply_delta != NULL) == (d->kind == TRUST_DOC_KIND_BODY_DELTA));
		assert_true(d->apply_delta == NULL || d->check_body != NULL);
		bool is_delta =
		        d->kind == TRUST_DOC_KIND_DELTA || d->kind == TRUST_DOC_KIND_BODY_DELTA;
		/* A synced type is stored with a version of its own. */
		assert_true(!d->synced || (d->kind != TRUST_DOC_KIND_ROOT && !is_delta &&
		                           d->kind != TRUST_DOC_KIND_TIMESTAMP));
		assert_int_equal(trust_doc_installs(d->type), d->kind == TRUST_DOC_KIND_DELTA
		                                                      ? TRUST_DOC_REVOCATIONS
		                                              : is_delta ? d->delta_of
		                                                         : d->type);
		/* A delta and the type it installs name each other; nothing else has either. */
		assert_true(is_delta == (d->delta_of != 0));
		if (is_delta) {
			const struct trust_doc_info *of = trust_doc_info(d->delta_of);
			assert_non_null(of);
			assert_int_equal(of->delta, d->type);
			assert_true(of->synced);
		}
		if (d->delta != 0)
			assert_int_equal(trust_doc_info(d->delta)->delta_of, d->type);
	}
	/* Sync applies in the list's order: the root first, the timestamp last. */
	assert_int_equal(trust_doc_types[0].kind, TRUST_DOC_KIND_ROOT);
	assert_int_equal(trust_doc_types[trust_doc_types_count - 1].kind, TRUST_DOC_KIND_TIMESTAMP);
	assert_null(trust_doc_info((enum trust_doc_type)0));
	assert_null(trust_doc_type_name((enum trust_doc_type)(TRUST_DOC_SLOTS - 1)));
	/* A timestamp can name every type. */
	assert_true(trust_doc_types_count <= TRUSTDOC_TIMESTAMP_ENTRIES_MAX);
	/* The freshness a view shows for each shown type is its own. */
	struct trust_view v;
	memset(&v, 0, sizeof(v));
	assert_ptr_equal(trust_view_freshness(&v, TRUST_DOC_KEYSET), &v.keyset);
	assert_ptr_equal(trust_view_freshness(&v, TRUST_DOC_TIMESTAMP), &v.timestamp);
	for (size_t i = 0; i < trust_doc_types_count; i++)
		for (size_t j = i + 1; j < trust_doc_types_count; j++)
			if (trust_doc_types[i].shown && trust_doc_types[j].shown)
				assert_ptr_not_equal(
				        trust_view_freshness(&v, trust_doc_types[i].type),
				        trust_view_freshness(&v, trust_doc_types[j].type));
}

static void test_truncations_rejected(void **state)
{
	(void)state;
	struct trust_key k =
	        make_key(SIGNATURE_ALG_ES256, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE, T0, T0 + DAY);
	struct trustdoc_timestamp ts = sample_timestamp();
	uint8_t *hashes = sorted_hashes(3);
	uint8_t body[64];
	size_t body_len = policy_body(body, sizeof(body));
	struct doc_input inputs[] = {
	        {.h = header(TRUST_DOC_KEYSET, 1), .keys = &k, .n_keys = 1},
	        {.h = header(TRUST_DOC_REVOCATIONS, 1), .hashes = hashes, .n_hashes = 3},
	        {.h = header(TRUST_DOC_TIMESTAMP, 1), .ts = &ts},
	        {.h = header(TRUST_DOC_POLICY, 1), .body = body, .body_len = body_len},
	};
	for (size_t d = 0; d < sizeof(inputs) / sizeof(inputs[0]); d++) {
		size_t len = 0;
		uint8_t *buf = encode_doc(&inputs[d], &len);
		struct trustdoc *doc = decode_ok(buf, len);
		free(doc);
		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of exactly cut bytes, so ASan sees any over-read. */
			uint8_t *copy = malloc(cut > 0 ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, buf, cut);
			char label[64];
			snprintf(label, sizeof(label), "doc %zu cut to %zu", d, cut);
			expect_reject(label, copy, cut, QD_ERR_FORMAT, ":");
			free(copy);
		}
		free(buf);
	}
	free(hashes);
}

/* ---- key rejections ---------------------------------------------------- */

struct key_spec {
	const uint8_t *kid;
	size_t kid_len;
	int64_t alg;
	const char *role;
	const uint8_t *pub;
	size_t pub_len;
	int64_t not_before, not_after;
	uint64_t status;
	int omit;      /* a field number to leave out, or 0 */
	int duplicate; /* a field number to write twice, or 0 */
};

static struct key_spec key_spec_of(const struct trust_key *k)
{
	struct key_spec s = {
	        .kid = k->kid,
	        .kid_len = k->kid_len,
	        .alg = k->alg,
	        .role = key_role_name(k->role),
	        .pub = k->public_key,
	        .pub_len = k->public_len,
	        .not_before = k->not_before,
	        .not_after = k->not_after,
	        .status = (uint64_t)k->status,
	};
	return s;
}

static void put_key_field(struct cbor_writer *w, const struct key_spec *s, int field)
{
	cbor_put_uint(w, (uint64_t)field);
	switch (field) {
	case 1:
		cbor_put_bstr(w, s->kid, s->kid_len);
		break;
	case 2:
		cbor_put_int(w, s->alg);
		break;
	case 3:
		cbor_put_cstr(w, s->role);
		break;
	case 4:
		cbor_put_bstr(w, s->pub, s->pub_len);
		break;
	case 5:
		cbor_put_int(w, s->not_before);
		break;
	case 6:
		cbor_put_int(w, s->not_after);
		break;
	case 7:
		cbor_put_uint(w, s->status);
		break;
	}
}

/* A keyset document whose only key is written from s. */
static size_t keyset_doc_of(uint8_t *out, size_t cap, const struct key_spec *s)
{
	uint8_t body[512];
	struct cbor_writer w;
	cbor_writer_init(&w, body, sizeof(body));
	cbor_put_array(&w, 1);
	cbor_put_map(&w, 7 - (s->omit != 0) + (s->duplicate != 0));
	for (int f = 1; f <= 7; f++)
		if (f != s->omit)
			put_key_field(&w, s, f);
	if (s->duplicate != 0)
		put_key_field(&w, s, s->duplicate);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	struct hdr_spec h = spec("keyset");
	return write_doc(out, cap, &h, body, w.len);
}

static void expect_key_reject(const char *label, const struct key_spec *s, const char *needle)
{
	uint8_t buf[1024];
	size_t len = keyset_doc_of(buf, sizeof(buf), s);
	expect_reject(label, buf, len, QD_ERR_FORMAT, needle);
}

static void test_key_rejections(void **state)
{
	(void)state;
	struct trust_key ed =
	        make_key(SIGNATURE_ALG_EDDSA, KEY_ROLE_REPOSITORY, KEY_STATUS_ACTIVE, T0, T0 + DAY);
	struct trust_key es =
	        make_key(SIGNATURE_ALG_ES256, KEY_ROLE_ISSUER, KEY_STATUS_ACTIVE, T0, T0 + DAY);
	uint8_t buf[1024];

	/* The hand-built writer agrees with the decoder on a good key. */
	struct key_spec s = key_spec_of(&ed);
	size_t len = keyset_doc_of(buf, sizeof(buf), &s);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_key_equal(&ed, &doc->body.keyset.keys[0]);
	free(doc);
	s = key_spec_of(&es);
	len = keyset_doc_of(buf, sizeof(buf), &s);
	doc = decode_ok(buf, len);
	assert_key_equal(&es, &doc->body.keyset.keys[0]);
	free(doc);

	s = key_spec_of(&ed);
	s.alg = -35; /* ES384: not ours */
	expect_key_reject("alg ES384", &s, "alg");
	s.alg = 0;
	expect_key_reject("alg 0", &s, "alg");

	s = key_spec_of(&ed);
	s.pub_len = 31;
	expect_key_reject("Ed25519 key of 31 bytes", &s, "public key");
	uint8_t long_pub[SIGNATURE_PUBLIC_MAX + 1];
	memset(long_pub, 0x04, sizeof(long_pub));
	s.pub = long_pub;
	s.pub_len = 33;
	expect_key_reject("Ed25519 key of 33 bytes", &s, "public key");
	s.pub_len = sizeof(long_pub);
	expect_key_reject("key of 66 bytes", &s, "public key");
	s = key_spec_of(&es);
	s.pub_len = 64;
	expect_key_reject("P-256 key of 64 bytes", &s, "public key");
	s = key_spec_of(&ed);
	s.alg = SIGNATURE_ALG_ES256; /* an Ed25519 key labelled ES256 */
	expect_key_reject("alg and key length disagree", &s, "public key");

	/* ES256: a 65-byte point that is not on the curve. */
	uint8_t off_curve[SIGNATURE_P256_PUBLIC_LEN];
	memcpy(off_curve, es.public_key, sizeof(off_curve));
	off_curve[64] ^= 0x01; /* y changed: not on P-256 */
	s = key_spec_of(&es);
	s.pub = off_curve;
	expect_key_reject("P-256 point off the curve", &s, "public key");
	memset(off_curve + 1, 0, 64); /* (0, 0) */
	expect_key_reject("P-256 point (0,0)", &s, "public key");
	memcpy(off_curve, es.public_key, sizeof(off_curve));
	off_curve[0] = 0x02; /* compressed-form prefix on 65 bytes */
	expect_key_reject("P-256 point with prefix 02", &s, "public key");

	uint8_t kid[TRUST_KID_MAX + 1];
	memset(kid, 0x5a, sizeof(kid));
	s = key_spec_of(&ed);
	s.kid = kid;
	s.kid_len = TRUST_KID_MAX + 1;
	expect_key_reject("kid of 17 bytes", &s, "kid");
	s.kid_len = 0;
	expect_key_reject("empty kid", &s, "kid");
	s.kid_len = TRUST_KID_MAX; /* 16 is fine */
	len = keyset_doc_of(buf, sizeof(buf), &s);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.keyset.keys[0].kid_len, TRUST_KID_MAX);
	free(doc);

	s = key_spec_of(&ed);
	s.role = "admin";
	expect_key_reject("role admin", &s, "role");
	s.role = "Root";
	expect_key_reject("role Root", &s, "role");
	s.role = "";
	expect_key_reject("role empty", &s, "role");

	s = key_spec_of(&ed);
	s.status = 2;
	expect_key_reject("status 2", &s, "status");
	s.status = KEY_STATUS_REVOKED;
	len = keyset_doc_of(buf, sizeof(buf), &s);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.keyset.keys[0].status, KEY_STATUS_REVOKED);
	free(doc);

	s = key_spec_of(&ed);
	s.not_after = s.not_before - 1;
	expect_key_reject("not_after < not_before", &s, "window");
	s.not_after = s.not_before; /* a one-second window is allowed */
	len = keyset_doc_of(buf, sizeof(buf), &s);
	doc = decode_ok(buf, len);
	free(doc);
	s = key_spec_of(&ed);
	s.not_before = -1;
	expect_key_reject("negative not_before", &s, "keyset key");

	for (int f = 1; f <= 7; f++) {
		char label[32];
		snprintf(label, sizeof(label), "key field %d missing", f);
		s = key_spec_of(&ed);
		s.omit = f;
		expect_key_reject(label, &s, "keyset key");
		snprintf(label, sizeof(label), "key field %d twice", f);
		s.omit = 0;
		s.duplicate = f;
		expect_key_reject(label, &s, "duplicate");
	}

	/* Encoder path: status 2 and an inverted window come back refused. */
	struct trust_key bad = ed;
	bad.status = (enum key_status)2;
	struct doc_input in = {.h = header(TRUST_DOC_KEYSET, 1), .keys = &bad, .n_keys = 1};
	expect_reject_doc("encoded status 2", &in, QD_ERR_FORMAT, "status");
	bad = ed;
	bad.not_after = bad.not_before - 10;
	expect_reject_doc("encoded inverted window", &in, QD_ERR_FORMAT, "window");
	bad = ed;
	bad.alg = -35;
	expect_reject_doc("encoded alg -35", &in, QD_ERR_FORMAT, "alg");
}

/* ---- revocation, timestamp and policy rejections ----------------------- */

static void test_revocations_rejections(void **state)
{
	(void)state;
	uint8_t *sorted = sorted_hashes(3);
	uint8_t hashes[3 * TRUST_HASH_LEN];

	/* Not ascending: swap the last two. */
	memcpy(hashes, sorted, TRUST_HASH_LEN);
	memcpy(hashes + TRUST_HASH_LEN, sorted + 2 * TRUST_HASH_LEN, TRUST_HASH_LEN);
	memcpy(hashes + 2 * TRUST_HASH_LEN, sorted + TRUST_HASH_LEN, TRUST_HASH_LEN);
	struct doc_input in = {
	        .h = header(TRUST_DOC_REVOCATIONS, 1), .hashes = hashes, .n_hashes = 3};
	expect_reject_doc("not ascending", &in, QD_ERR_FORMAT, "ascending");
	expect_reject_doc("not ascending", &in, QD_ERR_FORMAT, "revocations");
	/* A duplicate hash. */
	memcpy(hashes, sorted, 3 * TRUST_HASH_LEN);
	memcpy(hashes + 2 * TRUST_HASH_LEN, sorted + TRUST_HASH_LEN, TRUST_HASH_LEN);
	expect_reject_doc("duplicate hash", &in, QD_ERR_FORMAT, "revocations");
	/* Differing only in the last byte, the wrong way round. */
	memset(hashes, 0x33, 2 * TRUST_HASH_LEN);
	hashes[TRUST_HASH_LEN - 1] = 0x34;
	in.n_hashes = 2;
	expect_reject_doc("last byte descending", &in, QD_ERR_FORMAT, "revocations");
	hashes[TRUST_HASH_LEN - 1] = 0x32;
	size_t len = 0;
	uint8_t *ok = encode_doc(&in, &len);
	free(decode_ok(ok, len));
	free(ok);

	uint8_t body[128];
	uint8_t buf[256];
	struct hdr_spec s = spec("revocations");
	size_t body_len = revocations_body(body, sizeof(body), TRUST_HASH_LEN, sorted, 20);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("20 bytes of hashes", buf, len, QD_ERR_FORMAT, "hashes length");
	body_len = revocations_body(body, sizeof(body), TRUST_HASH_LEN, sorted, 15);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("15 bytes of hashes", buf, len, QD_ERR_FORMAT, "hashes length");
	body_len = revocations_body(body, sizeof(body), 32, sorted, 32);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("hash length 32", buf, len, QD_ERR_FORMAT, "hash length");
	body_len = revocations_body(body, sizeof(body), 0, sorted, 0);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("hash length 0", buf, len, QD_ERR_FORMAT, "hash length");

	/* Hash length or hashes missing, hashes as text, a duplicate key. */
	static const uint8_t only_len[] = {0xa1, 0x01, 0x10};
	len = write_doc(buf, sizeof(buf), &s, only_len, sizeof(only_len));
	expect_reject("no hashes", buf, len, QD_ERR_FORMAT, "revocations");
	static const uint8_t only_hashes[] = {0xa1, 0x02, 0x40};
	len = write_doc(buf, sizeof(buf), &s, only_hashes, sizeof(only_hashes));
	expect_reject("no hash length", buf, len, QD_ERR_FORMAT, "revocations");
	static const uint8_t text_hashes[] = {0xa2, 0x01, 0x10, 0x02, 0x60};
	len = write_doc(buf, sizeof(buf), &s, text_hashes, sizeof(text_hashes));
	expect_reject("hashes as text", buf, len, QD_ERR_FORMAT, "revocations");
	static const uint8_t dup_len[] = {0xa3, 0x01, 0x10, 0x02, 0x40, 0x01, 0x10};
	len = write_doc(buf, sizeof(buf), &s, dup_len, sizeof(dup_len));
	expect_reject("hash length twice", buf, len, QD_ERR_FORMAT, "duplicate");
	static const uint8_t as_array[] = {0x80};
	len = write_doc(buf, sizeof(buf), &s, as_array, sizeof(as_array));
	expect_reject("revocations body an array", buf, len, QD_ERR_FORMAT, "revocations");
	free(sorted);
}

/* A timestamp body of one or more entries written by hand. */
static size_t ts_entry_body(uint8_t *out, size_t cap, const char *type1, const char *type2,
                            size_t sha_len)
{
	uint8_t sha[33];
	memset(sha, 0x77, sizeof(sha));
	struct cbor_writer w;
	cbor_writer_init(&w, out, cap);
	cbor_put_array(&w, type2 != NULL ? 2 : 1);
	const char *types[2] = {type1, type2};
	for (size_t i = 0; i < (type2 != NULL ? 2u : 1u); i++) {
		cbor_put_map(&w, 4);
		cbor_put_uint(&w, 1);
		cbor_put_cstr(&w, types[i]);
		cbor_put_uint(&w, 2);
		cbor_put_uint(&w, 5);
		cbor_put_uint(&w, 3);
		cbor_put_uint(&w, 1234);
		cbor_put_uint(&w, 4);
		cbor_put_bstr(&w, sha, sha_len);
	}
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	return w.len;
}

static void test_timestamp_rejections(void **state)
{
	(void)state;
	struct trustdoc_timestamp ts = sample_timestamp();
	ts.entries[2].type = TRUST_DOC_KEYSET;
	struct doc_input in = {.h = header(TRUST_DOC_TIMESTAMP, 1), .ts = &ts};
	expect_reject_doc("keyset listed twice", &in, QD_ERR_FORMAT, "twice");
	expect_reject_doc("keyset listed twice", &in, QD_ERR_FORMAT, "keyset");

	uint8_t body[512];
	uint8_t buf[768];
	struct hdr_spec s = spec("timestamp");
	size_t body_len = ts_entry_body(body, sizeof(body), "policy", NULL, 32);
	size_t len = write_doc(buf, sizeof(buf), &s, body, body_len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_int_equal(doc->body.timestamp.count, 1);
	assert_int_equal(doc->body.timestamp.entries[0].type, TRUST_DOC_POLICY);
	assert_int_equal(doc->body.timestamp.entries[0].length, 1234);
	free(doc);

	body_len = ts_entry_body(body, sizeof(body), "policy", NULL, 31);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("sha256 of 31 bytes", buf, len, QD_ERR_FORMAT, "sha256");
	body_len = ts_entry_body(body, sizeof(body), "policy", NULL, 33);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("sha256 of 33 bytes", buf, len, QD_ERR_FORMAT, "sha256");
	body_len = ts_entry_body(body, sizeof(body), "policy", "policy", 32);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("policy twice", buf, len, QD_ERR_FORMAT, "twice");
	body_len = ts_entry_body(body, sizeof(body), "audit", NULL, 32);
	len = write_doc(buf, sizeof(buf), &s, body, body_len);
	expect_reject("unknown type in an entry", buf, len, QD_ERR_FORMAT, "timestamp");

	/* An entry missing a field. */
	static const uint8_t missing[] = {0x81, 0xa1, 0x02, 0x05};
	len = write_doc(buf, sizeof(buf), &s, missing, sizeof(missing));
	expect_reject("entry missing fields", buf, len, QD_ERR_FORMAT, "timestamp");
	/* More entries than allowed. */
	struct cbor_writer w;
	cbor_writer_init(&w, body, sizeof(body));
	cbor_put_array(&w, TRUSTDOC_TIMESTAMP_ENTRIES_MAX + 1);
	for (size_t i = 0; i <= TRUSTDOC_TIMESTAMP_ENTRIES_MAX; i++)
		cbor_put_map(&w, 0);
	assert_int_equal(cbor_writer_status(&w), CBOR_OK);
	len = write_doc(buf, sizeof(buf), &s, body, w.len);
	expect_reject("9 entries", buf, len, QD_ERR_FORMAT, "timestamp");
}

static void test_policy_rejections(void **state)
{
	(void)state;
	static const uint8_t array[] = {0x82, 0x01, 0x02};
	struct doc_input in = {
	        .h = header(TRUST_DOC_POLICY, 1), .body = array, .body_len = sizeof(array)};
	expect_reject_doc("policy body an array", &in, QD_ERR_FORMAT, "policy");
	static const uint8_t text[] = {0x61, 'x'};
	in.body = text;
	in.body_len = sizeof(text);
	expect_reject_doc("policy body text", &in, QD_ERR_FORMAT, "policy");
	static const uint8_t dup[] = {0xa2, 0x01, 0x02, 0x01, 0x03};
	in.body = dup;
	in.body_len = sizeof(dup);
	expect_reject_doc("policy body duplicate key", &in, QD_ERR_FORMAT, "duplicate");
	static const uint8_t dup_text[] = {0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02};
	in.body = dup_text;
	in.body_len = sizeof(dup_text);
	expect_reject_doc("policy body duplicate text key", &in, QD_ERR_FORMAT, "duplicate");
	static const uint8_t floaty[] = {0xa1, 0x01, 0xf9, 0x3c, 0x00};
	in.body = floaty;
	in.body_len = sizeof(floaty);
	/* Found while the header is read, before the type is known. */
	expect_reject_doc("policy body with a float", &in, QD_ERR_FORMAT, "unsupported");
}

/* ---- revocations-delta and root --------------------------- */

static void hash_n(uint8_t *out, uint8_t first, uint8_t n)
{
	memset(out, 0, TRUST_HASH_LEN);
	out[0] = first;
	out[1] = n;
}

static void test_delta_round_trip_and_rejections(void **state)
{
	(void)state;
	uint8_t added[3 * TRUST_HASH_LEN], removed[2 * TRUST_HASH_LEN];
	for (uint8_t i = 0; i < 3; i++)
		hash_n(added + i * TRUST_HASH_LEN, 0x10, i);
	for (uint8_t i = 0; i < 2; i++)
		hash_n(removed + i * TRUST_HASH_LEN, 0x20, i);
	struct trustdoc_revocations_delta dv = {.base_version = 4,
	                                        .added = added,
	                                        .n_added = 3,
	                                        .removed = removed,
	                                        .n_removed = 2};
	struct doc_input in = {.h = header(TRUST_DOC_REVOCATIONS_DELTA, 5), .delta = &dv};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_header_equal(&in.h, &doc->header);
	assert_int_equal(doc->body.delta.base_version, 4);
	assert_int_equal(doc->body.delta.n_added, 3);
	assert_int_equal(doc->body.delta.n_removed, 2);
	assert_memory_equal(doc->body.delta.added, added, sizeof(added));
	assert_memory_equal(doc->body.delta.removed, removed, sizeof(removed));
	free(doc);
	free(buf);

	/* Empty lists are a valid delta (a publication with no change). */
	dv.n_added = dv.n_removed = 0;
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.delta.n_added + doc->body.delta.n_removed, 0);
	free(doc);
	free(buf);

	dv.n_added = 3;
	dv.n_removed = 2;
	dv.base_version = 5;
	expect_reject_doc("base not below version", &in, QD_ERR_FORMAT, "base version");
	dv.base_version = 4;
	hash_n(added + 2 * TRUST_HASH_LEN, 0x10, 1); /* equal to the one before */
	expect_reject_doc("added not ascending", &in, QD_ERR_FORMAT, "added: entry 2");
	hash_n(added + 2 * TRUST_HASH_LEN, 0x20, 1); /* also removed */
	expect_reject_doc("added and removed", &in, QD_ERR_FORMAT, "both added and removed");
	hash_n(added + 2 * TRUST_HASH_LEN, 0x10, 2);
	hash_n(removed, 0x20, 5);
	expect_reject_doc("removed not ascending", &in, QD_ERR_FORMAT, "removed: entry 1");
}

/* used-delta: {1: base, 2: changes}, the changes kept as their bytes. */
static void test_body_delta_round_trip_and_rejections(void **state)
{
	(void)state;
	static const uint8_t changes[] = {0xa2, 0x01, 0x80, 0x02, 0x80}; /* {1: [], 2: []} */
	struct trustdoc_body_delta bd = {4, changes, sizeof(changes)};
	struct doc_input in = {.h = header(TRUST_DOC_USED_DELTA, 5), .body_delta = &bd};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_header_equal(&in.h, &doc->header);
	assert_int_equal(doc->body.body_delta.base_version, 4);
	assert_int_equal(trustdoc_delta_base(doc), 4);
	assert_int_equal(doc->body.body_delta.changes_len, sizeof(changes));
	assert_memory_equal(doc->body.body_delta.changes, changes, sizeof(changes));
	free(doc);
	free(buf);

	bd.base_version = 5;
	expect_reject_doc("base not below version", &in, QD_ERR_FORMAT, "base version 5");
	bd.base_version = 0;
	expect_reject_doc("base zero", &in, QD_ERR_FORMAT, "used-delta (1: base version");
	bd.base_version = 4;
	/* Changes that are not one item: a truncated map. */
	static const uint8_t cut[] = {0xa2, 0x01};
	bd.changes = cut;
	bd.changes_len = sizeof(cut);
	expect_reject_doc("changes cut short", &in, QD_ERR_FORMAT, "document body");

	/* A body of one key, with a third, or not a map: refused. */
	struct cbor_writer w;
	uint8_t payload[128];
	const uint8_t *bodies[] = {
	        (const uint8_t[]){0xa1, 0x01, 0x04},                         /* base only */
	        (const uint8_t[]){0xa1, 0x02, 0x80},                         /* changes only */
	        (const uint8_t[]){0xa3, 0x01, 0x04, 0x02, 0x80, 0x03, 0x00}, /* a third key */
	        (const uint8_t[]){0x82, 0x04, 0x80},                         /* an array */
	};
	static const size_t lens[] = {3, 3, 7, 3};
	for (size_t i = 0; i < 4; i++) {
		struct trustdoc_header h = header(TRUST_DOC_USED_DELTA, 5);
		cbor_writer_init(&w, payload, sizeof(payload));
		trustdoc_encode_body(&w, &h, bodies[i], lens[i]);
		assert_int_equal(cbor_writer_status(&w), CBOR_OK);
		expect_reject("malformed used-delta body", payload, w.len, QD_ERR_FORMAT,
		              "used-delta (1: base version, 2: changes)");
	}
}

static void test_root_round_trip_and_rejections(void **state)
{
	(void)state;
	struct trust_key keys[TRUSTDOC_ROOT_KEYS_MAX + 1];
	for (size_t i = 0; i <= TRUSTDOC_ROOT_KEYS_MAX; i++)
		keys[i] = make_key(SIGNATURE_ALG_EDDSA, KEY_ROLE_ROOT, KEY_STATUS_ACTIVE, T0,
		                   T0 + 3650 * DAY);
	struct doc_input in = {.h = header(TRUST_DOC_ROOT, 2), .keys = keys, .n_keys = 2};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	assert_int_equal(doc->body.root.count, 2);
	assert_key_equal(&keys[1], &doc->body.root.keys[1]);
	free(doc);
	free(buf);

	in.n_keys = 0;
	expect_reject_doc("no keys", &in, QD_ERR_FORMAT, "root: no keys");
	in.n_keys = TRUSTDOC_ROOT_KEYS_MAX + 1;
	expect_reject_doc("five keys", &in, QD_ERR_TOO_LARGE, "at most 4");
	in.n_keys = 2;
	keys[1].role = KEY_ROLE_REPOSITORY;
	expect_reject_doc("a repository key", &in, QD_ERR_FORMAT, "not a root key");
}

static void test_timestamp_delta_entries(void **state)
{
	(void)state;
	struct trustdoc_timestamp ts = sample_timestamp();
	ts.entries[ts.count] = ts.entries[1];
	ts.entries[ts.count].type = TRUST_DOC_REVOCATIONS_DELTA;
	ts.entries[ts.count].base_version = 1;
	ts.count++;
	struct doc_input in = {.h = header(TRUST_DOC_TIMESTAMP, 1), .ts = &ts};
	size_t len = 0;
	uint8_t *buf = encode_doc(&in, &len);
	struct trustdoc *doc = decode_ok(buf, len);
	const struct trustdoc_timestamp_entry *e = &doc->body.timestamp.entries[ts.count - 1];
	assert_int_equal(e->type, TRUST_DOC_REVOCATIONS_DELTA);
	assert_int_equal(e->base_version, 1);
	assert_int_equal(doc->body.timestamp.entries[0].base_version, 0);
	free(doc);
	free(buf);

	ts.entries[ts.count - 1].base_version = 0;
	expect_reject_doc("delta without a base", &in, QD_ERR_FORMAT, "missing on a delta");
	ts.entries[ts.count - 1].base_version = ts.entries[ts.count - 1].version;
	expect_reject_doc("base not below", &in, QD_ERR_FORMAT, "delta base not below");
	ts.entries[ts.count - 1].base_version = 1;
	ts.entries[0].base_version = 1;
	expect_reject_doc("base on a key set", &in, QD_ERR_FORMAT, "not a delta");

	/* A used-delta entry names its base too. */
	ts.entries[0].base_version = 0;
	ts.entries[ts.count - 1].type = TRUST_DOC_USED_DELTA;
	buf = encode_doc(&in, &len);
	doc = decode_ok(buf, len);
	assert_int_equal(doc->body.timestamp.entries[ts.count - 1].base_version, 1);
	free(doc);
	free(buf);
	ts.entries[ts.count - 1].base_version = 0;
	expect_reject_doc("used-delta without a base", &in, QD_ERR_FORMAT, "missing on a delta");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keyset_round_trip),
	        cmocka_unit_test(test_keyset_64_keys),
	        cmocka_unit_test(test_revocations_round_trip),
	        cmocka_unit_test(test_timestamp_round_trip),
	        cmocka_unit_test(test_policy_round_trip),
	        cmocka_unit_test(test_body_before_type),
	        cmocka_unit_test(test_header_rejections),
	        cmocka_unit_test(test_unknown_type),
	        cmocka_unit_test(test_type_list),
	        cmocka_unit_test(test_truncations_rejected),
	        cmocka_unit_test(test_key_rejections),
	        cmocka_unit_test(test_revocations_rejections),
	        cmocka_unit_test(test_timestamp_rejections),
	        cmocka_unit_test(test_policy_rejections),
	        cmocka_unit_test(test_delta_round_trip_and_rejections),
	        cmocka_unit_test(test_body_delta_round_trip_and_rejections),
	        cmocka_unit_test(test_root_round_trip_and_rejections),
	        cmocka_unit_test(test_timestamp_delta_entries),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
